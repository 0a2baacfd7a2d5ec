"""Tidy tables of pairing experiments (issue 15, item 4): CSV, TSV, text, Parquet, Excel
(``.xlsx``) or a DataFrame.

One row per pairing experiment (or per group mean).  Columns, by name; a unit
may follow in brackets (``delta_t [ms]``, ``frequency [Hz]``) or, for the known
columns below, in parentheses (``Δt (ms)``) or after an underscore
(``delta_t_ms``, ``weight_ratio_pct``, ``weight_before_mV``); no unit means SI
(seconds, hertz).  Units may be spelt out (``msec``, ``sec``, ``usec``, ``pct``,
``percent``), and written in another case where that is no other unit (``MS`` is
``ms``, ``hz`` is ``Hz``; ``Ms``, a megasecond, and ``MHz`` are refused).  Values are
converted to SI here, at the boundary.

Spreadsheets as labs save them are read as they are: a known column's name is matched
without regard to case, spaces or hyphens, a leading Greek delta read as "delta"
(``Delta t [ms]`` and ``Δt (ms)`` are ``delta_t``), and the usual lab names are known
(:data:`ALIASES`: ``# pairings``, ``SEM``, ``n cells``, ``freq``); rows above the header
(a title, notes) are skipped, the header being the first of the first
:data:`HEADER_SEARCH_ROWS` rows that names ``delta_t``, and a row of units right under
it (``ms``, ``%``, ``(mV)``) gives the columns their units; rows and unnamed columns
that are wholly empty (a spreadsheet's trailing separators) are dropped, and so are
whole-line ``#`` comments under the header; summary rows under the data (first cell
``mean``, ``SEM``, ``SD``, ``total``, ``mean ± SEM``; ``n`` right under one of them or
after the blank row ending the data) are left out with one warning; a row among the data
rows is data whatever its first cell (``SD``, a Sprague-Dawley rat; ``mean`` there is
warned about), and so is an ``SD`` row under them when ``SD`` labels data rows. Text
tables (:mod:`plastix.io.table_cells`) are decoded as UTF-16 (Excel's "Unicode Text"),
UTF-8 or Windows-1252; their separator is whichever of comma, semicolon or tab splits
the header into one that names ``delta_t`` (into the most fields, if several; tab for
``.tsv``/``.tab``). Numbers are read by plastix: spaces (also no-break and thin spaces)
and apostrophes between groups of three digits (``1'250.5``) are thousands separators;
in a semicolon- or tab-separated file whose numbers use a decimal comma (``-3,7``),
``1.294`` and ``1.294,2`` are read with a thousands point, and in any other file
``1,294.5`` with a thousands comma; no thousands group follows a leading 0 (``0.875``
and ``0,800`` are decimals); a number that could be either (``1.294`` in a semicolon
file that shows no decimal comma, ``1,294`` in a comma file that shows no decimal point,
either in a tab file that shows neither) is refused with the fix. Cells like ``+50%``
are read in percent. An Excel workbook is read from the sheet given as ``sheet=``, else
the only sheet (chart sheets, which hold no cells, are passed over; ``sheet=`` naming
one is refused), else the one sheet whose header names ``delta_t`` and a weight column
(a sheet that documents the columns is passed over; a warning names the sheet read when
it is not the first, and several such sheets are refused, naming them), else the first
sheet whose header names ``delta_t`` (a warning names the others); a cell in Excel's
percent format (stored 0.47, shown ``47%``; not a format that only writes a ``%`` sign,
``0.0"%"``) under a ``[%]`` column, or under a ``weight_sem`` with no unit beside a
``[%]`` ratio, is read as shown (47); formulas saved without their value and error cells
(``#DIV/0!``) are refused naming the cells (a formula whose saved result is the empty
text is an empty cell).

============== ========= =============================================================
column         required  meaning (units accepted in brackets)
============== ========= =============================================================
delta_t        yes       post spike time − pre spike time; > 0: pre before post
                         (s, ms, us, µs, min; a DataFrame's timedelta64 column in its own
                         unit, with no unit in the name)
weight_ratio   one of    weight after / weight before (1, %: ``150`` in ``[%]`` is 1.5)
weight_change  the three relative change, after / before − 1 (1, %: ``+50`` in ``[%]`` is a
               forms     ratio of 1.5)
weight_before            weight before and after pairing, any unit (the same for both,
weight_after             or two of one quantity, ``mV`` and ``µV``, converted to SI; the
                         unit cancels in the ratio)
weight_sem     no        standard error of the row's ratio (in the unit of the ratio or
                         change column unless it names its own), or of ``weight_after``
                         in the weights' unit or one of its quantity (divided by
                         ``weight_before`` here); > 0
n              no        cells averaged in the row (default 1); integer ≥ 1
frequency      no        pairing rate within a train (Hz, kHz, mHz, 1/s); > 0
n_pairings     no        pairings per train (default 1); integer ≥ 1
n_trains       no        trains (default 1; assumed far apart); integer ≥ 1 (a count
                         within 1e-9 of a whole number, a formula's round-off, is rounded)
control_ratio  no        after / before of an unpaired control pathway; the row's
                         ratio is divided by it (drift correction); > 0
experiment     no        id of the row; unique
(any other)    no        kept as a label (its bracketed unit, if any, is kept
                         in ``attrs["units"]``), usable to group (``by=``)
============== ========= =============================================================

NaN policy: a NaN in any of the columns above is refused by default
(``nan="refuse"``: a ValueError naming the rows); ``nan="drop"`` drops those
rows with a warning that gives the count (kept in ``attrs["n_dropped"]``).
A NaN is an empty cell, or a cell that marks a missing value: pandas' words
(``NA``, ``n/a``, ``NaN``; :data:`~plastix.io.table_cells.NA_TEXT`) and the
markers labs write (``n.d.``, ``nd``, ``-``, ``—``, ``n.a.``;
:data:`~plastix.io.table_cells.MISSING_MARKS`), which the messages name.  NaN
in label columns is kept.  Other cells of these columns that are not numbers
are refused in one message naming each (the first five, and how many more).

A table is not a record (no activity, no weight time axis), so it is not a
:class:`plastix.io.formats.Format` (whose ``read`` returns a validated record
and whose ``write`` takes one): :func:`load_pairing_table` is its reader, and
:data:`TABLE_SUFFIXES` / :func:`is_pairing_table` let a caller (the CLI) route
a path to it.  Rows are numbered in messages as the user sees them: a text
file's line number and an Excel sheet's row number (both 1-based, a cell as
``C18``); a DataFrame's rows by position from 0.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from plastix._util.errors import check_choice, did_you_mean
from plastix._util.warn import warn_caller
from plastix.io import table_cells
from plastix.io.table_cells import (
    EXCEL_ERRORS,
    HEADER_SEARCH_ROWS,
    NA_TEXT,
    Grid,
    Numbers,
    cell_name,
    clean,
    is_missing,
)
from plastix.io.table_cells import (
    blank as _blank,
)
from plastix.io.table_cells import (
    first_cell as _first_cell,
)
from plastix.io.table_cells import (
    summary_rows as _summary_rows,
)
from plastix.io.table_check import (
    warn_delta_t_scale,
    warn_percent,
    warn_percent_values,
    warn_sd,
)
from plastix.io.table_header import (
    ALIASES,
    COLUMNS,
    distinct_columns,
    header_name,
    is_header,
    is_table_header,
    of_baseline,
    one_row_name,
    parse_header,
    require_columns,
    unit_word,
    weight_units,
    with_units_row,
)
from plastix.io.table_header import RATIO_UNITS as _RATIO

__all__ = ["load_pairing_table", "is_pairing_table", "header_units", "TABLE_SUFFIXES",
           "COLUMNS", "NAN_POLICIES", "ALIASES", "HEADER_SEARCH_ROWS", "RESULT_NAMES",
           "label_renames"]

#: suffixes read as tables (text, Parquet, Excel)
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".xlsx")
#: spreadsheet formats recognised only to be refused with the fix (re-save as .xlsx or CSV)
_UNREAD_SPREADSHEETS = (".xls", ".ods", ".numbers")
#: what to do with rows holding NaN in a known column
NAN_POLICIES = ("refuse", "drop")

_COUNTS = ("n", "n_pairings", "n_trains")
_POSITIVE = ("weight_sem", "frequency", "control_ratio")


RESULT_NAMES = frozenset({
    "alignment", "alignment_ci", "p_value", "verdict", "term_varies", "extended", "loo_r2",
    "slope", "intercept", "hebbian_term", "signal", "signal_weight", "weight_ratio",
    "bootstrap_alignment", "null_alignment", "kernel", "bound", "row", "boot", "null"})
"""The variables, coordinates and dimensions of the estimate of a pairing table
(:func:`plastix.estimate.pairing.estimate_pairing`): a label column of the table with one
of these names is renamed ``label_<name>`` in it (:func:`label_renames`)."""


def label_renames(columns: Any) -> dict[str, str]:
    """The label columns of a table (``columns``) the result holds under another name:
    ``{name in the result: column}``; a column named like one of :data:`RESULT_NAMES`
    becomes ``label_<name>`` (``label_label_<name>`` if the table has that too, ...)."""
    columns = [str(c) for c in columns]
    renamed = {}
    for c in columns:
        if c == "weight_ratio":
            continue
        name = c
        while name in RESULT_NAMES or (name != c and name in columns):
            name = f"label_{name}"
        if name != c:
            renamed[name] = c
    return renamed


def is_pairing_table(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a table (by its suffix, case-insensitive), including the
    spreadsheet formats that are refused with a fix (``.xls``, ``.ods``, ``.numbers``)."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES + _UNREAD_SPREADSHEETS




# ------------------------------------------------------------------ where a cell is


@dataclass
class _Where:
    """How the rows and cells of one table are named in messages (module docstring)."""

    file: str | None = None
    sheet: str | None = None
    text: bool = False
    sep: str | None = None
    column: dict[str, int] = field(default_factory=dict)  # canonical name → 0-based column

    def of(self) -> str:
        if self.sheet is not None:
            return f" of sheet {self.sheet!r} in {self.file!r}"
        return f" of {self.file!r}" if self.file else ""

    def rows(self, labels: Sequence[Any]) -> str:
        """``"rows 3, 4 of 'x.csv'"`` (``lines`` for a text file)."""
        word = "line" if self.text else "row"
        shown = ", ".join(str(int(i)) for i in labels[:5]) + (", ..." if len(labels) > 5
                                                               else "")
        return f"{word}{'s' * (len(labels) > 1)} {shown}{self.of()}"

    def short(self, name: str, label: Any) -> str:
        """``"C18"``, ``"line 18"`` or ``"row 3"`` (without the file)."""
        if self.sheet is not None and name in self.column:
            return cell_name(int(label), self.column[name])
        return f"{'line' if self.text else 'row'} {label}"

    def cell(self, name: str, label: Any) -> str:
        """``"cell C18 of sheet 'S' in 'x.xlsx'"``, ``"line 18 of 'x.csv'"``, ``"row 3"``."""
        if self.sheet is not None and name in self.column:
            return f"cell {cell_name(int(label), self.column[name])}{self.of()}"
        return self.rows([label])


class _Raw(NamedTuple):
    """A table as read: its cells (columns as written, index = the rows' numbers as the
    user sees them), its source, how to name its cells, and its grid (files only)."""

    frame: pd.DataFrame
    source: str
    where: _Where
    grid: Grid | None = None


# ------------------------------------------------------------------ cells to a frame


def _drop_summaries(frame: pd.DataFrame, where: _Where) -> pd.DataFrame:
    """The frame without its summary rows, with one warning naming them."""
    if not any(frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)
               for c in frame.columns):
        return frame  # no text cells: no summary rows
    labels, among = _summary_rows(frame)
    word = "line" if where.text else "row"
    if among:
        named = ", ".join(f"{str(_first_cell(frame.loc[k])).strip()!r} ({word} {k})"
                          for k in among[:6]) + (", ..." if len(among) > 6 else "")
        warn_caller(f"read {len(among)} row{'s' * (len(among) > 1)} of the pairing table"
                    f"{where.of()} whose first cell reads like a summary as data: {named}; "
                    f"{'they are' if len(among) > 1 else 'it is'} among the data rows, and "
                    "summary rows are left out only under the data: delete "
                    f"{'them' if len(among) > 1 else 'it'} if a summary.", UserWarning)
    if not labels:
        return frame
    named = ", ".join(f"{str(_first_cell(frame.loc[k])).strip()!r} ({word} {k})"
                      for k in labels[:6]) + (", ..." if len(labels) > 6 else "")
    warn_caller(f"left out {len(labels)} summary row{'s' * (len(labels) > 1)} of the pairing "
                f"table{where.of()}: {named}; a table has one row per experiment (or group).",
                UserWarning)
    return frame.drop(index=labels)


def _read_frame(source: Any, sheet: Any = None) -> _Raw:
    """The raw table of a path or a DataFrame (columns as written; summary rows, empty rows
    and empty unnamed columns dropped)."""
    if isinstance(source, pd.DataFrame):
        frame = _index_as_columns(source.copy())  # set_index("cell"), a groupby's keys
        where = _Where()
        frame = _drop_summaries(_labels_apart(frame, where), where)
        return _Raw(_without_index_column(frame), "DataFrame", where)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"`table` must be a path ({', '.join(TABLE_SUFFIXES)}) or a "
                        f"pandas.DataFrame; got {type(source).__name__}.")
    path = Path(source)
    suffix = path.suffix.lower()
    _check_path(path, suffix)
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as err:  # pandas finds no Parquet engine
            raise ImportError(f"`table` {path.name!r} is Parquet, and plastix needs `pyarrow` to "
                              "read it (an optional dependency); install it with: pip install "
                              "'plastix[parquet]' (or pip install 'pyarrow>=16,<27'), or save "
                              "the table as CSV.") from err
        frame = _index_as_columns(frame)
        where = _Where(path.name)
        return _Raw(_without_index_column(_labels_apart(frame, where)), str(path), where)
    if suffix == ".xlsx":
        grid = table_cells.read_xlsx(path, sheet, is_header, is_table_header)
    else:
        grid = table_cells.read_text(path, suffix, is_header)
    frame = table_cells.frame_of(grid, is_header, with_units_row,
                                 lambda h: header_name(h) in COLUMNS)
    where = _Where(grid.name, grid.sheet, grid.sep is not None, grid.sep)
    frame = _labels_apart(frame, where)
    where.column = {h: j for j, h in enumerate(frame.columns)}
    frame = table_cells.drop_empty(_drop_summaries(frame, where))
    frame = _without_index_column(frame)  # of the data rows: 0..R-1 under trailing ',,'
    return _Raw(frame, grid.source, where, grid)


def _index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame's (or Parquet file's) frame with its named index levels as its first
    columns (pandas stores the columns of ``set_index("cell")`` or a groupby's keys as the
    index) and its unnamed ones (0, 1, 2, ...) dropped; the rows numbered 0..R-1."""
    named = [n for n in frame.index.names if n is not None and n not in frame.columns]
    if named:
        frame = frame.reset_index(level=named)
    return frame.set_axis(pd.RangeIndex(len(frame)), axis=0)


def _labels_apart(frame: pd.DataFrame, where: _Where) -> pd.DataFrame:
    """The frame with repeated label names told apart (``notes``, ``notes.1``), with a
    warning naming them; two columns read as one known column are refused
    (:func:`plastix.io.table_header.distinct_columns`)."""
    columns, renamed = distinct_columns(list(frame.columns))
    if not renamed:
        return frame
    frame.columns = columns
    warn_caller(f"the pairing table{where.of()} repeats the label column name"
                f"{'s' * (len(renamed) > 1)} {', '.join(repr(w) for w, _ in renamed)}: the "
                f"repeat{'s are' if len(renamed) > 1 else ' is'} read as "
                f"{', '.join(repr(n) for _, n in renamed)}; rename the columns to choose "
                "the names.", UserWarning)
    return frame


def _without_index_column(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without pandas' index column: a first column with no name (``Unnamed:
    0``, as ``DataFrame.to_csv`` writes it and ``read_csv`` names it) holding the whole
    numbers 0, 1, ..., R−1 in order."""
    if not len(frame.columns) or not len(frame):
        return frame
    first = frame.columns[0]
    if not str(first).startswith("Unnamed:"):
        return frame
    cells = frame.iloc[:, 0]
    values = pd.to_numeric(cells.map(lambda v: v.strip() if isinstance(v, str) else v),
                           errors="coerce").to_numpy(dtype=float)
    if np.array_equal(values, np.arange(len(frame), dtype=float)):
        return frame.drop(columns=frame.columns[[0]])
    return frame


def _check_path(path: Path, suffix: str) -> None:
    """Refuse a path that is not a table file plastix reads, with the fix."""
    if suffix in _UNREAD_SPREADSHEETS:
        raise ValueError(f"`table` {path.name!r} is a {suffix} spreadsheet, which plastix does "
                         "not read; save it as .xlsx or as CSV (File > Save As) and pass that.")
    if suffix not in TABLE_SUFFIXES:
        got = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ValueError(f"`table` must end in one of {', '.join(TABLE_SUFFIXES)}; got "
                         f"{path.name!r} ({got})." + did_you_mean(path.suffix, TABLE_SUFFIXES))
    if not path.exists():
        raise FileNotFoundError(f"`table` {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"`table` {str(path)!r} is a folder, not a file; pass the table file "
                         "itself.")




def header_units(table: Any, *, sheet: Any = None) -> dict[str, str | None]:
    """The columns of a table: name (canonical, see the module docstring) → the unit in its
    brackets as written (None: none).

    Reads the file (or takes the DataFrame) as :func:`load_pairing_table` does, without
    checking the values; for ``plastix inspect``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load_pairing_table warns about the same file
        raw = _read_frame(table, sheet)
    names, units = parse_header(raw.frame.columns)
    return {n: units.get(n) for n in names}


# ------------------------------------------------------------------ columns




def _factor(name: str, unit: str | None, weight_unit: str | None,
            ratio_unit: str | None = None) -> float:
    """The factor that converts column ``name`` from ``unit`` to SI; a ``weight_sem``
    without a unit is in the unit of the ratio or change column (``ratio_unit``)."""
    si, table = COLUMNS[name]
    if name == "weight_change" and unit is not None and of_baseline(unit):
        raise ValueError(f"`weight_change` is headed in {unit!r} ('weight_change [{unit}]'): "
                         "% of baseline (100 = unchanged) is a ratio, and a change is 0 when "
                         "unchanged; name the column 'weight_ratio [%]'.")
    if name == "weight_sem" and weight_unit is not None:  # SEM of the weights, their unit
        if unit not in (None, weight_unit):
            raise ValueError(f"`weight_sem` must be in the weights' unit "
                             f"({weight_unit or 'none'}); got {unit!r}.")
        return 1.0
    if name == "weight_sem":
        table, unit = _RATIO, unit if unit is not None else ratio_unit
    if unit is None or table is None:
        return 1.0
    if unit_word(unit) not in table:
        kind = {"s": "time", "Hz": "frequency"}.get(si, "dimensionless")
        near = [u for u in table if u.lower() == unit_word(unit).lower()]
        hint = (f" The case of a unit's prefix changes the unit ({unit!r} is not {near[0]!r}, "
                f"M is mega and m milli): write '{name} [{near[0]}]' if that is its unit."
                if near else did_you_mean(unit, table))
        raise ValueError(f"`{name}` has an unknown unit {unit!r} in its header; a {kind} "
                         f"column accepts {', '.join(map(repr, table))}." + hint)
    return table[unit_word(unit)]


# ------------------------------------------------------------------ numbers

def _number_texts(frame: pd.DataFrame, names: list[str]) -> list[str]:
    return [v for n in names if frame[n].dtype == object for v in frame[n] if isinstance(v, str)]


_ANY_NUMBER = "Write a number, or leave the cell empty for a missing value."


def _not_a_number(name: str, text: str, where: str, numbers: Numbers) -> str:
    """The message for a cell of a known column that is not a number, with the fix."""
    fix = _number_fix(name, text, numbers)
    return f"`{name}` must hold numbers; got {text!r} in {where}. {fix}"


def _number_fix(name: str, text: str, numbers: Numbers) -> str:
    """The fix for a cell of a known column that is not a number."""
    t = text.strip()
    if t.upper() in EXCEL_ERRORS:
        return ("That is an Excel error: fix the formula (or clear the cell) in the "
                "workbook and export it again.")
    if t.endswith("%") and numbers.parse(t) is not None:
        return (f"Write {clean(t).rstrip('%').lstrip('+')} and put [%] in the header "
                f"('{name} [%]'), with every cell of the column in percent.")
    if not numbers.comma and "," in t and numbers.parse(t.replace(",", ".")) is not None:
        return ("Decimal commas are read in semicolon- or tab-separated files only: "
                "write decimal points (1.5), or save the table as CSV with semicolons.")
    if re.match(r"^[+-]?[\d.,]*\d['\u2019`]\d", t):  # an apostrophe between digits
        return ("Write the number without apostrophes between its digits (a thousands "
                "apostrophe is read only between groups of three: 1'250.5 is 1250.5).")
    if (m := re.match(r"^([+-]?[\d.,]*\d)\s*(\S.*)$", t)) and numbers.parse(m[1]) is not None:
        accepted = COLUMNS[name][1]
        if accepted is not None and unit_word(m[2]) in accepted:
            return f"Write {m[1]} and put the unit in the header ('{name} [{m[2]}]')."
        return f"Write the number alone ({m[1]})."
    return _ANY_NUMBER


#: cells named in a message, at most
_SHOWN_CELLS = 5


def _not_numbers(bad: list[tuple[str, Any, str]], raw: _Raw, numbers: Numbers) -> str:
    """The message for the cells ``(column, row label, text)`` of known columns that are
    not numbers: each named (up to :data:`_SHOWN_CELLS`, then how many more), with the
    fix they share (else: write numbers)."""
    if len(bad) == 1:
        name, label, text = bad[0]
        return _not_a_number(name, text, raw.where.cell(name, label), numbers)
    order = {n: j for j, n in enumerate(raw.where.column)}
    row = {label: i for i, label in enumerate(raw.frame.index)}
    bad = sorted(bad, key=lambda b: (row[b[1]], order.get(b[0], 0)))
    names = list(dict.fromkeys(n for n, _, _ in bad))
    shown = ", ".join(f"{text!r} ({f'{name}, ' * (len(names) > 1)}"
                      f"{raw.where.short(name, label)})" for name, label, text in
                      bad[:_SHOWN_CELLS])
    more = f" and {len(bad) - _SHOWN_CELLS} more" if len(bad) > _SHOWN_CELLS else ""
    fixes = {_number_fix(n, t, numbers) for n, _, t in bad}
    fix = fixes.pop() if len(fixes) == 1 and _ANY_NUMBER not in fixes else (
        "Write a number in each, or leave the cell empty for a missing value.")
    return (f"{' and '.join(f'`{n}`' for n in names)} must hold numbers; got {len(bad)} cells "
            f"that are not: {shown}{more}{raw.where.of()}. {fix}")


def _ambiguous(name: str, cells: list[tuple[Any, str]], raw: _Raw, numbers: Numbers) -> str:
    """The message for number cells that read as two numbers (a thousands separator?)."""
    shown = ", ".join(f"{t!r} ({raw.where.short(name, k)})" for k, t in cells[:3]) + (
        ", ..." if len(cells) > 3 else "") + raw.where.of()
    example = cells[0][1].strip()
    sep, other = (".", ",") if "." in example else (",", ".")
    kind = {";": "semicolon", "\t": "tab", ",": "comma"}.get(raw.where.sep or "")
    table = f"the {kind}-separated table" if kind else "the table"
    shows = ("a decimal comma as in '1,5' or a decimal point as in '1.5'"
             if raw.where.sep == "\t" else f"a decimal {other!r} as in '1{other}5'")
    return (f"`{name}` has numbers that read two ways: {shown}. {example!r} is "
            f"{example.replace(sep, '')} with {sep!r} as a thousands separator, or "
            f"{example.replace(sep, '.')} with a decimal {'comma' if sep == ',' else 'point'}, "
            f"and no cell of {table} shows which ({shows}). Write the numbers without "
            "thousands separators (Excel: Format Cells > Number, untick 'Use 1000 "
            "Separator') and save the table again.")


class _Column(NamedTuple):
    values: np.ndarray
    unit: str | None
    blanks: list[tuple[Any, int]]  # (row label, 0-based column) of empty cells (Excel)
    bad: list[tuple[Any, str]] = []  # (row label, text) of cells that are not numbers
    marks: list[str] = []  # the missing-value markers read as NaN (NA, n.d., -)


def _numbers(raw: _Raw, frame: pd.DataFrame, name: str, unit: str | None,
             numbers: Numbers, shown: str | None = None) -> _Column:
    """Column ``name`` as float (in its unit), the unit (``%`` when every number cell
    ends in ``%``), and its empty cells; a ValueError names the first cell that is not
    a number, with the fix.  ``shown``: the unit the column is read in, when not its
    own (a ``weight_sem`` with no unit is in the ratio's): an Excel cell formatted as
    percent (stored 0.05, shown 5%) is read as shown when that unit is ``%``."""
    shown = unit if shown is None else shown
    series = frame[name]
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return _Column(_time_spans(series, name, unit), "s" if name == "delta_t" else unit, [])
    if series.dtype != object and pd.api.types.is_numeric_dtype(series.dtype) and not \
            pd.api.types.is_bool_dtype(series.dtype):
        return _Column(series.to_numpy(dtype=float, na_value=np.nan), unit, [])
    grid, col = raw.grid, raw.where.column.get(name, -1)
    values = np.full(len(series), np.nan)
    blanks, percent, plain, ambiguous, bad, marks = [], [], 0, [], [], []
    for i, (label, v) in enumerate(zip(series.index, series.to_numpy(dtype=object),
                                       strict=True)):
        if grid is not None and (label, col) in grid.errors:
            raise ValueError(f"`{name}` must hold numbers; {raw.where.cell(name, label)} holds "
                             f"the Excel error {grid.errors[label, col]}: fix its formula (or "
                             "clear the cell) and save the workbook again.")
        if _blank(v):
            if grid is None or (label, col) not in grid.saved_empty:  # else a formula's ""
                blanks.append((label, col))
        elif isinstance(v, str) and is_missing(v):
            marks.append(v.strip())
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
                v, (bool, np.bool_)):
            pct = (grid is not None and (label, col) in grid.percent and shown is not None
                   and unit_word(shown) == "%")
            values[i] = float(v) * (100.0 if pct else 1.0)
            plain += 1
        elif isinstance(v, str) and (x := numbers.parse(v)) is not None:
            values[i] = x
            if numbers.ambiguous(v):
                ambiguous.append((label, v))
            percent.append(label) if v.strip().endswith("%") else None
            plain += not v.strip().endswith("%") and not np.isnan(x)
        else:
            bad.append((label, str(v)))
    if bad:
        return _Column(values, unit, blanks, bad)
    if ambiguous:
        raise ValueError(_ambiguous(name, ambiguous, raw, numbers))
    if percent and not (unit_word(unit or "%") == "%" and (unit is not None or not plain)):
        text = str(series[percent[0]])
        raise ValueError(_not_a_number(name, text, raw.where.cell(name, percent[0]), numbers))
    return _Column(values, "%" if percent and unit is None else unit, blanks, [], marks)


def _time_spans(series: pd.Series, name: str, unit: str | None) -> np.ndarray:
    """A timedelta64 column in seconds (only ``delta_t``, with no unit in its name)."""
    if name != "delta_t":
        raise ValueError(f"`{name}` must hold numbers; got time spans (timedelta64).")
    if unit is not None:
        raise ValueError(f"`delta_t` holds time spans (timedelta64), which carry their own "
                         f"unit, and its name says [{unit}]: drop the unit from the name.")
    spans = series.to_numpy(dtype="timedelta64[ns]")
    seconds = spans.astype(np.int64) / 1e9  # exact for whole nanoseconds (10 ms is 0.01)
    seconds[np.isnat(spans)] = np.nan
    return seconds


def _check_formulas(raw: _Raw, blanks: list[tuple[Any, int]]) -> None:
    """Refuse empty Excel cells of known columns that hold formulas with no saved value."""
    if raw.grid is None or raw.grid.sheet is None or not blanks:
        return
    found = sorted(table_cells.formulas(raw.grid, blanks), key=lambda rc: (rc[1], rc[0]))
    if not found:
        return
    cols = {c for _, c in found}
    names = [cell_name(r, c) for r, c in found]
    rows = [r for r, _ in found]
    span = (f"{names[0]}..{names[-1]}" if len(cols) == 1 and len(found) > 2
            and rows == list(range(rows[0], rows[0] + len(rows))) else ", ".join(names[:5])
            + (", ..." if len(names) > 5 else ""))
    raise ValueError(f"`table` {raw.where.file!r}, sheet {raw.where.sheet!r}: cell"
                     f"{'s' * (len(found) > 1)} {span} hold{'s' * (len(found) == 1)} formulas "
                     "with no saved value (the workbook was written by a program that does not "
                     "compute them): open the workbook in Excel or LibreOffice and save it.")


def _labels(series: pd.Series, raw: _Raw, numbers: Numbers) -> np.ndarray:
    """A label column: numbers when every filled cell is one (integers when all are whole
    and none is empty), else as read (a text table's missing-value words as NaN)."""
    if series.dtype != object:
        return series.to_numpy()
    text = raw.where.text
    values = [np.nan if _blank(v) or (text and isinstance(v, str) and v.strip() in NA_TEXT)
              else v for v in series.to_numpy(dtype=object)]
    out = []
    for v in values:
        if isinstance(v, str) and text:
            x = numbers.parse(v) if not v.strip().endswith("%") else None
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
                v, (bool, np.bool_)):
            x = float(v)
        else:
            x = None
        if x is None:
            return pd.Series(values, dtype=object).infer_objects().to_numpy()
        out.append(x)
    arr = np.asarray(out, dtype=float)
    if arr.size and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        return arr.astype(np.int64)
    return arr


# ------------------------------------------------------------------ checks


def _rows_of(out: pd.DataFrame, where: _Where, idx: np.ndarray) -> str:
    return where.rows(list(out.index[idx]))


def _handle_nan(out: pd.DataFrame, known: list[str], nan: str, where: _Where,
                marks: Sequence[str] = ()) -> tuple[pd.DataFrame, int]:
    """Refuse or drop the rows with NaN in a known column (see the module docstring);
    ``marks``: the missing-value markers read as NaN, named in the message."""
    isnan = out[known].isna().to_numpy()
    bad = np.flatnonzero(isnan.any(axis=1))
    if not bad.size:
        return out, 0
    cols = [c for c, any_ in zip(known, isnan.any(axis=0), strict=True) if any_]
    at = f"{_rows_of(out, where, bad)}; column(s) {', '.join(cols)}"
    shown = (f"the missing-value marker{'s' * (len(marks) > 1)} "
             f"{', '.join(map(repr, marks[:_SHOWN_CELLS]))}{', ...' * (len(marks) > _SHOWN_CELLS)}")
    if nan == "refuse":
        what = f"empty cells, or {shown}" if marks else "empty cells"
        raise ValueError(f"`table` has NaN ({what}) in {bad.size} of {len(out)} rows ({at}); "
                         "fill them, or pass nan='drop' (command line: --nan drop) to drop "
                         "those rows (the count is reported).")
    warn_caller(f"dropped {bad.size} of {len(out)} rows of the pairing table with NaN "
                f"({at}{f'; {shown}' if marks else ''}).", UserWarning)
    return out.drop(index=out.index[bad]), int(bad.size)


_RATIO_OF = {"weight_ratio": "`weight_ratio` (weight after / weight before)",
             "weight_change": "`1 + weight_change` (weight after / weight before)",
             "weight_before": "`weight_after / weight_before`"}


#: the relative distance from a whole number within which a count is that number (the
#: round-off of a formula or a script), not a fraction
_COUNT_ROUNDOFF = 1e-9


def _shown(x: float) -> str:
    """A number as short as ``:g`` writes it when that is the number, else in full
    (``30.5``, ``30.000001``)."""
    return f"{x:g}" if float(f"{x:g}") == x or not np.isfinite(x) else repr(float(x))


def _check_values(out: pd.DataFrame, form: str, where: _Where) -> None:
    """Ratios > 0, counts integers ≥ 1, rates and SEMs > 0, unique experiment ids;
    ``form`` is the column the ratio came from (a key of :data:`_RATIO_OF`)."""
    ratio = out["weight_ratio"].to_numpy()
    bad = np.flatnonzero(~((ratio > 0) & np.isfinite(ratio)))
    if bad.size:
        fix = ("A change of -100% or below leaves no weight: check the signs, and write "
               "'weight_change [%]' for percent." if form == "weight_change" else
               "A ratio of 0 or below has no logarithm: check the signs of the weights.")
        raise ValueError(f"{_RATIO_OF[form]} must be finite and > 0; got {ratio[bad[0]]:g} in "
                         f"{_rows_of(out, where, bad)}. {fix}")
    for name in _POSITIVE:
        if name in out:
            v = out[name].to_numpy()
            bad = np.flatnonzero(~(v > 0))
            if bad.size:
                raise ValueError(f"`{name}` must be > 0; got {v[bad[0]]:g} in "
                                 f"{_rows_of(out, where, bad)}.")
    for name in _COUNTS:
        v = out[name].to_numpy(dtype=float)
        whole = np.round(v)  # a count with round-off (0.1 * 3 * 100 = 30.000000000000004)
        near = np.abs(v - whole) <= _COUNT_ROUNDOFF * np.maximum(1.0, np.abs(whole))
        bad = np.flatnonzero(~((whole >= 1) & near))
        if bad.size:
            raise ValueError(f"`{name}` must be an integer >= 1; got {_shown(v[bad[0]])} in "
                             f"{_rows_of(out, where, bad)}.")
        out[name] = whole.astype(np.int64)
    if "experiment" in out:
        dup = out["experiment"].duplicated(keep=False).to_numpy()
        if dup.any():
            first = out["experiment"].to_numpy()[np.flatnonzero(dup)[0]]
            rows = np.flatnonzero((out["experiment"] == first).to_numpy())
            raise ValueError(f"`experiment` ids must be unique (one row per experiment or "
                             f"group); got {first!r} in {_rows_of(out, where, rows)}.")


def load_pairing_table(table: Any, *, nan: str = "refuse", sheet: Any = None) -> pd.DataFrame:
    """Read a table of pairing experiments and return it checked, in SI units.

    Parameters
    ----------
    table : str, os.PathLike or pandas.DataFrame
        A ``.csv``, ``.tsv``/``.tab``/``.txt``, ``.parquet``/``.pq`` (needs ``pyarrow``)
        or ``.xlsx`` file, or a DataFrame, with the columns of the module docstring.
    nan : {"refuse", "drop"}
        Rows with NaN in a known column (an empty cell, or a missing-value marker:
        ``NA``, ``n/a``, ``n.d.``, ``nd``, ``-``, ``—``): refused (ValueError) or dropped
        (with a warning giving the count).
    sheet : str or int, optional
        The sheet of an ``.xlsx`` workbook (name, or 0-based position); by default
        the only sheet, else the one whose header names ``delta_t`` and a weight
        column (several are refused: pass ``sheet``), else the first whose header
        names ``delta_t``.

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
        A missing column ("did you mean"), an unknown unit in brackets, cells that
        are not numbers (all named in one message) or read as two, a formula with no
        saved value or an Excel error cell, a ratio ≤ 0, NaN rows (``nan="refuse"``),
        duplicated experiment ids, counts that are not integers ≥ 1: one line each,
        naming the column and the rows (or cells) as the user sees them.

    Warns
    -----
    UserWarning
        Summary rows left out; a unitless ratio that looks like percent, a ``[%]``
        change that looks like % of baseline or like fractions; a ``delta_t`` that
        looks like milliseconds (above 1 s with no unit, above
        :data:`~plastix.io.table_check.LONGEST_PAIRING` with one) or like seconds
        under ``[ms]`` (every value below
        :data:`~plastix.io.table_check.MIN_LONGEST_PAIRING`); dropped NaN rows.

    Examples
    --------
    >>> import pandas as pd
    >>> t = load_pairing_table(pd.DataFrame({"delta_t [ms]": [10, -10],
    ...                                      "weight_ratio [%]": [150, 70]}))
    >>> t["delta_t"].tolist(), t["weight_ratio"].tolist()
    ([0.01, -0.01], [1.5, 0.7])
    """
    check_choice("nan", nan, NAN_POLICIES)
    raw = _read_frame(table, sheet)
    header = [str(c) for c in raw.frame.columns]
    try:
        names, units, out, weight_unit, marks = _read_columns(raw)
    except ValueError as err:
        two_rows = _two_row_header(raw, header)
        if two_rows is None:
            raise
        raise ValueError(two_rows) from err
    written = dict(zip(names, header, strict=True))
    labels = [n for n in names if n not in COLUMNS]
    checked = [n for n in names if n in COLUMNS] + (["experiment"] if "experiment" in names
                                                    else [])
    out, n_dropped = _handle_nan(out, checked, nan, raw.where, marks)
    if not len(out):
        raise ValueError("`table` has no rows left after dropping the rows with NaN.")
    out = _ratio(out, weight_unit, raw.where)
    warn_percent(out, units, names)
    warn_sd(names, raw.where.of())
    for name in _COUNTS:
        if name not in out:
            out[name] = 1.0
    _check_values(out, next(n for n in _RATIO_OF if n in names), raw.where)
    if "control_ratio" in out:
        out["weight_ratio"] = out["weight_ratio"] / out["control_ratio"]
        if "weight_sem" in out:
            out["weight_sem"] = out["weight_sem"] / out["control_ratio"]
        out = out.drop(columns="control_ratio")
    warn_delta_t_scale(out["delta_t"].to_numpy(), units.get("delta_t"), written["delta_t"],
                       raw.where.of())
    out = out.reset_index(drop=True)
    out.attrs = {"units": {**{n: COLUMNS[n][0] for n in out if n in COLUMNS},
                           **{n: units[n] for n in labels if n in units}},
                 "labels": [n for n in labels if n != "experiment"], "source": raw.source,
                 "n_dropped": n_dropped, "columns": list(names)}
    return out


def _read_columns(raw: _Raw) -> tuple[list[str], dict[str, str], pd.DataFrame, str | None,
                                      list[str]]:
    """The table's header read (canonical names, their units) and its known columns
    converted (:func:`_convert`); the frame's columns take the canonical names."""
    frame = raw.frame
    names, units = parse_header(frame.columns)
    raw.where.column = {n: raw.where.column[c] for n, c in zip(names, frame.columns,
                                                                 strict=True)
                        if c in raw.where.column}
    frame.columns = names
    if not len(frame):
        raise ValueError("`table` has no rows: one row per pairing experiment is needed.")
    require_columns(names, units)
    out, units, weight_unit, marks = _convert(raw, frame, names, units)
    return names, units, out, weight_unit, marks


def _two_row_header(raw: _Raw, header: list[str]) -> str | None:
    """The refusal of a table whose header spans two rows (a merged cell over two columns,
    pandas' MultiIndex ``to_excel``), naming the second row and the one-row names that
    fix it; None when the row under the header is data
    (:func:`plastix.io.table_cells.second_header_row`)."""
    rows = raw.frame.to_numpy(dtype=object).tolist()
    columns = table_cells.second_header_row(rows)
    if not columns:
        return None
    tops = []
    for j in columns:  # a merged cell's right part has no name: the name on its left
        k = j
        while k > 0 and header[k].startswith("Unnamed:"):
            k -= 1
        tops.append(header[k])
    subs = [str(rows[0][j]).strip() for j in columns]
    fixed = [one_row_name(t, s) for t, s in zip(tops, subs, strict=True)]
    second = raw.frame.index[0]
    return (f"`table` has a header of two rows: {raw.where.rows([second])} holds "
            f"{', '.join(map(repr, subs))} under {', '.join(map(repr, dict.fromkeys(tops)))}, "
            "above numbers; plastix reads one header row: name each column in one row, its "
            f"unit in brackets (here {', '.join(map(repr, fixed))}), and delete "
            f"{'line' if raw.where.text else 'row'} {second}.")


def _convert(raw: _Raw, frame: pd.DataFrame, names: list[str], units: dict[str, str]
             ) -> tuple[pd.DataFrame, dict[str, str], str | None, list[str]]:
    """The known columns as float in SI and the labels as read; the units (a column of
    ``50%`` cells gets ``%``), the weights' unit (None: no weights) and the missing-value
    markers read as NaN (``n.d.``, ``-``; each once).  Cells that are not numbers are
    refused in one message naming them."""
    known = [n for n in names if n in COLUMNS]
    numbers = Numbers.of(raw.where.sep, _number_texts(frame, known))
    columns = {n: _numbers(raw, frame, n, units.get(n), numbers) for n in known
               if n != "weight_sem"}
    if "weight_sem" in known:  # without a unit, in the ratio's (_factor): its percent cells too
        ratio_unit = next((columns[n].unit for n in ("weight_ratio", "weight_change")
                           if n in columns), None)
        unit = units.get("weight_sem")
        shown = unit if unit is not None or "weight_before" in names else ratio_unit
        columns["weight_sem"] = _numbers(raw, frame, "weight_sem", unit, numbers, shown)
    bad = [(n, label, text) for n, c in columns.items() for label, text in c.bad]
    if bad:
        raise ValueError(_not_numbers(bad, raw, numbers))
    marks = list(dict.fromkeys(m for c in columns.values() for m in c.marks))
    units = {**units, **{n: c.unit for n, c in columns.items() if c.unit is not None}}
    _check_formulas(raw, [b for c in columns.values() for b in c.blanks])
    weight_unit, scale = None, {}
    if "weight_before" in names:
        weight_unit, scale = weight_units(units, "weight_sem" in names, raw.where.of())
    ratio_unit = next((units.get(n) for n in ("weight_ratio", "weight_change") if n in names),
                      None)
    out = pd.DataFrame(index=frame.index)
    for name in known:
        unit = units.get(name)
        factor = scale[name] if name in scale else _factor(name, unit, weight_unit,
                                                           ratio_unit)
        if name in ("weight_ratio", "weight_change") and unit and unit_word(unit) == "%":
            warn_percent_values(name, columns[name].values)
        out[name] = columns[name].values * factor
    for name in names:
        if name not in COLUMNS:
            out[name] = _labels(frame[name], raw, numbers)
    return out, units, weight_unit, marks


def _ratio(out: pd.DataFrame, weight_unit: str | None, where: _Where) -> pd.DataFrame:
    """The table with ``weight_ratio`` (second column) in place of the weights or the change;
    a zero baseline weight is refused, naming its rows."""
    if weight_unit is not None:
        before = out.pop("weight_before").to_numpy()
        after = out.pop("weight_after").to_numpy()
        zero = np.flatnonzero(before == 0)
        if zero.size:
            raise ValueError(f"`weight_before` must not be 0 (the baseline the ratio after/"
                             f"before divides by); got 0 in {_rows_of(out, where, zero)} "
                             f"(weight_after there: {after[zero[0]]:g}). Give that row its "
                             "baseline weight, or leave the row out.")
        with np.errstate(divide="ignore", invalid="ignore"):
            out.insert(1, "weight_ratio", after / before)
            if "weight_sem" in out:
                out["weight_sem"] = out["weight_sem"] / np.abs(before)
    if "weight_change" in out:
        out.insert(1, "weight_ratio", 1.0 + out.pop("weight_change"))
    return out
