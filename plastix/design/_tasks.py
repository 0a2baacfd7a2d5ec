"""Measure a design's simulated sessions through the executor seam
(:mod:`plastix._util.executor`): calibration sessions and replicate sessions alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.executor import Task, run_tasks
from plastix.design.resume import record_hash

__all__ = ["measure_records", "measure_session"]


def measure_records(records: Sequence[xr.Dataset], measure: Callable[[xr.Dataset], float], *,
                    what: str, bar: Any = None, client: Any = None) -> np.ndarray:
    """``measure(record)`` of every record (shape ``(len(records),)``), one task each.

    In this process without ``client``.  On a cluster, sessions that ``measure``'s resume
    folder holds (:func:`plastix.design.resume.resumable_measure`: ``lookup``) are read
    here, the others are measured by the workers (``measure.inner``) and stored here
    (``store``) as they finish.  A task is keyed by its record's hash and carries the
    record, so its number does not depend on where it runs.  ``what`` names the
    sessions in messages; ``bar`` advances by one per session.
    """
    out = np.empty(len(records))
    if client is None:
        for i, rec in enumerate(records):
            out[i] = measure(rec)
            if bar is not None:
                bar.update(1)
        return out
    lookup, store = getattr(measure, "lookup", None), getattr(measure, "store", None)
    tasks = []
    for i, rec in enumerate(records):
        value = lookup(rec) if lookup is not None else None
        if value is not None:
            out[i] = value
            measure.reused += 1  # type: ignore[attr-defined]
            if bar is not None:
                bar.update(1)
            continue
        tasks.append(Task(f"design-{record_hash(rec)[:24]}-{i}", measure_session,
                          (getattr(measure, "inner", measure), rec, i),
                          label=f"session {i} of {what}"))

    def save(task: Task, value: float) -> None:
        out[task.args[2]] = value
        if store is not None:
            store(task.args[1], value)
            measure.measured += 1  # type: ignore[attr-defined]

    run_tasks(tasks, save, client=client, bar=bar)
    return out


def measure_session(measure: Callable[[xr.Dataset], float], record: xr.Dataset, index: int,
                    *, tick: Any = None) -> float:
    """One task of a design on a cluster: ``measure(record)`` (``index`` travels along)."""
    return float(measure(record))
