"""A flag that does not apply to the input or mode is refused in one line, before any
work, instead of being silently ignored (estimate, design, simulate, datasets)."""

from __future__ import annotations

import pytest

from plastix.cli import main
from plastix.estimate.synthetic import simulate_synthetic
from plastix.io import save_record

FAST = ["--n-boot", "20", "--n-null", "0"]
REC = [*FAST, "--decay", "0.1"]  # the synthetic record states no decay


@pytest.fixture
def record(tmp_path):
    rec = simulate_synthetic(n_pre=3, n_post=2, n_intervals=6, bins_per_interval=8,
                             n_burn=0, rng=0)
    return save_record(rec, tmp_path / "rec.nc")


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("delta_t,weight_ratio\n0.01,1.2\n-0.01,0.8\n0.02,1.1\n-0.02,0.9\n"
                    "0.005,1.3\n-0.005,0.7\n")
    return path


def _one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("flags, named", [
    (["--lag", "3"], "`--lag`"),
    (["--decay", "0.1"], "`--decay`"),
    (["--null", "shift"], "`--null`"),
    (["--weights-from", "spikes"], "`--weights-from`"),
    (["--window", "5"], "`--window`"),
    (["--method", "glm"], "`--method`"),
    (["--bin-size", "0.01"], "`--bin-size`"),
    (["--pre-units", "0,1"], "`--pre-units`"),
    (["--allow-pickle"], "`--allow-pickle`"),
    (["--lag", "2", "--window", "5"], "`--lag`, `--window` apply to recordings"),
])
def test_record_flags_on_a_table_are_refused(capsys, tmp_path, table, flags, named):
    out = tmp_path / "res"
    line = _one_error_line(capsys, ["estimate", str(table), *FAST, "--out", str(out), *flags])
    assert named in line and "pairing experiments 'pairs.csv'" in line and "drop" in line
    assert not list(tmp_path.glob("res*"))


def test_plot_of_a_table_is_refused_not_silently_skipped(capsys, tmp_path, table):
    line = _one_error_line(capsys, ["estimate", str(table), *FAST, "--out",
                                    str(tmp_path / "res"), "--plot"])
    assert "`--plot`" in line and "no figure" in line
    assert not list(tmp_path.glob("res*"))


@pytest.mark.parametrize("flags, named", [
    (["--by", "series"], "`--by`"),
    (["--pairing", "nearest"], "`--pairing`"),
    (["--tau-ms", "20"], "`--tau-ms`"),  # the default value, given: still not applicable
    (["--sheet", "1"], "`--sheet`"),
    (["--nan", "drop"], "`--nan`"),
])
def test_table_flags_on_a_record_are_refused(capsys, record, flags, named):
    line = _one_error_line(capsys, ["estimate", str(record), *REC, *flags])
    assert named in line and "table of pairing experiments" in line and "'rec.nc'" in line


@pytest.mark.parametrize("flags", [["--window", "5"], ["--method", "ccg"]])
def test_inference_flags_need_weights_from_spikes(capsys, record, flags):
    line = _one_error_line(capsys, ["estimate", str(record), *REC, *flags])
    assert "`--weights-from spikes`" in line and flags[0] in line


def test_lag_needs_a_lagged_kernel(capsys, record):
    line = _one_error_line(capsys, ["estimate", str(record), *REC, "--lag", "2"])
    assert "`--kernel lagged`" in line and "'product'" in line
    assert main(["estimate", str(record), *REC, "--kernel", "lagged", "--lag", "2"]) == 0


def test_null_with_a_rate_kernel_is_refused_and_a_typo_named_first(capsys, record):
    line = _one_error_line(capsys, ["estimate", str(record), *REC, "--null", "shift"])
    assert "spike-time kernels" in line and "'product'" in line
    line = _one_error_line(capsys, ["estimate", str(record), *REC, "--null", "shfit"])
    assert "Did you mean 'shift'" in line


def test_a_batch_refuses_table_flags_too(capsys, tmp_path, record):
    other = save_record(simulate_synthetic(n_pre=3, n_post=2, n_intervals=6,
                                           bins_per_interval=8, n_burn=0, rng=1),
                        tmp_path / "rec2.nc")
    line = _one_error_line(capsys, ["estimate", str(record), str(other), *REC, "--out",
                                    str(tmp_path / "batch") + "/", "--tau-ms", "30"])
    assert "`--tau-ms`" in line
    assert not (tmp_path / "batch").exists()


def test_defaults_are_the_documented_ones(capsys, record, table):
    """Not giving a flag still means its documented default: the same numbers as giving
    the default explicitly where the flag applies."""
    import json

    base = record.parent
    assert main(["estimate", str(table), *FAST, "--rng", "1", "--out", str(base / "a")]) == 0
    assert main(["estimate", str(table), *FAST, "--rng", "1", "--tau-ms", "20", "--pairing",
                 "all", "--out", str(base / "b")]) == 0
    a = json.loads((base / "a.json").read_text())
    b = json.loads((base / "b.json").read_text())
    assert a["kernels"] == b["kernels"]
    assert main(["estimate", str(record), *REC, "--kernel", "lagged", "--rng", "1",
                 "--out", str(base / "c")]) == 0
    assert main(["estimate", str(record), *REC, "--kernel", "lagged", "--lag", "1", "--rng",
                 "1", "--out", str(base / "d")]) == 0
    c = json.loads((base / "c.json").read_text())
    d = json.loads((base / "d.json").read_text())
    assert c["alignment"] == d["alignment"]
    capsys.readouterr()


# ------------------------------------------------------------------ design's two modes


@pytest.mark.parametrize("flags, named", [
    (["--power", "0.9"], "`--power`"),
    (["--lengths", "100,200"], "`--lengths`"),
    (["--window", "8", "--n-pre", "100"], "`--n-pre`, `--window`"),
    (["--method", "ccg"], "`--method`"),  # its default value, given: still the other mode's
])
def test_design_refuses_recording_length_flags_when_ranking(capsys, tmp_path, flags, named):
    line = _one_error_line(capsys, ["design", "--out", str(tmp_path / "d"), *flags])
    assert named in line and "add `--recording-length`" in line
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("flags, named", [
    (["--budget", "30"], "`--budget`"),
    (["--target", "0.3"], "`--target`"),
    (["--kernel", "product"], "`--kernel`"),
    (["--simulator", "brian2"], "`--simulator`"),
    (["--bin-size", "0.01"], "`--bin-size`"),
])
def test_design_refuses_ranking_flags_with_recording_length(capsys, tmp_path, record, flags,
                                                           named):
    line = _one_error_line(capsys, ["design", "--recording-length", "--out",
                                    str(tmp_path / "d"), *flags])
    assert named in line and "not to `--recording-length`" in line
    line = _one_error_line(capsys, ["design", "--recording-length", "--out",
                                    str(tmp_path / "d"), "--record", str(record)])
    assert "`--record`" in line
    assert not (tmp_path / "d").exists()


def test_design_defaults_fill_in_after_the_check():
    import argparse

    from plastix.cli.design import _LENGTH_FLAGS, _RANKING_FLAGS, _check_mode_flags

    args = argparse.Namespace(recording_length=False, allow_pickle=False,
                              **{d: None for d in {**_RANKING_FLAGS, **_LENGTH_FLAGS}})
    _check_mode_flags(args)
    assert (args.budget, args.kernel, args.power, args.lengths, args.method) == (
        20, "product", 0.8, "200,400,600,800", "ccg")


# ------------------------------------------------------------------ simulate, datasets


def test_simulate_nwb_style_on_a_netcdf_is_refused_before_simulating(capsys, tmp_path):
    line = _one_error_line(capsys, ["simulate", "rate", "--duration", "1", "--nwb-style",
                                    "neo", "--out", str(tmp_path / "x.nc")])
    assert "`--nwb-style`" in line and "'x.nc'" in line
    assert not list(tmp_path.iterdir())


def test_datasets_list_and_verify_take_the_name(capsys):
    from plastix.datasets import list_datasets

    name = list_datasets()[0].name
    assert main(["datasets", "list", "--name", name]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(name)
    assert main(["datasets", "verify", "--name", name]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].split() == [name, "ok"]
    for action in ("list", "verify"):
        line = _one_error_line(capsys, ["datasets", action, "--name", "nosuch"])
        assert "'nosuch'" in line and name in line


# ------------------------------------------------------------------ second round


def test_window_flags_of_a_table_need_a_kernel_with_the_window(capsys, table, tmp_path):
    for flags in (["--tau-ms", "10"], ["--pairing", "nearest"]):
        line = _one_error_line(capsys, ["estimate", str(table), *FAST, "--kernel", "covariance",
                                        *flags])
        assert flags[0] in line and "`--kernel stdp`" in line
    # with the STDP window (alone or among all kernels) they apply
    assert main(["estimate", str(table), *FAST, "--tau-ms", "10", "--out",
                 str(tmp_path / "w")]) == 0
    capsys.readouterr()


def test_sheet_on_a_text_table_and_nan_refuse_on_a_record_are_refused(capsys, table, record):
    line = _one_error_line(capsys, ["estimate", str(table), *FAST, "--sheet", "S1"])
    assert "`--sheet`" in line and "Excel" in line
    line = _one_error_line(capsys, ["estimate", str(record), *REC, "--nan", "refuse"])
    assert "`--nan`" in line


def test_reproduce_threads_where_nothing_uses_them(capsys, tmp_path, monkeypatch):
    import plastix.experiments.circuit_phase as CP

    monkeypatch.setattr(CP, "run", lambda *a, **k: pytest.fail("ran"))
    line = _one_error_line(capsys, ["reproduce", "circuit-phase", "--quick", "--threads", "2",
                                    "--out", str(tmp_path / "r")])
    assert "`--threads`" in line and "circuit-phase" in line
    line = _one_error_line(capsys, ["reproduce", "fig4", "--quick", "--threads", "2",
                                    "--workers", "1", "--out", str(tmp_path / "r")])
    assert "`--threads`" in line and "--workers" in line
    assert not (tmp_path / "r").exists()


def test_design_allow_pickle_without_record(capsys, tmp_path):
    line = _one_error_line(capsys, ["design", "--allow-pickle", "--out", str(tmp_path / "d")])
    assert "`--allow-pickle`" in line and "--record" in line
    assert not (tmp_path / "d").exists()


def test_a_batch_on_workers_shows_warnings_as_plastix_lines(capsys, tmp_path, record):
    """Warnings raised in a batch's tasks come back with the result and are shown by the
    batch, one line each, named by file (a Dask worker printed them in Python's form)."""
    import numpy as np

    from plastix.estimate.synthetic import simulate_synthetic
    from plastix.io import save_record

    rec = simulate_synthetic(n_pre=3, n_post=2, n_intervals=6, bins_per_interval=8,
                             n_burn=0, rng=2)
    w = rec["weight"].values.copy()
    w[2] = np.nan  # two intervals with no observed synapse: a warning
    rec["weight"] = rec["weight"].copy(data=w)
    other = save_record(rec, tmp_path / "holes.nc")
    from plastix.cli import console  # main with the command line's warning printer

    assert console(["estimate", str(record), str(other), *REC, "--workers", "1",
                    "--out", str(tmp_path / "b") + "/"]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if "holes.nc:" in x]
    assert lines and all(x.startswith("plastix: warning") for x in lines), err
    assert "return self.func" not in err and "Warning:" not in err.replace(
        "plastix: warning", "")


def test_inspect_says_not_ready_where_estimate_would_refuse(capsys, record, table):
    """inspect no longer says "ready" for commands estimate refuses: --kernel all on a
    recording (refused), --weights-from spikes on a record of rates (missing, with the
    fix), a rate kernel on a table without frequencies (missing, with the fix)."""
    line = _one_error_line(capsys, ["inspect", str(record), "--kernel", "all"])
    assert "'all' compares the kernels on a table" in line
    assert main(["inspect", str(record), "--weights-from", "spikes"]) == 1
    out = capsys.readouterr().out
    assert "spike trains of the pre and postsynaptic units" in out
    assert "the fix: drop --weights-from spikes" in out and "ready for" not in out
    assert main(["inspect", str(table), "--kernel", "product"]) == 1
    out = capsys.readouterr().out
    assert "needs the column 'frequency'" in out and "ready for" not in out
    line = _one_error_line(capsys, ["inspect", str(table), "--pre-units", "0"])
    assert "`pre_units` (--pre-units)" in line


def test_allow_pickle_overwrite_and_null_where_they_do_nothing(capsys, record, table, tmp_path):
    """--allow-pickle without a pickle input (estimate, inspect, infer-weights, design
    --record; a batch only when no file is a pickle), --overwrite without --out, --null
    with --n-null 0: each refused in one line."""
    for argv in (["estimate", str(record), *REC, "--allow-pickle"],
                 ["inspect", str(record), "--allow-pickle"],
                 ["infer-weights", str(record), "--allow-pickle", "--out",
                  str(tmp_path / "w.nc")],
                 ["design", "--record", str(record), "--allow-pickle", "--out",
                  str(tmp_path / "d")]):
        line = _one_error_line(capsys, argv)
        assert "`--allow-pickle`" in line and "'rec.nc' is not one" in line, argv
    assert not (tmp_path / "w.nc").exists() and not (tmp_path / "d").exists()
    for target in (record, table):
        line = _one_error_line(capsys, ["estimate", str(target), *FAST, "--overwrite"])
        assert "`--overwrite`" in line and "no --out" in line
    line = _one_error_line(capsys, ["estimate", str(record), *REC, "--kernel", "stdp",
                                    "--null", "shift"])
    assert "`--n-null 0` makes none" in line
