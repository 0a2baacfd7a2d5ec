"""The estimator's memory budget: what is streamed, and streaming compressed NetCDF."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from plastix._util.validate import available_memory
from plastix.estimate import HebbianEstimator
from plastix.estimate.reader import activity_bytes, memory_budget
from plastix.record import make_record


def _sparse_record(rng, n_bins=4000, n_pre=8, n_post=5, bins_per_interval=40):
    """Spike counts (mostly zeros: they compress well) and drifting weights."""
    pre = rng.poisson(0.1, (n_bins, n_pre)).astype(float)
    post = rng.poisson(0.1, (n_bins, n_post)).astype(float)
    n_w = n_bins // bins_per_interval + 1
    w = np.cumsum(rng.standard_normal((n_w, n_post, n_pre)) * 0.1, axis=0)
    w[4, 1, 2] = np.nan  # one synapse unmeasured at one sample
    pre[123, 3] = np.nan  # one unit not recorded for one bin
    dt = 1e-3
    return make_record(pre, post, w, time=np.arange(n_bins) * dt,
                       weight_time=np.arange(n_w) * bins_per_interval * dt, dt=dt)


def _write_compressed(rec, path, chunk_rows=7):
    """NetCDF-4 with zlib-compressed activity in chunks of ``chunk_rows`` bins."""
    enc = {name: {"zlib": True, "complevel": 4, "chunksizes": (chunk_rows, rec.sizes[dim])}
           for name, dim in (("pre_activity", "pre"), ("post_activity", "post"))}
    rec.to_netcdf(path, engine="h5netcdf", encoding=enc)
    return path


def test_memory_budget_sizes():
    assert memory_budget("2GiB") == 2 * 2**30
    assert memory_budget("512MB") == 512 * 10**6
    assert memory_budget(" 3 kib ") == 3 * 1024
    assert memory_budget("1.5e3") == 1500
    assert memory_budget(4096) == 4096
    assert 1 <= memory_budget() <= available_memory()


def test_compressed_netcdf_streams_like_in_memory(tmp_path, rng):
    """Chunk by chunk from zlib-compressed NetCDF (chunks of 7 bins, batches of 13: every
    read crosses chunk boundaries) gives the in-memory numbers to float64 rounding
    (sums in another order: 1e-10 relative)."""
    import h5py

    rec = _sparse_record(rng)
    path = _write_compressed(rec, tmp_path / "rec.nc")
    with h5py.File(path, "r") as f:
        assert f["pre_activity"].compression == "gzip"
    _assert_streams_like_in_memory(path, rec)


def test_streaming_follows_the_activity_size_not_the_file_size(tmp_path, rng):
    rec = _sparse_record(rng)
    path = _write_compressed(rec, tmp_path / "rec.nc", chunk_rows=500)
    activity = activity_bytes(path)
    assert activity == rec.sizes["time"] * (rec.sizes["pre"] + rec.sizes["post"]) * 8
    on_disk = path.stat().st_size
    assert on_disk < activity // 2, "the test needs a file much smaller than its activity"
    kw = dict(decay=1.0, n_boot=5, n_null=0, rng=0)

    def streamed(**more):
        return HebbianEstimator(**kw, **more).fit(path).streamed_

    # a budget between the file's size and the activity's: the activity decides
    assert streamed(memory=(on_disk + activity) // 2)
    assert streamed(memory=activity - 1)
    assert not streamed(memory=activity)
    assert not streamed()  # the default budget: a quarter of the available memory
    assert streamed(streaming=True, memory="1TiB")
    assert not streamed(streaming=False, memory=1)


@pytest.mark.parametrize("bad", ["2 lightyears", "GiB", "-1MB", "nan"])
def test_memory_budget_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="`memory` must be"):
        memory_budget(bad)


def test_a_small_budget_reads_less_at_once_with_the_same_numbers(tmp_path, rng):
    """Streaming under a budget of a few KiB shrinks the batches and the Gram blocks;
    the numbers stay those of the in-memory fit (1e-10 relative: sums in another order)."""
    import xarray as xr

    from plastix.estimate._stats import layout_of
    from plastix.estimate.reader import stream_limits

    rec = _sparse_record(rng)
    path = _write_compressed(rec, tmp_path / "rec.nc", chunk_rows=64)
    lay = layout_of(rec)
    assert stream_limits(rec, lay, "1KiB") == (max(1, (1 << 22) // 13), None)  # in memory
    with xr.open_dataset(path, engine="h5netcdf") as lazy:
        chunk, rows = stream_limits(lazy, lay, "16KiB")
    assert chunk == 16 * 1024 // 16 // (8 * 13) and rows == 1
    kw = dict(decay=1.0, n_boot=100, n_null=0, rng=3)
    mem = HebbianEstimator(**kw).fit(rec)
    disk = HebbianEstimator(memory="16KiB", **kw).fit(path)
    assert disk.streamed_
    for name in ("alignment_", "pooled_", "emergent_prediction_", "stationarity_gap_"):
        assert_allclose(getattr(disk, name), getattr(mem, name), rtol=1e-10, err_msg=name)
    assert_allclose(disk.per_interval_.values, mem.per_interval_.values, rtol=1e-10)


def _two_segment_record(rng, n_bins=2000, bins_per_interval=40):
    """:func:`_sparse_record` cut into two segments (time restarts in the second)."""
    rec = _sparse_record(rng, n_bins=n_bins, bins_per_interval=bins_per_interval)
    half, n_w = n_bins // 2, rec.sizes["weight_time"]
    seg = (np.arange(n_bins) >= half).astype(np.int64)
    wseg = (np.arange(n_w) * bins_per_interval >= half).astype(np.int64)
    return make_record(rec["pre_activity"].values, rec["post_activity"].values,
                       rec["weight"].values, time=rec["time"].values,
                       weight_time=rec["weight_time"].values, dt=float(rec.attrs["dt"]),
                       segment=seg, weight_segment=wseg)


def _save(rec, path, **options):
    from plastix.io import save_record

    save_record(rec, path, **options)
    return path


_LAZY_FILES = [("rec.nix", {}), ("rec.nwb", {"nwb_style": "standard"}), ("rec.nwb", {})]
_LAZY_IDS = ["nix", "nwb-standard", "nwb-neo"]


@pytest.mark.parametrize(("name", "options"), _LAZY_FILES, ids=_LAZY_IDS)
def test_nix_and_nwb_open_lazily_as_the_record_they_hold(tmp_path, rng, name, options):
    import xarray as xr

    from plastix.io import load_record, open_record

    path = _save(_two_segment_record(rng), tmp_path / name, **options)
    lazy = open_record(path)
    try:
        assert not any(lazy[v].variable._in_memory for v in ("pre_activity", "post_activity"))
        xr.testing.assert_identical(lazy["post_activity"][995:1010].load(),
                                    load_record(path)["post_activity"][995:1010])
        xr.testing.assert_identical(lazy.load(), load_record(path))
    finally:
        lazy.close()


@pytest.mark.parametrize(("name", "options"), _LAZY_FILES, ids=_LAZY_IDS)
def test_nix_and_nwb_stream_like_in_memory(tmp_path, rng, name, options):
    """A budget far below the activity streams NIX and standard NWB files (batches of 13
    bins cross the segment boundary); the numbers are those of the in-memory fit."""
    rec = _two_segment_record(rng)
    path = _save(rec, tmp_path / name, **options)
    _assert_streams_like_in_memory(path, path)


@pytest.mark.parametrize(("name", "options"), _LAZY_FILES, ids=_LAZY_IDS)
def test_nix_and_nwb_streaming_follows_the_activity_size(tmp_path, rng, name, options):
    rec = _two_segment_record(rng)
    path = _save(rec, tmp_path / name, **options)
    activity = activity_bytes(path)
    assert activity == rec.sizes["time"] * (rec.sizes["pre"] + rec.sizes["post"]) * 8
    kw = dict(decay=1.0, n_boot=5, n_null=0, rng=0)

    def streamed(**more):
        return HebbianEstimator(**kw, **more).fit(path).streamed_

    assert streamed(memory=activity - 1)
    assert not streamed(memory=activity)
    assert not streamed()
    assert not streamed(streaming=False, memory=1)


def test_nix_rate_channels_are_read_without_a_chunk_cache(tmp_path, rng):
    """A NIX file holds one dataset per channel and segment: with HDF5's default chunk
    cache (1 MiB each) reading every row kept the whole activity cached."""
    from plastix.io import open_record
    from plastix.io.lazy import Columns

    path = _save(_two_segment_record(rng), tmp_path / "rec.nix")
    ds = open_record(path)
    try:
        stack = ds["pre_activity"].variable._data.array
        columns = [p[0] for p in stack.pieces]
        assert columns and all(isinstance(c, Columns) for c in columns)
        for c in columns:
            for dset in c.columns:
                assert dset.id.get_access_plist().get_chunk_cache()[:2] == (0, 0)
    finally:
        ds.close()


def _assert_streams_like_in_memory(path, source):
    """A fit of ``path`` streamed under a tiny budget (batches of 13 bins) gives the numbers
    of the in-memory fit of ``source`` (the record, or the same path)."""
    kw = dict(decay=1.0, n_boot=200, n_null=2, rng=3)
    mem = HebbianEstimator(**kw).fit(source)
    disk = HebbianEstimator(memory="1KiB", chunk_bins=13, **kw).fit(path)
    assert disk.streamed_ and not mem.streamed_
    _assert_same_fit(disk, mem)


def _assert_same_fit(disk, mem):
    """The streamed fit ``disk`` equals the in-memory fit ``mem`` (every printed number)."""
    for attr in ("alignment_", "pooled_", "emergent_prediction_", "stationarity_gap_",
                 "p_value_"):
        assert_allclose(getattr(disk, attr), getattr(mem, attr), rtol=1e-10, err_msg=attr)
    assert_allclose(disk.ci_, mem.ci_, rtol=1e-10)
    assert_allclose(disk.per_interval_.values, mem.per_interval_.values, rtol=1e-10)
    assert_allclose(disk.per_post_.values, mem.per_post_.values, rtol=1e-10)
    assert disk.verdict_ == mem.verdict_


def _spike_only_nwb(path, rng):
    """A lab's spike-only standard NWB file (pynwb calls): 6 pre and 3 post units at
    about 20 Hz, two epochs (the first 10.004 s long, so its last 10 ms bin overhangs
    into the second) and one unit observed on part of the session only."""
    pytest.importorskip("pynwb")
    from nwb_builders import add_plasticity, nwbfile, write

    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    for u in range(9):
        train = np.sort(rng.uniform(0.0, 20.0, 400))
        observed = [[0.0, 6.0], [9.0, 20.0]] if u == 1 else [[0.0, 20.0]]
        nwb.add_unit(spike_times=train, id=u, role="pre" if u < 6 else "post",
                     obs_intervals=observed)
    pairs = [(p, q) for q in range(6, 9) for p in range(6)]
    add_plasticity(nwb, np.arange(0.0, 20.0, 0.5),
                   1.0 + np.cumsum(rng.standard_normal((40, len(pairs))) * 0.1, axis=0), pairs)
    nwb.add_epoch(0.0, 10.004)
    nwb.add_epoch(10.004, 20.0)
    return write(nwb, path)


def test_spike_only_nwb_is_binned_when_read_and_streams_like_in_memory(tmp_path, rng):
    """Spikes binned lazily (a batch of rows at a time) give the very record and the very
    fit of binning them whole: an hour of a lab's units streams in the memory of its
    spikes, not of its (bins x units) rates."""
    import xarray as xr

    from plastix.io import load_record, open_record

    path = _spike_only_nwb(tmp_path / "spikes.nwb", rng)
    whole = load_record(path)
    assert np.isnan(whole["pre_activity"].values[:, 1]).any()  # the unobserved stretch
    lazy = open_record(path)
    try:
        assert not any(lazy[v].variable._in_memory for v in ("pre_activity", "post_activity"))
        xr.testing.assert_identical(lazy["pre_activity"][995:1010].load(),
                                    whole["pre_activity"][995:1010])
        xr.testing.assert_identical(lazy.load(), whole)
    finally:
        lazy.close()
    _assert_streams_like_in_memory(path, path)


def test_weights_inferred_from_a_lazily_opened_file_leave_the_activity_in_it(tmp_path, rng):
    """open_record with reader options opens a standard NWB file lazily; infer_weights
    carries the unread activity over, and the inferred record, read whole, is the one
    inferred from the file read whole."""
    import xarray as xr

    from plastix.estimate import infer_weights
    from plastix.io import load_record, open_record

    path = _spike_only_nwb(tmp_path / "spikes.nwb", rng)
    lazy = open_record(path, weights_from="spikes", bin_size=0.02)
    try:
        out = infer_weights(lazy, window=4.0)
        assert not any(out[v].variable._in_memory for v in ("pre_activity", "post_activity"))
        whole = infer_weights(load_record(path, weights_from="spikes", bin_size=0.02), window=4.0)
        xr.testing.assert_identical(out.load(), whole)
    finally:
        lazy.close()
