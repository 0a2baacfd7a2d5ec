"""Benchmark: a rate-kernel null pass over a record with few measured synapses.

A synthetic record of ``n_pre × n_post`` units (default 800 × 200), ``n_bins`` bins
(default 10^5, weights every 1800 bins) with ``n_pairs`` measured synapses (default
2000 of 160 000, the others NaN) is built in memory.  ``n_null`` null passes
(default 3) are timed twice on the same shifts, alternating:

* full: ``interval_stats(..., pairs=None)``, all of ``post × pre`` per interval (the
  path before probe 5's finding 2);
* restricted: ``pairs=used_pairs(...)``, the measured entries only.

Prints each time, the ratio full / restricted (the machine may be shared: the ratio
is what to compare) and the largest relative difference of the statistics.

Usage: ``python benchmarks/null_sparse.py [--n-bins 100000] [--n-null 3]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from plastix.estimate._stats import BoundKernel, interval_stats, layout_of, used_pairs
from plastix.estimate.estimator import _draw_shifts
from plastix.estimate.reader import stream_limits
from plastix.record import make_record


def build(n_pre: int, n_post: int, n_bins: int, n_pairs: int, every: int, seed: int = 0):
    """The synthetic record (float64 rates, Hebbian-ish weights on ``n_pairs`` synapses)."""
    rng = np.random.default_rng(seed)
    dt = 1 / 30
    x = rng.gamma(2.0, 1.0, (n_bins, n_pre))
    y = rng.gamma(2.0, 1.0, (n_bins, n_post))
    wt = np.arange(0, n_bins + 1, every) * dt
    keep = np.zeros(n_post * n_pre, bool)
    keep[rng.choice(keep.size, n_pairs, replace=False)] = True
    w = np.full((wt.size, n_post, n_pre), np.nan)
    w[:, keep.reshape(n_post, n_pre)] = rng.normal(1, 0.1, (wt.size, n_pairs)).cumsum(axis=0)
    return make_record(x, y, w, time=np.arange(n_bins) * dt, weight_time=wt, dt=dt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-pre", type=int, default=800)
    ap.add_argument("--n-post", type=int, default=200)
    ap.add_argument("--n-bins", type=int, default=100_000)
    ap.add_argument("--n-pairs", type=int, default=2000)
    ap.add_argument("--every", type=int, default=1800, help="bins between weight samples")
    ap.add_argument("--n-null", type=int, default=3)
    a = ap.parse_args()
    rec = build(a.n_pre, a.n_post, a.n_bins, a.n_pairs, a.every)
    lay = layout_of(rec)
    kern = BoundKernel("product")
    pairs = used_pairs(rec, lay, kern)
    how = ("none (full)" if pairs is None else "pair by pair" if not pairs.block
           else f"block {pairs.post.size} x {pairs.pre.size}")
    chunk = stream_limits(rec, lay, None)[0]  # the estimator's default
    rng = np.random.default_rng(1)
    times = {"full": 0.0, "restricted": 0.0}
    worst = 0.0
    for _ in range(a.n_null):
        shifts = _draw_shifts(lay, rng)
        out = {}
        for name, p in (("full", None), ("restricted", pairs)):
            clock = time.perf_counter()
            out[name] = interval_stats(rec, lay, kernel=kern, lag=0, chunk_bins=chunk,
                                       shifts=shifts, pairs=p)["stats"]
            times[name] += time.perf_counter() - clock
        scale = np.abs(out["full"]).max(axis=0)
        worst = max(worst, float((np.abs(out["restricted"] - out["full"]) / scale).max()))
    print(f"{a.n_pre} pre x {a.n_post} post, {a.n_bins} bins, {lay.k.size} intervals, "
          f"{a.n_pairs} measured pairs; restriction: {how}")
    print(f"null passes: {a.n_null}; full {times['full']:.2f} s, restricted "
          f"{times['restricted']:.2f} s; ratio full/restricted "
          f"{times['full'] / times['restricted']:.1f}x; max relative difference {worst:.2e}")


if __name__ == "__main__":
    main()
