"""Build the Brian2 objects of a circuit (one explicit ``Network``) and read them back.

Internal: :mod:`plastix.circuits.simulate` (runtime targets) and
:mod:`plastix.circuits.sweep` (``cpp_standalone`` with ``run_args``) share this
builder, so the circuit is the same whatever the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plastix.circuits import templates as T
from plastix.circuits.config import SpikingCircuitConfig

__all__ = ["CircuitArrays", "draw_arrays", "build_network", "Built"]


@dataclass
class CircuitArrays:
    """Every random quantity of a circuit drawn in numpy (seeded from ``rng=``).

    Synapse ``s`` connects pre ``s % n_pre`` to post ``s // n_pre``, so a vector over
    synapses reshapes to ``(post, pre)`` directly.
    """

    w0: np.ndarray            # (post, pre) initial student weights
    teacher: np.ndarray       # (post, pre) fixed teacher weights W*
    random_drive: np.ndarray  # (post, pre) fixed random matrix R of the "random" rule
    groups: np.ndarray        # (pre,) input population of each input
    recorded: np.ndarray      # sorted flat synapse indices whose weights are recorded
    rec_i: np.ndarray         # (n_rec_pairs,) recurrent pre index among post neurons
    rec_j: np.ndarray         # (n_rec_pairs,) recurrent post index
    brian_seed: int = 0


def draw_arrays(cfg: Any, gen: np.random.Generator) -> CircuitArrays:
    """Draw the circuit's random structure from ``gen`` (a numpy Generator)."""
    shape = (cfg.n_post, cfg.n_pre)
    w0 = cfg.w_init + cfg.w_init_sd * gen.standard_normal(shape)
    teacher = 1.0 + cfg.teacher_sd * gen.standard_normal(shape)
    random_drive = gen.standard_normal(shape)
    groups = np.arange(cfg.n_pre) % cfg.n_groups
    n_syn = cfg.n_post * cfg.n_pre
    spec = cfg.record_synapses
    if spec is None:
        recorded = np.arange(n_syn)
    elif isinstance(spec, int):
        recorded = np.sort(gen.choice(n_syn, size=min(spec, n_syn), replace=False))
    else:
        recorded = np.sort(np.array([p * cfg.n_pre + q for p, q in spec], dtype=np.int64))
    p_rec = getattr(cfg, "p_recurrent", 0.0)
    if p_rec > 0:
        conn = gen.random((cfg.n_post, cfg.n_post)) < p_rec
        np.fill_diagonal(conn, False)
        rec_i, rec_j = np.nonzero(conn)
    else:
        rec_i = rec_j = np.zeros(0, dtype=np.int64)
    return CircuitArrays(w0=w0, teacher=teacher, random_drive=random_drive, groups=groups,
                         recorded=recorded.astype(np.int64), rec_i=rec_i.astype(np.int64),
                         rec_j=rec_j.astype(np.int64),
                         brian_seed=int(gen.integers(1, 2**31 - 1)))


@dataclass
class Built:
    """The network and the named objects needed to read results back."""

    net: Any
    objects: dict = field(default_factory=dict)
    namespace: dict = field(default_factory=dict)


def namespace(cfg: Any, b2: Any) -> dict[str, Any]:
    """The explicit Brian2 namespace (every constant used by the templates)."""
    ns = {
        "tau_input": cfg.tau_input * b2.second,
        "rate": cfg.rate * b2.Hz,
        "r_ref": cfg.rate * b2.Hz,
        "input_corr": cfg.input_corr,
        "input_noise": cfg.input_noise,
        "n_in": float(cfg.n_pre),
        "inf": np.inf,
    }
    if isinstance(cfg, SpikingCircuitConfig):
        ns.update({
            "tau_m": cfg.tau_m * b2.second,
            "tau_trace": cfg.tau_trace * b2.second,
            "tau_stdp": cfg.tau_stdp * b2.second,
            "stdp_ratio": cfg.stdp_ratio,
            "v_th": cfg.v_th * b2.mV,
            "v_noise": cfg.v_noise * b2.mV,
            "J": cfg.drive / (cfg.n_pre * cfg.rate * cfg.tau_m) * b2.mV,
            "j_rec": cfg.j_recurrent * b2.mV,
        })
    return ns


def build_network(cfg: Any, arrays: CircuitArrays, b2: Any, *, standalone: bool = False,
                  gamma: float | None = None, sigma: float | None = None) -> Built:
    """Create every Brian2 object of the circuit inside one explicit ``Network``.

    With ``standalone=True`` the run-time parameters (``eta``, ``gamma``,
    ``sigma_kick`` and the random seed ``rng_seed``) are set *before*
    ``device.apply_run_args()``, so ``device.run(run_args={...})`` can override
    them, and the C++ random generator is seeded from ``rng_seed`` at run time.
    """
    spiking = isinstance(cfg, SpikingCircuitConfig)
    ns = namespace(cfg, b2)
    dt = cfg.dt * b2.second
    gamma = cfg.decay if gamma is None else gamma
    sigma = cfg.noise if sigma is None else sigma
    objs: dict[str, Any] = {}
    latent = b2.NeuronGroup(cfg.n_groups, T.LATENT + "rng_seed : integer (shared, constant)\n",
                            method="euler", dt=dt, name="latent", namespace=ns)
    objs["latent"] = latent
    if spiking:
        inputs = b2.NeuronGroup(cfg.n_pre, T.INPUT_SPIKING, threshold="rand() < r*dt",
                                reset="x += 1/tau_trace", method="euler", dt=dt,
                                name="inputs", namespace=ns)
    else:
        inputs = b2.NeuronGroup(cfg.n_pre, T.INPUT_RATE, method="euler", dt=dt, name="inputs",
                                namespace=ns)
        objs["rate_copy"] = inputs.run_regularly(T.RATE_COPY, when="start", name="rate_copy")
    inputs.s = b2.linked_var(latent, "s", index=arrays.groups)
    objs["inputs"] = inputs

    rule = cfg.rule
    i_pre = np.tile(np.arange(cfg.n_pre), cfg.n_post)
    j_post = np.repeat(np.arange(cfg.n_post), cfg.n_pre)
    if spiking:
        post_eqs = T.LIF + ("xt : Hz (linked)\n" if rule == "error" else "")
        lif = dict(threshold="v > v_th", reset="v = 0*mV; x += 1/tau_trace",
                   refractory=cfg.t_ref * b2.second, method="euler", dt=dt, namespace=ns)
        post = b2.NeuronGroup(cfg.n_post, post_eqs, name="post", **lif)
        objs["post"] = post
        if rule == "error":
            teacher = b2.NeuronGroup(cfg.n_post, T.LIF, name="teacher", **lif)
            post.xt = b2.linked_var(teacher, "x")
            tsyn = b2.Synapses(inputs, teacher, "wt : 1 (constant)", on_pre="v_post += wt*J",
                               dt=dt, name="teacher_syn", namespace=ns)
            tsyn.connect(i=i_pre, j=j_post)
            objs["teacher"], objs["teacher_syn"] = teacher, tsyn
        g = T.SIGNALS_SPIKING[rule]
        on_pre = "v_post += w*J\n"
        on_post = None
        if rule == "stdp":
            pre_code, post_code = T.stdp_events(cfg.record_signal)
            on_pre += pre_code
            on_post = post_code
        eqs = T.plastic_equations(g, record_signal=cfg.record_signal, rule=rule)
        syn = b2.Synapses(inputs, post, eqs, on_pre=on_pre, on_post=on_post, method="euler",
                          dt=dt, name="plastic", namespace=ns)
        if arrays.rec_i.size:
            for name, group in (("recurrent", post), ("teacher_rec", objs.get("teacher"))):
                if group is None:
                    continue
                rs = b2.Synapses(group, group, on_pre="v_post += j_rec", dt=dt, name=name,
                                 namespace=ns)
                rs.connect(i=arrays.rec_i, j=arrays.rec_j)
                objs[name] = rs
    else:
        post = b2.NeuronGroup(cfg.n_post, T.RATE_POST, dt=dt, name="post", namespace=ns)
        objs["post"] = post
        g = T.SIGNALS_RATE[rule]
        eqs = T.plastic_equations(g, record_signal=cfg.record_signal, rule=rule)
        eqs += "u_post = w*(x_pre/r_ref)/n_in : 1 (summed)\n"
        if rule == "error":
            eqs += "wt : 1 (constant)\nut_post = wt*(x_pre/r_ref)/n_in : 1 (summed)\n"
        syn = b2.Synapses(inputs, post, eqs, method="euler", dt=dt, name="plastic",
                          namespace=ns)
    syn.connect(i=i_pre, j=j_post)
    objs["plastic"] = syn

    # run-time parameters: set before apply_run_args so that run_args can override them
    syn.eta = cfg.eta * b2.Hz
    syn.gamma = gamma * b2.Hz
    syn.sigma_kick = sigma * np.sqrt(cfg.noise_dt)
    latent.rng_seed = int(arrays.brian_seed)
    if standalone:
        device = b2.get_device()
        device.apply_run_args()
        seed_name = device.get_array_name(latent.variables["rng_seed"])
        device.insert_code(
            "main",
            f"for (int _i=0; _i<{max(1, b2.prefs.devices.cpp_standalone.openmp_threads)}; _i++)"
            f" brian::_random_generators[_i].seed((unsigned long) {seed_name}[0] + _i);")

    # random initial states (drawn by Brian2 after seeding) and numpy-drawn structure
    latent.s = "randn()"
    inputs.n = "randn()"
    syn.w = arrays.w0.ravel()
    if rule == "random":
        syn.R = arrays.random_drive.ravel()
    if rule == "error":
        if spiking:
            objs["teacher_syn"].wt = arrays.teacher.ravel()
        else:
            syn.wt = arrays.teacher.ravel()
    if spiking:
        post.v = "rand()*v_th"
        if "teacher" in objs:
            objs["teacher"].v = "rand()*v_th"

    # noise increments every noise step, one of them just before each weight sample
    wi = cfg.weight_interval * b2.second
    kick = syn.run_regularly(T.NOISE_KICK, dt=cfg.noise_dt * b2.second, when="start", order=0,
                             name="noise_kick")
    objs["noise_kick"] = kick
    variables = ["w", "gsum"] if cfg.record_signal else ["w"]
    objs["w_mon"] = b2.StateMonitor(syn, variables, record=arrays.recorded, dt=wi,
                                    when="start", order=1, name="w_mon")
    if spiking:
        objs["pre_mon"] = b2.SpikeMonitor(inputs, name="pre_mon")
        objs["post_mon"] = b2.SpikeMonitor(post, name="post_mon")
    else:
        bs = cfg.bin_size * b2.second
        objs["pre_mon"] = b2.StateMonitor(inputs, "x", record=True, dt=bs, when="end",
                                          name="pre_mon")
        objs["post_mon"] = b2.StateMonitor(post, "u", record=True, dt=bs, when="end",
                                           name="post_mon")
    net = b2.Network(*objs.values())
    return Built(net=net, objects=objs, namespace=ns)


def read_results(built: Built, cfg: Any, arrays: CircuitArrays) -> dict[str, Any]:
    """Copy the monitors' data into plain numpy arrays (SI units)."""
    o = built.objects
    syn = o["plastic"]
    wmon = o["w_mon"]
    rec = arrays.recorded
    out: dict[str, Any] = {}
    w_samples = np.asarray(wmon.w).T                     # (n_samples, n_rec)
    w_final = np.asarray(syn.w[:])[rec]
    out["weight_time"] = np.append(np.asarray(wmon.t_[:], dtype=float), cfg.duration)
    out["w"] = np.vstack([w_samples, w_final[None]])
    if cfg.record_signal:
        out["gsum"] = np.vstack([np.asarray(wmon.gsum).T, np.asarray(syn.gsum[:])[rec][None]])
    if isinstance(cfg, SpikingCircuitConfig):
        for role in ("pre", "post"):
            mon = o[f"{role}_mon"]
            out[f"{role}_t"] = np.asarray(mon.t_[:], dtype=float)
            out[f"{role}_i"] = np.asarray(mon.i[:], dtype=np.int64)
    else:
        out["pre_x"] = np.asarray(o["pre_mon"].x_).T      # (n_bins, pre), Hz
        out["post_u"] = np.asarray(o["post_mon"].u).T     # (n_bins, post), units of r_ref
        out["bin_t"] = np.asarray(o["pre_mon"].t_[:])
    return out
