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


def _observed_pass(ds, chunk_bins=2000, gram_block_rows=None):
    from plastix.estimate._stats import interval_stats, layout_of

    return interval_stats(ds, layout_of(ds), kernel="product", lag=0, chunk_bins=chunk_bins,
                          keep_h=True, gram=True, gram_block_rows=gram_block_rows)


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


# ---- a float32 ΔF/F series read into memory is kept float32 -------------------------------

SERIES = "processing/ophys/Fluorescence/RoiResponseSeries"
CA_ROWS, CA_ROIS, CA_RATE = 12_000, 60, 20.0  # 600 s at 20 Hz; 5.8 MB in float64
CA_PRE, CA_POST = list(range(40)), list(range(40, 60))
CA_FLAGS = dict(pre_activity=SERIES, post_activity=SERIES, pre_units=CA_PRE,
                post_units=CA_POST, decay=0.01)


@pytest.fixture(scope="module")
def calcium32(tmp_path_factory):
    """A 2p file: a float32 ΔF/F RoiResponseSeries (no conversion, no offset) of 60 ROIs
    (40 pre, 20 post) and weights of 80 of their 800 pairs every 30 s."""
    pytest.importorskip("pynwb")
    from nwb_builders import add_plasticity, nwbfile, write
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    rng = np.random.default_rng(3)
    nwb = nwbfile()
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="green",
                                                     emission_lambda=500.0),
        description="L2/3", device=nwb.create_device("scope"), excitation_lambda=920.0,
        imaging_rate=CA_RATE, indicator="GCaMP6f", location="CA1")
    ophys = nwb.create_processing_module("ophys", "imaging")
    seg = ImageSegmentation()
    ophys.add(seg)
    cells = seg.create_plane_segmentation("cells", plane, "PlaneSegmentation")
    for k in range(CA_ROIS):
        cells.add_roi(pixel_mask=[(k, 0, 1.0)])
    rois = cells.create_roi_table_region("rois", region=list(range(CA_ROIS)))
    data = np.maximum(rng.standard_normal((CA_ROWS, CA_ROIS)), 0).astype(np.float32) / 3
    ophys.add(Fluorescence(RoiResponseSeries(
        name="RoiResponseSeries", data=data, rois=rois, unit="n.a.", starting_time=0.0,
        rate=CA_RATE)))
    flat = rng.choice(len(CA_PRE) * len(CA_POST), 80, replace=False)
    pairs = [(CA_PRE[f % len(CA_PRE)], CA_POST[f // len(CA_PRE)]) for f in flat]
    times = np.arange(0.0, 600.0 + 1e-9, 30.0)
    add_plasticity(nwb, times, 1.0 + np.cumsum(rng.standard_normal((times.size, 80)),
                                               axis=0) * 0.1, pairs, unit="1")
    return write(nwb, tmp_path_factory.mktemp("ca32") / "ca32.nwb")


def _opened(path):
    from plastix.io.nwb import open_standard_nwb

    return open_standard_nwb(path, **CA_FLAGS)


def _loaded(path):
    from plastix.io.lazy import load_activity

    return load_activity(_opened(path))


def test_a_float32_series_is_held_float32_with_the_float64_numbers(calcium32, monkeypatch):
    """``load_activity`` (the CLI's flagged path, in memory) held the series in float64:
    twice the float32 file's numbers; it keeps them float32, the very values."""
    import plastix.io.lazy as lazy_mod
    from plastix.io.lazy import load_activity
    from plastix.io.nwb import read_standard_nwb

    monkeypatch.setattr(lazy_mod, "READ_BLOCK_BYTES", 2**16)  # blocks of 136 rows
    whole = read_standard_nwb(calcium32, **CA_FLAGS)  # float64, as before
    ds = _opened(calcium32)
    peak = _peak(lambda: load_activity(ds))
    for name in ("pre_activity", "post_activity"):
        assert ds[name].dtype == np.float32
        np.testing.assert_array_equal(ds[name].values.astype(np.float64), whole[name].values)
    size = sum(whole[n].values.nbytes for n in ("pre_activity", "post_activity"))
    assert peak < 0.75 * size  # float64: the activity and a block; float32: half


def test_the_estimate_of_a_float32_record_is_that_of_its_float64_read(calcium32):
    """Observed pass, Gram matrices, null passes and bootstrap: the same numbers bit for
    bit, each batch converted to float64 as it is multiplied."""
    from plastix.estimate import HebbianEstimator
    from plastix.io.nwb import read_standard_nwb

    kw = dict(decay=0.01, n_boot=50, n_null=4, rng=0)
    held = HebbianEstimator(**kw).fit(_loaded(calcium32))
    whole = HebbianEstimator(**kw).fit(read_standard_nwb(calcium32, **CA_FLAGS))
    assert not held.streamed_
    xr_ok = held.result_.identical(whole.result_)
    assert xr_ok, "the float32 record's result differs from the float64 record's"


@pytest.mark.parametrize("dtype", [np.float32, "file"])
def test_a_shifted_read_fills_the_callers_buffer(tmp_path, dtype):
    """A null pass's circularly shifted batch (wrapping the segment's end) is read into the
    reader's buffer (it was concatenated into a new array each batch), the same numbers."""
    from plastix.estimate.reader import ActivityRows, open_h5, open_record

    ds = _record(2)
    ref = ActivityRows(ds, "pre_activity").read_shifted(100, 700, 0, N_T, 5800)
    handle = h5 = None
    if dtype == "file":
        ds.to_netcdf(tmp_path / "rec.nc", engine="h5netcdf")
        ds, handle = open_record(tmp_path / "rec.nc", streaming=True)
        h5 = open_h5(ds)
        rows = ActivityRows(ds, "pre_activity", h5)
    else:
        ds["pre_activity"] = ds["pre_activity"].astype(np.float32).astype(np.float64)
        ref = ActivityRows(ds, "pre_activity").read_shifted(100, 700, 0, N_T, 5800)
        ds["pre_activity"] = ds["pre_activity"].astype(np.float32)
        rows = ActivityRows(ds, "pre_activity")
    try:
        out = np.empty((600, N_PRE))
        got = rows.read_shifted(100, 700, 0, N_T, 5800, out)
        assert np.shares_memory(got, out)
        np.testing.assert_array_equal(got, ref)
    finally:
        for h in (h5, handle):
            if h is not None:
                h.close()


def test_gram_store_keeps_h_only_on_the_measured_synapses():
    """H of every interval was kept on all post × pre entries for the Gram matrices
    (0.46 GB for 800 × 200 units and 360 intervals, 2000 pairs measured); only the
    entries with a finite weight at both ends of some interval enter them, so only those
    are kept (5% here): the observed pass's peak falls below the size of all of H."""
    rng = np.random.default_rng(4)
    n_wt, n_t, n_pre, n_post = 101, 4000, 200, 50  # 100 intervals of 40 bins: H 8 MB
    pre, post = rng.standard_normal((n_t, n_pre)), rng.standard_normal((n_t, n_post))
    w = np.full((n_wt, n_post, n_pre), np.nan)
    keep = rng.random((n_post, n_pre)) < 0.05
    w[:, keep] = rng.standard_normal((n_wt, int(keep.sum())))
    ds = make_record(pre, post, w, time=np.arange(n_t) / 30.0,
                     weight_time=np.arange(n_wt) * 40 / 30.0, activity_units="a.u.",
                     activity_kind="fluorescence", decay=0.01)
    h_bytes = (n_wt - 1) * n_post * n_pre * 8
    # batches of 1 interval, Gram blocks of 2 postsynaptic rows: H is what remains
    _observed_pass(ds, chunk_bins=40, gram_block_rows=2)  # imports and caches warmed
    peak = _peak(lambda: _observed_pass(ds, chunk_bins=40, gram_block_rows=2))
    assert peak < 0.75 * h_bytes  # was 1.4x (all of H, and the masked block); 0.5x


def test_the_record_digest_hashes_the_arrays_without_copying_them():
    """The null's resume key hashes the record held in memory (plastix._util.checkpoint
    .digest): each array was copied to bytes first (0.44 GB for the weights of 800 x 200
    ROIs sampled 361 times, the peak of a lab-size calcium estimate after the weight
    check); it hashes their buffers now, to the same digest."""
    import hashlib

    from plastix._util.checkpoint import digest

    a = np.random.default_rng(0).standard_normal((1000, 1000))  # 8 MB
    ref = hashlib.sha256(f"{a.dtype.str}{a.shape}|".encode() + a.tobytes()).hexdigest()
    digest(a)  # imports warmed
    assert _peak(lambda: digest(a)) < a.nbytes / 8
    assert digest(a) == ref
