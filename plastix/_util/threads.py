"""Scoped torch intra-op thread counts: set inside a ``with`` block, restored on exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from plastix._util.optional import import_torch
from plastix._util.validate import check_int

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the ``with`` block on ``n`` torch intra-op threads; restore the old count.

    The previous count comes back on exit, also when the block raises, so a
    training call changes no process-wide setting.  plastix's training functions
    default to one thread: on a small machine two threads make small ops 30-150×
    slower whenever anything else runs.

    Parameters
    ----------
    n : int
        Threads (>= 1).

    Examples
    --------
    >>> with torch_threads(1):  # doctest: +SKIP
    ...     train(config, rng=0)
    """
    n = check_int("threads", n, low=1)
    torch = import_torch()
    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)
