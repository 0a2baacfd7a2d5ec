"""Intervals, tests and verdicts of the estimator: the block bootstrap, studentized and BCa
intervals, the null's p-value.

Sign convention: every alignment is a cosine in [−1, 1]; ``A > 0`` Hebbian, ``A < 0``
anti-Hebbian.  These functions work on the per-interval statistics of
:mod:`plastix.estimate._stats` (or on any estimate with its bootstrap and jackknife
replicates, as the pairing-table estimator uses them); they read no file and know
nothing about kernels.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

__all__ = ["VERDICTS", "MIN_INTERVALS", "VERDICT_RULE", "BLOCK_RULE", "unjudgeable_reason",
           "min_boot", "too_few_boot", "block_resamples", "politis_white_block_length",
           "bca_interval", "studentized_interval", "two_sided_p", "verdict_of", "floor_note"]


VERDICTS = ("hebbian", "anti_hebbian", "indeterminate")


MIN_INTERVALS = 10
"""Fewest weight intervals on which the estimator gives a verdict: its interval
resamples whole intervals in blocks of at least ⌈K^(1/3)⌉, so with fewer than 10
it rests on a handful of blocks and cannot reach its nominal coverage."""


VERDICT_RULE = ("'hebbian' if the CI lies above 0 and p < alpha; 'anti_hebbian' if the CI lies "
                "below 0 and p < alpha; otherwise 'indeterminate'. Also 'indeterminate', with "
                f"the reason, when the record cannot be judged: fewer than {MIN_INTERVALS} "
                "intervals, no null replicates (n_null=0), too few to reach p < alpha "
                "(n_null < 2/alpha - 1), or a CI of zero width")


BLOCK_RULE = ("circular block bootstrap over intervals; default block length "
              "2 max(ceil(K^(1/3)), ceil(b_PW)), b_PW the Politis-White (2004) automatic block "
              "length of the per-interval influence series of the alignment, at most K/8 (at "
              "least 1); "
              "the alignment's interval is studentized (bootstrap-t, standard errors from "
              "block sums of the linearised statistic, Goetze-Kuensch 1996); the pooled "
              "alignment, the decay and the emergent difference get BCa intervals (Efron "
              "1987; acceleration from the leave-one-interval-out jackknife); every interval "
              "is extended to its estimate when more than 1 - alpha/2 of the replicates lie "
              "on one side of it")


def unjudgeable_reason(n_intervals: int, n_null: int, alpha: float, ci: Any,
                       n_boot: int | None = None) -> str:
    """Why a fit cannot support a verdict (it is then ``indeterminate``), or ``""``.

    Parameters
    ----------
    n_intervals : int
        Weight intervals in the record.
    n_null : int
        Null replicates drawn.
    alpha : float
        Test level.
    ci : array_like (2,)
        The bootstrap interval of the alignment.
    n_boot : int, optional
        Bootstrap replicates drawn: fewer than :func:`min_boot` cannot place the
        interval's ends, which are then the extreme replicates (too narrow).
    """
    ci = np.asarray(ci, dtype=float)
    if n_intervals < MIN_INTERVALS:
        return (f"only {n_intervals} weight interval{'s' if n_intervals != 1 else ''}; at "
                f"least {MIN_INTERVALS} are needed for a bootstrap interval")
    need = math.floor(2 / alpha - 1) + 1
    if n_null == 0:
        return (f"no null replicates (n_null=0), so no test; pass n_null >= {need} (--n-null; "
                "default 199)")
    if n_null < need:
        return (f"{n_null} null replicates cannot give p < {alpha:g} (the smallest p is "
                f"2/(1 + n_null)); pass n_null >= {need} (--n-null)")
    if n_boot is not None and n_boot < min_boot(alpha):
        return too_few_boot(n_boot, alpha)
    if np.isfinite(ci).all() and ci[1] - ci[0] <= 0:
        return "the bootstrap interval has zero width: every resample gave the same alignment"
    return ""


def min_boot(alpha: float) -> int:
    """Fewest bootstrap replicates that place the ends of a ``1 - alpha`` interval: the
    ``alpha / 2`` quantile of ``n`` replicates is defined when ``(n + 1) alpha / 2 >= 1``
    (39 for a 95% interval)."""
    return math.ceil(2 / alpha - 1 - 1e-9)


def too_few_boot(n_boot: int, alpha: float) -> str:
    """Why ``n_boot`` replicates support no verdict (see :func:`min_boot`)."""
    return (f"{n_boot} bootstrap replicates cannot place the ends of a {100 * (1 - alpha):g}% "
            "interval (its ends are the extreme replicates, too narrow); pass n_boot >= "
            f"{min_boot(alpha)} (--n-boot)")


def _cos(num: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    den = np.sqrt(np.maximum(a2, 0.0) * np.maximum(b2, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.clip(out, -1.0, 1.0)


def _concat_cos(s: np.ndarray, gamma: Any) -> np.ndarray:
    """Cosine from summed statistics ``s (..., 6)`` = (dh, wh, hh, dd, dw, ww)."""
    g = np.asarray(gamma)
    num = s[..., 0] + g * s[..., 1]
    gg = s[..., 3] + 2 * g * s[..., 4] + g * g * s[..., 5]
    return _cos(num, gg, s[..., 2])


def block_resamples(n: int, n_boot: int, block_length: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Circular-block-bootstrap resamples of ``n`` intervals.

    Each resample joins ``m = ⌈n / block_length⌉`` blocks of consecutive
    intervals (wrapping around), starting at uniform random intervals, and keeps
    the first ``n``; the last block is cut to ``r = n − (m − 1) block_length``.

    Returns
    -------
    (ndarray of int (n_boot, m), ndarray of float (n_boot, n))
        The block starts and the count of each interval in each resample.
    """
    n_blocks = math.ceil(n / block_length)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block_length)).reshape(n_boot, -1)[:, :n] % n
    flat = idx + (np.arange(n_boot) * n)[:, None]
    counts = np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)
    return starts, counts


def politis_white_block_length(x: np.ndarray) -> float:
    """Automatic block length of the circular block bootstrap (Politis & White 2004, 2009).

    Autocovariances ``R(k)`` of ``x`` up to a data-driven bandwidth ``M = 2 m̂``
    (``m̂`` the first lag after which ``K_N = max(5, √log10 n)`` consecutive
    autocorrelations stay within ``2 √(log10 n / n)``), the flat-top lag window
    ``λ``, ``Ĝ = Σ λ(k/M) |k| R(k)``, ``D̂ = (4/3) (Σ λ(k/M) R(k))²`` and
    ``b = (2 Ĝ² / D̂)^{1/3} n^{1/3}``.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 8 or np.var(x) == 0:
        return 1.0
    x = x - x.mean()
    max_lag = min(n - 1, int(math.ceil(math.sqrt(n))) + 5 + int(math.ceil(
        max(5, math.sqrt(math.log10(n))))))
    acov = np.array([np.dot(x[: n - k], x[k:]) / n for k in range(max_lag + 1)])
    rho = acov / acov[0]
    kn = int(max(5, math.ceil(math.sqrt(math.log10(n)))))
    thresh = 2.0 * math.sqrt(math.log10(n) / n)
    m_hat = max_lag - kn
    for m in range(1, max_lag - kn + 1):
        if np.all(np.abs(rho[m + 1: m + 1 + kn]) < thresh):
            m_hat = m
            break
    big_m = min(2 * max(m_hat, 1), max_lag)
    k = np.arange(-big_m, big_m + 1)
    t = np.abs(k) / big_m
    lam = np.where(t <= 0.5, 1.0, np.where(t <= 1.0, 2.0 * (1.0 - t), 0.0))
    r = acov[np.abs(k)]
    g_hat = np.sum(lam * np.abs(k) * r)
    d_hat = (4.0 / 3.0) * np.sum(lam * r) ** 2
    if d_hat <= 0:
        return 1.0
    return float((2.0 * g_hat**2 / d_hat) ** (1.0 / 3.0) * n ** (1.0 / 3.0))


def _influence(s: np.ndarray, gamma: float) -> np.ndarray:
    """Per-interval influence of ``alignment_`` (a smooth function of three sums)."""
    tot = s.sum(0)
    num = s[:, 0] + gamma * s[:, 1]
    gg = s[:, 3] + 2 * gamma * s[:, 4] + gamma**2 * s[:, 5]
    n_tot, g_tot, h_tot = num.sum(), gg.sum(), tot[2]
    if g_tot <= 0 or h_tot <= 0:
        return np.zeros(s.shape[0])
    a = n_tot / math.sqrt(g_tot * h_tot)
    if n_tot == 0:
        return num / math.sqrt(g_tot * h_tot)
    return a * (num / n_tot - gg / (2 * g_tot) - s[:, 2] / (2 * h_tot))


#: the Gram blocks the pooled forms need
_PAIRS = ("dh", "wh", "dd", "dw", "ww", "hh")


def _quads(c: np.ndarray, blk: dict) -> dict:
    """``cᵀ G_xy c`` for each row ``c`` of interval counts and each block of :data:`_PAIRS`
    (one matrix product for all six blocks)."""
    n_k = c.shape[1]
    prod = c @ np.hstack([blk[xy] for xy in _PAIRS])
    return {xy: np.einsum("bk,bk->b", prod[:, i * n_k:(i + 1) * n_k], c)
            for i, xy in enumerate(_PAIRS)}


def _jack_quad(g: np.ndarray) -> np.ndarray:
    """``cᵀ G c`` for ``c = 1 − e_k`` (interval ``k`` left out), every ``k`` at once."""
    return g.sum() - g.sum(0) - g.sum(1) + np.diag(g)


def bca_interval(estimate: float, boot: np.ndarray, jack: np.ndarray, alpha: float
                 ) -> tuple[np.ndarray, bool]:
    """Bias-corrected and accelerated (BCa) bootstrap interval that contains its estimate.

    Efron's (1987) BCa levels ``Φ(ẑ₀ + (ẑ₀ + z_q) / (1 − â (ẑ₀ + z_q)))`` of the
    bootstrap replicates, with ``ẑ₀ = Φ⁻¹(share of replicates below the
    estimate)`` (the median bias) and the acceleration ``â`` from the
    leave-one-interval-out jackknife values ``jack``.  The interval describes the
    same quantity as the estimate (no reflection about it, unlike the basic
    interval) and contains it whenever ``|ẑ₀| < z_{1−α/2}``; when more than
    ``1 − α/2`` of the replicates lie on one side of the estimate (a bias of two
    standard errors: too little data for the bootstrap), the interval is
    extended to the estimate and the second return value is True.

    ``scipy.stats.bootstrap(method="BCa")`` is not used because it resamples
    the data through a statistic callable and recomputes it for its own
    jackknife; here the replicates come from block counts applied to per-interval
    sufficient statistics (the streaming design keeps no data), so the same
    formulas are applied to those replicates.

    Returns
    -------
    (ndarray (2,), bool)
        ``[low, high]`` (NaN when undefined) and whether it was extended.
    """
    from scipy.special import ndtr, ndtri

    boot = np.asarray(boot, dtype=float)
    boot = boot[np.isfinite(boot)]
    if not np.isfinite(estimate) or boot.size == 0:
        return np.full(2, np.nan), False
    n = boot.size
    p0 = (np.sum(boot < estimate) + 0.5 * np.sum(boot == estimate)) / n
    z0 = float(ndtri(min(max(p0, 0.5 / n), 1 - 0.5 / n)))
    jack = np.asarray(jack, dtype=float)
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack if jack.size > 2 else np.zeros(1)
    ss = float(np.sum(d * d))
    acc = float(np.sum(d**3) / (6.0 * ss**1.5)) if ss > 0 else 0.0
    z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))
    den = 1.0 - acc * (z0 + z)
    with np.errstate(divide="ignore", invalid="ignore"):
        lev = np.where(den > 0, ndtr(z0 + (z0 + z) / np.where(den > 0, den, 1.0)),
                       np.array([0.0, 1.0]))
    lo, hi = np.percentile(boot, 100 * lev)
    out = np.array([min(lo, estimate), max(hi, estimate)])
    return out, bool(lo > estimate or hi < estimate)


def _alignment_gradient(tot: np.ndarray, sil: np.ndarray, gamma: Any, estimated: bool
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``alignment_`` and its gradient in the eight summed statistics.

    ``tot (..., 6)`` holds (dh, wh, hh, dd, dw, ww), ``sil (..., 2)`` the silent-synapse
    sums (Σ d·w, Σ w·w) and ``gamma (...)`` the decay; with ``estimated`` the decay is
    ``−Σ d·w / Σ w·w`` over silent synapses and its own dependence on those sums enters
    the gradient.  Returns ``(A (...), gradient (..., 8))``.
    """
    dh, wh, hh, dd, dw, ww = np.moveaxis(np.asarray(tot, dtype=float), -1, 0)
    g = np.asarray(gamma, dtype=float)
    num = dh + g * wh
    gg = dd + 2 * g * dw + g * g * ww
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = 1.0 / np.sqrt(gg * hh)
        a = num * inv
        c_gg, c_hh = -a / (2 * gg), -a / (2 * hh)
        zero = np.zeros_like(a)
        c_sd = c_sw = zero
        if estimated:
            sw = np.asarray(sil, dtype=float)[..., 1]
            a_g = inv * wh + c_gg * (2 * dw + 2 * g * ww)  # ∂A/∂γ
            c_sd, c_sw = -a_g / sw, -a_g * g / sw      # γ = −Σ d·w / Σ w·w
    grad = np.stack([inv, inv * g, c_hh, c_gg, 2 * g * c_gg, g * g * c_gg,
                     zero + c_sd, zero + c_sw], axis=-1)
    return a, grad


def _circular_block_sums(x: np.ndarray, block_length: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Sums of ``x (n, c)`` over the circular blocks starting at each interval: full
    blocks ``(n, c)`` and blocks cut to the last block's length ``r``, and ``r``."""
    n = x.shape[0]
    r = n - (math.ceil(n / block_length) - 1) * block_length
    cum = np.concatenate([np.zeros((1, x.shape[1])),
                          np.cumsum(np.concatenate([x, x[:block_length]]), axis=0)])
    i = np.arange(n)
    return cum[i + block_length] - cum[i], cum[i + r] - cum[i], r


def studentized_interval(s: np.ndarray, silent: np.ndarray, gamma: float,
                         gamma_boot: np.ndarray, estimated: bool, starts: np.ndarray,
                         counts: np.ndarray, block_length: int, alpha: float
                         ) -> tuple[np.ndarray, bool, float, np.ndarray]:
    """Studentized (bootstrap-t) circular-block-bootstrap interval of ``alignment_``.

    The alignment ``A`` is a smooth function of eight sums over intervals (the six
    statistics of :mod:`plastix.estimate._stats` and, when the decay is estimated,
    the two silent-synapse sums), so its standard error is that of the sum of
    the per-interval linearised terms ``z_k = ∇A · x_k``; for a resample made of
    blocks ``B_1 … B_m`` (:func:`block_resamples`) it is
    ``se*² = Σ_i (Σ_{k∈B_i} z_k − |B_i| z̄)²``, with the gradient taken at the
    resample's own sums (Götze & Künsch 1996), and for the record the expectation
    of that form over block starts.  With ``t*_b = (A*_b − Â) / se*_b`` the
    interval is ``[Â − se · t*_{1−α/2}, Â − se · t*_{α/2}]``, cut to [−1, 1].  It
    contains ``Â`` unless every ``t*`` quantile lies on one side of 0; it is then
    extended to ``Â`` and the second return value is True.

    ``arch.bootstrap`` (``conf_int(method="studentized")``) computes the same
    interval by calling the statistic on each resample and nesting a bootstrap (or
    a user function) for each standard error; here the resamples are block
    counts applied to per-interval sufficient statistics (the streaming design
    keeps no data), and the block sums give every standard error in closed form.

    Parameters
    ----------
    s : ndarray (K, 6)
        Per-interval statistics (dh, wh, hh, dd, dw, ww).
    silent : ndarray (K, 2)
        Per-interval silent-synapse sums (Σ d·w, Σ w·w); used when ``estimated``.
    gamma : float
        Decay (1 / time unit) of the estimate.
    gamma_boot : ndarray (B,)
        Decay of each resample (re-estimated when ``estimated``).
    estimated : bool
        Whether the decay was estimated from silent synapses.
    starts, counts : ndarray
        From :func:`block_resamples` with ``block_length``.
    block_length : int
        Block length (intervals).
    alpha : float
        ``1 − alpha`` interval.

    Returns
    -------
    (ndarray (2,), bool, float, ndarray (B,))
        ``[low, high]`` (NaN when undefined), whether it was extended, the
        standard error of ``Â`` and the resampled alignments ``A*``.
    """
    x = np.concatenate([np.asarray(s, dtype=float), np.asarray(silent, dtype=float)], axis=1)
    n = x.shape[0]
    full, last, r = _circular_block_sums(x, block_length)
    m = starts.shape[1]
    a_hat, grad = _alignment_gradient(x[:, :6].sum(0), x[:, 6:].sum(0), gamma, estimated)
    tot_b = counts @ x
    a_b, grad_b = _alignment_gradient(tot_b[:, :6], tot_b[:, 6:], gamma_boot, estimated)
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = float(grad @ x.sum(0)) / n
        se2 = ((m - 1) * np.mean((full @ grad - block_length * zbar) ** 2)
               + np.mean((last @ grad - r * zbar) ** 2))
        se = math.sqrt(se2) if np.isfinite(se2) and se2 >= 0 else math.nan
        lengths = np.full(m, float(block_length))
        lengths[-1] = r
        zbar_b = np.einsum("bc,bc->b", tot_b, grad_b) / n
        z = np.einsum("bmc,bc->bm", np.concatenate([full[starts[:, :-1]], last[starts[:, -1:]]],
                                                    axis=1), grad_b)
        se_b = np.sqrt(np.sum((z - lengths * zbar_b[:, None]) ** 2, axis=1))
        t = (a_b - a_hat) / se_b
    t = t[np.isfinite(t)]
    if not (np.isfinite(a_hat) and np.isfinite(se)) or t.size == 0:
        return np.full(2, np.nan), False, se, a_b
    q_lo, q_hi = np.percentile(t, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    lo, hi = a_hat - se * q_hi, a_hat - se * q_lo
    out = np.clip([min(lo, a_hat), max(hi, a_hat)], -1.0, 1.0)
    return out, bool(lo > a_hat or hi < a_hat), se, a_b


def two_sided_p(estimate: float, null: np.ndarray) -> float:
    """Two-sided p-value of ``estimate`` against null replicates.

    ``min(1, 2 min(P_hi, P_lo))`` with ``P_hi = (1 + #{null ≥ estimate}) / (1 + n)``
    and ``P_lo`` likewise (``n`` finite replicates); NaN without replicates or
    with a NaN estimate.  The smallest value is ``2 / (n + 1)``.
    """
    null = np.asarray(null, dtype=float)
    if not (null.size and np.isfinite(estimate)):
        return math.nan
    nn = null[np.isfinite(null)]
    hi = (1 + np.sum(nn >= estimate)) / (1 + nn.size)
    lo = (1 + np.sum(nn <= estimate)) / (1 + nn.size)
    return float(min(1.0, 2 * min(hi, lo)))


def verdict_of(ci: np.ndarray, p: float, alpha: float) -> str:
    """The verdict of :data:`VERDICT_RULE` from an interval, a p-value and α.

    Without a null (``p`` NaN) there is no test, so the verdict is ``indeterminate``,
    whatever the interval says.
    """
    sig = bool(np.isfinite(p) and p < alpha)
    if np.isfinite(ci).all() and ci[0] > 0 and sig:
        return "hebbian"
    if np.isfinite(ci).all() and ci[1] < 0 and sig:
        return "anti_hebbian"
    return "indeterminate"


def _pooled_forms(obs: dict, counts: np.ndarray, gamma: float, gam_b: np.ndarray,
                  gam_j: np.ndarray, alpha: float) -> tuple:
    """Pooled alignment, emergent prediction, stationarity gap and their BCa intervals.

    All from the ``3K × 3K`` Gram matrix of ``[d; w; h]``: a resample with interval
    counts ``c`` has ``Σ_k c_k x_k`` and so inner products ``cᵀ G_xy c``.  Returns
    ``(pooled, prediction, gap, pooled_ci, difference_ci, consistent)``; NaN (and
    ``consistent=False``) without a Gram matrix.
    """
    nan2 = np.full(2, np.nan)
    if "gram" not in obs:
        return math.nan, math.nan, math.nan, nan2, nan2, False
    g = obs["gram"]
    n_k = counts.shape[1]
    blk = {a + b: g[i * n_k:(i + 1) * n_k, j * n_k:(j + 1) * n_k]
           for i, a in enumerate("dwh") for j, b in enumerate("dwh")}

    def forms(q, gam):
        gam = np.asarray(gam)
        num = q["dh"] + gam * q["wh"]
        gg = q["dd"] + 2 * gam * q["dw"] + gam**2 * q["ww"]
        return _cos(num, gg, q["hh"]), _cos(q["wh"], q["ww"], q["hh"])

    whole = _quads(np.ones((1, n_k)), blk)
    pooled_a, pred_a = forms(whole, gamma)
    pooled, pred = float(pooled_a[0]), float(pred_a[0])
    pb, prb = forms(_quads(counts, blk), gam_b)
    pj, prj = forms({xy: _jack_quad(blk[xy]) for xy in _PAIRS}, gam_j)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pooled_ci = np.clip(bca_interval(pooled, pb, pj, alpha)[0], -1.0, 1.0)
        diff_ci = bca_interval(pooled - pred, pb - prb, pj - prj, alpha)[0]
    dd, ww = whole["dd"][0], whole["ww"][0]
    gap = float(np.sqrt(dd) / (gamma * np.sqrt(ww))) if gamma > 0 and ww > 0 else math.nan
    consistent = bool(np.isfinite(diff_ci).all() and diff_ci[0] <= 0 <= diff_ci[1]
                      and np.isfinite(gap) and gap < 1.0)
    return pooled, pred, gap, pooled_ci, diff_ci, consistent


def floor_note(p: float, n_null: int) -> str:
    """Says when a p-value sits at the smallest value ``n_null`` replicates can give."""
    floor = 2.0 / (n_null + 1)
    if n_null and np.isfinite(p) and p <= floor * (1 + 1e-12):
        return (f"; the smallest p {n_null} replicates can give (2/(n_null+1)): the true p "
                "may be smaller")
    return ""
