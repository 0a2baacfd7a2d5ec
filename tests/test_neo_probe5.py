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
