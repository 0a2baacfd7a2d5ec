"""Tidy tables of pairing experiments (issue 15, item 4): CSV, TSV, Parquet, Excel
(``.xlsx``) or a DataFrame.

One row per pairing experiment (or per group mean).  Columns, by name; a unit
may follow in brackets (``delta_t [ms]``, ``frequency [Hz]``) or, for the known
columns below, in parentheses (``Δt (ms)``) or after an underscore
(``delta_t_ms``, ``weight_ratio_pct``, ``weight_before_mV``); no unit means SI
(seconds, hertz).
Values are converted to SI here, at the boundary.

Spreadsheets as labs save them are read as they are: a known column's name is
matched without regard to case, spaces or hyphens, a leading Greek delta read
as "delta" (``Delta t [ms]`` and ``Δt (ms)`` are ``delta_t``); rows above the
header (a title, notes) are skipped, the header being the first of the first
:data:`HEADER_SEARCH_ROWS` rows that names ``delta_t``, and a row of units
right under it (``ms``, ``%``, ``(mV)``) gives the columns their units; rows
and unnamed columns that are wholly empty (a spreadsheet's trailing
separators) are dropped.  A text table is decoded as UTF-8 (with or
without a byte-order mark), else as Windows-1252 (Excel's "CSV" on Windows); its
separator is whichever of comma, semicolon or tab splits the header into the
most fields (tab for ``.tsv``/``.tab``), and with a semicolon a decimal comma
(``1,5``) is read as a number, as European Excel writes them.  An Excel workbook
is read from the sheet given as ``sheet=``, else the only sheet, else the first
sheet whose header names ``delta_t`` (a warning names the others).

============== ========= =============================================================
column         required  meaning (units accepted in brackets)
============== ========= =============================================================
delta_t        yes       post spike time − pre spike time; > 0: pre before post
                         (s, ms, us, µs, min)
weight_ratio   one of    weight after / weight before (1, %: ``150`` in ``[%]`` is 1.5)
weight_change  the three relative change, after / before − 1 (1, %: ``+50`` in ``[%]`` is a
               forms     ratio of 1.5)
weight_before            weight before and after pairing, any unit (the same for both;
weight_after             the unit cancels in the ratio)
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

import csv
import io
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plastix._util.errors import check_choice, did_you_mean

__all__ = ["load_pairing_table", "is_pairing_table", "header_units", "TABLE_SUFFIXES",
           "COLUMNS", "NAN_POLICIES"]

#: suffixes read as tables (text, Parquet, Excel)
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".xlsx")
#: spreadsheet formats recognised only to be refused with the fix (re-save as .xlsx or CSV)
_UNREAD_SPREADSHEETS = (".xls", ".ods", ".numbers")
#: rows searched for the header (a title or notes may sit above it)
HEADER_SEARCH_ROWS = 20
_DELIMITERS = (",", ";", "\t")
#: text encodings tried in turn: UTF-8 (a byte-order mark dropped), then Excel's Windows-1252
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
#: what to do with rows holding NaN in a known column
NAN_POLICIES = ("refuse", "drop")

_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "min": 60.0}
_FREQ = {"Hz": 1.0, "kHz": 1e3, "mHz": 1e-3, "1/s": 1.0}
_RATIO = {"1": 1.0, "%": 1e-2}
_COUNT = {"1": 1.0}

#: the known columns: name → (SI unit, accepted units with their factor to SI, or None for
#: "any unit, kept": the weights); integers are counts
COLUMNS: dict[str, tuple[str, Mapping[str, float] | None]] = {
    "delta_t": ("s", _TIME), "weight_ratio": ("1", _RATIO), "weight_change": ("1", _RATIO),
    "weight_before": ("", None),
    "weight_after": ("", None), "weight_sem": ("1", None), "n": ("1", _COUNT),
    "frequency": ("Hz", _FREQ), "n_pairings": ("1", _COUNT), "n_trains": ("1", _COUNT),
    "control_ratio": ("1", _RATIO),
}
_COUNTS = ("n", "n_pairings", "n_trains")
_POSITIVE = ("weight_sem", "frequency", "control_ratio")
_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")


def is_pairing_table(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a table (by its suffix, case-insensitive), including the
    spreadsheet formats that are refused with a fix (``.xls``, ``.ods``, ``.numbers``)."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES + _UNREAD_SPREADSHEETS


_PARENS = re.compile(r"^\s*(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$")


def _canonical(name: str) -> str:
    """A header's name as plastix knows it: a known column matched without regard to case,
    spaces or hyphens, with a leading Greek delta read as "delta" (``"Delta t"``, ``"Δt"``
    → ``"delta_t"``); any other name as written."""
    key = re.sub(r"^[δ∆]\s*", "delta_", name.strip().lower())
    key = re.sub(r"[\s\-_]+", "_", key)
    return key if key in COLUMNS or key == "experiment" else name


def _is_known(name: str) -> bool:
    return name in COLUMNS or name == "experiment"


def _split_header(cell: Any) -> tuple[str, str | None] | None:
    """A header cell's canonical name and its unit (None: none); None if it cannot be read.

    The unit is in brackets (``delta_t [ms]``), or, for a known column only, in
    parentheses (``Δt (ms)``, as spreadsheets often write it); a label column keeps
    its parentheses (``cell (L5)``).
    """
    m = _HEADER.match(str(cell))
    if m is None:
        return None
    name, unit = m["name"], m["unit"]
    if unit is None and (p := _PARENS.match(name)) is not None and _is_known(
            _canonical(p["name"])):
        name, unit = p["name"], p["unit"]
    if unit is None and not _is_known(_canonical(name)):
        name, unit = _unit_suffix(name)
    return _canonical(name), None if unit is None else unit.strip()


_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_\-]+(?P<unit>[A-Za-zµμ%]+)$")
_ELECTRICAL = re.compile(r"^[munpµμ]?[VAS]$")
_UNIT_WORDS = {"pct": "%", "percent": "%", "sec": "s", "secs": "s", "msec": "ms",
               "usec": "us"}


def _unit_suffix(name: str) -> tuple[str, str | None]:
    """``("delta_t", "ms")`` for ``"delta_t_ms"``: a known column and one of its units
    (any case; ``pct``, ``sec``, ``msec`` spelt out; for the weights an electrical unit,
    ``weight_before_mV``) after an underscore, space or hyphen, as tables exported from
    scripts name them; else ``(name, None)``."""
    m = _SUFFIX.match(name.strip())
    if m is None or not _is_known(base := _canonical(m["name"])) or base not in COLUMNS:
        return name, None
    accepted = COLUMNS[base][1]
    if accepted is None:  # the weights, in any unit: an electrical one (mV, pA, nS)
        return (m["name"], m["unit"]) if _ELECTRICAL.match(m["unit"]) else (name, None)
    word = _UNIT_WORDS.get(m["unit"].lower(), m["unit"])
    match = [u for u in accepted if u.lower() == word.lower()]
    return (m["name"], match[0]) if match else (name, None)


def _header_name(cell: Any) -> str:
    """The canonical column name of a header cell (its unit dropped)."""
    split = _split_header(cell)
    return split[0] if split is not None else str(cell)


def _header_row(rows: list[list[Any]]) -> int:
    """Index of the header among the first rows: the first naming ``delta_t``, else 0."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(_header_name(c) == "delta_t" for c in row if isinstance(c, str)):
            return i
    return 0


def _decode(path: Path) -> str:
    """The text of ``path``: UTF-8 (byte-order mark dropped), else Windows-1252, else
    Latin-1 (which decodes any bytes)."""
    raw = path.read_bytes()
    for enc in _ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _delimiter(line: str, suffix: str) -> str:
    """The separator of a text table: tab for .tsv/.tab, else whichever of comma,
    semicolon and tab splits the header ``line`` into the most fields (comma on ties)."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    fields = {d: len(next(csv.reader([line], delimiter=d), [])) for d in _DELIMITERS}
    return max(_DELIMITERS, key=lambda d: (fields[d], -_DELIMITERS.index(d)))


def _text_header(lines: list[str], suffix: str) -> tuple[int, str]:
    """The header's line index and the separator: the first of the first lines naming
    ``delta_t`` under some separator, else the first non-empty line."""
    seps = ("\t",) if suffix in (".tsv", ".tab") else _DELIMITERS
    for i, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
        for sep in seps:
            cells = next(csv.reader([line], delimiter=sep), [])
            if any(_header_name(c) == "delta_t" for c in cells):
                return i, _delimiter(line, suffix)
    first = next(i for i, line in enumerate(lines) if line.strip())
    return first, _delimiter(lines[first], suffix)


def _is_number(text: str) -> bool:
    """Whether a cell's text is a number (a decimal comma counts)."""
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True


_UNIT_CHARS = re.compile(r"[\w%µμΩ°/.^·*\- ]{1,12}")


def _unit_like(text: str) -> bool:
    """Whether a cell under a weight column reads as its unit: up to 12 characters of
    letters, digits, ``% µ Ω ° / . ^ · * -`` and spaces, with a letter or ``%``
    (``mV``, ``pA``, ``a.u.``, ``mV/ms``)."""
    return (_UNIT_CHARS.fullmatch(text) is not None
            and re.search(r"[^\W\d_]|%", text) is not None)


def _with_units_row(header: list[str], row: list[Any]) -> list[str] | None:
    """The header with the units of the row under it (``ms``, ``%``, ``(mV)``) put in its
    brackets, or None when that row is not a row of units.

    It is one when every cell under a known column is empty or text that is not a
    number, at least one is not empty, and each is a unit its column takes: one of
    the set of a column with fixed units (``delta_t``, a ratio, ``frequency``), or,
    under the weights (any unit), a short unit-like text (``mV``, ``pA``, ``µV``,
    ``a.u.``, ``%``).  A header that names a unit already keeps it (a different unit
    under it is refused when the units are read).
    """
    known = [(j, _split_header(h)) for j, h in enumerate(header) if j < len(row)]
    known = [(j, sp) for j, sp in known if sp is not None and sp[0] in COLUMNS]
    cells = {j: row[j] for j, _ in known}
    if not known or not all(_blank(c) or (isinstance(c, str) and not _is_number(c))
                            for c in cells.values()):
        return None
    unit = {j: str(c).strip().strip("[]()").strip() for j, c in cells.items()
            if isinstance(c, str) and str(c).strip()}
    if not unit or not all(unit[j] in COLUMNS[sp[0]][1] if COLUMNS[sp[0]][1] is not None
                           else _unit_like(unit[j])
                           for j, sp in known if j in unit):
        return None
    out = list(header)
    for j, (_name, given) in known:
        if j in unit and given is None:
            out[j] = f"{header[j]} [{unit[j]}]"
        elif j in unit and given != unit[j]:
            raise ValueError(f"`table` column {header[j]!r} names the unit {given!r} and the "
                             f"row under it {unit[j]!r}; keep one.")
    return out


def _read_text(path: Path, suffix: str) -> pd.DataFrame:
    """A CSV/TSV table as a raw DataFrame (see the module docstring for the encodings,
    separators, decimal commas and rows above the header)."""
    text = _decode(path)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ValueError(f"`table` {path.name!r} is empty: a header row and one row per "
                         "pairing experiment are needed.")
    skip, sep = _text_header(lines, suffix)
    header = next(csv.reader([lines[skip]], delimiter=sep), [])
    under = next(csv.reader(lines[skip + 1: skip + 2], delimiter=sep), [])
    merged = _with_units_row(header, under)
    body = lines[skip:] if merged is None else [lines[skip]] + lines[skip + 2:]
    try:
        frame = pd.read_csv(io.StringIO("\n".join(body)), sep=sep,
                            decimal="," if sep == ";" else ".")
        if merged is not None:
            frame.columns = merged + list(frame.columns[len(merged):])
        return frame
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"`table` {path.name!r} is empty: a header row and one row per "
                         "pairing experiment are needed.") from err
    except pd.errors.ParserError as err:
        kind = "tab" if sep == "\t" else repr(sep)
        raise ValueError(f"`table` {path.name!r} could not be read as a {kind}-separated "
                         f"table: {str(err).strip()}; give every row the header's number of "
                         "fields.") from err


def _sheet_frames(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of an Excel workbook, as raw cells (no header row chosen yet)."""
    try:
        return pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")
    except ImportError as err:
        raise ImportError(f"`table` {path.name!r} is an Excel workbook, and plastix needs "
                          "`openpyxl` to read it: pip install openpyxl, or save the sheet "
                          "as CSV.") from err
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise ValueError(f"`table` {path.name!r} is not a readable Excel .xlsx workbook "
                         f"({type(err).__name__}: {err}); open it in a spreadsheet program "
                         "and save it again as .xlsx or as CSV.") from err


def _pick_sheet(path: Path, sheets: dict[str, pd.DataFrame], sheet: Any) -> str:
    """The name of the sheet to read: ``sheet`` (a name or 0-based index), else the only
    sheet, else the first whose header names ``delta_t`` (with a warning naming the rest)."""
    names = list(sheets)
    if isinstance(sheet, str) and sheet not in sheets and sheet.strip().isdigit():
        sheet = int(sheet)  # "2" from the command line: a position, unless a sheet is so named
    if sheet is not None:
        if isinstance(sheet, (int, np.integer)) and not isinstance(sheet, bool):
            if not 0 <= int(sheet) < len(names):
                raise ValueError(f"`sheet` {int(sheet)} is out of range: {path.name!r} has "
                                 f"{len(names)} sheet(s), {', '.join(map(repr, names))}.")
            return names[int(sheet)]
        if str(sheet) not in sheets:
            raise ValueError(f"`sheet` {sheet!r} is not in {path.name!r}; its sheets are "
                             f"{', '.join(map(repr, names))}." + did_you_mean(sheet, names))
        return str(sheet)
    if len(names) == 1:
        return names[0]
    rows = {n: sheets[n].head(HEADER_SEARCH_ROWS).astype(object).values.tolist() for n in names}
    tables = [n for n in names if any(_header_name(c) == "delta_t" for r in rows[n]
                                      for c in r if isinstance(c, str))]
    if not tables:
        raise ValueError(f"`table` {path.name!r}: none of its sheets "
                         f"({', '.join(map(repr, names))}) has a 'delta_t' column in its first "
                         f"{HEADER_SEARCH_ROWS} rows; name the columns as the README's "
                         "pairing-table section says.")
    if len(tables) > 1:
        warnings.warn(f"`table` {path.name!r} has {len(tables)} sheets with a 'delta_t' "
                      f"column ({', '.join(map(repr, tables))}); read {tables[0]!r}. Pass "
                      "sheet=NAME (or save that sheet as CSV) to read another.", UserWarning,
                      stacklevel=4)
    return tables[0]


def _read_excel(path: Path, sheet: Any) -> tuple[pd.DataFrame, str]:
    """One sheet of an Excel workbook as a raw DataFrame, and a source string."""
    sheets = _sheet_frames(path)
    name = _pick_sheet(path, sheets, sheet)
    cells = sheets[name].dropna(how="all")
    if cells.empty:
        raise ValueError(f"`table` {path.name!r}, sheet {name!r}, is empty: a header row "
                         "and one row per pairing experiment are needed.")
    grid = cells.astype(object).values.tolist()
    k = _header_row(grid)
    header = ["" if _blank(c) else str(c) for c in grid[k]]
    header = [h or f"Unnamed: {i}" for i, h in enumerate(header)]
    merged = _with_units_row(header, grid[k + 1]) if k + 1 < len(grid) else None
    body = grid[k + 1:] if merged is None else grid[k + 2:]
    frame = pd.DataFrame(body, columns=merged or header).infer_objects()
    return frame, f"{path}[{name}]"


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, float) and np.isnan(cell))


def _drop_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop wholly empty rows and wholly empty unnamed columns (a spreadsheet's trailing
    separators)."""
    empty_cols = [c for c in frame.columns
                  if str(c).startswith("Unnamed:") and frame[c].isna().all()]
    frame = frame.drop(columns=empty_cols)
    return frame.dropna(how="all").reset_index(drop=True)


def _read_frame(source: Any, sheet: Any = None) -> tuple[pd.DataFrame, str]:
    """The raw DataFrame of a path or a DataFrame, and a source string."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "DataFrame"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"`table` must be a path ({', '.join(TABLE_SUFFIXES)}) or a "
                        f"pandas.DataFrame; got {type(source).__name__}.")
    path = Path(source)
    suffix = path.suffix.lower()
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
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path), str(path)
        except ImportError as err:  # pandas finds no Parquet engine
            raise ImportError(f"`table` {path.name!r} is Parquet, and plastix needs `pyarrow` to "
                              "read it (an optional dependency); install it with: pip install "
                              "'plastix[parquet]' (or pip install 'pyarrow>=16,<27'), or save "
                              "the table as CSV.") from err
    if suffix == ".xlsx":
        frame, where = _read_excel(path, sheet)
        return _drop_empty(frame), where
    return _drop_empty(_read_text(path, suffix)), str(path)


def _parse_header(columns: Any) -> tuple[list[str], dict[str, str]]:
    """Column names without their brackets, and the unit given for each (if any)."""
    names, units, written = [], {}, {}
    for col in columns:
        split = _split_header(col)
        if split is None:
            raise ValueError(f"`table` column {str(col)!r} must be a name with at most one unit "
                             "in brackets, e.g. 'delta_t [ms]'.")
        name, unit = split
        if name in names:
            raise ValueError(f"`table` has two columns named {name!r} (units aside): "
                             f"{written[name]!r} and {str(col)!r}; keep one.")
        names.append(name)
        written[name] = str(col)
        if unit is not None:
            units[name] = unit
    return names, units


def header_units(table: Any, *, sheet: Any = None) -> dict[str, str | None]:
    """The columns of a table: name (canonical, see the module docstring) → the unit in its
    brackets as written (None: none).

    Reads the file (or takes the DataFrame) as :func:`load_pairing_table` does, without
    checking the values; for ``plastix inspect``.
    """
    frame, _ = _read_frame(table, sheet)
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
    forms = [n for n in ("weight_ratio", "weight_change") if n in names]
    if forms:
        if len(forms) > 1 or "weight_before" in names or "weight_after" in names:
            given = forms + [n for n in ("weight_before", "weight_after") if n in names]
            raise ValueError("`table` must give the weight change once: 'weight_ratio', "
                             "'weight_change' or 'weight_before' and 'weight_after'; got "
                             f"{', '.join(map(repr, given))}.")
        return
    have = [n for n in ("weight_before", "weight_after") if n in names]
    if len(have) == 1:
        miss = ({"weight_before", "weight_after"} - set(have)).pop()
        raise ValueError(f"`table` has {have[0]!r} but not {miss!r}; give both, or "
                         f"'weight_ratio' (after/before); found columns {found}."
                         + _hint(miss, others))
    if not have:
        raise ValueError("`table` must have a column 'weight_ratio' (after/before), "
                         "'weight_change' (after/before - 1) or both 'weight_before' and "
                         f"'weight_after'; found columns {found}."
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


_RATIO_OF = {"weight_ratio": "`weight_ratio` (weight after / weight before)",
             "weight_change": "`1 + weight_change` (weight after / weight before)",
             "weight_before": "`weight_after / weight_before`"}


def _check_values(out: pd.DataFrame, form: str) -> None:
    """Ratios > 0, counts integers ≥ 1, rates and SEMs > 0, unique experiment ids;
    ``form`` is the column the ratio came from (a key of :data:`_RATIO_OF`)."""
    ratio = out["weight_ratio"].to_numpy()
    bad = np.flatnonzero(~((ratio > 0) & np.isfinite(ratio)))
    if bad.size:
        fix = ("A change of -100% or below leaves no weight: check the signs, and write "
               "'weight_change [%]' for percent." if form == "weight_change" else
               "A ratio of 0 or below has no logarithm: check the signs of the weights.")
        raise ValueError(f"{_RATIO_OF[form]} must be finite and > 0; got {ratio[bad[0]]:g} in "
                         f"{_rows(bad)}. {fix}")
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


_PERCENT_LIKE = 5.0
"""A ratio or change with no unit whose median magnitude exceeds this looks like percent."""


def _warn_percent(out: pd.DataFrame, units: dict[str, str], names: list[str]) -> None:
    """Warn when a unitless ratio or change looks like it was written in percent."""
    for name in ("weight_ratio", "weight_change"):
        if name in names and name not in units:
            raw = out["weight_ratio"].to_numpy() - (1.0 if name == "weight_change" else 0.0)
            if np.nanmedian(np.abs(raw)) > _PERCENT_LIKE:
                warnings.warn(f"`{name}` has no unit in its header and is read as a fraction "
                              f"(1 = {'no change' if name == 'weight_ratio' else '+100%'}); "
                              f"its values (median magnitude {np.nanmedian(np.abs(raw)):g}) "
                              "look like percent: "
                              f"write '{name} [%]' if they are.", UserWarning, stacklevel=3)


def load_pairing_table(table: Any, *, nan: str = "refuse", sheet: Any = None) -> pd.DataFrame:
    """Read a table of pairing experiments and return it checked, in SI units.

    Parameters
    ----------
    table : str, os.PathLike or pandas.DataFrame
        A ``.csv``, ``.tsv``/``.tab``, ``.parquet``/``.pq`` (needs ``pyarrow``) or
        ``.xlsx`` file, or a DataFrame, with the columns of the module docstring.
    nan : {"refuse", "drop"}
        Rows with NaN in a known column: refused (ValueError) or dropped (with
        a warning giving the count).
    sheet : str or int, optional
        The sheet of an ``.xlsx`` workbook (name, or 0-based position); by default
        the only sheet, else the first whose header names ``delta_t``.

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
    frame, source = _read_frame(table, sheet)
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
    if weight_unit is not None:
        before = out.pop("weight_before").to_numpy()
        after = out.pop("weight_after").to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out.insert(1, "weight_ratio", after / before)
            if "weight_sem" in out:
                out["weight_sem"] = out["weight_sem"] / np.abs(before)
    if "weight_change" in out:
        out.insert(1, "weight_ratio", 1.0 + out.pop("weight_change"))
    _warn_percent(out, units, names)
    for name in _COUNTS:
        if name not in out:
            out[name] = 1.0
    _check_values(out, next(n for n in _RATIO_OF if n in names))
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
