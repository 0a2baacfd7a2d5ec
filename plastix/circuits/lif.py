"""Shared pieces of the LIF ground-truth circuits (:mod:`~plastix.circuits.stdp_lif`,
:mod:`~plastix.circuits.error_lif`): the configuration fields both use, the
leaky integrate-and-fire neuron, the run on a Brian2 code-generation target and the
record.

Neuron (``synapse="conductance"``, the default)::

    tau_m dv/dt = (E_L − v) + g (E_e − v)        g: excitatory conductance / leak
    dg/dt = −g / tau_e,   a presynaptic spike adds w to g

``synapse="current"`` replaces ``g (E_e − v)`` by ``g (E_e − E_L)`` (a current of
the same size at rest, independent of ``v``).  Spike at ``v > v_th``, reset to
``v_reset``.  Weights are dimensionless, in units of the leak conductance; times
in seconds, potentials in mV.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.optional import brian2_scope, import_brian2
from plastix._util.validate import check_int, check_number
from plastix.record import make_record

__all__ = ["LIFConfig", "TARGETS", "lif_namespace", "lif_group", "connect_all", "simulate_lif"]

TARGETS = ("numpy", "cython", "cpp_standalone")
"""Brian2 code-generation targets the LIF circuits accept."""

LIF_EQS = """
dv/dt = ((E_L - v) + g*{drive})/tau_m : volt (unless refractory)
dg/dt = -g/tau_e : 1
"""


@dataclass(frozen=True)
class LIFConfig:
    """Fields shared by the LIF ground-truth circuits (SI floats; potentials in mV).

    ``n_pre``, ``n_post`` (all-to-all); ``rate`` input rate (Hz); ``duration``,
    ``dt``, ``bin_size`` (binned activity), ``weight_interval`` (weight samples) in
    s; ``synapse`` ``"conductance"`` or ``"current"``; ``tau_m``, ``tau_e``,
    ``t_ref`` (s); ``e_leak``, ``e_exc``, ``v_th``, ``v_reset`` (mV); ``g_max``
    (weight bound, units of the leak conductance); initial weights uniform in
    ``[0, w_init · g_max]``.
    """

    n_pre: int = 1000
    n_post: int = 1
    rate: float = 15.0
    duration: float = 100.0
    dt: float = 1e-4
    bin_size: float = 0.01
    weight_interval: float = 1.0
    synapse: str = "conductance"
    tau_m: float = 0.01
    tau_e: float = 0.005
    t_ref: float = 0.0
    e_leak: float = -74.0
    e_exc: float = 0.0
    v_th: float = -54.0
    v_reset: float = -60.0
    g_max: float = 0.01
    w_init: float = 1.0

    def __post_init__(self) -> None:
        for name in ("n_pre", "n_post"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), low=1))
        for name, unit in (("rate", "Hz"), ("duration", "s"), ("dt", "s"), ("bin_size", "s"),
                           ("weight_interval", "s"), ("tau_m", "s"), ("tau_e", "s"),
                           ("g_max", "")):
            self._check(name, unit, strict=True)
        for name, unit in (("t_ref", "s"), ("w_init", "")):
            self._check(name, unit, strict=False)
        for name in ("e_leak", "e_exc", "v_th", "v_reset"):
            object.__setattr__(self, name, check_number(name, getattr(self, name), unit="mV"))
        check_choice("synapse", self.synapse, ("conductance", "current"))
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

    def _check(self, name: str, unit: str, *, strict: bool) -> None:
        """Validate a number ``>= 0`` (``> 0`` when ``strict``) and store it as a float."""
        object.__setattr__(self, name, check_number(name, getattr(self, name), low=0.0,
                                                    strict=strict, unit=unit))

    def replace(self, **changes: Any) -> LIFConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-ready) of every field."""
        return dataclasses.asdict(self)


def lif_namespace(cfg: LIFConfig, b2: Any) -> dict[str, Any]:
    """The neuron's constants as Brian2 quantities (``namespace=``)."""
    return {"E_L": cfg.e_leak * b2.mV, "E_e": cfg.e_exc * b2.mV, "tau_m": cfg.tau_m * b2.second,
            "tau_e": cfg.tau_e * b2.second, "v_th": cfg.v_th * b2.mV,
            "v_reset": cfg.v_reset * b2.mV, "g_max": cfg.g_max}


def lif_group(cfg: LIFConfig, ns: dict[str, Any], b2: Any, *, extra: str = "",
              reset: str = "") -> Any:
    """The ``n_post`` LIF neurons (group ``"post"``), with ``extra`` equations and reset code."""
    drive = "(E_e - v)" if cfg.synapse == "conductance" else "(E_e - E_L)"
    post = b2.NeuronGroup(cfg.n_post, LIF_EQS.format(drive=drive) + extra, threshold="v > v_th",
                          reset="v = v_reset\n" + reset, refractory=cfg.t_ref * b2.second,
                          method="euler", dt=cfg.dt * b2.second, name="post", namespace=ns)
    post.v = cfg.e_leak * b2.mV
    return post


def connect_all(cfg: LIFConfig, syn: Any, w0: np.ndarray) -> None:
    """Connect every input to every LIF neuron, weights ``w0 (post, pre)``."""
    syn.connect(i=np.tile(np.arange(cfg.n_pre), cfg.n_post),
                j=np.repeat(np.arange(cfg.n_post), cfg.n_pre))
    syn.w = w0.ravel()


Build = Callable[[Any], tuple[list[Any], dict[str, Any]]]
"""``build(b2) -> (objects, namespace)``: groups named ``inputs``, ``post``, ``syn``."""


def _run(cfg: LIFConfig, build: Build, seed: int, target: str, b2: Any) -> dict[str, Any]:
    """Run on ``target`` and copy the monitors out; every Brian2 global restored."""
    standalone = target == "cpp_standalone"
    tmp = tempfile.mkdtemp(prefix="plastix_lif_") if standalone else None
    try:
        with brian2_scope(b2, target=None if standalone else target):
            if standalone:
                b2.set_device("cpp_standalone", directory=tmp, build_on_run=True)
                b2.get_device().reinit()
                b2.get_device().activate(directory=tmp, build_on_run=True)
            b2.seed(seed)  # after the device is set: a standalone build records it
            objs, ns = build(b2)
            m = {o.name: o for o in objs}
            objs += [b2.StateMonitor(m["syn"], "w", record=True,
                                     dt=cfg.weight_interval * b2.second, when="start",
                                     name="w_mon"),
                     b2.SpikeMonitor(m["inputs"], name="pre_mon"),
                     b2.SpikeMonitor(m["post"], name="post_mon")]
            net = b2.Network(*objs)
            net.run(cfg.duration * b2.second, namespace=ns)
            m = {o.name: o for o in net.objects}
            return {"weight_time": np.append(np.asarray(m["w_mon"].t_[:], float),
                                             cfg.duration),
                    "w": np.vstack([np.asarray(m["w_mon"].w).T,
                                    np.asarray(m["syn"].w[:])[None]]),
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


def _binned(t: np.ndarray, i: np.ndarray, n: int, n_bins: int, cfg: LIFConfig) -> np.ndarray:
    """Spike counts per bin; times are multiples of dt, rounded to the step first."""
    b = np.round(t / cfg.dt).astype(np.int64) // int(round(cfg.bin_size / cfg.dt))
    keep = b < n_bins
    return np.bincount(b[keep] * n + i[keep], minlength=n_bins * n).reshape(n_bins, n) * 1.0


def simulate_lif(cfg: LIFConfig, build: Build, *, seed: int, target: str, who: str,
                 truth: dict[str, Any], decay: float = 0.0) -> xr.Dataset:
    """Run the circuit ``build`` makes and return its plastix record.

    Parameters
    ----------
    cfg : LIFConfig
        The circuit's shared fields (sizes, times, bin and weight-sample intervals).
    build : callable
        ``build(b2) -> (objects, namespace)`` (see :data:`Build`).
    seed : int
        Brian2's random seed.
    target : {"numpy", "cython", "cpp_standalone"}
        Code generation; the previous target and device are restored afterwards.
    who : str
        The calling function's name, for the error message of a wrong device.
    truth : dict
        The record's ``truth`` (the rule and its parameters).
    decay : float
        The record's known weight-decay rate (1/s).

    Returns
    -------
    xarray.Dataset
        Spike counts per ``bin_size`` bin (kind ``"count"``) of the inputs and LIF
        neurons, the spike times and the true weights every ``weight_interval`` s.
    """
    check_choice("target", target, TARGETS)
    b2 = import_brian2()
    if type(b2.get_device()).__name__ != "RuntimeDevice":
        raise ValueError(f"{who} needs Brian2's runtime device active; call "
                         "brian2.set_device('runtime') first.")
    t0 = time.perf_counter()
    res = _run(cfg, build, seed, target, b2)
    wall = time.perf_counter() - t0
    n_bins = int(round(cfg.duration / cfg.bin_size))
    pre = _binned(res["pre_t"], res["pre_i"], cfg.n_pre, n_bins, cfg)
    post = _binned(res["post_t"], res["post_i"], cfg.n_post, n_bins, cfg)
    w = res["w"].reshape(-1, cfg.n_post, cfg.n_pre)
    return make_record(
        pre, post, w, time=np.arange(n_bins) * cfg.bin_size, weight_time=res["weight_time"],
        dt=cfg.bin_size, time_units="s", activity_units="1", activity_kind="count", decay=decay,
        pre_spikes={"time": res["pre_t"], "unit": res["pre_i"]},
        post_spikes={"time": res["post_t"], "unit": res["post_i"]}, source="brian2",
        provenance={"config": cfg.to_dict(), "seed": seed, "codegen_target": target,
                    "brian2_version": b2.__version__, "simulator": "brian2",
                    "wall_time_s": round(wall, 3)},
        truth=truth)
