"""What a file really holds, and one-line messages for files that cannot be read.

NetCDF-4, NIX and NWB files are all HDF5; they differ in their root attributes
(NIX: ``format == "nix"``; NWB: ``neurodata_type == "NWBFile"``; NetCDF-4:
``_NCProperties`` or dimension scales).  A pickle starts with the byte ``0x80``
(protocol 2 and later).  The *sniffers* here answer ``True`` (the file is of
that format), ``False`` (it is not) or ``None`` (cannot tell: damaged, or a
content that carries no mark); the format table (:mod:`plastix.io.formats`)
declares one per format.  Probing only reads: no file is ever modified.

:func:`reading` turns any error of a third-party reader into one
:class:`~plastix._util.errors.FileFormatError` that names the file, the format,
the probable cause and what to do.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from plastix._util.errors import FileFormatError, SchemaError, UnsafeFileError

__all__ = ["HDF5_SIGNATURE", "head", "hdf5_kind", "sniff_netcdf", "sniff_nix", "sniff_nwb",
           "sniff_pickle", "describe", "cannot_read", "reading", "nwb_notes", "nwb_by_neo"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The 8 bytes every HDF5 file (NetCDF-4, NIX, NWB) starts with."""

_RECOPY = "Copy it again from the original"


def head(path: str | os.PathLike, n: int = 8) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as f:
        return f.read(n)


def hdf5_kind(path: str | os.PathLike) -> str | None:
    """The HDF5 flavour of a file: ``"nix"``, ``"nwb"``, ``"netcdf"``, ``"hdf5"`` or ``"damaged"``.

    None if the file is not HDF5; ``"hdf5"`` is HDF5 without any format's mark.

    ``"damaged"`` is an HDF5 signature that h5py cannot open (truncated or
    corrupt).  Only the root group and its attributes are read.
    """
    if head(path) != HDF5_SIGNATURE:
        return None
    import h5py

    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            if str(_text(attrs.get("format"))) == "nix":
                return "nix"
            if str(_text(attrs.get("neurodata_type"))) == "NWBFile":
                return "nwb"
            if "_NCProperties" in attrs or any(
                    _text(obj.attrs.get("CLASS")) == "DIMENSION_SCALE" for obj in f.values()):
                return "netcdf"
            return "hdf5"
    except Exception:  # noqa: BLE001 - any failure to open is damage
        return "damaged"


def _text(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _sniff_hdf5(path: Path, kind: str) -> bool | None:
    found = hdf5_kind(path)
    if found in ("damaged", "hdf5"):
        return None
    return found == kind


def sniff_netcdf(path: str | os.PathLike) -> bool | None:
    """Whether ``path`` is a NetCDF-4 (HDF5) file; None for damaged or unmarked HDF5."""
    return _sniff_hdf5(Path(path), "netcdf")


def sniff_nix(path: str | os.PathLike) -> bool | None:
    """Whether ``path`` is a NIX file (HDF5 with ``format == "nix"``)."""
    return _sniff_hdf5(Path(path), "nix")


def sniff_nwb(path: str | os.PathLike) -> bool | None:
    """Whether ``path`` is an NWB file (HDF5 with ``neurodata_type == "NWBFile"``)."""
    return _sniff_hdf5(Path(path), "nwb")


def sniff_pickle(path: str | os.PathLike) -> bool | None:
    """Whether ``path`` is a pickle (protocol >= 2); None when the first byte cannot tell."""
    start = head(path)
    if start[:1] == b"\x80":
        return True
    if start == HDF5_SIGNATURE or start[:3] == b"CDF":
        return False
    return None


def describe(path: str | os.PathLike) -> str:
    """What the file's first bytes say it is, as a clause for a message."""
    start = head(path, 16)
    if start[:4] in (b"CDF\x01", b"CDF\x02", b"CDF\x05"):
        return ("it is a NetCDF-3 (classic) file, which h5netcdf cannot read; convert it to "
                "NetCDF-4 in a new file (`nccopy -k nc4 in.nc out.nc`, or in Python "
                "xr.open_dataset(path, engine='scipy').to_netcdf(new, engine='h5netcdf'))")
    kind = hdf5_kind(path)
    if kind == "damaged":
        return "it starts like an HDF5 file but HDF5 cannot open it (truncated or corrupt)"
    if kind is not None:
        return "it is an HDF5 file without the marks of any format plastix reads"
    return (f"its first bytes {start[:8]!r} match no format plastix reads (corrupt, or another "
            "format)")


def cannot_read(path: Path, label: str, cause: str, todo: str) -> FileFormatError:
    """The one-line error: file, format, probable cause, what to do."""
    return FileFormatError(f"cannot read {path.name!r} as {label}: {cause}. {todo}.")


def nwb_notes(path: str | os.PathLike) -> str | None:
    """The ``/general/notes`` text of an NWB file (``""`` if absent); None if unreadable."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            notes = f.get("general/notes")
            return "" if notes is None else str(_text(notes[()]))
    except Exception:  # noqa: BLE001 - a damaged file has no notes to read
        return None


def nwb_by_neo(path: str | os.PathLike) -> bool:
    """Whether an NWB file was written by Neo (``neo.NWBIO``): plastix's mark in ``notes``,
    the ``_name`` and ``block`` columns Neo adds to the ``Units`` table, or (a file of
    signals without spike trains has no ``Units``) the JSON ``comments`` naming the block
    and segment that Neo gives each acquired series."""
    from plastix.io.neo_pack import NWB_MARK

    if (nwb_notes(path) or "").startswith(NWB_MARK):
        return True
    import h5py

    try:
        with h5py.File(path, "r") as f:
            units = f.get("units")
            if units is not None and "_name" in units and "block" in units:
                return True
            acquired = f.get("acquisition")
            return acquired is not None and any(
                _neo_comments(acquired[name].attrs.get("comments"))
                for name in list(acquired)[:8] if isinstance(acquired[name], h5py.Group))
    except Exception:  # noqa: BLE001 - unreadable: not Neo's, the reader will say why
        return False


def _neo_comments(text: Any) -> bool:
    """Whether a series' ``comments`` are Neo's: a JSON object with ``block`` and
    ``segment``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text.startswith("{"):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and {"block", "segment"} <= set(value)


def _cause(path: Path, err: BaseException) -> tuple[str, str]:
    """Probable cause and remedy of a third-party reader's failure on ``path``."""
    text = " ".join(str(err).split()) or type(err).__name__
    detail = f"{type(err).__name__}: {text[:160]}"
    m = re.search(r"truncated file: eof = (\d+).*?stored_eof = (\d+)", text)
    if m:
        return (f"the file is truncated (HDF5 expects {int(m.group(2))} bytes, found "
                f"{int(m.group(1))}), probably cut short by a copy or a write that did not "
                "finish", _RECOPY)
    if isinstance(err, EOFError) or "truncated" in text.lower():
        return (f"the file ends too early ({detail}), probably cut short by a copy or a write "
                "that did not finish", _RECOPY)
    start = head(path)
    kind = "HDF5" if start == HDF5_SIGNATURE else "pickle" if start[:1] == b"\x80" else None
    if kind == "HDF5" and hdf5_kind(path) == "hdf5":
        return _unmarked_hdf5(detail)
    if kind is not None:
        return f"its {kind} content is damaged ({detail})", _RECOPY
    return (f"{describe(path)} ({detail})",
            "Check that it is the file you meant, or copy it again from the original")


def _unmarked_hdf5(detail: str) -> tuple[str, str]:
    """Cause and remedy when a reader fails on a sound HDF5 file that carries no format's mark
    (e.g. a file written with h5py and named ``.nwb``): not damage, another kind of file.

    Parameters
    ----------
    detail : str
        The reader's error, ``"Type: text"``.
    """
    return (f"it is an HDF5 file that opens, but not in this format (no NWB, NIX or NetCDF "
            f"marks in its root attributes; the reader said {detail})",
            "Pass a file written by an NWB (or NIX, NetCDF) writer, or convert this one "
            "(e.g. with pynwb or NeuroConv for NWB)")


def _release(err: BaseException) -> None:
    """Free what a failed reader left half-built, without its noise at garbage collection."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None  # e.g. h5netcdf's File.__del__ on a half-open file
    try:
        traceback.clear_frames(err.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = hook


@contextmanager
def reading(path: str | os.PathLike, label: str,
            explain: Callable[[Path, BaseException], tuple[str, str] | None] | None = None
            ) -> Iterator[None]:
    """Translate any failure of a third-party reader into one :class:`FileFormatError`.

    plastix's own errors (schema, format, safety) and ``MemoryError`` pass
    unchanged.  ``explain(path, err)`` may return a more specific
    ``(cause, remedy)`` for a format (e.g. a standard NWB file).
    """
    path = Path(path)
    try:
        yield
    except (SchemaError, FileFormatError, UnsafeFileError, MemoryError):
        raise
    except Exception as err:
        found = explain(path, err) if explain is not None else None
        cause, todo = found if found is not None else _cause(path, err)
        _release(err)
        raise cannot_read(path, label, cause, todo) from err
