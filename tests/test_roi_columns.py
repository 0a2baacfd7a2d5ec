"""``--pre-units COLUMN=VALUE`` on a calcium-imaging NWB file (probe 5, finding 8): the
filter reads the columns of the ROI table (a ``PlaneSegmentation``) behind the activity
series' ``rois`` region, which has no Units table to read them from."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from plastix._util.errors import SchemaError
from plastix.io import load_record

pynwb = pytest.importorskip("pynwb")

sys.path.insert(0, str(Path(__file__).parent))
from nwb_builders import add_plasticity, nwbfile, write  # noqa: E402

DFF = "processing/ophys/DfOverF/RoiResponseSeries"
IDS = [100, 101, 102, 103, 104, 105, 106, 107]  # the ROI table's ids, one per row
CELL_TYPE = ["pre", "pre", "post", "pre", "post", "glia", "pre", "post"]
PRESYN = [t == "pre" for t in CELL_TYPE]
LAYER = [2, 3, 5, 2, 5, 1, 3, 6]
REGION = [6, 2, 0, 4, 3, 7]  # rows the series holds, shuffled; rows 1 and 5 left out


def _calcium(tmp_path, region=REGION):
    """Eight ROIs (ids 100-107) with columns cell_type, presyn (bool) and layer (int), a
    ΔF/F series over the table rows ``region`` (in that order), and the weights of two
    synapses, 106 -> 102 and 100 -> 104."""
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = nwbfile()
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="GCaMP",
                                                     emission_lambda=510.0),
        description="L2/3", device=nwb.create_device(name="2p"), excitation_lambda=920.0,
        imaging_rate=10.0, indicator="GCaMP6f", location="V1")
    seg = ImageSegmentation()
    ps = seg.create_plane_segmentation(name="cells", description="somata", imaging_plane=plane)
    ps.add_column("cell_type", "pre or post")
    ps.add_column("presyn", "whether the cell is presynaptic")
    ps.add_column("layer", "cortical layer")
    for k, uid in enumerate(IDS):
        mask = np.zeros((8, 8))
        mask[k, k] = 1.0
        ps.add_roi(image_mask=mask, id=uid, cell_type=CELL_TYPE[k], presyn=PRESYN[k],
                   layer=LAYER[k])
    ophys = nwb.create_processing_module("ophys", "calcium imaging")
    ophys.add(seg)
    dfof = DfOverF()
    ophys.add(dfof)
    data = np.random.default_rng(0).random((40, len(region)))
    dfof.add_roi_response_series(RoiResponseSeries(
        name="RoiResponseSeries", data=data, unit="n.a.", rate=10.0,
        rois=ps.create_roi_table_region(region=list(region), description="some cells")))
    add_plasticity(nwb, [0.0, 1.0, 2.0], np.array([[1.0, 2.0], [1.1, 2.1], [1.3, 2.2]]),
                   [(106, 102), (100, 104)])
    return write(nwb, tmp_path / "ca.nwb"), data


def _read(path, pre, post):
    return load_record(path, pre_activity=DFF, post_activity=DFF, pre_units=pre,
                       post_units=post)


def test_cell_type_selects_the_rois_the_equivalent_ids_do(tmp_path):
    path, data = _calcium(tmp_path)
    by_col = _read(path, "cell_type=pre", "cell_type=post")
    # the series' ROIs in region order: 106 (pre), 102 (post), 100 (pre), 104 (post),
    # 103 (pre), 107 (post); 101 (pre) is in the table but not in the series
    by_ids = _read(path, "106,100,103", [102, 104, 107])
    for ds in (by_col, by_ids):
        assert_array_equal(ds["pre"].values, [106, 100, 103])
        assert_array_equal(ds["post"].values, [102, 104, 107])
        assert_array_equal(ds["pre_activity"].values, data[:, [0, 2, 4]])
        assert_array_equal(ds["post_activity"].values, data[:, [1, 3, 5]])
    assert by_col.equals(by_ids)


def test_several_values_not_equal_and_numbers_as_for_units(tmp_path):
    path, data = _calcium(tmp_path)
    for pre, post in (("cell_type=pre,glia", "cell_type!=pre"), ("layer<4", "layer>=5"),
                      ("layer=2.0,3", "layer=5,6")):  # 2.0 names the int 2, as for Units
        ds = _read(path, pre, post)
        assert_array_equal(ds["pre"].values, [106, 100, 103])
        assert_array_equal(ds["post"].values, [102, 104, 107])
        assert_array_equal(ds["post_activity"].values, data[:, [1, 3, 5]])


@pytest.mark.parametrize("yes,no", [("true", "false"), ("True", "FALSE"), ("1", "0")])
def test_a_boolean_column_selects_by_true_and_false(yes, no, tmp_path):
    path, data = _calcium(tmp_path)
    ds = _read(path, f"presyn={yes}", f"presyn={no}")
    assert_array_equal(ds["pre"].values, [106, 100, 103])
    assert_array_equal(ds["post"].values, [102, 104, 107])
    assert_array_equal(ds["pre_activity"].values, data[:, [0, 2, 4]])


def test_a_region_over_every_row_in_table_order(tmp_path):
    path, data = _calcium(tmp_path, region=range(8))
    ds = _read(path, "cell_type=pre", "presyn=false")
    assert_array_equal(ds["pre"].values, [100, 101, 103, 106])
    assert_array_equal(ds["post"].values, [102, 104, 105, 107])
    assert_array_equal(ds["post_activity"].values, data[:, [2, 4, 5, 7]])


def _refusal(path, pre, post="cell_type=post") -> str:
    with pytest.raises(SchemaError) as err:
        _read(path, pre, post)
    line = str(err.value)
    assert "\n" not in line and "ca.nwb" in line and DFF in line, line
    assert "Units table" not in line, line
    return line


def test_a_column_the_roi_table_lacks_is_refused_naming_its_columns(tmp_path):
    path, _ = _calcium(tmp_path)
    line = _refusal(path, "cell_typ=pre")
    assert ("`pre_units` selects ROIs by column 'cell_typ', which the ROI table 'cells' of "
            f"the pre activity series {DFF!r} does not have (did you mean 'cell_type'?)") \
        in line, line
    assert "its columns: cell_type, presyn, layer" in line, line
    assert ("Name one of them in --pre-units COLUMN=VALUE, or the ROIs by id (--pre-units "
            "100,102-104,106,107)") in line, line


def test_a_value_no_roi_has_is_refused_listing_the_values(tmp_path):
    path, _ = _calcium(tmp_path)
    line = _refusal(path, "cell_type=Pre-synaptic")
    assert ("`pre_units` selects ROIs with cell_type == 'Pre-synaptic', which no row of the "
            f"ROI table 'cells' of the pre activity series {DFF!r} has. Found: column "
            "'cell_type' with values 'glia', 'post', 'pre'. Choose one of these values: "
            "--pre-units cell_type=VALUE") in line, line


def test_a_selection_that_leaves_no_roi_of_the_series_is_refused(tmp_path):
    path, _ = _calcium(tmp_path)
    line = _refusal(path, "cell_type=glia")  # row 5, which the series does not hold
    assert (f"`pre_units` selects ROIs with cell_type == 'glia', and that is none of the 6 "
            f"ROIs of the pre activity series {DFF!r}") in line, line
    assert ("ids 106, 102, 100, 104, 103, 107 with cell_type values 'post', 'pre'; the rows "
            "of the table that have it are not in the series: ids 105") in line, line
    line = _refusal(path, "layer<1")
    assert "selects ROIs with layer < 1, and that is none of the 6 ROIs" in line, line
    assert ("with layer values '2', '3', '5', '6'. Choose one of their values (--pre-units "
            "layer=VALUE), or name the ROIs by id (--pre-units 100,102-104,106,107)") in line, line


def test_units_path_is_unchanged_for_spike_files(tmp_path):
    """A spike file keeps the Units table's refusal."""
    nwb = nwbfile()
    nwb.add_unit_column("location", "where")
    for uid, loc in ((1, "CA3"), (2, "CA1")):
        nwb.add_unit(spike_times=np.arange(0.0, 3.0, 0.1), id=uid, location=loc)
    add_plasticity(nwb, [0.0, 1.0, 2.0], np.array([[1.0], [1.1], [1.3]]), [(1, 2)])
    path = write(nwb, tmp_path / "spikes.nwb")
    with pytest.raises(SchemaError, match="`pre_units` selects units by column 'cell_type', "
                                          "which the Units table does not have"):
        load_record(path, pre_units="cell_type=pre", post_units="location=CA1")


def test_electrodes_of_an_electrical_series_are_selected_by_their_columns(tmp_path):
    """The same for the ``electrodes`` region of an ``ElectricalSeries``: ``location`` and
    ``group`` (an ElectrodeGroup, read as its name, as for Units) select its channels."""
    from pynwb.ecephys import ElectricalSeries

    nwb = nwbfile()
    dev = nwb.create_device(name="probe")
    groups = {loc: nwb.create_electrode_group(name=f"shank-{loc}", description="shank",
                                              location=loc, device=dev)
              for loc in ("CA3", "CA1")}
    for loc in ("CA3", "CA3", "CA1", "CA1"):
        nwb.add_electrode(group=groups[loc], location=loc)
    data = np.random.default_rng(1).random((40, 4))
    region = nwb.create_electrode_table_region([3, 0, 2, 1], "the channels, shuffled")
    nwb.add_acquisition(ElectricalSeries(name="lfp", data=data, electrodes=region, rate=10.0))
    add_plasticity(nwb, [0.0, 1.0, 2.0], np.array([[1.0], [1.1], [1.3]]), [(0, 3)])
    path = write(nwb, tmp_path / "lfp.nwb")
    for pre, post in (("location=CA3", "location=CA1"), ("group=shank-CA3", "group!=shank-CA3"),
                      ("0,1", "3,2")):
        ds = load_record(path, pre_activity="lfp", post_activity="lfp", pre_units=pre,
                         post_units=post)
        assert_array_equal(ds["pre"].values, [0, 1])
        assert_array_equal(ds["post"].values, [3, 2])
        assert_array_equal(ds["pre_activity"].values, data[:, [1, 3]])
    with pytest.raises(SchemaError, match=r"`post_units` selects electrodes with location == "
                                          r"'CA2', which no row of the electrode table "
                                          r"'electrodes' of the post activity series "
                                          r"'acquisition/lfp' has. Found: column 'location' "
                                          r"with values 'CA1', 'CA3'"):
        load_record(path, pre_activity="lfp", post_activity="lfp", pre_units="location=CA3",
                    post_units="location=CA2")


def test_inspect_keeps_a_filter_the_roi_table_resolves(tmp_path):
    """inspect given ``--pre-units cell_type=pre`` on a calcium file keeps the filter in the
    command it prints (it used to replace it by the synapse table's ids, dropping ROI 103
    and 107 the filter selects) and does not call it a Units-table column."""
    from plastix.io.inspection import inspect_file

    path, _ = _calcium(tmp_path)
    ins = inspect_file(path, pre_activity=DFF, post_activity=DFF, pre_units="cell_type=pre",
                       post_units="cell_type=post")
    text = str(ins)
    assert "--pre-units cell_type=pre" in text and "--post-units cell_type=post" in text, text
    assert "Units table (or of its electrodes)" not in text, text
    assert "--pre-units 100,106" not in text, text


def test_inspect_advises_the_roi_tables_role_column(tmp_path):
    """A series holding both roles: inspect advises the ROI table's cell_type (pre/post),
    which the synapse table agrees with, rather than only the synapses' own ids (100,106
    and 102,104), which leave out ROIs 103 and 107."""
    from plastix.io.inspection import inspect_file

    path, _ = _calcium(tmp_path)
    text = str(inspect_file(path, pre_activity=DFF, post_activity=DFF))
    assert "--pre-units cell_type=pre --post-units cell_type=post" in text, text
    assert "the ROI/electrode table's column 'cell_type' says which units are pre" in text, text
    assert "(3 x 3, not 6 x 6)" in text, text
