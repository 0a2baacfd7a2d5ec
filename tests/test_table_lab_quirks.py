"""Probe 5's findings on tables of pairing experiments as other tools and labs save them:
seconds under a ``[ms]`` header, a workbook whose first sheet documents the columns,
``% of baseline``, a header of two rows, weights in two units of one quantity, and lab
missing-value markers (``n.d.``, ``-``).

Every input is built here, small, the way the program that writes it does (openpyxl
for .xlsx, text for CSV).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from plastix.datasets import list_datasets, load_dataset
from plastix.io.table import load_pairing_table

DT = [-80, -40, -20, -10, -5, 5, 10, 20, 40, 80]
RATIO = [round(1 + (0.6 if d > 0 else -0.4) * math.exp(-abs(d) / 20), 4) for d in DT]
CELLS = [f"cell{i:02d}" for i in range(len(DT))]


def _csv(path, header: str, *cols) -> str:
    rows = "".join(",".join(str(c) for c in row) + "\n" for row in zip(*cols, strict=True))
    path.write_text(header + "\n" + rows, encoding="utf-8")
    return str(path)


def _no_warning(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


# ------------------------------------------------------------------ 2. seconds under [ms]


def test_seconds_under_a_ms_header_are_warned_once(tmp_path):
    f = _csv(tmp_path / "s_under_ms.csv", "cell,delta_t [ms],weight_ratio", CELLS,
             [d / 1000 for d in DT], RATIO)
    with pytest.warns(UserWarning) as seen:
        table = load_pairing_table(f)
    said = [str(w.message) for w in seen if "delta_t" in str(w.message)]
    assert len(said) == 1, said
    assert ("`delta_t` of 's_under_ms.csv' (column 'delta_t [ms]') runs from -0.08 to 0.08 ms"
            in said[0])
    assert "write the header 'delta_t [s]' if they are, or multiply them by 1000" in said[0]
    np.testing.assert_allclose(table["delta_t"], np.array(DT) / 1e6)  # read as told


def test_usual_pairings_in_ms_and_the_bundled_tables_are_not_warned(tmp_path):
    f = _csv(tmp_path / "ms.csv", "Δt (ms),weight_ratio", DT, RATIO)
    _no_warning(load_pairing_table, f)
    tables = [e.name for e in list_datasets() if e.kind == "table"]
    assert tables
    for name in tables:
        _no_warning(load_dataset, name)


# ------------------------------------------------------------------ 10. % of baseline


@pytest.mark.parametrize("header", ["EPSP slope (% of baseline)", "% of baseline",
                                    "fEPSP [% of baseline]"])
def test_percent_of_baseline_gets_the_ratio_rename(tmp_path, header):
    f = _csv(tmp_path / "pct.csv", f"cell,delta_t [ms],{header}", CELLS, DT,
             [100 * r for r in RATIO])
    with pytest.raises(ValueError, match=r"found columns .*\. Did you mean '.*baseline.*'\? "
                       r"% of baseline \(100 = unchanged\) is the ratio after/before: rename "
                       r"that column 'weight_ratio \[%\]'\.$"):
        load_pairing_table(f)


@pytest.mark.parametrize("unit", ["% of baseline", "percent of baseline", "% baseline"])
def test_weight_ratio_in_percent_of_baseline_reads_as_percent(tmp_path, unit):
    f = _csv(tmp_path / "pct.csv", f"delta_t [ms],weight_ratio [{unit}]", DT,
             [100 * r for r in RATIO])
    np.testing.assert_allclose(_no_warning(load_pairing_table, f)["weight_ratio"], RATIO)
    units_row = tmp_path / "units_row.csv"  # the unit in a row of units under the header
    units_row.write_text("delta_t,weight_ratio\nms,% of baseline\n"
                         + "".join(f"{d},{100 * r}\n" for d, r in zip(DT, RATIO, strict=True)),
                         encoding="utf-8")
    np.testing.assert_allclose(load_pairing_table(units_row)["weight_ratio"], RATIO)


def test_a_change_in_percent_of_baseline_is_refused_not_read_as_a_change(tmp_path):
    f = _csv(tmp_path / "chg.csv", "delta_t [ms],weight_change [% of baseline]", DT,
             [100 * r for r in RATIO])
    with pytest.raises(ValueError, match=r"`weight_change` is headed in '% of baseline' "
                       r"\('weight_change \[% of baseline\]'\): % of baseline \(100 = "
                       r"unchanged\) is a ratio, and a change is 0 when unchanged; name the "
                       r"column 'weight_ratio \[%\]'\.$"):
        load_pairing_table(f)


def test_percent_change_from_baseline_keeps_the_change_rename(tmp_path):
    f = _csv(tmp_path / "chg.csv", "delta_t [ms],% change from baseline", DT,
             [100 * (r - 1) for r in RATIO])
    with pytest.raises(ValueError, match=r"Rename that column 'weight_change \[%\]'\.$"):
        load_pairing_table(f)


@pytest.mark.parametrize("unit", ["pct", "% of baseline"])
def test_excel_percent_cells_read_as_shown_under_any_spelling_of_percent(tmp_path, unit):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["delta_t [ms]", f"weight_ratio [{unit}]"])
    for d, r in zip(DT, RATIO, strict=True):
        ws.append([d, r])  # stored 1.5, shown 150%
        ws.cell(ws.max_row, 2).number_format = "0%"
    wb.save(tmp_path / "pct.xlsx")
    np.testing.assert_allclose(load_pairing_table(tmp_path / "pct.xlsx")["weight_ratio"], RATIO)


# ------------------------------------------------------------------ 12. weights in two units

BEFORE = [round(1.0 + 0.1 * i, 3) for i in range(len(DT))]  # mV


@pytest.mark.parametrize("before_unit, after_unit, scale", [
    ("mV", "µV", 1e3), ("µV", "μV", 1.0), ("nA", "pA", 1e3), ("mV/ms", "µV/ms", 1e3)])
def test_weights_in_two_units_of_one_quantity_are_converted(tmp_path, before_unit, after_unit,
                                                            scale):
    after = [b * r * scale for b, r in zip(BEFORE, RATIO, strict=True)]
    f = _csv(tmp_path / "mixed.csv", f"delta_t [ms],weight_before [{before_unit}],"
             f"weight_after [{after_unit}]", DT, BEFORE, after)
    np.testing.assert_allclose(_no_warning(load_pairing_table, f)["weight_ratio"], RATIO,
                               rtol=1e-12)  # float rounding of the unit factors only


def test_weight_sem_in_a_third_unit_of_the_quantity_is_converted(tmp_path):
    after = [1e3 * b * r for b, r in zip(BEFORE, RATIO, strict=True)]
    sem = [50.0] * len(DT)  # µV, of weight_after
    f = _csv(tmp_path / "sem.csv", "delta_t [ms],weight_before [mV],weight_after [µV],"
             "weight_sem [µV]", DT, BEFORE, after, sem)
    np.testing.assert_allclose(load_pairing_table(f)["weight_sem"],
                               [50e-6 / (b * 1e-3) for b in BEFORE], rtol=1e-12)
    bare = _csv(tmp_path / "bare.csv", "delta_t [ms],weight_before [mV],weight_after [µV],"
                "weight_sem", DT, BEFORE, after, sem)
    with pytest.raises(ValueError, match=r"`weight_sem` of 'bare\.csv' has no unit, and "
                       r"`weight_before` and `weight_after` are in 'mV' and 'µV': name its "
                       r"unit, e.g\. 'weight_sem \[µV\]'\.$"):
        load_pairing_table(bare)


@pytest.mark.parametrize("after_unit, got", [("pA", "'mV' and 'pA'"), (None, "'mV' and none")])
def test_weights_of_two_quantities_are_refused_with_the_fix(tmp_path, after_unit, got):
    head = "weight_after" + (f" [{after_unit}]" if after_unit else "")
    f = _csv(tmp_path / "two.csv", f"delta_t [ms],weight_before [mV],{head}", DT, BEFORE,
             BEFORE)
    with pytest.raises(ValueError, match=rf"`weight_before` and `weight_after` of 'two\.csv' "
                       rf"must be in one unit, or in units of one quantity \(mV and µV are "
                       rf"converted\); got {got}: write both in one unit and name it in both "
                       r"headers, e.g\. 'weight_before \[mV\]' and 'weight_after \[mV\]'\.$"):
        load_pairing_table(f)


# ------------------------------------------------------------------ 13. missing-value markers


def _with(cells: list, at: dict) -> list:
    return [at.get(i, c) for i, c in enumerate(cells)]


def test_missing_value_markers_are_named_and_point_to_nan_drop(tmp_path):
    marks = {1: "n.d.", 4: "-", 6: "NA", 7: "—", 8: "nd"}
    f = _csv(tmp_path / "nd.csv", "cell,delta_t [ms],weight_ratio", CELLS, DT,
             _with(RATIO, marks))
    with pytest.raises(ValueError, match=r"^`table` has NaN \(empty cells, or the missing-value "
                       r"markers 'n\.d\.', '-', 'NA', '—', 'nd'\) in 5 of 10 rows \(lines 3, 6, "
                       r"8, 9, 10 of 'nd\.csv'; column\(s\) weight_ratio\); fill them, or pass "
                       r"nan='drop' \(command line: --nan drop\) to drop those rows"):
        load_pairing_table(f)
    with pytest.warns(UserWarning, match=r"dropped 5 of 10 rows .*markers 'n\.d\.'"):
        table = load_pairing_table(f, nan="drop")
    keep = [i for i in range(len(DT)) if i not in marks]
    np.testing.assert_allclose(table["weight_ratio"], np.array(RATIO)[keep])
    assert table.attrs["n_dropped"] == 5


def test_markers_in_a_workbook_read_as_missing_too(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["delta_t [ms]", "weight_ratio"])
    for row in zip(DT, _with(RATIO, {2: "n.d."}), strict=True):
        ws.append(list(row))
    wb.save(tmp_path / "nd.xlsx")
    with pytest.raises(ValueError, match=r"marker 'n\.d\.'\) in 1 of 10 rows \(row 4 of "
                       r"sheet 'Sheet' in 'nd\.xlsx'"):
        load_pairing_table(tmp_path / "nd.xlsx")
    with pytest.warns(UserWarning, match=r"dropped 1 of 10 rows"):
        assert len(load_pairing_table(tmp_path / "nd.xlsx", nan="drop")) == 9


def test_every_cell_that_is_not_a_number_is_named_in_one_message(tmp_path):
    bad = {0: "big", 2: "x", 3: "?", 5: "1;2", 6: "high", 9: "low"}
    f = _csv(tmp_path / "bad.csv", "delta_t [ms],weight_ratio,n", DT, _with(RATIO, bad),
             _with([1] * 10, {4: "many"}))
    with pytest.raises(ValueError, match=r"^`weight_ratio` and `n` must hold numbers; got 7 "
                       r"cells that are not: 'big' \(weight_ratio, line 2\), 'x' \(weight_ratio, "
                       r"line 4\), '\?' \(weight_ratio, line 5\), 'many' \(n, line 6\), '1;2' "
                       r"\(weight_ratio, line 7\) and 2 more of 'bad\.csv'\. Write a number in "
                       r"each, or leave the cell empty for a missing value\.$"):
        load_pairing_table(f)


def test_one_cell_that_is_not_a_number_keeps_its_own_fix(tmp_path):
    f = _csv(tmp_path / "one.csv", "delta_t,weight_ratio", ["10 ms", "0.02", "0.03"],
             [1.2, 0.9, 1.1])
    with pytest.raises(ValueError, match=r"^`delta_t` must hold numbers; got '10 ms' in line 2 "
                       r"of 'one\.csv'\. Write 10 and put the unit in the header \('delta_t "
                       r"\[ms\]'\)\.$"):
        load_pairing_table(f)


# ------------------------------------------------------------------ 7. which sheet


def _sheets(path, sheets: dict):
    """A workbook of ``sheets``: title → rows (the header first), in order."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


TABLE = [("cell", "delta_t [ms]", "weight_ratio"), *zip(CELLS, DT, RATIO, strict=True)]
INFO = [("column", "description"), ("cell", "cell id"), ("delta_t [ms]", "t_post - t_pre"),
        ("weight_ratio", "EPSP slope after/before")]


def test_a_sheet_documenting_the_columns_is_passed_over_with_a_warning(tmp_path):
    book = _sheets(tmp_path / "info.xlsx", {"Info": INFO, "data": TABLE})
    with pytest.warns(UserWarning, match=r"^`table` 'info\.xlsx': read sheet 'data', the first "
                      r"whose header names 'delta_t' and a weight column \(sheet 'Info' before "
                      r"it has no such header\); pass sheet=NAME \(command line: --sheet NAME\) "
                      r"to read another\.$"):
        table = load_pairing_table(book)
    np.testing.assert_allclose(table["weight_ratio"], RATIO)
    assert table.attrs["source"].endswith("info.xlsx[data]")


def test_two_sheets_that_both_hold_a_table_are_refused_naming_them(tmp_path):
    other = [(c, d, r ** 2) if i else (c, d, r) for i, (c, d, r) in enumerate(TABLE)]
    book = _sheets(tmp_path / "two.xlsx", {"Info": INFO, "slice A": TABLE, "slice B": other})
    with pytest.raises(ValueError, match=r"^`table` 'two\.xlsx' has 2 sheets whose header names "
                       r"'delta_t' and a weight column \('slice A', 'slice B'\), and plastix does "
                       r"not choose between them: pass sheet=NAME \(command line: --sheet NAME\),"
                       r" e\.g\. --sheet 'slice A'\.$"):
        load_pairing_table(book)
    np.testing.assert_allclose(_no_warning(load_pairing_table, book, sheet="slice B")
                               ["weight_ratio"], np.square(RATIO))


# ------------------------------------------------------------------ 11. a header of two rows


def test_a_header_of_two_rows_under_a_merged_cell_is_named_with_the_fix(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["cell", "delta_t [ms]", "EPSP slope [mV/ms]", None])
    ws.merge_cells("C1:D1")
    ws.append([None, None, "before", "after"])
    for c, d, b, r in zip(CELLS, DT, BEFORE, RATIO, strict=True):
        ws.append([c, d, b, b * r])
    wb.save(tmp_path / "merged.xlsx")
    with pytest.raises(ValueError, match=r"^`table` has a header of two rows: row 2 of sheet "
                       r"'Sheet' in 'merged\.xlsx' holds 'before', 'after' under 'EPSP slope "
                       r"\[mV/ms\]', above numbers; plastix reads one header row: name each "
                       r"column in one row, its unit in brackets \(here 'weight_before "
                       r"\[mV/ms\]', 'weight_after \[mV/ms\]'\), and delete row 2\.$") as err:
        load_pairing_table(tmp_path / "merged.xlsx")
    assert "Unnamed" not in str(err.value)


def test_a_pandas_multiindex_header_is_named_with_the_fix(tmp_path):
    pytest.importorskip("openpyxl")
    import pandas as pd

    frame = pd.DataFrame({("cell", ""): CELLS, ("delta_t [ms]", ""): DT,
                          ("EPSP", "weight_before [mV]"): BEFORE,
                          ("EPSP", "weight_after [mV]"): RATIO})
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.to_excel(tmp_path / "multi.xlsx")
    with pytest.raises(ValueError, match=r"^`table` has a header of two rows: row 2 of sheet "
                       r"'Sheet1' in 'multi\.xlsx' holds 'weight_before \[mV\]', 'weight_after "
                       r"\[mV\]' under 'EPSP', above numbers; .*\(here 'weight_before \[mV\]', "
                       r"'weight_after \[mV\]'\), and delete row 2\.$"):
        load_pairing_table(tmp_path / "multi.xlsx")


def test_a_header_of_two_rows_in_a_csv_is_named_with_the_fix(tmp_path):
    f = tmp_path / "two_rows.csv"  # a merged cell saved as CSV: its right half is empty
    f.write_text("cell,delta_t [ms],EPSP slope [mV/ms],\n,,baseline,after\n" + "".join(
        f"{c},{d},{b},{b * r}\n" for c, d, b, r in zip(CELLS, DT, BEFORE, RATIO, strict=True)),
        encoding="utf-8")
    with pytest.raises(ValueError, match=r"^`table` has a header of two rows: line 2 of "
                       r"'two_rows\.csv' holds 'baseline', 'after' under 'EPSP slope \[mV/ms\]',"
                       r" above numbers; .*\(here 'weight_before \[mV/ms\]', 'weight_after "
                       r"\[mV/ms\]'\), and delete line 2\.$") as err:
        load_pairing_table(f)
    assert "Unnamed" not in str(err.value)


def test_a_first_data_row_with_a_bad_cell_is_not_taken_for_a_header(tmp_path):
    f = _csv(tmp_path / "bad.csv", "delta_t [ms],weight_ratio", DT, _with(RATIO, {0: "big"}))
    with pytest.raises(ValueError, match=r"^`weight_ratio` must hold numbers; got 'big'"):
        load_pairing_table(f)
