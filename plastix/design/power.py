"""Effect size, power and sample size for telling two hypotheses apart.

The decision rule every number here refers to (stated in each protocol):

    Measure the alignment change ``ΔA`` (manipulated minus baseline, in the same
    session) in ``n`` independent sessions.  Hypothesis ``a`` predicts a mean change
    ``μ_a`` (from its simulated replicates).  Reject ``a`` when a two-sided
    one-sample t-test of the ``n`` measured changes against ``μ_a`` gives
    ``p < α``.

*Power* is the probability of rejecting ``a`` when ``b`` is true.  With Cohen's
``d = (μ_b − μ_a) / s`` (``s`` the pooled replicate SD), the test statistic
follows a noncentral t distribution with ``n − 1`` degrees of freedom and
noncentrality ``(μ_b − μ_a) √n / σ_b``, so the power is exact under normality.
The predictions ``μ_a`` are treated as known.  For a *pair* of hypotheses the
power and the sample size use the harder direction, ``|μ_b − μ_a| / max(σ_a, σ_b)``;
and because the mean difference is estimated from a finite number of replicates
(which inflates it on average), they use its debiased value
(:func:`debiased_effect_size`).  Two hypotheses whose replicates do not differ
(Welch test, ``p ≥ α``) are flagged indistinguishable; for a zero debiased effect
the power is exactly ``α`` and the sample size infinite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from plastix._util.rng import resolve_rng
from plastix._util.validate import as_float_array, check_int, check_number

__all__ = ["effect_size", "debiased_effect_size", "separation_p_value", "power_one_sample",
           "sample_size", "simulated_power", "compare_pair"]


def _check_alpha(alpha: float) -> float:
    alpha = check_number("alpha", alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), the test's significance level; "
                         f"got {alpha!r}.")
    return float(alpha)


def _samples(name: str, x: Any) -> np.ndarray:
    arr = as_float_array(name, x, ndim=1)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        raise ValueError(f"`{name}` must hold at least 2 finite replicate values to estimate a "
                         f"spread; got {arr.size}. Use more replicates.")
    return arr


def effect_size(a: Any, b: Any) -> float:
    """Cohen's ``d = (mean(b) − mean(a)) / s_pooled`` of two sets of replicates.

    ``s_pooled`` uses ``ddof = 1``.  Non-finite replicates are dropped.  Returns
    ``nan`` when both sets have zero spread and equal means, ``±inf`` when they
    have zero spread and different means.
    """
    a, b = _samples("a", a), _samples("b", b)
    va, vb = a.var(ddof=1), b.var(ddof=1)
    s = math.sqrt(((a.size - 1) * va + (b.size - 1) * vb) / (a.size + b.size - 2))
    diff = float(b.mean() - a.mean())
    if s == 0:
        return float("nan") if diff == 0 else math.copysign(math.inf, diff)
    return diff / s


def _debiased_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``sign(Δ̂) √max(0, Δ̂² − s_a²/n_a − s_b²/n_b)``: unbiased for ``Δ²`` before the root."""
    diff = float(b.mean() - a.mean())
    d2 = diff * diff - a.var(ddof=1) / a.size - b.var(ddof=1) / b.size
    return math.copysign(math.sqrt(max(d2, 0.0)), diff)


def debiased_effect_size(a: Any, b: Any, *, scale: str = "pooled") -> float:
    """Effect size with the mean difference corrected for finite replicates.

    ``E[(x̄_b − x̄_a)²] = Δ² + σ_a²/n_a + σ_b²/n_b``, so
    ``Δ̂² = (x̄_b − x̄_a)² − s_a²/n_a − s_b²/n_b`` is unbiased for ``Δ²``; it is
    clipped at 0, square-rooted, given the sign of the observed difference and
    divided by ``scale``: ``"pooled"`` (Cohen's d) or ``"max"`` (the larger of the
    two SDs, i.e. the harder of the two directions of the decision rule: rejecting
    ``a`` when ``b`` is true has noncentrality ``Δ/σ_b``, rejecting ``b`` when ``a`` is
    true ``Δ/σ_a``).
    """
    a, b = _samples("a", a), _samples("b", b)
    if scale not in ("pooled", "max"):
        raise ValueError(f"`scale` must be 'pooled' or 'max'; got {scale!r}.")
    diff = _debiased_difference(a, b)
    if scale == "pooled":
        s = math.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1))
                      / (a.size + b.size - 2))
    else:
        s = max(a.std(ddof=1), b.std(ddof=1))
    if s == 0:
        return float("nan") if diff == 0 else math.copysign(math.inf, diff)
    return diff / s


def separation_p_value(a: Any, b: Any) -> float:
    """Welch t-test p-value of "the two hypotheses' replicates have the same mean"."""
    a, b = _samples("a", a), _samples("b", b)
    if a.var() == 0 and b.var() == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def power_one_sample(d: Any, n: Any, *, alpha: float = 0.05) -> Any:
    """Power of the two-sided one-sample t-test with ``n`` sessions at effect size ``d``.

    ``P(|T| > t_{1−α/2, n−1})`` with ``T`` noncentral t (``n − 1`` degrees of
    freedom, noncentrality ``d √n``).  ``d = 0`` gives exactly ``α``; ``n < 2`` gives
    NaN (no test is possible).  Broadcasts over ``d`` and ``n``.

    Examples
    --------
    >>> round(float(power_one_sample(0.0, 10)), 12)
    0.05
    """
    alpha = _check_alpha(alpha)
    d = np.asarray(d, dtype=float)
    n = np.asarray(n, dtype=float)
    d, n = np.broadcast_arrays(d, n)
    out = np.full(d.shape, np.nan)
    ok = (n >= 2) & np.isfinite(n)
    df = n[ok] - 1
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = d[ok] * np.sqrt(n[ok])
    fin = np.isfinite(nc)
    p = np.ones(nc.shape)
    # far tails of the noncentral t can come back NaN from scipy; they are 0
    upper = np.nan_to_num(stats.nct.sf(crit[fin], df[fin], nc[fin]), nan=0.0)
    lower = np.nan_to_num(stats.nct.cdf(-crit[fin], df[fin], nc[fin]), nan=0.0)
    p[fin] = upper + lower
    p[fin & (nc == 0)] = alpha
    p[~np.isfinite(d[ok])] = 1.0
    out[ok] = np.clip(p, 0.0, 1.0)
    return float(out) if out.ndim == 0 else out


def sample_size(d: float, *, power: float = 0.8, alpha: float = 0.05,
                n_max: int = 100_000) -> float:
    """Smallest number of sessions ``n ≥ 2`` whose power reaches ``power``.

    Returns ``inf`` when ``d`` is 0 or NaN, or when even ``n_max`` is not enough.
    """
    alpha = _check_alpha(alpha)
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    d = float(d)
    if not math.isfinite(d):
        return 2.0 if abs(d) == math.inf else math.inf
    if d == 0 or power <= alpha:
        return math.inf if d == 0 else 2.0
    # normal approximation as the starting point, then exact search upwards/downwards
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(2, int(math.floor((z / abs(d)) ** 2)) - 2)
    if n > n_max:
        return math.inf
    while n > 2 and power_one_sample(d, n - 1, alpha=alpha) >= power:
        n -= 1
    while power_one_sample(d, n, alpha=alpha) < power:
        n += 1
        if n > n_max:
            return math.inf
    return float(n)


def simulated_power(pool_a: Any, pool_b: Any, n: int, *, n_experiments: int = 2000,
                    alpha: float = 0.05, rng: Any = None) -> tuple[float, float]:
    """Monte Carlo power of the decision rule: how often ``a`` is rejected when ``b`` is true.

    Each simulated experiment draws ``n`` sessions from ``pool_b`` (with
    replacement) and runs the two-sided one-sample t-test against ``mean(pool_a)``.

    Returns
    -------
    (float, float)
        The rejection rate and its binomial standard error
        ``√(p (1 − p) / n_experiments)``.
    """
    alpha = _check_alpha(alpha)
    a, b = _samples("pool_a", pool_a), _samples("pool_b", pool_b)
    n = check_int("n", n, low=2)
    gen = resolve_rng(rng)
    draws = b[gen.integers(0, b.size, size=(int(n_experiments), int(n)))]
    res = stats.ttest_1samp(draws, a.mean(), axis=1)
    p = float(np.mean(res.pvalue < alpha))
    return p, math.sqrt(p * (1 - p) / n_experiments)


def compare_pair(a: Any, b: Any, *, budget: int, alpha: float = 0.05,
                 power: float = 0.8) -> dict[str, float]:
    """Everything the design reports for one pair of hypotheses under one manipulation.

    Parameters
    ----------
    a, b : array_like, shape (n_replicates,)
        Simulated per-session changes under the two hypotheses.
    budget : int
        Sessions available.

    Returns
    -------
    dict
        ``effect_size`` (Cohen's d, raw), ``effect_size_debiased`` (pooled scale),
        ``effect_size_power`` (debiased, harder direction: used for power),
        ``separation_p`` (Welch), ``power`` (at ``budget``) and ``sessions_required``
        (for ``power``).  A pair whose replicates do not differ (``separation_p ≥
        alpha``) is claimed no power beyond ``alpha`` and needs infinitely many
        sessions: the simulations give no evidence that it can be separated.
    """
    d_pow = debiased_effect_size(a, b, scale="max")
    p_sep = separation_p_value(a, b)
    d_use = d_pow if p_sep < alpha else 0.0
    return {"effect_size": effect_size(a, b), "effect_size_debiased": debiased_effect_size(a, b),
            "effect_size_power": d_pow, "separation_p": p_sep,
            "power": float(power_one_sample(d_use, budget, alpha=alpha)),
            "sessions_required": sample_size(d_use, power=power, alpha=alpha)}
