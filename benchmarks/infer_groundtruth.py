"""Ground truth for weights inferred from spikes (issue 16): recovery, coverage, verdicts.

Brian2 circuits whose true weights are recorded every second
(:mod:`plastix.circuits.stdp_lif` and :mod:`plastix.circuits.error_lif`,
``cpp_standalone``) are stripped of their weights and handed to
:func:`plastix.estimate.infer_weights` (``ccg``) and
:func:`plastix.estimate.estimate_from_spikes` (``kernel="stdp"``, cross-fitted, the
record's decay: 0 for STDP, the rule's γ for ``error``).  ``--kernel product``
instead fits :class:`plastix.estimate.HebbianEstimator` (rate kernel ``product``)
on the output of ``infer_weights`` (every spike: not cross-fitted, since
``estimate_from_spikes`` refuses rate kernels).

Circuits: ``song`` (1000 → 1, 15 Hz, pair STDP onto conductance LIF),
``small`` (100 → 10, same rule, ``g_max`` 0.07), ``error`` (100 → 10, a delta
rule with decay onto the same LIF cells: :class:`~plastix.circuits.error_lif.ErrorConfig`
defaults), ``static`` (``song`` without plasticity), and
``custom``: your own size (``--n-pre``, ``--n-post``, ``--rate``, ``--g-max``), the
benchmark's way to ask how long a recording of *your* circuit must be for a
Hebbian verdict (``plastix design --recording-length`` answers it too, with
:func:`plastix.design.recording.recording_length`, whose functions this uses).

Modes
-----
``recovery``: per circuit, Spearman over the last half (mean inferred efficacy
versus mean true weight), R² per synapse (over windows, median), per window
(over synapses, median) and pooled, and the coverage of the inferred weights'
95 % intervals ``ŵ ± 1.96 sem`` around the linear calibration ``a + b w̄``
(fitted on the pooled windows, ``w̄`` the true weight averaged over the window;
a transmission probability is not a conductance, so only a calibrated map can
be covered).

``verdicts``: replicate recordings of ``--duration`` s, each also cut to every
length of ``--lengths``; the verdict of ``estimate_from_spikes`` at each length,
the fraction ``hebbian`` (power) and the alignment with its interval.  Results are
appended to the JSON after every replicate and reused on a rerun (``--out``).

Run::

    .venv/bin/python benchmarks/infer_groundtruth.py recovery --circuits song,small,static
    .venv/bin/python benchmarks/infer_groundtruth.py verdicts --circuit song \\
        --duration 800 --lengths 100,200,400,800 --seeds 1,2,3,4 --window 50
    .venv/bin/python benchmarks/infer_groundtruth.py verdicts --circuit error \\
        --duration 400 --lengths 100,400 --seeds 1,2,3 --window 10 --kernel product
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


SIZE: dict = {}
"""``--n-pre``, ``--n-post``, ``--rate``, ``--g-max`` of the ``custom`` circuit."""
CACHE: list = []
"""``--cache`` folder of simulated records (empty: none kept)."""


def simulate(circuit: str, duration: float, seed: int):
    """A ground-truth record of ``circuit``, read from ``--cache`` when simulated before."""
    if not CACHE:
        return _simulate(circuit, duration, seed)
    from plastix.io import load_record, save_record

    tag = circuit if circuit != "custom" else "custom" + "_".join(
        f"{k}{v:g}" for k, v in sorted(SIZE.items()))
    path = CACHE[0] / f"{tag}_{duration:g}s_seed{seed}.nc"
    if not path.exists():
        CACHE[0].mkdir(parents=True, exist_ok=True)
        save_record(_simulate(circuit, duration, seed), path)
    return load_record(path)


def _simulate(circuit: str, duration: float, seed: int):
    """A ground-truth record of ``circuit`` (true weights every second)."""
    from plastix.circuits.stdp_lif import STDPConfig, simulate_stdp

    if circuit == "custom":
        return simulate_stdp(STDPConfig(duration=duration, **SIZE), rng=seed,
                             target="cpp_standalone")

    if circuit in ("song", "static"):
        cfg = STDPConfig(duration=duration, plastic=circuit == "song")
        return simulate_stdp(cfg, rng=seed, target="cpp_standalone")
    if circuit == "small":
        cfg = STDPConfig(n_pre=100, n_post=10, g_max=0.07, duration=duration)
        return simulate_stdp(cfg, rng=seed, target="cpp_standalone")
    if circuit == "error":
        from plastix.circuits.error_lif import ErrorConfig, simulate_error

        return simulate_error(ErrorConfig(duration=duration), rng=seed,
                              target="cpp_standalone")
    raise ValueError(f"unknown circuit {circuit!r}")


def window_truth(rec, centres: np.ndarray, window: float) -> np.ndarray:
    """The true weight averaged over each inference window ``(windows, post, pre)``."""
    t, w = rec["weight_time"].values, rec["weight"].values
    return np.stack([w[(t >= c - window / 2) & (t < c + window / 2)].mean(0) for c in centres])


def _r2(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    xc, yc = x - x.mean(axis, keepdims=True), y - y.mean(axis, keepdims=True)
    num = (xc * yc).sum(axis) ** 2
    den = (xc ** 2).sum(axis) * (yc ** 2).sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def recovery(rec, window: float) -> dict:
    """Spearman, R² (per synapse, per window, pooled) and interval coverage."""
    from plastix.design.recording import strip_weights
    from plastix.estimate.infer import infer_weights

    t0 = time.perf_counter()
    inf = infer_weights(strip_weights(rec), window=window)
    wall = time.perf_counter() - t0
    c = inf["weight_time"].values
    w_hat, sem = inf["weight"].values, inf["weight_sem"].values
    w_true = window_truth(rec, c, window)
    n_w, n_post, n_pre = w_hat.shape
    ok = np.isfinite(w_hat).all(0)                       # synapses with every window
    x = w_true.reshape(n_w, -1)[:, ok.ravel()]
    y = w_hat.reshape(n_w, -1)[:, ok.ravel()]
    s = sem.reshape(n_w, -1)[:, ok.ravel()]
    half = c >= c[-1] / 2 + c[0] / 2
    rho = spearmanr(y[half].mean(0), x[half].mean(0)).statistic
    b, a = np.polyfit(x.ravel(), y.ravel(), 1)
    cover = float(np.mean(np.abs(y - (a + b * x)) <= 1.96 * s))
    fired = rec.sizes["post_spike"] / (n_post * float(rec["time"].values[-1] + rec.attrs["dt"]))
    return {"spearman_last_half": float(rho),
            "r2_per_synapse_median": float(np.nanmedian(_r2(x, y, 0))),
            "r2_per_window_median": float(np.nanmedian(_r2(x, y, 1))),
            "r2_pooled": float(_r2(x.ravel(), y.ravel(), 0)),
            "coverage_95": cover, "calibration": [float(a), float(b)],
            "windows": int(n_w), "synapses": int(ok.sum()), "post_rate_hz": fired,
            "infer_s": round(wall, 2)}


def at_edges(rec, window: float):
    """The record with its true weights kept only at multiples of ``window`` (the inference
    windows' edges), the bin-to-interval map rebuilt."""
    from plastix.record import _map_intervals

    t = rec["weight_time"].values
    out = rec.isel(weight_time=np.flatnonzero(np.abs(t / window - np.round(t / window)) < 1e-6))
    fresh = _map_intervals(out["time"].values, out["segment"].values,
                           out["weight_time"].values, out["weight_segment"].values)
    return out.assign_coords(interval=("time", fresh, out["interval"].attrs))


def verdict(rec, window: float, seed: int, kernel: str = "stdp") -> dict:
    """The estimator on the weight-stripped record, with the record's (true) decay:
    ``estimate_from_spikes`` (stdp kernel), or the ``product`` kernel on ``infer_weights``;
    and, for comparison, on the true weights sampled at the same window edges."""
    from plastix.design.recording import _ESTIMATE, spike_verdict, strip_weights
    from plastix.estimate import HebbianEstimator
    from plastix.estimate.infer import infer_weights

    fit = {**_ESTIMATE, "decay": float(rec["decay"].values), "rng": seed}
    if kernel == "stdp":
        out = spike_verdict(rec, window, seed, decay=fit["decay"])
    else:
        est = HebbianEstimator(kernel=kernel, **fit).fit(
            infer_weights(strip_weights(rec), window=window))
        out = {"verdict": est.verdict_, "alignment": float(est.alignment_),
               "ci": [float(v) for v in est.ci_], "p": float(est.p_value_),
               "inference_p": float(est.inference_test_[2]), "reason": est.verdict_reason_}
    true = HebbianEstimator(kernel=kernel, **fit).fit(at_edges(rec, window))
    return {**out,
            "true_weights": {"verdict": true.verdict_, "alignment": float(true.alignment_),
                             "ci": [float(v) for v in true.ci_], "p": float(true.p_value_)}}


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _save(path: Path, data: dict) -> None:
    """Merge ``data`` into the file (another run may have added entries meanwhile)."""
    from plastix._util.io import atomic_write

    merged = {**_load(path), **data}
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(merged, indent=1)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", default="recovery", choices=("recovery", "verdicts"),
                   help="default recovery (what `make bench` runs; finished keys are reused)")
    p.add_argument("--circuits", default="song,small,static")
    p.add_argument("--circuit", default="song")
    p.add_argument("--kernel", default="stdp", choices=("stdp", "product"),
                   help="stdp: estimate_from_spikes (cross-fitted); product: the rate kernel "
                        "on infer_weights' output (not cross-fitted)")
    p.add_argument("--duration", type=float, default=100.0)
    p.add_argument("--lengths", default="100")
    p.add_argument("--seeds", default="1")
    p.add_argument("--window", type=float, default=10.0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--cache", type=Path, default=None,
                   help="folder keeping the simulated records, reused on a rerun")
    p.add_argument("--n-pre", type=int, default=1000, help="custom circuit: inputs")
    p.add_argument("--n-post", type=int, default=1, help="custom circuit: LIF cells")
    p.add_argument("--rate", type=float, default=15.0, help="custom circuit: input rate (Hz)")
    p.add_argument("--g-max", type=float, default=0.01,
                   help="custom circuit: weight bound (leak conductances)")
    a = p.parse_args(argv)
    from plastix.design.recording import truncate

    SIZE.update(n_pre=a.n_pre, n_post=a.n_post, rate=a.rate, g_max=a.g_max)
    CACHE[:] = [a.cache] if a.cache else []
    seeds = [int(s) for s in a.seeds.split(",")]
    out = a.out or HERE / "results" / f"infer_groundtruth_{a.mode}.json"
    data = _load(out)
    kern = "" if a.kernel == "stdp" else f"/{a.kernel}"
    if a.mode == "recovery":
        for circuit in a.circuits.split(","):
            for seed in seeds:
                key = f"{circuit}/{a.duration:g}s/w{a.window:g}/seed{seed}" + kern
                if key not in data:
                    t0 = time.perf_counter()
                    rec = simulate(circuit, a.duration, seed)
                    data[key] = {**recovery(rec, a.window),
                                 **verdict(rec, a.window, seed, a.kernel),
                                 "simulate_s": round(time.perf_counter() - t0, 1)}
                    _save(out, data)
                print(key, json.dumps(data[key]))
        return 0
    lengths = [float(v) for v in a.lengths.split(",")]
    tag = a.circuit if a.circuit != "custom" else f"custom{a.n_pre}x{a.n_post}"
    for seed in seeds:
        keys = [f"{tag}/{length:g}s/w{a.window:g}/seed{seed}{kern}" for length in lengths]
        if all(k in data for k in keys):
            continue
        rec = simulate(a.circuit, max(lengths), seed)
        for length, key in zip(lengths, keys, strict=True):
            data[key] = verdict(truncate(rec, length), a.window, seed, a.kernel)
            _save(out, data)
    for length in lengths:
        rows = [data[f"{tag}/{length:g}s/w{a.window:g}/seed{s}{kern}"] for s in seeds]
        verdicts = [r["verdict"] for r in rows]
        print(f"{a.circuit} {length:g} s, window {a.window:g} s, {a.kernel} kernel: hebbian "
              f"{verdicts.count('hebbian')}/{len(rows)}, indeterminate "
              f"{verdicts.count('indeterminate')}/{len(rows)}, alignment "
              + ", ".join(f"{r['alignment']:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]"
                          for r in rows)
              + ", inference p " + ", ".join(f"{r['inference_p']:.2g}" for r in rows)
              + "; true weights: " + ", ".join(
                  f"{r['true_weights']['verdict']} {r['true_weights']['alignment']:+.3f}"
                  for r in rows if "true_weights" in r))
    power = {length: [data[f"{tag}/{length:g}s/w{a.window:g}/seed{s}{kern}"]["verdict"]
                      for s in seeds].count("hebbian") / len(seeds) for length in lengths}
    enough = [length for length in lengths if power[length] >= 0.8]
    print(f"shortest length with a Hebbian verdict in >= 80% of {len(seeds)} replicates: "
          + (f"{min(enough):g} s" if enough else f"none up to {max(lengths):g} s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
