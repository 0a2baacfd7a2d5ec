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
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice, did_you_mean
from plastix._util.io import atomic_write
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
    f = out / "index.json"
    if not f.exists():
        return {"runs": {}, "seeds": {}}
    return json.loads(f.read_text())


def _write_index(out: Path, index: dict[str, Any]) -> None:
    text = json.dumps(index, sort_keys=True, indent=1)
    atomic_write(out / "index.json", lambda p: p.write_text(text))


@contextlib.contextmanager
def _index_lock(out: Path):
    """An exclusive lock on ``out``'s index (``flock`` on ``.index.lock``; POSIX)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".index.lock", "a+") as f:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one sweep per folder at a time
            yield
            return
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _update_index(out: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Read the index afresh, apply ``change`` and write it back, under the folder's lock.

    Concurrent sweeps into one folder therefore lose no entry.
    """
    with _index_lock(out):
        index = _read_index(out)
        index.setdefault("batches", {})
        change(index)
        _write_index(out, index)
    return index


def _save_run(out: Path, h: str, ds: xr.Dataset) -> str:
    name = f"run-{h}.nc"
    atomic_write(out / name, lambda p: ds.to_netcdf(p, engine="h5netcdf"))
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
    max_models: int = 256,
    checkpoint_every: int = 5,
    device: str = "cpu",
) -> xr.Dataset:
    """Train a grid of configurations × seeds as batched tensor programs.

    Configurations that share task, rule and architecture (they may differ in
    ``lr``, ``weight_decay``, ``noise`` and seed) train together in one batch of up to
    ``max_models`` models; each model equals :func:`train` of its configuration with
    ``rng=`` its seed (``result.seed_value``), up to float32 rounding.

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
        folder lose no entry), and a checkpoint of every batch in training.  A
        rerun loads finished runs instead of training them and resumes checkpointed
        batches (with ``rng=None`` it reuses the seeds stored for the same sweep);
        the result equals an uninterrupted sweep's.  Ctrl-C stops with one line
        saying what was saved.
    progress : bool
        tqdm progress bar over all steps to train.
    threads : int
        Cores to train on.  With ``threads > 1`` each batch is split into ``threads``
        sub-batches that train at the same time, one per worker thread, each on one
        torch intra-op thread (with ``threads=1``, one batch on one thread); the
        caller's thread count is restored afterwards.  Models are independent, so
        this gives the same numbers as one batch, and on small matrices it is
        faster than splitting every matrix product across cores.
    max_models : int
        Largest batch of models trained together (memory bound).
    checkpoint_every : int
        With ``out``: epochs between checkpoints of a batch in training (model,
        optimiser and RNG state, the records so far); a kill loses at most this
        many epochs.
    device : {"auto", "cpu", "cuda"}
        Where to train (``"auto"``: CUDA when present).  On CUDA each batch trains
        whole on the device (``threads`` sets only the CPU's threads) and only the
        records come back; the numbers equal the CPU's to float32 tolerance.

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
    split = threads if dev.type == "cpu" else 1  # a device trains a batch whole
    keys = list(g)
    cells = list(itertools.product(*g.values()))
    cfgs = [config.replace(**dict(zip(keys, c, strict=True))) for c in cells]
    out_dir = Path(out) if out is not None else None
    seeds = _sweep_seeds(config, g, n_seeds, rng, out_dir)
    results, todo = _load_finished(cfgs, seeds, out_dir)
    batches = _plan_batches(cfgs, seeds, todo, out_dir, max_models, split)
    bar = None
    if progress and batches:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(_n_steps(cfgs[b[0][0]]) * len(b) for b in batches),
                   desc="sweep", unit="model-step")

    stop = threading.Event()

    def train_batch(batch):
        bc, bs = [cfgs[ci] for ci, _ in batch], [seeds[si] for _, si in batch]
        ckpt = _batch_checkpoint(out_dir, bc, bs, checkpoint_every)
        tick = _Progress(bar, len(batch), stop)
        return batch, _train_many(bc, bs, progress=False, bar=tick, checkpoint=ckpt,
                                  device=dev), ckpt

    def finish(batch, dss, ckpt):  # saved as each batch finishes
        saved = {}
        for (ci, si), ds in zip(batch, dss, strict=True):
            results[(ci, si)] = ds
            if out_dir is not None:
                h = _run_hash(cfgs[ci], seeds[si])
                saved[h] = _save_run(out_dir, h, ds)
        if out_dir is not None:
            def change(index):
                index["runs"].update(saved)
                index["batches"].pop(ckpt.path.name, None)

            _update_index(out_dir, change)
            ckpt.remove()

    try:
        if split == 1 or len(batches) == 1:
            with torch_threads(threads):
                for batch in batches:
                    finish(*train_batch(batch))
        else:
            # one intra-op thread per worker: independent sub-batches fill the cores
            with torch_threads(1), ThreadPoolExecutor(max_workers=threads) as pool:
                jobs = [pool.submit(train_batch, b) for b in batches]
                try:
                    for job in as_completed(jobs):
                        finish(*job.result())
                except BaseException:
                    stop.set()  # running workers stop at their next progress report
                    for job in jobs:
                        job.cancel()
                    raise
    except KeyboardInterrupt:
        msg = _interrupted(out_dir, len(results), len(cfgs) * len(seeds), checkpoint_every)
        print(msg, file=sys.stderr)
        raise KeyboardInterrupt(msg) from None
    finally:
        if bar is not None:
            bar.close()
    return _assemble(config, g, seeds, cfgs, results)


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


def _plan_batches(cfgs, seeds, todo, out_dir, max_models, threads) -> list[list]:
    """Batches to train: first those with a checkpoint in ``out_dir`` (as they were, so
    they resume), then the other runs grouped by architecture, ``max_models`` at most a
    batch, each split into ``threads`` sub-batches."""
    batches = []
    if out_dir is not None:
        left = {_run_hash(cfgs[ci], seeds[si]): (ci, si) for ci, si in todo}
        for name, hashes in _read_index(out_dir).get("batches", {}).items():
            if (out_dir / name).exists() and len(set(hashes)) == len(hashes) and \
                    all(h in left for h in hashes):
                batches.append([left.pop(h) for h in hashes])
        still = set(left.values())
        todo = [item for item in todo if item in still]
    groups: dict[str, list[tuple[int, int]]] = {}
    for ci, si in todo:
        groups.setdefault(cfgs[ci].group_key(), []).append((ci, si))
    return batches + [part for items in groups.values()
                      for i in range(0, len(items), max_models)
                      for part in _split(items[i:i + max_models], threads)]


def _batch_checkpoint(out_dir, configs, seeds, every):
    """The checkpoint of a batch in ``out_dir`` (registered in the index), or None."""
    if out_dir is None:
        return None
    from plastix.ann.loop import Checkpoint

    key = Checkpoint.key_for(configs, seeds)
    name = f"batch-{key[:20]}.ckpt"
    hashes = [_run_hash(c, s) for c, s in zip(configs, seeds, strict=True)]
    _update_index(out_dir, lambda ix: ix["batches"].__setitem__(name, hashes))
    return Checkpoint(out_dir / name, every=every, key=key)


def _interrupted(out_dir, n_done: int, n_runs: int, every: int) -> str:
    """The one line a sweep stopped by Ctrl-C prints."""
    if out_dir is None:
        return (f"sweep interrupted: {n_done} of {n_runs} runs finished, none saved (no `out` "
                "folder); pass out= to make a sweep resumable.")
    return (f"sweep interrupted: {n_done} of {n_runs} runs saved in {out_dir}, unfinished "
            f"batches checkpointed every {every} epochs; rerun the same sweep with the same "
            "rng and out to resume.")


def _split(items: list, parts: int) -> list[list]:
    """``items`` in at most ``parts`` contiguous, nearly equal, non-empty pieces."""
    parts = min(parts, len(items))
    bounds = np.linspace(0, len(items), parts + 1).round().astype(int)
    return [items[a:b] for a, b in itertools.pairwise(bounds)]


class _Progress:
    """The engine's progress callback for one sub-batch, safe to call from worker threads.

    The engine reports steps; the bar counts model-steps (``n_models`` per step).  Once
    ``stop`` is set (another worker failed, or the sweep was interrupted) the next
    report raises, so no worker trains on after the sweep has ended.
    """

    _lock = threading.Lock()

    def __init__(self, bar, n_models: int, stop: threading.Event):
        self.bar, self.n_models, self.stop = bar, n_models, stop

    def update(self, n_steps: int) -> None:
        if self.stop.is_set():
            raise RuntimeError("sweep stopped: another sub-batch failed or was interrupted")
        if self.bar is not None:
            with self._lock:
                self.bar.update(n_steps * self.n_models)


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
