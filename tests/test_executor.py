"""The executor seam on a real Dask LocalCluster of 2 worker processes: same bytes as the
serial run, a SIGKILLed worker costs only its task, a killed client resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("torch")
distributed = pytest.importorskip("distributed")

from plastix._util.executor import Task, run_tasks  # noqa: E402
from plastix.ann import TrainConfig, sweep  # noqa: E402
from plastix.ann import run as ann_run  # noqa: E402

CFG = TrainConfig(hidden=(12, 8), n_train=256, n_val=32, batch_size=32, epochs=2)
GRID = {"weight_decay": [0.0, 1e-2], "noise": [0.0, 1e-2]}
KW = dict(n_seeds=2, rng=4, progress=False, max_models=2)  # 8 runs in 4 tasks


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _tables(folder):
    """Every file a sweep wrote (name -> bytes), the lock file aside."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != ".index.lock"}


def test_two_workers_write_the_serial_bytes(client, tmp_path):
    serial = sweep(CFG, GRID, out=tmp_path / "serial", **KW)
    dask = sweep(CFG, GRID, out=tmp_path / "dask", client=client, **KW)
    xr.testing.assert_identical(dask, serial)
    a, b = _tables(tmp_path / "serial"), _tables(tmp_path / "dask")
    assert sorted(a) == sorted(b) and len([n for n in a if n.startswith("run-")]) == 8
    assert all(a[n] == b[n] for n in a), [n for n in a if a[n] != b[n]]


def test_a_worker_killed_mid_task_costs_only_that_task(client, tmp_path):
    """SIGKILL the worker running a task: the scheduler reruns the task elsewhere and the
    sweep ends identical to the serial one."""
    slow = CFG.replace(epochs=12)
    serial = sweep(slow, GRID, **KW)
    pids = client.run(os.getpid)
    killed: list[int] = []

    def killer():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            busy = [w for w, tasks in client.processing().items()
                    if any(str(k).startswith("plastix-sweep-") for k in tasks)]
            if busy and busy[0] in pids:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
                return
            time.sleep(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    result = sweep(slow, GRID, out=tmp_path, client=client, **KW)
    thread.join()
    assert killed, "no task was seen running"
    assert killed[0] not in client.run(os.getpid).values(), "the killed worker is still there"
    xr.testing.assert_identical(result, serial)
    assert len(json.loads((tmp_path / "index.json").read_text())["runs"]) == 8


_CLIENT = """
import sys
from distributed import Client
from plastix.ann import TrainConfig, sweep
cfg = TrainConfig.from_json(sys.argv[1])
with Client(sys.argv[2]) as c:
    sweep(cfg, {"weight_decay": [0.0, 1e-2], "noise": [0.0, 1e-2]}, n_seeds=2, rng=4,
          progress=False, max_models=1, out=sys.argv[3], client=c)
"""


def test_a_killed_client_resumes_with_finished_tasks_kept(client, tmp_path, monkeypatch):
    slow = CFG.replace(epochs=6)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", _CLIENT, slow.to_json(),
                             client.scheduler.address, str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    index = tmp_path / "index.json"
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 180 and proc.poll() is None:
            if index.exists() and json.loads(index.read_text())["runs"]:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, proc.communicate()[1][-2000:]
    kept = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("run-*.nc")}
    assert 1 <= len(kept) < 8
    submitted: list[Task] = []
    real = ann_run.run_tasks

    def recording(tasks, *args, **kw):
        submitted.extend(tasks)
        return real(tasks, *args, **kw)

    monkeypatch.setattr(ann_run, "run_tasks", recording)
    resumed = sweep(slow, GRID, out=tmp_path, client=client, **{**KW, "max_models": 1})
    assert len(submitted) == 8 - len(kept), "finished tasks were submitted again"
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("run-*.nc")
            if p.name in kept} == kept, "a finished result was rewritten"
    serial = sweep(slow, GRID, **{**KW, "max_models": 1})
    xr.testing.assert_identical(resumed, serial)


def test_in_process_threads_save_each_result_here():
    """The in-process backend calls on_result in the calling thread, once per task."""
    seen = []
    main = threading.get_ident()

    def save(task, result):
        seen.append((task.key, result, threading.get_ident() == main))

    tasks = [Task(f"k{i}", _square, (i,)) for i in range(5)]
    run_tasks(tasks, save, threads=2)
    assert sorted(seen) == [(f"k{i}", i * i, True) for i in range(5)]
    np.testing.assert_array_equal(sorted(r for _, r, _ in seen), [0, 1, 4, 9, 16])


def _square(x, *, tick=None):
    return x * x


def test_cli_workers_0_is_one_line(tmp_path, capsys):
    from plastix.cli import main

    assert main(["reproduce", "fig4", "--quick", "--workers", "0", "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["plastix reproduce: error: `--workers` must be an int >= 1 (worker processes "
                   "of a local Dask cluster); got 0. Omit it to run in this process."]


def _records(folder):
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
    from plastix.io import save_record

    folder.mkdir()
    return [str(save_record(simulate_synthetic(
        SyntheticConfig(rule=rule, n_pre=6, n_post=3, n_intervals=12, bins_per_interval=5),
        rng=np.random.default_rng(i), known_decay=True), folder / f"r{i}.nc"))
        for i, rule in enumerate(["hebbian", "anti_hebbian", "hebbian"])]


def test_estimate_batch_on_the_cluster_equals_each_file_alone(client, tmp_path, capsys):
    """`plastix estimate F1 F2 F3 --out DIR/`: per-file results byte-identical to estimating
    each file alone, the same bytes from 2 workers, one combined table; a rerun estimates
    nothing again."""
    from plastix.cli import main

    files = _records(tmp_path / "in")
    fast = ["--n-boot", "30", "--n-null", "19", "--rng", "3"]
    assert main(["estimate", *files, *fast, "--out", f"{tmp_path}/serial/"]) == 0
    assert main(["estimate", *files, *fast, "--scheduler", client.scheduler.address,
                 "--out", f"{tmp_path}/dask/"]) == 0
    assert main(["estimate", files[1], *fast, "--out", f"{tmp_path}/alone/"]) == 0
    a, b = _tables(tmp_path / "serial"), _tables(tmp_path / "dask")
    assert sorted(a) == sorted(b) and all(a[n] == b[n] for n in a), [n for n in a
                                                                     if a[n] != b[n]]
    alone = _tables(tmp_path / "alone")
    assert alone["r1_estimate.nc"] == a["r1_estimate.nc"]
    table = a["estimates.csv"].decode().splitlines()
    assert len(table) == 4 and table[0].startswith("file,alignment,alignment_low")
    capsys.readouterr()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "serial").glob("r*_estimate.*")}
    assert main(["estimate", *files, *fast, "--out", f"{tmp_path}/serial/"]) == 0
    assert "3 of 3 files already estimated" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns
            for p in (tmp_path / "serial").glob("r*_estimate.*")} == before


def test_a_batch_rerun_never_loads_results_of_other_options(tmp_path, capsys):
    """Results replaced by a run with another --rng (--overwrite) are that run's: a rerun
    with the first options estimates again instead of loading them as its own."""
    from plastix.cli import main

    files = _records(tmp_path / "in")[:2]
    out = f"{tmp_path}/out/"
    fast = ["--n-boot", "30", "--n-null", "19"]
    assert main(["estimate", *files, *fast, "--rng", "0", "--out", out]) == 0
    first = _tables(tmp_path / "out")
    assert main(["estimate", *files, *fast, "--rng", "5", "--overwrite", "--out", out]) == 0
    capsys.readouterr()
    assert main(["estimate", *files, *fast, "--rng", "0", "--overwrite", "--out", out]) == 0
    assert "already estimated" not in capsys.readouterr().out
    again = _tables(tmp_path / "out")
    assert again["r0_estimate.json"] == first["r0_estimate.json"]



def test_the_batch_table_keeps_earlier_results_and_is_written_after_ctrl_c(
        tmp_path, capsys, monkeypatch):
    """DIR/estimates.csv has a row per result in DIR: a rerun naming fewer files keeps the
    others' rows (this run's first); a run stopped by Ctrl-C writes the rows it has."""
    import pandas as pd

    from plastix.cli import _estimate_batch, main

    files = _records(tmp_path / "in")
    fast = ["--n-boot", "30", "--n-null", "19"]
    out = tmp_path / "out"
    assert main(["estimate", *files, *fast, "--out", f"{out}/"]) == 0
    full = pd.read_csv(out / "estimates.csv")
    assert main(["estimate", files[2], files[1], *fast, "--out", f"{out}/"]) == 0
    assert "(3 rows, 1 from earlier runs" in capsys.readouterr().out
    again = pd.read_csv(out / "estimates.csv")
    pd.testing.assert_frame_equal(again, full.iloc[[2, 1, 0]].reset_index(drop=True))

    real = _estimate_batch.estimate_task

    def interrupted(args, *, tick=None):
        if args.file.name == "r1.nc":
            raise KeyboardInterrupt
        return real(args, tick=tick)

    monkeypatch.setattr(_estimate_batch, "estimate_task", interrupted)
    stopped = tmp_path / "stopped"
    assert main(["estimate", *files, *fast, "--out", f"{stopped}/"]) == 130
    table = pd.read_csv(stopped / "estimates.csv")
    assert table["file"].tolist() == [files[0]]
    pd.testing.assert_frame_equal(table.drop(columns="file"),
                                  full.iloc[[0]].drop(columns="file"))

@pytest.mark.slow  # about 2 min on the loaded 2-core machine (three designs)
def test_design_sessions_on_the_cluster_equal_the_serial_design(client, tmp_path):
    """propose_experiments(client=): the same dataset; the sessions it measured are in the
    resume folder, and a serial rerun from that folder measures none again."""
    from plastix.design import CircuitSpec, propose_experiments

    kw = dict(circuit=CircuitSpec(n_pre=8, n_post=4, n_intervals=10), n_replicates=4,
              n_calibration=2, rng=21, progress=False)
    serial = propose_experiments(**kw)
    dask = propose_experiments(**kw, client=client, resume_dir=tmp_path)
    xr.testing.assert_identical(dask.dataset, serial.dataset)
    again = propose_experiments(**kw, resume_dir=tmp_path)
    xr.testing.assert_identical(again.dataset, serial.dataset)


def _circuit_sweep(**kw):
    """A 2 σ × 2 γ spiking-circuit sweep, one seed: 4 tasks."""
    pytest.importorskip("brian2")
    from plastix.circuits import SpikingCircuitConfig, sweep_spiking

    cfg = SpikingCircuitConfig(rule="error", eta=5.0, n_pre=6, n_post=2, duration=0.5,
                               weight_interval=0.125, record_synapses=None)
    return sweep_spiking(cfg, decay=[0.5, 3.0], noise=[0.0, 2.0], rng=3, progress=False,
                         **kw)


def _same_bytes(a, b):
    xr.testing.assert_identical(a, b)
    assert all(a[v].values.tobytes() == b[v].values.tobytes() for v in a.variables)


def _device_name(*, tick=None):
    import brian2

    return type(brian2.get_device()).__name__


@pytest.mark.slow  # 16 s; the same seam on the ANN sweep: test_two_workers_write_the_serial_bytes
def test_circuit_sweep_on_two_workers_is_the_serial_sweep(client):
    """sweep_spiking(client=) on the numpy target: the serial summary, to the byte."""
    serial = _circuit_sweep(target="numpy")
    dask = _circuit_sweep(target="numpy", client=client)
    _same_bytes(dask.summary, serial.summary)
    assert dask.timings["n_runs"] == 4 and dask.timings["n_builds"] == 0
    # the main-thread import plugin was the sweep's own: the cluster is left without it
    plugins = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    assert not [p for p in plugins if str(p).startswith("plastix-")], plugins


@pytest.mark.slow  # two cpp_standalone compilations (about 15 s each on an idle core)
def test_circuit_sweep_compiles_once_per_worker(client, tmp_path):
    """cpp_standalone on 2 workers: each worker that ran points compiled the circuit once,
    in its own folder, reran it with run_args, and the summary is the serial one."""
    import shutil

    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler")
    serial = _circuit_sweep(target="cpp_standalone")
    dask = _circuit_sweep(target="cpp_standalone", client=client, build_dir=tmp_path)
    _same_bytes(dask.summary, serial.summary)
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert 1 <= dask.timings["n_builds"] == len(folders) <= 2, (dask.timings, folders)
    assert all((f / "main").exists() for f in folders) and dask.timings["n_runs"] == 4
    assert set(client.run(_device_name).values()) == {"RuntimeDevice"}


def test_design_calibration_on_two_workers_is_the_serial_calibration(client):
    """calibrate(client=): every calibration session is a task on the cluster, and the
    calibrations are identical to the serial ones."""
    from plastix.design import CircuitSpec, calibrate, default_hypotheses
    from plastix.design.propose import DEFAULT_TARGET, estimator_measure

    hyps = [h for h in default_hypotheses() if h.rule == "error"]
    kw = dict(target=DEFAULT_TARGET, measure=estimator_measure(), n_sessions=2, n_grid=4,
              rng=5)
    spec = CircuitSpec(n_pre=8, n_post=4, n_intervals=10)
    serial = calibrate(hyps, spec, **kw)
    counting = _Counting(client)
    dask = calibrate(hyps, spec, **kw, client=counting)
    assert dask == serial and np.isfinite(serial[0].achieved)
    # the grid (4 learning rates x 2 sessions) and every refinement step went to the cluster
    assert len(counting.keys) >= 8 and len(counting.keys) % 2 == 0
    assert all(k.startswith("plastix-design-") for k in counting.keys)


class _Counting:
    """A Dask client that remembers the keys of the tasks submitted through it."""

    def __init__(self, client):
        self._client, self.keys = client, []

    def __getattr__(self, name):
        return getattr(self._client, name)

    def submit(self, *args, key=None, **kw):
        self.keys.append(key)
        return self._client.submit(*args, key=key, **kw)


def test_estimator_calibration_replicates_on_two_workers_are_the_serial_fits(client):
    """fit_replicates(client=): each replicate's fit, seeds fixed by its index, is the
    serial one to the byte (interval, p-value, bootstrap and null replicates)."""
    from functools import partial

    from plastix.estimate.synthetic import SyntheticConfig, fit_replicates, simulate_synthetic

    cfg = SyntheticConfig(rule="hebbian", n_pre=6, n_post=4, n_intervals=40,
                          bins_per_interval=10, lr=0.25, decay=4.0, noise=0.05)
    kw = dict(seed0=500, estimator=dict(decay=cfg.decay, n_boot=50, n_null=19))
    serial = fit_replicates(partial(simulate_synthetic, cfg), 4, **kw)
    dask = fit_replicates(partial(simulate_synthetic, cfg), 4, client=client, **kw)
    for a, b in zip(serial, dask, strict=True):
        assert (a.alignment_, a.p_value_, a.verdict_) == (b.alignment_, b.p_value_, b.verdict_)
        for name in ("ci_", "bootstrap_", "null_"):
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert len({e.alignment_ for e in serial}) == 4  # four different records


@pytest.mark.slow  # 16-26 s; workers = serial bytes: test_two_workers_write_the_serial_bytes
def test_table1_ablations_on_two_workers_write_the_serial_tables(client, tmp_path):
    """Each distinct training of the ablations is one task: the quick run on 2 workers
    writes the serial run's CSV and markdown byte for byte, and a rerun into the same
    folder trains nothing (every training was saved as it finished)."""
    from plastix.experiments import table1_ablations as A

    serial = A.run(tmp_path / "serial", quick=True, rng=5)
    dask = A.run(tmp_path / "dask", quick=True, rng=5, client=client)
    assert dask.read_bytes() == serial.read_bytes()
    assert ((tmp_path / "dask" / "table1_ablations.csv").read_bytes()
            == (tmp_path / "serial" / "table1_ablations.csv").read_bytes())
    saved = sorted(p.name for p in (tmp_path / "dask" / "runs").iterdir())
    assert saved == sorted(p.name for p in (tmp_path / "serial" / "runs").iterdir())
    assert len(saved) > 30  # one per distinct (rule, training options)


def test_a_damaged_file_stops_only_its_own_estimate(tmp_path, capsys):
    """A batch with a damaged file: the others are estimated and tabled, the damaged one is
    one line naming it, exit 1; a rerun after the file is mended estimates only it."""
    from plastix.cli import main

    files = _records(tmp_path / "in")
    good = open(files[1], "rb").read()
    with open(files[1], "wb") as fh:
        fh.write(good[: len(good) // 3])  # truncated
    fast = ["--n-boot", "30", "--n-null", "19", "--out", f"{tmp_path}/out/"]
    assert main(["estimate", *files, *fast]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert err[0].startswith(f"plastix estimate: error: {files[1]}: cannot read")
    assert "1 of 3 files could not be estimated" in err[-1]
    table = (tmp_path / "out" / "estimates.csv").read_text().splitlines()
    assert len(table) == 3 and files[1] not in "".join(table)
    with open(files[1], "wb") as fh:
        fh.write(good)
    assert main(["estimate", *files, *fast]) == 0
    assert "2 of 3 files already estimated" in capsys.readouterr().out



def _blas_threads_now(*, tick=None):
    from threadpoolctl import threadpool_info

    time.sleep(0.05)  # the two tasks overlap
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_tasks_run_with_one_blas_thread_and_the_callers_count_comes_back():
    """BLAS adds in an order that depends on its thread count, so every task runs with one
    BLAS thread (serial, in a pool of threads, nested), whatever the caller set; the
    caller's count is restored when the run ends."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from plastix._util.threads import one_blas_thread

    def counts():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        for threads in (1, 2):
            run_tasks([Task(f"t{i}", _blas_threads_now) for i in range(4)],
                      lambda task, got: seen.append(got), threads=threads)
            assert counts() == {2}
        with one_blas_thread():
            with one_blas_thread():
                assert counts() == {1}
            assert counts() == {1}
        assert counts() == {2}
    assert seen == [{1}] * 8
