"""Random-number policy: every stochastic function takes ``rng=`` and resolves it once.

Child streams (seeds, workers, torch generators, Brian2 seeds) are spawned from the
resolved generator, never from global state.
"""

from __future__ import annotations

import numpy as np

__all__ = ["resolve_rng", "spawn", "child_seed"]

RngLike = int | np.random.Generator | np.random.SeedSequence | None


def resolve_rng(rng: RngLike) -> np.random.Generator:
    """Turn ``rng`` (an int, a Generator, a SeedSequence or None) into a Generator.

    A Generator is returned as is (so the caller's stream advances); an int or a
    SeedSequence seeds a new PCG64 generator; ``None`` draws fresh OS entropy.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise ValueError(f"`rng` must be a non-negative int seed; got {rng}.")
        return np.random.default_rng(rng)
    if isinstance(rng, bool):  # pragma: no cover - bool is an int subclass
        raise TypeError("`rng` must be an int, a numpy Generator or None; got a bool.")
    raise TypeError(
        f"`rng` must be an int, a numpy.random.Generator, a SeedSequence or None; "
        f"got {type(rng).__name__}."
    )


def spawn(rng: RngLike, n: int) -> list[np.random.Generator]:
    """Spawn ``n`` independent child generators from ``rng``."""
    return list(resolve_rng(rng).spawn(n))


def child_seed(rng: RngLike) -> int:
    """Draw one 31-bit integer seed (for torch or Brian2) from ``rng``."""
    return int(resolve_rng(rng).integers(0, 2**31 - 1))
