"""Sweeps of the spiking circuit over decay γ and noise σ: compile once, rerun with run_args.

With ``target="cpp_standalone"`` the circuit is generated and compiled **once**
(Brian2's ``set_device("cpp_standalone", build_on_run=False)``), and every grid
point and seed reruns the same binary with ``device.run(run_args={...})``, which
sets ``gamma`` (Hz), ``sigma_kick`` (= σ·sqrt(noise step)) and the random
seed ``rng_seed`` on the command line.  The seed is a run-time parameter because
the builder inserts, after ``device.apply_run_args()``, C++ code that seeds
Brian2's generators from ``rng_seed``: one binary serves every seed.

Every grid point shares the circuit's structure (initial weights, teacher,
recorded synapses) drawn from ``rng=``; seeds differ in Brian2's random stream
(Poisson inputs, input and membrane noise, weight noise, initial states).

The device, the build directory and Brian2's prefs are restored afterwards,
whatever happens (``device.reinit()``, ``set_device("runtime")``).  With a
runtime ``target`` (``"numpy"``, ``"cython"``) the same grid runs point by point.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.optional import brian2_scope, import_brian2
from plastix._util.rng import resolve_rng
from plastix._util.validate import as_float_array, check_finite, check_int
from plastix.circuits.analysis import circuit_alignment
from plastix.circuits.build import build_network, draw_arrays, read_results
from plastix.circuits.config import SpikingCircuitConfig, check_fits_memory
from plastix.circuits.simulate import to_record

__all__ = ["SWEEP_TARGETS", "SweepResult", "sweep_spiking", "stationarity"]

SWEEP_TARGETS = ("cpp_standalone", "numpy", "cython")


@dataclass
class SweepResult:
    """What :func:`sweep_spiking` returns.

    Attributes
    ----------
    summary : xarray.Dataset
        Dims ``(seed, noise, decay)``: ``alignment_estimate`` (from the weights,
        ``ĝ = ΔW + γΔt W``), ``alignment_rule`` (true rule signal; NaN if not
        recorded), ``post_rate`` (Hz), ``weight_mean`` and ``weight_sd`` of the
        recorded synapses at the end, ``stationarity_gap`` (see :func:`stationarity`; includes the
        finite-window noise of the rule signal's mean) and ``alignment_drift`` (mean
        alignment over the last quarter of intervals minus the third quarter; ≈ 0 when
        the alignment is stationary).
        Alignment ``> 0`` Hebbian.
    records : list of xarray.Dataset or None
        The records, in ``(seed, noise, decay)`` order, when ``keep_records``.
    timings : dict
        Seconds spent building/compiling and running (``build_s``, ``run_s``,
        ``n_runs``).
    """

    summary: xr.Dataset
    records: list | None
    timings: dict


def _grid(name: str, values: Any) -> np.ndarray:
    arr = np.atleast_1d(as_float_array(name, values))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-d sequence of values; got shape "
                         f"{arr.shape}.")
    check_finite(name, arr)
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must be >= 0 everywhere; got {arr.min()!r}.")
    return arr


def sweep_spiking(
    config: SpikingCircuitConfig,
    *,
    decay: Sequence[float],
    noise: Sequence[float],
    n_seeds: int = 1,
    rng: Any = None,
    target: str = "cpp_standalone",
    build_dir: str | Path | None = None,
    keep_records: bool = False,
    skip: float = 0.5,
    progress: bool = True,
    measure: Callable[[xr.Dataset], dict] | None = None,
) -> SweepResult:
    """Run the spiking circuit over a γ × σ grid (and seeds), compiling at most once.

    Parameters
    ----------
    config : SpikingCircuitConfig
        The circuit; its ``decay`` and ``noise`` are replaced by each grid value.
    decay : sequence of float
        γ values (1/s).
    noise : sequence of float
        σ values (1/sqrt(s)).
    n_seeds : int
        Seeds per grid point (Brian2 random streams drawn from ``rng``).
    rng : int, Generator or None
        Seeds the structure and the per-seed streams.
    target : {"cpp_standalone", "numpy", "cython"}
        ``cpp_standalone`` compiles once and reruns with ``run_args``; the runtime
        targets run each point separately (the fallback).
    build_dir : path, optional
        Where the standalone project is written (kept); default a temporary folder,
        deleted afterwards.
    keep_records : bool
        Return every record (memory: see :mod:`plastix.circuits.simulate`).
    skip : float
        Fraction of intervals discarded as transient when averaging the alignment.
    progress : bool
        Show a tqdm progress bar.
    measure : callable, optional
        ``measure(record) -> dict of floats``: extra per-run numbers added to the summary.

    Returns
    -------
    SweepResult
        ``summary`` with dims ``(seed, noise, decay)``; alignment sign convention
        ``> 0`` Hebbian, ``< 0`` anti-Hebbian.

    Examples
    --------
    >>> res = sweep_spiking(cfg, decay=[0, 2], noise=[0, 4], rng=0)   # doctest: +SKIP
    >>> res.summary["alignment_rule"].mean("seed")                     # doctest: +SKIP
    """
    if not isinstance(config, SpikingCircuitConfig):
        raise TypeError(f"`config` must be a SpikingCircuitConfig; got "
                        f"{type(config).__name__}.")
    check_choice("target", target, SWEEP_TARGETS)
    gammas = _grid("decay", decay)
    sigmas = _grid("noise", noise)
    n_seeds = check_int("n_seeds", n_seeds, low=1)
    check_fits_memory(config)  # one run at a time; each record is reduced before the next
    gen = resolve_rng(rng)
    arrays = draw_arrays(config, gen)
    seeds = [int(s) for s in gen.integers(1, 2**31 - 1, size=int(n_seeds))]
    points = [(si, s, ni, sig, gi, gam) for si, s in enumerate(seeds)
              for ni, sig in enumerate(sigmas) for gi, gam in enumerate(gammas)]
    runner = _standalone_runs if target == "cpp_standalone" else _runtime_runs
    shape = (len(seeds), sigmas.size, gammas.size)
    names = ["alignment_estimate", "alignment_rule", "post_rate", "weight_mean", "weight_sd"]
    values: dict[str, np.ndarray] = {n: np.full(shape, np.nan) for n in names}
    records: list | None = [] if keep_records else None
    bar = _bar(len(points), progress, f"circuit sweep ({target})")
    timings = {"build_s": 0.0, "run_s": 0.0, "n_runs": 0}
    try:
        for (si, _s, ni, _sig, gi, _gam), rec in runner(config, arrays, points, target,
                                                        build_dir, timings):
            extra = _measure(rec, config, skip)
            if measure is not None:
                extra.update({str(k): float(v) for k, v in measure(rec).items()})
            for key, val in extra.items():
                if key not in values:
                    values[key] = np.full(shape, np.nan)
                values[key][si, ni, gi] = val
            if records is not None:
                records.append(rec)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    summary = xr.Dataset(
        {k: (("seed", "noise", "decay"), v) for k, v in values.items()},
        coords={"seed": seeds, "noise": ("noise", sigmas, {"units": "1/sqrt(s)"}),
                "decay": ("decay", gammas, {"units": "1/s"})},
        attrs={"target": target, "config": str(config.to_dict()), "skip": float(skip),
               "sign_convention": "alignment > 0 Hebbian, < 0 anti-Hebbian"})
    summary["post_rate"].attrs["units"] = "Hz"
    return SweepResult(summary=summary, records=records, timings=timings)


def _bar(total: int, progress: bool, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


def _measure(rec: xr.Dataset, cfg: SpikingCircuitConfig, skip: float) -> dict[str, float]:
    w = rec["weight"].values[-1]
    out = {"alignment_estimate": circuit_alignment(rec, signal="estimate", skip=skip),
           "alignment_rule": (circuit_alignment(rec, signal="rule", skip=skip)
                              if "signal" in rec.variables else float("nan")),
           "post_rate": float(rec["post_activity"].values.mean() / rec.attrs["dt"]),
           "weight_mean": float(np.nanmean(w)), "weight_sd": float(np.nanstd(w)),
           "stationarity_gap": stationarity(rec, skip=skip),
           "alignment_drift": _drift(rec)}
    return out


def _drift(rec: xr.Dataset) -> float:
    """Mean rule-signal alignment over the last quarter of intervals minus the third."""
    from plastix.circuits.analysis import interval_alignment

    signal = "rule" if "signal" in rec.variables else "estimate"
    a = interval_alignment(rec, signal=signal).values
    q = a.size // 4
    if q < 1:
        return float("nan")
    return float(np.nanmean(a[-q:]) - np.nanmean(a[-2 * q:-q]))


def stationarity(rec: xr.Dataset, *, skip: float = 0.5) -> float:
    """Relative stationarity gap ``‖E[η g] − γ W̄‖ / ‖γ W̄‖`` over the record's last part.

    ``E[η g]`` is the recorded rule signal per unit time after the first ``skip``
    fraction of the run, ``W̄`` the mean recorded weight over the same samples (observed
    synapses only).  Near 0 the weights are stationary; NaN when γ = 0 or without the
    rule signal.
    """
    from plastix.alignment import stationarity_gap

    gamma = float(rec["decay"].values)
    if gamma <= 0 or "signal" not in rec.variables:
        return float("nan")
    t = np.asarray(rec["weight_time"].values, dtype=float)
    start = int(np.floor(skip * (t.size - 1)))
    sig = np.asarray(rec["signal"].values, dtype=float)
    w = np.asarray(rec["weight"].values, dtype=float)[start:]
    rate = (sig[-1] - sig[start]) / (t[-1] - t[start])
    w_mean = w.mean(axis=0)
    ok = np.isfinite(rate) & np.isfinite(w_mean)
    return float(stationarity_gap(np.where(ok, rate, 0.0), np.where(ok, w_mean, 0.0), gamma))


def _runtime_runs(cfg, arrays, points, target, build_dir, timings):
    from plastix.circuits.simulate import _simulate_arrays

    for point in points:
        _si, seed, _ni, sig, _gi, gam = point
        c = cfg.replace(decay=float(gam), noise=float(sig))
        t0 = time.perf_counter()
        rec = _simulate_arrays(c, replace(arrays, brian_seed=seed), target=target)
        timings["run_s"] += time.perf_counter() - t0
        timings["n_runs"] += 1
        yield point, rec


def _standalone_runs(cfg, arrays, points, target, build_dir, timings):
    b2 = import_brian2()
    tmp = None
    if build_dir is None:
        tmp = tempfile.mkdtemp(prefix="plastix_standalone_")
        directory = tmp
    else:
        directory = str(Path(build_dir))
    with brian2_scope(b2):  # the codegen target and numpy's random state
        try:
            t0 = time.perf_counter()
            device = _activate_standalone(b2, directory)
            built = build_network(cfg, arrays, b2, standalone=True)
            built.net.run(cfg.duration * b2.second, namespace=built.namespace)
            device.build(directory=directory, compile=True, run=False, with_output=False)
            timings["build_s"] += time.perf_counter() - t0
            syn, latent = built.objects["plastic"], built.objects["latent"]
            for point in points:
                _si, seed, _ni, sig, _gi, gam = point
                t0 = time.perf_counter()
                device.run(directory=directory, with_output=False, run_args={
                    syn.gamma: float(gam) * b2.Hz,
                    syn.sigma_kick: float(sig) * np.sqrt(cfg.noise_dt),
                    latent.rng_seed: int(seed)})
                res = read_results(built, cfg, arrays)
                timings["run_s"] += time.perf_counter() - t0
                timings["n_runs"] += 1
                c = cfg.replace(decay=float(gam), noise=float(sig))
                yield point, to_record(c, replace(arrays, brian_seed=seed), res,
                                       codegen_target="cpp_standalone", device="cpp_standalone",
                                       extra_provenance={"run_args": True,
                                                         "build_dir": directory if tmp is None
                                                         else "temporary"})
        finally:
            restore_runtime(b2)
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)


def _activate_standalone(b2: Any, directory: str) -> Any:
    """Switch to a fresh cpp_standalone device (build_on_run=False)."""
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    device = b2.get_device()
    device.reinit()
    device.activate(directory=directory, build_on_run=False)
    return device


def restore_runtime(b2: Any) -> None:
    """Reset the standalone device and make the runtime device active again."""
    device = b2.get_device()
    if type(device).__name__ != "RuntimeDevice":
        device.reinit()
    b2.set_device("runtime")
    b2.get_device().activate()
