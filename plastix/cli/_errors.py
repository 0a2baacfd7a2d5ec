"""One line, never a traceback: how the CLI reports what a user can cause.

:func:`one_line` turns an exception into the text after ``plastix CMD: error:``.
:func:`reading` wraps the reading of an input file, so that an error raised
inside a reader library (h5py, h5netcdf, Neo, pynwb, nixio, pickle) names the
file, its format and the probable cause.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

__all__ = ["CLIError", "InputError", "reading", "one_line", "sniff_format"]

_PLASTIX_DIR = str(Path(__file__).resolve().parent.parent)
# packages whose exceptions, raised while reading an input, are reading failures
_READERS = frozenset({"h5py", "h5netcdf", "netCDF4", "neo", "pynwb", "hdmf", "nixio", "pickle"})


class CLIError(Exception):
    """An error the CLI found itself (paths, flags); its message is the whole line."""


class InputError(CLIError):
    """An input file that its reader could not read."""


def _raised_in_plastix(err: BaseException) -> bool:
    """Whether the innermost frame of ``err``'s traceback is plastix's own code."""
    tb = err.__traceback__
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_PLASTIX_DIR)


def _origin(err: BaseException) -> str:
    """The top-level package whose code raised ``err`` (e.g. ``'neo'``, ``'h5py'``)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    path = Path(tb.tb_frame.f_code.co_filename)
    if not path.is_absolute():  # compiled extension modules: "h5py/h5f.pyx"
        return path.parts[0].removesuffix(".py")
    for marker in ("site-packages", "dist-packages"):
        if marker in path.parts:
            rest = path.parts[path.parts.index(marker) + 1:]
            return rest[0].removesuffix(".py") if rest else "?"
    return path.stem


_KIND_LABELS = {"nwb": "NWB", "nix": "NIX", "netcdf": "NetCDF-4", "hdf5": "HDF5",
                "damaged": "HDF5 (damaged)"}


def sniff_format(path: Path) -> str | None:
    """What a file really is, from its content (:mod:`plastix.io.probe`): ``'empty'``,
    ``'NWB'``, ``'NIX'``, ``'NetCDF-4'``, ``'HDF5'``, ``'HDF5 (damaged)'``, ``'NetCDF-3'``,
    ``'pickle'``, or None."""
    from plastix.io import probe

    try:
        start = probe.head(path)
        if not start:
            return "empty"
        if start.startswith(b"CDF"):
            return "NetCDF-3"
        if probe.sniff_pickle(path):
            return "pickle"
        return _KIND_LABELS.get(probe.hdf5_kind(path))
    except OSError:
        return None


def _mismatch(real: str | None, fmt: str | None) -> str:
    """``"the file is really NIX, not netcdf: …"`` when the bytes say another format."""
    if not real or not fmt or real in ("HDF5", "HDF5 (damaged)", "empty"):
        return ""
    if real.split("-")[0].lower() == fmt.lower():
        return ""
    return (f"the file is really {real}, not {fmt}: rename it with the suffix of its format, "
            "or convert it")


def _read_failure(path: Path, fmt: str | None, err: BaseException) -> str:
    """The one line for a file its reader could not read."""
    what = " ".join(f"{type(err).__name__}: {err}".split()).rstrip(":")
    if len(what) > 300:
        what = what[:297] + "..."
    label = fmt or path.suffix or "record"
    real = sniff_format(path)
    if path.is_dir():
        cause = "it is a folder, not a file; pass the record file itself"
    elif real == "empty":
        cause = "the file is empty (0 bytes); it was probably not written to the end"
    elif real == "HDF5 (damaged)":
        cause = ("its HDF5 container is truncated or damaged; it was probably not written or "
                 "copied to the end: copy it again from its source")
    elif _mismatch(real, fmt):
        cause = _mismatch(real, fmt)
    else:
        cause = ("the file is probably truncated, corrupt, or not written by the plastix/Neo "
                 "convention (the README's Neo section); check that it opens in the program "
                 "that wrote it")
    return f"cannot read {str(path)!r} as {label} ({what}, raised by {_origin(err)}): {cause}."


def _from_reader(err: BaseException) -> bool:
    """Whether ``err`` is a reading failure: an I/O or unpickling error, or raised inside a
    reader library (not by plastix's own checks, whose messages already say what to do)."""
    if _raised_in_plastix(err):  # plastix's checks: their messages say what to do
        return not isinstance(err, (ValueError, TypeError, FileNotFoundError))
    if isinstance(err, (OSError, EOFError, pickle.UnpicklingError)):
        return True
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    parts = Path(tb.tb_frame.f_code.co_filename).parts if tb is not None else ()
    return bool(_READERS.intersection(parts)) or ("xarray" in parts and "backends" in parts)


@contextlib.contextmanager
def reading(path: str | os.PathLike, fmt: str | None = None) -> Iterator[None]:
    """Turn a reading failure of ``path`` into an :class:`InputError` naming the file.

    Errors raised by plastix itself (its checks, :class:`SchemaError`),
    computations and MemoryError pass unchanged.
    """
    try:
        yield
    except (CLIError, MemoryError):
        raise
    except Exception as err:
        if not _from_reader(err):
            hint = _mismatch(sniff_format(Path(path)), fmt) if Path(path).is_file() else ""
            if hint and isinstance(err, ValueError) and not isinstance(err, OSError):
                # a schema error from the reader of another format
                raise InputError(f"{err} Reading {str(path)!r}: {hint}.") from err
            raise
        if isinstance(err, FileNotFoundError) and not Path(path).exists():
            raise
        raise InputError(_read_failure(Path(path), fmt, err)) from err


def one_line(err: BaseException) -> str:
    """The text after ``plastix CMD: error:`` for any exception."""
    from plastix._util.executor import TaskError

    if isinstance(err, (CLIError, ValueError, TypeError, FileNotFoundError, TaskError)):
        return str(err)  # a TaskError names the task and its own error
    if isinstance(err, MemoryError):
        return ("out of memory" + (f" ({err})" if str(err) else "") + ": the sizes asked for "
                "do not fit this machine's memory; ask for less (a shorter --duration, fewer "
                "units, replicates or bootstrap samples) and rerun.")
    if isinstance(err, OSError):
        name = f" {str(err.filename)!r}" if err.filename else ""
        reason = err.strerror or str(err)
        return (f"{type(err).__name__}{name}: {reason}. Check the path, its permissions and the "
                "free space, then rerun.")
    return (f"unexpected {type(err).__name__}: {err}. This is probably a bug in plastix; rerun "
            "with `plastix --debug ...` for the traceback and report it.")
