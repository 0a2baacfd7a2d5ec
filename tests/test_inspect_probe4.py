"""Probe 4's findings on ``plastix inspect``: the suggested command names the path as
typed and keeps every flag given (``--sheet``, ``--nan``, ``--by``), says ready only
for what the estimate takes, advises roles the weights support and never a noise
cluster, and the warning for an interval dropped by a late time support says why."""

from __future__ import annotations

import shlex
import warnings

import numpy as np
import pandas as pd
import pytest

from plastix.cli import main
from plastix.io import inspect_file


def _stdp_table(n: int = 12, *, lab: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dt = np.tile([-40.0, -10.0, 10.0, 40.0], n // 4 + 1)[:n]
    ratio = np.where(dt > 0, 1 + 0.6 * np.exp(-dt / 17), 1 - 0.3 * np.exp(dt / 17))
    out = pd.DataFrame({"delta_t [ms]": dt, "weight_ratio": ratio * rng.lognormal(0, .05, n)})
    if lab:
        out["lab"] = np.repeat(["a", "b", "c"], n // 3 + 1)[:n]
    return out


def _command(out: str) -> list[str]:
    """The suggested ``plastix estimate`` command of an inspect report, as argv."""
    line = next(x.strip() for x in out.splitlines() if x.strip().startswith("plastix estimate"))
    return shlex.split(line)[1:]


# ---------------------------------------------------------------- finding 3


def test_suggested_command_names_the_path_as_typed_and_runs(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "my data"
    folder.mkdir()
    _stdp_table().assign(**{"frequency [Hz]": 1.0, "n_pairings": 60}).to_csv(
        folder / "pairs.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", "my data/pairs.csv"]) == 0
    argv = _command(capsys.readouterr().out)
    assert argv[:2] == ["estimate", "my data/pairs.csv"]
    assert main([*argv, "--n-boot", "50", "--n-null", "19", "--rng", "0"]) == 0
    assert "plastix estimate" in capsys.readouterr().out


def _phy(folder, *, tables: dict[str, list] | None = None, n_clusters: int = 4):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    samples = np.sort(rng.integers(0, 30000 * 20, 4000))
    np.save(folder / "spike_times.npy", samples.astype(np.int64))
    np.save(folder / "spike_clusters.npy", rng.integers(0, n_clusters, samples.size))
    (folder / "params.py").write_text("sample_rate = 30000.0\n")
    if tables:
        pd.DataFrame({"cluster_id": range(n_clusters), **tables}).to_csv(
            folder / "cluster_info.tsv", sep="\t", index=False)


def test_folder_paths_are_kept_as_typed(tmp_path, monkeypatch, capsys):
    _phy(tmp_path / "sub dir" / "ks", tables={"role": ["pre", "pre", "post", "post"]})
    monkeypatch.chdir(tmp_path)
    main(["inspect", "sub dir/ks/"])
    out = capsys.readouterr().out
    assert _command(out)[1] == "sub dir/ks/"
    assert "plastix inspect 'sub dir/ks/'" in out


def test_missing_input_is_named_by_what_was_given(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["estimate", "in/nothere.csv"]) == 2
    err = capsys.readouterr().err
    assert "the table 'in/nothere.csv' does not exist" in err and "`record`" not in err


# ---------------------------------------------------------------- finding 2


def test_sheet_is_kept_in_the_command_and_named(tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as xl:
        _stdp_table().assign(weight_ratio=1.0).to_excel(xl, sheet_name="control", index=False)
        _stdp_table().to_excel(xl, sheet_name="STDP", index=False)
    ins = inspect_file(book, sheet="STDP")
    assert ins.ready and "--sheet STDP" in ins.command()
    assert "sheet 'STDP'" in str(ins)


# ---------------------------------------------------------------- finding 6


def test_a_table_the_estimate_refuses_is_not_ready(tmp_path):
    path = tmp_path / "two.csv"
    _stdp_table(2).to_csv(path, index=False)
    ins = inspect_file(path)
    assert not ins.ready and "at least 3" in ins.missing[0]


# ---------------------------------------------------------------- finding 7


def test_inspect_accepts_the_table_flags_it_prints(tmp_path, capsys):
    table = _stdp_table(12, lab=True)
    table.loc[3, "weight_ratio"] = np.nan
    path = tmp_path / "nan.csv"
    table.to_csv(path, index=False)
    assert main(["inspect", str(path)]) == 1
    assert "--nan drop" in capsys.readouterr().out
    assert main(["inspect", str(path), "--nan", "drop", "--by", "lab"]) == 0
    argv = _command(capsys.readouterr().out)
    assert "--nan" in argv and "drop" in argv and argv[argv.index("--by") + 1] == "lab"


def test_by_that_groups_nothing_is_not_ready(tmp_path):
    path = tmp_path / "t.csv"
    _stdp_table(12).assign(cell=range(12)).to_csv(path, index=False)
    ins = inspect_file(path, by="cell")
    assert not ins.ready and "group of its own" in ins.missing[0]


# ---------------------------------------------------------------- finding 10


def test_roles_follow_a_column_that_says_pre_and_post():
    from plastix.io.unit_select import role_advice

    ids = [3, 5, 21, 22]
    meta = {"location": np.array(["CA3", "CA3", "CA1", "CA1"]),
            "Role": np.array(["Presynaptic", "Presynaptic", "Postsynaptic", "Postsynaptic"])}
    pre, post, _ = role_advice(ids, meta)
    assert (pre, post) == ("Role=Presynaptic", "Role=Postsynaptic")


def test_roles_follow_the_weights_direction():
    from plastix.io.unit_select import role_advice

    ids = [3, 5, 21, 22]
    meta = {"location": np.array(["CA3", "CA3", "CA1", "CA1"]),
            "cell_type": np.array(["pyr", "pyr", "pyr", "pyr"])}
    synapses = (np.array([3, 5, 3, 5]), np.array([21, 21, 22, 22]))
    pre, post, why = role_advice(ids, meta, synapses=synapses)
    assert (pre, post) == ("location=CA3", "location=CA1") and "pre_unit" in why
    # without a column that tells them apart: the ids the synapses name
    pre, post, _ = role_advice(ids, {"cell_type": meta["cell_type"]}, synapses=synapses)
    assert (pre, post) == ("3,5", "21,22")


# ---------------------------------------------------------------- finding 16


def test_phy_without_role_tables_gets_no_arbitrary_split(tmp_path):
    _phy(tmp_path / "ks", tables={"KSLabel": ["good", "good", "noise", "mua"]})
    ins = inspect_file(tmp_path / "ks", weights_from="spikes", decay=0.0)
    assert not ins.ready and "no cluster table names" in ins.missing[0]
    assert "--pre-units IDS" in ins.command() and "0,1,2" not in ins.command()
    assert "2" not in ins.missing[0].split("its ids:")[1].split(";")[0]  # noise left out


def test_phy_split_never_names_a_noise_cluster(tmp_path):
    _phy(tmp_path / "ks", n_clusters=6, tables={
        "depth": [100.0, 200.0, 300.0, 2000.0, 2100.0, 250.0],
        "KSLabel": ["good", "good", "good", "good", "good", "noise"]})
    ins = inspect_file(tmp_path / "ks", weights_from="spikes", decay=0.0)
    flags = {f.split(" ", 1)[0]: f.split(" ", 1)[1] for f in ins.flags if " " in f}
    assert flags["--pre-units"] == "0-2" and flags["--post-units"] == "3,4"


# ---------------------------------------------------------------- finding 17


def test_interval_dropped_by_a_late_time_support_says_why():
    nap = pytest.importorskip("pynapple")
    from plastix.estimate import HebbianEstimator
    from plastix.io import from_pynapple

    rng = np.random.default_rng(2)
    support = nap.IntervalSet(start=0.0, end=100.0)
    late = nap.IntervalSet(start=7.0, end=100.0)  # the units recorded from 7 s on
    pre = nap.TsGroup({i: nap.Ts(np.sort(rng.uniform(7, 100, 800))) for i in range(3)},
                      time_support=late)
    post = nap.TsGroup({10: nap.Ts(np.sort(rng.uniform(7, 100, 800)))}, time_support=late)
    t = np.arange(0.0, 101.0, 5.0)
    w = nap.TsdFrame(t=t, d=1 + 0.01 * rng.standard_normal((t.size, 3)).cumsum(0),
                     time_support=nap.IntervalSet(start=0.0, end=101.0))
    syn = pd.DataFrame({"pre_unit": [0, 1, 2], "post_unit": [10, 10, 10]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = from_pynapple(pre, post, w, syn, support, 0.0, bin_size=0.1)
    with pytest.warns(Warning, match="starts after the weights' first sample"):
        HebbianEstimator(decay=0.0, n_boot=50, n_null=0, rng=0).fit(rec)
