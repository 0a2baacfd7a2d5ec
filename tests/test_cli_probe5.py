"""Flags a user can get wrong, probe 5: reader flags on a NetCDF record, Dask flags,
recording lengths past a week, --decay and --bin-size values, --workers without --out."""

from __future__ import annotations

import pytest

from plastix.cli import main
from plastix.estimate.synthetic import simulate_synthetic
from plastix.io import save_record


@pytest.fixture(scope="module")
def record_nc(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "rate.nc"
    save_record(simulate_synthetic(rule="hebbian", n_pre=3, n_post=2, n_intervals=12, rng=0),
                path)
    return path


def _error(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refuses a flag's value as it reads it
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("flags, name", [(["--bin-size", "0.01"], "bin_size"),
                                         (["--pre-units", "1"], "pre_units"),
                                         (["--segments", "none"], "segments")])
def test_reader_flags_on_a_netcdf_record_are_refused_naming_them(capsys, record_nc, flags,
                                                                 name):
    err = _error(capsys, ["inspect", str(record_nc), *flags])
    assert f"({flags[0]}) cannot apply to 'rate.nc'" in err and "drop the flag" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "abc"])
def test_a_decay_flag_that_is_no_rate_is_refused_as_it_is_read(capsys, record_nc, value):
    assert "argument --decay: expected" in _error(capsys, ["inspect", str(record_nc),
                                                           "--decay", value])


def test_too_many_workers_and_an_empty_scheduler_are_refused(capsys, record_nc, tmp_path):
    err = _error(capsys, ["estimate", str(record_nc), "--workers", "100000",
                          "--out", f"{tmp_path}/"])
    assert "per core of this machine" in err
    err = _error(capsys, ["estimate", str(record_nc), "--scheduler", " ", "--out",
                          f"{tmp_path}/"])
    assert "`--scheduler` is empty" in err


def test_workers_zero_without_out_names_workers(capsys, record_nc):
    assert "`--workers` must be an int >= 1" in _error(capsys, ["estimate", str(record_nc),
                                                                "--workers", "0"])


def test_a_recording_length_past_a_week_is_refused_before_simulating():
    from plastix.design.recording import _check

    with pytest.raises(ValueError, match=r"`lengths` must be at most 604800 s"):
        _check([400.0, 1e308], 16.0, 0.8, "ccg", "numpy")


def test_an_unknown_demo_piece_or_dataset_name_is_refused(capsys, tmp_path):
    err = _error(capsys, ["demo", "--only", "nosuch", "--out", f"{tmp_path / 'd'}/"])
    assert "names no demo piece: 'nosuch'" in err and not (tmp_path / "d").exists()
    assert "names no dataset: 'nosuch'" in _error(capsys, ["datasets", "make", "--name",
                                                           "nosuch"])


def test_an_stdp_window_past_10_s_and_threads_past_4_per_core_are_refused(capsys, tmp_path):
    from pathlib import Path

    table = Path(__file__).resolve().parent.parent / "datasets" / "pairing_table_stdp.csv"
    assert "<= 10000 (ms)" in _error(capsys, ["estimate", str(table), "--tau-ms", "1e308"])
    err = _error(capsys, ["reproduce", "fig15", "--quick", "--threads", "100000",
                          "--out", f"{tmp_path / 'r'}/"])
    assert "more than 4 per core" in err and not (tmp_path / "r").exists()
