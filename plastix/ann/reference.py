"""A plain one-model PyTorch training loop: the independent reference and the speed baseline.

``torch.nn.Linear`` layers, autograd and ``torch.optim`` (SGD, SGD with momentum,
Adam with ``weight_decay=γ``), the alignment of ``−∇_W ℓ`` with the Hebbian term
computed every step with :mod:`plastix.alignment`.  It consumes exactly the same
data, initial weights, data order and parameter noise as the batched engine
(same seed streams, :func:`plastix.ann.data.streams`), so its loss and alignment
trajectories must equal the engine's up to float32 rounding; a test checks it,
and ``benchmarks`` time it as "one model at a time".
"""

from __future__ import annotations

from typing import Any

from plastix._util.threads import torch_threads
from plastix._util.validate import check_int
from plastix.alignment import cosine_alignment, hebbian_term
from plastix.ann import data as _data
from plastix.ann.config import TrainConfig
from plastix.ann.run import run_seed

torch = _data.torch

__all__ = ["train_reference"]


def train_reference(config: TrainConfig, *, rng: Any = None, n_steps: int | None = None,
                    threads: int = 1) -> dict[str, Any]:
    """Train one model with autograd and ``torch.optim``; record loss and gradient alignment.

    Parameters
    ----------
    config : TrainConfig
        Rules ``"sgd"``, ``"momentum"``, ``"adam"``; tasks ``"sre"`` and ``"sce"``;
        parameter noise only; no ``decay_per_neuron``.
    rng : int, numpy Generator or None
        As in :func:`plastix.ann.train`: an int is the run's seed itself (same seed,
        same teacher, data, initialisation and noise as ``train``).
    n_steps : int, optional
        Stop after this many steps (default: the whole run).
    threads : int
        torch intra-op threads for this call (restored afterwards).

    Returns
    -------
    dict
        ``loss (n_steps,)`` and ``alignment (n_steps, n_layers)`` (gradient signal,
        ``> 0`` Hebbian), numpy float32.
    """
    if config.rule not in ("sgd", "momentum", "adam") or config.task == "sre_transformer":
        raise ValueError("train_reference supports rules 'sgd', 'momentum', 'adam' on tasks "
                         f"'sre' and 'sce'; got rule={config.rule!r}, task={config.task!r}.")
    if config.decay_per_neuron is not None or (config.noise > 0 and
                                               config.noise_kind != "parameter"):
        raise ValueError("train_reference supports uniform weight decay and parameter noise only.")
    threads = check_int("threads", threads, low=1)
    with torch_threads(threads):
        return _train(config, run_seed(rng), n_steps)


def _train(config: TrainConfig, seed: int, n_steps: int | None) -> dict[str, Any]:
    """The autograd loop of :func:`train_reference` for the run seed ``seed``."""
    task = _data.make_task(config, seed)
    gens = _data.streams(seed)
    layers = torch.nn.ModuleList()
    for w, b in task["params"]:
        # skip_init: no draw from torch's global RNG (weights are copied below)
        lin = torch.nn.utils.skip_init(torch.nn.Linear, w.shape[1], w.shape[0],
                                       bias=b is not None)
        with torch.no_grad():
            lin.weight.copy_(w)
            if b is not None:
                lin.bias.copy_(b)
        layers.append(lin)
    params = list(layers.parameters())
    if config.rule == "adam":
        opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay,
                              momentum=config.momentum if config.rule == "momentum" else 0.0)
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
           "linear": lambda z: z}[config.activation]
    x_tr, y_tr = task["x_train"], task["y_train"]
    n_tr, bsz = x_tr.shape[0], config.batch_size
    per_epoch = n_tr // bsz
    total = per_epoch * config.epochs if n_steps is None else int(n_steps)
    losses = torch.empty(total)
    align = torch.empty(total, len(layers))
    step = 0
    while step < total:
        perm = torch.randperm(n_tr, generator=gens["order"])
        for k in range(per_epoch):
            if step >= total:
                break
            idx = perm[k * bsz:(k + 1) * bsz]
            x, y = x_tr[idx], y_tr[idx]
            if config.noise > 0:
                with torch.no_grad():
                    for lin in layers:
                        lin.weight.add_(torch.randn(lin.weight.shape, generator=gens["noise"])
                                        * config.noise)
                        if lin.bias is not None:
                            lin.bias.add_(torch.randn(lin.bias.shape, generator=gens["noise"])
                                          * config.noise)
            a, cache = x, []
            for i, lin in enumerate(layers):
                z = lin(a)
                cache.append((a, z))
                a = act(z) if i < len(layers) - 1 else z
            if config.task == "sce":
                loss = torch.nn.functional.cross_entropy(a, y)
            else:
                loss = torch.nn.functional.mse_loss(a, y)
            opt.zero_grad()
            loss.backward()
            with torch.no_grad():
                for i, (lin, (a_in, z)) in enumerate(zip(layers, cache, strict=True)):
                    h = hebbian_term(a_in, z)
                    align[step, i] = cosine_alignment(-lin.weight.grad, h, warn=False)
                losses[step] = loss.detach()
            opt.step()
            step += 1
    return {"loss": losses.numpy(), "alignment": align.numpy()}
