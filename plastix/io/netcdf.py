"""The record as NetCDF-4 (through h5netcdf): the record exactly as it is in memory."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from plastix._util.io import atomic_write
from plastix.io.probe import reading
from plastix.record import validate_record

__all__ = ["LABEL", "to_netcdf", "write_netcdf", "load_netcdf", "open_netcdf"]

LABEL = "NetCDF"
"""The format's name in messages."""


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Validate a record and write it to ``path`` (not atomic: see :func:`to_netcdf`).

    String unit ids are stored as fixed strings (NetCDF has no object dtype).
    """
    validate_record(ds, stage="to_netcdf")
    out = ds.copy()
    for role in ("pre", "post"):  # netCDF has no object dtype: store str ids as str
        if out[role].dtype == object:
            out = out.assign_coords({role: out[role].astype(str)})
    out.to_netcdf(path, engine="h5netcdf")


def to_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a record to NetCDF-4 (h5netcdf engine), atomically; returns ``path``."""
    return atomic_write(Path(path), lambda p: write_netcdf(ds, p))


def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read a record written by :func:`to_netcdf`, fully loaded in memory, and validate it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist.")
    with reading(path, LABEL), xr.open_dataset(path, engine="h5netcdf") as f:
        ds = f.load()
    return validate_record(ds, stage=f"load_netcdf({path.name})")


def open_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Open a NetCDF record lazily (values read on access); the caller closes it.

    Not validated: the estimator checks the skeleton and streams the values.
    """
    with reading(path, LABEL):
        return xr.open_dataset(path, engine="h5netcdf", cache=False)
