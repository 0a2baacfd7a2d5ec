"""Probe 5's findings on tables of pairing experiments: numbers that read two ways
(a leading 0 group, tab files, comma files), Excel's percent format (SEM columns,
literal ``%`` signs), summary words among the data, label names that clash with
the result's variables, chart sheets, empty formula results, separators, Swiss
thousands separators, counts with round-off, Parquet indexes, pandas' index
column, empty labels in a written result, and unit spellings in any case."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from plastix.io.table import load_pairing_table

DT = [-40, -20, 20, 40]
RATIO = [0.8, 0.7, 1.4, 1.3]


def _text(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _quiet(path, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_pairing_table(path, **kw)


# ------------------------------------------------------------------ 3, 4, 15. numbers


def test_a_leading_zero_group_is_a_decimal_comma_in_a_comma_file(tmp_path):
    """``"0,800"`` in a comma-separated file is 0.8 written with a decimal comma (no
    thousands group follows a 0), never 800; the file's decimal commas are refused with
    the fix, ``"1,400"`` among them."""
    f = _text(tmp_path / "c.csv", 'delta_t [ms],weight_ratio\n-40,"0,800"\n-20,"0,700"\n'
              '20,"1,400"\n40,"1,300"\n')
    with pytest.raises(ValueError, match=r"`weight_ratio` must hold numbers; got 4 cells that "
                       r"are not: '0,800' \(line 2\), '0,700' \(line 3\), '1,400' \(line 4\), "
                       r"'1,300' \(line 5\) of 'c\.csv'\. Decimal commas are read in "
                       r"semicolon- or tab-separated files only"):
        load_pairing_table(f)


def test_a_thousands_comma_with_no_decimal_point_in_a_comma_file_is_refused(tmp_path):
    f = _text(tmp_path / "c.csv", 'delta_t [ms],weight_before [pA],weight_after [pA]\n'
              '-40,900,720\n-20,"1,000",700\n20,800,"1,120"\n40,900,"1,170"\n')
    with pytest.raises(ValueError, match=r"`weight_before` has numbers that read two ways: "
                       r"'1,000' \(line 3\) of 'c\.csv'\. '1,000' is 1000 with ',' as a "
                       r"thousands separator, or 1\.000 with a decimal comma, and no cell of "
                       r"the comma-separated table shows which") as err:
        load_pairing_table(f)
    assert "\n" not in str(err.value)
    shown = _text(tmp_path / "d.csv", 'delta_t [ms],weight_before [pA],weight_after [pA]\n'
                  '-40,900.5,720\n-20,"1,000",700\n20,800,"1,120"\n40,900,"1,170"\n')
    np.testing.assert_allclose(_quiet(shown)["weight_ratio"],
                               [720 / 900.5, 0.7, 1.4, 1.3])


def test_a_point_after_a_leading_zero_is_a_decimal_point_with_decimal_commas(tmp_path):
    f = _text(tmp_path / "s.csv", "delta_t [ms];weight_ratio\n-40;0,8\n-20;0,7\n20;1,4\n"
              "40;0.875\n")
    np.testing.assert_allclose(load_pairing_table(f)["weight_ratio"], [0.8, 0.7, 1.4, 0.875])
    grouped = _text(tmp_path / "g.csv", "delta_t [ms];weight_before [pA];weight_after [pA]\n"
                    "-40;1.000,5;800\n-20;1.000;700\n20;900;1.260,0\n40;1.000;1.300\n")
    np.testing.assert_allclose(load_pairing_table(grouped)["weight_ratio"],
                               [800 / 1000.5, 0.7, 1.4, 1.3])


@pytest.mark.parametrize(("sep", "grouped"), [("\t", "1.294"), ("\t", "1,294"),
                                              (";", "1.294")])
def test_a_number_that_reads_two_ways_in_a_tab_file_is_refused(tmp_path, sep, grouped):
    """A tab file comes from either kind of locale: with no cell showing the decimal
    separator, both ``1.294`` and ``1,294`` read two ways (as ``1.294`` does with
    semicolons; a semicolon file's comma is its decimal comma)."""
    rows = [("-40", grouped, "900"), ("-20", "950", "800"), ("20", "950", "1330"),
            ("40", "1000", "1250")]
    f = _text(tmp_path / "t.txt", sep.join(["delta_t [ms]", "weight_before [µV]",
                                            "weight_after [µV]"]) + "\n"
              + "".join(sep.join(r) + "\n" for r in rows))
    kind = "tab" if sep == "\t" else "semicolon"
    with pytest.raises(ValueError, match=rf"`weight_before` has numbers that read two ways: "
                       rf"'{grouped}' \(line 2\) of 't\.txt'\. '{grouped}' is 1294 with "
                       rf"'{grouped[1]}' as a thousands separator, or 1\.294 .* no cell of "
                       rf"the {kind}-separated table shows which"):
        load_pairing_table(f)


# ------------------------------------------------------------------ 1, 2. Excel's percent format


def _book(path, header, rows, formats=None) -> str:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
        for j, fmt in (formats or {}).items():
            ws.cell(ws.max_row, j + 1).number_format = fmt
    wb.save(path)
    return str(path)


def test_a_percent_formatted_sem_with_no_unit_is_in_the_ratios_percent(tmp_path):
    """An SEM with no unit is in the ratio's unit, ``%`` here: its cell stored 0.05 and
    shown 5.0% is 5 %, a ratio SEM of 0.05 (was read as 0.05 % = 0.0005)."""
    f = _book(tmp_path / "sem.xlsx", ["delta_t [ms]", "weight ratio (%)", "SEM"],
              [[d, r, 0.05] for d, r in zip(DT, RATIO, strict=True)], {1: "0%", 2: "0.0%"})
    table = _quiet(f)
    np.testing.assert_allclose(table["weight_ratio"], RATIO)
    np.testing.assert_allclose(table["weight_sem"], 0.05)
    plain = _book(tmp_path / "plain.xlsx", ["delta_t [ms]", "weight ratio", "SEM"],
                  [[d, r, 0.05] for d, r in zip(DT, RATIO, strict=True)], {1: "0%", 2: "0.0%"})
    np.testing.assert_allclose(_quiet(plain)["weight_sem"], 0.05)


@pytest.mark.parametrize("fmt", ['0.0"%"', "0.0\\%", '0" %"'])
def test_a_literal_percent_sign_in_a_number_format_does_not_scale(tmp_path, fmt):
    """``0.0"%"`` shows the stored 80 as ``80.0%``: it is 80 %, not Excel's percent format
    (stored 0.8, shown 80%), and is not multiplied by 100."""
    f = _book(tmp_path / "lit.xlsx", ["delta_t [ms]", "weight_ratio [%]"],
              [[d, 100 * r] for d, r in zip(DT, RATIO, strict=True)], {1: fmt})
    np.testing.assert_allclose(load_pairing_table(f)["weight_ratio"], RATIO)


@pytest.mark.parametrize(("fmt", "percent"), [("0%", True), ("0.0%;[Red]-0.0%", True),
                                              ('0.0"%"', False), ("0.0\\%", False),
                                              ("0.0_%", False), ("General", False)])
def test_percent_formats(fmt, percent):
    from plastix.io.table_cells import is_percent_format

    assert is_percent_format(fmt) is percent


# ------------------------------------------------------------------ 7. summary words among the data


def _no_warning(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


@pytest.mark.parametrize("last", ["Wistar", "SD"])
def test_sd_rats_among_the_data_are_data(tmp_path, last):
    """``SD`` (Sprague-Dawley) as a strain is data among the data rows, and also under them
    when ``SD`` labels data rows; a summary ``SD`` under the data is still left out."""
    strains = ["SD", "Wistar", "SD", "Wistar", "SD", last]
    f = _text(tmp_path / "rats.csv", "strain,delta_t [ms],weight_ratio\n" + "".join(
        f"{s},{d},{r}\n" for s, d, r in zip(strains, [-40, -20, -10, 10, 20, 40],
                                            [0.8, 0.7, 0.75, 1.4, 1.3, 1.1], strict=True)))
    assert _no_warning(load_pairing_table, f)["strain"].tolist() == strains
    only = _text(tmp_path / "sd.csv", "strain,delta_t [ms],weight_ratio\nSD,-10,0.8\n"
                 "SD,10,1.3\nSD,20,1.2\n")
    assert len(_no_warning(load_pairing_table, only)) == 3
    summary = _text(tmp_path / "s.csv", "cell,delta_t [ms],weight_ratio\nc1,-10,0.8\n"
                    "c2,10,1.3\nc3,20,1.2\nSD,0,0.2\n")
    with pytest.warns(UserWarning, match=r"left out 1 summary row .*'SD' \(line 5\)"):
        assert load_pairing_table(summary)["cell"].tolist() == ["c1", "c2", "c3"]


def test_a_mean_row_among_the_data_is_read_as_data_with_a_warning(tmp_path):
    f = _text(tmp_path / "m.csv", "cell,delta_t [ms],weight_ratio\nc1,-10,0.8\nmean,-10,0.8\n"
              "c2,10,1.3\nc3,20,1.2\nmean,15,1.25\n")
    with pytest.warns(UserWarning) as record:
        table = load_pairing_table(f)
    assert table["cell"].tolist() == ["c1", "mean", "c2", "c3"]
    msgs = sorted(str(w.message) for w in record)
    assert msgs[0].startswith("left out 1 summary row of the pairing table of 'm.csv': "
                              "'mean' (line 6)")
    assert msgs[1].startswith("read 1 row of the pairing table of 'm.csv' whose first cell "
                              "reads like a summary as data: 'mean' (line 3); it is among the "
                              "data rows")


# ------------------------------------------------------------------ 5. labels named like results


def test_labels_named_like_the_results_variables_are_renamed(tmp_path):
    import json

    import xarray as xr

    from plastix.estimate.pairing import estimate_pairing

    clash = ["signal", "kernel", "bound", "row", "verdict", "p_value", "label_kernel"]
    table = pd.DataFrame({"delta_t [ms]": [-40, -20, -10, 10, 20, 40],
                          "weight_ratio": [0.8, 0.7, 0.75, 1.4, 1.3, 1.1],
                          "frequency [Hz]": [1, 1, 5, 5, 20, 20], "n_pairings": 60,
                          **{c: [f"{c}{i % 2}" for i in range(6)] for c in clash}})
    with pytest.warns(UserWarning, match=r"^the pairing table's label columns 'signal', "
                      r"'kernel', 'bound', 'row', 'verdict', 'p_value' are named "
                      r"'label_signal', 'label_label_kernel', 'label_bound', 'label_row', "
                      r"'label_verdict', 'label_p_value' in the result \(attribute "
                      r"'renamed_labels'\): the result has its own 'signal', .*; rename the "
                      r"columns to choose the names\.$"):
        res = estimate_pairing(table, kernel="all", by="kernel", n_boot=49, n_null=19,
                               rng=0)
    ds = res.dataset
    renamed = json.loads(ds.attrs["renamed_labels"])
    assert renamed["label_signal"] == "signal" and renamed["label_label_kernel"] == "kernel"
    assert ds["label_kernel"].values.tolist() == table["label_kernel"].tolist()
    assert ds["label_label_kernel"].values.tolist() == table["kernel"].tolist()
    assert ds["label_bound"].values.tolist() == table["bound"].tolist()
    assert ds["bound"].values.tolist() == ["low", "high"]
    assert ds.sizes["kernel"] > 1 and np.isfinite(ds["signal"].values).all()
    nc, _ = res.save(tmp_path / "res")
    with xr.open_dataset(nc) as back:
        assert back["label_verdict"].values.tolist() == table["verdict"].tolist()


# ------------------------------------------------------------------ 8. chart sheets


def _chart_book(path, first_chart=False) -> str:
    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.chart import Reference, ScatterChart, Series

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["delta_t [ms]", "weight_ratio"])
    for d, r in zip(DT, RATIO, strict=True):
        ws.append([d, r])
    chart = ScatterChart()
    chart.series.append(Series(Reference(ws, min_col=2, min_row=2, max_row=5),
                               Reference(ws, min_col=1, min_row=2, max_row=5)))
    wb.create_chartsheet("Window plot", 0 if first_chart else None).add_chart(chart)
    wb.save(path)
    return str(path)


@pytest.mark.parametrize("first_chart", [False, True])
def test_chart_sheets_are_passed_over(tmp_path, first_chart):
    f = _chart_book(tmp_path / "chart.xlsx", first_chart)
    np.testing.assert_allclose(_quiet(f)["weight_ratio"], RATIO)
    np.testing.assert_allclose(load_pairing_table(f, sheet="Data")["weight_ratio"], RATIO)


@pytest.mark.parametrize("sheet", ["Window plot", 1])
def test_a_chart_sheet_named_by_sheet_is_refused(tmp_path, sheet):
    f = _chart_book(tmp_path / "chart.xlsx")
    with pytest.raises(ValueError, match=rf"^`sheet` {sheet!r} of 'chart\.xlsx' is a chart "
                       r"sheet, which holds no cells; pass a sheet of cells: 'Data'\.$"):
        load_pairing_table(f, sheet=sheet)


# ------------------------------------------------------------------ 6. a formula's empty result


def _cached(path, values) -> str:
    """A workbook whose column B holds ``=IF(...)`` formulas saved with their values, as Excel
    saves them (``None``: the formula's result is the empty text, ``t="str"``, ``<v></v>``)."""
    import re
    import zipfile

    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["delta_t [ms]", "weight_ratio"])
    for i, d in enumerate(DT[:len(values)], start=2):
        ws.append([d, f'=IF(C{i}="","",C{i}/2)'])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    xml = files["xl/worksheets/sheet1.xml"].decode()
    for i, v in enumerate(values, start=2):
        cell = f'<c r="B{i}"' + (' t="str">' if v is None else ">")
        saved = f'<v>{"" if v is None else v}</v>'
        xml = re.sub(rf'<c r="B{i}"[^>]*><f>(.*?)</f><v\s*/>',
                     lambda m, c=cell, v=saved: f"{c}<f>{m[1]}</f>{v}", xml)
    files["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return str(path)


def test_a_formulas_saved_empty_result_is_a_missing_value(tmp_path):
    f = _cached(tmp_path / "f.xlsx", [0.8, None, 1.4, 1.3])
    with pytest.raises(ValueError, match=r"^`table` has NaN \(empty cells\) in 1 of 4 rows "
                       r"\(row 3 of sheet 'Sheet' in 'f\.xlsx'; column\(s\) weight_ratio\); "
                       r"fill them, or pass nan='drop'"):
        load_pairing_table(f)
    with pytest.warns(UserWarning, match=r"dropped 1 of 4 rows"):
        table = load_pairing_table(f, nan="drop")
    np.testing.assert_allclose(table["weight_ratio"], [0.8, 1.4, 1.3])


def test_a_formula_saved_without_its_value_is_still_refused(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["delta_t [ms]", "weight_ratio"])
    for d, r in zip(DT, RATIO, strict=True):
        ws.append([d, r])
    ws["B3"] = "=1+1"
    wb.save(tmp_path / "nv.xlsx")
    with pytest.raises(ValueError, match=r"cell B3 holds formulas with no saved value"):
        load_pairing_table(tmp_path / "nv.xlsx")


# ------------------------------------------------------------------ 13. the separator


def test_the_separator_is_the_one_whose_split_names_delta_t(tmp_path):
    """As many commas as semicolons in the header (a label ``notes (seal, Rs, drift)``): the
    semicolons split it into a header that names ``delta_t``, the commas do not."""
    f = _text(tmp_path / "s.csv", "delta_t [ms];weight_ratio [%];notes (seal, Rs, drift)\n"
              "-40;80,5;ok\n-20;70,2;Rs up\n20;140,1;ok\n40;130,0;ok\n")
    table = _no_warning(load_pairing_table, f)
    np.testing.assert_allclose(table["weight_ratio"], [0.805, 0.702, 1.401, 1.3])
    assert table["notes (seal, Rs, drift)"].tolist() == ["ok", "Rs up", "ok", "ok"]


# ------------------------------------------------------------------ 9. Swiss thousands separators


def test_apostrophes_between_groups_of_three_digits_are_thousands_separators(tmp_path):
    f = _text(tmp_path / "ch.csv", "delta_t [ms],weight_before [µV],weight_after [µV]\n"
              "-40,1'250.5,1'000.4\n-20,1'100,770\n20,900,1\u2019260\n40,1'000,1'300\n")
    np.testing.assert_allclose(_no_warning(load_pairing_table, f)["weight_ratio"],
                               [1000.4 / 1250.5, 0.7, 1.4, 1.3])
    odd = _text(tmp_path / "odd.csv", "delta_t [ms],weight_ratio\n-40,0.8\n-20,1'25\n")
    with pytest.raises(ValueError, match=r"^`weight_ratio` must hold numbers; got \"1'25\" in "
                       r"line 3 of 'odd\.csv'\. Write the number without apostrophes between "
                       r"its digits"):
        load_pairing_table(odd)


# ------------------------------------------------------------------ 12. counts with round-off


def test_counts_with_round_off_are_rounded_and_fractions_are_shown_in_full(tmp_path):
    rows = "".join(f"{d},{r},0.1,{0.1 * 3 * 100!r}\n" for d, r in zip(DT, RATIO, strict=True))
    f = _text(tmp_path / "n.csv", "delta_t [ms],weight_ratio,frequency [Hz],n_pairings\n" + rows)
    table = _no_warning(load_pairing_table, f)
    assert table["n_pairings"].tolist() == [30] * 4 and table["n_pairings"].dtype == np.int64
    near = _text(tmp_path / "m.csv", "delta_t [ms],weight_ratio,n_pairings\n-40,0.8,30\n"
                 "40,1.3,30.000001\n")
    with pytest.raises(ValueError, match=r"^`n_pairings` must be an integer >= 1; got "
                       r"30\.000001 in line 3 of 'm\.csv'\.$"):
        load_pairing_table(near)


# ------------------------------------------------------------------ 10. Parquet indexes


def test_a_parquets_named_index_levels_are_columns(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"cell": [f"c{i}" for i in range(6)], "slice": list("aabbcc"),
                       "delta_t [ms]": [-40, -20, -10, 10, 20, 40],
                       "weight_ratio": [0.8, 0.7, 0.75, 1.4, 1.3, 1.1]})
    df.set_index("cell").to_parquet(tmp_path / "a.parquet")
    table = _no_warning(load_pairing_table, tmp_path / "a.parquet")
    assert table["cell"].tolist() == df["cell"].tolist() and table.attrs["labels"] == [
        "cell", "slice"]
    df.groupby("delta_t [ms]")["weight_ratio"].mean().to_frame().to_parquet(
        tmp_path / "b.parquet")
    np.testing.assert_allclose(load_pairing_table(tmp_path / "b.parquet")["delta_t"],
                               np.sort(df["delta_t [ms]"]) / 1e3)
    df.set_index(["slice", "cell"]).to_parquet(tmp_path / "c.parquet")
    assert load_pairing_table(tmp_path / "c.parquet").attrs["labels"] == ["slice", "cell"]
    df[df["slice"] != "a"].to_parquet(tmp_path / "d.parquet")  # an unnamed index: dropped
    assert load_pairing_table(tmp_path / "d.parquet").attrs["labels"] == ["cell", "slice"]


# ------------------------------------------------------------------ 11. pandas' index column


@pytest.mark.parametrize("tail", ["", ",,\n,,\n", "mean,0,1.05\n", ",,\nmean,0,1.05\nSEM,0,0.1\n"])
def test_pandas_index_column_is_left_out_under_empty_and_summary_rows(tmp_path, tail):
    path = tmp_path / "idx.csv"
    pd.DataFrame({"delta_t [ms]": DT, "weight_ratio": RATIO}).to_csv(path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(tail)
    table = _quiet(path)
    assert table.attrs["labels"] == [] and "Unnamed: 0" not in table
    np.testing.assert_allclose(table["weight_ratio"], RATIO)


# ------------------------------------------------------------------ 14. empty labels in a result


def test_empty_labels_stay_missing_in_a_written_result(tmp_path):
    import json

    import xarray as xr

    from plastix.estimate.pairing import estimate_pairing

    f = _text(tmp_path / "e.csv", "delta_t [ms],weight_ratio,slice,cell id,mixed\n"
              "-40,0.8,s1,a,1\n-20,0.7,,,x\n20,1.4,s2,b,\n40,1.3,s2,c,2\n")
    nc, _ = estimate_pairing(f, n_boot=49, n_null=19, rng=0).save(tmp_path / "res")
    with xr.open_dataset(nc) as back:
        stored = {v: k for k, v in json.loads(back.attrs["label_variables"]).items()}
        got = {c: back[stored.get(c, c)].values.tolist() for c in ("slice", "cell id", "mixed")}
    assert got["slice"][0] == "s1" and got["slice"][2:] == ["s2", "s2"]
    assert pd.isna(got["slice"][1]) and pd.isna(got["cell id"][1]) and pd.isna(got["mixed"][2])
    assert got["mixed"] == ["1", "x", got["mixed"][2], "2"]
    assert not any(isinstance(v, str) and v.lower() == "nan" for c in got.values() for v in c)


# ------------------------------------------------------------------ unit spellings, lab names


@pytest.mark.parametrize(("header", "unit", "scale"),
                         [("delta_t [MS]", "delta_t", 1e-3), ("Δt (MS)", "delta_t", 1e-3),
                          ("delta_t [MIN]", "delta_t", 60.0), ("frequency [hz]", "frequency", 1.0),
                          ("Freq. (Hz)", "frequency", 1.0), ("freq (KHZ)", "frequency", 1e3)])
def test_units_in_another_case_are_read_when_unambiguous(header, unit, scale):
    base = {"delta_t": [0.01, -0.01], "weight_ratio": [1.2, 0.8], "frequency": [1, 1]}
    base.pop(unit)
    table = _quiet(pd.DataFrame({header: [10, 20], **base}))  # 20 min is warned about
    np.testing.assert_allclose(table[unit], [10 * scale, 20 * scale])


def test_a_unit_whose_case_makes_another_unit_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"^`delta_t` has an unknown unit 'Ms' in its header; "
                       r"a time column accepts .*\. The case of a unit's prefix changes the "
                       r"unit \('Ms' is not 'ms', M is mega and m milli\): write "
                       r"'delta_t \[ms\]' if that is its unit\.$"):
        load_pairing_table(pd.DataFrame({"delta_t (Ms)": [10, -10], "weight_ratio": [1, 1]}))
    with pytest.raises(ValueError, match=r"unknown unit 'MHz'"):
        load_pairing_table(pd.DataFrame({"delta_t": [0.01, -0.01], "weight_ratio": [1, 1],
                                         "frequency [MHz]": [1, 1]}))


def test_lab_names_of_counts_and_frequency(tmp_path):
    f = _text(tmp_path / "lab.csv", "Δt (ms),weight ratio,No. of pairings,Freq. (Hz),"
              "No. of trains,No. of cells\n-10,0.8,60,5,2,3\n10,1.3,60,5,2,4\n")
    table = _no_warning(load_pairing_table, f)
    assert table["n_pairings"].tolist() == [60, 60] and table["n"].tolist() == [3, 4]
    assert table["frequency"].tolist() == [5.0, 5.0] and table["n_trains"].tolist() == [2, 2]
    units = _text(tmp_path / "u.csv", "delta_t,weight_ratio\nMS,\n-10,0.8\n10,1.3\n")
    np.testing.assert_allclose(_no_warning(load_pairing_table, units)["delta_t"], [-0.01, 0.01])


def test_result_names_are_the_results_own_and_inspect_names_the_renames(tmp_path):
    """RESULT_NAMES (the names a label column cannot keep) is exactly what a pairing result
    holds besides the table's labels; `inspect` says which labels `estimate` renames."""
    import warnings

    from plastix.estimate.pairing import estimate_pairing
    from plastix.io.inspect_tables import inspect_table
    from plastix.io.table import RESULT_NAMES

    table = pd.DataFrame({"delta_t [ms]": [-40, -20, -10, 10, 20, 40],
                          "weight_ratio": [0.8, 0.7, 0.75, 1.4, 1.3, 1.1],
                          "frequency [Hz]": [1, 1, 5, 5, 20, 20], "n_pairings": 60,
                          "signal": ["a", "b"] * 3, "slice": ["s1", "s2", "s3"] * 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = estimate_pairing(table, kernel="all", n_boot=49, n_null=19, rng=0).dataset
    from plastix.io.table import label_renames, load_pairing_table

    columns = set(map(str, load_pairing_table(table).columns)) - {"weight_ratio"}
    names = {new: old for new, old in label_renames(columns).items()}
    labels = (columns - set(names.values())) | set(names)
    assert "label_signal" in labels and "slice" in labels
    own = (set(ds.variables) | set(ds.sizes)) - labels
    assert own == RESULT_NAMES, own ^ RESULT_NAMES
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    text = str(inspect_table(path))
    assert "labels renamed in the estimate's result" in text
    assert "'signal' as 'label_signal'" in text and "'slice' as" not in text


def test_a_label_merged_down_a_column_holds_in_every_row_and_hidden_rows_are_named(tmp_path):
    """A slice's name written once over its rows (merged cells) labels each of them, as
    Excel shows it (it read as empty labels); a hidden row is read, and named in a
    warning, since labs hide experiments they leave out."""
    import warnings

    import openpyxl

    from plastix.io.table import load_pairing_table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["slice", "delta_t [ms]", "weight_ratio"])
    for row in [("A", -20, 0.8), (None, -10, 0.7), (None, 10, 1.3), ("B", 20, 1.2),
                (None, -5, 0.75), (None, 5, 1.4)]:
        ws.append(list(row))
    ws.merge_cells("A2:A4")
    ws.merge_cells("A5:A7")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no hidden row: no warning
        table = load_pairing_table(path)
    assert table["slice"].tolist() == ["A", "A", "A", "B", "B", "B"]
    ws.row_dimensions[3].hidden = True
    for r, v in enumerate(["old_ratio", 9, 9, 9, 9, 9, 9], start=1):
        ws.cell(r, 4, v)
    ws.column_dimensions["D"].hidden = True
    ws.column_dimensions["E"].hidden = True  # empty: not named
    wb.save(path)
    with pytest.warns(UserWarning, match=r"1 hidden row \(3\) and hidden column D are read "
                      r"like the others"):
        table = load_pairing_table(path)
    assert len(table) == 6


def _sheet(rows, merges=(), path=None):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(list(row))
    for m in merges:
        ws.merge_cells(m)
    return wb, ws


def test_merges_in_the_last_column_over_stale_cells_and_over_two_columns_are_filled(tmp_path):
    """A label merged down the LAST column (read-only rows stop before it), cells under a
    merge that still hold old values (LibreOffice keeps them), and a label merged over two
    columns and three rows: each data row reads the merged value, as Excel shows it."""
    from plastix.io.table import load_pairing_table

    wb, ws = _sheet([("delta_t [ms]", "weight_ratio", "slice"), (-20, 0.8, "A"),
                     (-10, 0.7, None), (10, 1.3, None), (20, 1.2, "B"), (-5, 0.75, None)],
                    ["C2:C4", "C5:C6"])
    wb.save(tmp_path / "last.xlsx")
    assert load_pairing_table(tmp_path / "last.xlsx")["slice"].tolist() == ["A"] * 3 + ["B"] * 2
    wb, ws = _sheet([("slice", "delta_t [ms]", "weight_ratio"), ("s1", 10, 1.2),
                     ("OLD", -10, 0.8), ("OLD", 20, 1.1), ("s2", 10, 1.3)])
    ws.merge_cells("A2:A4")
    for r in (3, 4):  # what a merge that keeps the hidden cells' contents saves
        ws._cells[(r, 1)] = type(ws.cell(1, 1))(ws, row=r, column=1, value="OLD")
    wb.save(tmp_path / "stale.xlsx")
    assert load_pairing_table(tmp_path / "stale.xlsx")["slice"].tolist() == ["s1"] * 3 + ["s2"]
    wb, ws = _sheet([("slice", "cell", "delta_t [ms]", "weight_ratio"), ("s1 c1", None, 10, 1.2),
                     (None, None, -10, 0.8), (None, None, 20, 1.1), ("s2", "c1", 10, 1.3)],
                    ["A2:B4"])
    wb.save(tmp_path / "two.xlsx")
    table = load_pairing_table(tmp_path / "two.xlsx")
    assert table["slice"].tolist() == ["s1 c1"] * 3 + ["s2"]


def test_a_merge_from_the_header_into_the_data_is_read_empty_with_a_warning(tmp_path):
    """A1:A3 merged (the header 'slice' over two data rows): the data rows do not take the
    header's text as their label; a warning names the range."""
    from plastix.io.table import load_pairing_table

    wb, _ = _sheet([("slice", "delta_t [ms]", "weight_ratio"), (None, 10, 1.2),
                    (None, -10, 0.8), ("s2", 20, 1.1)], ["A1:A3"])
    wb.save(tmp_path / "h.xlsx")
    with pytest.warns(UserWarning, match=r"the merged cells A1:A3 span the header and data rows"):
        table = load_pairing_table(tmp_path / "h.xlsx")
    assert table["slice"].isna().tolist() == [True, True, False]


def test_a_hidden_sheet_read_is_named_as_hidden(tmp_path):
    import openpyxl

    from plastix.io.table import load_pairing_table

    wb = openpyxl.Workbook()
    wb.active.title = "Readme"
    wb.active.append(["this workbook holds the pairing data"])
    data = wb.create_sheet("data")
    for row in [("delta_t [ms]", "weight_ratio"), (10, 1.2), (-10, 0.8)]:
        data.append(list(row))
    data.sheet_state = "veryHidden"
    wb.save(tmp_path / "s.xlsx")
    with pytest.warns(UserWarning, match=r"the sheet read, 'data', is very hidden"):
        load_pairing_table(tmp_path / "s.xlsx", sheet="data")


def test_a_number_merged_over_rows_is_read_in_each_with_a_warning(tmp_path):
    from plastix.io.table import load_pairing_table

    wb, _ = _sheet([("delta_t [ms]", "weight_ratio"), (10, 1.2), (-10, None), (20, None),
                    (5, 1.3)], ["B2:B4"])
    wb.save(tmp_path / "n.xlsx")
    with pytest.warns(UserWarning, match=r"merged cells give one value to several rows of a "
                      r"number column \(B2:B4 in 'weight_ratio'\)"):
        table = load_pairing_table(tmp_path / "n.xlsx")
    assert table["weight_ratio"].tolist() == [1.2, 1.2, 1.2, 1.3]
