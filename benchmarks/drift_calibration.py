"""False verdicts when the learning signal drifts slowly and is unrelated to the activity.

Each record: 6 presynaptic units (an AR(1) rate process, τ = 50 ms, 10 ms bins) driving 3
postsynaptic ones through a fixed matrix ``M`` plus noise (so ``post × pre`` has a mean
``∝ M``, as in any circuit whose inputs drive its outputs), 60 weight intervals of 20 bins,
decay known (1/s).  The measured weights follow ``W[k+1] = W[k] + 0.01 e_k − γ Δt W[k]``,
with ``e_k`` an AR(1) sequence over intervals (coefficient ``φ``) drawn independently of
all activity: the learning signal ``ĝ_k = 0.01 e_k`` has no Hebbian structure, so the
expected alignment is 0 and every non-``indeterminate`` verdict is a false one.

Prints, per ``φ``, the share of records with a verdict (Clopper–Pearson 95 % interval),
with ``p < 0.05`` against the circular-shift null, and with a confidence interval that
excludes 0; and, as a candidate fix measured on the same records, the share with
``p < 0.05`` against a *synapse-permutation* null (the learning signal's synapse labels
permuted, each synapse's whole series kept, so its drift is kept; computed here from
the record directly with the decay known, not by the estimator).  With ``--suite`` it
also measures that permutation null on the estimator's synthetic suite
(``simulate_synthetic``: hebbian, error, null rules; rates around 0 and 5 Hz), for its
power.  Writes ``benchmarks/results/drift_calibration.json``.  The circular-shift
null breaks pre/post co-activity, not the learning signal's own slow drift, and the
block bootstrap's blocks (at most ``K/8`` intervals) are shorter than that drift, so
both lose their calibration as ``φ`` grows (the README's estimator section).

Run: ``.venv/bin/python benchmarks/drift_calibration.py [--n 100] [--phis 0,0.5,0.9]
[--suite]``
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import lfilter
from scipy.stats import beta

from plastix.estimate import HebbianEstimator
from plastix.record import make_record

HERE = Path(__file__).resolve().parent
N_PRE, N_POST, N_K, BINS, DT, DECAY = 6, 3, 60, 20, 0.01, 1.0


def drifting_record(seed: int, phi: float):
    """One record whose weights drift as an AR(1) sequence of coefficient ``phi`` per
    interval, independent of the activity (module docstring)."""
    rng = np.random.default_rng(seed)
    fixed = np.random.default_rng(99)  # M and W[0] are the same in every record
    a = np.exp(-DT / 0.05)
    pre = lfilter([np.sqrt(1 - a * a)], [1, -a], rng.standard_normal((N_K * BINS, N_PRE)),
                  axis=0)
    m = fixed.standard_normal((N_POST, N_PRE)) / np.sqrt(N_PRE)
    post = pre @ m.T + 0.5 * rng.standard_normal((N_K * BINS, N_POST))
    eps = rng.standard_normal((N_K, N_POST, N_PRE))
    drift = np.zeros_like(eps)
    for k in range(N_K):
        drift[k] = (phi * drift[k - 1] if k else 0.0) + np.sqrt(1 - phi ** 2) * eps[k]
    w = np.empty((N_K + 1, N_POST, N_PRE))
    w[0] = 0.5 + 0.1 * fixed.standard_normal((N_POST, N_PRE))
    for k in range(N_K):
        w[k + 1] = w[k] + 0.01 * drift[k] - DECAY * BINS * DT * w[k]
    return make_record(pre, post, w, time=np.arange(N_K * BINS) * DT,
                       weight_time=np.arange(N_K + 1) * BINS * DT, decay=DECAY)


def signal_and_term(ds, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per interval and synapse: the learning signal ``ĝ_k = ΔW_k + γ Δt_k W_k`` and the
    product term ``H_k = Σ_t post_t pre_tᵀ dt`` (K × synapses each), from the record."""
    pre, post = ds["pre_activity"].values, ds["post_activity"].values
    w, wt, t = ds["weight"].values, ds["weight_time"].values, ds["time"].values
    dt = float(t[1] - t[0])
    g, h = [], []
    for k in range(wt.size - 1):
        sel = (t >= wt[k]) & (t < wt[k + 1])
        h.append((post[sel].T @ pre[sel]).ravel() * dt)
        g.append((w[k + 1] - w[k] + gamma * (wt[k + 1] - wt[k]) * w[k]).ravel())
    return np.array(g), np.array(h)


def permutation_p(g: np.ndarray, h: np.ndarray, rng: np.random.Generator,
                  n: int = 999) -> float:
    """Two-sided p of ``A = Σ_k ⟨ĝ_k, H_k⟩ / √(Σ|ĝ_k|² Σ|H_k|²)`` against the same
    statistic with the synapse labels of ``ĝ`` permuted (one permutation for all k)."""
    den = np.sqrt((g ** 2).sum() * (h ** 2).sum())
    a = (g * h).sum() / den
    null = np.array([(g[:, rng.permutation(g.shape[1])] * h).sum() / den for _ in range(n)])
    return float((1 + np.sum(np.abs(null) >= abs(a))) / (1 + n))


def _suite(n: int) -> dict:
    """The permutation null's rejections on the estimator's synthetic suite."""
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic

    out = {}
    for rule in ("hebbian", "error", "null"):
        for mean in (0.0, 5.0):
            for size in ((20, 10), (3, 2)):  # the suite's default, and 6 synapses
                # around 5 Hz the product's drive grows as mean²: lr scaled to stay stable
                kw = {} if mean == 0 else {"rate_mean": mean, "lr": 0.25 / (1 + mean ** 2) / 4}
                rej = 0
                for r in range(n):
                    ds = simulate_synthetic(rule=rule, rng=r, n_burn=50, n_pre=size[0],
                                            n_post=size[1], **kw)
                    g, h = signal_and_term(ds, SyntheticConfig().decay)  # the true decay
                    rej += permutation_p(g, h, np.random.default_rng(r)) < 0.05
                name = f"{rule}, rate_mean {mean:g}, {size[0]} -> {size[1]}"
                out[name] = _share(int(rej), n)
                print(f"synapse-permutation null, synthetic {name}: p < 0.05 in {rej}/{n}",
                      flush=True)
    return out


def _share(k: int, n: int) -> dict:
    lo = float(beta.ppf(0.025, k, n - k + 1)) if k else 0.0
    hi = float(beta.ppf(0.975, k + 1, n - k)) if k < n else 1.0
    return {"count": k, "n": n, "rate": k / n, "cp95": [lo, hi]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="records per phi")
    ap.add_argument("--phis", default="0,0.5,0.9")
    ap.add_argument("--suite", action="store_true",
                    help="also the permutation null on the synthetic suite (40 records each)")
    args = ap.parse_args()
    out = {}
    for phi in (float(p) for p in args.phis.split(",")):
        verdicts, p05, excl, perm, both = {}, 0, 0, 0, 0
        for r in range(args.n):
            rec = drifting_record(2000 + r, phi)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = HebbianEstimator(rng=r, progress=False).fit(rec)
            verdicts[est.verdict_] = verdicts.get(est.verdict_, 0) + 1
            p05 += bool(est.p_value_ < 0.05)
            excl += bool(est.ci_[0] > 0 or est.ci_[1] < 0)
            perm_sig = permutation_p(*signal_and_term(rec, DECAY),
                                     np.random.default_rng(r)) < 0.05
            perm += perm_sig
            both += perm_sig and est.verdict_ != "indeterminate"
        judged = args.n - verdicts.get("indeterminate", 0)
        out[f"phi={phi:g}"] = {"verdict": _share(judged, args.n), "p_below_0.05":
                               _share(p05, args.n), "ci_excludes_0": _share(excl, args.n),
                               "permutation_p_below_0.05": _share(int(perm), args.n),
                               "verdict_and_permutation": _share(int(both), args.n),
                               "verdicts": verdicts}
        v = out[f"phi={phi:g}"]["verdict"]
        print(f"phi {phi:g}: a verdict in {judged}/{args.n} ({v['cp95'][0]:.3f}-"
              f"{v['cp95'][1]:.3f}) {verdicts}; p < 0.05 in {p05}; CI excludes 0 in {excl}; "
              f"synapse-permutation p < 0.05 in {perm}; a verdict and that p < 0.05 in "
              f"{both}", flush=True)
    if args.suite:
        out["permutation_null_on_synthetic_suite"] = _suite(40)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "drift_calibration.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
