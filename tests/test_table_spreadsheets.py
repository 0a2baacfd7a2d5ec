"""Pairing tables as labs save them: Excel workbooks, European CSV, other encodings.

Each variant is written here the way a spreadsheet program writes it and must read
back as the same table as a clean UTF-8 CSV; the spreadsheets plastix cannot read
are refused in one line that says how to save them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from plastix.io import load_pairing_table

DT_MS = [10.0, -10.0, 20.0, -20.0, 5.0]
RATIO = [1.5, 0.7, 1.2, 0.8, 1.35]
CELLS = ["c1", "c2", "c3", "c4", "c5"]


@pytest.fixture
def clean(tmp_path):
    path = tmp_path / "clean.csv"
    pd.DataFrame({"delta_t [ms]": DT_MS, "weight_ratio": RATIO, "cell": CELLS}).to_csv(
        path, index=False)
    return load_pairing_table(path)


def _same(table, ref):
    pd.testing.assert_frame_equal(table, ref, check_like=True)
    assert table.attrs["labels"] == ref.attrs["labels"]


def _european_csv(title: bool) -> str:
    """A semicolon CSV with decimal commas, as European Excel saves it."""
    rows = [f"{dt:g};{str(r).replace('.', ',')};{c};" for dt, r, c in zip(DT_MS, RATIO, CELLS,
                                                                      strict=True)]
    head = (["Paired recordings, slice 3;;;", ";;;"] if title else [])
    return "\r\n".join(head + ["Delta t [ms];Weight ratio;cell;"] + rows + [";;;", ""])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("title", [False, True])
def test_european_excel_csv_reads_as_the_clean_table(tmp_path, clean, encoding, title):
    path = tmp_path / "pairs.csv"
    path.write_bytes(_european_csv(title).encode(encoding))
    _same(load_pairing_table(path), clean)


def test_microseconds_header_in_windows_1252(tmp_path, clean):
    path = tmp_path / "pairs.csv"
    lines = ["delta_t [µs],weight_ratio,cell"] + [
        f"{1e3 * dt:g},{r},{c}" for dt, r, c in zip(DT_MS, RATIO, CELLS, strict=True)]
    path.write_bytes("\n".join(lines).encode("cp1252"))
    table = load_pairing_table(path)
    np.testing.assert_allclose(table["delta_t"], clean["delta_t"])


def test_known_columns_match_without_case_or_spaces(tmp_path):
    frame = pd.DataFrame({"Delta-T [ms]": DT_MS, "WEIGHT RATIO [%]": [100 * r for r in RATIO],
                          "N": [3, 4, 5, 6, 7], "Cell": CELLS})
    table = load_pairing_table(frame)
    assert {"delta_t", "weight_ratio", "n", "Cell"} <= set(table.columns)
    np.testing.assert_allclose(table["weight_ratio"], RATIO)
    assert table["n"].tolist() == [3, 4, 5, 6, 7]
    with pytest.raises(ValueError, match=r"two columns named 'delta_t' \(units aside\): "
                       r"'delta_t' and 'Delta t'; keep one\."):
        load_pairing_table(pd.DataFrame({"delta_t": [0.01], "Delta t": [0.01],
                                         "weight_ratio": [1.0]}))


def test_units_in_parentheses_and_a_greek_delta(tmp_path):
    """``Δt (ms)`` and ``Weight ratio (%)``, as spreadsheets often head them, are the known
    columns with their units; a label column keeps its parentheses (``cell (L5)``); a CSV
    of them reads the same as the bracketed header."""
    frame = pd.DataFrame({"Δt (ms)": DT_MS, "Weight ratio (%)": [100 * r for r in RATIO],
                          "cell (L5)": CELLS})
    table = load_pairing_table(frame)
    np.testing.assert_allclose(table["delta_t"], np.asarray(DT_MS) * 1e-3)
    np.testing.assert_allclose(table["weight_ratio"], RATIO)
    assert table.attrs["labels"] == ["cell (L5)"]
    path = tmp_path / "greek.csv"
    frame.rename(columns={"Δt (ms)": "∆t (ms)"}).to_csv(path, index=False)  # U+2206 too
    again = load_pairing_table(path)
    np.testing.assert_allclose(again["delta_t"], table["delta_t"])
    with pytest.raises(ValueError, match=r"`delta_t` has an unknown unit 'hours' in its header"):
        load_pairing_table(pd.DataFrame({"delta t (hours)": [1.0], "weight_ratio": [1.0]}))


def test_ragged_csv_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("delta_t [ms],weight_ratio\n10,1.5\n-10,0.7,extra,cells\n")
    with pytest.raises(ValueError, match=r"'ragged.csv' could not be read as a ','-separated") \
            as err:
        load_pairing_table(path)
    assert "\n" not in str(err.value)


def _workbook(path, *, title_rows: int = 0, second: bool = False):
    frame = pd.DataFrame({"Delta t [ms]": DT_MS, "weight_ratio": RATIO, "cell": CELLS})
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"note": ["cells from P21 rats"]}).to_excel(book, sheet_name="notes",
                                                                 index=False)
        frame.to_excel(book, sheet_name="pairs", index=False, startrow=title_rows)
        if second:
            frame.assign(weight_ratio=frame["weight_ratio"] ** 2).to_excel(
                book, sheet_name="squared", index=False)
        if title_rows:
            book.sheets["pairs"]["A1"] = "Pairing experiments, 2026"


@pytest.mark.parametrize("title_rows", [0, 3])
def test_xlsx_finds_its_table_sheet_and_header(tmp_path, clean, title_rows):
    path = tmp_path / "book.xlsx"
    _workbook(path, title_rows=title_rows)
    with pytest.warns(UserWarning) as seen:  # one sheet with a table, not the first: named
        table = load_pairing_table(path)
    assert [str(w.message) for w in seen] == [
        "`table` 'book.xlsx': read sheet 'pairs', the first whose header names 'delta_t' and "
        "a weight column (sheet 'notes' before it has no such header); pass sheet=NAME "
        "(command line: --sheet NAME) to read another."]
    assert table.attrs.pop("source").endswith("book.xlsx[pairs]")
    clean.attrs.pop("source")
    _same(table, clean)


def test_xlsx_with_two_table_sheets_is_refused_and_sheet_picks(tmp_path, clean):
    path = tmp_path / "book.xlsx"
    _workbook(path, second=True)
    with pytest.raises(ValueError, match=r"has 2 sheets whose header names 'delta_t' and a "
                       r"weight column \('pairs', 'squared'\), and plastix does not choose "
                       r"between them: pass sheet=NAME \(command line: --sheet NAME\), e\.g\. "
                       r"--sheet pairs\.$"):
        load_pairing_table(path)
    np.testing.assert_allclose(load_pairing_table(path, sheet="pairs")["weight_ratio"], RATIO)
    for sheet in ("squared", 2, "2"):
        np.testing.assert_allclose(load_pairing_table(path, sheet=sheet)["weight_ratio"],
                                   np.square(RATIO))
    with pytest.raises(ValueError, match=r"`sheet` 'pair' is not in 'book.xlsx'.*'pairs'"):
        load_pairing_table(path, sheet="pair")
    with pytest.raises(ValueError, match="`sheet` 7 is out of range"):
        load_pairing_table(path, sheet=7)


@pytest.mark.parametrize("name, content, match", [
    ("old.xls", b"\xd0\xcf\x11\xe0", r"'old.xls' is a .xls spreadsheet.*save it as .xlsx or "),
    ("sheet.ods", b"PK", r"'sheet.ods' is a .ods spreadsheet"),
    ("fake.xlsx", b"not a zip", r"'fake.xlsx' is not a readable Excel .xlsx workbook"),
])
def test_unreadable_spreadsheets_are_one_line(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as err:
        load_pairing_table(path)
    assert "\n" not in str(err.value)


def test_cli_sheet_flag_and_one_line_warnings(tmp_path, capsys):
    from plastix.cli import console

    path = tmp_path / "book.xlsx"
    _workbook(tmp_path / "one.xlsx")  # a notes sheet, then the table: read, with a warning
    before = warnings.showwarning
    rc = console(["estimate", str(tmp_path / "one.xlsx"), "--n-boot", "50", "--n-null", "19",
                  "--rng", "0"])
    assert warnings.showwarning is before  # the console's warning format is scoped
    captured = capsys.readouterr()
    assert rc == 0
    warned = [line for line in captured.err.splitlines() if line.strip()]
    assert warned == [line for line in warned if line.startswith("plastix: warning: ")], warned
    assert any("read sheet 'pairs'" in line for line in warned)
    _workbook(path, second=True)  # two sheets with a table: refused in one line
    rc = console(["estimate", str(path), "--n-boot", "50", "--n-null", "19", "--rng", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "e.g. --sheet pairs" in err[0], err
    rc = console(["estimate", str(path), "--sheet", "squared", "--n-boot", "50",
                  "--n-null", "19", "--rng", "0"])
    captured = capsys.readouterr()
    assert rc == 0 and "warning" not in captured.err
    rc = console(["inspect", str(path), "--sheet", "nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "`--sheet` 'nope' is not in 'book.xlsx'" in err[0]


def test_weight_change_in_percent_or_fraction_and_the_percent_warning():
    """``weight_change`` (after/before - 1) as labs often report it: ``+50`` in ``[%]`` is a
    ratio of 1.5, the same table as ``weight_ratio [%]`` of 150; a unitless ratio or change
    whose values look like percent is read as written, with a warning naming the fix."""
    ratio = load_pairing_table(pd.DataFrame({"delta_t [ms]": DT_MS,
                                             "weight_ratio [%]": [100 * r for r in RATIO]}))
    change = load_pairing_table(pd.DataFrame({"delta_t [ms]": DT_MS,
                                              "Weight change (%)": [100 * r - 100 for r in RATIO]}))
    np.testing.assert_allclose(change["weight_ratio"], ratio["weight_ratio"], rtol=1e-12)
    fraction = load_pairing_table(pd.DataFrame({"delta_t [ms]": DT_MS,
                                                "weight_change": [r - 1 for r in RATIO]}))
    np.testing.assert_allclose(fraction["weight_ratio"], RATIO, rtol=1e-12)
    with pytest.warns(UserWarning, match=r"`weight_ratio` has no unit in its header and is read "
                      r"as a fraction \(1 = no change\); .* look like percent: write "
                      r"'weight_ratio \[%\]' if they are\."):
        load_pairing_table(pd.DataFrame({"delta_t [ms]": DT_MS,
                                         "weight_ratio": [100 * r for r in RATIO]}))


def test_a_row_of_units_under_the_header(tmp_path):
    """Lab sheets often put the units in the row under the names: read as the bracketed
    header, in CSV (with decimal commas too) and in Excel; a header that names another
    unit than the row under it is refused."""
    clean = load_pairing_table(pd.DataFrame({"delta_t [ms]": DT_MS,
                                             "weight_ratio [%]": [100 * r for r in RATIO],
                                             "cell": CELLS}))
    rows = [f"{dt:g},{100 * r:g},{c}" for dt, r, c in zip(DT_MS, RATIO, CELLS, strict=True)]
    path = tmp_path / "units.csv"
    path.write_text("\n".join(["delta_t,weight_ratio,cell", "ms,%,"] + rows))
    pd.testing.assert_frame_equal(load_pairing_table(path), clean, check_like=True,
                                  check_exact=False, rtol=1e-12)
    euro = tmp_path / "euro.csv"
    euro.write_text("\n".join(["delta_t;weight_ratio;cell", "(ms);(%);"] + [
        r.replace(",", ";").replace(".", ",") for r in rows]))
    np.testing.assert_allclose(load_pairing_table(euro)["weight_ratio"], RATIO, rtol=1e-12)
    book = tmp_path / "units.xlsx"
    with pd.ExcelWriter(book) as xw:
        pd.DataFrame([["ms", "%", None]] + [[dt, 100 * r, c] for dt, r, c in zip(
            DT_MS, RATIO, CELLS, strict=True)], columns=["delta_t", "weight_ratio", "cell"]
        ).to_excel(xw, index=False)
    np.testing.assert_allclose(load_pairing_table(book)["delta_t"], clean["delta_t"], rtol=1e-12)
    clash = tmp_path / "clash.csv"
    clash.write_text("delta_t [s],weight_ratio\nms,\n10,1.5\n")
    with pytest.raises(ValueError, match=r"column 'delta_t \[s\]' names the unit 's' and the "
                       r"row under it 'ms'; keep one\."):
        load_pairing_table(clash)


def test_a_row_giving_only_the_weights_unit(tmp_path):
    """The units row may name the weights' unit alone (the time unit in the header): it is
    read as units, not refused as data; a row of other text under the weights stays data
    (and is refused, naming the cell)."""
    before = [2.0, 3.0, 1.0, 2.5, 2.0]
    rows = [f"{dt:g},{b:g},{b * r:g}" for dt, b, r in zip(DT_MS, before, RATIO, strict=True)]
    path = tmp_path / "epsp.csv"
    path.write_text("\n".join(["delta_t [ms],EPSP before,EPSP after", ",mV,mV"] + rows)
                    .replace("EPSP before", "weight_before").replace("EPSP after",
                                                                     "weight_after"))
    np.testing.assert_allclose(load_pairing_table(path)["weight_ratio"], RATIO, rtol=1e-12)
    note = tmp_path / "note.csv"
    note.write_text("\n".join(["delta_t [ms],weight_before,weight_after",
                               ",see the lab notebook entry,"] + rows))
    with pytest.raises(ValueError, match="see the lab notebook entry"):
        load_pairing_table(note)


def test_units_after_an_underscore_as_scripts_name_columns():
    """``delta_t_ms``, ``weight_ratio_pct``, ``frequency_hz`` and ``weight_before_mV`` are
    the known columns with those units; ``n_cells`` is ``n`` (an alias) and
    ``weight_before_raw`` stays a label."""
    table = load_pairing_table(pd.DataFrame({
        "delta_t_ms": DT_MS, "weight_ratio_pct": [100 * r for r in RATIO],
        "frequency_hz": [1.0] * 5, "n_cells": [3] * 5, "weight_before_raw": [2.0] * 5}))
    np.testing.assert_allclose(table["delta_t"], np.asarray(DT_MS) * 1e-3)
    np.testing.assert_allclose(table["weight_ratio"], RATIO, rtol=1e-12)
    assert table["frequency"].tolist() == [1.0] * 5 and table["n"].tolist() == [3] * 5
    assert table.attrs["labels"] == ["weight_before_raw"]
    mv = load_pairing_table(pd.DataFrame({"delta_t_ms": DT_MS, "weight_before_mV": [2.0] * 5,
                                          "weight_after_mV": [2.0 * r for r in RATIO]}))
    np.testing.assert_allclose(mv["weight_ratio"], RATIO, rtol=1e-12)
