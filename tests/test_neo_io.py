"""The Neo side of the record: round trips through .nix/.nwb/.pkl and user blocks (SPEC §9)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from plastix.io import load_record, save_record
from plastix.record import compare_records, make_record, records_equal

pytest.importorskip("neo")

FORMATS = ["pkl", "nix", "nwb"]
KEYS = ("time", "unit", "segment")


def _neo():
    from plastix._util.optional import import_neo

    return import_neo()


def _pq():
    _neo()
    import quantities as pq

    return pq


# ------------------------------------------------------------------ records


def continuous_record(rng) -> object:
    """(a) A recording in ms: rates, pre and post spikes, a subset of synapses with NaNs."""
    n_t, n_pre, n_post, dt = 300, 5, 3, 0.5  # ms
    t = np.arange(n_t) * dt
    wt = np.arange(0.0, n_t * dt, 10.0)
    w = rng.normal(size=(wt.size, n_post, n_pre))
    w[:, 0, 1] = np.nan  # never measured: no channel
    w[::3, 2, 2] = np.nan  # measured at some samples only
    w[:, 1, 4] = np.nan
    w[2, 1, 4] = 0.25  # measured once
    pre = rng.gamma(2.0, 5.0, size=(n_t, n_pre))
    post = rng.gamma(2.0, 5.0, size=(n_t, n_post))
    pre[:20, 1] = np.nan  # a unit not recorded for a while
    st = rng.uniform(0, n_t * dt, 60)
    su = rng.integers(0, n_pre, 60)
    pt = np.sort(rng.uniform(0, n_t * dt, 40))
    pu = rng.integers(0, n_post, 40)
    return make_record(
        pre, post, w, time=t, weight_time=wt, dt=dt, time_units="ms", decay=3e-4,
        pre=[10, 11, 12, 13, 14], post=[7, 3, 5],
        pre_spikes={"time": st, "unit": 10 + su},  # unsorted: exercises the spike order
        post_spikes={"time": pt, "unit": np.array([7, 3, 5])[pu]},
        source="brian2", provenance={"seed": 4, "codegen": "numpy", "dt_ms": 0.5},
        truth={"rule": "error", "eta": 1e-3, "gamma": 0.3})


def ann_record(rng) -> object:
    """(b) An artificial network: time in training steps, 8 samples per batch."""
    n_steps, batch, n_pre, n_post = 6, 8, 4, 3
    t = (np.arange(n_steps)[:, None] + np.arange(batch)[None, :] / batch).ravel()
    w = rng.normal(size=(n_steps + 1, n_post, n_pre))
    return make_record(
        np.tanh(rng.normal(size=(t.size, n_pre))), rng.normal(size=(t.size, n_post)), w,
        time=t, weight_time=np.arange(n_steps + 1.0), dt=1.0 / batch, time_units="step",
        activity_units="1", activity_kind="activation", post_activity_kind="preactivation",
        decay=5e-3, source="ann", provenance={"task": "sre", "seed": 0},
        truth={"rule": "sgd", "gamma": 5e-3, "sigma": 0.0})


def pairing_record(rng) -> object:
    """(c) Three pairing experiments: one synapse each, weight before and after, in s."""
    pre_ids, post_ids = ["p0", "p1", "p2"], ["c0", "c1"]
    seg_ids = [2, 5, 9]
    n_bins, dt = 40, 0.005
    times, segs, pre, post, wt, wsegs, ws = [], [], [], [], [], [], []
    spikes = {"pre": ([], [], []), "post": ([], [], [])}
    for k, s in enumerate(seg_ids):
        t = np.arange(n_bins) * dt  # time restarts in each segment
        pa = np.full((n_bins, 3), np.nan)
        qa = np.full((n_bins, 2), np.nan)
        pre_t = np.arange(0.01, 0.19, 0.02)
        post_t = pre_t + 0.005 * (1 if k % 2 == 0 else -1)
        pa[:, k] = np.histogram(pre_t, np.append(t, t[-1] + dt))[0] / dt
        qa[:, k % 2] = np.histogram(post_t, np.append(t, t[-1] + dt))[0] / dt
        for role, tt, unit in (("pre", pre_t, pre_ids[k]), ("post", post_t, post_ids[k % 2])):
            spikes[role][0].extend(tt)
            spikes[role][1].extend([unit] * tt.size)
            spikes[role][2].extend([s] * tt.size)
        w = np.full((2, 2, 3), np.nan)
        w[:, k % 2, k] = [1.0, 1.0 + rng.normal(0, 0.2)]
        times.append(t)
        segs.append(np.full(n_bins, s))
        pre.append(pa)
        post.append(qa)
        wt.append([-60.0, 600.0])
        wsegs.append([s, s])
        ws.append(w)
    return make_record(
        np.concatenate(pre), np.concatenate(post), np.concatenate(ws),
        time=np.concatenate(times), weight_time=np.concatenate(wt), dt=dt, pre=pre_ids,
        post=post_ids, segment=np.concatenate(segs), weight_segment=np.concatenate(wsegs),
        weight_units="mV",
        pre_spikes={k: np.asarray(v) for k, v in zip(KEYS, spikes["pre"], strict=True)},
        post_spikes={k: np.asarray(v) for k, v in zip(KEYS, spikes["post"], strict=True)},
        source="pairing-sim", truth={"rule": "stdp"})


RECORDS = {"continuous": continuous_record, "ann_step": ann_record, "pairing": pairing_record}


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(RECORDS))
def test_round_trip_through_files_is_exact(kind, fmt, rng, tmp_path):
    ds = RECORDS[kind](rng)
    path = save_record(ds, tmp_path / f"rec.{fmt}")
    back = load_record(path, allow_pickle=True)
    compare_records(ds, back)  # raises with the first difference (rtol = 0: bit for bit)
    assert records_equal(ds, back)


def test_round_trip_in_memory_and_the_convention(rng):
    from plastix.io import from_neo, to_neo

    pq = _pq()
    ds = continuous_record(rng)
    block = to_neo(ds)
    assert records_equal(ds, from_neo(block))
    assert block.annotations["decay"] == pytest.approx(3e-4 * 1e3)  # 1/ms -> 1/s
    assert len(block.segments) == 1
    seg = block.segments[0]
    (pre_rate,) = [s for s in seg.analogsignals if s.name == "pre_rate"]
    assert_array_equal(pre_rate.array_annotations["unit"], [10, 11, 12, 13, 14])
    assert pre_rate.annotations["kind"] == "rate" and pre_rate.units == pq.Hz
    (weight,) = seg.irregularlysampledsignals
    assert weight.name == "weight"
    # channels: every synapse with at least one non-NaN sample, row-major over (post, pre)
    w = ds["weight"].values
    measured = ~np.all(np.isnan(w), axis=0)
    assert weight.shape[1] == measured.sum() == 14  # 15 synapses, (post 7, pre 11) never
    synapses = set(zip(weight.array_annotations["post"], weight.array_annotations["pre"],
                       strict=True))
    assert (7, 11) not in synapses
    roles = {(st.annotations["role"], st.annotations["unit"]) for st in seg.spiketrains}
    assert roles == {("pre", u) for u in range(10, 15)} | {("post", u) for u in (7, 3, 5)}
    n_pre_spikes = sum(st.size for st in seg.spiketrains if st.annotations["role"] == "pre")
    assert n_pre_spikes == ds.sizes["pre_spike"]


def test_edited_block_is_read_from_its_neo_objects(rng):
    """The exact-value side channel never overrides what the Neo objects say."""
    from plastix.io import from_neo, to_neo

    ds = continuous_record(rng)
    block = to_neo(ds)
    for sig in block.segments[0].analogsignals:  # someone shifted the rates by 1 ms
        sig.t_start = sig.t_start + 1.0 * sig.t_start.units
    back = from_neo(block)
    assert_allclose(back["time"].values, ds["time"].values + 1.0, rtol=1e-12,
                    err_msg="times follow the edited signal (tolerance: float rounding)")


def test_step_time_units_are_seconds_in_neo(rng):
    from plastix.io import to_neo

    ds = ann_record(rng)
    block = to_neo(ds)
    assert block.annotations["time_units"] == "step"
    assert block.annotations["decay"] == 5e-3  # per step, stored as per second
    sig = block.segments[0].analogsignals[0]
    assert str(sig.t_start.units.dimensionality) == "s"
    assert_allclose(float(sig.sampling_period.magnitude), 1 / 8, rtol=0)


# ------------------------------------------------------------------ a rig's block


def user_block():
    """A block built by hand, as a rig's converter would: ms spike trains, 1/s rates."""
    neo, pq = _neo(), _pq()
    block = neo.Block(name="rig", decay=0.5)
    s0 = neo.Segment(name="baseline")
    s0.analogsignals.append(neo.AnalogSignal(
        np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]),
        units="1/s", sampling_period=10 * pq.ms, t_start=0 * pq.ms, name="post_rate",
        array_annotations={"unit": np.array(["a", "b"])}))
    s0.analogsignals.append(neo.AnalogSignal(np.zeros((5, 1)), units="mV",
                                             sampling_period=10 * pq.ms, name="Vm"))
    for unit, times in ((1, [1.0, 12.0, 15.0, 41.0]), (2, [25.0])):
        st = neo.SpikeTrain(times * pq.ms, t_start=0 * pq.ms, t_stop=50 * pq.ms)
        st.annotate(role="pre", unit=unit)
        s0.spiketrains.append(st)
    s0.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
        [0.0, 0.05] * pq.s, np.array([[0.5, 1.0], [0.6, np.nan]]), units="dimensionless",
        name="weight", array_annotations={"pre": np.array([1, 2]),
                                          "post": np.array(["a", "b"])}))
    s1 = neo.Segment(name="pairing")
    for role, unit, times in (("pre", 1, [2.0, 3.0]), ("post", "a", [4.0, 25.0])):
        st = neo.SpikeTrain(times * pq.ms, t_start=0 * pq.ms, t_stop=30 * pq.ms)
        st.annotate(role=role, unit=unit)
        s1.spiketrains.append(st)
    s1.analogsignals.append(neo.AnalogSignal(
        np.array([[0.7], [0.9]]), units="dimensionless", sampling_period=30 * pq.ms,
        name="weight", array_annotations={"pre": np.array([1]), "post": np.array(["a"])}))
    block.segments += [s0, s1]
    block.create_relationship()
    return block


def _check_user_record(ds):
    nan = np.nan
    assert ds.attrs["time_units"] == "s"
    assert_array_equal(ds["pre"].values, [1, 2])
    assert_array_equal(ds["post"].values, ["a", "b"])
    assert_array_equal(ds["segment"].values, [0, 0, 0, 0, 0, 1, 1, 1])
    # 10-ms bins: segment 0 follows post_rate's grid, segment 1 (spikes only) uses the
    # same width by default.  Tolerance: ms -> s conversion rounding.
    assert_allclose(ds["time"].values, [0, .01, .02, .03, .04, 0, .01, .02], atol=1e-12)
    assert ds.attrs["dt"] == pytest.approx(0.01, rel=1e-12)
    # spikes at 1, 12, 15, 41 ms (unit 1) and 25 ms (unit 2), counted per 10 ms -> Hz
    expected_pre = [[100, 0], [200, 0], [0, 100], [0, 0], [100, 0],
                    [200, nan], [0, nan], [0, nan]]  # unit 2 not recorded in segment 1
    assert_allclose(ds["pre_activity"].values, expected_pre, rtol=1e-12,
                    err_msg="binned counts / 0.01 s (tolerance: float division)")
    expected_post = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [100, nan], [0, nan], [100, nan]]
    assert_allclose(ds["post_activity"].values, expected_post, rtol=1e-12,
                    err_msg="1/s is Hz; spikes at 4 and 25 ms binned in segment 1")
    assert ds["pre_activity"].attrs["units"] == ds["post_activity"].attrs["units"] == "Hz"
    assert ds["pre_activity"].attrs["kind"] == "rate"
    assert_allclose(ds["weight_time"].values, [0, 0.05, 0, 0.03], atol=1e-15)
    assert_array_equal(ds["weight_segment"].values, [0, 0, 1, 1])
    w = np.full((4, 2, 2), nan)
    w[0, 0, 0], w[0, 1, 1], w[1, 0, 0] = 0.5, 1.0, 0.6
    w[2, 0, 0], w[3, 0, 0] = 0.7, 0.9
    assert_array_equal(ds["weight"].values, w)  # missing synapses NaN, never 0
    assert float(ds["decay"]) == 0.5
    assert_allclose(ds["pre_spike_time"].values, [.001, .012, .015, .025, .041, .002, .003],
                    rtol=1e-12)
    assert_array_equal(ds["pre_spike_unit"].values, [1, 1, 1, 2, 1, 1, 1])
    assert_array_equal(ds["pre_spike_segment"].values, [0, 0, 0, 0, 0, 1, 1])
    assert_array_equal(ds["post_spike_unit"].values, ["a", "a"])
    assert_array_equal(ds["interval"].values, [0, 0, 0, 0, 0, 2, 2, 2])


def test_user_block_reads_into_the_expected_record():
    from plastix.io import from_neo

    ds = from_neo(user_block())
    _check_user_record(ds)
    assert ds.attrs["source"] == "neo:rig"


@pytest.mark.parametrize("fmt", FORMATS)
def test_user_block_through_files(fmt, tmp_path):
    from plastix.io import read_block, write_block

    block = user_block()
    path = write_block(block, tmp_path / f"rig.{fmt}")
    assert block.segments[0].analogsignals[0].name == "post_rate"  # caller's block untouched
    _check_user_record(load_record(path, allow_pickle=True))
    assert read_block(path, allow_pickle=True).segments[1].name == "pairing"


def test_reader_options_of_a_neo_file(tmp_path):
    """A Neo-convention file takes --decay (in 1/s, replacing the file's) and --bin-size;
    the standard reader's unit and series flags are refused in one line with the fix."""
    from plastix.io import write_block

    path = write_block(user_block(), tmp_path / "rig.nix")
    assert float(load_record(path, decay=0.02)["decay"]) == 0.02
    with pytest.raises(ValueError, match=r"`pre_units` \(--pre-units\) cannot map 'rig.nix': "
                       r"it follows the Neo convention.*annotations\['role'\] = 'pre'"):
        load_record(path, pre_units="3,4")


def test_whole_number_float_ids_are_the_int_ids():
    """MATLAB writes ids as doubles: a weight's pre 1.0 and a spike train's unit 2.0 name
    units 1 and 2 (ints, as the user knows them), not the text '1.0'."""
    from plastix.io import from_neo

    block = user_block()
    weight = block.segments[0].irregularlysampledsignals[0]
    weight.array_annotations["pre"] = np.array([1.0, 2.0])
    block.segments[0].spiketrains[1].annotations["unit"] = 2.0
    ds = from_neo(block)
    assert ds["pre"].values.tolist() == [1, 2] and ds["pre"].dtype.kind == "i"


def test_bin_size_and_spikes_only_segment():
    from plastix.io import DEFAULT_BIN_SIZE, from_neo

    block = user_block()
    block.segments[0].analogsignals.pop(0)  # now both segments hold spikes only
    ds = from_neo(block)
    assert ds.attrs["dt"] == DEFAULT_BIN_SIZE
    ds = from_neo(block, bin_size=0.025)
    assert_allclose(ds["time"].values, [0, 0.025, 0, 0.025], atol=1e-15)
    # unit 1: 1, 12, 15 ms in [0, 25) and 41 ms in [25, 50): 3 and 1 spikes per 25 ms
    assert_allclose(ds["pre_activity"].values[:2, 0], [120.0, 40.0], rtol=1e-12)
    assert np.isnan(ds["post_activity"].values[:2]).all()  # no post data in segment 0



def test_a_bin_size_that_bins_nothing_is_named(rng, tmp_path):
    """`bin_size` bins spike trains without a signal; when every segment's activity is a
    signal it is not used, and a warning says so (it was ignored without a word)."""
    from plastix.io import from_neo

    path = save_record(continuous_record(rng), tmp_path / "rec.nix")
    with pytest.warns(UserWarning, match=r"rec\.nix: `bin_size` \(--bin-size\) 0\.05 s is "
                      r"not used: every segment's activity is a signal"):
        load_record(path, bin_size=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        from_neo(user_block(), bin_size=0.01)  # segment 1 holds spikes only: binned

def test_failed_write_keeps_previous_file(rng, tmp_path):
    from plastix.io import write_block

    path = save_record(continuous_record(rng), tmp_path / "rec.nix")
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_block("not a block", path)
    block = user_block()
    block.segments[0].spiketrains[0].annotations["unit"] = object()  # NIX cannot store it
    with pytest.raises(ValueError, match="Unknown type for value"):  # raised inside nixio
        write_block(block, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nix"]


def edge_record() -> object:
    """Uneven bins (a gap), a segment where no synapse was measured, odd id order, no decay."""
    w = np.full((4, 1, 2), np.nan)
    w[2:, 0, 1] = [0.3, 0.4]
    return make_record(
        np.arange(16.0).reshape(8, 2), np.arange(8.0)[:, None], w,
        time=[0, 0.1, 0.2, 0.5, 0.6, 0, 0.1, 0.2], weight_time=[0, 0.6, 0, 0.2], dt=0.1,
        pre=["b", "a"], post=["z"], segment=[0, 0, 0, 0, 0, 1, 1, 1],
        weight_segment=[0, 0, 1, 1], activity_units="a.u.", activity_kind="fluorescence")


@pytest.mark.parametrize("fmt", FORMATS)
def test_edge_record_round_trip(fmt, tmp_path):
    from plastix.io import to_neo

    ds = edge_record()
    block = to_neo(ds)
    seg0, seg1 = block.segments
    assert [s.name for s in seg0.irregularlysampledsignals] == ["pre_rate", "post_rate", "weight"]
    assert [s.name for s in seg1.analogsignals] == ["pre_rate", "post_rate"]
    assert "decay" not in block.annotations
    assert np.isnan(seg0.irregularlysampledsignals[2].magnitude).all()  # placeholder channel
    back = load_record(save_record(ds, tmp_path / f"edge.{fmt}"), allow_pickle=True)
    compare_records(ds, back)
    assert_array_equal(back["pre"].values, ["b", "a"])
    assert back["pre_activity"].attrs["units"] == "a.u."
    assert back["pre_activity"].attrs["kind"] == "fluorescence"


@pytest.mark.parametrize("fmt", ["nwb"])
def test_variables_outside_the_schema_survive(fmt, rng, tmp_path):
    ds = ann_record(rng)
    ds = ds.assign(loss=("weight_time", rng.random(ds.sizes["weight_time"]), {"units": "1"}))
    ds = ds.assign_coords(condition=("time", np.repeat(["a", "b"], ds.sizes["time"] // 2)))
    ds.attrs["codegen_target"] = "numpy"
    back = load_record(save_record(ds, tmp_path / f"extra.{fmt}"))
    compare_records(ds, back)
    assert "condition" in back.coords and back.attrs["codegen_target"] == "numpy"


def test_user_pairing_block():
    """Pairing experiments as a rig would store them: one synapse per segment, spikes only."""
    from plastix.io import from_neo
    from plastix.record import delta_weight

    neo, pq = _neo(), _pq()
    block = neo.Block(name="pairing")
    synapses = [(0, 0), (1, 0), (2, 1)]  # (pre, post) of each experiment
    lags = [10.0, -10.0, 10.0]  # ms, post minus pre
    before, after = [1.0, 2.0, 0.5], [1.3, 1.6, 0.8]
    for (q, o), lag, b, a in zip(synapses, lags, before, after, strict=True):
        seg = neo.Segment()
        pre_t = np.arange(60) * 1000.0 + 100.0  # 60 pairings at 1 Hz, in ms
        for role, unit, times in (("pre", q, pre_t), ("post", o, pre_t + lag)):
            st = neo.SpikeTrain(times * pq.ms, t_start=0 * pq.ms, t_stop=60 * pq.s)
            st.annotate(role=role, unit=unit)
            seg.spiketrains.append(st)
        seg.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
            [-60.0, 600.0] * pq.s, np.array([[b], [a]]), units="mV", name="weight",
            array_annotations={"pre": np.array([q]), "post": np.array([o])}))
        block.segments.append(seg)
    block.create_relationship()
    ds = from_neo(block, bin_size=0.5)
    assert ds.sizes["time"] == 3 * 120 and ds.attrs["dt"] == 0.5
    assert ds["weight"].attrs["units"] == "mV"
    dw = delta_weight(ds)  # one interval per experiment: after - before, NaN elsewhere
    expected = np.full((3, 2, 3), np.nan)
    for k, ((q, o), b, a) in enumerate(zip(synapses, before, after, strict=True)):
        expected[k, o, q] = a - b
    assert_allclose(dw.values, expected, rtol=1e-12, err_msg="float subtraction only")
    # every bin of experiment k falls in interval k (the pairing lies between the samples)
    assert_array_equal(ds["interval"].values, np.repeat([0, 2, 4], 120))
    # one pre spike per second: 1 spike in every other 0.5-s bin -> 2 Hz, and 0
    pre0 = ds["pre_activity"].values[:120, 0]
    assert_allclose(pre0, np.tile([2.0, 0.0], 60), rtol=0)
    assert np.isnan(ds["pre_activity"].values[:120, 1:]).all()  # other cells not recorded
    lag = ds["post_spike_time"].values[:60] - ds["pre_spike_time"].values[:60]
    assert_allclose(lag, 0.010, rtol=1e-9, err_msg="spike times kept in s (ms -> s rounding)")


def test_nwb_written_without_plastix_says_why(tmp_path):
    """neo.NWBIO drops annotations; the error explains it instead of only listing them."""
    import datetime

    from plastix._util.errors import SchemaError
    from plastix.io import from_neo, read_block

    block = user_block()
    block.annotations["session_start_time"] = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NWBIO's own notices
        _neo().io.NWBIO(str(tmp_path / "raw.nwb"), mode="w").write_block(block)
    raw = read_block(tmp_path / "raw.nwb")
    with pytest.raises(SchemaError, match=r"spike train 0 \('baseline  spiketrain0'\) has no "
                       r"annotations\['role'\].*read by neo\.NWBIO, which keeps neither"):
        from_neo(raw)


def test_truth_is_also_written_as_plain_block_annotations(tmp_path):
    """SPEC §9: simulations add the true rule and its parameters to Block.annotations."""
    from plastix.io import from_neo, read_block, to_neo, write_block
    from plastix.record import make_record, records_equal

    rng = np.random.default_rng(3)
    ds = make_record(rng.random((8, 2)), rng.random((8, 1)), rng.random((3, 1, 2)),
                     time=np.arange(8) * 0.5, weight_time=[0.0, 1.0, 2.0], dt=0.5,
                     truth={"rule": "error", "eta": 5.0, "decay": 1.0, "teacher": [1, 2]})
    block = to_neo(ds)
    assert block.annotations["true_rule"] == "error"
    assert block.annotations["true_eta"] == 5.0
    assert "true_teacher" not in block.annotations  # only scalars; the JSON keeps the rest
    back = from_neo(read_block(write_block(block, tmp_path / "t.nix")))
    assert records_equal(ds, back)


# ------------------------------------------------------------------ bad files and pickles


def _evil_pickle(path, marker):
    """A pickle whose unpickling creates ``marker`` (it runs ``open(marker, 'w')``)."""
    import pickle

    class Touch:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path.write_bytes(pickle.dumps(Touch()))
    return path


def test_a_pickle_is_refused_and_runs_no_code(tmp_path):
    from plastix._util.errors import UnsafeFileError
    from plastix.estimate import HebbianEstimator
    from plastix.io import read_block

    marker = tmp_path / "ran.txt"
    evil = _evil_pickle(tmp_path / "evil.pkl", marker)
    before = evil.read_bytes()
    for read in (load_record, read_block, lambda p: HebbianEstimator(decay=1.0).fit(p),
                 lambda p: HebbianEstimator(decay=1.0, streaming=True).fit(p)):
        with pytest.raises(UnsafeFileError, match=r"unpickling runs any code the file "
                           r"contains\. If you trust the file, pass `allow_pickle` "
                           r"\(allow_pickle=True in Python\)"):
            read(evil)
        assert not marker.exists()
    assert evil.read_bytes() == before
    # the pickle really runs code: allowed, it creates the file (then is not a block)
    with pytest.raises(TypeError, match="`block` must be a neo.Block"):
        load_record(evil, allow_pickle=True)
    assert marker.exists()


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", ["empty", "half", "scrambled", "garbage", "misnamed"])
@pytest.mark.parametrize("fmt", ["nc", "nix", "nwb", "pkl"])
def test_bad_files_give_one_error_and_stay_byte_identical(case, fmt, rng, tmp_path):
    """Every bad file is refused with one FileFormatError and left exactly as it was."""
    from plastix._util.errors import FileFormatError
    from plastix.estimate import HebbianEstimator
    from plastix.io import read_block

    good = save_record(ann_record(rng), tmp_path / f"good.{fmt}").read_bytes()
    scrambled = bytearray(good)
    scrambled[600:3000] = rng.bytes(2400)
    other = "nix" if fmt != "nix" else "nwb"
    content = {"empty": b"", "half": good[: len(good) // 2], "scrambled": bytes(scrambled),
               "garbage": b"not a record\n" * 100}
    if case == "misnamed":
        content[case] = save_record(ann_record(rng), tmp_path / f"o.{other}").read_bytes()
    path = tmp_path / f"bad.{fmt}"
    path.write_bytes(content[case])
    sha = _sha(path)
    readers = [lambda p: load_record(p, allow_pickle=True)]
    if fmt != "pkl":  # the estimator reads no pickle
        readers.append(lambda p: HebbianEstimator(decay=1.0, streaming=True).fit(p))
    if fmt != "nc":
        readers.append(lambda p: read_block(p, allow_pickle=True))
    for read in readers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(FileFormatError, match=rf"^cannot read 'bad\.{fmt}' as "):
                read(path)
    assert _sha(path) == sha
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {f"good.{fmt}", f"bad.{fmt}"} | ({f"o.{other}"} if case == "misnamed" else set()))


def test_a_directory_named_like_a_record_is_refused(tmp_path):
    from plastix._util.errors import FileFormatError

    (tmp_path / "x.nc").mkdir()
    with pytest.raises(FileFormatError, match=r"'x\.nc' as NetCDF: it is a directory"):
        load_record(tmp_path / "x.nc")
