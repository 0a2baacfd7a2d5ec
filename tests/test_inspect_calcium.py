"""``plastix inspect`` on calcium-imaging NWB files and synapse tables of any spelling
(probe 5, findings 8 and 11): the role split the synapse table gives, as id ranges."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hdmf.common import DynamicTable

from plastix.io import inspect_file
from plastix.io.unit_select import parse_units

sys.path.insert(0, str(Path(__file__).parent))
from nwb_builders import nwbfile, roi_series, write  # noqa: E402

DFF = "processing/ophys/Fluorescence/RoiResponseSeries"
PAIRS = [(0, 5), (1, 5), (2, 6), (2, 5), (4, 6)]  # ROIs 0-2,4 pre; 5,6 post; 3 in none


def _plasticity(nwb, pairs, pre="pre_unit", post="post_unit"):
    """A ``plasticity`` module: weights every 1 s for 10 s and a synapse table whose
    columns are spelt ``pre`` / ``post``."""
    import pynwb

    mod = nwb.create_processing_module("plasticity", "measured synaptic efficacies")
    w = 1.0 + 0.01 * np.arange(11.0)[:, None] * np.ones(len(pairs))
    mod.add(pynwb.TimeSeries(name="weight", data=w, unit="mV", timestamps=np.arange(11.0)))
    syn = DynamicTable(name="synapses", description="the synapse of each weight column")
    syn.add_column(pre, "presynaptic unit")
    syn.add_column(post, "postsynaptic unit")
    for a, b in pairs:
        syn.add_row(**{pre: a, post: b})
    mod.add(syn)


def _calcium(tmp_path, pre="pre_unit", post="post_unit"):
    """Seven ROIs (ids 0-6) in one series, 20 Hz for 10 s, and the weights of PAIRS."""
    nwb = nwbfile()
    rng = np.random.default_rng(0)
    roi_series(nwb, rng.random((201, 7)), 7, range(7))
    _plasticity(nwb, PAIRS, pre, post)
    return write(nwb, tmp_path / "ca.nwb")


def test_unit_ranges_parse_and_filters_with_a_dash_stay_filters():
    from plastix.io.unit_select import id_list

    assert parse_units("pre_units", "0-3,7") == ("ids", [0, 1, 2, 3, 7])
    assert parse_units("pre_units", ["2-4", 9]) == ("ids", [2, 3, 4, 9])
    kind, f = parse_units("pre_units", "location=CA1-dorsal")
    assert kind == "column" and f.values == ("CA1-dorsal",)
    assert parse_units("pre_units", "-3") == ("ids", [-3])
    with pytest.raises(ValueError, match=r"range '5-2'.*'2-5'"):
        parse_units("pre_units", "5-2")
    with pytest.raises(ValueError, match="at most"):
        parse_units("pre_units", "0-99999999")
    assert id_list([5, 3, 4, 9, 1, 2, 11, 12]) == "1-5,9,11,12"
    assert id_list(["07", "8"]) == "07,8"
    assert parse_units("x", id_list(list(range(80)) + [85]))[1] == [*range(80), 85]
    negative = [-5, -4, -3, 0, 1, 2]  # a run of negative ids would read "-5--3"
    assert parse_units("x", id_list(negative))[1] == negative


@pytest.mark.parametrize("pre,post", [("pre_unit", "post_unit"), ("Presynaptic", "Postsynaptic"),
                                      ("source", "target")])
def test_calcium_advice_splits_the_roles_as_the_synapse_table_does(pre, post, tmp_path):
    path = _calcium(tmp_path, pre, post)
    report = str(inspect_file(path))
    assert f"--pre-activity {DFF} --post-activity {DFF} --pre-units 0-2,4 --post-units 5,6" \
        in report, report


def test_calcium_given_one_series_for_both_roles_advises_the_split(tmp_path):
    path = _calcium(tmp_path)
    ins = inspect_file(path, pre_activity=DFF, post_activity=DFF, decay=0.0)
    report = str(ins)
    assert ins.ready, report
    assert ("each of its 7 columns is read as pre and as post; the synapse table names 4 of "
            "them as pre and 2 as post: --pre-units 0-2,4 --post-units 5,6 reads only those "
            "(4 x 2, not 7 x 7)") in report, report
    assert "--pre-units 0-2,4 --post-units 5,6" in ins.command()
    given = inspect_file(path, pre_activity=DFF, post_activity=DFF, decay=0.0,
                         pre_units="0-2,4", post_units="5-6")
    assert given.ready and not given.advice, str(given)


def test_calcium_column_filter_says_the_file_has_no_units_table(tmp_path):
    path = _calcium(tmp_path)
    ins = inspect_file(path, pre_activity=DFF, post_activity=DFF, decay=0.0,
                       pre_units="cell_type=pre", post_units="cell_type=post")
    report = str(ins)
    assert not ins.ready
    assert ("--pre-units cell_type=pre selects by a column of the Units table (or of its "
            "electrodes), and ca.nwb has no Units table; name the activity series' columns by "
            "their ROI/electrode ids instead, as ids or ranges A-B") in report, report
    assert "the Units table does not have" not in report
    assert ins.command().count("--pre-units") == 1
    assert "--pre-units 0-2,4 --post-units 5,6" in ins.command(), report


def test_units_role_advice_reads_any_synapse_table_spelling(tmp_path):
    """Spike-sorted units without a role column: the advice follows the synapse table,
    whichever pair of column names it uses."""
    nwb = nwbfile()
    for uid in (1, 2, 3):
        nwb.add_unit(spike_times=np.sort(np.random.default_rng(uid).uniform(0, 10, 50)),
                     id=uid)
    _plasticity(nwb, [(1, 3), (2, 3)], "presynaptic_unit_id", "postsynaptic_unit_id")
    path = write(nwb, tmp_path / "units.nwb")
    report = str(inspect_file(path))
    assert "--pre-units 1,2 --post-units 3" in report, report


def test_pynapple_synapses_take_any_synapse_table_spelling():
    nap = pytest.importorskip("pynapple")
    import pandas as pd

    from plastix.io.pynapple import _synapse_table

    w = nap.TsdFrame(t=np.arange(3.0), d=np.ones((3, 2)))
    pre, post = _synapse_table(nap, w, pd.DataFrame({"Source": [3, 5], "Target": [11, 12]}))
    assert pre.tolist() == [3, 5] and post.tolist() == [11, 12]


# ---------------------------------------------------------------- finding 11: NetCDF lazily


def _netcdf(tmp_path, name="rec.nc", **cfg):
    """A NetCDF record (20000 bins x 30 units: 4.8 MB of activity, 0.3 MB of weights) with
    silent pre units and a stretch of post activity not recorded (NaN)."""
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
    from plastix.io import save_record

    rec = simulate_synthetic(SyntheticConfig(bins_per_interval=100, n_intervals=200, lr=0.1,
                                             decay=0.5, **cfg), rng=0)
    y = rec["post_activity"].values.copy()
    y[500:900, 2] = np.nan
    rec["post_activity"] = (rec["post_activity"].dims, y, rec["post_activity"].attrs)
    save_record(rec, tmp_path / name)
    return tmp_path / name, rec["pre_activity"].nbytes + rec["post_activity"].nbytes


def _lazily(monkeypatch):
    """Inspect as for a record whose activity is over the budget, read 1000 values at a
    time."""
    import plastix.io.inspect_review as insp

    monkeypatch.setattr(insp, "CHECK_VALUES_BYTES", 0)
    monkeypatch.setattr(insp, "BLOCK_VALUES", 20000, raising=False)


@pytest.mark.parametrize("cfg", [{}, {"silent_fraction": 0.3}])
def test_large_netcdf_record_is_inspected_lazily_with_the_same_report(cfg, tmp_path,
                                                                      monkeypatch):
    import tracemalloc

    path, activity = _netcdf(tmp_path, **cfg)
    tracemalloc.start()
    whole = str(inspect_file(path))
    eager_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    _lazily(monkeypatch)
    tracemalloc.start()
    lazy = str(inspect_file(path))
    lazy_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    note = " (activity values are checked as the estimator reads them)"
    assert lazy == whole.replace("decay unknown (estimated, or --decay)\n",
                                 f"decay unknown (estimated, or --decay){note}\n"), lazy
    assert eager_peak > activity and lazy_peak < activity / 2, (eager_peak, lazy_peak)
    assert ("ready for" in lazy) == bool(cfg)


def test_silent_intervals_by_blocks_count_as_in_memory(tmp_path, monkeypatch):
    import xarray as xr

    from plastix.io.inspection import silent_intervals

    path, _ = _netcdf(tmp_path, silent_fraction=0.3)
    with xr.open_dataset(path, engine="h5netcdf") as f:
        want = silent_intervals(f.load())
    _lazily(monkeypatch)
    with xr.open_dataset(path, engine="h5netcdf", cache=False) as f:
        got = silent_intervals(f, any_size=True)
        assert not f["pre_activity"].variable._in_memory
    assert got == want > 0
