"""The record as NetCDF-4 (through h5netcdf): the record exactly as it is in memory.

Arrays are stored zlib-compressed (:data:`COMPRESSION`; read back bit for bit,
by rows for the estimator's streaming pass); activity read lazily (left in its
file, or rates binned from spike trains when read) is written a block of rows
at a time, so writing takes the memory of one block, not of the activity.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.io import atomic_write, write_netcdf_file
from plastix.io.lazy import placeholder
from plastix.io.probe import reading
from plastix.record import check_streamed, validate_record, value_bound, with_decay

__all__ = ["LABEL", "COMPRESSION", "to_netcdf", "write_netcdf", "load_netcdf", "open_netcdf"]

LABEL = "NetCDF"
"""The format's name in messages."""
COMPRESSION = {"zlib": True, "complevel": 1, "shuffle": True}
"""The encoding of every stored array: zlib level 1 over byte-shuffled values.  On a
30 min, 350-unit recording binned at 10 ms the rates took 23 MB instead of 504 MB, the
spike times 36 MB instead of 61 MB; level 4 stored the rates 27% smaller (the spike
times and weights 0-1%) in 1.6 times the time."""
CHUNK_VALUES = 1 << 17
"""Values (rows × units) of activity in one stored chunk: 1 MiB of float64."""
BLOCK_VALUES = 1 << 22
"""Values of lazily read activity written at a time: about 32 MB of float64."""
_ACTIVITY = ("pre_activity", "post_activity")


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Validate a record and write it to ``path`` (not atomic: see :func:`to_netcdf`).

    String unit ids are stored as fixed strings (NetCDF has no object dtype).  Activity
    read lazily is checked and written by blocks of rows (:func:`_streamed`).
    """
    lazy = [n for n in _ACTIVITY if not ds[n].variable._in_memory]
    validate_record(ds.assign({n: _stand_in(ds[n].variable) for n in lazy}), stage="to_netcdf")
    out = ds.copy()
    for role in ("pre", "post"):  # netCDF has no object dtype: store str ids as str
        if out[role].dtype == object:
            out = out.assign_coords({role: out[role].astype(str)})
    for name in _ACTIVITY:
        if name in lazy:
            out[name] = _streamed(ds, name)
        var = out.variables[name]
        var.encoding = _encoding(var, _chunk_rows(var.shape))
    for name, var in out.variables.items():
        if name not in _ACTIVITY and var.ndim and var.dtype.kind in "fiub":
            var.encoding = _encoding(var)
    if not lazy:
        write_netcdf_file(out, path)
        return
    import dask

    with dask.config.set(scheduler="synchronous"):  # one block in memory at a time, here
        write_netcdf_file(out, path)


def _stand_in(var: xr.Variable) -> xr.Variable:
    """Lazily read activity as :func:`plastix.record.validate_record` checks it: its labels,
    and zeros taking no memory (its values are checked as they are written)."""
    return xr.Variable(var.dims, placeholder(var.shape), var.attrs)


def _encoding(var: xr.Variable, chunk_rows: int | None = None) -> dict[str, Any]:
    """``var``'s encoding for writing: :data:`COMPRESSION`, its stored dtype and fill value
    kept (a record read from a file), and chunks of ``chunk_rows`` whole rows if given."""
    keep = {k: v for k, v in var.encoding.items() if k in ("dtype", "_FillValue")}
    chunks = {} if chunk_rows is None else {"chunksizes": (chunk_rows, *var.shape[1:])}
    return {**keep, **COMPRESSION, **chunks}


def _chunk_rows(shape: tuple[int, ...]) -> int:
    """Rows of activity ``shape`` (rows, units) in one stored chunk (:data:`CHUNK_VALUES`)."""
    return max(1, min(shape[0], CHUNK_VALUES // max(shape[1], 1)))


def _streamed(ds: xr.Dataset, name: str) -> xr.Variable:
    """``ds[name]``, read lazily, as a dask array of blocks of rows (:data:`BLOCK_VALUES`,
    whole stored chunks) that are read, and checked as :func:`validate_record` checks
    activity in memory, only when written."""
    import dask
    import dask.array as da

    var = ds[name].variable
    n, width = var.shape
    rows = _chunk_rows(var.shape)
    step = rows * max(1, BLOCK_VALUES // (rows * max(width, 1)))
    bound = value_bound(ds, name)

    def read(a: int, b: int) -> np.ndarray:
        x = np.asarray(var[a:b].values, dtype=np.float64)
        # inf is beyond; NaN (not recorded) passes, as in the record held in memory
        if np.fmax.reduce(x, axis=None) > bound or np.fmin.reduce(x, axis=None) < -bound:
            blocks = ((i, np.asarray(var[i:i + step].values, dtype=np.float64))
                      for i in range(0, n, step))
            check_streamed(ds, name, blocks, stage="to_netcdf")
        return x

    parts = [da.from_delayed(dask.delayed(read, pure=False)(a, min(a + step, n)),
                             shape=(min(a + step, n) - a, width), dtype=np.float64)
             for a in range(0, n, step)]
    return xr.Variable(var.dims, da.concatenate(parts, axis=0), var.attrs)


def to_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a record to NetCDF-4 (h5netcdf engine), atomically; returns ``path``."""
    return atomic_write(Path(path), lambda p: write_netcdf(ds, p))


def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read a record written by :func:`to_netcdf`, fully loaded in memory, and validate it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist.")
    with reading(path, LABEL), xr.open_dataset(path, engine="h5netcdf") as f:
        ds = with_decay(f.load())
    return validate_record(ds, stage=f"load_netcdf({path.name})")


def open_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Open a NetCDF record lazily (values read on access); the caller closes it.

    Not validated: the estimator checks the skeleton and streams the values.
    """
    with reading(path, LABEL):
        return with_decay(xr.open_dataset(path, engine="h5netcdf", cache=False))
