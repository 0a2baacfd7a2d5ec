"""The cells of a spreadsheet file, as a grid of raw values with the row numbers a user sees.

The lower half of :mod:`plastix.io.table`: a text table (CSV, TSV, ``.txt``) or an
Excel ``.xlsx`` sheet becomes a :class:`Grid` (every row, every cell as stored:
strings for text, Python values for Excel), each row with its number as the
user sees it (the file's line, the sheet's row, both 1-based).  Which row is the
header, which cells are numbers and in which unit, is decided in
:mod:`plastix.io.table`.

Text is decoded as UTF-16 when it starts with a UTF-16 byte-order mark (Excel's
"Unicode Text"), else UTF-8 (with or without a byte-order mark), else
Windows-1252 (Excel's "CSV" on Windows), else Latin-1.  An Excel sheet is read
with openpyxl (read-only, saved values): the cells formatted as percent and the
error cells (``#DIV/0!``) are noted, and the formulas of cells with no saved value
can be looked up (:func:`formulas`).  A range of merged cells in the data rows holds
its value in every row it spans (:func:`fill_merged`), and hidden rows, columns and
sheets are named in a warning.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shlex
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plastix._util.warn import warn_caller

__all__ = ["Grid", "Numbers", "read_text", "read_xlsx", "formulas", "cell_name", "clean",
           "blank", "is_number", "first_cell", "summary_rows", "frame_of", "drop_empty",
           "header_index", "cell_kind", "second_header_row", "is_percent_format",
           "HEADER_SEARCH_ROWS", "TEXT_SUFFIXES", "NA_TEXT", "EXCEL_ERRORS", "MISSING_MARKS",
           "is_missing"]

#: rows searched for the header (a title or notes may sit above it)
HEADER_SEARCH_ROWS = 20
#: suffixes read as text tables
TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
_DELIMITERS = (",", ";", "\t")
#: text encodings tried in turn after UTF-16: UTF-8 (a byte-order mark dropped), then
#: Excel's Windows-1252, then Latin-1 (which decodes any bytes)
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass
class Grid:
    """The cells of one table file (or sheet).

    Attributes
    ----------
    rows : list of list
        The cells, row by row; an empty cell is None.  Text tables hold strings.
    numbers : list of int
        The number of each row as the user sees it: the file's line (text) or the
        sheet's row (Excel), 1-based.
    name : str
        The file's name, for messages.
    source : str
        The path (and ``[sheet]``), for ``attrs["source"]``.
    sheet : str or None
        The sheet's name (Excel only).
    sep : str or None
        The separator of a text table (None for Excel).
    percent : set of (int, int)
        (row number, 0-based column) of the numeric cells formatted as percent
        (Excel: stored 0.47, shown 47%).
    errors : dict
        (row number, 0-based column) → the Excel error a cell holds (``#DIV/0!``).
    path : Path or None
        The workbook, to look up formulas (:func:`formulas`).
    saved_empty : set of (int, int)
        (row number, 0-based column) of the empty cells that hold a saved empty text (a
        formula's result ``""``, as in ``=IF(C4="","",C4/B4)``): missing values, not
        formulas saved without their value.
    merged : list of (int, int, int, str)
        Excel: ranges of merged cells that span rows, as (0-based first column, first
        row number, last row number, range): filled by :func:`fill_merged`.
    """

    rows: list[list[Any]]
    numbers: list[int]
    name: str
    source: str
    sheet: str | None = None
    sep: str | None = None
    percent: set[tuple[int, int]] = field(default_factory=set)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    path: Path | None = None
    saved_empty: set[tuple[int, int]] = field(default_factory=set)
    merged: list[tuple[int, int, int, str]] = field(default_factory=list)


def cell_name(row: int, col: int) -> str:
    """The spreadsheet name of a cell: ``cell_name(18, 2) == "C18"`` (column 0-based)."""
    letters, col = "", col + 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def _empty(path: Path, where: str = "") -> ValueError:
    return ValueError(f"`table` {path.name!r}{where} is empty: a header row and one row per "
                      "pairing experiment are needed.")


def _decode(raw: bytes) -> str:
    """The text of a file's bytes (see the module docstring for the encodings)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    for enc in _ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep), [])


def _delimiter(line: str, suffix: str) -> str:
    """The separator of a text table: tab for .tsv/.tab, else whichever of comma,
    semicolon and tab splits the header ``line`` into the most fields (comma on ties)."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    fields = {d: len(_split(line, d)) for d in _DELIMITERS}
    return max(_DELIMITERS, key=lambda d: (fields[d], -_DELIMITERS.index(d)))


def _separator(lines: list[str], suffix: str, is_header: Callable[[list[Any]], bool]) -> str:
    """The separator of the header: of the first of the first lines that is a header under
    some separator, the one under which it is (the one that splits it into the most fields
    if several: a header ``delta_t [ms];weight_ratio;notes (seal, Rs)`` is split on its
    semicolons), else that of the first non-empty line."""
    seps = ("\t",) if suffix in (".tsv", ".tab") else _DELIMITERS
    for line in lines[:HEADER_SEARCH_ROWS]:
        heads = [sep for sep in seps if is_header(_split(line, sep))]
        if heads:
            return max(heads, key=lambda d: (len(_split(line, d)), -seps.index(d)))
    return _delimiter(next(line for line in lines if line.strip()), suffix)


def read_text(path: Path, suffix: str, is_header: Callable[[list[Any]], bool]) -> Grid:
    """A text table as a :class:`Grid` of strings (None for empty cells), each row with
    its first line's number; ``is_header(cells)`` says whether a row is the header (to
    choose the separator)."""
    text = _decode(path.read_bytes())
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise _empty(path)
    sep = _separator(lines, suffix, is_header)
    rows, numbers, last = [], [], 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        for row in reader:
            rows.append([c if c.strip() else None for c in row])
            numbers.append(last + 1)
            last = reader.line_num
    except csv.Error as err:
        kind = "tab" if sep == "\t" else repr(sep)
        raise ValueError(f"`table` {path.name!r} could not be read as a {kind}-separated table "
                         f"(line {last + 1}: {err}); check the quotes in that line.") from err
    return Grid(rows, numbers, path.name, str(path), sep=sep)


def _open(path: Path, data_only: bool) -> Any:
    try:
        import openpyxl
    except ImportError as err:
        raise ImportError(f"`table` {path.name!r} is an Excel workbook, and plastix needs "
                          "`openpyxl` to read it: pip install openpyxl, or save the sheet "
                          "as CSV.") from err
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on unsupported extensions
            return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise ValueError(f"`table` {path.name!r} is not a readable Excel .xlsx workbook "
                         f"({type(err).__name__}: {err}); open it in a spreadsheet program "
                         "and save it again as .xlsx or as CSV.") from err


def _sheet_grid(path: Path, book: Any, name: str) -> Grid:
    """One sheet as a :class:`Grid` (Excel row numbers; percent and error cells noted)."""
    sheet = book[name]
    sheet.reset_dimensions()  # some writers store wrong dimensions
    grid = Grid([], [], path.name, f"{path}[{name}]", sheet=name, path=path)
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        row = []
        for j, cell in enumerate(cells):
            value = getattr(cell, "value", None)
            kind = getattr(cell, "data_type", None)
            if (isinstance(value, str) and not value.strip()) or (kind == "str"
                                                                  and value is None):
                grid.saved_empty.add((number, j))  # an empty text saved: "" from a formula
                value = None
            if kind == "e" and value is not None:
                grid.errors[number, j] = str(value)
            elif (kind == "n" and value is not None
                  and is_percent_format(str(getattr(cell, "number_format", "")))):
                grid.percent.add((number, j))
            row.append(value)
        grid.rows.append(row)
        grid.numbers.append(number)
    return grid


_MARKS = re.compile(rb"<(?:\w+:)?mergeCell[\s/>]|hidden\s*=\s*[\"'](?:1|true)[\"']")
"""What a sheet's XML holds where it has merged cells or hidden rows or columns (any
namespace prefix, either quote)."""


def _marks_merged_or_hidden(path: Path, name: str, block: int = 1 << 20) -> bool:
    """Whether the sheet's XML may hold merged cells or hidden rows or columns (True when
    it cannot be told): a scan of the raw XML, far cheaper than loading the sheet whole."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
        try:
            source = book[name]._get_source()  # the sheet's XML in the archive
        except AttributeError:  # another openpyxl: load it whole
            book.close()
            return True
        try:
            tail = b""
            while chunk := source.read(block):
                text = tail + chunk
                if _MARKS.search(text):
                    return True
                tail = text[-64:]
            return False
        finally:
            source.close()
            book.close()
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return True


def _merged_and_hidden(path: Path, name: str, grid: Grid) -> None:
    """What a read-only sheet does not tell: the ranges of merged cells that span rows
    (kept in ``grid.merged`` as ``(column, first row, last row)``, 0-based column and
    Excel row numbers, for :func:`frame_of` to fill once the header is known), and
    hidden rows or columns that hold cells, which are read like any others and named in
    a warning (they may hold experiments left out)."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    if not _marks_merged_or_hidden(path, name):
        return  # no need to load the sheet whole (a 50 000-row sheet: 5 s more)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's notes on unsupported extensions
        book = openpyxl.load_workbook(path, read_only=False, data_only=True)
    try:
        sheet = book[name]
        index = {n: i for i, n in enumerate(grid.numbers)}
        grid.merged = [(r.min_col - 1, r.min_row, r.max_row, r.coord)
                       for r in sheet.merged_cells.ranges if r.max_row > r.min_row]
        hidden_rows = [n for n, d in sheet.row_dimensions.items()
                       if d.hidden and n in index and any(c is not None
                                                          for c in grid.rows[index[n]])]
        hidden_cols = sorted({j for d in sheet.column_dimensions.values() if d.hidden
                              for j in range((d.min or 1) - 1, d.max or d.min or 1)
                              if any(j < len(r) and r[j] is not None for r in grid.rows)})
    finally:
        book.close()
    parts = []
    if hidden_rows:
        shown = ", ".join(map(str, sorted(hidden_rows)[:10]))
        parts.append(f"{len(hidden_rows)} hidden row{'s' * (len(hidden_rows) > 1)} ({shown}"
                     f"{', ...' if len(hidden_rows) > 10 else ''})")
    if hidden_cols:
        parts.append(f"hidden column{'s' * (len(hidden_cols) > 1)} "
                     f"{', '.join(get_column_letter(j + 1) for j in hidden_cols)}")
    if parts:
        verb = "are" if len(hidden_rows) + len(hidden_cols) > 1 else "is"
        warn_caller(f"`table` {path.name!r}, sheet {name!r}: {' and '.join(parts)} {verb} read "
                    "like the others; if they hold experiments or values to leave out, delete "
                    "them from the sheet.")


def fill_merged(grid: Grid, first_data_row: int) -> None:
    """Fill each range of merged cells (``grid.merged``) that lies in the data rows (Excel
    row numbers from ``first_data_row``) with its first cell's value down its first
    column, as Excel shows it (a slice's name written once over its rows labels each);
    a range that spans the header and the data rows is read empty below the header,
    with a warning naming it."""
    index = {n: i for i, n in enumerate(grid.numbers)}
    for j, top, bottom, coord in grid.merged:
        if bottom < first_data_row:
            continue  # in the header or above it: the header reader's
        if top < first_data_row:
            for number in range(first_data_row, bottom + 1):
                _set(grid, index, number, j, None)
            warn_caller(f"`table` {grid.name!r}{_sheet_of(grid)}: the merged cells {coord} "
                        "span the header and data rows, so the data rows under the header "
                        "read them empty; unmerge them and write each row's value.")
            continue
        row = grid.rows[index[top]] if top in index else []
        value = row[j] if j < len(row) else None
        for number in range(top + 1, bottom + 1):
            _set(grid, index, number, j, value)


def _set(grid: Grid, index: dict[int, int], number: int, j: int, value: Any) -> None:
    """Cell ``j`` of row ``number`` set to ``value`` (the row extended if shorter)."""
    if number not in index:
        return
    row = grid.rows[index[number]]
    if j >= len(row):
        row.extend([None] * (j + 1 - len(row)))
    row[j] = value


def _sheet_of(grid: Grid) -> str:
    return f", sheet {grid.sheet!r}" if grid.sheet is not None else ""


#: the parts of an Excel number format that show text as written: quoted text ("%"), an
#: escaped character (\%), a space as wide as a character (_%), a repeated character
#: (*%), a bracketed colour, condition or locale ([Red], [$-409])
_FORMAT_TEXT = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]')


def is_percent_format(number_format: str) -> bool:
    """Whether an Excel number format is a percent format, which shows the stored value
    times 100 (``0%``, ``0.0%``): a ``%`` outside quotes and not escaped (``0.0"%"`` and
    ``0.0\\%`` show a percent sign after the value as stored)."""
    return "%" in _FORMAT_TEXT.sub("", number_format)


def header_index(rows: list[list[Any]], is_header: Callable[[list[Any]], bool]) -> int | None:
    """The index of the header among ``rows``: the first of the first
    :data:`HEADER_SEARCH_ROWS` filled rows for which ``is_header`` holds, else None."""
    filled = (i for i, row in enumerate(rows) if any(not blank(c) for c in row))
    return next((i for _, i in zip(range(HEADER_SEARCH_ROWS), filled, strict=False)
                 if is_header(rows[i])), None)


def read_xlsx(path: Path, sheet: Any, is_header: Callable[[list[Any]], bool],
              is_table: Callable[[list[Any]], bool] | None = None) -> Grid:
    """One sheet of an Excel workbook as a :class:`Grid`: ``sheet`` (a name or 0-based
    position), else the only sheet, else the one sheet whose header (``is_header``) is
    a table's (``is_table``: it names the columns a table needs), with a warning when
    it is not the first sheet; several such sheets are refused, naming them.  Without
    a table's header in any sheet, the first sheet with a header is read (a warning
    names the others)."""
    book = _open(path, data_only=True)
    try:
        charts = {c.title for c in getattr(book, "chartsheets", [])}  # hold no cells
        name = _pick_sheet(path, list(book.sheetnames), sheet, charts)
        names = [n for n in book.sheetnames if n not in charts]
        if not names:
            raise ValueError(f"`table` {path.name!r} has chart sheets only "
                             f"({', '.join(map(repr, book.sheetnames))}), no sheet of cells; "
                             "open the workbook that holds the chart's data.")
        if name is None and len(names) == 1:
            name = names[0]
        if name is None:
            grids = {n: _sheet_grid(path, book, n) for n in names}
            heads = {n: header_index(g.rows, is_header) for n, g in grids.items()}
            headers = [n for n in names if heads[n] is not None]
            tables = [n for n in headers if is_table is None
                      or is_table(grids[n].rows[heads[n]])]  # type: ignore[index]
            name = _only_table(path, names, headers, tables)
            grid = grids[name]
        else:
            grid = _sheet_grid(path, book, name)
        state = getattr(book[name], "sheet_state", "visible")
    finally:
        book.close()
    if state != "visible":
        warn_caller(f"`table` {path.name!r}: the sheet read, {name!r}, is "
                    f"{'very hidden' if state == 'veryHidden' else 'hidden'} in the workbook; "
                    "check that it is the table you mean (--sheet NAME picks another).")
    _merged_and_hidden(path, name, grid)
    if not any(c is not None for row in grid.rows for c in row):
        raise _empty(path, f", sheet {name!r},")
    return grid


def _pick_sheet(path: Path, names: list[str], sheet: Any,
                charts: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The sheet named by ``sheet`` (a name, a 0-based position among all the sheets, or
    its digits), or None (to be chosen by its header); a chart sheet (``charts``: they
    hold no cells) is refused, naming the sheets of cells."""
    if isinstance(sheet, str) and sheet not in names and sheet.strip().isdigit():
        sheet = int(sheet)  # "2" from the command line: a position, unless a sheet is so named
    if sheet is None:
        return None
    if hasattr(sheet, "__index__") and not isinstance(sheet, bool):  # int, numpy.integer
        if not 0 <= int(sheet) < len(names):
            raise ValueError(f"`sheet` {int(sheet)} is out of range: {path.name!r} has "
                             f"{len(names)} sheet(s), {', '.join(map(repr, names))}.")
        name = names[int(sheet)]
    elif str(sheet) not in names:
        from plastix._util.errors import did_you_mean

        raise ValueError(f"`sheet` {sheet!r} is not in {path.name!r}; its sheets are "
                         f"{', '.join(map(repr, names))}." + did_you_mean(sheet, names))
    else:
        name = str(sheet)
    if name in charts:
        cells = [n for n in names if n not in charts]
        raise ValueError(f"`sheet` {sheet!r} of {path.name!r} is a chart sheet, which holds no "
                         f"cells; pass a sheet of cells: "
                         f"{', '.join(map(repr, cells)) or 'it has none'}.")
    return name


def _only_table(path: Path, names: list[str], headers: list[str], tables: list[str]) -> str:
    """The sheet to read: the one whose header is a table's (``tables``; a warning when it
    is not the first sheet, a refusal naming them when there are several), else the
    first with a header (``headers``; a warning names the others)."""
    if len(tables) > 1:
        raise ValueError(f"`table` {path.name!r} has {len(tables)} sheets whose header names "
                         f"'delta_t' and a weight column ({', '.join(map(repr, tables))}), and "
                         "plastix does not choose between them: pass sheet=NAME (command line: "
                         f"--sheet NAME), e.g. --sheet {shlex.quote(tables[0])}.")
    if tables:
        before = names[:names.index(tables[0])]
        if before:
            warn_caller(f"`table` {path.name!r}: read sheet {tables[0]!r}, the first whose "
                        "header names 'delta_t' and a weight column (sheet"
                        f"{'s' * (len(before) > 1)} {', '.join(map(repr, before))} before it "
                        f"{'have' if len(before) > 1 else 'has'} no such header); pass "
                        "sheet=NAME (command line: --sheet NAME) to read another.",
                        UserWarning)
        return tables[0]
    if not headers:
        raise ValueError(f"`table` {path.name!r}: none of its sheets "
                         f"({', '.join(map(repr, names))}) has a 'delta_t' column in its first "
                         f"{HEADER_SEARCH_ROWS} rows; name the columns as the README's "
                         "pairing-table section says.")
    if len(headers) > 1:
        warn_caller(f"`table` {path.name!r} has {len(headers)} sheets with a 'delta_t' "
                    f"column ({', '.join(map(repr, headers))}) and none with a weight column "
                    f"beside it; read {headers[0]!r}. Pass sheet=NAME (command line: --sheet "
                    "NAME), or save that sheet as CSV, to read another.", UserWarning)
    return headers[0]


def formulas(grid: Grid, cells: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The formulas of the given cells ((row number, 0-based column)) of an Excel grid's
    sheet, for those that hold one (a formula saved without its value)."""
    wanted = set(cells)
    if grid.path is None or grid.sheet is None or not wanted:
        return {}
    rows = {r for r, _ in wanted}
    found: dict[tuple[int, int], str] = {}
    book = _open(grid.path, data_only=False)
    try:
        sheet = book[grid.sheet]
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(max_row=max(rows)), start=1):
            if number not in rows:
                continue
            for j, cell in enumerate(row):
                value = getattr(cell, "value", None)
                if (number, j) in wanted and isinstance(value, str) and value.startswith("="):
                    found[number, j] = value
    finally:
        book.close()
    return found


# ------------------------------------------------------------------ numbers

#: pandas' missing-value words, read as NaN (empty) in a text table
NA_TEXT = frozenset(("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                      "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                      "nan", "null"))
#: the missing-value markers labs write in a number column (any case): dashes, "not
#: determined", "not available", "not measured"; read as NaN in a known column, as
#: :data:`NA_TEXT` is (a row holding one is refused, or dropped with ``nan="drop"``)
MISSING_MARKS = frozenset(("-", "--", "—", "–", "−", "n.d.", "n.d", "nd", "n/d", "n.a.",
                           "n.a", "na", "not determined", "not done", "not measured",
                           "not available", "missing"))
EXCEL_ERRORS = ("#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#N/A", "#SPILL!",
                 "#CALC!")
_SPACES = re.compile(r"[\s\u00a0\u2007\u2009\u202f]")
# a thousands group never follows a leading 0 (``0.875``, ``0,800`` are decimals)
_DOT_GROUP = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+(,\d*)?$")     # 1.294 / 1.294,2
_COMMA_GROUP = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?$")   # 1,294 / 1,294.5
_COMMA_DECIMAL = re.compile(r"^[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?$|^[+-]?\d{1,3}(\.\d{3})+,\d+$")
_POINT_DECIMAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?\d{1,3}(,\d{3})+\.\d+$")
_INT_DOTS = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$")         # 1.294: 1294 or 1.294?
_INT_COMMAS = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+$")        # 1,294: 1294 or 1.294?
#: the numbers that read two ways when no cell shows the decimal separator, by the table's
#: separator: a semicolon file's ``1.294``, a comma file's ``1,294``, both in a tab file
#: (tab files come from both kinds of locale), an Excel text cell's ``1,294``
_TWO_WAYS = {";": (_INT_DOTS,), ",": (_INT_COMMAS,), "\t": (_INT_DOTS, _INT_COMMAS),
             None: (_INT_COMMAS,)}


@dataclass
class Numbers:
    """How a table writes its numbers: a decimal comma or point, whether a cell of the
    file shows which (else a cell with a thousands-like separator is ambiguous), the
    table's separator, and whether commas are refused (a comma-separated file whose cells
    show decimal commas: every cell with a comma is refused with the fix)."""

    comma: bool = False
    sure: bool = True
    sep: str | None = None
    no_commas: bool = False

    @classmethod
    def of(cls, sep: str | None, texts: list[str]) -> Numbers:
        """From the separator of a text table (None: Excel, a DataFrame) and the text of
        its number cells (module docstring): a cell such as ``-3,7`` or ``0,800`` shows a
        decimal comma, ``1.5`` or ``1,294.5`` a decimal point.  A comma-separated file
        reads decimal points only; its ``1,294`` is 1294 when a cell shows a decimal
        point, else it reads two ways."""
        cells = [clean(t).rstrip("%") for t in texts]
        shows_comma = any(_COMMA_DECIMAL.match(t) and not _INT_COMMAS.match(t) for t in cells)
        shows_point = any(_POINT_DECIMAL.match(t) and not _INT_DOTS.match(t) for t in cells)
        if sep == ",":
            return cls(False, shows_point or shows_comma, sep, no_commas=shows_comma)
        if shows_comma:
            return cls(True, True, sep)
        if shows_point:
            return cls(False, True, sep)
        return cls(sep == ";", False, sep)

    def ambiguous(self, text: str) -> bool:
        """Whether a cell's text reads as two numbers (``1.294``: 1294 or 1.294)."""
        t = clean(text).rstrip("%")
        return not self.sure and any(p.match(t) for p in _TWO_WAYS.get(self.sep,
                                                                          (_INT_COMMAS,)))

    def parse(self, text: str) -> float | None:
        """The number a cell's text writes (NaN for a missing-value word), or None."""
        if text.strip() in NA_TEXT:
            return np.nan
        t = clean(text).rstrip("%")
        if self.no_commas and "," in t:
            return None
        if self.comma:
            t = t.replace(".", "") if _DOT_GROUP.match(t) else t
            t = t.replace(",", ".") if t.count(",") == 1 else t
        elif _COMMA_GROUP.match(t):
            t = t.replace(",", "")
        if "_" in t or not t:
            return None
        try:
            return float(t)
        except ValueError:
            return None


def is_missing(text: str) -> bool:
    """Whether a cell's text marks a missing value: a pandas word (:data:`NA_TEXT`,
    ``NA``, ``n/a``) or a lab's marker (:data:`MISSING_MARKS`, ``n.d.``, ``-``)."""
    t = text.strip()
    return t in NA_TEXT or t.lower() in MISSING_MARKS


#: a number grouped by apostrophes (Swiss: 1'250.5, also with a typographic ’)
_APOSTROPHE_GROUP = re.compile(r"^[+-]?[1-9]\d{0,2}(['\u2019]\d{3})+([.,]\d*)?%?$")


def clean(text: str) -> str:
    """A number cell's text without spaces or apostrophes between groups of three digits
    (thousands separators: ``1 250``, ``1'250.5``), a true minus read."""
    t = _SPACES.sub("", text).replace("\u2212", "-")
    return re.sub("['\u2019]", "", t) if _APOSTROPHE_GROUP.match(t) else t


# ------------------------------------------------------------------ cells to a frame


def blank(cell: Any) -> bool:
    return cell is None or cell is pd.NA or cell is pd.NaT or (
        isinstance(cell, float) and np.isnan(cell))


def is_number(text: str) -> bool:
    """Whether a cell's text is a number (a decimal comma counts)."""
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True


_SUM_WORD = (r"(?:mean|average|avg|median|s\.?e\.?m\.?|s\.?e\.?|s\.?d\.?|std|st\.?\s?dev\.?|"
             r"total|sum|count)")
_SUMMARY = re.compile(rf"^{_SUM_WORD}(?:\s*(?:±|\+/-|\+-|and|/)\s*{_SUM_WORD})?\s*:?$", re.I)
_N_ROW = re.compile(r"^n\s*:?$", re.I)


def first_cell(row: Sequence[Any]) -> Any:
    return next((c for c in row if not blank(c)), None)


def summary_rows(frame: pd.DataFrame) -> tuple[list[Any], list[Any]]:
    """The labels of the summary rows of a raw frame, and of the rows among the data whose
    first cell reads like a summary (``mean``) but which are read as data.

    Summary rows are under the data: the rows after the last data row whose first cell
    is ``mean``, ``SEM``, ``SD``, ..., or ``n`` right under one (or after a blank row
    when only summary rows follow it).  A row among the data rows is data, whatever its
    first cell (``SD``, a Sprague-Dawley rat), and so is a row under them whose first
    cell is a label word (``SD``, ``SE``, ``std``) that is also the first cell of a data
    row (the strain again); without a data row, every row is data (a table of ``SD``
    rats only).  The second list
    names the rows among the data whose first cell is a summary word that is no label
    (``mean``, ``SEM``, ``total``; not ``SD``, ``SE``, ``n``), to be warned about.
    """
    firsts = [first_cell(row) for row in frame.itertuples(index=False)]
    text = [c.strip() if isinstance(c, str) else None for c in firsts]
    word = [t is not None and _SUMMARY.match(t) is not None for t in text]
    is_n = [t is not None and _N_ROW.match(t) is not None for t in text]
    data = [i for i, c in enumerate(firsts) if c is not None and not word[i] and not is_n[i]]
    if not data:  # no data row for a summary to be under: every row is data (all 'SD' rats)
        return [], []
    last = data[-1]
    labels = {text[i].lower() for i in range(last + 1)
              if text[i] is not None and _LABEL_WORD.match(text[i])}  # type: ignore[arg-type]
    out = [i > last and word[i] and text[i].lower() not in labels  # type: ignore[union-attr]
           for i in range(len(text))]
    for i in range(last + 1, len(text)):
        if is_n[i] and i and (out[i - 1] or firsts[i - 1] is None):
            later = [k for k in range(i + 1, len(text)) if firsts[k] is not None]
            out[i] = out[i - 1] or all(out[k] or is_n[k] for k in later)
    among = [i for i in range(last + 1) if word[i]
             and not _LABEL_WORD.match(text[i])]  # type: ignore[arg-type]
    index = list(frame.index)
    return [index[i] for i, s in enumerate(out) if s], [index[i] for i in among]


#: summary words that are also labels (``SD``: a Sprague-Dawley rat), not warned about
#: among the data
_LABEL_WORD = re.compile(r"^(?:s\.?d\.?|s\.?e\.?|std)\s*:?$", re.I)


def cell_kind(cell: Any) -> str:
    """``"blank"`` (empty, or a missing-value marker), ``"number"`` (a number, or text
    that writes one), ``"text"``, or ``"other"`` (a date, a time, a bool)."""
    if blank(cell) or (isinstance(cell, str) and is_missing(cell)):
        return "blank"
    if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(
            cell, (bool, np.bool_)):
        return "number"
    if isinstance(cell, str):
        return "number" if is_number(clean(cell).rstrip("%")) else "text"
    return "other"


#: rows under a candidate second header row looked at to find the columns of numbers
_ROWS_LOOKED_AT = 50


def second_header_row(rows: Sequence[Sequence[Any]]) -> list[int]:
    """The columns (0-based) where the first of ``rows`` (the rows under the header) holds
    text over a column of numbers, when that row is a second header row: it holds no
    number in any column of numbers (a data row does; a column of numbers is one where
    most filled cells of the next :data:`_ROWS_LOOKED_AT` rows are numbers); else ``[]``."""
    if len(rows) < 2:
        return []
    kinds = [[cell_kind(c) for c in row] for row in rows[:_ROWS_LOOKED_AT + 1]]
    first, width = kinds[0], min(len(r) for r in kinds)
    numeric = []
    for j in range(width):
        below = [r[j] for r in kinds[1:] if r[j] != "blank"]
        if below and 2 * below.count("number") > len(below):
            numeric.append(j)
    if any(first[j] == "number" for j in numeric):
        return []
    return [j for j in numeric if first[j] == "text"]


def _comment(row: list[Any], header: list[str], known: Callable[[str], bool]) -> bool:
    """Whether a text row under the header is a whole-line ``#`` comment (a first cell
    starting with ``#`` whose row is not all numbers under the known columns)."""
    first = row[0] if row else None
    if not (isinstance(first, str) and first.lstrip().startswith("#")):
        return False
    cols = [j for j, h in enumerate(header) if known(h)]
    return not cols or not all(j < len(row) and isinstance(row[j], str)
                               and is_number(row[j].strip().rstrip("%")) for j in cols)


def frame_of(grid: Grid, is_header: Callable[[list[Any]], bool],
             units_row: Callable[[list[str], list[Any]], list[str] | None],
             known: Callable[[str], bool]) -> pd.DataFrame:
    """The cells under the header of a grid as a frame (columns as written, index = row
    numbers).

    The header is the first of the first rows for which ``is_header`` holds, else the
    first filled row; ``units_row(header, row)`` gives the header with the units of
    the row under it, or None when it is data; ``known(header_cell)`` says whether a
    column is a known one (numbers under it: a text row starting with ``#`` whose cells
    there are not all numbers is a comment, and left out).
    """
    rows, numbers = grid.rows, grid.numbers
    filled = [i for i, row in enumerate(rows) if any(not blank(c) for c in row)]
    if not filled:
        raise ValueError(f"`table` {grid.name!r} is empty: a header row and one row per "
                         "pairing experiment are needed.")
    k = header_index(rows, is_header)
    k = filled[0] if k is None else k
    body = list(zip(rows[k + 1:], numbers[k + 1:], strict=True))
    width = len(rows[k]) if grid.sep else max(len(r) for r in rows[k:])
    header = [("" if blank(c) else str(c)) for c in rows[k]] + [""] * (width - len(rows[k]))
    header = [h or f"Unnamed: {j}" for j, h in enumerate(header)]
    merged = units_row(header, body[0][0]) if body else None
    if merged is not None:
        header, body = merged, body[1:]
    if grid.merged and body:
        fill_merged(grid, body[0][1])  # the rows are the grid's: the body sees the fill
        numbers_merged = [(coord, header[j]) for j, top, _, coord in grid.merged
                          if top >= body[0][1] and j < len(header) and known(header[j])]
        if numbers_merged:
            warn_caller(f"`table` {grid.name!r}{_sheet_of(grid)}: merged cells give one value "
                        "to several rows of a number column ("
                        + ", ".join(f"{c} in {h!r}" for c, h in numbers_merged)
                        + "): each row is read as its own experiment with that value; if "
                        "they are one measurement, write it in one row.")
    if grid.sep is not None:
        body = [(r, n) for r, n in body if not _comment(r, header, known)]
        _check_widths(grid, body, width)
    cells = [list(r[:width]) + [None] * (width - len(r)) for r, _ in body]
    return pd.DataFrame(cells, columns=header, index=[n for _, n in body], dtype=object)


def _check_widths(grid: Grid, body: list[tuple[list[Any], int]], width: int) -> None:
    """Refuse a text row with more filled fields than the header (trailing empty fields,
    a spreadsheet's trailing separators, are dropped)."""
    for row, number in body:
        if len(row) > width and any(not blank(c) for c in row[width:]):
            kind = "tab" if grid.sep == "\t" else repr(grid.sep)
            raise ValueError(f"`table` {grid.name!r} could not be read as a {kind}-separated "
                             f"table: line {number} has {len(row)} fields and the header "
                             f"{width}; give every row the header's number of fields.")


def drop_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop wholly empty rows and wholly empty unnamed columns (a spreadsheet's trailing
    separators); the row labels are kept."""
    empty_cols = [c for c in frame.columns
                  if str(c).startswith("Unnamed:") and frame[c].map(blank).all()]
    frame = frame.drop(columns=empty_cols)
    filled = ~frame.map(blank).all(axis=1) if len(frame.columns) else frame.index.isna()
    return frame[filled]
