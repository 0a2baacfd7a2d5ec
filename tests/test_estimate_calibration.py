"""Calibration of the estimator on data with a known rule (plastix.estimate.synthetic).

Truth: the population value of the estimand,
``θ = E⟨lr g, H⟩ / √((E‖lr g‖² + n_syn σ² Δt) E‖H‖²)``, from the true learning
signal ``g`` and the known weight-noise variance on a long independent run
(:func:`population_alignment`); 0 for the null rule.

The configurations keep ``lr · C`` well below the decay (``lr = 0.25``,
``γ = 4/s``), so the weights forget their past within a few intervals.  Closer
to the Hebbian instability (``lr λ_max(C) → γ``) the weight norm becomes a
slow, heavy-tailed multiplicative process; a 200-interval record then holds
too few independent stretches for any interval bootstrap, and we measured
coverage of 0.84 (``lr = 0.5, γ = 2/s, 50 bins``) there: records of such
processes need more intervals.

Thresholds (binomial rationale):
* coverage of a nominal 95 % interval over n = 400 replicates has SD
  √(0.95·0.05/400) = 1.1 %; the target is 95 % ± 2 % (±1.8 SD).  The seeds are
  fixed, so each figure is one measurement, the same at every run;
* the false "hebbian" rate of a correct two-sided test at α = 0.05 is ≤ 2.5 %;
  the test requires ≤ 5 % and prints the Clopper–Pearson 95 % interval of the rate;
* records that cannot carry a verdict (2–5 intervals) are ``indeterminate``
  always; records with few synapses are judged, and on null data are called
  Hebbian no more often than the 5 % allowed.

Spike trains (:func:`simulate_spike_record`: Poisson inputs at 15 Hz, weights every
1 s following the pair-STDP term plus noise, or static weights plus noise): the
truth of a static record is 0 (its weight changes are noise independent of
``H``); that of an STDP record is ``lr √E‖H‖² / √(lr² E‖H‖² + n_syn σ²)`` per
interval, with ``E‖H‖²`` from long independent records.
"""

from __future__ import annotations

import math
from functools import cache, partial

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from plastix.estimate import HebbianEstimator
from plastix.estimate.synthetic import (
    SyntheticConfig,
    fit_linear_rule,
    fit_replicates,
    population_alignment,
    simulate_spike_record,
    simulate_synthetic,
)

BASE = dict(n_pre=20, n_post=10, n_intervals=200, bins_per_interval=20, lr=0.25, decay=4.0,
            noise=0.05)
TINY = dict(n_pre=6, n_post=4, n_intervals=120, bins_per_interval=20, lr=0.25, decay=4.0,
            noise=0.05, n_burn=60)


@cache
def _truth(rule: str, tiny: bool) -> float:
    cfg = SyntheticConfig(rule=rule, **(TINY if tiny else BASE))
    return population_alignment(cfg, n_intervals=20_000 if tiny else 40_000, rng=12345)


def _replicates(rule: str, n: int, *, tiny: bool, n_boot: int, n_null: int, seed0: int):
    """Replicate r: record seed ``seed0 + r``, estimator seed ``r`` (fit_replicates)."""
    cfg = SyntheticConfig(rule=rule, **(TINY if tiny else BASE))
    return fit_replicates(partial(simulate_synthetic, cfg), n, seed0=seed0,
                          estimator=dict(decay=cfg.decay, n_boot=n_boot, n_null=n_null))


def _coverage(ests, theta):
    return float(np.mean([e.ci_[0] <= theta <= e.ci_[1] for e in ests]))


# ------------------------------------------------------------------ fast (default) versions


@pytest.mark.parametrize("rule", ["hebbian", "null"])
def test_coverage_small(rule):
    n = 30
    theta = _truth(rule, True)
    cov = _coverage(_replicates(rule, n, tiny=True, n_boot=300, n_null=0, seed0=500), theta)
    lo = binom.ppf(0.005, n, 0.95) / n  # 0.5 % quantile of the count under exact coverage
    assert cov >= lo, f"coverage {cov:.3f} of θ={theta:.3f} over {n} replicates < {lo:.3f}"


def test_false_hebbian_rate_small():
    n = 30
    ests = _replicates("null", n, tiny=True, n_boot=200, n_null=59, seed0=900)
    rate = np.mean([e.verdict_ == "hebbian" for e in ests])
    # at most 5 % allowed; 5 or more of 30 has probability 1.6 % under a 5 % rate
    assert rate <= 4 / 30, f"false 'hebbian' rate {rate:.3f} over {n} null replicates"


# ------------------------------------------------------------------ slow (make test-slow)


def _rate_line(what: str, k: int, n: int) -> str:
    ci = binomtest(k, n).proportion_ci(0.95)
    return f"{what} {k / n:.3f} ({k}/{n}; 95% CI [{ci.low:.3f}, {ci.high:.3f}])"


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["hebbian", "anti_hebbian", "error", "null"])
def test_coverage(rule):
    n = 400
    theta = _truth(rule, False)
    ests = _replicates(rule, n, tiny=False, n_boot=1000, n_null=0, seed0=10_000)
    cov = _coverage(ests, theta)
    mean = float(np.mean([e.alignment_ for e in ests]))
    block = float(np.mean([e.block_length_ for e in ests]))
    print(f"\n[calibration] {rule}: coverage {cov:.4f} of theta={theta:.4f} over {n} "
          f"replicates, mean estimate {mean:.4f}, mean block {block:.1f}")
    assert 0.93 <= cov <= 0.97, (
        f"{rule}: coverage {cov:.3f} of θ={theta:.4f} (mean estimate {mean:.4f}) over {n} "
        "replicates is outside 95 % ± 2 %")


@pytest.mark.slow
def test_false_hebbian_rate():
    n = 300
    ests = _replicates("null", n, tiny=False, n_boot=1000, n_null=99, seed0=20_000)
    k = int(np.sum([e.verdict_ == "hebbian" for e in ests]))
    anti = int(np.sum([e.verdict_ == "anti_hebbian" for e in ests]))
    p_small = float(np.mean([e.p_value_ < 0.05 for e in ests]))
    print(f"\n[calibration] null: {_rate_line('false hebbian', k, n)}, "
          f"{_rate_line('false anti_hebbian', anti, n)}, p < 0.05 in {p_small:.3f}")
    assert k / n <= 0.05, f"false 'hebbian' rate {k / n:.3f} over {n} null replicates > 5 %"


@pytest.mark.slow
@pytest.mark.parametrize("n_intervals", [2, 3, 5])
def test_few_intervals_are_indeterminate(n_intervals):
    """Strongly Hebbian records too short to judge: never a verdict, always the reason."""
    cfg = SyntheticConfig(rule="hebbian", **{**BASE, "n_intervals": n_intervals})
    for r in range(20):
        est = HebbianEstimator(decay=cfg.decay, n_boot=300, n_null=59, rng=r,
                               progress=False).fit(simulate_synthetic(cfg, rng=50_000 + r))
        assert est.verdict_ == "indeterminate" and "weight interval" in est.verdict_reason_


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["null", "hebbian"])
def test_few_synapses(rule):
    """Two synapses (2 pre → 1 post), 200 intervals: judged, and calibrated on null data."""
    n = 200 if rule == "null" else 50
    cfg = SyntheticConfig(rule=rule, **{**BASE, "n_pre": 2, "n_post": 1})
    ests = fit_replicates(partial(simulate_synthetic, cfg), n, seed0=60_000,
                          estimator=dict(decay=cfg.decay, n_boot=1000, n_null=59))
    k = int(np.sum([e.verdict_ == "hebbian" for e in ests]))
    print(f"\n[calibration] 2 synapses, rule {rule}: {_rate_line('hebbian', k, n)}")
    if rule == "null":
        assert k / n <= 0.05
    else:  # the evidence is there: lr·C is large against the noise even for 2 synapses
        assert k / n >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("rule,want", [("hebbian", "hebbian"), ("anti_hebbian", "anti_hebbian"),
                                       ("null", "indeterminate")])
def test_verdicts(rule, want):
    n = 30
    ests = _replicates(rule, n, tiny=False, n_boot=1000, n_null=99, seed0=30_000)
    right = np.mean([e.verdict_ == want for e in ests])
    print(f"\n[calibration] verdict {want!r} for rule {rule!r}: {right:.3f} of {n}")
    # null: ≥ 90 % indeterminate (false calls ≤ 5 % each side); others: power ≥ 90 %
    assert right >= 0.9, f"{rule}: verdict {want!r} in only {right:.2f} of {n} replicates"


@pytest.mark.slow
def test_trap_error_rule_at_stationarity():
    """Least squares ΔW = aH − γW finds a > 0; plastix says: consistent with emergence."""
    cfg = SyntheticConfig(rule="error", **BASE)
    n, a_pos, a_known, consistent, hebb = 30, 0, 0, 0, 0
    for r in range(n):
        rec = simulate_synthetic(cfg, rng=40_000 + r)
        a_pos += fit_linear_rule(rec)["a"] > 0
        a_known += fit_linear_rule(rec, decay=cfg.decay)["a"] > 0
        est = HebbianEstimator(decay=cfg.decay, n_boot=1000, n_null=0, rng=r).fit(rec)
        consistent += est.emergent_consistent_
        hebb += est.ci_[0] > 0  # without a null (n_null=0) the verdict is indeterminate
    print(f"\n[calibration] trap: a > 0 in {a_pos}/{n} (gamma fitted) and {a_known}/{n} "
          f"(gamma known), hebbian {hebb}/{n}, emergent_consistent {consistent}/{n}")
    # with γ known a has the sign of the alignment: every fit; with γ fitted jointly a is
    # noisier: ≥ 27/30 has probability 3e-6 if the sign were a coin flip
    assert a_known == n, f"a > 0 (decay known) in only {a_known}/{n} fits"
    assert a_pos >= 27, f"a > 0 (decay fitted) in only {a_pos}/{n} fits"
    assert hebb >= 0.9 * n, f"hebbian signature in only {hebb}/{n}"
    # a 95 % interval of the difference contains 0 in ~95 % of replicates when it holds
    assert consistent >= 0.85 * n, f"emergent_consistent_ in only {consistent}/{n}"


# ------------------------------------------------------------------ spike trains (slow)

SPIKE = dict(n_pre=40, n_post=2, rate=15.0, weight_every=1.0, lr=0.01, noise=0.05, tau=0.02)


@cache
def _spike_truth(rule: str) -> float:
    """``lr √E‖H‖² / √(lr² E‖H‖² + n_syn σ²)`` with ``E‖H‖²`` per interval from 10
    independent 400 s records (0 for static weights)."""
    if rule == "static":
        return 0.0
    from plastix.estimate._spikes import stdp_terms
    from plastix.estimate._stats import layout_of

    hh = []
    for r in range(10):
        rec = simulate_spike_record(**{**SPIKE, "duration": 400.0}, rule="static",
                                    rng=90_000 + r)
        h = stdp_terms(rec, layout_of(rec), tau=SPIKE["tau"])
        hh.append((h**2).sum(axis=(1, 2)))
    e_hh = float(np.mean(np.concatenate(hh)))
    n_syn = SPIKE["n_pre"] * SPIKE["n_post"]
    lr, sd = SPIKE["lr"], SPIKE["noise"]
    return lr * math.sqrt(e_hh) / math.sqrt(lr**2 * e_hh + n_syn * sd**2)


def _spike_fits(rule: str, duration: float, n: int, n_null: int, seed0: int):
    return fit_replicates(partial(simulate_spike_record, **SPIKE, duration=duration, rule=rule),
                          n, seed0=seed0, estimator=dict(kernel="stdp", decay=0.0, n_boot=1000,
                                                         n_null=n_null))


@pytest.mark.slow
@pytest.mark.parametrize("duration", [40.0, 160.0])
@pytest.mark.parametrize("rule", ["stdp", "static"])
def test_spike_coverage(rule, duration):
    n = 400
    theta = _spike_truth(rule)
    ests = _spike_fits(rule, duration, n, 0, 70_000)
    cov = _coverage(ests, theta)
    mean = float(np.mean([e.alignment_ for e in ests]))
    print(f"\n[calibration] spikes {rule}, {duration:.0f} s: coverage {cov:.4f} of "
          f"theta={theta:.4f} over {n} replicates, mean estimate {mean:.4f}")
    # independent intervals: the doubled blocks (chosen for correlated intervals) leave
    # ~14 blocks per resample at 160 intervals, so the bootstrap-t is heavy-tailed and
    # the interval conservative (0.98 measured); conservative costs power, which
    # test_spike_verdicts checks, not validity
    assert 0.93 <= cov <= 0.99, f"spikes {rule} {duration} s: coverage {cov:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("duration", [40.0, 160.0])
@pytest.mark.parametrize("rule", ["stdp", "static"])
def test_spike_verdicts(rule, duration):
    """Static weights: false 'hebbian' ≤ 5 %; pair STDP: 'hebbian' in ≥ 90 %."""
    n = 200 if rule == "static" else 50
    ests = _spike_fits(rule, duration, n, 59, 80_000)
    k = int(np.sum([e.verdict_ == "hebbian" for e in ests]))
    print(f"\n[calibration] spikes {rule}, {duration:.0f} s: {_rate_line('hebbian', k, n)}")
    if rule == "static":
        assert k / n <= 0.05
    else:
        assert k / n >= 0.9
