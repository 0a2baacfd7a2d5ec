"""Benchmark: the executor seam, in this process vs a Dask LocalCluster of 1 and 2 workers.

Four workloads, each timed three ways in the same run (serial = ``client=None``,
``threads=1``; then a ``LocalCluster`` of 1 and of 2 worker processes, one thread each,
started and warmed up before the clock starts: plastix, torch and Brian2 imported and a
first small training batch run on every worker, as in this process for the serial run;
that start-up is timed and reported apart, ``startup_s``):

(a) the quick Fig. 4 grid (``plastix reproduce fig4 --quick``: 8 σ × 5 γ = 40 SRE runs,
    30 epochs, in tasks of 10 models) at ``--seeds`` seeds (default 2: 80 runs in 8
    tasks, so that the two workers' rounds balance);
(b) an estimate batch: ``--files`` synthetic recordings (``--pre`` pre × 10 post
    units, 200 intervals) with the CLI's defaults (1000 bootstrap, 199 null replicates),
    one task per file;
(c) a circuit sweep (``sweep_spiking``, ``cpp_standalone``), by default the one of
    ``plastix reproduce circuit-phase`` (200 Poisson inputs onto 20 LIF neurons, 30 s a
    point, 7 × 7 γ × σ grid, ``--circuit-seeds`` 3: 147 tasks, one a point;
    ``--circuit-size quick``: 100 → 10, 10 s; ``--circuit-grid N``: an N × N grid);
    each process compiles the circuit once, inside the clock (with 2 workers: two
    compilations side by side, where the serial run has one using both cores), and
    reruns it with ``run_args``; ``circuit_timings`` gives the compilations' seconds;
(d) ``--n-empty`` empty tasks, for the scheduler's overhead per task.

It checks that every backend gives identical results, and prints the speed-ups, the
overhead per task (empty tasks, and ``(T_1 worker − T_serial) / n_tasks`` on the real
workloads), and a scaling model ``T(W) = ceil(N / W) · t + N · o`` for the full Fig. 4
grid at 10 seeds and a 1000-session estimate batch on 10, 100 and 1000 workers, from
the measured per-task time ``t`` and overhead ``o``.

Usage::

    python benchmarks/dask_executor.py [--seeds 2] [--files 4] [--pre 50]
        [--circuit-size full] [--circuit-grid N] [--circuit-seeds 3] [--n-empty 200]
        [--quick]

``--quick`` (a check that it runs, not a measurement): 2 epochs, 1 seed, 2 files,
the quick circuit on a 3 × 3 grid at 1 seed, 20 empty tasks.

Writes ``benchmarks/results/dask.json``.  On a shared machine the timings are noisy and
speed-ups are depressed by whatever else runs; the ratios are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

# (not named dask.py: a script's folder is first on sys.path, so a dask.py here would
# hide the Dask package from every benchmark in this folder)
ROOT = Path(__file__).resolve().parent

FULL_STEPS = 50 * (20_000 // 256)  # a full Fig. 4 run: 50 epochs of 20 000 samples, batch 256
FULL_MODELS = 121 * 10  # 11 × 11 grid at 10 seeds


def _empty(i, *, tick=None):
    return i


def _warm(*, tick=None):
    """Imports and a first small training run: a process's first run pays a one-off
    start-up (measured: 10-22 s for a first batch that then takes 4-6 s)."""
    import brian2  # noqa: F401

    import plastix.cli.estimate  # noqa: F401
    import plastix.estimate.estimator  # noqa: F401
    from plastix.ann.run import _train_task
    from plastix.experiments import fig4

    cfg = fig4.config(quick=True).replace(epochs=1)
    _train_task([cfg, cfg.replace(noise=1e-3)], [1, 2], None, None, None)
    return os.getpid()


def _rss(*, tick=None):
    import psutil  # a dependency of distributed

    return psutil.Process().memory_info().rss


def fig4_quick(client, epochs=None, seeds=1):
    """The quick Fig. 4 sweep (as ``reproduce fig4 --quick``; ``epochs`` shortens it) at
    ``seeds`` seeds; returns (seconds, result, number of tasks)."""
    from plastix.ann import run as ann_run
    from plastix.ann import sweep
    from plastix.experiments import fig4

    cfg = fig4.config(quick=True)
    if epochs is not None:
        cfg = cfg.replace(epochs=epochs)
    noise, decay = fig4.grid(True)
    grid = {"noise": noise.tolist(), "weight_decay": decay.tolist()}
    n_cfg = len(noise) * len(decay)
    n_tasks = len(ann_run._plan_batches([cfg] * n_cfg, list(range(seeds)),
                                        [(c, s) for c in range(n_cfg) for s in range(seeds)],
                                        None, 10))
    t0 = time.perf_counter()
    res = sweep(cfg, grid, n_seeds=seeds, rng=0, progress=False, client=client)
    return time.perf_counter() - t0, res, n_tasks


def circuit_sweep(client, size, grid, seeds):
    """The circuit sweep (circuit-phase's circuit of that ``size``, its grid or an
    ``grid`` × ``grid`` one); returns (seconds, SweepResult)."""
    from plastix.circuits import sweep_spiking
    from plastix.experiments import circuit_phase

    quick = size == "quick"
    cfg = circuit_phase.config(quick=quick)
    sigmas, gammas = circuit_phase.grid(quick)
    if grid is not None:
        sigmas, gammas = np.linspace(0.0, sigmas[-1], grid), np.linspace(0.0, gammas[-1], grid)
    t0 = time.perf_counter()
    res = sweep_spiking(cfg, decay=gammas, noise=sigmas, n_seeds=seeds, rng=0, progress=False,
                        client=client)
    return time.perf_counter() - t0, res


def estimate_batch(client, files, out):
    """The estimate batch through the CLI's task (one per file); returns (seconds, rows)."""
    from plastix._util.executor import Task, run_tasks
    from plastix.cli import build_parser
    from plastix.cli._estimate_batch import estimate_task

    rows = {}
    tasks = []
    for f in files:
        args = build_parser().parse_args(["estimate", str(f), "--rng", "0"])
        args.file, args.func, args.kernel = Path(f), None, "product"
        tasks.append(Task(f"estimate-{Path(f).stem}", estimate_task, (args,)))
    t0 = time.perf_counter()
    run_tasks(tasks, lambda t, r: rows.__setitem__(t.key, float(r["result"]["alignment"])),
              client=client)
    return time.perf_counter() - t0, rows


def empty_tasks(client, n):
    from plastix._util.executor import Task, run_tasks

    t0 = time.perf_counter()
    run_tasks([Task(f"empty-{i}", _empty, (i,)) for i in range(n)], lambda t, r: None,
              client=client)
    return time.perf_counter() - t0


def make_records(folder: Path, n: int, n_pre: int) -> list[Path]:
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
    from plastix.io import save_record

    folder.mkdir(parents=True, exist_ok=True)
    cfg = SyntheticConfig(rule="hebbian", n_pre=n_pre, n_post=10, n_intervals=200,
                          bins_per_interval=10)
    return [save_record(simulate_synthetic(cfg, rng=np.random.default_rng(i),
                                           known_decay=True), folder / f"s{i}.nc")
            for i in range(n)]


def scaling(t_task: float, o: float, n_tasks: int) -> dict[str, float]:
    """``T(W) = ceil(N / W) · t + N · o`` (the scheduler hands out tasks one at a time)."""
    return {str(w): math.ceil(n_tasks / w) * t_task + n_tasks * o for w in (10, 100, 1000)}


def _one_backend(label, n, args, files, times, extra, refs, rep):
    """Time the workloads on one backend; keep the fastest of the repeats."""
    from distributed import Client, LocalCluster

    from plastix._util.executor import local_cluster_environ

    def keep(kind, t):
        times[kind][label] = min(t, times[kind].get(label, float("inf")))

    def same(kind, value, equal):
        refs.setdefault(kind, value)
        assert equal(value, refs[kind]), f"{kind} result differs with {label}"

    t0 = time.perf_counter()
    if n == 0:
        _warm()  # as on the workers, outside the clock
        client, cluster = None, None
    else:
        with local_cluster_environ():  # as `--workers N` starts them
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        client = Client(cluster)
        client.run(_warm)
    keep("startup", time.perf_counter() - t0)
    t, res, n_fig4 = fig4_quick(client, args.epochs, args.seeds)
    keep("fig4", t)
    if client is not None:
        extra["worker_rss_mib_after_fig4"][label] = max(client.run(_rss).values()) / 2**20
    same("fig4", res, lambda a, b: a.identical(b))
    t, rows = estimate_batch(client, files, None)
    keep("estimate", t)
    same("estimate", rows, lambda a, b: a == b)
    t, circ = circuit_sweep(client, args.circuit_size, args.circuit_grid, args.circuit_seeds)
    keep("circuit", t)
    extra["circuit_timings"][label] = circ.timings
    same("circuit", circ.summary, lambda a, b: a.identical(b))
    keep("empty", empty_tasks(client, args.n_empty))
    if client is not None:
        client.close()
        cluster.close()
    print(f"[{rep}] {label}: " + ", ".join(f"{k} {times[k][label]:.2f} s" for k in times)
          + " (fastest so far)", flush=True)
    return n_fig4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="seeds of the quick Fig. 4 grid")
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--pre", type=int, default=50)
    ap.add_argument("--circuit-size", choices=("full", "quick"), default="full")
    ap.add_argument("--circuit-grid", type=int, default=None,
                    help="an N x N grid instead of circuit-phase's (7 x 7 full, 5 x 5 quick)")
    ap.add_argument("--circuit-seeds", type=int, default=3)
    ap.add_argument("--n-empty", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=None,
                    help="train the quick grid this many epochs instead of 30 (shorter run)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="time every backend this many times, interleaved; keep the fastest")
    ap.add_argument("--quick", action="store_true",
                    help="a check that the benchmark runs (tiny workloads), not a measurement")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.seeds, args.files, args.n_empty = 2, 1, 2, 20
        args.circuit_size, args.circuit_grid, args.circuit_seeds = "quick", 3, 1
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="plastix-dask-bench-"))
    files = make_records(tmp / "in", args.files, args.pre)
    load = os.getloadavg()
    times: dict[str, dict[str, float]] = {k: {} for k in ("startup", "fig4", "estimate",
                                                          "circuit", "empty")}
    extra: dict[str, dict] = {"worker_rss_mib_after_fig4": {}, "circuit_timings": {}}
    refs: dict = {}
    for rep in range(args.repeats):
        for label, n in (("serial", 0), ("1 worker", 1), ("2 workers", 2)):
            n_fig4 = _one_backend(label, n, args, files, times, extra, refs, rep)
    f4, es, em, ci = times["fig4"], times["estimate"], times["empty"], times["circuit"]
    n_points = extra["circuit_timings"]["serial"]["n_runs"]
    o_empty = em["1 worker"] / args.n_empty
    o_fig4 = (f4["1 worker"] - f4["serial"]) / n_fig4
    o_est = (es["1 worker"] - es["serial"]) / args.files
    t_fig4_task = f4["serial"] / n_fig4
    quick_steps = (args.epochs or 30) * (4096 // 256)
    t_full_task = t_fig4_task * FULL_STEPS / quick_steps  # same architecture and batch
    t_est = es["serial"] / args.files
    o = max(o_empty, 0.0)
    ratio = {k: {"2 workers / serial": times[k]["serial"] / times[k]["2 workers"],
                 "2 workers / 1 worker": times[k]["1 worker"] / times[k]["2 workers"]}
             for k in ("fig4", "estimate", "circuit")}
    summary = {
        "command": "python benchmarks/dask_executor.py " + " ".join(sys.argv[1:]),
        "quick_check_only": bool(args.quick),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": load,
                    "loadavg_at_end": os.getloadavg(),
                    "python": platform.python_version()},
        "seconds": times, "fig4_tasks": n_fig4, "fig4_seeds": args.seeds,
        "estimate_files": args.files,
        "estimate_record": {"n_pre": args.pre, "n_post": 10, "intervals": 200},
        "circuit": {"size": args.circuit_size, "points": n_points},
        "speedup": ratio,
        **extra,
        "overhead_per_task_s": {"empty": o_empty, "fig4": o_fig4, "estimate": o_est,
                                "circuit": (ci["1 worker"] - ci["serial"]) / n_points},
        "per_task_s": {"fig4_quick": t_fig4_task, "fig4_full_extrapolated": t_full_task,
                       "estimate": t_est},
        "scaling_s": {"fig4_full_10_seeds (121 tasks of 10 models)":
                      scaling(t_full_task, o, FULL_MODELS // 10),
                      "estimate_1000_sessions": scaling(t_est, o, 1000)},
    }
    print(json.dumps(summary, indent=1))
    out = ROOT / "results" / ("dask_quick.json" if args.quick else "dask.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
