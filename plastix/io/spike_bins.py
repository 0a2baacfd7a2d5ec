"""Spike trains binned into rates: the grid, the bins' edges, and rates read by rows.

Shared by the standard-NWB reader (:mod:`plastix.io.nwb_map`),
:func:`plastix.io.pynapple.from_pynapple` and :func:`plastix.io.neo.from_neo`, so
that they bin alike:

- :func:`bin_grid`: left edges of bins ``width`` s wide, tiling each segment row
  from its start, or the span of the data;
- :func:`bin_edges`: each bin's ``[left, right)`` edges.  Contiguous bins share
  their edge exactly (no spike counted twice or lost to rounding); a segment's
  last bin, which may reach past the segment's stop, ends at the stop, and counts a
  spike exactly at the stop unless a next segment starts there (which holds it);
- :func:`outside_intervals`: the bins that start outside a unit's observation
  intervals (NWB ``obs_intervals``, pynapple ``time_support``): NaN, not 0 Hz;
- :class:`SpikeRates`: the rates (Hz) of every unit, computed only for the rows
  asked for.  Read whole it is the record's activity; in a lazily opened record
  the estimator's streaming pass reads a batch of rows at a time, so a spike-only
  recording of any length takes the memory of its spikes and one batch, not of
  its (bins × units) rates; which bins are NaN (not recorded) it tells without
  binning a spike (:meth:`SpikeRates.unrecorded`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plastix.io.lazy import LazyRows

__all__ = ["bin_grid", "bin_edges", "outside_intervals", "SpikeRates", "spike_rates"]

_EDGE_TOL = 1e-9
"""Edges closer than this fraction of a bin are the same edge."""


def bin_grid(width: float, segs: dict[str, np.ndarray] | None, times: list[Any]) -> np.ndarray:
    """Left edges (s) of bins ``width`` wide for spike trains with no series to set the grid.

    With segment rows (``segs["start"]``, ``segs["stop"]``, s) the bins tile each row
    from its start (at least one bin a row); without, they run from the earliest to
    the latest of ``times`` (arrays of spike and weight times, s).
    """
    b = width
    if segs is not None:
        parts = [s0 + np.arange(max(1, int(np.ceil((s1 - s0) / b - _EDGE_TOL)))) * b
                 for s0, s1 in zip(segs["start"], segs["stop"], strict=True)]
        return np.concatenate(parts)
    flat = np.concatenate([np.asarray(t, dtype=float) for t in times])
    t0, t1 = float(flat.min()), float(flat.max())
    return t0 + np.arange(int(np.floor((t1 - t0) / b + _EDGE_TOL)) + 1) * b


def bin_edges(grid: np.ndarray, width: float, stop: np.ndarray | None = None) -> np.ndarray:
    """The right edge (s) of each bin ``[grid[i], grid[i] + width)``.

    A bin that starts within ``width * 1e-9`` of the previous bin's end shares that
    edge exactly; with ``stop`` (each bin's segment stop, s; ``inf`` for none) a bin
    reaching past its segment's stop, or ending within ``width * 1e-9`` of it, ends
    there.
    """
    tol = _EDGE_TOL * width
    ends = grid + width
    joined = np.zeros(grid.size, dtype=bool)
    joined[:-1] = np.abs(grid[1:] - ends[:-1]) <= tol
    ends[joined] = grid[1:][joined[:-1]]
    if stop is not None:
        stop = np.asarray(stop, dtype=float)
        over = ends > stop + tol
        ends[over] = stop[over]
        # a last edge a few float steps short of the stop (start + n·width rounded) is
        # the stop, so that a spike there is counted (a shared edge stays shared)
        near = ~joined & (np.abs(ends - stop) <= tol)
        ends[near] = stop[near]
    return ends


def outside_intervals(intervals: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Bins (left edges, s) that start outside every interval ``[start, stop)``.

    ``intervals`` is ``(k, 2)`` (start, stop; s), in any order and possibly
    overlapping, as NWB's ``obs_intervals`` or pynapple's ``time_support``.  A bin
    that starts outside them holds no measurement: its rate is NaN (not recorded),
    never 0 Hz (recorded, silent).
    """
    iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
    iv = iv[iv[:, 1] > iv[:, 0]]
    if iv.size == 0:
        return np.ones(grid.shape, dtype=bool)
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    reach = np.maximum.accumulate(iv[:, 1])  # how far the intervals up to each start reach
    row = np.searchsorted(iv[:, 0], grid, side="right") - 1
    inside = row >= 0
    inside[inside] = grid[inside] < reach[row[inside]]
    return ~inside


class SpikeRates(LazyRows):
    """Rates (Hz, (bin, unit)) of spike trains, computed for the rows that are read.

    Parameters
    ----------
    trains : list of ndarray
        Each unit's spike times (s), sorted.
    left, right : ndarray
        Each bin's edges (s): it counts the spikes in ``[left, right)``
        (:func:`bin_edges`).
    width : float
        The bin width in seconds: rates (Hz) are counts / ``width``.
    observed : list of ndarray or None, optional
        Each unit's observation intervals (``(k, 2)``, s) or None (observed
        throughout); bins starting outside them are NaN.
    closed : ndarray of bool, optional
        Bins that also count a spike exactly at their right edge, ``[left, right]``: a
        segment's last bin, whose stop is inside the segment (pynapple's intervals
        and Neo's ``t_stop`` include it) and starts no other bin.
    """

    def __init__(self, trains: list[np.ndarray], left: np.ndarray, right: np.ndarray,
                 width: float, observed: list[np.ndarray | None] | None = None,
                 closed: np.ndarray | None = None):
        self.trains = [np.asarray(t, dtype=float) for t in trains]
        self.left, self.right = np.asarray(left, float), np.asarray(right, float)
        self.closed = (np.zeros(self.left.size, bool) if closed is None
                       else np.asarray(closed, bool))
        self.width = float(width)
        self.observed = observed if observed is not None else [None] * len(self.trains)
        self.shape = (self.left.size, len(self.trains))
        self.dtype = np.dtype(np.float64)

    def read(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``a..b`` (bin, unit), into ``out`` if given: the interface of
        :class:`plastix.io.lazy.Columns`, so that a segment's binned spike trains stack
        with rate signals read from a file (:class:`plastix.io.lazy.StackedRows`)."""
        if out is None:
            out = np.empty((max(b - a, 0), self.shape[1]))
        self._fill(out, slice(a, b))
        return out

    def read_direct(self, out: np.ndarray, source_sel: slice, dest_sel: slice) -> None:
        """Rows ``source_sel`` into ``out[dest_sel]`` (as ``h5py.Dataset.read_direct``)."""
        self._fill(out[dest_sel], source_sel)

    def _fill(self, out: np.ndarray, rows: slice | np.ndarray) -> None:
        """The rates of ``rows`` (a slice or indices) into ``out`` (rows, unit)."""
        lo, hi, closed = self.left[rows], self.right[rows], self.closed[rows]
        stops = hi[closed] if closed.any() else None  # right edges that hold their spike
        outside: dict[int, np.ndarray] = {}  # units often share their intervals (pynapple)
        for j, st in enumerate(self.trains):
            n = np.searchsorted(st, hi, side="left") - np.searchsorted(st, lo, side="left")
            if stops is not None:  # a spike exactly at a segment's stop counts in its last bin
                n[closed] += (np.searchsorted(st, stops, side="right")
                              - np.searchsorted(st, stops, side="left"))
            out[:, j] = n / self.width
            iv = self.observed[j]
            if iv is not None:
                if id(iv) not in outside:
                    outside[id(iv)] = outside_intervals(iv, lo)
                out[outside[id(iv)], j] = np.nan

    def unrecorded(self, a: int, b: int) -> np.ndarray:
        """Which bins of rows ``a..b`` hold no measurement, ``(rows, unit)`` bool.

        The bins :meth:`read` sets to NaN (starting outside the unit's observation
        intervals), found from the intervals alone: no spike is counted.
        """
        lo = self.left[a:b]
        out = np.zeros((lo.size, self.shape[1]), dtype=bool)
        outside: dict[int, np.ndarray] = {}
        for j, iv in enumerate(self.observed):
            if iv is not None:
                if id(iv) not in outside:
                    outside[id(iv)] = outside_intervals(iv, lo)
                out[:, j] = outside[id(iv)]
        return out

    def _read(self, key: tuple) -> np.ndarray:
        rkey, ckey = key
        if isinstance(rkey, slice):
            rows = rkey
        elif isinstance(rkey, (int, np.integer)):
            rows = np.array([int(rkey) % max(self.shape[0], 1)])
        else:
            rows = np.atleast_1d(np.arange(self.shape[0])[rkey])
        out = np.empty((self.left[rows].size, self.shape[1]))
        self._fill(out, rows)
        out = out[:, ckey]
        return out[0] if np.ndim(rkey) == 0 and not isinstance(rkey, slice) else out


def spike_rates(trains: list[np.ndarray], grid: np.ndarray, width: float,
                stop: np.ndarray | None = None,
                observed: list[np.ndarray | None] | None = None, *,
                sec: float = 1.0) -> SpikeRates:
    """The :class:`SpikeRates` (Hz) of ``trains`` (sorted here unless they are) in bins
    ``width`` wide starting at ``grid``.

    ``stop`` is each bin's segment stop (``inf`` for none), see :func:`bin_edges`;
    ``observed`` each unit's observation intervals or None.  Times are in a unit of
    ``sec`` seconds (default 1: seconds).  ``[:]`` reads them all.
    """
    trains = [np.asarray(t, dtype=float) for t in trains]
    trains = [t if t.size < 2 or bool(np.all(t[1:] >= t[:-1])) else np.sort(t) for t in trains]
    grid = np.asarray(grid, float)
    right = bin_edges(grid, width, stop)
    closed = None
    if stop is not None:  # a segment's last bin ends at its stop: [left, stop] unless
        tol = _EDGE_TOL * width  # another bin starts there (a contiguous next segment)
        stop = np.asarray(stop, float)
        last = np.isfinite(stop) & (np.abs(right - stop) <= tol)
        starts_next = np.abs(np.append(grid[1:], np.inf) - right) <= tol
        closed = last & ~starts_next
    return SpikeRates(trains, grid, right, width * sec, observed, closed)
