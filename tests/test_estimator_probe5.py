"""Estimator edge cases, probe 5: NaN spike times, an STDP time constant in the wrong unit,
a lag as long as the intervals, and an interval that contains its estimate to the bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from plastix._util.errors import SchemaError
from plastix.estimate import HebbianEstimator
from plastix.estimate.synthetic import simulate_spike_record, simulate_synthetic
from plastix.record import make_record


def _with_spikes(ds, pre_time):
    return make_record(ds["pre_activity"].values, ds["post_activity"].values, ds["weight"].values,
                       time=ds["time"].values, weight_time=ds["weight_time"].values,
                       dt=float(ds.attrs["dt"]), activity_units="1", activity_kind="count",
                       decay=0.0,
                       pre_spikes={"time": pre_time, "unit": np.r_[ds["pre_spike_unit"].values,
                                                                  0][:pre_time.size]},
                       post_spikes={"time": ds["post_spike_time"].values,
                                    "unit": ds["post_spike_unit"].values})


def test_a_nan_spike_time_is_refused_by_the_validator_naming_it():
    ds = simulate_spike_record(n_pre=4, n_post=1, duration=20, rng=3)
    with pytest.raises(SchemaError, match=r"`pre_spike_time` must hold finite times; 1 of its"):
        _with_spikes(ds, np.r_[ds["pre_spike_time"].values, np.nan])


def test_an_stdp_tau_in_the_wrong_unit_is_refused_not_allocated():
    ds = simulate_spike_record(n_pre=4, n_post=1, duration=20, rng=3)
    est = HebbianEstimator(kernel="stdp", stdp_tau=1e-9, n_boot=99, n_null=0, rng=0,
                           progress=False)
    with pytest.raises(ValueError, match=r"`stdp_tau` = 1e-09 .* too short"):
        est.fit(ds)


def test_a_lag_as_long_as_the_intervals_is_named_as_the_cause():
    ds = simulate_synthetic(rule="hebbian", n_pre=6, n_post=3, n_intervals=12,
                            bins_per_interval=20, rng=1, known_decay=True)
    with pytest.warns(Warning, match=r"no more than the lag \(20 bins\)") as got:
        HebbianEstimator(kernel="lagged", lag=20, n_boot=99, n_null=0, rng=0,
                         progress=False).fit(ds)
    assert not any("obs_intervals" in str(w.message) for w in got)


@pytest.mark.parametrize("n_k", [2, 3, 4, 12])
def test_the_interval_contains_its_estimate_to_the_last_bit(n_k):
    for seed in range(20):
        rng = np.random.default_rng(seed)
        pre, post = rng.standard_normal((n_k * 20, 4)), rng.standard_normal((n_k * 20, 2))
        w = 1 + np.cumsum(0.1 * rng.standard_normal((n_k + 1, 2, 4)), axis=0)
        ds = make_record(pre, post, w, time=np.arange(n_k * 20) * 0.01,
                         weight_time=np.arange(n_k + 1) * 0.2, decay=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = HebbianEstimator(n_boot=200, n_null=0, rng=0, progress=False).fit(ds)
        assert est.ci_[0] <= est.alignment_ <= est.ci_[1], (seed, est.alignment_, est.ci_)


def test_one_interval_prints_no_interval_and_judges_no_emergence():
    rng = np.random.default_rng(0)
    pre, post = rng.standard_normal((20, 4)), rng.standard_normal((20, 2))
    w = 1 + np.cumsum(0.1 * rng.standard_normal((2, 2, 4)), axis=0)
    ds = make_record(pre, post, w, time=np.arange(20) * 0.01, weight_time=[0.0, 0.2], decay=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HebbianEstimator(n_boot=200, n_null=0, rng=0, progress=False).fit(ds)
    text = est.summary()
    assert "(no interval: only 1 weight interval" in text and "CI" not in text
    assert np.isnan(est.pooled_ci_).all() and "BCa" not in text
    assert "homeostatic balance" not in text
