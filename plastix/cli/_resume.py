"""Where a command keeps its finished work until its output is written, and what it says
when it is stopped.

``infer-weights`` and ``estimate`` save as they go (:mod:`plastix._util.checkpoint`) in a
hidden sibling of the output the user named, ``.NAME.resume/``: created when the work
starts, kept when the command is stopped (Ctrl-C, SIGTERM, a kill), so that the same
command resumes, and removed (plastix's files only, with the folders made for it) once the
output is written or when the command fails with an error it reports (the fix is then
the user's, and the rerun starts afresh: a full disk gets no hidden chunks left on it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from plastix._util.checkpoint import config_key, holds_work, remove_resume_folder
from plastix._util.warn import warn_caller

__all__ = ["resume_folder", "check_resume_folder", "writing_in", "own_half", "stopped",
           "missing_parents", "discard", "run_key", "own_outputs", "writing_outputs",
           "wrote_outputs"]


def resume_folder(output: Path) -> Path:
    """The resume folder of ``output``: ``.NAME.resume/`` beside it (NAME its file name,
    or the base name of a result written as several files)."""
    return output.parent / f".{output.name}.resume"


def check_resume_folder(folder: Path, command: str) -> None:
    """Refuse, before any work, a file where ``command`` would keep its finished work."""
    from plastix.cli._errors import CLIError

    if folder.exists() and not folder.is_dir():
        raise CLIError(f"--out: {str(folder)!r}, where {command} keeps its finished work "
                       "until the output is written, is a file; move or remove it.")


def own_half(pair: list[Path], folder: Path | None) -> list[Path]:
    """The lone existing file of a result's ``pair`` (RESULT.nc, RESULT.json) when its
    resume ``folder`` exists: the half a run killed between the two writes left (the
    folder is removed only after both), which the same command may replace without
    --overwrite to finish that run's work.  Otherwise nothing (the usual refusal stands:
    a whole pair, or a half without the folder, may be another run's result)."""
    if folder is None or not folder.is_dir():
        return []
    there = [p for p in pair if p.exists()]
    return there if len(there) == 1 else []


_NOT_DECIDING = frozenset({"func", "command", "debug", "quiet", "overwrite", "out", "workers",
                           "scheduler"})
"""Options of a command that do not decide what it writes (left out of its run key)."""


def run_key(args: argparse.Namespace, *, inputs: Sequence[Path] = ()) -> str:
    """The resume key of a command's run: :func:`plastix._util.checkpoint.config_key` of
    its options (all but those that do not decide the results: ``--quiet``,
    ``--overwrite``, ``--out``, ``--workers``, ...) and of each input file's resolved path,
    size and modification time, so that the same command on the same files gets the same
    key, and any other run another."""
    options = {k: v for k, v in vars(args).items() if k not in _NOT_DECIDING}
    files = []
    for path in inputs:
        try:
            st = Path(path).stat()
            files.append([str(Path(path).resolve()), st.st_size, st.st_mtime_ns])
        except OSError:
            files.append([str(path), None, None])
    return config_key({"options": options, "inputs": files}, _STAMP_VERSION)


_STAMP_VERSION = 1
"""Bumped when the layout or the meaning of an output stamp changes."""


def own_outputs(stamp: Path, key: str, outputs: Sequence[Path], *, command: str,
                overwrite: bool = False) -> list[Path]:
    """The existing ``outputs`` that a run with resume ``key`` (:func:`run_key`) began to
    write and was stopped before finishing (the ``stamp`` :func:`writing_outputs` wrote
    before the first of them holds that key and their names), which the same command may
    replace without --overwrite to finish its work; otherwise nothing, and the usual
    refusal of existing outputs stands.

    Raises
    ------
    CLIError
        Before any work: when ``stamp`` is not a file (it could not be written at the
        end), and, without ``overwrite``, when existing outputs are those of an unfinished
        ``command`` run with other options (one line saying so, with the fix).
    """
    from plastix.cli._errors import CLIError

    refuse_non_file(stamp, "notes the outputs a run is writing", "remove it")
    try:
        made = json.loads(stamp.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):  # damaged: nothing is known to be this run's
        return []
    if not isinstance(made, dict) or not isinstance(made.get("outputs"), list):
        return []
    there = [p for p in outputs if p.name in made["outputs"] and p.exists()]
    if made.get("key") == key:
        return there
    if there and not overwrite:
        raise CLIError(f"--out: {str(there[0].parent)!r} holds the outputs of a `{command}` "
                       "run with other options that was stopped while writing them ("
                       f"{', '.join(p.name for p in there)}); rerun that command to finish "
                       "it, pass --overwrite to replace them, or choose another --out.")
    return []


def refuse_non_file(stamp: Path, records: str, fix: str) -> None:
    """Refuse (one line) a run's JSON note in ``--out`` that exists but is not a file: the
    note where plastix ``records`` (what it holds), with the ``fix``."""
    from plastix.cli._errors import CLIError

    if stamp.exists() and not stamp.is_file():
        kind = "a folder" if stamp.is_dir() else "not a regular file"
        raise CLIError(f"--out: {str(stamp)!r}, where plastix {records}, should be a small "
                       f"JSON file; it is {kind}: {fix}, or choose another --out.")


def writing_outputs(stamp: Path, key: str, outputs: Sequence[Path]) -> None:
    """Note, before the first of ``outputs`` is written, that the run with resume ``key``
    writes them (:func:`own_outputs` reads it back), atomically."""
    from plastix._util.io import atomic_write

    text = json.dumps({"key": key, "outputs": [p.name for p in outputs]}, indent=1) + "\n"
    atomic_write(stamp, lambda p: p.write_text(text, encoding="utf-8"))


def wrote_outputs(stamp: Path) -> None:
    """Remove the ``stamp`` of :func:`writing_outputs` once every output is written: the
    outputs are then a finished result, replaced only with --overwrite."""
    with contextlib.suppress(OSError):  # left: the same command may replace its outputs
        stamp.unlink(missing_ok=True)


def _inside(name: object, folder: Path) -> bool:
    """Whether the path ``name`` (an OSError's filename) lies in ``folder``."""
    if not isinstance(name, (str, bytes, os.PathLike)):
        return False
    try:
        return Path(os.fsdecode(name)).absolute().is_relative_to(folder.absolute())
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def writing_in(folder: Path | None) -> Iterator[None]:
    """Turn an OSError on a path inside the resume ``folder`` (it cannot be made or
    written) into one line naming that folder and the fix, never blamed on the input."""
    from plastix.cli._errors import CLIError

    try:
        yield
    except OSError as err:
        if folder is None or not (_inside(err.filename, folder)
                                  or _inside(err.filename2, folder)):
            raise
        reason = err.strerror or str(err)
        raise CLIError(f"cannot write in the resume folder {str(folder)!r}, where the finished "
                       f"work is kept until the output is written ({type(err).__name__}: "
                       f"{reason}, on {os.fsdecode(err.filename)!r}); make it writable or "
                       "remove it, or write elsewhere with --out.") from err


def stopped(err: KeyboardInterrupt, command: str, kept: list[Path], what: str) -> int:
    """Ctrl-C (or SIGTERM) during ``command``: one line on stderr saying where the finished
    ``what`` are kept and how to resume, or that none had finished (a folder holding no
    finished work is removed); the exit status (130, or 143 on SIGTERM).  Re-raised when
    there was no folder (the CLI's own line then says it was stopped)."""
    from plastix.cli import Terminated

    folders = [p for p in kept if p.is_dir()]
    if not folders:
        raise err
    how = "terminated" if isinstance(err, Terminated) else "interrupted"
    kept = [str(p) for p in folders if holds_work(p)]
    for p in folders:
        if str(p) not in kept:  # config.json alone: nothing worth keeping
            remove_resume_folder(p)
    if kept:
        where = repr(kept[0]) if len(kept) == 1 else ", ".join(map(repr, kept))
        print(f"plastix {command}: {how}; the {what} finished so far are kept in {where}: "
              "rerun the same command (same --rng) to resume.", file=sys.stderr)
    else:
        print(f"plastix {command}: {how}; no {what} had finished yet, so nothing is kept: "
              "rerun the same command to start again.", file=sys.stderr)
    return 143 if isinstance(err, Terminated) else 130


def missing_parents(folder: Path) -> list[Path]:
    """The folders above ``folder`` that do not exist yet (deepest first): made for it by
    the command, removed again by :func:`discard` when left empty."""
    made = []
    for p in folder.absolute().parents:
        if p.exists():
            break
        made.append(p)
    return made


def discard(folder: Path | None, made: list[Path]) -> None:
    """Remove plastix's files from the resume ``folder`` and the folders in ``made`` left
    empty (:func:`missing_parents`); anything else stays.  A file that cannot be removed
    is a warning naming the folder (``plastix: warning: ...``), never an error: the
    output is written already."""

    if folder is None:
        return
    failed: list[OSError] = []
    gone = remove_resume_folder(folder, failed)
    if failed:
        err = failed[0]
        warn_caller(f"could not remove {len(failed)} file(s) of the finished work kept in "
                    f"{str(folder)!r} ({type(err).__name__}: {err.strerror or err}, on "
                    f"{str(err.filename)!r}); the output is complete: delete that folder "
                    "by hand (`rm -r`) once it can be.", UserWarning)
    if not gone:
        return
    for p in made:
        try:
            p.rmdir()
        except OSError:  # not empty (the output is there) or gone: keep the rest
            break
