"""pynapple's ``.npz`` files, read without running code from them.

pynapple saves each object (``TsGroup``, ``TsdFrame``, ``Tsd``, ``Ts``,
``IntervalSet``, ``TsdTensor``) as a numpy archive (``obj.save("x.npz")``): its
times, values, time support and a ``type`` entry, plus its metadata (unit
locations, cell types, ...) as a *pickled* dictionary.  ``nap.load_file``
unpickles that dictionary without restriction, which runs any code a crafted
file holds.  plastix reads the plain arrays with ``allow_pickle=False`` and the
pickled entries (metadata, object-typed column labels) with an unpickler that
can build nothing but numpy arrays, dtypes and scalars, dictionaries, lists,
sets, strings, numbers, dates and times: any other object in the file is refused in one line and
nothing of it runs.

:func:`read_npz` gives an :class:`NpzObject` (the arrays, the metadata, the
kind); :meth:`NpzObject.to_pynapple` builds the pynapple object; the session
reader (:mod:`plastix.io.pynapple_files`) maps a folder of them onto a record.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.errors import FileFormatError, UnsafeFileError
from plastix._util.warn import warn_caller

__all__ = ["KINDS", "NpzObject", "NotPynappleError", "read_npz", "is_pynapple_npz"]

KINDS = ("TsGroup", "TsdFrame", "TsdTensor", "Tsd", "Ts", "IntervalSet")
"""The pynapple objects a ``.npz`` file can hold."""

_NEEDS = {"TsGroup": {"t", "start", "end", "index"},
          "TsdFrame": {"t", "d", "start", "end", "columns"},
          "TsdTensor": {"t", "d", "start", "end"}, "Tsd": {"t", "d", "start", "end"},
          "Ts": {"t", "start", "end"}, "IntervalSet": {"start", "end"}}
"""The entries each kind needs (also how a file without a ``type`` entry is recognised,
in this order, as pynapple does)."""

_UNREAD = "_metadata unread"
_ENTRIES = {"t", "d", "start", "end", "index", "keys", "columns", "type", "_metadata", "rate",
            _UNREAD}
"""Entries that are not metadata (older pynapple saved metadata columns as entries)."""

_BUILDERS = {("numpy", "ndarray"), ("numpy", "dtype"),
             ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
             ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
             *(("datetime", n) for n in ("date", "datetime", "time", "timedelta", "timezone")),
             *(("builtins", n) for n in ("set", "frozenset", "complex"))}
"""The only callables a pickled entry may name: numpy's array, dtype and scalar builders,
and the constructors of plain values (dates and times, sets, complex numbers), none of
which does anything but build its value."""


class NotPynappleError(FileFormatError):
    """A sound numpy archive that holds no pynapple object (e.g. a lab's own arrays)."""


class _PandasInPickle(Exception):
    """A pickled entry that holds pandas objects (metadata of an older pynapple): not
    unpickled, left out."""


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dtypes and scalars and Python's plain values
    (dict, list, tuple, set, str, bytes, numbers, None, dates and times) and refuses every
    other object."""

    def __init__(self, data: bytes, where: str) -> None:
        super().__init__(io.BytesIO(data))
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _BUILDERS:
            return super().find_class(module, name)
        if module.split(".")[0] == "pandas":
            raise _PandasInPickle(f"{module}.{name}")
        raise UnsafeFileError(
            f"refusing to read {self.where}: its pickled entry asks for `{module}.{name}`, "
            "which is not a plain value (numpy arrays and numbers, text, dates); plastix never "
            "runs objects from a file. If the file is your own, turn that metadata column into "
            "text or numbers (group.set_info(col=group.col.astype(str))) and save it again; "
            "else do not open it.")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeFileError(f"refusing to read {self.where}: its pickled entry refers to an "
                              "external object; pynapple never writes one.")


def _pickled_entry(raw: bytes, where: str) -> Any:
    """The value of an ``.npy`` member holding an object array, unpickled with
    :class:`_ArraysOnly`."""
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise FileFormatError(f"cannot read {where}: its .npy format version {version} holds "
                              "no pickled values (1.0 and 2.0 do). Save the object again.")
    shape, _, dtype = read_header(fp)
    if not dtype.hasobject:
        raise FileFormatError(f"cannot read {where}: expected a pickled entry, found {dtype}.")
    try:
        value = _ArraysOnly(raw[fp.tell():], where).load()
    except (UnsafeFileError, _PandasInPickle):
        raise
    except Exception as err:  # noqa: BLE001 - any failure of a damaged pickle is one line
        raise FileFormatError(f"cannot read {where}: its pickled entry is damaged "
                              f"({type(err).__name__}: {err}). Save the object again with "
                              "pynapple, or copy the file again.") from err
    return value.reshape(shape) if isinstance(value, np.ndarray) else value


def _entries(path: Path) -> dict[str, Any]:
    """Every entry of the archive: plain arrays read with ``allow_pickle=False``, object
    entries with the restricted unpickler."""
    out: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(path) as zf, np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                try:
                    out[key] = npz[key]
                except ValueError as err:
                    if "allow_pickle" not in str(err):
                        raise
                    try:
                        out[key] = _pickled_entry(zf.read(key + ".npy"),
                                                  f"{path.name!r} (entry {key!r})")
                    except _PandasInPickle as pandas:
                        if key != "_metadata":
                            raise UnsafeFileError(
                                f"refusing to read {path.name!r}: its entry {key!r} holds "
                                f"pickled pandas objects ({pandas}); plastix unpickles only "
                                "numpy arrays. Save the object again with pynapple.") from None
                        out[_UNREAD] = f"pickled pandas objects ({pandas})"
    except (UnsafeFileError, FileFormatError):
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as err:
        raise FileFormatError(f"cannot read {path.name!r} as a pynapple .npz file: the archive "
                              f"is damaged or not a numpy archive ({type(err).__name__}: {err}). "
                              "Copy it again from the original, or save it again with "
                              "pynapple.") from err
    return out


def _kind(entries: dict[str, Any]) -> str | None:
    """The pynapple kind of an archive: its ``type`` entry, else what its entries say."""
    typed = entries.get("type")
    if typed is not None and np.size(typed) and str(np.ravel(typed)[0]) in KINDS:
        return str(np.ravel(typed)[0])
    keys = set(entries)
    if "d" in keys and _NEEDS["Tsd"] <= keys:
        ndim = np.ndim(entries["d"])
        return {1: "Tsd", 2: "TsdFrame"}.get(ndim, "TsdTensor")
    return next((k for k, need in _NEEDS.items() if need <= keys), None)


def _metadata(entries: dict[str, Any], ids: np.ndarray, where: str) -> dict[str, np.ndarray]:
    """Metadata columns, each one value per item: the pickled ``_metadata`` dictionary (of
    arrays, or of ``{row: value}`` as pynapple saves a DataFrame), or entries of length ``n``
    that are not the object's own (how older pynapple saved them)."""
    n = ids.size
    meta = entries.get("_metadata")
    if isinstance(meta, np.ndarray) and meta.shape == ():
        meta = meta.item()
    out: dict[str, np.ndarray] = {}
    if isinstance(meta, dict):
        for name, col in meta.items():
            if isinstance(col, dict):  # {item id: value}, as pandas' to_dict gives it
                keys = ids.tolist() if set(col) == set(ids.tolist()) else sorted(col)
                col = [col[k] for k in keys]
            values = np.asarray(col)
            if values.ndim != 1 or values.size != n:
                raise FileFormatError(f"cannot read {where}: its metadata column {name!r} holds "
                                      f"{values.size} value(s) for {n} item(s). Save the object "
                                      "again with pynapple.")
            out[str(name)] = values
    elif meta is not None and np.size(meta):
        raise FileFormatError(f"cannot read {where}: its metadata is a "
                              f"{type(meta).__name__}, not pynapple's dictionary of columns.")
    for name, values in entries.items():
        if name not in _ENTRIES and np.ndim(values) == 1 and np.size(values) == n:
            out.setdefault(name, np.asarray(values))
    return out


def unit_column_names_units(unit: list[Any] | None, where: str) -> bool:
    """Whether a ``TsGroup``'s metadata ``unit`` gives its units' ids: when it names each
    unit once (ids that are not integers, as :func:`plastix.io.to_pynapple` writes
    them).  A ``unit`` that repeats (a cluster number within each shank) is a label,
    and a warning says that the ids are the group's index."""
    if unit is None:
        return False
    seen = Counter(str(u) for u in unit)
    twice = [u for u, n in seen.items() if n > 1]
    if twice:
        warn_caller(f"{where}: the metadata column 'unit' repeats values "
                    f"({', '.join(twice[:5])}), so it does not name the units; their ids are "
                    "the group's index (select units by id, or by the column: unit=1).",
                    UserWarning)
    return not twice


@dataclass
class NpzObject:
    """One pynapple object as saved in a ``.npz`` file (read by :func:`read_npz`).

    Attributes
    ----------
    name : str
        The file's stem (how flags name it: ``--weights slopes``).
    path : pathlib.Path
        The file.
    kind : str
        One of :data:`KINDS`.
    arrays : dict
        The object's own entries (``t``, ``d``, ``start``, ``end``, ``index``, ``keys``,
        ``columns``), times in s.
    metadata : dict
        Metadata columns, name -> one value per item (unit, column or interval).
    unread : str
        Why the metadata was left out (pickled pandas objects of an older pynapple,
        which plastix does not unpickle); empty when it was read.
    unit_ids : bool
        Whether a group's metadata ``unit`` gives the ids (see
        :func:`unit_column_names_units`); else it is a label, left out of
        :meth:`to_pynapple`.
    """

    name: str
    path: Path
    kind: str
    arrays: dict[str, np.ndarray]
    metadata: dict[str, np.ndarray] = field(default_factory=dict)
    unread: str = ""
    unit_ids: bool = True

    @property
    def ids(self) -> np.ndarray:
        """The items' ids: a group's unit keys, a frame's column labels, interval rows."""
        if self.kind == "TsGroup":
            if "keys" in self.arrays:
                return np.asarray(self.arrays["keys"])
            return np.unique(self.arrays["index"])
        if self.kind == "TsdFrame":
            return np.asarray(self.arrays["columns"])
        if self.kind == "IntervalSet":
            return np.arange(np.size(self.arrays["start"]))
        return np.zeros(0 if self.kind == "Ts" else 1, dtype=np.int64)

    def span(self) -> tuple[float, float] | None:
        """First and last time (s): of its samples or spikes, else of its intervals."""
        t = self.arrays.get("t")
        if t is not None and np.size(t):
            return float(np.min(t)), float(np.max(t))
        start, end = self.arrays.get("start"), self.arrays.get("end")
        if start is not None and np.size(start):
            return float(np.min(start)), float(np.max(end))
        return None

    def describe(self) -> str:
        """One line: kind, size, span and metadata columns."""
        n, t = self.ids.size, np.size(self.arrays.get("t", []))
        if self.kind == "TsGroup":
            size = f"{n} unit(s), {t} spikes"
        elif self.kind == "TsdFrame":
            size = f"{t} samples x {n} column(s)"
        elif self.kind == "IntervalSet":
            size = f"{n} interval(s)"
        else:
            size = f"{t} samples"
        span = self.span()
        where = f", {span[0]:g} to {span[1]:g} s" if span else ""
        meta = (f"; metadata {', '.join(self.metadata)}" if self.metadata else "")
        if self.unread:
            meta += f"; metadata not read: {self.unread}"
        return f"{self.path.name}: {self.kind}, {size}{where}{meta}"

    def select(self, ids: list[Any]) -> NpzObject:
        """The object restricted to the units (TsGroup) or columns (TsdFrame) ``ids``, in
        that order."""
        own = self.ids.tolist()
        pos = [own.index(i) for i in ids]
        if self.kind == "TsdFrame":
            return self.columns_at(pos)
        if self.kind != "TsGroup":
            raise TypeError(f"only a TsGroup's units or a TsdFrame's columns are selected; "
                            f"{self.path.name!r} is a {self.kind}.")
        meta = {k: v[pos] for k, v in self.metadata.items()}
        arrays = dict(self.arrays)
        keep = np.isin(arrays["index"], np.asarray(ids, dtype=arrays["index"].dtype))
        for key in ("t", "index", "d"):
            if key in arrays:
                arrays[key] = arrays[key][keep]
        arrays["keys"] = np.asarray(ids)
        return replace(self, arrays=arrays, metadata=meta)

    def columns_at(self, positions: list[int]) -> NpzObject:
        """A TsdFrame restricted to the columns at ``positions`` (0-based, in that order):
        by place, not by label, so that frames whose column labels repeat (weights
        labelled by their postsynaptic unit) keep the right columns."""
        if self.kind != "TsdFrame":
            raise TypeError(f"only a TsdFrame's columns are taken by position; "
                            f"{self.path.name!r} is a {self.kind}.")
        pos = np.asarray(positions, dtype=np.int64)
        arrays = dict(self.arrays)
        arrays["d"] = np.asarray(arrays["d"]).reshape(np.size(arrays["t"]), -1)[:, pos]
        arrays["columns"] = np.asarray(self.ids)[pos]
        meta = {k: v[pos] for k, v in self.metadata.items()}
        return replace(self, arrays=arrays, metadata=meta)

    def to_pynapple(self) -> Any:
        """The pynapple object (pynapple imported here)."""
        import pynapple as nap

        a = self.arrays
        support = nap.IntervalSet(start=np.atleast_1d(a["start"]), end=np.atleast_1d(a["end"]))
        if self.kind == "IntervalSet":
            return nap.IntervalSet(start=a["start"], end=a["end"],
                                   metadata=self.metadata or None)
        if self.kind == "TsGroup":
            obj = nap.TsGroup(self._trains(nap, support), time_support=support,
                              bypass_check=True)
        elif self.kind == "TsdFrame":
            obj = nap.TsdFrame(t=a["t"], d=np.asarray(a["d"]).reshape(np.size(a["t"]), -1),
                               columns=list(self.ids.tolist()), time_support=support)
        elif self.kind == "Ts":
            return nap.Ts(t=a["t"], time_support=support)
        else:
            cls = nap.Tsd if self.kind == "Tsd" else nap.TsdTensor
            return cls(t=a["t"], d=a["d"], time_support=support)
        info = {k: v for k, v in self.metadata.items()
                if k != "rate" and (k != "unit" or self.unit_ids)}
        if info:
            with warnings.catch_warnings():  # pynapple's advice on attribute access
                warnings.filterwarnings("ignore", message=r"Metadata name '.*' (overlaps|"
                                        r"contains a special|starts with a number)",
                                        category=UserWarning)
                obj.set_info(info)  # one dict: a column named `metadata` is a column too
        return obj

    def _trains(self, nap: Any, support: Any) -> dict[Any, Any]:
        """Each unit's spike train (``Ts``, or ``Tsd`` with its values), in key order."""
        a = self.arrays
        order = np.argsort(a["index"], kind="stable")  # by unit, in time within a unit
        index = a["index"][order]
        out = {}
        for key in self.ids.tolist():
            lo, hi = np.searchsorted(index, key, "left"), np.searchsorted(index, key, "right")
            rows = order[lo:hi]
            if "d" in a:
                out[key] = nap.Tsd(t=a["t"][rows], d=a["d"][rows], time_support=support)
            else:
                out[key] = nap.Ts(t=a["t"][rows], time_support=support)
        return out


def read_npz(path: str | os.PathLike) -> NpzObject:
    """One pynapple object from its ``.npz`` file, read without running code from it.

    Raises
    ------
    plastix._util.errors.FileFormatError
        When the file is not a readable numpy archive, or holds no pynapple object
        (the message lists its entries).
    plastix._util.errors.UnsafeFileError
        When a pickled entry names anything but numpy arrays, dtypes, numbers and the
        other plain values of :class:`_ArraysOnly`.
    """
    path = Path(path)
    entries = _entries(path)
    kind = _kind(entries)
    if kind is None:
        raise NotPynappleError(
            f"cannot read {path.name!r} as a pynapple object: its entries "
            f"({', '.join(sorted(entries)) or 'none'}) are none of pynapple's (a TsGroup has t, "
            "index, start, end; a TsdFrame t, d, columns, start, end; an IntervalSet start, "
            "end). Save the object with pynapple's .save(), or leave this file out.")
    missing = sorted(_NEEDS[kind] - set(entries))
    if missing:
        raise FileFormatError(f"cannot read {path.name!r} as a pynapple {kind}: it lacks the "
                              f"entries {', '.join(missing)}. Save the object again with "
                              "pynapple.")
    _check_shapes(path, kind, entries)
    obj = NpzObject(path.stem, path, kind, {k: v for k, v in entries.items() if k in _ENTRIES
                                             and k not in ("_metadata", "type", _UNREAD)})
    obj.metadata = _metadata(entries, obj.ids, f"{path.name!r}")
    if kind == "TsGroup" and "unit" in obj.metadata:
        obj.unit_ids = unit_column_names_units(obj.metadata["unit"].tolist(), path.name)
    if _UNREAD in entries:
        obj.unread = entries[_UNREAD]
        warn_caller(f"{path.name}: its metadata is {obj.unread}, saved by an older pynapple; "
                    "plastix unpickles only numpy arrays, so the metadata is left out. Select "
                    "units by id, or save the object again with a current pynapple.",
                    UserWarning)
    return obj


def _check_shapes(path: Path, kind: str, entries: dict[str, Any]) -> None:
    """Refuse an archive whose entries disagree in length (a damaged or hand-made file)."""
    size = {k: np.shape(v) for k, v in entries.items() if k in _ENTRIES}
    pairs = [("start", "end")]
    if "t" in size:
        pairs += [("t", k) for k in ("index", "d") if k in size]
    bad = [(a, b) for a, b in pairs if size[a][:1] != size[b][:1]]
    if kind == "TsdFrame" and len(size.get("d", ())) == 2 and (
            size["d"][1] != np.size(entries["columns"])):
        bad.append(("d", "columns"))
    if bad:
        a, b = bad[0]
        raise FileFormatError(f"cannot read {path.name!r} as a pynapple {kind}: its entries "
                              f"{a!r} {size[a]} and {b!r} {size.get(b, np.shape(entries[b]))} "
                              "do not match in length. Save the object again with pynapple.")


def is_pynapple_npz(path: str | os.PathLike) -> bool | None:
    """Whether a file is a numpy archive (what pynapple writes); None when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return None
