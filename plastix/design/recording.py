"""How long must a spike-only recording be for a Hebbian verdict on inferred weights?

:func:`recording_length` answers it for a user's circuit size by simulation: it
simulates ``n_replicates`` recordings of the pair-STDP LIF circuit
(:func:`plastix.circuits.stdp_lif.simulate_stdp`: ``n_pre`` Poisson inputs at
``rate`` onto ``n_post`` conductance-based LIF cells, weights bounded by
``g_max``), removes their weights, cuts each to every candidate length, runs
:func:`plastix.estimate.infer.estimate_from_spikes` (weights inferred from the
spikes, ``stdp`` kernel, cross-fitted, gated by the inference noise) and counts
the ``hebbian`` verdicts.  The *power* at a length is that fraction, with a
Clopper–Pearson 95 % interval; the answer is the shortest length whose power
reaches ``power`` (0.8 by default), or none within the lengths tried.

Each replicate is simulated once, for the longest length, and cut (the first
``L`` seconds), so the lengths share their replicates, as a longer recording of
the same preparation would.  A verdict needs at least 10 weight intervals: use
``window`` at most ``L / 11`` for the shortest length ``L``.  Times in seconds,
rates in Hz, ``g_max`` in units of the leak conductance.

Cost: one Brian2 simulation per replicate (``cpp_standalone``: about 30 s per
100 s of a 1000 → 1 circuit on one free core) and one inference and estimate per
replicate and length.  Each replicate is one task of the executor seam
(:mod:`plastix._util.executor`: here, or on a Dask cluster with ``client=``), its
seed drawn before anything runs; with ``resume_dir=`` each finished replicate's
verdicts are written there at once (:mod:`plastix.design.resume`), so a killed run
loses only the replicates in flight and a rerun with the same settings and seed
measures only the rest, to the same result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.executor import Task, imported_on_workers, run_tasks
from plastix._util.rng import resolve_rng
from plastix._util.validate import check_int, check_number, check_positive
from plastix.design.resume import load_checkpoint, resume_folder, save_checkpoint

__all__ = ["recording_length", "replicate_verdicts", "power_table", "write_recording_length",
           "strip_weights", "truncate", "spike_verdict", "DEFAULT_LENGTHS"]

DEFAULT_LENGTHS = (200.0, 400.0, 600.0, 800.0)
"""Candidate recording lengths of :func:`recording_length`, in seconds."""
MIN_INTERVALS = 10
"""Fewest weight intervals the estimator needs for a verdict."""
_ESTIMATE = {"decay": 0.0, "n_boot": 200, "n_null": 99}
"""Estimator options of every verdict (the benchmark's; ``n_null = 99`` allows p = 0.02)."""


def strip_weights(record: xr.Dataset) -> xr.Dataset:
    """``record`` with its weights removed (NaN: not measured)."""
    out = record.copy()
    out["weight"] = out["weight"] * np.nan
    return out


def truncate(record: xr.Dataset, length: float) -> xr.Dataset:
    """The first ``length`` seconds of a one-segment record (samples, weights, spikes)."""
    out = record.isel(time=np.flatnonzero(record["time"].values < length),
                      weight_time=np.flatnonzero(record["weight_time"].values <= length))
    for r in ("pre", "post"):
        keep = np.flatnonzero(out[f"{r}_spike_time"].values < length)
        out = out.isel({f"{r}_spike": keep})
    return out


def spike_verdict(record: xr.Dataset, window: float, seed: int, *, method: str = "ccg",
                  decay: float = 0.0) -> dict[str, Any]:
    """The Hebbian verdict of ``record``'s spikes alone (its weights are ignored).

    :func:`plastix.estimate.infer.estimate_from_spikes` with the ``stdp`` kernel,
    weights inferred over windows of ``window`` seconds by ``method``, the given
    ``decay`` (1/s; 0, as for the STDP circuits, by default), 200 bootstrap and 99
    null replicates, seeded by ``seed``.

    Returns
    -------
    dict
        ``verdict``, ``alignment``, its 95 % interval ``ci``, the null ``p`` and
        the inference gate's ``inference_p``.
    """
    from plastix.estimate.infer import estimate_from_spikes

    est = estimate_from_spikes(strip_weights(record), method=method, infer={"window": window},
                               rng=seed, **{**_ESTIMATE, "decay": float(decay)})
    return {"verdict": est.verdict_, "alignment": float(est.alignment_),
            "ci": [float(v) for v in est.ci_], "p": float(est.p_value_),
            "inference_p": float(est.inference_test_[2]), "reason": est.verdict_reason_}


MAX_LENGTH_S = 7 * 86400.0
"""Longest recording length (s) a design simulates."""


def _check(lengths: Sequence[float], window: float, power: float, method: str, target: str
           ) -> np.ndarray:
    """The sorted lengths, every option checked before the first (slow) simulation."""
    from plastix.circuits.lif import TARGETS
    from plastix.estimate.infer import METHODS

    check_choice("method", method, METHODS)
    check_choice("target", target, TARGETS)
    ls = np.sort(np.asarray([check_positive("lengths", v, "s") for v in lengths], float))
    if ls.size == 0:
        raise ValueError("`lengths` must name at least one recording length, in seconds.")
    if ls[-1] > MAX_LENGTH_S:
        raise ValueError(f"`lengths` must be at most {MAX_LENGTH_S:g} s (a week of recording, "
                         f"simulated at every step); got {ls[-1]:g} s. Give the lengths in "
                         "seconds, e.g. 400,800,1600.")
    check_positive("window", window, "s")
    if ls[0] / window < MIN_INTERVALS + 1:
        raise ValueError(f"`window` ({window:g} s) leaves the shortest length ({ls[0]:g} s) "
                         f"fewer than {MIN_INTERVALS} weight intervals, too few for a verdict; "
                         f"use window <= {ls[0] / (MIN_INTERVALS + 1):g} s or longer lengths.")
    check_number("power", power, low=0.0, high=1.0)
    return ls


def recording_length(n_pre: int = 1000, n_post: int = 1, *, rate: float = 15.0,
                     g_max: float | None = None, lengths: Sequence[float] = DEFAULT_LENGTHS,
                     n_replicates: int = 10, window: float = 16.0, power: float = 0.8,
                     method: str = "ccg", target: str = "cpp_standalone",
                     config: Any = None, rng: Any = None, progress: bool = True,
                     resume_dir: Any = None, client: Any = None) -> xr.Dataset:
    """Power of the Hebbian verdict on inferred weights at each recording length.

    Parameters
    ----------
    n_pre, n_post : int
        Inputs and LIF cells of the circuit (all-to-all).
    rate : float
        Input rate, in Hz.
    g_max : float, optional
        Upper weight bound, in units of the leak conductance; default
        :func:`default_g_max`, ``10 / n_pre`` (0.01 for 1000 inputs, 0.1 for 100), so
        that the cells get the same drive whatever ``n_pre``.
    lengths : sequence of float
        Candidate recording lengths, in seconds.
    n_replicates : int
        Simulated recordings (the power's resolution is ``1 / n_replicates``).
    window : float
        Inference window, in seconds (default 16 s: 11 intervals in 200 s).
    power : float
        Target power (default 0.8).
    method : {"ccg", "glm"}
        Inference method.
    target : str
        Brian2 code generation target of the simulations.
    config : STDPConfig, optional
        Further circuit fields (``dt``, ``a_plus``, ...); ``n_pre``, ``n_post``,
        ``rate``, ``g_max`` and the duration are set from the arguments.
    rng : int, Generator or None
        Seeds the replicates: ``n_rep`` seeds drawn at once (``Generator.integers``),
        so with the same int ``rng`` the first replicates of a larger design are those
        of a smaller one (and its saved replicates are reused).
    progress : bool
        Show a progress bar (replicates finished).
    resume_dir : str or Path, optional
        Folder keeping each finished replicate (one subfolder per configuration and
        seed, :func:`plastix.design.resume.resume_folder`); a rerun reads them back.
        Pass an int ``rng`` to resume: fresh entropy shares nothing with a rerun.
    client : distributed.Client, optional
        Simulate the replicates on this Dask cluster, one task each; the same numbers.

    Returns
    -------
    xarray.Dataset
        ``verdict``, ``alignment``, ``ci_low``, ``ci_high``, ``p_value``,
        ``inference_p`` over ``(replicate, length)``; ``power``, ``power_low``,
        ``power_high`` (Clopper–Pearson 95 %) over ``length``; ``attrs``:
        ``shortest_length`` (s; NaN when no length reaches ``power``),
        ``target_power``, ``window``, ``method``, the circuit (JSON) and the seeds.
    """
    import json

    from scipy.stats import binomtest
    from tqdm.auto import tqdm

    from plastix.circuits.stdp_lif import STDPConfig

    ls = _check(lengths, window, power, method, target)
    n_rep = check_int("n_replicates", n_replicates, low=1)
    base = STDPConfig() if config is None else config
    if g_max is None:
        g_max = default_g_max(check_int("n_pre", n_pre))
    cfg = base.replace(n_pre=n_pre, n_post=n_post, rate=rate, g_max=g_max,
                       duration=float(ls[-1]))
    seeds = resolve_rng(rng).integers(0, 2**31 - 1, n_rep)
    folder = None
    if resume_dir is not None:
        folder = resume_folder(resume_dir, {
            "kind": "recording_length", "circuit": cfg.to_dict(), "lengths": ls.tolist(),
            "window": float(window), "method": method, "target": target,
            "estimate": _ESTIMATE})
    rows: dict[str, list] = {}
    names = [f"replicate-{i}-{seed}" for i, seed in enumerate(seeds.tolist())]
    tasks = []
    for name, seed in zip(names, seeds.tolist(), strict=True):
        saved = None if folder is None else load_checkpoint(folder, name)
        if saved is not None:
            rows[name] = saved
        else:
            tasks.append(Task(name, replicate_verdicts,
                              (cfg, seed, tuple(ls.tolist()), float(window), method, target),
                              label=f"the replicate with seed {seed}"))

    def save(task: Task, verdicts: list) -> None:
        if folder is not None:
            save_checkpoint(folder, task.key, verdicts)
        rows[task.key] = verdicts

    bar = tqdm(total=n_rep, initial=n_rep - len(tasks), desc="recordings", unit="replicate",
               disable=not progress)
    try:
        with imported_on_workers(client, "brian2"):  # Brian2: a worker's main thread only
            run_tasks(tasks, save, client=client, bar=bar)
    finally:
        bar.close()
    rows = [rows[name] for name in names]
    hebb = np.array([[r["verdict"] == "hebbian" for r in row] for row in rows])
    k = hebb.sum(0)
    ci = [binomtest(int(x), n_rep).proportion_ci(0.95) for x in k]
    dims = ("replicate", "length")

    def grid(key: str, f: Any = float) -> tuple:
        return dims, np.array([[f(r[key]) for r in row] for row in rows])

    reached = ls[k / n_rep >= power]
    return xr.Dataset(
        {"verdict": grid("verdict", str), "alignment": grid("alignment"),
         "ci_low": (dims, np.array([[r["ci"][0] for r in row] for row in rows])),
         "ci_high": (dims, np.array([[r["ci"][1] for r in row] for row in rows])),
         "p_value": grid("p"), "inference_p": grid("inference_p"),
         "power": ("length", k / n_rep), "power_low": ("length", [c.low for c in ci]),
         "power_high": ("length", [c.high for c in ci])},
        coords={"length": ("length", ls, {"units": "s"}), "replicate": np.arange(n_rep)},
        attrs={"shortest_length": float(reached[0]) if reached.size else math.nan,
               "target_power": float(power), "window": float(window), "method": method,
               "circuit": json.dumps(cfg.to_dict()), "seeds": seeds.tolist()})


def replicate_verdicts(cfg: Any, seed: int, lengths: Sequence[float], window: float,
                       method: str, target: str, *, tick: Any = None) -> list[dict[str, Any]]:
    """One task of :func:`recording_length`: simulate one recording of ``cfg`` (seed
    ``seed``, for the longest length) and the verdict of each of its first ``lengths``
    seconds (:func:`spike_verdict`)."""
    from plastix.circuits.stdp_lif import simulate_stdp

    rec = simulate_stdp(cfg, rng=seed, target=target)
    check_post_fires(rec, cfg)
    out = [spike_verdict(truncate(rec, float(v)), window, seed, method=method)
           for v in lengths]
    if tick is not None:
        tick(1)
    return out


def default_g_max(n_pre: int) -> float:
    """The weight bound (leak conductances) that gives ``n_pre`` inputs the drive that
    ``g_max = 0.01`` gives 1000: ``10 / n_pre`` (the total conductance at the bound)."""
    return 10.0 / n_pre


def check_post_fires(rec: xr.Dataset, cfg: Any) -> None:
    """Refuse, in the circuit's own terms, a simulated recording whose cells never fire.

    Weights are inferred from spikes, so a silent circuit can give no verdict; the
    cause is the circuit's input drive (``n_pre`` inputs at ``rate`` Hz, weights up
    to ``g_max``), which the caller set, not the record.
    """
    if int(rec.sizes.get("post_spike", 0)) > 0:
        return
    raise ValueError(
        f"the simulated circuit's {cfg.n_post} LIF cell{'s' if cfg.n_post != 1 else ''} never "
        f"fired in {cfg.duration:g} s: {cfg.n_pre} inputs at {cfg.rate:g} Hz with weights up "
        f"to g_max {cfg.g_max:g} are too weak to drive them, and weights are inferred from "
        f"spikes; raise `g_max` (--g-max, e.g. {default_g_max(cfg.n_pre):.3g} = 10/n_pre, "
        "the drive of 0.01 for 1000 inputs) or `rate` (--rate).")


def write_recording_length(ds: xr.Dataset, folder: Any) -> dict[str, Any]:
    """Write ``recording_length.nc`` (every verdict) and ``recording_length.csv`` (power
    per length) into ``folder``, atomically; returns their paths."""
    from pathlib import Path

    from plastix._util.io import atomic_write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = power_table(ds)
    return {"nc": atomic_write(folder / "recording_length.nc", ds.to_netcdf),
            "csv": atomic_write(folder / "recording_length.csv",
                                lambda tmp: table.to_csv(tmp, index=False))}


def power_table(ds: xr.Dataset) -> Any:
    """One row per length: ``length_s``, ``hebbian`` (count), ``replicates``, ``power`` and
    its Clopper–Pearson 95 % interval, ``median_alignment``."""
    import pandas as pd

    n = ds.sizes["replicate"]
    return pd.DataFrame({
        "length_s": ds["length"].values,
        "hebbian": (ds["verdict"].values == "hebbian").sum(0),
        "replicates": n, "power": ds["power"].values, "power_low": ds["power_low"].values,
        "power_high": ds["power_high"].values,
        "median_alignment": np.median(ds["alignment"].values, 0)})
