"""The estimator's memory on a calcium-sized record (probe 5 finding 1, what the reader's
fix left): the validator builds no mask or copy of the activity, and the interval Gram
matrices keep no second copy of the weights and no masked copies of them; the numbers
are the same bit for bit.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from plastix.record import SchemaError, make_record, validate_record

N_T, N_PRE, N_POST, N_WT = 6000, 200, 50, 31  # activity 12 MB in float64


def _record(seed: int = 0, *, measured: float = 0.05):
    """A calcium-like record: float activity (some NaN), a sparse list of measured synapses
    (the other weights NaN), 31 samples every 200 bins."""
    rng = np.random.default_rng(seed)
    pre = rng.standard_normal((N_T, N_PRE))
    post = rng.standard_normal((N_T, N_POST))
    pre[100:110, 3] = np.nan
    w = np.full((N_WT, N_POST, N_PRE), np.nan)
    keep = rng.random((N_POST, N_PRE)) < measured
    w[:, keep] = rng.standard_normal((N_WT, int(keep.sum())))
    t = np.arange(N_T) / 30.0
    return make_record(pre, post, w, time=t, weight_time=np.arange(N_WT) * 200 / 30.0,
                       activity_units="a.u.", activity_kind="fluorescence", decay=0.01)


def _peak(fn) -> int:
    """Bytes allocated at the peak of ``fn()`` above what was held before it."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_validate_record_builds_no_mask_of_the_activity():
    ds = _record()
    size = ds["pre_activity"].values.nbytes
    peak = _peak(lambda: validate_record(ds, stage="estimate"))
    assert peak < 0.05 * size  # was one float64 temporary of the activity's size (np.abs)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 2e9])
def test_validate_record_still_names_the_first_bad_value(bad):
    ds = _record()
    ds["pre_activity"].values[7, 11] = bad
    with pytest.raises(SchemaError, match=r"pre_activity.*index \(7, 11\)"):
        validate_record(ds, stage="estimate")


def _observed_pass(ds):
    from plastix.estimate._stats import interval_stats, layout_of

    return interval_stats(ds, layout_of(ds), kernel="product", lag=0, chunk_bins=2000,
                          keep_h=True, gram=True)


def test_gram_store_keeps_no_copy_of_the_weights_or_masked_copies():
    ds = _record()
    peak = _peak(lambda: _observed_pass(ds))
    # H (2.4 MB), [d; w; h] of the one block (3.6 MB) and a batch: 12 MB; it was 25 MB
    # with the weights copied into the store and six masked copies of them
    assert peak < 7 * ds["weight"].values.nbytes


@pytest.mark.parametrize("measured", [0.05, 1.0])
def test_gram_in_memory_equals_the_on_disk_store(tmp_path, monkeypatch, measured):
    """The in-memory store (H only, the weights read from the record) and the on-disk store
    of a streamed record (weights and H in a file) give the same Gram matrix, bit for bit,
    with masked synapses and with every synapse measured."""
    from plastix.estimate.reader import GramStore, open_record

    ds = _record(1, measured=measured)
    path = tmp_path / "rec.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    monkeypatch.setattr(GramStore, "MEMORY_BYTES", 0)  # the file store, however small
    lazy, handle = open_record(path, streaming=True)
    try:
        on_disk = _observed_pass(lazy)
    finally:
        handle.close()
    in_memory = _observed_pass(ds)
    for key in ("gram", "stats", "post_stats"):
        np.testing.assert_array_equal(in_memory[key], on_disk[key])
