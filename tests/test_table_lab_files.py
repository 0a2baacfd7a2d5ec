"""Pairing tables as labs really save them (the table probe's report): summary rows, locale
numbers, Excel formats and formulas, lab column names, UTF-16 text, comments, and messages
that name the cell as the user sees it.

Every input is built here the way the program that writes it does (openpyxl for .xlsx,
bytes for text files).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

openpyxl = pytest.importorskip("openpyxl")

from plastix.io.table import TABLE_SUFFIXES, load_pairing_table  # noqa: E402

DT = [-80, -40, -20, -10, -5, 5, 10, 20, 40, 80]
RATIO = [round(1 + (0.6 if d > 0 else -0.4) * math.exp(-abs(d) / 20), 4) for d in DT]
CELLS = [f"cell{i:02d}" for i in range(len(DT))]


def _book(path, rows, *, formats=None, title=None):
    """An .xlsx of ``rows`` (the header first); ``formats``: column (1-based) → number
    format of the data cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for row in rows:
        ws.append(row)
        for col, fmt in (formats or {}).items():
            if ws.max_row > 1 + bool(title):
                ws.cell(ws.max_row, col).number_format = fmt
    wb.save(path)
    return path


def _csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _no_warning(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


# ------------------------------------------------------------------ 1. summary rows


def test_summary_rows_under_the_data_are_left_out_with_one_warning(tmp_path):
    rows = [["cell", "Δt (ms)", "weight ratio"]] + [list(r) for r in zip(CELLS, DT, RATIO,
                                                                          strict=True)]
    rows += [[None, None, None], ["mean", 0.0, 1.02], ["SEM", 0.0, 0.05], ["n", 20, 20]]
    path = _book(tmp_path / "summary.xlsx", rows)
    with pytest.warns(UserWarning) as record:
        table = load_pairing_table(path)
    assert len(table) == len(DT) and table["cell"].tolist() == CELLS
    msgs = [str(w.message) for w in record]
    assert len(msgs) == 1, msgs
    assert ("left out 3 summary rows of the pairing table of sheet 'Sheet' in 'summary.xlsx': "
            "'mean' (row 13), 'SEM' (row 14), 'n' (row 15)") in msgs[0]


@pytest.mark.parametrize("footer", [["mean ± SEM:", "1", "1.02"], ["Average:", "1", "1.02"],
                                    ["s.e.m.", "1", "0.05"], ["SD", "1", "0.1"],
                                    ["total", "10", "10"]])
def test_summary_words_in_a_csv(tmp_path, footer):
    body = "\n".join(f"{c},{d},{r}" for c, d, r in zip(CELLS, DT, RATIO, strict=True))
    path = _csv(tmp_path / "s.csv", "cell,delta_t [ms],weight_ratio\n" + body + "\n"
                + ",".join(footer) + "\nN,10,10\n")
    with pytest.warns(UserWarning, match=r"left out 2 summary rows .*\(line 12\), 'N' "
                      r"\(line 13\)"):
        assert len(load_pairing_table(path)) == len(DT)


def test_n_as_a_label_of_a_data_row_is_kept(tmp_path):
    """``n`` is a summary row only under one, or after the blank row that ends the data."""
    path = _csv(tmp_path / "n.csv", "group,delta_t [ms],weight_ratio\nn,10,1.2\nx,-10,0.8\n")
    assert _no_warning(load_pairing_table, path)["group"].tolist() == ["n", "x"]


# ------------------------------------------------------------------ 2. numbers


def _de(x, decimals):
    """A number as German Excel writes it with ``#.##0``: ``1.294`` / ``1.294,2``."""
    return f"{x:,.{decimals}f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _pa_table(cell):
    return "cell;delta_t [ms];weight_before [pA];weight_after [pA]\n" + "".join(
        f"{c};{d};{cell(900.0)};{cell(900.0 * r)}\n" for c, d, r in zip(CELLS, DT, RATIO,
                                                                         strict=True))


def test_thousands_points_with_decimal_commas_are_read(tmp_path):
    path = _csv(tmp_path / "de.csv", _pa_table(lambda x: _de(x, 1)), "cp1252")
    np.testing.assert_allclose(load_pairing_table(path)["weight_ratio"], RATIO, atol=1e-4)


def test_thousands_points_without_a_decimal_comma_are_refused(tmp_path):
    """``1.294`` next to ``900`` in a semicolon file that shows no decimal comma: 1294 or
    1.294?  Never a silent factor of 1000."""
    path = _csv(tmp_path / "de_int.csv", _pa_table(lambda x: _de(x, 0)))
    with pytest.raises(ValueError, match=r"`weight_after` has numbers that read two ways: "
                       r"'1\.321' \(line 7\), '1\.228' \(line 8\), '1\.099' \(line 9\) of "
                       r"'de_int\.csv'\. '1\.321' is 1321 .* or 1\.321 .*Write the numbers without "
                       r"thousands separators") as err:
        load_pairing_table(path)
    assert "\n" not in str(err.value)


def test_spaces_and_thousands_commas_in_numbers(tmp_path):
    nbsp = _csv(tmp_path / "nbsp.csv", _pa_table(
        lambda x: _de(x, 1).replace(".", "\u00a0")), "utf-8")
    np.testing.assert_allclose(load_pairing_table(nbsp)["weight_ratio"], RATIO, atol=1e-4)
    en = "cell,delta_t [ms],weight_before [pA],weight_after [pA]\n" + "".join(
        f'{c},{d},"{900.0:,.1f}","{900.0 * r + 400:,.1f}"\n'
        for c, d, r in zip(CELLS, DT, RATIO, strict=True))
    table = load_pairing_table(_csv(tmp_path / "en.csv", en))
    np.testing.assert_allclose(table["weight_ratio"], [(900 * r + 400) / 900 for r in RATIO],
                               atol=1e-4)


def test_tab_separated_decimal_commas_read_as_numbers(tmp_path):
    text = "experiment\tdelta t (ms)\tweight change (%)\n" + "".join(
        f"{c}\t{d}\t{(r - 1) * 100:.1f}".replace(".", ",") + "\n"
        for c, d, r in zip(CELLS, DT, RATIO, strict=True))
    table = load_pairing_table(_csv(tmp_path / "tab.tsv", text))
    np.testing.assert_allclose(table["weight_ratio"], RATIO, atol=1e-3)


def test_csv_with_duplicate_names_and_trailing_fields(tmp_path):
    """The header is read as written (no ``x.1`` names), and an extra empty field at the end
    of the data rows does not shift the columns."""
    dup = _csv(tmp_path / "dup.csv", "experiment,delta_t [ms],weight_ratio,weight_ratio\n"
               "c1,10,1.2,0.8\n")
    with pytest.raises(ValueError, match=r"two columns named 'weight_ratio' \(units aside\): "
                       r"'weight_ratio' and 'weight_ratio'; keep one\."):
        load_pairing_table(dup)
    trail = _csv(tmp_path / "trail.csv", "experiment,delta_t [ms],weight_ratio\n" + "".join(
        f"{c},{d},{r},\n" for c, d, r in zip(CELLS, DT, RATIO, strict=True)))
    table = load_pairing_table(trail)
    assert table["experiment"].tolist() == CELLS
    np.testing.assert_allclose(table["weight_ratio"], RATIO)


def test_numeric_labels_stay_numbers(tmp_path):
    path = _csv(tmp_path / "l.csv", "slice;delta_t [ms];weight_ratio;temp\n1;10;1,2;32,5\n"
                "2;-10;0,8;33\n")
    table = load_pairing_table(path)
    assert table["slice"].tolist() == [1, 2] and table["temp"].tolist() == [32.5, 33.0]


# ------------------------------------------------------------------ 3. Excel cells


def _change_rows(values, header="weight change (%)"):
    return [["cell", "Δt (ms)", header]] + [[c, d, v] for c, d, v in zip(CELLS, DT, values,
                                                                          strict=True)]


def test_percent_formatted_cells_under_a_percent_header_read_as_shown(tmp_path):
    stored = [r - 1 for r in RATIO]  # Excel stores 0.47 for a cell that shows 47%
    path = _book(tmp_path / "pct.xlsx", _change_rows(stored), formats={3: "0%"})
    np.testing.assert_allclose(_no_warning(load_pairing_table, path)["weight_ratio"], RATIO,
                               rtol=1e-12)
    plain = _book(tmp_path / "frac.xlsx", _change_rows(stored, "weight change"),
                  formats={3: "0.0%"})
    np.testing.assert_allclose(load_pairing_table(plain)["weight_ratio"], RATIO, rtol=1e-12)


def test_formulas_without_saved_values_are_refused(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["cell", "Δt (ms)", "EPSP before (mV)", "EPSP after (mV)", "weight change (%)"])
    for c, d, r in zip(CELLS, DT, RATIO, strict=True):
        k = ws.max_row + 1
        ws.append([c, d, 2.0, 2.0 * r, f"=(D{k}/C{k}-1)*100"])
    ws["C1"], ws["D1"] = "x", "y"  # only the formula column is a weight column
    wb.save(tmp_path / "f.xlsx")
    with pytest.raises(ValueError, match=r"`table` 'f\.xlsx', sheet 'Sheet': cells E2\.\.E11 "
                       r"hold formulas with no saved value .*: open the workbook in Excel or "
                       r"LibreOffice and save it\."):
        load_pairing_table(tmp_path / "f.xlsx")


def test_an_error_cell_is_refused_naming_the_cell(tmp_path):
    rows = [["notes: 32 °C"], [], ["cell", "delta_t [ms]", "weight_ratio"]] + [
        [c, d, "#DIV/0!" if i == 6 else r]
        for i, (c, d, r) in enumerate(zip(CELLS, DT, RATIO, strict=True))]
    path = _book(tmp_path / "err.xlsx", rows, title="STDP 2023")
    with pytest.raises(ValueError, match=r"`weight_ratio` must hold numbers; cell C11 of sheet "
                       r"'Sheet' in 'err\.xlsx' holds the Excel error #DIV/0!: fix its formula"):
        load_pairing_table(path)


def test_excel_labels_dates_bools_and_numbers_as_text_are_kept(tmp_path):
    import datetime as dt

    rows = [["date", "ok", "delta_t [ms]", "weight_ratio"],
            [dt.datetime(2023, 5, 1), True, "10", 1.2], [dt.datetime(2023, 5, 2), False, "-10",
                                                         0.8]]
    table = load_pairing_table(_book(tmp_path / "d.xlsx", rows))
    assert table["delta_t"].tolist() == [0.01, -0.01]
    assert pd.api.types.is_datetime64_any_dtype(table["date"])
    assert table["ok"].tolist() == [True, False]


# ------------------------------------------------------------------ 4. row numbers


def test_rows_are_named_as_the_user_sees_them(tmp_path):
    rows = [["notes"], [], ["cell", "delta_t [ms]", "weight_ratio"]] + [
        [c, d, None if i == 6 else r]
        for i, (c, d, r) in enumerate(zip(CELLS, DT, RATIO, strict=True))]
    path = _book(tmp_path / "gap.xlsx", rows, title="STDP 2023")
    with pytest.raises(ValueError, match=r"NaN \(empty cells\) in 1 of 10 rows \(row 11 of "
                       r"sheet 'Sheet' in 'gap\.xlsx'; column\(s\) weight_ratio\)"):
        load_pairing_table(path)
    text = "STDP 2023\n\nexperiment,delta_t [ms],weight_ratio\nc1,10,1.2\nc2,-10,0\n"
    with pytest.raises(ValueError, match=r"got 0 in line 5 of 't\.csv'\."):
        load_pairing_table(_csv(tmp_path / "t.csv", text))


# ------------------------------------------------------------------ 5. percent sanity


def _pct(tmp_path, header, values, extra=""):
    text = f"delta_t [ms],{header}{extra and ','}{extra}\n" + "".join(
        f"{d},{v}" + (",4" if extra else "") + "\n" for d, v in zip(DT, values, strict=True))
    return load_pairing_table(_csv(tmp_path / "p.csv", text))


def test_percent_of_baseline_and_fractions_under_percent_warn(tmp_path):
    with pytest.warns(UserWarning, match=r"look like % of baseline .*name the column "
                      r"'weight_ratio \[%\]'"):
        _pct(tmp_path, "weight change (%)", [100 * r for r in RATIO])
    with pytest.warns(UserWarning, match=r"`weight_change \[%\]` values .* look like fractions"
                      r".*drop the \[%\]"):
        _pct(tmp_path, "weight change [%]", [r - 1 for r in RATIO])
    with pytest.warns(UserWarning, match=r"`weight_ratio \[%\]` values .* look like fractions"):
        _pct(tmp_path, "weight_ratio [%]", RATIO)


def test_a_unitless_sem_takes_the_unit_of_the_change(tmp_path):
    table = _pct(tmp_path, "weight change [%]", [100 * (r - 1) for r in RATIO], "SEM")
    np.testing.assert_allclose(table["weight_sem"], 0.04)


# ------------------------------------------------------------------ 6. lab names


@pytest.mark.parametrize("name, column", [
    ("pairings", "n_pairings"), ("# pairings", "n_pairings"), ("No. pairings", "n_pairings"),
    ("number of pairings", "n_pairings"), ("pairings per train", "n_pairings"),
    ("trains", "n_trains"), ("# trains", "n_trains"), ("Number of trains", "n_trains"),
    ("SEM", "weight_sem"), ("s.e.m.", "weight_sem"), ("se", "weight_sem"),
    ("S.E.", "weight_sem"), ("standard error", "weight_sem"), ("weight SEM", "weight_sem"),
    ("n cells", "n"), ("n_cells", "n"), ("number of cells", "n"), ("# cells", "n"),
    ("freq (Hz)", "frequency"), ("pairing frequency [Hz]", "frequency"),
    ("pairing rate", "frequency"), ("control", "control_ratio"),
    ("Control ratio", "control_ratio")])
def test_lab_names_of_the_known_columns(name, column):
    table = load_pairing_table(pd.DataFrame({"delta_t [ms]": [10.0, -10.0],
                                             "weight_ratio": [1.2, 0.8], name: [2, 3]}))
    assert name not in table and table.attrs["labels"] == []
    if column == "control_ratio":  # the ratio is divided by it
        np.testing.assert_allclose(table["weight_ratio"], [0.6, 0.8 / 3])
    else:
        assert table[column].tolist() == [2, 3]


def test_two_names_of_one_column_and_unit_words_in_brackets():
    with pytest.raises(ValueError, match=r"two columns named 'n_pairings' \(units aside\): "
                       r"'n_pairings' and '# pairings'; keep one\."):
        load_pairing_table(pd.DataFrame({"delta_t": [0.01], "weight_ratio": [1.0],
                                         "n_pairings": [5], "# pairings": [5]}))
    for unit, factor in [("msec", 1e-3), ("sec", 1.0), ("usec", 1e-6)]:
        t = load_pairing_table(pd.DataFrame({f"Δt [{unit}]": [10.0], "weight_ratio": [1.0]}))
        np.testing.assert_allclose(t["delta_t"], 10.0 * factor)
    for unit in ("pct", "percent"):
        t = load_pairing_table(pd.DataFrame({"delta_t": [0.01], f"ratio [{unit}]": [1.0],
                                             f"weight_ratio [{unit}]": [150.0]}))
        np.testing.assert_allclose(t["weight_ratio"], 1.5)


# ------------------------------------------------------------------ 7. UTF-16 and .txt


@pytest.mark.parametrize("name, encoding", [("u.txt", "utf-16"), ("u.csv", "utf-16-le"),
                                            ("u.txt", "utf-16-be"), ("t.txt", "utf-8")])
def test_unicode_text_and_txt_exports(tmp_path, name, encoding):
    text = "experiment\tΔt (ms)\tweight change (%)\r\n" + "".join(
        f"{c}\t{d}\t{(r - 1) * 100:.1f}\r\n" for c, d, r in zip(CELLS, DT, RATIO, strict=True))
    raw = text.encode(encoding)
    if encoding.startswith("utf-16-"):  # Excel writes the byte-order mark
        raw = ("\ufeff" + text).encode(encoding)
    path = tmp_path / name
    path.write_bytes(raw)
    table = load_pairing_table(path)
    np.testing.assert_allclose(table["weight_ratio"], RATIO, atol=1e-3)
    assert table["experiment"].tolist() == CELLS


def test_txt_is_a_table_suffix_and_no_record_format_claims_it():
    from plastix.io.formats import format_suffixes

    assert ".txt" in TABLE_SUFFIXES and ".txt" not in format_suffixes()


# ------------------------------------------------------------------ 8. pre - post


@pytest.mark.parametrize("header", ["t_pre - t_post (ms)", "pre minus post [ms]"])
def test_a_pre_minus_post_column_says_to_negate(header):
    with pytest.raises(ValueError, match=r"reads as t_pre − t_post, but plastix's delta_t is "
                       r"t_post − t_pre .*: negate its values and name the column "
                       r"'delta_t \[ms\]'\."):
        load_pairing_table(pd.DataFrame({header: [10.0], "weight_ratio": [1.0]}))


@pytest.mark.parametrize("header", ["delta_t_pre_post [ms]", "pre-post interval [ms]"])
def test_a_pre_post_column_gets_both_readings(header):
    """A bare "pre-post" does not say the sign (pre to post, or pre minus post)."""
    with pytest.raises(ValueError, match=r"not the sign of its interval.* rename it "
                       r"'delta_t \[ms\]'; if they are > 0 when post fires first"):
        load_pairing_table(pd.DataFrame({header: [10.0], "weight_ratio": [1.0]}))


# ------------------------------------------------------------------ 9. DataFrames


def test_timedelta_delta_t_and_a_groupby_index():
    spans = pd.to_timedelta([-20, -10, 10, 20], unit="ms")
    frame = pd.DataFrame({"delta_t": spans, "weight_ratio": [0.8, 0.7, 1.4, 1.2]})
    assert _no_warning(load_pairing_table, frame)["delta_t"].tolist() == [-0.02, -0.01, 0.01,
                                                                           0.02]
    with pytest.raises(ValueError, match=r"`delta_t` holds time spans \(timedelta64\), which "
                       r"carry their own unit, and its name says \[ms\]"):
        load_pairing_table(frame.rename(columns={"delta_t": "delta_t [ms]"}))
    cells = pd.DataFrame({"delta_t [ms]": [-20, -20, 20, 20], "weight_ratio": [.8, .9, 1.2, 1.3],
                          "cell": ["a", "b", "c", "d"]})
    means = _no_warning(load_pairing_table, cells.groupby("delta_t [ms]")[["weight_ratio"]].mean())
    assert means["delta_t"].tolist() == [-0.02, 0.02]  # a groupby's keys are its column
    labelled = load_pairing_table(cells.set_index("cell"))
    assert labelled["cell"].tolist() == ["a", "b", "c", "d"]  # a named index is a label


# ------------------------------------------------------------------ 10. comments


def test_comment_lines_are_skipped_and_lines_keep_their_numbers(tmp_path):
    text = ("# recorded by A.B., 32 C\nexperiment,delta_t [ms],weight_ratio\nc1,10,1.2\n"
            "# c2 excluded: access resistance > 25 MOhm\nc3,-10,0.8\n#12,20,1.1\nc4,-20,\n")
    with pytest.raises(ValueError, match=r"NaN \(empty cells\) in 1 of 4 rows \(line 7 of "
                       r"'c\.csv'; column\(s\) weight_ratio\)"):
        load_pairing_table(_csv(tmp_path / "c.csv", text))
    table = load_pairing_table(tmp_path / "c.csv", nan="drop")
    assert table["experiment"].tolist() == ["c1", "c3", "#12"]


# ------------------------------------------------------------------ 11. cell messages


def test_percent_cells_and_cell_messages(tmp_path):
    text = "experiment,delta_t [ms],weight_change\n" + "".join(
        f"{c},{d},{(r - 1) * 100:+.0f}%\n" for c, d, r in zip(CELLS, DT, RATIO, strict=True))
    table = load_pairing_table(_csv(tmp_path / "pct.csv", text))
    np.testing.assert_allclose(table["weight_ratio"], RATIO, atol=0.006)
    mixed = _csv(tmp_path / "mixed.csv", "delta_t [ms],weight_change\n10,+50%\n-10,-0.3\n")
    with pytest.raises(ValueError, match=r"`weight_change` must hold numbers; got '\+50%' in "
                       r"line 2 of 'mixed\.csv'\. Write 50 and put \[%\] in the header"):
        load_pairing_table(mixed)
    times = _csv(tmp_path / "x.csv", "delta_t [ms],weight_ratio\n10,1.5x\n")
    with pytest.raises(ValueError, match=r"got '1\.5x' in line 2 of 'x\.csv'\. Write the "
                       r"number alone \(1\.5\)\."):
        load_pairing_table(times)
    comma = _csv(tmp_path / "comma.csv", 'delta_t [ms],weight_ratio\n10,"1,5"\n')
    with pytest.raises(ValueError, match=r"Decimal commas are read in semicolon- or "
                       r"tab-separated files only"):
        load_pairing_table(comma)


# ------------------------------------------------------------------ 12. both forms of a fix


def test_fixes_name_the_command_line_flag_too(tmp_path):
    with pytest.raises(ValueError, match=r"pass nan='drop' \(command line: --nan drop\)"):
        load_pairing_table(pd.DataFrame({"delta_t": [0.01, np.nan], "weight_ratio": [1, 1]}))
    wb = openpyxl.Workbook()
    for title in ("a", "b"):
        ws = wb.create_sheet(title)
        ws.append(["delta_t", "weight_ratio"])
        ws.append([0.01, 1.2])
    wb.save(tmp_path / "two.xlsx")
    with pytest.raises(ValueError, match=r"sheet=NAME \(command line: --sheet NAME\)"):
        load_pairing_table(tmp_path / "two.xlsx")
