"""Where independent tasks run: in this process (the default) or on a Dask cluster.

One seam for every loop of plastix whose items are independent (ANN sweep groups,
circuit sweep points, design and calibration sessions, the estimator's calibration
replicates, estimate batches).  A caller describes its work as :class:`Task` objects,
each keyed by its configuration, and hands them to :func:`run_tasks` with a
callback that saves a result; the callback always runs in the calling process,
one task at a time, as tasks finish, so results are written by the same atomic,
locked writer whatever the backend.  Every task carries everything that decides
its numbers (configuration and seed, fixed before submission), so the results do
not depend on the backend, the number of workers or the order of completion.

Backends (registry :data:`BACKENDS`):

``in-process``
    ``client=None``: the tasks run here, ``threads`` at a time (threads of this
    process; one task at a time with ``threads=1``).  The first failure stops
    the others at their next progress report and is raised.
``dask``
    ``client=`` a :class:`distributed.Client`: each task is submitted under its
    key with ``retries``; a worker that dies mid-task costs only that task,
    which the scheduler reruns elsewhere.  Tasks that fail on every try are
    reported after the others have finished (and been saved), in one line.

:func:`open_client` gives the CLI's ``--workers N`` (a ``LocalCluster`` of N
worker processes) and ``--scheduler ADDRESS`` (a running scheduler).

Examples
--------
>>> run_tasks([Task("a", pow, (2, 3))], lambda key, r: print(key, r))  # doctest: +SKIP
a 8
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from plastix._util.registry import Registry
from plastix._util.validate import check_int

__all__ = ["Task", "Backend", "BACKENDS", "TaskError", "run_tasks", "open_client",
           "check_client", "check_client_flags", "imported_on_workers",
           "local_cluster_environ", "DEFAULT_RETRIES"]

DEFAULT_RETRIES = 2
"""Reruns of a task that raised on a Dask worker before its failure is reported."""

SCHEDULER_TIMEOUT_S = 10.0
"""Seconds ``--scheduler ADDRESS`` waits for the scheduler to answer."""


class TaskError(RuntimeError):
    """Tasks failed on every try; the finished ones were saved (the message says how many)."""


@dataclass(frozen=True)
class Task:
    """One independent piece of work.

    Parameters
    ----------
    key : str
        Names the task by its configuration (e.g. a hash of configs and seeds); unique
        within one call of :func:`run_tasks`.
    fn : callable
        A module-level function (workers import it by name): ``fn(*args, tick=...)``.
        ``tick(n)`` reports ``n`` units of progress while in this process (``None``
        on a cluster); it raises once the run has been stopped.
    args : tuple
        Positional arguments (pickled to the workers).
    size : int
        Units of progress the task is worth (the bar moves by ``size`` when it
        finishes on a cluster).
    label : str
        How messages name the task (default: its key).
    """

    key: str
    fn: Callable[..., Any]
    args: tuple = ()
    size: int = 1
    label: str = field(default="", compare=False)

    def name(self) -> str:
        return self.label or self.key


@dataclass(frozen=True)
class Backend:
    """An execution backend: ``run(tasks, on_result, *, client, threads, retries, bar)``.

    ``accepts(client)`` says whether it runs for that ``client`` argument; the
    first registered backend that accepts it is used.
    """

    name: str
    description: str
    accepts: Callable[[Any], bool]
    run: Callable[..., None]


BACKENDS: Registry[Backend] = Registry("backend", Backend, "backend")


def run_tasks(tasks: Sequence[Task], on_result: Callable[[Task, Any], None], *,
              client: Any = None, threads: int = 1, retries: int = DEFAULT_RETRIES,
              bar: Any = None) -> None:
    """Run ``tasks`` and call ``on_result(task, result)`` here, as each one finishes.

    Parameters
    ----------
    tasks : sequence of Task
    on_result : callable
        Saves one result; always called in this process and thread, one at a time.
    client : distributed.Client or None
        None runs the tasks in this process; a client runs them on its cluster.
    threads : int
        In-process: tasks running at the same time (threads of this process).
    retries : int
        On a cluster: reruns of a task that raised before it counts as failed.
    bar : tqdm or None
        Progress bar, advanced by each task's ``size``.

    Raises
    ------
    TaskError
        On a cluster, when tasks failed on every try (after the others finished).
    """
    threads = check_int("threads", threads, low=1)
    retries = check_int("retries", retries, low=0)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("`tasks` must have unique keys; two tasks share one.")
    if not tasks:
        return
    backend = next(b for b in BACKENDS.values() if b.accepts(client))
    backend.run(list(tasks), on_result, client=client, threads=threads, retries=retries,
                bar=bar)


# ----------------------------------------------------------------- in-process


class _Tick:
    """Progress reports of one in-process task; raise once the run is stopped."""

    _lock = threading.Lock()

    def __init__(self, bar: Any, stop: threading.Event) -> None:
        self.bar, self.stop = bar, stop

    def __call__(self, n: int) -> None:
        if self.stop.is_set():
            raise RuntimeError("run stopped: another task failed or was interrupted")
        if self.bar is not None:
            with self._lock:
                self.bar.update(n)


def call_task(fn: Callable[..., Any], *args: Any, tick: Any) -> Any:
    """``fn(*args, tick=tick)`` with BLAS on one thread, as every backend runs a task: a
    threaded BLAS adds in an order that depends on its thread count, which differs
    between this process, a Dask worker and another machine (see
    :func:`plastix._util.threads.one_blas_thread`)."""
    from plastix._util.threads import one_blas_thread

    with one_blas_thread():
        return fn(*args, tick=tick)


def _run_here(tasks, on_result, *, client, threads, retries, bar) -> None:
    from plastix._util.threads import one_blas_thread

    with one_blas_thread():  # set here, in the calling thread, for the pool's threads too
        _run_in_threads(tasks, on_result, threads=threads, bar=bar)


def _run_in_threads(tasks, on_result, *, threads, bar) -> None:
    stop = threading.Event()
    tick = _Tick(bar, stop)
    if threads == 1 or len(tasks) == 1:
        for task in tasks:
            on_result(task, call_task(task.fn, *task.args, tick=tick))
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(tasks))) as pool:
        jobs = {pool.submit(call_task, t.fn, *t.args, tick=tick): t for t in tasks}
        try:
            for job in as_completed(jobs):
                on_result(jobs[job], job.result())
        except BaseException:
            stop.set()  # running tasks stop at their next progress report
            for job in jobs:
                job.cancel()
            raise


BACKENDS.register(Backend("in-process", "the tasks run in this process, `threads` at a time "
                          "(the default)", lambda client: client is None, _run_here))


# ----------------------------------------------------------------------- dask


def _run_dask(tasks, on_result, *, client, threads, retries, bar) -> None:
    from distributed import as_completed as dask_completed

    check_client(client)
    by_key = {f"plastix-{t.key}": t for t in tasks}
    futures = [client.submit(call_task, t.fn, *t.args, tick=None, key=k, pure=False,
                             retries=retries)
               for k, t in by_key.items()]
    failed: list[tuple[Task, BaseException]] = []
    done = 0
    try:
        for fut in dask_completed(futures):
            task = by_key[fut.key]
            if fut.status != "finished":
                failed.append((task, fut.exception() if fut.status == "error"
                               else RuntimeError(f"the task was {fut.status}")))
                continue
            on_result(task, fut.result())
            fut.release()
            done += 1
            if bar is not None:
                bar.update(task.size)
    except BaseException:
        client.cancel(futures)
        raise
    if failed:
        task, err = failed[0]
        others = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise TaskError(f"task {task.name()}{others} failed on every one of its {retries + 1} "
                        f"tries on the Dask cluster: {type(err).__name__}: {err}; {done} of "
                        f"{len(tasks)} tasks finished and were saved, so a rerun computes only "
                        "the rest.")


def _is_client(client: Any) -> bool:
    return client is not None


BACKENDS.register(Backend("dask", "the tasks run on a dask.distributed cluster (`client=`, "
                          "CLI --workers N or --scheduler ADDRESS)", _is_client, _run_dask))


def check_client(client: Any) -> None:
    """Check that ``client`` is a connected Dask client whose workers can import plastix.

    Raises
    ------
    TypeError
        ``client`` is not a :class:`distributed.Client`.
    ValueError
        The cluster has no workers, or some workers lack plastix.
    """
    if not (hasattr(client, "submit") and hasattr(client, "get_versions")):
        raise TypeError(f"`client` must be a distributed.Client (or None to run here); got "
                        f"{type(client).__name__}.")
    versions = client.get_versions(packages=["plastix"]).get("workers", {})
    if not versions:
        return  # no worker yet (an adaptive cluster): tasks wait for one
    lacking = sorted(w for w, v in versions.items() if not v.get("packages", {}).get("plastix"))
    if lacking:
        raise ValueError(f"{len(lacking)} of {len(versions)} Dask workers cannot import plastix "
                         f"(e.g. {lacking[0]}); install plastix in the workers' Python "
                         "environment (the same version as here) and restart them.")


@contextlib.contextmanager
def imported_on_workers(client: Any, *modules: str) -> Iterator[None]:
    """Inside this block, ``modules`` are imported in the main thread of every worker of
    ``client``'s cluster, now and on workers that join or restart meanwhile (a Dask
    worker plugin), for modules that cannot be imported from a task's thread (Brian2).

    The plugin is unregistered on exit, so the user's cluster is left as it was (the
    modules stay imported in the workers that imported them).  ``client=None``: nothing.
    """
    if client is None:
        yield
        return
    from plastix._util.dask_worker import MainThreadImport

    check_client(client)
    name = "plastix-import-" + "-".join(modules)
    client.register_plugin(MainThreadImport(modules), name=name)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a cluster that is gone keeps nothing
            client.unregister_worker_plugin(name)


@contextlib.contextmanager
def local_cluster_environ() -> Iterator[None]:
    """Dask's settings for the workers a ``LocalCluster`` spawns inside this block, less
    ``MALLOC_TRIM_THRESHOLD_``: with Dask's default (64 KiB) glibc returns memory after
    every large free, and a sweep task then spends ~15 % more CPU time (measured on a
    batch of 10 SRE models).  Dask's configuration is restored on exit."""
    import dask

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        yield


MAX_WORKERS_PER_CORE = 4
"""Local worker processes per core that ``--workers`` may start (more only thrash)."""


class SchedulerUnreachable(ConnectionError, ValueError):
    """No Dask scheduler answered at the address given (a user's input: one line)."""


def check_client_flags(workers: Any, scheduler: Any) -> None:
    """Refuse, before any work, ``--workers`` / ``--scheduler`` values that cannot make a
    client: both given, workers not an int >= 1 or more than
    :data:`MAX_WORKERS_PER_CORE` per core, an empty scheduler address."""
    if workers is not None and scheduler is not None:
        raise ValueError("give `--workers` (start a local cluster) or `--scheduler` (connect "
                         "to a running one), not both.")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"`--workers` must be an int >= 1 (worker processes of a local "
                             f"Dask cluster); got {workers!r}. Omit it to run in this process.")
        cores = os.cpu_count() or 1
        if workers > MAX_WORKERS_PER_CORE * cores:
            raise ValueError(f"`--workers` {workers} is more than {MAX_WORKERS_PER_CORE} per "
                             f"core of this machine ({cores} core(s)): each worker is a process "
                             f"of its own; use at most {cores} (one per core), or --scheduler "
                             "ADDRESS for a cluster of several machines.")
    if scheduler is not None and not str(scheduler).strip():
        raise ValueError("`--scheduler` is empty; give a running scheduler's address "
                         "(tcp://HOST:PORT) or its scheduler file (.json), or omit the flag.")


@contextlib.contextmanager
def open_client(*, workers: int | None = None, scheduler: str | None = None,
                out: Any = None, timeout: float = SCHEDULER_TIMEOUT_S) -> Iterator[Any]:
    """A Dask client for the CLI's ``--workers N`` / ``--scheduler ADDRESS``, or None.

    ``workers`` starts a ``LocalCluster`` of that many worker processes with one
    thread each (closed on exit); ``scheduler`` connects to a running scheduler
    (``tcp://host:port``, or a scheduler file ending in ``.json``).  Prints one line
    with the dashboard's address to ``out`` (default: stderr).  Neither: yields None
    (run here).  ``timeout`` (s) bounds the wait for a scheduler.
    """
    out = sys.stderr if out is None else out
    check_client_flags(workers, scheduler)
    if workers is None and scheduler is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if workers is not None:
        with local_cluster_environ(), LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0") as cluster, Client(cluster) as client:
            print(f"dask: {workers} local worker processes; dashboard at "
                  f"{client.dashboard_link}", file=out, flush=True)
            yield client
        return
    kw = ({"scheduler_file": scheduler} if str(scheduler).endswith(".json")
          else {"address": scheduler})
    if "scheduler_file" in kw and not os.path.isfile(scheduler):
        raise FileNotFoundError(f"`--scheduler` {scheduler}: no such scheduler file; give the "
                                "file the scheduler wrote (`dask scheduler --scheduler-file "
                                "FILE`) or its address tcp://HOST:PORT.")
    try:
        client = Client(**kw, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        raise SchedulerUnreachable(f"`--scheduler` {scheduler}: no Dask scheduler answered "
                                   f"within {timeout:g} s ({type(err).__name__}); start one "
                                   "(`dask scheduler`) or check the address (tcp://HOST:PORT "
                                   "or a scheduler file .json).") from None
    with client:
        print(f"dask: connected to {scheduler}; dashboard at {client.dashboard_link}",
              file=out, flush=True)
        yield client
