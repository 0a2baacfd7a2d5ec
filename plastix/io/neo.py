"""The plastix record as a ``neo.Block``: the Neo convention of SPEC §9.

A file from a simulation and a file from a rig are read by the same code,
:func:`from_neo`.  The convention, object by object:

Block
    ``annotations["decay"]``: known weight-decay rate in 1/s (absent if unknown).
    Blocks written by plastix add ``plastix_record_version``, ``time_units``
    (the record's time unit), ``dt`` (bin width, in ``time_units``), ``source``,
    ``provenance`` and ``truth`` (JSON strings; ``truth`` holds the true rule and
    its parameters of a simulation) and ``plastix_exact`` (see *Exactness*).
Segment
    One value of the record's ``segment`` coordinate: a session, a condition or
    one pairing experiment.  ``annotations["segment"]`` gives the integer id
    (used when every segment has an increasing integer id; otherwise segments
    are numbered 0, 1, ... in block order).  Time may restart in every segment.
SpikeTrain
    ``annotations["role"]`` is ``"pre"`` or ``"post"`` and ``annotations["unit"]``
    the unit id; at most one train per (role, unit) and segment.  plastix writes
    one train per unit that has spikes or activity in the segment (an empty train
    means "recorded, silent").
AnalogSignal ``"pre_rate"`` / ``"post_rate"``
    One channel per unit, ``array_annotations["unit"]`` the ids.  An
    ``IrregularlySampledSignal`` of the same name is accepted (plastix writes one
    when a segment's bins are not evenly spaced).  ``annotations["kind"]`` (one
    of :data:`plastix.record.ACTIVITY_KINDS`) and ``annotations["plastix_units"]``
    (the record's unit string, e.g. ``"Hz"`` or ``"a.u."``) keep what the record
    held.  Without them, signals in frequency units are read as rates in Hz,
    dimensionless ones as ``"activation"`` in ``"1"``.
``"weight"`` (AnalogSignal or IrregularlySampledSignal)
    One channel per synapse with ``array_annotations["pre"]`` and
    ``array_annotations["post"]``; NaN where a synapse was not measured.  plastix
    writes, per segment, a channel for every synapse with at least one non-NaN
    sample in that segment (row-major over ``(post, pre)``); if no synapse was
    measured, one all-NaN channel for the first synapse.  On reading, synapses
    without a channel are NaN, never 0.  ``annotations["plastix_units"]`` keeps
    the weight unit string.

Time units
    Records in ``"s"``, ``"ms"`` or ``"min"`` are written in that unit; records
    of artificial networks (``"step"``) are written with one training step stored
    as one second (Neo needs a physical time unit), flagged by
    ``annotations["time_units"] == "step"``; ``decay`` is then per step.  Blocks
    not written by plastix are read in seconds, rates in Hz.

Spikes only
    A segment without rate signals gets its activity by binning its spike trains:
    bins of ``bin_size`` seconds from the earliest ``t_start`` to the latest
    ``t_stop`` of its trains (default: the rate sampling period found elsewhere
    in the block, else :data:`DEFAULT_BIN_SIZE`), as rates ``count / bin`` in Hz.
    When one role has a rate signal, the other role's spikes are binned on that
    signal's grid.  The spike times themselves go to the record's
    ``pre_spike_*`` / ``post_spike_*`` variables, ordered by time within each
    segment (ties in train order).

Exactness
    Neo rebuilds an AnalogSignal's times as ``t_start + i / rate`` and NWB stores
    times in seconds, so a few values would not come back bit for bit.  plastix
    stores in ``annotations["plastix_exact"]`` (JSON, arrays as base64) only what
    would otherwise change: the exact bin times of a segment, the decay in the
    record's unit, the order of unit ids and of spikes.  These are used only when
    they agree with the Neo objects to 1e-9, so an edited block is read from its
    Neo objects.  NWB (through ``neo.NWBIO``) keeps neither annotations nor
    array annotations: :func:`plastix.io.write_block` packs them, with the original names and
    units, into the NWB file's ``notes`` as JSON, and :func:`plastix.io.read_block` unpacks
    them, so all three formats give the same Block back.
"""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from plastix._util.errors import SchemaError, check_choice, did_you_mean
from plastix._util.optional import import_neo
from plastix._util.validate import check_positive
from plastix._util.warn import warn_caller
from plastix.io.lazy import Columns, stack_rows, with_lazy_activity
from plastix.io.neo_pack import arr_dec, arr_enc, dec, enc, quantities
from plastix.io.neo_parse import (
    ROLES,
    collect_spikes,
    harmonise_ids,
    id_array,
    json_annotation,
    parse_segment,
    py_scalar,
    read_decay,
    refine,
    segment_grid,
    to_pq_units,
    unit_order,
)
from plastix.io.spike_bins import spike_rates
from plastix.record import make_record, validate_record

__all__ = ["DEFAULT_BIN_SIZE", "to_neo", "from_neo", "pick_block"]

DEFAULT_BIN_SIZE = 0.01
"""Bin width (s) for spike trains when the block has no rate signal to follow."""

_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0, "step": 1.0}
_PQ_TIME = {"s": "s", "ms": "ms", "min": "min", "step": "s"}


# ---------------------------------------------------------------- record -> Block


def to_neo(ds: xr.Dataset) -> Any:
    """Convert a plastix record to a ``neo.Block`` following SPEC §9.

    Parameters
    ----------
    ds : xarray.Dataset
        A plastix record (see :mod:`plastix.record`).

    Returns
    -------
    neo.Block
        One Segment per value of ``segment``; ``"pre_rate"`` / ``"post_rate"``
        signals (units of the record's activity), a ``"weight"``
        IrregularlySampledSignal per segment, SpikeTrains when the record holds
        spike times, and the record's decay (1/s), provenance and truth in
        ``Block.annotations``.  See the module docstring for every detail.
    """
    validate_record(ds, stage="to_neo")
    neo = import_neo()
    tu = ds.attrs["time_units"]
    ids = {r: np.asarray(ds[r].values) for r in ROLES}
    ids = {r: (v.astype(str) if v.dtype == object else v) for r, v in ids.items()}
    spikes = {}
    for r in ROLES:
        if f"{r}_spike_time" in ds:
            spikes[r] = (np.asarray(ds[f"{r}_spike_time"].values, dtype=float),
                         _unit_index(r, ds[f"{r}_spike_unit"].values, ids[r]),
                         np.asarray(ds[f"{r}_spike_segment"].values))
    seg = np.asarray(ds["segment"].values)
    wseg = np.asarray(ds["weight_segment"].values)
    seg_ids = sorted({int(s) for s in chain(seg, wseg, *(v[2] for v in spikes.values()))})
    decay = float(ds["decay"].values)
    ann: dict[str, Any] = {
        "plastix_record_version": int(ds.attrs.get("plastix_record_version", 1)),
        "time_units": tu, "dt": float(ds.attrs["dt"]),
        "source": str(ds.attrs.get("source", "unknown")),
        "provenance": str(ds.attrs.get("provenance", "{}")),
        "truth": str(ds.attrs.get("truth", "{}")),
    }
    # SPEC §9: the true rule and its parameters as plain annotations too (true_rule, true_eta…)
    for key, value in json_annotation(ann["truth"]).items():
        if isinstance(value, (str, bool, int, float)):
            ann[f"true_{key}"] = value
    exact: dict[str, Any] = {"pre_ids": enc(ids["pre"]), "post_ids": enc(ids["post"]),
                             "segments": {}}
    if np.isfinite(decay):
        ann["decay"] = decay / _SEC_PER[tu]
        exact["decay"] = decay
    block = neo.Block(name="plastix record", description=f"plastix record from {ann['source']}")
    block.annotate(**ann)
    for s in seg_ids:
        segment, ex = _neo_segment(ds, s, ids, spikes)
        block.segments.append(segment)
        if ex:
            exact["segments"][str(s)] = ex
    for r, (st, su, ss) in spikes.items():
        canon = _canonical_spike_order(st, su, ss, len(ids[r]), seg_ids)
        if not np.array_equal(canon, np.arange(st.size)):
            exact[f"{r}_spike_order"] = arr_enc(np.argsort(canon, kind="stable"))
    exact["extra"] = _extras(ds)
    block.annotate(plastix_exact=json.dumps(exact))
    block.create_relationship()
    return block


def _neo_segment(ds: xr.Dataset, s: int, ids: dict[str, np.ndarray],
                 spikes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
                 ) -> tuple[Any, dict[str, Any]]:
    """Segment ``s`` of a record as a ``neo.Segment``, and its exact bin times if Neo's differ."""
    neo, pq = import_neo(), quantities()
    tu = ds.attrs["time_units"]
    tq = pq.Quantity(1.0, _PQ_TIME[tu]).units
    dt = float(ds.attrs["dt"])
    t = np.asarray(ds["time"].values, dtype=float)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    bins = np.flatnonzero(np.asarray(ds["segment"].values) == s)
    widx = np.flatnonzero(np.asarray(ds["weight_segment"].values) == s)
    segment = neo.Segment(name=f"segment {s}")
    segment.annotate(segment=s)
    ex: dict[str, Any] = {}
    if bins.size:
        ts = t[bins]
        for r in ROLES:
            sig = _activity_signal(neo, pq, ds[f"{r}_activity"], bins, ts, dt, tq, ids[r], r)
            if isinstance(sig, neo.AnalogSignal):
                segment.analogsignals.append(sig)
            else:
                segment.irregularlysampledsignals.append(sig)
        if not np.array_equal(sig.times.rescale(tq).magnitude, ts):
            ex["time"] = arr_enc(ts)
    if widx.size:
        segment.irregularlysampledsignals.append(
            _weight_signal(neo, ds["weight"].values[widx], wt[widx], tq, ids, ds["weight"].attrs))
    lo, hi = [], []
    if bins.size:
        lo.append(t[bins[0]])
        hi.append(t[bins[-1]] + dt)
    if widx.size:
        lo.append(wt[widx[0]])
        hi.append(wt[widx[-1]])
    for st, _, ss in spikes.values():
        if np.any(ss == s):
            lo.append(st[ss == s].min())
            hi.append(st[ss == s].max())
    t0 = float(min(lo)) if lo else 0.0
    t1 = float(max(hi)) if hi else t0
    t1 = t1 if t1 > t0 else t0 + dt
    for r, (st, su, ss) in spikes.items():
        act = ds[f"{r}_activity"].values[bins] if bins.size else np.empty((0, len(ids[r])))
        for j, u in enumerate(ids[r]):
            mask = (ss == s) & (su == j)
            if not mask.any() and not np.isfinite(act[:, j]).any():
                continue  # unit not recorded in this segment
            train = neo.SpikeTrain(st[mask] * tq, t_start=t0 * tq, t_stop=t1 * tq,
                                   name=f"{r} {u}")
            train.annotate(role=r, unit=py_scalar(u))
            segment.spiketrains.append(train)
    return segment, ex


def _activity_signal(neo, pq, da, bins, ts, dt, tq, ids, role):
    values = np.asarray(da.values[bins], dtype=float)
    label = str(da.attrs.get("units", "1"))
    units = to_pq_units(label)
    common = {"units": units, "name": f"{role}_rate", "array_annotations": {"unit": ids}}
    steps = np.diff(ts)
    if steps.size == 0 or np.all(np.abs(steps - dt) <= 1e-9 * dt):
        sig = neo.AnalogSignal(values, t_start=ts[0] * tq, sampling_period=dt * tq, **common)
    else:
        sig = neo.IrregularlySampledSignal(ts * tq, values, **common)
    sig.annotate(kind=str(da.attrs.get("kind", "rate")), plastix_units=label)
    return sig


def _weight_signal(neo, w, wt, tq, ids, attrs):
    measured = ~np.all(np.isnan(w), axis=0)
    pi, qi = np.nonzero(measured)
    if pi.size == 0:
        pi, qi = np.array([0]), np.array([0])
    label = str(attrs.get("units", "1"))
    sig = neo.IrregularlySampledSignal(
        wt * tq, w[:, pi, qi], units=to_pq_units(label), name="weight",
        array_annotations={"pre": ids["pre"][qi], "post": ids["post"][pi]})
    sig.annotate(plastix_units=label)
    return sig


def _unit_index(role: str, units: Any, ids: np.ndarray) -> np.ndarray:
    """Column of each spike's unit in ``ids``; every spike must belong to a listed unit."""
    keys = {str(x): j for j, x in enumerate(ids.tolist())}
    uniq, inv = np.unique(np.asarray(units).astype(str), return_inverse=True)
    missing = [u for u in uniq.tolist() if u not in keys]
    if missing:
        raise SchemaError(
            f"to_neo: `{role}_spike_unit` holds ids that are not in `{role}`: {missing[:5]}; "
            f"every spike must belong to a listed {role}synaptic unit.")
    return np.array([keys[u] for u in uniq.tolist()], dtype=np.int64)[inv.ravel()]


def _canonical_spike_order(st, su, ss, n_units, seg_ids) -> np.ndarray:
    """Indices of the spikes in the order :func:`from_neo` rebuilds them."""
    out = []
    for s in seg_ids:
        idx = np.concatenate([np.flatnonzero((ss == s) & (su == j)) for j in range(n_units)]
                             or [[]])
        idx = idx.astype(np.int64)
        out.append(idx[np.argsort(st[idx], kind="stable")])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


# ---------------------------------------------------------------- Block -> record


class _Header(NamedTuple):
    """What the block says about itself: written by plastix, time unit, exact values."""

    is_px: bool
    tu: str
    sec: float
    tq: Any
    exact: dict[str, Any]


def from_neo(block: Any, *, bin_size: float | None = None, source: str | None = None,
             weights_from: str | None = None, lazy: bool = False) -> xr.Dataset:
    """Read a ``neo.Block`` that follows the convention of SPEC §9 into a plastix record.

    Works for blocks written by :func:`to_neo` (exact round trip) and for blocks
    from any Neo reader (a rig file): spike trains only, rates only or both;
    weights as AnalogSignal or IrregularlySampledSignal; one or several segments
    (a session, a condition or one pairing experiment each).

    Parameters
    ----------
    block : neo.Block
        The block; see the module docstring for the convention.
    bin_size : float, optional
        Bin width in seconds for segments that have spike trains but no rate
        signal.  Default: the sampling period of the block's rate signals if it has
        any, else :data:`DEFAULT_BIN_SIZE` (0.01 s).  Segments with rate signals
        keep their own sampling.
    source : str, optional
        The record's ``source``; default ``"neo:<file name or block name>"`` (a block
        written by plastix keeps its own).
    weights_from : {None, "spikes"}
        ``"spikes"`` accepts segments without a ``weight`` signal (a recording of
        spike trains only, whose weights :func:`plastix.estimate.infer_weights`
        will infer): they get one all-NaN weight sample at their start (missing,
        never 0) and ``attrs["weights"] = "absent"``.  Default: such a block is
        refused.
    lazy : bool
        Bin spike trains only for the rows that are read
        (:class:`plastix.io.spike_bins.SpikeRates`), as rate signals of a lazily
        opened file are read (:func:`plastix.io.open_record`): the record then
        takes the memory of its spikes, not of its binned rates.

    Returns
    -------
    xarray.Dataset
        A validated record.  Blocks not written by plastix give time in s, rates
        in Hz, weights in the signal's unit, decay in 1/s; synapses without a
        channel stay NaN, never 0.

    Raises
    ------
    SchemaError
        When the block breaks the convention; the message names the segment and
        the missing or malformed object and what was found instead.
    """
    neo = import_neo()
    if not isinstance(block, neo.Block):
        raise TypeError(
            f"`block` must be a neo.Block; got {type(block).__name__}. Read files with "
            "plastix.io.read_block or any neo IO's read_block()."
        )
    if bin_size is not None:
        bin_size = check_positive("bin_size", bin_size, "(s)")
    if weights_from is not None:
        check_choice("weights_from", weights_from, ("spikes",))
    h = _header(block)
    if len(block.segments) == 0:
        raise SchemaError(
            "block: no Segment; expected at least one Segment (a session, condition or "
            "pairing experiment) holding the activity and a 'weight' signal; found 0.")
    kept = _nonempty_segments(block)
    parts = [parse_segment(i, sg, h.tq, h.is_px, need_weight=weights_from is None)
             for i, sg in kept]
    _require_activity(parts)
    seg_ids = _segment_ids([sg for _, sg in kept], parts)
    for r in ROLES:
        harmonise_ids(parts, r)
    ids = {r: unit_order(parts, r, h.exact.get(f"{r}_ids")) for r in ROLES}
    col = {r: {u: j for j, u in enumerate(ids[r])} for r in ROLES}
    act = _activity(parts, seg_ids, ids, col, h, _default_bin(parts, bin_size, h.sec), lazy)
    if bin_size is not None and act["used_bin"] is None:
        where = Path(str(block.file_origin)).name if block.file_origin else "block"
        warn_caller(f"{where}: `bin_size` (--bin-size) {bin_size:g} s is not used: "
                    "every segment's activity is a signal with its own sampling (spike "
                    "trains are binned on its samples); drop it, or resample the signals.",
                    UserWarning)
    (pre_label, pre_kind), (post_label, post_kind) = _activity_labels(act["labels"])
    dt = float(block.annotations["dt"]) if h.is_px else _bin_width(act["seg_dts"])
    w = _weights(parts, seg_ids, ids, col)
    absent = weights_from is not None and not np.asarray(w["times"]).size
    if absent:
        w = _absent_weights(act, seg_ids, ids)
    spikes = {r: collect_spikes(parts, seg_ids, r, h.exact.get(f"{r}_spike_order"))
              for r in ROLES}
    decay = read_decay(block.annotations.get("decay"), h.sec, h.exact.get("decay"))
    src, prov, tru = _origin(block, h.is_px, act["used_bin"])
    (pre_a, pre_lazy), (post_a, post_lazy) = (stack_rows(act[r]) for r in ROLES)
    ds = make_record(
        pre_a, post_a, w["values"],
        time=np.concatenate(act["times"]), weight_time=w["times"],
        dt=dt, pre=id_array(ids["pre"]), post=id_array(ids["post"]),
        segment=np.concatenate(act["segs"]), weight_segment=w["segs"],
        time_units=h.tu, activity_units=pre_label, activity_kind=pre_kind,
        post_activity_kind=post_kind, weight_units=w["units"], decay=decay,
        pre_spikes=spikes["pre"], post_spikes=spikes["post"], source=source or src,
        provenance=json_annotation(prov) if isinstance(prov, str) else prov, truth=tru)
    ds["post_activity"].attrs["units"] = post_label
    ds = validate_record(_restore(ds, block.annotations, h, prov), stage="from_neo")
    if absent:
        ds.attrs["weights"] = "absent"
    # activity left in the file (neo_files.open_nix, open_nwb) or binned when read
    return with_lazy_activity(ds, {"pre": pre_lazy, "post": post_lazy})


def _header(block: Any) -> _Header:
    ann = block.annotations
    is_px = "plastix_record_version" in ann
    tu = str(ann.get("time_units", "s")) if is_px else "s"
    if tu not in _SEC_PER:
        raise SchemaError(
            f"block: annotations['time_units'] must be one of {', '.join(map(repr, _SEC_PER))}; "
            f"got {tu!r}." + did_you_mean(tu, list(_SEC_PER)))
    tq = quantities().Quantity(1.0, _PQ_TIME[tu]).units
    exact = json_annotation(ann.get("plastix_exact", "{}")) if is_px else {}
    return _Header(is_px, tu, _SEC_PER[tu], tq, exact)


def _require_activity(parts: list[dict[str, Any]]) -> None:
    """Both roles need a rate signal or spike trains in at least one segment."""
    for r in ROLES:
        if not any(p["rate"][r] is not None or p["trains"][r] for p in parts):
            names = sorted({str(n) for p in parts for n in p["names"]})
            roles = sorted({str(x) for p in parts for x in p["roles"]})
            raise SchemaError(
                f"block: no {r}synaptic activity in any segment; expected an AnalogSignal named "
                f"'{r}_rate' or SpikeTrains with annotations['role'] == '{r}'; found signals "
                f"named {names} and spike trains with roles {roles}.")


def _nonempty_segments(block: Any) -> list[tuple[int, Any]]:
    """``(index in the block, Segment)`` of the segments that hold a signal or spike train.

    A segment with neither (Neo readers leave such segments for pauses or failed
    sweeps) holds no data and is left out, as data outside every epoch is; a
    block of empty segments only is refused, naming what was looked for.
    """
    kept = [(i, sg) for i, sg in enumerate(block.segments)
            if sg.analogsignals or sg.irregularlysampledsignals or sg.spiketrains]
    if not kept:
        raise SchemaError(
            f"block: all {len(block.segments)} Segment(s) are empty; expected signals "
            "('pre_rate', 'post_rate', 'weight') or SpikeTrains annotated with 'role' and "
            "'unit'; found no AnalogSignal, IrregularlySampledSignal or SpikeTrain. Check "
            "that the file holds the recording (plastix reads its first Block).")
    return kept


def _segment_ids(segments: list[Any], parts: list[dict[str, Any]]) -> list[int]:
    """The segments' ``annotations['segment']`` if all are increasing ints, else their
    positions in the block (0, 1, ...; an empty segment left out keeps its number)."""
    seg_ann = [py_scalar(sg.annotations.get("segment")) for sg in segments]
    if all(isinstance(x, int) and not isinstance(x, bool) for x in seg_ann) and (
            np.all(np.diff(seg_ann) > 0)):
        return [int(x) for x in seg_ann]
    return [p["index"] for p in parts]


def _default_bin(parts: list[dict[str, Any]], bin_size: float | None, sec: float) -> float:
    """Bin width (time units) for spike-only segments: ``bin_size``, a rate's period, or 10 ms."""
    rate_dts = [p["rate"][r]["dt"] for p in parts for r in ROLES
                if p["rate"][r] is not None and p["rate"][r]["dt"]]
    if bin_size is not None:
        return bin_size / sec
    return rate_dts[0] if rate_dts else DEFAULT_BIN_SIZE / sec


def _activity(parts, seg_ids, ids, col, h: _Header, default_bin: float,
              lazy: bool = False) -> dict[str, Any]:
    """Each segment's fine bins and dense activity (rate signals, or binned spike trains).

    Returns ``times``, ``segs``, ``pre`` and ``post`` (lists, one entry per
    segment: an array, or for a rate signal read lazily ``(Columns, record columns,
    n_units)``, see :func:`plastix.io.lazy.stack_rows`), ``seg_dts`` (bin widths
    found), ``used_bin`` (s, when spikes were binned) and ``labels`` (per role,
    ``{(unit, kind): first segment}``).
    """
    out: dict[str, Any] = {"times": [], "segs": [], "seg_dts": [], "used_bin": None,
                           "pre": [], "post": [], "labels": {r: {} for r in ROLES}}
    for p, s in zip(parts, seg_ids, strict=True):
        grid, seg_dt = segment_grid(p, default_bin, binning=not h.is_px, unit=_PQ_TIME[h.tu])
        if seg_dt is not None and not any(p["rate"][r] is not None for r in ROLES):
            out["used_bin"] = seg_dt * h.sec
        ex = h.exact.get("segments", {}).get(str(s), {})
        if "time" in ex:
            grid = refine(grid, arr_dec(ex["time"]), seg_dt or 1.0)
        out["times"].append(grid)
        out["segs"].append(np.full(grid.size, s, dtype=np.int64))
        if seg_dt:
            out["seg_dts"].append(seg_dt)
        for r in ROLES:
            rate, trains = p["rate"][r], p["trains"][r]
            if rate is not None and isinstance(rate["values"], Columns):
                if rate["values"].shape[0] == grid.size:  # else read it: the usual error
                    out[r].append((rate["values"], [col[r][u] for u in rate["ids"]],
                                   len(ids[r])))
                    out["labels"][r].setdefault((rate["label"], rate["kind"]), p["index"])
                    continue
                rate["values"] = rate["values"].read(0, rate["values"].shape[0])
            if rate is None and trains and grid.size:  # rates in Hz of each unit's train
                width = seg_dt or default_bin
                t_stop = max(x[3] for x in trains)  # Neo's t_stop holds spikes at it
                binned = spike_rates([st for _, st, _, _ in trains], grid, width,
                                     np.full(grid.size, t_stop),
                                     observed=_train_spans(trains, grid, width), sec=h.sec)
                cols = [col[r][u] for u, _, _, _ in trains]
                out["labels"][r].setdefault(("Hz", "rate"), p["index"])
                if lazy:  # binned when read
                    out[r].append((binned, cols, len(ids[r])))
                    continue
            a = np.full((grid.size, len(ids[r])), np.nan)
            if rate is not None:
                a[:, [col[r][u] for u in rate["ids"]]] = rate["values"]
                out["labels"][r].setdefault((rate["label"], rate["kind"]), p["index"])
            elif trains and grid.size:  # binned whole
                a[:, cols] = binned.read(0, grid.size)
            out[r].append(a)
    return out


def _train_spans(trains: list[tuple], grid: np.ndarray, width: float
                 ) -> list[np.ndarray | None] | None:
    """Each train's ``[t_start, t_stop)`` as its observation interval where it covers less
    than the segment's grid (a unit recorded for part of the segment): bins outside it
    are NaN (not recorded), never 0 Hz.  None when every train covers the grid."""
    if not grid.size:
        return None
    first, end = float(grid[0]), float(grid[-1]) + width
    tol = 1e-9 * max(abs(first), abs(end), width)
    spans = [np.array([[t0, t1]]) if (t0 > first + tol or t1 < end - width + tol) else None
             for _, _, t0, t1 in trains]
    return spans if any(s is not None for s in spans) else None


def _activity_labels(labels: dict[str, dict[tuple[str, str], int]]
                     ) -> tuple[tuple[str, str], tuple[str, str]]:
    """The one (unit, kind) of each role's activity; different ones across segments fail."""
    for r in ROLES:
        if len(labels[r]) > 1:
            desc = ", ".join(f"segment {i}: {k!r} in {u!r}" for (u, k), i in labels[r].items())
            raise SchemaError(
                f"block: {r}synaptic activity comes in different units or kinds across "
                f"segments ({desc}); convert the signals to one unit and kind.")
    pre, post = (next(iter(labels[r]), ("Hz", "rate")) for r in ROLES)
    return pre, post


def _bin_width(seg_dts: list[float]) -> float | None:
    """The one bin width of a block not written by plastix (None: make_record's median)."""
    if not seg_dts:
        return None
    if max(seg_dts) - min(seg_dts) > 1e-9 * max(seg_dts):
        raise SchemaError(
            f"block: segments have different bin widths ({sorted(set(seg_dts))} s); a "
            "plastix record has one bin width. Resample the rate signals, or remove them "
            "and pass bin_size= to bin the spike trains.")
    return float(seg_dts[0])


def _weights(parts, seg_ids, ids, col) -> dict[str, Any]:
    """The weight samples of all segments, dense ``(weight_time, post, pre)``, NaN if unmeasured."""
    wtimes, wsegs, wvals, wlabels = [], [], [], {}
    shape = (len(ids["post"]), len(ids["pre"]))
    for p, s in zip(parts, seg_ids, strict=True):
        w = p["weight"]
        if w is None:
            continue
        dense = np.full((w["times"].size, *shape), np.nan)
        rows = [col["post"][o] for o in w["post"]]
        dense[:, rows, [col["pre"][q] for q in w["pre"]]] = w["values"]
        wtimes.append(w["times"])
        wsegs.append(np.full(w["times"].size, s, dtype=np.int64))
        wvals.append(dense)
        wlabels.setdefault(w["label"], p["index"])
    if len(wlabels) > 1:
        desc = ", ".join(f"segment {i}: {u!r}" for u, i in wlabels.items())
        raise SchemaError(f"block: the 'weight' signals have different units across segments "
                          f"({desc}); convert them to one unit.")
    return {"times": np.concatenate(wtimes) if wtimes else [],
            "segs": np.concatenate(wsegs) if wsegs else [],
            "values": np.concatenate(wvals) if wvals else np.zeros((0, *shape)),
            "units": next(iter(wlabels), "1")}


def _absent_weights(act: dict[str, Any], seg_ids, ids) -> dict[str, Any]:
    """One all-NaN weight sample at the start of each segment: no weights were measured."""
    starts = [t[0] for t in act["times"] if t.size]
    segs = [s for t, s in zip(act["times"], seg_ids, strict=True) if t.size]
    return {"times": np.asarray(starts, float), "segs": np.asarray(segs, np.int64),
            "values": np.full((len(starts), len(ids["post"]), len(ids["pre"])), np.nan),
            "units": "1"}


def _origin(block: Any, is_px: bool, used_bin: float | None) -> tuple[str, Any, dict[str, Any]]:
    """Source, provenance (a JSON string for plastix blocks) and truth of the record."""
    ann = block.annotations
    if is_px:
        src = str(ann.get("source", "unknown"))
        prov, tru = str(ann.get("provenance", "{}")), ann.get("truth", "{}")
    else:
        origin = block.file_origin
        src = f"neo:{Path(str(origin)).name}" if origin else f"neo:{block.name or 'Block'}"
        prov = {"reader": "plastix.io.neo.from_neo", "block_name": block.name,
                "file_origin": None if origin is None else str(origin),
                "bin_size_s": used_bin, "neo_version": import_neo().__version__}
        tru = ann.get("truth", None) or {k[5:]: v for k, v in ann.items()
                                         if k.startswith("true_")}
    tru = json_annotation(tru) if isinstance(tru, str) else dict(tru)
    return src, prov, tru


def _restore(ds: xr.Dataset, ann: dict[str, Any], h: _Header, prov: Any) -> xr.Dataset:
    """Put back what a plastix block stored verbatim: provenance, truth, extra variables."""
    if h.is_px:
        ds.attrs["provenance"] = prov
        if isinstance(ann.get("truth"), str):
            ds.attrs["truth"] = ann["truth"]
    for name, e in h.exact.get("extra", {}).get("variables", {}).items():
        values = arr_dec(e["data"]) if isinstance(e["data"], dict) else np.asarray(e["data"])
        var = xr.Variable(e["dims"], values, attrs=dec(e["attrs"]))
        ds = ds.assign_coords({name: var}) if e["coord"] else ds.assign({name: var})
    ds.attrs.update(dec(h.exact.get("extra", {}).get("attrs", {})))
    return ds


_SCHEMA_VARS = {"time", "segment", "interval", "weight_time", "weight_segment", "pre", "post",
                "pre_activity", "post_activity", "weight", "decay"} | {
    f"{r}_spike_{k}" for r in ROLES for k in ("time", "unit", "segment")}
_SCHEMA_ATTRS = {"plastix_record_version", "dt", "time_units", "source", "provenance", "truth"}


def _extras(ds: xr.Dataset) -> dict[str, Any]:
    """Variables and attributes outside the schema, so that they survive the trip too."""
    out: dict[str, Any] = {"variables": {}, "attrs": enc({k: v for k, v in ds.attrs.items()
                                                          if k not in _SCHEMA_ATTRS})}
    for name in ds.variables:
        if name in _SCHEMA_VARS:
            continue
        values = np.asarray(ds[name].values)
        if values.dtype == object:
            values = values.astype(str)
        out["variables"][str(name)] = {
            "dims": list(ds[name].dims), "coord": name in ds.coords,
            "attrs": enc(dict(ds[name].attrs)),
            "data": arr_enc(values) if values.dtype.kind in "biufcUSM" else values.tolist()}
    return out


NEO_READ_OPTIONS = ("bin_size", "weights_from", "decay", "source")
"""Reader options a file in the Neo convention takes (its roles, series and synapses are
named in the file itself)."""


def read_neo_file(blocks: list[Any], path: str | Path, **options: Any) -> xr.Dataset:
    """The record of the first block read from ``path`` (a file in the Neo convention).

    ``options`` are those of :func:`from_neo` and ``decay`` (known decay rate in 1/s,
    replacing the file's); the options of the standard NWB reader that name units,
    series or synapses are refused in one line saying how the convention names them.
    """
    from plastix.io.nwb_scan import cli_flag, named_options
    from plastix.record import check_decay

    other = [k for k in options if k not in NEO_READ_OPTIONS]
    if other:
        given = named_options(other)
        raise ValueError(f"{given} cannot map {Path(path).name!r}: it follows the Neo convention, "
                         "where each SpikeTrain's annotations['role'] ('pre' or 'post') and "
                         "annotations['unit'] name its unit, and signals are named 'pre_rate', "
                         "'post_rate', 'weight' (the README's Neo section). Annotate the file so "
                         "(e.g. train.annotations['role'] = 'pre'), or drop the flag; the options "
                         f"that apply: {', '.join(map(cli_flag, NEO_READ_OPTIONS[:3]))}.")
    decay = options.pop("decay", None)
    ds = from_neo(pick_block(blocks, 0, path, record=True), **options)
    if decay is not None:
        if ds["decay"].attrs.get("units") != "1/s":
            raise ValueError(f"`decay` is in 1/s, and {Path(path).name!r} counts time in "
                             f"{ds['decay'].attrs.get('units', '?')[2:]!r}; set the decay in the "
                             "file (Block.annotations['decay']).")
        ds["decay"] = ds["decay"].copy(data=check_decay(decay))
    return ds


def pick_block(blocks: list[Any], index: int, path: str | Path, *,
               record: bool = False) -> Any:
    """Block ``index`` of the blocks read from ``path``; a clear error when it has none.

    A block without ``file_origin`` (NIX does not keep it) gets ``path``, so messages
    and the record's provenance name the file.  ``record=True`` (a file read as one
    record, its first block) warns when the file holds more blocks, which are left out."""
    if record and len(blocks) > 1:
        warn_caller(f"{Path(path).name!r} holds {len(blocks)} Neo Blocks; plastix reads the "
                    f"first as the record and leaves the other {len(blocks) - 1} out. To "
                    "estimate another, save it in a file of its own: plastix.io.write_block("
                    "plastix.io.read_block(path, block_index=i), 'block_i.nix').", UserWarning)
    if not 0 <= index < len(blocks):
        raise ValueError(f"`block_index` must be in [0, {len(blocks)}) for {Path(path).name!r}; "
                         f"got {index}.")
    block = blocks[index]
    if hasattr(block, "file_origin") and not block.file_origin:
        block.file_origin = str(path)
    return block
