"""Neo spike trains recorded for part of a segment: the bins outside a train's
``[t_start, t_stop)`` are not recorded (NaN), never 0 Hz."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")


def _block():
    """Unit 1 recorded 0-1 s, unit 2 from 0.5 s, post unit 'a' until 0.7 s; 100 ms bins."""
    seg = neo.Segment(name="s")
    for role, unit, times, t0, t1 in (("pre", 1, [0.05, 0.55, 0.95], 0.0, 1.0),
                                      ("pre", 2, [0.62, 0.66], 0.5, 1.0),
                                      ("post", "a", [0.15, 0.25, 0.35], 0.0, 0.7)):
        st = neo.SpikeTrain(times * pq.s, t_start=t0 * pq.s, t_stop=t1 * pq.s)
        st.annotate(role=role, unit=unit)
        seg.spiketrains.append(st)
    seg.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
        [0.0, 0.9] * pq.s, np.array([[0.5, 0.4], [0.6, 0.5]]), units="dimensionless",
        name="weight", array_annotations={"pre": np.array([1, 2]), "post": np.array(["a", "a"])}))
    block = neo.Block(name="partial")
    block.segments.append(seg)
    block.create_relationship()
    return block


def test_bins_outside_a_trains_span_are_nan_not_zero():
    from plastix.io import from_neo

    ds = from_neo(_block(), bin_size=0.1)
    nan = np.nan
    assert_allclose(ds["time"].values, np.arange(10) * 0.1, atol=1e-12)
    pre = ds["pre_activity"].values
    assert_allclose(pre[:, 0], [10, 0, 0, 0, 0, 10, 0, 0, 0, 10])  # unit 1: whole span
    assert_allclose(pre[:, 1], [nan] * 5 + [0, 20, 0, 0, 0])  # unit 2: from 0.5 s
    assert_allclose(ds["post_activity"].values[:, 0], [0, 10, 10, 10, 0, 0, 0] + [nan] * 3)


def test_trains_that_share_the_segments_span_have_no_nan():
    from plastix.io import from_neo

    block = _block()
    for st in block.segments[0].spiketrains:
        st.t_start, st.t_stop = 0.0 * pq.s, 1.0 * pq.s
    ds = from_neo(block, bin_size=0.1)
    assert np.isfinite(ds["pre_activity"].values).all()
    assert np.isfinite(ds["post_activity"].values).all()


def _rate_block(level=1.0, name="b", **kwargs):
    """One segment of rates (2 pre, 1 post) and 2 weights, as a converter writes them."""
    block = neo.Block(name=name, **kwargs)
    seg = neo.Segment(name="s0")
    block.segments.append(seg)
    for signal, k in (("pre_rate", 2), ("post_rate", 1)):
        sig = neo.AnalogSignal(np.full((100, k), level), units="Hz", sampling_rate=100 * pq.Hz,
                               name=signal)
        sig.array_annotate(unit=np.arange(k))
        seg.analogsignals.append(sig)
    w = neo.AnalogSignal(np.ones((2, 2)), units="mV", sampling_rate=2 * pq.Hz, name="weight")
    w.array_annotate(pre=np.array([0, 1]), post=np.array([0, 0]))
    seg.analogsignals.append(w)
    return block


def test_a_netcdf_record_without_decay_reads_as_unknown_decay(tmp_path):
    from plastix.estimate.synthetic import simulate_synthetic
    from plastix.io import inspect_file, load_record, open_record

    path = tmp_path / "no_decay.nc"
    simulate_synthetic(rule="hebbian", n_pre=3, n_post=2, n_intervals=12, rng=0).drop_vars(
        "decay").to_netcdf(path, engine="h5netcdf")
    assert np.isnan(float(load_record(path)["decay"]))
    with open_record(path) as ds:
        assert np.isnan(float(ds["decay"]))
    assert "decay" in str(inspect_file(path))


def test_unit_ids_stored_as_bytes_are_their_text():
    from plastix.io import from_neo

    block = _rate_block()
    seg = block.segments[0]
    seg.analogsignals[0].array_annotate(unit=np.array([b"10", b"11"]))
    seg.analogsignals[1].array_annotate(unit=np.array([b"20"]))
    seg.analogsignals[2].array_annotate(pre=np.array([10, 11]), post=np.array([20, 20]))
    ds = from_neo(block)
    assert ds["pre"].values.tolist() == [10, 11] and ds["post"].values.tolist() == [20]
    assert np.isfinite(ds["pre_activity"].values).all()


def test_weight_samples_out_of_time_order_are_sorted_and_repeats_refused():
    from plastix._util.errors import SchemaError
    from plastix.io import from_neo

    block = _rate_block()
    seg = block.segments[0]
    seg.analogsignals.pop()
    w = neo.IrregularlySampledSignal([0.9, 0.0, 0.5] * pq.s, np.array([[3.0], [1.0], [2.0]]),
                                     units="mV", name="weight")
    w.array_annotate(pre=np.array([0]), post=np.array([0]))
    seg.irregularlysampledsignals.append(w)
    ds = from_neo(block)
    assert_allclose(ds["weight_time"].values, [0.0, 0.5, 0.9])
    assert_allclose(ds["weight"].values[:, 0, 0], [1.0, 2.0, 3.0])
    seg.irregularlysampledsignals[0] = neo.IrregularlySampledSignal(
        [0.0, 0.5, 0.5] * pq.s, np.ones((3, 1)), units="mV", name="weight",
        array_annotations={"pre": np.array([0]), "post": np.array([0])})
    with pytest.raises(SchemaError, match=r"the 'weight' signal has two samples at 0.5 s"):
        from_neo(block)


def test_a_rates_only_file_of_plain_neo_nwbio_is_known_as_neos(tmp_path):
    import datetime

    from plastix.io import probe

    pytest.importorskip("pynwb")
    block = _rate_block(session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
                        identifier="x", session_description="d")
    path = tmp_path / "plain.nwb"
    neo.io.NWBIO(str(path), mode="w").write_all_blocks([block])
    assert probe.nwb_by_neo(path)


def test_a_file_of_several_blocks_warns_that_only_the_first_is_read(tmp_path):
    from plastix.io import load_record

    path = tmp_path / "two.nix"
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_all_blocks([_rate_block(1.0, "a"), _rate_block(7.0, "b")])
    with pytest.warns(UserWarning, match=r"holds 2 Neo Blocks; plastix reads the first"):
        ds = load_record(path)
    assert_allclose(ds["pre_activity"].values, 1.0)
