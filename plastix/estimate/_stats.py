"""Per-interval sufficient statistics, computed in one streaming pass over a record.

The estimator never keeps the activity in memory.  It walks the fine time axis
in chunks, accumulates the Hebbian term ``H_k`` of each weight interval ``k``,
and reduces it at once against the weights of that interval to a handful of
inner products (the sufficient statistics of every cosine the estimator
reports).  Everything downstream (point estimates, block bootstrap, emergent
prediction) is computed from these summaries alone.

Reading the record (files, reader threads, the on-disk Gram store) lives in
:mod:`plastix.estimate.reader`.

Notation (per interval ``k``, over the synapses observed in that interval; an
unobserved synapse is *excluded*, never set to 0):

* ``d_k = W[k+1] − W[k]``                     observed change (weight units);
* ``w_k = Δt_k W[k]``                          decay direction (weight × time);
* ``h_k = H_k``                                Hebbian term (activity² × time);

so that ``ĝ_k = d_k + γ w_k`` for any decay rate ``γ``.  The six inner
products ``⟨d,h⟩, ⟨w,h⟩, ⟨h,h⟩, ⟨d,d⟩, ⟨d,w⟩, ⟨w,w⟩`` give ``⟨ĝ_k, H_k⟩``,
``‖ĝ_k‖²`` and ``‖H_k‖²`` for every ``γ`` (the decay can be resampled inside
the bootstrap at no cost).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import SchemaError
from plastix._util.threads import blas_threads, one_blas_thread
from plastix._util.warn import warn_caller
from plastix.estimate.reader import ActivityRows as _Rows
from plastix.estimate.reader import GramStore as _Store
from plastix.estimate.reader import Prefetch as _Prefetch
from plastix.estimate.reader import WeightSamples as _Weights
from plastix.estimate.reader import open_h5 as _open_h5
from plastix.kernels import Kernel, get_kernel
from plastix.record import interval_follows, silent_after_silent

__all__ = ["Layout", "layout_of", "interval_stats", "STAT_NAMES", "BoundKernel", "UsedPairs",
           "used_pairs"]

#: names of the six per-interval inner products, in storage order
STAT_NAMES = ("dh", "wh", "hh", "dd", "dw", "ww")


@dataclass
class Layout:
    """Where each weight interval lives on the fine axis.

    Attributes
    ----------
    k : ndarray of int, (K,)
        Index of the weight sample opening each interval.
    start, stop : ndarray of int, (K,)
        Fine-bin range ``[start, stop)`` of each interval (empty when equal).
    duration : ndarray of float, (K,)
        ``weight_time[k+1] − weight_time[k]`` in ``time_units``.
    seg_start, seg_stop : ndarray of int, (K,)
        Fine-bin range of the segment holding each interval (circular shifts
        wrap inside it).
    covered : ndarray of bool, (K,)
        Whether the interval's bins cover its time, to within :data:`COVER_SLACK_BINS`
        bins: False where the activity starts after, or ends before, the weights do,
        or its samples have a gap (each bin covers ``[time, time + dt)``).
    """

    k: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    duration: np.ndarray
    seg_start: np.ndarray
    seg_stop: np.ndarray
    covered: np.ndarray


COVER_SLACK_BINS = 1.5
"""Bins an interval's activity may fall short of its duration and still count as covering
it: a duration that is not a whole number of bins, or jittered sample times, leave up to
about one bin uncovered; more is time without data."""


def layout_of(ds: xr.Dataset) -> Layout:
    """Compute the :class:`Layout` of a (possibly lazily opened) record."""
    from plastix.record import interval_index

    k = interval_index(ds)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    wseg = np.asarray(ds["weight_segment"].values)
    iv = np.asarray(ds["interval"].values)
    seg = np.asarray(ds["segment"].values)
    inside = np.flatnonzero(iv >= 0)
    ivs = iv[inside]
    lo = np.searchsorted(ivs, k, side="left")
    hi = np.searchsorted(ivs, k, side="right")
    has = hi > lo
    start = np.zeros(k.size, dtype=np.int64)
    stop = np.zeros(k.size, dtype=np.int64)
    start[has] = inside[lo[has]]
    stop[has] = inside[hi[has] - 1] + 1
    if np.any((stop - start) != (hi - lo)):  # pragma: no cover - guaranteed by the validator
        raise SchemaError("record: the bins of a weight interval are not contiguous in `time`.")
    seg_ids, seg_first = np.unique(seg, return_index=True)
    seg_last = np.append(seg_first[1:], seg.shape[0])
    pos = np.searchsorted(seg_ids, wseg[k])
    have = (pos < seg_ids.size) & (seg_ids[np.minimum(pos, seg_ids.size - 1)] == wseg[k])
    seg_start = np.where(have, seg_first[np.minimum(pos, seg_ids.size - 1)], start)
    seg_stop = np.where(have, seg_last[np.minimum(pos, seg_ids.size - 1)], stop)
    duration = wt[k + 1] - wt[k]
    dt = float(ds.attrs["dt"])
    covered = (stop - start + COVER_SLACK_BINS) * dt >= duration
    return Layout(k=k, start=start.astype(np.int64), stop=stop.astype(np.int64),
                  duration=duration, seg_start=seg_start.astype(np.int64),
                  seg_stop=seg_stop.astype(np.int64), covered=covered)


def warn_uncovered(ds: xr.Dataset, lay: Layout) -> None:
    """Warn, naming the first, when some intervals' activity does not cover their time
    (:attr:`Layout.covered`): the rate kernels leave them out, as intervals of NaN
    activity, rather than compare their whole weight change with part of the term."""
    miss = np.flatnonzero(~lay.covered)
    if not miss.size:
        return
    i = int(miss[0])
    tu = ds.attrs.get("time_units", "s")
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    dt = float(ds.attrs["dt"])
    have = (lay.stop[i] - lay.start[i]) * dt
    warn_caller(
        f"{ds.attrs.get('source', 'record')}: {miss.size} of {lay.k.size} weight interval(s) "
        f"hold activity for only part of their time, so their Hebbian term is not observed "
        f"and they are left out; the first, {wt[lay.k[i]]:g}-{wt[lay.k[i] + 1]:g} {tu}, has "
        f"{have:g} {tu} of activity. The activity starts after, or ends before, the weights "
        "do, or its samples have gaps: trim the weights to the activity's span to silence "
        "this.", UserWarning)


def _runs(lay: Layout, idx: np.ndarray, max_bins: int) -> list[np.ndarray]:
    """Group interval positions into batches of contiguous, equal-length intervals."""
    out: list[list[int]] = []
    cur: list[int] = []
    for i in idx:
        n = lay.stop[i] - lay.start[i]
        if cur:
            j = cur[-1]
            same = (lay.stop[j] - lay.start[j] == n and lay.stop[j] == lay.start[i]
                    and lay.seg_start[j] == lay.seg_start[i])
            if same and (len(cur) + 1) * max(n, 1) <= max_bins:
                cur.append(int(i))
                continue
            out.append(cur)
        cur = [int(i)]
    if cur:
        out.append(cur)
    return [np.asarray(r, dtype=np.int64) for r in out]


def _read_batch(pre_r: _Rows, post_r: _Rows, lay: Layout, run: np.ndarray, *, shift: int,
                buffers: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The activity rows of a run of short intervals: ``(pre (nb·m, pre), post (nb·m, post),
    nonzero (nb, pre))``; ``nonzero`` (which presynaptic units fire in each interval) is
    ``None`` when some value is NaN.

    ``buffers`` are float64 arrays of at least ``nb·m`` rows to read into (lazy records).
    """
    a0 = int(lay.start[run[0]])
    n = int(run.size * (lay.stop[run[0]] - lay.start[run[0]]))
    s0, s1 = int(lay.seg_start[run[0]]), int(lay.seg_stop[run[0]])
    bx = by = None
    if buffers is not None and buffers[0].shape[0] >= n:
        bx, by = buffers[0][:n], buffers[1][:n]
    x = pre_r.read_shifted(a0, a0 + n, s0, s1, shift, bx)
    y = post_r.read(a0, a0 + n, by)
    m = n // run.size
    # NaN checks and presynaptic silence, done here (in the reader thread when prefetched);
    # a finite total means no NaN anywhere (else the exact per-unit checks run later)
    finite = bool(np.isfinite(x.sum()) and np.isfinite(y.sum()))
    nonzero = np.any(x.reshape(run.size, m, -1) != 0, axis=1) if finite else None
    return x, y, nonzero


COL_GROUP = 128
"""Presynaptic columns of ``H`` per product task.  A pass runs its matrix products on one
BLAS thread each (OpenBLAS's threaded driver sums them in another order than its
one-thread driver), side by side on as many Python threads as BLAS had: per interval and
per group of this many columns, the same tasks whatever the thread count, so the same
bits on 1 thread, on 2, and in a batch's worker."""


class _Workers:
    """``n`` threads that run a pass's products (:func:`_each`)."""

    def __init__(self, n: int):
        self.n = n
        self.pool = ThreadPoolExecutor(n)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _each(workers: _Workers | None, fn: Any, tasks: list) -> None:
    """``fn(task)`` for each task: on ``workers``' threads, a contiguous share of the tasks
    each (a task's numbers do not depend on which thread runs it), else in this one."""
    if workers is None or len(tasks) < 2:
        for t in tasks:
            fn(t)
        return

    def share(part: list) -> None:
        for t in part:
            fn(t)

    bounds = np.linspace(0, len(tasks), min(workers.n, len(tasks)) + 1).astype(int)
    parts = [tasks[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    for f in [workers.pool.submit(share, part) for part in parts]:
        f.result()


def _col_groups(n: int) -> list[slice]:
    """The column groups of :data:`COL_GROUP` columns of ``n``."""
    return [slice(a, min(a + COL_GROUP, n)) for a in range(0, max(n, 1), COL_GROUP)]


def _product_into(y: np.ndarray, x: np.ndarray, out: np.ndarray, workers: Any,
                  add: bool = False) -> None:
    """``out = yᵀ x`` (``out += yᵀ x`` with ``add``) of ``y (T, post)`` and ``x (T, pre)``,
    a product per :data:`COL_GROUP` columns of ``x`` (on ``workers``)."""
    def one(c: slice) -> None:
        if add:
            out[:, c] += y.T @ x[:, c]
        else:
            np.matmul(y.T, x[:, c], out=out[:, c])

    _each(workers, one, _col_groups(x.shape[1]))


class BoundKernel:
    """A registered kernel with its parameters, as the estimator's passes use it.

    Attributes
    ----------
    kernel : plastix.kernels.Kernel
    params : dict
        Keywords of ``kernel.term`` (``lag`` of a lagged kernel included).
    post : callable
        ``φ`` of a bilinear kernel's ``post_map`` (identity when there is none).
    """

    def __init__(self, kernel: Any, params: dict | None = None):
        self.kernel = kernel if isinstance(kernel, Kernel) else get_kernel(kernel)
        self.params = dict(params or {})
        phi = self.params.get(self.kernel.post_map) if self.kernel.post_map else None
        if self.kernel.post_map and phi is None:
            phi = np.tanh
        self.post = phi if phi is not None else (lambda y: y)


PAIR_COST = 16.0
"""Multiply-adds of a matrix product that one per-pair dot product costs (a gathered,
memory-bound sum against BLAS's cache-blocked one; measured ~13 with 800 pre x 200 post
units): :func:`used_pairs` sums pair by pair when ``PAIR_COST × pairs`` is below the
product over the units with a measured synapse."""

RESTRICT_BELOW = 0.5
"""Fraction of ``post × pre`` below which the product is restricted to the units with a
measured synapse (above it, copying their columns costs about what it saves)."""


@dataclass
class UsedPairs:
    """The ``(post, pre)`` entries of ``H`` that enter a statistic, and how to compute them.

    Every statistic masks each interval's ``H`` to the synapses whose weight is finite at
    both of its ends (:func:`_stream`'s ``finish``), so an entry outside that union over
    intervals is never read; a null pass (which keeps no ``H``) computes only the others.

    Attributes
    ----------
    post, pre : ndarray of int
        The postsynaptic and presynaptic units with a measured synapse.
    rows, cols : ndarray of int
        The postsynaptic and presynaptic unit of each entry computed, sorted by ``rows``.
    block : bool
        The entries are the whole ``post × pre`` block (one matrix product), else the
        measured pairs (pair by pair sums).
    shape : tuple of int
        ``(n_post, n_pre)`` of the record.
    """

    post: np.ndarray
    pre: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    block: bool
    shape: tuple[int, int]

    @property
    def starts(self) -> np.ndarray:
        """Where each of ``post``'s entries start in ``rows``."""
        return np.searchsorted(self.rows, self.post)

    def take(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The columns (last axis) of ``x`` (pre) and ``y`` (post) that :meth:`cross`
        reads: the block's units; all of them for pair by pair sums (no copy)."""
        if self.block:
            return x[..., self.pre], y[..., self.post]
        return x, y

    def cross(self, y: np.ndarray, x: np.ndarray, workers: Any = None) -> np.ndarray:
        """``Σ_t y[t, i] x[t, j]`` of the used entries, from ``y (T, ·)`` and ``x (T, ·)``
        as :meth:`take` returns them: the block, or one value per pair (the products on
        ``workers``, one task each, as :data:`COL_GROUP`)."""
        if self.block:
            out = np.empty((y.shape[1], x.shape[1]))
            _product_into(y, x, out, workers)
            return out
        xt, yt = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)
        out = np.empty(self.rows.size)
        bounds = np.searchsorted(self.rows, np.append(self.post, self.post[-1] + 1))

        def one(unit: tuple[int, int, int]) -> None:  # a GEMV a unit
            i, a, b = unit
            out[a:b] = xt[self.cols[a:b]] @ yt[i]

        _each(workers, one, list(zip(self.post, bounds[:-1], bounds[1:], strict=True)))
        return out

    def scatter(self, part: np.ndarray, out: np.ndarray) -> None:
        """Add :meth:`cross`'s ``part`` into the ``(post, pre)`` matrix ``out``."""
        if self.block:
            out[np.ix_(self.post, self.pre)] += part
        else:
            out[self.rows, self.cols] += part


def used_pairs(ds: xr.Dataset, lay: Layout, kernel: BoundKernel) -> UsedPairs | None:
    """The entries of ``H`` that the statistics use, when computing only them saves work.

    Parameters
    ----------
    ds : xarray.Dataset
        The record (its weights are read; the activity may stay in the file).
    lay : Layout
        From :func:`layout_of`.
    kernel : BoundKernel
        Only bilinear kernels (matrix products) are restricted.

    Returns
    -------
    UsedPairs or None
        ``None`` when all of ``post × pre`` is computed: a kernel that is not bilinear,
        or measured pairs that fill most of it.  Pair by pair sums when
        :data:`PAIR_COST` × pairs is below the block of units with a measured synapse,
        else that block when it is under :data:`RESTRICT_BELOW` of the whole.
    """
    if not kernel.kernel.bilinear or not lay.k.size:
        return None
    used = measured_entries(lambda k: np.asarray(ds["weight"][k].values), lay)
    post, pre = np.flatnonzero(used.any(axis=1)), np.flatnonzero(used.any(axis=0))
    block, n_pairs = post.size * pre.size, int(used.sum())
    if n_pairs and PAIR_COST * n_pairs < block:
        rows, cols = np.nonzero(used)  # sorted by row
        return UsedPairs(post, pre, rows, cols, False, used.shape)
    if n_pairs and block <= RESTRICT_BELOW * used.size:
        rows, cols = np.repeat(post, pre.size), np.tile(pre, post.size)
        return UsedPairs(post, pre, rows, cols, True, used.shape)
    return None


def measured_entries(sample: Any, lay: Layout) -> np.ndarray:
    """The ``(post, pre)`` entries with a finite weight at both ends of some interval of
    ``lay`` (the only ones any statistic reads), from ``sample(k)``: weight sample ``k``."""
    fin = np.isfinite(sample(int(lay.k[0])))
    used = np.zeros(fin.shape, bool)
    for k in lay.k:  # intervals in order: each sample's mask is read once
        nxt = np.isfinite(sample(int(k) + 1))
        used |= fin & nxt
        fin = nxt
    return used


def _batch_term(kernel: BoundKernel, x: np.ndarray, y: np.ndarray, lag: int,
                dt: float, pairs: UsedPairs | None = None, workers: Any = None) -> np.ndarray:
    """``H_k = Σ_t φ(post[t + lag]) pre[t]ᵀ dt`` of each interval ``x (nb, m, pre)``.

    The bilinear specialisation (matrix products) of the kernel's ``term``; a
    kernel that is not bilinear calls ``term`` per interval and integrates its
    mean over the ``m − lag`` sample pairs.  With ``pairs`` only its entries are
    computed (:class:`UsedPairs`), the others are 0.  The products run on ``workers``
    (:class:`_Workers`; None: here), one interval and :data:`COL_GROUP` columns a task.
    """
    nb, m = x.shape[:2]
    kern = kernel.kernel
    if not kern.bilinear:
        # in this thread: a registered kernel's term need not be thread-safe
        h = np.stack([kern.term(x[j], y[j], **kernel.params) for j in range(nb)])
        return h * ((m - lag) * dt)
    if lag:
        x, y = x[:, : m - lag], y[:, lag:]
    if pairs is not None:
        x, y = pairs.take(x, y)
    if kern.post_map:
        y = kernel.post(y)
    if kern.centred and x.shape[1]:
        x = x - x.mean(axis=1, keepdims=True)
        y = y - y.mean(axis=1, keepdims=True)
    if pairs is not None:
        h = np.zeros((nb, *pairs.shape))

        def cross(j: int) -> None:
            pairs.scatter(pairs.cross(y[j], x[j]) * dt, h[j])

        _each(workers, cross, list(range(nb)))
        return h
    # 2-D BLAS products per interval (a stacked 3-D matmul was measured ~15% slower)
    h = np.empty((nb, y.shape[2], x.shape[2]))

    def product(task: tuple[int, slice]) -> None:
        j, c = task
        np.matmul(y[j].T, x[j][:, c], out=h[j][:, c])

    _each(workers, product, [(j, c) for j in range(nb) for c in _col_groups(x.shape[2])])
    h *= dt
    return h


def _hebbian_batch(pre_r: _Rows, post_r: _Rows, lay: Layout, run: np.ndarray, *,
                   kernel: BoundKernel, lag: int, dt: float, chunk_bins: int, shift: int,
                   pre_read: tuple | None = None, pairs: UsedPairs | None = None,
                   workers: Any = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``H`` of a run of contiguous equal-length intervals, shape ``(nb, post, pre)``.

    Also returns which pre and post units were fully recorded (no NaN) in each
    interval, and which presynaptic units were silent (all zero).  With ``pairs``,
    only its entries of ``H`` are computed (the others are meaningless).  The products
    run on ``workers`` (:func:`_batch_term`).
    """
    a0 = int(lay.start[run[0]])
    m = int(lay.stop[run[0]] - lay.start[run[0]])
    nb = run.size
    s0, s1 = int(lay.seg_start[run[0]]), int(lay.seg_stop[run[0]])
    n_pre, n_post = pre_r._var.shape[1], post_r._var.shape[1]
    if m <= chunk_bins or nb > 1:
        if pre_read is None:
            pre_read = _read_batch(pre_r, post_r, lay, run, shift=shift)
        x, y, nonzero = pre_read
        x, y = x.reshape(nb, m, n_pre), y.reshape(nb, m, n_post)
        if nonzero is not None:  # no NaN at all (checked by the reader)
            ok_pre, ok_post = np.ones((nb, n_pre), bool), np.ones((nb, n_post), bool)
            silent = ~nonzero
        else:
            nan_x, nan_y = np.isnan(x), np.isnan(y)
            ok_pre = ~nan_x.any(axis=1)
            ok_post = ~nan_y.any(axis=1)
            if not ok_pre.all():
                x = np.where(nan_x, 0.0, x)
            if not ok_post.all():
                y = np.where(nan_y, 0.0, y)
            del nan_x, nan_y
            silent = ok_pre & ~np.any(x != 0, axis=1)
        return _batch_term(kernel, x, y, lag, dt, pairs, workers), ok_pre, ok_post, silent
    # one long interval: accumulate over chunks of pre rows t (post rows t + lag)
    h = np.zeros((n_post, n_pre))
    sx, sy, count = np.zeros(n_pre), np.zeros(n_post), 0
    ok_pre, ok_post = np.ones(n_pre, bool), np.ones(n_post, bool)
    nonzero = np.zeros(n_pre, bool)
    b_pairs = a0 + m - lag
    for t in range(a0, b_pairs, chunk_bins):
        e = min(t + chunk_bins, b_pairs)
        x = pre_r.read_shifted(t, e, s0, s1, shift)
        y = post_r.read(t + lag, e + lag)
        ok_pre &= ~np.isnan(x).any(axis=0)
        ok_post &= ~np.isnan(y).any(axis=0)
        x = np.nan_to_num(x, nan=0.0)
        y = kernel.post(np.nan_to_num(y, nan=0.0))
        nonzero |= np.any(x != 0, axis=0)
        if pairs is None:
            _product_into(y, x, h, workers, add=True)
        else:
            pairs.scatter(pairs.cross(*pairs.take(x, y)[::-1], workers), h)
        if kernel.kernel.centred:
            sx += x.sum(axis=0)
            sy += y.sum(axis=0)
            count += x.shape[0]
    if lag:  # the first `lag` post rows and last `lag` pre rows also count for NaN/silence
        x = pre_r.read_shifted(b_pairs, a0 + m, s0, s1, shift)
        y = post_r.read(a0, a0 + lag)
        ok_pre &= ~np.isnan(x).any(axis=0)
        ok_post &= ~np.isnan(y).any(axis=0)
        nonzero |= np.any(np.nan_to_num(x) != 0, axis=0)
    if kernel.kernel.centred and count:
        h -= np.outer(sy, sx) / count
    h *= dt
    return h[None], ok_pre[None], ok_post[None], (ok_pre & ~nonzero)[None]


def interval_stats(
    ds: xr.Dataset,
    lay: Layout,
    *,
    kernel: Any,
    lag: int,
    chunk_bins: int,
    shifts: np.ndarray | None = None,
    h_override: np.ndarray | None = None,
    keep_h: bool = False,
    gram: bool = False,
    gram_block_rows: int | None = None,
    progress: Any = None,
    pairs: UsedPairs | None = None,
) -> dict[str, np.ndarray]:
    """One pass: the sufficient statistics of every interval.

    Parameters
    ----------
    ds : xarray.Dataset
        A validated record, in memory or lazily opened.
    lay : Layout
        From :func:`layout_of`.
    kernel : str, Kernel or BoundKernel
        A rate kernel of :mod:`plastix.kernels` (a name or entry: default
        parameters, ``lag`` from below); ignored when ``h_override`` is given
        (spike-timing kernels).
    lag : int
        Bins by which ``pre`` leads ``post`` (0 unless the kernel is lagged).
    chunk_bins : int
        Largest number of fine bins held in memory at once.
    shifts : ndarray of int, (K,), optional
        Circular shift (bins) of the presynaptic series for the null; per
        interval, constant within a segment.
    h_override : ndarray, (K, post, pre), optional
        Precomputed Hebbian terms (spike-timing kernel).
    keep_h : bool
        Keep the masked ``H_k`` (a temporary memory map when the record is
        lazy) for the interval Gram matrices.
    gram : bool
        Also compute the ``3K × 3K`` Gram matrix of ``[d; w; h]`` (needs ``keep_h``).
    pairs : UsedPairs, optional
        Compute only these entries of ``H`` (:func:`used_pairs`: those of the synapses
        measured in some interval, the only ones any statistic reads); the statistics
        are the same to rounding.  Not with ``keep_h``, which keeps all of ``H``.

    Returns
    -------
    dict
        ``stats (K, 6)``, ``post_stats (K, post, 6)``, ``n_obs (K,)``,
        ``silent (K, 2)`` (Σ d·w and Σ w·w over synapses whose presynaptic unit
        was silent), ``n_silent (K,)``, ``ok_pre (K, pre)``, ``ok_post (K, post)``
        and, with ``gram``, ``gram (3K, 3K)``.
    """
    if not isinstance(kernel, BoundKernel):
        kernel = BoundKernel(kernel, {"lag": lag} if lag else None)
    if keep_h and pairs is not None:
        raise ValueError("interval_stats: `keep_h` keeps all of H; pass `pairs=None`.")
    if not kernel.kernel.streaming and lay.k.size:  # hold each interval in memory at once
        chunk_bins = max(int(chunk_bins), int((lay.stop - lay.start).max()))
    # the products on one BLAS thread each, as many side by side as BLAS had threads
    # (COL_GROUP): the same bits on any number of threads
    n_threads = blas_threads()
    workers = _Workers(n_threads) if n_threads > 1 else None
    h5 = _open_h5(ds)
    try:
        with one_blas_thread():
            return _interval_stats(ds, lay, h5, kernel=kernel, lag=lag, chunk_bins=chunk_bins,
                                   shifts=shifts, h_override=h_override, keep_h=keep_h,
                                   gram=gram, gram_block_rows=gram_block_rows,
                                   progress=progress, pairs=pairs, workers=workers)
    finally:
        if workers is not None:
            workers.close()
        if h5 is not None:
            h5.close()


def _interval_stats(ds, lay, h5, *, kernel, lag, chunk_bins, shifts, h_override, keep_h, gram,
                    gram_block_rows, progress, pairs=None, workers=None):
    n_pre, n_post = ds.sizes["pre"], ds.sizes["post"]
    n_k = lay.k.size
    dt = float(ds.attrs["dt"])
    # Everything opened here (raw file descriptors, the Gram store, the reader threads)
    # is closed again if any later step of the setup or the stream fails.
    pre_r = _Rows(ds, "pre_activity", h5)
    post_r = store = prefetch = None
    ok = False
    try:
        post_r = _Rows(ds, "post_activity", h5)
        weights = _Weights(ds, h5)
        stats = np.zeros((n_k, 6))
        post_stats = np.zeros((n_k, n_post, 6))
        n_obs = np.zeros(n_k, dtype=np.int64)
        silent = np.zeros((n_k, 2))
        n_silent = np.zeros(n_k, dtype=np.int64)
        ok_pre_all = np.ones((n_k, n_pre), bool)
        ok_post_all = np.ones((n_k, n_post), bool)
        w_all = weights.array
        entries = (measured_entries(w_all.__getitem__, lay)
                   if keep_h and w_all is not None and n_k else None)
        store = _Store(lay, ds.sizes["weight_time"], n_post, n_pre, on_disk=pre_r.lazy,
                       weights=w_all, entries=entries) if keep_h else None
        shifts = np.zeros(n_k, dtype=np.int64) if shifts is None else np.asarray(shifts)
        t_h_box = [0.0]
        # group intervals into batches that share a shift
        order = np.arange(n_k)
        max_bins = max(int(chunk_bins), 1)
        batches: list[np.ndarray] = []
        for sh in np.unique(shifts):
            batches += _runs(lay, order[shifts == sh], max_bins)
        batches.sort(key=lambda r: int(r[0]))
        # Reading the next batch (HDF5 → float64 buffers, and its weight samples) runs in
        # a helper thread while this one multiplies the current batch (BLAS releases the
        # GIL); writes of the Gram store run in another.  Two buffer pairs alternate.
        direct = h_override is None and pre_r.converts and post_r.converts
        prefetch = _Prefetch(pre_r, post_r, weights, lay, batches, shifts, lag=lag,
                             max_bins=max_bins, direct=direct,
                             skip=h_override is not None, read_batch=_read_batch)
        _stream(prefetch, lay, batches, stats, post_stats, n_obs, silent, n_silent, ok_pre_all,
                ok_post_all, store, h_override=h_override, n_pre=n_pre, n_post=n_post,
                kernel=kernel, lag=lag, dt=dt, max_bins=max_bins, pre_r=pre_r, post_r=post_r,
                shifts=shifts, progress=progress, t_h=t_h_box, pairs=pairs, workers=workers)
        ok = True
    finally:
        if prefetch is not None:
            prefetch.close()
        pre_r.close()
        if post_r is not None:
            post_r.close()
        if store is not None:
            if ok:
                store.flush()
            else:
                store.discard()
    t_h = t_h_box[0]
    out = {"stats": stats, "post_stats": post_stats, "n_obs": n_obs, "silent": silent,
           "n_silent": n_silent, "ok_pre": ok_pre_all, "ok_post": ok_post_all,
           "timings": {"read_and_hebbian_s": t_h}}
    if store is not None:
        try:
            if gram:
                clock = time.perf_counter()
                with one_blas_thread():  # thin products: a second thread stalls them
                    out["gram"] = store.gram(ok_pre_all, ok_post_all,
                                             block_rows=gram_block_rows)
                out["timings"]["gram_s"] = time.perf_counter() - clock
        finally:
            store.close()
    return out


def _stream(prefetch, lay, batches, stats, post_stats, n_obs, silent, n_silent, ok_pre_all,
            ok_post_all, store, *, h_override, n_pre, n_post, kernel, lag, dt, max_bins, pre_r,
            post_r, shifts, progress, t_h, pairs=None, workers=None):
    silent_pre = np.zeros((lay.k.size, n_pre), bool)  # each interval's silent pre units
    follows = interval_follows(lay.k, lay.seg_start)

    def finish(run, h, w0, w1, okp, okq, sil):
        """Reduce one batch's ``H`` to its summaries (runs beside the next product)."""
        if h_override is None and not lay.covered[run].all():  # activity for part of it
            okp, okq = okp & lay.covered[run, None], okq & lay.covered[run, None]
            sil = sil & lay.covered[run, None]
        silent_pre[run] = sil
        sil = silent_after_silent(silent_pre, follows, run)  # the batches come in order
        ok_pre_all[run], ok_post_all[run] = okp, okq
        if pairs is not None:  # H holds the used entries only: reduce those
            _finish_pairs(pairs, run, lay, h, w0, w1, okp, okq, sil, stats, post_stats, n_obs,
                          silent, n_silent)
            return
        mask = np.isfinite(w0) & np.isfinite(w1) & okp[:, None, :] & okq[:, :, None]
        dur = lay.duration[run][:, None, None]
        if mask.all():  # the common case: no copies for masking
            d, w, hm = w1 - w0, w0 * dur, h
        else:
            d = np.where(mask, w1 - w0, 0.0)
            w = np.where(mask, w0, 0.0) * dur
            hm = np.where(mask, h, 0.0)
        # per postsynaptic row, the six inner products of (d, w, h)
        rows = np.stack([np.einsum("kij,kij->ki", p, q) for p, q in
                         ((d, hm), (w, hm), (hm, hm), (d, d), (d, w), (w, w))], axis=-1)
        post_stats[run] = rows
        stats[run] = rows.sum(axis=1)
        n_obs[run] = mask.sum(axis=(1, 2))
        if sil.any():
            smask = mask & sil[:, None, :]
            silent[run, 0] = np.einsum("kij,kij->k", np.where(smask, d, 0.0), w)
            silent[run, 1] = np.einsum("kij,kij->k", np.where(smask, w, 0.0), w)
            n_silent[run] = smask.sum(axis=(1, 2))
        if store is not None:
            store.put(run, w0, w1, h)

    pool = ThreadPoolExecutor(1)
    try:
        _stream_loop(prefetch, lay, batches, h_override=h_override, n_pre=n_pre,
                     n_post=n_post, kernel=kernel, lag=lag, dt=dt, max_bins=max_bins,
                     pre_r=pre_r, post_r=post_r, shifts=shifts, progress=progress, t_h=t_h,
                     pool=pool, finish=finish, pairs=pairs, workers=workers)
    finally:
        pool.shutdown(wait=True)


def _finish_pairs(pairs, run, lay, h, w0, w1, okp, okq, sil, stats, post_stats, n_obs, silent,
                  n_silent):
    """``finish`` of :func:`_stream` over the entries of ``pairs`` only: every other entry
    is masked out in every interval (:class:`UsedPairs`); the same sums in another order."""
    r, c = pairs.rows, pairs.cols
    w0, w1, h = w0[:, r, c], w1[:, r, c], h[:, r, c]
    mask = np.isfinite(w0) & np.isfinite(w1) & okp[:, c] & okq[:, r]
    d = np.where(mask, w1 - w0, 0.0)
    w = np.where(mask, w0, 0.0) * lay.duration[run][:, None]
    hm = np.where(mask, h, 0.0)
    rows = np.zeros((run.size, pairs.shape[0], 6))
    for i, (p, q) in enumerate(((d, hm), (w, hm), (hm, hm), (d, d), (d, w), (w, w))):
        rows[:, pairs.post, i] = np.add.reduceat(p * q, pairs.starts, axis=1)
    post_stats[run] = rows
    stats[run] = rows.sum(axis=1)
    n_obs[run] = mask.sum(axis=1)
    if sil.any():
        smask = mask & sil[:, c]
        silent[run, 0] = np.einsum("kp,kp->k", np.where(smask, d, 0.0), w)
        silent[run, 1] = np.einsum("kp,kp->k", np.where(smask, w, 0.0), w)
        n_silent[run] = smask.sum(axis=1)


def _stream_loop(prefetch, lay, batches, *, h_override, n_pre, n_post, kernel, lag, dt,
                 max_bins, pre_r, post_r, shifts, progress, t_h, pool, finish, pairs=None,
                 workers=None):
    pending = None
    for i, run in enumerate(batches):
        clock = time.perf_counter()
        xy, w0, w1 = prefetch.get(i)
        t_read = time.perf_counter() - clock
        if h_override is not None:
            h = h_override[run]
            okp, okq = np.ones((run.size, n_pre), bool), np.ones((run.size, n_post), bool)
            sil = np.zeros((run.size, n_pre), bool)
        elif int(lay.stop[run[0]] - lay.start[run[0]]) <= lag:
            # no activity sample in the interval (activity that starts after the weights
            # do), or no pair of samples `lag` apart: the Hebbian term is not observed, and
            # counting the interval's weight change against a zero term would pull the
            # alignment towards 0; it is left out like an interval of NaN activity
            h = np.zeros((run.size, n_post, n_pre))
            okp, okq = np.zeros((run.size, n_pre), bool), np.zeros((run.size, n_post), bool)
            sil = np.zeros((run.size, n_pre), bool)
        else:
            clock = time.perf_counter()
            h, okp, okq, sil = _hebbian_batch(pre_r, post_r, lay, run, kernel=kernel, lag=lag,
                                              dt=dt, chunk_bins=max_bins,
                                              shift=int(shifts[run[0]]), pre_read=xy,
                                              pairs=pairs, workers=workers)
            t_h[0] += time.perf_counter() - clock + t_read
        del xy
        # the summaries of this batch are reduced in a helper thread while the next
        # batch is multiplied; one batch at most waits, so memory stays bounded
        if pending is not None:
            pending.result()
        pending = pool.submit(finish, run, h, w0, w1, okp, okq, sil)
        del h, w0, w1
        if progress is not None:
            progress.update(int(run.size))
    if pending is not None:
        pending.result()
