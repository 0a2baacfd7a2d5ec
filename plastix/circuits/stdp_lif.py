"""Ground truth for weights inferred from spikes: pair STDP onto leaky integrate-and-fire cells.

Homogeneous Poisson inputs (``rate`` Hz) drive ``n_post`` LIF neurons
(:mod:`plastix.circuits.lif`) through all-to-all synapses whose weights are
recorded every ``weight_interval`` seconds, so a spike-only copy of the record
(weights removed) can be handed to :func:`plastix.estimate.infer_weights` and the
inferred efficacies compared with the true ones.  The defaults are the setting of
Song, Miller & Abbott (2000): 1000 excitatory inputs at 15 Hz onto one
conductance-based LIF neuron, additive pair STDP with hard bounds
``0 ≤ w ≤ g_max``, depression slightly stronger than potentiation, which drives
the weights apart into a bimodal distribution.

STDP (all-to-all pairs, traces ``tau_stdp``)::

    pre spike:  a_pre += A+ g_max;      w ← clip(w + a_post, 0, g_max)
    post spike: a_post −= ratio A+ g_max; w ← clip(w + a_pre, 0, g_max)

``plastic=False`` is the static-weight control: the same circuit, weights drawn
the same way, no STDP (the weights never change).  Weights are dimensionless, in
units of the leak conductance; times in seconds, potentials in mV.

The error-driven circuit is :mod:`plastix.circuits.error_lif` (a delta rule onto
the same neurons).

Speed (measured once each on a shared two-core machine, 1000 → 1, dt 0.1 ms):
``target="cpp_standalone"`` (compiled in a temporary folder, removed afterwards)
simulated 100 s in 28 s of wall time, compilation included; the runtime
``"numpy"`` target (no compiler; the tests') 5 s in 7.7 s, so about 150 s for
100 s.  ``"cython"`` spent 140 s compiling before its first second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.rng import resolve_rng
from plastix.circuits.lif import (
    TARGETS,
    LIFConfig,
    connect_all,
    lif_group,
    lif_namespace,
    simulate_lif,
)

__all__ = ["STDPConfig", "simulate_stdp", "TARGETS"]

_SYN = """
w : 1
dapre/dt = -apre/tau_stdp : 1 (event-driven)
dapost/dt = -apost/tau_stdp : 1 (event-driven)
"""
_ON_PRE_PLASTIC = "g_post += w\napre += d_pre\nw = clip(w + apost, 0, g_max)"
_ON_POST_PLASTIC = "apost += d_post\nw = clip(w + apre, 0, g_max)"


@dataclass(frozen=True)
class STDPConfig(LIFConfig):
    """Poisson inputs onto LIF neurons under pair STDP (SI floats; potentials in mV).

    The fields of :class:`~plastix.circuits.lif.LIFConfig` (sizes, ``rate`` Hz,
    times in s, the neuron, ``g_max`` and ``w_init``), and ``plastic`` (False:
    static-weight control); ``tau_stdp`` (s); ``a_plus`` (potentiation step,
    fraction of ``g_max``); ``ratio`` (depression / potentiation).
    """

    plastic: bool = True
    tau_stdp: float = 0.02
    a_plus: float = 0.01
    ratio: float = 1.05

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check("tau_stdp", "s", strict=True)
        for name in ("a_plus", "ratio"):
            self._check(name, "", strict=False)
        if not isinstance(self.plastic, bool):
            raise TypeError(f"`plastic` must be a bool; got {type(self.plastic).__name__}.")


def _build(cfg: STDPConfig, w0: np.ndarray) -> Any:
    """``build(b2)`` of :func:`plastix.circuits.lif.simulate_lif` for this circuit."""

    def build(b2: Any) -> tuple[list[Any], dict[str, Any]]:
        dt = cfg.dt * b2.second
        ns = {**lif_namespace(cfg, b2), "tau_stdp": cfg.tau_stdp * b2.second,
              "d_pre": cfg.a_plus * cfg.g_max, "d_post": -cfg.ratio * cfg.a_plus * cfg.g_max}
        inputs = b2.PoissonGroup(cfg.n_pre, rates=cfg.rate * b2.Hz, dt=dt, name="inputs")
        post = lif_group(cfg, ns, b2)
        if cfg.plastic:
            syn = b2.Synapses(inputs, post, _SYN, on_pre=_ON_PRE_PLASTIC,
                              on_post=_ON_POST_PLASTIC, dt=dt, name="syn", namespace=ns)
        else:
            syn = b2.Synapses(inputs, post, "w : 1 (constant)", on_pre="g_post += w", dt=dt,
                              name="syn", namespace=ns)
        connect_all(cfg, syn, w0)
        return [inputs, post, syn], ns

    return build


def simulate_stdp(config: STDPConfig | None = None, *, rng: Any = None,
                  target: str = "numpy") -> xr.Dataset:
    """Simulate Poisson inputs onto LIF neurons under pair STDP (or static weights).

    Parameters
    ----------
    config : STDPConfig, optional
        The circuit (default: 1000 → 1 at 15 Hz for 100 s, conductance-based,
        plastic).
    rng : int, numpy.random.Generator or None
        Seeds the initial weights and Brian2's random stream.
    target : {"numpy", "cython", "cpp_standalone"}
        Brian2 code generation (default ``"numpy"``: no compiler needed).  The
        previous target and device are restored afterwards.

    Returns
    -------
    xarray.Dataset
        A plastix record: spike counts per ``bin_size`` bin (kind ``"count"``) of
        the inputs (``pre``) and the LIF neurons (``post``), the spike times, the
        true weights ``(weight_time, post, pre)`` every ``weight_interval``
        seconds (units of the leak conductance), ``truth`` naming the rule
        (``"stdp"`` or ``"static"``).
    """
    cfg = STDPConfig() if config is None else config
    if not isinstance(cfg, STDPConfig):
        raise TypeError(f"`config` must be an STDPConfig; got {type(cfg).__name__}.")
    gen = resolve_rng(rng)
    w0 = gen.uniform(0.0, cfg.w_init * cfg.g_max, size=(cfg.n_post, cfg.n_pre))
    seed = int(gen.integers(2**31 - 1))
    return simulate_lif(
        cfg, _build(cfg, w0), seed=seed, target=target, who="simulate_stdp",
        truth={"rule": "stdp" if cfg.plastic else "static", "circuit": "stdp_lif",
               "synapse": cfg.synapse, "g_max": cfg.g_max, "a_plus": cfg.a_plus,
               "ratio": cfg.ratio})
