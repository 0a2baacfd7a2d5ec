"""``plastix design [--record FILE] [--budget N] [--replicates R] [--seed S]
[--simulator numpy|brian2] --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design", help="rank experiments that tell emergent from mechanistic Hebbian plasticity",
        description="Calibrate a mechanistic Hebbian, an error-driven and a random rule to one "
        "baseline alignment, simulate candidate manipulations under each, and rank them by "
        "power within a recording budget. Writes design.csv, design.nc, design.png and "
        "protocol.md.")
    p.add_argument("--record", type=Path, default=None,
                   help="a record (.nc, or a Neo file) whose alignment and decay set the "
                   "calibration target")
    p.add_argument("--budget", type=int, default=20,
                   help="sessions (or synapses, see --budget-unit) you can record (default 20)")
    p.add_argument("--budget-unit", default="session", choices=["session", "synapse"],
                   help="unit of --budget (default session)")
    p.add_argument("--replicates", type=int, default=12,
                   help="simulated sessions per hypothesis (default 12)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--kernel", default="product", choices=["product", "covariance"],
                   help="Hebbian term of the estimator (default product)")
    p.add_argument("--simulator", default="numpy", choices=["numpy", "brian2"],
                   help="integrate the sessions with the batched numpy circuit (default) or "
                   "as Brian2 networks (plastix.circuits.linear; same numbers, much slower)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from plastix.design.output import write_design
    from plastix.design.propose import propose_experiments
    from plastix.plot.design import design_figure

    if args.record is not None and not args.record.exists():
        raise FileNotFoundError(f"`--record` {str(args.record)!r} does not exist.")
    res = propose_experiments(record=args.record, budget=args.budget,
                              budget_unit=args.budget_unit,
                              n_replicates=args.replicates, rng=args.seed,
                              estimator={"kernel": args.kernel}, simulator=args.simulator,
                              progress=not args.quiet)
    paths = write_design(res, args.out, figure=design_figure(res.dataset))
    cols = ["rank", "manipulation", "fits_budget", "sessions_required", "power_at_budget",
            "weakest_pair"]
    print(res.table[cols].to_string(index=False))
    print("plastix design: wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
