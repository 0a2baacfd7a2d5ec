"""``plastix design [--record FILE] [--budget N] [--replicates R] [--rng S]
[--simulator numpy|brian2] --out DIR``, and ``plastix design --recording-length
[--n-pre N] [--n-post M] [--rate HZ] [--g-max G] [--lengths L1,L2,...] [--window S]
[--power P] [--replicates R] --out DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plastix.cli import _resume
from plastix.cli._cluster import add_cluster_flags, cluster_client
from plastix.cli._inputs import add_allow_pickle_flag
from plastix.cli._paths import (
    add_overwrite_flag,
    add_rng_flag,
    check_folder,
    check_outputs,
    folder_arg,
)
from plastix.cli._reader_flags import add_reader_flags, reader_options
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
    p.add_argument("--target", type=float, default=None,
                   help="baseline alignment in (-1, 1) every hypothesis is calibrated to "
                   "(default: the alignment of --record, else 0.35)")
    p.add_argument("--budget", type=int, default=None,
                   help="sessions (or synapses, see --budget-unit) you can record (default 20)")
    p.add_argument("--budget-unit", default=None, choices=["session", "synapse"],
                   help="unit of --budget (default session)")
    p.add_argument("--replicates", type=int, default=12,
                   help="simulated sessions per hypothesis (default 12)")
    add_rng_flag(p)
    p.add_argument("--kernel", default=None,
                   help=f"Hebbian term of the estimator (default product): {kernel_help()}")
    p.add_argument("--simulator", default=None, choices=["numpy", "brian2"],
                   help="integrate the sessions with the batched numpy circuit (default) or "
                   "as Brian2 networks (plastix.circuits.linear; same numbers, much slower)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", type=folder_arg, required=True, help="output folder")
    add_reader_flags(p)
    add_allow_pickle_flag(p)
    add_overwrite_flag(p)
    add_cluster_flags(p)
    _add_length_flags(p)
    p.set_defaults(func=_run)


def _add_length_flags(p: argparse.ArgumentParser) -> None:
    from plastix.circuits.lif import TARGETS
    from plastix.estimate.infer import METHODS

    g = p.add_argument_group(
        "recording length for inferred weights (--recording-length)",
        "Instead of ranking manipulations: simulate --replicates recordings of a pair-STDP "
        "LIF circuit of your size (Brian2), infer its weights from the spikes alone, and "
        "report the power of the Hebbian verdict at each length and the shortest length "
        "reaching --power. Writes " + ", ".join(_LENGTH_FILES) + ".")
    g.add_argument("--recording-length", action="store_true",
                   help="answer: how long must a spike-only recording be for a Hebbian verdict")
    g.add_argument("--n-pre", type=int, default=None, help="inputs per cell (default 1000)")
    g.add_argument("--n-post", type=int, default=None, help="LIF cells (default 1)")
    g.add_argument("--rate", type=float, default=None, help="input rate, Hz (default 15)")
    g.add_argument("--g-max", type=float, default=None,
                   help="weight bound, leak conductances (default 10/--n-pre: 0.01 for 1000 "
                   "inputs, 0.1 for 100; raise it if the cells never fire)")
    g.add_argument("--lengths", default=None,
                   help="candidate recording lengths, s, comma-separated (default 200,400,600,800)")
    g.add_argument("--window", type=float, default=None,
                   help="inference window, s (default 16; at most the shortest length / 11)")
    g.add_argument("--power", type=float, default=None, help="target power (default 0.8)")
    g.add_argument("--method", default=None, choices=METHODS,
                   help="inference method (default ccg)")
    g.add_argument("--brian2-target", default=None,
                   choices=TARGETS,
                   help="Brian2 code generation of the simulations (default cpp_standalone)")


_LENGTH_FILES = ("recording_length.nc", "recording_length.csv")

# the flags of one mode only: dest -> (flag, default); parsed with None so that a flag
# given in the other mode is refused (never ignored), then set to its default
_RANKING_FLAGS = {"record": ("--record", None), "target": ("--target", None),
                  "budget": ("--budget", 20), "budget_unit": ("--budget-unit", "session"),
                  "kernel": ("--kernel", "product"), "simulator": ("--simulator", "numpy")}
_LENGTH_FLAGS = {"n_pre": ("--n-pre", 1000), "n_post": ("--n-post", 1), "rate": ("--rate", 15.0),
                 "g_max": ("--g-max", None), "lengths": ("--lengths", "200,400,600,800"),
                 "window": ("--window", 16.0), "power": ("--power", 0.8),
                 "method": ("--method", "ccg"), "brian2_target": ("--brian2-target",
                                                                  "cpp_standalone")}


def _check_mode_flags(args: argparse.Namespace) -> None:
    """Refuse, in one line, flags of the other mode (ranking manipulations, or
    ``--recording-length``); then set every mode flag not given to its default."""
    from plastix.cli._errors import CLIError
    from plastix.cli._reader_flags import given_reader_flags

    other = _RANKING_FLAGS if args.recording_length else _LENGTH_FLAGS
    wrong = [flag for dest, (flag, _) in other.items() if getattr(args, dest) is not None]
    if args.recording_length:
        wrong += given_reader_flags(args) + (["--allow-pickle"] if args.allow_pickle else [])
    if wrong:
        listing = ", ".join(f"`{f}`" for f in wrong)
        them = "it" if len(wrong) == 1 else "them"
        if args.recording_length:
            raise CLIError(f"{listing} appl{'ies' if len(wrong) == 1 else 'y'} to ranking "
                           "manipulations (`plastix design` without `--recording-length`), "
                           f"not to `--recording-length`, and would be ignored; drop {them}.")
        raise CLIError(f"{listing} appl{'ies' if len(wrong) == 1 else 'y'} to "
                       "`--recording-length` only and would be ignored here: add "
                       f"`--recording-length` or drop {them}.")
    for dest, (_, default) in {**_RANKING_FLAGS, **_LENGTH_FLAGS}.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def _lengths(text: str) -> list[float]:
    from plastix.cli._errors import CLIError

    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise CLIError(f"--lengths: expected seconds separated by commas, e.g. 100,200,400; "
                       f"got {text!r}.") from None


def _own_outputs(args: argparse.Namespace, resume: Path, names: tuple[str, ...], command: str,
                 *, inputs: list[Path] | tuple = ()) -> tuple[list[Path], Path, str]:
    """Check the outputs before any work: files of these names in ``--out`` are replaced
    only with --overwrite, unless this very command (same options and inputs, see
    :func:`plastix.cli._resume.run_key`) was stopped while writing them; returns the
    outputs, the stamp noting (in the ``resume`` folder) that this run writes them, and
    the run's key."""
    _resume.check_resume_folder(resume, "plastix design")
    outputs = [args.out / f for f in names]
    key = _resume.run_key(args, inputs=inputs)
    stamp = resume / f"writing-{names[0].partition('.')[0]}.json"
    own = _resume.own_outputs(stamp, key, outputs, command=command, overwrite=args.overwrite)
    check_outputs(outputs, inputs=inputs, named=own, overwrite=args.overwrite)
    return outputs, stamp, key


def _run_length(args: argparse.Namespace) -> int:
    from plastix.design.recording import power_table, recording_length, write_recording_length

    check_folder(args.out)
    resume = args.out / ".resume"  # each finished replicate, as it finishes
    outputs, stamp, key = _own_outputs(args, resume, _LENGTH_FILES, "plastix design "
                                       "--recording-length")
    try:
        with cluster_client(args) as client:
            ds = recording_length(args.n_pre, args.n_post, rate=args.rate, g_max=args.g_max,
                                  lengths=_lengths(args.lengths), n_replicates=args.replicates,
                                  window=args.window, power=args.power, method=args.method,
                                  target=args.brian2_target, rng=args.rng,
                                  progress=not args.quiet, resume_dir=resume, client=client)
    except KeyboardInterrupt:
        print(f"plastix design: interrupted; the replicates finished so far are kept in "
              f"{str(resume)!r}: rerun the same command (same --rng) to resume.",
              file=sys.stderr)
        return 130
    _resume.writing_outputs(stamp, key, outputs)  # a killed write is this run's to finish
    paths = write_recording_length(ds, args.out)
    _resume.wrote_outputs(stamp)
    print(power_table(ds).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    best = ds.attrs["shortest_length"]
    print(f"shortest length with power >= {args.power:g}: "
          + (f"{best:g} s" if best == best else f"none up to {ds['length'].values[-1]:g} s"))
    print("plastix design: wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _run(args: argparse.Namespace) -> int:
    from plastix.cli._inputs import check_input, load_input
    from plastix.cli._registry_help import check_kernel

    _check_mode_flags(args)
    if args.recording_length:
        return _run_length(args)
    check_kernel(args.kernel)
    options = reader_options(args)
    if args.allow_pickle and args.record is None:
        raise ValueError("`--allow-pickle` lets --record read a pickle file, but no --record "
                         "is given; pass --record FILE, or drop it.")
    if options and args.record is None:
        from plastix.cli._reader_flags import given_reader_flags

        raise ValueError(f"the reader flags ({', '.join(given_reader_flags(args))}) map the "
                         "file of --record; pass --record FILE, or drop them.")
    inputs = [args.record] if args.record is not None else []
    if args.record is not None:
        from plastix.cli._inputs import check_allow_pickle

        check_allow_pickle(args.allow_pickle, [args.record])
        check_input(args.record, allow_pickle=args.allow_pickle, name="`--record`")
    check_folder(args.out)
    resume = args.out / ".resume"  # each measured session, as it finishes
    outputs, stamp, key = _own_outputs(args, resume, _FILES, "plastix design", inputs=inputs)
    record = None
    if args.record is not None:
        record = load_input(args.record, allow_pickle=args.allow_pickle, name="`--record`",
                            **options)

    from plastix.design.output import write_design
    from plastix.design.propose import propose_experiments
    from plastix.plot.design import plot_design_panels

    try:
        with cluster_client(args) as client:
            res = propose_experiments(record=record, target=args.target, budget=args.budget,
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
    figure = plot_design_panels(res.dataset)
    _resume.writing_outputs(stamp, key, outputs)  # a killed write is this run's to finish
    paths = write_design(res, args.out, figure=figure)
    _resume.wrote_outputs(stamp)
    cols = ["rank", "manipulation", "fits_budget", "sessions_required", "power_at_budget",
            "weakest_pair"]
    print(res.table[cols].to_string(index=False))
    print("plastix design: wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
