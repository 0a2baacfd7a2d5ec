"""The training loop shared by the MLP engine and the transformer: data, batches, records.

:class:`Group` holds what the models trained together share (their seeds' data,
streams and per-model ``lr``, ``weight_decay``, ``noise``); :class:`Recorder` the
preallocated result arrays and the result dict; :func:`train_loop` walks the
epochs and steps and calls a *trainer* (the MLP engine's or the transformer's),
which provides ``val_loss()``, ``epoch_start()``, ``step(step, xb, yb, record,
capturing)`` and ``epoch_gap()``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.io import atomic_write
from plastix._util.signals import sigint_deferred
from plastix.ann import data as _data
from plastix.ann.config import TrainConfig

torch = _data.torch

__all__ = ["Group", "Recorder", "Checkpoint", "train_loop", "stationarity_gap", "resolve_device",
           "to_device", "PROGRESS_EVERY"]

#: The progress callback is called every this many steps.
PROGRESS_EVERY = 50


class Group:
    """The data and per-model constants of a batch of models (one config group).

    Attributes: ``base`` (the first config), ``m`` (models), ``n_seed`` (distinct
    seeds), ``sidx`` (seed index of each model), ``tasks`` and ``gens`` (per
    distinct seed), ``x_tr, y_tr, x_val, y_val`` (S, N, ...), ``n_tr``, ``bsz``,
    ``steps_per_epoch``, ``n_steps``, ``n_layers``, and ``lr``, ``gamma``
    (``weight_decay``), ``sigma`` (``noise``) as (M, 1, 1) tensors.
    """

    def __init__(self, configs: Sequence[TrainConfig], seeds: Sequence[int], *,
                 device: Any = "cpu"):
        base = self.base = configs[0]
        self.device = dev = torch.device(device)
        self.configs = list(configs)
        self.m = m = len(configs)
        useeds = list(dict.fromkeys(int(s) for s in seeds))
        self.n_seed = len(useeds)
        self.sidx = torch.tensor([useeds.index(int(s)) for s in seeds], device=dev)
        # x of shape (1, B, d) broadcasts over models; (M, B, d) when seeds differ.
        self.shared = self.n_seed == 1
        self.trivial_map = self.n_seed == m and bool(torch.equal(self.sidx.cpu(), torch.arange(m)))
        self.tasks = [_data.make_task(base, s) for s in useeds]
        self.gens = [_data.streams(s) for s in useeds]
        for name in ("x_train", "y_train", "x_val", "y_val"):
            setattr(self, name, torch.stack([t[name] for t in self.tasks]).to(dev))  # (S, N, ...)
        self.n_tr, self.bsz = self.x_train.shape[1], base.batch_size
        self.steps_per_epoch = self.n_tr // self.bsz
        self.n_steps = self.steps_per_epoch * base.epochs
        self.n_layers = len(self.tasks[0]["params"])
        col = lambda v: torch.tensor(v, dtype=torch.float32, device=dev).view(m, 1, 1)  # noqa: E731
        self.lr = col([c.lr for c in configs])
        self.gamma = col([c.weight_decay for c in configs])
        self.sigma = col([c.noise for c in configs])

    def per_model(self, t):
        """(S, ...) -> (M, ...), a copy, on the group's device."""
        return t.to(self.device)[self.sidx].clone()

    def to_models(self, t):
        """(S, ...) -> (M or 1, ...), no copy when possible."""
        return t if self.shared or self.trivial_map else t[self.sidx]

    def stacked(self, get: Callable[[dict], Any]):
        """``get(task)`` of every seed, stacked and mapped to models (a copy); None stays."""
        items = [get(t) for t in self.tasks]
        return None if items[0] is None else self.per_model(torch.stack(items))

    def noise_draw(self, shape):
        """Per-seed standard normal draws mapped to models: (M or 1, *shape).

        Drawn from the seeds' CPU generators (the same numbers on every device) and
        moved to the group's device.
        """
        if len(self.gens) == 1:  # one seed: a view, not a stacked copy
            z = torch.randn(*shape, generator=self.gens[0]["noise"])[None]
        else:
            z = torch.stack([torch.randn(*shape, generator=g["noise"]) for g in self.gens])
        z = z.to(self.device)
        return z if self.trivial_map or self.shared else z[self.sidx]

    def rng_state(self) -> list[dict[str, Any]]:
        """The state of every seed's generators (for a checkpoint)."""
        return [{k: g.get_state() for k, g in gens.items()} for gens in self.gens]

    def set_rng_state(self, states: list[dict[str, Any]]) -> None:
        """Restore :meth:`rng_state`."""
        for gens, st in zip(self.gens, states, strict=True):
            for k, g in gens.items():
                g.set_state(st[k])

    def batches(self, start_epoch: int = 0):
        """Per epoch (epoch number, iterator over ``(xb, yb)``) in the seeds' data order.

        ``xb`` (S, B, ...) holds each seed's clean inputs, ``yb`` the targets mapped to
        models.
        """
        n_tr, bsz, n_seed = self.n_tr, self.bsz, self.n_seed
        flat_off = (torch.arange(n_seed) * n_tr).view(-1, 1)
        x_flat = self.x_train.reshape(n_seed * n_tr, *self.x_train.shape[2:])
        y_flat = self.y_train.reshape(n_seed * n_tr, *self.y_train.shape[2:])

        def epoch_batches(perm):
            for k in range(self.steps_per_epoch):
                idx = perm[:, k * bsz:(k + 1) * bsz].reshape(-1)
                xb = x_flat.index_select(0, idx).view(n_seed, bsz, *self.x_train.shape[2:])
                yb = y_flat.index_select(0, idx).view(n_seed, bsz, *self.y_train.shape[2:])
                yield xb, self.to_models(yb)

        for epoch in range(start_epoch, self.base.epochs):
            perm = torch.stack([torch.randperm(n_tr, generator=g["order"]) for g in self.gens])
            yield epoch, epoch_batches((perm + flat_off).to(self.device))


class Recorder:
    """The preallocated result arrays of a batch of models, filled without Python floats."""

    def __init__(self, group: Group, post_sizes: Sequence[int],
                 capture: tuple[int, int, int] | None):
        base, m, n_layers = group.base, group.m, group.n_layers
        self.steps = np.arange(0, group.n_steps, base.record_every)
        self.n_rec = len(self.steps)
        self.ppl = None if base.per_post_layer is None else min(base.per_post_layer,
                                                                n_layers) - 1
        n_rec = self.n_rec

        def full(*shape):  # on the group's device: only the finished records move to the CPU
            return torch.full(shape, float("nan"), device=group.device)

        self.align = full(n_rec, m, n_layers, 3)
        self.walign = full(n_rec, m, n_layers)
        self.per_post = (full(n_rec, m, 3, post_sizes[self.ppl])
                         if self.ppl is not None else None)
        self.loss = full(n_rec, m)
        self.wnorm = full(n_rec, m, n_layers)
        self.val = full(base.epochs + 1, m)
        self.gap = full(base.epochs + 1, m, n_layers)
        self.capture = capture
        self.cap: dict[str, list] = {"pre": [], "post": [], "weight": []}
        self.i = 0  # the next recorded step's row

    def due(self, step: int) -> bool:
        """Whether ``step`` is recorded."""
        return self.i < self.n_rec and self.steps[self.i] == step

    def capturing(self, step: int) -> bool:
        """Whether ``step`` is in the capture window."""
        c = self.capture
        return c is not None and c[1] <= step < c[2]

    _ARRAYS = ("align", "walign", "per_post", "loss", "wnorm", "val", "gap")

    def state(self) -> dict[str, Any]:
        """The records so far (for a checkpoint)."""
        return {**{k: getattr(self, k) for k in self._ARRAYS}, "i": self.i,
                "cap": {k: list(v) for k, v in self.cap.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`."""
        for k in self._ARRAYS:
            if getattr(self, k) is not None:
                getattr(self, k).copy_(state[k])
        self.i = int(state["i"])
        self.cap = {k: list(v) for k, v in state["cap"].items()}

    def result(self, group: Group, source: str) -> dict[str, Any]:
        """The engine's result dict (see :func:`plastix.ann.engine.run_group`)."""
        pp = self.per_post

        def host(t, *dims):  # the one transfer of the records off the device
            return t.permute(*dims).cpu().numpy()

        return {
            "alignment": host(self.align, 1, 0, 2, 3),
            "weight_alignment": host(self.walign, 1, 0, 2),
            "alignment_per_post": None if pp is None else host(pp, 1, 0, 2, 3),
            "per_post_layer": None if self.ppl is None else self.ppl + 1,
            "loss": host(self.loss, 1, 0),
            "weight_norm": host(self.wnorm, 1, 0, 2),
            "val_loss": host(self.val, 1, 0),
            "stationarity_gap": host(self.gap, 1, 0, 2),
            "steps": self.steps,
            "n_train": int(group.n_tr), "n_val": int(group.x_val.shape[1]),
            "steps_per_epoch": int(group.steps_per_epoch),
            "source": source,
            "capture": None if self.capture is None else {
                k: torch.stack(v).cpu().numpy() for k, v in self.cap.items() if v},
        }


def stationarity_gap(diff, target, gamma):
    """``‖diff‖ / ‖target‖`` per model (M,), NaN where ``γ = 0``.

    ``diff`` is the epoch's mean balanced signal minus ``target = γ D mean W``.
    """
    gap = diff.flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1)
    gap[gamma.view(-1) == 0] = float("nan")
    return gap


def copy_state(dst: Any, src: Any) -> None:
    """Copy the tensors of a nested list/tuple/dict ``src`` into ``dst`` in place."""
    if dst is None:
        return
    if isinstance(dst, dict):
        for k in dst:
            copy_state(dst[k], src[k])
    elif isinstance(dst, (list, tuple)):
        for d, s_ in zip(dst, src, strict=True):
            copy_state(d, s_)
    else:
        with torch.no_grad():
            dst.copy_(src)


class Checkpoint:
    """An atomic on-disk checkpoint of one batch of models, every ``every`` epochs.

    The file holds the trainer's state (weights, optimiser state), the records so
    far and every seed's generator states at the end of an epoch, so a resumed
    run continues to exactly the numbers of an uninterrupted one.  It is written
    to a temporary file in the same folder, flushed to disk and renamed, so a
    kill at any moment leaves the previous checkpoint or the new one.  ``key``
    identifies the batch (configs and seeds); a file with another key is ignored.
    """

    VERSION = 1

    def __init__(self, path: str | os.PathLike, *, every: int, key: str):
        self.path, self.every, self.key = Path(path), int(every), key

    @staticmethod
    def key_for(configs: Sequence[TrainConfig], seeds: Sequence[int]) -> str:
        """A key naming a batch: its configs and seeds, in order."""
        text = json.dumps([[c.to_json() for c in configs], [int(s) for s in seeds]])
        return hashlib.sha1(text.encode()).hexdigest()

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (no file, or one of another batch or version).

        Loaded onto the CPU whatever device saved it (the trainer copies it onto its
        own), so a sweep begun on a GPU resumes on a machine without one.
        """
        if not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=True, map_location="cpu")
        if state.get("key") != self.key or state.get("version") != self.VERSION:
            return None
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically (:func:`plastix._util.io.atomic_write`: temp file,
        fsync, rename)."""
        state = {**state, "key": self.key, "version": self.VERSION}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                torch.save(state, f)

        with sigint_deferred():  # Ctrl-C takes effect once the checkpoint is whole
            atomic_write(self.path, write)


def train_loop(group: Group, trainer: Any, rec: Recorder,
               progress: Callable[[int], None] | None,
               checkpoint: Checkpoint | None = None) -> None:
    """Walk the epochs and steps, calling ``trainer`` (see the module docstring).

    With ``checkpoint``, a saved state of this batch is resumed from, and the state
    is saved every ``checkpoint.every`` epochs (not after the last one).
    """
    start = 0
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        start = int(state["epoch"])
        trainer.load_state(state["trainer"])
        rec.load_state(state["rec"])
        group.set_rng_state(state["rng"])
    else:
        rec.val[0] = trainer.val_loss()
    step = start * group.steps_per_epoch
    if progress is not None and step - step % PROGRESS_EVERY:
        progress(step - step % PROGRESS_EVERY)  # so that the reports add up to n_steps
    for epoch, batches in group.batches(start):
        trainer.epoch_start()
        for xb, yb in batches:
            trainer.step(step, xb, yb, rec.due(step), rec.capturing(step))
            step += 1
            if progress is not None and step % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
        rec.val[epoch + 1] = trainer.val_loss()
        rec.gap[epoch + 1] = trainer.epoch_gap()
        done = epoch + 1
        if checkpoint is not None and done % checkpoint.every == 0 and done < group.base.epochs:
            checkpoint.save({"epoch": done, "trainer": trainer.state(), "rec": rec.state(),
                             "rng": group.rng_state()})
    if progress is not None and step % PROGRESS_EVERY:
        progress(step % PROGRESS_EVERY)


def resolve_device(device: Any = "auto"):
    """The torch device of ``device``: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``,
    ``"cuda"`` or ``"cuda:N"`` (or a ``torch.device``).

    Raises
    ------
    ValueError
        One line, for an unknown name or CUDA asked for where there is none.
    """
    if isinstance(device, torch.device):
        name = str(device)
    elif isinstance(device, str):
        name = device.strip().lower()
    else:
        raise ValueError(f"`device` must be 'auto', 'cpu' or 'cuda'; got {device!r}.")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            why = ("this torch is built without CUDA" if torch.version.cuda is None
                   else "no CUDA device is visible")
            raise ValueError(f"`device` is {device!r} but CUDA is not available ({why}, torch "
                             f"{torch.__version__}); use device 'cpu' or 'auto'.")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"`device` is {device!r} but only {torch.cuda.device_count()} "
                             "CUDA device(s) exist; use 'cuda' or 'cuda:0'.")
        return dev
    raise ValueError(f"`device` must be 'auto', 'cpu' or 'cuda'; got {device!r}.")


def to_device(obj: Any, device) -> Any:
    """The tensors of a nested list/tuple/dict moved to ``device`` (None stays None)."""
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj.to(device) if isinstance(obj, torch.Tensor) else obj
