"""Weights inferred from spikes, probe 5: a post spike on a window's right edge, windows
that leave the cross-fitted estimate nothing, and the window refusal's fix."""

from __future__ import annotations

import numpy as np
import pytest

from plastix.estimate.infer import estimate_from_spikes, infer_weights
from plastix.estimate.synthetic import simulate_spike_record
from plastix.record import make_record

DT, SPAN = 0.01, 20.5


def _edge_record():
    """2 pre units over 20.5 s; the post unit fires in [0, 10) and once at exactly 20 s,
    the right edge of the last 10 s window."""
    rng = np.random.default_rng(5)
    pre_t = np.sort(rng.uniform(0, SPAN, 800))
    pre_u = np.arange(800) % 2
    post_t = np.append(np.sort(rng.uniform(0, 10, 100)), 20.0)
    post_u = np.zeros(post_t.size, int)
    n = int(round(SPAN / DT))

    def binned(t, u, k):
        a = np.zeros((n, k))
        np.add.at(a, (np.minimum((t / DT).astype(int), n - 1), u), 1)
        return a

    return make_record(binned(pre_t, pre_u, 2), binned(post_t, post_u, 1),
                       np.full((1, 1, 2), np.nan), time=np.arange(n) * DT,
                       weight_time=[SPAN / 2], dt=DT, pre_spikes={"time": pre_t, "unit": pre_u},
                       post_spikes={"time": post_t, "unit": post_u})


@pytest.mark.parametrize("method", ["ccg", "glm"])
def test_a_post_spike_on_the_last_windows_edge_fires_in_no_window(method):
    out = infer_weights(_edge_record(), method=method, window=10.0, progress=False)
    assert np.isnan(out["weight"].values[1]).all() and np.isnan(out["weight_sem"].values[1]).all()
    assert np.isfinite(out["weight"].values[0]).all()


@pytest.fixture(scope="module")
def spikes():
    return simulate_spike_record(n_pre=4, n_post=1, duration=30.0, rng=1)


def test_a_window_shorter_than_two_cross_fit_blocks_is_refused(spikes):
    with pytest.raises(ValueError, match=r"`window` \(1 s\) must be at least 2 s when "
                       r"estimating from spikes"):
        estimate_from_spikes(spikes, decay=0.0, infer={"window": 1.0})


def test_a_window_longer_than_half_the_segment_is_refused(spikes):
    with pytest.raises(ValueError, match=r"`window` \(16 s\) leaves at most one window in the "
                       r"longest segment \(30 s\).*at most 15 s"):
        estimate_from_spikes(spikes, decay=0.0, infer={"window": 16.0})


def test_a_window_inside_the_lag_window_gets_a_fix_in_seconds(spikes):
    with pytest.raises(ValueError, match=r"use a `window` of several seconds \(e\.g\. 10 s\)"):
        infer_weights(spikes, window=0.03)
