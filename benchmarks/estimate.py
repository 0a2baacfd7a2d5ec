"""Benchmark: the estimator on a large on-disk recording versus one dense matrix product.

A recording of ``n_pre × n_post`` units and ``n_bins`` time bins (default
1000 × 1000 × 10^5, float64, weights sampled every ``bins_per_interval`` bins) is
generated and written to a NetCDF file in chunks, then

* baseline: one dense product ``post.T @ pre`` over the same data, in memory;
* estimator: ``HebbianEstimator(n_boot=1000, streaming=True).fit(path)``,
  streaming the file in chunks (one pass computes every ``H_k`` and reduces it to
  per-interval summaries and interval Gram matrices; the 1000 bootstrap
  replicates then use only those summaries).

Then two more tables:

* readers: the time to read all activity with the hand-written ``os.preadv`` reader
  plastix used before (the baseline), h5py's ``Dataset.read_direct`` (plastix's
  reader now), ``Dataset.iter_chunks`` + ``read_direct``, xarray (h5netcdf) and
  xarray with dask chunks (when dask is installed), alone and as the estimator's
  streaming pass, each as a ratio to the baseline;
* memory: peak RSS of ``HebbianEstimator(memory=...)`` for each ``--memory`` budget
  (``streaming="auto"``: the estimator decides by the activity's size) on the
  NetCDF file and on a zlib-compressed copy, beside the file and activity sizes;
  target ≤ 1.5 × budget;
* memory of the Neo and NWB formats: peak RSS of the estimator streaming a NIX file
  (Neo's convention), a standard NWB file (pynwb) and an NWB file in plastix's Neo
  convention of one recording (190 pre × 10 post × 4·10^5 bins in 4 segments, 610
  MiB of activity) under ``--format-memory`` (default 128 MiB), each fit in its own
  process, beside the data size and one segment's size; target ≤ 1.5 × max(budget,
  one segment).  ``--formats-only`` runs this table alone (into the same results
  file);
* memory of a spike-only standard NWB file (100 pre × 20 post units at 10 Hz for 2 h,
  binned at 10 ms: 659 MiB of rates): peak RSS of the estimator streaming it (spikes
  binned a batch of rows at a time) under ``--format-memory`` and fitting it in memory,
  each in its own process.  ``--spikes-only`` runs this table alone.

Each phase runs in its own subprocess so that its peak memory (``ru_maxrss``
and ``tracemalloc``) is its own; the estimator's ``tracemalloc`` peak comes from
a separate, untimed run (tracemalloc hooks every allocation).  Prints the tables and writes
``benchmarks/results/estimate.json``.  ``--quick`` runs a small version.

Run: ``.venv/bin/python benchmarks/estimate.py [--quick] [--memory 256MiB,512MiB]
[--format-memory 128MiB] [--formats-only] [--spikes-only]``
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


#: readers of the activity compared by the benchmark, in table order
READERS = {
    "raw": "hand-written (os.preadv of the chunks' bytes)",
    "h5py": "h5py Dataset.read_direct (plastix)",
    "chunks": "h5py Dataset.iter_chunks + read_direct",
    "xarray": "xarray (h5netcdf, no dask)",
    "dask": "xarray with dask chunks",
}


def _raw_chunks(dset) -> tuple[int, np.ndarray] | None:
    """``(rows per chunk, byte offset of each chunk)`` of a 2-D float64 HDF5 dataset stored
    in unfiltered whole-row chunks (or contiguously), every chunk allocated; else ``None``."""
    if dset.ndim != 2 or dset.dtype != np.dtype("<f8") or dset.external:
        return None
    if dset.id.get_create_plist().get_nfilters():
        return None
    n_rows, n = dset.shape
    if dset.chunks is None:
        off = dset.id.get_offset()
        return None if off is None else (max(n_rows, 1), np.array([off], dtype=np.int64))
    rows_per = dset.chunks[0]
    n_chunks = -(-n_rows // rows_per)
    if dset.chunks[1] != n or dset.id.get_num_chunks() != n_chunks:
        return None
    offsets = np.empty(n_chunks, dtype=np.int64)
    for i in range(n_chunks):
        info = dset.id.get_chunk_info_by_coord((i * rows_per, 0))
        if info.byte_offset is None or info.size != rows_per * n * 8:
            return None
        offsets[i] = info.byte_offset
    return rows_per, offsets


class PreadvRows:
    """The baseline of the reader comparison: rows read as raw bytes with ``os.preadv``.

    plastix read the activity this way (the call releases the GIL) until this
    benchmark showed h5py's ``Dataset.read_direct`` as fast inside the estimator;
    it stays here so that the comparison can be rerun.
    """

    def __init__(self, dset, filename: str):
        got = _raw_chunks(dset)
        if got is None:
            raise SystemExit(f"{filename}: `{dset.name}` is compressed or not in whole-row "
                             "chunks; the hand-written reader cannot read it")
        self.rows_per, self.offsets = got
        self.row_bytes = dset.shape[1] * 8
        self.fd = os.open(filename, os.O_RDONLY)

    def read(self, a: int, b: int, out: np.ndarray) -> None:
        """Rows ``a..b`` into ``out[:b - a]`` (C-contiguous float64)."""
        t = a
        while t < b:
            c = t // self.rows_per
            e = min(b, (c + 1) * self.rows_per)
            dst = memoryview(out[t - a: e - a]).cast("B")
            pos = int(self.offsets[c]) + (t - c * self.rows_per) * self.row_bytes
            done = 0
            while done < len(dst):
                got = os.preadv(self.fd, [dst[done:]], pos + done)
                if got <= 0:
                    raise SystemExit("the file ends inside the data")
                done += got
            t = e

    def close(self) -> None:
        os.close(self.fd)


def _use_reader(kind: str) -> None:
    """Make the estimator read the activity with ``kind`` (in this benchmark process only).

    ``"h5py"`` is plastix's own reader; ``"raw"`` puts :class:`PreadvRows` under it
    for the lazily opened activity; ``"xarray"`` drops the h5py handle, so rows come
    through xarray's lazy h5netcdf indexing.
    """
    from plastix.estimate import _stats, reader

    if kind == "xarray":
        _stats._open_h5 = lambda ds: None
    if kind != "raw":
        return

    class Rows(reader.ActivityRows):
        def __init__(self, ds, name, h5=None):
            super().__init__(ds, name, h5)
            self._raw = PreadvRows(self._var, h5.filename) if self.lazy else None

        def read(self, a, b, out=None):
            if out is None or self._raw is None or b <= a:
                return super().read(a, b, out)
            self._raw.read(a, b, out)
            return out

        def close(self):
            if self._raw is not None:
                self._raw.close()

    _stats._Rows = Rows


def _row_readers(path: str, f, ds) -> tuple[dict, list]:
    """One function ``read(name, a, b, out)`` per reader, each filling ``out[:b - a]``."""
    import importlib.util

    from plastix.estimate.reader import ActivityRows

    names = ("pre_activity", "post_activity")
    raw = {name: PreadvRows(f[name], path) for name in names}
    rows = {name: ActivityRows(ds, name, f) for name in names}

    def chunked(name, a, b, out):
        dset = f[name]
        for sel in dset.iter_chunks(np.s_[a:b, :]):
            rs = sel[0]
            dset.read_direct(out, source_sel=sel, dest_sel=np.s_[rs.start - a: rs.stop - a])

    readers = {
        "raw": lambda name, a, b, out: raw[name].read(a, b, out),
        "h5py": lambda name, a, b, out: rows[name].read(a, b, out[: b - a]),
        "chunks": chunked,
        "xarray": lambda name, a, b, out: np.copyto(out[: b - a], ds[name][a:b].values),
    }
    if importlib.util.find_spec("dask") is not None:
        import xarray as xr

        dds = xr.open_dataset(path, engine="h5netcdf", chunks={"time": f["pre_activity"].chunks[0]})
        readers["dask"] = lambda name, a, b, out: np.copyto(out[: b - a],
                                                            dds[name][a:b].values)
    return readers, list(raw.values())


def _phase_readers(path: str, batch: int, repeats: int) -> dict:
    """Seconds to read all activity in batches of ``batch`` rows, best of ``repeats``.

    The readers take turns in each repeat, so a change of machine load hits all of
    them alike; the first, untimed round warms the page cache.
    """
    import h5py
    import xarray as xr

    ds = xr.open_dataset(path, engine="h5netcdf", cache=False)
    f = h5py.File(path, "r")
    readers, raw = _row_readers(path, f, ds)
    n_rows = f["pre_activity"].shape[0]
    bufs = {name: np.empty((batch, f[name].shape[1])) for name in ("pre_activity",
                                                                   "post_activity")}
    check = {}
    best = {k: float("inf") for k in readers}
    for rep in range(repeats + 1):
        for kind, read in readers.items():
            clock = time.perf_counter()
            total = 0.0
            for a in range(0, n_rows, batch):
                b = min(a + batch, n_rows)
                for name, buf in bufs.items():
                    read(name, a, b, buf)
                    total += float(buf[: b - a, 0].sum())
            if rep:
                best[kind] = min(best[kind], time.perf_counter() - clock)
            check[kind] = total
    for r in raw:
        r.close()
    f.close()
    ds.close()
    if len(set(check.values())) != 1:
        raise SystemExit(f"the readers disagree: {check}")
    return {"read_s": best, "batch_rows": batch, "repeats": repeats,
            "dask": "dask" in readers}


def _phase_estimate(path: str, n_boot: int, n_null: int, trace: bool = False,
                    reader: str = "h5py") -> dict:
    """Fit the estimator; with ``trace``, under tracemalloc (a separate, untimed run)."""
    import tracemalloc

    from plastix.estimate import HebbianEstimator

    _use_reader(reader)
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


def _phase_memory(path: str, n_boot: int, memory: str, decay: str | None = None) -> dict:
    """Fit with the memory budget ``memory`` and ``streaming="auto"``: the estimator decides
    (``decay`` in 1/s when the file has none)."""
    from plastix.estimate import HebbianEstimator

    t = time.perf_counter()
    est = HebbianEstimator(n_boot=n_boot, n_null=0, memory=memory, rng=0, progress=False,
                           decay=None if decay is None else float(decay)).fit(path)
    return {"estimate_s": time.perf_counter() - t, "streamed": est.streamed_,
            "alignment": est.alignment_}


def _phase_floor(modules: list[str]) -> dict:
    """The interpreter with the estimator's libraries (and ``modules``) imported, nothing
    read."""
    import importlib

    import h5py  # noqa: F401

    import plastix.estimate  # noqa: F401

    for name in modules:
        importlib.import_module(name)
    return {}


#: the Neo and NWB files of the second memory table: (row label, file name, save options)
NEO_FORMATS = (("NIX (Neo)", "rec.nix", {}),
               ("NWB (pynwb)", "rec-standard.nwb", {"nwb_style": "standard"}),
               ("NWB (Neo)", "rec-neo.nwb", {"nwb_style": "neo"}))


def _phase_write_formats(folder: str, n_pre: int, n_post: int, n_bins: int, n_segments: int,
                         bins_per_interval: int) -> dict:
    """A record of ``n_pre`` pre and ``n_post`` post units and ``n_bins`` bins in ``n_segments``
    segments, written as every file of :data:`NEO_FORMATS` (in memory here: plastix's
    writers take a whole record).  Rates are OU processes (Hz, around 5 Hz), post follows
    ``W_k pre``; weights drift."""
    from scipy.signal import lfilter

    from plastix.io import save_record
    from plastix.record import make_record

    rng = np.random.default_rng(1)
    dt, a = 1e-3, np.exp(-1e-3 / 0.02)
    pre = lfilter([np.sqrt(1 - a * a)], [1.0, -a], rng.standard_normal((n_bins, n_pre)),
                  axis=0)  # AR(1) along time
    n_k = n_bins // bins_per_interval
    w = np.cumsum(rng.standard_normal((n_k + 1, n_post, n_pre)) * 0.05, axis=0)
    k = np.minimum(np.arange(n_bins) // bins_per_interval, n_k - 1)
    post = np.empty((n_bins, n_post))
    for j in range(n_k):
        rows = k == j
        post[rows] = pre[rows] @ w[j].T / np.sqrt(n_pre)
    post += 0.5 * rng.standard_normal(post.shape)
    pre, post = 5.0 + pre, 5.0 + post
    seg = np.arange(n_bins) * n_segments // n_bins
    wt = np.arange(n_k + 1) * bins_per_interval
    wseg = np.minimum(wt * n_segments // n_bins, n_segments - 1)
    rec = make_record(pre, post, w, time=np.arange(n_bins) * dt, weight_time=wt * dt, dt=dt,
                      segment=seg, weight_segment=wseg, decay=1.0)
    del pre, post
    out = {"activity_bytes": n_bins * (n_pre + n_post) * 8,
           "segment_bytes": int(np.bincount(seg).max()) * (n_pre + n_post) * 8, "files": {}}
    for label, name, options in NEO_FORMATS:
        t = time.perf_counter()
        save_record(rec, Path(folder) / name, **options)
        out["files"][label] = {"write_s": time.perf_counter() - t,
                               "file_bytes": (Path(folder) / name).stat().st_size}
    return out


def _phase_write_spikes(path: str, n_pre: int, n_post: int, duration: float) -> dict:
    """A lab's spike-only standard NWB file, written with pynwb: Poisson units at 10 Hz over
    ``duration`` s (a ``Units`` table with a ``role`` column) and every pre -> post
    synapse's weight sampled every 10 s (a random walk), nothing else."""
    import datetime

    import pynwb
    from hdmf.common import DynamicTable

    rng = np.random.default_rng(2)
    nwb = pynwb.NWBFile(session_description="spike-only benchmark", identifier="bench-spikes",
                        session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    nwb.add_unit_column("role", "pre or post")
    n_spikes = 0
    for u in range(n_pre + n_post):
        train = np.sort(rng.uniform(0.0, duration, rng.poisson(10.0 * duration)))
        n_spikes += train.size
        nwb.add_unit(spike_times=train, id=u, role="pre" if u < n_pre else "post")
    pairs = [(p, q) for q in range(n_pre, n_pre + n_post) for p in range(n_pre)]
    wt = np.arange(0.0, duration + 1e-9, 10.0)
    mod = nwb.create_processing_module("plasticity", "measured synaptic efficacies")
    mod.add(pynwb.TimeSeries(name="weight", unit="mV", timestamps=wt, data=1.0 + np.cumsum(
        rng.standard_normal((wt.size, len(pairs))) * 0.05, axis=0)))
    syn = DynamicTable(name="synapses", description="the synapse of each weight column")
    syn.add_column("pre_unit", "presynaptic unit id")
    syn.add_column("post_unit", "postsynaptic unit id")
    for pre, post in pairs:
        syn.add_row(pre_unit=pre, post_unit=post)
    mod.add(syn)
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    from plastix.io.neo import DEFAULT_BIN_SIZE

    n_bins = int(duration / DEFAULT_BIN_SIZE) + 1
    return {"n_spikes": n_spikes, "activity_bytes": n_bins * (n_pre + n_post) * 8,
            "n_bins": n_bins, "bin_size_s": DEFAULT_BIN_SIZE}


def _spikes_table(folder: Path, args) -> dict:
    """Peak RSS of the estimator on a spike-only standard NWB file, each fit in its own
    process: under ``--format-memory`` (streamed: spikes binned a batch of rows at a time)
    and with an unlimited budget (binned whole in memory), beside the spikes' and the
    rates' sizes; the two alignments must agree."""
    n_pre, n_post = 100, 20
    duration = 600.0 if args.quick else 7200.0
    path = folder / "spikes.nwb"
    info = _run_phase(["write-spikes", str(path), str(n_pre), str(n_post), str(duration)])
    floor = _run_phase(["floor", "-", "pynwb"])["peak_rss_bytes"]
    mib = 2**20
    print(f"\npeak RSS of the estimator on a spike-only standard NWB file ({n_pre} pre x "
          f"{n_post} post units at 10 Hz for {duration:.0f} s: {info['n_spikes']} spikes, "
          f"{info['n_bins']} bins of {info['bin_size_s'] * 1e3:g} ms, rates "
          f"{info['activity_bytes'] / mib:.0f} MiB); interpreter and libraries alone: "
          f"{floor / mib:.0f} MiB")
    print(f"{'budget':<10}{'streamed':>9}{'RSS MiB':>9}{'- floor':>9}{'fit s':>7}")
    rows = []
    for memory in (args.format_memory, "1TiB"):
        got = _run_phase(["memory", str(path), str(args.n_boot), memory, "0"])
        rss = got["peak_rss_bytes"]
        print(f"{memory:<10}{str(got['streamed']):>9}{rss / mib:>9.0f}"
              f"{(rss - floor) / mib:>9.0f}{got['estimate_s']:>7.1f}")
        if rows and abs(got["alignment"] - rows[0]["alignment"]) > 1e-10:
            raise SystemExit(f"streamed and in-memory fits disagree ({got['alignment']!r} "
                             f"against {rows[0]['alignment']!r})")
        rows.append({**got, "budget": memory})
    above = [r["peak_rss_bytes"] - floor for r in rows]
    print(f"streamed / in memory, above the floor: {above[0] / above[1]:.2f}x")
    return {"n_pre": n_pre, "n_post": n_post, "duration_s": duration, **info,
            "floor_rss_bytes": floor, "runs": rows,
            "ratio_streamed_to_memory_above_floor": above[0] / above[1]}


def _write_compressed(path: Path, out: Path, chunk: int) -> None:
    """A zlib-compressed copy (level 1, shuffle) of the recording, same values."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        enc = {name: {"zlib": True, "complevel": 1, "shuffle": True,
                      "chunksizes": (min(chunk, ds.sizes["time"]), ds.sizes[dim])}
               for name, dim in (("pre_activity", "pre"), ("post_activity", "post"))}
        tmp = out.with_name(out.name + ".part")
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    os.replace(tmp, out)


def _memory_table(path: Path, args, data_bytes: int) -> dict:
    """Peak RSS of the estimator on each format and budget, beside the data size and target."""
    from plastix.estimate.reader import memory_budget

    packed = path.with_name(path.stem + "-zlib.nc")  # beside the recording (kept with --keep)
    if not packed.exists():  # in a child: this process stays small (see _run_phase)
        _run_phase(["compress", str(path), str(packed)])
    floor = _run_phase(["floor", "-"])["peak_rss_bytes"]
    mib = 2**20
    print(f"\npeak RSS of the estimator, streaming='auto' (it decides by the activity's size); "
          f"target <= 1.5 x budget; interpreter and libraries alone: {floor / mib:.0f} MiB")
    print(f"{'format':<14}{'on disk MiB':>12}{'activity MiB':>13}{'budget MiB':>11}"
          f"{'streamed':>9}{'RSS MiB':>9}{'x budget':>9}{'target':>8}")
    rows = []
    for memory in args.memory.split(","):
        budget = memory_budget(memory)
        for name, file in (("NetCDF", path), ("NetCDF zlib", packed)):
            got = _run_phase(["memory", str(file), str(args.n_boot), memory])
            rss = got["peak_rss_bytes"]
            ok = rss <= 1.5 * budget if got["streamed"] else None  # the target is for streaming
            print(f"{name:<14}{file.stat().st_size / mib:>12.0f}{data_bytes / mib:>13.0f}"
                  f"{budget / mib:>11.0f}{str(got['streamed']):>9}{rss / mib:>9.0f}"
                  f"{rss / budget:>9.2f}{'n/a' if ok is None else 'met' if ok else 'NOT met':>8}")
            hwm = got.get("vm_hwm_bytes")
            if hwm is not None and abs(hwm - rss) > 0.1 * rss:
                print(f"  (VmHWM {hwm / mib:.0f} MiB disagrees with ru_maxrss: RSS inherited?)")
            if rows and abs(got["alignment"] - rows[0]["alignment"]) > 1e-10:
                raise SystemExit(f"{name} with memory={memory} gives another alignment")
            rows.append({**got, "format": name, "budget_bytes": budget,
                         "file_bytes": file.stat().st_size, "target_met": ok})
    return {"floor_rss_bytes": floor, "runs": rows}


def _formats_table(folder: Path, args) -> dict:
    """Peak RSS of the estimator streaming NIX and NWB files under ``--format-memory``,
    each fit in its own process, beside the activity and one segment's size; target
    ``peak RSS <= 1.5 x max(budget, one segment)``."""
    from plastix.estimate.reader import memory_budget

    # 200 units (many presynaptic, few postsynaptic: a NIX file holds one DataArray per
    # synapse and segment, slow to write), as many bins as the activity needs
    n_pre, n_post = 190, 10
    n_bins = 40_000 if args.quick else 400_000
    info = _run_phase(["write-formats", str(folder), str(n_pre), str(n_post), str(n_bins),
                       str(args.segments), "2000"])
    floor = _run_phase(["floor", "-", "neo", "nixio", "pynwb"])["peak_rss_bytes"]
    budget = memory_budget(args.format_memory)
    seg = info["segment_bytes"]
    limit = 1.5 * max(budget, seg)
    mib = 2**20
    print(f"\npeak RSS of the estimator on NIX and NWB files ({n_pre} pre x {n_post} post "
          f"x {n_bins} bins in {args.segments} segments), streaming='auto', budget "
          f"{budget / mib:.0f} MiB; target <= 1.5 x max(budget, one segment) = "
          f"{limit / mib:.0f} MiB; interpreter and libraries (neo, nixio, pynwb) alone: "
          f"{floor / mib:.0f} MiB")
    print(f"{'format':<14}{'on disk MiB':>12}{'activity MiB':>13}{'segment MiB':>12}"
          f"{'streamed':>9}{'RSS MiB':>9}{'- floor':>9}{'x target':>9}{'fit s':>7}"
          f"{'target':>8}")
    rows = []
    for label, name, _ in NEO_FORMATS:
        file = folder / name
        got = _run_phase(["memory", str(file), str(args.n_boot), args.format_memory])
        rss = got["peak_rss_bytes"]
        ok = rss <= limit if got["streamed"] else None
        print(f"{label:<14}{file.stat().st_size / mib:>12.0f}"
              f"{info['activity_bytes'] / mib:>13.0f}{seg / mib:>12.0f}"
              f"{str(got['streamed']):>9}{rss / mib:>9.0f}{(rss - floor) / mib:>9.0f}"
              f"{rss / limit * 1.5:>9.2f}"
              f"{got['estimate_s']:>7.1f}{'n/a' if ok is None else 'met' if ok else 'NOT met':>8}")
        if rows and abs(got["alignment"] - rows[0]["alignment"]) > 1e-9:
            raise SystemExit(f"{label} gives another alignment ({got['alignment']!r} against "
                             f"{rows[0]['alignment']!r})")
        rows.append({**got, "format": label, "file_bytes": file.stat().st_size,
                     "target_bytes": limit, "target_met": ok,
                     "write_s": info["files"][label]["write_s"]})
    print("(x target: RSS / max(budget, one segment), target 1.5; - floor: RSS less the "
          "interpreter and libraries alone; each fit in its own process)")
    return {"n_pre": n_pre, "n_post": n_post, "n_bins": n_bins, "segments": args.segments,
            "budget_bytes": budget, "activity_bytes": info["activity_bytes"],
            "segment_bytes": seg, "floor_rss_bytes": floor, "runs": rows}


def _run_phase(args: list[str]) -> dict:
    """Run one phase in a fresh interpreter; its result carries its own peak RSS.

    The child reports ``ru_maxrss`` of itself (``RUSAGE_SELF``, interpreter and
    libraries included).  Linux carries the parent's high-water mark into a child
    across fork and exec, so this process never holds the data (the compressed copy
    is written by a child too); ``VmHWM``, the peak of the child's image alone, is
    recorded beside it as a check.
    """
    cmd = [sys.executable, __file__, "--phase", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _phase(kind: str, path: str, rest: list[str]) -> dict:
    """Run the phase ``kind`` in this process; its result and its peak RSS (bytes)."""
    if kind == "product":
        res = _phase_product(path)
    elif kind == "floor":
        res = _phase_floor([m for m in rest if m])
    elif kind == "write-formats":
        res = _phase_write_formats(path, *(int(x) for x in rest))
    elif kind == "compress":
        _write_compressed(Path(path), Path(rest[0]), 1024)
        res = {}
    elif kind == "memory":
        res = _phase_memory(path, int(rest[0]), *rest[1:3])
    elif kind == "write-spikes":
        res = _phase_write_spikes(path, int(rest[0]), int(rest[1]), float(rest[2]))
    elif kind == "readers":
        res = _phase_readers(path, int(rest[0]), int(rest[1]))
    else:
        res = _phase_estimate(path, int(rest[0]), int(rest[1]), trace=kind == "estimate-memory",
                              reader=rest[2] if len(rest) > 2 else "h5py")
    res["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    res["vm_hwm_bytes"] = _vm_hwm()
    return res


def _vm_hwm() -> int | None:
    """Peak RSS of this process image alone (Linux ``VmHWM``), to check ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _compare_readers(path: Path, est: dict, prod: dict, args, bpi: int) -> dict:
    """Time every reader alone and inside the estimator; print the ratios to the hand-written."""
    rd = _run_phase(["readers", str(path), str(bpi), "3"])
    passes = {"raw": [], "h5py": [est["pass_s"]], "xarray": []}
    for rep in range(args.reader_repeats):  # the readers take turns: load changes hit all
        for kind in passes:
            if kind == "h5py" and rep == 0:
                continue  # the timed run above is the first
            got = _run_phase(["estimate", str(path), str(args.n_boot), str(args.n_null), kind])
            if got["alignment"] != est["alignment"]:
                raise SystemExit(f"the estimator reading with {kind} gives another alignment")
            passes[kind].append(got["pass_s"])
    best = {k: min(v) for k, v in passes.items()}
    base, base_pass = rd["read_s"]["raw"], best["raw"]
    print(f"\n{'reader of the activity (batches of ' + str(bpi) + ' rows)':<46}{'read s':>8}"
          f"{'x hand':>8}{'pass s':>9}{'x hand':>8}")
    for kind, name in READERS.items():
        if kind not in rd["read_s"]:
            print(f"{name:<46}{'(dask not installed)':>33}")
            continue
        sec = rd["read_s"][kind]
        line = f"{name:<46}{sec:>8.3f}{sec / base:>8.2f}"
        if kind in best:
            line += f"{best[kind]:>9.2f}{best[kind] / base_pass:>8.2f}"
        print(line)
    print(f"(read: all activity once, best of 3, warm page cache; pass: the estimator's "
          f"streaming pass, best of {args.reader_repeats} runs taking turns)")
    return {"read_s": rd["read_s"], "pass_s": passes, "product_s": prod["product_s"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="200 × 200 units, 2·10^4 bins")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--n-null", type=int, default=0,
                   help="null replicates (each costs one more pass; default 0)")
    p.add_argument("--bins-per-interval", type=int, default=2000)
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the recording at this path (reused when it exists)")
    p.add_argument("--memory", default="256MiB,512MiB",
                   help="memory budgets of the peak-RSS table, comma-separated "
                        "(default 256MiB,512MiB)")
    p.add_argument("--reader-repeats", type=int, default=2,
                   help="estimator runs per reader in the reader comparison (best is kept)")
    p.add_argument("--no-readers", action="store_true",
                   help="skip the comparison of the activity readers")
    p.add_argument("--format-memory", default=None,
                   help="memory budget of the NIX / NWB table (default 128MiB; 32MiB with "
                        "--quick)")
    p.add_argument("--segments", type=int, default=4,
                   help="segments of the NIX / NWB recording (default 4)")
    p.add_argument("--formats-only", action="store_true",
                   help="only the NIX / NWB memory table (no NetCDF recording)")
    p.add_argument("--spikes-only", action="store_true",
                   help="only the spike-only NWB memory table")
    p.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.phase:
        kind, path, *rest = args.phase
        print(json.dumps(_phase(kind, path, rest)))
        return 0
    default_budget = args.format_memory is None
    if default_budget:
        args.format_memory = "32MiB" if args.quick else "128MiB"
    if args.spikes_only:
        with tempfile.TemporaryDirectory(prefix="plastix-bench-") as folder:
            spikes = _spikes_table(Path(folder), args)
        print(f"load average (1, 5, 15 min) after the run: {os.getloadavg()}")
        _save_results(args.quick, {"memory_spikes_nwb": {
            **spikes, "load_average_after": os.getloadavg(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
        return 0
    if args.formats_only:
        with tempfile.TemporaryDirectory(prefix="plastix-bench-") as folder:
            formats = _formats_table(Path(folder), args)
        print(f"load average (1, 5, 15 min) after the run: {os.getloadavg()}")
        key = "memory_formats" if default_budget else f"memory_formats_{args.format_memory}"
        _save_results(args.quick, {key: {
            **formats, "load_average_after": os.getloadavg(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
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
    readers = None if args.no_readers else _compare_readers(path, est, prod, args, bpi)
    memory = _memory_table(path, args, data_bytes)
    formats = _formats_table(Path(tmpdir.name), args)
    spikes = _spikes_table(Path(tmpdir.name), args)
    print(f"load average (1, 5, 15 min) after the run: {os.getloadavg()}")
    print(f"alignment {est['alignment']:+.3f} CI [{est['ci'][0]:+.3f}, {est['ci'][1]:+.3f}], "
          f"verdict {est['verdict']}")
    out = {"quick": args.quick, "n_pre": n_units, "n_post": n_units, "n_bins": n_bins,
           "n_intervals": info["n_intervals"], "bins_per_interval": bpi,
           "n_boot": args.n_boot, "n_null": args.n_null, "file_bytes": info["file_bytes"],
           "activity_bytes": data_bytes, "product": prod, "estimate": est,
           "ratio_estimate_to_product": ratio, "readers": readers, "memory": memory,
           "memory_formats": formats, "memory_spikes_nwb": spikes,
           "machine": platform.platform(),
           "cpu_count": os.cpu_count(), "load_average_after": os.getloadavg(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _save_results(args.quick, out, replace=True)
    tmpdir.cleanup()
    return 0


def _save_results(quick: bool, out: dict, *, replace: bool = False) -> None:
    """Write ``out`` to ``benchmarks/results/estimate[_quick].json`` (atomically); unless
    ``replace``, into what the file already holds (a table measured alone)."""
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    name = "estimate_quick.json" if quick else "estimate.json"
    if not replace and (res_dir / name).exists():
        out = {**json.loads((res_dir / name).read_text()), **out}
    tmp = res_dir / f".{name}.tmp"
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp, res_dir / name)
    print(f"wrote {res_dir / name}")


if __name__ == "__main__":
    sys.exit(main())
