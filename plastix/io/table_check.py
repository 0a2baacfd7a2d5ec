"""What an estimate needs of a parsed pairing table: enough rows, and strata (``by``)
that name label columns whose values repeat; and the warnings the reader gives about
values that look written in another unit than their header says (percent as
fractions, milliseconds as seconds and back, SDs for SEMs).

:func:`plastix.estimate.pairing.estimate_pairing` refuses a table with
:func:`check_table`, and ``plastix inspect`` calls the same function, so that it never
says ready for a table the estimate would refuse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plastix._util.errors import did_you_mean
from plastix._util.warn import warn_caller
from plastix.io.table_header import COLUMNS, column_key, unit_word

__all__ = ["MIN_ROWS", "MEASURED", "check_table", "strata", "by_error", "LONGEST_PAIRING",
           "MIN_LONGEST_PAIRING", "warn_percent", "warn_delta_t_scale", "warn_sd",
           "warn_percent_values"]


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


# ------------------------------------------------------------------ values in another unit


_PERCENT_LIKE = 5.0
"""A ratio or change with no unit whose median magnitude exceeds this looks like percent."""


def warn_percent(out: pd.DataFrame, units: dict[str, str], names: list[str]) -> None:
    """Warn when a unitless ratio or change looks like it was written in percent."""
    for name in ("weight_ratio", "weight_change"):
        if name in names and name not in units:
            raw = out["weight_ratio"].to_numpy() - (1.0 if name == "weight_change" else 0.0)
            if np.nanmedian(np.abs(raw)) > _PERCENT_LIKE:
                warn_caller(f"`{name}` has no unit in its header and is read as a fraction "
                            f"(1 = {'no change' if name == 'weight_ratio' else '+100%'}); "
                            f"its values (median magnitude {np.nanmedian(np.abs(raw)):g}) "
                            "look like percent: "
                            f"write '{name} [%]' if they are.", UserWarning)


#: the longest |delta_t| (s) read without a warning when the header gives its unit: a
#: spike-timing window spans tens of ms, and behavioural-timescale plasticity, the slowest
#: pairing rule reported (Bittner et al. 2017, Science 357:1033), pairs a plateau with
#: spikes up to about 5 s apart; the usual timings of tens of ms, written as numbers
#: under [s], read as tens of seconds, where every spike-time kernel is zero
LONGEST_PAIRING = 10.0
#: the largest |delta_t| (s) below which a table is warned about: spike-timing pairings
#: span a few ms to ~100 ms (the window's usual span), so a table none of whose pairings
#: reaches 1 ms tests no part of it; the usual timings written in seconds under [ms]
#: (0.005 to 0.1) read as 5 to 100 µs, far below this, and a real table's largest
#: timing (10 ms or more) far above it
MIN_LONGEST_PAIRING = 1e-3


def warn_delta_t_scale(delta_t: np.ndarray, unit: str | None, written: str,
                       of: str = "") -> None:
    """Warn when ``delta_t`` (s) looks like milliseconds (above 1 s with no unit in the
    header, above :data:`LONGEST_PAIRING` with one) or like seconds under a ``[ms]`` header
    (every value below :data:`MIN_LONGEST_PAIRING`); ``written`` is its header as
    written, ``of`` where the table is (`` of 'x.csv'``)."""
    longest = float(np.nanmax(np.abs(delta_t))) if delta_t.size else 0.0
    if unit is None and longest > 1.0:
        warn_caller("`delta_t` has no unit in its header and is read in seconds; values above "
                    "1 s look like milliseconds: write 'delta_t [ms]' if they are.",
                    UserWarning)
    elif unit is not None and longest > LONGEST_PAIRING:
        fix = ("write 'delta_t [ms]' if they are" if unit_word(unit) == "s" else
               "check the unit in its header ('delta_t [ms]' for milliseconds)")
        warn_caller(f"`delta_t` is read in {unit} (its header's unit) and reaches {longest:g} "
                    f"s in magnitude, longer than any pairing protocol (spike-timing windows "
                    f"span tens of ms; the slowest pairing rules a few seconds): values like "
                    f"these look like milliseconds: {fix}.", UserWarning)
    elif 0 < longest < MIN_LONGEST_PAIRING:
        shown = unit if unit is not None else "s"
        scale = COLUMNS["delta_t"][1][unit_word(shown)]  # type: ignore[index]  # read already
        low, high = np.nanmin(delta_t) / scale, np.nanmax(delta_t) / scale
        fix = ("values like these look like seconds written under [ms]: write the header "
               "'delta_t [s]' if they are, or multiply them by 1000" if unit_word(shown) == "ms"
               else "check the values and the unit in its header ('delta_t [ms]' for "
               "milliseconds, 'delta_t [s]' for seconds)")
        warn_caller(f"`delta_t`{of} (column {written!r}) runs from {low:g} to "
                    f"{high:g} {shown}: every |delta_t| is below "
                    f"{MIN_LONGEST_PAIRING * 1e3:g} ms, shorter than any spike-timing "
                    f"pairing (a few ms to ~100 ms); {fix}.", UserWarning)


_SD_NAMES = frozenset(("sd", "s_d", "std", "stdev", "st_dev", "std_dev", "standard_deviation",
                       "weight_sd", "weight_std", "sd_ratio", "ratio_sd"))


def warn_sd(names: list[str], of: str = "") -> None:
    """Warn that a standard-deviation column (``SD``) is kept as a label and not used: the
    rows are weighted by ``weight_sem`` (the reader takes no SDs), else by ``n``; ``of``
    where the table is (`` of 'x.csv'``)."""
    if "weight_sem" in names:
        return
    for name in names:
        if name not in COLUMNS and column_key(name).replace(".", "") in _SD_NAMES:
            n = " (SEM = SD/√n, with n the column 'n')" if "n" in names else " (SEM = SD/√n)"
            warn_caller(f"column {name!r} of the pairing table{of} looks like standard "
                        "deviations: it is kept as a label and not used. plastix weights "
                        "the rows by standard errors, from a column 'weight_sem', else by "
                        f"'n'; to weight by them, add 'weight_sem'{n}.", UserWarning)


def warn_percent_values(name: str, values: np.ndarray) -> None:
    """Warn when a ratio or change in ``[%]`` looks like % of baseline or like fractions
    (``values`` as written, in percent)."""
    v = values[np.isfinite(values)]
    if not v.size:
        return
    if name == "weight_change" and (v >= 0).all() and 50 <= np.median(v) <= 200:
        warn_caller(f"`weight_change [%]` values are all >= 0 with a median of "
                    f"{np.median(v):g}: they look like % of baseline (100 = no change), "
                    "which is a ratio: name the column 'weight_ratio [%]' if they are.",
                    UserWarning)
    elif name in ("weight_change", "weight_ratio") and (
            np.abs(v) < (1.0 if name == "weight_change" else 5.0)).all():
        warn_caller(f"`{name} [%]` values are all below "
                    f"{1 if name == 'weight_change' else 5} in magnitude ({v.min():g} to "
                    f"{v.max():g}): they look like fractions "
                    f"({'0.5 = +50%' if name == 'weight_change' else '1.5 = 150%'}), not "
                    "percent: drop the [%] from the header if they are.", UserWarning)
