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

Each point and seed is one task of the executor seam (:mod:`plastix._util.executor`):
in this process by default, or on a Dask cluster with ``client=``.  A process compiles
the circuit the first time it runs a point and reruns that binary for every later
point (:func:`run_point`); the runtime device is active between points, and the
standalone device and a temporary build folder are released at the end
(:func:`release_builds`, on every worker of a cluster).  Every task carries its
seed, drawn before submission, so the numbers do not depend on the backend or the
number of workers.  With a runtime ``target`` (``"numpy"``, ``"cython"``) each task
simulates its point alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.checkpoint import keyed_folder, load_checkpoint, save_checkpoint
from plastix._util.errors import check_choice
from plastix._util.executor import Task, imported_on_workers, run_tasks
from plastix._util.optional import brian2_scope, import_brian2
from plastix._util.rng import resolve_rng
from plastix._util.validate import as_float_array, check_finite, check_int
from plastix.circuits.analysis import circuit_alignment
from plastix.circuits.build import CircuitArrays, build_network, draw_arrays, read_results
from plastix.circuits.config import SpikingCircuitConfig, check_fits_memory
from plastix.circuits.simulate import to_record

__all__ = ["SWEEP_TARGETS", "SweepResult", "sweep_spiking", "stationarity", "CircuitModel",
           "run_point", "release_builds"]

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
        Seconds spent building/compiling and running (``build_s``, ``run_s``, summed
        over processes), ``n_runs`` and ``n_builds`` (compilations: one per process
        that ran a ``cpp_standalone`` point), and ``n_cached`` (points read back from
        ``cache`` instead of simulated).
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
    client: Any = None,
    cache: str | Path | None = None,
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
        ``measure(record) -> dict of floats``: extra per-run numbers added to the summary
        (run where the point runs: on a cluster it must pickle).
    client : distributed.Client, optional
        Run the points on this Dask cluster (:mod:`plastix._util.executor`), one task per
        point and seed: each worker process compiles the ``cpp_standalone`` circuit once,
        in its own folder (``build_dir/HOST-PID``, or a temporary one), and reruns it for
        every point it gets.  The numbers are those of the run without ``client``.
    cache : path, optional
        A folder where each finished point and seed is saved as it finishes (one small
        JSON file, floats bit-exact, :mod:`plastix._util.checkpoint`), so a sweep that
        is killed loses only the points in flight: rerun it with the same arguments
        and an int ``rng`` and the saved points are read back instead of simulated,
        giving the same summary.  Points
        live in a subfolder named by everything that decides them (configuration,
        structure, target, ``skip``, ``measure``'s name, the plastix and Brian2
        versions), so another configuration never reads them; a grid that grows reuses
        the points it shares.  Not with ``keep_records`` (records are not saved).

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
    if cache is not None and keep_records:
        raise ValueError("`cache` saves each point's summary, not its record, so it cannot be "
                         "combined with keep_records=True; drop one of them.")
    check_fits_memory(config)  # one run at a time per process; each record is reduced there
    gen = resolve_rng(rng)
    arrays = draw_arrays(config, gen)
    seeds = [int(s) for s in gen.integers(1, 2**31 - 1, size=int(n_seeds))]
    model = CircuitModel(config, arrays, target, None if build_dir is None else str(build_dir),
                         float(skip), measure, bool(keep_records))
    key = model.key()
    tasks = [Task(f"circuit-{key}-{si}-{ni}-{gi}", run_point,
                  (model, (si, s, ni, float(sig), gi, float(gam))),
                  label=f"circuit point seed {s}, noise {sig:g}, decay {gam:g}")
             for si, s in enumerate(seeds) for ni, sig in enumerate(sigmas)
             for gi, gam in enumerate(gammas)]
    shape = (len(seeds), sigmas.size, gammas.size)
    names = ["alignment_estimate", "alignment_rule", "post_rate", "weight_mean", "weight_sd"]
    values: dict[str, np.ndarray] = {n: np.full(shape, np.nan) for n in names}
    kept: dict[tuple, xr.Dataset] = {}
    timings = {"build_s": 0.0, "run_s": 0.0, "n_runs": 0, "n_builds": 0}

    def fill(task: Task, extra: dict) -> None:
        si, _s, ni, _sig, gi, _gam = task.args[1]
        for key, val in extra.items():
            if key not in values:
                values[key] = np.full(shape, np.nan)
            values[key][si, ni, gi] = val

    def save(task: Task, result: tuple) -> None:
        extra, rec, t = result
        if folder is not None:
            save_checkpoint(folder, _point_name(task.args[1]), extra)
        fill(task, extra)
        if rec is not None:
            kept[task.args[1][0], task.args[1][2], task.args[1][4]] = rec
        for key, val in t.items():
            timings[key] += val

    folder = None if cache is None else _cache_folder(cache, model)
    todo = []
    for task in tasks:
        saved = None if folder is None else load_checkpoint(folder, _point_name(task.args[1]))
        if saved is None:
            todo.append(task)
        else:
            fill(task, saved)
    timings["n_cached"] = len(tasks) - len(todo)
    bar = _bar(len(todo), progress, f"circuit sweep ({target})")
    try:
        # Brian2 is imported in a worker's main thread only
        with imported_on_workers(client if todo else None, "brian2"):
            run_tasks(todo, save, client=client, bar=bar)
    finally:
        if bar is not None:
            bar.close()
        if client is None:
            release_builds()
        else:
            with contextlib.suppress(Exception):  # a worker that is gone has nothing to free
                client.run(release_builds)
    summary = xr.Dataset(
        {k: (("seed", "noise", "decay"), v) for k, v in values.items()},
        coords={"seed": seeds, "noise": ("noise", sigmas, {"units": "1/sqrt(s)"}),
                "decay": ("decay", gammas, {"units": "1/s"})},
        attrs={"target": target, "config": str(config.to_dict()), "skip": float(skip),
               "sign_convention": "alignment > 0 Hebbian, < 0 anti-Hebbian"})
    summary["post_rate"].attrs["units"] = "Hz"
    records = [kept[k] for k in sorted(kept)] if keep_records else None
    return SweepResult(summary=summary, records=records, timings=timings)


CACHE_VERSION = 1
"""Bumped when the layout or the meaning of a sweep's cached points changes."""


def _cache_folder(cache: Any, model: CircuitModel) -> Path:
    """The folder of ``model``'s points inside ``cache`` (see :func:`sweep_spiking`): named
    by the circuit's key (configuration, structure, target), ``skip``, ``measure``'s name
    and the Brian2 version (:func:`plastix._util.checkpoint.keyed_folder` adds plastix's
    version and source digest)."""
    from importlib.metadata import version

    m = model.measure
    return keyed_folder(cache, {
        "circuit": model.key(), "config": model.config.to_dict(), "target": model.target,
        "skip": model.skip, "measure": None if m is None else f"{m.__module__}.{m.__qualname__}",
        "brian2": version("brian2")}, prefix="circuit", version=CACHE_VERSION, option="cache")


def _point_name(point: tuple) -> str:
    _si, seed, _ni, sig, _gi, gam = point
    return f"seed{seed}_noise{float(sig)!r}_decay{float(gam)!r}"


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


@dataclass(frozen=True)
class CircuitModel:
    """Everything a sweep point's task needs besides the point (pickled to the workers).

    ``arrays`` fixes the structure shared by every point; ``build_dir`` is the user's
    folder (None: a temporary one per process).
    """

    config: SpikingCircuitConfig
    arrays: CircuitArrays
    target: str
    build_dir: str | None
    skip: float
    measure: Callable[[xr.Dataset], dict] | None
    keep_records: bool

    def key(self) -> str:
        """Names the compiled circuit: its configuration, structure and target."""
        h = hashlib.sha1(f"{self.target}|{sorted(self.config.to_dict().items())}".encode())
        for name in ("w0", "teacher", "random_drive", "groups", "recorded", "rec_i", "rec_j"):
            h.update(np.ascontiguousarray(getattr(self.arrays, name)).tobytes())
        return h.hexdigest()[:16]


@dataclass
class _Build:
    """A compiled standalone circuit in this process (see :func:`release_builds`)."""

    key: str
    device: Any
    built: Any
    directory: str
    temporary: bool


_BUILDS: dict[str, _Build] = {}
"""This process's compiled circuit (at most one), reused by every point it runs."""
_BUILD_LOCK = threading.Lock()


def run_point(model: CircuitModel, point: tuple, *, tick: Any = None) -> tuple:
    """One task of a sweep: simulate one grid point and seed, measure its record.

    With ``cpp_standalone`` the process compiles the circuit the first time (in its own
    folder) and reruns the binary with ``run_args`` for every later point; the seed
    travels with ``point = (seed index, seed, noise index, σ, decay index, γ)``.

    Returns
    -------
    tuple
        (measures dict, the record or None, timings dict: ``build_s``, ``run_s``,
        ``n_runs``, ``n_builds``).
    """
    _si, seed, _ni, sig, _gi, gam = point
    cfg = model.config.replace(decay=float(gam), noise=float(sig))
    arrays = replace(model.arrays, brian_seed=int(seed))
    build_s, built = 0.0, False
    with _BUILD_LOCK:  # one Brian2 run at a time per process
        t0 = time.perf_counter()
        if model.target == "cpp_standalone":
            build, build_s, built = _compiled(model)
            t0 = time.perf_counter()
            rec = _standalone_run(build, cfg, arrays, model.build_dir)
        else:
            from plastix.circuits.simulate import _simulate_arrays

            rec = _simulate_arrays(cfg, arrays, target=model.target)
        run_s = time.perf_counter() - t0
    extra = _measure(rec, model.config, model.skip)
    if model.measure is not None:
        extra.update({str(k): float(v) for k, v in model.measure(rec).items()})
    if tick is not None:
        tick(1)
    return (extra, rec if model.keep_records else None,
            {"build_s": build_s, "run_s": run_s, "n_runs": 1, "n_builds": int(built)})


def _compiled(model: CircuitModel) -> tuple[_Build, float, bool]:
    """This process's compiled circuit for ``model``, the seconds spent building it and
    whether it was built now (False: built for an earlier point)."""
    key = model.key()
    if key in _BUILDS:
        return _BUILDS[key], 0.0, False
    _release()
    b2 = import_brian2()
    directory, temporary = _build_directory(model.build_dir)
    t0 = time.perf_counter()
    cfg = model.config
    with brian2_scope(b2):  # the codegen target and numpy's random state
        try:
            device = _activate_standalone(b2, directory)
            built = build_network(cfg, model.arrays, b2, standalone=True)
            built.net.run(cfg.duration * b2.second, namespace=built.namespace)
            device.build(directory=directory, compile=True, run=False, with_output=False)
        except BaseException:
            restore_runtime(b2)
            if temporary:
                shutil.rmtree(directory, ignore_errors=True)
            raise
        finally:  # the runtime device is active between tasks; the binary stays built
            b2.set_device("runtime")
            b2.get_device().activate()
    _BUILDS[key] = _Build(key, device, built, directory, temporary)
    return _BUILDS[key], time.perf_counter() - t0, True


def _build_directory(build_dir: str | None) -> tuple[str, bool]:
    """(folder, temporary?): ``build_dir`` itself in a client's process, a subfolder
    ``HOST-PID`` of it on a Dask worker (each worker its own), else a temporary folder."""
    if build_dir is None:
        return tempfile.mkdtemp(prefix="plastix_standalone_"), True
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return str(Path(build_dir)), False
    return str(Path(build_dir) / f"{socket.gethostname()}-{os.getpid()}"), False


def _standalone_run(build: _Build, cfg: SpikingCircuitConfig, arrays: CircuitArrays,
                    build_dir: str | None) -> xr.Dataset:
    """Rerun the compiled binary with this point's γ, σ and seed as ``run_args``."""
    b2 = import_brian2()
    syn, latent = build.built.objects["plastic"], build.built.objects["latent"]
    build.device.run(directory=build.directory, with_output=False, run_args={
        syn.gamma: float(cfg.decay) * b2.Hz,
        syn.sigma_kick: float(cfg.noise) * np.sqrt(cfg.noise_dt),
        latent.rng_seed: int(arrays.brian_seed)})
    res = read_results(build.built, cfg, arrays)
    return to_record(cfg, arrays, res, codegen_target="cpp_standalone", device="cpp_standalone",
                     extra_provenance={"run_args": True,
                                       "build_dir": build_dir or "temporary"})


def release_builds() -> bool:
    """Forget this process's compiled circuit (reset Brian2's standalone device, delete a
    temporary build folder).  Returns False, leaving it, while a point is running."""
    if not _BUILD_LOCK.acquire(blocking=False):
        return False
    try:
        _release()
    finally:
        _BUILD_LOCK.release()
    return True


def _release() -> None:
    for build in list(_BUILDS.values()):
        build.device.reinit()
        if build.temporary:
            shutil.rmtree(build.directory, ignore_errors=True)
    _BUILDS.clear()


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
