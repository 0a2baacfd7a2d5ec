"""A/B of two versions of the batched engine on one recorded step of a Fig. 4 batch.

Loads ``plastix/ann/engine.py`` of two files (say ``git show REV:plastix/ann/engine.py
> /tmp/old.py``; the second defaults to the working tree's), builds one batch of
``--models`` consecutive Fig. 4 runs from the middle of the grid (one seed, parameter
noise, alignment recorded every step)
with each, and times ``--pairs`` pairs of ``--steps`` steps on one torch thread, the
two engines alternating (ABBA), in the process's CPU seconds: on a loaded, shared
machine the per-pair ratio new/old is what is comparable, not the absolute times.

Usage::

    python benchmarks/_engine_ab.py OLD.py [NEW.py] [--pairs 40] [--steps 8] [--models 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import numpy as np
from sweep import DECAY, EPOCHS, NOISE, _config


def _load(path: str | None, name: str):
    from plastix.ann import engine

    if path is None:
        return engine
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Batch:
    """One batch of models trained step by step with an engine module's trainer."""

    def __init__(self, engine, m: int):
        from plastix.ann import TrainConfig
        from plastix.ann.loop import Group, Recorder

        base = _config(TrainConfig, EPOCHS, 1)  # the sweep benchmark's runs
        # consecutive runs from the middle of the grid, as the sweep cuts its batches
        start = (NOISE.size * DECAY.size - m) // 2
        sig = np.repeat(NOISE, DECAY.size)[start:start + m]
        gam = np.tile(DECAY, NOISE.size)[start:start + m]
        cfgs = [base.replace(noise=float(s), weight_decay=float(g))
                for s, g in zip(sig, gam, strict=True)]
        self.g = Group(cfgs, [0] * m)
        self.trainer = engine._MLPTrainer(self.g)
        self.rec = self.trainer.rec = Recorder(self.g, self.trainer.post_sizes, None)
        self.batches, self.k = self._batches(), 0

    def _batches(self):
        while True:
            for _, batches in self.g.batches(0):
                self.rec.i = 0  # records of past epochs are not kept
                self.trainer.epoch_start()
                yield from batches

    def run(self, n: int) -> float:
        """CPU seconds per step of ``n`` recorded steps."""
        import torch

        t0 = time.process_time()
        with torch.no_grad():
            for _ in range(n):
                xb, yb = next(self.batches)
                self.trainer.step(self.k, xb, yb, True, False)
                self.k += 1
        return (time.process_time() - t0) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?", default=None,
                        help="engine file (default: this checkout's plastix/ann/engine.py)")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--models", type=int, default=10)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    runs = [_Batch(_load(args.old, "engine_a"), args.models),
            _Batch(_load(args.new, "engine_b"), args.models)]
    for r in runs:
        r.run(10)  # warm-up
    times: list[list[float]] = [[], []]
    for k in range(args.pairs):
        for j in ((0, 1) if k % 2 == 0 else (1, 0)):
            times[j].append(runs[j].run(args.steps))
    ratio = np.asarray(times[1]) / np.asarray(times[0])
    q1, med, q3 = np.quantile(ratio, [0.25, 0.5, 0.75])
    print(f"old {args.old}: {1e3 * np.median(times[0]):.2f} ms/step (median, CPU)")
    print(f"new {args.new or 'working tree'}: {1e3 * np.median(times[1]):.2f} ms/step")
    print(f"new/old per pair: median {med:.3f} (IQR {q1:.3f}-{q3:.3f}), {args.pairs} pairs of "
          f"{args.steps} steps, {args.models} models, one thread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
