"""The ``--workers N`` / ``--scheduler ADDRESS`` flags shared by commands that run
independent tasks (:mod:`plastix._util.executor`)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["add_cluster_flags", "cluster_client"]


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers`` and ``--scheduler`` (Dask) to ``parser``."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run the independent tasks on a local Dask cluster of N worker "
                             "processes (one thread each); same numbers as without")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the tasks on a running Dask scheduler (tcp://HOST:PORT, or "
                             "a scheduler file .json, e.g. from dask-jobqueue on SLURM)")


@contextlib.contextmanager
def cluster_client(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client the flags ask for (printing the dashboard's address), or None."""
    from plastix._util.executor import open_client

    with open_client(workers=args.workers, scheduler=args.scheduler) as client:
        yield client
