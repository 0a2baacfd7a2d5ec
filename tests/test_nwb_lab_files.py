"""Standard NWB files as labs leave them, with the quirks a probe of the reader found.

Each file is built with plain pynwb (or edited with h5py as another writer leaves
it): repeated unit ids of two probes, NaN-padded spike trains (MatNWB), timestamps
that do not match their data, lab columns named ``segment`` / ``time_offset``, a
Units table in a processing module, epochs in ms, epochs without weights, weights
out of time order, an ROI series with more columns than ROIs.  Every problem is
refused in one line naming the file and the NWB object, or read as documented.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest

from plastix._util.errors import SchemaError
from plastix.io import inspect_file, load_record, open_record

pynwb = pytest.importorskip("pynwb")

from nwb_builders import (  # noqa: E402
    add_plasticity,
    add_units,
    cut_timestamps,
    nwbfile,
    roi_series,
    units_table,
    write,
)

PAIRS = [(0, 10), (1, 10), (2, 10)]


def _train(rate: float, seed: int, duration: float = 60.0) -> np.ndarray:
    gen = np.random.default_rng(seed)
    return np.sort(gen.uniform(0.0, duration, int(rate * duration)))


def _units(seed: int = 0) -> list:
    return [(i, _train(10.0, seed + i), "pre") for i in range(3)] + [
        (10, _train(15.0, seed + 9), "post")]


def _weights(nwb, times=None, pairs=PAIRS):
    times = np.arange(61.0) if times is None else np.asarray(times, float)
    values = 1 + np.cumsum(np.full((times.size, len(pairs)), 0.01), axis=0)
    return add_plasticity(nwb, times, values, pairs)


def _lab_file(path, *, units=None, times=None):
    nwb = nwbfile()
    add_units(nwb, _units() if units is None else units)
    _weights(nwb, times)
    return nwb


def _one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg, msg
    return msg


# ---------------------------------------------------------------- 1. duplicate unit ids


def test_repeated_unit_ids_of_two_probes_are_refused_naming_them(tmp_path):
    """Probe A's cluster 0 (pre, 40 Hz) and probe B's cluster 0 (no role, 2 Hz): an id that
    names two rows is refused, never read from the last row; the fix says how."""
    units = [(0, _train(40.0, 1), "pre"), (1, _train(10.0, 2), "pre"),
             (0, _train(2.0, 3), ""), (5, _train(15.0, 4), "post")]
    nwb = nwbfile()
    add_units(nwb, units)
    _weights(nwb, pairs=[(0, 5), (1, 5)])
    path = write(nwb, tmp_path / "probes.nwb")
    with pytest.raises(SchemaError) as err:
        load_record(path)
    msg = _one_line(err)
    assert "'probes.nwb'" in msg and "not unique: id 0 names 2 rows" in msg
    assert "probe * 1000 + cluster" in msg and "copy of the file" in msg


def test_repeated_ids_across_roles_are_refused_before_the_roles_are_mapped(tmp_path):
    """Probe A cluster 0 is pre, probe B cluster 0 is post: the message is about the
    repeated id, not 'both pre and post'."""
    units = [(0, _train(10.0, 1), "pre"), (0, _train(10.0, 2), "post")]
    nwb = nwbfile()
    add_units(nwb, units)
    _weights(nwb, pairs=[(0, 0)])
    with pytest.raises(SchemaError) as err:
        load_record(write(nwb, tmp_path / "cross.nwb"))
    msg = _one_line(err)
    assert "not unique" in msg and "both pre and post" not in msg


# ---------------------------------------------------------------- 2. NaN times


def test_nan_spike_times_are_dropped_with_one_warning_naming_the_units(tmp_path):
    """MatNWB pads ragged spike trains with NaN: NaN is no spike. The NaN are dropped with
    a warning naming the units and counts, on every read (no memory of earlier reads);
    the command line prints it once per command."""
    units = _units()
    padded = np.concatenate([units[1][1], np.full(4, np.nan)])
    units[1] = (1, padded, "pre")
    path = write(_lab_file(tmp_path, units=units), tmp_path / "matnwb.nwb")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        open_record(path).close()
        rec = load_record(path)
    nan_warnings = [w for w in seen if "NaN spike time" in str(w.message)]
    assert len(nan_warnings) == 2, [str(w.message) for w in seen]
    assert "4 NaN spike time(s)" in str(nan_warnings[0].message)
    assert "unit (count) 1 (4)" in str(nan_warnings[0].message)
    n_real = sum(u[1].size for u in units[:3]) - 4
    assert rec["pre_spike_time"].size == n_real
    assert np.isfinite(rec["pre_spike_time"].values).all()


def test_nan_weight_timestamps_are_refused_naming_the_series(tmp_path):
    times = np.arange(61.0)
    times[7] = np.nan
    path = write(_lab_file(tmp_path, times=times), tmp_path / "nan_t.nwb")
    with pytest.raises(SchemaError) as err:
        load_record(path)
    msg = _one_line(err)
    assert "'nan_t.nwb'" in msg
    assert "1 of the 61 timestamps of the weight series 'processing/plasticity/weight' are NaN" \
        in msg and "Drop the samples without a time" in msg


# ---------------------------------------------------------------- 3. timestamps vs data


def test_timestamps_fewer_than_data_rows_are_refused_once_without_pynwb_warning(tmp_path):
    path = write(_lab_file(tmp_path), tmp_path / "short.nwb")
    cut_timestamps(path, "processing/plasticity/weight", 5)
    with warnings.catch_warnings(record=True) as seen, pytest.raises(SchemaError) as err:
        warnings.simplefilter("always")
        load_record(path)
    msg = _one_line(err)
    assert ("weight series 'processing/plasticity/weight' has 61 rows of data but 56 "
            "timestamps") in msg and "one timestamp per row" in msg
    assert "IndexError" not in msg and "SPEC" not in msg
    assert not [w for w in seen if "Length of data" in str(w.message)]


# ---------------------------------------------------------------- 4. lab columns


def _trials_file(tmp_path, name, column, values):
    nwb = _lab_file(tmp_path)
    nwb.add_trial_column(column, "the lab's own column")
    for k, v in enumerate(values):
        nwb.add_trial(start_time=k * 10.0, stop_time=k * 10.0 + 9.0, **{column: v})
    return write(nwb, tmp_path / name)


def test_a_labs_text_segment_column_is_an_ordinary_column(tmp_path):
    arms = ["left_arm", "right_arm", "stem", "left_arm", "right_arm", "stem"]
    rec = load_record(_trials_file(tmp_path, "text.nwb", "segment", arms))
    assert sorted(set(rec["segment"].values.tolist())) == list(range(6))


def test_a_labs_segment_block_number_does_not_merge_trials(tmp_path):
    rec = load_record(_trials_file(tmp_path, "block.nwb", "segment", [0, 0, 0, 1, 1, 1]))
    assert sorted(set(rec["segment"].values.tolist())) == list(range(6))


def test_a_labs_time_offset_column_does_not_shift_time(tmp_path):
    rec = load_record(_trials_file(tmp_path, "offset.nwb", "time_offset", [0.5] * 6))
    assert float(rec["time"][0]) == 0.0 and float(rec["weight_time"][0]) == 0.0
    assert rec["weight_time"].values[:3].tolist() == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------- 5. Units in processing


def _sorted_file(tmp_path, name, tables):
    nwb = nwbfile()
    module = nwb.create_processing_module("ecephys", "spike sorting")
    for tname, units in tables:
        module.add(units_table(tname, units))
    _weights(nwb)
    return write(nwb, tmp_path / name)


def test_the_only_units_table_of_a_processing_module_is_read(tmp_path):
    path = _sorted_file(tmp_path, "si.nwb", [("units_kilosort4", _units())])
    rec = load_record(path)
    assert rec["pre"].values.tolist() == [0, 1, 2] and rec["post"].values.tolist() == [10]
    assert rec["pre_spike_time"].size == sum(u[1].size for u in _units()[:3])


def test_several_units_tables_are_refused_naming_them_and_units_picks_one(tmp_path):
    other = [(i, _train(5.0, 20 + i), "pre") for i in range(3)] + [(10, _train(5.0, 29), "post")]
    path = _sorted_file(tmp_path, "two.nwb", [("units_kilosort4", _units()),
                                              ("units_mountainsort", other)])
    with pytest.raises(SchemaError) as err:
        load_record(path)
    msg = _one_line(err)
    assert "2 Units tables and none at the top level" in msg
    assert ("processing/ecephys/units_kilosort4, processing/ecephys/units_mountainsort"
            in msg) and "--units PATH" in msg
    rec = load_record(path, units="processing/ecephys/units_kilosort4")
    assert rec["pre_spike_time"].size == sum(u[1].size for u in _units()[:3])
    rec = load_record(path, units="units_mountainsort")
    assert rec["pre_spike_time"].size == sum(u[1].size for u in other[:3])
    with pytest.raises(SchemaError) as err:
        load_record(path, units="units_ks")
    assert "no Units table of the file" in _one_line(err)


def test_the_units_option_is_a_cli_flag_of_every_reader_command():
    from plastix.cli._reader_flags import add_reader_flags, reader_options
    from plastix.io.nwb import CLI_FLAGS, OPTION_HELP, READ_OPTIONS

    assert "units" in READ_OPTIONS and CLI_FLAGS["units"] == "--units" and OPTION_HELP["units"]
    parser = argparse.ArgumentParser()
    add_reader_flags(parser)
    args = parser.parse_args(["--units", "processing/ecephys/units_kilosort4"])
    assert reader_options(args) == {"units": "processing/ecephys/units_kilosort4"}


# ---------------------------------------------------------------- 6. epochs in ms


def test_epochs_in_ms_against_spikes_in_s_are_refused_before_binning(tmp_path):
    """60 s of data, epochs 0-30000 and 30000-60000: refused in one line (not 6,000,000
    bins), naming the table, both spans and the fix."""
    nwb = _lab_file(tmp_path)
    nwb.add_epoch(start_time=0.0, stop_time=30000.0)
    nwb.add_epoch(start_time=30000.0, stop_time=60000.0)
    with pytest.raises(SchemaError) as err:
        load_record(write(nwb, tmp_path / "ms.nwb"))
    msg = _one_line(err)
    assert "the 2 rows of the epochs table (0-60000 s)" in msg and "99.9%" in msg
    assert "within 0-60 s" in msg and "--segments none" in msg and "seconds" in msg


def test_mostly_empty_epochs_are_warned_about_once_per_command(tmp_path, capsys):
    """Rows mostly (not almost all) outside the data: a warning on each read; the command
    line, whose estimate opens the file twice (sizing, then reading), prints it once."""
    from plastix.cli import console

    nwb = _lab_file(tmp_path)
    nwb.add_epoch(start_time=0.0, stop_time=30.0)
    nwb.add_epoch(start_time=30.0, stop_time=200.0)
    path = write(nwb, tmp_path / "long.nwb")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_record(path)
    got = [str(w.message) for w in seen if "holds no data" in str(w.message)]
    assert len(got) == 1 and "70% of the rows' time holds no data" in got[0], got
    console(["estimate", str(path), "--decay", "0", "--n-boot", "20", "--n-null", "0"])
    err = capsys.readouterr().err
    assert err.count("holds no data") == 1, err


# ---------------------------------------------------------------- 7. rows without weights


def test_an_epoch_row_without_a_weight_sample_is_refused_naming_it(tmp_path):
    """A tetanus epoch 20.2-20.8 s between weights every 1 s: refused, naming the row."""
    nwb = _lab_file(tmp_path)
    nwb.add_epoch(start_time=0.0, stop_time=20.2)
    nwb.add_epoch(start_time=20.2, stop_time=20.8)
    nwb.add_epoch(start_time=20.8, stop_time=60.0)
    with pytest.raises(SchemaError) as err:
        load_record(write(nwb, tmp_path / "tetanus.nwb"))
    msg = _one_line(err)
    assert "row 1 of the epochs table (20.2-20.8 s) holds no weight sample" in msg
    assert "--segments none" in msg and "drop the row" in msg


# ---------------------------------------------------------------- 8. weights out of order


def test_weights_out_of_time_order_are_refused_naming_the_series(tmp_path):
    times = np.concatenate([np.arange(30.0, 60.0), np.arange(0.0, 31.0)])
    with pytest.raises(SchemaError) as err:
        load_record(write(_lab_file(tmp_path, times=times), tmp_path / "unsorted.nwb"))
    msg = _one_line(err)
    assert "'unsorted.nwb'" in msg and "'processing/plasticity/weight'" in msg
    assert "sample 30 at 0 s follows one at 59 s" in msg
    assert "Sort the series by time" in msg and "epochs table" in msg
    assert "weight_segment" not in msg


# ---------------------------------------------------------------- 9. ROI series


def test_roi_series_with_more_columns_than_rois_is_refused_without_pynwb_warnings(tmp_path):
    nwb = nwbfile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb warns when the file is built, too
        series = roi_series(nwb, np.random.default_rng(0).random((1200, 4)), 4, [0, 1, 2])
    _weights(nwb, pairs=[(0, 2), (1, 2)])
    path = write(nwb, tmp_path / "roi.nwb")
    with warnings.catch_warnings(record=True) as seen, pytest.raises(SchemaError) as err:
        warnings.simplefilter("always")
        load_record(path, pre_activity=series, post_activity=series, pre_units="0,1",
                    post_units="2")
    msg = _one_line(err)
    assert f"'{series}' has 4 data columns but its rois region names 3 rows" in msg
    assert not [w for w in seen if "second dimension" in str(w.message)]


# ---------------------------------------------------------------- 10. minor


def test_a_body_weight_series_outside_plasticity_is_not_the_weights(tmp_path):
    nwb = nwbfile()
    add_units(nwb, _units())
    behavior = nwb.create_processing_module("behavior", "the animal")
    behavior.add(pynwb.TimeSeries(name="weight", data=np.full(3, 25.0), unit="g",
                                  timestamps=[0.0, 30.0, 60.0]))
    path = write(nwb, tmp_path / "body.nwb")
    with pytest.raises(SchemaError, match="no weights: no TimeSeries 'weight' in a processing "
                       "module 'plasticity'"):
        load_record(path)
    rec = load_record(path, weights_from="spikes")
    assert rec.attrs["weights"] == "absent"


def test_the_bin_width_of_timestamps_has_no_float_noise(tmp_path):
    nwb = nwbfile()
    t = np.arange(1200) * 0.05
    rates = np.random.default_rng(0).random((1200, 1))
    ecephys = nwb.create_processing_module("ecephys", "rates")
    ecephys.add(pynwb.TimeSeries(name="pre_rates", data=rates, unit="Hz", timestamps=t))
    ecephys.add(pynwb.TimeSeries(name="post_rates", data=rates, unit="Hz", timestamps=t))
    _weights(nwb, pairs=[(0, 10)])
    rec = load_record(write(nwb, tmp_path / "ts.nwb"), pre_activity="pre_rates",
                      post_activity="post_rates", pre_units="0", post_units="10")
    assert rec.attrs["dt"] == 0.05


def test_location_from_the_electrode_group_is_not_labelled_as_from_the_electrodes(tmp_path):
    """A unit whose electrodes disagree on location: its location is its electrode group's,
    listed in ``group_columns``, not in ``electrode_columns``."""
    from plastix.io.nwb_scan import open_nwb, scan_nwb

    nwb = nwbfile()
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank0", "shank", location="CA1", device=device)
    for loc in ("CA1", "CA3"):
        nwb.add_electrode(group=group, location=loc)
    nwb.add_unit_column("role", "pre or post")
    nwb.add_unit(spike_times=_train(10.0, 1), electrodes=[0, 1], electrode_group=group,
                 role="pre", id=0)
    nwb.add_unit(spike_times=_train(10.0, 2), electrodes=[0, 1], electrode_group=group,
                 role="post", id=1)
    io = open_nwb(write(nwb, tmp_path / "multi.nwb"))
    try:
        c = scan_nwb(io.read())
    finally:
        io.close()
    assert c.unit_columns["location"].tolist() == ["CA1", "CA1"]
    assert "location" not in c.electrode_columns and c.group_columns == ("location",)


# ---------------------------------------------------------------- 11. --segments


def test_inspect_prints_the_segments_flag_it_was_given(tmp_path):
    nwb = _lab_file(tmp_path)
    nwb.add_epoch(start_time=0.0, stop_time=30.0)
    nwb.add_epoch(start_time=30.0, stop_time=60.0)
    for k in range(6):
        nwb.add_trial(start_time=k * 10.0, stop_time=k * 10.0 + 9.0)
    path = write(nwb, tmp_path / "both.nwb")
    ins = inspect_file(path, segments="trials")
    assert "--segments trials" in ins.flags, ins.flags


# ---------------------------------------------------------------- inspect's advice


def test_inspect_advises_flags_that_map_the_file(tmp_path):
    """Without a role column, the synapse table's direction picks the roles, by a column
    whose values tell its two sides apart (as for a pynapple session); rate series
    without ROI ids get the ids of the synapse table; each printed command then maps the
    file."""
    rng = np.random.default_rng(0)
    nwb = nwbfile()
    nwb.add_unit_column("depth", "depth along the probe (um)")
    for i in range(3):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 60, 600)), depth=1000.0 + 100 * i, id=i)
    nwb.add_unit(spike_times=np.sort(rng.uniform(0, 60, 900)), depth=2500.5, id=10)
    t = np.arange(61.0)
    add_plasticity(nwb, t, 1 + np.cumsum(np.full((61, 3), 0.01), axis=0), [(0, 10), (1, 10),
                                                                          (2, 10)])
    report = inspect_file(write(nwb, tmp_path / "depth.nwb"))
    assert "--pre-units depth=1000,1100,1200 --post-units depth=2500.5" in report.command()
    mapped = inspect_file(tmp_path / "depth.nwb", pre_units="depth=1000,1100,1200",
                          post_units="depth=2500.5")
    assert mapped.record and "3 pre x 1 post" in mapped.record



    nwb = nwbfile()
    mod = nwb.create_processing_module("ecephys", "rates")
    for name, n in (("pre_rates", 3), ("post_rates", 1)):
        mod.add(pynwb.TimeSeries(name=name, data=rng.uniform(1, 9, (600, n)), unit="Hz",
                                 rate=10.0, starting_time=0.0))
    add_plasticity(nwb, t, 1 + np.cumsum(np.full((61, 3), 0.01), axis=0), [(0, 10), (1, 10),
                                                                          (2, 10)])
    report = inspect_file(write(nwb, tmp_path / "rates.nwb"))
    assert ("--pre-activity processing/ecephys/pre_rates --pre-units 0,1,2 --post-activity "
            "processing/ecephys/post_rates --post-units 10") in report.command()
    mapped = inspect_file(tmp_path / "rates.nwb", pre_activity="processing/ecephys/pre_rates",
                          pre_units="0,1,2", post_activity="processing/ecephys/post_rates",
                          post_units="10", decay=0.0)  # rates 1-9 Hz: no input is ever silent
    assert mapped.ready, str(mapped)
