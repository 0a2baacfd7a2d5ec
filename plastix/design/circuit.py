"""The fast linear-rate circuit that experiment design simulates (numpy, batched).

It integrates the plastic-synapse equation of :mod:`plastix.circuits`,

``dw/dt = η g − γ w + σ ξ(t)``,

with Euler–Maruyama steps of one fine bin ``dt``, for many replicate sessions at
once (leading batch dimension), and writes each measurement window as a plastix
record (:func:`plastix.record.make_record`) so that the *same estimator* that
serves real data measures it.

The circuit (all rates are fluctuations about baseline, in arbitrary units "a.u.";
times in seconds)::

    x(t) ~ N(0, I)                      presynaptic rate fluctuations, one draw per bin
    u(t) = T x(t)                       instructive (teacher) drive to each post unit
    y(t) = W x(t) + u(t)                postsynaptic rate (what a recording sees)

and the rules ``g`` (post × pre; the learning signal, decay and noise excluded):

``"hebbian"``  ``g = y xᵀ`` (post × pre co-activity, a mechanistic Hebbian rule);
``"error"``    ``g = κ (T x − W x) xᵀ`` (the delta rule: the error between the
               instructive target and the plastic input, times pre; ``κ`` is the
               error gain, 1 at baseline, −1 when the error signal is inverted);
``"random"``   ``g = G`` (a fixed random matrix, not a function of co-activity).

With isotropic inputs the stationary weights are ``W* = η/(γ − η) T`` (Hebbian,
stable only for ``η < γ``), ``W* = η/(η + γ) T`` (error) and ``W* = η G / γ``
(random).  ``T`` and ``G`` have i.i.d. ``N(0, 1/n_pre)`` entries, so each row has
unit norm on average.

Why a numpy path: the design needs hundreds of sessions (hypotheses ×
manipulations × replicates, plus calibration) in about a minute; the
Euler–Maruyama integration below is the same equation on the record's own bin
``dt`` and is vectorised over sessions.  The same circuit is written as Brian2
equations in :mod:`plastix.circuits.linear`; ``CircuitSpec(simulator="brian2")``
(or ``propose_experiments(simulator="brian2")``) runs every session through it
instead.  Both paths consume the same random draws in the same order
(:func:`_draws`: per weight interval, the noise kick, then the interval's
inputs bin by bin), so for the same seed they return the same records to float
precision (``tests/test_design_brian2.py``: relative differences ~1e-16).  The
Brian2 path is slower (measured on the shared machine: 0.1-0.5 ms per bin for 1
to 64 sessions of 128 synapses plus ~0.15 s to build each network, against
20-80 µs per bin here; the default design took 16 s against 4.3 s in the same
run) and is there to show that the design's numbers come from the same
circuits that serve real data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from plastix._util.errors import check_choice
from plastix.circuits.spec import DESIGN_RULES, SIMULATORS, CircuitSpec, Condition
from plastix.record import make_record

__all__ = ["DESIGN_RULES", "SIMULATORS", "CircuitSpec", "Condition", "SessionState", "new_sessions",
           "run_condition", "stationary_weight", "window_divergence"]


@dataclass
class SessionState:
    """Weights and fixed matrices of a batch of sessions (leading dims ``batch``)."""

    weight: np.ndarray          # (..., post, pre)
    teacher: np.ndarray         # (..., post, pre)
    drive: np.ndarray           # (..., post, pre) the random rule's G
    eta: np.ndarray             # (...,) learning rate per session (1/s)
    rule: str
    rng: np.random.Generator

    def copy(self, rng: np.random.Generator) -> SessionState:
        return SessionState(self.weight.copy(), self.teacher, self.drive, self.eta, self.rule,
                            rng)


def stationary_weight(rule: str, eta: Any, decay: float, teacher: np.ndarray,
                      drive: np.ndarray) -> np.ndarray:
    """Mean stationary weights for isotropic unit-variance inputs (continuous time).

    Returns NaN for a Hebbian rule with ``η ≥ γ`` (no stable fixed point).
    """
    eta = np.asarray(eta, dtype=float)[..., None, None]
    if rule == "hebbian":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(eta < decay, eta / (decay - eta), np.nan) * teacher
    if rule == "error":
        return eta / (eta + decay) * teacher
    return eta / decay * drive


def new_sessions(spec: CircuitSpec, rule: str, eta: Any, *, batch: tuple[int, ...],
                 rng: np.random.Generator) -> SessionState:
    """Naive sessions (``W = 0``) with fresh teacher and random-drive matrices.

    ``eta`` broadcasts against ``batch`` (e.g. a grid of learning rates).
    """
    check_choice("rule", rule, DESIGN_RULES)
    shape = tuple(batch) + (spec.n_post, spec.n_pre)
    scale = 1.0 / math.sqrt(spec.n_pre)
    teacher = rng.normal(0.0, scale, size=shape)
    drive = rng.normal(0.0, scale, size=shape)
    eta_arr = np.broadcast_to(np.asarray(eta, dtype=float), tuple(batch)).copy()
    return SessionState(np.zeros(shape), teacher, drive, eta_arr, rule, rng)


def _draws(rng: np.random.Generator, batch: tuple[int, ...], spec: CircuitSpec,
           cond: Condition, n_bins: int) -> Any:
    """The random draws of ``n_bins`` steps, one weight interval at a time.

    Yields ``(start, xi, x)``: the first bin of the interval, the standard-normal
    noise kick ``xi`` (``batch + (post, pre)``; None without synaptic noise) applied
    at its start, and the standard-normal inputs ``x`` (``(bins,) + batch + (pre,)``,
    before silencing) of its bins.  The stream order (kick, then the interval's
    inputs bin after bin) is the one both simulators consume, so the numpy and the
    Brian2 paths see the same numbers for the same generator.
    """
    m = spec.bins_per_interval
    for start in range(0, n_bins, m):
        xi = rng.standard_normal(batch + (spec.n_post, spec.n_pre)) if cond.noise > 0 else None
        x = rng.standard_normal((min(m, n_bins - start),) + batch + (spec.n_pre,))
        yield start, xi, x


def _steps(state: SessionState, spec: CircuitSpec, cond: Condition, n_bins: int, *,
           record: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Advance ``n_bins`` Euler–Maruyama steps; optionally return the activity and weights."""
    if spec.simulator == "brian2":
        return _steps_brian2(state, spec, cond, n_bins, record=record)
    rng = state.rng
    batch = state.weight.shape[:-2]
    n_pre, n_post = spec.n_pre, spec.n_post
    dt, m = spec.dt, spec.bins_per_interval
    eta = state.eta[..., None, None]
    n_silent = int(round(cond.silenced * n_pre))
    active = np.ones(n_pre)
    active[n_pre - n_silent:] = 0.0
    kick = cond.noise * math.sqrt(m * dt)
    w = state.weight
    if record:
        pre_rec = np.empty(batch + (n_bins, n_pre))
        post_rec = np.empty(batch + (n_bins, n_post))
        w_rec = np.empty(batch + (n_bins // m + 1, n_post, n_pre))
    for start, xi, xs in _draws(rng, batch, spec, cond, n_bins):
        if xi is not None:  # parameter noise: each interval starts from perturbed weights
            w = w + kick * xi
        if record:
            w_rec[..., start // m, :, :] = w
        for k in range(xs.shape[0]):
            t = start + k
            x = xs[k] * active
            u = np.einsum("...ij,...j->...i", state.teacher, x)
            wx = np.einsum("...ij,...j->...i", w, x)
            y = wx + u
            if state.rule == "hebbian":
                g = y[..., :, None] * x[..., None, :]
            elif state.rule == "error":
                g = cond.error_gain * (u - wx)[..., :, None] * x[..., None, :]
            else:
                g = state.drive
            w = w + dt * (eta * g - cond.decay * w)
            if record:
                pre_rec[..., t, :] = x
                post_rec[..., t, :] = y
    state.weight = w
    if record:
        w_rec[..., -1, :, :] = w
        if spec.measurement_noise > 0:
            w_rec = w_rec + spec.measurement_noise * rng.standard_normal(w_rec.shape)
        return pre_rec, post_rec, w_rec
    return None


def _steps_brian2(state: SessionState, spec: CircuitSpec, cond: Condition, n_bins: int, *,
                  record: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`_steps` through the Brian2 circuit, fed the numpy path's random draws."""
    from plastix.circuits.linear import integrate_linear

    batch = state.weight.shape[:-2]
    xs, xis = [], []
    for _, xi, x in _draws(state.rng, batch, spec, cond, n_bins):
        xs.append(x)
        xis.append(xi)
    res = integrate_linear(
        spec, rule=state.rule, eta=state.eta, decay=cond.decay, noise=cond.noise,
        weights0=state.weight, teacher=state.teacher, drive=state.drive,
        inputs=np.moveaxis(np.concatenate(xs), 0, -2),
        noise_increments=np.stack(xis, axis=-3) if cond.noise > 0 else None,
        error_gain=cond.error_gain, silenced=cond.silenced, record=record)
    state.weight = res["final_weight"]
    if not record:
        return None
    w_rec = res["weight"]
    if spec.measurement_noise > 0:
        w_rec = w_rec + spec.measurement_noise * state.rng.standard_normal(w_rec.shape)
    return res["pre"], res["post"], w_rec


def run_condition(state: SessionState, spec: CircuitSpec, cond: Condition, *,
                  settle: float = 0.0, measure: bool = True) -> dict[str, np.ndarray] | None:
    """Run ``settle`` seconds unrecorded, then (if ``measure``) one recorded window.

    Returns ``{"pre": (..., time, pre), "post": (..., time, post),
    "weight": (..., n_intervals + 1, post, pre)}`` for the window, or None.
    """
    n_settle = int(round(settle / spec.dt))
    if n_settle:
        _steps(state, spec, cond, n_settle, record=False)
    if not measure:
        return None
    n_bins = spec.n_intervals * spec.bins_per_interval
    pre, post, w = _steps(state, spec, cond, n_bins, record=True)
    return {"pre": pre, "post": post, "weight": w}


def window_record(window: Mapping[str, np.ndarray], index: tuple[int, ...], spec: CircuitSpec,
                  *, decay: float, truth: Mapping[str, Any] | None = None,
                  provenance: Mapping[str, Any] | None = None) -> Any:
    """The plastix record of one session (``index`` into the batch) of a window."""
    pre = window["pre"][index]
    post = window["post"][index]
    w = window["weight"][index]
    n_bins = pre.shape[0]
    return make_record(
        pre, post, w, time=np.arange(n_bins) * spec.dt,
        weight_time=(np.arange(w.shape[0]) * spec.bins_per_interval) * spec.dt, dt=spec.dt,
        time_units="s", activity_units="a.u.", activity_kind="activation",
        decay=decay, source="plastix.design", truth=truth, provenance=provenance)


def window_divergence(window: Mapping[str, np.ndarray], spec: CircuitSpec,
                      index: tuple[int, ...] = ()) -> Any:
    """Where a simulated window (or its sessions ``index``) ran away, or None.

    Checks the activity against :data:`plastix.record.MAX_ARBITRARY` (a.u.) and the
    weights against :data:`plastix.record.MAX_WEIGHT`, the bounds a record must keep,
    so that a diverged simulation is reported as one before
    :func:`window_record` would refuse its values as those of a corrupt file.

    Returns
    -------
    plastix.circuits.divergence.Divergence or None
        Times are seconds from the start of the window.
    """
    from plastix.circuits.divergence import find_divergence
    from plastix.record import MAX_ARBITRARY, MAX_WEIGHT

    pre, post, w = (np.asarray(window[k])[index] for k in ("pre", "post", "weight"))
    t = np.arange(pre.shape[-2]) * spec.dt
    wt = np.arange(w.shape[-3]) * spec.weight_interval
    return find_divergence([("post activity", post, MAX_ARBITRARY, "a.u.", t, -2),
                            ("pre activity", pre, MAX_ARBITRARY, "a.u.", t, -2),
                            ("weight", w, MAX_WEIGHT, "", wt, -3)], nan_is_divergence=True)
