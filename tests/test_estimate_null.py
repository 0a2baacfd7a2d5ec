"""The null of spike-time kernels: the pooled-shift null against the full circular-shift null.

:func:`plastix.estimate._spikes.spike_null` builds each replicate of the pooled
null from per-train parts of the three inner products; these tests check that
every replicate is the statistic recomputed from scratch on the spikes of its
configuration, that the p-value is calibrated on records without timing
dependence, that it agrees with the full null where there is an effect, and
that a seed fixes every number.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import binom

from plastix.estimate import HebbianEstimator
from plastix.estimate._spikes import ShiftNull, SpikeTerms, pool_size, spike_null
from plastix.estimate._stats import BoundKernel, interval_stats, layout_of
from plastix.estimate.intervals import _concat_cos
from plastix.estimate.synthetic import simulate_spike_record
from plastix.kernels import get_kernel
from plastix.record import make_record

TAU = 0.05


def _record(seed: int):
    """Two segments (intervals of unequal length), 6 presynaptic units (unit 5 silent in
    segment 0), 2 postsynaptic ones partly driven by the inputs, a missing weight sample."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 8, 0.01)
    pt = rng.uniform(0, 8, 300)
    pu = rng.integers(0, 6, 300)
    pu[(pu == 5) & (pt < 4)] = 4
    driven = pt[rng.random(pt.size) < 0.3] + 0.01
    qt = np.concatenate([rng.uniform(0, 8, 120), driven[driven < 8]])
    qu = rng.integers(0, 2, qt.size)
    wt = np.array([0.0, 1.0, 2.0, 3.5, 4.0, 5.5, 6.0, 7.5])
    w = rng.normal(0, 1, (wt.size, 2, 6))
    w[2, 0, 1] = np.nan
    return make_record(np.zeros((t.size, 6)), np.zeros((t.size, 2)), w, time=t,
                       segment=(t >= 4).astype(int), weight_time=wt,
                       weight_segment=(wt >= 4).astype(int), dt=0.01,
                       pre_spikes={"time": pt, "unit": pu, "segment": (pt >= 4).astype(int)},
                       post_spikes={"time": qt, "unit": qu, "segment": (qt >= 4).astype(int)})


def _setup(rec):
    lay = layout_of(rec)
    terms = SpikeTerms(rec, lay, get_kernel("stdp"), {"tau": TAU})
    h_obs = terms()
    stats = interval_stats(rec, lay, kernel=BoundKernel("product", None), lag=0, chunk_bins=64,
                           h_override=h_obs)["stats"]
    return lay, terms, h_obs, stats


def _direct(rec, lay, terms, stats, times, gamma):
    """The statistic recomputed from scratch on presynaptic spike times ``times``."""
    shifter = ShiftNull(rec)
    h = terms((times, shifter.units, shifter.segments))
    w = np.asarray(rec["weight"].values)
    w0, w1 = w[lay.k], w[lay.k + 1]
    ok = np.isfinite(w0) & np.isfinite(w1)
    h = np.where(ok, h, 0.0)
    d = np.where(ok, w1 - w0, 0.0)
    wd = np.where(ok, w0, 0.0) * lay.duration[:, None, None]
    sums = [np.sum(d * h), np.sum(wd * h), np.sum(h * h), *stats.sum(0)[3:]]
    return float(_concat_cos(np.array(sums), gamma))


@pytest.mark.parametrize("method", ["pooled-shift", "shift"])
def test_each_replicate_is_the_statistic_recomputed_on_its_spikes(method):
    """Pooled: each replicate picks, train by train, one of m + 1 versions (0 = observed);
    summing the chosen per-train parts must equal H recomputed by the kernel on exactly
    those spikes (the draws are replayed from the same seed)."""
    rec = _record(0)
    lay, terms, h_obs, stats = _setup(rec)
    gamma, n_null = 0.3, 25
    null, m = spike_null(rec, lay, terms, h_obs, stats, gamma, n_null, method,
                         np.random.default_rng(7))
    rng = np.random.default_rng(7)
    shifter = ShiftNull(rec)
    trains = shifter.trains(terms.segs)
    # 11 trains hold a spike (unit 5 is silent in segment 0)
    assert trains.size == 11
    assert m == (n_null if method == "shift" else pool_size(11, n_null)) and (
        method == "shift" or m < n_null)
    versions = [shifter.times] + [shifter.draw(rng)[0] for _ in range(m)]
    if method == "shift":
        want = [_direct(rec, lay, terms, stats, v, gamma) for v in versions[1:]]
    else:
        pick = rng.integers(0, m + 1, size=(n_null, trains.size))
        seg_pos = np.searchsorted(terms.segs, shifter.segments)
        train_of = np.searchsorted(trains, seg_pos * shifter.n_pre + shifter.units)
        stack = np.stack(versions)
        assert len(np.unique(pick)) == m + 1  # every member, the observed one included
        want = [_direct(rec, lay, terms, stats, stack[pick[b, train_of], np.arange(
            train_of.size)], gamma) for b in range(n_null)]
    assert_allclose(null, want, rtol=1e-12, atol=1e-14)
    assert np.unique(np.round(null, 12)).size > n_null // 2  # the replicates do differ


def test_pool_size():
    # one train: as many passes as replicates (the full null); many: the floor of 4
    assert pool_size(1, 199) == 199
    assert pool_size(1000, 199) == 4
    for n_trains in (2, 3, 5, 8):
        m = pool_size(n_trains, 199)
        assert (m + 1) ** n_trains >= 100 * 200 and (m == 4 or m ** n_trains < 100 * 200)


def _p_values(rule: str, n: int, seed0: int, **kw) -> np.ndarray:
    return np.array([HebbianEstimator(kernel="stdp", decay=0.0, n_boot=10, n_null=99,
                                      rng=r, progress=False).fit(
        simulate_spike_record(40, 1, duration=10.0, rule=rule, noise=0.5, rng=seed0 + r,
                              **kw)).p_value_ for r in range(n)])


def _check_calibrated(p: np.ndarray) -> None:
    """p < 0.05 at most 5 % (up to the binomial 99.9 % quantile), and p < 0.5 about half
    the time (a null that never moves the trains, or moves the observation too, fails)."""
    n = p.size
    print(f"\n[calibration] pooled null, static weights: p < 0.05 in {np.sum(p < 0.05)} of {n}, "
          f"p < 0.5 in {np.sum(p < 0.5)}")
    assert np.sum(p < 0.05) <= binom.ppf(0.999, n, 0.05), np.sort(p)[:20]
    lo, hi = binom.ppf([0.0005, 0.9995], n, 0.5)
    assert lo <= np.sum(p < 0.5) <= hi, np.sum(p < 0.5)


def test_pooled_null_is_calibrated_without_timing_dependence():
    """Static weights (changes independent of the spikes), 40 trains: the pooled null
    (4 shifted passes) rejects at the nominal rate."""
    _check_calibrated(_p_values("static", 150, 30_000))


@pytest.mark.slow
def test_pooled_null_is_calibrated_without_timing_dependence_many():
    _check_calibrated(_p_values("static", 1000, 40_000))


def test_pooled_and_full_null_agree_on_an_effect():
    """Records with an STDP effect: a clear one sits at the p floor of both nulls; weak ones
    get p-values of the same size (the pooled null keeps about 1/(m + 1) of the effect in
    its replicates, so its p is somewhat larger on average)."""
    def fits(rec):
        return {null: HebbianEstimator(kernel="stdp", decay=0.0, n_boot=10, n_null=199,
                                       null=null, rng=1, progress=False).fit(rec)
                for null in ("pooled-shift", "shift")}

    strong = fits(simulate_spike_record(100, 1, duration=20.0, noise=0.1, rng=5))
    assert strong["pooled-shift"].null_passes_ == 4 and strong["shift"].null_passes_ == 199
    for null in ("pooled-shift", "shift"):
        assert strong[null].p_value_ == pytest.approx(2 / 200)
    for seed in (3, 4, 6):
        weak = fits(simulate_spike_record(100, 1, duration=20.0, noise=1.0, rng=seed))
        p_pool, p_full = weak["pooled-shift"].p_value_, weak["shift"].p_value_
        assert p_full < 0.3 and abs(p_pool - p_full) < 0.15, (seed, p_pool, p_full)


def test_same_seed_same_null():
    rec = simulate_spike_record(30, 2, duration=8.0, rng=2)
    fit = [HebbianEstimator(kernel="stdp", decay=0.0, n_boot=20, n_null=39, rng=seed,
                            progress=False).fit(rec) for seed in (4, 4, 5)]
    np.testing.assert_array_equal(fit[0].null_, fit[1].null_)
    assert fit[0].p_value_ == fit[1].p_value_
    assert not np.array_equal(fit[0].null_, fit[2].null_)
    assert fit[0].result_.attrs["null"] == "pooled-shift"
    assert fit[0].result_.attrs["null_passes"] == 4
    assert "pooled from 4 shifted passes" in fit[0].summary()
