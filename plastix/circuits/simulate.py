"""Simulate a rate or spiking circuit with Brian2 and return a plastix record.

Both simulators build one explicit ``Network`` (:mod:`plastix.circuits.build`)
with an explicit ``namespace``, seed Brian2 from ``rng=``, run on a runtime
code-generation target, restore every global they touched (Brian2 prefs, numpy's
global RNG that Brian2's numpy target draws from) and convert the monitors into
a record (:func:`plastix.record.make_record`).

Recording footprint
-------------------
What grows with the run is (i) the weight samples, (ii) the activity bins and
(iii) the spike times.  With ``n_rec`` recorded synapses sampled every
``weight_interval`` for ``duration`` seconds, Brian2's ``StateMonitor`` holds
``8 · n_rec · n_samples`` bytes per recorded variable (``w``, and ``gsum`` when
``record_signal``), where ``n_samples = duration / weight_interval``.  The
record stores weights (and ``signal``) densely as ``(weight_time, post, pre)``
with NaN for the synapses not recorded: ``8 · n_post · n_pre`` bytes per sample
and variable, *whatever* ``n_rec``.  Activity costs ``8 · (n_pre + n_post)``
bytes per bin; spike times 24 bytes per spike (time, unit, segment).

Measured (``benchmarks/circuits.py``, numpy target): **49 bytes per recorded
synapse-sample** with ``record_signal=True`` (16 in the monitor, 16 in the dense
record, the rest transient copies while reading back), from the RSS difference
of two runs recording 4·10⁶ and 2·10³ synapse-samples.  Peak RSS with the
defaults (``SpikingCircuitConfig()``: 100 inputs × 10 neurons, 5 s,
``record_synapses=2000`` i.e. all 1000, ``weight_interval=0.1`` s,
``bin_size=0.01`` s) is 180 MB, of which the record is 1.3 MB (the rest is Python,
Brian2 and numpy).  For 1000 inputs × 100 neurons over 10 s the dense record is
173 MB (peak RSS 373 MB) even though only 2000 synapses are recorded: at that
size raise ``weight_interval`` or set ``record_signal=False``.  Recording every
synapse at every 0.5 ms step would cost ``8 · n_syn`` bytes per step and variable:
1.6 GB per simulated second for 10⁵ synapses.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.optional import brian2_scope, import_brian2
from plastix._util.rng import resolve_rng
from plastix.circuits.build import build_network, draw_arrays, read_results
from plastix.circuits.config import RateCircuitConfig, SpikingCircuitConfig, check_fits_memory
from plastix.circuits.divergence import SimulationDiverged, find_divergence
from plastix.record import MAX_RATE_HZ, MAX_WEIGHT, make_record

__all__ = ["simulate_rate", "simulate_spiking", "RUNTIME_TARGETS", "to_record"]

RUNTIME_TARGETS = ("numpy", "cython", "auto")


def _check_config(config: Any, cls: type, fn: str) -> None:
    if not isinstance(config, cls):
        other = (SpikingCircuitConfig if cls is RateCircuitConfig else RateCircuitConfig)
        hint = ""
        if isinstance(config, other):
            hint = (f" Got a {other.__name__}: call "
                    f"{'simulate_spiking' if other is SpikingCircuitConfig else 'simulate_rate'}"
                    " instead.")
        elif isinstance(config, dict):
            hint = f" Build one with {cls.__name__}(**d) or {cls.__name__}.from_dict(d)."
        raise TypeError(f"`config` of {fn} must be a {cls.__name__}; got "
                        f"{type(config).__name__}.{hint}")


def simulate_rate(config: RateCircuitConfig, *, rng: Any = None,
                  target: str | None = None) -> xr.Dataset:
    """Simulate the rate circuit and return its record.

    Parameters
    ----------
    config : RateCircuitConfig
        The circuit, the rule (``"hebbian"``, ``"anti_hebbian"``, ``"error"``,
        ``"random"``), ``eta`` (1/s), ``decay`` γ (1/s), ``noise`` σ (1/sqrt(s)) and
        what to record.
    rng : int, numpy.random.Generator or None
        Seeds the circuit's structure (weights, teacher, recorded synapses) and
        Brian2's random stream.  Same seed, same numbers (on the same target).
    target : {"numpy", "cython", "auto"}, optional
        Brian2 code-generation target; default: Brian2's current
        ``prefs.codegen.target``.  Restored afterwards.

    Returns
    -------
    xarray.Dataset
        A plastix record (``time_units="s"``): ``pre_activity`` input rates (Hz,
        kind ``"rate"``) and ``post_activity`` the linear units' rates (Hz, kind
        ``"preactivation"``: ``r_ref · u`` may be negative) sampled every
        ``bin_size``; ``weight`` ``(weight_time, post, pre)`` (NaN where not
        recorded), sampled every ``weight_interval`` and at the end; ``decay`` = γ
        (1/s); ``signal`` (if ``record_signal``): the cumulative rule
        contribution ``η∫g dt`` of each recorded synapse, so that
        ``signal[k+1] − signal[k]`` is the true learning signal of interval ``k``.
        ``truth`` and ``provenance`` (seed, codegen target, Brian2 version) in attrs.

    Examples
    --------
    The alignment sign convention (``> 0`` Hebbian):

    >>> ds = simulate_rate(RateCircuitConfig(rule="hebbian", duration=1.0), rng=0)
    >>> interval_alignment(ds).mean() > 0                   # doctest: +SKIP
    True
    """
    _check_config(config, RateCircuitConfig, "simulate_rate")
    return _simulate(config, rng=rng, target=target)


def simulate_spiking(config: SpikingCircuitConfig, *, rng: Any = None,
                     target: str | None = None) -> xr.Dataset:
    """Simulate the spiking circuit (Poisson inputs onto LIF neurons) and return its record.

    Parameters
    ----------
    config : SpikingCircuitConfig
        The circuit, rule (any of :data:`plastix.circuits.RULES`), ``eta`` (1/s),
        ``decay`` γ (1/s), ``noise`` σ (1/sqrt(s)), input noise and what to record.
        Defaults record ``record_synapses=2000`` random synapses every
        ``weight_interval=0.1`` s, spikes binned at ``bin_size=0.01`` s; see the
        module docstring for the memory footprint.
    rng : int, numpy.random.Generator or None
        Seeds the circuit's structure and Brian2's random stream.
    target : {"numpy", "cython", "auto"}, optional
        Brian2 code-generation target; default: Brian2's current
        ``prefs.codegen.target``.  Restored afterwards.

    Returns
    -------
    xarray.Dataset
        A plastix record: binned spike counts (kind ``"count"``, units ``"1"``) of
        inputs (``pre``) and LIF neurons (``post``) every ``bin_size`` seconds, the
        spike times in ``pre_spike_time``/``post_spike_time``, weights
        ``(weight_time, post, pre)`` (NaN where not recorded), ``decay`` = γ (1/s),
        the cumulative rule contribution ``signal`` if ``record_signal``, truth and
        provenance.

    Examples
    --------
    >>> cfg = SpikingCircuitConfig(rule="error", decay=2.0, duration=2.0)
    >>> ds = simulate_spiking(cfg, rng=1)                   # doctest: +SKIP
    >>> float(ds["decay"])                                  # doctest: +SKIP
    2.0
    """
    _check_config(config, SpikingCircuitConfig, "simulate_spiking")
    return _simulate(config, rng=rng, target=target)


def _simulate(cfg: Any, *, rng: Any, target: str | None) -> xr.Dataset:
    check_fits_memory(cfg)
    import_brian2()
    if target is not None:
        check_choice("target", target, RUNTIME_TARGETS)
    gen = resolve_rng(rng)
    return _simulate_arrays(cfg, draw_arrays(cfg, gen), target=target)


def _simulate_arrays(cfg: Any, arrays: Any, *, target: str | None) -> xr.Dataset:
    """Run one circuit with given structure on a runtime target, restoring globals."""
    b2 = import_brian2()
    if type(b2.get_device()).__name__ != "RuntimeDevice":
        raise ValueError(
            f"`simulate_*` runs on Brian2's runtime device; the active device is "
            f"{type(b2.get_device()).__name__}. Call brian2.set_device('runtime') first, or use "
            "plastix.circuits.sweep_spiking for cpp_standalone.")
    t0 = time.perf_counter()
    with brian2_scope(b2, target=target, seed=arrays.brian_seed):
        built = build_network(cfg, arrays, b2)
        built.net.run(cfg.duration * b2.second, namespace=built.namespace)
        used = _used_target(built)
        res = read_results(built, cfg, arrays)
    wall = time.perf_counter() - t0
    return to_record(cfg, arrays, res, codegen_target=used, device="runtime",
                     wall_time=wall)


def _used_target(built: Any) -> str:
    cls = type(built.objects["plastic"].state_updater.codeobj).__name__
    return {"NumpyCodeObject": "numpy", "CythonCodeObject": "cython"}.get(cls, cls)


def _dense(values: np.ndarray, recorded: np.ndarray, n_post: int, n_pre: int) -> np.ndarray:
    """Scatter (n_samples, n_rec) recorded values into (n_samples, post, pre), NaN elsewhere."""
    out = np.full((values.shape[0], n_post * n_pre), np.nan)
    out[:, recorded] = values
    return out.reshape(values.shape[0], n_post, n_pre)


def _bin_spikes(t: np.ndarray, i: np.ndarray, n: int, n_bins: int, bin_size: float,
                dt: float) -> np.ndarray:
    # spike times are multiples of dt: round to the step first so that floating
    # point never moves a spike into the neighbouring bin
    steps_per_bin = int(round(bin_size / dt))
    b = np.round(t / dt).astype(np.int64) // steps_per_bin
    keep = b < n_bins
    counts = np.zeros((n_bins, n))
    np.add.at(counts, (b[keep], i[keep]), 1.0)
    return counts


def check_not_diverged(cfg: Any, arrays: list) -> None:
    """Raise :class:`SimulationDiverged` (one line) when a simulated array ran away.

    Parameters
    ----------
    cfg : RateCircuitConfig or SpikingCircuitConfig
        The circuit simulated (its rule, ``eta`` and ``decay`` in 1/s name the fix).
    arrays : list of (label, values, bound, unit, times, time_axis)
        As :func:`plastix.circuits.divergence.find_divergence` takes them.
    """
    found = find_divergence(arrays, nan_is_divergence=True)
    if found is None:
        return
    cause = ("runaway Hebbian growth" if cfg.rule in ("hebbian", "stdp")
             else f"runaway growth under the {cfg.rule} rule")
    raise SimulationDiverged(
        f"the {cfg.kind} circuit diverged ({cause}: {found.describe()}, with eta "
        f"{cfg.eta:g}/s against decay {cfg.decay:g}/s); raise `decay` (--decay) or lower "
        f"`eta` (--eta){_eta_hint(cfg)}.")


def _eta_hint(cfg: Any) -> str:
    """For a Hebbian rule, the eta below which the mean weights relax (eta < decay)."""
    if cfg.rule != "hebbian":
        return ""
    return f", e.g. eta at most half the decay ({0.5 * cfg.decay:g}/s)"


def to_record(cfg: Any, arrays: Any, res: dict[str, Any], *, codegen_target: str,
              device: str, wall_time: float | None = None,
              extra_provenance: dict | None = None) -> xr.Dataset:
    """Convert monitor data (from :func:`plastix.circuits.build.read_results`) to a record."""
    b2 = import_brian2()
    spiking = isinstance(cfg, SpikingCircuitConfig)
    n_bins = int(round(cfg.duration / cfg.bin_size))
    time_axis = np.arange(n_bins) * cfg.bin_size
    weight = _dense(res["w"], arrays.recorded, cfg.n_post, cfg.n_pre)
    truth = {"rule": cfg.rule, "eta": cfg.eta, "decay": cfg.decay, "noise": cfg.noise,
             "input_noise": cfg.input_noise, "input_corr": cfg.input_corr,
             "circuit": cfg.kind, "noise_step": cfg.noise_dt,
             "teacher": "fixed random weights N(1, teacher_sd^2)" if cfg.rule == "error"
             else None}
    prov = {"config": cfg.to_dict(), "seed": arrays.brian_seed, "codegen_target": codegen_target,
            "device": device, "brian2_version": b2.__version__, "simulator": "brian2",
            "n_recorded_synapses": int(arrays.recorded.size)}
    if wall_time is not None:
        prov["wall_time_s"] = round(float(wall_time), 3)
    prov.update(extra_provenance or {})
    # the recorded synapses only: in the dense array NaN marks the others, while NaN in a
    # simulated value is an overflow (inf - inf) and counts as divergence
    checks = [("weight", np.asarray(res["w"], dtype=float), MAX_WEIGHT, "",
               res["weight_time"], 0)]
    kw: dict[str, Any] = dict(time=time_axis, weight_time=res["weight_time"], dt=cfg.bin_size,
                              time_units="s", decay=cfg.decay, source="brian2",
                              provenance=prov, truth=truth)
    if spiking:
        pre = _bin_spikes(res["pre_t"], res["pre_i"], cfg.n_pre, n_bins, cfg.bin_size, cfg.dt)
        post = _bin_spikes(res["post_t"], res["post_i"], cfg.n_post, n_bins, cfg.bin_size,
                           cfg.dt)
        check_not_diverged(cfg, checks)
        ds = make_record(pre, post, weight, activity_units="1", activity_kind="count",
                         pre_spikes={"time": res["pre_t"], "unit": res["pre_i"]},
                         post_spikes={"time": res["post_t"], "unit": res["post_i"]}, **kw)
    else:
        pre = res["pre_x"][:n_bins]
        post = cfg.rate * res["post_u"][:n_bins]
        check_not_diverged(cfg, checks + [("post rate", post, MAX_RATE_HZ, "Hz", time_axis, 0)])
        ds = make_record(pre, post, weight, activity_units="Hz", activity_kind="rate",
                         post_activity_kind="preactivation", **kw)
    if cfg.record_signal:
        sig = _dense(res["gsum"], arrays.recorded, cfg.n_post, cfg.n_pre)
        ds["signal"] = (("weight_time", "post", "pre"), sig, {
            "units": "1", "long_name": "cumulative rule contribution eta * integral of g dt "
            "(decay and noise excluded); its difference over an interval is the true "
            "learning signal"})
    return ds
