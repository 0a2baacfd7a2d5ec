"""``plastix infer-weights FILE --out OUT [--method ccg|glm] [--window S] [--rng N]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from plastix.cli._inputs import (
    add_allow_pickle_flag,
    check_allow_pickle,
    check_input,
    open_input,
)
from plastix.cli._paths import (
    add_overwrite_flag,
    add_rng_flag,
    check_outputs,
    input_stem,
    is_folder_target,
)
from plastix.cli._reader_flags import add_reader_flags, reader_options
from plastix.cli._registry_help import check_format, format_help
from plastix.cli._resume import (
    check_resume_folder,
    discard,
    missing_parents,
    resume_folder,
    stopped,
    writing_in,
)


def add_inference_flags(parser: argparse.ArgumentParser) -> None:
    """``--method`` and ``--window``: how synaptic efficacy is read from spikes."""
    parser.add_argument("--method", default=None, choices=("ccg", "glm"),
                        help="ccg: spike-transmission probability over a jittered baseline "
                        "(default); glm: Poisson GLM coupling per window")
    parser.add_argument("--window", type=float, default=None,
                        help="window of each inferred weight, in s (default 10)")


def inference_options(args: argparse.Namespace) -> dict:
    """The keywords of :func:`plastix.estimate.infer_weights` the user gave (a window of 0
    is given, and refused there, never read as the default)."""
    return {"method": args.method or "ccg",
            **({"window": args.window} if args.window is not None else {})}


def missing_line(attrs: dict) -> str:
    """How many inferred weights are missing, and why: ``n_missing`` of ``n_weights``,
    ``n_unrecorded`` of them where a unit was not recorded, the rest too few spikes."""
    n, gap = int(attrs["n_missing"]), int(attrs.get("n_unrecorded", 0))
    why = [f"{gap} where a unit was not recorded"] if gap else []
    why += [f"{n - gap} with too few spikes"] if n > gap else []
    return (f"{n} of {attrs['n_weights']} weights missing" + (f" ({', '.join(why)})"
                                                              if why else ""))


def spike_reader_options(path: Path, options: dict) -> dict:
    """Reader options for a file whose weights will be inferred from its spikes.

    A file of spike trains (NIX, NWB, pickle, a pynapple session) may then lack
    measured weights (``weights_from="spikes"``); other formats read as usual.
    """
    from plastix.io.formats import format_for_path

    fmt = format_for_path(path)
    if fmt.read_blocks is None and "weights_from" not in fmt.lazy_options:
        return options
    return {**options, "weights_from": "spikes"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "infer-weights", help="infer synaptic efficacies from pre and post spike trains",
        description="Read the efficacy of every (pre, post) pair in consecutive windows from "
        "spikes alone (no measured weights) and write a record with weight and weight_sem.")
    p.add_argument("file", type=Path, help=f"record with spike trains: {format_help()}")
    p.add_argument("--out", required=True,
                   help=f"output record by its suffix: {format_help(written=True)}; DIR/ "
                   "writes DIR/FILE_weights.nc")
    add_inference_flags(p)
    add_rng_flag(p, "seed of jittered surrogates (default 0); neither method draws any as "
                 "run here (ccg's jittered baseline is computed, glm draws nothing), so the "
                 "output does not depend on it")
    add_reader_flags(p)
    add_allow_pickle_flag(p)
    add_overwrite_flag(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    check_allow_pickle(args.allow_pickle, [args.file])
    check_input(args.file, allow_pickle=args.allow_pickle)
    folder = is_folder_target(args.out)  # DIR/ writes DIR/STEM_weights.nc, a name not given
    args.out = Path(args.out) / f"{input_stem(args.file)}_weights.nc" if folder else Path(args.out)
    check_format(args.out)
    check_outputs([args.out], inputs=[args.file], named=[] if folder else [args.out],
                  overwrite=args.overwrite)
    from plastix.estimate import infer_weights
    from plastix.io import save_record

    resume = resume_folder(args.out)
    check_resume_folder(resume, "infer-weights")
    made = missing_parents(resume)
    rec = open_input(args.file, allow_pickle=args.allow_pickle,  # activity left in the file
                     **spike_reader_options(args.file, reader_options(args)))
    try:
        with writing_in(resume):
            out = infer_weights(rec, rng=args.rng, resume_dir=resume,
                                **inference_options(args))
        path = save_record(out, args.out)  # reads the activity, a file open
    except KeyboardInterrupt as err:
        return stopped(err, "infer-weights", [resume], "chunks")
    except BaseException:
        discard(resume, made)
        raise
    finally:
        rec.close()
    discard(resume, made)
    print(f"plastix infer-weights: {missing_line(out.attrs)}; wrote {path}")
    return 0
