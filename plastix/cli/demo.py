"""``plastix demo --out DIR`` and ``plastix datasets list|verify|make``."""

from __future__ import annotations

import argparse
from pathlib import Path

from plastix.cli._paths import add_rng_flag, check_folder, folder_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline and write an HTML report",
                       description="End-to-end run on embedded defaults: ANN sweep, circuits, "
                       "estimator, experiment design; writes DIR/report.html.")
    p.add_argument("--out", type=folder_arg, default=Path("demo-output"), help="output folder")
    add_rng_flag(p)
    p.add_argument("--only", action="append", default=None, metavar="PIECE",
                   help="run only pieces whose name contains PIECE (repeatable)")
    p.set_defaults(func=_demo)

    d = sub.add_parser("datasets", help="list, verify or rebuild the reference recordings")
    d.add_argument("action", choices=["list", "verify", "make"])
    d.add_argument("--name", action="append", default=None,
                   help="only this dataset (repeatable; default all)")
    d.set_defaults(func=_datasets)


def _demo(args: argparse.Namespace) -> int:
    from plastix.demo import check_pieces, run_demo

    check_pieces(args.only)  # before the folder is made
    check_folder(args.out)
    path, failed = run_demo(args.out, rng=args.rng, pieces=args.only)
    if failed:
        print(f"plastix demo: {len(failed)} piece(s) failed: {', '.join(failed)}; "
              f"see {args.out / 'errors.log'}")
        return 1
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from plastix import datasets as D

    if args.action == "make":
        print(f"wrote {D.make_datasets(names=args.name)}")
        return 0
    if args.action == "list":
        D.check_dataset_names(args.name)
        entries = [e for e in D.list_datasets() if not args.name or e.name in args.name]
        wn, wf = (max((len(getattr(e, a)) for e in entries), default=0) for a in ("name", "file"))
        for e in entries:
            print(f"{e.name:{wn}s} {e.file:{wf}s} truth: {e.truth.get('rule', '?'):10s} "
                  f"{e.description}")
        return 0
    results = D.verify_datasets(names=args.name)  # regenerates what is missing
    width = max((len(name) for name, _ in results), default=0)
    for name, status in results:
        print(f"{name:{width}s} {status}")
    return D.verify_exit_code(results)
