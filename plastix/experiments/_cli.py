"""``plastix reproduce NAME [--quick] [--seeds N] --out DIR``."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from plastix._util.errors import check_choice
from plastix.experiments import EXPERIMENTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="reproduce one of the paper's experiments (or ours)",
                       description="Reproduce an experiment: " + ", ".join(EXPERIMENTS))
    p.add_argument("name", help="one of: " + ", ".join(EXPERIMENTS))
    p.add_argument("--quick", action="store_true", help="small version (about a minute)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds")
    p.add_argument("--rng", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--threads", type=int, default=1,
                   help="cores for the training sweeps (default 1; 2 trains two halves of "
                        "each sweep side by side on a 2-core machine when nothing else runs)")
    p.add_argument("--epochs", type=int, default=None,
                   help="train this many epochs instead of the paper's 50 (ANN experiments; "
                        "e.g. to check whether a difference from the paper is a budget effect)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    check_choice("name", args.name, EXPERIMENTS)
    module = importlib.import_module(EXPERIMENTS[args.name])
    extra = {}
    if args.epochs is not None:
        if args.name == "circuit-phase":
            raise ValueError("`--epochs` applies to the ANN experiments (table1, fig3, fig4, "
                             "fig5, fig15), not to circuit-phase; drop it.")
        if args.epochs < 1:
            raise ValueError(f"`--epochs` must be an int >= 1; got {args.epochs}.")
        extra["overrides"] = {"epochs": int(args.epochs)}
    if args.name != "circuit-phase":  # the ANN experiments train torch sweeps
        extra["threads"] = args.threads
    summary = module.run(args.out, quick=args.quick, n_seeds=args.seeds, rng=args.rng, **extra)
    print(f"plastix reproduce {args.name}: wrote {summary}")
    return 0
