"""The paper's closed forms and bounds (Koplow, Poggio, Ziyin, arXiv:2505.18069, SPEC §3).

Every function here is pure numpy/scipy and is checked in ``tests/test_theory.py``
against an independent numerical computation (Monte Carlo, an explicit per-sample
sum, or a simulation).

Conventions used throughout
---------------------------
* Weights ``W`` have shape ``(post, pre)``; a layer computes ``h_b = W h_a``.
* The learning signal ``g`` excludes decay and noise.  A rule with L2 decay
  updates ``ΔW = η (g − γ D W)``, where ``D`` (identity by default, a vector of
  per-postsynaptic rates, or a symmetric ``(post, post)`` matrix) comes from the
  penalty ``γ/2 Tr[Wᵀ D W]``.  Stationarity means ``E[g] = γ D W``.
* For gradient rules ``g = −∇_W`` of the *mean* batch loss.  Squared losses are
  ``ℓ = c ‖W x − y‖²`` per sample with ``loss_scale`` ``c = 1`` by default (no ½,
  as in SPEC §3 and ``torch.nn.MSELoss`` up to its mean over outputs), so
  ``g = −2c (W x − y) xᵀ``.
* The *alignment mass* is the unnormalised ``C = E⟨g, H⟩_F`` with the Hebbian
  term ``H = h_b h_aᵀ`` computed on the same sample(s) as ``g``.  Its sign is the
  sign of the cosine alignment of :mod:`plastix.alignment`: ``C > 0`` Hebbian,
  ``C < 0`` anti-Hebbian.  Decay is never part of ``g``, so it is never counted
  as anti-Hebbian.

>>> lemma1_alignment_mass(np.eye(2), decay=0.1, presyn_norm_sq=1.0)   # > 0: Hebbian
0.2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plastix._util.results import DictResult
from plastix._util.validate import (
    check_int,
    check_nonnegative,
    check_positive,
    finite_array,
)
from plastix._util.warn import warn_caller
from plastix.phase_boundary import PhaseBoundary, PhaseBoundaryWarning, fit_phase_boundary

__all__ = [
    "lemma1_alignment_mass", "WeakForm", "weak_form", "noise_expectation", "LinearNoiseBoundary",
    "boundary_k_linear", "AlignmentBound", "alignment_lower_bound",
    "PhaseBoundary", "PhaseBoundaryWarning", "fit_phase_boundary",
]


# ----------------------------------------------------------------------------- helpers


def _matrix(name: str, value: Any) -> np.ndarray:
    return finite_array(name, value, 2, "(post, pre) (a 2-D weight matrix)")


def _decay_matrix(decay_matrix: Any, n_post: int) -> np.ndarray:
    """Return ``D`` as a full symmetric ``(post, post)`` matrix (identity if None)."""
    if decay_matrix is None:
        return np.eye(n_post)
    d = finite_array("decay_matrix", decay_matrix)
    if d.ndim == 1:
        if d.shape[0] != n_post:
            raise ValueError(
                f"`decay_matrix` as a vector must hold one decay factor per postsynaptic unit "
                f"({n_post}); got {d.shape[0]}."
            )
        if np.any(d < 0):
            raise ValueError("`decay_matrix` must be non-negative (a penalty); found "
                             f"min {d.min():g}.")
        return np.diag(d)
    if d.shape != (n_post, n_post):
        raise ValueError(
            f"`decay_matrix` must have shape (post,) or (post, post) = ({n_post},) or "
            f"({n_post}, {n_post}); got {d.shape}."
        )
    if not np.allclose(d, d.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(d).max())):
        raise ValueError(
            "`decay_matrix` must be symmetric: the penalty γ/2 Tr[Wᵀ D W] only sees the "
            f"symmetric part of D; got max |D − Dᵀ| = {np.abs(d - d.T).max():g}. "
            "Pass (D + D.T) / 2."
        )
    return d


def _activity(name: str, value: Any) -> np.ndarray:
    return finite_array(name, value, 2, "(n_samples, n_units)")


# ----------------------------------------------------------------------------- Lemma 1


def lemma1_alignment_mass(weight: Any, *, decay: float, presyn_norm_sq: float,
                          decay_matrix: Any = None, batch_size: int = 1,
                          presyn_second_moment: Any = None) -> float:
    """Lemma 1: the alignment mass ``C(W*) = E⟨g, H⟩ = γ c_a ‖W*‖²_F`` at a stationary point.

    Assumptions: the chain rule holds (``∇_W ℓ = ∇_{h_b} ℓ h_aᵀ``, true for any
    loss of ``h_b = W h_a``), every presynaptic vector has the same squared norm
    ``‖h_a‖² = c_a``, and ``W*`` is stationary, ``E[g] = γ D W*``.  Then per sample
    ``⟨g, H⟩ = −(∇_{h_b}ℓ · h_b) c_a = c_a ⟨g, W⟩``, so
    ``E⟨g, H⟩ = c_a ⟨E g, W*⟩ = γ c_a Tr[W*ᵀ D W*]`` (``= γ c_a ‖W*‖²`` for ``D = I``).

    With ``g`` and ``H`` both computed on a mini-batch of ``B`` i.i.d. samples
    (``g = −∇`` of the mean batch loss, ``H`` the batch mean of ``h_b h_aᵀ``) the
    ``B (B − 1)`` cross pairs add ``⟨E g, E H⟩ = γ Tr[W*ᵀ D W* Σ_a]`` each, where
    ``Σ_a = E[h_a h_aᵀ]``:
    ``E⟨g_B, H_B⟩ = γ (c_a Tr[W*ᵀ D W*] / B + (1 − 1/B) Tr[W*ᵀ D W* Σ_a])``.

    Parameters
    ----------
    weight : array, shape (post, pre)
        The stationary weights ``W*``.
    decay : float
        Decay rate ``γ ≥ 0`` (per unit of the learning signal; dimensionless for a
        loss gradient).
    presyn_norm_sq : float
        ``c_a = ‖h_a‖²``, the constant squared presynaptic norm (activity² units).
    decay_matrix : array, shape (post,) or (post, post), optional
        Non-uniform decay ``D`` (penalty ``γ/2 Tr[Wᵀ D W]``), identity by default.
    batch_size : int
        ``B``: number of samples ``g`` and ``H`` are averaged over (1: per sample).
    presyn_second_moment : array, shape (pre, pre), optional
        ``Σ_a = E[h_a h_aᵀ]``, needed when ``batch_size > 1``; its trace must equal
        ``presyn_norm_sq``.

    Returns
    -------
    float
        ``C(W*)`` in units of ``g`` × activity² (``> 0`` Hebbian, for any ``W* ≠ 0``).

    Examples
    --------
    ``C > 0`` is Hebbian, ``C < 0`` anti-Hebbian; at stationarity it is positive:

    >>> lemma1_alignment_mass(np.array([[1.0, 2.0]]), decay=0.01, presyn_norm_sq=2.0)
    0.1
    """
    w = _matrix("weight", weight)
    gamma = check_nonnegative("decay", decay)
    c_a = check_positive("presyn_norm_sq", presyn_norm_sq, "(activity²)")
    b = check_int("batch_size", batch_size, low=1)
    d = _decay_matrix(decay_matrix, w.shape[0])
    wdw = w.T @ d @ w  # (pre, pre)
    per_sample = gamma * c_a * float(np.trace(wdw))
    if b == 1:
        return per_sample
    if presyn_second_moment is None:
        raise ValueError(
            "`presyn_second_moment` (E[h_a h_aᵀ], shape (pre, pre)) is needed when "
            f"batch_size > 1; got None with batch_size={b}."
        )
    sig = finite_array("presyn_second_moment", presyn_second_moment)
    if sig.shape != (w.shape[1], w.shape[1]):
        raise ValueError(
            f"`presyn_second_moment` must have shape (pre, pre) = {(w.shape[1], w.shape[1])}; "
            f"got {sig.shape}."
        )
    if not math.isclose(float(np.trace(sig)), c_a, rel_tol=1e-6):
        raise ValueError(
            f"`presyn_second_moment` must have trace equal to `presyn_norm_sq` ({c_a:g}) when "
            f"the presynaptic norm is constant; got trace {np.trace(sig):g}."
        )
    cross = gamma * float(np.sum(wdw * sig))
    return per_sample / b + (1.0 - 1.0 / b) * cross


# ----------------------------------------------------------------------------- weak form


@dataclass(frozen=True)
class WeakForm(DictResult):
    """Both sides of the weak form: ``observed = Tr[E g E(h_a h_bᵀ)] = ⟨E g, E H⟩_F``
    (units of ``g`` × activity²) and ``predicted = γ E[h_bᵀ D h_b]``, its value at
    stationarity (``> 0`` for ``D ≻ 0``)."""

    observed: float
    predicted: float

    @property
    def relative_gap(self) -> float:
        """``(observed − predicted) / |predicted|`` (NaN when predicted is 0)."""
        p = self.predicted
        return float("nan") if p == 0 else (self.observed - p) / abs(p)


def weak_form(mean_signal: Any, pre: Any, post: Any, *, decay: float,
              decay_matrix: Any = None) -> WeakForm:
    """The weak form of emergent Hebbianity, for any rule: observed and predicted sides.

    At a stationary point of ``ΔW = η (g − γ D W)`` we have ``E[g] = γ D W``, so for
    any rule (gradient or not)
    ``Tr[E[g] E[h_a h_bᵀ]] = γ Tr[D W E(h_a h_aᵀ) Wᵀ] = γ E[h_bᵀ D h_b] > 0``.
    The left side is ``⟨E g, E H⟩_F`` with ``E H = E[h_b h_aᵀ]``.

    Parameters
    ----------
    mean_signal : array, shape (post, pre)
        ``E[g]``, the rule's learning signal averaged over batches (decay and noise
        excluded).
    pre : array, shape (n_samples, n_pre)
        Presynaptic activity ``h_a``.
    post : array, shape (n_samples, n_post)
        Postsynaptic pre-activation ``h_b = W h_a`` with the weights at which
        ``mean_signal`` was measured.
    decay : float
        ``γ ≥ 0``, in the units of ``g`` per unit weight.
    decay_matrix : array, shape (post,) or (post, post), optional
        Non-uniform decay ``D``, penalty ``γ/2 Tr[Wᵀ D W]`` (symmetric); identity
        by default.

    Returns
    -------
    WeakForm
        ``observed`` and ``predicted``; they agree (up to sampling error) at
        stationarity and differ by ``⟨E g − γ D W, E H⟩`` away from it.

    Examples
    --------
    Positive means Hebbian; at ``E g = γ W`` both sides agree:

    >>> pre = np.array([[1.0, 0.0], [0.0, 1.0]]); W = np.array([[1.0, 2.0]])
    >>> weak_form(0.1 * W, pre, pre @ W.T, decay=0.1).relative_gap
    0.0
    """
    g = _matrix("mean_signal", mean_signal)
    ha = _activity("pre", pre)
    hb = _activity("post", post)
    gamma = check_nonnegative("decay", decay)
    if ha.shape[0] != hb.shape[0]:
        raise ValueError(
            f"`pre` and `post` must have the same number of samples (axis 0); got "
            f"{ha.shape[0]} and {hb.shape[0]}."
        )
    if g.shape != (hb.shape[1], ha.shape[1]):
        hint = " Did you pass W.T? plastix uses (post, pre)." if g.shape == (
            ha.shape[1], hb.shape[1]) else ""
        raise ValueError(
            f"`mean_signal` must have shape (n_post, n_pre) = {(hb.shape[1], ha.shape[1])}; "
            f"got {g.shape}.{hint}"
        )
    d = _decay_matrix(decay_matrix, hb.shape[1])
    n = ha.shape[0]
    mean_h = hb.T @ ha / n  # E[h_b h_aᵀ], (post, pre)
    observed = float(np.sum(g * mean_h))
    predicted = gamma * float(np.einsum("ni,ij,nj->", hb, d, hb) / n)
    return WeakForm(observed=observed, predicted=predicted)


# ----------------------------------------------------------------------------- noise


def noise_expectation(
    v: Any, x: Any, y: Any, *, sigma: float, loss_scale: float = 1.0
) -> Any:
    """``E_ε[⟨Δ_SGD w, Δ_Hebb w⟩]`` for linear regression with parameter noise.

    Model: per-sample loss ``ℓ(w) = c (wᵀx − y)²`` (``c`` = ``loss_scale``, 1 by
    default as in SPEC §3), weights ``w = v + ε`` with ``ε ~ N(0, σ² I)`` drawn
    before the step, ``Δ_SGD w = −∇_w ℓ(w) = −2c (wᵀx − y) x`` (learning rate 1)
    and ``Δ_Hebb w = (wᵀx) x`` (post × pre, with the *noisy* weights).  With
    ``u = wᵀx ~ N(vᵀx, σ²‖x‖²)``:

    ``E_ε⟨Δ_SGD, Δ_Hebb⟩ = −2c ‖x‖² E[u (u − y)]
    = −2c ‖x‖² [(vᵀx)² + σ² ‖x‖² − (vᵀx) y]``.

    SPEC §3 writes the bracket without the factor ``2c``; that is this formula for
    ``c = ½`` (``ℓ = ½ (wᵀx − y)²``).  The sign, and so the boundary, is the same
    at equal stationary ``v``.

    Parameters
    ----------
    v : array, shape (d,)
        Noise-free weights.
    x : array, shape (d,) or (n, d)
        Input(s).
    y : float or array, shape () or (n,)
        Target(s).
    sigma : float
        Noise SD ``σ ≥ 0`` (weight units).
    loss_scale : float
        ``c > 0`` in ``ℓ = c (wᵀx − y)²``.

    Returns
    -------
    float or array, shape () or (n,)
        The expectation (``> 0`` Hebbian, ``< 0`` anti-Hebbian); large ``σ`` makes
        it negative.

    Examples
    --------
    Negative means anti-Hebbian; at the teacher (``vᵀx = y``) only noise remains:

    >>> noise_expectation([1.0, 0.0], [1.0, 0.0], 1.0, sigma=0.5)
    -0.5
    """
    v = finite_array("v", v, 1, "(d,) (a weight vector)")
    x = finite_array("x", x)
    if x.ndim not in (1, 2) or x.shape[-1] != v.shape[0]:
        raise ValueError(
            f"`x` must have shape (d,) or (n, d) with d = len(v) = {v.shape[0]}; got shape "
            f"{x.shape}."
        )
    y = finite_array("y", y)
    if y.shape != x.shape[:-1]:
        raise ValueError(
            f"`y` must have shape {x.shape[:-1]} (one target per input); got {y.shape}."
        )
    s = check_nonnegative("sigma", sigma, "(weight units)")
    c = check_positive("loss_scale", loss_scale)
    xx = np.sum(x * x, axis=-1)
    vx = x @ v
    out = -2.0 * c * xx * (vx**2 + s**2 * xx - vx * y)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class LinearNoiseBoundary(DictResult):
    """Hebbian/anti-Hebbian boundary of noisy linear regression with decay.

    The expected alignment mass at the stationary point ``v*`` (``weight``, shape
    ``(d,)``) of ``v ← v + η (−∇ℓ(v + ε) − γ v)`` is ``C(γ, σ) = γ c₁ − σ² c₀``:
    Hebbian for ``σ² < γ / k``, anti-Hebbian above, ``k = c₀ / c₁`` (units of
    1/weight²).  ``c₁`` depends (weakly, for ``γ`` small against the input
    variance) on ``γ`` through ``v*``.  ``decay``, ``batch_size``, ``loss_scale``
    are the inputs; ``method`` is ``"gaussian"`` or ``"empirical"``.
    """

    k: float
    c0: float
    c1: float
    decay: float
    batch_size: int
    loss_scale: float
    method: str
    weight: np.ndarray = field(compare=False, repr=False)

    @property
    def sigma_boundary(self) -> float:
        """``σ* = sqrt(γ / k)``: the noise SD at which the alignment changes sign."""
        return math.sqrt(self.decay * self.c1 / self.c0)

    def expected_alignment(self, sigma: Any) -> Any:
        """``C = γ c₁ − σ² c₀``, the expected ``⟨g, H⟩`` at noise SD ``sigma`` (> 0 Hebbian)."""
        s = finite_array("sigma", sigma)
        out = self.decay * self.c1 - s**2 * self.c0
        return float(out) if out.ndim == 0 else out



def boundary_k_linear(*, decay: float, teacher: Any = None, input_cov: Any = 1.0, x: Any = None,
                      y: Any = None, batch_size: int = 1,
                      loss_scale: float = 1.0) -> LinearNoiseBoundary:
    """Derive ``k = c₀ / c₁`` of the boundary ``γ = k σ²`` for noisy linear regression.

    Setting: per-sample loss ``ℓ = c (wᵀx − y)²``; each step draws fresh
    ``ε ~ N(0, σ² I)``, evaluates ``g = −∇ℓ(w)`` (mean over a batch of ``B``) and
    ``H`` (batch mean of ``(wᵀx) x``) at ``w = v + ε``, then updates
    ``v ← v + η (g − γ v)``.  Parameter noise does not move the mean:
    ``v* = 2c (2c Σ + γ I)⁻¹ E[x y]`` (ridge), ``Σ = E[x xᵀ]``.  At ``v*``
    (:func:`noise_expectation` averaged over the data, plus the batch cross pairs):

    * per-sample part: ``−2c E[‖x‖² v*ᵀx (v*ᵀx − y)] − 2c σ² E‖x‖⁴``;
    * cross pairs (``B > 1``): ``γ v*ᵀ Σ v* − 2c σ² Tr Σ²``;

    and ``E⟨g_B, H_B⟩ = (per-sample)/B + (1 − 1/B)(cross) = γ c₁ − σ² c₀``.

    ``method="gaussian"`` (give ``teacher``): ``x ~ N(0, Σ)``, ``y = tᵀx + ξ`` with
    independent zero-mean label noise ``ξ``.  Isserlis' theorem gives
    ``E‖x‖⁴ = (Tr Σ)² + 2 Tr Σ²`` and the per-sample part
    ``γ v*ᵀ (Tr Σ I + 2Σ) v* − 2c σ² E‖x‖⁴``, so
    ``c₁ = v*ᵀ(Tr Σ I + 2Σ)v* / B + (1 − 1/B) v*ᵀ Σ v*`` and
    ``c₀ = 2c (E‖x‖⁴ / B + (1 − 1/B) Tr Σ²)``.  For isotropic ``Σ = s² I`` in
    ``d`` dimensions ``k = 2c d s² / ‖v*‖²`` whatever ``B``, with
    ``v* = t · 2cs² / (2cs² + γ)``.

    ``method="empirical"`` (give samples ``x``, ``y``): the same expectations
    over the empirical distribution (for any input distribution; needs
    ``decay > 0`` because ``c₁`` is the per-sample part divided by ``γ``).

    Parameters
    ----------
    decay : float
        ``γ`` (≥ 0 for the Gaussian form, > 0 for the empirical one).
    teacher : array, shape (d,), optional
        Teacher weights ``t`` (Gaussian form).
    input_cov : float or array, shape (d, d)
        ``Σ`` of the Gaussian inputs, or a variance ``s²`` for ``s² I``.
    x : array, shape (n, d), optional
        Input samples (empirical form).
    y : array, shape (n,), optional
        Targets (empirical form).
    batch_size : int
        ``B ≥ 1``.
    loss_scale : float
        ``c`` in ``ℓ = c (wᵀx − y)²``.

    Returns
    -------
    LinearNoiseBoundary
        With ``k``, ``c0``, ``c1``, ``v*`` and ``expected_alignment(sigma)``.

    Examples
    --------
    ``γ c₁ − σ² c₀ > 0`` is Hebbian; here ``k = 2 d s² / ‖v*‖² = 2 · 2 / 1``:

    >>> b = boundary_k_linear(decay=0.0, teacher=[1.0, 0.0])
    >>> b.k, b.expected_alignment(1.0) < 0
    (4.0, True)
    """
    gamma = check_nonnegative("decay", decay)
    bsz = check_int("batch_size", batch_size, low=1)
    c = check_positive("loss_scale", loss_scale)
    if (teacher is None) == (x is None):
        raise ValueError(
            "give exactly one of `teacher` (Gaussian closed form) or `x` and `y` (empirical "
            f"moments); got teacher={'None' if teacher is None else 'array'} and "
            f"x={'None' if x is None else 'array'}."
        )
    if teacher is not None:
        t = finite_array("teacher", teacher, 1, "(d,)")
        dim = t.shape[0]
        cov = finite_array("input_cov", input_cov)
        if cov.ndim == 0:
            cov = check_positive("input_cov", float(cov)) * np.eye(dim)
        elif cov.shape != (dim, dim):
            raise ValueError(
                f"`input_cov` must be a variance or a (d, d) = ({dim}, {dim}) covariance; got "
                f"shape {cov.shape}."
            )
        if not np.allclose(cov, cov.T) or np.linalg.eigvalsh((cov + cov.T) / 2).min() < 0:
            raise ValueError("`input_cov` must be a symmetric positive semi-definite matrix.")
        a = 2.0 * c * cov + gamma * np.eye(dim)
        v = np.linalg.solve(a, 2.0 * c * cov @ t)
        tr, tr2 = float(np.trace(cov)), float(np.sum(cov * cov))
        c1_ps = float(v @ (tr * v + 2.0 * cov @ v))
        c0_ps = 2.0 * c * (tr**2 + 2.0 * tr2)
        method = "gaussian"
    else:
        if y is None:
            raise ValueError("`y` must be given with `x` (one target per row of x); got None.")
        xs = _activity("x", x)
        ys = finite_array("y", y)
        if ys.shape != (xs.shape[0],):
            raise ValueError(f"`y` must have shape ({xs.shape[0]},); got {ys.shape}.")
        if gamma <= 0:
            raise ValueError(
                "`decay` must be > 0 for the empirical form (c₁ is the decay-driven part "
                f"divided by γ); got {gamma!r}. Use the Gaussian form for γ = 0."
            )
        n, dim = xs.shape
        cov = xs.T @ xs / n
        v = np.linalg.solve(2.0 * c * cov + gamma * np.eye(dim), 2.0 * c * xs.T @ ys / n)
        xx = np.sum(xs * xs, axis=1)
        u = xs @ v
        c1_ps = float(-2.0 * c * np.mean(xx * u * (u - ys))) / gamma
        c0_ps = 2.0 * c * float(np.mean(xx**2))
        tr2 = float(np.sum(cov * cov))
        method = "empirical"
    c1 = c1_ps / bsz + (1.0 - 1.0 / bsz) * float(v @ cov @ v)
    c0 = c0_ps / bsz + (1.0 - 1.0 / bsz) * 2.0 * c * tr2
    k = c0 / c1 if c1 > 0 else float("nan")
    if not c1 > 0:
        warn_caller(
            f"c₁ = {c1:g} ≤ 0: no Hebbian regime at this decay (v* = 0?); k is NaN.",
            PhaseBoundaryWarning)
    return LinearNoiseBoundary(k=float(k), c0=float(c0), c1=float(c1), decay=gamma,
                               batch_size=bsz, loss_scale=c, method=method, weight=v)


# ----------------------------------------------------------------------------- Theorems 1, 2


@dataclass(frozen=True)
class AlignmentBound(DictResult):
    """Theorem 1/2 lower bounds of :func:`alignment_lower_bound`: floats, or arrays of
    shape ``(...)`` for a batch of weights.

    ``alignment`` ``C(W) = E⟨g, H⟩`` (exact over the samples); ``alignment_star``
    ``C* = C(W*)``; ``distance`` ``‖W − W*‖_F``; ``gap`` ``‖F(W)‖_F`` with
    ``F = E g − γ W``; ``lipschitz`` ``L_C`` on the ball of radius ``distance``;
    ``strong_monotonicity`` ``μ`` (``‖F‖ ≥ μ ‖W − W*‖``); ``bound_distance``
    (Theorem 1) ``C* − L_C ‖W − W*‖``; ``bound_gap`` (Theorem 2)
    ``C* − (L_C(r)/μ) ‖F‖`` with ``r = ‖F‖/μ``; ``safe_radius``, the radius
    around ``W*`` inside which the Theorem-1 bound stays ``> 0``;
    ``stationary_weight`` ``W*``.
    """

    alignment: Any
    alignment_star: float
    distance: Any
    gap: Any
    lipschitz: Any
    strong_monotonicity: float
    bound_distance: Any
    bound_gap: Any
    safe_radius: float
    stationary_weight: np.ndarray = field(compare=False, repr=False)


def alignment_lower_bound(
    weight: Any, *, x: Any, y: Any, decay: float, loss_scale: float = 1.0
) -> AlignmentBound:
    """Theorems 1 and 2 for a linear layer trained on squared error with L2 decay.

    Model: per-sample loss ``ℓ = c ‖W x − y‖²`` (sum over outputs), objective
    ``E ℓ + γ/2 ‖W‖²`` over the samples given, ``g = −∇_W ℓ`` (per sample),
    ``H = (W x) xᵀ``.  With ``M = E[‖x‖² x xᵀ]``, ``N = E[‖x‖² y xᵀ]``,
    ``Σ = E[x xᵀ]``, ``S = E[y xᵀ]``:

    * ``C(W) = E⟨g, H⟩ = −2c (Tr[W M Wᵀ] − ⟨W, N⟩)``, a concave quadratic;
    * ``W* = 2c S (2c Σ + γ I)⁻¹`` and ``F(W) = E g − γ W = −(W − W*)(2c Σ + γ I)``,
      so ``‖F(W)‖ ≥ μ ‖W − W*‖`` with ``μ = 2c λ_min(Σ) + γ``;
    * ``C(W* + Δ) = C* + ⟨∇C*, Δ⟩ − 2c Tr[Δ M Δᵀ] ≥ C* − L_C(r) ‖Δ‖`` for
      ``‖Δ‖ ≤ r``, with the secant Lipschitz constant
      ``L_C(r) = ‖∇C(W*)‖_F + 2c λ_max(M) r`` and ``∇C* = −2c (2 W* M − N)``.
      Theorem 1 uses ``r = ‖W − W*‖``; Theorem 2 replaces the unknown distance by
      its bound ``‖F(W)‖ / μ``, which needs only the stationarity gap.

    The bound is tight to first order along ``Δ ∝ −∇C*``.

    Parameters
    ----------
    weight : array, shape (..., post, pre)
        Weights ``W`` to bound (leading dims: a batch of weight matrices).
    x : array, shape (n, pre)
        Inputs ``h_a``.
    y : array, shape (n, post) or (n,)
        Targets (``(n,)`` means one output).
    decay : float
        ``γ ≥ 0``; ``μ`` must be > 0 (``γ > 0`` or full-rank inputs).
    loss_scale : float
        ``c`` in ``ℓ = c ‖W x − y‖²``.

    Returns
    -------
    AlignmentBound

    Examples
    --------
    ``C > 0`` is Hebbian; the bound certifies it near ``W*``:

    >>> x = np.eye(2); b = alignment_lower_bound(np.array([[0.95, 0.02]]), x=x, y=[1.0, 0.0],
    ...                                            decay=0.1)
    >>> bool(b.alignment >= b.bound_distance > 0)
    True
    """
    w = finite_array("weight", weight)
    if w.ndim < 2:
        raise ValueError(f"`weight` must have shape (..., post, pre); got shape {w.shape}.")
    xs = _activity("x", x)
    ys = y0 = finite_array("y", y)
    if ys.ndim == 1:
        ys = ys[:, None]
    if ys.ndim != 2 or ys.shape[0] != xs.shape[0]:
        raise ValueError(
            f"`y` must have shape (n, post) or (n,) with n = {xs.shape[0]} samples; got "
            f"{y0.shape}."
        )
    gamma = check_nonnegative("decay", decay)
    c = check_positive("loss_scale", loss_scale)
    n, n_pre = xs.shape
    n_post = ys.shape[1]
    if w.shape[-2:] != (n_post, n_pre):
        hint = " Did you pass W.T? plastix uses (post, pre)." if w.shape[-2:] == (
            n_pre, n_post) else ""
        raise ValueError(
            f"`weight` must end in (post, pre) = {(n_post, n_pre)} to match `y` and `x`; got "
            f"shape {w.shape}.{hint}"
        )
    xx = np.sum(xs * xs, axis=1)
    cov = xs.T @ xs / n
    s = ys.T @ xs / n
    m = (xs * xx[:, None]).T @ xs / n
    nn = (ys * xx[:, None]).T @ xs / n
    a = 2.0 * c * cov + gamma * np.eye(n_pre)
    eig_a = np.linalg.eigvalsh(a)
    mu = float(eig_a.min())
    if not mu > 0:
        raise ValueError(
            "`decay` must be > 0 when the inputs `x` do not span all presynaptic dimensions: "
            f"the stationary point is not unique (μ = {mu:g})."
        )
    w_star = np.linalg.solve(a, 2.0 * c * s.T).T  # a symmetric

    def c_of(wm: np.ndarray) -> np.ndarray:
        quad = np.einsum("...ij,jk,...ik->...", wm, m, wm)
        lin = np.einsum("...ij,ij->...", wm, nn)
        return -2.0 * c * (quad - lin)

    c_star = float(c_of(w_star))
    grad_star = -2.0 * c * (2.0 * w_star @ m - nn)
    g_norm = float(np.linalg.norm(grad_star))
    lam_m = float(np.linalg.eigvalsh(m).max())
    delta = w - w_star
    dist = np.sqrt(np.sum(delta**2, axis=(-2, -1)))
    gap = np.sqrt(np.sum((delta @ a) ** 2, axis=(-2, -1)))
    lip = g_norm + 2.0 * c * lam_m * dist
    r_f = gap / mu
    bound_d = c_star - lip * dist
    bound_f = c_star - (g_norm + 2.0 * c * lam_m * r_f) * r_f
    qa = 2.0 * c * lam_m
    if c_star <= 0:
        safe = 0.0
    elif qa == 0:
        safe = c_star / g_norm if g_norm > 0 else math.inf
    else:
        safe = (-g_norm + math.sqrt(g_norm**2 + 4.0 * qa * c_star)) / (2.0 * qa)

    def out(v: np.ndarray) -> Any:
        return float(v) if np.ndim(v) == 0 else v

    return AlignmentBound(
        alignment=out(c_of(w)), alignment_star=c_star, distance=out(dist), gap=out(gap),
        lipschitz=out(lip), strong_monotonicity=mu, bound_distance=out(bound_d),
        bound_gap=out(bound_f), safe_radius=float(safe), stationary_weight=w_star,
    )
