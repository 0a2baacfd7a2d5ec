"""Issue 13: physical validation at the boundary, verdicts the estimator can stand by,
and design sessions that survive interruption."""

from __future__ import annotations

import numpy as np
import pytest

from plastix.estimate import HebbianEstimator
from plastix.estimate.estimator import result_to_dict
from plastix.estimate.intervals import MIN_INTERVALS
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
from plastix.record import validate_record

FAST = dict(n_pre=8, n_post=5, n_intervals=60, bins_per_interval=20, lr=0.5, decay=2.0,
            noise=0.05, n_burn=60)


def test_one_interval_without_null_is_indeterminate():
    """20 null records of one interval, n_null=0: never a verdict from a zero-width CI."""
    verdicts, reasons = [], set()
    for seed in range(20):
        rec = simulate_synthetic(SyntheticConfig(rule="null", **{**FAST, "n_intervals": 1}),
                                 rng=seed)
        est = HebbianEstimator(decay=2.0, n_boot=200, n_null=0, rng=seed).fit(rec)
        verdicts.append(est.verdict_)
        reasons.add(est.verdict_reason_)
        assert str(est.result_["verdict"].values) == "indeterminate"
        assert est.result_.attrs["verdict_reason"] == est.verdict_reason_
        assert f"verdict     indeterminate  ({est.verdict_reason_})" in est.summary()
    assert verdicts == ["indeterminate"] * 20
    assert reasons == {f"only 1 weight interval; at least {MIN_INTERVALS} are needed for a "
                       "bootstrap interval"}


def test_no_null_is_indeterminate_with_reason():
    """A clear Hebbian record still gets no verdict without null replicates."""
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=3)
    est = HebbianEstimator(decay=2.0, n_boot=200, n_null=0, rng=0).fit(rec)
    assert est.ci_[0] > 0  # the interval alone would have said hebbian
    assert est.verdict_ == "indeterminate"
    assert est.verdict_reason_ == ("no null replicates (n_null=0), so no test; pass n_null >= "
                                   "40 (--n-null; default 199)")
    assert result_to_dict(est.result_)["verdict_reason"] == est.verdict_reason_
    few = HebbianEstimator(decay=2.0, n_boot=200, n_null=19, rng=0).fit(rec)
    assert few.verdict_ == "indeterminate"
    assert few.verdict_reason_.startswith("19 null replicates cannot give p < 0.05")
    enough = HebbianEstimator(decay=2.0, n_boot=200, n_null=59, rng=0).fit(rec)
    assert (enough.verdict_, enough.verdict_reason_) == ("hebbian", "")


def test_zero_width_interval_is_indeterminate():
    from plastix.estimate.intervals import unjudgeable_reason

    assert unjudgeable_reason(50, 199, 0.05, [0.3, 0.3]).startswith(
        "the bootstrap interval has zero width")
    assert unjudgeable_reason(50, 199, 0.05, [0.2, 0.3]) == ""
    assert unjudgeable_reason(MIN_INTERVALS - 1, 199, 0.05, [0.2, 0.3]) != ""


def test_datasets_still_validate():
    """The reference recordings pass the new bounds (and their decay is a rate >= 0)."""
    from plastix.datasets import list_datasets, load_dataset

    entries = [e for e in list_datasets() if e.kind == "record"]  # tables: test_pairing
    assert entries
    for entry in entries:
        ds = load_dataset(entry.name, regenerate=False)
        validate_record(ds, stage=entry.name)
        decay = float(ds["decay"].values)
        assert np.isnan(decay) or decay >= 0


# ----------------------------------------------------------------- design resumes

_DESIGN_ARGS = ("circuit=CircuitSpec(n_pre=8, n_post=4, n_intervals=10), n_replicates=4, "
                "n_calibration=2, rng=1, progress=False")


def _design_kw():
    from plastix.design import CircuitSpec

    return dict(circuit=CircuitSpec(n_pre=8, n_post=4, n_intervals=10), n_replicates=4,
                n_calibration=2, rng=1, progress=False)


def _counting_measure():
    from plastix.design.propose import estimator_measure

    inner = estimator_measure()
    calls = []

    def measure(record):
        calls.append(1)
        return inner(record)

    measure.params = inner.params  # the same estimator: the same resume folder
    return measure, calls


def _alignment_files(root):
    """Finished sessions (not the temporary file of a write a kill interrupted)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in root.glob("design-*/*.alignment") if not p.name.startswith(".")}


def _killed_design(resume, n_kept):
    """Run the design in a subprocess and SIGKILL it once ``n_kept`` sessions are on disk."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    code = ("from plastix.design import CircuitSpec, propose_experiments\n"
            f"propose_experiments({_DESIGN_ARGS}, resume_dir={str(resume)!r})\n")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 300
        while len(_alignment_files(resume)) < n_kept and proc.poll() is None:
            assert time.monotonic() < deadline, "the design wrote no sessions in 300 s"
            time.sleep(0.01)
        assert proc.poll() is None, "the design finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_design_resumes_after_sigkill(tmp_path):
    """A design killed mid-run keeps its measured sessions; the rerun measures only the
    rest and ends identical to an uninterrupted run."""
    import xarray as xr

    from plastix.design import propose_experiments

    resume = tmp_path / "resume"
    _killed_design(resume, 40)
    kept = _alignment_files(resume)
    assert len(kept) >= 40
    measure, calls = _counting_measure()
    resumed = propose_experiments(**_design_kw(), resume_dir=resume, measure=measure)
    after = _alignment_files(resume)
    assert all(after[name] == stamp for name, stamp in kept.items()), "a kept session was redone"
    assert len(calls) == len(after) - len(kept), (len(calls), len(after), len(kept))
    plain = propose_experiments(**_design_kw())
    xr.testing.assert_identical(resumed.dataset, plain.dataset)
    assert resumed.ranking == plain.ranking


@pytest.mark.filterwarnings("ignore:calibration did not reach:RuntimeWarning")
def test_design_resume_keys_by_configuration(tmp_path):
    """Deleted sessions are measured again (their stages' checkpoints deleted too); other
    settings never read stale files."""
    import xarray as xr

    from plastix.design import propose_experiments

    first = propose_experiments(**_design_kw(), resume_dir=tmp_path)
    files = sorted(tmp_path.glob("design-*/[!.]*.alignment"))
    for path in files[::4]:
        path.unlink()
    for path in tmp_path.glob("design-*/*.json"):  # the stages' checkpoints: simulate again
        if path.name != "config.json":
            path.unlink()
    measure, calls = _counting_measure()
    again = propose_experiments(**_design_kw(), resume_dir=tmp_path, measure=measure)
    assert len(calls) == len(files[::4])
    xr.testing.assert_identical(first.dataset, again.dataset)
    # another seed, or another estimator option: a new folder, every session measured
    measure, calls = _counting_measure()
    other = propose_experiments(**{**_design_kw(), "rng": 2}, resume_dir=tmp_path,
                                measure=measure)
    assert len(list(tmp_path.glob("design-*"))) == 2
    assert len(calls) == len(list(tmp_path.glob("design-*/[!.]*.alignment"))) - len(files)
    assert not other.dataset.equals(first.dataset)
    propose_experiments(**_design_kw(), resume_dir=tmp_path, estimator={"kernel": "covariance"})
    assert len(list(tmp_path.glob("design-*"))) == 3


def test_design_resume_skips_finished_stages(tmp_path, monkeypatch):
    """Calibrations and each hypothesis' sessions are checkpointed as they finish; a
    rerun reads them back without simulating anything and ends identical."""
    import xarray as xr

    from plastix.design import propose
    from plastix.design.resume import load_checkpoint

    simulate = propose._simulate
    first = propose.propose_experiments(**_design_kw(), resume_dir=tmp_path)
    [folder] = tmp_path.glob("design-*")
    n_hyp = first.dataset.sizes["hypothesis"]
    assert load_checkpoint(folder, "calibration") is not None
    for h in range(n_hyp):
        saved = load_checkpoint(folder, f"sessions-{h}")
        assert np.array_equal(saved["base"], first.dataset["alignment_baseline"][h].values)

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpointed stage was simulated again")

    monkeypatch.setattr(propose, "calibrate", refuse)
    monkeypatch.setattr(propose, "_simulate", refuse)
    again = propose.propose_experiments(**_design_kw(), resume_dir=tmp_path)
    xr.testing.assert_identical(again.dataset, first.dataset)
    # one hypothesis' checkpoint lost: only that hypothesis is simulated again
    (folder / "sessions-1.json").unlink()
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(propose, "_simulate", counted)
    third = propose.propose_experiments(**_design_kw(), resume_dir=tmp_path)
    assert len(calls) == 1
    xr.testing.assert_identical(third.dataset, first.dataset)


@pytest.mark.slow
def test_cli_design_resumes_after_sigkill(tmp_path):
    """`plastix design --out DIR` killed with SIGKILL mid-run keeps its finished sessions
    and stages; the rerun redoes none of them and writes the tables of an uninterrupted
    run, byte for byte."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def cli(out):
        return [sys.executable, "-m", "plastix.cli", "design", "--replicates", "3",
                "--budget", "4", "--rng", "3", "--quiet", "--out", str(out)]

    def kept(out):
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in (out / ".resume").glob("design-*/[!.]*")}

    subprocess.run(cli(tmp_path / "plain"), env=env, check=True, capture_output=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen(cli(out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:  # killed once the calibrations and the first hypothesis' sessions are saved
        deadline = time.monotonic() + 600
        while not (any((out / ".resume").glob("design-*/sessions-0.json"))
                   and proc.poll() is None):
            assert proc.poll() is None, "the design finished before it could be killed"
            assert time.monotonic() < deadline, "the design saved nothing in 600 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    before = kept(out)
    assert "calibration.json" in before and "sessions-0.json" in before
    assert not (out / "design.csv").exists()
    subprocess.run(cli(out), env=env, check=True, capture_output=True)
    after = kept(out)
    assert all(after[name] == stamp for name, stamp in before.items()), "a kept file was redone"
    assert len(after) > len(before)
    for name in ("design.csv", "protocol.md", "design.nc"):
        assert (out / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


def _sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", ["negative-decay", "overflowed-activity"])
def test_refused_files_are_left_byte_identical(tmp_path, case):
    """A file refused for its physics is read, never touched: same bytes after."""
    from plastix._util.errors import SchemaError
    from plastix.estimate import estimate_alignment
    from plastix.record import make_record

    rng = np.random.default_rng(0)
    rec = make_record(rng.random((200, 5)), rng.random((200, 3)), rng.random((11, 3, 5)),
                      time=np.arange(200) * 0.01, weight_time=np.arange(11) * 0.2, dt=0.01,
                      decay=1.0)
    if case == "negative-decay":
        rec["decay"] = ((), -2.0, {"units": "1/s"})
    else:
        a = rec["pre_activity"].values.copy()
        a.reshape(-1)[:512] = 1e306
        rec["pre_activity"] = (("time", "pre"), a, dict(rec["pre_activity"].attrs))
    path = tmp_path / "rec.nc"
    rec.to_netcdf(path, engine="h5netcdf")
    before = _sha256(path)
    for streaming in (False, True):
        with pytest.raises(SchemaError), np.errstate(over="ignore", invalid="ignore"):
            estimate_alignment(path, n_boot=5, n_null=0, streaming=streaming)
    assert _sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]


def test_resume_folder_removes_stale_temporary_files(tmp_path):
    """A temporary file a killed writer left (older than 5 minutes) goes; a fresh one stays."""
    import os
    import time

    from plastix._util.io import temp_prefix
    from plastix.design.resume import resume_folder

    folder = resume_folder(tmp_path, {"a": 1})
    stale, fresh = (folder / (temp_prefix(folder / f"{n}.alignment") + "abcd_123.alignment")
                    for n in ("x", "y"))  # named as atomic_write names its temporary files
    stale.write_text("0x1p+0\n")
    fresh.write_text("0x1p+0\n")
    old = time.time() - 600
    os.utime(stale, (old, old))
    assert resume_folder(tmp_path, {"a": 1}) == folder
    assert not stale.exists() and fresh.exists()
    assert resume_folder(tmp_path, {"a": 2}) != folder


def test_atomic_write_removes_temp_files_a_killed_write_left(tmp_path):
    """A temporary file of the same target older than STALE_TEMP_S is removed by the next
    write; a fresh one (a write in progress elsewhere) and other files are kept."""
    import os
    import time

    from plastix._util.io import STALE_TEMP_S, atomic_write

    target = tmp_path / "r.nc"
    old = tmp_path / ".r.nc.abc123.nc"
    fresh = tmp_path / ".r.nc.def456.nc"
    other = tmp_path / ".s.nc.abc123.nc"
    for f in (old, fresh, other):
        f.write_bytes(b"partial")
    past = time.time() - 2 * STALE_TEMP_S
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    atomic_write(target, lambda p: p.write_bytes(b"done"))
    assert target.read_bytes() == b"done"
    assert not old.exists() and fresh.exists() and other.exists()


def test_sigint_deferred_holds_ctrl_c_until_the_block_ends():
    """A SIGINT inside the block does not interrupt it; KeyboardInterrupt comes at its end,
    and the previous handler is back afterwards."""
    import os
    import signal

    from plastix._util.signals import sigint_deferred

    before = signal.getsignal(signal.SIGINT)
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append(True)
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is before
    with sigint_deferred():  # no signal: no exception
        pass


def test_a_failed_write_leaves_no_folder_it_made(tmp_path):
    """The folders atomic_write made for a write that fails are removed; folders that
    existed, or hold something else, stay."""
    from plastix._util.io import atomic_write

    def fail(_path):
        raise ValueError("cannot encode")

    with pytest.raises(ValueError):
        atomic_write(tmp_path / "new" / "deeper" / "r.nc", fail)
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "other.txt").write_text("x")
    with pytest.raises(ValueError):
        atomic_write(tmp_path / "kept" / "sub" / "r.nc", fail)
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["other.txt"]


def test_result_files_are_the_named_result_and_its_siblings(tmp_path):
    """`res`, `res.nc` and `res.json` name res.nc + res.json; a name with another dot
    (`run.v1`) keeps it: no file but the named result's is written."""
    from plastix._util.io import result_files

    for name in ("res", "res.nc", "res.json"):
        assert result_files(tmp_path / name) == [tmp_path / "res.nc", tmp_path / "res.json"]
    assert result_files(tmp_path / "run.v1") == [tmp_path / "run.v1.nc", tmp_path / "run.v1.json"]
    assert result_files(tmp_path / "r.png", (".png",)) == [tmp_path / "r.png"]


_TERMINATED_MID_WRITE = """
import os, signal, sys
import xarray as xr
real = xr.Dataset.to_netcdf
def to_netcdf(self, *args, **kwargs):  # the temporary file is written: now SIGTERM
    out = real(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
    return out
xr.Dataset.to_netcdf = to_netcdf
from plastix.cli import console
sys.exit(console(sys.argv[1:]))
"""


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    """`kill`, `timeout` and batch schedulers send SIGTERM: like Ctrl-C, the write in
    progress removes its temporary file (it was left, hidden, beside the output), nothing
    is written under the output's name, and the command says so and exits 143."""
    import subprocess
    import sys

    from plastix.io import save_record

    rec = save_record(simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=3),
                      tmp_path / "rec.nc")
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run([sys.executable, "-c", _TERMINATED_MID_WRITE, "estimate", str(rec),
                          "--decay", "1", "--n-boot", "50", "--n-null", "0",
                          "--out", str(out / "est")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 143, run.stderr
    assert run.stderr.strip().endswith("plastix estimate: terminated.")
    assert sorted(p.name for p in out.iterdir()) == []
