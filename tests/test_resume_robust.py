"""Resume folders of ``estimate`` and ``infer-weights`` under faults (probe 6): a folder
that cannot be written, a cleanup that fails, altered blocks, a user's files, a half
result, an interrupt before anything finished."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
from test_estimate_resume import FAST, N_NULL, _count_null_passes
from test_null_measured_pairs import _record as _rate_record

import plastix.estimate._resume as resume_mod
from plastix.cli import main
from plastix.io.netcdf import to_netcdf


@pytest.fixture(autouse=True)
def _one_replicate_blocks(monkeypatch):
    monkeypatch.setattr(resume_mod, "CHECKPOINT_EVERY_S", 0.0)


@pytest.fixture(scope="module")
def rate_nc(tmp_path_factory):
    return to_netcdf(_rate_record(n_bins=600), tmp_path_factory.mktemp("in") / "rec.nc")


@pytest.fixture(scope="module")
def spike_nc(tmp_path_factory):
    from plastix.estimate.synthetic import simulate_spike_record
    from plastix.io import save_record

    rec = simulate_spike_record(4, 2, duration=60.0, rng=1)
    return save_record(rec, tmp_path_factory.mktemp("sp") / "sp.nc")


def _refuse_mkdir_in_resume(monkeypatch):
    """Making a folder inside a ``.NAME.resume`` fails (a folder plastix may not write)."""
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if ".resume" in str(self):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def _one_error_line(err: str, folder: Path) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"cannot write in the resume folder {str(folder)!r}" in lines[0], lines[0]
    assert "make it writable or remove it, or write elsewhere with --out" in lines[0]
    assert "cannot read" not in lines[0] and "corrupt" not in lines[0]
    return lines[0]


def test_an_unwritable_resume_folder_is_named_not_the_input(rate_nc, spike_nc, tmp_path,
                                                            monkeypatch, capsys):
    """Finding 1: estimate, its batch and infer-weights name the resume folder, not the
    (good) input."""
    _refuse_mkdir_in_resume(monkeypatch)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(tmp_path / "r")]) == 2
    _one_error_line(capsys.readouterr().err, tmp_path / ".r.resume")
    assert main(["infer-weights", str(spike_nc), "--window", "20", "--out",
                 str(tmp_path / "w.nc")]) == 2
    _one_error_line(capsys.readouterr().err, tmp_path / ".w.nc.resume")
    two = tmp_path / "two.nc"
    two.write_bytes(rate_nc.read_bytes())
    out = tmp_path / "b"
    assert main(["estimate", str(rate_nc), str(two), *FAST, "--out", f"{out}/"]) == 1
    err = capsys.readouterr().err
    assert f"cannot write in the resume folder {str(out / '.rec_estimate.resume')!r}" in err
    assert "corrupt" not in err


def _refuse_unlink_of_config(monkeypatch):
    """Removing a ``config.json`` in a resume folder fails (a folder plastix may read but
    not delete from)."""
    real = Path.unlink

    def unlink(self, *args, **kwargs):
        if ".resume" in str(self) and self.name == "config.json":
            raise PermissionError(errno.EPERM, "Operation not permitted", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)


def test_a_failed_cleanup_is_a_warning_after_success(rate_nc, spike_nc, tmp_path,
                                                     monkeypatch, capsys):
    """Finding 2: the result is written, the cleanup removes what it can, warns once
    naming the folder, and the exit status is 0 (estimate, infer-weights, the batch)."""
    _refuse_unlink_of_config(monkeypatch)
    folder = tmp_path / ".r.resume"
    with pytest.warns(UserWarning, match=r"could not remove 1 file\(s\) .* in "
                      + repr(str(folder)).replace(".", r"\.")):
        assert main(["estimate", str(rate_nc), *FAST, "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r.nc").exists() and (tmp_path / "r.json").exists()
    assert [p.name for p in folder.rglob("*") if p.is_file()] == ["config.json"]
    with pytest.warns(UserWarning, match="could not remove 1 file"):
        assert main(["infer-weights", str(spike_nc), "--window", "20", "--out",
                     str(tmp_path / "w.nc")]) == 0
    assert (tmp_path / "w.nc").exists()
    two = tmp_path / "two.nc"
    two.write_bytes(rate_nc.read_bytes())
    out = tmp_path / "b"
    with pytest.warns(UserWarning, match="could not remove 1 file"):
        assert main(["estimate", str(rate_nc), str(two), *FAST, "--out", f"{out}/"]) == 0
    assert (out / "two_estimate.nc").exists()


def test_an_altered_null_block_is_computed_again(rate_nc, tmp_path, monkeypatch):
    """Finding 3: a block whose values were edited (valid JSON, right length) no longer
    matches its SHA-256: it and every later block are computed again; the result is the
    uninterrupted one."""
    from test_estimate_resume import _bits, _blocks, _rate_fit

    rec = _rate_record(n_bins=600)
    plain = _rate_fit(rec)
    _count_null_passes(monkeypatch, stop_after=5)
    with pytest.raises(Exception, match="killed"):
        _rate_fit(rec, resume_dir=tmp_path)
    blocks = _blocks(tmp_path)
    assert len(blocks) == 5
    d = json.loads(blocks[2].read_text())
    d["values"] = [{"__f__": (0.99).hex()}] * len(d["values"])
    blocks[2].write_text(json.dumps(d))
    calls = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL - 2
    # an altered state, likewise
    d = json.loads(blocks[0].read_text())
    d["state"]["has_uint32"] = 1 - d["state"]["has_uint32"]
    blocks[0].write_text(json.dumps(d))
    calls = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL


def test_an_altered_inference_chunk_is_computed_again(tmp_path, monkeypatch):
    """Finding 3: a chunk rewritten with other weights (a valid .npz) is computed again."""
    from test_infer_resume import _count, _infer, _same

    import plastix.estimate.infer as infer_mod
    from plastix.estimate.synthetic import simulate_spike_record

    monkeypatch.setattr(infer_mod, "CCG_SPIKES", 300)
    monkeypatch.setattr(infer_mod, "CCG_CHUNK_PASSES", 1)
    rec = simulate_spike_record(4, 2, duration=60.0, rng=1)
    ref, _ = _infer(rec, n_surrogates=2, rng=3)
    _infer(rec, n_surrogates=2, rng=3, resume_dir=tmp_path)
    (folder,) = tmp_path.iterdir()
    files = sorted(folder.glob("*.npz"))
    with np.load(files[0]) as f:
        parts = dict(f)
    np.savez(files[0], **{**parts, "w": parts["w"] * 2})
    calls = _count(monkeypatch, "_ccg_pass")
    out, _ = _infer(rec, n_surrogates=2, rng=3, resume_dir=tmp_path)
    assert calls["n"] == 1
    _same(out, ref)


def test_cleanup_removes_only_the_names_plastix_writes(tmp_path):
    """Finding 7 (last item): a user's ``mynotes.json`` or ``data.npz`` in a keyed folder
    stays; config.json, blocks, chunks and temporary files of their writes go."""
    from plastix._util.checkpoint import remove_resume_folder
    from plastix._util.io import temp_prefix

    root = tmp_path / ".r.resume"
    keyed = root / "estimate-null-0123456789abcdef"
    keyed.mkdir(parents=True)
    ours = ["config.json", "null-000000.json", "null-000120.json", "ccg-0-0-3-0-2.npz",
            "glm-0-40.npz", temp_prefix(keyed / "null-000007.json") + "ab_cd123.json",
            temp_prefix(keyed / "glm-0-40.npz", pid=77) + "zz9zz9zz.npz"]
    mine = ["mynotes.json", "data.npz", "null-1.json", ".mynotes.json.12-0000abcd-abcdefgh.json"]
    for name in ours + mine:
        (keyed / name).write_text("x")
    assert not remove_resume_folder(root)
    assert sorted(p.name for p in keyed.iterdir()) == sorted(mine)


def test_a_killed_runs_lone_half_result_is_replaced_by_the_rerun(rate_nc, tmp_path, capsys):
    """Finding 4: RESULT.nc without RESULT.json (or the reverse) beside the result's
    resume folder is that run's own: the same command replaces it without --overwrite.
    Without the folder, or with a whole pair, the refusal stands."""
    out = tmp_path / "w1"
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 0
    ref = (tmp_path / "w1.json").read_text()
    (tmp_path / "w1.json").unlink()
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 2  # no folder
    assert "w1.nc' exists and would be replaced" in capsys.readouterr().err
    (tmp_path / ".w1.resume").mkdir()  # the killed run's unfinished work
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 0
    assert (tmp_path / "w1.json").read_text() == ref and (tmp_path / "w1.nc").exists()
    assert not (tmp_path / ".w1.resume").exists()
    (tmp_path / "w1.nc").unlink()  # the other half
    (tmp_path / ".w1.resume").mkdir()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 0
    assert (tmp_path / "w1.nc").exists()
    (tmp_path / ".w1.resume").mkdir()  # a whole pair is never a killed run's half
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 2
    assert "exists and would be replaced" in capsys.readouterr().err


def test_a_killed_tasks_lone_half_is_replaced_by_the_batch_rerun(rate_nc, tmp_path):
    """Finding 4, in a batch: the lone half of a task's result beside its resume folder."""
    two = tmp_path / "two.nc"
    two.write_bytes(rate_nc.read_bytes())
    b = tmp_path / "b"
    b.mkdir()
    (b / "two_estimate.nc").write_text("half")
    (b / ".two_estimate.resume").mkdir()
    assert main(["estimate", str(two), str(rate_nc), *FAST, "--out", f"{b}/"]) == 0
    assert (b / "two_estimate.json").exists() and (b / "two_estimate.nc").stat().st_size > 4


def test_an_interrupt_before_any_block_keeps_nothing_and_says_so(rate_nc, tmp_path,
                                                                  monkeypatch, capsys):
    """Finding 7: Ctrl-C before the first block: the folder (config.json alone) is removed
    and the line says nothing had finished; after blocks, a rerun says what it resumed."""
    _count_null_passes(monkeypatch, stop_after=0, raise_=KeyboardInterrupt)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(tmp_path / "r")]) == 130
    assert capsys.readouterr().err == (
        "plastix estimate: interrupted; no null replicates had finished yet, so nothing is "
        "kept: rerun the same command to start again.\n")
    assert not (tmp_path / ".r.resume").exists()
    _count_null_passes(monkeypatch, stop_after=3, raise_=KeyboardInterrupt)
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(tmp_path / "r")]) == 130
    monkeypatch.undo()
    monkeypatch.setattr(resume_mod, "CHECKPOINT_EVERY_S", 0.0)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(tmp_path / "r")]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"plastix estimate: resumed 3 of {N_NULL} null replicates from "
                           f"{str(tmp_path / '.r.resume')!r}"[:-1]), line


def test_a_batch_interrupt_before_any_block_keeps_no_folder(rate_nc, tmp_path, monkeypatch,
                                                            capsys):
    """Finding 7, in a batch: an empty resume folder is not kept nor named."""
    two = tmp_path / "two.nc"
    two.write_bytes(rate_nc.read_bytes())
    out = tmp_path / "b"
    _count_null_passes(monkeypatch, stop_after=N_NULL, raise_=KeyboardInterrupt)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), str(two), *FAST, "--out", f"{out}/"]) == 130
    err = capsys.readouterr().err
    assert not (out / ".two_estimate.resume").exists()
    assert ".resume" not in err and "interrupted" in err


def test_infer_weights_interrupted_before_any_chunk_keeps_nothing(spike_nc, tmp_path,
                                                                  monkeypatch, capsys):
    """Finding 7 (probe: 'the chunks finished so far are kept' with config.json alone)."""
    import plastix.estimate.infer as infer_mod

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(infer_mod, "_ccg_pass", interrupted)
    capsys.readouterr()
    assert main(["infer-weights", str(spike_nc), "--window", "20", "--out",
                 str(tmp_path / "w.nc")]) == 130
    assert capsys.readouterr().err == (
        "plastix infer-weights: interrupted; no chunks had finished yet, so nothing is kept: "
        "rerun the same command to start again.\n")
    assert not (tmp_path / ".w.nc.resume").exists()


def _weights_record(n_w: int, *, alternate_nan: bool = False):
    """A small activity record with ``n_w`` weight samples of 40 x 200 synapses (6.4 MB of
    weights at 101 samples); with ``alternate_nan`` every other sample is NaN, so no
    interval has a finite weight at both ends."""
    from plastix.record import make_record

    rng = np.random.default_rng(0)
    n_bins, dt = 2 * (n_w - 1), 0.5
    x, y = rng.gamma(2.0, 1.0, (n_bins, 200)), rng.gamma(2.0, 1.0, (n_bins, 40))
    w = rng.normal(1, 0.2, (n_w, 40, 200))
    if alternate_nan:
        w[::2] = np.nan
    return make_record(x, y, w, time=np.arange(n_bins) * dt,
                       weight_time=np.arange(n_w) * 1.0, dt=dt)


def test_check_weight_changes_reads_one_sample_at_a_time(monkeypatch):
    """Memory: the check no longer copies the weights at every interval start (w[k],
    w[k+1]: 2 x 6.4 MB here); it stops at the first finite pair, and its refusal is the
    same line as before."""
    import tracemalloc

    from plastix.estimate.estimator import check_weight_changes
    from plastix.record import SchemaError

    rec = _weights_record(101)
    tracemalloc.start()
    try:
        check_weight_changes(rec, "rec.nc")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak
    bad = _weights_record(11, alternate_nan=True)
    with pytest.raises(SchemaError) as err:
        check_weight_changes(bad, "bad.nc")
    w = bad["weight"].values
    assert str(err.value) == (
        "bad.nc: no observed weight change: no synapse has a finite weight at both ends of "
        f"any of the 10 weight intervals ({int(np.isnan(w).sum())} of {w.size} weights are "
        "NaN), so there is nothing to estimate; give a record whose weights are measured at "
        "least twice on one synapse.")


def test_infer_weights_rng_help_says_it_changes_nothing(capsys):
    """Probe 6 finding 7: `--rng` of infer-weights draws nothing with the CLI's methods."""
    with pytest.raises(SystemExit):
        main(["infer-weights", "--help"])
    assert "the output does not depend on it" in " ".join(capsys.readouterr().out.split())


def test_opening_a_keyed_folder_removes_only_stale_temp_files(tmp_path):
    """A user's old hidden file in a keyed folder stays; a killed writer's temp file goes."""
    import os

    from plastix._util.checkpoint import keyed_folder
    from plastix._util.io import temp_prefix

    folder = keyed_folder(tmp_path, {"a": 1}, prefix="estimate-null", version=1, option="x")
    mine = folder / ".hidden.json"
    tmp = folder / (temp_prefix(folder / "null-000000.json", pid=12) + "abcdefgh.json")
    for p in (mine, tmp):
        p.write_text("x")
        os.utime(p, (1e9, 1e9))
    keyed_folder(tmp_path, {"a": 1}, prefix="estimate-null", version=1, option="x")
    assert mine.exists() and not tmp.exists()


def test_a_full_disk_in_the_resume_folder_names_it(rate_nc, spike_nc, tmp_path, monkeypatch,
                                                   capsys):
    """Finding 1, an OSError without a file name (ENOSPC while writing a block): the line
    still names the resume folder, not the input."""
    from plastix._util import checkpoint

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "atomic_write", full)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(tmp_path / "r")]) == 2
    assert "No space left on device" in _one_error_line(capsys.readouterr().err,
                                                        tmp_path / ".r.resume")
    assert main(["infer-weights", str(spike_nc), "--window", "20", "--out",
                 str(tmp_path / "w.nc")]) == 2
    _one_error_line(capsys.readouterr().err, tmp_path / ".w.nc.resume")


def test_saved_null_blocks_from_other_code_are_not_read(rate_nc, tmp_path, monkeypatch):
    """A resume folder written by other plastix source (an upgrade or a local edit between
    the killed run and the rerun) is not read: its numbers could differ. The rerun does all
    the work again and gives the uninterrupted result."""
    from test_estimate_resume import _bits, _blocks, _rate_fit

    import plastix._util.checkpoint as checkpoint

    rec = _rate_record(n_bins=600)
    plain = _rate_fit(rec)
    _count_null_passes(monkeypatch, stop_after=5)
    with pytest.raises(Exception, match="killed"):
        _rate_fit(rec, resume_dir=tmp_path)
    assert len(_blocks(tmp_path)) == 5
    monkeypatch.setattr(checkpoint, "code_digest", lambda: "0" * 16)
    calls = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL
    monkeypatch.undo()
    calls = _count_null_passes(monkeypatch)  # the first code's blocks are still found
    _bits(_rate_fit(rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL - 5


def test_the_source_digest_follows_every_byte_and_name(tmp_path):
    """A changed byte or a renamed file of the ``.py`` source gives another digest; other
    files do not count; the package's own digest is stable within a process."""
    from plastix._util.checkpoint import code_digest, source_digest

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("not code")
    first = source_digest(tmp_path)
    assert len(first) == 16 and source_digest(tmp_path) == first
    (tmp_path / "notes.txt").write_text("still not code")
    assert source_digest(tmp_path) == first
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    second = source_digest(tmp_path)
    assert second != first
    (tmp_path / "sub" / "b.py").rename(tmp_path / "sub" / "c.py")
    assert source_digest(tmp_path) not in (first, second)
    assert code_digest() == code_digest() and len(code_digest()) == 16
