"""Dask worker plugins of plastix (imported only when a cluster is used: it imports
``distributed``)."""

from __future__ import annotations

import importlib
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["MainThreadImport"]


class MainThreadImport(WorkerPlugin):
    """Import ``modules`` on each worker when it starts, in its main thread (tasks run in
    other threads, and Brian2's import installs a SIGINT handler, which only the main
    thread may do)."""

    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = tuple(modules)

    def setup(self, worker: Any) -> None:
        for name in self.modules:
            importlib.import_module(name)
