"""What ``plastix inspect`` concludes from a record read: its one-line description, what
an estimate still lacks, the decay caveat and the kernel advice.

:func:`describe_record` summarises a record (sizes, units, spikes, measured weights,
segments, decay); :func:`_review` says what an estimate of it still lacks (the decay
when its weights are inferred from spikes or when no presynaptic unit is silent in two
consecutive weight intervals, :func:`silent_intervals`; a weight interval) and advises
``--kernel stdp`` for pairing protocols; :func:`_finish` writes that into an
:class:`~plastix.io.inspect_report.Inspection`.  A record's activity is read whole only
when it takes at most :data:`CHECK_VALUES_BYTES`, else by blocks of
:data:`BLOCK_VALUES` values or through its spike times, so a record opened lazily is
reviewed without being loaded.  Every format's inspector uses this module; it imports
none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from plastix.io.inspect_report import Inspection
from plastix.record import interval_follows, silent_after_silent


def describe_record(ds: xr.Dataset) -> str:
    """One line: sizes, units, spikes, measured weights, segments, decay of a record."""
    tu = ds.attrs.get("time_units", "s")
    measured = _measured_fraction(ds["weight"])
    spikes = ", ".join(f"{ds.sizes[f'{r}_spike']} {r} spikes" for r in ("pre", "post")
                       if f"{r}_spike_time" in ds)
    decay = float(ds["decay"].values)
    segs = np.unique(np.asarray(ds["segment"].values)).size
    return (f"{ds.sizes['time']} bins of {float(ds.attrs.get('dt', np.nan)):.6g} {tu} x "
            f"{ds.sizes['pre']} pre x "
            f"{ds.sizes['post']} post ({ds['pre_activity'].attrs.get('kind')} in "
            f"{ds['pre_activity'].attrs.get('units')}, {ds['post_activity'].attrs.get('kind')} "
            f"in {ds['post_activity'].attrs.get('units')}); {ds.sizes['weight_time']} weight "
            f"samples ({_weight_unit(ds['weight'].attrs.get('units'))}), {measured:.0%} of "
            "synapses "
            f"measured; {segs} segment(s); {spikes or 'no spike times'}; decay "
            + (f"{decay:g} 1/{tu}" if np.isfinite(decay) else "unknown (--decay)"
               if ds.attrs.get("weights") == "absent" else "unknown (estimated, or --decay)"))


BLOCK_VALUES = 1 << 22
"""Values of a record's activity or weights inspect reads at a time (32 MB of float64),
so a record opened lazily is summarised without being loaded."""


def _row_blocks(var: xr.DataArray) -> Any:
    """``(start, stop)`` of blocks of ``var``'s first axis, about :data:`BLOCK_VALUES`
    values each."""
    n = var.shape[0] if var.ndim else 0
    step = max(1, BLOCK_VALUES // max(int(np.prod(var.shape[1:])), 1))
    return ((a, min(a + step, n)) for a in range(0, n, step))


def _measured_fraction(w: xr.DataArray) -> float:
    """The fraction of synapses with a finite weight at any sample (read by blocks)."""
    if w.size == 0:
        return 0.0
    seen = np.zeros(w.shape[1:], dtype=bool)
    for a, b in _row_blocks(w):
        seen |= np.any(np.isfinite(np.asarray(w[a:b].values)), axis=0)
    return float(np.mean(seen))


def _weight_unit(units: Any) -> str:
    """The weights' unit for a report: ``mV``, or ``dimensionless`` for ``"1"`` or none."""
    text = "" if units is None else str(units).strip()
    return "dimensionless" if text in ("", "1", "dimensionless") else text


_ACTIVITY = ("pre_activity", "post_activity")


def _activity_bytes(ds: xr.Dataset) -> int:
    """The memory both roles' activity takes as float64."""
    return sum(int(np.prod(ds[v].shape)) for v in _ACTIVITY) * 8


CHECK_VALUES_BYTES = 256 * 2**20
"""Inspect checks every activity value of a record whose activity takes at most this
much memory; a larger one is described without reading it (the estimator checks its
values as it streams them)."""


def _activity_fits(ds: xr.Dataset) -> bool:
    """Whether both roles' activity takes at most :data:`CHECK_VALUES_BYTES` as float64
    (then it is read whole and every value checked)."""
    return _activity_bytes(ds) <= CHECK_VALUES_BYTES


@dataclass
class _Review:
    """What inspect concludes from a record: its description, what an estimate still
    lacks as ``(what, flag)``, advice as ``(line, flag)``, and a caveat on ``ready``."""

    desc: str
    lacking: list[tuple[str, str | None]]
    advice: list[tuple[str, str]] = field(default_factory=list)
    caveat: str = ""


_DECAY_CAVEAT = ("a presynaptic unit is silent in two consecutive weight intervals (the decay "
                 "is estimated from those); else add --decay G, the rate in 1/s (0 if the "
                 "weights do not decay)")


def _review(ds: xr.Dataset, desc: str | None = None, *, inferred: bool = False,
            any_size: bool = False) -> _Review:
    """:class:`_Review` of ``ds`` (``inferred``: its weights will be inferred from its
    spikes, ``--weights-from spikes``, whatever it holds; a record written by ``plastix
    infer-weights``, ``attrs["weights"]`` ``"inferred ..."``, counts as such;
    ``any_size``: read its activity by blocks whatever its size, :func:`silent_intervals`)."""
    inferred = (inferred or ds.attrs.get("weights") == "absent"
                or ds.attrs.get("weights") == "inferred")  # infer-weights'
    lacking = _still_lacking(ds, inferred=inferred)
    caveat = ""
    known = np.isfinite(float(ds["decay"].values))
    if not known and not inferred and not lacking:
        silent = silent_intervals(ds, any_size=any_size)
        if silent is None:
            caveat = _DECAY_CAVEAT
        elif silent == 0:
            lacking.append(("the decay rate: no presynaptic unit is silent in two "
                            "consecutive weight intervals, and the decay is estimated only "
                            "from those; give it in 1/s (0 if the weights do not decay)",
                            "--decay G"))
    advice = [] if inferred else _kernel_advice(ds)
    return _Review(desc or describe_record(ds), lacking, advice, caveat)


def _still_lacking(ds: xr.Dataset, *, inferred: bool = False) -> list[tuple[str, str | None]]:
    """What an estimate of ``ds`` still lacks, as ``(what, flag)``: the decay when its
    weights are to be inferred from its spikes and it carries none (the estimator reads
    the decay off synapses whose presynaptic unit falls silent for an interval, which
    inferred weights, NaN where a unit is silent, never offer); an interval, when no
    segment holds two measured weight samples."""
    out: list[tuple[str, str | None]] = []
    absent = inferred or ds.attrs.get("weights") == "absent"
    if absent and not np.isfinite(float(ds["decay"].values)):
        out.append(("the decay rate: weights inferred from spikes hold nothing it can be "
                    "estimated from; give it in 1/s (0 if the weights do not decay)",
                    "--decay G"))
    per_segment = np.unique(np.asarray(ds["weight_segment"].values), return_counts=True)[1]
    if not absent and per_segment.max(initial=0) < 2:
        out.append((f"a weight interval: the weights have {ds.sizes['weight_time']} sample(s), "
                    "and an estimate needs two in one segment (a change between them); "
                    "measure the weights more than once per segment, or map other segments "
                    "(--segments)", None))
    return out


def silent_intervals(ds: xr.Dataset, *, any_size: bool = False) -> int | None:
    """How many (weight interval, synapse) pairs have a silent presynaptic unit: no
    activity (all zero, no NaN) for the whole interval and for the interval just before
    it (:func:`~plastix.record.silent_after_silent`, the estimator's own rule),
    and the synapse's weight measured (finite, non-zero) at both of its ends; these are
    what the estimator estimates the decay from (``HebbianEstimator``).

    The activity is read when it is small (:data:`CHECK_VALUES_BYTES`); else the spike
    times are binned onto the weight intervals (a unit counts as active in an interval
    when it spikes within one bin, ``dt``, of it: never silent when the estimator may see
    a spike).  Returns None when neither is possible without reading a large activity
    series; with ``any_size`` (a record opened lazily from a file that stores its
    activity) the activity is read by blocks whatever its size.
    """
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    wseg = np.asarray(ds["weight_segment"].values)
    starts = np.flatnonzero(wseg[:-1] == wseg[1:])  # interval k: samples k and k + 1
    if starts.size == 0:
        return 0
    post_ok = np.ones((starts.size, ds.sizes["post"]), dtype=bool)
    if any_size or _activity_fits(ds):
        active, post_ok = _active_from_activity(ds, starts)
    elif all(f"pre_spike_{v}" in ds for v in ("time", "unit", "segment")):
        active = _active_from_spikes(ds, wt, wseg, starts)
    else:
        return None
    silent = silent_after_silent(~active, interval_follows(starts, wseg[starts]))
    count = 0
    for a, b in _row_blocks(ds["weight"][: starts.size]):  # (K, post, pre) by blocks of K
        w0 = np.asarray(ds["weight"][starts[a:b]].values, dtype=float)
        w1 = np.asarray(ds["weight"][starts[a:b] + 1].values, dtype=float)
        measured = np.isfinite(w0) & np.isfinite(w1) & (w0 != 0) & post_ok[a:b, :, None]
        count += int(np.sum(measured & silent[a:b, None, :]))
    return count


def _group_any(flags: np.ndarray, interval: np.ndarray, starts: np.ndarray, *,
               empty: bool = True) -> np.ndarray:
    """``(K, n)``: whether ``flags`` (time, n) is True in any bin of each interval
    ``starts[k]`` (``empty``, True by default, for an interval without bins: nothing to
    call silent)."""
    out = np.full((starts.size, flags.shape[1]), empty, dtype=bool)
    inside = interval >= 0
    keys, rows = interval[inside], flags[inside]
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    if keys.size == 0:
        return out
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    anyrow = np.logical_or.reduceat(rows, first, axis=0)
    pos = np.searchsorted(starts, keys[first])
    ok = (pos < starts.size) & (starts[np.minimum(pos, starts.size - 1)] == keys[first])
    out[pos[ok]] = anyrow[ok]
    return out


def _active_from_activity(ds: xr.Dataset, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per interval, which pre units are active or not recorded (any value not 0; NaN
    included), and which post units are recorded throughout (no NaN)."""
    interval = np.asarray(ds["interval"].values)
    active = np.zeros((starts.size, ds.sizes["pre"]), dtype=bool)
    gap = np.zeros((starts.size, ds.sizes["post"]), dtype=bool)
    for role, out, flag in (("pre", active, np.not_equal), ("post", gap, None)):
        var = ds[f"{role}_activity"]
        for a, b in _row_blocks(var):
            x = np.asarray(var[a:b].values)
            out |= _group_any(flag(x, 0) if flag else np.isnan(x), interval[a:b], starts,
                              empty=False)
    bins = np.isin(starts, interval)  # an interval without bins: nothing to call silent
    active[~bins], gap[~bins] = True, True
    return active, ~gap


def _active_from_spikes(ds: xr.Dataset, wt: np.ndarray, wseg: np.ndarray,
                        starts: np.ndarray) -> np.ndarray:
    """Per interval, which pre units spike within one bin of it (``(K, pre)``)."""
    import pandas as pd

    active = np.zeros((starts.size, ds.sizes["pre"]), dtype=bool)
    where = np.full(wt.size, -1)
    where[starts] = np.arange(starts.size)
    t = np.asarray(ds["pre_spike_time"].values, dtype=float)
    unit = pd.Index(np.asarray(ds["pre"].values)).get_indexer(
        np.asarray(ds["pre_spike_unit"].values))
    seg = np.asarray(ds["pre_spike_segment"].values)
    dt = float(ds.attrs.get("dt", 0.0))
    for s in np.unique(seg):
        lo, hi = np.searchsorted(wseg, s, "left"), np.searchsorted(wseg, s, "right")
        pick = (seg == s) & (unit >= 0)
        for shift in (-dt, 0.0, dt):
            j = lo + np.searchsorted(wt[lo:hi], t[pick] + shift, "right") - 1
            ok = (j >= lo) & (j < hi - 1)
            active[where[j[ok]], unit[pick][ok]] = True
    return active


def _kernel_advice(ds: xr.Dataset) -> list[tuple[str, str]]:
    """``--kernel stdp`` for a record of pairing protocols: spike times of both roles, and
    every segment that holds a weight interval holds exactly one (the weights measured
    before and after the pairings)."""
    if not all(f"{r}_spike_time" in ds and ds.sizes[f"{r}_spike"] for r in ("pre", "post")):
        return []
    counts = np.unique(np.asarray(ds["weight_segment"].values), return_counts=True)[1]
    if not np.any(counts >= 2) or np.any(counts > 2):
        return []
    return [("the segments are pairing protocols (spike times, weights measured once before "
             "and once after): add --kernel stdp, which counts spike pairs by their timing "
             "(the default, product, multiplies binned rates and misses it)", "--kernel stdp")]


def _finish(ins: Inspection, review: _Review) -> None:
    """Set the record's description, and ready unless something is still lacking."""
    ins.record, ins.ready, ins.caveat = review.desc, not review.lacking, review.caveat
    for what, flag in review.lacking:
        ins.missing.append(what)
        if flag is not None:
            ins.flags.append(flag)
    for line, flag in review.advice:
        ins.advice.append(line)
        ins.flags.append(flag)
