"""Writing a record as a standard NWB file (pynwb), by the convention of :mod:`plastix.io.nwb`.

What any NWB tool sees: a ``Units`` table (every pre and post unit, its spike
times and a ``role`` column), the processing module ``plasticity`` with the
TimeSeries ``pre_activity``, ``post_activity`` and ``weight`` and the
DynamicTable ``synapses`` (``pre_unit``, ``post_unit``), and, for records with
several segments, an ``epochs`` table (columns ``segment`` and, when the
segments restart their clock, ``time_offset``).  Times are seconds (a record in
training steps stores one step as one second).  What NWB cannot hold — the
record's time unit, its unit ids when they are not distinct integers, activity
kinds, decay, provenance, truth, and the exact values where seconds would round
them — goes as JSON into ``notes`` after :data:`~plastix.io.nwb.STANDARD_MARK`.
Variables outside the record schema are not written.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
import warnings
from typing import Any

import numpy as np
import xarray as xr

from plastix.io.neo_pack import arr_enc
from plastix.io.nwb_scan import MODULE, ROLES, STANDARD_MARK, SYNAPSES, WEIGHT
from plastix.record import validate_record

__all__ = ["write_standard_nwb"]

_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0, "step": 1.0}


def _file_ids(ds: xr.Dataset) -> dict[str, list[int]]:
    """Units table ids: the record's own if they are distinct integers >= 0, else 0, 1, ..."""
    ids = {r: np.asarray(ds[r].values) for r in ROLES}
    flat = np.concatenate([ids["pre"], ids["post"]])
    if flat.dtype.kind in "iu" and np.all(flat >= 0) and np.unique(flat).size == flat.size:
        return {r: [int(x) for x in ids[r]] for r in ROLES}
    n_pre = ids["pre"].size
    return {"pre": list(range(n_pre)), "post": list(range(n_pre, n_pre + ids["post"].size))}


def _offsets(ds: xr.Dataset, seg_ids: list[int], sec: float
             ) -> dict[int, tuple[float, float, float]]:
    """Per segment: offset (s) that keeps segments apart on the session clock, start, stop."""
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    wseg = np.asarray(ds["weight_segment"].values)
    dt = float(ds.attrs["dt"])
    out, prev_stop = {}, -np.inf
    for s in seg_ids:
        lo, hi = [], []
        if np.any(seg == s):
            lo.append(t[seg == s].min())
            hi.append(t[seg == s].max() + dt)
        if np.any(wseg == s):
            lo.append(wt[wseg == s].min())
            hi.append(wt[wseg == s].max())
        for r in ROLES:
            if f"{r}_spike_time" in ds:
                m = np.asarray(ds[f"{r}_spike_segment"].values) == s
                if m.any():
                    st = np.asarray(ds[f"{r}_spike_time"].values, dtype=float)[m]
                    lo.append(st.min())
                    hi.append(st.max())
        start, stop = min(lo) * sec, max(hi) * sec
        off = 0.0 if start > prev_stop else prev_stop - start + dt * sec
        out[s] = (off, start + off, stop + off)
        prev_stop = stop + off
    return out


def _to_file(values: np.ndarray, segs: np.ndarray, offs: dict[int, tuple[float, float, float]],
             sec: float, name: str, exact: dict[str, Any]) -> np.ndarray:
    """Record times -> session seconds; keep the exact values when they would not come back."""
    off = np.array([offs[int(s)][0] for s in segs]) if segs.size else np.zeros(0)
    file_t = values * sec + off
    if not np.array_equal((file_t - off) / sec, values):
        exact[name] = arr_enc(values)
    return file_t


def write_standard_nwb(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Write a record as a standard NWB file (see the module docstring).

    Parameters
    ----------
    ds : xarray.Dataset
        A plastix record.
    path : str or os.PathLike
        The new ``.nwb`` file (overwritten).
    """
    from hdmf.common import DynamicTable
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    validate_record(ds, stage="write_standard_nwb")
    tu = ds.attrs["time_units"]
    sec = _SEC_PER[tu]
    seg = np.asarray(ds["segment"].values)
    wseg = np.asarray(ds["weight_segment"].values)
    spikes = {r: ds.get(f"{r}_spike_time") is not None for r in ROLES}
    seg_ids = sorted({int(s) for s in np.concatenate(
        [seg, wseg] + [np.asarray(ds[f"{r}_spike_segment"].values) for r in ROLES if spikes[r]])})
    offs = _offsets(ds, seg_ids, sec)
    exact: dict[str, Any] = {}
    t = _to_file(np.asarray(ds["time"].values, dtype=float), seg, offs, sec, "time", exact)
    wt = _to_file(np.asarray(ds["weight_time"].values, dtype=float), wseg, offs, sec,
                  "weight_time", exact)
    fid = _file_ids(ds)
    meta = _meta(ds, fid, exact)
    trains = {r: _unit_trains(ds, r, offs, sec, exact, meta) if spikes[r] else None
              for r in ROLES}
    nwb = NWBFile(session_description=f"plastix record from {ds.attrs.get('source', '?')}",
                  identifier=str(uuid.uuid4()),
                  session_start_time=datetime.datetime.now(datetime.UTC),
                  notes=STANDARD_MARK + json.dumps(meta))
    nwb.add_unit_column(name="role", description="pre or post: the unit's side of the synapses")
    for r in ROLES:
        for j, u in enumerate(fid[r]):
            st = trains[r][j] if trains[r] is not None else np.zeros(0)
            nwb.add_unit(spike_times=st, role=r, id=u)
    mod = nwb.create_processing_module(MODULE, "plastix record: activity, weights, synapses")
    for r in ROLES:
        da = ds[f"{r}_activity"]
        mod.add(TimeSeries(name=f"{r}_activity", data=np.asarray(da.values, dtype=float),
                           unit=str(da.attrs.get("units", "1")), timestamps=t,
                           description=f"{r}synaptic {da.attrs.get('kind', 'rate')}; columns: "
                           f"the Units of role {r!r} in table order"))
    w = np.asarray(ds["weight"].values, dtype=float)
    measured = ~np.all(np.isnan(w), axis=0)
    if not measured.any():
        measured[0, 0] = True
    pi, qi = np.nonzero(measured)
    mod.add(TimeSeries(name=WEIGHT, data=w[:, pi, qi], timestamps=wt,
                       unit=str(ds["weight"].attrs.get("units", "1")),
                       description="synaptic weights, one column per row of 'synapses'; NaN = "
                       "not measured"))
    syn = DynamicTable(name=SYNAPSES, description="the synapse of each column of 'weight'")
    syn.add_column("pre_unit", "Units id of the presynaptic unit")
    syn.add_column("post_unit", "Units id of the postsynaptic unit")
    for p, q in zip(pi, qi, strict=True):
        syn.add_row(pre_unit=fid["pre"][q], post_unit=fid["post"][p])
    mod.add(syn)
    if seg_ids != [0] or any(o[0] for o in offs.values()):
        nwb.add_epoch_column("segment", "the record's segment id")
        nwb.add_epoch_column("time_offset", "seconds added to the segment's own clock")
        for s in seg_ids:
            off, start, stop = offs[s]
            nwb.add_epoch(start_time=start, stop_time=stop, segment=s, time_offset=off)
    with warnings.catch_warnings(), NWBHDF5IO(str(path), mode="w") as io:
        warnings.simplefilter("ignore")  # e.g. pynwb's notices about empty spike trains
        io.write(nwb)


def _meta(ds: xr.Dataset, fid: dict[str, list[int]], exact: dict[str, Any]) -> dict[str, Any]:
    decay = float(ds["decay"].values)
    return {
        "plastix_record_version": int(ds.attrs.get("plastix_record_version", 1)),
        "time_units": ds.attrs["time_units"], "dt": float(ds.attrs["dt"]),
        "source": str(ds.attrs.get("source", "unknown")),
        "provenance": str(ds.attrs.get("provenance", "{}")),
        "truth": str(ds.attrs.get("truth", "{}")),
        "decay": decay if np.isfinite(decay) else None,
        "ids": {r: np.asarray(ds[r].values).tolist() for r in ROLES}, "file_ids": fid,
        "activity": {r: [str(ds[f"{r}_activity"].attrs.get("units", "1")),
                         str(ds[f"{r}_activity"].attrs.get("kind", "rate"))] for r in ROLES},
        "weight_units": str(ds["weight"].attrs.get("units", "1")),
        "exact": exact, "spike_order": {},
        "spikes": {r: f"{r}_spike_time" in ds.variables for r in ROLES}}


def _unit_trains(ds: xr.Dataset, role: str, offs, sec: float, exact: dict[str, Any],
                 meta: dict[str, Any]) -> list[np.ndarray]:
    """Spike times (session s) of each unit of ``role``; notes the record's own spike order."""
    ids = np.asarray(ds[role].values).astype(str)
    col = {u: j for j, u in enumerate(ids.tolist())}
    st = np.asarray(ds[f"{role}_spike_time"].values, dtype=float)
    su = np.array([col[u] for u in np.asarray(ds[f"{role}_spike_unit"].values).astype(str)],
                  dtype=np.int64)
    ss = np.asarray(ds[f"{role}_spike_segment"].values)
    rank = np.array([sorted(offs).index(int(s)) for s in ss], dtype=np.int64)
    canon = np.lexsort((su, st, rank))  # the order the reader rebuilds
    file_t = _to_file(st[canon], ss[canon], offs, sec, f"{role}_spike_time", exact)
    if not np.array_equal(canon, np.arange(st.size)):
        meta["spike_order"][role] = np.argsort(canon, kind="stable").tolist()
    out = []
    for j in range(ids.size):
        out.append(np.sort(file_t[su[canon] == j]))
    return out
