"""Kilosort / Phy output folders read as records of spike trains (weights inferred)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from plastix._util.errors import FileFormatError, SchemaError
from plastix.cli import main
from plastix.estimate import infer_weights
from plastix.estimate.synthetic import simulate_spike_record
from plastix.io import inspect_file, load_record, open_record
from plastix.io.phy_files import phy_folder, read_phy_folder

pytest.importorskip("pynapple")

RATE = 30000.0
BY_DEPTH = {"pre_units": "depth<1000", "post_units": "depth>=1000", "weights_from": "spikes"}


@pytest.fixture(scope="module")
def sorted_rec():
    return simulate_spike_record(6, 2, duration=60.0, rng=2)


def _kilosort(folder, rec, *, column=True, noise=True):
    """A folder as Kilosort and Phy write it: presynaptic units are clusters 0..5 at depth
    500, postsynaptic 100, 101 at depth 2000, a noise cluster 55; times in samples, (n, 1)."""
    folder.mkdir()
    t = np.concatenate([rec["pre_spike_time"].values, rec["post_spike_time"].values])
    c = np.concatenate([rec["pre_spike_unit"].values, 100 + rec["post_spike_unit"].values])
    if noise:
        extra = np.random.default_rng(0).uniform(0, 60, 300)
        t, c = np.concatenate([t, extra]), np.concatenate([c, np.full(300, 55)])
    order = np.argsort(t, kind="stable")
    samples = np.round(t[order] * RATE).astype(np.uint64)
    np.save(folder / "spike_times.npy", samples[:, None])
    np.save(folder / "spike_clusters.npy", c[order].astype(np.int32))
    np.save(folder / "spike_templates.npy", c[order].astype(np.uint32))
    (folder / "params.py").write_text(
        "import os\ndat_path = os.path.join('C:/', 'rec.bin')\nn_channels_dat = 385\n"
        "dtype = 'int16'\noffset = 0\nsample_rate = 30000.\nhp_filtered = False\n")
    ids = np.unique(c)
    pd.DataFrame({"cluster_id": ids, "group": ["noise" if i == 55 else "good" for i in ids]}
                 ).to_csv(folder / "cluster_group.tsv", sep="\t", index=False)
    if column:
        pd.DataFrame({"cluster_id": ids, "depth": np.where(ids >= 100, 2000.0, 500.0),
                      "KSLabel": "good", "ch": ids % 7}).to_csv(
            folder / "cluster_info.tsv", sep="\t", index=False)
    return folder, samples / RATE


def test_clusters_become_units_with_their_table_columns(tmp_path, sorted_rec):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)
    rec = read_phy_folder(folder, **BY_DEPTH)
    assert rec["pre"].values.tolist() == list(range(6))
    assert rec["post"].values.tolist() == [100, 101]
    assert rec.attrs["weights"] == "absent"
    # spike times are the samples over the rate, to the sample
    for role, offset in (("pre", 0), ("post", 100)):
        src = sorted_rec[f"{role}_spike_time"].values
        got = np.sort(rec[f"{role}_spike_time"].values)
        np.testing.assert_allclose(got, np.sort(src), rtol=0, atol=0.5 / RATE)
        assert np.unique(rec[f"{role}_spike_unit"].values).tolist() == sorted(
            set((offset + sorted_rec[f"{role}_spike_unit"].values).tolist()))
    # the noise cluster is left out of filters, kept when named by id
    assert 55 not in read_phy_folder(folder, pre_units="depth<1000",  # 55 is at depth 500
                                     post_units="depth>=1000", weights_from="spikes")["pre"]
    assert 55 in read_phy_folder(folder, pre_units="0,55", post_units="100",
                                 weights_from="spikes")["pre"].values
    # through the format table, lazily too, and from one of its files
    same = load_record(folder, **BY_DEPTH)
    np.testing.assert_array_equal(same["pre_activity"].values, rec["pre_activity"].values)
    lazy = open_record(folder / "spike_times.npy", **BY_DEPTH)
    try:
        np.testing.assert_array_equal(lazy["post_activity"].values, rec["post_activity"].values)
    finally:
        lazy.close()


def test_inferred_weights_from_a_phy_folder_track_the_truth(tmp_path, sorted_rec):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec, noise=False)
    out = tmp_path / "w.nc"
    assert main(["infer-weights", str(folder), "--pre-units", "depth<1000", "--post-units",
                 "depth>=1000", "--window", "10", "--out", str(out)]) == 0
    from_folder = load_record(out)["weight"].values
    direct = infer_weights(sorted_rec, window=10.0)["weight"].values
    # the same spikes to a sample (33 us): the same efficacies up to spikes moved across a
    # lag-window edge by the rounding
    assert np.isfinite(direct).mean() > 0.9
    np.testing.assert_allclose(from_folder, direct, atol=0.01)  # measured: 0.008


def test_params_py_is_parsed_never_run(tmp_path, sorted_rec):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)
    marker = tmp_path / "ran"
    (folder / "params.py").write_text(
        f"sample_rate = 30000.\nx = open({str(marker)!r}, 'w').write('x')\n"
        f"__import__('os').system('touch {marker}')\n")
    assert phy_folder(folder).sample_rate == 30000.0
    assert not marker.exists()
    (folder / "params.py").write_text("sample_rate = rate_from_somewhere()\n")
    with pytest.raises(FileFormatError, match="no positive sample_rate") as err:
        phy_folder(folder)
    assert "\n" not in str(err.value)


def test_what_cannot_be_read_or_mapped_is_one_line(tmp_path, sorted_rec, capsys):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)
    with pytest.raises(SchemaError, match="no weights: a Phy folder holds spike trains only"):
        read_phy_folder(folder, pre_units="depth<1000", post_units="depth>=1000")
    with pytest.raises(SchemaError, match="holds both roles' units"):
        read_phy_folder(folder, weights_from="spikes")
    assert main(["estimate", str(folder), "--pre-units", "depth<1000", "--post-units",
                 "depth>=1000"]) == 2
    line = capsys.readouterr().err
    assert "--weights-from spikes" in line and line.count("\n") == 1
    np.save(folder / "spike_clusters.npy", np.zeros(3, np.int32))
    with pytest.raises(FileFormatError, match="3 entries for the"):
        phy_folder(folder)
    np.save(folder / "spike_clusters.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(FileFormatError, match="allow_pickle"):
        phy_folder(folder)
    (folder / "spike_clusters.npy").write_bytes(b"\x93NUMPY\x01\x00")  # cut short
    with pytest.raises(FileFormatError, match="spike_clusters.npy"):
        phy_folder(folder)
    folder, _ = _kilosort(tmp_path / "twice", sorted_rec)
    (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n0\tgood\n0\tnoise\n")
    with pytest.raises(FileFormatError, match=r"cluster id\(s\) \[0\] have more than one row"):
        phy_folder(folder)


def test_inspect_names_the_columns_and_the_flags(tmp_path, sorted_rec):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)
    report = inspect_file(folder)
    assert not report.ready and "--weights-from spikes" in report.command()
    assert any("cluster column depth" in f for f in report.found)
    assert any("1 cluster(s) labelled noise" in f for f in report.found)
    mapped = inspect_file(folder, pre_units="depth<1000", post_units="depth>=1000")
    # the decay cannot be estimated from inferred weights: the command asks for it
    assert not mapped.ready and "6 pre x 2 post" in mapped.record
    assert mapped.command().endswith("--decay G") and "decay rate" in mapped.missing[0]
    ready = inspect_file(folder, pre_units="depth<1000", post_units="depth>=1000", decay=0.0)
    assert ready.ready and not ready.missing


def test_a_role_column_from_a_phy_label(tmp_path, sorted_rec):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec, column=False)
    ids = [0, 1, 2, 3, 4, 5, 55, 100, 101]
    pd.DataFrame({"cluster_id": ids, "role": ["pre"] * 7 + ["post"] * 2}).to_csv(
        folder / "cluster_role.tsv", sep="\t", index=False)  # Phy: `:label role pre`
    rec = read_phy_folder(folder, weights_from="spikes")
    assert rec["pre"].values.tolist() == list(range(6))  # the noise cluster left out
    assert rec["post"].values.tolist() == [100, 101]


def test_every_command_leaves_the_sorting_untouched(tmp_path, sorted_rec):
    """inspect, estimate and infer-weights read a Kilosort folder and write nothing in it."""
    import hashlib

    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)

    def snapshot():
        return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
                for p in sorted(folder.iterdir())}

    before = snapshot()
    flags = ["--pre-units", "depth<1000", "--post-units", "depth>=1000"]
    assert main(["inspect", str(folder), *flags, "--decay", "0"]) == 0
    assert main(["estimate", str(folder), *flags, "--weights-from", "spikes", "--decay", "0",
                 "--n-boot", "20", "--n-null", "0", "--out", str(tmp_path / "est")]) == 0
    assert main(["infer-weights", str(folder), *flags, "--out", str(tmp_path / "w.nc")]) == 0
    assert snapshot() == before


def test_overlapping_selections_and_times_in_seconds_are_refused(tmp_path, sorted_rec):
    """A unit picked by both role flags (its spikes would pair with themselves: a perfect
    synapse), and a spike_times.npy of seconds (read as samples: 60 s would be 2 ms)."""
    folder, times = _kilosort(tmp_path / "ks", sorted_rec)
    with pytest.raises(SchemaError, match=r"unit\(s\) 100 are selected as both pre and post"):
        read_phy_folder(folder, pre_units="group=good", post_units="100",
                        weights_from="spikes")
    assert read_phy_folder(folder, pre_units="0,1,1,2", post_units="100",  # repeats: one unit
                           weights_from="spikes")["pre"].values.tolist() == [0, 1, 2]
    np.save(folder / "spike_times.npy", times)
    with pytest.raises(FileFormatError, match="must hold sample indices"):
        phy_folder(folder)


def test_tables_saved_by_spreadsheets_and_unsorted_spikes(tmp_path, sorted_rec):
    """A cluster table saved comma-separated (or keyed `cluster id`) is read; one without
    an id column is left out with a warning naming it; spikes out of order (an edit) are
    sorted, not passed to pynapple to warn about; the advice splits a numeric column."""
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)
    info = pd.read_csv(folder / "cluster_info.tsv", sep="\t")
    info.rename(columns={"cluster_id": "cluster id"}).to_csv(folder / "cluster_info.tsv",
                                                             index=False)  # commas
    assert phy_folder(folder).metadata["depth"].tolist() == info["depth"].tolist()
    pd.DataFrame({"x": [1, 2]}).to_csv(folder / "cluster_notes.tsv", sep="\t", index=False)
    with pytest.warns(UserWarning, match="cluster_notes.tsv of ks: no 'cluster_id' column"):
        phy_folder(folder)
    (folder / "cluster_notes.tsv").unlink()
    samples = np.load(folder / "spike_times.npy")
    clusters = np.load(folder / "spike_clusters.npy")
    flip = np.arange(samples.shape[0])[::-1]
    np.save(folder / "spike_times.npy", samples[flip])
    np.save(folder / "spike_clusters.npy", clusters[flip])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = read_phy_folder(folder, **BY_DEPTH)
    np.testing.assert_allclose(np.sort(rec["pre_spike_time"].values),
                               np.sort(sorted_rec["pre_spike_time"].values), atol=0.5 / RATE)
    with pytest.raises(SchemaError, match=r"--pre-units depth=500 --post-units depth=2000"):
        read_phy_folder(folder, weights_from="spikes")  # two depths, in numeric order
    info.assign(depth=info["depth"] + info["cluster_id"]).to_csv(folder / "cluster_info.tsv",
                                                                 sep="\t", index=False)
    split = r"--pre-units 'depth<1302.5' --post-units 'depth>=1302.5'"
    with pytest.raises(SchemaError, match=split):
        read_phy_folder(folder, weights_from="spikes")  # many: split at the widest gap


def test_a_file_of_the_folder_is_answered_with_the_folder(tmp_path, sorted_rec):
    folder, _ = _kilosort(tmp_path / "ks", sorted_rec)
    with pytest.raises(ValueError, match=r"'params.py' is a file of the folder 'ks' \(Phy\), "
                       r"which is read as a whole: pass the folder"):
        load_record(folder / "params.py")
