"""Probe 4 (standard NWB) findings on ``plastix inspect``: it counts a silent presynaptic
unit as the estimator does (silent in two consecutive weight intervals), advises the
roles the synapse table supports (never the flags just refused), and does not ask for
roles of a file without a Units table."""

from __future__ import annotations

import warnings

import numpy as np
import nwb_builders as nb
import pytest

from plastix.estimate import HebbianEstimator
from plastix.io import inspect_file, load_record


def _spikes(t0: float, t1: float, step: float = 0.05) -> np.ndarray:
    return np.arange(t0 + step / 2, t1, step)


def _file(tmp_path, *, silent=(), role=True, name="f.nwb"):
    """Two pre units (0, 1) -> one post unit (10), weights every second over 10 s; pre
    unit 0 silent in the intervals ``silent`` (interval k: k to k + 1 s). Without
    ``role`` the units' place (``area`` CA3 for pre, CA1 for post) tells them apart."""
    nwb = nb.nwbfile()
    quiet = np.concatenate([[False], np.isin(np.arange(10), silent)])
    t0 = _spikes(0, 10)
    t0 = t0[~quiet[np.floor(t0).astype(int) + 1]]
    units = [(0, t0, "pre"), (1, _spikes(0, 10), "pre"), (10, _spikes(0, 10, 0.1), "post")]
    if role:
        nb.add_units(nwb, units)
    else:
        nwb.add_unit_column("area", "brain area")
        for uid, times, r in units:
            nwb.add_unit(spike_times=times, id=uid, area="CA3" if r == "pre" else "CA1")
    w = 1.0 + 0.01 * np.arange(11)[:, None] * np.ones((1, 2))
    nb.add_plasticity(nwb, np.arange(11.0), w, [(0, 10), (1, 10)])
    return nb.write(nwb, tmp_path / name)


# ------------------------------------------------------------------ finding 1


def test_silent_after_silent_needs_the_interval_before_in_the_same_segment():
    from plastix.estimate._stats import interval_follows, silent_after_silent

    silent = np.array([[True], [True], [True], [False], [True]])
    follows = interval_follows(np.array([0, 1, 3, 4, 5]), np.array([0, 0, 0, 0, 1]))
    assert follows.tolist() == [False, True, False, True, False]
    assert silent_after_silent(silent, follows)[:, 0].tolist() == [False, True, False, False,
                                                                  False]
    assert silent_after_silent(silent, follows, np.array([1, 2]))[:, 0].tolist() == [True,
                                                                                    False]


def test_one_silent_interval_is_not_ready_as_the_estimator_refuses(tmp_path):
    path = _file(tmp_path, silent=[4])
    ins = inspect_file(path)
    assert not ins.ready and "--decay G" in ins.flags
    assert any("silent in two consecutive weight intervals" in m for m in ins.missing)
    with pytest.raises(ValueError, match="silent in two consecutive weight intervals"):
        HebbianEstimator(n_boot=10, rng=0).fit(load_record(path))


def test_two_consecutive_silent_intervals_are_ready_and_the_estimator_takes_them(tmp_path):
    path = _file(tmp_path, silent=[4, 5])
    ins = inspect_file(path)
    assert ins.ready and "--decay G" not in ins.flags, str(ins)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the toy weights give no alignment, only a decay
        res = HebbianEstimator(n_boot=10, rng=0).fit(load_record(path))
    assert res.decay_source_ == "silent_synapses"


def test_decay_line_names_the_rule(tmp_path):
    assert "silent in two consecutive weight intervals" in str(inspect_file(_file(tmp_path)))


# ------------------------------------------------------------------ finding 3


def test_roles_advised_as_the_synapse_table_says(tmp_path):
    path = _file(tmp_path, role=False, silent=[4, 5])
    ins = inspect_file(path)
    assert "--pre-units area=CA3" in ins.flags and "--post-units area=CA1" in ins.flags
    backwards = inspect_file(path, pre_units="area=CA1", post_units="area=CA3")
    assert not backwards.ready
    assert "--pre-units area=CA1" not in backwards.flags
    assert "--pre-units area=CA3" in backwards.flags, str(backwards)
    assert any("synapses" in m for m in backwards.missing)
    assert inspect_file(path, pre_units="area=CA3", post_units="area=CA1").ready


# ------------------------------------------------------------------ finding 7


def test_no_units_table_asks_for_no_role_column(tmp_path):
    nwb = nb.nwbfile()
    rng = np.random.default_rng(0)
    mod = nb.add_plasticity(nwb, np.arange(11.0), np.ones((11, 2)), [(0, 10), (1, 10)])
    import pynwb

    for r, n in (("pre", 2), ("post", 1)):
        mod.add(pynwb.TimeSeries(name=f"{r}_rates", data=rng.random((200, n)), unit="Hz",
                                 rate=20.0, starting_time=0.0))
    ins = inspect_file(nb.write(nwb, tmp_path / "f.nwb"))
    assert not any("role" in m for m in ins.missing), str(ins)
    assert any("activity" in m for m in ins.missing)


# ------------------------------------------------------------------ finding 8


def _units_only(tmp_path, name, extra):
    """Units with roles (pre 0, 1; post 10) and the series ``extra(nwb)`` adds; no
    ``plasticity`` module."""
    import pynwb

    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 10), "pre"), (1, _spikes(0, 10), "pre"),
                       (10, _spikes(0, 10, 0.1), "post")])
    extra(nwb, pynwb)
    return nb.write(nwb, tmp_path / name)


def _two(nwb, pynwb):
    nwb.add_acquisition(pynwb.TimeSeries(name="weight", data=np.ones((11, 2)), unit="mV",
                                         timestamps=np.arange(11.0)))
    mod = nwb.create_processing_module("analysis", "other")
    mod.add(pynwb.TimeSeries(name="weight", data=np.ones((11, 2)), unit="mV",
                             timestamps=np.arange(11.0)))


def _body(nwb, pynwb):
    mod = nwb.create_processing_module("behavior", "animal")
    mod.add(pynwb.TimeSeries(name="weight", data=np.array([20.1, 20.3, 20.2]), unit="g",
                             timestamps=np.array([0.0, 5.0, 10.0])))


def test_two_candidate_weight_series_are_both_named_and_the_command_takes_one(tmp_path):
    ins = inspect_file(_units_only(tmp_path, "two.nwb", _two))
    text = str(ins)
    assert "2 series that may hold the weights" in text and "processing/analysis/weight" in text
    assert "--weights acquisition/weight" in ins.flags
    assert "--weights-from spikes" not in ins.flags, ins.flags


def test_a_body_weight_is_not_offered_as_synaptic_weights(tmp_path):
    ins = inspect_file(_units_only(tmp_path, "body.nwb", _body))
    assert "may hold the weights" not in str(ins)
    assert not any(f.startswith("--weights processing/behavior") for f in ins.flags)


# ------------------------------------------------------------------ finding 6


def test_a_time_post_pre_series_is_described_by_its_axes(tmp_path):
    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 10), "pre"), (1, _spikes(0, 10), "pre"),
                       (10, _spikes(0, 10, 0.1), "post")])
    import pynwb

    mod = nwb.create_processing_module("plasticity", "weights")
    mod.add(pynwb.TimeSeries(name="weight", data=np.ones((11, 1, 2)), unit="mV",
                             timestamps=np.arange(11.0)))
    text = str(inspect_file(nb.write(nwb, tmp_path / "grid.nwb")))
    assert "synapses from processing/plasticity/synapses" not in text
    assert "one synapse per row of a synapse table" not in text
    assert "shaped (time, post, pre)" in text and "table order" in text


# ------------------------------------------------------------------ findings 4 and 5


def test_a_file_at_fault_gets_the_readers_fix_not_the_same_flags(tmp_path):
    nwb = nb.nwbfile()
    rng = np.random.default_rng(0)
    series = nb.roi_series(nwb, rng.random((200, 4)), 3, [0, 1, 2])
    nb.add_plasticity(nwb, np.arange(11.0), np.ones((11, 2)), [(0, 1), (2, 1)])
    path = nb.write(nwb, tmp_path / "roi.nwb")
    ins = inspect_file(path, pre_activity=series, post_activity=series)
    text = str(ins)
    assert "rois row per data column" in ins.fix and "the fix: " + ins.fix in text
    assert "flags that map it" not in text
    assert "then run `plastix inspect" in text and "--pre-activity" in text


@pytest.mark.parametrize("kind", ["epochs_ms", "unsorted"])
def test_epochs_in_ms_and_unsorted_weights_get_the_readers_fix(tmp_path, kind):
    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 10), "pre"), (10, _spikes(0, 10, 0.1), "post")])
    t = np.arange(11.0)
    if kind == "unsorted":
        t[[4, 5]] = t[[5, 4]]
    else:
        nwb.add_epoch(start_time=0.0, stop_time=10000.0)
    nb.add_plasticity(nwb, t, np.ones((11, 1)), [(0, 10)])
    text = str(inspect_file(nb.write(nwb, tmp_path / f"{kind}.nwb")))
    fix = "divide them by 1000" if kind == "epochs_ms" else "Sort the series by time"
    assert "the fix: " in text and fix in text, text
    assert "see what is missing above" not in text


# ------------------------------------------------------------------ finding 11


def test_a_record_of_inferred_weights_needs_the_decay_for_the_real_reason(tmp_path):
    from plastix.cli import main

    rng = np.random.default_rng(2)
    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, np.sort(rng.uniform(0, 60, 600)), "pre"),
                       (10, np.sort(rng.uniform(0, 60, 600)), "post")])
    path = nb.write(nwb, tmp_path / "spikes.nwb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["infer-weights", str(path), "--out", str(tmp_path / "inf.nc")]) == 0
    ins = inspect_file(tmp_path / "inf.nc")
    assert not ins.ready and "--decay G" in ins.flags
    assert any("weights inferred from spikes hold nothing" in m for m in ins.missing), ins.missing
    assert not any("silent" in m for m in ins.missing)


# ------------------------------------------------------------------ finding 9


def test_two_units_tables_say_which_was_read_and_how_to_read_the_other(tmp_path):
    nwb = nb.nwbfile()
    nb.add_units(nwb, [(0, _spikes(0, 10), "pre"), (10, _spikes(0, 10, 0.1), "post")])
    mod = nwb.create_processing_module("ecephys", "sorting")
    mod.add(nb.units_table("units_ks2", [(500, _spikes(0, 10), "pre"),
                                         (510, _spikes(0, 10, 0.1), "post")]))
    nb.add_plasticity(nwb, np.arange(11.0), np.ones((11, 1)), [(0, 10)])
    path = nb.write(nwb, tmp_path / "two_units.nwb")
    text = str(inspect_file(path))
    assert "read: the top-level one (units), of 2 Units tables" in text
    assert "--units processing/ecephys/units_ks2 reads the other" in text
    other = str(inspect_file(path, units="processing/ecephys/units_ks2"))
    assert "read: processing/ecephys/units_ks2" in other and "--units units" in other
