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

__all__ = ["LazyRows", "RowsArray", "Columns", "MatrixColumns", "StackedRows", "lazy_variable",
           "lazy_backend", "placeholder", "stack_rows", "with_lazy_activity"]


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
        want = np.arange(self.shape[0])[rkey]
        want = np.atleast_1d(want)
        stored = want if self.rows is None else self.rows[want]
        if stored.size:
            lo, hi = int(stored.min()), int(stored.max()) + 1
            block = np.asarray(self.data[lo:hi], dtype=np.float64)
            block = block.reshape(hi - lo, self._n_cols)
            if stored.size != hi - lo or stored[0] != lo or np.any(np.diff(stored) != 1):
                block = block[stored - lo]
        else:
            block = np.zeros((0, self._n_cols))
        if self.cols is not None:
            block = block[:, self.cols]
        if self.conversion != 1.0 or self.offset != 0.0:
            block = block * self.conversion + self.offset
        out = block[:, ckey]
        return out[0] if np.ndim(rkey) == 0 and not isinstance(rkey, slice) else out


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


def placeholder(shape: tuple[int, int]) -> np.ndarray:
    """Zeros of ``shape`` that take no memory (a read-only broadcast view).

    Stands in for lazily read activity while the rest of a record is built.
    """
    return np.broadcast_to(np.zeros((1, 1)), shape)
