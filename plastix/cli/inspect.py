"""``plastix inspect FILE [reader flags]``: what plastix finds in a file and how to map it."""

from __future__ import annotations

import argparse

from plastix.cli._inputs import (
    add_allow_pickle_flag,
    add_sheet_flag,
    check_allow_pickle,
    check_input,
)
from plastix.cli._reader_flags import add_reader_flags, reader_options
from plastix.cli._registry_help import format_help


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect", help="show what plastix finds in a file and the flags that map it",
        description="Describe a file: units and their roles, activity series, weight series "
        "and their synapse mapping, segments, decay and sizes; what is missing for an "
        "estimate, and the exact command-line flags that would map it. Reads nothing but "
        "the file; writes nothing.")
    p.add_argument("file", help=f"any supported file: {format_help()}; or a table of "
                   "pairing experiments (.csv, .tsv, .tab, .parquet, .pq, .xlsx)")
    add_reader_flags(p)
    e = p.add_argument_group("flags of `plastix estimate` that change what an estimate needs "
                             "(given, inspect checks the file as the estimate will read it)")
    e.add_argument("--weights-from", default=None, choices=("spikes",),
                   help="the weights will be inferred from the spike trains (the estimate then "
                   "needs --decay)")
    e.add_argument("--kernel", default=None,
                   help="the kernel the estimate will use (inspect then advises none)")
    t = p.add_argument_group("flags of `plastix estimate` for a table of pairing experiments "
                             "(given, inspect reads and checks the table as the estimate will)")
    add_sheet_flag(t)
    t.add_argument("--nan", default="refuse", choices=("refuse", "drop"),
                   help="rows with empty cells: refuse the table (default) or drop them")
    t.add_argument("--by", default=None, metavar="COL[,COL]",
                   help="label columns the estimate resamples and permutes within")
    add_allow_pickle_flag(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from plastix.cli._errors import reading
    from plastix.cli._registry_help import check_kernel, format_of_path
    from plastix.io import inspect_file

    check_allow_pickle(args.allow_pickle, [args.file])
    path = check_input(args.file, allow_pickle=args.allow_pickle)
    if args.kernel is not None and args.kernel != "all":
        check_kernel(args.kernel)
    options = reader_options(args)
    if args.weights_from is not None:
        options["weights_from"] = args.weights_from
    with reading(path, format_of_path(path)):
        report = inspect_file(args.file, allow_pickle=args.allow_pickle, sheet=args.sheet,
                              nan=args.nan, by=args.by, kernel=args.kernel, **options)
    print(report)
    return 0 if report.ready else 1
