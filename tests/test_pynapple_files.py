"""pynapple sessions on disk: folders of the .npz files pynapple saves, read as records."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from plastix._util.errors import FileFormatError, SchemaError, UnsafeFileError
from plastix.cli import main
from plastix.estimate import HebbianEstimator
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
from plastix.io import (
    from_pynapple,
    inspect_file,
    load_record,
    open_record,
    read_pynapple_session,
    save_record,
    to_pynapple,
    write_pynapple_session,
)
from plastix.io.pynapple_npz import read_npz

nap = pytest.importorskip("pynapple")

CA3_CA1 = {"pre_units": "location=CA3", "post_units": "location=CA1"}


def _lab_session(folder, rng, *, role=False):
    """A session as a lab saves it with pynapple: one TsGroup of all units (metadata
    location, depth, optionally role), EPSP slopes of 3 synapses, 2 epochs."""
    folder.mkdir(exist_ok=True)
    loc = np.array(["CA3"] * 4 + ["CA1"] * 2)
    meta = {"location": loc, "depth": np.arange(6) * 10.0}
    if role:
        meta["role"] = np.where(loc == "CA3", "Presynaptic", "post-synaptic")
    units = nap.TsGroup({k: nap.Ts(np.sort(rng.uniform(0, 40, 200 + 10 * k)))
                         for k in (0, 1, 2, 3, 7, 9)}, metadata=meta)
    units.save(str(folder / "spikes.npz"))
    tw = np.arange(0.0, 40.0, 4.0)
    slopes = nap.TsdFrame(t=tw, d=rng.normal(1.0, 0.1, (tw.size, 3)), columns=[0, 1, 2],
                          metadata={"pre_unit": [0, 1, 2], "post_unit": [7, 7, 9]})
    slopes.save(str(folder / "weights.npz"))
    nap.IntervalSet(start=[0.0, 20.0], end=[18.0, 40.0]).save(str(folder / "epochs.npz"))
    return folder


def _by_pynapple(folder):
    """The same session through pynapple's own loader (trusted here: we wrote it)."""
    return {name: nap.load_file(str(folder / f"{name}.npz"))
            for name in ("spikes", "weights", "epochs")}


def _same(a, b):
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_a_saved_session_reads_as_the_objects_pynapple_loads(tmp_path, rng):
    folder = _lab_session(tmp_path / "s", rng)
    rec = read_pynapple_session(folder, **CA3_CA1)
    o = _by_pynapple(folder)
    ref = from_pynapple(o["spikes"][[0, 1, 2, 3]], o["spikes"][[7, 9]], o["weights"],
                        epochs=o["epochs"])
    _same(rec, ref)
    assert rec["pre"].values.tolist() == [0, 1, 2, 3] and rec["post"].values.tolist() == [7, 9]
    assert np.unique(rec["segment"].values).tolist() == [0, 1]
    # through the table of formats: a folder is a record path like a file
    _same(load_record(folder, **CA3_CA1), rec)
    lazy = open_record(folder, **CA3_CA1)
    try:
        _same(lazy.load(), rec)
    finally:
        lazy.close()


def test_unit_ids_and_the_role_column_select_the_roles(tmp_path, rng):
    folder = _lab_session(tmp_path / "s", rng, role=True)
    by_role = read_pynapple_session(folder)  # "Presynaptic" / "post-synaptic" read as roles
    by_ids = read_pynapple_session(folder, pre_units="0,1,2,3", post_units=[7, 9])
    _same(by_role, by_ids)
    _same(by_role, read_pynapple_session(folder, **CA3_CA1))
    by_depth = read_pynapple_session(folder, pre_units="depth<35", post_units="depth>=40")
    _same(by_role, by_depth)
    _same(by_role, read_pynapple_session(folder, pre_units="location!=CA1",
                                         post_units="location=CA1,CA2"))


def test_a_fit_of_the_folder_equals_the_fit_of_the_record(tmp_path, rng):
    rec = simulate_synthetic(SyntheticConfig(n_pre=6, n_post=4, n_intervals=40,
                                             bins_per_interval=20, lr=0.5, decay=2.0,
                                             noise=0.05, n_burn=60), rng=3)
    objects = to_pynapple(rec)
    folder = tmp_path / "sim"
    folder.mkdir()
    for name in ("pre", "post", "weights", "epochs"):  # saved by pynapple, as a lab would
        objects[name].save(str(folder / f"{name}.npz"))
    est = dict(decay=2.0, n_boot=60, n_null=40, rng=1)
    on_disk = HebbianEstimator(**est).fit(folder).result_
    in_memory = HebbianEstimator(**est).fit(from_pynapple(**objects)).result_
    # the path is read lazily (the estimator's own reader): equal to summation order
    assert float(on_disk["alignment"]) == pytest.approx(float(in_memory["alignment"]), rel=1e-12)
    assert float(on_disk["p_value"]) == pytest.approx(float(in_memory["p_value"]), rel=1e-9)
    assert float(on_disk["alignment"]) > 0.3  # the simulated rule is Hebbian


def test_write_then_read_is_the_pynapple_round_trip(tmp_path, rng):
    rec = simulate_synthetic(SyntheticConfig(n_pre=3, n_post=2, n_intervals=6,
                                             bins_per_interval=10, n_burn=5), rng=4)
    rec["decay"] = rec["decay"].copy(data=0.25)
    folder = write_pynapple_session(rec, tmp_path / "out")
    assert sorted(p.name for p in folder.iterdir()) == [
        "epochs.npz", "plastix.json", "post.npz", "pre.npz", "weights.npz"]
    back = read_pynapple_session(folder)
    _same(back, from_pynapple(**to_pynapple(rec)))
    assert float(back["decay"]) == float(rec["decay"])  # from plastix.json
    with pytest.raises(FileExistsError, match="never over files"):
        write_pynapple_session(rec, folder)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    with pytest.raises(ValueError, match="write_pynapple_session"):
        save_record(rec, tmp_path / "x.npz")


def test_a_folder_keeps_the_stretches_a_role_was_not_recorded(tmp_path, rng):
    """Each role's .npz holds the time support it was recorded over: the NaN bins (not
    recorded) read back NaN, not 0 Hz."""
    ep = nap.IntervalSet(start=[0.0, 6.0], end=[4.0, 10.0])
    pre = nap.TsGroup({1: nap.Ts(np.sort(rng.uniform(1.3, 8.7, 90)))},
                      time_support=nap.IntervalSet(1.3, 8.7))
    post = nap.TsGroup({2: nap.Ts(np.sort(rng.uniform(0, 10, 90)))}, time_support=ep)
    weights = nap.TsdFrame(t=np.arange(0.0, 10.1, 2.0), d=np.ones((6, 1)),
                           metadata={"pre_unit": [1], "post_unit": [2]})
    rec = from_pynapple(pre, post, weights, epochs=ep, bin_size=0.05)
    assert np.isnan(rec["pre_activity"].values[[0, -1], 0]).all()
    back = read_pynapple_session(write_pynapple_session(rec, tmp_path / "out"))
    _same(back, rec)


def test_a_group_saved_with_the_default_time_support_reads_with_a_warning(tmp_path, rng):
    """pynapple's .save() of TsGroups built without time_support= keeps the default
    (first to last spike): read as before, the bins outside it NaN, with one warning."""
    folder = tmp_path / "s"
    folder.mkdir()
    nap.TsGroup({0: nap.Ts(np.sort(rng.uniform(0, 40, 300)))}).save(str(folder / "pre.npz"))
    nap.TsGroup({7: nap.Ts(np.sort(rng.uniform(0, 40, 9)))}).save(str(folder / "post.npz"))
    nap.TsdFrame(t=np.arange(0.0, 40.0, 4.0), d=np.ones((10, 1)),
                 metadata={"pre_unit": [0], "post_unit": [7]}).save(str(folder / "weights.npz"))
    nap.IntervalSet(start=[0.0, 20.0], end=[18.0, 40.0]).save(str(folder / "epochs.npz"))
    with pytest.warns(UserWarning, match=r"pynapple's default.*time_support=nap\.IntervalSet"
                      r"\(START, END\)"):
        rec = read_pynapple_session(folder)
    loaded = {n: nap.load_file(str(folder / f"{n}.npz"))
              for n in ("pre", "post", "weights", "epochs")}
    with pytest.warns(UserWarning, match="pynapple's default"):
        _same(rec, from_pynapple(**loaded))
    assert np.isnan(rec["post_activity"].values[0, 0])  # before the first spike


def test_metadata_that_would_run_code_is_refused_and_never_runs(tmp_path, rng, capsys):
    folder = _lab_session(tmp_path / "s", rng)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w').write('x')",))

    evil = dict(np.load(folder / "spikes.npz", allow_pickle=True))
    evil["_metadata"] = np.array({"location": Payload()}, dtype=object)
    np.savez(folder / "spikes.npz", **evil)
    with pytest.raises(UnsafeFileError, match="builtins.eval") as err:
        read_pynapple_session(folder, pre_units="0", post_units="7")
    assert "\n" not in str(err.value)
    assert not marker.exists()
    # the CLI refuses it the same way; inspect reports it
    assert main(["estimate", str(folder), "--pre-units", "0", "--post-units", "7"]) == 2
    assert main(["inspect", str(folder), "--pre-units", "0", "--post-units", "7"]) == 1
    assert "refusing to read 'spikes.npz'" in capsys.readouterr().out
    assert not marker.exists()


def test_an_archive_of_other_arrays_in_the_folder_is_passed_over(tmp_path, rng):
    folder = _lab_session(tmp_path / "s", rng)
    before = read_pynapple_session(folder, **CA3_CA1)
    np.savez(folder / "my_arrays.npz", a=np.arange(3))
    _same(read_pynapple_session(folder, **CA3_CA1), before)
    assert any("my_arrays.npz: not a pynapple object" in f for f in inspect_file(folder).found)


def test_older_files_without_type_or_with_metadata_entries_are_read(tmp_path):
    old = tmp_path / "old.npz"  # pynapple < 0.7: no type entry, metadata as entries
    np.savez(old, t=np.array([0.5, 1.0, 1.5, 2.0]), index=np.array([0, 1, 0, 1]),
             keys=np.array([0, 1]), start=np.array([0.0]), end=np.array([3.0]),
             location=np.array(["CA3", "CA1"]))
    obj = read_npz(old)
    assert obj.kind == "TsGroup" and obj.metadata["location"].tolist() == ["CA3", "CA1"]
    group = obj.to_pynapple()
    assert group[0].t.tolist() == [0.5, 1.5] and group[1].t.tolist() == [1.0, 2.0]
    short = tmp_path / "short.npz"
    np.savez(short, t=np.array([0.5, 1.0, 1.5]), index=np.array([0, 1]), keys=np.array([0, 1]),
             start=np.array([0.0]), end=np.array([3.0]), type=np.array(["TsGroup"]))
    with pytest.raises(FileFormatError, match=r"'t' \(3,\) and 'index' \(2,\) do not match"):
        read_npz(short)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    with pytest.raises(FileFormatError, match="none of pynapple's"):
        read_npz(plain)


def test_what_cannot_be_mapped_is_one_line_naming_the_fix(tmp_path, rng, capsys):
    folder = _lab_session(tmp_path / "s", rng)
    cases = [({}, "--pre-units location=CA3 --post-units location=CA1"),
             ({"pre_units": "loc=CA3", "post_units": "location=CA1"}, "did you mean 'location'"),
             ({"pre_units": "location=CA2", "post_units": "location=CA1"}, "'CA1', 'CA3'"),
             ({**CA3_CA1, "weights": "epochs"}, "holds an IntervalSet; it must be a TsdFrame"),
             ({**CA3_CA1, "weights": "slope"}, "no .npz file"),
             ({**CA3_CA1, "synapses": "0:7"}, "gives 1 synapse(s) for the 3 column(s)")]
    for options, expected in cases:
        with pytest.raises(SchemaError) as err:
            read_pynapple_session(folder, **options)
        assert expected in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(SchemaError, match="the path epochs.npz holds an IntervalSet, not units"):
        read_pynapple_session(folder / "epochs.npz")
    assert main(["estimate", str(folder)]) == 2
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and f"plastix inspect {folder}`" in line  # the path given


def test_inspect_gives_the_flags_and_then_says_ready(tmp_path, rng, capsys):
    folder = _lab_session(tmp_path / "s", rng)
    report = inspect_file(folder)
    assert not report.ready
    assert "--pre-units location=CA3 --post-units location=CA1" in report.command()
    assert any("spikes.npz: TsGroup, 6 unit(s)" in f for f in report.found)
    no_decay = inspect_file(folder, **CA3_CA1)  # no input is silent for a 4 s interval
    assert not no_decay.ready and no_decay.command().endswith("--decay G")
    ready = inspect_file(folder, **CA3_CA1, decay=0.0)
    assert ready.ready and "4 pre x 2 post" in ready.record
    assert main(["inspect", str(folder), "--pre-units", "location=CA3", "--post-units",
                 "location=CA1", "--decay", "0"]) == 0
    assert "ready for `plastix estimate`" in capsys.readouterr().out


def test_synapses_of_units_left_out_are_warned_about(tmp_path, rng):
    folder = _lab_session(tmp_path / "s", rng)
    with pytest.warns(UserWarning, match=r"1 of 3 weight columns .* \(2:9\)"):
        rec = read_pynapple_session(folder, pre_units="0,1", post_units="7")
    assert rec["weight"].shape[1:] == (1, 2)
    assert np.isfinite(rec["weight"].values).all()
    with pytest.raises(SchemaError, match="no column of weights.npz is a synapse"):
        read_pynapple_session(folder, pre_units="3", post_units="7")


def test_one_file_of_spikes_reads_without_weights_and_infers_them(tmp_path, rng, capsys):
    folder = _lab_session(tmp_path / "s", rng)
    units = folder / "spikes.npz"
    with pytest.raises(SchemaError, match="read only when a flag names them"):
        read_pynapple_session(units, **CA3_CA1)
    rec = read_pynapple_session(units, weights_from="spikes", **CA3_CA1)
    assert rec.attrs["weights"] == "absent" and rec.sizes["pre"] == 4
    report = inspect_file(units, **CA3_CA1)  # the command it prints runs once G is chosen
    assert not report.ready and report.command().endswith("--weights-from spikes --decay G")
    assert inspect_file(units, decay=0.01, **CA3_CA1).ready
    out = tmp_path / "inferred.nc"
    assert main(["infer-weights", str(units), "--pre-units", "location=CA3", "--post-units",
                 "location=CA1", "--window", "5", "--out", str(out)]) == 0
    assert load_record(out).sizes["pre"] == 4


def test_a_rate_frame_role_and_a_one_synapse_tsd(tmp_path, rng):
    folder = tmp_path / "img"
    folder.mkdir()
    t = np.arange(0.0, 10.0, 0.1)
    nap.TsdFrame(t=t, d=rng.uniform(0, 5, (t.size, 3)), columns=[1, 2, 3]).save(
        str(folder / "pre.npz"))
    nap.TsdFrame(t=t, d=rng.uniform(0, 5, (t.size, 1)), columns=[8]).save(
        str(folder / "post.npz"))
    nap.Tsd(t=np.array([0.0, 5.0]), d=np.array([1.0, 1.2])).save(str(folder / "epsp.npz"))
    rec = read_pynapple_session(folder, weights="epsp", synapses="2:8")
    w = rec["weight"].values
    assert w.shape == (2, 1, 3) and w[:, 0, 1].tolist() == [1.0, 1.2]
    assert np.isnan(w[:, 0, [0, 2]]).all()
    assert rec.attrs["dt"] == pytest.approx(0.1)


def test_a_folder_without_npz_files_is_refused_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holding none of the files") as err:
        load_record(tmp_path / "empty")
    assert "\n" not in str(err.value)
    (tmp_path / "empty" / "a.nwb").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"it holds \.nwb record files: pass them \(e\.g\. "
                       r"`plastix estimate empty/\*\.nwb`"):
        load_record(tmp_path / "empty")


def test_damaged_archive_is_one_line(tmp_path, rng):
    folder = _lab_session(tmp_path / "s", rng)
    data = (folder / "spikes.npz").read_bytes()
    (folder / "spikes.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError) as err:
        read_pynapple_session(folder, **CA3_CA1)
    assert "\n" not in str(err.value) and "Copy it again" in str(err.value)
    report = inspect_file(folder, **CA3_CA1)  # a report, not an error
    assert not report.ready and "spikes.npz: cannot be read (see below)" in report.found
    assert "damaged" in report.missing[0]


def test_pickled_entries_may_hold_only_arrays(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, start=np.array([0.0]), end=np.array([1.0]),
             type=np.array(["IntervalSet"]),
             _metadata=np.array({"label": np.array(["a"], dtype=object)}, dtype=object))
    assert read_npz(path).metadata["label"].tolist() == ["a"]


def test_metadata_of_older_pynapple_versions(tmp_path, rng):
    import pandas as pd

    # pandas' to_dict ({column: {id: value}}), columns not in sorted order
    frame = tmp_path / "frame.npz"
    np.savez(frame, t=np.array([0.0, 1.0]), d=np.ones((2, 2)), columns=np.array([9, 4]),
             start=np.array([0.0]), end=np.array([1.0]), type=np.array(["TsdFrame"]),
             _metadata=np.array({"pre_unit": {9: np.int64(1), 4: np.int64(2)}}, dtype=object))
    assert read_npz(frame).metadata["pre_unit"].tolist() == [1, 2]
    # pickled pandas objects are not unpickled: the metadata is left out, with a warning
    folder = _lab_session(tmp_path / "s", rng)
    entries = dict(np.load(folder / "spikes.npz", allow_pickle=True))
    entries["_metadata"] = np.array({"location": pd.Series(["CA3"] * 4 + ["CA1"] * 2)},
                                    dtype=object)
    np.savez(folder / "spikes.npz", **entries)
    with pytest.warns(UserWarning, match="left out"):
        obj = read_npz(folder / "spikes.npz")
    assert obj.metadata == {} and "pandas" in obj.unread
    with pytest.warns(UserWarning, match="left out"), pytest.raises(
            SchemaError, match="its metadata was not read"):
        read_pynapple_session(folder, **CA3_CA1)
    with pytest.warns(UserWarning, match="left out"):
        rec = read_pynapple_session(folder, pre_units="0,1,2,3", post_units="7,9")
    assert rec.sizes["pre"] == 4


def test_a_synapse_table_saved_beside_the_objects(tmp_path, rng):
    """``to_pynapple``'s synapse DataFrame saved as CSV maps the weight columns when the
    weights carry no metadata; a table without the columns is refused naming them."""
    folder = _lab_session(tmp_path / "s", rng)
    ref = read_pynapple_session(folder, **CA3_CA1)
    w = nap.load_file(str(folder / "weights.npz"))
    nap.TsdFrame(t=w.t, d=w.values, columns=[0, 1, 2]).save(str(folder / "weights.npz"))
    with pytest.raises(SchemaError, match="no metadata pre_unit, post_unit, no synapses.csv"):
        read_pynapple_session(folder, **CA3_CA1)
    table = folder / "synapses.csv"
    table.write_text("pre_unit,post_unit\n0,7\n1,7\n2,9\n")
    _same(read_pynapple_session(folder, **CA3_CA1), ref)
    table.unlink()
    (folder / "pairs.tsv").write_text("pre_unit\tpost_unit\n0\t7\n1\t7\n2\t9\n")
    _same(read_pynapple_session(folder, synapses="pairs.tsv", **CA3_CA1), ref)
    (folder / "bad.csv").write_text("pre,post\n0,7\n")
    with pytest.raises(SchemaError, match=r"lacks the column\(s\) pre_unit, post_unit"):
        read_pynapple_session(folder, synapses="bad.csv", **CA3_CA1)


def _snapshot(folder):
    import hashlib

    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def test_every_command_leaves_the_session_untouched(tmp_path, rng):
    """The only copy of a recording: inspect, estimate, infer-weights read the folder and
    write nothing in it (same bytes, same modification times, no new file)."""
    folder = _lab_session(tmp_path / "s", rng)
    before = _snapshot(folder)
    flags = ["--pre-units", "location=CA3", "--post-units", "location=CA1"]
    assert main(["inspect", str(folder), *flags, "--decay", "0.1"]) == 0
    assert main(["estimate", str(folder), *flags, "--decay", "0.1", "--n-boot", "20",
                 "--n-null", "0", "--out", str(tmp_path / "out" / "est")]) == 0
    assert main(["infer-weights", str(folder), *flags, "--window", "5",
                 "--out", str(tmp_path / "out" / "w.nc")]) == 0
    assert _snapshot(folder) == before


def test_design_calibrates_from_a_session_with_the_reader_flags(tmp_path, capsys):
    """``plastix design --record SESSION/`` takes the reader flags (here the decay, which the
    files do not hold); reader flags without --record are refused in one line."""
    rec = simulate_synthetic(SyntheticConfig(n_pre=6, n_post=4, n_intervals=40,
                                             bins_per_interval=20, lr=0.5, decay=2.0,
                                             noise=0.05, n_burn=60), rng=3)
    folder = write_pynapple_session(rec, tmp_path / "sess")
    assert main(["design", "--pre-units", "1,2", "--out", str(tmp_path / "x")]) == 2
    assert "map the file of --record" in capsys.readouterr().err
    out = tmp_path / "design"
    assert main(["design", "--record", str(folder), "--decay", "2", "--budget", "4",
                 "--replicates", "3", "--quiet", "--out", str(out)]) == 0
    assert (out / "design.csv").is_file()


def test_a_unit_column_that_repeats_is_a_label_not_the_ids(tmp_path, rng):
    """A cluster number within each shank (``unit`` 1, 2, 1, 2) does not name the units:
    the ids stay the group's index, so shank 2 is not read as shank 1's trains."""
    folder = tmp_path / "s"
    folder.mkdir()
    counts = (100, 200, 300, 400)
    units = nap.TsGroup({k: nap.Ts(np.sort(rng.uniform(0, 40, n))) for k, n in enumerate(counts)},
                        metadata={"shank": [1, 1, 2, 2], "unit": [1, 2, 1, 2]})
    units.save(str(folder / "spikes.npz"))
    with pytest.warns(UserWarning, match="'unit' repeats values"):
        rec = load_record(folder, pre_units="shank=1", post_units="shank=2",
                          weights_from="spikes")
    assert rec["pre"].values.tolist() == [0, 1] and rec["post"].values.tolist() == [2, 3]
    n_post = np.bincount(rec["post_spike_unit"].values.astype(int) - 2)
    assert n_post.tolist() == [300, 400]
    with pytest.warns(UserWarning, match="'unit' repeats"):
        with pytest.raises(SchemaError, match="selected as both pre and post"):
            load_record(folder, pre_units="shank=1,2", post_units="3", weights_from="spikes")


def test_dates_in_metadata_are_read(tmp_path, rng):
    """pynapple saves a column of datetime.date pickled; plastix builds dates (plain
    values), so the file reads as pynapple reads it."""
    import datetime

    folder = tmp_path / "s"
    folder.mkdir()
    day = [datetime.date(2024, 3, d) for d in (1, 1, 2, 2)]
    nap.TsGroup({k: nap.Ts(np.sort(rng.uniform(0, 40, 100))) for k in range(4)},
                metadata={"location": ["CA3", "CA3", "CA3", "CA1"], "recorded": day}
                ).save(str(folder / "spikes.npz"))
    obj = read_npz(folder / "spikes.npz")
    assert obj.metadata["recorded"].tolist() == day
    rec = load_record(folder, weights_from="spikes", **CA3_CA1)
    assert rec["pre"].values.tolist() == [0, 1, 2]


def test_a_calcium_role_is_activity_not_spikes_to_infer_from(tmp_path, rng):
    """Post units as a TsdFrame of ΔF/F (metadata kind 'dff', as imaging pipelines name
    it): read as fluorescence; with no weights, inspect says they cannot be inferred (no
    post spikes) instead of offering the traces as the weights."""
    folder = tmp_path / "img"
    folder.mkdir()
    nap.TsGroup({k: nap.Ts(np.sort(rng.uniform(0, 30, 300))) for k in range(2)}
                ).save(str(folder / "pre.npz"))
    t = np.arange(0, 30, 1 / 30)
    nap.TsdFrame(t=t, d=rng.normal(0, 1, (t.size, 2)), columns=["roi_a", "roi_b"],
                 metadata={"kind": ["dff", "dff"]}).save(str(folder / "post.npz"))
    report = inspect_file(folder)
    assert not report.ready and report.command().endswith("--weights NAME")
    assert "activity, not spike trains" in report.missing[0]
    assert not any("may hold the weights" in f for f in report.found)
    w = nap.TsdFrame(t=np.arange(0, 30, 3.0), d=rng.normal(1, 0.1, (10, 1)),
                     metadata={"pre_unit": [0], "post_unit": ["roi_a"]})
    w.save(str(folder / "weights.npz"))
    rec = load_record(folder, decay=0.0)
    assert rec["post_activity"].attrs["kind"] == "fluorescence"
    assert rec["post_activity"].attrs["units"] == "1"
