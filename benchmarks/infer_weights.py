"""Benchmark: weights inferred from spikes (``infer_weights``, method ``ccg``) versus binning.

Recordings come from :func:`plastix.estimate.synthetic.simulate_spike_record`
(numpy: independent Poisson presynaptic trains, postsynaptic trains of Poisson
background plus spikes driven 2–5 ms after the inputs).  Two sizes (issue 16):

* 1000 → 1 at 15 Hz over 100 s (target: ``ccg`` ≤ 60 s);
* 100 → 10 at 10 Hz over 1 h (``--quick``: 10 min).

For each, in the same process and run:

* ``bin``: one pass of binning every pre and post spike into 10 ms bins per unit
  (``np.bincount`` on the flattened (unit, bin) index) — the cheapest thing any
  spike analysis does;
* ``ccg``: ``infer_weights(rec, method="ccg")`` with its defaults (10 s windows,
  0–10 ms lag, exact jitter baseline of ± 50 ms);
* ``glm``: ``infer_weights(rec, method="glm")`` (1 ms bins, one Poisson GLM with
  ``n_pre + 5`` covariates per window and post unit).

Each time is the best of several runs (5 binning passes, 3 ``ccg``, 1 ``glm``).
Prints the wall-clock seconds and ``method / bin``, and writes
``benchmarks/results/infer_weights.json`` (``infer_weights_quick.json``).

Run: ``.venv/bin/python benchmarks/infer_weights.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


BIN_REPEATS = 5
REPEATS = {"ccg": 3, "glm": 1}
"""Runs per timing, the best kept (glm once: minutes at the larger size)."""


def _timed(fn, *args) -> float:
    clock = time.perf_counter()
    fn(*args)
    return time.perf_counter() - clock


def _bin_pass(rec, width: float = 0.01) -> None:
    """Bin every spike of both roles into ``width``-s bins per unit, once."""
    for role in ("pre", "post"):
        t = rec[f"{role}_spike_time"].values
        u = rec[f"{role}_spike_unit"].values.astype(np.int64)
        n_bins = int(np.ceil(t.max() / width)) + 1
        np.bincount(u * n_bins + (t / width).astype(np.int64),
                    minlength=rec.sizes[role] * n_bins)


def run_one(n_pre: int, n_post: int, duration: float, rate: float, seed: int = 0,
            methods: tuple[str, ...] = ("ccg", "glm")) -> dict:
    """Time one binning pass and ``infer_weights`` (each method) on one recording."""
    from plastix.estimate.infer import infer_weights
    from plastix.estimate.synthetic import simulate_spike_record

    clock = time.perf_counter()
    rec = simulate_spike_record(n_pre, n_post, duration=duration, rate=rate,
                                weight_every=10.0, rng=seed)
    t_gen = time.perf_counter() - clock
    # best of several: one pass's time is mostly allocating and touching its counts
    # (80 MB for 1000 units), which page faults make vary by up to 8x between single runs
    t_bin = min(_timed(_bin_pass, rec) for _ in range(BIN_REPEATS))
    row = {"n_pre": n_pre, "n_post": n_post, "duration_s": duration, "rate_hz": rate,
           "pre_spikes": int(rec.sizes["pre_spike"]),
           "post_spikes": int(rec.sizes["post_spike"]), "generate_s": t_gen, "bin_s": t_bin}
    for m in methods:
        el, out = math.inf, None
        for _ in range(REPEATS[m]):
            clock = time.perf_counter()
            out = infer_weights(rec, method=m)
            el = min(el, time.perf_counter() - clock)
        row.update({f"{m}_s": el, f"{m}_over_bin": el / t_bin, f"{m}_over_60s": el / 60.0,
                    "windows": int(out.sizes["weight_time"]),
                    f"{m}_n_missing": int(out.attrs["n_missing"])})
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 -> 10 over 10 min, not 1 h")
    ap.add_argument("--methods", default="ccg,glm", help="comma-separated (default ccg,glm)")
    args = ap.parse_args(argv)
    sizes = ((1000, 1, 100.0, 15.0), (100, 10, 600.0 if args.quick else 3600.0, 10.0))
    rows = []
    print(f"{'size':>10} {'duration':>8} {'spikes':>9} {'bin s':>7} {'method':>6} {'s':>8} "
          f"{'/bin':>8} {'/60s':>7}")
    for n_pre, n_post, duration, rate in sizes:
        r = run_one(n_pre, n_post, duration, rate, methods=tuple(args.methods.split(",")))
        rows.append(r)
        for m in args.methods.split(","):
            print(f"{n_pre:>5} → {n_post:<2} {duration:8.0f} {r['pre_spikes']:>9} "
                  f"{r['bin_s']:7.3f} {m:>6} {r[m + '_s']:8.2f} {r[m + '_over_bin']:8.1f} "
                  f"{r[m + '_over_60s']:7.3f}", flush=True)
    out = {"rows": rows, "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                     "python": sys.version.split()[0]},
           "settings": "infer_weights(method='ccg') defaults: window 10 s, lag 0-10 ms, "
                       "exact jitter baseline +-50 ms; glm: 1 ms bins, newton-cholesky; "
                       "binning: 10 ms bins; best of 5 binning passes, 3 ccg runs, 1 glm run"}
    name = "infer_weights_quick.json" if args.quick else "infer_weights.json"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / name).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
