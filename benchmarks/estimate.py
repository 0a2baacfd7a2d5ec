"""Benchmark: the estimator on a large on-disk recording versus one dense matrix product.

A recording of ``n_pre × n_post`` units and ``n_bins`` time bins (default
1000 × 1000 × 10^5, float64, weights sampled every ``bins_per_interval`` bins) is
generated and written to a NetCDF file in chunks, then

* baseline: one dense product ``post.T @ pre`` over the same data, in memory;
* estimator: ``HebbianEstimator(n_boot=1000, streaming=True).fit(path)``,
  streaming the file in chunks (one pass computes every ``H_k`` and reduces it to
  per-interval summaries and interval Gram matrices; the 1000 bootstrap
  replicates then use only those summaries).

Each phase runs in its own subprocess so that its peak memory (``ru_maxrss``
and ``tracemalloc``) is its own; the estimator's ``tracemalloc`` peak comes from
a separate, untimed run (tracemalloc hooks every allocation).  Prints the ratio table and writes
``benchmarks/results/estimate.json``.  ``--quick`` runs a small version.

Run: ``.venv/bin/python benchmarks/estimate.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def write_recording(path: Path, *, n_pre: int, n_post: int, n_bins: int, bins_per_interval: int,
                    chunk: int, seed: int = 0) -> dict:
    """Write a plastix record to NetCDF-4 chunk by chunk (never the whole array in memory).

    Presynaptic rates: AR(1) (OU) per unit; post = W_k pre + noise; weights follow
    a Hebbian rule with decay and noise, ``W_{k+1} = W_k + lr H_k − γ Δt W_k + σ ξ``.
    """
    import h5netcdf

    rng = np.random.default_rng(seed)
    dt = 1e-3
    n_k = n_bins // bins_per_interval
    decay, lr, sigma = 1.0, 0.02 / (bins_per_interval * dt), 1e-3
    w = rng.standard_normal((n_post, n_pre)) / np.sqrt(n_pre)
    a = np.exp(-dt / 0.02)
    x = rng.standard_normal(n_pre)
    tmp = path.with_name(path.name + ".part")
    with h5netcdf.File(tmp, "w") as f:
        f.dimensions = {"time": n_bins, "pre": n_pre, "post": n_post, "weight_time": n_k + 1}
        time_v = f.create_variable("time", ("time",), float)
        time_v.attrs.update({"units": "s", "long_name": "left edge of fine bin"})
        time_v[:] = np.arange(n_bins) * dt
        f.create_variable("segment", ("time",), np.int64)[:] = np.zeros(n_bins, np.int64)
        iv = np.arange(n_bins) // bins_per_interval
        iv[iv >= n_k] = -1
        iv_v = f.create_variable("interval", ("time",), np.int64)
        iv_v.attrs["long_name"] = "weight interval containing the bin"
        iv_v[:] = iv
        wt = f.create_variable("weight_time", ("weight_time",), float)
        wt.attrs["units"] = "s"
        wt[:] = (np.arange(n_k + 1) * bins_per_interval) * dt
        f.create_variable("weight_segment", ("weight_time",), np.int64)[:] = np.zeros(n_k + 1,
                                                                                       np.int64)
        f.create_variable("pre", ("pre",), np.int64)[:] = np.arange(n_pre)
        f.create_variable("post", ("post",), np.int64)[:] = np.arange(n_post)
        coords = "segment interval"
        pre_v = f.create_variable("pre_activity", ("time", "pre"), float,
                                  chunks=(min(chunk, n_bins), n_pre))
        post_v = f.create_variable("post_activity", ("time", "post"), float,
                                   chunks=(min(chunk, n_bins), n_post))
        for v, kind in ((pre_v, "rate"), (post_v, "rate")):
            v.attrs.update({"units": "Hz", "kind": kind, "coordinates": coords})
        w_v = f.create_variable("weight", ("weight_time", "post", "pre"), float,
                                chunks=(1, n_post, n_pre))
        w_v.attrs.update({"units": "1", "coordinates": "weight_segment"})
        dec = f.create_variable("decay", (), float)
        dec.attrs.update({"units": "1/s", "long_name": "known weight-decay rate"})
        dec[...] = decay
        f.attrs.update({"plastix_record_version": 1, "dt": dt, "time_units": "s",
                        "source": "benchmarks/estimate.py", "provenance": "{}", "truth": json.dumps(
                            {"rule": "hebbian", "lr": lr, "decay": decay, "noise": sigma})})
        for k in range(n_k):
            w_v[k] = w
            h = np.zeros((n_post, n_pre))
            for t0 in range(k * bins_per_interval, (k + 1) * bins_per_interval, chunk):
                t1 = min(t0 + chunk, (k + 1) * bins_per_interval)
                z = rng.standard_normal((t1 - t0, n_pre))
                xs = np.empty_like(z)
                for i in range(t1 - t0):
                    x = a * x + np.sqrt(1 - a * a) * z[i]
                    xs[i] = x
                ys = xs @ w.T + 0.5 * rng.standard_normal((t1 - t0, n_post))
                pre_v[t0:t1] = xs
                post_v[t0:t1] = ys
                h += ys.T @ xs * dt
            dur = bins_per_interval * dt
            w = w + lr * h - decay * dur * w + sigma * np.sqrt(dur) * rng.standard_normal(w.shape)
        w_v[n_k] = w
        rest = n_k * bins_per_interval
        if rest < n_bins:
            pre_v[rest:] = rng.standard_normal((n_bins - rest, n_pre))
            post_v[rest:] = rng.standard_normal((n_bins - rest, n_post))
    os.replace(tmp, path)
    return {"n_intervals": n_k, "dt_s": dt, "file_bytes": path.stat().st_size}


def _phase_product(path: str) -> dict:
    import h5py

    with h5py.File(path, "r") as f:
        pre = f["pre_activity"][...]
        post = f["post_activity"][...]
    t = time.perf_counter()
    out = post.T @ pre
    elapsed = time.perf_counter() - t
    return {"product_s": elapsed, "checksum": float(out[0, 0])}


def _phase_estimate(path: str, n_boot: int, n_null: int, trace: bool = False) -> dict:
    """Fit the estimator; with ``trace``, under tracemalloc (a separate, untimed run)."""
    import tracemalloc

    from plastix.estimate import HebbianEstimator

    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    est = HebbianEstimator(n_boot=n_boot, n_null=n_null, streaming=True, rng=0,
                           progress=False).fit(path)
    elapsed = time.perf_counter() - t
    peak = None
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"estimate_s": elapsed, **{k: v for k, v in est.timings_.items()},
            "tracemalloc_peak_bytes": peak, "alignment": est.alignment_,
            "ci": est.ci_.tolist(), "pooled": est.pooled_, "verdict": est.verdict_,
            "block_length": est.block_length_}


def _run_phase(args: list[str]) -> dict:
    """Run one phase in a fresh interpreter; its peak RSS is read from ``RUSAGE_CHILDREN``.

    ``ru_maxrss`` of children is the largest of all children so far, so the phase
    with the smaller footprint (the estimator) must run first.
    """
    cmd = [sys.executable, __file__, "--phase", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="200 × 200 units, 2·10^4 bins")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--n-null", type=int, default=0,
                   help="null replicates (each costs one more pass; default 0)")
    p.add_argument("--bins-per-interval", type=int, default=2000)
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the recording at this path (reused when it exists)")
    p.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.phase:
        kind, path, *rest = args.phase
        res = _phase_product(path) if kind == "product" else _phase_estimate(
            path, int(rest[0]), int(rest[1]), trace=kind == "estimate-memory")
        print(json.dumps(res))
        return 0
    n_units, n_bins = (200, 20_000) if args.quick else (1000, 100_000)
    bpi = min(args.bins_per_interval, n_bins // 10)
    tmpdir = tempfile.TemporaryDirectory(prefix="plastix-bench-")
    path = args.keep or Path(tmpdir.name) / "recording.nc"
    t = time.perf_counter()
    if args.keep is not None and path.exists():
        import h5py

        with h5py.File(path, "r") as f:
            shape = f["pre_activity"].shape
            n_k = f["weight"].shape[0] - 1
        if shape != (n_bins, n_units) or n_k != n_bins // bpi:
            raise SystemExit(f"{path} holds a different recording {shape}; remove it first")
        info = {"n_intervals": n_k, "file_bytes": path.stat().st_size}
    else:
        info = write_recording(path, n_pre=n_units, n_post=n_units, n_bins=n_bins,
                               bins_per_interval=bpi, chunk=1024)
    gen_s = time.perf_counter() - t
    data_bytes = 2 * n_units * n_bins * 8
    print(f"recording: {n_units} pre x {n_units} post x {n_bins} bins, {info['n_intervals']} "
          f"intervals, {info['file_bytes'] / 2**20:.0f} MiB on disk (written in {gen_s:.0f} s)")
    # estimator first: the children's ru_maxrss is a running maximum, and the product
    # phase holds the whole data set in memory
    # memory is measured in its own run: tracemalloc hooks every allocation, so the
    # timed run goes without it (its RSS peak is still recorded)
    mem = _run_phase(["estimate-memory", str(path), str(args.n_boot), str(args.n_null)])
    est = _run_phase(["estimate", str(path), str(args.n_boot), str(args.n_null)])
    est["tracemalloc_peak_bytes"] = mem["tracemalloc_peak_bytes"]
    est["tracemalloc_run_s"] = mem["estimate_s"]
    if mem["alignment"] != est["alignment"]:
        raise SystemExit("the two estimator runs disagree; the estimator is not deterministic")
    prod = _run_phase(["product", str(path)])
    ratio = est["estimate_s"] / prod["product_s"]
    rows = [
        ("dense product post.T @ pre", prod["product_s"], 1.0),
        (f"estimator total ({args.n_boot} bootstrap, {args.n_null} null)", est["estimate_s"],
         ratio),
        ("  streaming pass (H_k, summaries, Gram)", est["pass_s"],
         est["pass_s"] / prod["product_s"]),
        ("    of which: read activity + H_k products", est["read_and_hebbian_s"],
         est["read_and_hebbian_s"] / prod["product_s"]),
        ("    of which: interval Gram matrices", est["gram_s"], est["gram_s"] / prod["product_s"]),
        ("  bootstrap + results", est["bootstrap_s"], est["bootstrap_s"] / prod["product_s"]),
    ]
    if args.n_null:
        rows.append((f"  null ({args.n_null} passes)", est["null_s"],
                     est["null_s"] / prod["product_s"]))
    print(f"\n{'step':<52}{'seconds':>10}{'x product':>12}")
    for name, sec, r in rows:
        print(f"{name:<52}{sec:>10.2f}{r:>12.2f}")
    peak = est["peak_rss_bytes"]
    print(f"\npeak memory of the estimator (tracemalloc in a separate run of "
          f"{est['tracemalloc_run_s']:.2f} s, not the timed one): "
          f"tracemalloc {est['tracemalloc_peak_bytes'] / 2**20:.0f}"
          f" MiB, RSS {peak / 2**20:.0f} MiB (interpreter and libraries included); activity data "
          f"{data_bytes / 2**20:.0f} MiB (ratio "
          f"{data_bytes / max(est['tracemalloc_peak_bytes'], 1):.0f}x below)")
    print(f"target: estimator <= 2x product: {'met' if ratio <= 2 else 'NOT met'} "
          f"({ratio:.2f}x)")
    print(f"load average (1, 5, 15 min) after the run: {os.getloadavg()}")
    print(f"alignment {est['alignment']:+.3f} CI [{est['ci'][0]:+.3f}, {est['ci'][1]:+.3f}], "
          f"verdict {est['verdict']}")
    out = {"quick": args.quick, "n_pre": n_units, "n_post": n_units, "n_bins": n_bins,
           "n_intervals": info["n_intervals"], "bins_per_interval": bpi,
           "n_boot": args.n_boot, "n_null": args.n_null, "file_bytes": info["file_bytes"],
           "activity_bytes": data_bytes, "product": prod, "estimate": est,
           "ratio_estimate_to_product": ratio, "machine": platform.platform(),
           "cpu_count": os.cpu_count(), "load_average_after": os.getloadavg(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    name = "estimate_quick.json" if args.quick else "estimate.json"
    tmp = res_dir / f".{name}.tmp"
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp, res_dir / name)
    print(f"wrote {res_dir / name}")
    tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
