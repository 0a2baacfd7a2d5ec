"""Activity read from a file only for the rows asked for: lazily indexed record variables.

A reader that can open a record without loading its activity (a format's
``open_lazy``) wraps the file's dataset (an h5py dataset, or anything with
``shape`` and row slicing) in :class:`RowsArray` and puts it in the record with
:func:`lazy_variable`.  The estimator's streaming pass then reads a batch of rows
at a time (:class:`plastix.estimate.reader.ActivityRows`), so memory is bounded
by the batch, not the file.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

__all__ = ["LazyRows", "RowsArray", "read_views", "READ_BLOCK_BYTES", "Columns", "MatrixColumns",
           "StackedRows", "lazy_variable",
           "lazy_backend", "load_activity", "placeholder", "stack_rows", "with_lazy_activity"]


class LazyRows(BackendArray):
    """A lazily read (time, unit) array: a row slice (as an h5py dataset takes it) or any
    basic index, read by the subclass's ``_read(key)``."""

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):  # rows, as an h5py dataset is indexed
            return self._read((key, slice(None)))
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read)


class RowsArray(LazyRows):
    """A (time, unit) float64 view of a file's dataset, read only where indexed.

    Parameters
    ----------
    data : array-like
        The stored values, ``(time,)`` or ``(time, ...)`` (trailing axes are
        flattened into columns); indexed with a row slice, e.g. an h5py dataset.
    rows : ndarray of int, optional
        The stored rows that make the view's rows, increasing (default: all).
    cols : sequence of int, optional
        The stored columns that make the view's columns (default: all).
    conversion, offset : float, optional
        The values are ``stored * conversion + offset`` (an NWB ``TimeSeries``'
        scaling of its stored data); default 1 and 0.
    """

    def __init__(self, data: Any, rows: np.ndarray | None = None, cols: Any = None, *,
                 conversion: float = 1.0, offset: float = 0.0):
        self.data = data
        self.conversion, self.offset = float(conversion), float(offset)
        shape = tuple(int(n) for n in np.shape(data))
        self._n_stored = shape[0]
        self._n_cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self.cols = None if cols is None else np.asarray(cols, dtype=np.int64)
        n_rows = self._n_stored if self.rows is None else self.rows.size
        n_cols = self._n_cols if self.cols is None else self.cols.size
        self.shape = (n_rows, n_cols)
        self.dtype = np.dtype(np.float64)

    def take_cols(self, cols: Any) -> RowsArray:
        """The view of columns ``cols`` (of this view)."""
        cols = np.asarray(cols, dtype=np.int64)
        return RowsArray(self.data, self.rows, cols if self.cols is None else self.cols[cols],
                         conversion=self.conversion, offset=self.offset)

    def take_rows(self, keep: np.ndarray) -> RowsArray:
        """The view of the rows where the boolean mask ``keep`` is true."""
        idx = np.flatnonzero(np.asarray(keep, dtype=bool))
        if self.rows is None and idx.size == self._n_stored:
            return self
        return RowsArray(self.data, idx if self.rows is None else self.rows[idx], self.cols,
                         conversion=self.conversion, offset=self.offset)

    def read_direct(self, out: np.ndarray, source_sel: slice, dest_sel: slice) -> None:
        """Rows ``source_sel`` into ``out[dest_sel]`` (as ``h5py.Dataset.read_direct``)."""
        out[dest_sel] = self._read((source_sel, slice(None)))

    def _read(self, key: tuple) -> np.ndarray:
        rkey, ckey = key
        want = np.atleast_1d(np.arange(self.shape[0])[rkey])
        rows, back = np.unique(want, return_inverse=True)
        stored = rows if self.rows is None else self.rows[rows]
        view = RowsArray(self.data, stored, self.cols, conversion=self.conversion,
                         offset=self.offset)
        block = read_views([view])[0]
        if rows.size != want.size or np.any(rows != want):
            block = block[back]
        out = block[:, ckey]
        return out[0] if np.ndim(rkey) == 0 and not isinstance(rkey, slice) else out


READ_BLOCK_BYTES = 1 << 25
"""Bytes of stored rows read at once by :func:`read_views` (32 MiB)."""


def read_views(views: list[RowsArray], *, convert: bool = True) -> list[np.ndarray]:
    """The values of each view (float64, ``(time, unit)``), each stored row read once.

    Views of one stored dataset with the same rows and scaling (an NWB series that
    holds both the pre and the post units) are read together: each block of stored
    rows is read once (only the columns some view takes, in increasing order, as
    h5py's selection needs), converted to float64 and scattered into every view's
    array.  The memory is the views' arrays plus one block
    (:data:`READ_BLOCK_BYTES`), not the stored dataset in float64.

    Parameters
    ----------
    views : list of RowsArray
        The views to read.
    convert : bool
        False: the stored values as stored (their dtype, no scaling), for
        :func:`load_activity` to hold a narrower dtype in memory.

    Returns
    -------
    list of ndarray
        Each view's values, in the order of ``views``: ``stored * conversion + offset``,
        the very numbers a whole read of the dataset in float64 gives.
    """
    out: list[Any] = [None] * len(views)
    groups: dict[tuple, list[int]] = {}
    for i, v in enumerate(views):
        rows = None if v.rows is None else v.rows.tobytes()
        groups.setdefault((id(v.data), rows, v.conversion, v.offset), []).append(i)
    for idx in groups.values():
        for i, values in zip(idx, _read_together([views[i] for i in idx], convert),
                             strict=True):
            out[i] = values
    return out


def _read_together(views: list[RowsArray], convert: bool = True) -> list[np.ndarray]:
    """The values of views that share their dataset, rows and scaling (:func:`read_views`);
    with ``convert`` False as stored (:func:`stored_dtype`, no scaling)."""
    first = views[0]
    every = np.arange(first._n_cols)
    cols = [every if v.cols is None else v.cols for v in views]
    take, inverse = np.unique(np.concatenate(cols), return_inverse=True)
    where = np.split(inverse, np.cumsum([c.size for c in cols])[:-1])
    stored = np.arange(first._n_stored) if first.rows is None else first.rows
    dtype = np.float64 if convert else stored_dtype(first)
    out = [np.empty((stored.size, c.size), dtype=dtype) for c in cols]
    step = max(1, READ_BLOCK_BYTES // (8 * max(take.size, 1)))
    a = 0
    while a < stored.size:  # blocks of at most `step` stored rows, split at gaps
        lo = int(stored[a])
        b = max(a + 1, int(np.searchsorted(stored, lo + step, side="left")))
        hi = int(stored[b - 1]) + 1
        raw = _stored_block(first, lo, hi, take)
        if hi - lo != b - a:
            raw = raw[stored[a:b] - lo]
        for values, w in zip(out, where, strict=True):
            part = values[a:b]
            part[:] = raw[:, w]  # float64 here (if converted), one block at a time
            if convert and (first.conversion != 1.0 or first.offset != 0.0):
                np.multiply(part, first.conversion, out=part)
                np.add(part, first.offset, out=part)
        del raw
        a = b
    return out


def stored_dtype(view: RowsArray) -> np.dtype:
    """The dtype the view's dataset stores (float64 when it does not say)."""
    return np.dtype(getattr(view.data, "dtype", np.float64))


def _stored_block(view: RowsArray, lo: int, hi: int, take: np.ndarray) -> np.ndarray:
    """Stored rows ``lo..hi`` of the view's dataset, columns ``take`` (increasing), in the
    stored dtype: a 2-D dataset reads only those columns when they are at most half."""
    data = view.data
    if take.size == 0:
        return np.zeros((hi - lo, 0))
    if take.size == view._n_cols:
        return np.asarray(data[lo:hi]).reshape(hi - lo, view._n_cols)
    if len(np.shape(data)) == 2 and 2 * take.size <= view._n_cols:
        return np.asarray(data[lo:hi, take])
    return np.asarray(data[lo:hi]).reshape(hi - lo, view._n_cols)[:, take]


class Columns:
    """A signal stored one column per dataset (NIX: one DataArray per channel), read by rows.

    Parameters
    ----------
    columns : list
        One 1-D dataset per column (h5py or NIX DataArray: row slicing reads it).
    scale : ndarray, optional
        A factor per column the values are multiplied by (a unit conversion).
    """

    def __init__(self, columns: list[Any], scale: np.ndarray | None = None):
        self.columns = list(columns)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        n = int(np.shape(self.columns[0])[0]) if self.columns else 0
        self.shape = (n, len(self.columns))

    def scaled(self, scale: np.ndarray) -> Columns:
        """These columns, their values multiplied by ``scale`` (one factor per column)."""
        out = copy.copy(self)
        out.scale = np.asarray(scale, dtype=np.float64)
        return out

    def read(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``a..b`` (time, column) as float64; into ``out`` (``(b − a, n)``) if given."""
        if out is None:
            out = np.empty((max(b - a, 0), self.shape[1]))
        for j, col in enumerate(self.columns):
            out[:, j] = col[a:b]
        if self.scale is not None and np.any(self.scale != 1.0):
            out *= self.scale
        return out


class MatrixColumns(Columns):
    """A signal stored as one (time, column) dataset (NWB: a TimeSeries), read by rows.

    Parameters
    ----------
    data : h5py.Dataset or array-like
        The stored values, indexed with a row slice (an h5py dataset is read with
        ``read_direct``, straight into the caller's buffer).
    scale : ndarray, optional
        A factor per column the values are multiplied by (a unit conversion).
    """

    def __init__(self, data: Any, scale: np.ndarray | None = None):
        self.data = data
        self.columns = []
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        shape = tuple(int(n) for n in np.shape(data))
        self.shape = (shape[0], shape[1] if len(shape) > 1 else 1)

    def read(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``a..b`` (time, column) as float64; into ``out`` (``(b − a, n)``) if given."""
        if out is None:
            out = np.empty((max(b - a, 0), self.shape[1]))
        direct = getattr(self.data, "read_direct", None)
        if b <= a:
            pass
        elif (direct is not None and len(np.shape(self.data)) == 2
              and out.flags.c_contiguous and out.dtype == np.float64):
            direct(out, source_sel=np.s_[a:b], dest_sel=np.s_[0: b - a])
        else:
            out[:] = np.asarray(self.data[a:b], dtype=np.float64).reshape(b - a, -1)
        if self.scale is not None and np.any(self.scale != 1.0):
            out *= self.scale
        return out


class StackedRows(LazyRows):
    """Segments stacked along time, each an array in memory or :class:`Columns` in a file.

    Parameters
    ----------
    pieces : list of (ndarray or (Columns, cols, n_cols))
        Per segment, its (time, unit) values, or the columns read lazily with the
        record's column of each (``cols``) among ``n_cols`` (the others are NaN).
    """

    def __init__(self, pieces: list[Any]):
        self.pieces = pieces
        rows = [p.shape[0] if isinstance(p, np.ndarray) else p[0].shape[0] for p in pieces]
        widths = {p.shape[1] if isinstance(p, np.ndarray) else p[2] for p in pieces}
        self.starts = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        self.shape = (int(self.starts[-1]), widths.pop() if widths else 0)
        self.dtype = np.dtype(np.float64)

    def read_direct(self, out: np.ndarray, source_sel: slice, dest_sel: slice) -> None:
        """Rows ``source_sel`` into ``out[dest_sel]`` (as ``h5py.Dataset.read_direct``):
        each column is read straight into ``out``, without a temporary of the batch."""
        a, b, _ = source_sel.indices(self.shape[0])
        self._fill(out[dest_sel], a, max(a, b))

    def _fill(self, out: np.ndarray, a: int, b: int) -> None:
        for i, p in enumerate(self.pieces):
            lo, hi = max(a, int(self.starts[i])), min(b, int(self.starts[i + 1]))
            if hi <= lo:
                continue
            s0, part = int(self.starts[i]), out[lo - a: hi - a]
            if isinstance(p, np.ndarray):
                part[:] = p[lo - s0: hi - s0]
            elif np.array_equal(p[1], np.arange(p[2])):  # every column, in order
                p[0].read(lo - s0, hi - s0, part)
            else:
                part[:] = np.nan
                part[:, p[1]] = p[0].read(lo - s0, hi - s0)

    def _read(self, key: tuple) -> np.ndarray:
        rkey, ckey = key
        if not isinstance(rkey, slice):
            return self._read((slice(rkey, rkey + 1), ckey))[0]
        a, b, step = rkey.indices(self.shape[0])
        out = np.empty((max(b - a, 0), self.shape[1]))
        self._fill(out, a, max(a, b))
        return out[::step, ckey]


def stack_rows(pieces: list[Any]) -> tuple[np.ndarray, StackedRows | None]:
    """Segments stacked along time: the array, or a placeholder and the lazy stack.

    ``pieces`` as for :class:`StackedRows`; when all are arrays they are
    concatenated (``(array, None)``).
    """
    if all(isinstance(p, np.ndarray) for p in pieces):
        return np.concatenate(pieces), None
    lazy = StackedRows(pieces)
    return placeholder(lazy.shape), lazy


def lazy_variable(dims: tuple[str, str], array: RowsArray, attrs: dict) -> xr.Variable:
    """An xarray variable whose values are read from ``array`` only when indexed."""
    return xr.Variable(dims, indexing.LazilyIndexedArray(array), dict(attrs))


def lazy_backend(var: xr.Variable) -> Any:
    """The reader's array behind a lazily read variable (:func:`lazy_variable`), when the
    variable shows all of it in order (not indexed since); else None.

    Lets a caller use what the array offers beyond rows of values (e.g.
    :meth:`plastix.io.spike_bins.SpikeRates.unrecorded`).
    """
    if var._in_memory:
        return None
    data = getattr(var, "_data", None)
    backend = getattr(data, "array", None)
    key = getattr(getattr(data, "key", None), "tuple", None)
    if backend is None or key is None or getattr(backend, "shape", None) != var.shape:
        return None
    whole = all(isinstance(k, slice) and k.indices(n) == (0, n, 1)
                for k, n in zip(key, var.shape, strict=True))
    return backend if whole else None


def with_lazy_activity(ds: xr.Dataset, stored: dict[str, Any]) -> xr.Dataset:
    """``ds`` with each role's activity read from ``stored[role]`` only when indexed
    (the record was built with :func:`placeholder` activity for those roles)."""
    for role, array in stored.items():
        if array is not None:
            name = f"{role}_activity"
            ds[name] = lazy_variable(ds[name].dims, array, ds[name].attrs)
    return ds


def load_activity(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its lazily read activity read into memory (in place; returned).

    Activity read from views of one stored dataset (an NWB series holding both roles'
    columns) is read together by :func:`read_views`: each stored row once, only the
    columns taken.  A dataset stored as float32 (a ΔF/F series) with no scaling
    (conversion 1, offset 0) is kept float32: its values are those of a float64 read,
    in half the memory, and the estimator converts each batch of rows it multiplies
    (:class:`plastix.estimate.reader.ActivityRows`).  Other lazily read activity
    (spikes binned when read) is loaded as it is.  The file can be closed afterwards.
    """
    names = [f"{role}_activity" for role in ("pre", "post")]
    lazy = [n for n in names if n in ds.variables and not ds[n].variable._in_memory]
    views = {n: lazy_backend(ds[n].variable) for n in lazy}
    views = {n: v for n, v in views.items() if isinstance(v, RowsArray)}
    kept = {n: v for n, v in views.items() if _kept_as_stored(v)}
    wide = {n: v for n, v in views.items() if n not in kept}
    for group, convert in ((wide, True), (kept, False)):
        for name, values in zip(group, read_views(list(group.values()), convert=convert),
                                strict=True):
            var = ds[name].variable
            ds[name] = xr.Variable(var.dims, values, var.attrs)
    for name in lazy:
        ds[name].variable.load()
    return ds


def _kept_as_stored(view: RowsArray) -> bool:
    """Whether the view's values are its stored float32 numbers, unscaled (kept float32)."""
    return (stored_dtype(view) == np.float32 and view.conversion == 1.0
            and view.offset == 0.0)


def placeholder(shape: tuple[int, int]) -> np.ndarray:
    """Zeros of ``shape`` that take no memory (a read-only broadcast view).

    Stands in for lazily read activity while the rest of a record is built.
    """
    return np.broadcast_to(np.zeros((1, 1)), shape)
