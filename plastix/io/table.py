"""Tidy tables of pairing experiments (issue 15, item 4): CSV, TSV, Parquet or a DataFrame.

One row per pairing experiment (or per group mean).  Columns, by name; a unit
may follow in brackets (``delta_t [ms]``, ``frequency [Hz]``), no brackets
means SI (seconds, hertz).  Values are converted to SI here, at the boundary.

============== ========= =============================================================
column         required  meaning (units accepted in brackets)
============== ========= =============================================================
delta_t        yes       post spike time − pre spike time; > 0: pre before post
                         (s, ms, us, µs, min)
weight_ratio   one of    weight after / weight before (1, %: ``150`` in ``[%]`` is 1.5)
weight_before  the two   weight before and after pairing, any unit (the same for both;
weight_after   forms     the unit cancels in the ratio)
weight_sem     no        standard error of the row's ratio (ratio units), or of
                         ``weight_after`` in the weights' unit (divided by
                         ``weight_before`` here); > 0
n              no        cells averaged in the row (default 1); integer ≥ 1
frequency      no        pairing rate within a train (Hz, kHz, mHz, 1/s); > 0
n_pairings     no        pairings per train (default 1); integer ≥ 1
n_trains       no        trains (default 1; assumed far apart); integer ≥ 1
control_ratio  no        after / before of an unpaired control pathway; the row's
                         ratio is divided by it (drift correction); > 0
experiment     no        id of the row; unique
(any other)    no        kept as a label (its bracketed unit, if any, is kept
                         in ``attrs["units"]``), usable to group (``by=``)
============== ========= =============================================================

NaN policy: a NaN (empty cell) in any of the columns above is refused by
default (``nan="refuse"``: a ValueError naming the rows); ``nan="drop"``
drops those rows with a warning that gives the count (kept in
``attrs["n_dropped"]``).  NaN in label columns is kept.

A table is not a record (no activity, no weight time axis), so it is not a
:class:`plastix.io.formats.Format` (whose ``read`` returns a validated record
and whose ``write`` takes one): :func:`load_pairing_table` is its reader, and
:data:`TABLE_SUFFIXES` / :func:`is_pairing_table` let a caller (the CLI) route
a path to it.  Rows are numbered from 0, header excluded, in every message.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plastix._util.errors import check_choice, did_you_mean

__all__ = ["load_pairing_table", "is_pairing_table", "header_units", "TABLE_SUFFIXES",
           "COLUMNS", "NAN_POLICIES"]

#: suffixes read as tables, with the pandas reader of each
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq")
#: what to do with rows holding NaN in a known column
NAN_POLICIES = ("refuse", "drop")

_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "min": 60.0}
_FREQ = {"Hz": 1.0, "kHz": 1e3, "mHz": 1e-3, "1/s": 1.0}
_RATIO = {"1": 1.0, "%": 1e-2}
_COUNT = {"1": 1.0}

#: the known columns: name → (SI unit, accepted units with their factor to SI, or None for
#: "any unit, kept": the weights); integers are counts
COLUMNS: dict[str, tuple[str, Mapping[str, float] | None]] = {
    "delta_t": ("s", _TIME), "weight_ratio": ("1", _RATIO), "weight_before": ("", None),
    "weight_after": ("", None), "weight_sem": ("1", None), "n": ("1", _COUNT),
    "frequency": ("Hz", _FREQ), "n_pairings": ("1", _COUNT), "n_trains": ("1", _COUNT),
    "control_ratio": ("1", _RATIO),
}
_COUNTS = ("n", "n_pairings", "n_trains")
_POSITIVE = ("weight_sem", "frequency", "control_ratio")
_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")


def is_pairing_table(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a table (by its suffix, case-insensitive)."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _read_frame(source: Any) -> tuple[pd.DataFrame, str]:
    """The raw DataFrame of a path or a DataFrame, and a source string."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "DataFrame"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"`table` must be a path (.csv, .tsv, .parquet) or a pandas.DataFrame; "
                        f"got {type(source).__name__}.")
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        got = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ValueError(f"`table` must end in one of {', '.join(TABLE_SUFFIXES)}; got "
                         f"{path.name!r} ({got})." + did_you_mean(path.suffix, TABLE_SUFFIXES))
    if not path.exists():
        raise FileNotFoundError(f"`table` {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"`table` {str(path)!r} is a folder, not a file; pass the table file "
                         "itself.")
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path), str(path)
        except ImportError as err:  # pandas finds no Parquet engine
            raise ImportError(f"`table` {path.name!r} is Parquet, and plastix needs `pyarrow` to "
                              "read it (an optional dependency); install it with: pip install "
                              "'plastix[parquet]' (or pip install 'pyarrow>=16,<27'), or save "
                              "the table as CSV.") from err
    try:
        frame = pd.read_csv(path, sep="\t" if suffix in (".tsv", ".tab") else ",")
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"`table` {path.name!r} is empty: a header row and one row per "
                         "pairing experiment are needed.") from err
    return frame, str(path)


def _parse_header(columns: Any) -> tuple[list[str], dict[str, str]]:
    """Column names without their brackets, and the unit given for each (if any)."""
    names, units = [], {}
    for col in columns:
        m = _HEADER.match(str(col))
        if m is None:
            raise ValueError(f"`table` column {str(col)!r} must be a name with at most one unit "
                             "in brackets, e.g. 'delta_t [ms]'.")
        name = m["name"]
        if name in names:
            raise ValueError(f"`table` has two columns named {name!r} (units aside); keep one.")
        names.append(name)
        if m["unit"] is not None:
            units[name] = m["unit"].strip()
    return names, units


def header_units(table: Any) -> dict[str, str | None]:
    """The columns of a table as written: name → the unit in its brackets (None: none).

    Reads the file (or takes the DataFrame) as :func:`load_pairing_table` does, without
    checking the values; for ``plastix inspect``.
    """
    frame, _ = _read_frame(table)
    names, units = _parse_header(frame.columns)
    return {n: units.get(n) for n in names}


def _hint(wanted: str, others: list[str]) -> str:
    """" Did you mean 'x'? Rename that column 'wanted'." for the closest other column."""
    hint = did_you_mean(wanted, others)
    return f"{hint} Rename that column {wanted!r}." if hint else ""


def _require(names: list[str]) -> None:
    """Refuse a table without ``delta_t`` or a weight change, with "did you mean"."""
    others = [n for n in names if n not in COLUMNS]
    found = ", ".join(map(repr, names)) or "none"
    if "delta_t" not in names:
        raise ValueError("`table` must have a column 'delta_t' (post spike time minus pre spike "
                         f"time, e.g. 'delta_t [ms]'); found columns {found}."
                         + _hint("delta_t", others))
    if "weight_ratio" in names:
        if "weight_before" in names or "weight_after" in names:
            raise ValueError("`table` must give the weight change once: 'weight_ratio' or "
                             "'weight_before' and 'weight_after', not both.")
        return
    have = [n for n in ("weight_before", "weight_after") if n in names]
    if len(have) == 1:
        miss = ({"weight_before", "weight_after"} - set(have)).pop()
        raise ValueError(f"`table` has {have[0]!r} but not {miss!r}; give both, or "
                         f"'weight_ratio' (after/before); found columns {found}."
                         + _hint(miss, others))
    if not have:
        raise ValueError("`table` must have a column 'weight_ratio' (after/before) or both "
                         f"'weight_before' and 'weight_after'; found columns {found}."
                         + _hint("weight_ratio", others))


def _factor(name: str, unit: str | None, weight_unit: str | None) -> float:
    """The factor that converts column ``name`` from ``unit`` to SI."""
    si, table = COLUMNS[name]
    if name == "weight_sem" and weight_unit is not None:  # SEM of the weights, their unit
        if unit not in (None, weight_unit):
            raise ValueError(f"`weight_sem` must be in the weights' unit "
                             f"({weight_unit or 'none'}); got {unit!r}.")
        return 1.0
    if name == "weight_sem":
        table = _RATIO
    if unit is None or table is None:
        return 1.0
    if unit not in table:
        kind = {"s": "time", "Hz": "frequency"}.get(si, "dimensionless")
        raise ValueError(f"`{name}` has an unknown unit {unit!r} in its header; a {kind} "
                         f"column accepts {', '.join(map(repr, table))}."
                         + did_you_mean(unit, table))
    return table[unit]


def _numbers(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as float, or a ValueError naming the first cell that is not a number."""
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(values) & frame[name].notna().to_numpy())
    if bad.size:
        raise ValueError(f"`{name}` must hold numbers; got {frame[name].iloc[bad[0]]!r} in row "
                         f"{bad[0]}.")
    return values


def _rows(idx: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:5])
    return f"row {shown}" if idx.size == 1 else f"rows {shown}" + (", ..." if idx.size > 5
                                                                   else "")


def _handle_nan(out: pd.DataFrame, known: list[str], nan: str) -> tuple[pd.DataFrame, int]:
    """Refuse or drop the rows with NaN in a known column (see the module docstring)."""
    isnan = out[known].isna().to_numpy()
    bad = np.flatnonzero(isnan.any(axis=1))
    if not bad.size:
        return out, 0
    cols = [c for c, any_ in zip(known, isnan.any(axis=0), strict=True) if any_]
    where = f"{_rows(bad)}; column(s) {', '.join(cols)}"
    if nan == "refuse":
        raise ValueError(f"`table` has NaN (empty cells) in {bad.size} of {len(out)} rows "
                         f"({where}); fill them, or pass nan='drop' to drop those rows (the "
                         "count is reported).")
    warnings.warn(f"dropped {bad.size} of {len(out)} rows of the pairing table with NaN "
                  f"({where}).", UserWarning, stacklevel=3)
    return out.drop(index=out.index[bad]).reset_index(drop=True), int(bad.size)


def _check_values(out: pd.DataFrame, before: np.ndarray | None) -> None:
    """Ratios > 0, counts integers ≥ 1, rates and SEMs > 0, unique experiment ids."""
    ratio = out["weight_ratio"].to_numpy()
    bad = np.flatnonzero(~((ratio > 0) & np.isfinite(ratio)))
    if bad.size:
        what = ("`weight_ratio` (weight after / weight before)" if before is None else
                "`weight_after / weight_before`")
        raise ValueError(f"{what} must be finite and > 0; got {ratio[bad[0]]:g} in {_rows(bad)}. "
                         "A ratio of 0 or below has no logarithm: check the signs of the "
                         "weights.")
    for name in _POSITIVE:
        if name in out:
            v = out[name].to_numpy()
            bad = np.flatnonzero(~(v > 0))
            if bad.size:
                raise ValueError(f"`{name}` must be > 0; got {v[bad[0]]:g} in {_rows(bad)}.")
    for name in _COUNTS:
        v = out[name].to_numpy()
        bad = np.flatnonzero(~((v >= 1) & (v == np.round(v))))
        if bad.size:
            raise ValueError(f"`{name}` must be an integer >= 1; got {v[bad[0]]:g} in "
                             f"{_rows(bad)}.")
        out[name] = v.astype(np.int64)
    if "experiment" in out:
        dup = out["experiment"].duplicated(keep=False).to_numpy()
        if dup.any():
            first = out["experiment"].to_numpy()[np.flatnonzero(dup)[0]]
            rows = np.flatnonzero((out["experiment"] == first).to_numpy())
            raise ValueError(f"`experiment` ids must be unique (one row per experiment or "
                             f"group); got {first!r} in {_rows(rows)}.")


def load_pairing_table(table: Any, *, nan: str = "refuse") -> pd.DataFrame:
    """Read a table of pairing experiments and return it checked, in SI units.

    Parameters
    ----------
    table : str, os.PathLike or pandas.DataFrame
        A ``.csv``, ``.tsv``/``.tab`` or ``.parquet``/``.pq`` file (Parquet needs
        ``pyarrow``), or a DataFrame, with the columns of the module docstring.
    nan : {"refuse", "drop"}
        Rows with NaN in a known column: refused (ValueError) or dropped (with
        a warning giving the count).

    Returns
    -------
    pandas.DataFrame
        One row per experiment, index ``0..R−1``: ``delta_t`` (s), ``weight_ratio``
        (after/before, control-corrected when ``control_ratio`` was given: the
        raw ratio divided by it), ``weight_sem`` (of the ratio, when given), ``n``,
        ``n_pairings``, ``n_trains`` (integers, defaults 1), ``frequency`` (Hz) and
        ``control_ratio`` when given, ``experiment`` when given, and the label
        columns.  ``attrs``: ``units`` (column → unit), ``labels`` (label columns),
        ``source``, ``n_dropped``.  Reading the result again gives the same table.

    Raises
    ------
    ValueError
        A missing column ("did you mean"), an unknown unit in brackets, a ratio
        ≤ 0, NaN rows (``nan="refuse"``), duplicated experiment ids, counts that
        are not integers ≥ 1: one line each, naming the column and the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> t = load_pairing_table(pd.DataFrame({"delta_t [ms]": [10, -10],
    ...                                      "weight_ratio [%]": [150, 70]}))
    >>> t["delta_t"].tolist(), t["weight_ratio"].tolist()
    ([0.01, -0.01], [1.5, 0.7])
    """
    check_choice("nan", nan, NAN_POLICIES)
    frame, source = _read_frame(table)
    names, units = _parse_header(frame.columns)
    frame.columns = names
    if not len(frame):
        raise ValueError("`table` has no rows: one row per pairing experiment is needed.")
    _require(names)
    frame = frame.reset_index(drop=True)
    weight_unit = None
    if "weight_before" in names:
        weight_unit = units.get("weight_before", "")
        if units.get("weight_after", "") != weight_unit:
            after_unit = units.get("weight_after") or "none"
            raise ValueError(f"`weight_before` and `weight_after` must be in the same unit; got "
                             f"{weight_unit or 'none'!r} and {after_unit!r}.")
    known = [n for n in names if n in COLUMNS]
    out = pd.DataFrame(index=frame.index)
    for name in known:
        out[name] = _numbers(frame, name) * _factor(name, units.get(name), weight_unit)
    labels = [n for n in names if n not in COLUMNS]
    for name in labels:
        out[name] = frame[name].to_numpy()
    checked = known + (["experiment"] if "experiment" in names else [])
    out, n_dropped = _handle_nan(out, checked, nan)
    if not len(out):
        raise ValueError("`table` has no rows left after dropping the rows with NaN.")
    before = None
    if weight_unit is not None:
        before = out.pop("weight_before").to_numpy()
        after = out.pop("weight_after").to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out.insert(1, "weight_ratio", after / before)
            if "weight_sem" in out:
                out["weight_sem"] = out["weight_sem"] / np.abs(before)
    for name in _COUNTS:
        if name not in out:
            out[name] = 1.0
    _check_values(out, before)
    if "control_ratio" in out:
        out["weight_ratio"] = out["weight_ratio"] / out["control_ratio"]
        if "weight_sem" in out:
            out["weight_sem"] = out["weight_sem"] / out["control_ratio"]
        out = out.drop(columns="control_ratio")
    if "delta_t" not in units and np.nanmax(np.abs(out["delta_t"].to_numpy())) > 1.0:
        warnings.warn("`delta_t` has no unit in its header and is read in seconds; values above "
                      "1 s look like milliseconds: write 'delta_t [ms]' if they are.",
                      UserWarning, stacklevel=2)
    out.attrs = {"units": {**{n: COLUMNS[n][0] for n in out if n in COLUMNS},
                           **{n: units[n] for n in labels if n in units}},
                 "labels": [n for n in labels if n != "experiment"], "source": source,
                 "n_dropped": n_dropped}
    return out
