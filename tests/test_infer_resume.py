"""infer-weights saves as it goes (probe 5, finding 6): each finished chunk is kept in a
resume folder, and a rerun reads them back and computes only the rest, to the same bits."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from test_infer import _gap

import plastix.estimate.infer as infer_mod
from plastix.estimate.infer import infer_weights
from plastix.estimate.synthetic import simulate_spike_record

pytestmark = pytest.mark.filterwarnings("ignore:infer_weights. .* not recorded:UserWarning")


@pytest.fixture(scope="module")
def rec():
    # 6 -> 3 over 120 s, post unit 0 not recorded in 45-55 s (so pairs are left out)
    return _gap(simulate_spike_record(6, 3, duration=120.0, rng=1), "post", 0, 45.0, 55.0)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of one post unit over runs of ~300 pre spikes: many chunks on a small record."""
    monkeypatch.setattr(infer_mod, "CCG_SPIKES", 300)
    monkeypatch.setattr(infer_mod, "CCG_CHUNK_PASSES", 1)
    monkeypatch.setattr(infer_mod, "GLM_CHUNK_BINS", 1)


class Killed(Exception):
    """Raised from inside the loop: a kill after some chunks."""


def _count(monkeypatch, name, kill_after=None):
    """Count the calls of ``infer_mod.name`` (a post unit's pass, a window's fits); raise
    :class:`Killed` at call ``kill_after + 1``."""
    real, calls = getattr(infer_mod, name), {"n": 0}
    real = getattr(real, "real", real)  # not a counter of a counter

    def counted(*args, **kwargs):
        if kill_after is not None and calls["n"] >= kill_after:
            raise Killed
        calls["n"] += 1
        return real(*args, **kwargs)

    counted.real = real
    monkeypatch.setattr(infer_mod, name, counted)
    return calls


def _infer(rec, **kw):
    """The weight and SEM arrays and the warnings of one inference."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = infer_weights(rec, window=20.0, progress=False, **kw)
    return out, sorted(str(w.message) for w in got)


def _same(a, b):
    for name in ("weight", "weight_sem", "pre_spike_count"):
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


CASES = {  # keywords, the function called once a chunk here, the chunks
    "ccg": ({}, "_ccg_pass", 18),
    "ccg-surrogates": ({"n_surrogates": 3, "rng": 5}, "_ccg_pass", 3),
    "glm": ({"method": "glm"}, "_glm_window", 6)}


@pytest.mark.parametrize("case", list(CASES))
def test_a_killed_inference_resumes_to_the_same_bits_computing_only_the_rest(
        rec, small_chunks, monkeypatch, tmp_path, case):
    """Killed after k chunks, rerun: only the other chunks are computed (counted), and the
    weights, SEMs, counts and warnings (the left-out pairs' count) equal an uninterrupted
    run's bit for bit; with surrogates the generator's state is restored at each chunk."""
    kw, loop, n_chunks = CASES[case]
    ref, ref_warn = _infer(rec, **kw)
    assert case == "glm" or any("left out of those pairs" in w for w in ref_warn)
    calls = _count(monkeypatch, loop, kill_after=2)
    with pytest.raises(Killed):
        _infer(rec, resume_dir=tmp_path, **kw)
    (folder,) = tmp_path.iterdir()
    assert len(list(folder.glob("*.npz"))) == 2  # one chunk a call here
    calls = _count(monkeypatch, loop)
    out, out_warn = _infer(rec, resume_dir=tmp_path, **kw)
    assert calls["n"] == n_chunks - 2
    _same(out, ref)
    assert out_warn == ref_warn


def test_the_ccg_chunk_count_is_what_the_rerun_skips(rec, small_chunks, monkeypatch, tmp_path):
    """Exact expectation: runs of ~300 pre spikes x 3 post units = 18 chunks, one pass each;
    a rerun after 7 computes 11, a third run none."""
    ref, _ = _infer(rec)
    calls = _count(monkeypatch, "_ccg_pass", kill_after=7)
    with pytest.raises(Killed):
        _infer(rec, resume_dir=tmp_path)
    calls = _count(monkeypatch, "_ccg_pass")
    _same(_infer(rec, resume_dir=tmp_path)[0], ref)
    assert calls["n"] == 18 - 7
    _same(_infer(rec, resume_dir=tmp_path)[0], ref)
    assert calls["n"] == 18 - 7


def test_a_damaged_chunk_is_computed_again(rec, small_chunks, monkeypatch, tmp_path):
    """A truncated file, one of the wrong shape and one with an object array (never
    unpickled) are each computed again; the result is the uninterrupted one."""
    ref, _ = _infer(rec, n_surrogates=2, rng=3)
    _infer(rec, n_surrogates=2, rng=3, resume_dir=tmp_path)
    (folder,) = tmp_path.iterdir()
    files = sorted(folder.glob("*.npz"))
    files[0].write_bytes(files[0].read_bytes()[:100])
    with np.load(files[1]) as f:
        parts = dict(f)
    np.savez(files[1], **{**parts, "w": parts["w"][:, :, :2]})
    np.savez(files[2], **{**parts, "sem": np.array([None, 1.0], dtype=object)})
    calls = _count(monkeypatch, "_ccg_pass")
    out, _ = _infer(rec, n_surrogates=2, rng=3, resume_dir=tmp_path)
    assert calls["n"] == 3
    _same(out, ref)


def test_other_parameters_or_spikes_do_not_reuse_chunks(rec, small_chunks, monkeypatch,
                                                        tmp_path):
    """A different window or seed, or one spike less, gets its own folder and computes
    everything; measured weights, which the inference ignores, reuse every chunk."""
    _infer(rec, resume_dir=tmp_path, n_surrogates=1, rng=1)
    calls = _count(monkeypatch, "_ccg_pass")
    for kw, other in [({"n_surrogates": 1, "rng": 2}, rec),
                      ({"n_surrogates": 1, "rng": 1}, rec.isel(pre_spike=slice(1, None)))]:
        calls["n"] = 0
        _infer(other, resume_dir=tmp_path, **kw)
        assert calls["n"] == 3, kw
    calls["n"] = 0
    infer_weights(rec, window=15.0, resume_dir=tmp_path, progress=False)
    assert calls["n"] > 0
    assert len(list(tmp_path.iterdir())) == 4
    calls["n"] = 0
    measured = rec.copy()
    measured["weight"] = rec["weight"] * 2.0
    _infer(measured, resume_dir=tmp_path, n_surrogates=1, rng=1)
    assert calls["n"] == 0


def test_progress_lines_off_a_terminal(rec, small_chunks, monkeypatch, capsys):
    """Off a terminal a plain line per update when the interval is 0; nothing with
    progress=False."""
    import plastix._util.progress as progress

    monkeypatch.setattr(progress, "PROGRESS_EVERY_S", 0.0)
    infer_weights(rec, window=20.0, progress=None)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 18 and err[-1].startswith("plastix infer-weights: 100% (18 of 18 "
                                                 "chunks)")
    infer_weights(rec, window=20.0, progress=False)
    assert capsys.readouterr().err == ""


def _same_file(a, b):
    """Every variable (floats bit for bit) and attribute of two written records equal.

    Not the file bytes: two uninterrupted runs in one process write different HDF5 bytes
    too (2 distinct SHA-256 in 6 runs, measured), from the HDF5 writer, not plastix."""
    import xarray as xr

    with xr.open_dataset(a, engine="h5netcdf") as x, xr.open_dataset(b, engine="h5netcdf") as y:
        assert list(x.variables) == list(y.variables) and x.attrs == y.attrs
        for name in x.variables:
            u, v = x[name].values, y[name].values
            assert u.dtype == v.dtype and u.shape == v.shape, name
            assert (u.tobytes() == v.tobytes() if u.dtype.kind == "f"
                    else np.array_equal(u, v)), name
            assert x[name].attrs == y[name].attrs, name


def _cli(args):
    from plastix.cli import main

    return main(["infer-weights", *map(str, args)])


def test_cli_keeps_the_chunks_on_interrupt_and_resumes_to_the_same_file(
        rec, small_chunks, monkeypatch, tmp_path, capsys):
    """Ctrl-C after 5 chunks: one line naming the hidden resume folder beside the output,
    exit 130, no output; the rerun says it resumed 5 of 36 chunks (10 s windows), writes a file
    whose every value equals an uninterrupted run's and removes the folder (plastix's files
    only: a file of the user's there stays)."""
    from plastix.io import save_record

    src = save_record(rec, tmp_path / "rec.nc")
    assert _cli([src, "--out", f"{tmp_path / 'a'}/"]) == 0
    capsys.readouterr()
    resume = tmp_path / "b" / ".rec_weights.nc.resume"
    real = infer_mod._ccg_pass
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        if calls["n"] == 5:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(infer_mod, "_ccg_pass", interrupted)
    assert _cli([src, "--out", f"{tmp_path / 'b'}/"]) == 130
    err = capsys.readouterr().err
    assert err == (f"plastix infer-weights: interrupted; the chunks finished so far are kept in "
                   f"{str(resume)!r}: rerun the same command (same --rng) to resume.\n")
    assert len(list(resume.glob("infer-*/*.npz"))) == 5
    assert not (tmp_path / "b" / "rec_weights.nc").exists()
    monkeypatch.setattr(infer_mod, "_ccg_pass", real)
    assert _cli([src, "--out", f"{tmp_path / 'b'}/"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("plastix infer-weights: resumed 5 of 36 chunks from "), err
    assert not resume.exists()
    _same_file(tmp_path / "a" / "rec_weights.nc", tmp_path / "b" / "rec_weights.nc")
    # a file of the user's in the resume folder is left there, with the folder
    from plastix._util.checkpoint import remove_resume_folder

    (resume / "infer-0123456789abcdef").mkdir(parents=True)
    (resume / "infer-0123456789abcdef" / "config.json").write_text("{}")
    (resume / "notes.txt").write_text("mine")
    assert not remove_resume_folder(resume)
    assert [p.name for p in resume.iterdir()] == ["notes.txt"]


def test_estimate_from_spikes_resumes_its_inference(rec, small_chunks, monkeypatch, tmp_path):
    """estimate --weights-from spikes: the cross-fit's inference keeps its chunks in the
    resume folder; a rerun computes none and gives the same result."""
    from plastix.estimate.infer import estimate_from_spikes

    kw = dict(decay=0.0, n_null=0, n_boot=20, rng=0, infer={"window": 20.0,
                                                             "progress": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = estimate_from_spikes(rec, resume_dir=tmp_path, **kw)
        calls = _count(monkeypatch, "_ccg_pass")
        b = estimate_from_spikes(rec, resume_dir=tmp_path, **kw)
    assert calls["n"] == 0
    assert len(list(Path(tmp_path).glob("infer-*"))) == 1
    _same(a.inferred_, b.inferred_)
    assert float(a.result_["alignment"]) == float(b.result_["alignment"])


def test_cli_refuses_a_file_where_the_resume_folder_goes(rec, tmp_path, capsys):
    """A file named like the resume folder: one line naming it, exit 2, before any work."""
    from plastix.io import save_record

    src = save_record(rec, tmp_path / "rec.nc")
    (tmp_path / ".w.nc.resume").write_text("mine")
    assert _cli([src, "--out", tmp_path / "w.nc"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert f"{str(tmp_path / '.w.nc.resume')!r}, where infer-weights keeps its finished " \
        "work until the output is written, is a file; move or remove it." in err
    assert (tmp_path / ".w.nc.resume").read_text() == "mine"


def test_unseeded_surrogates_with_a_resume_dir_warn_where_called(rec, tmp_path):
    from plastix.estimate._resume import UnseededResumeWarning

    with pytest.warns(UnseededResumeWarning, match=r"`rng` is None") as got:
        infer_weights(rec, window=20.0, progress=False, n_surrogates=1, resume_dir=tmp_path)
    # this one and the unrecorded-time warning name this line, not plastix's or contextlib's
    assert [w.category for w in got].count(UnseededResumeWarning) == 1
    assert {Path(w.filename).name for w in got} == {Path(__file__).name}
    _, seeded = _infer(rec, n_surrogates=1, rng=1, resume_dir=tmp_path)
    _, exact = _infer(rec, resume_dir=tmp_path)  # no surrogates: nothing drawn
    assert not [m for m in seeded + exact if "`rng` is None" in m]
