"""Inputs written by other tools in plastix's conventions: plain-Neo NIX files, pynapple.

Each test builds its input in ``tmp_path`` with the other tool's own API (never
with plastix's writers) and checks the numbers plastix reads, or the one-line
refusal it answers with.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from plastix.io import load_record

pytest.importorskip("neo")
pytest.importorskip("nixio")


def _write_nix(tmp_path, block, name="rig.nix"):
    """``block`` written with plain ``neo.NixIO`` (not plastix), its path returned."""
    import neo

    path = tmp_path / name
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    return path


def _segment(*, unit_type=int, weight_ids=np.array, t0=0.0):
    """One segment: pre units 1, 2 and post unit 7 as spike trains (4 spikes each, in s),
    and a dimensionless ``weight`` AnalogSignal at 1 Hz for synapses (1, 7) and (2, 7)."""
    import neo
    import quantities as pq

    seg = neo.Segment()
    for role, unit, spikes in (("pre", 1, [0.5, 1.5, 2.5, 3.5]), ("pre", 2, [0.1, 0.2, 0.3, 0.4]),
                               ("post", 7, [1.0, 2.0, 3.0, 3.9])):
        st = neo.SpikeTrain((t0 + np.array(spikes)) * pq.s, t_start=t0 * pq.s,
                            t_stop=(t0 + 4.0) * pq.s)
        st.annotate(role=role, unit=unit_type(unit))
        seg.spiketrains.append(st)
    seg.analogsignals.append(neo.AnalogSignal(
        np.array([[1.0, 2.0], [1.5, 2.5], [2.0, 3.0], [2.5, 3.5]]), units="dimensionless",
        sampling_rate=1 * pq.Hz, t_start=t0 * pq.s, name="weight",
        array_annotations={"pre": weight_ids([1, 2]), "post": weight_ids([7, 7])}))
    return seg


@pytest.mark.parametrize(("unit_type", "weight_ids"), [
    (int, lambda ids: np.array([str(i) for i in ids])),  # trains int, weight ids str
    (str, np.array),  # trains str, weight ids int
    (np.int64, lambda ids: np.array([str(i) for i in ids])),
], ids=["int-units-str-synapses", "str-units-int-synapses", "int64-units-str-synapses"])
def test_unit_ids_of_mixed_types_name_one_unit(tmp_path, unit_type, weight_ids):
    """A rig file whose spike trains say unit 1 and whose weight signal says "1": one unit."""
    import neo

    block = neo.Block(name="rig")
    block.segments.append(_segment(unit_type=unit_type, weight_ids=weight_ids))
    ds = load_record(_write_nix(tmp_path, block))
    assert_array_equal(ds["pre"].values, [1, 2])
    assert_array_equal(ds["post"].values, [7])
    # weight[t, post 7, pre 1] is column 0 of the signal, pre 2 column 1
    assert_array_equal(ds["weight"].values[:, 0, :], [[1.0, 2.0], [1.5, 2.5], [2.0, 3.0],
                                                      [2.5, 3.5]])
    assert_array_equal(np.unique(ds["pre_spike_unit"].values), [1, 2])
    # 4 spikes in 4 s for each pre unit: 1 Hz on average over 0.01 s bins (exact counts)
    assert_allclose(np.nanmean(ds["pre_activity"].values, axis=0), [1.0, 1.0], rtol=1e-12)


def test_mixed_ids_that_are_not_ints_become_strings(tmp_path):
    """Ids "a" and 7 in one role cannot all be ints: every id is read as text."""
    import neo

    block = neo.Block(name="rig")
    seg = _segment()
    seg.spiketrains[0].annotations["unit"] = "a"
    seg.analogsignals[0].array_annotations["pre"] = np.array(["a", "2"])
    block.segments.append(seg)
    ds = load_record(_write_nix(tmp_path, block))
    assert_array_equal(ds["pre"].values, ["2", "a"])
    assert_array_equal(ds["weight"].values[0, 0, :], [2.0, 1.0])  # pre "2" then "a"


def test_empty_segment_is_left_out(tmp_path):
    """An empty Segment between two sessions holds no data: left out, the others keep
    their numbers (0 and 2, their places in the block)."""
    import neo

    block = neo.Block(name="rig")
    block.segments.extend([_segment(), neo.Segment(name="pause"), _segment(t0=10.0)])
    ds = load_record(_write_nix(tmp_path, block))
    assert_array_equal(np.unique(ds["segment"].values), [0, 2])
    assert_array_equal(np.unique(ds["weight_segment"].values), [0, 2])
    assert_allclose(ds["weight_time"].values, [0, 1, 2, 3, 10, 11, 12, 13], atol=1e-12)


def test_block_of_empty_segments_is_refused(tmp_path):
    import neo

    from plastix._util.errors import SchemaError

    block = neo.Block(name="rig")
    block.segments.extend([neo.Segment(), neo.Segment()])
    with pytest.raises(SchemaError, match=r"^block: all 2 Segment\(s\) are empty; expected "
                       r"signals .* found no AnalogSignal, IrregularlySampledSignal or "
                       r"SpikeTrain\."):
        load_record(_write_nix(tmp_path, block))


# ------------------------------------------------------------------ pynapple


def _groups(nap):
    """pre units 3, 5 and post unit 11 on [0, 4] s, with spikes at known times."""
    ep = nap.IntervalSet(0.0, 4.0)
    pre = nap.TsGroup({3: nap.Ts(np.array([0.5, 1.5, 2.5, 3.5])),
                       5: nap.Ts(np.array([0.25, 0.75, 1.25, 3.25]))}, time_support=ep)
    post = nap.TsGroup({11: nap.Ts(np.array([1.0, 2.0, 3.0]))}, time_support=ep)
    return pre, post


def test_tsd_of_weights_is_one_synapse():
    nap = pytest.importorskip("pynapple")
    import pandas as pd

    from plastix.io import from_pynapple

    pre, post = _groups(nap)
    weights = nap.Tsd(t=np.array([0.0, 2.0, 4.0]), d=np.array([1.0, 1.5, 2.0]))
    rec = from_pynapple(pre, post, weights, pd.DataFrame({"pre_unit": [5], "post_unit": [11]}))
    assert_array_equal(rec["weight"].values[:, 0, 1], [1.0, 1.5, 2.0])  # (post 11, pre 5)
    assert np.isnan(rec["weight"].values[:, 0, 0]).all()  # pre 3: no column, NaN never 0


def test_synapse_ids_written_as_text_match_int_units():
    """A synapse table read from a CSV of text ids names the TsGroup's int units."""
    nap = pytest.importorskip("pynapple")
    import pandas as pd

    from plastix.io import from_pynapple

    pre, post = _groups(nap)
    weights = nap.TsdFrame(t=np.array([0.0, 2.0]), d=np.array([[1.0, 2.0], [3.0, 4.0]]))
    rec = from_pynapple(pre, post, weights,
                        pd.DataFrame({"pre_unit": ["5", "3"], "post_unit": ["11", "11"]}))
    assert_array_equal(rec["pre"].values, [3, 5])
    assert_array_equal(rec["weight"].values[:, 0, :], [[2.0, 1.0], [4.0, 3.0]])


def test_bins_outside_a_groups_time_support_are_not_recorded():
    """A TsGroup defined on [0, 2] s only says nothing about [2, 4] s: NaN there, not 0 Hz."""
    nap = pytest.importorskip("pynapple")
    import pandas as pd

    from plastix.io import from_pynapple

    _, post = _groups(nap)
    pre = nap.TsGroup({3: nap.Ts(np.array([0.5, 1.5]))}, time_support=nap.IntervalSet(0, 2))
    weights = nap.TsdFrame(t=np.array([0.0, 4.0]), d=np.ones((2, 1)))
    rec = from_pynapple(pre, post, weights, pd.DataFrame({"pre_unit": [3], "post_unit": [11]}),
                        bin_size=0.5)
    assert_allclose(rec["time"].values, np.arange(9) * 0.5)  # 0 .. 4 s
    # one spike in each of the bins at 0.5 and 1.5 s: 2 Hz; [2, 4] s is outside the support
    assert_array_equal(rec["pre_activity"].values[:, 0],
                       [0, 2, 0, 2, np.nan, np.nan, np.nan, np.nan, np.nan])
    # post, defined on [0, 4] s: the last bin, [4, 4.5) s, lies outside its support too
    assert_array_equal(rec["post_activity"].values[:, 0], [0, 0, 2, 0, 2, 0, 2, 0, np.nan])


def test_a_spike_is_counted_once_where_an_epochs_last_bin_overhangs_the_next():
    """Epochs [0, 1.005] and [1.006, 2] s in 0.01 s bins: epoch 0's last bin, [1.0, 1.01),
    reaches into epoch 1; the spike at 1.007 s belongs to epoch 1 only."""
    nap = pytest.importorskip("pynapple")
    import pandas as pd

    from plastix.io import from_pynapple

    ep = nap.IntervalSet(0.0, 2.0)
    pre = nap.TsGroup({1: nap.Ts(np.array([0.3, 1.007]), time_support=ep)}, time_support=ep)
    post = nap.TsGroup({7: nap.Ts(np.array([0.5]), time_support=ep)}, time_support=ep)
    weights = nap.TsdFrame(t=np.array([0.0, 1.0, 1.5]), d=np.ones((3, 1)))
    rec = from_pynapple(pre, post, weights, pd.DataFrame({"pre_unit": [1], "post_unit": [7]}),
                        epochs=nap.IntervalSet(start=[0.0, 1.006], end=[1.005, 2.0]),
                        bin_size=0.01)
    counts = rec["pre_activity"].values[:, 0] * 0.01
    assert_allclose(counts.sum(), 2.0, rtol=1e-12)  # two spikes, each counted once
    hit = np.flatnonzero(counts)
    assert_array_equal(rec["segment"].values[hit], [0, 1])
    assert_allclose(rec["time"].values[hit], [0.3, 1.006], atol=1e-12)


def test_epochs_in_ms_against_spikes_in_s_are_flagged():
    """pynapple epochs in ms against spikes in s: refused with both spans and the fix (it
    would bin 1000 times the data's time); mostly empty epochs are warned about; epochs
    that hold no weight sample are refused in one line."""
    nap = pytest.importorskip("pynapple")
    import pandas as pd

    from plastix.io import from_pynapple

    ep = nap.IntervalSet(0.0, 2.0)
    pre = nap.TsGroup({1: nap.Ts(np.array([0.3, 1.2]), time_support=ep)}, time_support=ep)
    post = nap.TsGroup({7: nap.Ts(np.array([0.5]), time_support=ep)}, time_support=ep)
    weights = nap.TsdFrame(t=np.array([0.0, 1.0, 2.0]), d=np.ones((3, 1)))
    syn = pd.DataFrame({"pre_unit": [1], "post_unit": [7]})
    with pytest.raises(ValueError, match=r"`epochs`: .*2000 s.* 0-2 s.*divide them by 1000"):
        from_pynapple(pre, post, weights, syn, epochs=nap.IntervalSet(0.0, 2000.0), bin_size=0.5)
    with pytest.warns(UserWarning, match=r"`epochs`: the 1 row of the epochs IntervalSet "
                      r"\(0-5 s\) last 5 s in all, but .* within 0-2 s, so 60% "):
        from_pynapple(pre, post, weights, syn, epochs=nap.IntervalSet(0.0, 5.0), bin_size=0.5)
    with pytest.raises(ValueError, match=r"`epochs`: no weight sample lies in any of the 1 row "
                       r"of the epochs IntervalSet \(500-800 s\)\. Found: weights sampled at "
                       r"0-2 s\. .*\(epochs=None\)\.$"):
        from_pynapple(pre, post, weights, syn, epochs=nap.IntervalSet(500.0, 800.0), bin_size=0.5)


def test_spike_trains_of_a_lazily_opened_nix_file_are_binned_when_read(tmp_path):
    """A rig's NIX file of spike trains (two segments, bins of 50 ms): opened lazily, its
    rates are binned only for the rows read, and the record read whole is the one
    load_record gives, to the byte."""
    import neo
    import xarray as xr

    from plastix.io import open_record

    block = neo.Block()
    block.segments += [_segment(), _segment(t0=10.0)]
    path = _write_nix(tmp_path, block)
    whole = load_record(path, bin_size=0.05)
    lazy = open_record(path)  # the default bin (10 ms): a lazily opened file takes no options
    try:
        assert not any(lazy[v].variable._in_memory for v in ("pre_activity", "post_activity"))
        again = load_record(path)
        xr.testing.assert_identical(lazy.load(), again)
        assert_allclose(np.nansum(again["pre_activity"].values) * 0.01, 16.0)  # 2 x 8 spikes
    finally:
        lazy.close()
    assert_allclose(np.nansum(whole["pre_activity"].values) * 0.05, 16.0)
