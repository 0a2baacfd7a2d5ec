"""Atomic file writes: a failed write never destroys the previous file."""

from __future__ import annotations

import errno
import functools
import glob
import os
import re
import shutil
import socket
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "prepare_out", "write_netcdf_file", "DiskFullError"]

_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class DiskFullError(OSError):
    """A file that does not fit its disk (or quota): the message names the file, the
    space it needs (when known) and the space free."""


STALE_TEMP_S = 600.0
"""Age (s) after which a temporary file left by a killed write of the same target is removed
(when its writer cannot be told dead: an older plastix, another host)."""

TEMP_EXTRA = 27
"""Bytes a temporary file's name adds to its target's name and suffix:
``.NAME.PID-HOST-RANDOM.SUFFIX``, a pid of up to 7 digits, an 8-hex host tag and 8
random characters."""

# PID-HOST-RANDOM between ``.NAME.`` and ``.SUFFIX`` (RANDOM as tempfile makes it)
_TEMP_OWNER = re.compile(r"([0-9]{1,7})-([0-9a-f]{8})-[a-z0-9_]{8}")


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path in the target folder, then rename it to ``path``.

    The temporary file keeps ``path``'s suffix (some writers choose the format by
    extension).  It is flushed to disk (``fsync``) before the rename, and the
    folder after it, so that a crash leaves either the old file or the new one.
    If ``write`` raises (or the process is interrupted), the temporary file is
    removed, any previous file at ``path`` is left intact and the folders the call
    created for it are removed again.  The temporary file's name holds the
    writer's pid and host (:func:`temp_prefix`), so that the next write of the same
    target removes one a killed process left, whatever its age, once that pid is dead
    on this host; others (an older plastix's, another host's) are removed when older
    than :data:`STALE_TEMP_S`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    made = _make_parents(path.parent)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        write(Path(tmp))
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        for folder in made:  # a failed write leaves no empty folder behind
            try:
                folder.rmdir()
            except OSError:  # something else was written there meanwhile: keep it
                break
        if isinstance(err, OSError) and err.errno in _NO_SPACE:
            raise _disk_full(path, getattr(err, "needed", None)) from err
        raise
    _fsync(path.parent)
    return path


def _disk_full(path: Path, needed: int | None) -> DiskFullError:
    """The one-line error of a write of ``path`` that ran out of space."""
    folder = next((f for f in (path.parent, *path.parents) if f.exists()), path.parent)
    try:
        free = f"free {shutil.disk_usage(folder).free / 1e6:.1f} MB"
    except OSError:
        free = "free space unknown"
    need = f"needed {needed / 1e6:.1f} MB, " if needed is not None else ""
    return DiskFullError(errno.ENOSPC, f"no space left on device writing {str(path)!r} "
                         f"({need}{free}); free space or write elsewhere with --out")


def write_netcdf_file(ds: Any, path: str | os.PathLike, **options: Any) -> None:
    """``ds.to_netcdf(path, engine="h5netcdf", **options)``, so that a full disk is one
    clean :class:`OSError` (``ENOSPC``) for :func:`atomic_write` to report.

    HDF5 that runs out of space mid-file leaves objects that crash the interpreter
    (a segfault) when they are freed.  So the file is written straight to ``path``
    (streaming, no copy in memory) only when the disk has room for it even
    uncompressed (:func:`netcdf_size_bound`); else it is made in memory, its exact
    size checked against the free space, and its bytes written with ``os.write``.
    The memory copy (the compressed file) is thus only made when the disk is short.
    """
    path = Path(path)
    if shutil.disk_usage(path.parent).free > netcdf_size_bound(ds):
        ds.to_netcdf(path, engine="h5netcdf", **options)
        return
    data = ds.to_netcdf(None, engine="h5netcdf", **options)  # a memoryview
    if data.nbytes > shutil.disk_usage(path.parent).free:
        err = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        err.needed = data.nbytes  # type: ignore[attr-defined]
        raise err
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        _write_all(fd, data)
    except OSError as err:
        err.needed = data.nbytes  # type: ignore[attr-defined]
        raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: memoryview) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data).cast("B")
    while view.nbytes:
        view = view[os.write(fd, view):]


def netcdf_size_bound(ds: Any) -> int:
    """Bytes that the NetCDF-4 file of ``ds`` takes at most, however its arrays
    compress: their uncompressed bytes (lazy arrays counted, not read) plus 1% for
    compression that does not pay, a 64 KiB header per variable, the attributes' text
    and 1 MiB."""
    total = 1 << 20
    for var in ds.variables.values():
        if var.dtype.kind == "O":
            total += sum(len(str(x).encode()) + 32 for x in var.values.ravel())
        else:
            total += int(var.size) * (var.dtype.itemsize + (32 if var.dtype.kind in "SU" else 0))
        total += (64 << 10) + sum(len(str(v).encode()) for v in var.attrs.values())
    total += sum(len(str(v).encode()) for v in ds.attrs.values())
    return int(total * 1.01)


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


def temp_prefix(path: Path, pid: int | None = None) -> str:
    """The start of the name of :func:`atomic_write`'s temporary file for ``path``:
    ``.NAME.PID-HOST-`` (``pid`` default: this process), then 8 random characters and
    ``path``'s suffix."""
    return f".{path.name}.{os.getpid() if pid is None else pid}-{_host_tag()}-"


@functools.lru_cache(maxsize=1)
def _host_tag() -> str:
    """8 hex digits naming this host and its pid namespace (containers sharing a folder
    and a host name see different pids), so that only this host judges a pid dead."""
    try:
        space = os.readlink("/proc/self/ns/pid")
    except (OSError, AttributeError):
        space = ""
    return f"{zlib.crc32(f'{socket.gethostname()}|{space}'.encode()):08x}"


def _writer_dead(tmp: Path, path: Path) -> bool:
    """Whether ``tmp`` is a temporary file of ``path`` whose writer, a process of this
    host named in it, has ended (False when that cannot be told)."""
    middle = tmp.name[len(path.name) + 2:len(tmp.name) - len(path.suffix)]
    owner = _TEMP_OWNER.fullmatch(middle)
    if owner is None or owner[2] != _host_tag() or os.name != "posix":
        return False
    try:
        os.kill(int(owner[1]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # another user's process: alive
        return False
    return False


def _remove_stale_temps(path: Path) -> None:
    """Remove temporary files of ``path`` that a killed write left behind: those whose
    writer is dead (:func:`_writer_dead`), and those older than :data:`STALE_TEMP_S`."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(path.suffix)}"):
        try:
            if _writer_dead(tmp, path) or now - tmp.stat().st_mtime > STALE_TEMP_S:
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
