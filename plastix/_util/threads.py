"""Scoped thread counts (torch's intra-op threads, BLAS's threads): set inside a ``with``
block, restored on exit."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

from plastix._util.optional import import_torch
from plastix._util.validate import check_int

__all__ = ["torch_threads", "one_blas_thread", "blas_threads"]


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


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, found once per process (numpy's
    is loaded on import): finding them resolves every loaded library's path, 10-100 ms
    that each fit would pay."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads() -> int:
    """BLAS's thread count now (the largest over the loaded BLAS libraries; 1 without one).

    Inside a :func:`one_blas_thread` block this is 1; outside, the caller's setting (by
    default OpenBLAS's is the number of cores).  A computation that must give the same
    bits on any number of threads reads it before entering :func:`one_blas_thread` and
    runs that many single-threaded BLAS calls at once, split the same way whatever the
    count (:func:`plastix.estimate._stats.interval_stats`).
    """
    libs = _blas_controller().select(user_api="blas").lib_controllers
    return max([int(c.num_threads) for c in libs], default=1)


_BLAS_LOCK = threading.Lock()
_blas_depth = 0
_blas_limiter: Any = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the ``with`` block with BLAS (numpy's and scipy's OpenBLAS/MKL) on one thread.

    A threaded BLAS splits some products (matrix-vector, thin matrix products) across its
    threads and adds the parts in an order that depends on their number, so the same
    estimate differed in its last bits between a serial run, a Dask worker (Dask starts
    its workers with one BLAS thread) and a machine with more cores.  One thread gives the
    same numbers whatever the thread counts (another CPU may still pick other BLAS
    kernels).  Matrix products (GEMM) too: OpenBLAS's threaded driver blocks the summed
    dimension differently from its one-thread driver (a product over 300 bins gave other
    last bits on 2 threads than on 1), so every product whose bits matter runs in such a
    block; :func:`blas_threads` read before it says how many to run side by side.

    The limit is process-wide (OpenBLAS has one thread pool), so nested blocks and blocks
    entered by several threads at once share it: the first to enter sets it, the last to
    leave restores the previous counts.  threadpoolctl lets only one Python thread change
    OpenBLAS's count at a time (others are ignored), so a caller that runs plastix in a
    pool of threads enters this block in its own thread around the pool, as
    :func:`plastix._util.executor.run_tasks` does.  torch's threads are not touched (see
    :func:`torch_threads`).
    """
    global _blas_depth, _blas_limiter
    with _BLAS_LOCK:
        if _blas_depth == 0:
            _blas_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_depth -= 1
            if _blas_depth == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
