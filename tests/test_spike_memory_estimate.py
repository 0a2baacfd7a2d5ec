"""Estimating from spikes takes the memory of its spikes: the STDP kernel keeps a bounded
budget of its per-train tables and reads the presynaptic spikes a block at a time, and
``estimate_from_spikes`` holds one half of the presynaptic spikes at a time beside the
record's, with the numbers of the computation that held them all."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
import xarray as xr

from plastix import kernels as K
from plastix.estimate import infer as I
from plastix.estimate.estimator import HebbianEstimator
from plastix.estimate.synthetic import simulate_spike_record

TAU = 0.02
"""STDP time constant of these records (s)."""


def _trains(rng, n_pre=4, n_post=8, duration=30.0, rate=40.0):
    """Poisson trains over ``duration`` s: ``(pre, post, edges)`` for the STDP kernel."""
    def spikes(n):
        counts = rng.poisson(rate * duration, n)
        return K.Spikes(rng.uniform(0, duration, counts.sum()),
                        np.repeat(np.arange(n), counts), n)
    return spikes(n_pre), spikes(n_post), np.arange(0.0, duration + 1e-9, 3.0)


@pytest.fixture
def built(monkeypatch):
    """Weak references to every STDP table (:class:`plastix.kernels._Cells`) built."""
    refs: list[weakref.ref] = []
    init = K._Cells.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        refs.append(weakref.ref(self))

    monkeypatch.setattr(K._Cells, "__init__", spy)
    return refs


def _alive(refs) -> int:
    gc.collect()
    return sum(r() is not None for r in refs)


def _one_table_bytes(post, edges) -> int:
    t = np.sort(post.times[post.units == 0])
    return K._Cells(t, edges, TAU, K.STDP_CUTOFF * TAU).nbytes


def test_stdp_keeps_tables_within_a_byte_budget_and_gives_the_same_numbers(
        rng, built, monkeypatch):
    pre, post, edges = _trains(rng)
    stdp = K.get_kernel("stdp").term
    monkeypatch.setattr(K, "_CELLS_BUDGET", 0, raising=False)  # nothing kept: each built anew
    fresh = stdp(pre, post, edges, tau=TAU)
    assert _alive(built) == 0
    # room for two and a half tables of these trains: at most two kept, the last ones
    monkeypatch.setattr(K, "_CELLS_BUDGET", int(2.5 * _one_table_bytes(post, edges)))
    built.clear()
    first = stdp(pre, post, edges, tau=TAU)
    assert len(built) == post.n
    assert 1 <= _alive(built) <= 2  # a count-bounded cache (32) kept all 8
    assert K._CELLS.nbytes <= K._CELLS_BUDGET
    assert np.array_equal(first, fresh)
    # room for all: the second call (a null's surrogate) builds none, same numbers
    monkeypatch.setattr(K, "_CELLS_BUDGET", 1 << 40)
    stdp(pre, post, edges, tau=TAU)
    built.clear()
    assert np.array_equal(stdp(pre, post, edges, tau=TAU), fresh)
    assert built == []
    K._CELLS.clear()
    assert _alive(built) == 0 and K._CELLS.nbytes == 0



def test_a_table_larger_than_the_budget_is_not_kept_and_evicts_nothing(rng, monkeypatch):
    pre, post, edges = _trains(rng, n_post=2)
    small = K.Spikes(post.times[post.units == 0][:20], np.zeros(20, np.int64), 1)
    K._CELLS.clear()
    one = _one_table_bytes(post, edges)
    monkeypatch.setattr(K, "_CELLS_BUDGET", one // 2)  # a whole train's table does not fit
    stdp = K.get_kernel("stdp").term
    stdp(pre, small, edges, tau=TAU)  # a short train's table fits: kept
    kept = K._CELLS.nbytes
    assert 0 < kept <= K._CELLS_BUDGET
    stdp(pre, post, edges, tau=TAU)  # both full tables too large: built, not kept
    assert K._CELLS.nbytes == kept  # the short train's table stays
    K._CELLS.clear()

def _stdp_pairs(pre, post, edges, tau):
    """Every pair within 5τ, counted in its later spike's interval (``tests/test_kernels``)."""
    h = np.zeros((edges.size - 1, post.n, pre.n))
    for tq, i in zip(post.times, post.units, strict=True):
        near = np.flatnonzero(np.abs(pre.times - tq) <= K.STDP_CUTOFF * tau)
        for tp, j in zip(pre.times[near], pre.units[near], strict=True):
            d = tq - tp
            k = np.searchsorted(edges, max(tq, tp), side="right") - 1
            if d != 0 and 0 <= k < edges.size - 1:
                h[k, i, j] += math.copysign(math.exp(-abs(d) / tau), d)
    return h


def test_stdp_reads_the_presynaptic_spikes_a_block_at_a_time(rng, monkeypatch):
    pre, post, edges = _trains(rng, n_pre=3, n_post=2, duration=12.0, rate=30.0)
    stdp = K.get_kernel("stdp").term
    whole = stdp(pre, post, edges, tau=TAU)
    seen: list[int] = []
    evaluate = K._Cells.evaluate

    def spy(self, y, base):
        seen.append(y.size)
        yield from evaluate(self, y, base)

    monkeypatch.setattr(K._Cells, "evaluate", spy)
    monkeypatch.setattr(K, "_STDP_CHUNK", 100)  # 12 × 3 flat slots: the block is 100
    K._CELLS.clear()
    blocks = stdp(pre, post, edges, tau=TAU)
    assert max(seen) <= 100 and sum(seen) == post.n * pre.times.size
    # the blocks' counts are added in another order: equal to rounding, and to the pairs
    np.testing.assert_allclose(blocks, whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks, _stdp_pairs(pre, post, edges, TAU), atol=1e-9)


def _old_odd_blocks(ds, block):
    """The former per-spike look-up (a Python float per spike), as reference."""
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    pt = np.asarray(ds["pre_spike_time"].values, dtype=float)
    ps = np.asarray(ds["pre_spike_segment"].values)
    start = {s: t[seg == s][0] for s in np.unique(seg)}
    t0 = np.array([start.get(s, 0.0) for s in ps.tolist()]) if pt.size else pt
    return (np.floor((pt - t0) / block).astype(np.int64) % 2) == 1


def test_blocks_of_the_cross_fit_are_those_of_the_per_spike_look_up(rng):
    t = np.concatenate([np.arange(0, 10, 0.1), np.arange(12.35, 20, 0.1)])
    seg = np.repeat([0, 2], [100, t.size - 100])
    pt = np.sort(rng.uniform(0, 20, 500))
    ps = np.where(pt < 11, 0, 2)
    ps[::17] = 5  # a segment without bins: blocks from 0
    ds = xr.Dataset({"pre_spike_time": ("pre_spike", pt),
                     "pre_spike_segment": ("pre_spike", ps)},
                    coords={"time": t, "segment": ("time", seg)})
    for block in (1.0, 0.37, 3.0):
        assert np.array_equal(I._odd_blocks(ds, block), _old_odd_blocks(ds, block))
    empty = ds.isel(pre_spike=slice(0, 0))
    assert I._odd_blocks(empty, 1.0).shape == (0,)


@pytest.fixture(scope="module")
def small_rec():
    return simulate_spike_record(8, 2, duration=40.0, weight_every=4.0, rng=2)


FIT = {"decay": 0.0, "n_boot": 50, "n_null": 19, "rng": 0}


def test_estimate_from_spikes_drops_the_inferred_halfs_spikes_while_fitting(
        small_rec, monkeypatch):
    """While the estimator fits, the presynaptic spikes of the inferred record (the even
    blocks') are no longer held; the estimator, the inferred record and their variable
    order are those of the computation that held them."""
    refs: list[weakref.ref] = []
    infer, fit = I.infer_weights, HebbianEstimator.fit
    alive_in_fit: list[int] = []

    def spy_infer(*args, **kwargs):
        out = infer(*args, **kwargs)
        refs.append(weakref.ref(out["pre_spike_time"].values))
        return out

    def spy_fit(self, ds, *args, **kwargs):
        alive_in_fit.append(_alive(refs))
        return fit(self, ds, *args, **kwargs)

    monkeypatch.setattr(I, "infer_weights", spy_infer)
    monkeypatch.setattr(HebbianEstimator, "fit", spy_fit)
    est = I.estimate_from_spikes(small_rec, infer={"window": 4.0}, **FIT)
    assert alive_in_fit == [0]  # held by the inferred record until then
    monkeypatch.undo()
    # the former computation: the inferred record kept whole, the odd half assigned
    inferred = I.infer_weights(I._split_pre(small_rec, 1.0, 0), window=4.0)
    odd = I._split_pre(small_rec, 1.0, 1)
    names = ["pre_spike_time", "pre_spike_unit", "pre_spike_segment"]
    ref = HebbianEstimator(kernel="stdp", **FIT).fit(inferred.drop_vars(names).drop_dims(
        "pre_spike", errors="ignore").assign({v: odd[v] for v in names}))
    assert est.inferred_.identical(inferred)
    assert list(est.inferred_.variables) == list(inferred.variables)
    for v in inferred.variables:
        assert est.inferred_[v].dtype == inferred[v].dtype, v
    a, b = est.result_, ref.result_
    assert list(a.variables) == list(b.variables)
    for v in a.variables:
        assert np.array_equal(a[v].values, b[v].values, equal_nan=a[v].dtype.kind == "f"), v
        assert a[v].attrs == b[v].attrs, v
    own = {"uncertainty_propagated"}  # set by estimate_from_spikes after the fit
    assert {k: repr(a.attrs[k]) for k in b.attrs if k not in own} == {
        k: repr(v) for k, v in b.attrs.items() if k not in own}
