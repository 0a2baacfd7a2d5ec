"""Ground truth for weights inferred from spikes: an error-driven (delta) rule onto LIF cells.

Poisson inputs with fixed, heterogeneous rates drive ``n_post`` LIF neurons
(:mod:`plastix.circuits.lif`) through all-to-all synapses whose weights follow a
supervised delta rule with L2 decay: each post neuron ``i`` has a teacher's
target rate ``T_i`` (Hz), estimates its own rate by a low-pass trace of its
spikes, and every synapse moves by the rate error times the presynaptic trace::

    dw_ij/dt = g_max · eta · e_i(t) · p_j(t) − decay · w_ij,     clipped to [0, g_max]
    e_i = (T_i − x̂_i) / T_i          relative rate error (x̂_i: post trace, tau_rate)
    p_j = x_j / rate                 presynaptic trace (tau_pre), over the mean input rate

The traces are in Hz (a spike adds ``1/tau``), so ``e`` and ``p`` are
dimensionless and ``eta`` and ``decay`` are rates in 1/s: at relative error 1 and
an input at the mean rate, a weight moves by ``eta · g_max`` per second.  Input
``j`` fires at ``r_j``, uniform in ``rate · [1 − rate_spread, 1 + rate_spread]``.
Weights are in units of the leak conductance (as in :mod:`~plastix.circuits.stdp_lif`).

What to expect: the drive ``eta e_i p_j`` is the same vector ``p`` (input rates)
in every row, scaled by the post neuron's error, so the part of the initial
weights not proportional to the input rates decays at ``decay`` exactly (``1/decay``
= 100 s by default: the weights move measurably over 100–400 s), while the total
drive of each neuron settles within seconds where ``eta e_i r̄/rate = decay w̄_i``,
a post rate a little *below* its target (``e_i > 0``).  At that stationary state
the learning signal ``eta e_i p_j`` (the weight change with the decay added back)
has the sign and the pattern of the Hebbian product ``x̂_i p_j``: a non-Hebbian
rule that looks Hebbian because of the decay (see ``SPEC.md``).  Early on, a
neuron above its target (``e_i < 0``) depresses every input, the most active most.

Speed: 100 → 10 for 2 s at dt 0.5 ms, ``target="numpy"``: a few seconds (the
tests' circuit); use ``"cpp_standalone"`` for 100 s and more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.rng import resolve_rng
from plastix._util.validate import check_number
from plastix.circuits.lif import LIFConfig, connect_all, lif_group, lif_namespace, simulate_lif

__all__ = ["ErrorConfig", "simulate_error"]

_INPUTS = """
dx/dt = -x/tau_pre : Hz
r : Hz (constant)
"""
"""Poisson inputs (threshold ``rand() < r dt``) with their trace ``x`` (Hz)."""

_POST_EXTRA = """
dxr/dt = -xr/tau_rate : Hz
target : Hz (constant)
"""
"""The post neuron's rate estimate ``xr`` (Hz) and its teacher's target rate."""

_UPDATE = ("w = clip(w + dt_w*(g_max*eta*(target_post - xr_post)/target_post*x_pre/rate"
           " - decay*w), 0, g_max)")
"""One Euler step of the delta rule with decay, every ``dt`` (a ``run_regularly``)."""


@dataclass(frozen=True)
class ErrorConfig(LIFConfig):
    """Poisson inputs onto LIF neurons under a delta rule with decay (SI floats).

    The fields of :class:`~plastix.circuits.lif.LIFConfig` (default here 100 → 10,
    ``g_max`` 0.07, 100 s), and ``eta`` (1/s, learning rate: ``w/g_max`` per second
    at relative error 1 and mean input), ``decay`` (1/s, L2 decay γ),
    ``target_rate`` (Hz, the teacher's rate: one for every post neuron or a
    sequence of ``n_post``), ``rate_spread`` (input rates uniform in
    ``rate · [1 ± rate_spread]``, ``0 ≤ rate_spread < 1``), ``tau_rate`` (s, the post
    rate estimate's time constant), ``tau_pre`` (s, the presynaptic trace's).
    """

    n_pre: int = 100
    n_post: int = 10
    g_max: float = 0.07
    eta: float = 0.03
    decay: float = 0.01
    target_rate: Any = 20.0
    rate_spread: float = 0.5
    tau_rate: float = 1.0
    tau_pre: float = 0.02

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, unit in (("eta", "1/s"), ("decay", "1/s")):
            self._check(name, unit, strict=False)
        for name in ("tau_rate", "tau_pre"):
            self._check(name, "s", strict=True)
        spread = check_number("rate_spread", self.rate_spread, low=0.0)
        if spread >= 1:
            raise ValueError(f"`rate_spread` must be in [0, 1) (input rates stay positive); "
                             f"got {spread!r}.")
        object.__setattr__(self, "rate_spread", spread)
        object.__setattr__(self, "target_rate", self._targets())

    def _targets(self) -> float | tuple[float, ...]:
        """``target_rate`` validated: a float, or a tuple of ``n_post`` floats (Hz), > 0."""
        t = self.target_rate
        if isinstance(t, Sequence) and not isinstance(t, str):
            if len(t) != self.n_post:
                raise ValueError(f"`target_rate` must be one rate or {self.n_post} (one per "
                                 f"post neuron, n_post); got {len(t)} rates.")
            return tuple(check_number(f"target_rate[{i}]", v, low=0.0, strict=True, unit="Hz")
                         for i, v in enumerate(t))
        return check_number("target_rate", t, low=0.0, strict=True, unit="Hz")

    @property
    def targets(self) -> np.ndarray:
        """The target rate of every post neuron (Hz), shape ``(n_post,)``."""
        return np.broadcast_to(np.asarray(self.target_rate, float), (self.n_post,)).copy()

    def input_rates(self, gen: np.random.Generator) -> np.ndarray:
        """Input rates (Hz) drawn uniform in ``rate · [1 ± rate_spread]``, shape ``(n_pre,)``."""
        return self.rate * gen.uniform(1 - self.rate_spread, 1 + self.rate_spread, self.n_pre)


def _build(cfg: ErrorConfig, w0: np.ndarray, rates: np.ndarray) -> Any:
    """``build(b2)`` of :func:`plastix.circuits.lif.simulate_lif` for this circuit."""

    def build(b2: Any) -> tuple[list[Any], dict[str, Any]]:
        dt = cfg.dt * b2.second
        ns = {**lif_namespace(cfg, b2), "tau_pre": cfg.tau_pre * b2.second,
              "tau_rate": cfg.tau_rate * b2.second, "eta": cfg.eta * b2.Hz,
              "decay": cfg.decay * b2.Hz, "rate": cfg.rate * b2.Hz, "dt_w": dt}
        inputs = b2.NeuronGroup(cfg.n_pre, _INPUTS, threshold="rand() < r*dt",
                                reset="x += 1/tau_pre", method="exact", dt=dt, name="inputs",
                                namespace=ns)
        inputs.r = rates * b2.Hz
        post = lif_group(cfg, ns, b2, extra=_POST_EXTRA, reset="xr += 1/tau_rate")
        post.target = cfg.targets * b2.Hz
        post.xr = cfg.targets * b2.Hz            # start with no error
        syn = b2.Synapses(inputs, post, "w : 1", on_pre="g_post += w", dt=dt, name="syn",
                          namespace=ns)
        connect_all(cfg, syn, w0)
        syn.run_regularly(_UPDATE, dt=dt, name="rule")
        return [inputs, post, syn], ns

    return build


def simulate_error(config: ErrorConfig | None = None, *, rng: Any = None,
                   target: str = "numpy") -> xr.Dataset:
    """Simulate Poisson inputs onto LIF neurons under an error-driven rule with decay.

    Parameters
    ----------
    config : ErrorConfig, optional
        The circuit (default: 100 → 10, inputs at 7.5–22.5 Hz, target 20 Hz,
        ``eta`` 0.03/s, ``decay`` 0.01/s, 100 s).
    rng : int, numpy.random.Generator or None
        Seeds the input rates, the initial weights and Brian2's random stream.
    target : str
        Brian2 code generation, as for :func:`~plastix.circuits.stdp_lif.simulate_stdp`.

    Returns
    -------
    xarray.Dataset
        A plastix record: spike counts per ``bin_size`` bin (kind ``"count"``), the
        spike times, the true weights ``(weight_time, post, pre)`` every
        ``weight_interval`` s (units of the leak conductance), ``decay`` the rule's
        (1/s), ``truth`` the rule (``"error"``) with ``input_rate`` (Hz, per input)
        and ``target_rate`` (Hz, per post neuron).
    """
    cfg = ErrorConfig() if config is None else config
    if not isinstance(cfg, ErrorConfig):
        raise TypeError(f"`config` must be an ErrorConfig; got {type(cfg).__name__}.")
    gen = resolve_rng(rng)
    rates = cfg.input_rates(gen)
    w0 = gen.uniform(0.0, cfg.w_init * cfg.g_max, size=(cfg.n_post, cfg.n_pre))
    seed = int(gen.integers(2**31 - 1))
    return simulate_lif(
        cfg, _build(cfg, w0, rates), seed=seed, target=target, who="simulate_error",
        decay=cfg.decay,
        truth={"rule": "error", "circuit": "error_lif", "synapse": cfg.synapse,
               "g_max": cfg.g_max, "eta": cfg.eta, "decay": cfg.decay,
               "tau_rate": cfg.tau_rate, "tau_pre": cfg.tau_pre,
               "target_rate": cfg.targets.tolist(), "input_rate": rates.tolist()})
