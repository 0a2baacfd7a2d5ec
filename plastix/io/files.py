"""Saving and loading records and Neo blocks, with the format chosen by the file's suffix.

Every read first checks the file: that it exists and is a file, that it is not
empty, that its content is the format its suffix names (NetCDF-4, NIX and NWB
are all HDF5; a misnamed file is reported with its real format), and that the
format is safe to read: pickle files run code when read and are refused unless
``allow_pickle=True`` (as :func:`numpy.load` does).  Every failure is one line
naming the file, the format, the probable cause and what to do.  Every write is
atomic: a failed write leaves any previous file intact.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import xarray as xr

from plastix._util.errors import UnsafeFileError, did_you_mean
from plastix._util.io import atomic_write
from plastix._util.optional import import_neo
from plastix.io.formats import Format, format_for_path, formats
from plastix.io.neo import pick_block
from plastix.io.probe import cannot_read, describe

__all__ = ["save_record", "load_record", "open_record", "read_block", "write_block",
           "check_readable", "writable_format"]


def save_record(ds: xr.Dataset, path: str | os.PathLike, **options: Any) -> Path:
    """Write a record in the format named by the file's suffix, atomically.

    ``.nc`` writes NetCDF; ``.nix`` and ``.pkl`` write a ``neo.Block`` by the
    convention of SPEC §9 through Neo's IO classes; ``.nwb`` writes that too, or,
    with ``nwb_style="standard"``, a standard NWB file (Units table, TimeSeries,
    a ``plasticity`` module; see :mod:`plastix.io.nwb`) that any NWB tool opens.
    See :func:`plastix.io.formats.format_help` for every registered format.

    Parameters
    ----------
    ds : xarray.Dataset
        The record.
    path : str or os.PathLike
        The file; its suffix names the format.
    **options
        The format's write options (``Format.write_options``), e.g.
        ``nwb_style="neo" | "standard"`` for ``.nwb`` (CLI ``--nwb-style``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    fmt = writable_format(path)
    for key in options:
        if key not in fmt.write_options:
            takes = (f"takes {', '.join(fmt.write_options)}" if fmt.write_options
                     else "takes no write options")
            raise TypeError(f"`{key}` is not a write option of {fmt.label} files "
                            f"({path.name!r}); {fmt.label} {takes}."
                            + did_you_mean(key, fmt.write_options))
    fmt.require()
    return atomic_write(path, lambda tmp: fmt.write(ds, tmp, **options))


def writable_format(path: Path) -> Format:
    """The format a record is written in, by suffix; a format plastix only reads is refused
    with what to use instead, an unknown suffix with the suffixes plastix writes."""
    try:
        return format_for_path(path, among=tuple(f for f in formats() if f.write is not None))
    except ValueError:
        try:
            fmt = format_for_path(path)
        except ValueError:
            fmt = None
        if fmt is None or fmt.write is not None:
            raise
        raise ValueError(f"plastix reads {fmt.label} files but does not write a record as "
                         f"one ({path.name!r}); {fmt.write_note or 'choose another suffix'}."
                         ) from None


def load_record(path: str | os.PathLike, *, allow_pickle: bool = False,
                **options: Any) -> xr.Dataset:
    """Read a record from any registered format (NetCDF, or a Neo file following SPEC §9).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix names the format.
    allow_pickle : bool
        Read pickle files.  Unpickling runs any code the file contains, so
        pickles are refused unless you trust the file and pass True (CLI:
        ``--allow-pickle``).
    **options
        Passed to the format's reader: for Neo files, :func:`plastix.io.neo.from_neo`
        (for example ``bin_size`` when the file holds spike trains only).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    plastix._util.errors.FileFormatError
        When the file is a directory, empty, truncated, corrupt or of another
        format than its suffix.
    plastix._util.errors.UnsafeFileError
        For a pickle without ``allow_pickle=True``.
    """
    path = Path(path)
    fmt = format_for_path(path)
    check_readable(path, fmt, allow_pickle=allow_pickle)
    _check_reader_options(fmt, path, options)
    return fmt.read(path, **options)


def _check_reader_options(fmt: Any, path: Path, options: dict[str, Any]) -> None:
    """Refuse, in one line naming the flags, reader options that ``fmt``'s reader does not
    take (a NetCDF record holds its units, series, segments and bins itself)."""
    import inspect as _inspect

    from plastix.io.nwb_scan import named_options

    params = _inspect.signature(fmt.read).parameters.values()
    if not options or any(p.kind is p.VAR_KEYWORD for p in params):
        return
    taken = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
    other = [k for k in options if k not in taken]
    if other:
        given = named_options(other)
        raise ValueError(f"{given} cannot apply to {path.name!r}: a {fmt.label} file is a "
                         "plastix record, whose units, activity, weights, segments and bins are "
                         "stored in it; drop the flag (to change a record, edit it with xarray "
                         "and save it with plastix.io.save_record).")


def open_record(path: str | os.PathLike, *, allow_pickle: bool = False,
                **options: Any) -> xr.Dataset:
    """Open a record without loading its activity when the format can (NetCDF, NIX,
    NWB); else load it.

    The file is checked as by :func:`load_record`; ``options`` are the format's reader
    options (a standard NWB file opens lazily with its options, e.g. ``pre_units``;
    options a format cannot open lazily with read the file whole, as
    :func:`load_record`).  The caller closes the dataset.
    """
    path = Path(path)
    fmt = format_for_path(path)
    check_readable(path, fmt, allow_pickle=allow_pickle)
    _check_reader_options(fmt, path, options)
    lazy = fmt.open_lazy is not None and set(options) <= set(fmt.lazy_options)
    ds = fmt.open_lazy(path, **options) if lazy else None
    return ds if ds is not None else fmt.read(path, **options)


def check_readable(path: Path, fmt: Format, *, allow_pickle: bool = False) -> None:
    """Check, before reading, that ``path`` is a non-empty, safe file of format ``fmt``.

    Raises ``FileNotFoundError``, :class:`~plastix._util.errors.FileFormatError`
    (directory, empty, another format), :class:`~plastix._util.errors.UnsafeFileError`
    or ``ImportError`` (the format's packages are missing, with the install command).
    """
    if not path.exists():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist.")
    if path.is_dir() and fmt.folder:
        fmt.require()
        return
    if path.is_dir():
        raise cannot_read(path, fmt.label, "it is a directory, not a file",
                          "Pass the path of the record file itself")
    if path.stat().st_size == 0:
        raise cannot_read(path, fmt.label, "the file is empty (0 bytes), probably left by a "
                          "write or a copy that did not finish",
                          "Write or copy it again from the original")
    if fmt.sniff is not None and fmt.sniff(path) is False:
        real = [f for f in formats() if f is not fmt and f.sniff is not None and f.sniff(path)]
        if real:
            raise _misnamed(path, fmt, real[0])
        raise cannot_read(path, fmt.label, describe(path),
                          "Check that it is the file you meant, or copy it again from the "
                          "original")
    if not fmt.safe and not allow_pickle:
        raise UnsafeFileError(
            f"refusing to read {path.name!r}: it is a {fmt.label} file, and {fmt.risk}. If you "
            f"trust the file, pass `allow_pickle` (allow_pickle=True in Python); better, "
            f"convert it once to a safe format ({_safe_suffixes()}).")
    fmt.require()


def _misnamed(path: Path, fmt: Format, real: Format) -> Exception:
    """The refusal of a file whose content is ``real``, not the ``fmt`` its suffix names: a
    rename, or for content that is unsafe to read (a pickle under ``.nc``, which hides it)
    why, and not to open it unless its source is trusted."""
    renamed = path.stem + real.suffixes[0]
    if real.safe:
        return cannot_read(path, fmt.label, f"its content is {real.label}, not {fmt.label}; "
                           "the suffix is wrong", f"Rename it to {renamed!r}")
    return cannot_read(path, fmt.label, f"its content is {real.label}, not {fmt.label}, under a "
                       f"suffix that hides it, and {real.risk}",
                       "Do not open it unless you trust its source; if you do, rename it to "
                       f"{renamed!r} and read it with `allow_pickle` (--allow-pickle), then "
                       f"save it once to a safe format ({_safe_suffixes()})")


def _safe_suffixes() -> str:
    """The suffixes of the formats that are safe to read and that plastix writes."""
    return ", ".join(f.suffixes[0] for f in formats() if f.safe and f.write is not None)


def _neo_formats() -> tuple[Format, ...]:
    return tuple(f for f in formats() if f.read_blocks is not None)


def write_block(block: Any, path: str | os.PathLike) -> Path:
    """Write a ``neo.Block`` to a Neo format chosen by suffix (``.nix``, ``.nwb``, ``.pkl``).

    The write is atomic (a temporary file in the same folder, then a rename), so a
    failure leaves any previous file intact; ``block`` itself is not modified.
    For NWB, annotations, array annotations, names and units that NWBIO drops are
    packed into the file's ``notes`` (see :mod:`plastix.io.neo`); a
    ``session_start_time`` (timezone-aware; default: now, UTC), an ``identifier``
    (default: a new UUID) and a ``session_description`` are filled in if missing.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    neo = import_neo()
    if not isinstance(block, neo.Block):
        raise TypeError(f"`block` must be a neo.Block; got {type(block).__name__}. "
                        "Convert a record with plastix.io.to_neo first.")
    path = Path(path)
    fmt = format_for_path(path, among=_neo_formats(), what=" for a Neo file")
    fmt.require()
    return atomic_write(path, lambda tmp: fmt.write_block(copy.deepcopy(block), tmp))


def read_block(path: str | os.PathLike, *, block_index: int = 0,
               allow_pickle: bool = False) -> Any:
    """Read one ``neo.Block`` from a Neo file (``.nix``, ``.nwb``, ``.pkl``), fully loaded.

    NWB files written by :func:`write_block` get back the annotations, array
    annotations, names and units that NWB cannot hold.  ``block_index`` picks a
    block when the file holds several.  The file is checked as by
    :func:`load_record`; pickles need ``allow_pickle=True``.
    """
    import_neo()
    path = Path(path)
    fmt = format_for_path(path, among=_neo_formats(), what=" for a Neo file")
    check_readable(path, fmt, allow_pickle=allow_pickle)
    return pick_block(fmt.read_blocks(path), block_index, path)
