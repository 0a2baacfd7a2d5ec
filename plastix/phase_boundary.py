"""Fit the zero-alignment contour ``γ = k σ²`` of a σ × γ grid (SPEC §3).

The paper finds that parameter noise ``σ`` turns the emergent Hebbian
alignment anti-Hebbian beyond a boundary ``γ = k σ²``; this module fits ``k``,
with a bootstrap interval, from a grid of measured alignments.  Re-exported by
:mod:`plastix.theory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plastix._util.results import DictResult
from plastix._util.rng import resolve_rng
from plastix._util.validate import (
    as_float_array,
    check_finite,
    check_int,
    check_number,
    finite_array,
)
from plastix._util.warn import warn_caller

__all__ = ["PhaseBoundary", "PhaseBoundaryWarning", "fit_phase_boundary"]


class PhaseBoundaryWarning(RuntimeWarning):
    """A phase-boundary fit could not be made (no crossings, no evidence): ``k`` is NaN."""


@dataclass(frozen=True)
class PhaseBoundary(DictResult):
    """The fitted zero-alignment contour ``γ = k σ²`` (see :func:`fit_phase_boundary`).

    ``k``: least-squares slope through the origin of crossing ``γ`` on ``σ²`` (units
    of γ/σ²), NaN when no fit could be made (with a warning).  ``k_low``,
    ``k_high``: bootstrap percentile interval at ``level`` (NaN with fewer than 3
    crossings at ``σ > 0``).  ``n_crossings``: σ rows with a sign change along γ;
    ``crossings_sigma``, ``crossings_gamma`` (shape ``(n_crossings,)``): where.
    ``p_value``: permutation p-value of "signs ordered negative → positive along
    γ" (NaN when not computed).
    """

    k: float
    k_low: float
    k_high: float
    n_crossings: int
    crossings_sigma: np.ndarray = field(compare=False)
    crossings_gamma: np.ndarray = field(compare=False)
    level: float = 0.95
    p_value: float = float("nan")


def _row_step_costs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sign-error costs of each step boundary along the last axis (NaN cells ignored).

    Boundary ``j`` (0..m) puts cells ``< j`` on the negative side.  Returns the
    error count and the |a|-weighted error, each of shape ``(..., m + 1)``.
    """
    pos = np.nan_to_num(a > 0)
    neg = np.nan_to_num(a < 0)
    wpos = np.where(a > 0, a, 0.0)
    wneg = np.where(a < 0, -a, 0.0)
    z = np.zeros(a.shape[:-1] + (1,))
    cpos = np.concatenate([z, np.cumsum(pos, -1)], -1)  # positives left of boundary
    cneg = np.concatenate([z, np.cumsum(neg, -1)], -1)
    cwpos = np.concatenate([z, np.cumsum(wpos, -1)], -1)
    cwneg = np.concatenate([z, np.cumsum(wneg, -1)], -1)
    count = cpos + (cneg[..., -1:] - cneg)
    weighted = cwpos + (cwneg[..., -1:] - cwneg)
    return count, weighted


def _crossings(sig: np.ndarray, gam: np.ndarray, al: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Where each σ row crosses zero along γ (step 1 of :func:`fit_phase_boundary`).

    ``gam`` must be sorted and ``al`` ordered to match.  Returns the σ and the
    interpolated crossing γ of every row whose best step boundary lies inside it.
    """
    cs, cg = [], []
    for i in range(sig.size):
        ok = np.isfinite(al[i])
        a, gg = al[i, ok], gam[ok]
        if a.size < 2:
            continue
        count, weighted = _row_step_costs(a)
        best = np.lexsort((weighted, count))[0]
        if best == 0 or best == a.size:
            continue
        a0, a1, g0, g1 = a[best - 1], a[best], gg[best - 1], gg[best]
        cross = 0.5 * (g0 + g1) if a1 == a0 else g0 + (0.0 - a0) * (g1 - g0) / (a1 - a0)
        cs.append(sig[i])
        cg.append(cross)
    return np.asarray(cs, dtype=float), np.asarray(cg, dtype=float)


def _order_p_value(al: np.ndarray, n_perm: int, gen: np.random.Generator) -> float:
    """Permutation p-value of the grid's total step sign errors (step 4 of the fit).

    The finite values are shuffled over the finite cells ``n_perm`` times; the
    p-value is ``(1 + #{null ≤ observed}) / (1 + n_perm)``.
    """
    finite = np.isfinite(al)
    obs = _row_step_costs(al)[0].min(-1).sum()
    vals = al[finite]
    perm = np.full((n_perm,) + al.shape, np.nan)
    shuffled = gen.permuted(np.broadcast_to(vals, (n_perm, vals.size)), axis=1)
    perm[:, finite] = shuffled
    null = _row_step_costs(perm)[0].min(-1).sum(-1)
    return float((1 + np.sum(null <= obs)) / (1 + n_perm))


def fit_phase_boundary(sigma: Any, gamma: Any, alignment: Any, *, n_boot: int = 1000,
                       rng: Any = None, level: float = 0.95, n_perm: int = 200,
                       alpha: float | None = 0.05) -> PhaseBoundary:
    """Fit the zero-alignment contour ``γ = k σ²`` of a (σ, γ) grid, with a bootstrap CI.

    Procedure:

    1. For each σ row, keep the finite cells in increasing γ and fit a step
       "negative below, positive above": the boundary with the fewest sign errors
       (ties: the smallest sum of ``|alignment|`` over errors).  A boundary at
       either end means no crossing in that row.  At the chosen boundary the cell
       below is ≤ 0 and the one above ≥ 0, and the crossing ``γ`` is their linear
       interpolation.  Robust to isolated noisy cells.
    2. ``k`` minimises ``Σ (γ_i − k σ_i²)²`` over crossings: ``k = Σσ²γ / Σσ⁴``
       (crossings at ``σ = 0`` do not inform ``k``).
    3. Interval: percentile bootstrap over crossings (resampled with replacement,
       ``n_boot`` times), at ``level``.
    4. Evidence check: a permutation test of the total step sign errors against
       grids with the finite values shuffled (``n_perm`` times).  If its p-value
       exceeds ``alpha`` (pure noise) the fit is refused.

    Refused or impossible fits do not raise: they return ``k = NaN`` (and NaN
    bounds) with a :class:`PhaseBoundaryWarning` saying why (no crossing, only
    ``σ = 0`` crossings, no evidence of ordered signs), so a sweep can go on.
    Fewer than 3 crossings at ``σ > 0`` give ``k`` with a NaN interval and a
    warning.

    Parameters
    ----------
    sigma : array, shape (n_sigma,)
        Noise SDs ``σ ≥ 0`` of the rows (distinct).
    gamma : array, shape (n_gamma,)
        Decays ``γ ≥ 0`` of the columns (distinct, any order).
    alignment : array, shape (n_sigma, n_gamma)
        Alignment (cosine, or alignment mass) per cell; NaN = missing; ``> 0``
        Hebbian.  Expected to increase with γ and decrease with σ.
    n_boot : int
        Bootstrap resamples (≥ 100).
    rng : int, Generator or None
        Seed or generator for the bootstrap and the permutation test.
    level : float
        Confidence level in (0, 1).
    n_perm : int
        Permutations for the evidence check (≥ 1).
    alpha : float or None
        Refuse the fit when the permutation p-value exceeds ``alpha``; None skips
        the check (``p_value`` is then NaN).

    Returns
    -------
    PhaseBoundary

    Examples
    --------
    ``alignment > 0`` is Hebbian, ``< 0`` anti-Hebbian; the boundary separates them:

    >>> s, g = np.linspace(0, 1, 6), np.linspace(0, 2, 9)
    >>> fit = fit_phase_boundary(s, g, g[None] - 1.5 * s[:, None] ** 2, rng=0)
    >>> round(fit.k, 6), fit.n_crossings, bool(fit.k_low <= 1.5 <= fit.k_high)
    (1.5, 5, True)
    """
    sig = finite_array("sigma", sigma, 1, "(n_sigma,) (1-D grid values)")
    gam = finite_array("gamma", gamma, 1, "(n_gamma,) (1-D grid values)")
    for name, arr in (("sigma", sig), ("gamma", gam)):
        if np.any(arr < 0):
            raise ValueError(f"`{name}` must be ≥ 0; found min {arr.min():g}.")
        vals, counts = np.unique(arr, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(
                f"`{name}` must hold distinct grid values; found duplicates "
                f"{vals[counts > 1].tolist()}. Average the repeated cells (e.g. seeds) first."
            )
    al = as_float_array("alignment", alignment)
    if al.shape != (sig.size, gam.size):
        hint = " Did you pass alignment.T? Rows are σ, columns γ." if al.shape == (
            gam.size, sig.size) else ""
        raise ValueError(
            f"`alignment` must have shape (n_sigma, n_gamma) = {(sig.size, gam.size)}; got "
            f"{al.shape}.{hint}"
        )
    check_finite("alignment", al, allow_nan=True)
    n_boot = check_int("n_boot", n_boot, low=100)
    n_perm = check_int("n_perm", n_perm, low=1)
    level = check_number("level", level)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1); got {level!r}.")
    if alpha is not None:
        alpha = check_number("alpha", alpha)
        if not 0 < alpha < 1:
            raise ValueError(f"`alpha` must be in (0, 1) or None; got {alpha!r}.")
    gen = resolve_rng(rng)

    order = np.argsort(gam)
    gam, al = gam[order], al[:, order]
    cs_arr, cg_arr = _crossings(sig, gam, al)
    nan = float("nan")
    p_value = nan if alpha is None else _order_p_value(al, n_perm, gen)

    def refuse(why: str) -> PhaseBoundary:
        warn_caller(f"fit_phase_boundary: {why}; returning k = NaN.", PhaseBoundaryWarning)
        return PhaseBoundary(nan, nan, nan, int(cs_arr.size), cs_arr, cg_arr, level, p_value)

    if cs_arr.size == 0:
        return refuse("no σ row changes sign from negative to positive along γ (the grid "
                      "does not straddle the boundary; widen the γ or σ range)")
    s2 = cs_arr**2
    if not np.any(s2 > 0):
        return refuse("all crossings are at σ = 0, which do not constrain k; add σ > 0 rows")
    if alpha is not None and p_value > alpha:
        return refuse(f"the signs are not ordered along γ better than chance (permutation "
                      f"p = {p_value:.3g} > alpha = {alpha:g}); the grid looks like noise")
    k = float(np.sum(s2 * cg_arr) / np.sum(s2**2))
    n_pos = int(np.count_nonzero(s2 > 0))
    if n_pos < 3:
        warn_caller(
            f"fit_phase_boundary: only {n_pos} crossing(s) at σ > 0; too few for a bootstrap "
            "interval (k_low, k_high are NaN).", PhaseBoundaryWarning)
        return PhaseBoundary(k, nan, nan, int(cs_arr.size), cs_arr, cg_arr, level, p_value)
    idx = gen.integers(0, cs_arr.size, size=(n_boot, cs_arr.size))
    bs2, bg = s2[idx], cg_arr[idx]
    den = np.sum(bs2**2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kb = np.where(den > 0, np.sum(bs2 * bg, axis=1) / np.where(den > 0, den, 1.0), np.nan)
    lo, hi = np.nanpercentile(kb, [50 * (1 - level), 50 * (1 + level)])
    return PhaseBoundary(k, float(lo), float(hi), int(cs_arr.size), cs_arr, cg_arr, level,
                         p_value)
