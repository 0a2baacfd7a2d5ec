"""Ground truth for weights inferred from spikes: pair STDP onto leaky integrate-and-fire cells.

Homogeneous Poisson inputs (``rate`` Hz) drive ``n_post`` LIF neurons through
all-to-all synapses whose weights are recorded every ``weight_interval`` seconds,
so a spike-only copy of the record (weights removed) can be handed to
:func:`plastix.estimate.infer_weights` and the inferred efficacies compared with
the true ones.  The defaults are the setting of Song, Miller & Abbott (2000):
1000 excitatory inputs at 15 Hz onto one conductance-based LIF neuron, additive
pair STDP with hard bounds ``0 ≤ w ≤ g_max``, depression slightly stronger than
potentiation, which drives the weights apart into a bimodal distribution.

Neuron (``synapse="conductance"``, the default)::

    tau_m dv/dt = (E_L − v) + g (E_e − v)        g: excitatory conductance / leak
    dg/dt = −g / tau_e,   a presynaptic spike adds w to g

``synapse="current"`` replaces ``g (E_e − v)`` by ``g (E_e − E_L)`` (a current of
the same size at rest, independent of ``v``).  Spike at ``v > v_th``, reset to
``v_reset``.  STDP (all-to-all pairs, traces ``tau_stdp``)::

    pre spike:  a_pre += A+ g_max;      w ← clip(w + a_post, 0, g_max)
    post spike: a_post −= ratio A+ g_max; w ← clip(w + a_pre, 0, g_max)

``plastic=False`` is the static-weight control: the same circuit, weights drawn
the same way, no STDP (the weights never change).  Weights are dimensionless, in
units of the leak conductance; times in seconds, potentials in mV.

The error-driven spiking circuit is :func:`plastix.circuits.simulate_spiking`
with ``SpikingCircuitConfig(rule="error")``, which records spikes too.

Speed (measured once each on a shared two-core machine, 1000 → 1, dt 0.1 ms):
``target="cpp_standalone"`` (compiled in a temporary folder, removed afterwards)
simulated 100 s in 28 s of wall time, compilation included; the runtime
``"numpy"`` target (no compiler; the tests') 5 s in 7.7 s, so about 150 s for
100 s.  ``"cython"`` spent 140 s compiling before its first second.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.optional import brian2_scope, import_brian2
from plastix._util.rng import resolve_rng
from plastix._util.validate import check_int, check_number
from plastix.record import make_record

__all__ = ["STDPConfig", "simulate_stdp", "TARGETS"]

TARGETS = ("numpy", "cython", "cpp_standalone")
"""Brian2 code-generation targets :func:`simulate_stdp` accepts."""

_EQS = """
dv/dt = ((E_L - v) + g*{drive})/tau_m : volt (unless refractory)
dg/dt = -g/tau_e : 1
"""
_SYN = """
w : 1
dapre/dt = -apre/tau_stdp : 1 (event-driven)
dapost/dt = -apost/tau_stdp : 1 (event-driven)
"""
_ON_PRE_PLASTIC = "g_post += w\napre += d_pre\nw = clip(w + apost, 0, g_max)"
_ON_POST_PLASTIC = "apost += d_post\nw = clip(w + apre, 0, g_max)"


@dataclass(frozen=True)
class STDPConfig:
    """Poisson inputs onto LIF neurons under pair STDP (SI floats; potentials in mV).

    Fields: ``n_pre``, ``n_post`` (all-to-all); ``rate`` input rate (Hz);
    ``duration``, ``dt``, ``bin_size`` (binned activity), ``weight_interval``
    (weight samples) in s; ``plastic`` (False: static-weight control);
    ``synapse`` ``"conductance"`` or ``"current"``; ``tau_m``, ``tau_e``,
    ``t_ref``, ``tau_stdp`` (s); ``e_leak``, ``e_exc``, ``v_th``, ``v_reset`` (mV);
    ``g_max`` (weight bound, units of the leak conductance); ``a_plus``
    (potentiation step, fraction of ``g_max``); ``ratio`` (depression /
    potentiation); initial weights uniform in ``[0, w_init · g_max]``.
    """

    n_pre: int = 1000
    n_post: int = 1
    rate: float = 15.0
    duration: float = 100.0
    dt: float = 1e-4
    bin_size: float = 0.01
    weight_interval: float = 1.0
    plastic: bool = True
    synapse: str = "conductance"
    tau_m: float = 0.01
    tau_e: float = 0.005
    t_ref: float = 0.0
    tau_stdp: float = 0.02
    e_leak: float = -74.0
    e_exc: float = 0.0
    v_th: float = -54.0
    v_reset: float = -60.0
    g_max: float = 0.01
    a_plus: float = 0.01
    ratio: float = 1.05
    w_init: float = 1.0

    def __post_init__(self) -> None:
        for name in ("n_pre", "n_post"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), low=1))
        for name, unit in (("rate", "Hz"), ("duration", "s"), ("dt", "s"), ("bin_size", "s"),
                           ("weight_interval", "s"), ("tau_m", "s"), ("tau_e", "s"),
                           ("tau_stdp", "s"), ("g_max", "")):
            object.__setattr__(self, name, check_number(name, getattr(self, name), low=0.0,
                                                        strict=True, unit=unit))
        for name, unit in (("t_ref", "s"), ("a_plus", ""), ("ratio", ""), ("w_init", "")):
            object.__setattr__(self, name, check_number(name, getattr(self, name), low=0.0,
                                                        unit=unit))
        for name in ("e_leak", "e_exc", "v_th", "v_reset"):
            object.__setattr__(self, name, check_number(name, getattr(self, name), unit="mV"))
        check_choice("synapse", self.synapse, ("conductance", "current"))
        if not isinstance(self.plastic, bool):
            raise TypeError(f"`plastic` must be a bool; got {type(self.plastic).__name__}.")
        if not self.v_reset < self.v_th:
            raise ValueError(f"`v_reset` ({self.v_reset:g} mV) must be below `v_th` "
                             f"({self.v_th:g} mV).")
        for name in ("bin_size", "weight_interval"):
            k = getattr(self, name) / self.dt
            if abs(k - round(k)) > 1e-6 or round(k) < 1:
                raise ValueError(f"`{name}` must be a whole multiple of `dt` ({self.dt:g} s); "
                                 f"got {getattr(self, name):g} s.")
        if self.weight_interval > self.duration:
            raise ValueError(f"`weight_interval` ({self.weight_interval:g} s) must not exceed "
                             f"`duration` ({self.duration:g} s).")

    def replace(self, **changes: Any) -> STDPConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-ready) of every field."""
        return dataclasses.asdict(self)


def _network(cfg: STDPConfig, w0: np.ndarray, b2: Any) -> tuple[Any, dict[str, Any]]:
    """The Brian2 network and its namespace."""
    dt = cfg.dt * b2.second
    ns = {"E_L": cfg.e_leak * b2.mV, "E_e": cfg.e_exc * b2.mV, "tau_m": cfg.tau_m * b2.second,
          "tau_e": cfg.tau_e * b2.second, "tau_stdp": cfg.tau_stdp * b2.second,
          "v_th": cfg.v_th * b2.mV, "v_reset": cfg.v_reset * b2.mV, "g_max": cfg.g_max,
          "d_pre": cfg.a_plus * cfg.g_max, "d_post": -cfg.ratio * cfg.a_plus * cfg.g_max}
    drive = "(E_e - v)" if cfg.synapse == "conductance" else "(E_e - E_L)"
    inputs = b2.PoissonGroup(cfg.n_pre, rates=cfg.rate * b2.Hz, dt=dt, name="inputs")
    post = b2.NeuronGroup(cfg.n_post, _EQS.format(drive=drive), threshold="v > v_th",
                          reset="v = v_reset", refractory=cfg.t_ref * b2.second,
                          method="euler", dt=dt, name="post", namespace=ns)
    if cfg.plastic:
        syn = b2.Synapses(inputs, post, _SYN, on_pre=_ON_PRE_PLASTIC, on_post=_ON_POST_PLASTIC,
                          dt=dt, name="syn", namespace=ns)
    else:
        syn = b2.Synapses(inputs, post, "w : 1 (constant)", on_pre="g_post += w", dt=dt,
                          name="syn", namespace=ns)
    syn.connect(i=np.tile(np.arange(cfg.n_pre), cfg.n_post),
                j=np.repeat(np.arange(cfg.n_post), cfg.n_pre))
    syn.w = w0.ravel()
    post.v = cfg.e_leak * b2.mV
    objs = [inputs, post, syn,
            b2.StateMonitor(syn, "w", record=True, dt=cfg.weight_interval * b2.second,
                            when="start", name="w_mon"),
            b2.SpikeMonitor(inputs, name="pre_mon"), b2.SpikeMonitor(post, name="post_mon")]
    return b2.Network(*objs), ns


def _run(cfg: STDPConfig, w0: np.ndarray, seed: int, target: str, b2: Any) -> dict[str, Any]:
    """Run on ``target`` and copy the monitors out; every Brian2 global restored."""
    standalone = target == "cpp_standalone"
    tmp = tempfile.mkdtemp(prefix="plastix_stdp_") if standalone else None
    try:
        with brian2_scope(b2, target=None if standalone else target):
            if standalone:
                b2.set_device("cpp_standalone", directory=tmp, build_on_run=True)
                b2.get_device().reinit()
                b2.get_device().activate(directory=tmp, build_on_run=True)
            b2.seed(seed)  # after the device is set: a standalone build records it
            net, ns = _network(cfg, w0, b2)
            net.run(cfg.duration * b2.second, namespace=ns)
            m = {o.name: o for o in net.objects}
            syn = m["syn"]
            return {"weight_time": np.append(np.asarray(m["w_mon"].t_[:], float),
                                             cfg.duration),
                    "w": np.vstack([np.asarray(m["w_mon"].w).T, np.asarray(syn.w[:])[None]]),
                    "pre_t": np.asarray(m["pre_mon"].t_[:], float),
                    "pre_i": np.asarray(m["pre_mon"].i[:], np.int64),
                    "post_t": np.asarray(m["post_mon"].t_[:], float),
                    "post_i": np.asarray(m["post_mon"].i[:], np.int64)}
    finally:
        if standalone:
            dev = b2.get_device()
            if type(dev).__name__ != "RuntimeDevice":
                dev.reinit()
            b2.set_device("runtime")
            b2.get_device().activate()
            shutil.rmtree(tmp, ignore_errors=True)


def _binned(t: np.ndarray, i: np.ndarray, n: int, n_bins: int, cfg: STDPConfig) -> np.ndarray:
    """Spike counts per bin; times are multiples of dt, rounded to the step first."""
    b = np.round(t / cfg.dt).astype(np.int64) // int(round(cfg.bin_size / cfg.dt))
    keep = b < n_bins
    return np.bincount(b[keep] * n + i[keep], minlength=n_bins * n).reshape(n_bins, n) * 1.0


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
    check_choice("target", target, TARGETS)
    b2 = import_brian2()
    if type(b2.get_device()).__name__ != "RuntimeDevice":
        raise ValueError("simulate_stdp needs Brian2's runtime device active; call "
                         "brian2.set_device('runtime') first.")
    gen = resolve_rng(rng)
    w0 = gen.uniform(0.0, cfg.w_init * cfg.g_max, size=(cfg.n_post, cfg.n_pre))
    seed = int(gen.integers(2**31 - 1))
    t0 = time.perf_counter()
    res = _run(cfg, w0, seed, target, b2)
    wall = time.perf_counter() - t0
    n_bins = int(round(cfg.duration / cfg.bin_size))
    pre = _binned(res["pre_t"], res["pre_i"], cfg.n_pre, n_bins, cfg)
    post = _binned(res["post_t"], res["post_i"], cfg.n_post, n_bins, cfg)
    w = res["w"].reshape(-1, cfg.n_post, cfg.n_pre)
    rule = "stdp" if cfg.plastic else "static"
    return make_record(
        pre, post, w, time=np.arange(n_bins) * cfg.bin_size, weight_time=res["weight_time"],
        dt=cfg.bin_size, time_units="s", activity_units="1", activity_kind="count", decay=0.0,
        pre_spikes={"time": res["pre_t"], "unit": res["pre_i"]},
        post_spikes={"time": res["post_t"], "unit": res["post_i"]}, source="brian2",
        provenance={"config": cfg.to_dict(), "seed": seed, "codegen_target": target,
                    "brian2_version": b2.__version__, "simulator": "brian2",
                    "wall_time_s": round(wall, 3)},
        truth={"rule": rule, "circuit": "stdp_lif", "synapse": cfg.synapse,
               "g_max": cfg.g_max, "a_plus": cfg.a_plus, "ratio": cfg.ratio})
