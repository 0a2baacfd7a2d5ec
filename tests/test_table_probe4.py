"""Probe 4's findings on tables of pairing experiments: repeated label names, the
advice of "did you mean" hints (units kept, the sign of a pre-post column not
assumed), long ``delta_t`` in seconds, a mean and its SEM, pandas' index column,
labels with spaces in a written result, ``--tau-ms`` and ``--by`` errors, SD
columns, zero baseline weights."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from plastix.cli import main
from plastix.estimate.pairing import estimate_pairing
from plastix.io.table import load_pairing_table

DT = [-80, -40, -20, -10, 10, 20, 40, 80]
RATIO = [0.97, 0.9, 0.8, 0.7, 1.5, 1.3, 1.1, 1.02]


def _rows(*cols) -> str:
    return "".join(",".join(str(c) for c in row) + "\n" for row in zip(*cols, strict=True))


def _write(path, header: str, *cols) -> str:
    path.write_text(header + "\n" + _rows(*cols), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ 1. repeated labels


def test_repeated_label_columns_are_kept_apart(tmp_path):
    f = _write(tmp_path / "dup.csv", "notes,delta_t [ms],weight_ratio,notes",
               ["a"] * 8, DT, RATIO, ["b"] * 8)
    with pytest.warns(UserWarning, match=r"repeats the label column name 'notes': the repeat "
                      r"is read as 'notes\.1'"):
        table = load_pairing_table(f)
    assert table["notes"].tolist() == ["a"] * 8 and table["notes.1"].tolist() == ["b"] * 8
    assert table.attrs["labels"] == ["notes", "notes.1"]


def test_repeated_label_columns_in_a_workbook_and_a_dataframe(tmp_path):
    pytest.importorskip("openpyxl")
    frame = pd.DataFrame(zip(["s1"] * 8, DT, RATIO, ["x"] * 8, strict=True),
                         columns=["slice", "delta_t [ms]", "weight_ratio", "slice"])
    frame.to_excel(tmp_path / "dup.xlsx", index=False)
    with pytest.warns(UserWarning, match=r"'slice\.1'"):
        table = load_pairing_table(tmp_path / "dup.xlsx")
    assert table["slice.1"].tolist() == ["x"] * 8
    with pytest.warns(UserWarning, match=r"'slice\.1'"):
        assert load_pairing_table(frame)["slice"].tolist() == ["s1"] * 8


def test_repeated_known_columns_are_still_refused(tmp_path):
    f = _write(tmp_path / "dup.csv", "delta_t [ms],weight_ratio,weight_ratio", DT, RATIO, RATIO)
    with pytest.raises(ValueError, match=r"two columns named 'weight_ratio' \(units aside\): "
                       r"'weight_ratio' and 'weight_ratio'; keep one\."):
        load_pairing_table(f)


# ------------------------------------------------------------------ 4, 5, 13. hints


def _missing(tmp_path, header: str, *cols) -> str:
    with pytest.raises(ValueError) as err:
        load_pairing_table(_write(tmp_path / "t.csv", header, *cols))
    return str(err.value)


def test_a_pre_post_interval_hint_gives_both_signs_and_keeps_the_unit(tmp_path):
    text = _missing(tmp_path, "pre-post interval (ms),weight_ratio", DT, RATIO)
    assert "negate its values" not in text and "reads as t_pre" not in text
    assert ("If its values are > 0 when pre fires first, rename it 'delta_t [ms]'; if they "
            "are > 0 when post fires first (t_pre − t_post), negate them and name the column "
            "'delta_t [ms]'.") in text


def test_a_written_out_difference_gets_one_reading(tmp_path):
    text = _missing(tmp_path, "t_post - t_pre (ms),weight_ratio", DT, RATIO)
    assert "Column 't_post - t_pre (ms)' reads as t_post − t_pre: rename it 'delta_t [ms]'." \
        in text
    text = _missing(tmp_path, "t_pre - t_post [ms],weight_ratio", DT, RATIO)
    assert "negate its values and name the column 'delta_t [ms]'." in text


def test_did_you_mean_keeps_the_unit(tmp_path):
    text = _missing(tmp_path, "dt_ms,weight_ratio", DT, RATIO)
    assert "Did you mean 'dt_ms'? Rename that column 'delta_t [ms]'." in text
    frame = pd.DataFrame(zip(DT, RATIO, strict=True), columns=pd.MultiIndex.from_tuples(
        [("delta_t", "ms"), ("weight_ratio", "")]))
    with pytest.raises(ValueError, match=r"Rename that column 'delta_t \[ms\]'\."):
        load_pairing_table(frame)
    text = _missing(tmp_path, "deltat,weight_ratio", DT, RATIO)  # no unit: both named
    assert "Rename that column 'delta_t' (in seconds; 'delta_t [ms]' in milliseconds)." in text


@pytest.mark.parametrize(("header", "hint"), [
    ("% change", "Did you mean '% change'? Rename that column 'weight_change [%]'."),
    ("EPSP slope change (%)", "Rename that column 'weight_change [%]'."),
])
def test_change_columns_get_a_hint(tmp_path, header, hint):
    text = _missing(tmp_path, f"delta_t [ms],{header}", DT, RATIO)
    assert hint in text


def test_before_and_after_columns_get_a_hint_with_their_unit(tmp_path):
    text = _missing(tmp_path, "delta_t [ms],EPSP before [µV],EPSP after [µV]", DT, RATIO, RATIO)
    assert ("Did you mean 'EPSP before [µV]' and 'EPSP after [µV]'? Rename them "
            "'weight_before [µV]' and 'weight_after [µV]'.") in text
    text = _missing(tmp_path, "delta_t [ms],EPSP before,EPSP after", DT, RATIO, RATIO)
    assert "Rename them 'weight_before' and 'weight_after'." in text


# ------------------------------------------------------------------ 8. long delta_t in s


def test_delta_t_in_seconds_of_tens_of_seconds_is_warned_about(tmp_path):
    f = _write(tmp_path / "s.csv", "delta_t [s],weight_ratio", DT, RATIO)
    with pytest.warns(UserWarning, match=r"`delta_t` is read in s .* reaches 80 s .* look like "
                      r"milliseconds: write 'delta_t \[ms\]' if they are\."):
        load_pairing_table(f)
    slow = _write(tmp_path / "slow.csv", "delta_t [s],weight_ratio",
                  [-4, -2, -1, 1, 2, 4, 3, -3], RATIO)  # behavioural timescale: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_pairing_table(slow)


# ------------------------------------------------------------------ 9. mean and SEM


def test_a_mean_and_an_sem_column_get_names_that_keep_both(tmp_path):
    text = _missing(tmp_path, "delta_t [ms],weight ratio (mean),weight ratio (SEM)", DT, RATIO,
                    [0.01] * 8)
    assert ("if 'weight ratio (SEM)' holds the standard errors, name it 'weight_sem' (plastix "
            "weights the rows by them) and 'weight ratio (mean)' 'weight_ratio'; else keep "
            "one.") in text
    fixed = _write(tmp_path / "fixed.csv", "delta_t [ms],weight_ratio,weight_sem", DT, RATIO,
                   [0.01] * 8)
    assert load_pairing_table(fixed)["weight_sem"].tolist() == [0.01] * 8


# ------------------------------------------------------------------ 12. pandas' index


def test_pandas_index_column_is_left_out(tmp_path):
    frame = pd.DataFrame({"delta_t [ms]": DT, "weight_ratio": RATIO})
    frame.to_csv(tmp_path / "idx.csv")  # index=True: a first column '' of 0..n-1
    table = load_pairing_table(tmp_path / "idx.csv")
    assert table.attrs["labels"] == [] and list(table.columns[:2]) == ["delta_t",
                                                                        "weight_ratio"]
    table = load_pairing_table(pd.read_csv(tmp_path / "idx.csv"))
    assert "Unnamed: 0" not in table
    other = _write(tmp_path / "other.csv", ",delta_t [ms],weight_ratio", list(range(1, 9)), DT,
                   RATIO)  # not an index 0..n-1: kept
    assert load_pairing_table(other).attrs["labels"] == ["Unnamed: 0"]


# ------------------------------------------------------------------ 11. labels with spaces


def test_labels_with_a_space_or_slash_are_written_without_warnings_and_read_back(tmp_path):
    cells = [f"c{i}" for i in range(8)]
    frame = pd.DataFrame({"cell id": cells, "slice/prep": list("abababab"),
                          "lab": list("xxxxyyyy"), "delta_t [ms]": DT, "weight_ratio": RATIO})
    res = estimate_pairing(frame, n_boot=50, n_null=19, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nc, _ = res.save(tmp_path / "res")
        with xr.open_dataset(nc, engine="h5netcdf") as ds:
            ds = ds.load()
    assert ds["cell id"].values.tolist() == cells and "lab" in ds.coords
    names = json.loads(ds.attrs["label_variables"])
    assert names == {"cell id": "cell id", "slice_prep": "slice/prep"}
    restored = ds.set_coords(list(names)).rename(names)
    assert {"cell id", "slice/prep", "lab"} <= set(restored.coords)
    assert restored["slice/prep"].values.tolist() == list("abababab")


# ------------------------------------------------------------------ 14, 15. CLI errors


@pytest.mark.parametrize(("value", "got"), [("-5", "-5.0"), ("0", "0.0")])
def test_tau_ms_errors_name_the_flag_in_ms(tmp_path, capsys, value, got):
    f = _write(tmp_path / "t.csv", "delta_t [ms],weight_ratio", DT, RATIO)
    assert main(["estimate", f, "--tau-ms", value]) == 2
    err = capsys.readouterr().err
    assert f"`--tau-ms` must be a finite number > 0 and <= 10000 (ms); got {got}." in err


def test_by_error_lists_the_files_own_columns(tmp_path, capsys):
    f = _write(tmp_path / "lab.csv", "lab,slice,delta_t [ms],weight_ratio,control_ratio",
               list("ABABABAB"), list("xxyyxxyy"), DT, RATIO, [1.0] * 8)
    assert main(["estimate", f, "--by", "cell"]) == 2
    err = capsys.readouterr().err
    assert ("its columns are 'lab', 'slice', 'delta_t', 'weight_ratio', 'control_ratio' "
            "(labels: 'lab', 'slice').") in err
    assert "'n_pairings'" not in err and "'n_trains'" not in err


# ------------------------------------------------------------------ 18. SD


def test_an_sd_column_is_said_to_be_unused(tmp_path):
    f = _write(tmp_path / "sd.csv", "delta_t [ms],weight_ratio,SD,n", DT, RATIO, [0.04] * 8,
               [4] * 8)
    with pytest.warns(UserWarning, match=r"column 'SD' .* looks like standard deviations: it "
                      r"is kept as a label and not used\. .* add 'weight_sem' \(SEM = SD/√n"):
        table = load_pairing_table(f)
    assert "weight_sem" not in table


# ------------------------------------------------------------------ 19. zero baseline


def test_a_zero_baseline_weight_is_named(tmp_path):
    before, after = [1.0] * 8, list(RATIO)
    before[5] = after[5] = 0.0
    f = _write(tmp_path / "zero.csv", "delta_t [ms],weight_before [mV],weight_after [mV]", DT,
               before, after)
    with pytest.raises(ValueError, match=r"`weight_before` must not be 0 .*; got 0 in line 7 of "
                       r"'zero\.csv' .* Give that row its baseline weight, or leave the row "
                       r"out\."):
        load_pairing_table(f)
    assert np.isfinite(load_pairing_table(pd.DataFrame(
        {"delta_t": [0.01], "weight_before": [2.0], "weight_after": [3.0]}))["weight_ratio"]).all()
