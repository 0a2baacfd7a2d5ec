"""``plastix estimate FILE [FILE ...] [--decay G] [--kernel K] [--rng S] [--out RESULT]
[--plot] [--workers N | --scheduler ADDRESS]``.

Several files (or a cluster flag) make a batch (:mod:`plastix.cli._estimate_batch`): one
result per file plus one combined table, in the folder ``--out DIR/``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from plastix._util.io import RESULT_SUFFIXES, result_files
from plastix.cli import _resume
from plastix.cli._cluster import add_cluster_flags
from plastix.cli._errors import CLIError
from plastix.cli._estimate_flags import (
    check_flags_apply,
    check_kernel_flags,
    check_table_kernel_flags,
    fill_defaults,
)
from plastix.cli._inputs import (
    add_allow_pickle_flag,
    add_sheet_flag,
    check_input,
    is_pickle,
    open_input,
)
from plastix.cli._paths import (
    add_overwrite_flag,
    add_rng_flag,
    check_outputs,
    input_name,
    input_stem,
    is_folder_target,
)
from plastix.cli._reader_flags import add_reader_flags, reader_options
from plastix.cli._registry_help import format_help, kernel_help
from plastix.cli.infer_weights import (
    add_inference_flags,
    inference_options,
    spike_reader_options,
)


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
        "A < 0 anti-Hebbian), with a studentized circular-block-bootstrap interval, a "
        "circular-shift p-value, a verdict and the emergent-Hebbian diagnostics.")
    p.add_argument("file", type=Path, nargs="+",
                   help=f"record file(s): {format_help()}; several files are a batch: one "
                   "result per file in --out DIR/ plus DIR/estimates.csv")
    p.add_argument("--decay", type=_decay, default=None,
                   help="decay rate in 1/time unit, or 'estimate' (default: the record's known "
                   "decay, else estimated from synapses whose presynaptic unit is silent in two "
                   "consecutive weight intervals)")
    p.add_argument("--kernel", default=None,
                   help="Hebbian term (default product; stdp for a table of pairing "
                   f"experiments and with --weights-from spikes): {kernel_help()}")
    p.add_argument("--lag", type=int, default=None,
                   help="bins pre leads post (kernel lagged; default 1)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (1000)")
    p.add_argument("--n-null", type=int, default=199,
                   help="null replicates (199); 0 skips the test and the verdict is then "
                   "indeterminate; at least 2/alpha (40 at alpha 0.05) can give p < alpha")
    p.add_argument("--null", default=None,
                   help="null of spike-time kernels: pooled-shift (default: the replicates "
                   "combine each train's versions from a few shifted passes, about 4) or "
                   "shift (every replicate shifts every train afresh: n-null passes)")
    p.add_argument("--alpha", type=float, default=0.05, help="test level (0.05)")
    add_rng_flag(p, "seed (default 0)")
    p.add_argument("--out", default=None,
                   help="write RESULT.nc and RESULT.json (and RESULT.png with --plot); "
                   "DIR/ writes DIR/FILE_estimate.*. The null replicates are saved as they "
                   "finish in the hidden folder .RESULT.resume/ beside the result (removed "
                   "once it is written): rerun a killed command (same --rng) to resume. "
                   "Without --out nothing is saved")
    p.add_argument("--plot", action="store_true",
                   help="also write a PNG figure, RESULT.png (needs --out)")
    add_allow_pickle_flag(p)
    add_overwrite_flag(p)
    add_cluster_flags(p)
    add_reader_flags(p, skip=("decay",))  # --decay above is the estimator's
    w = p.add_argument_group("recordings without measured weights")
    w.add_argument("--weights-from", default=None, choices=("spikes",),
                   help="infer the weights from the spike trains first (plastix "
                   "infer-weights), then estimate; the verdict is indeterminate when the "
                   "inferred changes are within their inference noise")
    add_inference_flags(w)
    t = p.add_argument_group(
        "tables of pairing experiments (.csv, .tsv, .tab, .parquet, .xlsx: one row per "
        "experiment, "
        "delta_t and weight_ratio or weight_before/weight_after; --kernel all compares kernels)")
    t.add_argument("--by", default=None,
                   help="column(s), comma-separated, within which rows are resampled and "
                   "permuted (e.g. experiment series or preparation)")
    t.add_argument("--pairing", default=None, choices=("all", "nearest"),
                   help="spike pairs the stdp term counts: all-to-all (default) or nearest")
    add_sheet_flag(t)
    t.add_argument("--nan", default=None, choices=("refuse", "drop"),
                   help="rows with an empty cell in a column plastix reads: refuse the table "
                   "(default, naming the rows) or drop them (the count is reported)")
    t.add_argument("--tau-ms", type=float, default=None,
                   help="STDP window time constant for tables, in ms (default 20)")
    p.set_defaults(func=_run)


def _outputs(args: argparse.Namespace) -> Path | None:
    """The result's base name (None: nothing written); its files checked against the input."""
    default = input_stem(args.file) + "_estimate"
    if args.out is None and args.plot:
        raise CLIError(f"`--plot` writes a figure of {input_name(args.file)!r} but no `--out` says "
                       "where (nothing is written beside an input): add `--out RESULT` or "
                       "`--out DIR/`.")
    if args.out is None:
        out = None
    elif is_folder_target(args.out):
        out = Path(args.out) / default
    else:
        out = _result_base(Path(args.out))
    if out is None:
        return None
    files = result_files(out, (".nc", ".json") + ((".png",) if args.plot else ()))
    named = [Path(args.out)] if args.out is not None and not is_folder_target(args.out) else []
    named += _resume.own_half(files[:2], resume_folder(out))  # a killed run's lone half
    check_outputs(files, inputs=[args.file], named=named, overwrite=args.overwrite)
    return out


def _result_base(out: Path) -> Path:
    """The result named by ``--out`` (written as BASE.nc and BASE.json, see
    :func:`plastix._util.io.result_files`); a name ending in another format's suffix
    (``res.nwb``, ``res.csv``) is refused, since that file would not be written."""
    from plastix.io.formats import format_suffixes
    from plastix.io.table import TABLE_SUFFIXES

    suffix = out.suffix.lower()
    if suffix not in RESULT_SUFFIXES and suffix in (*format_suffixes(), *TABLE_SUFFIXES):
        raise CLIError(f"`--out` {str(out)!r} names a {suffix} file, but an estimate is written "
                       f"as RESULT.nc and RESULT.json: pass `--out {out.with_suffix('')}` (or a "
                       "folder, DIR/).")
    return out


def _run(args: argparse.Namespace) -> int:
    from plastix.cli._registry_help import check_kernel
    from plastix.estimate.estimator import save_result
    from plastix.io.table import is_pairing_table

    if len(args.file) > 1 or args.workers is not None or args.scheduler is not None:
        from plastix.cli._estimate_batch import run_batch

        return run_batch(args)
    args.file = args.file[0]
    if is_pairing_table(args.file):
        return _run_table(args)
    check_flags_apply(args, table=False)
    args.kernel = args.kernel or ("stdp" if args.weights_from else "product")
    check_kernel(args.kernel)
    check_kernel_flags(args)
    fill_defaults(args)
    check_input(args.file, allow_pickle=args.allow_pickle)
    out = _outputs(args)
    args.resume = resume_folder(out)
    made = []
    if args.resume is not None:
        _resume.check_resume_folder(args.resume, "estimate")
        made = _resume.missing_parents(args.resume)
    try:
        est = fit_file(args)
        print(f"plastix estimate {input_name(args.file)}")
        print(est.summary())
        if out is not None:
            nc, js = save_result(est.result_, out)
            print(f"wrote {nc} and {js}")
    except KeyboardInterrupt as err:
        what = ("inferred chunks and null replicates" if args.weights_from == "spikes" else
                "null replicates")
        return _resume.stopped(err, "estimate", [args.resume] if args.resume else [], what)
    except BaseException:
        _resume.discard(args.resume, made)
        raise
    _resume.discard(args.resume, made)  # the result holds it all now
    if out is not None and args.plot:
        from plastix.plot.estimate import save_estimate_figure

        png = save_estimate_figure(est.result_, result_files(out, (".png",))[0])
        print(f"wrote {png}")
    return 0


def resume_folder(out: Path | None) -> Path | None:
    """The resume folder of the result ``out`` (its base name): the hidden sibling
    ``.RESULT.resume/`` (:func:`plastix.cli._resume.resume_folder`), where the estimator
    saves its null replicates as they finish; None without a result (nothing is saved)."""
    if out is None:
        return None
    nc = result_files(out)[0]
    return _resume.resume_folder(nc.parent / nc.stem)


def fit_file(args: argparse.Namespace):
    """The fitted estimator of ``args.file`` (a record file; checked already) with the
    options of ``args``."""
    from plastix.cli._errors import reading
    from plastix.cli._registry_help import format_of_path
    from plastix.estimate.estimator import HebbianEstimator, check_weight_changes

    fill_defaults(args)  # flags not given: their documented defaults (checked by the caller)
    resume = getattr(args, "resume", None)  # the null's resume folder (None: not saved)
    progress = getattr(args, "progress", None)  # False in a batch's task: the batch counts
    est = HebbianEstimator(kernel=args.kernel, decay=args.decay, lag=args.lag,
                           n_boot=args.n_boot, n_null=args.n_null, null=args.null,
                           alpha=args.alpha, rng=args.rng, resume_dir=resume, progress=progress)
    options = reader_options(args)
    if args.weights_from == "spikes":
        from plastix.estimate import estimate_from_spikes

        rec = open_input(args.file, allow_pickle=args.allow_pickle,  # activity left in the file
                         **spike_reader_options(args.file, options))
        kw = {**inference_options(args), "progress": progress}
        try:
            with _resume.writing_in(resume):
                est = estimate_from_spikes(
                    rec, method=kw.pop("method"), kernel=args.kernel, infer=kw, decay=args.decay,
                    lag=args.lag, n_boot=args.n_boot, n_null=args.n_null, null=args.null,
                    alpha=args.alpha, rng=args.rng, resume_dir=resume, progress=progress)
        finally:
            rec.close()
    elif options or (args.allow_pickle and is_pickle(args.file)):
        ds = open_input(args.file, allow_pickle=args.allow_pickle, **options)  # lazily if it can
        try:
            with reading(args.file, format_of_path(args.file)), _resume.writing_in(resume):
                ds = _streamed_or_read(ds, est, args.file)
                check_weight_changes(ds, input_name(args.file))
                est.fit(ds)
        finally:
            ds.close()
    else:
        from plastix.estimate.reader import open_record

        with reading(args.file, format_of_path(args.file)), _resume.writing_in(resume):
            ds, handle = open_record(args.file, streaming=est.streaming, memory=est.memory)
            try:
                check_weight_changes(ds, input_name(args.file))
                est.fit(ds)
            finally:
                if handle is not None:
                    handle.close()
    return est


def _streamed_or_read(ds: Any, est: Any, path: Path) -> Any:
    """A record opened with reader options (``ds``, lazily where the format can), left
    lazy for the estimator to stream when its activity exceeds the memory budget (as
    :func:`plastix.estimate.reader.open_record` decides for a file without options),
    else its activity read into memory (a series both roles take read once)."""
    from plastix.estimate.reader import opened_streams
    from plastix.io.lazy import load_activity

    streams = opened_streams(ds, est.streaming, est.memory)
    if streams is None:
        return ds  # read whole by its format
    ds.encoding.setdefault("source", str(path))  # named by the streaming checks
    return ds if streams else load_activity(ds)


def _run_table(args: argparse.Namespace) -> int:
    """``plastix estimate TABLE.csv``: the estimator on a table of pairing experiments."""
    from plastix._util.validate import check_number
    from plastix.cli._registry_help import check_kernel
    from plastix.estimate.pairing import estimate_pairing

    args.kernel = args.kernel or "stdp"
    if args.kernel != "all":
        check_kernel(args.kernel)
    check_input(args.file)
    check_flags_apply(args, table=True)
    check_table_kernel_flags(args)
    fill_defaults(args)
    check_number("tau_ms", args.tau_ms, low=0, strict=True, high=10_000.0,
                 unit="ms")  # named as typed; an STDP window is tens of ms, never 10 s
    out = _outputs(args)
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else None
    res = estimate_pairing(args.file, kernel=args.kernel, by=by, n_boot=args.n_boot,
                           n_null=args.n_null, alpha=args.alpha, tau=args.tau_ms / 1000.0,
                           pairing=args.pairing, sheet=args.sheet, nan=args.nan, rng=args.rng)
    print(f"plastix estimate {input_name(args.file)}")
    print(res.summary())
    if out is not None:
        nc, js = res.save(out)
        print(f"wrote {nc} and {js}")
    return 0
