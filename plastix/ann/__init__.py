"""Artificial networks: tasks, learning rules, batched training and sweeps (torch).

Public API::

    from plastix.ann import TrainConfig, train, sweep, record_layer, final_alignment

``TrainConfig`` needs no torch; everything else imports torch lazily on first use,
so ``import plastix.ann`` stays cheap and changes no torch setting (training
functions take ``threads=`` and restore torch's thread count on exit).  Learning
rules live in the registry :mod:`plastix.ann.rules` (``register_rule`` adds one).
Sign convention everywhere: alignment ``> 0`` is Hebbian, ``< 0`` anti-Hebbian.
"""

from __future__ import annotations

from typing import Any

from plastix.ann.config import TrainConfig

__all__ = ["TrainConfig", "train", "sweep", "record_layer", "final_alignment", "run_seed"]

_LAZY = {"train", "sweep", "record_layer", "final_alignment", "run_seed"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from plastix.ann import run

        return getattr(run, name)
    raise AttributeError(f"module 'plastix.ann' has no attribute {name!r}")
