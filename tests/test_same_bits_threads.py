"""Same record, same ``rng``: the same bits on one BLAS thread and on two (probe 6 finding
5).  A single-file estimate kept the caller's BLAS threads for its passes while a batch's
worker runs on one, and OpenBLAS's threaded GEMM sums a product over 257-511 bins in
other blocks than its one-thread GEMM: ``hebbian_norm``, every alignment and the CI
differed in their last bits.  The passes now run each product on one BLAS thread, side by
side on as many Python threads as BLAS had, split the same way whatever the count.
"""

from __future__ import annotations

import numpy as np
import pytest

from plastix.record import make_record

N_PRE, N_POST, BINS, N_K = 150, 40, 300, 12  # 300 bins an interval: OpenBLAS's split


def _record(dtype, *, measured: float = 0.05):
    """A calcium-like record: 12 intervals of 300 bins, a few measured synapses."""
    rng = np.random.default_rng(1)
    n_t = BINS * N_K
    pre = np.maximum(rng.standard_normal((n_t, N_PRE)), 0).astype(dtype)
    post = np.maximum(rng.standard_normal((n_t, N_POST)), 0).astype(dtype)
    w = np.full((N_K + 1, N_POST, N_PRE), np.nan)
    keep = rng.random((N_POST, N_PRE)) < measured
    w[:, keep] = 1 + np.cumsum(rng.standard_normal((N_K + 1, int(keep.sum()))), axis=0) * 0.1
    return make_record(pre, post, w, time=np.arange(n_t) / 30.0,
                       weight_time=np.arange(N_K + 1) * BINS / 30.0, activity_units="a.u.",
                       activity_kind="fluorescence", decay=0.01)


def _fit(ds, threads: int, **kw):
    from threadpoolctl import threadpool_limits

    from plastix.estimate import HebbianEstimator

    with threadpool_limits(threads, user_api="blas"):
        return HebbianEstimator(**{"decay": 0.01, "lag": 0, "n_boot": 20, "n_null": 2,
                                   "rng": 5, **kw}).fit(ds)


def _differing(a, b) -> list[str]:
    return [v for v in a.variables if np.asarray(a[v].values).dtype.kind == "f"
            and not np.array_equal(a[v].values, b[v].values, equal_nan=True)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_and_two_blas_threads_give_the_same_bits(dtype):
    """Observed pass (H, hebbian_norm), Gram matrices, null passes, bootstrap: bit for bit
    (the observed pass's H differed in the last bits before)."""
    ds = _record(dtype)
    one, two = _fit(ds, 1), _fit(ds, 2)
    assert _differing(one.result_, two.result_) == []
    assert one.result_.identical(two.result_)


def test_long_intervals_read_in_chunks_give_the_same_bits():
    """An interval longer than a batch is summed chunk by chunk (and the null's products
    of the measured pairs): the same bits on one thread and on two."""
    ds = _record(np.float64, measured=0.5)
    one, two = _fit(ds, 1, chunk_bins=120), _fit(ds, 2, chunk_bins=120)
    assert _differing(one.result_, two.result_) == []


def test_interval_stats_threads_split_the_same_products():
    """H of a pass with more presynaptic units than a column group: the same bits on
    1 thread and on 3 (the tasks do not depend on the count), and equal to one product
    per interval to rounding."""
    from threadpoolctl import threadpool_limits

    from plastix.estimate._stats import COL_GROUP, interval_stats, layout_of

    rng = np.random.default_rng(2)
    n_pre = COL_GROUP + 30
    pre, post = rng.standard_normal((4 * BINS, n_pre)), rng.standard_normal((4 * BINS, 20))
    w = 1 + rng.standard_normal((5, 20, n_pre))
    ds = make_record(pre, post, w, time=np.arange(4 * BINS) / 30.0,
                     weight_time=np.arange(5) * BINS / 30.0, decay=0.01)
    lay = layout_of(ds)
    out = {}
    for n in (1, 3):
        with threadpool_limits(n, user_api="blas"):
            out[n] = interval_stats(ds, lay, kernel="product", lag=0, chunk_bins=10**6)
    for name in ("stats", "post_stats", "silent"):
        np.testing.assert_array_equal(out[1][name], out[3][name])
    h = np.einsum("kti,ktj->kij", post.reshape(4, BINS, 20), pre.reshape(4, BINS, n_pre))
    np.testing.assert_allclose(out[1]["stats"][:, 2], (h * h).sum(axis=(1, 2)) / 30.0 ** 2,
                               rtol=1e-12)


def _spike_record(n_pre: int = 150, n_post: int = 40, duration: float = 30.0):
    """Poisson spikes (10 Hz pre, 5 Hz post) and weights drifting at 13 samples: big
    enough that two BLAS threads would split the spike kernels' products."""
    rng = np.random.default_rng(4)
    pt = np.sort(rng.uniform(0, duration, int(10 * n_pre * duration)))
    qt = np.sort(rng.uniform(0, duration, int(5 * n_post * duration)))
    t = np.arange(0, duration, 0.01)
    wt = np.linspace(0, duration, N_K + 1)
    w = 1 + np.cumsum(rng.standard_normal((N_K + 1, n_post, n_pre)), axis=0) * 0.1
    return make_record(np.zeros((t.size, n_pre)), np.zeros((t.size, n_post)), w, time=t,
                       weight_time=wt, dt=0.01,
                       pre_spikes={"time": pt, "unit": rng.integers(0, n_pre, pt.size)},
                       post_spikes={"time": qt, "unit": rng.integers(0, n_post, qt.size)})


@pytest.mark.parametrize("null", ["shift", "pooled-shift"])
def test_spike_kernels_give_the_same_bits_on_one_and_two_threads(null):
    """The spike-time kernels' pass, null and bootstrap (``_spikes.py``): the same bits on
    one BLAS thread and on two, as the rate kernels'."""
    ds = _spike_record()
    kw = {"kernel": "stdp", "stdp_tau": 0.05, "null": null, "n_null": 20, "decay": 0.0}
    one, two = _fit(ds, 1, **kw), _fit(ds, 2, **kw)
    assert _differing(one.result_, two.result_) == []
    assert one.result_.identical(two.result_)
