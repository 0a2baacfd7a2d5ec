"""Kilosort / Phy folders as sorters and hand edits leave them, probe 5: stray spaces and
trailing tabs in cluster tables, columns named `unit` or `metadata`, a folder given as
`.`, a cluster table given as the path, Windows paths in params.py."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest

from plastix.cli import main
from plastix.io import inspect_file
from plastix.io.phy_files import phy_folder, read_phy_folder

pytest.importorskip("pynapple")

RATE = 30000.0
IDS = {"pre_units": "0,1", "post_units": "2,3", "weights_from": "spikes"}


def _folder(path, table=None, name="cluster_group.tsv", params="sample_rate = 30000.0\n"):
    """Four clusters (0..3) firing at random for 60 s, (n, 1) uint64 samples."""
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, int(RATE * 60), 3000)).astype(np.uint64)
    c = rng.choice(4, t.size).astype(np.int32)
    np.save(path / "spike_times.npy", t[:, None])
    np.save(path / "spike_clusters.npy", c)
    (path / "params.py").write_text(params)
    if table is not None:
        (path / name).write_text(table)
    return path, t, c


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_a_header_with_a_trailing_space_names_its_column(tmp_path):
    folder, _, _ = _folder(tmp_path / "ks", "cluster_id\tgroup \n0\tgood\n1\tgood\n2\tmua\n"
                                            "3\tnoise\n")
    units = phy_folder(folder)
    assert units.metadata["group"].tolist() == ["good", "good", "mua", "noise"]
    text = str(inspect_file(folder))
    assert "noise (group): left out" in text


@pytest.mark.parametrize("column", ["x!=y", "a<b", " depth"])
def test_a_column_name_that_reads_as_a_filter_is_never_advised(tmp_path, column):
    table = f"cluster_id\t{column}\n0\t1\n1\t1\n2\t2\n3\t2\n"
    folder, _, _ = _folder(tmp_path / "ks", table, name="cluster_x.tsv")
    text = str(inspect_file(folder))  # no KeyError from a selection that names no column
    assert "plastix estimate" in text


def test_rows_ending_in_a_tab_keep_their_cluster_ids(tmp_path):
    table = "cluster_id\tdepth\n0\t500\t\n1\t520\t\n2\t2000\t\n3\t2100\t\n"
    folder, _, _ = _folder(tmp_path / "ks", table, name="cluster_depth.tsv")
    assert phy_folder(folder).metadata["depth"].tolist() == [500.0, 520.0, 2000.0, 2100.0]


def test_a_unit_column_is_a_label_and_the_ids_stay_the_clusters(tmp_path):
    folder, t, c = _folder(tmp_path / "ks", "cluster_id\tunit\n0\t5\n1\t6\n2\t7\n3\t8\n",
                           name="cluster_unit.tsv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = read_phy_folder(folder, **IDS)
    assert rec["pre"].values.tolist() == [0, 1] and rec["post"].values.tolist() == [2, 3]
    got = np.sort(rec["pre_spike_time"].values[rec["pre_spike_unit"].values == 1])
    np.testing.assert_allclose(got, np.sort(t[c == 1] / RATE))


def test_a_column_named_metadata_or_count_reads_without_pynapple_noise(tmp_path, capsys):
    table = "cluster_id\tmetadata\tcount\n0\ta\t1\n1\tb\t2\n2\tc\t3\n3\td\t4\n"
    folder, _, _ = _folder(tmp_path / "ks", table, name="cluster_info.tsv")
    out = tmp_path / "w.nc"
    assert main(["infer-weights", str(folder), "--pre-units", "0,1", "--post-units", "2,3",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "pynapple" not in err and "Metadata name" not in err and out.is_file()


def test_a_folder_given_as_dot_is_named_by_its_own_name(tmp_path, monkeypatch):
    folder, _, _ = _folder(tmp_path / "ks")
    monkeypatch.chdir(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = read_phy_folder(".", **IDS)
    assert "ks" in rec.attrs["source"]
    assert phy_folder(".").name == "ks"


@pytest.mark.parametrize("member", ["cluster_info.tsv", "params.py"])
def test_a_file_of_the_folder_as_the_path_is_refused_saying_pass_the_folder(tmp_path, capsys,
                                                                           member):
    folder, _, _ = _folder(tmp_path / "ks", "cluster_id\tdepth\n0\t1\n1\t1\n2\t2\n3\t2\n",
                           name="cluster_info.tsv")
    before = _digest(folder)
    for cmd in (["inspect"], ["estimate", "--weights-from", "spikes", "--decay", "0"]):
        assert main([cmd[0], str(folder / member), *cmd[1:]]) == 2
        err = capsys.readouterr().err
        assert "is a file of the folder 'ks'" in err and "pass the folder" in err
    assert _digest(folder) == before


def test_a_windows_path_in_params_is_read_without_a_warning(tmp_path):
    folder, _, _ = _folder(tmp_path / "ks", params="dat_path = 'D:\\data\\mouse1\\rec.bin'\n"
                                                   "sample_rate = 30000.0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert phy_folder(folder).sample_rate == RATE


def test_older_phys_cluster_groups_csv_labels_noise(tmp_path):
    folder, _, _ = _folder(tmp_path / "ks", "cluster_id\tgroup\n0\tgood\n1\tgood\n2\tgood\n"
                                            "3\tnoise\n", name="cluster_groups.csv")
    assert phy_folder(folder).metadata["group"].tolist() == ["good", "good", "good", "noise"]


def test_an_empty_table_is_left_out_and_a_windows_1252_table_is_read(tmp_path):
    folder, _, _ = _folder(tmp_path / "ks", "")
    (folder / "cluster_note.tsv").write_bytes("cluster_id\tnote\n0\tµ\n1\té\n".encode("cp1252"))
    with pytest.warns(UserWarning, match="cluster_group.tsv of ks is empty"):
        units = phy_folder(folder)
    assert "group" not in units.metadata
    assert units.metadata["note"].tolist()[:2] == ["µ", "é"]
