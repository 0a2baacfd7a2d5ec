"""The experiment-design circuit (linear rates, three rules) as a Brian2 network.

:mod:`plastix.design.circuit` integrates this circuit in batched numpy because the
design needs hundreds of sessions in about a minute.  This module is the same
circuit written as Brian2 equations (:data:`INPUTS`, :data:`POST`,
:data:`SYNAPSE`, :data:`SIGNALS`, :data:`KICK_GIVEN`, :data:`KICK_DRAWN`), so
that a design can be run through Brian2 end to end
(``propose_experiments(simulator="brian2")``) and so that a test can check that
both implementations integrate the same equations to float precision when they
are fed the same random draws.

The circuit (rates are fluctuations about baseline in arbitrary units "a.u.";
time in s)::

    x(t) ~ N(0, I), silenced units 0     presynaptic rates, one draw per bin dt
    u(t) = T x(t)                         instructive (teacher) drive of each post unit
    y(t) = W x(t) + u(t)                  postsynaptic rate
    dw/dt = η g − γ w + σ ξ(t)            every plastic synapse (post × pre)

with ``g = y xᵀ`` (``"hebbian"``), ``g = κ (T x − W x) xᵀ`` (``"error"``, ``κ`` the
error gain) or ``g = G`` (``"random"``, a fixed matrix).

Time-step semantics (identical to :mod:`plastix.design.circuit`), one bin ``dt``
per Brian2 step, in schedule order:

1. ``start``: at the first bin of every weight interval (every ``m =
   weight_interval / dt`` bins, counted from the start of the run) the noise kick
   ``w += σ √(m dt) ξ`` with ``ξ ~ N(0, 1)`` (:data:`KICK_GIVEN`, from a
   ``TimedArray`` of given draws, or :data:`KICK_DRAWN`, Brian2's ``randn()``);
   then the weight monitor samples ``w``.
2. ``groups``: the summed variables ``W x`` and ``T x`` (order −1, before the
   synapses), then one Euler step ``w ← w + dt (η g − γ w)`` with ``g`` evaluated
   on the weights before the step.
3. ``end``: the monitors record ``x`` and ``y`` of this bin (``y`` from the
   weights before the step, as in the numpy circuit).

The inputs ``x`` are always given, as a 2-D ``TimedArray`` ``x_in(t, i)`` of
standard-normal draws (silencing multiplies them by 0 inside the circuit), so
the same draws can be fed to both implementations.

Sessions are independent blocks of one network: session ``s`` owns inputs
``s·n_pre … s·n_pre + n_pre − 1``, post units ``s·n_post …`` and the synapses
``s·n_post·n_pre …`` in (post, pre) C order, so flat synaptic vectors reshape to
``(session, post, pre)``.

Sign convention of the alignment measured on these records: ``A = cos(ĝ, H)``,
``A > 0`` Hebbian, ``A < 0`` anti-Hebbian (``ĝ = H`` gives 1, ``ĝ = −H`` gives −1).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.optional import brian2_scope, import_brian2
from plastix._util.rng import child_seed, resolve_rng
from plastix._util.validate import (
    as_float_array,
    check_finite,
    check_fraction,
    check_memory,
    check_number,
)
from plastix.circuits.spec import DESIGN_RULES, CircuitSpec

__all__ = ["INPUTS", "POST", "SYNAPSE", "SIGNALS", "KICK_GIVEN", "KICK_DRAWN",
           "LINEAR_RULES", "linear_equations", "integrate_linear", "simulate_linear"]

LINEAR_RULES = DESIGN_RULES

INPUTS = """
x = active*x_in(t, i) : 1
active : 1 (constant)
"""
"""Presynaptic units: ``x_in`` is a ``TimedArray`` (bins × units) of N(0, 1) draws;
``active`` is 0 for silenced units, 1 otherwise."""

POST = """
wx : 1
u : 1
y = wx + u : 1
"""
"""Postsynaptic units: ``wx = W x`` and ``u = T x`` are summed from the synapses."""

SYNAPSE = """
dw/dt = eta*g - gamma*w : 1 (clock-driven)
g = {g} : 1
eta : Hz (constant)
wt : 1 (constant)
G : 1 (constant)
k_syn : integer (constant)
wx_post = w*x_pre : 1 (summed)
u_post = wt*x_pre : 1 (summed)
"""
"""The plastic synapse (``{g}`` from :data:`SIGNALS`); ``wt`` is the teacher ``T``,
``G`` the random rule's drive, ``k_syn`` the synapse's column in the noise
``TimedArray``.  ``gamma`` (Hz) and ``kappa`` come from the namespace."""

SIGNALS = {
    "hebbian": "y_post*x_pre",
    "error": "kappa*(u_post - wx_post)*x_pre",
    "random": "G",
}
"""The learning signal ``g`` of each rule (post × pre, dimensionless)."""

KICK_GIVEN = "w += sigma_kick*xi_kick(t, k_syn)"
"""Noise kick from given N(0, 1) draws (``TimedArray`` kicks × synapses, step ``m dt``)."""

KICK_DRAWN = "w += sigma_kick*randn()"
"""Noise kick drawn by Brian2."""

_RUNTIME_TARGETS = ("numpy", "cython", "auto")


def linear_equations(rule: str) -> str:
    """The synaptic equations of ``rule`` (:data:`SYNAPSE` with its signal)."""
    check_choice("rule", rule, LINEAR_RULES)
    return SYNAPSE.format(g=SIGNALS[rule])


# ----------------------------------------------------------------- validation


def _check_spec(spec: Any) -> None:
    if not isinstance(spec, CircuitSpec):
        raise TypeError(f"`spec` must be a plastix.design.CircuitSpec (sizes and time grid); "
                        f"got {type(spec).__name__}.")


def _array(name: str, value: Any, shape: tuple[int, ...], dims: str) -> np.ndarray:
    arr = as_float_array(name, value)
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape} {dims}; got {arr.shape}.")
    check_finite(name, arr)
    return arr


# ----------------------------------------------------------------- the network


def _build(b2: Any, spec: Any, *, rule: str, eta: np.ndarray, decay: float, noise: float,
           w0: np.ndarray, teacher: np.ndarray, drive: np.ndarray | None,
           x_draws: np.ndarray, xi: np.ndarray | None, error_gain: float, silenced: float,
           record: bool) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """One explicit Network for ``S`` sessions (arrays flattened to a leading S)."""
    n_s, n_bins, n_pre = x_draws.shape
    n_post = spec.n_post
    m = spec.bins_per_interval
    dt = spec.dt * b2.second
    step = m * spec.dt * b2.second                      # one weight interval, in whole bins
    ns: dict[str, Any] = {
        "x_in": b2.TimedArray(x_draws.transpose(1, 0, 2).reshape(n_bins, n_s * n_pre),
                              dt=dt, name="x_in"),
        "gamma": decay * b2.Hz,
        "kappa": float(error_gain),
        "sigma_kick": noise * math.sqrt(m * spec.dt),
    }
    objs: dict[str, Any] = {}
    inputs = b2.NeuronGroup(n_s * n_pre, INPUTS, dt=dt, name="linear_inputs", namespace=ns)
    n_silent = int(round(silenced * n_pre))
    active = np.ones(n_pre)
    active[n_pre - n_silent:] = 0.0                     # the last units, as in the design
    inputs.active = np.tile(active, n_s)
    post = b2.NeuronGroup(n_s * n_post, POST, dt=dt, name="linear_post", namespace=ns)
    syn = b2.Synapses(inputs, post, linear_equations(rule), method="euler", dt=dt,
                      name="linear_plastic", namespace=ns)
    s_idx, j_idx, i_idx = np.meshgrid(np.arange(n_s), np.arange(n_post), np.arange(n_pre),
                                      indexing="ij")
    syn.connect(i=(s_idx * n_pre + i_idx).ravel(), j=(s_idx * n_post + j_idx).ravel())
    syn.w = w0.ravel()
    syn.wt = teacher.ravel()
    if drive is not None:
        syn.G = drive.ravel()
    syn.eta = np.repeat(eta, n_post * n_pre) * b2.Hz
    syn.k_syn = np.arange(n_s * n_post * n_pre)
    objs.update(inputs=inputs, post=post, plastic=syn)
    if noise > 0:
        if xi is not None:
            n_k = xi.shape[1]
            ns["xi_kick"] = b2.TimedArray(xi.transpose(1, 0, 2, 3).reshape(n_k, -1), dt=step,
                                          name="xi_kick")
            code = KICK_GIVEN
        else:
            code = KICK_DRAWN
        objs["kick"] = syn.run_regularly(code, dt=step, when="start", order=0,
                                         name="linear_kick")
    if record:
        objs["w_mon"] = b2.StateMonitor(syn, "w", record=True, dt=step, when="start", order=1,
                                        name="linear_w_mon")
        objs["pre_mon"] = b2.StateMonitor(inputs, "x", record=True, dt=dt, when="end",
                                          name="linear_pre_mon")
        objs["post_mon"] = b2.StateMonitor(post, "y", record=True, dt=dt, when="end",
                                           name="linear_post_mon")
    return b2.Network(*objs.values()), objs, ns


def _session_arrays(spec: CircuitSpec, *, rule: str, eta: Any, noise: float, weights0: Any,
                    teacher: Any, inputs: Any, drive: Any, noise_increments: Any
                    ) -> tuple[np.ndarray, ...]:
    """The checked arrays of :func:`integrate_linear`, shapes against the batch of ``inputs``.

    Returns ``(inputs, weights0, teacher, drive, eta, noise_increments)`` as float
    arrays (``drive`` and ``noise_increments`` may be None; ``eta`` broadcast to the
    batch shape).
    """
    x_draws = as_float_array("inputs", inputs)
    if x_draws.ndim < 2 or x_draws.shape[-1] != spec.n_pre or x_draws.shape[-2] < 1:
        raise ValueError(f"`inputs` must have shape batch + (n_bins, n_pre={spec.n_pre}) with "
                         f"n_bins >= 1; got {x_draws.shape}.")
    check_finite("inputs", x_draws)
    batch = x_draws.shape[:-2]
    n_bins = x_draws.shape[-2]
    mat = batch + (spec.n_post, spec.n_pre)
    w0 = _array("weights0", weights0, mat, "(batch, post, pre)")
    tea = _array("teacher", teacher, mat, "(batch, post, pre)")
    if rule == "random" and drive is None:
        raise ValueError("`drive` (the random rule's fixed matrix G) is required for "
                         "rule='random'.")
    drv = None if drive is None else _array("drive", drive, mat, "(batch, post, pre)")
    eta_arr = as_float_array("eta", eta)
    try:
        eta_arr = np.broadcast_to(eta_arr, batch).astype(float)
    except ValueError as err:
        raise ValueError(f"`eta` must broadcast to the batch shape {batch}; got shape "
                         f"{eta_arr.shape}.") from err
    if not np.all(np.isfinite(eta_arr)) or np.any(eta_arr <= 0):
        raise ValueError("`eta` must be positive finite learning rates in 1/s; got "
                         f"{eta_arr.ravel()[:4]}.")
    m = spec.bins_per_interval
    n_kicks = -(-n_bins // m)
    xi = None
    if noise_increments is not None:
        if noise == 0:
            raise ValueError("`noise_increments` were given but `noise` is 0: there are no "
                             "kicks to apply; pass noise_increments=None.")
        xi = _array("noise_increments", noise_increments, batch + (n_kicks,) + mat[-2:],
                    f"(batch, n_kicks=ceil({n_bins}/{m}), post, pre)")
    return x_draws, w0, tea, drv, eta_arr, xi


def integrate_linear(
    spec: Any,
    *,
    rule: str,
    eta: Any,
    decay: float,
    noise: float,
    weights0: Any,
    teacher: Any,
    inputs: Any,
    drive: Any = None,
    noise_increments: Any = None,
    error_gain: float = 1.0,
    silenced: float = 0.0,
    record: bool = True,
    target: str = "numpy",
    rng: Any = None,
) -> dict[str, Any]:
    """Integrate a batch of sessions of the design circuit with Brian2; return arrays.

    Parameters
    ----------
    spec : plastix.design.CircuitSpec
        ``n_pre``, ``n_post``, the bin ``dt`` (s) and ``weight_interval`` (s; ``m``
        bins).  Its ``decay``/``noise`` are *not* used: pass the condition's.
    rule : {"hebbian", "error", "random"}
    eta : float or array, shape ``batch``
        Learning rate ``η`` (1/s) of each session.
    decay : float
        ``γ`` (1/s), > 0.
    noise : float
        ``σ`` (1/sqrt(s)), ≥ 0; each weight interval starts with a kick
        ``σ √(m dt) ξ``.
    weights0, teacher : array, shape ``batch + (n_post, n_pre)``
        Initial weights ``W`` and teacher ``T`` (dimensionless).
    inputs : array, shape ``batch + (n_bins, n_pre)``
        N(0, 1) input draws, one row per bin (before silencing); ``n_bins`` ≥ 1.
    drive : array, shape ``batch + (n_post, n_pre)``, optional
        The random rule's ``G`` (required for ``rule="random"``).
    noise_increments : array, shape ``batch + (n_kicks, n_post, n_pre)``, optional
        N(0, 1) kick draws, ``n_kicks = ceil(n_bins / m)``, one per weight interval;
        None: Brian2 draws them with ``randn()`` (seeded from ``rng``).  Must be None
        when ``noise == 0``.
    error_gain : float
        ``κ`` of the error rule (−1 inverts the error signal).
    silenced : float
        Fraction in [0, 1) of presynaptic units clamped to 0: the last
        ``round(silenced · n_pre)`` of each session.
    record : bool
        Record activity and weight samples (else only the final weights).
    target : {"numpy", "cython", "auto"}
        Brian2 code-generation target (restored afterwards).
    rng : int, Generator or None
        Seeds Brian2's noise when ``noise_increments`` is None.

    Returns
    -------
    dict
        ``"final_weight"`` (``batch + (post, pre)``); with ``record``: ``"pre"``
        (``batch + (n_bins, pre)``, a.u.), ``"post"`` (``batch + (n_bins, post)``,
        a.u.; ``y`` before each bin's weight update) and ``"weight"`` (``batch +
        (n_kicks + 1, post, pre)``: after each kick, then the final weights);
        ``"codegen_target"``, ``"wall_time_s"`` and ``"seed"`` (None when no
        Brian2 randomness was used).

    Notes
    -----
    Brian2's numpy target took 0.1 ms per bin for one session of 128 synapses
    and 0.45 ms per bin for 64 such sessions (8192 synapses), plus ~0.15 s to
    build the network (and ~1 s the first time Brian2 is used in a process),
    measured on the shared 2-core machine; the numpy design circuit takes 20-80
    µs per bin for the same batches.  The whole batch is one network,
    and the input (and noise) draws are held in memory as ``TimedArray`` values
    (``8 · n_bins · batch · n_pre`` bytes, plus ``8 · n_kicks · batch · n_post ·
    n_pre``).
    """
    _check_spec(spec)
    check_choice("rule", rule, LINEAR_RULES)
    check_choice("target", target, _RUNTIME_TARGETS)
    decay = check_number("decay", decay, low=0.0, strict=True, unit="1/s")
    noise = check_number("noise", noise, low=0.0, strict=False, unit="1/sqrt(s)")
    error_gain = check_number("error_gain", error_gain)
    silenced = check_fraction("silenced", silenced)
    if not isinstance(record, bool):
        raise TypeError(f"`record` must be a bool; got {type(record).__name__}.")
    x_draws, w0, tea, drv, eta_arr, xi = _session_arrays(
        spec, rule=rule, eta=eta, noise=noise, weights0=weights0, teacher=teacher,
        inputs=inputs, drive=drive, noise_increments=noise_increments)
    batch, n_bins = x_draws.shape[:-2], x_draws.shape[-2]
    mat = batch + (spec.n_post, spec.n_pre)
    m = spec.bins_per_interval
    n_kicks = -(-n_bins // m)
    n_s = int(np.prod(batch, dtype=int))
    flat = (n_s,)
    check_memory(  # Brian2's copies of the draws and its monitors, then the returned arrays
        2 * 8 * n_s * (2 * n_bins * (spec.n_pre + spec.n_post) + 2 * (n_kicks + 1) * mat[-1]
                       * mat[-2]),
        what=(f"integrate_linear ({n_s} sessions of {n_bins} bins, {spec.n_pre}+{spec.n_post} "
              f"units and {n_kicks + 1} weight samples each)"),
        fix="integrate fewer sessions or fewer bins at a time")

    b2 = import_brian2()
    if type(b2.get_device()).__name__ != "RuntimeDevice":
        raise ValueError(
            f"`integrate_linear` runs on Brian2's runtime device; the active device is "
            f"{type(b2.get_device()).__name__}. Call brian2.set_device('runtime') first.")
    seed = child_seed(resolve_rng(rng)) if (noise > 0 and xi is None) else None
    t0 = _time.perf_counter()
    with brian2_scope(b2, target=target, seed=seed):
        net, objs, ns = _build(
            b2, spec, rule=rule, eta=eta_arr.reshape(flat), decay=decay, noise=noise,
            w0=w0.reshape(flat + mat[-2:]), teacher=tea.reshape(flat + mat[-2:]),
            drive=None if drv is None else drv.reshape(flat + mat[-2:]),
            x_draws=x_draws.reshape(flat + (n_bins, spec.n_pre)),
            xi=None if xi is None else xi.reshape(flat + (n_kicks,) + mat[-2:]),
            error_gain=error_gain, silenced=silenced, record=record)
        net.run(n_bins * spec.dt * b2.second, namespace=ns)
        used = type(objs["plastic"].state_updater.codeobj).__name__
        out: dict[str, Any] = {
            "final_weight": np.asarray(objs["plastic"].w[:]).reshape(mat).copy()}
        if record:
            w_s = np.asarray(objs["w_mon"].w)               # (S·post·pre, n_kicks)
            if w_s.shape[1] != n_kicks:  # pragma: no cover - a Brian2 scheduling change
                raise RuntimeError(f"expected {n_kicks} weight samples, Brian2 recorded "
                                   f"{w_s.shape[1]}.")
            w_s = np.moveaxis(w_s.reshape(mat + (n_kicks,)), -1, -3)
            out["weight"] = np.concatenate([w_s, out["final_weight"][..., None, :, :]], axis=-3)
            pre = np.asarray(objs["pre_mon"].x).reshape(batch + (spec.n_pre, n_bins))
            post = np.asarray(objs["post_mon"].y).reshape(batch + (spec.n_post, n_bins))
            out["pre"] = np.swapaxes(pre, -1, -2).copy()
            out["post"] = np.swapaxes(post, -1, -2).copy()
    out["codegen_target"] = {"NumpyCodeObject": "numpy",
                             "CythonCodeObject": "cython"}.get(used, used)
    out["wall_time_s"] = round(_time.perf_counter() - t0, 3)
    out["seed"] = seed
    return out


def simulate_linear(
    spec: Any,
    *,
    rule: str,
    eta: float,
    decay: float,
    noise: float,
    error_gain: float = 1.0,
    silenced: float = 0.0,
    weights0: Any,
    teacher: Any,
    drive: Any = None,
    inputs: Any,
    noise_increments: Any = None,
    measurement_errors: Any = None,
    target: str = "numpy",
    rng: Any = None,
    truth: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Simulate one session of the design circuit with Brian2 and return its record.

    The same circuit, time grid and record layout as one session of
    :func:`plastix.design.circuit.run_condition` (numpy): given the same input
    draws, noise draws and measurement errors, both return the same record to
    float precision (``tests/test_design_brian2.py``).

    Parameters
    ----------
    spec : plastix.design.CircuitSpec
        Sizes, bin ``dt`` (s), weight interval (s) and ``measurement_noise``.
    rule, eta, decay, noise, error_gain, silenced, target
        As in :func:`integrate_linear` (``eta`` a float, 1/s).
    weights0, teacher, drive : array, shape ``(n_post, n_pre)``
    inputs : array, shape ``(n_bins, n_pre)``
        N(0, 1) input draws; ``n_bins`` a whole number of weight intervals.
    noise_increments : array, shape ``(n_bins / m, n_post, n_pre)``, optional
        N(0, 1) noise kicks (None: drawn by Brian2 from ``rng``).
    measurement_errors : array, shape ``(n_bins / m + 1, n_post, n_pre)``, optional
        N(0, 1) errors of the weight samples, scaled by ``spec.measurement_noise``;
        None: drawn from ``rng`` (when ``measurement_noise > 0``).
    rng : int, Generator or None
        Seeds what is not given (Brian2's noise, then the measurement errors).
    truth : mapping, optional
        Stored in the record's ``truth`` (rule, eta and condition are added).

    Returns
    -------
    xarray.Dataset
        A plastix record: ``pre_activity``/``post_activity`` (a.u., kind
        ``"activation"``) every ``dt``, ``weight`` ``(weight_time, post, pre)``
        sampled at the start of every weight interval (after its noise kick) and
        at the end, ``decay`` = γ (1/s), provenance (simulator "brian2", codegen
        target, seed).

    Examples
    --------
    Alignment ``A > 0`` is Hebbian, ``A < 0`` anti-Hebbian.

    >>> import numpy as np
    >>> from plastix.design import CircuitSpec
    >>> spec = CircuitSpec(n_pre=4, n_post=2, n_intervals=5)
    >>> g = np.random.default_rng(0)
    >>> T = g.normal(0, 0.5, (2, 4))
    >>> rec = simulate_linear(spec, rule="error", eta=2.0, decay=1.0, noise=0.1,
    ...                       weights0=np.zeros((2, 4)), teacher=T,
    ...                       inputs=g.standard_normal((50, 4)), rng=1)  # doctest: +SKIP
    """
    from plastix.record import make_record

    _check_spec(spec)
    x = as_float_array("inputs", inputs)
    if x.ndim != 2:
        raise ValueError(f"`inputs` must have shape (n_bins, n_pre) for one session; got "
                         f"{x.shape}. Use integrate_linear for a batch of sessions.")
    m = spec.bins_per_interval
    if x.shape[0] % m:
        raise ValueError(f"`inputs` must hold a whole number of weight intervals ({m} bins "
                         f"each); got {x.shape[0]} bins.")
    eta = check_number("eta", eta, low=0.0, strict=True, unit="1/s")
    gen = resolve_rng(rng)
    res = integrate_linear(spec, rule=rule, eta=eta, decay=decay, noise=noise,
                           weights0=weights0, teacher=teacher, inputs=x, drive=drive,
                           noise_increments=noise_increments, error_gain=error_gain,
                           silenced=silenced, record=True, target=target, rng=gen)
    w = res["weight"]
    if spec.measurement_noise > 0:
        err = (gen.standard_normal(w.shape) if measurement_errors is None
               else _array("measurement_errors", measurement_errors, w.shape,
                           "(n_intervals + 1, post, pre)"))
        w = w + spec.measurement_noise * err
    n_bins = x.shape[0]
    prov = {"simulator": "brian2", "module": "plastix.circuits.linear",
            "codegen_target": res["codegen_target"], "device": "runtime",
            "brian2_version": import_brian2().__version__, "seed": res["seed"],
            "noise_increments": "given" if noise_increments is not None else "brian2 randn()",
            "circuit": spec.to_dict(), "wall_time_s": res["wall_time_s"]}
    tru = {"rule": rule, "eta": eta, "decay": float(decay), "noise": float(noise),
           "error_gain": float(error_gain), "silenced": float(silenced), **dict(truth or {})}
    return make_record(
        res["pre"], res["post"], w, time=np.arange(n_bins) * spec.dt,
        weight_time=np.arange(w.shape[0]) * m * spec.dt, dt=spec.dt, time_units="s",
        activity_units="a.u.", activity_kind="activation", decay=float(decay),
        source="brian2", truth=tru, provenance=prov)
