"""Reading a record for the estimator's streaming pass, and the on-disk Gram store.

The statistics (:mod:`plastix.estimate._stats`) ask for rows of the activity,
weight samples and a place to keep ``H_k`` for the interval Gram matrices; this
module answers, whether the record is in memory or lazily opened from a
NetCDF-4 (HDF5) file (or a NIX or standard NWB file, whose format's ``open_lazy``
gives variables read by rows, see :mod:`plastix.io.lazy`):

* :class:`ActivityRows`: rows ``a..b`` of one activity variable (float64);
* :class:`WeightSamples`: weight samples, read a few at a time;
* :func:`open_h5`: an h5py handle on the file behind a lazily opened record;
* :class:`Prefetch`: reads batch ``i + 1`` in a helper thread while batch ``i`` is used;
* :class:`GramStore`: the weight samples and ``H_k`` (in memory, or in a temporary
  file for large records) and the interval Gram matrices computed from them;
* :func:`open_record`: a validated record, read whole or opened lazily for
  streaming; :func:`should_stream` decides by the size of the activity (not of
  the file) against :func:`memory_budget`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.validate import available_memory

__all__ = ["ActivityRows", "WeightSamples", "stage_of", "open_h5", "Prefetch", "GramStore",
           "memory_budget", "activity_bytes", "should_stream",
           "stream_limits", "open_record", "DEFAULT_MEMORY_FRACTION"]

#: the default memory budget, as a fraction of the memory available when a fit starts
DEFAULT_MEMORY_FRACTION = 0.25
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
               "tb": 1000**4, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def memory_budget(memory: Any = None) -> int:
    """The memory budget in bytes: ``memory`` as given, or a fraction of the available RAM.

    Parameters
    ----------
    memory : None, int, float or str
        Bytes (a positive number), or a size with a unit such as ``"2GiB"``,
        ``"512 MB"`` or ``"1.5e9"`` (units B, kB, MB, GB, TB — powers of 1000 — and
        KiB, MiB, GiB, TiB — powers of 1024; case ignored).  ``None``:
        :data:`DEFAULT_MEMORY_FRACTION` of the memory available now.

    Returns
    -------
    int
        The budget in bytes (at least 1).
    """
    if memory is None:  # 4 GiB where the system does not say (not Linux, not POSIX)
        return max(1, int(DEFAULT_MEMORY_FRACTION * (available_memory() or 4 * 2**30)))
    if isinstance(memory, bool) or not isinstance(memory, (int, float, np.number, str)):
        raise TypeError(f"`memory` must be a number of bytes or a size like '2GiB'; "
                        f"got {type(memory).__name__}.")
    value = memory
    if isinstance(memory, str):
        m = _SIZE_RE.match(memory)
        unit = m.group(2).lower() if m else None
        if unit not in _SIZE_UNITS:
            raise ValueError(f"`memory` must be a size like '2GiB', '512MB' or a number of bytes "
                             f"(units B, kB, MB, GB, TB, KiB, MiB, GiB, TiB); got {memory!r}.")
        value = float(m.group(1)) * _SIZE_UNITS[unit]
    if not np.isfinite(value) or value < 1:
        raise ValueError(f"`memory` must be at least 1 byte; got {memory!r}.")
    return int(value)


def activity_bytes(source: str | os.PathLike | xr.Dataset) -> int | None:
    """Bytes the activity of a record takes in memory (float64), unread.

    ``time × (pre + post) × 8``, whatever the file's size on disk (compressed or
    not): for a NetCDF-4 file from the shapes of ``pre_activity`` and
    ``post_activity``; for another format that opens lazily (standard NWB) from
    the record it opens (closed again); for a dataset from its sizes.  ``None``
    when the file cannot tell (not HDF5, the variables missing, a format read only
    whole); the reader then reports what is wrong.
    """
    if isinstance(source, xr.Dataset):
        return int(sum(np.prod(source[v].shape) for v in ("pre_activity", "post_activity")) * 8)
    shapes = _netcdf_shapes(source)
    if shapes is None:
        return _lazy_bytes(Path(source))
    if any(len(sh) != 2 for sh in shapes):
        return None
    return int(sum(sh[0] * sh[1] for sh in shapes) * 8)


def _netcdf_shapes(path: str | os.PathLike) -> list[tuple[int, ...]] | None:
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return [f[name].shape for name in ("pre_activity", "post_activity")]
    except (ImportError, OSError, KeyError, TypeError, ValueError):
        return None


def _lazy_bytes(path: Path) -> int | None:
    """Activity bytes of a non-NetCDF file, from the record its format opens lazily."""
    from plastix.io import format_for_path

    try:
        fmt = format_for_path(path)
        ds = fmt.open_lazy(path) if fmt.open_lazy is not None else None
    except Exception:  # noqa: BLE001 - the reader reports a bad file when it reads it
        return None
    if ds is None:
        return None
    try:
        if any(v not in ds.variables for v in ("pre_activity", "post_activity")):
            return None
        return activity_bytes(ds)
    finally:
        ds.close()


def should_stream(path: Path, streaming: Any, memory: Any) -> bool:
    """Whether to open the record file ``path`` lazily and stream it.

    Only formats that open lazily (``open_lazy`` in :mod:`plastix.io.formats`:
    NetCDF-4, standard NWB) can be streamed: always with ``streaming=True``,
    never with ``False``, and with ``"auto"`` when their activity in float64
    (:func:`activity_bytes`) exceeds the memory budget (:func:`memory_budget`).
    """
    from plastix.io import format_for_path

    if streaming is False or format_for_path(path).open_lazy is None:
        return False
    if streaming is True:
        return True
    size = activity_bytes(path)
    return size is not None and size > memory_budget(memory)


def stream_limits(ds: xr.Dataset, lay: Any, memory: Any) -> tuple[int, int | None]:
    """Default batch length (fine bins) and Gram block (postsynaptic rows) for a record.

    About 32 MB of activity per batch and 64 MB per block of the Gram store (the
    defaults of :func:`plastix.estimate._stats.interval_stats`); when the record is
    streamed, each is at most 1/16 of the memory budget (two of each are in flight
    at once), so a small budget gives smaller reads.

    Parameters
    ----------
    ds : xarray.Dataset
        The record (in memory or lazily opened).
    lay : Layout
        Its interval layout (``lay.k``: the first weight sample of each interval).
    memory : None, int or str
        The memory budget (:func:`memory_budget`).

    Returns
    -------
    (int, int or None)
        ``chunk_bins`` and ``gram_block_rows`` (``None``: the 64 MB default).
    """
    n_pre, n_post = ds.sizes["pre"], ds.sizes["post"]
    chunk = max(1, (1 << 22) // max(n_pre + n_post, 1))
    if all(ds[v].variable._in_memory for v in ("pre_activity", "post_activity")):
        return chunk, None
    share = memory_budget(memory) // 16
    chunk = max(1, min(chunk, share // (8 * max(n_pre + n_post, 1))))
    if share >= 2**26:
        return chunk, None
    n_rows = np.unique(np.concatenate([lay.k, lay.k + 1])).size + lay.k.size
    return chunk, max(1, share // (8 * n_rows * max(n_pre, 1)))


def open_record(record: Any, *, streaming: Any = "auto",
                memory: Any = None) -> tuple[xr.Dataset, Any]:
    """A validated record for the estimator, in memory or lazily opened for streaming.

    Parameters
    ----------
    record : xarray.Dataset or path
        A record (a lazily opened one is validated without loading its activity),
        or a file :func:`plastix.io.load_record` reads.
    streaming : {"auto", True, False}
        Whether to open the file lazily (NetCDF-4, NIX, standard NWB; see
        :func:`should_stream`).
    memory : None, int or str
        The memory budget (:func:`memory_budget`).

    Returns
    -------
    (xarray.Dataset, handle or None)
        The record and what to close when done (the lazily opened file), if anything.
    """
    from plastix.io import load_record
    from plastix.io import open_record as open_lazily
    from plastix.record import validate_record

    if isinstance(record, xr.Dataset):
        if any(not record[v].variable._in_memory for v in ("pre_activity", "post_activity")):
            return _validate_lazy(record), None
        return validate_record(record, stage="estimate"), None
    if isinstance(record, (str, os.PathLike)):
        path = Path(record)
        if not path.exists():
            raise FileNotFoundError(f"`record` {str(path)!r} does not exist.")
        if _sized_when_open(path, streaming):
            ds = open_lazily(path)  # opened once: the size decides, then it streams or not
            streams = opened_streams(ds, streaming, memory)
            if streams is None:
                return ds, None  # read whole by its format (e.g. a plain neo.NWBIO file)
            if streams:
                return _checked_lazy(ds, path), ds
            ds.close()
        elif should_stream(path, streaming, memory):
            ds = open_lazily(path)
            return _checked_lazy(ds, path), ds
        return load_record(path), None
    raise TypeError(f"`record` must be a plastix record (xarray.Dataset) or a path to a record "
                    f"file; got {type(record).__name__}.")


def opened_streams(ds: xr.Dataset, streaming: Any = "auto", memory: Any = None
                   ) -> bool | None:
    """Whether an opened record streams: None when its format read the activity whole
    (nothing to decide), else ``streaming`` when it is True or False, and under
    ``"auto"`` whether its activity exceeds the memory budget (:func:`memory_budget`)."""
    if all(ds[v].variable._in_memory for v in ("pre_activity", "post_activity")):
        return None
    if isinstance(streaming, bool):
        return streaming
    return activity_bytes(ds) > memory_budget(memory)


def _sized_when_open(path: Path, streaming: Any) -> bool:
    """Whether ``path`` may stream and its activity size is known only once it is open
    (a format with ``open_lazy`` that is not NetCDF-4: NIX, NWB)."""
    from plastix.io import format_for_path

    return (streaming is not False and format_for_path(path).open_lazy is not None
            and _netcdf_shapes(path) is None)


def _checked_lazy(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """``ds`` validated by :func:`_validate_lazy` (closed if it fails)."""
    ds.encoding.setdefault("source", str(path))  # named by the streaming checks (stage_of)
    try:
        return _validate_lazy(ds, stage=f"estimate({path.name})")
    except BaseException:
        ds.close()
        raise


def _validate_lazy(ds: xr.Dataset, stage: str = "estimate") -> xr.Dataset:
    """Validate a lazily opened record without loading its activity.

    The coordinates, dims, units and attributes go through
    :func:`plastix.record.validate_record` on a skeleton with one unit; the
    activity values are checked chunk by chunk while streaming.
    """
    from plastix.record import validate_record

    for name in ("pre_activity", "post_activity", "weight"):
        if name not in ds.variables:
            validate_record(ds, stage=stage)  # raises the reader's SchemaError
    data = {}
    for name in ("pre_activity", "post_activity", "weight"):
        v = ds[name]
        shape = tuple(1 if d in ("pre", "post") else ds.sizes[d] for d in v.dims)
        data[name] = (v.dims, np.zeros(shape), dict(v.attrs))
    if "decay" in ds.variables:
        data["decay"] = ((), float(ds["decay"].values), dict(ds["decay"].attrs))
    coords = {c: ds[c].variable for c in ("time", "segment", "interval", "weight_time",
                                           "weight_segment") if c in ds.coords}
    for role in ("pre", "post"):
        if role in ds.coords:
            coords[role] = (role, np.asarray(ds[role].values)[:1])
    skeleton = xr.Dataset(data, coords=coords, attrs=dict(ds.attrs))
    validate_record(skeleton, stage=stage)
    if ds.sizes["pre"] == 0 or ds.sizes["post"] == 0:
        validate_record(ds, stage=stage)
    return ds


class ActivityRows:
    """Row access to one activity variable, in memory or lazily on disk.

    A lazily opened NetCDF-4 variable is read through h5py (``Dataset.read_direct``
    into the caller's float64 buffer: no temporary, no ``astype``); compressed
    chunks are decompressed by HDF5 as they are read; a variable of a NIX or NWB
    file (:mod:`plastix.io.lazy`) is indexed through xarray, which reads those rows
    only.  A hand-written reader of the
    chunks' raw bytes (``os.preadv``, which releases the GIL) was measured against
    it and removed: in one run of ``benchmarks/estimate.py`` (1000 × 1000 units,
    10^5 bins, 2000-row batches, a loaded 2-core machine) h5py took 2.29× its time
    to read the activity alone (0.886 s against 0.387 s for 1.5 GiB), but the
    estimator's streaming pass took 1.04× as long with h5py (17.23 s against
    16.53 s, best of two runs each): reading is a few percent of the pass, and in
    five such runs the ratio of the pass ranged from 0.74 to 1.04, within the noise.
    The benchmark keeps that reader as the baseline of its comparison.
    """

    def __init__(self, ds: xr.Dataset, name: str, h5: Any = None):
        from plastix.record import value_bound

        var = ds[name].variable
        self.name = name
        self.lazy = not var._in_memory
        self._ds = ds
        self._var = var
        if self.lazy and h5 is not None and name in h5:
            self._var = h5[name]  # direct HDF5 reads: xarray's h5netcdf path costs ~ms a read
        elif self.lazy:  # a NIX or NWB reader's array (plastix.io.lazy): reads into buffers
            backend = getattr(getattr(var, "_data", None), "array", None)
            if hasattr(backend, "read_direct") and getattr(backend, "shape", None) == var.shape:
                self._var = backend
        self._arr = None if self.lazy else _values(var)
        #: reads convert the values to float64 (a file's rows, float32 in memory), into
        #: the caller's buffers when given (:class:`Prefetch`)
        self.converts = self._arr is None or self._arr.dtype != np.float64
        self._bound = value_bound(ds, name) if self.lazy else None

    def close(self) -> None:
        """Release this reader (the HDF5 handle belongs to the caller: nothing to do)."""

    def read(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``a..b`` as float64; into ``out`` (C-contiguous, ``(b − a, n)``) if given.

        Rows read from a file are checked as a record loaded whole is
        (:func:`plastix.record.check_streamed`): inf, or a value beyond the
        variable's physical bound, is refused with the count and first location
        in the whole variable.
        """
        if b <= a:
            n = self._var.shape[1]
            return np.zeros((0, n))
        if self._arr is not None:
            if self._arr.dtype == np.float64:
                return self._arr[a:b]
            if out is None:  # float32 in memory: converted a batch at a time
                return self._arr[a:b].astype(np.float64)
            out[...] = self._arr[a:b]
            return out
        out = self._fetch(a, b, out)
        # two passes without temporaries (fmin/fmax skip NaN, a missing value); inf is beyond
        if np.fmax.reduce(out, axis=None) > self._bound or (
                np.fmin.reduce(out, axis=None) < -self._bound):
            self._refuse(max(b - a, 1))
        return out

    def _fetch(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        direct = getattr(self._var, "read_direct", None)
        if out is not None and direct is not None:
            # straight from HDF5 into a reused float64 buffer: no temporary, no astype
            direct(out, source_sel=np.s_[a:b], dest_sel=np.s_[0: b - a])
            return out
        got = self._var[a:b]
        return np.asarray(getattr(got, "values", got), dtype=float)

    def _refuse(self, batch: int) -> None:
        """Scan the whole variable (batches of ``batch`` rows) and raise its error."""
        from plastix.record import check_streamed

        n = self._var.shape[0]
        blocks = ((a, self._fetch(a, min(a + batch, n))) for a in range(0, n, batch))
        check_streamed(self._ds, self.name, blocks, stage=stage_of(self._ds))

    def read_shifted(self, a: int, b: int, s0: int, s1: int, shift: int,
                     out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``a..b`` of the series circularly shifted by ``shift`` bins within ``[s0, s1)``.

        Row ``t`` of the result is row ``s0 + (t − s0 − shift) mod (s1 − s0)``.  Rows
        that are converted (read from a file, or float32 in memory) go into ``out`` when
        it is given (C-contiguous, ``(b − a, n)``): a null pass reuses the reader's
        buffers rather than copying each batch.
        """
        if shift == 0:
            return self.read(a, b, out)
        length = s1 - s0
        first = s0 + (a - s0 - shift) % length
        n = b - a
        if first + n <= s1:
            return self.read(first, first + n, out)
        if out is not None:  # both pieces into the buffer
            k = s1 - first
            for dst, got in ((out[:k], self.read(first, s1, out[:k])),
                             (out[k:n], self.read(s0, s0 + n - k, out[k:n]))):
                if got is not dst:  # a view of float64 held in memory, or a reader's copy
                    dst[...] = got
            return out[:n]
        head = self.read(first, s1)
        return np.concatenate([head, self.read(s0, s0 + n - head.shape[0])], axis=0)


def _values(var: xr.Variable) -> np.ndarray:
    """An activity variable held in memory: float64, or float32 as kept (no copy)."""
    values = np.asarray(var.values)
    return values if values.dtype == np.float32 else np.asarray(values, dtype=float)


class WeightSamples:
    """Weight samples of a record, read a few at a time (checked as in
    :class:`ActivityRows` when read from a file)."""

    def __init__(self, ds: xr.Dataset, h5: Any = None):
        from plastix.record import value_bound

        var = ds["weight"].variable
        self._ds = ds
        self._bound = value_bound(ds, "weight")
        self._arr = np.asarray(var.values, dtype=float) if var._in_memory else None
        self._var = h5["weight"] if (self._arr is None and h5 is not None
                                     and "weight" in h5) else var
        self._cache: dict[int, np.ndarray] = {}

    @property
    def array(self) -> np.ndarray | None:
        """All the weight samples ``(weight_time, post, pre)`` when the record holds them in
        memory (float64), else None."""
        return self._arr

    def take(self, idx: np.ndarray) -> np.ndarray:
        if self._arr is not None:
            return self._arr[idx]
        # read each sample once: consecutive intervals share W[k+1] = W[(k+1)]
        missing = [int(i) for i in np.unique(idx) if int(i) not in self._cache]
        if missing:
            lo, hi = min(missing), max(missing) + 1
            block = self._read(lo, hi)
            if (np.fmax.reduce(block, axis=None) > self._bound
                    or np.fmin.reduce(block, axis=None) < -self._bound):  # inf is beyond
                self._refuse()
            keep = set(int(i) for i in idx)
            self._cache = {i: a for i, a in self._cache.items() if i in keep}
            for i in missing:
                self._cache[i] = block[i - lo]
        return np.stack([self._cache[int(i)] for i in idx])

    def _read(self, lo: int, hi: int) -> np.ndarray:
        block = self._var[lo:hi]
        return np.asarray(getattr(block, "values", block), dtype=float)

    def _refuse(self) -> None:
        from plastix.record import check_streamed

        n, step = self._var.shape[0], 64
        blocks = ((a, self._read(a, min(a + step, n))) for a in range(0, n, step))
        check_streamed(self._ds, "weight", blocks, stage=stage_of(self._ds))


def stage_of(ds: xr.Dataset) -> str:
    """The stage named in messages about a lazily opened record: ``estimate(<file>)``."""
    source = ds.encoding.get("source")
    return f"estimate({Path(source).name})" if source else "estimate"


def open_h5(ds: xr.Dataset):
    """An h5py handle on the NetCDF-4 file behind a lazily opened record, if there is one."""
    src = ds.encoding.get("source")
    if not src or all(ds[v].variable._in_memory for v in ("pre_activity", "post_activity")):
        return None
    try:
        import h5py

        return h5py.File(src, "r")
    except (OSError, ImportError):
        return None


class Prefetch:
    """Reads batch ``i + 1`` (activity and weight samples) in a thread while ``i`` is used.

    ``read_batch(pre_r, post_r, lay, run, *, shift, buffers)`` reads the activity of
    one batch of intervals (``run``, positions in the layout ``lay``); with ``direct``
    two pairs of float64 buffers alternate as its targets.
    """

    def __init__(self, pre_r: ActivityRows, post_r: ActivityRows, weights: WeightSamples,
                 lay: Any, batches: list[np.ndarray], shifts: np.ndarray, *, lag: int,
                 max_bins: int, direct: bool, skip: bool, read_batch: Callable[..., Any]):
        self.pre_r, self.post_r, self.weights, self.lay = pre_r, post_r, weights, lay
        self.batches, self.shifts, self.lag, self.max_bins = batches, shifts, lag, max_bins
        self.skip = skip
        self.read_batch = read_batch
        self.pool = ThreadPoolExecutor(1) if len(batches) > 1 else None
        self.bufs: list[tuple[np.ndarray, np.ndarray] | None] = [None, None]
        if direct:
            n = max((int(r.size * (lay.stop[r[0]] - lay.start[r[0]])) for r in batches
                     if self._short(r)), default=0)
            if n:
                n_pre, n_post = pre_r._var.shape[1], post_r._var.shape[1]
                self.bufs = [(np.empty((n, n_pre)), np.empty((n, n_post))) for _ in range(2)]
        self.pending = None

    def _short(self, run) -> bool:
        m = int(self.lay.stop[run[0]] - self.lay.start[run[0]])
        return m > self.lag and (m <= self.max_bins or run.size > 1)

    def _load(self, i: int):
        run = self.batches[i]
        kk = self.lay.k[run]
        w0, w1 = self.weights.take(kk), self.weights.take(kk + 1)
        xy = None
        if not self.skip and self._short(run):
            xy = self.read_batch(self.pre_r, self.post_r, self.lay, run,
                             shift=int(self.shifts[run[0]]), buffers=self.bufs[i % 2])
        return xy, w0, w1

    def get(self, i: int):
        """Batch ``i`` (``(x, y) or None, w0, w1``); starts reading batch ``i + 1``."""
        if self.pending is not None:
            got = self.pending.result()
        else:
            got = self._load(i)
        self.pending = None
        if self.pool is not None and i + 1 < len(self.batches):
            self.pending = self.pool.submit(self._load, i + 1)
        return got

    def close(self) -> None:
        if self.pool is not None:
            if self.pending is not None:
                self.pending.cancel()
                try:
                    self.pending.result()
                except Exception:  # noqa: BLE001 - the main thread's error is the one to report
                    pass
            self.pool.shutdown(wait=True)


class GramStore:
    """What the interval Gram matrices need: the weight samples and the raw ``H_k``.

    ``d_k`` and ``w_k`` are linear in the weight samples, so where every synapse
    of a block of postsynaptic rows is observed the Gram matrix of
    ``[d; w; h]`` (3K × 3K) is ``T G_B Tᵀ`` with ``G_B`` the Gram matrix of
    ``[W_0..W_K; H_1..H_K]`` (2K + 1 rows: less than half the work); blocks with
    missing synapses are masked and multiplied out directly.  Kept in memory
    for in-memory records; for lazily opened (large) records in a temporary
    file, written interval by interval and read back by blocks of rows, so
    memory stays bounded by the block size.  In memory, with ``weights`` (the record's
    samples, :attr:`WeightSamples.array`), only ``H_k`` is kept: the weight rows are
    read from the record itself, not copied (the record's weights are the size of all
    of ``H``: 0.46 GB for 800 × 200 units sampled 361 times); with ``entries`` too (the
    ``(post, pre)`` entries with a finite weight at both ends of some interval), ``H``
    only on those when they are at most half of ``post × pre`` (2000 measured pairs of
    160 000: 6 MB instead of 0.46 GB).  Every other entry is masked out of every
    interval, so the blocks multiplied are the same numbers either way.
    """

    #: stores up to this size stay in memory even for lazily opened records
    MEMORY_BYTES = 256 * 2**20

    def __init__(self, lay: Any, n_wt: int, n_post: int, n_pre: int, *, on_disk: bool,
                 weights: np.ndarray | None = None, entries: np.ndarray | None = None):
        self.lay = lay
        self.used = np.unique(np.concatenate([lay.k, lay.k + 1]))
        self.slot = {int(v): i for i, v in enumerate(self.used)}
        self.n_rows = self.used.size + lay.k.size
        self.written: set[int] = set()
        self.shape = (self.n_rows, n_post, n_pre)
        self.tmpdir = None
        self.writer: ThreadPoolExecutor | None = None
        self.pending: list = []
        self.w = None  # the record's weight samples, when only H is stored here
        self.idx = None  # the flat (post, pre) entries H is stored on, when not all
        if on_disk and int(np.prod(self.shape)) * 8 > self.MEMORY_BYTES:
            self.tmpdir = tempfile.TemporaryDirectory(prefix="plastix-gram-")
            self.path = os.path.join(self.tmpdir.name, "wh.bin")
            with open(self.path, "wb") as f:
                f.truncate(int(np.prod(self.shape)) * 8)
            self.arr = None
        elif weights is not None:
            self.w = weights
            if entries is not None and 2 * int(entries.sum()) <= entries.size:
                self.idx = np.flatnonzero(entries)
                self.arr = np.zeros((lay.k.size, self.idx.size))  # H on those entries
            else:
                self.arr = np.zeros((lay.k.size, n_post, n_pre))  # H only
        else:
            self.arr = np.zeros(self.shape)

    def put(self, run: np.ndarray, w0: np.ndarray, w1: np.ndarray, h: np.ndarray) -> None:
        if self.w is not None:  # the weights stay in the record
            for i, k in enumerate(run):
                self.arr[int(k)] = h[i] if self.idx is None else np.take(h[i], self.idx)
            return
        items = []
        for i, k in enumerate(run):
            kk = int(self.lay.k[k])
            for row, a in ((self.slot[kk], w0[i]), (self.slot[kk + 1], w1[i])):
                if row not in self.written:  # a weight sample is shared by two intervals
                    self.written.add(row)
                    items.append((row, a))
            items.append((self.used.size + int(k), h[i]))
        if self.arr is not None:
            for row, a in items:
                self.arr[row] = a
            return
        # written by a helper thread (file writes release the GIL) while the next batch
        # is computed; at most two batches wait, so memory stays bounded
        while len(self.pending) >= 2:
            self.pending.pop(0).result()
        if self.writer is None:
            self.writer = ThreadPoolExecutor(1)
            self.fd = os.open(self.path, os.O_RDWR)
        self.pending.append(self.writer.submit(self._write, items))

    def _write(self, items) -> None:
        per = self.shape[1] * self.shape[2] * 8
        for row, a in items:
            buf = memoryview(np.ascontiguousarray(a, dtype=np.float64)).cast("B")
            done = 0
            while done < per:
                done += os.pwrite(self.fd, buf[done:], row * per + done)

    def flush(self) -> None:
        """Wait for every pending write (re-raising its error)."""
        try:
            while self.pending:
                self.pending.pop(0).result()
        finally:
            if self.writer is not None:
                self.writer.shutdown(wait=True)
                os.close(self.fd)
                self.writer = None

    def gram(self, ok_pre: np.ndarray, ok_post: np.ndarray, *,
             block_rows: int | None) -> np.ndarray:
        """``G = X Xᵀ`` of ``X = [d_1..d_K; w_1..w_K; h_1..h_K]`` (3K × synapses)."""
        lay = self.lay
        n_k = lay.k.size
        n_w = self.used.size
        _, n_post, n_pre = self.shape
        if block_rows is None:
            block_rows = max(1, int(2**23 // max(self.n_rows * n_pre, 1)))  # 64 MB blocks
        i0 = np.array([self.slot[int(v)] for v in lay.k])
        i1 = np.array([self.slot[int(v) + 1] for v in lay.k])
        t = np.zeros((3 * n_k, n_w + n_k))  # [d; w; h] = T [W; H]
        t[np.arange(n_k), i1] += 1.0
        t[np.arange(n_k), i0] -= 1.0
        t[n_k + np.arange(n_k), i0] = lay.duration
        t[2 * n_k + np.arange(n_k), n_w + np.arange(n_k)] = 1.0
        g_basis = np.zeros((n_w + n_k, n_w + n_k))
        g = np.zeros((3 * n_k, 3 * n_k))
        all_pre = bool(ok_pre.all())
        starts = list(range(0, n_post, block_rows))

        def load(r0: int) -> tuple[np.ndarray, np.ndarray]:
            """The weight rows and the H rows of one block of postsynaptic rows."""
            rows = slice(r0, min(r0 + block_rows, n_post))
            if self.w is not None:  # a view when every sample is used (no copy)
                every = self.used.size == self.w.shape[0]
                wb = self.w[:, rows] if every else self.w[self.used, rows]
                return wb, self._h_rows(rows)
            if self.arr is not None:
                return self.arr[:n_w, rows], self.arr[n_w:, rows]
            # plain reads: no memory map (page faults can stall on writeback)
            x = np.empty((self.n_rows, rows.stop - rows.start, n_pre))
            with open(self.path, "rb") as f:
                for j in range(self.n_rows):
                    f.seek(((j * n_post) + rows.start) * n_pre * 8)
                    f.readinto(memoryview(x[j]).cast("B"))
            return x[:n_w], x[n_w:]

        # the next block is read (file reads release the GIL) while this one is multiplied
        pool = ThreadPoolExecutor(1) if self.arr is None and len(starts) > 1 else None
        nxt = None
        try:
            for bi, r0 in enumerate(starts):
                wb, hb = nxt.result() if nxt is not None else load(r0)
                nxt = (pool.submit(load, starts[bi + 1])
                       if pool is not None and bi + 1 < len(starts) else None)
                rows = slice(r0, min(r0 + block_rows, n_post))
                g, g_basis = self._gram_block(wb, hb, rows, g, g_basis, ok_pre, ok_post,
                                              all_pre, i0, i1)
                del wb, hb
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return g + t @ g_basis @ t.T

    def _h_rows(self, rows: slice) -> np.ndarray:
        """``H`` of the postsynaptic rows ``rows``, ``(K, nr, pre)``: 0 off the stored entries."""
        if self.idx is None:
            return self.arr[:, rows]
        n_pre = self.shape[2]
        lo, hi = np.searchsorted(self.idx, [rows.start * n_pre, rows.stop * n_pre])
        hb = np.zeros((self.lay.k.size, rows.stop - rows.start, n_pre))
        hb.reshape(self.lay.k.size, -1)[:, self.idx[lo:hi] - rows.start * n_pre] = \
            self.arr[:, lo:hi]
        return hb

    def _gram_block(self, wb, hb, rows, g, g_basis, ok_pre, ok_post, all_pre, i0, i1):
        """Add one block of postsynaptic rows to the Grams: ``wb`` the weight samples'
        rows ``(samples used, nr, pre)``, ``hb`` the intervals' ``H`` rows ``(K, nr, pre)``.

        Each product is of one C-contiguous matrix with its transpose, built in place:
        the samples' and H's rows one after the other, or, where synapses are masked,
        ``[d; w; h]`` (each masked entry 0) filled interval by interval, with no
        masked copies of the weights besides it.
        """
        lay, n_k, n_w = self.lay, self.lay.k.size, wb.shape[0]
        if all_pre and ok_post[:, rows].all() and np.isfinite(wb).all():
            flat = np.empty((n_w + n_k, wb[0].size))
            flat[:n_w] = wb.reshape(n_w, -1)
            flat[n_w:] = hb.reshape(n_k, -1)
            g_basis += np.dot(flat, flat.T)
            return g, g_basis
        xm = np.empty((3, n_k, *wb.shape[1:]))  # [d; w; h], masked
        for j in range(n_k):
            a0, a1 = wb[i0[j]], wb[i1[j]]
            off = ~(np.isfinite(a0) & np.isfinite(a1) & ok_pre[j][None, :]
                    & ok_post[j, rows][:, None])
            d, w, h = xm[0, j], xm[1, j], xm[2, j]
            np.subtract(a1, a0, out=d)
            d[off] = 0.0
            w[...] = a0
            w[off] = 0.0
            w *= lay.duration[j]
            h[...] = hb[j]
            h[off] = 0.0
        xm = xm.reshape(3 * n_k, -1)
        g += np.dot(xm, xm.T)
        return g, g_basis

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.tmpdir is not None:
                self.tmpdir.cleanup()

    def discard(self) -> None:
        """Close after a failure: remove the temporary files, keep the first error."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the caller is already raising the original error
            pass
