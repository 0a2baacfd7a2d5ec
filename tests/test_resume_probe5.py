"""A run killed while writing its outputs resumes when rerun (probe 5).

`plastix design` (and `--recording-length`) and `plastix reproduce` write several files
one after another; a kill between two writes leaves some of them.  The same command
rerun finishes that run's work and writes what an uninterrupted run writes; files that
are not the run's own are still replaced only with --overwrite.  A kill is simulated by a
writer that stops the process (an exception no handler catches) after its first file.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import xarray as xr

from plastix.cli import main
from plastix.design import CircuitSpec

SMALL = CircuitSpec(n_pre=8, n_post=4, n_intervals=10)


class Killed(BaseException):
    """What a SIGKILL does to the writing: nothing after it runs."""


def _killing_writer(monkeypatch, module):
    """Make ``module.atomic_write`` stop the process after its first file; returns the
    files written, and the function that undoes it (for the rerun)."""
    real = module.atomic_write
    written = []

    def write(path, fn):
        if written:
            raise Killed(path)
        written.append(path)
        return real(path, fn)

    monkeypatch.setattr(module, "atomic_write", write)
    return written, lambda: monkeypatch.setattr(module, "atomic_write", real)


def _same_files(a, b, names) -> None:
    for name in names:
        if name.endswith(".nc"):
            with xr.open_dataset(a / name) as x, xr.open_dataset(b / name) as y:
                xr.testing.assert_identical(x.load(), y.load())
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


# ---------------------------------------------------------------- plastix design

DESIGN = ("design.nc", "design.csv", "design.png", "protocol.md")


@pytest.fixture
def small_design(monkeypatch):
    import plastix.design.propose as P

    real = P.propose_experiments
    monkeypatch.setattr(P, "propose_experiments",
                        lambda **kw: real(**kw, circuit=SMALL, n_calibration=2))

    def run(out, *extra):
        return main(["design", "--replicates", "3", "--budget", "5", "--rng", "1", "--quiet",
                     *extra, "--out", str(out)])

    return run


@pytest.fixture
def whole_design(small_design, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "design"
    assert small_design(out) == 0
    return out


def test_a_design_killed_while_writing_resumes_to_the_same_files(
        small_design, whole_design, tmp_path, monkeypatch, capsys):
    import plastix.design.output as O

    out = tmp_path / "d"
    written, restore = _killing_writer(monkeypatch, O)
    with pytest.raises(Killed):
        small_design(out)
    assert [p.name for p in written] == ["design.nc"]
    assert not (out / "design.csv").exists()
    restore()
    capsys.readouterr()
    assert small_design(out) == 0, capsys.readouterr().err
    _same_files(whole_design, out, DESIGN)
    assert not list((out / ".resume").glob("writing-*"))  # finished: no stamp left
    # finished, the outputs are a result: the same command replaces them only with
    # --overwrite, as before
    assert small_design(out) == 2
    assert "exists and would be replaced; pass --overwrite" in capsys.readouterr().err


def test_a_killed_design_with_other_options_is_not_replaced(small_design, tmp_path,
                                                           monkeypatch, capsys):
    import plastix.design.output as O

    out = tmp_path / "d"
    _killing_writer(monkeypatch, O)
    with pytest.raises(Killed):
        small_design(out)
    before = (out / "design.nc").read_bytes()
    assert small_design(out, "--target", "0.3") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run with other options that was stopped" in err
    assert "(design.nc)" in err and "--overwrite" in err
    assert (out / "design.nc").read_bytes() == before


def test_outputs_without_a_stamp_are_still_refused(small_design, tmp_path, capsys):
    out = tmp_path / "d"
    (out / ".resume").mkdir(parents=True)
    (out / "design.csv").write_text("mine\n")
    assert small_design(out) == 2
    assert "design.csv' exists and would be replaced" in capsys.readouterr().err
    assert (out / "design.csv").read_text() == "mine\n"
    # a damaged stamp tells nothing: the file is refused the same way
    (out / ".resume" / "writing-design.json").write_text("{bad")
    assert small_design(out) == 2
    assert "design.csv' exists and would be replaced" in capsys.readouterr().err
    # a stamp that names other files does not make design.csv the run's
    (out / ".resume" / "writing-design.json").write_text(
        json.dumps({"key": "x", "outputs": ["design.nc"]}))
    assert small_design(out) == 2
    assert "design.csv' exists and would be replaced" in capsys.readouterr().err


def test_a_stamp_that_is_a_folder_is_refused_before_any_work(small_design, tmp_path,
                                                            monkeypatch, capsys):
    import plastix.design.propose as P

    def never(**kw):
        raise AssertionError("ran")

    monkeypatch.setattr(P, "propose_experiments", never)
    out = tmp_path / "d"
    (out / ".resume" / "writing-design.json").mkdir(parents=True)
    assert small_design(out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "writing-design.json" in err and "is a folder" in err
    (out / ".resume" / "writing-design.json").rmdir()
    shutil.rmtree(out / ".resume")
    (out / ".resume").write_text("x")
    assert small_design(out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".resume" in err and "is a file" in err


def _fake_lengths(*args, **kw) -> xr.Dataset:
    verdict = np.array([["hebbian", "none"], ["hebbian", "hebbian"]])
    return xr.Dataset(
        {"verdict": (("replicate", "length"), verdict),
         "alignment": (("replicate", "length"), np.array([[0.2, 0.1], [0.3, 0.25]])),
         "power": ("length", [0.5, 1.0]), "power_low": ("length", [0.1, 0.3]),
         "power_high": ("length", [0.9, 1.0])},
        coords={"length": [100.0, 200.0]}, attrs={"shortest_length": 200.0})


def test_a_recording_length_design_killed_while_writing_resumes(tmp_path, monkeypatch,
                                                                capsys):
    import plastix.design.recording as R

    monkeypatch.setattr(R, "recording_length", _fake_lengths)
    args = ["design", "--recording-length", "--lengths", "100,200", "--quiet", "--out"]
    names = ("recording_length.nc", "recording_length.csv")
    assert main([*args, str(tmp_path / "whole")]) == 0
    real = R.write_recording_length

    def killed(ds, folder):  # the first file written, then the kill
        paths = real(ds, folder)
        paths["csv"].unlink()
        raise Killed(paths["csv"])

    out = tmp_path / "d"
    monkeypatch.setattr(R, "write_recording_length", killed)
    with pytest.raises(Killed):
        main([*args, str(out)])
    assert (out / names[0]).exists() and not (out / names[1]).exists()
    monkeypatch.setattr(R, "write_recording_length", real)
    capsys.readouterr()
    assert main([*args, str(out)]) == 0, capsys.readouterr().err
    _same_files(tmp_path / "whole", out, names)
    assert main([*args, str(out)]) == 2  # finished: replaced only with --overwrite
    assert "exists and would be replaced" in capsys.readouterr().err
    # the stamp of one command does not cover the other's outputs
    (out / ".resume" / "writing-design.json").write_text(
        json.dumps({"key": "x", "outputs": list(names)}))
    assert main([*args, str(out)]) == 2


# ---------------------------------------------------------------- plastix reproduce

QUICK = ["reproduce", "fig15", "--quick", "--seeds", "1", "--epochs", "1"]
FIG15 = ("fig15.nc", "fig15.csv", "fig15.png", "fig15.md")


def test_reproduce_killed_while_writing_resumes_to_the_same_files(tmp_path, monkeypatch,
                                                                  capsys):
    import plastix.experiments._common as C

    assert main([*QUICK, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "r"
    _, restore = _killing_writer(monkeypatch, C)
    with pytest.raises(Killed):
        main([*QUICK, "--out", str(out)])
    assert sorted(p.name for p in out.glob("fig15.*")) == ["fig15.nc"]
    restore()
    capsys.readouterr()
    assert main([*QUICK, "--out", str(out)]) == 0, capsys.readouterr().err
    _same_files(tmp_path / "whole", out, ("fig15.nc", "fig15.csv", "fig15.md"))
    # another run's options still need --overwrite
    assert main([*QUICK[:-1], "2", "--out", str(out)]) == 2
    assert "made with other options" in capsys.readouterr().err


def test_reproduce_files_it_did_not_write_are_still_refused(tmp_path, monkeypatch, capsys):
    import plastix.experiments.fig15 as F

    monkeypatch.setattr(F, "run", lambda *a, **k: pytest.fail("ran"))
    (tmp_path / "fig15.nc").write_text("mine")
    assert main([*QUICK, "--out", str(tmp_path)]) == 2
    assert "files this run would replace (fig15.nc)" in capsys.readouterr().err


@pytest.mark.parametrize("content, found", [
    ("[]", "it holds a JSON list"),
    ("{bad", "it is not valid JSON"),
    (b"\xff\xfe", "it is not valid JSON"),
    ('{"fig15": 3}', "its entry 'fig15' is a JSON number"),
    ('"fig15"', "it holds a JSON string"),
    (None, "it is a folder"),
])
def test_a_damaged_reproduce_stamp_is_one_line_before_any_work(tmp_path, monkeypatch, capsys,
                                                               content, found):
    import plastix.experiments.fig15 as F
    from plastix.cli.reproduce import STAMP

    monkeypatch.setattr(F, "run", lambda *a, **k: pytest.fail("ran"))
    stamp = tmp_path / STAMP
    if content is None:
        stamp.mkdir()
    elif isinstance(content, bytes):
        stamp.write_bytes(content)
    else:
        stamp.write_text(content)
    assert main([*QUICK, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "probably a bug" not in err
    assert str(stamp) in err and found in err
    assert ("move or remove it" if content is None else "delete it (") in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [STAMP]  # nothing else written


def test_overwrite_replaces_a_damaged_reproduce_stamp(tmp_path, monkeypatch, capsys):
    import plastix.experiments.fig15 as F
    from plastix.cli.reproduce import STAMP

    def fake(out, **kw):
        assert json.loads((out / STAMP).read_text())["fig15"]["quick"] is True  # stamped first
        (out / "fig15.md").write_text("summary\n")
        return out / "fig15.md"

    monkeypatch.setattr(F, "run", fake)
    (tmp_path / STAMP).write_text("[]")
    assert main([*QUICK, "--overwrite", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / STAMP).read_text()) == {
        "fig15": {"quick": True, "seeds": 1, "rng": 0, "epochs": 1}}


def test_a_run_that_fails_before_writing_puts_the_earlier_note_back(tmp_path, monkeypatch,
                                                                    capsys):
    """Results made with options A, a run with --overwrite and options B that fails
    before writing any result: the note still says A, so a rerun with A continues
    instead of asking for --overwrite; a run that wrote a result keeps its own note."""
    import plastix.experiments.fig15 as F
    from plastix.cli.reproduce import STAMP

    def made(out, **kw):
        (out / "fig15.md").write_text("summary\n")
        return out / "fig15.md"

    monkeypatch.setattr(F, "run", made)
    assert main([*QUICK, "--out", str(tmp_path)]) == 0
    first = json.loads((tmp_path / STAMP).read_text())

    def fails(out, **kw):
        raise ValueError("the experiment's own check failed")

    monkeypatch.setattr(F, "run", fails)
    assert main([*QUICK, "--rng", "5", "--overwrite", "--out", str(tmp_path)]) == 2
    assert json.loads((tmp_path / STAMP).read_text()) == first
    monkeypatch.setattr(F, "run", made)
    assert main([*QUICK, "--out", str(tmp_path)]) == 0  # the same options as the files'

    def writes_then_fails(out, **kw):
        (out / "fig15.md").write_text("half\n")
        raise ValueError("failed after writing")

    monkeypatch.setattr(F, "run", writes_then_fails)
    assert main([*QUICK, "--rng", "5", "--overwrite", "--out", str(tmp_path)]) == 2
    assert json.loads((tmp_path / STAMP).read_text())["fig15"]["rng"] == 5
    capsys.readouterr()
