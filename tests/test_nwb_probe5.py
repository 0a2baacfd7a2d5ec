"""Standard NWB reader, fifth probe: the findings of a tester's fuzzing, one test each.

Every file is built with pynwb in ``tmp_path`` (:mod:`nwb_builders`), small and fast.
"""

from __future__ import annotations

import hashlib
import shlex

import numpy as np
import pynwb
import pytest
from hdmf.common import DynamicTable
from nwb_builders import add_plasticity, add_units, nwbfile, write

from plastix._util.errors import SchemaError


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


def _advised(text: str) -> list[str]:
    """The flags of the ``plastix estimate FILE`` command an inspection prints."""
    line = next(x.strip() for x in text.splitlines() if x.strip().startswith("plastix estimate"))
    return shlex.split(line)[3:]


def _options(args: list[str]) -> dict[str, str]:
    """Reader options of advised flags (``--pre-units 3`` -> ``pre_units="3"``); each flag
    must come once."""
    flags = args[0::2]
    assert len(flags) == len(set(flags)), f"a flag given twice: {args}"
    return {f[2:].replace("-", "_"): v for f, v in zip(flags, args[1::2], strict=True)}


# ---------------------------------------------------------------- 1: channel_conversion


def _electrical(tmp_path, dtype=np.int16, offset=0.0, cc=(1.0, 4.0), stored=100):
    """Two electrodes (ids 50, 51) in one ElectricalSeries of constant ``stored`` values,
    conversion 0.01 and channel_conversion ``cc``; weights of the synapse 50 -> 51."""
    nwb = nwbfile()
    dev = nwb.create_device("amp")
    group = nwb.create_electrode_group("tetrode", "t", location="CA1", device=dev)
    for k in range(2):
        nwb.add_electrode(group=group, location="CA1", id=50 + k)
    data = np.full((100, 2), stored, dtype=dtype)
    nwb.add_acquisition(pynwb.ecephys.ElectricalSeries(
        name="rates", data=data, rate=10.0, conversion=0.01, offset=offset,
        electrodes=nwb.create_electrode_table_region([0, 1], "all"),
        channel_conversion=np.asarray(cc, dtype=np.float32)))
    add_plasticity(nwb, np.arange(10.0), np.linspace(1, 2, 10), [(50, 51)])
    return write(nwb, tmp_path / "ecephys.nwb")


ECEPHYS = dict(pre_activity="acquisition/rates", post_activity="acquisition/rates",
               pre_units="50", post_units="51")


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_channel_conversion_scales_each_column_on_every_read(tmp_path, dtype):
    """``channel_conversion`` was ignored (4.0 read as 1.0); now every reading path (whole,
    lazy rows, the estimator's streamed reads, load_activity, which keeps unscaled float32)
    gives pynwb's ``get_data_in_units``: data * conversion * channel_conversion + offset."""
    from plastix.estimate.reader import ActivityRows
    from plastix.io.lazy import load_activity
    from plastix.io.nwb import open_standard_nwb, read_standard_nwb

    path = _electrical(tmp_path, dtype=dtype, offset=0.5)
    before = _sha(path)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        truth = io.read().acquisition["rates"].get_data_in_units()
    np.testing.assert_array_equal(truth[0], [1.5, 4.5])  # the file as NWB defines it
    rec = read_standard_nwb(path, **ECEPHYS)
    # exact: the reader computes the same float64 products as pynwb
    np.testing.assert_array_equal(rec.pre_activity.values[:, 0], truth[:, 0])
    np.testing.assert_array_equal(rec.post_activity.values[:, 0], truth[:, 1])
    lazy = open_standard_nwb(path, **ECEPHYS)
    try:
        np.testing.assert_array_equal(lazy.post_activity.values[:5, 0], truth[:5, 1])
        rows = ActivityRows(lazy, "post_activity")
        out = np.empty((7, 1))
        np.testing.assert_array_equal(rows.read(3, 10, out)[:, 0], truth[3:10, 1])
        load_activity(lazy)
        assert lazy.post_activity.dtype == np.float64  # scaled: never kept as stored
        np.testing.assert_array_equal(lazy.post_activity.values[:, 0], truth[:, 1])
        np.testing.assert_array_equal(lazy.pre_activity.values[:, 0], truth[:, 0])
    finally:
        lazy.close()
    assert _sha(path) == before  # reading never writes


def test_channel_conversion_of_the_wrong_length_is_refused(tmp_path):
    """A channel_conversion that does not hold one factor per column is refused in one
    line naming the file and the series (not a numpy broadcasting error)."""
    import h5py

    from plastix.io.nwb import read_standard_nwb

    path = _electrical(tmp_path)
    with h5py.File(path, "a") as h:
        del h["acquisition/rates/channel_conversion"]
        h["acquisition/rates"].create_dataset("channel_conversion",
                                              data=np.ones(3, dtype=np.float32) * 2)
    with pytest.raises(SchemaError) as err:
        read_standard_nwb(path, **ECEPHYS)
    msg = _one_line(err)
    assert "ecephys.nwb" in msg and "'acquisition/rates'" in msg
    assert "holds 3 factors for its 2 channels" in msg and "one factor per channel" in msg


# ---------------------------------------------------------------- 3: a table in /analysis


def _analysis_tables(tmp_path):
    """Weights and their synapse table stored directly in /analysis (``add_analysis``)."""
    rng = np.random.default_rng(0)
    nwb = nwbfile()
    add_units(nwb, [(0, np.sort(rng.uniform(0, 20, 200)), "pre"),
                    (10, np.sort(rng.uniform(0, 20, 150)), "post")])
    nwb.add_analysis(pynwb.TimeSeries(name="epsp_slope", data=np.linspace(1, 2, 20), unit="mV",
                                      timestamps=np.arange(20.0)))
    syn = DynamicTable(name="synapses", description="synapse of each column")
    syn.add_column("pre_unit", "p")
    syn.add_column("post_unit", "q")
    syn.add_row(pre_unit=0, post_unit=10)
    nwb.add_analysis(syn)
    return write(nwb, tmp_path / "analysis.nwb")


@pytest.mark.parametrize("synapses", ["analysis/synapses", None])
def test_a_synapse_table_in_analysis_is_found(tmp_path, synapses):
    """A DynamicTable stored directly in /analysis was no table of the file ("Found:
    DynamicTable none"); it is read by --synapses and as the table next to the weights."""
    from plastix.io import load_record

    path = _analysis_tables(tmp_path)
    rec = load_record(path, weights="analysis/epsp_slope", synapses=synapses)
    assert rec.weight.shape == (20, 1, 1)
    assert rec.pre.values.tolist() == [0] and rec.post.values.tolist() == [10]


def test_inspect_lists_a_table_in_analysis_and_advises_it(tmp_path):
    from plastix.io import inspect_file

    text = str(inspect_file(_analysis_tables(tmp_path)))
    assert "table analysis/synapses: 1 rows, columns pre_unit, post_unit" in text
    args = _advised(text)
    assert args[args.index("--synapses") + 1] == "analysis/synapses"


# ---------------------------------------------------------------- 2: synapses as references


def _referenced_units(tmp_path, column):
    """Units 100, 101, 102 and 200 without spikes, with ``column`` (``area`` CA3/CA1 or
    ``role`` pre/post), rate series without ROI table, a synapse table whose columns are
    references to Units rows 0, 1, 2 -> 3."""
    rng = np.random.default_rng(0)
    nwb = nwbfile()
    nwb.add_unit_column(column, "where or which role")
    for u in (100, 101, 102, 200):
        nwb.add_unit(id=u, **{column: (("CA3", "CA1") if column == "area" else
                                       ("pre", "post"))[u >= 200]})
    nwb.add_acquisition(pynwb.TimeSeries(name="pre_rates", data=rng.random((400, 3)) * 10,
                                         unit="Hz", rate=20.0))
    nwb.add_acquisition(pynwb.TimeSeries(name="post_rates", data=rng.random((400, 1)) * 10,
                                         unit="Hz", rate=20.0))
    add_plasticity(nwb, np.arange(20.0), 1 + 0.01 * np.cumsum(rng.normal(size=(20, 3)), 0),
                   [(0, 3), (1, 3), (2, 3)], region=nwb.units)
    return write(nwb, tmp_path / "refs.nwb")


@pytest.mark.parametrize(("column", "pre", "post"), [("area", "area=CA3", "area=CA1"),
                                                     ("role", "100,101,102", "200")])
def test_inspect_advises_the_unit_ids_that_synapse_references_point_at(tmp_path, column, pre,
                                                                       post):
    """The synapse table's references to Units rows were advised as ids (--pre-units 0,1,2,
    row indices; the ids are 100, 101, 102) and --pre-units/--post-units came twice (a
    role split, then the series' column ids); now each flag once, ids as the reader maps
    the references, and the advised flags read the file."""
    from plastix.io import inspect_file, load_record

    path = _referenced_units(tmp_path, column)
    before = _sha(path)
    opts = _options(_advised(str(inspect_file(path))))
    assert (opts["pre_units"], opts["post_units"]) == (pre, post)
    rec = load_record(path, **opts)
    assert rec.pre.values.tolist() == [100, 101, 102] and rec.post.values.tolist() == [200]
    assert _sha(path) == before


# ---------------------------------------------------------------- 4: a usual calcium file


def _calcium(tmp_path, *, dff=True):
    """A raw TwoPhotonSeries in acquisition, processing/ophys Fluorescence (and DfOverF)
    RoiResponseSeries over a PlaneSegmentation with cell_type (ROIs 0-2 pre, 3-4 post),
    weights of the 6 synapses 0-2 -> 3-4 with a synapses table of ROI ids."""
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        RoiResponseSeries,
        TwoPhotonSeries,
    )

    rng = np.random.default_rng(0)
    nwb = nwbfile()
    device = nwb.create_device("scope")
    channel = OpticalChannel(name="g", description="g", emission_lambda=500.0)
    plane = nwb.create_imaging_plane(name="plane", optical_channel=channel, description="d",
                                     device=device, excitation_lambda=600.0, imaging_rate=20.0,
                                     indicator="GCaMP6", location="CA1")
    nwb.add_acquisition(TwoPhotonSeries(name="TwoPhotonSeries", imaging_plane=plane, rate=20.0,
                                        unit="n.a.",
                                        data=rng.random((400, 8, 8)).astype(np.float32)))
    ophys = nwb.create_processing_module("ophys", "imaging")
    seg = ImageSegmentation()
    ophys.add(seg)
    cells = seg.create_plane_segmentation("cells", plane, "PlaneSegmentation")
    cells.add_column("cell_type", "pre or post")
    for k in range(5):
        mask = np.zeros((8, 8))
        mask[k, k] = 1
        cells.add_roi(image_mask=mask, id=k, cell_type="pre" if k < 3 else "post")
    raw = rng.random((400, 5)) + 1
    ophys.add(Fluorescence(RoiResponseSeries(
        name="RoiResponseSeries", data=raw, unit="n.a.", rate=20.0,
        rois=cells.create_roi_table_region("r", region=list(range(5))))))
    if dff:
        ophys.add(DfOverF(RoiResponseSeries(
            name="RoiResponseSeries", data=raw / raw.mean(0) - 1, unit="n.a.", rate=20.0,
            rois=cells.create_roi_table_region("r2", region=list(range(5))))))
    add_plasticity(nwb, np.arange(20.0), 1 + 0.01 * rng.normal(size=(20, 6)).cumsum(0),
                   [(p, q) for q in (3, 4) for p in (0, 1, 2)])
    return write(nwb, tmp_path / "calcium.nwb")


@pytest.mark.filterwarnings("ignore:The linked table for DynamicTableRegion")
@pytest.mark.parametrize("dff", [True, False])
def test_inspect_of_a_calcium_file_advises_one_roi_series_split_by_its_table(tmp_path, dff):
    """The raw movie (TwoPhotonSeries) was advised as --pre-activity and Fluorescence as
    --post-activity, and the command failed; now never an image series: the ROI series
    (DfOverF before raw Fluorescence) for both roles, split by cell_type, and it reads."""
    from plastix.io import inspect_file, load_record

    path = _calcium(tmp_path, dff=dff)
    text = str(inspect_file(path))
    assert "TwoPhotonSeries), shape (400, 8, 8), unit 'n.a.' (images, not the activity" in text
    opts = _options(_advised(text))
    series = f"processing/ophys/{'DfOverF' if dff else 'Fluorescence'}/RoiResponseSeries"
    assert opts == {"pre_activity": series, "post_activity": series,
                    "pre_units": "cell_type=pre", "post_units": "cell_type=post"}
    rec = load_record(path, **opts)
    assert rec.pre.values.tolist() == [0, 1, 2] and rec.post.values.tolist() == [3, 4]


def test_inspect_never_advises_a_movie_whose_columns_cannot_be_units(tmp_path):
    """Only a raw movie and plain series: the series whose column count is the synapses'
    units is advised for each role, never the movie."""
    from pynwb.image import ImageSeries

    from plastix.io import inspect_file

    rng = np.random.default_rng(1)
    nwb = nwbfile()
    nwb.add_acquisition(ImageSeries(name="movie", data=rng.random((400, 4, 4)), unit="n.a.",
                                    rate=20.0))
    nwb.add_acquisition(pynwb.TimeSeries(name="rates_a", data=rng.random((400, 3)), unit="Hz",
                                         rate=20.0))
    nwb.add_acquisition(pynwb.TimeSeries(name="rates_b", data=rng.random((400, 1)), unit="Hz",
                                         rate=20.0))
    add_plasticity(nwb, np.arange(20.0), 1 + 0.01 * rng.normal(size=(20, 3)).cumsum(0),
                   [(0, 9), (1, 9), (2, 9)])
    opts = _options(_advised(str(inspect_file(write(nwb, tmp_path / "movie.nwb")))))
    assert opts == {"pre_activity": "acquisition/rates_a", "pre_units": "0,1,2",
                    "post_activity": "acquisition/rates_b", "post_units": "9"}


# ---------------------------------------------------------------- small refusals


def _spikes_file(tmp_path, name, *, units=True, weights=None, times=None, epochs=()):
    """Units 0 (pre) and 10 (post) with spikes in 0-20 s (or an empty Units table), a
    weight series of the synapse 0 -> 10 and ``epochs`` (start, stop) rows."""
    import pynwb.misc

    rng = np.random.default_rng(0)
    nwb = nwbfile()
    if units:
        add_units(nwb, [(0, np.sort(rng.uniform(0, 20, 200)), "pre"),
                        (10, np.sort(rng.uniform(0, 20, 150)), "post")])
    else:
        nwb.units = pynwb.misc.Units(name="units", description="no unit sorted")
    add_plasticity(nwb, np.arange(20.0) if times is None else times,
                   np.linspace(1, 2, 20)[:, None] if weights is None else weights, [(0, 10)])
    for start, stop in epochs:
        nwb.add_epoch(start, stop)
    return write(nwb, tmp_path / name)


REFUSALS = [
    (dict(epochs=[(0.0, 10.0), (10.5, np.nan)]),
     "row 1 of the epochs table has no stop time (stop_time is nan), so its segment has no "
     "stop. Found: 2 rows, 1 with stop_time nan. Give the row its stop time (s), or drop it, "
     "in a copy of the file, or pass --segments none (segments='none' in Python)"),
    (dict(units=False),
     "the file's Units table (0 units) is empty (no spike-sorted units), and no activity "
     "series is named for the pre and post roles. Found: an empty Units table (0 units);"),
    (dict(weights=np.zeros((0, 1)), times=np.zeros(0)),
     "the weight series 'processing/plasticity/weight' holds no sample. Found: data of shape "
     "(0, 1). Store the weight samples in it (time on the first axis), or name the series "
     "that holds them with --weights PATH"),
]


@pytest.mark.parametrize(("kw", "message"), REFUSALS, ids=["nan-stop", "empty-units",
                                                           "no-weight-sample"])
def test_refusals_name_the_file_and_what_is_missing(tmp_path, kw, message):
    """A NaN stop_time was refused as a row holding no weight sample, an empty Units table
    as no Units table, a weight series of 0 samples as an empty record without the file
    or series; each is now one line naming the file, what is missing and the fix."""
    from plastix.io import load_record

    path = _spikes_file(tmp_path, "small.nwb", **kw)
    with pytest.raises(SchemaError) as err:
        load_record(path)
    msg = _one_line(err)
    assert msg.startswith("cannot map 'small.nwb' (standard NWB) to a record: " + message), msg


def test_inspect_says_the_units_table_is_empty(tmp_path):
    from plastix.io import inspect_file

    text = str(inspect_file(_spikes_file(tmp_path, "empty.nwb", units=False)))
    assert "Units table: an empty Units table (0 units) (no spike-sorted units)" in text
