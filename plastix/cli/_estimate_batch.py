"""``plastix estimate FILE [FILE ...] --out DIR/``: a batch of recordings, one task per file.

Each file is estimated exactly as ``plastix estimate FILE --rng S`` would (the same
options and seed for every file, so a file's result depends on the file alone, never
on the worker or the order).  Results are written here, as tasks finish:
``DIR/STEM_estimate.nc`` and ``.json`` per file, registered in
``DIR/estimate-index.json`` (atomic, under the folder's lock), then the combined table
``DIR/estimates.csv``: one row per result in the folder, this run's files first in the
order given, then those of earlier runs (a rerun naming fewer files keeps their rows).
The table is written also when the run stops early (a failed task, Ctrl-C).  A rerun
with the same options loads the files already estimated instead of estimating them
again, and a file whose fit was stopped resumes from the null replicates it had saved in
``DIR/.STEM_estimate.resume/`` (removed once its result is written; see
:func:`plastix.cli.estimate.resume_folder`).  Off a terminal (nohup, SLURM) a plain
progress line appears at most every 30 s.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from plastix._util.io import result_files
from plastix.cli._errors import CLIError
from plastix.cli._estimate_flags import check_flags_apply, check_kernel_flags, fill_defaults
from plastix.cli._inputs import check_input
from plastix.cli._paths import check_outputs, input_name, input_stem, is_folder_target

__all__ = ["run_batch"]

INDEX = "estimate-index.json"
TABLE = "estimates.csv"
_NOT_OPTIONS = {"file", "out", "overwrite", "workers", "scheduler", "debug", "func", "plot",
                "command"}


def _key(path: Path, options: dict[str, Any]) -> str:
    """A file's task key: its path, size and modification time, and the options."""
    st = path.stat()
    text = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, options],
                      sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def _check(args: argparse.Namespace) -> Path:
    from plastix._util.executor import check_client_flags
    from plastix.cli._registry_help import check_kernel
    from plastix.io.table import is_pairing_table

    check_client_flags(args.workers, args.scheduler)  # before any output is written
    if args.out is None or not is_folder_target(args.out):
        why = (f"a batch of {len(args.file)} file(s)" if len(args.file) > 1 else
               "with --workers or --scheduler (each file is a task, its result a file in it)")
        raise CLIError(f"`--out` must be a folder (DIR/) when estimating {why}; got "
                       f"{args.out!r}. Give e.g. --out results/.")
    if args.plot:
        raise CLIError("`--plot` draws one recording; drop it for a batch (or estimate the "
                       "file alone).")
    stems = [input_stem(f) for f in args.file]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise CLIError(f"two input files share the name {dup[0]!r}: their results would "
                       "share DIR/NAME_estimate.*; rename one or run them in two batches.")
    for f in args.file:
        if is_pairing_table(f):
            raise CLIError(f"{f} is a table of pairing experiments; estimate tables one at "
                           "a time (plastix estimate TABLE), batches take record files.")
        check_input(f, allow_pickle=args.allow_pickle)
    first = argparse.Namespace(**{**vars(args), "file": args.file[0], "allow_pickle": False})
    check_flags_apply(first, table=False)
    from plastix.cli._inputs import check_allow_pickle

    check_allow_pickle(args.allow_pickle, list(args.file))
    args.kernel = args.kernel or ("stdp" if args.weights_from else "product")
    check_kernel(args.kernel)
    check_kernel_flags(args)
    fill_defaults(args)
    return Path(args.out)


def estimate_task(args: argparse.Namespace, *, tick=None) -> dict[str, Any]:
    """One task of a batch: estimate ``args.file``; returns the result Dataset and its
    summary text (``{"result": ..., "summary": ...}``), or ``{"error": line}`` when the
    file cannot be estimated (a damaged file stops only its own task, not the batch, and
    is not retried on a cluster)."""
    from plastix.cli._errors import one_line
    from plastix.cli.estimate import fit_file

    # the warnings go back with the result and are shown by the batch, one line each (a
    # Dask worker would print them raw, in Python's two-line form)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            est = fit_file(args)
        except Exception as err:  # noqa: BLE001 - reported in one line with the file, at the end
            est = None
            out = {"error": one_line(err)}
    if tick is not None:  # in process: the batch's bar moves by a file (Dask moves it itself)
        tick(1)
    said = [(w.category, str(w.message)) for w in caught  # libraries' deprecations: not ours
            if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning,
                                           FutureWarning))]
    out = out if est is None else {"result": est.result_, "summary": est.summary()}
    return {**out, "warnings": said}


def run_batch(args: argparse.Namespace) -> int:
    """Estimate every file of ``args.file`` (on ``--workers``/``--scheduler`` if given)."""
    from plastix._util.executor import Task, run_tasks
    from plastix._util.index import read_index, update_index
    from plastix._util.progress import progress_bar
    from plastix.cli._cluster import cluster_client
    from plastix.cli._resume import discard, own_half
    from plastix.cli.estimate import resume_folder
    from plastix.estimate.estimator import result_to_dict, save_result

    out = _check(args)
    options = {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}
    keys = {f: _key(f, options) for f in args.file}
    bases = {f: out / f"{input_stem(f)}_estimate" for f in args.file}
    index = read_index(out, INDEX).get("results", {})
    summary = {f: result_files(bases[f])[1] for f in args.file}
    done = {f: json.loads(summary[f].read_text()) for f in args.file
            if index.get(keys[f]) == bases[f].name and summary[f].exists()}
    todo = [f for f in args.file if f not in done]
    ours = (out / INDEX).exists()
    files = [p for f in todo for p in result_files(bases[f])]
    halves = [p for f in todo for p in own_half(result_files(bases[f]), resume_folder(bases[f]))]
    check_outputs(files + ([] if ours else [out / TABLE]), inputs=args.file, named=halves,
                  overwrite=args.overwrite)  # a killed task's lone half is replaced
    if done:
        print(f"plastix estimate: {len(done)} of {len(args.file)} files already estimated in "
              f"{out} (loaded, not estimated again)")

    failed: dict[Path, str] = {}

    def save(task: Task, res: dict[str, Any]) -> None:
        f = task.args[0].file
        for category, text in res.get("warnings", ()):
            warnings.warn(f"{input_name(f)}: {text}", category, stacklevel=1)
        if "error" in res:
            failed[f] = res["error"]
            return
        save_result(res["result"], bases[f])
        discard(resume_folder(bases[f]), [])  # the result holds it all
        update_index(out, lambda ix: _record_result(ix, keys[f], bases[f].name, f), INDEX)
        done[f] = result_to_dict(res["result"])
        print(f"plastix estimate {input_name(f)}\n{res['summary']}", flush=True)

    tasks = []
    for f in todo:
        one = copy.copy(args)
        one.file, one.func, one.resume = f, None, resume_folder(bases[f])
        one.progress = False  # the batch's own bar counts files (a worker's lines would mix)
        tasks.append(Task(f"estimate-{keys[f]}", estimate_task, (one,), label=str(f)))
    bar = progress_bar(None, len(tasks), "estimate", "files") if tasks else None
    try:
        with cluster_client(args) as client:
            run_tasks(tasks, save, client=client, bar=bar)
    except KeyboardInterrupt as err:
        return _interrupted(err, out, [resume_folder(bases[f]) for f in todo if f not in done])
    finally:
        if bar is not None:
            bar.close()
        table, n_rows = _write_table(out, args.file, done)  # also after a failure or Ctrl-C
    earlier = n_rows - len(done)
    print(f"wrote {len(done)} results and {table}"
          + (f" ({n_rows} rows, {earlier} from earlier runs in {out})" if earlier else ""))
    if failed:
        from plastix.cli import _subparser, as_flags, build_parser

        flags = _subparser(build_parser(), "estimate")
    for f, line in failed.items():
        print(f"plastix estimate: error: {f}: {as_flags(line, flags)}", file=sys.stderr)
    if failed:
        print(f"plastix estimate: {len(failed)} of {len(args.file)} files could not be "
              "estimated (above); the others were, and a rerun estimates only the rest.",
              file=sys.stderr)
        return 1
    return 0


def _interrupted(err: KeyboardInterrupt, out: Path, resumes: list[Path]) -> int:
    """Ctrl-C (or SIGTERM) during a batch: one line saying what is kept and how to resume."""
    from plastix._util.checkpoint import holds_work, remove_resume_folder
    from plastix.cli import Terminated

    kept = [str(p) for p in resumes if p.is_dir() and holds_work(p)]
    for p in resumes:
        if p.is_dir() and str(p) not in kept:  # config.json alone: nothing worth keeping
            remove_resume_folder(p)
    how = "terminated" if isinstance(err, Terminated) else "interrupted"
    print(f"plastix estimate: {how}; the results finished so far are in {str(out)!r}"
          + (f" and the null replicates finished so far in {', '.join(map(repr, kept))}"
             if kept else "") + ": rerun the same command (same --rng) to resume.",
          file=sys.stderr)
    return 143 if isinstance(err, Terminated) else 130


def _record_result(index: dict, key: str, name: str, file: Path) -> None:
    """Note in the folder's index that result ``name`` is the one of ``key`` (a file and
    the options) and came from ``file``; an earlier key of the same name (other options,
    e.g. another --rng, whose files were just replaced) is dropped, so a rerun never loads
    them as its own."""
    results = index.setdefault("results", {})
    for old in [k for k, v in results.items() if v == name and k != key]:
        del results[old]
    results[key] = name
    index.setdefault("files", {})[name] = str(file)


_COLUMNS = ["file", "alignment", "alignment_low", "alignment_high", "p_value", "verdict",
            "decay", "pooled", "result"]


def _row(file: str, name: str, d: dict) -> dict[str, Any]:
    lo, hi = (d.get("alignment_ci") or [None, None])[:2]
    return {"file": file, "alignment": d.get("alignment"), "alignment_low": lo,
            "alignment_high": hi, "p_value": d.get("p_value"), "verdict": d.get("verdict"),
            "decay": d.get("decay"), "pooled": d.get("pooled"), "result": f"{name}.nc"}


def _earlier_rows(out: Path, names: set[str]) -> list[dict[str, Any]]:
    """Rows of the results that earlier runs left in ``out`` (registered in its index, their
    summary still there), other than ``names``, sorted by name."""
    from plastix._util.index import read_index

    index = read_index(out, INDEX)
    files = index.get("files", {})
    rows = []
    for name in sorted(set(index.get("results", {}).values()) - names):
        summary = result_files(out / name)[1]
        try:
            d = json.loads(summary.read_text())
        except (OSError, ValueError):  # removed or damaged since: no row
            continue
        rows.append(_row(files.get(name, ""), name, d))
    return rows


def _write_table(out: Path, files: list[Path], done: dict[Path, dict]) -> tuple[Path, int]:
    """``out/estimates.csv``: one row per estimated file of this run, in the order given,
    then one per result of earlier runs still in ``out``; returns the path and the rows."""
    import pandas as pd

    from plastix._util.io import atomic_write

    ours = [f"{input_stem(f)}_estimate" for f in files]
    rows = [_row(str(f), name, done[f]) for f, name in zip(files, ours, strict=True)
            if f in done]
    rows += _earlier_rows(out, set(ours))
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    return atomic_write(out / TABLE, lambda p: frame.to_csv(p, index=False)), len(rows)
