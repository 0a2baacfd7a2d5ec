"""Public entry points: :func:`train`, :func:`sweep`, :func:`record_layer`, :func:`final_alignment`.

Result layout (one run, ``train``)
----------------------------------
=======================  ===========================  ===================================
variable                 dims                         meaning
=======================  ===========================  ===================================
``alignment``            (step, layer, signal)        cosine of the signal with ``H``
``alignment_per_post``   (step, signal, unit)         row-wise cosine for one layer
                                                      (only when ``per_post_layer`` is
                                                      set; its attr ``layer`` says which)
``loss``                 (step,)                      training-batch loss at the step
``weight_norm``          (step, layer)                ``‖W‖_F`` of the weights the step
                                                      is taken from (after parameter noise)
``weight_alignment``     (step, layer)                ``cos(W, H)`` of those weights: the
                                                      emergent prediction of SPEC §6
``val_loss``             (epoch,)                     validation loss; epoch 0 = init
``stationarity_gap``     (epoch, layer)               ``‖E[g] − γDW‖/‖γDW‖`` over the
                                                      epoch's steps; NaN for γ = 0 and
                                                      at epoch 0
=======================  ===========================  ===================================

Coordinates: ``step`` (0-based index of the recorded optimisation steps; the
alignment of step ``k`` is measured on the batch of step ``k`` before its
update), ``layer`` (1-based; layer 1 is the first weight matrix), ``signal``
(``"gradient"``, ``"rule"``, ``"update"``, see :mod:`plastix.ann.engine`),
``epoch`` (0 … epochs).  ``E[g]`` in the stationarity gap is the epoch mean of
the signal decay balances (the loss gradient for SGD, momentum and Adam, the
rule's clipped signal otherwise) and ``W`` the epoch mean of the weights the
steps were taken from.  Attributes: ``config`` (JSON of
:meth:`TrainConfig.to_dict`), ``seed``, ``n_train``, ``n_val``,
``steps_per_epoch``, ``source``.

Sign convention: ``alignment > 0`` is Hebbian, ``< 0`` anti-Hebbian, e.g.

>>> ds = train(TrainConfig(epochs=1, n_train=512, batch_size=256), rng=0)  # doctest: +SKIP
>>> float(ds.alignment.sel(layer=2, signal="gradient")[-1])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice, did_you_mean
from plastix._util.executor import DEFAULT_RETRIES, Task, run_tasks
from plastix._util.index import read_index, update_index
from plastix._util.io import atomic_write, remove_with_temps, write_netcdf_file
from plastix._util.rng import child_seed, resolve_rng
from plastix._util.threads import torch_threads
from plastix._util.validate import check_int
from plastix.ann.config import TrainConfig

__all__ = ["train", "sweep", "record_layer", "final_alignment", "run_seed"]

_SIGNALS = ("gradient", "rule", "update")


def _check_config(config: Any) -> TrainConfig:
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a plastix.ann.TrainConfig; got "
                        f"{type(config).__name__}. Build one with TrainConfig(task=..., ...).")
    return config


def resolve_device(device: Any):
    """The torch device of ``device`` (see :func:`plastix.ann.loop.resolve_device`)."""
    from plastix.ann.loop import resolve_device as resolve

    return resolve(device)


CPU_MAX_MODELS, CUDA_MAX_MODELS = 10, 128


def default_max_models(device: Any) -> int:
    """The largest batch :func:`sweep` trains together by default on ``device``.

    On the CPU, 10: small batches give threads and Dask workers several tasks at little
    cost (the Fig. 4 grid, 2 epochs, 2 threads: 12.8 s in batches of 10 against 10.8 s
    in two halves).  On CUDA, 128, which trains the 121-model Fig. 4 grid as one batch:
    a GPU is bound by kernel launches at these sizes, and on an H200 (2026-12-04,
    ``python benchmarks/sweep.py --device cuda``) batches of 10 took 50.5 s for the
    50-epoch grid, one batch 5.3 s.
    """
    return CUDA_MAX_MODELS if str(device).startswith("cuda") else CPU_MAX_MODELS


def run_seed(rng: Any) -> int:
    """The integer seed of a run: an int is used as is, anything else draws one.

    ``train(config, rng=ds.attrs["seed"])`` therefore reruns a run exactly.
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"`rng` must be a non-negative int seed; got {rng}.")
        return int(rng)
    return child_seed(resolve_rng(rng))


def _run_datasets(configs: Sequence[TrainConfig], seeds: Sequence[int], res: dict[str, Any]
                  ) -> list[xr.Dataset]:
    """Split an engine result into one Dataset per model."""
    n_layers = res["alignment"].shape[2]
    e = res["val_loss"].shape[1]
    out = []
    for j, (cfg, seed) in enumerate(zip(configs, seeds, strict=True)):
        coords = {"step": ("step", res["steps"].astype(np.int64)),
                  "layer": ("layer", np.arange(1, n_layers + 1)),
                  "signal": ("signal", list(_SIGNALS)),
                  "epoch": ("epoch", np.arange(e))}
        dv: dict[str, Any] = {
            "alignment": (("step", "layer", "signal"), res["alignment"][j],
                          {"long_name": "cosine alignment of the signal with the Hebbian "
                                        "term (>0 Hebbian)", "units": "1"}),
            "weight_alignment": (("step", "layer"), res["weight_alignment"][j],
                                 {"long_name": "cos(W, H): alignment of the weights the step "
                                               "is taken from with the Hebbian term (the "
                                               "emergent prediction)", "units": "1"}),
            "loss": (("step",), res["loss"][j], {"long_name": "training batch loss"}),
            "weight_norm": (("step", "layer"), res["weight_norm"][j],
                            {"long_name": "Frobenius norm of the weights the step is taken "
                                          "from (after parameter noise)"}),
            "val_loss": (("epoch",), res["val_loss"][j],
                         {"long_name": "validation loss after the epoch (0 = init)"}),
            "stationarity_gap": (("epoch", "layer"), res["stationarity_gap"][j],
                                 {"long_name": "||E[g] - gamma D W|| / ||gamma D W|| over the "
                                               "epoch"}),
        }
        if res["alignment_per_post"] is not None:
            pp = res["alignment_per_post"][j]
            coords["unit"] = ("unit", np.arange(pp.shape[-1]))
            dv["alignment_per_post"] = (("step", "signal", "unit"), pp,
                                        {"layer": int(res["per_post_layer"]),
                                         "long_name": "row-wise alignment per postsynaptic "
                                                      "unit of layer `layer`"})
        attrs = {"config": cfg.to_json(), "seed": int(seed), "n_train": res["n_train"],
                 "n_val": res["n_val"], "steps_per_epoch": res["steps_per_epoch"],
                 "source": res["source"]}
        out.append(xr.Dataset(dv, coords=coords, attrs=attrs))
    return out


def train(config: TrainConfig, *, rng: Any = None, progress: bool = False,
          threads: int = 1, device: str = "cpu") -> xr.Dataset:
    """Train one network and record its alignment with the Hebbian term at every step.

    Parameters
    ----------
    config : TrainConfig
        The run.
    rng : int, numpy Generator or None
        An int is the run's seed itself (stored in ``attrs["seed"]``); a Generator
        or None draws the seed.  Same seed, same numbers.
    progress : bool
        Show a tqdm progress bar.
    threads : int
        torch intra-op threads for this call (restored afterwards).
    device : {"auto", "cpu", "cuda"}
        Where to train (``"auto"``: CUDA when present); the numbers equal the CPU's to
        float32 tolerance.  ``"cuda"`` without CUDA raises one line.

    Returns
    -------
    xarray.Dataset
        See the module docstring for variables, dims and attributes.
        ``alignment > 0`` is Hebbian, ``< 0`` anti-Hebbian.

    Examples
    --------
    >>> ds = train(TrainConfig(epochs=2, n_train=1024, weight_decay=5e-3), rng=1)  # doctest: +SKIP
    >>> ds.alignment.sel(signal="gradient", layer=2).mean()  # doctest: +SKIP
    """
    config = _check_config(config)
    threads = check_int("threads", threads, low=1)
    dev = resolve_device(device)
    seed = run_seed(rng)
    with torch_threads(threads):
        return _train_many([config], [seed], progress=progress, device=dev)[0]


def _n_steps(config: TrainConfig) -> int:
    return (config.n_train // config.batch_size) * config.epochs


def _train_many(configs, seeds, *, progress: bool, bar=None, capture=None, checkpoint=None,
                device="cpu"):
    from plastix.ann.engine import run_group

    own = None
    if bar is None and progress:
        from tqdm.auto import tqdm

        own = bar = tqdm(total=_n_steps(configs[0]), desc="train", unit="step")
    try:
        res = run_group(configs, seeds, progress=None if bar is None else bar.update,
                        capture=capture, checkpoint=checkpoint, device=device)
    finally:
        if own is not None:
            own.close()
    ds = _run_datasets(configs, seeds, res)
    if capture is not None:
        return ds, res
    return ds


# ------------------------------------------------------------------------ sweep


def _check_grid(grid: Any) -> dict[str, list]:
    if not isinstance(grid, Mapping):
        raise TypeError(f"`grid` must be a mapping from TrainConfig field to a sequence of "
                        f"values; got {type(grid).__name__}.")
    names = [f.name for f in fields(TrainConfig)]
    out = {}
    for key, values in grid.items():
        if key not in names or key == "seed":
            raise ValueError(f"`grid` key {key!r} is not a TrainConfig field; valid fields are "
                             f"{', '.join(names)} (use n_seeds= for seeds)."
                             + did_you_mean(key, names))
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) and not \
                isinstance(values, np.ndarray):
            raise TypeError(f"`grid[{key!r}]` must be a sequence of values; got "
                            f"{type(values).__name__} {values!r}. Wrap a single value in a "
                            "list.")
        values = list(values)
        if not values:
            raise ValueError(f"`grid[{key!r}]` must hold at least one value; got an empty "
                             "sequence.")
        out[key] = [v.item() if isinstance(v, np.generic) else v for v in values]
    return out


def _coord_value(v: Any) -> Any:
    return str(tuple(v)) if isinstance(v, (tuple, list)) else ("None" if v is None else v)


def _run_hash(cfg: TrainConfig, seed: int) -> str:
    return hashlib.sha1(f"{cfg.to_json()}|{int(seed)}".encode()).hexdigest()[:20]


def _read_index(out: Path) -> dict[str, Any]:
    return {"runs": {}, "seeds": {}, **read_index(out)}


def _update_index(out: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Apply ``change`` to ``out``'s index under the folder's lock
    (:func:`plastix._util.index.update_index`): concurrent sweeps lose no entry."""
    def fill(index):
        for key in ("runs", "seeds", "batches"):
            index.setdefault(key, {})
        change(index)

    return update_index(out, fill)


def _save_run(out: Path, h: str, ds: xr.Dataset) -> str:
    name = f"run-{h}.nc"
    atomic_write(out / name, lambda p: write_netcdf_file(ds, p))
    return name


def _load_run(out: Path, name: str) -> xr.Dataset | None:
    f = out / name
    if not f.exists():
        return None
    with xr.open_dataset(f, engine="h5netcdf") as src:
        return src.load()


def sweep(
    config: TrainConfig,
    grid: Mapping[str, Sequence],
    *,
    n_seeds: int = 1,
    rng: Any = None,
    out: str | Path | None = None,
    progress: bool = True,
    threads: int = 1,
    max_models: int | None = None,
    checkpoint_every: int = 5,
    device: str = "cpu",
    client: Any = None,
    retries: int = DEFAULT_RETRIES,
) -> xr.Dataset:
    """Train a grid of configurations × seeds as batched tensor programs.

    Configurations that share task, rule and architecture (they may differ in
    ``lr``, ``weight_decay``, ``noise`` and seed) train together in batches of at most
    ``max_models`` models; each model equals :func:`train` of its configuration with
    ``rng=`` its seed (``result.seed_value``), up to float32 rounding.  The batches are
    the sweep's tasks: they are cut from the sweep alone (each architecture group into
    ``ceil(n / max_models)`` nearly equal runs of consecutive models), and every run's
    seed is fixed before any task starts, so the result is bit-identical whatever
    ``threads``, ``client`` or number of workers.

    Parameters
    ----------
    config : TrainConfig
        The base configuration; ``grid`` overrides its fields.
    grid : mapping of field name to sequence
        The Cartesian product of these values is trained (each key becomes a dim).
    n_seeds : int
        Seeds per cell (dim ``seed``; run seeds in ``seed_value``).  Seed ``i`` is the
        same for every cell (common random numbers: same teacher, data and init).
    rng : int, Generator or None
        Master seed; run seeds are drawn from it.
    out : path, optional
        Folder for incremental results: one NetCDF per finished run (atomic) plus
        ``index.json`` (updated atomically under a file lock, so sweeps into one
        folder lose no entry), and (in this process) a checkpoint of every batch in
        training.  Results are written here, by this process, as tasks finish, also
        with a ``client``.  A rerun loads finished runs instead of training them (they
        are never resubmitted) and resumes checkpointed batches (with ``rng=None`` it
        reuses the seeds stored for the same sweep); the result equals an
        uninterrupted sweep's.  Ctrl-C stops with one line saying what was saved.
    progress : bool
        tqdm progress bar over all model-steps to train (on a cluster it moves as
        tasks finish).
    threads : int
        Without ``client``: batches trained at the same time, one per thread of this
        process, each on one torch intra-op thread (the caller's thread count is
        restored afterwards).
    max_models : int, optional
        Largest batch of models trained together: the unit of work of a thread or a
        Dask worker (and the memory bound).  Default (``None``): see
        :func:`default_max_models` (10 on the CPU, 128 on CUDA).
    checkpoint_every : int
        With ``out`` and no ``client``: epochs between checkpoints of a batch in
        training (model, optimiser and RNG state, the records so far); a kill loses at
        most this many epochs.
    client : distributed.Client, optional
        Train the batches on this Dask cluster (one task per batch, one torch thread
        per task); see :mod:`plastix._util.executor`.  A worker killed mid-task costs
        only that task.
    retries : int
        With ``client``: reruns of a task that raised before the sweep reports it.
    device : {"auto", "cpu", "cuda"}
        Where to train (``"auto"``: CUDA when present).  On CUDA each batch trains
        whole on the device and only the records come back; the numbers equal the
        CPU's to float32 tolerance.  Larger batches (``max_models``) use a GPU better.

    Returns
    -------
    xarray.Dataset
        The variables of :func:`train` with leading dims ``(*grid, seed)``; grid
        values that are tuples become strings in coordinates.
    """
    config = _check_config(config)
    g = _check_grid(grid)
    n_seeds = check_int("n_seeds", n_seeds, low=1)
    threads = check_int("threads", threads, low=1)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, low=1)
    dev = resolve_device(device)
    max_models = check_int("max_models", default_max_models(dev) if max_models is None
                           else max_models, low=1)
    keys = list(g)
    cells = list(itertools.product(*g.values()))
    cfgs = [config.replace(**dict(zip(keys, c, strict=True))) for c in cells]
    out_dir = Path(out) if out is not None else None
    seeds = _sweep_seeds(config, g, n_seeds, rng, out_dir)
    results, todo = _load_finished(cfgs, seeds, out_dir)
    every = checkpoint_every if client is None else None
    tasks = [_batch_task(cfgs, seeds, b, out_dir, every, g, str(dev))
             for b in _plan_batches(cfgs, seeds, todo, out_dir, max_models)]
    bar = None
    if progress and tasks:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(t.size for t in tasks), desc="sweep", unit="model-step")

    def finish(task, dss):  # saved here, as each task finishes
        batch, ckpt_name = task.args[3], task.args[2]
        saved = {}
        for (ci, si), ds in zip(batch, dss, strict=True):
            results[(ci, si)] = ds
            if out_dir is not None:
                h = _run_hash(cfgs[ci], seeds[si])
                saved[h] = _save_run(out_dir, h, ds)
        if out_dir is not None:
            def change(index):
                index["runs"].update(saved)
                index["batches"].pop(Path(ckpt_name).name if ckpt_name else None, None)

            _update_index(out_dir, change)
            if ckpt_name:  # with a killed save's temporary files
                remove_with_temps(ckpt_name)

    try:
        with torch_threads(1) if client is None else contextlib.nullcontext():
            run_tasks(tasks, finish, client=client, threads=threads, retries=retries, bar=bar)
    except KeyboardInterrupt:
        msg = _interrupted(out_dir, len(results), len(cfgs) * len(seeds), every)
        print(msg, file=sys.stderr)
        raise KeyboardInterrupt(msg) from None
    finally:
        if bar is not None:
            bar.close()
    return _assemble(config, g, seeds, cfgs, results)


def _batch_task(cfgs, seeds, batch, out_dir, every, g, device="cpu") -> Task:
    """The task of one batch, keyed by its configs and seeds (with ``every``: checkpointed
    in ``out_dir``, registered in the index)."""
    bc, bs = [cfgs[ci] for ci, _ in batch], [seeds[si] for _, si in batch]
    key = hashlib.sha1(json.dumps([[c.to_json() for c in bc], [int(s) for s in bs]])
                       .encode()).hexdigest()
    ckpt = None
    if out_dir is not None and every is not None:
        ckpt = str(out_dir / f"batch-{key[:20]}.ckpt")
        hashes = [_run_hash(c, s) for c, s in zip(bc, bs, strict=True)]
        _update_index(out_dir, lambda ix: ix["batches"].__setitem__(Path(ckpt).name, hashes))
    ci, si = batch[0]
    first = ", ".join(f"{k}={_coord_value(getattr(cfgs[ci], k))}" for k in g)
    return Task(key=f"sweep-{key[:20]}", fn=_train_task, args=(bc, bs, ckpt, batch, every, device),
                size=_n_steps(bc[0]) * len(batch),
                label=f"sweep batch of {len(batch)} runs from ({first}, seed {si})")


def _train_task(configs, seeds, checkpoint, batch, every, device="cpu", *,
                tick=None) -> list[xr.Dataset]:
    """One task of :func:`sweep`: train ``configs`` × ``seeds`` as one batch on one torch
    thread (restored afterwards) and return one Dataset per model.

    ``checkpoint`` (a path, or None) and ``every`` (epochs) checkpoint the batch;
    ``batch`` (its ``(cell, seed)`` indices) travels with the task for the caller;
    ``tick(n)`` receives progress in model-steps; ``device`` (a name) is where it trains.
    """
    ckpt = None
    if checkpoint is not None:
        from plastix.ann.loop import Checkpoint

        ckpt = Checkpoint(checkpoint, every=every, key=Checkpoint.key_for(configs, seeds))
    bar = None if tick is None else _ModelSteps(tick, len(configs))
    with torch_threads(1):
        return _train_many(configs, seeds, progress=False, bar=bar, checkpoint=ckpt,
                           device=resolve_device(device))


def _sweep_seeds(config, g, n_seeds, rng, out_dir) -> list[int]:
    """The run seeds: drawn from ``rng``, or (``rng=None``) those stored for this sweep."""
    signature = hashlib.sha1(json.dumps([config.to_json(), {k: [_coord_value(v) for v in vs]
                                                            for k, vs in g.items()},
                                         int(n_seeds)], sort_keys=True).encode()).hexdigest()
    index = _read_index(out_dir) if out_dir is not None else {"runs": {}, "seeds": {}}
    if rng is None and signature in index["seeds"]:
        seeds = [int(s) for s in index["seeds"][signature]]
    else:
        gen = resolve_rng(rng)
        seeds = [child_seed(gen) for _ in range(int(n_seeds))]
    if out_dir is not None:
        _update_index(out_dir, lambda ix: ix["seeds"].__setitem__(signature, seeds))
    return seeds


def _load_finished(cfgs, seeds, out_dir):
    """Finished runs read from ``out_dir`` and the ``(cell, seed)`` pairs still to train."""
    index = _read_index(out_dir) if out_dir is not None else {"runs": {}}
    results: dict[tuple[int, int], xr.Dataset] = {}
    todo = []
    for ci in range(len(cfgs)):
        for si in range(len(seeds)):
            entry = index["runs"].get(_run_hash(cfgs[ci], seeds[si]))
            ds = _load_run(out_dir, entry) if (out_dir is not None and entry) else None
            if ds is not None:
                results[(ci, si)] = ds
            else:
                todo.append((ci, si))
    return results, todo


def _plan_batches(cfgs, seeds, todo, out_dir, max_models) -> list[list]:
    """Batches to train: first those with a checkpoint in ``out_dir`` (as they were, so
    they resume), then the other runs still to train, batched as the whole sweep is cut:
    each architecture group (all its ``(cell, seed)`` runs, in grid order) into
    ``ceil(n / max_models)`` nearly equal contiguous batches.  The cut depends on the sweep
    alone, so every backend and worker count trains the same batches."""
    batches = []
    left = set(todo)
    if out_dir is not None:
        by_hash = {_run_hash(cfgs[ci], seeds[si]): (ci, si) for ci, si in todo}
        for name, hashes in _read_index(out_dir).get("batches", {}).items():
            if (out_dir / name).exists() and len(set(hashes)) == len(hashes) and \
                    all(h in by_hash and by_hash[h] in left for h in hashes):
                batches.append([by_hash[h] for h in hashes])
                left -= set(batches[-1])
    groups: dict[str, list[tuple[int, int]]] = {}
    for ci in range(len(cfgs)):
        for si in range(len(seeds)):
            groups.setdefault(cfgs[ci].group_key(), []).append((ci, si))
    for items in groups.values():
        for part in _split(items, -(-len(items) // max_models)):
            keep = [item for item in part if item in left]
            if keep:
                batches.append(keep)
    return batches


def _interrupted(out_dir, n_done: int, n_runs: int, every: int | None) -> str:
    """The one line a sweep stopped by Ctrl-C prints."""
    if out_dir is None:
        return (f"sweep interrupted: {n_done} of {n_runs} runs finished, none saved (no `out` "
                "folder); pass out= to make a sweep resumable.")
    kept = (f"unfinished batches checkpointed every {every} epochs" if every is not None
            else "unfinished batches (trained on the cluster) to train again")
    return (f"sweep interrupted: {n_done} of {n_runs} runs saved in {out_dir}, {kept}; rerun "
            "the same sweep with the same rng and out to resume.")


def _split(items: list, parts: int) -> list[list]:
    """``items`` in at most ``parts`` contiguous, nearly equal, non-empty pieces."""
    parts = min(parts, len(items))
    bounds = np.linspace(0, len(items), parts + 1).round().astype(int)
    return [items[a:b] for a, b in itertools.pairwise(bounds)]


class _ModelSteps:
    """The engine's progress callback (steps) as model-steps for ``tick``."""

    def __init__(self, tick: Callable[[int], None], n_models: int) -> None:
        self.tick, self.n_models = tick, n_models

    def update(self, n_steps: int) -> None:
        self.tick(n_steps * self.n_models)


def _assemble(config, g, seeds, cfgs, results) -> xr.Dataset:
    keys = list(g)
    per_cell = []
    for ci in range(len(cfgs)):
        per_seed = [results[(ci, si)].drop_attrs() for si in range(len(seeds))]
        per_cell.append(xr.concat(per_seed, dim="seed", join="outer"))
    combined = xr.concat(per_cell, dim="_cell", join="outer")
    shape = [len(v) for v in g.values()]
    out = {}
    for name, var in combined.data_vars.items():
        arr = var.values.reshape(*shape, *var.shape[1:])
        out[name] = ((*keys, *var.dims[1:]), arr, var.attrs)
    coords = {k: (k, [_coord_value(v) for v in vs]) for k, vs in g.items()}
    coords.update({c: combined[c].values for c in combined.coords if c != "_cell"})
    coords["seed"] = ("seed", np.arange(len(seeds)))
    ds = xr.Dataset(out, coords=coords)
    ds["seed_value"] = ("seed", np.asarray(seeds, dtype=np.int64))
    ds.attrs = {"config": config.to_json(),
                "grid": json.dumps({k: [_coord_value(v) for v in vs] for k, vs in g.items()}),
                "n_seeds": len(seeds)}
    spe = {int(r.attrs["steps_per_epoch"]) for r in results.values()
           if "steps_per_epoch" in r.attrs}
    if len(spe) == 1:  # the same for every cell (unless the grid varies n_train or batch)
        ds.attrs["steps_per_epoch"] = spe.pop()
    return ds


# ------------------------------------------------------------------- record_layer


def record_layer(config: TrainConfig, *, layer: int, steps: slice | tuple[int, int],
                 rng: Any = None, threads: int = 1, device: str = "cpu") -> xr.Dataset:
    """Train one network and return a plastix record of one layer over a window of steps.

    The record (:func:`plastix.record.make_record`, ``time_units="step"``) holds, for
    steps ``start <= k < stop``:

    * ``pre_activity`` (kind ``"activation"``): the layer input ``h_a`` of the ``B``
      samples of step ``k``, placed at times ``k + b/B``;
    * ``post_activity`` (kind ``"preactivation"``): the pre-activation ``h_b`` of the
      same samples (computed with the weights the step was taken from, i.e. after
      parameter noise);
    * ``weight`` at integer steps ``start … stop`` (``stop − start + 1`` samples), each
      taken at the start of the step, before parameter noise;
    * ``decay = lr · weight_decay``: the record's decay *rate* (1/step; the config's
      ``weight_decay`` γ is a per-unit-learning-rate coefficient, converted here), so
      that for SGD without noise ``ΔW_k + decay · Δt · W_k = lr · g_k`` exactly
      (``Δt = 1`` step).

    Parameters
    ----------
    config : TrainConfig
    layer : int
        1-based layer (1 = first weight matrix).
    steps : slice or (start, stop)
        Window of steps (0-based, stop exclusive).
    rng : int, Generator or None
        As in :func:`train` (same seed, same trajectory as ``train``).
    threads : int
        torch intra-op threads for this call (restored afterwards).
    device : {"auto", "cpu", "cuda"}
        Where to train (``"auto"``: CUDA when present); the numbers equal the CPU's to
        float32 tolerance.  ``"cuda"`` without CUDA raises one line.

    Examples
    --------
    ``cos(ĝ, H) > 0`` computed from this record is Hebbian:

    >>> cfg = TrainConfig(epochs=1, n_train=512)
    >>> rec = record_layer(cfg, layer=2, steps=(0, 2), rng=0)  # doctest: +SKIP
    """
    from plastix.record import make_record

    config = _check_config(config)
    n_layers = config.n_layers
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not \
            1 <= layer <= n_layers:
        raise ValueError(f"`layer` must be an int between 1 and {n_layers} (1-based, layer 1 is "
                         f"the first weight matrix); got {layer!r}.")
    if isinstance(steps, slice):
        if steps.step not in (None, 1):
            raise ValueError(f"`steps` must be a contiguous window; got step {steps.step}.")
        start, stop = steps.start or 0, steps.stop
    elif isinstance(steps, (tuple, list)) and len(steps) == 2:
        start, stop = steps
    else:
        raise TypeError(f"`steps` must be a slice or a (start, stop) tuple; got {steps!r}.")
    n_steps = _n_steps(config)
    if stop is None:
        stop = n_steps
    if not (0 <= int(start) < int(stop) <= n_steps):
        raise ValueError(f"`steps` must satisfy 0 <= start < stop <= {n_steps} (the run's "
                         f"number of steps); got ({start}, {stop}).")
    start, stop = int(start), int(stop)
    threads = check_int("threads", threads, low=1)
    dev = resolve_device(device)
    seed = run_seed(rng)
    with torch_threads(threads):
        _, res = _train_many([config], [seed], progress=False,
                             capture=(layer - 1, start, stop), device=dev)
    cap = res["capture"]
    pre, post, w = cap["pre"], cap["post"], cap["weight"]
    n_win, bsz = pre.shape[0], pre.shape[1]
    time = (np.arange(start, stop)[:, None] + np.arange(bsz)[None, :] / bsz).reshape(-1)
    return make_record(
        pre.reshape(n_win * bsz, -1).astype(float), post.reshape(n_win * bsz, -1).astype(float),
        w.astype(float), time=time, weight_time=np.arange(start, stop + 1, dtype=float),
        dt=1.0 / bsz, time_units="step", activity_units="1", activity_kind="activation",
        post_activity_kind="preactivation", decay=config.lr * config.weight_decay, source="ann",
        provenance={"config": config.to_dict(), "seed": seed, "layer": int(layer),
                    "steps": [start, stop]},
        truth={"rule": config.rule, "lr": config.lr, "weight_decay": config.weight_decay,
               "decay_per_neuron": config.decay_per_neuron, "noise": config.noise,
               "noise_kind": config.noise_kind},
    )


def final_alignment(result: xr.Dataset, *, last: int = 100, signal: str = "gradient"
                    ) -> xr.DataArray:
    """Mean alignment over the last ``last`` recorded steps (SPEC §2 reporting).

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`train` or :func:`sweep`.
    last : int
        Number of final recorded steps to average (NaN steps of shorter runs in a
        sweep are skipped).
    signal : {"gradient", "rule", "update"}

    Returns
    -------
    xarray.DataArray
        Dims of ``result.alignment`` without ``step`` and ``signal``; ``> 0`` Hebbian.

    Examples
    --------
    >>> final_alignment(ds, last=100).sel(layer=2)  # doctest: +SKIP
    """
    if not isinstance(result, xr.Dataset) or "alignment" not in result:
        raise TypeError("`result` must be the xarray.Dataset returned by plastix.ann.train or "
                        f"sweep (with an `alignment` variable); got {type(result).__name__}.")
    check_choice("signal", signal, _SIGNALS)
    last = check_int("last", last, low=1)  # number of recorded steps
    a = result["alignment"].sel(signal=signal)
    # Runs of different lengths in one sweep are NaN-padded at the end: average the
    # last `last` finite steps of each run.
    valid = a.notnull()
    rank = valid[{"step": slice(None, None, -1)}].cumsum("step")[{"step": slice(None, None,
                                                                                 -1)}]
    keep = valid & (rank <= last)
    out = a.where(keep).mean("step")
    out.attrs = {"long_name": f"mean {signal} alignment over the last {last} recorded steps",
                 "units": "1"}
    return out
