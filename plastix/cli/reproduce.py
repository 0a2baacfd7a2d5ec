"""``plastix reproduce NAME [--quick] [--seeds N] [--rng S] [--threads T] [--device D]
[--epochs E] [--workers N | --scheduler ADDRESS] --out DIR``."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
from pathlib import Path

from plastix.cli._cluster import add_cluster_flags, cluster_client
from plastix.cli._errors import CLIError
from plastix.cli._paths import add_overwrite_flag, add_rng_flag, check_folder, folder_arg
from plastix.cli._registry_help import rule_help
from plastix.cli._resume import refuse_non_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    from plastix.experiments import EXPERIMENTS

    p = sub.add_parser("reproduce", help="reproduce one of the paper's experiments (or ours)",
                       description="Reproduce an experiment: " + ", ".join(EXPERIMENTS),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="one of: " + ", ".join(EXPERIMENTS))
    p.add_argument("--quick", action="store_true", help="small version (about a minute)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds")
    add_rng_flag(p)
    add_overwrite_flag(p)
    p.add_argument("--out", type=folder_arg, required=True,
                   help="output folder (a rerun into it continues what is saved there)")
    p.add_argument("--threads", type=int, default=None,
                   help="cores for the training sweeps (default 1; 2 trains two batches of "
                        "each sweep side by side, in this process, on a 2-core machine when "
                        "nothing else runs; the same numbers)")
    p.add_argument("--device", default="cpu",
                   help="where the ANN experiments train: cpu (default), cuda, or auto (CUDA "
                        "when present); CUDA gives the CPU's numbers to float32 tolerance")
    p.add_argument("--epochs", type=int, default=None,
                   help="train this many epochs instead of the paper's 50 (ANN experiments; "
                        "e.g. to check whether a difference from the paper is a budget effect)")
    add_cluster_flags(p)
    _lazy_epilog(p, lambda: "learning rules of the artificial networks:\n" + rule_help())
    p.set_defaults(func=_run)


def _lazy_epilog(parser: argparse.ArgumentParser, text) -> None:
    """Append ``text()`` to the parser's help only when the help is shown.

    The rule registry may load torch; building the parser must not.
    """
    plain = parser.format_help

    def format_help() -> str:
        return plain() + "\n" + text() + "\n"

    parser.format_help = format_help


def _run(args: argparse.Namespace) -> int:
    from plastix._util.errors import check_choice
    from plastix.experiments import EXPERIMENTS

    check_choice("name", args.name, EXPERIMENTS)
    cores = os.cpu_count() or 1
    if args.threads is not None and args.threads > 4 * cores:
        raise ValueError(f"`--threads` {args.threads} is more than 4 per core of this machine "
                         f"({cores} core(s)); use at most {cores}.")
    extra = {}
    if args.epochs is not None:
        if args.name in ("circuit-phase", "table1-ablations"):
            why = (" (it runs the paper's budget and 10× it)"
                   if args.name == "table1-ablations" else "")
            raise ValueError("`--epochs` applies to the ANN experiments (table1, fig3, fig4, "
                             f"fig5, fig15), not to {args.name}{why}; drop it.")
        if args.epochs < 1:
            raise ValueError(f"`--epochs` must be an int >= 1; got {args.epochs}.")
        extra["overrides"] = {"epochs": int(args.epochs)}
    if args.threads is not None and (args.workers is not None or args.scheduler):
        raise ValueError("`--threads` sets the cores of this process's sweeps; with `--workers`"
                         "/`--scheduler` the batches train on the cluster's workers, one thread "
                         "each: drop `--threads`.")
    if args.name != "circuit-phase":  # the ANN experiments train torch sweeps
        from plastix.ann.run import resolve_device

        extra["threads"] = 1 if args.threads is None else args.threads
        device = str(resolve_device(args.device))  # fails here, in one line
        if device != "cpu":  # the default is the experiments' own
            extra["device"] = device
    elif args.device != "cpu" or args.threads is not None:
        flag = "--device" if args.device != "cpu" else "--threads"
        raise ValueError(f"`{flag}` applies to the ANN experiments (table1, table1-ablations, "
                         "fig3, fig4, fig5, fig15), not to circuit-phase; drop it.")
    check_folder(args.out)
    stamp = _check_earlier_results(args)
    module = importlib.import_module(EXPERIMENTS[args.name])
    if "device" in extra and "device" not in inspect.signature(module.run).parameters:
        raise ValueError(f"`--device {args.device}`: `reproduce {args.name}` trains on the CPU "
                         "only; drop --device.")
    if (args.workers is not None or args.scheduler) \
            and "client" not in inspect.signature(module.run).parameters:
        raise ValueError(f"`--workers`/`--scheduler`: `reproduce {args.name}` runs in this "
                         "process only; drop them.")
    with cluster_client(args) as client:
        if client is not None:
            extra["client"] = client
        undo = stamp()  # before any result file: a stopped run's files are its own to replace
        try:
            summary = module.run(args.out, quick=args.quick, n_seeds=args.seeds, rng=args.rng,
                                 **extra)
        except BaseException:
            undo()  # a run that wrote no result leaves the earlier note as it was
            raise
    print(f"plastix reproduce {args.name}: wrote {summary}")
    return 0


STAMP = ".plastix-reproduce.json"
"""The options each experiment's results in a folder were made with (hidden, beside them);
an experiment's entry is written before its first result file, so that the files of a run
stopped before its end are known as its own."""


def _check_earlier_results(args: argparse.Namespace):
    """Refuse, before any work, to replace an experiment's results in ``--out`` made with
    other options (or files of its names that plastix did not write there) unless
    ``--overwrite``; returns the function that records this run's options, to be called
    before the run writes its first result, which returns the function to call if the
    run fails: when no result file of the experiment changed, the earlier entry is put
    back (a failed run that wrote nothing must not make the earlier results look like
    another run's).  A rerun with the same options continues (finished sweeps are cached)
    and replaces its own results."""
    from plastix._util.io import atomic_write

    options = {"quick": bool(args.quick), "seeds": args.seeds, "rng": args.rng,
               "epochs": args.epochs}
    path = Path(args.out) / STAMP
    made = _read_stamp(path, overwrite=args.overwrite)
    stem = args.name.replace("-", "_")
    ours = sorted(p.name for p in Path(args.out).glob(f"{stem}.*") if p.is_file())
    earlier = made.get(args.name)
    if ours and earlier != options and not args.overwrite:
        what = (f"results of `reproduce {args.name}` made with other options ({earlier})"
                if earlier is not None else f"files this run would replace ({', '.join(ours)})")
        raise CLIError(f"--out: {str(args.out)!r} holds {what}; pass --overwrite to replace "
                       "them, or choose another --out.")

    def files() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_mtime_ns, p.stat().st_size)
                for p in Path(args.out).glob(f"{stem}.*") if p.is_file()}

    def write(entry: dict | None) -> None:
        current = _read_stamp(path, overwrite=True)  # another experiment's entry may be new
        if entry is None:
            current.pop(args.name, None)
        else:
            current[args.name] = entry
        atomic_write(path, lambda p: p.write_text(json.dumps(current, indent=1) + "\n"))

    def record():
        before = files()
        write(options)

        def undo() -> None:
            if files() == before and path.is_file():
                write(earlier)

        return undo

    return record


def _read_stamp(path: Path, *, overwrite: bool) -> dict:
    """The experiments and options recorded in the stamp ``path`` ({} when there is none).

    A stamp that is not a file is refused; a damaged one (not JSON, or not an object of
    objects) is refused unless ``overwrite`` (it is then replaced, as if absent), each in
    one line naming the file, what was expected and found, and the fix."""
    fix = ("delete it (the results beside it are then treated as files plastix did not "
           "write), or pass --overwrite, or choose another --out.")
    refuse_non_file(path, "records the options of the results in that folder",
                    "move or remove it")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise CLIError(f"--out: cannot read {str(path)!r}, where plastix records the options "
                       f"of the results in that folder ({err.strerror or err}); make it "
                       "readable, or " + fix) from err
    try:
        made, found = json.loads(data.decode("utf-8")), None
    except ValueError as err:  # UnicodeDecodeError included
        made, found = None, f"it is not valid JSON ({err})"
    if found is None and not isinstance(made, dict):
        found = f"it holds a JSON {_json_kind(made)}"
    elif found is None:
        bad = next((k for k, v in made.items() if not isinstance(v, dict)), None)
        if bad is not None:
            found = f"its entry {bad!r} is a JSON {_json_kind(made[bad])}"
    if found is None:
        return made
    if overwrite:
        return {}
    raise CLIError(f"--out: {str(path)!r}, where plastix records the options of the results "
                   "in that folder, should hold a JSON object of each experiment's options "
                   f"(e.g. {{\"fig15\": {{\"quick\": true, ...}}}}); {found}: " + fix)


def _json_kind(value: object) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(value), "object")
