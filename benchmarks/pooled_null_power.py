"""Power and size of the pooled-shift null against the full circular-shift null.

Records from :func:`plastix.estimate.synthetic.simulate_spike_record` (200 Poisson
inputs at 15 Hz onto one postsynaptic train, 20 s, weights every 1 s): weak
pair-STDP (``lr = 0.01``, weight noise ``--noise``, chosen so that the full
null rejects about half of them) and static weights (no timing dependence).
Each record is fitted with ``HebbianEstimator(kernel="stdp", decay=0,
n_null=199)`` under ``null="shift"`` (199 passes) and ``null="pooled-shift"``
with pools of ``m`` shifted passes (:data:`plastix.estimate._spikes.POOL_MIN`
set to ``m``; 200 trains give ``m = POOL_MIN``).  Prints, per null, the share
of ``p < 0.05`` on STDP records (power) and on static ones (size, with its
Clopper–Pearson 95 % interval), and the median p-value on STDP records; writes
``benchmarks/results/pooled_null_power.json``.  Not run by ``make bench``
(minutes of CPU).

Run: ``.venv/bin/python benchmarks/pooled_null_power.py [--n 200] [--pools 1,2,4,8,16]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RECORD = dict(n_pre=200, n_post=1, duration=20.0, rate=15.0, weight_every=1.0, lr=0.01)


def p_values(rule: str, noise: float, n: int, pools: list[int], seed0: int) -> dict:
    """p-values of ``n`` records under the full null and each pool size."""
    from plastix.estimate import HebbianEstimator, _spikes
    from plastix.estimate.synthetic import simulate_spike_record

    out: dict[str, list[float]] = {"shift": []} | {f"pooled m={m}": [] for m in pools}
    saved = _spikes.POOL_MIN
    try:
        for r in range(n):
            rec = simulate_spike_record(**RECORD, noise=noise, rule=rule, rng=seed0 + r)
            for name in out:
                null = "shift" if name == "shift" else "pooled-shift"
                if null == "pooled-shift":
                    _spikes.POOL_MIN = int(name.split("=")[1])
                est = HebbianEstimator(kernel="stdp", decay=0.0, n_boot=10, n_null=199,
                                       null=null, rng=r, progress=False).fit(rec)
                out[name].append(est.p_value_)
    finally:
        _spikes.POOL_MIN = saved
    return out


def main(argv: list[str] | None = None) -> int:
    from scipy.stats import binomtest

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="records per rule (200)")
    ap.add_argument("--pools", default="1,2,4,8,16", help="pool sizes m (1,2,4,8,16)")
    ap.add_argument("--noise", type=float, default=1.0, help="weight noise SD (1.0)")
    args = ap.parse_args(argv)
    pools = [int(v) for v in args.pools.split(",")]
    stdp = p_values("stdp", args.noise, args.n, pools, 10_000)
    static = p_values("static", args.noise, args.n, pools, 20_000)
    rows = []
    print(f"{'null':>14} {'power':>6} {'median p':>8} {'size':>6}  size 95% CI  ({args.n} records "
          "per rule)")
    for name in stdp:
        k_pow = int(np.sum(np.asarray(stdp[name]) < 0.05))
        k_size = int(np.sum(np.asarray(static[name]) < 0.05))
        ci = binomtest(k_size, args.n).proportion_ci(0.95)
        rows.append({"null": name, "power": k_pow / args.n,
                     "median_p": float(np.median(stdp[name])), "size": k_size / args.n,
                     "size_ci": [ci.low, ci.high]})
        print(f"{name:>14} {k_pow / args.n:6.3f} {np.median(stdp[name]):8.3f} "
              f"{k_size / args.n:6.3f}  [{ci.low:.3f}, {ci.high:.3f}]", flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "pooled_null_power.json").write_text(json.dumps(
        {"rows": rows, "record": RECORD | {"noise": args.noise}, "n": args.n,
         "p_stdp": stdp, "p_static": static}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
