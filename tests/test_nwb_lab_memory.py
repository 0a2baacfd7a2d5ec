"""Standard NWB at lab size: a calcium series both roles take is read once, only the
columns they take, in blocks; the flagged CLI path streams over the memory budget; an
empty obs_intervals cell of a unit with spikes keeps its spikes (probe 5, findings 1, 9).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("pynwb")
from nwb_builders import add_plasticity, nwbfile, write  # noqa: E402

import plastix.io.lazy as lazy_mod  # noqa: E402
from plastix.io.nwb import open_standard_nwb, read_standard_nwb  # noqa: E402

SERIES = "processing/ophys/Fluorescence/RoiResponseSeries"
N_ROWS, N_ROIS, RATE = 20_000, 100, 20.0  # 1000 s at 20 Hz; the series 16 MB in float64
PRE, POST = [37, 5, 80, 12, 64, 3, 99, 50], [41, 7, 90, 23]  # unsorted, as a lab types them
CONVERSION, OFFSET = 0.5, 0.25
FLAGS = dict(pre_activity=SERIES, post_activity=SERIES, pre_units=PRE, post_units=POST)


@pytest.fixture(scope="module")
def calcium_file(tmp_path_factory):
    """A 2p file: one float32 RoiResponseSeries of 100 ROIs (ids 0-99, scaled by
    conversion and offset), weights of 8 pre -> 4 post pairs every 50 s, and two epochs
    with a gap (200 s left out), so the rows read are not one run."""
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    rng = np.random.default_rng(5)
    nwb = nwbfile()
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="green",
                                                     emission_lambda=500.0),
        description="L2/3", device=nwb.create_device("scope"), excitation_lambda=920.0,
        imaging_rate=RATE, indicator="GCaMP6f", location="CA1")
    ophys = nwb.create_processing_module("ophys", "imaging")
    seg = ImageSegmentation()
    ophys.add(seg)
    cells = seg.create_plane_segmentation("cells", plane, "PlaneSegmentation")
    for k in range(N_ROIS):
        cells.add_roi(pixel_mask=[(k, 0, 1.0)])
    rois = cells.create_roi_table_region("rois", region=list(range(N_ROIS)))
    data = rng.standard_normal((N_ROWS, N_ROIS)).astype(np.float32)
    ophys.add(Fluorescence(RoiResponseSeries(
        name="RoiResponseSeries", data=data, rois=rois, unit="a.u.", starting_time=0.0,
        rate=RATE, conversion=CONVERSION, offset=OFFSET)))
    pairs = [(p, q) for p, q in zip(PRE, POST * 2, strict=True)]
    times = np.arange(0.0, 1000.0, 50.0)
    add_plasticity(nwb, times, 1.0 + np.cumsum(rng.standard_normal((times.size, len(pairs))),
                                               axis=0) * 0.1, pairs)
    nwb.add_epoch(0.0, 400.0)
    nwb.add_epoch(600.0, 1000.0)
    return write(nwb, tmp_path_factory.mktemp("lab") / "calcium.nwb")


def _old_read(path, ds, units):
    """The earlier reader's values: the whole series in float64, scaled, then the columns
    picked (``series_values`` then ``values[:, pick]``) and the epochs' rows kept."""
    import h5py

    with h5py.File(path, "r") as f:
        whole = np.asarray(f[SERIES]["data"][:], dtype=float)
    whole = whole * CONVERSION + OFFSET
    rows = np.round(ds["time"].values * RATE).astype(np.int64)
    return whole[rows][:, units]


def test_a_shared_series_reads_the_very_numbers_of_a_whole_read(calcium_file, monkeypatch):
    """Read once, in blocks, only the columns taken: bit for bit the earlier whole read;
    so is the lazily opened record, read whole or by rows across the blocks."""
    ds = read_standard_nwb(calcium_file, **FLAGS)
    assert ds.sizes["time"] == 16_001  # [0, 400] and [600, 1000] s: the gap left out
    assert_array_equal(ds["pre_activity"].values, _old_read(calcium_file, ds, PRE))
    assert_array_equal(ds["post_activity"].values, _old_read(calcium_file, ds, POST))
    monkeypatch.setattr(lazy_mod, "READ_BLOCK_BYTES", 8 * 12 * 37)  # blocks of 37 rows
    lazy = open_standard_nwb(calcium_file, **FLAGS)
    try:
        xr.testing.assert_identical(lazy["pre_activity"][7_990:8_010].load(),
                                    ds["pre_activity"][7_990:8_010])  # across the gap
        xr.testing.assert_identical(lazy_mod.load_activity(lazy), ds)
    finally:
        lazy.close()


def test_a_shared_series_is_read_once_and_only_its_columns(calcium_file, monkeypatch):
    """Memory traced while the record is read, in float64 copies of the selected columns
    (12 of 100: the record's activity, 1.5 MiB), read in blocks of 256 KiB.  Measured
    (2026-12-03): the earlier reader 22.1 (the whole series as float32 and float64, once
    per role); this one 3.2 (the record, 1.6 held at the end, and the record checks'
    temporaries; the whole series in float64 would be 10.5 alone)."""
    rows_read = []
    block = getattr(lazy_mod, "_stored_block", None)

    def spy(view, lo, hi, take):
        if view._n_cols == N_ROIS:  # the activity series (not the weights)
            rows_read.append(hi - lo)
        return block(view, lo, hi, take)

    read_standard_nwb(calcium_file, **FLAGS)  # caches warmed
    monkeypatch.setattr(lazy_mod, "READ_BLOCK_BYTES", 2**18, raising=False)
    monkeypatch.setattr(lazy_mod, "_stored_block", spy, raising=False)
    tracemalloc.start()
    try:
        ds = read_standard_nwb(calcium_file, **FLAGS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    selected = ds.sizes["time"] * (len(PRE) + len(POST)) * 8
    assert peak / selected < 4.0, (
        f"peak {peak / 2**20:.1f} MiB for {selected / 2**20:.1f} MiB of selected activity "
        f"(the whole series in float64 is {N_ROWS * N_ROIS * 8 / 2**20:.1f} MiB)")
    assert len(rows_read) > 1 and sum(rows_read) <= N_ROWS, (
        f"rows of the series read: {sum(rows_read)} in {len(rows_read)} blocks; each of its "
        f"{N_ROWS} rows once at most, in blocks")


@pytest.mark.parametrize("over_budget", [False, True], ids=["in-memory", "streamed"])
def test_flagged_estimate_streams_only_over_the_memory_budget(calcium_file, monkeypatch,
                                                              over_budget):
    """``plastix estimate FILE --pre-activity S ...`` (reader flags) was always read whole;
    it now streams when the activity exceeds the budget, as a file without flags does, and
    reads whole (the very fit of the record read whole) when it does not."""
    import plastix.estimate.reader as reader
    from plastix.cli import build_parser
    from plastix.cli.estimate import fit_file
    from plastix.estimate import HebbianEstimator

    argv = ["estimate", str(calcium_file), "--pre-activity", SERIES, "--post-activity",
            SERIES, "--pre-units", ",".join(map(str, PRE)), "--post-units",
            ",".join(map(str, POST)), "--decay", "0.01", "--n-boot", "20", "--n-null", "0"]
    args = build_parser().parse_args(argv)
    args.file, args.kernel = args.file[0], "product"
    activity = 16_001 * (len(PRE) + len(POST)) * 8
    budget = activity - 1 if over_budget else activity
    monkeypatch.setattr(reader, "memory_budget", lambda memory=None: budget)
    est = fit_file(args)
    assert est.streamed_ is over_budget
    whole = HebbianEstimator(decay=0.01, n_boot=20, n_null=0, rng=0).fit(
        read_standard_nwb(calcium_file, **FLAGS))
    assert not whole.streamed_
    if over_budget:  # sums in another order: 1e-10 relative
        assert_allclose(est.alignment_, whole.alignment_, rtol=1e-10)
    else:
        assert est.alignment_ == whole.alignment_


def _spike_file(path, *, empty_has_spikes: bool):
    """Units 0-2 pre, 3-4 post, over 20 s; unit 1's obs_intervals cell is empty (with or
    without spikes), the others observed throughout."""
    rng = np.random.default_rng(2)
    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    for u in range(5):
        train = np.sort(rng.uniform(0.0, 20.0, 200))
        if u == 1 and not empty_has_spikes:
            train = np.zeros(0)
        nwb.add_unit(spike_times=train, id=u, role="pre" if u < 3 else "post",
                     obs_intervals=np.zeros((0, 2)) if u == 1 else [[0.0, 20.0]])
    pairs = [(p, q) for q in (3, 4) for p in range(3)]
    add_plasticity(nwb, np.arange(0.0, 20.0, 1.0),
                   1.0 + np.cumsum(rng.standard_normal((20, len(pairs))), axis=0) * 0.1, pairs)
    return write(nwb, path)


def test_an_empty_obs_intervals_cell_of_a_unit_with_spikes_keeps_them(tmp_path):
    """pynwb cannot leave obs_intervals out for some units only, so an empty cell is how a
    lab writes 'not given': unit 1's 200 spikes were all dropped (NaN activity) with a
    warning that the intervals 'miss the record'; now they are kept, and one line says so,
    with the count and how to store the intervals instead."""
    path = _spike_file(tmp_path / "empty.nwb", empty_has_spikes=True)
    with pytest.warns(UserWarning) as seen:
        ds = read_standard_nwb(path, bin_size=0.1)
    text = [str(w.message) for w in seen if "obs_intervals" in str(w.message)]
    assert len(text) == 1 and "\n" not in text[0]
    assert ("unit(s) 1 (200 spikes) have spikes but an empty obs_intervals cell" in text[0]
            and "reads them as observed throughout and keeps their spikes" in text[0]
            and "store those intervals in their obs_intervals cells" in text[0]), text[0]
    unit1 = ds["pre_activity"].values[:, 1]
    assert not np.isnan(unit1).any()
    assert_allclose(unit1.sum() * 0.1, 200)  # every spike counted (Hz x 0.1 s bins)


def test_an_empty_obs_intervals_cell_of_a_unit_without_spikes_stays_unobserved(tmp_path):
    """Without spikes the empty cell means what NWB says, never observed: NaN activity,
    and the warning says that the cell is empty and the unit has no spikes."""
    path = _spike_file(tmp_path / "silent.nwb", empty_has_spikes=False)
    with pytest.warns(UserWarning, match=r"the obs_intervals of unit\(s\) 1 miss the record "
                      r"\(.*\) altogether \(unit\(s\) 1 have an empty obs_intervals cell and "
                      r"no spikes\): their activity is NaN"):
        ds = read_standard_nwb(path, bin_size=0.1)
    assert np.isnan(ds["pre_activity"].values[:, 1]).all()
    assert not np.isnan(ds["pre_activity"].values[:, [0, 2]]).any()
