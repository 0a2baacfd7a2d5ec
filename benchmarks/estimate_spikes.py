"""Benchmark: the STDP estimate of a spike-train recording versus one pass of the STDP term.

Recordings come from :func:`plastix.estimate.synthetic.simulate_spike_record`
(numpy, not a neuron model): independent Poisson presynaptic trains at 15 Hz,
postsynaptic trains at ~15 Hz (Poisson background plus spikes driven by the
inputs 2–5 ms after them), weights sampled every 1 s that follow the
pair-based STDP term of each interval plus noise; 100 s.  Three sizes:
1000 → 1 (the Song–Miller–Abbott-sized case of issue 14), 100 → 10, 1000 → 10.

For each, in the same process and run:

* ``term``: one pass of the registry's ``"stdp"`` kernel over the whole record
  (:func:`plastix.estimate._spikes.spike_terms`, every interval);
* ``estimate``: ``HebbianEstimator(kernel="stdp", decay=0)`` with the default
  settings (199 null replicates, 1000 bootstrap replicates), as
  ``plastix estimate rec --kernel stdp --decay 0`` runs it.

Prints the wall-clock seconds, ``estimate / term``, ``estimate / 60 s`` (the
target of issue 14 for 1000 → 1 on the 2-core machine) and one null replicate
over one pass (``null/rep ÷ term``: each replicate shifts every presynaptic
train and evaluates the STDP term at every shifted spike, exactly, so it cannot
cost much less than a pass, and 199 of them bound ``estimate / term`` from
below at about 199 × that figure), and writes
``benchmarks/results/estimate_spikes.json``.  ``--quick``: 10 s recordings.

Run: ``.venv/bin/python benchmarks/estimate_spikes.py [--quick] [--sizes 1000x1,100x10]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = ((1000, 1), (100, 10), (1000, 10))


def run_one(n_pre: int, n_post: int, duration: float, seed: int = 0) -> dict:
    """Time one pass of the STDP term and the whole default estimate on one recording."""
    from plastix.estimate import HebbianEstimator
    from plastix.estimate._spikes import spike_terms
    from plastix.estimate._stats import layout_of
    from plastix.estimate.synthetic import simulate_spike_record
    from plastix.kernels import get_kernel

    clock = time.perf_counter()
    rec = simulate_spike_record(n_pre, n_post, duration=duration, rate=15.0,
                                weight_every=1.0, rng=seed)
    t_gen = time.perf_counter() - clock
    lay = layout_of(rec)
    clock = time.perf_counter()
    spike_terms(rec, lay, get_kernel("stdp"), {"tau": 0.02})
    t_term = time.perf_counter() - clock
    clock = time.perf_counter()
    est = HebbianEstimator(kernel="stdp", decay=0.0, rng=seed, progress=False).fit(rec)
    t_est = time.perf_counter() - clock
    return {"n_pre": n_pre, "n_post": n_post, "duration_s": duration,
            "pre_spikes": int(rec.sizes["pre_spike"]), "post_spikes": int(rec.sizes["post_spike"]),
            "generate_s": t_gen, "term_s": t_term, "estimate_s": t_est,
            "estimate_over_term": t_est / t_term, "estimate_over_60s": t_est / 60.0,
            "null_s": est.timings_["null_s"], "bootstrap_s": est.timings_["bootstrap_s"],
            "null_replicate_over_term": est.timings_["null_s"] / est.n_null / t_term,
            "alignment": est.alignment_, "ci": [float(v) for v in est.ci_],
            "p_value": est.p_value_, "verdict": est.verdict_}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s recordings")
    ap.add_argument("--sizes", default=",".join(f"{a}x{b}" for a, b in SIZES),
                    help="comma-separated PRExPOST sizes (default: all three)")
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    duration = 10.0 if args.quick else 100.0
    rows = []
    print(f"{'size':>10} {'spikes':>9} {'term s':>7} {'estimate s':>10} {'est/term':>8} "
          f"{'est/60s':>7} {'null/rep÷term':>13}  result")
    for n_pre, n_post in sizes:
        r = run_one(n_pre, n_post, duration)
        rows.append(r)
        print(f"{n_pre:>5} → {n_post:<2} {r['pre_spikes']:>9} {r['term_s']:7.2f} "
              f"{r['estimate_s']:10.2f} {r['estimate_over_term']:8.1f} "
              f"{r['estimate_over_60s']:7.2f} {r['null_replicate_over_term']:13.2f}  "
              f"{r['alignment']:+.3f} [{r['ci'][0]:+.3f}, "
              f"{r['ci'][1]:+.3f}] p={r['p_value']:.3g} {r['verdict']}", flush=True)
    out = {"rows": rows, "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                     "python": sys.version.split()[0]},
           "settings": "HebbianEstimator(kernel='stdp', decay=0) defaults: n_null=199, "
                       "n_boot=1000"}
    name = "estimate_spikes_quick.json" if args.quick else "estimate_spikes.json"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / name).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
