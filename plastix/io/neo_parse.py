"""Reading a ``neo.Block`` back into a record: units, segment parsing and binning.

The helpers behind :func:`plastix.io.neo.from_neo` (and the unit conversions that
:func:`plastix.io.neo.to_neo` shares): each segment's rate signals, spike trains and
weight signals are parsed and checked (with messages that name the segment and the
object), spike trains are binned on the segment's grid, and identifiers and
annotations are decoded.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import numpy as np

from plastix._util.errors import SchemaError, did_you_mean
from plastix._util.optional import import_neo
from plastix.io.neo_pack import arr_dec, dec, quantities
from plastix.io.unit_select import unit_id
from plastix.record import ACTIVITY_KINDS

__all__ = ["ROLES", "LAZY", "py_scalar", "to_pq_units", "json_annotation", "parse_segment",
           "group_roles",
           "harmonise_ids", "unit_order", "id_array", "segment_grid", "refine",
           "collect_spikes", "read_decay"]

ROLES = ("pre", "post")
"""The two sides of a synapse, in the order plastix lists them."""

LAZY = "_plastix_columns"
"""Attribute of a rate signal read lazily: its :class:`plastix.io.lazy.Columns` in the file."""


def py_scalar(x: Any) -> Any:
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return x.item() if isinstance(x, np.generic) else x


def to_pq_units(label: str):
    """The ``quantities`` unit of a record's unit string; unknown strings are dimensionless."""
    pq = quantities()
    if label in ("1", "", "a.u.", "au", "dimensionless", None):
        return pq.dimensionless
    try:
        return pq.Quantity(1.0, label).units
    except Exception:  # unknown unit strings (e.g. "dF/F") are stored dimensionless
        return pq.dimensionless


def json_annotation(v: Any) -> dict[str, Any]:
    """A JSON-object annotation (a dict, or a JSON string) as a dict; ``{}`` if not an object."""
    if isinstance(v, dict):
        return v
    try:
        out = json.loads(str(v))
    except json.JSONDecodeError as err:
        raise SchemaError(f"block: expected a JSON object in an annotation; got {str(v)[:60]!r}"
                          f" ({err}).") from None
    return out if isinstance(out, dict) else {}


def _is_frequency(units) -> bool:
    pq = quantities()
    return units.simplified.dimensionality == pq.Hz.simplified.dimensionality


def _nwb_hint(obj: Any) -> str:
    if "nwb_group" not in obj.annotations:
        return ""
    return (" This object was read by neo.NWBIO, which keeps neither Neo annotations nor "
            "signal names: annotate the block after reading, or write NWB files with "
            "plastix.io.write_block, which keeps them.")


def _where(i: int, seg: Any) -> str:
    return f"segment {i} ({seg.name!r})" if seg.name else f"segment {i}"


def _scalar(q: Any, units: Any) -> float:
    return float(np.asarray(q.rescale(units).magnitude, dtype=float).reshape(-1)[0])


def _times(sig: Any, tq: Any) -> np.ndarray:
    return np.asarray(sig.times.rescale(tq).magnitude, dtype=float)


def _values(sig: Any, *, rate_like: bool) -> tuple[np.ndarray, str]:
    """Magnitudes and unit label of a signal: its ``plastix_units`` if they fit, else SI."""
    pq = quantities()
    label = sig.annotations.get("plastix_units")
    if isinstance(label, str):
        try:
            return np.asarray(sig.rescale(to_pq_units(label)).magnitude, dtype=float), label
        except ValueError:
            pass  # the signal's units no longer match its label: read its own units
    units = sig.units
    if units.simplified.dimensionality.string == "dimensionless":
        return np.asarray(sig.rescale(pq.dimensionless).magnitude, dtype=float), "1"
    if rate_like and _is_frequency(units):
        return np.asarray(sig.rescale(pq.Hz).magnitude, dtype=float), "Hz"
    return np.asarray(sig.magnitude, dtype=float), units.dimensionality.string


def _rate_values(sig: Any) -> tuple[Any, str]:
    """A rate signal's values (:func:`_values`), or its lazily read :class:`Columns`.

    A signal read lazily (:data:`LAZY`, set by :func:`plastix.io.neo_files.open_nix` and
    :func:`plastix.io.neo_files.open_nwb`)
    holds no values; its unit conversion is found on a row of ones.
    """
    columns = getattr(sig, LAZY, None)
    if columns is None:
        return _values(sig, rate_like=True)
    ones = sig.duplicate_with_new_data(np.ones((1, sig.shape[1])))
    scale, label = _values(ones, rate_like=True)
    return columns.scaled(scale[0]), label


def _array_ids(where: str, sig: Any, key: str, what: str) -> list[Any]:
    arr_ann = sig.array_annotations
    n = sig.shape[1]
    if key not in arr_ann:
        raise SchemaError(
            f"{where}: the {sig.name!r} signal has no array_annotations[{key!r}]; expected one "
            f"{what} id per channel ({n} channel{'s' if n != 1 else ''}); found "
            f"array_annotations keys {sorted(arr_ann)}." + _nwb_hint(sig))
    return [unit_id(x) for x in np.asarray(arr_ann[key]).tolist()]


def _role_hint(role: Any) -> str:
    """The fix for a role that is not ``'pre'`` / ``'post'``: the role it likely means."""
    plain = str(role).strip().lower()
    if plain in ROLES:
        return f" Set annotations['role'] = {plain!r} (roles are lower case, without spaces)."
    return did_you_mean(plain, ROLES)


def group_roles(seg: Any) -> dict[int, dict[str, str]] | None:
    """The roles the groups of a segment's block give its spike trains: for each train (by
    ``id``) the names of the groups it is in, by role (``{"pre": "Pre"}``), from every
    ``Block.groups`` named for a role (``pre``, ``post``, ``presynaptic``...:
    :func:`plastix.io.unit_select.role_value`); None when the block has no such group."""
    from plastix.io.unit_select import role_value

    block = getattr(seg, "block", None)
    named = [(role_value(g.name), g) for g in getattr(block, "groups", None) or []
             if g.name is not None and role_value(g.name) in ROLES]
    if not named:
        return None
    out: dict[int, dict[str, str]] = {}
    for role, g in named:
        for st in g.spiketrains:
            out.setdefault(id(st), {})[role] = str(g.name)
    return out


def _train_role(what: str, st: Any, grouped: dict[int, dict[str, str]] | None) -> str:
    """A spike train's role: its ``annotations['role']``, else the one group named for a
    role that holds it (:func:`group_roles`); refused naming the train when neither says,
    when it is in both roles' groups, or when its group contradicts its annotation."""
    groups = {} if grouped is None else grouped.get(id(st), {})
    if "role" in st.annotations:
        role = st.annotations["role"]
        if role not in ROLES:
            raise SchemaError(f"{what} has annotations['role'] = {role!r}; expected 'pre' or "
                              "'post'." + _role_hint(role))
        other = next((name for r, name in groups.items() if r != role), None)
        if other is not None:
            raise SchemaError(f"{what} has annotations['role'] = {role!r} but is in the group "
                              f"{other!r} of Block.groups; expected one role. Remove it from "
                              "that group, or correct its annotation, and save the block again, "
                              "to a new file.")
        return role
    if len(groups) == 1:
        return next(iter(groups))
    if len(groups) > 1:
        raise SchemaError(f"{what} is in both the group {groups['pre']!r} and the group "
                          f"{groups['post']!r} of Block.groups; expected one role per spike "
                          "train. Remove it from one group and save the block again, to a new "
                          "file.")
    if grouped is not None:
        raise SchemaError(f"{what} has no annotations['role'] and is in no group named for a "
                          "role (the Block.groups named pre and post hold the other trains); "
                          "expected each spike train in one. Add it to the group of its role "
                          "(group.add(train)) and save the block again, to a new file.")
    raise SchemaError(f"{what} has no annotations['role']; expected 'pre' or 'post'; "
                      f"found annotations {sorted(st.annotations)}."
                      + (_nwb_hint(st) or " Give each spike train its role "
                         "(train.annotations['role'] = 'pre' or 'post', or a Block.groups "
                         "group named 'pre' / 'post' holding it) and save the block again, to "
                         "a new file."))


def parse_segment(i: int, seg: Any, tq: Any, is_px: bool, *, need_weight: bool = True
                  ) -> dict[str, Any]:
    """Pull the convention's objects out of one Segment, with exact complaints.

    ``need_weight=False`` accepts a segment without a ``weight`` signal (spike
    trains whose weights will be inferred, ``weights_from="spikes"``).

    Returns a dict with the segment's ``index`` and ``where`` (for messages), the
    signal ``names`` and train ``roles`` found, and per role the ``rate`` signal
    (times, values, ids, unit label, kind, sampling period) and the ``trains``
    ``(unit, times, t_start, t_stop)``, and the ``weight`` signal; times in ``tq``.
    """
    where = _where(i, seg)
    sigs = list(seg.analogsignals) + list(seg.irregularlysampledsignals)
    names = [s.name for s in sigs]
    out: dict[str, Any] = {"index": i, "where": where, "names": names, "rate": {}, "trains": {},
                           "roles": [t.annotations.get("role") for t in seg.spiketrains]}
    for r in ROLES:
        found = [s for s in sigs if s.name == f"{r}_rate"]
        if len(found) > 1:
            raise SchemaError(f"{where}: {len(found)} signals named '{r}_rate'; expected at "
                              "most one, with one channel per unit.")
        if not found:
            out["rate"][r] = None
            continue
        sig = found[0]
        uid = _array_ids(where, sig, "unit", f"{r}synaptic unit")
        if len(set(uid)) != len(uid):
            raise SchemaError(f"{where}: array_annotations['unit'] of '{r}_rate' repeats unit "
                              f"ids: {uid}; expected one channel per unit.")
        values, label = _rate_values(sig)
        kind = sig.annotations.get("kind")
        if kind is None:
            kind = "rate" if label == "Hz" or _is_frequency(sig.units) else "activation"
        elif kind not in ACTIVITY_KINDS:
            raise SchemaError(
                f"{where}: '{r}_rate' has annotations['kind'] = {kind!r}; expected one of "
                f"{', '.join(map(repr, ACTIVITY_KINDS))}." + did_you_mean(kind, ACTIVITY_KINDS))
        analog = isinstance(sig, import_neo().AnalogSignal)
        dt = _scalar(sig.sampling_period, tq) if analog else None
        out["rate"][r] = {"times": _times(sig, tq), "values": values, "ids": uid,
                          "label": label, "kind": str(kind), "dt": dt}
    out["trains"] = {r: [] for r in ROLES}
    seen: set[tuple[str, Any]] = set()
    grouped = group_roles(seg)
    for k, st in enumerate(seg.spiketrains):
        what = f"{where}: spike train {k}" + (f" ({st.name!r})" if st.name else "")
        role = _train_role(what, st, grouped)
        if "unit" not in st.annotations:
            raise SchemaError(f"{what} has no annotations['unit']; expected the id of its "
                              f"{role}synaptic unit; found annotations {sorted(st.annotations)}."
                              + _nwb_hint(st))
        unit = unit_id(st.annotations["unit"])
        if (role, unit) in seen:
            raise SchemaError(f"{what} repeats {role} unit {unit!r}; expected one spike train "
                              "per unit and segment.")
        seen.add((role, unit))
        out["trains"][role].append((unit, _times(st, tq), _scalar(st.t_start, tq),
                                    _scalar(st.t_stop, tq)))
    found = [s for s in sigs if s.name == "weight"]
    if not found and not is_px and need_weight:
        close = difflib.get_close_matches("weight", [str(n) for n in names], n=1, cutoff=0.6)
        hint = f" Rename {close[0]!r} to 'weight'." if close else ""
        if not close and {"pre", "post"} <= set(out["roles"]):
            hint = (" For spike trains without measured weights, infer them: plastix "
                    "estimate FILE --weights-from spikes (Python: weights_from='spikes').")
        raise SchemaError(
            f"{where}: no AnalogSignal named 'weight' or IrregularlySampledSignal named "
            f"'weight'; found signals named {names}.{hint}"
            + (_nwb_hint(sigs[0]) if sigs else ""))
    if len(found) > 1:
        raise SchemaError(f"{where}: {len(found)} signals named 'weight'; expected exactly one, "
                          "with one channel per synapse.")
    out["weight"] = None
    if found:
        sig = found[0]
        pre, post = (_array_ids(where, sig, k, f"{k}synaptic unit") for k in ROLES)
        if len(set(zip(pre, post, strict=True))) != len(pre):
            raise SchemaError(f"{where}: the 'weight' signal has two channels for the same "
                              "synapse (pre, post); expected one channel per synapse.")
        values, label = _values(sig, rate_like=False)
        times, values = _sorted_samples(where, sig, _times(sig, tq), values)
        out["weight"] = {"times": times, "values": values, "pre": pre,
                         "post": post, "label": label}
    return out


def _sorted_samples(where: str, sig: Any, times: np.ndarray, values: Any
                    ) -> tuple[np.ndarray, Any]:
    """The 'weight' signal's samples in time order (Neo keeps an irregular signal's
    samples in the order given); two samples at one time are refused, naming it."""
    order = None
    if times.size > 1 and np.any(np.diff(times) < 0) and isinstance(values, np.ndarray):
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
    same = np.flatnonzero(np.diff(times) == 0) if times.size > 1 else np.zeros(0, np.int64)
    if same.size:
        at = sig.times[order[same[0]] if order is not None else same[0]]
        raise SchemaError(f"{where}: the 'weight' signal has two samples at {at}; expected "
                          "one sample per time. Average the repeated measurements, or drop "
                          "all but one.")
    return times, values


def _int_text(x: Any) -> int | None:
    """The int that a string id spells in canonical form (``"7"``, ``"-3"``), else None."""
    if isinstance(x, str) and x.strip() == x and x.lstrip("-").isdigit():
        value = int(x)
        return value if str(value) == x else None
    return None


def _common_id(x: Any, to_str: bool) -> Any:
    """One unit id in the common type of its role: its text, or an int spelled as text."""
    if to_str:
        return str(x)
    spelled = _int_text(x)
    return x if spelled is None else spelled


def harmonise_ids(parts: list[dict[str, Any]], role: str) -> None:
    """Give every id of ``role`` one type, so that ``7`` and ``"7"`` name one unit.

    Neo writers keep an annotation's type: a rig file may carry the spike trains'
    ``annotations["unit"]`` as ints and a signal's ``array_annotations`` as strings
    (or the reverse), which would otherwise be two units each.  When a role's ids
    mix ints and strings, strings that spell an int (``"7"``) become that int; if
    other strings remain, every id becomes a string.  The parsed segments
    (:func:`parse_segment`) are changed in place; ids of one type are left alone.
    """
    found = [u for p in parts for u in _role_ids(p, role)]
    kinds = {isinstance(u, str) for u in found}
    if len(kinds) < 2:
        return
    to_str = any(isinstance(u, str) and _int_text(u) is None for u in found)
    for p in parts:
        rate, weight = p["rate"][role], p["weight"]
        if rate is not None:
            rate["ids"] = [_common_id(u, to_str) for u in rate["ids"]]
        p["trains"][role] = [(_common_id(u, to_str), *rest) for u, *rest in p["trains"][role]]
        if weight is not None:
            weight[role] = [_common_id(u, to_str) for u in weight[role]]


def _role_ids(p: dict[str, Any], role: str) -> list[Any]:
    """The ids of ``role`` in one parsed segment: rate channels, spike trains, synapses."""
    rate = p["rate"][role]
    ids = (rate["ids"] if rate is not None else []) + [u for u, *_ in p["trains"][role]]
    return ids + (p["weight"][role] if p["weight"] is not None else [])


def unit_order(parts: list[dict[str, Any]], role: str, stored: Any) -> list[Any]:
    """The unit ids of ``role`` in all segments: the stored order if it lists them, else sorted."""
    found: list[Any] = []
    for p in parts:
        for u in _role_ids(p, role):
            if u not in found:
                found.append(u)
    if stored is not None:
        order = [py_scalar(x) for x in np.asarray(dec(stored)).tolist()]
        if set(order) == set(found):
            return order
    try:
        return sorted(found)
    except TypeError:  # mixed id types: keep the order of first appearance
        return found


def id_array(ids: list[Any]) -> np.ndarray:
    """Unit ids as an int or str array (mixed ids become strings)."""
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iuU":
        arr = np.asarray([str(x) for x in ids])
    return arr


def segment_grid(p: dict[str, Any], default_bin: float, *, binning: bool, unit: str
                  ) -> tuple[np.ndarray, float | None]:
    """Fine bins of one segment: the rate signals' samples, or bins over the trains."""
    rates = [(r, p["rate"][r]) for r in ROLES if p["rate"][r] is not None]
    if rates:
        (r0, a), rest = rates[0], rates[1:]
        dt = a["dt"]
        if dt is None and a["times"].size > 1:
            dt = float(np.median(np.diff(a["times"])))
        for r1, b in rest:
            scale = dt or 1.0
            if a["times"].shape != b["times"].shape or not np.allclose(
                    a["times"], b["times"], rtol=0, atol=1e-9 * scale):
                raise SchemaError(
                    f"{p['where']}: '{r0}_rate' and '{r1}_rate' must share one time grid; got "
                    f"{_grid_desc(a['times'], unit)} and {_grid_desc(b['times'], unit)}. "
                    "Resample one of them.")
        return a["times"], dt
    trains = p["trains"]["pre"] + p["trains"]["post"]
    if not trains or not binning:
        return np.zeros(0), None
    t0 = min(x[2] for x in trains)
    t1 = max(max(x[3] for x in trains), t0)
    n = max(1, int(np.ceil((t1 - t0) / default_bin - 1e-9)))
    return t0 + np.arange(n) * default_bin, default_bin


def _grid_desc(t: np.ndarray, unit: str) -> str:
    return f"{t.size} samples over [{t[0]:g}, {t[-1]:g}] {unit}" if t.size else "0 samples"


def refine(neo_value: np.ndarray, stored: np.ndarray, scale: float) -> np.ndarray:
    """The stored exact values when they agree with what Neo holds; Neo's otherwise."""
    if stored.shape == neo_value.shape and np.allclose(
            stored, neo_value, rtol=1e-9, atol=1e-9 * abs(scale)):
        return stored
    return neo_value


def collect_spikes(parts, seg_ids, role, stored_order) -> dict[str, np.ndarray] | None:
    """The spikes of ``role`` as ``{"time", "unit", "segment"}``, by time within each segment.

    ``stored_order`` (the exact order plastix wrote) is applied when it fits.
    """
    if not any(p["trains"][role] for p in parts):
        return None
    t, u, s = [], [], []
    for p, sid in zip(parts, seg_ids, strict=True):
        trains = p["trains"][role]
        if not trains:
            continue
        st = np.concatenate([x[1] for x in trains])
        su = np.concatenate([np.full(x[1].size, j) for j, x in enumerate(trains)])
        order = np.argsort(st, kind="stable")
        t.append(st[order])
        u += [trains[j][0] for j in su[order]]
        s.append(np.full(st.size, sid, dtype=np.int64))
    out = {"time": np.concatenate(t), "unit": id_array(u) if u else np.zeros(0, np.int64),
           "segment": np.concatenate(s)}
    if stored_order is not None:
        inv = arr_dec(stored_order)
        if inv.shape == out["time"].shape:
            out = {k: v[inv] for k, v in out.items()}
    return out


def read_decay(value: Any, sec: float, stored: Any) -> float | None:
    """``Block.annotations['decay']`` (1/s) in 1/time-unit of the record; None if absent."""
    if value is None:
        return None
    pq = quantities()
    try:
        per_s = float(value.rescale(1 / pq.s)) if isinstance(value, pq.Quantity) else float(value)
    except (TypeError, ValueError):
        per_s = np.nan
    if isinstance(value, (bool, np.bool_)):  # float(True) is 1.0: a flag, not a rate
        per_s = np.nan
    if not np.isfinite(per_s) or per_s < 0:
        raise SchemaError(f"block: annotations['decay'] must be a non-negative decay rate in "
                          f"1/s; got {value!r}.")
    decay = per_s * sec
    if stored is not None and np.isclose(float(stored), decay, rtol=1e-9, atol=0):
        return float(stored)
    return decay
