"""Speed of the batched engine, as ratios measured in one run (for ``benchmarks/``).

:func:`measure_speed` times, interleaved and repeated (minimum over repeats, so a
busy shared machine biases every number the same way):

* ``batched``: one step of :func:`plastix.ann.engine.run_group` for ``n_models``
  models (the Fig. 4 grid of decay × noise), all alignments recorded every step;
* ``single``: the same engine with one model;
* ``plain``: a plain one-model PyTorch loop (``nn.Linear``, autograd,
  ``torch.optim.SGD``, alignment with :mod:`plastix.alignment` every step;
  :func:`plastix.ann.reference.train_reference`);
* ``gemm``: only the matrix products one batched step performs (forward,
  backward, Hebbian term, Gram matrices), with the same shapes, run back to back.

``speedup = plain / (batched / n_models)`` and
``gemm_fraction = gemm / batched`` (the share of the step spent at the machine's
GEMM throughput for exactly the arithmetic the sweep does).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from plastix.ann.config import TrainConfig

__all__ = ["measure_speed"]


def _step_time(configs, seed: int, n_steps: int) -> float:
    from plastix.ann.engine import run_group

    stamps: list[float] = []
    run_group(configs, [seed] * len(configs), progress=lambda n: stamps.append(
        time.perf_counter()))
    if len(stamps) < 2:
        raise ValueError(f"`n_steps` must be >= 100 to time steady-state steps; got {n_steps}.")
    return (stamps[-1] - stamps[0]) / (50 * (len(stamps) - 1))


def _plain_time(config: TrainConfig, seed: int, n_steps: int) -> float:
    from plastix.ann import data as _data
    from plastix.ann.reference import train_reference

    t0 = time.perf_counter()
    _data.make_task(config, seed)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_reference(config, seed=seed, n_steps=n_steps)
    return (time.perf_counter() - t0 - setup) / n_steps


def _gemm_time(config: TrainConfig, n_models: int, reps: int = 5) -> tuple[float, float]:
    """Time and FLOPs of the matrix products of one batched SGD step."""
    from plastix.ann.data import SRE_DIM, torch

    sizes = [SRE_DIM, *config.hidden, SRE_DIM]
    m, b = n_models, config.batch_size
    g = torch.Generator().manual_seed(0)
    ws = [torch.randn(m, sizes[i + 1], sizes[i], generator=g) for i in range(len(sizes) - 1)]
    x = torch.randn(1, b, sizes[0], generator=g)
    acts = [x] + [torch.randn(m, b, s, generator=g) for s in sizes[1:-1]]
    pres = [torch.randn(m, b, s, generator=g) for s in sizes[1:]]
    outs = [torch.empty(m, sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
    slots = [torch.randn(4, m, sizes[i + 1] * sizes[i], generator=g).transpose(0, 1)
             for i in range(len(sizes) - 1)]
    flops = 0.0
    for i in range(len(ws)):
        flops += 2 * m * b * sizes[i] * sizes[i + 1] * (4 if i > 0 else 3)
        flops += 2 * m * 16 * sizes[i] * sizes[i + 1]

    def step():
        for i in range(len(ws)):
            torch.matmul(acts[i], ws[i].transpose(1, 2))  # forward
            torch.matmul(pres[i].transpose(1, 2), acts[i], out=outs[i])  # gradient
            torch.matmul(pres[i].transpose(1, 2), acts[i], out=outs[i])  # Hebbian term
            if i > 0:
                torch.matmul(pres[i], ws[i])  # back-propagated error
            torch.bmm(slots[i], slots[i].transpose(1, 2))  # Gram matrix

    step()
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best, flops


def measure_speed(config: TrainConfig | None = None, *, n_models: int = 121,
                  n_steps: int = 150, repeats: int = 3, threads: int = 1,
                  seed: int = 0) -> dict[str, Any]:
    """Per-step times of the batched engine, a single model and a plain PyTorch loop.

    Parameters
    ----------
    config : TrainConfig, optional
        Default: the SRE of SPEC §4 with SGD.
    n_models : int
        Models in the batch (121 = the Fig. 4 grid).
    n_steps : int
        Steps per timing (>= 100; steady state is timed between progress ticks).
    repeats : int
        Interleaved repetitions; the minimum of each is kept.
    threads : int
        torch intra-op threads for the batched and single-model engine and the GEMM
        probe (restored afterwards).  The plain loop always runs on one thread, its
        fastest setting for small operations.

    Returns
    -------
    dict
        ``batched_step_s``, ``single_step_s``, ``plain_step_s``, ``gemm_step_s`` (s per
        step), ``speedup`` (plain vs batched per model), ``gemm_fraction`` (GEMM-only
        time / batched step time), ``gemm_gflops`` (GFLOP/s of the GEMM-only run),
        ``step_gflops`` (the same FLOPs over the batched step time).
    """
    from plastix.ann.data import torch

    config = config or TrainConfig()
    cfg = config.replace(epochs=1, n_train=config.batch_size * int(n_steps), n_val=256)
    decays, noises = np.linspace(0, 1e-2, 11), np.linspace(0, 1e-3, 11)
    grid = [cfg.replace(decay=float(d), noise=float(s)) for d in decays for s in noises]
    grid = (grid * (n_models // len(grid) + 1))[:n_models]
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    res = {"batched": np.inf, "single": np.inf, "plain": np.inf, "gemm": np.inf}
    try:
        for _ in range(repeats):
            res["batched"] = min(res["batched"], _step_time(grid, seed, n_steps))
            res["single"] = min(res["single"], _step_time(grid[:1], seed, n_steps))
            torch.set_num_threads(1)  # the plain loop's best setting (small ops)
            res["plain"] = min(res["plain"], _plain_time(cfg, seed, min(n_steps, 100)))
            torch.set_num_threads(threads)
            t, flops = _gemm_time(cfg, n_models)
            res["gemm"] = min(res["gemm"], t)
    finally:
        torch.set_num_threads(old)
    return {
        "n_models": n_models, "threads": threads,
        "batched_step_s": res["batched"], "single_step_s": res["single"],
        "plain_step_s": res["plain"], "gemm_step_s": res["gemm"],
        "speedup": res["plain"] / (res["batched"] / n_models),
        "speedup_vs_single_engine": res["single"] / (res["batched"] / n_models),
        "gemm_fraction": res["gemm"] / res["batched"],
        "gemm_gflops": flops / res["gemm"] / 1e9,
        "step_gflops": flops / res["batched"] / 1e9,
    }
