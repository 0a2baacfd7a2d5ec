"""The rate-kernel null computes ``H`` only where a synapse is measured (probe 5, finding 2).

Every statistic masks each interval's ``H`` to the synapses whose weight is finite at
both of its ends, so a null pass over a record with few measured synapses computes only
those entries (:func:`plastix.estimate._stats.used_pairs`): pair by pair, or over the
block of units with a measured synapse.  These tests check that the statistics, the
alignment, its interval and the null are those of the full products (to rounding), in
memory and streamed from a file, and that a dense record keeps the full products.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import plastix._util.progress as progress_mod
import plastix.estimate.estimator as estimator_mod
from plastix.estimate import HebbianEstimator
from plastix.estimate._stats import (
    BoundKernel,
    UsedPairs,
    interval_stats,
    layout_of,
    used_pairs,
)
from plastix.estimate.estimator import _draw_shifts
from plastix.io.netcdf import to_netcdf
from plastix.record import make_record

RTOL = 1e-10


def _record(measured: float = 0.01, *, block: bool = False, seed: int = 0, n_bins: int = 1200):
    """200 pre x 40 post units, Hebbian weight changes; ``measured`` of the pairs have
    weights (the others NaN), or, with ``block``, all pairs of 3 post x 6 pre units."""
    rng = np.random.default_rng(seed)
    n_pre, n_post, dt = 200, 40, 0.01
    t = np.arange(n_bins) * dt
    common = rng.gamma(2.0, 1.0, (n_bins, 1))
    x = rng.gamma(2.0, 1.0, (n_bins, n_pre)) + common
    x[:200, 3] = 0.0
    y = rng.gamma(2.0, 1.0, (n_bins, n_post)) + common
    wt = np.arange(0, n_bins * dt + 1e-9, 0.5)
    w = np.empty((wt.size, n_post, n_pre))
    w[0] = rng.normal(1, 0.2, (n_post, n_pre))
    for k in range(wt.size - 1):
        sl = (t >= wt[k]) & (t < wt[k + 1])
        w[k + 1] = w[k] + 1e-3 * (y[sl].T @ x[sl]) * dt + rng.normal(0, 0.05, w[k].shape)
    if block:
        keep = np.zeros((n_post, n_pre), bool)
        keep[np.ix_([1, 4, 7], [0, 5, 9, 20, 21, 33])] = True
    else:
        keep = rng.random((n_post, n_pre)) < measured
        keep[:4, 3] = True  # pre unit 3 is silent in the first intervals (the decay's)
    w[:, ~keep] = np.nan
    w[3, 0, :] = np.nan  # one sample misses a row: that interval observes fewer synapses
    return make_record(x, y, w, time=t, weight_time=wt, dt=dt)


def _stats_pair(rec, kernel, pairs, *, chunk_bins=10_000, seed=1):
    lay = layout_of(rec)
    lag = 2 if kernel == "lagged" else 0
    bound = BoundKernel(kernel, {"lag": lag} if lag else None)
    shifts = _draw_shifts(lay, np.random.default_rng(seed))
    full = interval_stats(rec, lay, kernel=bound, lag=lag, chunk_bins=chunk_bins, shifts=shifts)
    part = interval_stats(rec, lay, kernel=bound, lag=lag, chunk_bins=chunk_bins, shifts=shifts,
                          pairs=pairs)
    return full, part


@pytest.mark.parametrize("kernel", ["product", "covariance", "lagged", "post_activation"])
def test_pair_sums_give_the_full_statistics(kernel):
    rec = _record()
    pairs = used_pairs(rec, layout_of(rec), BoundKernel(kernel))
    assert pairs is not None and not pairs.block  # sparse: pair by pair
    full, part = _stats_pair(rec, kernel, pairs)
    assert full["n_silent"].sum() > 0
    for name in ("stats", "post_stats", "silent"):
        assert_allclose(part[name], full[name], rtol=RTOL, atol=0)
    for name in ("n_obs", "n_silent", "ok_pre", "ok_post"):
        np.testing.assert_array_equal(part[name], full[name])


def test_unit_block_gives_the_full_statistics():
    rec = _record(block=True)
    pairs = used_pairs(rec, layout_of(rec), BoundKernel("product"))
    # 18 pairs fill the 3 x 6 block of their units: one product over the block
    assert pairs is not None and pairs.block
    assert pairs.post.tolist() == [1, 4, 7] and pairs.pre.tolist() == [0, 5, 9, 20, 21, 33]
    for kernel in ("product", "covariance"):
        full, part = _stats_pair(rec, kernel, pairs)
        assert_allclose(part["stats"], full["stats"], rtol=RTOL, atol=0)
        assert_allclose(part["post_stats"], full["post_stats"], rtol=RTOL, atol=0)


def test_long_intervals_streamed_in_chunks(tmp_path):
    """An interval longer than ``chunk_bins`` is accumulated chunk by chunk from the file."""
    rec = _record()
    path = to_netcdf(rec, tmp_path / "sparse.nc")
    from plastix.estimate.reader import open_record

    lazy, opened = open_record(path, streaming=True)
    try:
        pairs = used_pairs(lazy, layout_of(lazy), BoundKernel("covariance"))
        full, part = _stats_pair(lazy, "covariance", pairs, chunk_bins=7)
    finally:
        opened.close()
    assert_allclose(part["stats"], full["stats"], rtol=RTOL, atol=0)
    assert_allclose(part["post_stats"], full["post_stats"], rtol=RTOL, atol=0)


def _fit_both(record, monkeypatch, **params):
    """The fit with the null restricted to the measured pairs, and with the full products;
    also the ``pairs`` that each null pass was given."""
    seen = []
    real = estimator_mod.interval_stats

    def spy(*args, **kwargs):
        seen.append(kwargs.get("pairs"))
        return real(*args, **kwargs)

    monkeypatch.setattr(estimator_mod, "interval_stats", spy)
    opts = dict(decay=0.0, n_boot=200, n_null=19, rng=3, progress=False, **params)
    new = HebbianEstimator(**opts).fit(record)
    monkeypatch.setattr(estimator_mod, "used_pairs", lambda *a: None)
    old = HebbianEstimator(**opts).fit(record)
    return new, old, seen[: 1 + opts["n_null"]]


def _same_fit(new, old):
    assert_allclose(new.alignment_, old.alignment_, rtol=RTOL)
    assert_allclose(new.ci_, old.ci_, rtol=RTOL)
    assert_allclose(new.null_, old.null_, rtol=RTOL)
    assert new.p_value_ == old.p_value_ and new.verdict_ == old.verdict_


def test_sparse_null_is_restricted_and_the_same(monkeypatch):
    new, old, seen = _fit_both(_record(), monkeypatch)
    assert seen[0] is None  # the observed pass keeps all of H (Gram matrices)
    assert all(isinstance(p, UsedPairs) for p in seen[1:])
    _same_fit(new, old)


def test_sparse_null_streamed_is_the_same(monkeypatch, tmp_path):
    path = to_netcdf(_record(seed=2), tmp_path / "sparse.nc")
    new, old, seen = _fit_both(path, monkeypatch, streaming=True, kernel="covariance",
                               chunk_bins=40)
    assert new.streamed_ and all(isinstance(p, UsedPairs) for p in seen[1:])
    _same_fit(new, old)


def test_dense_record_keeps_the_full_products(monkeypatch):
    rec = _record(measured=1.0)
    lay = layout_of(rec)
    assert used_pairs(rec, lay, BoundKernel("product")) is None
    # measured pairs touching most units (60 %) are not worth restricting either
    assert used_pairs(_record(measured=0.6), lay, BoundKernel("product")) is None
    _, _, seen = _fit_both(rec, monkeypatch)
    assert seen and all(p is None for p in seen)


def test_progress_lines_off_a_terminal(monkeypatch, capsys):
    """Off a terminal (nohup, SLURM) tqdm draws nothing: plain lines say how far the fit is."""
    monkeypatch.setattr(progress_mod, "PROGRESS_EVERY_S", 0.0)
    rec = _record(n_bins=300)
    HebbianEstimator(decay=0.0, n_boot=50, n_null=3, rng=0).fit(rec)
    lines = capsys.readouterr().err.splitlines()
    n_k = layout_of(rec).k.size
    assert lines and lines[-1].startswith(f"plastix estimate: 100% ({4 * n_k} of {4 * n_k} "
                                          "interval passes), ")
    assert all(" spent, about " in line for line in lines)
    HebbianEstimator(decay=0.0, n_boot=50, n_null=3, rng=0, progress=False).fit(rec)
    assert capsys.readouterr().err == ""
