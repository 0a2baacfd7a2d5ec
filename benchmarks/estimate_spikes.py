"""Benchmark: the STDP estimate of a spike-train recording versus one pass of the STDP term.

Recordings come from :func:`plastix.estimate.synthetic.simulate_spike_record`
(numpy, not a neuron model): independent Poisson presynaptic trains at 15 Hz,
postsynaptic trains at ~15 Hz (Poisson background plus spikes driven by the
inputs 2–5 ms after them), weights sampled every 1 s that follow the
pair-based STDP term of each interval plus noise; 100 s.  Three sizes:
1000 → 1 (the Song–Miller–Abbott-sized case of issue 14), 100 → 10, 1000 → 10.

For each, in the same process and run:

* ``term``: one pass of the registry's ``"stdp"`` kernel over the whole record
  (:func:`plastix.estimate._spikes.spike_terms`, every interval, from scratch);
* ``estimate``: ``HebbianEstimator(kernel="stdp", decay=0)`` with the default
  settings (199 null replicates pooled from ``m`` shifted passes, 1000 bootstrap
  replicates), as ``plastix estimate rec --kernel stdp --decay 0`` runs it, with
  the kernel's tables of the postsynaptic trains (:data:`plastix.kernels._CELLS`)
  cleared first, so that it builds its own as a fresh run does;
* with ``--full-null``, the same estimate with ``null="shift"`` (199 passes).

Before the first size, one fit on a 10-input, 5-second record pays what a
process pays once whatever the record (lazy imports, threadpoolctl's library
scan, pandas' string-array set-up); the term pass is likewise timed with its
imports done.  Prints wall-clock and CPU seconds (``time.process_time``, all
threads: steadier under load), ``estimate / term`` for both (the target of issue
14: ≤ 10), ``estimate / 60 s`` (the target for 1000 → 1 on the 2-core machine),
the null's ``m`` and its time over one pass, and writes
``benchmarks/results/estimate_spikes.json``.  ``--quick``: 10 s recordings.

Run: ``.venv/bin/python benchmarks/estimate_spikes.py [--quick] [--sizes 1000x1,100x10]
[--full-null]``
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


def _timed(fn):
    """``fn()``, its wall-clock and its CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _fit(rec, seed: int, **kw):
    from plastix.estimate import HebbianEstimator
    from plastix.kernels import _CELLS

    _CELLS.clear()  # the estimate builds its own tables, as a fresh run does
    return HebbianEstimator(kernel="stdp", decay=0.0, rng=seed, progress=False, **kw).fit(rec)


def warm_up() -> None:
    """One small fit: the costs a process pays once, whatever the record."""
    from plastix.estimate.synthetic import simulate_spike_record

    _fit(simulate_spike_record(10, 1, duration=5.0, rng=1), 0)


def run_one(n_pre: int, n_post: int, duration: float, seed: int = 0,
            full_null: bool = False) -> dict:
    """Time one pass of the STDP term and the whole default estimate on one recording."""
    from plastix.estimate._spikes import spike_terms
    from plastix.estimate._stats import layout_of
    from plastix.estimate.synthetic import simulate_spike_record
    from plastix.kernels import _CELLS, get_kernel

    rec, t_gen, _ = _timed(lambda: simulate_spike_record(
        n_pre, n_post, duration=duration, rate=15.0, weight_every=1.0, rng=seed))
    lay = layout_of(rec)
    _CELLS.clear()
    _, t_term, c_term = _timed(lambda: spike_terms(rec, lay, get_kernel("stdp"), {"tau": 0.02}))
    est, t_est, c_est = _timed(lambda: _fit(rec, seed))
    row = {"n_pre": n_pre, "n_post": n_post, "duration_s": duration,
           "pre_spikes": int(rec.sizes["pre_spike"]),
           "post_spikes": int(rec.sizes["post_spike"]), "generate_s": t_gen,
           "term_s": t_term, "estimate_s": t_est, "estimate_over_term": t_est / t_term,
           "term_cpu_s": c_term, "estimate_cpu_s": c_est,
           "estimate_over_term_cpu": c_est / c_term, "estimate_over_60s": t_est / 60.0,
           "null": est.result_.attrs["null"], "null_passes": est.null_passes_,
           "null_s": est.timings_["null_s"], "null_over_term": est.timings_["null_s"] / t_term,
           "bootstrap_s": est.timings_["bootstrap_s"],
           "alignment": est.alignment_, "ci": [float(v) for v in est.ci_],
           "p_value": est.p_value_, "verdict": est.verdict_}
    if full_null:
        full, t_full, c_full = _timed(lambda: _fit(rec, seed, null="shift"))
        row |= {"full_null_estimate_s": t_full, "full_null_over_term": t_full / t_term,
                "full_null_over_term_cpu": c_full / c_term, "full_null_p_value": full.p_value_,
                "full_null_verdict": full.verdict_}
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s recordings")
    ap.add_argument("--sizes", default=",".join(f"{a}x{b}" for a, b in SIZES),
                    help="comma-separated PRExPOST sizes (default: all three)")
    ap.add_argument("--full-null", action="store_true",
                    help="also time the estimate with the full null (null='shift', 199 passes)")
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    duration = 10.0 if args.quick else 100.0
    warm_up()
    rows = []
    print(f"{'size':>10} {'spikes':>9} {'term s':>7} {'estimate s':>10} {'est/term':>8} "
          f"{'(CPU)':>6} {'est/60s':>7} {'m':>3} {'null÷term':>9}  result")
    for n_pre, n_post in sizes:
        r = run_one(n_pre, n_post, duration, full_null=args.full_null)
        rows.append(r)
        full = (f"; full null: {r['full_null_over_term']:.1f}× "
                f"({r['full_null_over_term_cpu']:.1f}× CPU), p={r['full_null_p_value']:.3g} "
                f"{r['full_null_verdict']}" if args.full_null else "")
        print(f"{n_pre:>5} → {n_post:<2} {r['pre_spikes']:>9} {r['term_s']:7.3f} "
              f"{r['estimate_s']:10.3f} {r['estimate_over_term']:8.1f} "
              f"{r['estimate_over_term_cpu']:6.1f} {r['estimate_over_60s']:7.3f} "
              f"{r['null_passes']:>3} {r['null_over_term']:9.2f}  "
              f"{r['alignment']:+.3f} [{r['ci'][0]:+.3f}, "
              f"{r['ci'][1]:+.3f}] p={r['p_value']:.3g} {r['verdict']}{full}", flush=True)
    out = {"rows": rows, "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                     "python": sys.version.split()[0]},
           "settings": "HebbianEstimator(kernel='stdp', decay=0) defaults: n_null=199 "
                       "(null='pooled-shift'), n_boot=1000"}
    name = "estimate_spikes_quick.json" if args.quick else "estimate_spikes.json"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / name).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
