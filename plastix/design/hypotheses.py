"""Hypotheses about the mechanism behind a Hebbian signature, and their calibration.

A hypothesis is a learning rule of the design circuit (:mod:`plastix.design.circuit`)
plus the circuit's decay and noise.  The defaults are the three that matter for
the paper's claim (SPEC §1, §8):

* ``hebbian`` — a *mechanistic* Hebbian rule, ``g = post × pre``;
* ``error``   — an error-driven (delta) rule whose Hebbian signature is *emergent*
  (decay makes its stationary signal align with ``post × pre``);
* ``random``  — a fixed random drive, not a function of co-activity, whose
  signature is emergent too.

All hypotheses share one circuit (:mod:`plastix.design.circuit`): the same inputs,
the same instructive drive ``u = T x`` to the postsynaptic units, the same decay
and synaptic noise; only the rule ``g`` and its learning rate differ.

Calibration makes the hypotheses indistinguishable where an experimenter stands
before any manipulation: each rule's learning rate ``η`` is tuned so that the
estimator, applied to a baseline session at stationarity, returns the same
alignment (the *target*: the alignment measured on the user's record, or a
default).  The achieved baselines are reported next to the target.

Sign convention: alignment ``A = cos(ĝ, H)``; ``A > 0`` Hebbian, ``A < 0``
anti-Hebbian.  For example ``ĝ = H`` gives ``A = 1`` and ``ĝ = −H`` gives ``A = −1``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from plastix._util.errors import check_choice
from plastix._util.results import DictConfig
from plastix._util.validate import check_number
from plastix.design.circuit import (
    DESIGN_RULES,
    CircuitSpec,
    Condition,
    new_sessions,
    run_condition,
    stationary_weight,
)

__all__ = ["Hypothesis", "Calibration", "default_hypotheses", "eta_range", "relaxation_rate",
           "baseline_settle", "calibrate", "hebbian_step_limit"]


@dataclass(frozen=True)
class Hypothesis(DictConfig):
    """One mechanistic account of the measured plasticity.

    Parameters
    ----------
    name : str
        Label used in tables and figures.
    rule : {"hebbian", "error", "random"}
        The learning rule ``g`` (see :mod:`plastix.design.circuit`).
    eta : float, optional
        Learning rate ``η`` (1/s).  ``None``: calibrated to the target alignment.
    description : str
        One sentence for the protocol.
    """

    name: str
    rule: str
    eta: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"`name` must be a non-empty str; got {self.name!r}.")
        check_choice("rule", self.rule, DESIGN_RULES)
        if self.eta is not None:
            object.__setattr__(self, "eta", check_number("eta", self.eta, low=0.0, strict=True,
                                                         unit="1/s"))



def default_hypotheses() -> tuple[Hypothesis, ...]:
    """The mechanistic Hebbian, error-driven and random hypotheses (all with decay)."""
    return (
        Hypothesis("hebbian", "hebbian", description=(
            "a mechanistic Hebbian rule: each synapse changes in proportion to post × pre "
            "co-activity, with weight decay")),
        Hypothesis("error", "error", description=(
            "an error-driven (delta) rule: each synapse changes by the postsynaptic error "
            "times pre, with weight decay; its Hebbian signature is emergent")),
        Hypothesis("random", "random", description=(
            "a random rule: a fixed drive unrelated to co-activity, with weight decay; its "
            "Hebbian signature is emergent")),
    )


def hebbian_step_limit(spec: CircuitSpec, decay: float | None = None) -> float:
    """Largest Hebbian ``η`` (1/s) whose weights stay bounded in mean square, per step.

    One Euler step of ``dt`` multiplies a weight row by ``M = (1 − dt γ) I + dt η x xᵀ``
    with ``x ~ N(0, I_n)``, ``n = n_pre``; since ``E[(x xᵀ)²] = (n + 2) I``, its mean
    square grows by ``ρ = b² + 2 a b + a² (n + 2)`` with ``a = dt η``, ``b = 1 − dt γ``.
    The root of ``ρ = 1`` is the limit: below ``γ`` (the continuous-time limit of the
    mean) by a factor that shrinks with ``dt n``; beyond it the weights of a session
    have unbounded variance and sooner or later overflow (measured: ``η = 3.8``/s with
    ``γ = 4``/s, 60 inputs, ``dt = 0.01`` s, where ``η_ms = 2.33``/s, reached weights of
    2e34 in a 23 s calibration run; ``0.95 η_ms`` stayed below 11 over 64 sessions).
    """
    g = spec.decay if decay is None else decay
    b = 1.0 - spec.dt * g
    n = spec.n_pre + 2.0
    a = (-2.0 * b + math.sqrt(4.0 * b * b + 4.0 * n * (1.0 - b * b))) / (2.0 * n)
    return a / spec.dt


def eta_range(rule: str, spec: CircuitSpec, decay: float | None = None) -> tuple[float, float]:
    """Learning rates (1/s) over which calibration searches.

    Hebbian: up to 0.95 of ``min(γ, η_ms)``, with ``η_ms`` the mean-square limit of
    the Euler step (:func:`hebbian_step_limit`; beyond ``γ``, ``post × pre``
    outgrows decay and there is no stationary state); error: up to the
    Euler–Maruyama stability limit ``dt η n_pre ≤ 1``; random: up to ``8 γ``.
    """
    g = spec.decay if decay is None else decay
    if rule == "hebbian":
        return 0.02 * g, 0.95 * min(g, hebbian_step_limit(spec, g))
    if rule == "error":
        return 0.05 * g, min(16.0 * g, 1.0 / (spec.dt * spec.n_pre))
    return 0.02 * g, 8.0 * g


def relaxation_rate(rule: str, eta: Any, decay: float) -> Any:
    """Rate (1/s) at which the mean weights relax to stationarity (isotropic inputs)."""
    eta = np.asarray(eta, dtype=float)
    if rule == "hebbian":
        return decay - eta
    if rule == "error":
        return eta + decay
    return np.full(eta.shape, float(decay))


def baseline_settle(rule: str, eta: Any, decay: float, *, cap: float = 20.0) -> float:
    """Seconds to run before the baseline window: three relaxation times, at most ``cap``.

    Sessions start at the stationary mean weights, so this only equilibrates the
    fluctuations; the longest over a batch of learning rates is used.
    """
    rate = np.min(np.atleast_1d(relaxation_rate(rule, eta, decay)))
    if not rate > 0:
        return cap
    return float(min(3.0 / rate, cap))


@dataclass(frozen=True)
class Calibration:
    """The outcome of calibrating one hypothesis.

    Attributes
    ----------
    hypothesis : Hypothesis
        With ``eta`` set to the calibrated learning rate (1/s).
    target : float
        The baseline alignment aimed at.
    achieved : float
        Mean estimated baseline alignment at the calibrated ``eta`` (calibration
        sessions).
    achieved_sd : float
        SD of the baseline alignment over those sessions.
    tolerance : float
        Allowed ``|achieved − target|``.
    converged : bool
        ``|achieved − target| ≤ tolerance``.
    grid_eta, grid_alignment : tuple of float
        The learning rates tried and the mean alignment at each.
    """

    hypothesis: Hypothesis
    target: float
    achieved: float
    achieved_sd: float
    tolerance: float
    converged: bool
    grid_eta: tuple[float, ...]
    grid_alignment: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hypothesis"] = self.hypothesis.to_dict()
        return d


def _check_calibration_window(win: Any, spec: CircuitSpec, rule: str, etas: np.ndarray,
                              name: str | None) -> None:
    """Raise one line naming the hypothesis and ``eta`` when a calibration window ran away."""
    from plastix.circuits.divergence import SimulationDiverged
    from plastix.design.circuit import window_divergence

    for i, eta in enumerate(etas):
        found = window_divergence(win, spec, (i,))
        if found is None:
            continue
        who = f"hypothesis {name!r} ({rule} rule)" if name else f"the {rule} rule"
        raise SimulationDiverged(
            f"the calibration of {who} diverged at eta {eta:.3g} 1/s ({found.describe()} of "
            f"the baseline window; decay {spec.decay:g} 1/s, dt {spec.dt:g} s, {spec.n_pre} "
            "inputs): plastix's own simulation, not the file of --record, ran away; give this "
            "hypothesis a smaller fixed `eta` (Hypothesis(eta=...)), and please report it.")


def _baseline_alignment(spec: CircuitSpec, rule: str, etas: np.ndarray, n_sessions: int,
                        rng: np.random.Generator, measure: Callable[[Any], float],
                        progress: Any = None, client: Any = None,
                        name: str | None = None) -> np.ndarray:
    """Estimated baseline alignment, shape ``(len(etas), n_sessions)``; the sessions are
    simulated here and measured one task each (:func:`plastix.design._tasks.measure_records`)."""
    from plastix.design._tasks import measure_records
    from plastix.design.circuit import window_record

    state = new_sessions(spec, rule, etas[:, None], batch=(etas.size, n_sessions), rng=rng)
    state.weight = np.nan_to_num(stationary_weight(rule, state.eta, spec.decay, state.teacher,
                                                   state.drive))
    cond = Condition(spec.decay, spec.noise)
    with np.errstate(over="ignore", invalid="ignore"):
        win = run_condition(state, spec, cond, settle=baseline_settle(rule, etas, spec.decay))
    _check_calibration_window(win, spec, rule, etas, name)
    recs = [window_record(win, (i, j), spec, decay=spec.decay)
            for i in range(etas.size) for j in range(n_sessions)]
    out = measure_records(recs, measure, what=f"the calibration of the {rule} rule",
                          bar=progress, client=client)
    return out.reshape(etas.size, n_sessions)


def calibrate(
    hypotheses: Sequence[Hypothesis],
    spec: CircuitSpec,
    *,
    target: float,
    measure: Callable[[Any], float],
    n_sessions: int = 4,
    n_grid: int = 8,
    tolerance: float | None = None,
    rng: Any = None,
    progress: Any = None,
    client: Any = None,
) -> tuple[Calibration, ...]:
    """Tune each hypothesis' learning rate so its baseline alignment equals ``target``.

    For each hypothesis without a fixed ``eta``: estimate the baseline alignment
    on a log-spaced grid of ``n_grid`` learning rates (:func:`eta_range`),
    ``n_sessions`` sessions each; take the first crossing of ``target`` (linear
    interpolation in ``log η``); then refine by up to five bisection steps within
    the bracketing grid cell (with common random numbers: the same ``n_sessions``
    sessions at every step) until the mean is within ``tolerance``.  The achieved
    baseline is reported for those sessions; :func:`plastix.design.propose_experiments`
    reports it again on fresh replicate sessions.

    Parameters
    ----------
    hypotheses : sequence of Hypothesis
    spec : CircuitSpec
    target : float
        Baseline alignment to reproduce, in (−1, 1).
    measure : callable
        ``measure(record) -> alignment``; the estimator.
    n_sessions, n_grid : int
        Sessions per evaluation and grid size.
    tolerance : float, optional
        Allowed error; default ``max(0.02, 2 SE)`` with ``SE`` the standard error
        of the mean alignment at the calibrated ``η``.
    rng : int, Generator or None
    progress : tqdm bar, optional
        Updated once per measured session.
    client : distributed.Client, optional
        Measure the calibration sessions on this Dask cluster, one task per session
        (simulated here; each task carries its record): the same numbers as without.

    Returns
    -------
    tuple of Calibration
        In the order of ``hypotheses``.

    Raises
    ------
    ValueError
        When a hypothesis cannot reach ``target`` anywhere in its range; the message
        gives the range it can reach.
    """
    from plastix._util.rng import resolve_rng

    gen = resolve_rng(rng)
    if not -1.0 < float(target) < 1.0:
        raise ValueError(f"`target` must be an alignment in (-1, 1); got {target!r}.")
    out = []
    for hyp in hypotheses:
        child = gen.spawn(1)[0]
        if hyp.eta is not None:
            a = _baseline_alignment(spec, hyp.rule, np.array([hyp.eta]), n_sessions, child,
                                    measure, progress, client, hyp.name)[0]
            tol = _tol(tolerance, a)
            out.append(Calibration(hyp, float(target), float(a.mean()), float(a.std(ddof=1)),
                                   tol, abs(a.mean() - target) <= tol, (hyp.eta,),
                                   (float(a.mean()),)))
            continue
        lo, hi = eta_range(hyp.rule, spec)
        grid = np.geomspace(lo, hi, n_grid)
        vals = _baseline_alignment(spec, hyp.rule, grid, n_sessions, child, measure, progress,
                                   client, hyp.name)
        means = vals.mean(axis=1)
        above = means >= target
        if above[0] or not above.any():
            raise ValueError(
                f"hypothesis {hyp.name!r} ({hyp.rule} rule) cannot reach the target baseline "
                f"alignment {target:.3f} in this circuit: over eta in [{lo:.3g}, {hi:.3g}] 1/s its "
                f"baseline alignment runs from {means.min():.3f} to {means.max():.3f}. Calibrate "
                f"every hypothesis to a target inside that range (`target`, e.g. "
                f"{_inside(means):.2f}), or, in Python, leave this hypothesis out of `hypotheses`.")
        i = int(np.argmax(above))  # first grid point at or above target
        e_lo, e_hi, m_lo, m_hi = grid[i - 1], grid[i], means[i - 1], means[i]
        best = (grid[i], vals[i])
        # refinement uses common random numbers (the same sessions at every eta), so the
        # bisection follows a smooth function of eta rather than sampling noise
        crn = int(child.integers(0, 2**63 - 1))
        for _ in range(5):
            frac = (target - m_lo) / (m_hi - m_lo) if m_hi != m_lo else 0.5
            eta = float(math.exp(math.log(e_lo) + frac * (math.log(e_hi) - math.log(e_lo))))
            a = _baseline_alignment(spec, hyp.rule, np.array([eta]), n_sessions,
                                    np.random.default_rng(crn), measure, progress, client,
                                    hyp.name)[0]
            if abs(a.mean() - target) < abs(best[1].mean() - target):
                best = (eta, a)
            if abs(a.mean() - target) <= _tol(tolerance, a):
                break
            if a.mean() < target:
                e_lo, m_lo = eta, a.mean()
            else:
                e_hi, m_hi = eta, a.mean()
        eta, a = best
        tol = _tol(tolerance, a)
        out.append(Calibration(dataclasses.replace(hyp, eta=float(eta)), float(target),
                               float(a.mean()), float(a.std(ddof=1)), tol,
                               bool(abs(a.mean() - target) <= tol), tuple(map(float, grid)),
                               tuple(map(float, means))))
    return tuple(out)


def _inside(means: np.ndarray) -> float:
    """A target the grid's mean alignments cross: the midpoint of their range."""
    return float(0.5 * (means.min() + means.max()))


def _tol(tolerance: float | None, a: np.ndarray) -> float:
    if tolerance is not None:
        return float(tolerance)
    return float(max(0.02, 2 * a.std(ddof=1) / math.sqrt(a.size)))
