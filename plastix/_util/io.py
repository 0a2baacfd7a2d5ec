"""Atomic file writes: a failed write never destroys the previous file."""

from __future__ import annotations

import glob
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "prepare_out"]


STALE_TEMP_S = 600.0
"""Age (s) after which a temporary file left by a killed write of the same target is removed."""


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path in the target folder, then rename it to ``path``.

    The temporary file keeps ``path``'s suffix (some writers choose the format by
    extension).  It is flushed to disk (``fsync``) before the rename, and the
    folder after it, so that a crash leaves either the old file or the new one.
    If ``write`` raises (or the process is interrupted), the temporary file is
    removed, any previous file at ``path`` is left intact and the folders the call
    created for it are removed again; temporary files of
    the same target left by a killed process (older than :data:`STALE_TEMP_S`)
    are removed by the next write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    made = _make_parents(path.parent)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        write(Path(tmp))
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        for folder in made:  # a failed write leaves no empty folder behind
            try:
                folder.rmdir()
            except OSError:  # something else was written there meanwhile: keep it
                break
        raise
    _fsync(path.parent)
    return path


#: suffixes of the files a result is written as (its NetCDF, its JSON summary, its figure)
RESULT_SUFFIXES = (".nc", ".json", ".png")


def result_files(path: str | os.PathLike, suffixes: tuple[str, ...] = (".nc", ".json")
                 ) -> list[Path]:
    """The files of a result named ``path``, one per suffix: a name ending in one of
    :data:`RESULT_SUFFIXES` has it replaced (``res.nc`` -> ``res.nc``, ``res.json``);
    any other name has the suffixes appended (``run.v1`` -> ``run.v1.nc``), so that no
    file but the one named, and its siblings, is written."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lower() in RESULT_SUFFIXES else path
    return [base.with_name(base.name + s) for s in suffixes]


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the folders created, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    if missing:
        missing[0].mkdir(parents=True, exist_ok=True)
    return missing


def _fsync(path: str | os.PathLike) -> None:
    """Flush a file's (or a folder's) data to disk; folders that cannot be opened are skipped."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def remove_with_temps(path: str | os.PathLike) -> None:
    """Delete ``path`` and every temporary file :func:`atomic_write` made for it (a
    killed writer's leftovers, whatever their age): for a file that is finished with,
    such as a checkpoint once its results are saved."""
    path = Path(path)
    path.unlink(missing_ok=True)
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(path.suffix)}"):
        tmp.unlink(missing_ok=True)


def _remove_stale_temps(path: Path) -> None:
    """Remove temporary files of ``path`` that a killed write left behind."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(path.suffix)}"):
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
        except OSError:
            pass


def prepare_out(out: Any) -> Path:
    """Check that ``out`` names a folder (str or Path, not an existing file) and create it.

    Returns
    -------
    pathlib.Path
        The folder, created with its parents if needed.
    """
    if not isinstance(out, (str, Path)):
        raise TypeError(f"`out` must be a folder path (str or Path); got {type(out).__name__}.")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"`out` must be a folder; {str(path)!r} is an existing file.")
    path.mkdir(parents=True, exist_ok=True)
    return path
