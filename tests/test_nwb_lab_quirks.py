"""Probe 5 findings on the standard NWB reader: files converted by lab tools.

Finding 1: spike (or activity) times and weight times 1000x apart (one of them
written in ms) are refused in one line naming both spans and the fix, while
weights measured over a part of the recording still read.  Finding 9: a synapse
table may name its unit-id columns in the other spellings labs use
(``nwb_scan.SYNAPSE_COLUMNS``); a table with none of them is refused naming the
columns found, the accepted names and ``--synapses PRE:POST,...``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import nwb_builders as nb
import pynwb
import pytest
import xarray as xr

from plastix._util.errors import SchemaError
from plastix.io import inspect_file, load_record
from plastix.io.nwb_scan import SYNAPSE_COLUMNS, synapse_columns

PAIRS = [(0, 10), (1, 10)]


def _spikes(t0: float, t1: float, step: float) -> np.ndarray:
    return np.arange(t0 + step / 2, t1, step)


def _file(tmp_path, *, spike_scale=1.0, weight_scale=1.0, t_spikes=20.0, t_weights=20.0,
          w_step=2.0, weight_start=0.0, step=0.05, name="lab.nwb"):
    """Two pre units (0, 1) -> one post unit (10), firing every ``step``, 1.4 ``step``, 2
    ``step`` s over ``t_spikes`` s, and weights every ``w_step`` s over ``t_weights`` s from
    ``weight_start``; each scale multiplies those times (1000: written in ms)."""
    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, t_spikes, step) * spike_scale, "pre"),
                       (1, _spikes(0, t_spikes, 1.4 * step) * spike_scale, "pre"),
                       (10, _spikes(0, t_spikes, 2 * step) * spike_scale, "post")])
    tw = weight_start + np.arange(0, t_weights + w_step / 2, w_step)
    w = 1.0 + 0.01 * np.arange(tw.size)[:, None] * np.ones((1, 2))
    nb.add_plasticity(nwb, tw * weight_scale, w, PAIRS)
    return nb.write(nwb, tmp_path / name)


def _rate_file(tmp_path, *, scale=1.0):
    """No Units table: each role's rates as a TimeSeries in Hz sampled every 0.1 s over
    20 s (times multiplied by ``scale``), weights every 2 s over 20 s."""
    nwb = nb.nwbfile()
    mod = nwb.create_processing_module("ecephys", "rates")
    t = np.arange(200) * 0.1 * scale
    for role, n in (("pre", 2), ("post", 1)):
        mod.add(pynwb.TimeSeries(name=f"{role}_rates", data=np.full((t.size, n), 5.0),
                                 unit="Hz", timestamps=t))
    nb.add_plasticity(nwb, np.arange(0, 21.0, 2.0), np.ones((11, 2)), PAIRS)
    return nb.write(nwb, tmp_path / "rates.nwb")


_RATES = dict(pre_activity="pre_rates", post_activity="post_rates",
              pre_units=[0, 1], post_units=[10])


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_record(path, **kw)


# ------------------------------------------------------------------ finding 1


@pytest.mark.parametrize("make, kw, found, fix", [
    (lambda p: _file(p, spike_scale=1000.0), {},
     r"weights at 0-20 s, spikes of the pre and post units at 25-19985 s",
     r"Times in ms\? NWB times are in seconds: divide the spike times by 1000 when writing "
     r"the file \(if they are in s and truly span 998x as long, keep only the spike times "
     r"within 0-20 s, in a copy of the file\)"),
    (lambda p: _file(p, weight_scale=1000.0), {},
     r"weights at 0-20000 s, spikes of the pre and post units at 0\.025-19\.985 s",
     r"divide the weight times by 1000 when writing the file \(if they are in s and truly "
     r"span 1002x as long, keep only the weight times within 0\.025-19\.985 s"),
    (lambda p: _rate_file(p, scale=1000.0), _RATES,
     r"weights at 0-20 s, pre activity series 'processing/ecephys/pre_rates' at 0-19900 s",
     r"divide the pre activity times by 1000 when writing the file"),
    (lambda p: _file(p, weight_start=500.0), {},
     r"weights at 500-520 s, spikes of the pre and post units at 0\.025-19\.985 s",
     r"Put the weight times and the spike times on one clock, in seconds from the "
     r"session_start_time, when writing the file"),
])
def test_weights_and_activity_apart_in_time_are_refused(tmp_path, make, kw, found, fix):
    path = make(tmp_path)
    with pytest.raises(SchemaError, match=r"barely overlap in time \(they share") as err:
        _read(path, **kw)
    text = str(err.value)
    assert "\n" not in text and f"'{path.name}'" in text
    assert re.search(r"the weight series 'processing/plasticity/weight' and the ", text)
    assert re.search(r"Found: " + found + r"\. ", text), text
    assert re.search(fix, text), text


def test_inspect_is_not_ready_with_the_readers_fix(tmp_path):
    ins = inspect_file(_file(tmp_path, spike_scale=1000.0))
    assert not ins.ready
    assert any("barely overlap in time" in m for m in ins.missing), ins.missing
    assert ins.fix.startswith("Times in ms? NWB times are in seconds: divide the spike times")


def test_spikes_in_ms_are_refused_with_epochs_in_s(tmp_path):
    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 20, 0.05) * 1000, "pre"),
                       (10, _spikes(0, 20, 0.1) * 1000, "post")])
    nb.add_plasticity(nwb, np.arange(0, 21.0, 2.0), np.ones((11, 1)), [(0, 10)])
    nwb.add_epoch(start_time=0.0, stop_time=10.0)
    nwb.add_epoch(start_time=10.0, stop_time=20.0)
    path = nb.write(nwb, tmp_path / "epochs.nwb")
    with pytest.raises(SchemaError, match="divide the spike times by 1000"):
        _read(path)


@pytest.mark.parametrize("kw", [
    dict(t_spikes=1800.0, t_weights=600.0, step=1.0),  # the first third of the recording
    dict(t_spikes=1800.0, t_weights=20.0, weight_start=900.0, w_step=1.0, step=1.0),  # 1.1%
    dict(t_spikes=20.0, t_weights=40.0),  # weights go on after the spikes
])
def test_weights_over_part_of_the_recording_still_read(tmp_path, kw):
    ds = _read(_file(tmp_path, **kw), bin_size=0.5)
    t0 = kw.get("weight_start", 0.0)
    np.testing.assert_allclose(ds.weight_time.values[[0, -1]], [t0, t0 + kw["t_weights"]])


def test_rates_on_the_weights_clock_still_read(tmp_path):
    ds = _read(_rate_file(tmp_path), **_RATES)
    assert ds.sizes["weight_time"] == 11


# ------------------------------------------------------------------ finding 9


def _syn_file(tmp_path, cols, *, folder="canonical", extra=True):
    """The file of :func:`_file` whose synapse table names its columns ``cols`` (and a
    column ``distance_um``, as labs add)."""
    from hdmf.common import DynamicTable

    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 20, 0.05), "pre"), (1, _spikes(0, 20, 0.07), "pre"),
                       (10, _spikes(0, 20, 0.1), "post")])
    mod = nwb.create_processing_module("plasticity", "measured synaptic efficacies")
    w = 1.0 + 0.01 * np.arange(11)[:, None] * np.array([[1.0, 2.0]])
    mod.add(pynwb.TimeSeries(name="weight", data=w, unit="mV", timestamps=np.arange(0, 21.0, 2)))
    syn = DynamicTable(name="synapses", description="the synapse of each weight column")
    for c in (*cols, *(("distance_um",) if extra else ())):
        syn.add_column(c, c)
    for pre, post in PAIRS:
        syn.add_row(**dict(zip(cols, (pre, post), strict=True)),
                    **({"distance_um": 50.0} if extra else {}))
    mod.add(syn)
    (tmp_path / folder).mkdir()
    return nb.write(nwb, tmp_path / folder / "lab.nwb")


@pytest.mark.parametrize("cols", [*SYNAPSE_COLUMNS[1:], ("Pre", "Post"),
                                  ("Presynaptic Unit ID", "postsynaptic-unit-id")])
def test_each_synapse_column_spelling_reads_as_the_canonical_names(tmp_path, cols):
    want = _read(_syn_file(tmp_path, ("pre_unit", "post_unit")), decay=0.0)
    got = _read(_syn_file(tmp_path, cols, folder="other"), decay=0.0)
    xr.testing.assert_identical(got, want)


def test_synapse_columns_prefers_the_canonical_pair():
    assert synapse_columns(["pre", "post", "pre_unit", "post_unit"]) == ("pre_unit", "post_unit")
    assert synapse_columns(["pre", "post_unit"]) is None


def test_a_synapse_table_without_known_columns_names_them_and_the_pairs(tmp_path):
    path = _syn_file(tmp_path, ("from_cell", "to_cell"))
    with pytest.raises(SchemaError) as err:
        _read(path)
    text = str(err.value)
    assert "\n" not in text
    assert ("the synapse table 'processing/plasticity/synapses' has no columns of "
            "presynaptic and postsynaptic unit ids under a name plastix knows (pre_unit/"
            "post_unit, pre_unit_id/post_unit_id, ") in text
    assert "source/target, any case). Found: columns from_cell, to_cell, distance_um. " in text
    assert ("Rename its two columns pre_unit and post_unit in a copy of the file, name another "
            "table with --synapses PATH, or give the synapse of each of the 2 weight column(s) "
            "as --synapses PRE:POST,PRE:POST,... (unit ids, in column order)") in text
    assert np.isfinite(_read(path, synapses="0:10,1:10", decay=0.0).weight.values).any()


def test_a_synapse_table_under_another_name_is_named_in_the_fix(tmp_path):
    from hdmf.common import DynamicTable

    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 20, 0.05), "pre"), (10, _spikes(0, 20, 0.1), "post")])
    mod = nwb.create_processing_module("ephys_analysis", "EPSP slopes")
    mod.add(pynwb.TimeSeries(name="epsp_slope", data=np.ones((11, 1)), unit="mV/ms",
                             timestamps=np.arange(0, 21.0, 2)))
    table = DynamicTable(name="connections", description="one row per weight column")
    for c in ("presynaptic_unit_id", "postsynaptic_unit_id"):
        table.add_column(c, c)
    table.add_row(presynaptic_unit_id=0, postsynaptic_unit_id=10)
    mod.add(table)
    path = nb.write(nwb, tmp_path / "n03.nwb")
    with pytest.raises(SchemaError, match="Pass its synapse table as --synapses "
                       "processing/ephys_analysis/connections, or"):
        _read(path, weights="processing/ephys_analysis/epsp_slope")
    ds = _read(path, weights="processing/ephys_analysis/epsp_slope",
               synapses="processing/ephys_analysis/connections", decay=0.0)
    assert ds.weight.shape[1:] == (1, 1)
