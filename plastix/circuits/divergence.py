"""Detect a simulation that diverged, before its output is turned into a record.

A runaway circuit (a Hebbian rule whose gain outgrows the decay, an Euler step too
large for the learning rate) produces rates or weights that the record validator
would refuse as "overflowed or corrupt" values of a file.  The simulators call
:func:`find_divergence` on their own arrays first, so that the user reads that the
*simulation* diverged, with the parameters to change, instead.

The bounds are the record's (:data:`plastix.record.MAX_WEIGHT`,
:data:`plastix.record.MAX_RATE_HZ`, :data:`plastix.record.MAX_ARBITRARY`): any
array within them is accepted by :func:`plastix.record.validate_record`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plastix.record import beyond_bound, first_flagged

__all__ = ["Divergence", "SimulationDiverged", "find_divergence", "first_beyond"]


class SimulationDiverged(ValueError):
    """A simulation ran away (non-finite values, or values beyond the record's bounds)."""


@dataclass(frozen=True)
class Divergence:
    """Where a simulated array first left its bound.

    Attributes
    ----------
    label : str
        What the array is, e.g. ``"post rate"`` or ``"weight"``.
    value : float
        The first offending value (may be inf or NaN), in ``unit``.
    unit : str
        Its unit (``""`` for dimensionless).
    time : float
        The time (s) of the first sample beyond the bound.
    """

    label: str
    value: float
    unit: str
    time: float

    def describe(self) -> str:
        """``"post rate 1.1e+04 Hz at t = 1.83 s"``."""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label} {self.value:.2g}{unit} at t = {self.time:.3g} s"


def first_beyond(values: np.ndarray, bound: float, time_axis: int, *,
                 nan_is_divergence: bool = False) -> tuple[int, float] | None:
    """The first index along ``time_axis`` where ``values`` is infinite or beyond ±``bound``.

    Parameters
    ----------
    values : numpy.ndarray
        Simulated values (any shape).
    bound : float
        Largest allowed magnitude, in the values' units.
    time_axis : int
        The axis of time.
    nan_is_divergence : bool
        Count NaN as divergence (an overflow's ``inf - inf``); False where NaN marks
        unrecorded entries (the circuits' unrecorded synapses).

    Returns
    -------
    (int, float) or None
        The time index and the first offending value there; None when all are within.
    """
    arr = np.moveaxis(np.asarray(values, dtype=float), time_axis, 0)
    hit = first_flagged(beyond_bound(arr, bound, nan=nan_is_divergence))
    if hit is None:
        return None
    return hit[1][0], float(arr[hit[1]])


def find_divergence(arrays: Sequence[tuple[str, np.ndarray, float, str, np.ndarray, int]], *,
                    nan_is_divergence: bool = False) -> Divergence | None:
    """The earliest divergence over several simulated arrays, or None.

    Parameters
    ----------
    arrays : sequence of (label, values, bound, unit, times, time_axis)
        Each simulated array, the largest magnitude it may hold (in ``unit``), the
        times (s) of its samples along ``time_axis``.  Infinities count as beyond.
    nan_is_divergence : bool
        Count NaN as divergence too (default: NaN marks unrecorded synapses).

    Returns
    -------
    Divergence or None
        The array that left its bound first (earliest time), else None.
    """
    found = []
    for label, values, bound, unit, times, axis in arrays:
        hit = first_beyond(values, bound, axis, nan_is_divergence=nan_is_divergence)
        if hit is not None:
            found.append(Divergence(label, hit[1], unit, float(np.asarray(times)[hit[0]])))
    return min(found, key=lambda d: d.time) if found else None
