"""``plastix estimate FILE [--decay G] [--kernel K] [--out RESULT] [--plot]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from plastix.estimate.estimator import KERNELS


def _decay(text: str):
    if text == "estimate":
        return "estimate"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--decay must be a rate in 1/time unit or 'estimate'; got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "estimate", help="estimate the Hebbian alignment of a recording",
        description="Estimate how Hebbian the weight changes of a record are (A > 0 Hebbian, "
        "A < 0 anti-Hebbian), with a block-bootstrap interval, a circular-shift p-value, a "
        "verdict and the emergent-Hebbian diagnostics. FILE: .nc, or a Neo .nix/.nwb/.pkl file.")
    p.add_argument("file", type=Path, help="record file (.nc, .nix, .nwb, .pkl)")
    p.add_argument("--decay", type=_decay, default=None,
                   help="decay rate in 1/time unit, or 'estimate' (default: the record's known "
                   "decay, else estimated from silent presynaptic units)")
    p.add_argument("--kernel", default="product",
                   help="Hebbian term: " + ", ".join(KERNELS) + " (default product)")
    p.add_argument("--lag", type=int, default=1, help="bins pre leads post (kernel lagged)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (1000)")
    p.add_argument("--n-null", type=int, default=199, help="null replicates (199; 0 skips)")
    p.add_argument("--alpha", type=float, default=0.05, help="test level (0.05)")
    p.add_argument("--rng", type=int, default=0, help="seed (default 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="write RESULT.nc and RESULT.json (and RESULT.png with --plot)")
    p.add_argument("--plot", action="store_true", help="also write a PNG figure")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from plastix.estimate.estimator import HebbianEstimator, save_result

    est = HebbianEstimator(kernel=args.kernel, decay=args.decay, lag=args.lag,
                           n_boot=args.n_boot, n_null=args.n_null, alpha=args.alpha,
                           rng=args.rng)
    est.fit(args.file)
    print(f"plastix estimate {args.file.name}")
    print(est.summary())
    out = args.out
    if out is None and args.plot:
        out = args.file.with_name(args.file.stem + "_estimate")
    if out is not None:
        nc, js = save_result(est.result_, out)
        print(f"wrote {nc} and {js}")
        if args.plot:
            from plastix.plot.estimate import save_estimate_figure

            png = save_estimate_figure(est.result_, Path(out).with_suffix(".png"))
            print(f"wrote {png}")
    return 0
