"""The plastix record: one labelled ``xarray.Dataset`` that flows between every stage.

Simulators write it, readers (Neo, NIX, NWB) produce it, the estimator reads it and
experiment design simulates more of it.  It holds

* activity of ``pre`` and ``post`` units on a *fine* time axis ``time``
  (a recording's time bins, or the samples of an artificial network's batches);
* weights ``(weight_time, post, pre)`` on a *coarse* axis ``weight_time``;
* the explicit mapping between the two: the coordinate ``interval`` on ``time``
  gives, for every fine bin, the index ``k`` of the weight interval
  ``[weight_time[k], weight_time[k+1])`` that contains it (``-1`` if none);
* units on every physical variable (``attrs["units"]``), the decay rate as a data
  variable, and provenance (source, configuration, seed, versions) in attributes.

Layout
------
=================  ==========================  ==========================================
name               dims                        meaning
=================  ==========================  ==========================================
``time``           (time,)                     left edge of each fine bin (``time_units``)
``segment``        (time,)                     session / condition / pairing id (int)
``interval``       (time,)                     weight interval containing the bin, or -1
``weight_time``    (weight_time,)              when each weight sample was taken
``weight_segment`` (weight_time,)              segment of each weight sample (int)
``pre``/``post``   (pre,) / (post,)            unit ids (int or str)
``pre_activity``   (time, pre)                 presynaptic rate, count or activation
``post_activity``  (time, post)                postsynaptic rate, count or pre-activation
``weight``         (weight_time, post, pre)    synaptic weight; NaN = not measured
``decay``          ()                          known decay rate (1 / time unit), NaN if unknown
``pre_spike_time`` (pre_spike,)                optional spike times, with ``pre_spike_unit``
                                               and ``pre_spike_segment``; same for ``post``
=================  ==========================  ==========================================

Time is strictly increasing within a segment, and segments appear in order.  Within
a segment each fine bin covers ``[time, time + dt)`` where ``dt`` is
``attrs["dt"]``.  An artificial network uses ``time_units = "step"``: the ``B``
samples of step ``k`` sit at ``k + b / B`` and the weights are sampled at integer
steps, so interval ``k`` is exactly the batch of step ``k``.

Weights are always ``(post, pre)``, like ``torch.nn.Linear.weight``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import SchemaError, check_choice
from plastix._util.validate import as_float_array, check_finite

__all__ = [
    "SchemaError",
    "RECORD_VERSION",
    "ACTIVITY_KINDS",
    "make_record",
    "validate_record",
    "interval_index",
    "interval_duration",
    "delta_weight",
    "interval_weight",
    "provenance",
    "truth",
    "records_equal",
    "compare_records",
    "check_decay",
    "MAX_RATE_HZ",
    "MAX_WEIGHT",
    "MAX_ARBITRARY",
    "value_bound",
    "beyond_bound",
    "check_streamed",
    "first_flagged",
    "interval_follows",
    "silent_after_silent",
]

RECORD_VERSION = 1
ACTIVITY_KINDS = ("rate", "count", "activation", "preactivation", "fluorescence")
_TIME_UNITS = ("s", "ms", "min", "step")
_REQUIRED_VARS = ("pre_activity", "post_activity", "weight")

MAX_RATE_HZ = 1e4
"""Largest firing rate (Hz) a record may hold.  No neuron fires faster than about
1 kHz (an absolute refractory period of at least 1 ms); 10 kHz leaves a tenfold
margin.  Binned counts get the equivalent, ``MAX_RATE_HZ × dt`` spikes per bin."""

MAX_WEIGHT = 1e6
"""Largest ``|weight|`` a record may hold, in its own units: a million times a
typical synapse in every unit in use (1 in an artificial network, 1-10 nS, 10-1000
pA, 0.1-10 mV), so only an overflowed, corrupt or wrongly scaled value exceeds it."""

MAX_ARBITRARY = 1e9
"""Largest ``|activity|`` in units without a physical scale (activations, a.u.,
fluorescence): beyond a 16-bit camera summed over 10⁴ pixels, and far from where
the estimator's squared sums overflow float64 (about 1e154)."""

_RATE_UNITS = {"Hz": 1.0, "1/s": 1.0, "kHz": 1e3, "1/ms": 1e3, "mHz": 1e-3, "1/min": 1 / 60}
"""Hertz per unit, for the activity units read as firing rates."""
_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0}


def _ids(name: str, ids: Any, n: int) -> np.ndarray:
    """Unit ids of one role: ``0 .. n-1`` by default, else one unique id per unit."""
    if ids is None:
        return np.arange(n)
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"`{name}` must list one id per unit ({n}); got shape {arr.shape}."
        )
    if len(np.unique(arr)) != n:
        raise ValueError(f"`{name}` must be unique; got duplicated ids in {arr.tolist()!r}.")
    return arr


def make_record(
    pre_activity: Any,
    post_activity: Any,
    weight: Any,
    *,
    time: Any,
    weight_time: Any,
    dt: float | None = None,
    pre: Any = None,
    post: Any = None,
    segment: Any = None,
    weight_segment: Any = None,
    time_units: str = "s",
    activity_units: str = "Hz",
    post_activity_units: str | None = None,
    activity_kind: str = "rate",
    post_activity_kind: str | None = None,
    weight_units: str = "1",
    decay: float | None = None,
    pre_spikes: Mapping[str, Any] | None = None,
    post_spikes: Mapping[str, Any] | None = None,
    source: str = "unknown",
    provenance: Mapping[str, Any] | None = None,
    truth: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build a validated plastix record.

    Parameters
    ----------
    pre_activity : array_like, shape (n_time, n_pre)
        Presynaptic activity on the fine axis (rates in ``activity_units``, counts
        per bin, or activations).  NaN marks a unit not recorded in that bin.
    post_activity : array_like, shape (n_time, n_post)
        Postsynaptic activity on the same axis.
    weight : array_like, shape (n_weight_time, n_post, n_pre)
        Weights, ``(post, pre)`` like ``torch.nn.Linear.weight``; NaN marks a
        synapse not measured at that sample (it stays missing, never 0).
    time : array_like, shape (n_time,)
        Left edge of each fine bin, in ``time_units``; strictly increasing within
        each segment.
    weight_time : array_like, shape (n_weight_time,)
        Time of each weight sample, in ``time_units``.
    dt : float, optional
        Width of a fine bin in ``time_units``; default: the median step of ``time``.
    pre, post : array_like, optional
        Unit ids; default ``0 .. n-1``.
    segment, weight_segment : array_like of int, optional
        Segment (session, condition, pairing experiment) of each fine bin and of
        each weight sample; default all 0.
    time_units : {"s", "ms", "min", "step"}
        Unit of ``time``, ``weight_time`` and ``dt``.
    activity_units : str
        Unit of the activity values ("Hz", "1" for counts, "a.u.").
    post_activity_units : str, optional
        Unit of ``post_activity`` when it differs from ``activity_units`` (allowed
        only when the two hold different kinds, e.g. spikes onto fluorescence).
    activity_kind : {"rate", "count", "activation", "preactivation", "fluorescence"}
        What ``pre_activity`` (and, unless ``post_activity_kind`` is given,
        ``post_activity``) holds.
    post_activity_kind : str, optional
        What ``post_activity`` holds when it differs (an artificial network stores
        the postsynaptic *pre-activation*, the paper's ``h_b``).
    weight_units : str
        Unit of the weights.
    decay : float, optional
        Known decay rate ``γ`` in 1 / ``time_units``; NaN (unknown) by default.
    pre_spikes, post_spikes : mapping, optional
        ``{"time": ..., "unit": ..., "segment": ...}`` spike events in
        ``time_units``; kept so that spike-timing kernels and Neo round-trips are
        exact.
    source : str
        Where the record came from ("ann", "brian2", "neo:<file>", ...).
    provenance : mapping, optional
        Configuration, seed and versions; stored as JSON in ``attrs``.
    truth : mapping, optional
        For simulations, the true rule and its parameters; stored as JSON.

    Returns
    -------
    xarray.Dataset
        The record, already checked by :func:`validate_record`.
    """
    pre_a = as_float_array("pre_activity", pre_activity, ndim=2)
    post_a = as_float_array("post_activity", post_activity, ndim=2)
    w = as_float_array("weight", weight)
    t = as_float_array("time", time, ndim=1)
    wt = as_float_array("weight_time", weight_time, ndim=1)
    check_choice("time_units", time_units, _TIME_UNITS)
    check_choice("activity_kind", activity_kind, ACTIVITY_KINDS)
    post_kind = activity_kind if post_activity_kind is None else post_activity_kind
    check_choice("post_activity_kind", post_kind, ACTIVITY_KINDS)
    w = _weight_3d(w)
    _check_shapes(pre_a, post_a, w, t, wt)
    pre_ids = _ids("pre", pre, pre_a.shape[1])
    post_ids = _ids("post", post, post_a.shape[1])
    seg, wseg = _segments(segment, weight_segment, t, wt)
    if dt is None:
        dt = _median_step(t, seg)
    coords = _coords(t, seg, wt, wseg, pre_ids, post_ids, time_units)
    data_vars: dict[str, Any] = {
        "pre_activity": (("time", "pre"), pre_a,
                         {"units": activity_units, "kind": activity_kind}),
        "post_activity": (("time", "post"), post_a,
                          {"units": post_activity_units or activity_units, "kind": post_kind}),
        "weight": (("weight_time", "post", "pre"), w, {"units": weight_units}),
        "decay": ((), check_decay(decay, unit=f"1/{time_units}"),
                  {"units": f"1/{time_units}", "long_name": "known weight-decay rate"}),
    }
    for role, spikes in (("pre", pre_spikes), ("post", post_spikes)):
        if spikes is not None:
            data_vars.update(_spike_vars(role, spikes, time_units))
    attrs = {
        "plastix_record_version": RECORD_VERSION,
        "dt": float(dt),
        "time_units": time_units,
        "source": str(source),
        "provenance": json.dumps(dict(provenance or {}), sort_keys=True, default=_json_default),
        "truth": json.dumps(dict(truth or {}), sort_keys=True, default=_json_default),
    }
    ds = xr.Dataset(data_vars=data_vars, coords=coords, attrs=attrs)
    return validate_record(ds)


MAX_DECAY = 1e9
"""A decay rate above this (per time unit: a time constant under a nanosecond) is no
physical weight decay, and would overflow the estimator's sums."""


def check_decay(value: Any, *, unit: str = "1/s", accepted: str = "",
                allow_unknown: bool = True) -> float:
    """A known weight-decay rate ``γ ≥ 0`` (in ``unit``) as a float; NaN if unknown.

    The record's model is ``dW/dt = g − γ W``.  Refused, with the found value and
    the fix: a bool, a quantity with units attached (``quantities``, ``brian2``;
    plastix takes plain floats), a negative or infinite rate, and a NaN (unknown)
    unless ``allow_unknown``.

    Parameters
    ----------
    value : float, None or NaN
        The decay rate; ``None`` and NaN mean unknown.
    unit : str
        Its unit, shown in messages (``"1/s"``, ``"1/ms"``, ``"1/step"``).
    accepted : str
        What the caller accepts, for the message about a wrong type (default
        ``"a number (unit), or None if unknown"``).
    allow_unknown : bool
        Whether ``None``/NaN (unknown) is allowed.
    """
    from plastix._util.validate import check_number

    accepted = accepted or f"a number ({unit}), or None if unknown"
    if value is None and allow_unknown:
        return float("nan")
    if hasattr(value, "dimensionality") or hasattr(value, "dim"):
        check_number("decay", value, unit=unit)  # raises its refusal of units
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`decay` must be {accepted}; got bool {value!r}. Pass the decay "
                        "rate itself, e.g. decay=0.01.")
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`decay` must be {accepted}; got {type(value).__name__}.")
    v = float(value)
    if np.isnan(v) and allow_unknown:
        return v
    if not np.isfinite(v):
        raise ValueError(f"`decay` must be a finite rate >= 0 ({unit}); got {v!r}. Pass the "
                         "decay rate" + (", or None if unknown." if allow_unknown else "."))
    if v < 0:
        raise ValueError(f"`decay` must be a rate >= 0 ({unit}) in dW/dt = g - decay * W; got "
                         f"{v!r}. A negative decay counts weight growth as decay and flips "
                         "the alignment: pass abs(decay) if your convention has the other sign.")
    if v > MAX_DECAY:
        raise ValueError(f"`decay` must be a rate below {MAX_DECAY:g} ({unit}); got {v:g}: a "
                         "weight that decays that fast has no time to change. Check its unit "
                         "(1/s, not 1/ms or a time constant).")
    return v


def _weight_3d(w: np.ndarray) -> np.ndarray:
    """Weights as (weight_time, post, pre); a single (post, pre) matrix gets one sample."""
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(
            f"`weight` must have 3 dimensions (weight_time, post, pre); got shape {w.shape}."
        )
    return w


def _segments(segment: Any, weight_segment: Any, t: np.ndarray, wt: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Segment ids of the bins (as given) and of the weight samples (int64); default all 0."""
    seg = np.zeros(t.shape[0], dtype=np.int64) if segment is None else np.asarray(segment)
    wseg = (
        np.zeros(wt.shape[0], dtype=np.int64) if weight_segment is None
        else np.asarray(weight_segment)
    )
    if seg.shape != t.shape:
        raise ValueError(
            f"`segment` must have one entry per time bin ({t.shape[0]}); got shape {seg.shape}."
        )
    if wseg.shape != wt.shape:
        raise ValueError(
            f"`weight_segment` must have one entry per weight sample ({wt.shape[0]}); "
            f"got shape {wseg.shape}."
        )
    return seg, wseg.astype(np.int64)


def _coords(t, seg, wt, wseg, pre_ids, post_ids, time_units: str) -> dict[str, Any]:
    """The record's coordinates, with the bin-to-interval mapping derived from the times."""
    interval = _map_intervals(t, seg, wt, wseg)
    return {
        "time": ("time", t, {"units": time_units, "long_name": "left edge of fine bin"}),
        "segment": ("time", seg.astype(np.int64)),
        "interval": ("time", interval, {"long_name": "weight interval containing the bin"}),
        "weight_time": ("weight_time", wt, {"units": time_units}),
        "weight_segment": ("weight_time", wseg),
        "pre": ("pre", pre_ids),
        "post": ("post", post_ids),
    }


def _spike_vars(role: str, spikes: Mapping[str, Any], time_units: str) -> dict[str, Any]:
    """The ``{role}_spike_time/unit/segment`` variables of one role's spike events."""
    st = as_float_array(f"{role}_spikes['time']", spikes["time"], ndim=1)
    su = np.asarray(spikes["unit"])
    ss = np.asarray(spikes.get("segment", np.zeros(st.shape[0], dtype=np.int64)))
    if su.shape != st.shape or ss.shape != st.shape:
        raise ValueError(
            f"`{role}_spikes` must give 'time', 'unit' and 'segment' of equal length; "
            f"got {st.shape[0]}, {su.shape[0]} and {ss.shape[0]}."
        )
    dim = f"{role}_spike"
    return {f"{role}_spike_time": (dim, st, {"units": time_units}),
            f"{role}_spike_unit": (dim, su),
            f"{role}_spike_segment": (dim, ss.astype(np.int64, copy=False))}


def _check_shapes(pre_a, post_a, w, t, wt) -> None:
    n_pre, n_post = pre_a.shape[1], post_a.shape[1]
    for name, arr in (("pre_activity", pre_a), ("post_activity", post_a)):
        if arr.shape[0] != t.shape[0]:
            raise ValueError(
                f"`{name}` must have one row per time bin ({t.shape[0]} bins in `time`); "
                f"got shape {arr.shape}. Activity is (time, unit); did you pass it transposed?"
            )
    if w.shape[1:] != (n_post, n_pre):
        hint = (" plastix stores weights as (post, pre), like torch.nn.Linear; did you pass W.T?"
                if w.shape[1:] == (n_pre, n_post) and n_pre != n_post else "")
        raise ValueError(
            f"`weight` must have shape (weight_time, post, pre) = (..., {n_post}, {n_pre}) to "
            f"match post_activity and pre_activity; got {w.shape}.{hint}"
        )
    if w.shape[0] != wt.shape[0]:
        raise ValueError(
            f"`weight` must have one sample per entry of `weight_time` ({wt.shape[0]}); "
            f"got {w.shape[0]}."
        )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _median_step(t: np.ndarray, seg: np.ndarray) -> float:
    steps = np.diff(t)[np.diff(seg) == 0]
    if steps.size == 0:
        return 1.0
    return float(np.median(steps))


def _map_intervals(
    t: np.ndarray, seg: np.ndarray, wt: np.ndarray, wseg: np.ndarray
) -> np.ndarray:
    """Index of the weight interval ``[wt[k], wt[k+1])`` (same segment) of each bin."""
    out = np.full(t.shape[0], -1, dtype=np.int64)
    for s in np.unique(seg):
        w_idx = np.flatnonzero(wseg == s)
        b_idx = np.flatnonzero(seg == s)
        if w_idx.size < 2 or b_idx.size == 0:
            continue
        edges = wt[w_idx]
        if np.any(np.diff(edges) <= 0):
            continue  # reported by the validator
        pos = np.searchsorted(edges, t[b_idx], side="right") - 1
        ok = (pos >= 0) & (pos < w_idx.size - 1)
        out[b_idx[ok]] = w_idx[pos[ok]]
    return out


def _schema(msg: str) -> SchemaError:
    return SchemaError(msg)


def validate_record(ds: Any, *, stage: str = "record") -> xr.Dataset:
    """Check that ``ds`` is a well-formed plastix record; return it unchanged.

    Called at every stage boundary (construction, file readers, simulators,
    estimator, design).  Every failure raises :class:`SchemaError` naming the
    variable, what was expected and what was found.  Besides the layout it
    checks physics: ``decay`` is a float rate ``>= 0`` (or NaN) stored in
    ``1/time_units``, and no activity or weight lies beyond :data:`MAX_RATE_HZ`
    (rates; ``MAX_RATE_HZ × dt`` for counts), :data:`MAX_ARBITRARY` (other
    activity) or :data:`MAX_WEIGHT` (the count and first location are given).

    Parameters
    ----------
    ds : xarray.Dataset
        The record.
    stage : str
        Name of the calling stage, used as a prefix in messages.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself.
    """
    where = f"{stage}: "
    if not isinstance(ds, xr.Dataset):
        raise TypeError(
            f"{where}expected a plastix record (xarray.Dataset from plastix.record.make_record "
            f"or load_record); got {type(ds).__name__}."
        )
    for name in _REQUIRED_VARS:
        if name not in ds.variables:
            raise _schema(
                f"{where}`{name}` is missing; a plastix record needs pre_activity, "
                f"post_activity and weight. Found variables: {sorted(map(str, ds.data_vars))}."
            )
    expected = {
        "pre_activity": ("time", "pre"),
        "post_activity": ("time", "post"),
        "weight": ("weight_time", "post", "pre"),
    }
    for name, dims in expected.items():
        found = tuple(ds[name].dims)
        if found != dims:
            hint = ""
            if name == "weight" and found == ("weight_time", "pre", "post"):
                hint = (" plastix stores weights as (post, pre), like torch.nn.Linear; "
                        "did you pass W.T?")
            if not hint and sorted(found) == sorted(dims):
                hint = (f" Reorder it by name: ds['{name}'] = ds['{name}'].transpose"
                        f"{dims} (then save to a new file).")
            raise _schema(
                f"{where}`{name}` must have dims {dims}; got {found}.{hint}"
            )
    for coord in ("time", "segment", "interval", "weight_time", "weight_segment", "pre", "post"):
        if coord not in ds.coords:
            raise _schema(f"{where}coordinate `{coord}` is missing; build records with "
                          "plastix.record.make_record.")
    if ds.sizes["time"] == 0:
        raise _schema(f"{where}the record is empty: `time` has 0 bins; expected at least 1.")
    if ds.sizes["weight_time"] == 0:
        raise _schema(f"{where}the record is empty: `weight_time` has 0 samples; "
                      "expected at least 1.")
    if ds.sizes["pre"] == 0 or ds.sizes["post"] == 0:
        raise _schema(f"{where}the record is empty: expected at least one pre and one post "
                      f"unit; got {ds.sizes['pre']} pre and {ds.sizes['post']} post.")
    _check_labels(where, ds)
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    wseg = np.asarray(ds["weight_segment"].values)
    check = _finite_or_schema
    check(where, "time", t, allow_nan=False)
    check(where, "weight_time", wt, allow_nan=False)
    check(where, "pre_activity", _stored(ds["pre_activity"].values), allow_nan=True)
    check(where, "post_activity", _stored(ds["post_activity"].values), allow_nan=True)
    check(where, "weight", ds["weight"].values, allow_nan=True)
    _check_order(where, "time", t, seg, "segment")
    _check_order(where, "weight_time", wt, wseg, "weight_segment")
    _check_physical(where, ds)
    units = {v: ds[v].attrs.get("units") for v in ("time", "weight_time")}
    if units["time"] != units["weight_time"]:
        raise _schema(
            f"{where}`time` and `weight_time` must share units; got {units['time']!r} and "
            f"{units['weight_time']!r}. Convert one of them before building the record."
        )
    a_units = {v: ds[v].attrs.get("units") for v in ("pre_activity", "post_activity")}
    kinds = {v: ds[v].attrs.get("kind") for v in ("pre_activity", "post_activity")}
    if a_units["pre_activity"] != a_units["post_activity"] and kinds["pre_activity"] == kinds[
        "post_activity"
    ]:
        raise _schema(
            f"{where}`pre_activity` and `post_activity` hold the same kind "
            f"({kinds['pre_activity']!r}) but different units: {a_units['pre_activity']!r} "
            f"and {a_units['post_activity']!r}. Convert them to one unit."
        )
    dt = ds.attrs.get("dt")
    if dt is None or not np.isfinite(dt) or dt <= 0:
        raise _schema(f"{where}attribute `dt` must be a positive bin width; got {dt!r}.")
    for role in ("pre", "post"):
        if f"{role}_spike_time" in ds.variables:
            st = np.asarray(ds[f"{role}_spike_time"].values)
            bad = np.flatnonzero(~np.isfinite(st))
            if bad.size:
                raise _schema(
                    f"{where}`{role}_spike_time` must hold finite times; {bad.size} of its "
                    f"{st.size} spikes are NaN or infinite (the first at index {bad[0]}). "
                    "Drop those spikes (a padded or missing spike time is no spike) and "
                    "rebuild the record."
                )
        if f"{role}_spike_unit" in ds.variables:
            units_ = _distinct(np.asarray(ds[f"{role}_spike_unit"].values)).astype(str)
            known = set(np.asarray(ds[role].values).astype(str).tolist())
            unknown = sorted(set(units_.tolist()) - known)
            if unknown:
                raise _schema(
                    f"{where}`{role}_spike_unit` holds ids that are not in `{role}`: "
                    f"{unknown[:5]}; every spike must belong to a listed {role}synaptic unit."
                )
    interval = np.asarray(ds["interval"].values)
    fresh = _map_intervals(t, seg, wt, wseg)
    if not np.array_equal(interval, fresh):
        raise _schema(
            f"{where}coordinate `interval` does not match `time` and `weight_time`; "
            "it is derived data: rebuild the record with make_record."
        )
    return ds


_UNITS_OF = ("time", "weight_time", "pre_activity", "post_activity", "weight", "decay")
"""Variables whose ``attrs["units"]`` a record must carry (a file written by hand may lack
them; a decay per millisecond read as per second would be 1000 times off)."""


def _check_labels(where: str, ds: xr.Dataset) -> None:
    """Refuse a record whose variables do not say their units (or activity its kind)."""
    bare = [v for v in _UNITS_OF if v in ds.variables and "units" not in ds[v].attrs]
    bare += [f"{v} (kind)" for v in ("pre_activity", "post_activity")
             if "kind" not in ds[v].attrs]
    if bare:
        raise _schema(
            f"{where}{', '.join(f'`{v}`' for v in bare)} carry no units (attrs['units']; "
            "activity also attrs['kind']: rate, count, fluorescence, ...); plastix never "
            "guesses them. Set them (ds['decay'].attrs['units'] = '1/s', ...) and save the "
            "record again, or build it with plastix.record.make_record.")


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of ``values`` (sorted): those of an integer array from one
    ``bincount`` over its range when that is not much longer than the array (a spike
    unit per spike: 1.5 M spikes of 1000 units in milliseconds, where converting every
    id to a string took 0.5 s), else ``np.unique``."""
    if values.dtype.kind in "iu" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * values.size:
            return np.flatnonzero(np.bincount(values - lo)) + lo
    return np.unique(values)


def _check_physical(where: str, ds: xr.Dataset) -> None:
    """Refuse a stored decay that is not a rate >= 0 in 1/time unit, and absurd values.

    Activity beyond :data:`MAX_RATE_HZ` (rates, counts), :data:`MAX_ARBITRARY`
    (other units) and weights beyond :data:`MAX_WEIGHT` are refused with the
    count and the first location.
    """
    tu = ds.attrs.get("time_units", "s")
    if "decay" in ds.variables:
        _check_stored_decay(where, ds["decay"], tu)
    for name in ("pre_activity", "post_activity", "weight"):
        bound = _magnitude_bound(ds, name, tu)[0]
        values = np.asarray(ds[name].values)
        if _within(_stored(values), bound):
            continue
        n_bad, first = first_flagged(beyond_bound(values, bound))
        raise _beyond(where, ds, name, n_bad, first, float(values[first]))


def _within(values: np.ndarray, bound: float) -> bool:
    """Whether no value is beyond ±``bound`` (NaN, a missing value, is within), found by two
    reductions that allocate nothing (``fmax``/``fmin`` skip NaN; inf is beyond): the
    masks of :func:`beyond_bound` take the activity's size again and are built only to
    name the first value beyond it."""
    if values.size == 0:
        return True
    if values.dtype.kind not in "fiu":
        return first_flagged(beyond_bound(values, bound)) is None
    return not (np.fmax.reduce(values, axis=None) > bound
                or np.fmin.reduce(values, axis=None) < -bound)


def beyond_bound(values: np.ndarray, bound: float, *, nan: bool = False) -> np.ndarray:
    """The mask of ``values`` beyond ±``bound`` (in their units; infinities included).

    Parameters
    ----------
    values : numpy.ndarray
        Any shape.
    bound : float
        The largest magnitude allowed.
    nan : bool
        Flag NaN too (an overflow's ``inf - inf``); False where NaN marks a missing value.
    """
    with np.errstate(invalid="ignore"):
        bad = np.abs(values) > bound
    if nan:
        bad |= np.isnan(values)
    return bad


def first_flagged(bad: np.ndarray) -> tuple[int, tuple[int, ...]] | None:
    """The number of True entries of ``bad`` and the index of the first (row-major, so
    the earliest along the first axis), or None when there is none: the one scan behind
    the validator's, the streaming reader's and the simulators' out-of-bound messages."""
    bad = np.asarray(bad)
    if bad.size == 0 or not bad.any():
        return None
    first = np.unravel_index(int(np.argmax(bad)), bad.shape)
    return int(np.count_nonzero(bad)), tuple(int(i) for i in first)


def _beyond(where: str, ds: xr.Dataset, name: str, n_bad: int, first: tuple[int, ...],
            value: float) -> SchemaError:
    """The error of ``n_bad`` values of ``name`` beyond its bound, the first at ``first``."""
    bound, unit, why = _magnitude_bound(ds, name, ds.attrs.get("time_units", "s"))
    at = ", ".join(f"{d} {_label(ds, d, i)}" for d, i in zip(ds[name].dims, first, strict=True))
    unit = "" if unit in ("", "1") else f" {unit}"
    return SchemaError(
        f"{where}`{name}` holds {n_bad} value{'s' if n_bad != 1 else ''} beyond "
        f"±{bound:g}{unit} ({why}); the first, {value:.4g}, at index "
        f"{first} ({at}). Check the units, or the file for overflowed or corrupt values.")


def value_bound(ds: xr.Dataset, name: str) -> float:
    """The largest magnitude ``ds[name]`` may hold (:func:`validate_record`'s bound, in the
    variable's own units): rates, counts, other activity or weights."""
    return _magnitude_bound(ds, name, ds.attrs.get("time_units", "s"))[0]


def check_streamed(ds: xr.Dataset, name: str, blocks: Any, *, stage: str) -> None:
    """Refuse inf and out-of-bound values of ``ds[name]`` read in pieces, as
    :func:`validate_record` refuses them in a record held in memory.

    A lazily opened record is validated without its values; the streaming reader
    checks each batch against :func:`value_bound` and, when one fails, calls this
    on the whole variable so that the message gives the same count and first
    location as for the record loaded whole.

    Parameters
    ----------
    ds : xarray.Dataset
        The record (its coordinates label the location).
    name : str
        ``"pre_activity"``, ``"post_activity"`` or ``"weight"``.
    blocks : iterable of (int, ndarray)
        Consecutive pieces of the variable along its first axis, in order: the
        index of the piece's first row and its values.
    stage : str
        Name of the calling stage, used as a prefix in messages.

    Raises
    ------
    SchemaError
        On any inf value (NaN marks a missing value and is allowed), else on any
        value beyond the bound; nothing when all pieces are within it.
    """
    where = f"{stage}: "
    bound = value_bound(ds, name)
    n_inf = n_big = 0
    first_inf = first_big = None
    big_value = 0.0
    for start, values in blocks:
        values = np.asarray(values, dtype=float)
        inf, big = first_flagged(np.isinf(values)), first_flagged(beyond_bound(values, bound))
        if inf is not None:
            first_inf = first_inf or (start + inf[1][0], *inf[1][1:])
            n_inf += inf[0]
        if big is not None:
            if first_big is None:
                first_big = (start + big[1][0], *big[1][1:])
                big_value = float(values[big[1]])
            n_big += big[0]
    if n_inf:
        raise SchemaError(
            f"{where}`{name}` must be finite (NaN marks a missing value and is allowed here); "
            f"found {n_inf} inf value{'s' if n_inf != 1 else ''}, the first at index "
            f"{first_inf}.")
    if n_big:
        raise _beyond(where, ds, name, n_big, first_big, big_value)


def interval_follows(k: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Whether each interval starts where the one before it ends (``k[i] == k[i-1] + 1``,
    both in the same segment).

    Parameters
    ----------
    k : ndarray of int, (K,)
        The weight sample opening each interval, in increasing order.
    segment : ndarray, (K,)
        The segment of each interval (any key that differs between segments).

    Returns
    -------
    ndarray of bool, (K,)
        False for the first interval.
    """
    k, segment = np.asarray(k), np.asarray(segment)
    out = np.zeros(k.size, dtype=bool)
    out[1:] = (k[1:] == k[:-1] + 1) & (segment[1:] == segment[:-1])
    return out


def silent_after_silent(silent: np.ndarray, follows: np.ndarray,
                        rows: np.ndarray | None = None) -> np.ndarray:
    """Which presynaptic units are silent in an interval and in the interval just before
    it: the only silent intervals the decay is estimated from.

    A rule driven by a presynaptic trace still moves a weight early in a silent interval,
    after a spike just before it, which would bias the decay estimated from silent
    synapses low (2.39 for a true 4/s on the bundled spiking recording, whose trace
    lasts 50 ms; 3.16 with this rule, whose first-order equivalent of 4/s over 0.1 s
    is 3.30).  The estimator (``HebbianEstimator``) and ``plastix inspect`` both apply it.

    Parameters
    ----------
    silent : ndarray of bool, (K, pre)
        Whether each presynaptic unit is silent (recorded, no activity) in each interval;
        only the rows ``rows`` and those just before them are read.
    follows : ndarray of bool, (K,)
        Whether each interval starts where the one before it ends, in the same segment
        (:func:`interval_follows`).
    rows : ndarray of int, optional
        The intervals to answer for (default: all).

    Returns
    -------
    ndarray of bool, (len(rows), pre)
    """
    rows = np.arange(silent.shape[0]) if rows is None else np.asarray(rows)
    prev = np.zeros((rows.size, silent.shape[1]), dtype=bool)
    has = np.asarray(follows)[rows] & (rows > 0)
    prev[has] = silent[rows[has] - 1]
    return silent[rows] & prev


def _stored(values: np.ndarray) -> np.ndarray:
    """The values a broadcast view repeats (its axes of stride 0 cut to length 1).

    A record opened lazily holds a read-only broadcast of zeros in place of its
    activity while it is validated (:func:`plastix.io.lazy.placeholder`); checking
    what it stores, not its full shape, keeps that check from allocating the size
    of the activity.  Any other array is returned as it is.
    """
    values = np.asarray(values)
    if values.size == 0 or 0 not in values.strides:
        return values
    return values[tuple(slice(0, 1) if st == 0 else slice(None) for st in values.strides)]


def _label(ds: xr.Dataset, dim: str, i: int) -> str:
    """The coordinate value of position ``i`` along ``dim``, for messages."""
    if dim not in ds.coords:
        return str(i)
    v = np.asarray(ds[dim].values)[i]
    return f"{float(v):.6g}" if np.asarray(v).dtype.kind == "f" else str(v)


def _magnitude_bound(ds: xr.Dataset, name: str, tu: str) -> tuple[float, str, str]:
    """The largest magnitude ``name`` may hold, its unit, and why."""
    units = str(ds[name].attrs.get("units", "1"))
    if name == "weight":
        return MAX_WEIGHT, units, "a million times any real synapse"
    if units in _RATE_UNITS:
        return (MAX_RATE_HZ / _RATE_UNITS[units], units,
                "10 kHz: no neuron fires faster than about 1 kHz")
    if ds[name].attrs.get("kind") == "count" and tu in _SEC_PER:
        dt = float(ds.attrs["dt"])
        bound = float(max(1, math.ceil(MAX_RATE_HZ * dt * _SEC_PER[tu])))
        return (bound, "spikes per bin", f"10 kHz over a bin of {dt:g} {tu}: no neuron fires "
                "faster than about 1 kHz")
    return MAX_ARBITRARY, units, "no activation or fluorescence signal is that large"


def with_decay(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with a ``decay`` variable: NaN (unknown) in ``1/time_units`` when a record
    written by other code has none (the layout's "NaN if unknown"); else ``ds`` itself."""
    if "decay" in ds.variables:
        return ds
    tu = ds.attrs.get("time_units", "s")
    out = ds.assign(decay=xr.DataArray(np.nan, attrs={"units": f"1/{tu}"}))
    out.set_close(ds.close)  # closing the copy closes a lazily opened file
    return out


def _check_stored_decay(where: str, var: xr.DataArray, tu: str) -> None:
    """A stored decay: a float rate >= 0 (or NaN) in ``1/{tu}``."""
    unit = f"1/{tu}"
    stored = var.attrs.get("units", unit)
    if stored != unit:
        fix = ""
        du = str(stored)[2:] if str(stored).startswith("1/") else None
        if du in _SEC_PER and tu in _SEC_PER:
            fix = f" (multiply it by {_SEC_PER[tu] / _SEC_PER[du]:g})"
        raise SchemaError(f"{where}`decay` is stored in {stored!r} but the record's time unit "
                          f"is {tu!r}: store it in {unit}{fix}.")
    value = var.values
    if value.dtype.kind == "b" or value.dtype.kind not in "iuf":
        raise SchemaError(f"{where}`decay` must be stored as a rate in {unit} (a float, NaN if "
                          f"unknown); got {value.dtype} {value.item()!r}. Rewrite it as the "
                          "decay rate.")
    try:
        check_decay(value.item(), unit=unit)
    except ValueError as err:
        raise SchemaError(where + str(err)) from None


def _finite_or_schema(where: str, name: str, arr: np.ndarray, *, allow_nan: bool) -> None:
    """Refuse inf (and NaN unless ``allow_nan``) in ``arr``; the mask naming the first is
    built only when a reduction that allocates nothing finds one (:func:`_all_finite`)."""
    if _all_finite(arr, allow_nan=allow_nan):
        return
    try:
        check_finite(name, np.asarray(arr, dtype=float), allow_nan=allow_nan)
    except ValueError as err:
        raise SchemaError(where + str(err)) from None


def _all_finite(arr: Any, *, allow_nan: bool) -> bool:
    """Whether the numbers ``arr`` hold no inf (nor NaN unless ``allow_nan``), from
    reductions of the array as stored (no float64 copy, no mask); False also when the
    reductions cannot tell (not numbers, or a sum that overflows: the caller checks)."""
    arr = np.asarray(arr)
    if arr.dtype.kind in "iub" or arr.size == 0:
        return True
    if arr.dtype.kind != "f":
        return False
    if allow_nan:  # fmax/fmin skip NaN: an inf is the largest or the smallest
        return not (np.isinf(np.fmax.reduce(arr, axis=None))
                    or np.isinf(np.fmin.reduce(arr, axis=None)))
    return bool(np.isfinite(np.add.reduce(arr, axis=None)))


def _check_order(where: str, name: str, t: np.ndarray, seg: np.ndarray, seg_name: str) -> None:
    if np.any(np.diff(seg) < 0):
        i = int(np.flatnonzero(np.diff(seg) < 0)[0])
        raise _schema(
            f"{where}`{seg_name}` must be non-decreasing (segments in order); it decreases "
            f"at index {i + 1} ({seg[i]} -> {seg[i + 1]})."
        )
    same = np.diff(seg) == 0
    bad = same & (np.diff(t) <= 0)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise _schema(
            f"{where}`{name}` must be strictly increasing within a segment; it goes from "
            f"{float(t[i])!r} to {float(t[i + 1])!r} at index {i + 1}. Sort the samples by "
            f"time or give each session its own `{seg_name}`."
        )


# ---------------------------------------------------------------- derived quantities


def interval_index(ds: xr.Dataset) -> np.ndarray:
    """Indices ``k`` of the weight samples that open a valid interval.

    Interval ``k`` runs from ``weight_time[k]`` to ``weight_time[k+1]`` within one
    segment.
    """
    wseg = np.asarray(ds["weight_segment"].values)
    return np.flatnonzero(wseg[:-1] == wseg[1:])


def interval_duration(ds: xr.Dataset) -> xr.DataArray:
    """Duration of each interval, in ``time_units``; dims ``(interval,)``."""
    k = interval_index(ds)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    return xr.DataArray(
        wt[k + 1] - wt[k], dims=("interval",), coords={"interval": k},
        attrs={"units": ds.attrs["time_units"]},
    )


def delta_weight(ds: xr.Dataset) -> xr.DataArray:
    """Observed weight change over each interval, ``W[k+1] − W[k]``.

    Returns
    -------
    xarray.DataArray
        Dims ``(interval, post, pre)``; NaN where either sample is missing.
    """
    k = interval_index(ds)
    w = ds["weight"].values
    return xr.DataArray(
        w[k + 1] - w[k], dims=("interval", "post", "pre"),
        coords={"interval": k, "post": ds["post"].values, "pre": ds["pre"].values},
        attrs={"units": ds["weight"].attrs.get("units", "1")},
    )


def interval_weight(ds: xr.Dataset) -> xr.DataArray:
    """Weight at the start of each interval, ``W[k]``; dims ``(interval, post, pre)``."""
    k = interval_index(ds)
    return xr.DataArray(
        ds["weight"].values[k], dims=("interval", "post", "pre"),
        coords={"interval": k, "post": ds["post"].values, "pre": ds["pre"].values},
        attrs={"units": ds["weight"].attrs.get("units", "1")},
    )


def provenance(ds: xr.Dataset) -> dict[str, Any]:
    """The provenance dictionary stored in the record."""
    return json.loads(ds.attrs.get("provenance", "{}"))


def truth(ds: xr.Dataset) -> dict[str, Any]:
    """The ground truth (rule and parameters) of a simulated record; ``{}`` if unknown."""
    return json.loads(ds.attrs.get("truth", "{}"))


# ---------------------------------------------------------------- comparison


def records_equal(a: xr.Dataset, b: xr.Dataset, *, rtol: float = 0.0) -> bool:
    """True when two records hold the same values, coordinates, units and provenance.

    NaN compares equal to NaN.  ``rtol`` allows for formats that store float32.
    """
    try:
        compare_records(a, b, rtol=rtol)
    except AssertionError:
        return False
    return True


def compare_records(a: xr.Dataset, b: xr.Dataset, *, rtol: float = 0.0) -> None:
    """Raise ``AssertionError`` describing the first difference between two records."""
    names = sorted(set(a.variables) | set(b.variables))
    for name in names:
        if name not in a.variables or name not in b.variables:
            raise AssertionError(f"variable {name!r} is in only one record")
        va, vb = a[name], b[name]
        if va.dims != vb.dims:
            raise AssertionError(f"{name}: dims {va.dims} != {vb.dims}")
        xa, xb = np.asarray(va.values), np.asarray(vb.values)
        if xa.dtype.kind in "fc" or xb.dtype.kind in "fc":
            np.testing.assert_allclose(xa.astype(float), xb.astype(float), rtol=rtol,
                                       atol=0, equal_nan=True, err_msg=name)
        elif not np.array_equal(xa.astype(str), xb.astype(str)):
            raise AssertionError(f"{name}: values differ")
        for key in ("units", "kind"):
            ua, ub = va.attrs.get(key), vb.attrs.get(key)
            if ua != ub:
                raise AssertionError(f"{name}: {key} {ua!r} != {ub!r}")
    for key in ("dt", "time_units", "provenance", "truth", "source"):
        if key == "dt":
            if not np.isclose(a.attrs.get(key), b.attrs.get(key), rtol=max(rtol, 1e-12)):
                raise AssertionError(f"attribute dt differs: {a.attrs.get(key)} != "
                                     f"{b.attrs.get(key)}")
        elif a.attrs.get(key) != b.attrs.get(key):
            raise AssertionError(f"attribute {key!r} differs")


