"""``plastix inspect FILE [reader flags]``: what plastix finds in a file and how to map it."""

from __future__ import annotations

import argparse
from pathlib import Path

from plastix.cli._inputs import add_allow_pickle_flag, add_sheet_flag, check_input
from plastix.cli._reader_flags import add_reader_flags, reader_options
from plastix.cli._registry_help import format_help


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect", help="show what plastix finds in a file and the flags that map it",
        description="Describe a file: units and their roles, activity series, weight series "
        "and their synapse mapping, segments, decay and sizes; what is missing for an "
        "estimate, and the exact command-line flags that would map it. Reads nothing but "
        "the file; writes nothing.")
    p.add_argument("file", type=Path, help=f"any supported file: {format_help()}; or a table of "
                   "pairing experiments (.csv, .tsv, .tab, .parquet, .pq, .xlsx)")
    add_reader_flags(p)
    add_sheet_flag(p)
    add_allow_pickle_flag(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from plastix.cli._errors import reading
    from plastix.cli._registry_help import format_of_path
    from plastix.io import inspect_file

    check_input(args.file, allow_pickle=args.allow_pickle)
    with reading(args.file, format_of_path(args.file)):
        report = inspect_file(args.file, allow_pickle=args.allow_pickle, sheet=args.sheet,
                              **reader_options(args))
    print(report)
    return 0 if report.ready else 1
