"""``plastix design [--record FILE] [--budget N] [--replicates R] [--rng S]
[--simulator numpy|brian2] --out DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plastix.cli._cluster import add_cluster_flags, cluster_client
from plastix.cli._inputs import add_allow_pickle_flag
from plastix.cli._paths import add_overwrite_flag, add_rng_flag, check_folder, check_outputs
from plastix.cli._registry_help import format_help, kernel_help

# the files write_design puts in the output folder
_FILES = ("design.nc", "design.csv", "design.png", "protocol.md")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design", help="rank experiments that tell emergent from mechanistic Hebbian plasticity",
        description="Calibrate a mechanistic Hebbian, an error-driven and a random rule to one "
        "baseline alignment, simulate candidate manipulations under each, and rank them by "
        "power within a recording budget. Writes " + ", ".join(_FILES) + ".")
    p.add_argument("--record", type=Path, default=None,
                   help="a record whose alignment and decay set the calibration target: "
                   + format_help())
    p.add_argument("--budget", type=int, default=20,
                   help="sessions (or synapses, see --budget-unit) you can record (default 20)")
    p.add_argument("--budget-unit", default="session", choices=["session", "synapse"],
                   help="unit of --budget (default session)")
    p.add_argument("--replicates", type=int, default=12,
                   help="simulated sessions per hypothesis (default 12)")
    add_rng_flag(p)
    p.add_argument("--kernel", default="product",
                   help=f"Hebbian term of the estimator (default product): {kernel_help()}")
    p.add_argument("--simulator", default="numpy", choices=["numpy", "brian2"],
                   help="integrate the sessions with the batched numpy circuit (default) or "
                   "as Brian2 networks (plastix.circuits.linear; same numbers, much slower)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    add_allow_pickle_flag(p)
    add_overwrite_flag(p)
    add_cluster_flags(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from plastix.cli._inputs import check_input, load_input
    from plastix.cli._registry_help import check_kernel

    check_kernel(args.kernel)
    inputs = [args.record] if args.record is not None else []
    if args.record is not None:
        check_input(args.record, allow_pickle=args.allow_pickle, name="`--record`")
    check_folder(args.out)
    check_outputs([args.out / f for f in _FILES], inputs=inputs, overwrite=args.overwrite)
    record = None
    if args.record is not None:
        record = load_input(args.record, allow_pickle=args.allow_pickle, name="`--record`")

    from plastix.design.output import write_design
    from plastix.design.propose import propose_experiments
    from plastix.plot.design import plot_design_panels

    resume = args.out / ".resume"  # each measured session, as it finishes
    try:
        with cluster_client(args) as client:
            res = propose_experiments(record=record, budget=args.budget,
                                      budget_unit=args.budget_unit,
                                      n_replicates=args.replicates, rng=args.rng,
                                      estimator={"kernel": args.kernel},
                                      simulator=args.simulator, progress=not args.quiet,
                                      resume_dir=resume, client=client)
    except KeyboardInterrupt:
        print(f"plastix design: interrupted; the sessions measured so far are kept in "
              f"{str(resume)!r}: rerun the same command (same --rng) to resume.",
              file=sys.stderr)
        return 130
    paths = write_design(res, args.out, figure=plot_design_panels(res.dataset))
    cols = ["rank", "manipulation", "fits_budget", "sessions_required", "power_at_budget",
            "weakest_pair"]
    print(res.table[cols].to_string(index=False))
    print("plastix design: wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
