"""Outputs never cost data: no command replaces a file the user did not name, an odd
``--out`` is refused, a killed write's temporary file is cleaned up, and a full disk
gives one line (probe 5, findings 3, 4, 5 and 10)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from plastix.cli import main


def _one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("slash", ["/", ""])
def test_infer_weights_into_a_folder_never_replaces_a_file_not_named(tmp_path, capsys, slash):
    """`infer-weights IN --out DIR/` (or an existing DIR) writes DIR/IN_weights.nc, a name
    the user did not give: an existing file there is refused before any work, as
    `estimate --out DIR/` does; it used to be replaced silently."""
    src = tmp_path / "in.nwb"
    src.write_bytes(b"not read: the output is refused first")
    folder = tmp_path / "res"
    folder.mkdir()
    notes = folder / "in_weights.nc"
    notes.write_text("my notes\n")
    assert main(["infer-weights", str(src), "--out", str(folder) + slash]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "in_weights.nc" in line and "exists and would be replaced" in line
    assert "--overwrite" in line and "another output location" in line
    assert notes.read_text() == "my notes\n"


@pytest.mark.skipif(os.name != "posix", reason="a pid is judged dead with os.kill(pid, 0)")
def test_a_temp_file_of_a_dead_writer_is_removed_by_the_next_write_whatever_its_age(tmp_path):
    """A kill -9 during a write leaves `.NAME.PID-HOST-XXXXXXXX.SUFFIX`: the next write of
    that target removes it at once when that pid is dead on this host (it used to stay for
    STALE_TEMP_S, ~1 GB a kill for a large output). A live writer's temp, another host's
    fresh one and a file of another pattern are kept."""
    from plastix._util.io import _host_tag, atomic_write, temp_prefix

    target = tmp_path / "r.nc"
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f"{temp_prefix(target, ended.pid)}abcd1234.nc"
        live = tmp_path / f"{temp_prefix(target, sleeper.pid)}abcd1234.nc"
        other_tag = "00000000" if _host_tag() != "00000000" else "11111111"
        elsewhere = tmp_path / f".r.nc.{ended.pid}-{other_tag}-abcd1234.nc"
        mine = tmp_path / f".r.nc.{ended.pid}-notes.nc"  # not the temp pattern, and fresh
        for f in (dead, live, elsewhere, mine):
            f.write_bytes(b"partial")
        atomic_write(target, lambda p: p.write_bytes(b"done"))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert target.read_bytes() == b"done"
    assert not dead.exists(), "a dead writer's temp file was kept"
    assert live.exists() and elsewhere.exists() and mine.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (target, live, elsewhere, mine))  # this write's temp is gone too


def test_a_temp_file_name_carries_the_writer_pid(tmp_path):
    """What the write sees as its temporary path starts with `.NAME.PID-HOST-`."""
    from plastix._util.io import atomic_write, temp_prefix

    seen = []
    atomic_write(tmp_path / "r.nc", lambda p: (seen.append(p.name), p.write_bytes(b"x")))
    assert seen[0].startswith(temp_prefix(tmp_path / "r.nc")) and seen[0].endswith(".nc")
    assert f".{os.getpid()}-" in seen[0]


# every command that takes --out, with the fewest arguments that reach its output checks
# (the input is junk: it is never read when --out is refused first)
_FILE_OR_FOLDER = [("estimate", ["IN"]), ("estimate", ["IN", "IN2"]),
                   ("infer-weights", ["IN"]), ("simulate", ["rate"])]
_FOLDER = [("design", []), ("demo", []), ("reproduce", ["fig3"])]


def _argv(tmp_path, command, args, out):
    for name in ("IN", "IN2"):
        (tmp_path / f"{name}.nwb").write_bytes(b"junk, never read")
    return [command, *[str(tmp_path / f"{a}.nwb") if a.startswith("IN") else a
                       for a in args], "--out", out]


@pytest.mark.parametrize(("command", "args"), _FILE_OR_FOLDER)
def test_an_empty_out_is_refused_not_read_as_the_working_folder(tmp_path, monkeypatch, capsys,
                                                              command, args):
    """`--out ''` (an unset shell variable) used to write into the working folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(_argv(tmp_path, command, args, "")) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--out is empty" in line and "--out results/" in line
    assert not list(work.iterdir())


@pytest.mark.parametrize(("command", "args"), _FOLDER)
def test_an_empty_out_folder_is_refused_by_the_parser(tmp_path, monkeypatch, capsys,
                                                     command, args):
    """A folder --out is parsed as a path, where '' became '.': now refused as it is read."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(_argv(tmp_path, command, args, ""))
    assert stop.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert "argument --out: it is empty" in line and "--out results/" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a fifo")
@pytest.mark.parametrize(("command", "args"), _FILE_OR_FOLDER + _FOLDER)
def test_an_out_that_is_a_device_or_fifo_is_refused(tmp_path, capsys, command, args):
    """`--out /dev/null` created /dev/null.nc and /dev/null.json (as root); a fifo or device
    named by --out is neither written nor written beside."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(_argv(tmp_path, command, args, str(fifo))) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{str(fifo)!r} is a fifo (named pipe), not a file or a folder" in line, line
    assert "--out results/" in line
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".nwb") == [
        n for n in before if not n.endswith(".nwb")]
    assert fifo.exists() and not fifo.is_file()


def test_out_dev_null_is_refused(capsys):
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    assert main(["simulate", "rate", "--out", "/dev/null"]) == 2
    assert "'/dev/null' is a character device" in _one_line(capsys.readouterr().err)
    assert not Path("/dev/null.nc").exists() and Path("/dev/null").is_char_device()


@pytest.fixture(scope="module")
def spikes(tmp_path_factory):
    """A small record of spike trains (infer-weights reads it in well under a second)."""
    from plastix.estimate.synthetic import simulate_spike_record
    from plastix.io import save_record

    path = tmp_path_factory.mktemp("spikes") / "sp.nc"
    save_record(simulate_spike_record(10, 1, duration=60.0, rng=1), path)
    return path


def _no_space(fd, data):
    """os.write that fills the disk half way through."""
    os.write(fd, memoryview(data).cast("B")[:len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("how", ["does not fit", "fills up"])
def test_a_full_disk_is_one_line_and_leaves_nothing_behind(spikes, tmp_path, monkeypatch,
                                                           capsys, how):
    """Disk full used to end in a segfault (exit 139) after many h5py tracebacks, leaving a
    temp file and the folder the command made. A file that does not fit the free space is
    refused before it is written; a write that fills the disk (os.write: ENOSPC) is one
    line too; either way no temp file and no folder the command made are left."""
    import plastix._util.io as uio

    if how == "does not fit":
        free = shutil.disk_usage(tmp_path).free
        monkeypatch.setattr(uio.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(
            free, free - 2000, 2000))
    else:
        monkeypatch.setattr(uio, "netcdf_size_bound", lambda ds: 1 << 60)  # written in memory
        monkeypatch.setattr(uio, "_write_all", _no_space)
    out = tmp_path / "new" / "deep"
    assert main(["infer-weights", str(spikes), "--out", f"{out}/"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"no space left on device writing {str(out / 'sp_weights.nc')!r} (needed " in line
    assert "free space or write elsewhere with --out" in line
    if how == "does not fit":
        assert "free 0.0 MB)" in line
    assert not (tmp_path / "new").exists(), "the folder the command made was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_record_written_in_memory_when_the_disk_is_short_reads_back_the_same(
        spikes, tmp_path, monkeypatch):
    """The memory route (taken when the free space is under the uncompressed size) writes
    the same record as the direct one."""
    import plastix._util.io as uio
    from plastix.io import load_record

    assert main(["infer-weights", str(spikes), "--out", str(tmp_path / "direct.nc")]) == 0
    monkeypatch.setattr(uio, "netcdf_size_bound", lambda ds: 1 << 60)
    assert main(["infer-weights", str(spikes), "--out", str(tmp_path / "memory.nc")]) == 0
    direct, memory = load_record(tmp_path / "direct.nc"), load_record(tmp_path / "memory.nc")
    xr.testing.assert_identical(direct, memory)


def test_the_netcdf_size_bound_is_an_upper_bound(tmp_path):
    """Incompressible values, string ids and attributes: the file stays under the bound."""
    import numpy as np

    from plastix._util.io import netcdf_size_bound, write_netcdf_file

    rng = np.random.default_rng(0)
    ds = xr.Dataset({"w": (("t", "u"), rng.random((300, 200)))},
                    coords={"u": [f"unit-{i}-é" for i in range(200)]},
                    attrs={"provenance": "x" * 5000})
    ds["w"].encoding = {"zlib": True, "complevel": 1, "shuffle": True}
    write_netcdf_file(ds, tmp_path / "a.nc")
    assert (tmp_path / "a.nc").stat().st_size < netcdf_size_bound(ds)


def test_a_full_disk_while_saving_a_pairing_estimate_is_one_line(tmp_path, monkeypatch, capsys):
    """`estimate TABLE --out DIR/` writes its NetCDF the same way as a record."""
    import plastix._util.io as uio
    from plastix.estimate.pairing_sim import simulate_pairing_table

    table = tmp_path / "pairs.csv"
    simulate_pairing_table("stdp", rng=4).to_csv(table, index=False)
    monkeypatch.setattr(uio, "netcdf_size_bound", lambda ds: 1 << 60)
    monkeypatch.setattr(uio, "_write_all", _no_space)
    out = tmp_path / "res"
    assert main(["estimate", str(table), "--n-boot", "40", "--n-null", "20", "--out",
                 f"{out}/"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"no space left on device writing {str(out / 'pairs_estimate.nc')!r}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.csv"]


def test_a_full_disk_while_saving_a_record_estimate_is_one_line(tmp_path, monkeypatch, capsys):
    """`estimate RECORD --out DIR/` (HebbianEstimator.save_result) writes its NetCDF through
    write_netcdf_file too: one line, exit 2, no temporary file or folder left."""
    import plastix._util.io as uio
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
    from plastix.io import save_record

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", n_pre=4, n_post=2, n_intervals=12),
                             rng=1, known_decay=True)
    path = save_record(rec, tmp_path / "rec.nc")
    monkeypatch.setattr(uio, "netcdf_size_bound", lambda ds: 1 << 60)
    monkeypatch.setattr(uio, "_write_all", _no_space)
    out = tmp_path / "res"
    assert main(["estimate", str(path), "--n-boot", "40", "--n-null", "19", "--out",
                 f"{out}/"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"no space left on device writing {str(out / 'rec_estimate.nc')!r}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]


def test_a_full_disk_during_an_ann_sweep_leaves_only_the_finished_runs(tmp_path, monkeypatch):
    """The ANN sweep (and the experiments' and design's NetCDF files) write through
    write_netcdf_file: a full disk is the OSError that names the file, no temporary
    file is left beside the runs."""
    pytest.importorskip("torch")
    import plastix._util.io as uio
    from plastix.ann import TrainConfig, sweep

    monkeypatch.setattr(uio, "netcdf_size_bound", lambda ds: 1 << 60)
    monkeypatch.setattr(uio, "_write_all", _no_space)
    cfg = TrainConfig(hidden=(6,), n_train=64, n_val=16, batch_size=16, epochs=1)
    with pytest.raises(OSError, match=r"no space left on device writing '.*run-.*\.nc'"):
        sweep(cfg, {"weight_decay": [0.0]}, out=tmp_path / "s", n_seeds=1, rng=0,
              progress=False)
    assert not [p.name for p in (tmp_path / "s").rglob(".*") if p.name != ".index.lock"]
