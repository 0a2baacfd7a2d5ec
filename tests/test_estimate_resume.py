"""``estimate`` saves its null replicates as it goes and resumes to identical results
(probe 5, finding 6).

With ``HebbianEstimator(resume_dir=...)`` the null replicates are saved in blocks with the
random generator's state after each; a rerun reads them back and computes only the rest,
and the whole result is then the uninterrupted fit's, bit for bit.  The CLI keeps them in
``.RESULT.resume/`` beside the result until the result is written.  Blocks are made one
replicate long here (``CHECKPOINT_EVERY_S = 0``) so that an interruption after ``k``
replicates leaves ``k`` blocks.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_estimate_null import _record as _spike_record
from test_null_measured_pairs import _record as _rate_record

import plastix.estimate._resume as resume_mod
import plastix.estimate.estimator as estimator_mod
from plastix.cli import main
from plastix.estimate import HebbianEstimator
from plastix.estimate._resume import record_identity
from plastix.estimate._spikes import ShiftNull
from plastix.io.netcdf import to_netcdf

N_NULL = 8
_REAL_STATS = estimator_mod.interval_stats
_REAL_DRAW = ShiftNull.draw


class Stop(Exception):
    """The simulated kill."""


@pytest.fixture(autouse=True)
def _one_replicate_blocks(monkeypatch):
    monkeypatch.setattr(resume_mod, "CHECKPOINT_EVERY_S", 0.0)


@pytest.fixture(scope="module")
def rate_rec():
    return _rate_record(n_bins=600)


def _bits(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every data variable and coordinate of two results identical bit for bit, and the
    attributes equal."""
    assert sorted(a.variables) == sorted(b.variables)
    for name in a.variables:
        x, y = np.asarray(a[name].values), np.asarray(b[name].values)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        if x.dtype.kind in "OU":
            assert x.tolist() == y.tolist(), name
        else:
            assert x.tobytes() == y.tobytes(), name
    assert json.dumps(a.attrs, default=str, sort_keys=True) == json.dumps(
        b.attrs, default=str, sort_keys=True)


def _count_null_passes(monkeypatch, *, stop_after: int | None = None,
                       raise_: type[BaseException] = Stop) -> list[int]:
    """Count the rate kernels' null passes (``interval_stats`` with shifts), and raise
    ``raise_`` in the pass after ``stop_after`` of them."""
    calls = [0]
    real = _REAL_STATS

    def counted(*args, **kw):
        if kw.get("shifts") is not None:
            if stop_after is not None and calls[0] >= stop_after:
                raise raise_("killed")
            calls[0] += 1
        return real(*args, **kw)

    monkeypatch.setattr(estimator_mod, "interval_stats", counted)
    return calls


def _count_spike_draws(monkeypatch, *, stop_after: int | None = None) -> list[int]:
    """Count the spike null's shifted passes (``ShiftNull.draw``), raising after some."""
    calls = [0]
    real = _REAL_DRAW

    def counted(self, rng):
        if stop_after is not None and calls[0] >= stop_after:
            raise Stop("killed")
        calls[0] += 1
        return real(self, rng)

    monkeypatch.setattr(ShiftNull, "draw", counted)
    return calls


def _rate_fit(rec, **kw):
    return HebbianEstimator(decay=0.0, n_boot=60, n_null=N_NULL, rng=3, progress=False,
                            **kw).fit(rec)


def _spike_fit(rec, null, **kw):
    return HebbianEstimator(kernel="stdp", stdp_tau=0.05, decay=0.0, n_boot=60, n_null=30,
                            null=null, rng=5, progress=False, **kw).fit(rec)


def _blocks(root: Path) -> list[Path]:
    return sorted(root.glob("estimate-null-*/null-*.json"))


def test_rate_kernel_resumes_to_the_uninterrupted_result(rate_rec, tmp_path, monkeypatch):
    plain = _rate_fit(rate_rec)
    _count_null_passes(monkeypatch, stop_after=3)
    with pytest.raises(Stop):
        _rate_fit(rate_rec, resume_dir=tmp_path)
    assert len(_blocks(tmp_path)) == 3
    calls = _count_null_passes(monkeypatch)
    resumed = _rate_fit(rate_rec, resume_dir=tmp_path)
    assert calls[0] == N_NULL - 3  # only the replicates not saved
    _bits(resumed.result_, plain.result_)
    assert resumed.p_value_ == plain.p_value_
    again = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rate_rec, resume_dir=tmp_path).result_, plain.result_)
    assert again[0] == 0  # all saved: no null pass at all


@pytest.mark.parametrize("null", ["shift", "pooled-shift"])
def test_spike_kernel_resumes_to_the_uninterrupted_result(null, tmp_path, monkeypatch,
                                                          capsys):
    rec = _spike_record(0)
    plain = _spike_fit(rec, null)
    passes = plain.null_passes_
    assert passes == (30 if null == "shift" else 4)
    _count_spike_draws(monkeypatch, stop_after=2)
    with pytest.raises(Stop):
        _spike_fit(rec, null, resume_dir=tmp_path)
    assert len(_blocks(tmp_path)) == 2
    calls = _count_spike_draws(monkeypatch)
    resumed = _spike_fit(rec, null, resume_dir=tmp_path)
    assert calls[0] == passes - 2
    assert resumed.null_passes_ == passes
    _bits(resumed.result_, plain.result_)
    # the line a shown progress adds names what was saved: replicates, or pooled passes
    capsys.readouterr()
    HebbianEstimator(kernel="stdp", stdp_tau=0.05, decay=0.0, n_boot=60, n_null=30,
                     null=null, rng=5, progress=True, resume_dir=tmp_path).fit(rec)
    what = "null replicates" if null == "shift" else "shifted null passes"
    assert f"resumed {passes} of {passes} {what} from" in capsys.readouterr().err


def test_a_damaged_block_is_computed_again(rate_rec, tmp_path, monkeypatch):
    plain = _rate_fit(rate_rec)
    _count_null_passes(monkeypatch, stop_after=5)
    with pytest.raises(Stop):
        _rate_fit(rate_rec, resume_dir=tmp_path)
    blocks = _blocks(tmp_path)
    assert len(blocks) == 5
    blocks[3].write_text("{not json")  # unreadable: blocks 3 and after are made again
    calls = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rate_rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL - 3
    # a block of the wrong length (more replicates than the fit has) is made again too
    first = json.loads(blocks[0].read_text())
    first["values"] = first["values"] * (N_NULL + 1)
    blocks[0].write_text(json.dumps(first))
    calls = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rate_rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL
    # a state the generator refuses, likewise
    second = json.loads(blocks[1].read_text())
    second["state"] = {"bit_generator": "MT19937"}
    blocks[1].write_text(json.dumps(second))
    calls = _count_null_passes(monkeypatch)
    _bits(_rate_fit(rate_rec, resume_dir=tmp_path).result_, plain.result_)
    assert calls[0] == N_NULL - 1


def test_another_setting_seed_or_record_does_not_reuse(rate_rec, tmp_path, monkeypatch):
    _rate_fit(rate_rec, resume_dir=tmp_path)
    other = rate_rec.copy(deep=True)
    w = other["weight"].values
    w[2, 5, np.flatnonzero(np.isfinite(w[2, 5]))[0]] += 1e-9  # one weight, barely
    for kw, rec in (({"decay": 0.01}, rate_rec), ({"rng": 4}, rate_rec),
                    ({"kernel": "covariance"}, rate_rec), ({}, other)):
        calls = _count_null_passes(monkeypatch)
        fit = HebbianEstimator(**{**dict(decay=0.0, n_boot=60, n_null=N_NULL, rng=3,
                                         progress=False, resume_dir=tmp_path), **kw}).fit(rec)
        assert calls[0] == N_NULL, kw
        assert fit.null_.shape == (N_NULL,)
    assert len(list(tmp_path.glob("estimate-null-*"))) == 5
    # n_boot and alpha do not decide the replicates: they are reused
    calls = _count_null_passes(monkeypatch)
    _rate_fit(rate_rec, resume_dir=tmp_path, alpha=0.1)
    assert calls[0] == 0


def test_record_identity_names_a_streamed_file_without_reading_its_activity(tmp_path,
                                                                           monkeypatch):
    rec = _rate_record(n_bins=300)
    path = to_netcdf(rec, tmp_path / "r.nc")
    with xr.open_dataset(path) as lazy:
        assert not lazy["pre_activity"].variable._in_memory
        monkeypatch.setattr(resume_mod, "digest", _refusing_activity(resume_mod.digest))
        first = record_identity(lazy)
    assert first["file"]["path"] == str(path.resolve())
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed
    with xr.open_dataset(path) as lazy:
        assert record_identity(lazy) != first
    monkeypatch.undo()
    assert "file" not in record_identity(rec)  # in memory: its values are hashed


def _refusing_activity(real):
    def hashed(*parts):
        arrays = [p for p in parts if isinstance(p, dict)
                  for k, v in p.items() if k in ("pre_activity", "post_activity")
                  and not isinstance(v, str)]
        assert not arrays, "the activity was read"
        return real(*parts)
    return hashed


def test_resume_dir_is_a_parameter(tmp_path):
    est = HebbianEstimator(n_null=5, resume_dir=tmp_path / "r")
    assert est.get_params()["resume_dir"] == tmp_path / "r"
    assert "resume_dir=" in repr(est)
    clone = HebbianEstimator(**est.get_params())
    assert clone.get_params() == est.get_params()
    assert est.set_params(resume_dir=None).resume_dir is None
    assert "resume_dir" not in repr(est)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"`resume_dir` must be a folder; .* existing file"):
        HebbianEstimator(resume_dir=tmp_path / "f").fit(_rate_record(n_bins=300))
    with pytest.raises(TypeError, match=r"`resume_dir` must be None or a folder path"):
        HebbianEstimator(resume_dir=3).fit(_rate_record(n_bins=300))


# ------------------------------------------------------------------ the CLI

FAST = ["--decay", "0", "--n-boot", "60", "--n-null", str(N_NULL), "--rng", "3"]


@pytest.fixture(scope="module")
def rate_nc(tmp_path_factory):
    return to_netcdf(_rate_record(n_bins=600), tmp_path_factory.mktemp("in") / "rec.nc")


def test_cli_keeps_the_replicates_on_interrupt_and_resumes(rate_nc, tmp_path, monkeypatch,
                                                          capsys):
    plain = tmp_path / "plain"
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(plain)]) == 0
    assert not (tmp_path / ".plain.resume").exists()  # removed once the result is written
    out = tmp_path / "res"
    _count_null_passes(monkeypatch, stop_after=3, raise_=KeyboardInterrupt)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    folder = tmp_path / ".res.resume"
    assert err == [f"plastix estimate: interrupted; the null replicates finished so far are kept "
                   f"in {str(folder)!r}: rerun the same command (same --rng) to resume."]
    assert len(_blocks(folder)) == 3 and not (tmp_path / "res.nc").exists()
    calls = _count_null_passes(monkeypatch)
    assert main(["estimate", str(rate_nc), *FAST, "--out", str(out)]) == 0
    assert calls[0] == N_NULL - 3
    assert not folder.exists()
    with xr.open_dataset(tmp_path / "res.nc") as a, xr.open_dataset(tmp_path / "plain.nc") as b:
        _bits(a.load(), b.load())


def test_cli_folder_target_and_no_out(rate_nc, tmp_path, monkeypatch, capsys):
    _count_null_passes(monkeypatch, stop_after=2, raise_=KeyboardInterrupt)
    out = tmp_path / "results"
    assert main(["estimate", str(rate_nc), *FAST, "--out", f"{out}/"]) == 130
    folder = out / ".rec_estimate.resume"
    assert len(_blocks(folder)) == 2
    monkeypatch.undo()
    assert main(["estimate", str(rate_nc), *FAST, "--out", f"{out}/"]) == 0
    assert not folder.exists() and (out / "rec_estimate.nc").exists()
    # without --out nothing is saved (the interrupt is the plain one)
    monkeypatch.chdir(tmp_path)
    _count_null_passes(monkeypatch, stop_after=2, raise_=KeyboardInterrupt)
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), *FAST]) == 130
    assert capsys.readouterr().err.strip() == "plastix estimate: interrupted."
    assert not list(tmp_path.rglob("*.resume")) and not list(
        rate_nc.parent.rglob("*.resume"))


def test_batch_resumes_each_file_from_its_own_folder(rate_nc, tmp_path, monkeypatch, capsys):
    second = tmp_path / "two.nc"
    second.write_bytes(rate_nc.read_bytes())
    out = tmp_path / "batch"
    # the first file's fit finishes (8 null passes), the second's stops after 2
    _count_null_passes(monkeypatch, stop_after=N_NULL + 2, raise_=KeyboardInterrupt)
    capsys.readouterr()
    code = main(["estimate", str(rate_nc), str(second), *FAST, "--out", f"{out}/"])
    err = capsys.readouterr().err
    assert code == 130
    assert not (out / ".rec_estimate.resume").exists() and (out / "rec_estimate.nc").exists()
    assert len(_blocks(out / ".two_estimate.resume")) == 2
    assert str(out / ".two_estimate.resume") in err and "interrupted" in err
    calls = _count_null_passes(monkeypatch)
    assert main(["estimate", str(rate_nc), str(second), *FAST, "--out", f"{out}/"]) == 0
    assert calls[0] == N_NULL - 2  # the first file is loaded, the second resumed
    assert not (out / ".two_estimate.resume").exists()
    with xr.open_dataset(out / "rec_estimate.nc") as a, \
            xr.open_dataset(out / "two_estimate.nc") as b:
        for name in ("alignment", "alignment_ci", "p_value", "null_alignment"):
            assert a[name].values.tobytes() == b[name].values.tobytes()


def test_cli_weights_from_spikes_passes_its_resume_folder(tmp_path, monkeypatch, capsys):
    """`--weights-from spikes` gives the same hidden folder to estimate_from_spikes (its
    inference and its estimator keep their work there)."""
    import plastix.estimate as estimate_pkg
    from plastix.estimate.synthetic import simulate_spike_record
    from plastix.io import save_record

    path = tmp_path / "sp.nc"
    save_record(simulate_spike_record(6, 1, duration=20.0, rng=1), path)
    seen = {}

    def fake(rec, **kw):
        seen.update(kw)
        keyed = Path(kw["resume_dir"]) / "estimate-null-0123456789abcdef"
        keyed.mkdir(parents=True)  # some work saved, then Ctrl-C
        (keyed / "null-000000.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(estimate_pkg, "estimate_from_spikes", fake)
    capsys.readouterr()
    assert main(["estimate", str(path), "--weights-from", "spikes", "--decay", "0",
                 "--out", str(tmp_path / "res")]) == 130
    folder = tmp_path / ".res.resume"
    assert seen["resume_dir"] == folder
    assert capsys.readouterr().err.strip() == (
        "plastix estimate: interrupted; the inferred chunks and null replicates finished so "
        f"far are kept in {str(folder)!r}: rerun the same command (same --rng) to resume.")


def test_batch_progress_counts_files_not_each_fits_passes(rate_nc, tmp_path, monkeypatch,
                                                           capsys):
    """Off a terminal a batch prints plain lines about its files; the fits inside it (on
    Dask workers, or one after another) print none of their own, which would mix."""
    import plastix._util.progress as progress_mod

    monkeypatch.setattr(progress_mod, "PROGRESS_EVERY_S", 0.0)
    second = tmp_path / "two.nc"
    second.write_bytes(rate_nc.read_bytes())
    capsys.readouterr()
    assert main(["estimate", str(rate_nc), str(second), *FAST, "--out",
                 f"{tmp_path / 'b'}/"]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if "% (" in x]
    assert lines and all(" files), " in x for x in lines), lines


def test_an_unseeded_fit_with_a_resume_dir_warns_where_it_is_called(rate_rec, tmp_path):
    from plastix.estimate._resume import UnseededResumeWarning

    with pytest.warns(UnseededResumeWarning, match=r"`rng` is None: .*pass an int seed") as got:
        HebbianEstimator(decay=0.0, n_boot=20, n_null=2, progress=False,
                         resume_dir=tmp_path).fit(rate_rec)
    assert [Path(w.filename).name for w in got] == [Path(__file__).name]
    with warnings.catch_warnings():  # seeded, or nothing to resume: quiet
        warnings.simplefilter("error", UnseededResumeWarning)
        _rate_fit(rate_rec, resume_dir=tmp_path)
        HebbianEstimator(decay=0.0, n_boot=20, n_null=0, progress=False,
                         resume_dir=tmp_path).fit(rate_rec)
