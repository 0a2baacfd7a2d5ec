"""What an estimate needs of a parsed pairing table: enough rows, and strata (``by``)
that name label columns whose values repeat.

:func:`plastix.estimate.pairing.estimate_pairing` refuses a table with
:func:`check_table`, and ``plastix inspect`` calls the same function, so that it never
says ready for a table the estimate would refuse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plastix._util.errors import did_you_mean

__all__ = ["MIN_ROWS", "MEASURED", "check_table", "strata", "by_error"]


#: fewest rows an alignment is estimated from
MIN_ROWS = 3
#: per-row measurements: not groups of rows (``by=``)
MEASURED = ("delta_t", "weight_ratio", "weight_sem", "control_ratio")


def strata(table: pd.DataFrame, by: list[str]) -> list[np.ndarray]:
    """Row indices of each ``by`` group (one group of all rows without ``by``)."""
    if not by:
        return [np.arange(len(table))]
    codes = table.groupby(by, sort=True, dropna=False).ngroup().to_numpy()
    return [np.flatnonzero(codes == c) for c in np.unique(codes)]


def check_table(table: pd.DataFrame, by: str | list[str] | None = None) -> list[str]:
    """Refuse a parsed pairing table :func:`estimate_pairing` cannot estimate from, as it
    would (fewer than :data:`MIN_ROWS` rows; ``by`` naming a measured or absent column, or
    groups of one row); ``plastix inspect`` calls it so that it never says ready for a
    table the estimate refuses.

    Parameters
    ----------
    table : pandas.DataFrame
        As :func:`~plastix.io.table.load_pairing_table` returns it.
    by : str or list of str, optional
        Columns whose values define strata (resampled and permuted within).

    Returns
    -------
    list of str
        The ``by`` columns.

    Raises
    ------
    ValueError
        One line: what is wrong and the fix.
    """
    if len(table) < MIN_ROWS:
        raise ValueError(f"`table` has {len(table)} row(s): an alignment over rows, its interval "
                         f"and its null need at least {MIN_ROWS} experiments (or group means); "
                         "add rows.")
    by = [by] if isinstance(by, str) else list(by or [])
    for col in by:
        if col in MEASURED:
            raise ValueError(f"`by` must name a label or protocol column (a preparation, a lab, "
                             f"a frequency); {col!r} is a measured value of each row. Drop it.")
        if col not in table.columns:
            raise ValueError(by_error(col, table))
    if by and max(map(len, strata(table, by))) < 2:
        raise ValueError(f"`by` {','.join(by)!r} puts every row in a group of its own: nothing "
                         "would be resampled or permuted, so the interval and the p-value "
                         "would mean nothing. Group by a column whose values repeat.")
    return by


def by_error(col: str, table: pd.DataFrame) -> str:
    """The refusal of a ``by`` that names no column: the table's own columns (as read,
    without the defaults plastix adds) and its labels."""
    own = table.attrs.get("columns") or list(table.columns)
    labels = [c for c in table.attrs.get("labels", []) if c in table.columns]
    usable = [c for c in table.columns if c not in MEASURED]
    named = f" (labels: {', '.join(map(repr, labels))})" if labels else " (no label columns)"
    return (f"`by` must name columns of the table; got {col!r}; its columns are "
            f"{', '.join(map(repr, own))}{named}." + did_you_mean(col, usable))
