"""Probe 5 findings on the standard NWB reader: files converted by lab tools.

Finding 1: spike (or activity) times and weight times 1000x apart (one of them
written in ms) are refused in one line naming both spans and the fix, while
weights measured over a part of the recording still read.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import nwb_builders as nb
import pynwb
import pytest

from plastix._util.errors import SchemaError
from plastix.io import inspect_file, load_record

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
