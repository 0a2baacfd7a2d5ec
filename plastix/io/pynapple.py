"""pynapple sessions in and out: :func:`from_pynapple` and :func:`to_pynapple` (issue 15).

Many ephys analysts hold a session in memory as pynapple objects; these two
functions turn such a session into a plastix record (SPEC §7) and back.
pynapple is imported inside them only: ``import plastix.io`` does not load it.

Convention (times in seconds throughout)
----------------------------------------
``pre``, ``post``
    Each role is either a ``TsGroup`` of spike trains — one unit per entry, the
    unit id is the group's index (a metadata column ``unit``, when present, gives
    the ids instead: plastix writes it for ids that are not integers) — or a
    ``TsdFrame`` of activity, one column per unit, the column labels being the
    unit ids.  Spike trains are kept as the record's spike times and binned into
    rates in Hz exactly as the standard NWB reader bins them
    (:mod:`plastix.io.spike_bins`):
    bins ``bin_size`` s wide (default :data:`plastix.io.neo.DEFAULT_BIN_SIZE`)
    tiling each epoch from its start, or, without epochs, from the earliest to
    the latest spike or weight sample.  A bin that starts outside the ``TsGroup``'s
    ``time_support`` is NaN (not recorded), not 0 Hz; a group built without
    ``time_support=`` gets pynapple's default, its first to its last spike, and a
    warning says so when bins fall outside it.  A ``TsdFrame`` sets the grid itself (its
    timestamps are the left edges of the bins, ``bin_size`` their width, default
    their median step); a ``TsGroup`` in the other role is binned on that grid.
    Both roles given as ``TsdFrame`` must share one time grid.  A ``TsdFrame``
    holds rates in Hz unless its metadata columns ``kind`` (one of
    :data:`plastix.record.ACTIVITY_KINDS`) and ``units`` say otherwise (one value
    for all columns).
``weights``, ``synapses``
    ``weights`` is a ``TsdFrame`` with one column per synapse (NaN = not measured
    at that sample; a synapse without a column stays NaN, never 0), or a ``Tsd``
    for one synapse.  ``synapses``
    is a ``pandas.DataFrame`` with columns ``pre_unit`` and ``post_unit`` (unit
    ids of ``pre`` and ``post``) and one row per column of ``weights``, in the
    same order — the same table as the standard NWB convention's ``synapses``.
    Its ids may be written as text for units whose ids are ints (``"7"`` for 7,
    as a CSV file gives them), and the reverse.
    Without ``synapses``, the metadata columns ``pre_unit`` / ``post_unit`` of
    ``weights`` are used (pynapple ≥ 0.8.2 attaches metadata to a ``TsdFrame``'s
    columns; :func:`to_pynapple` writes both).  A ``(post, pre)``
    ``pandas.MultiIndex`` of columns was not chosen: a ``TsdFrame`` keeps it only
    as a flat index of tuples, its level names lost.
    A metadata column ``units`` of ``weights`` gives the weights' unit (default
    ``"1"``).
``epochs``
    An ``IntervalSet`` whose rows become the record's segments: every bin, spike
    and weight sample belongs to the row whose ``[start, end]`` contains it (on a
    shared boundary, the row that starts there); data outside every row is left
    out.  Metadata columns ``segment`` (integer ids, default 0, 1, ...) and
    ``time_offset`` (s, subtracted from the times of that row: a record whose
    segments restart their clock is laid end to end by :func:`to_pynapple`) are
    honoured when present.  ``None``: one segment, everything kept.
``decay``
    Known decay rate in 1/s (``None``: unknown, estimated).

:func:`to_pynapple` returns a dict whose keys are the arguments of
:func:`from_pynapple` (``pre``, ``post``, ``weights``, ``synapses``, ``epochs``,
``decay``, ``bin_size``), so ``from_pynapple(**to_pynapple(rec))`` rebuilds the
record: exactly for a record in seconds whose segments do not restart their
clock, and to float rounding (about 1e-12 s) of the times when they do; spike
roles come back as their binned spike trains, each ``TsGroup``'s time support the
spans over which that role's activity is recorded (not NaN), so unrecorded
stretches come back NaN.  The source, provenance and truth
of the record are not carried.

Example
-------
>>> import pynapple as nap                                   # doctest: +SKIP
>>> rec = from_pynapple(spikes_ca3, spikes_ca1, epsp_slopes, synapse_table,
...                     epochs=nap.IntervalSet(start=[0, 600], end=[300, 900]),
...                     bin_size=0.02)                       # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.optional import require
from plastix._util.validate import check_nonnegative, check_positive
from plastix._util.warn import warn_caller
from plastix.io.lazy import placeholder, with_lazy_activity
from plastix.io.neo import DEFAULT_BIN_SIZE
from plastix.io.nwb_map import check_rows_hold_data
from plastix.io.nwb_scan import assign, synapse_columns, synapse_names
from plastix.io.pynapple_npz import unit_column_names_units
from plastix.io.spike_bins import bin_edges, bin_grid, outside_intervals, spike_rates
from plastix.io.unit_select import unit_id
from plastix.record import make_record, validate_record

__all__ = ["from_pynapple", "to_pynapple"]

_ROLES = ("pre", "post")
_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0, "step": 1.0}
_ROLE_TYPES = ("a pynapple TsGroup (spike trains, one per unit) or TsdFrame (activity, "
               "one column per unit)")


def _import_pynapple() -> Any:
    """Import pynapple (a dependency, imported only when a conversion runs)."""
    return require("pynapple")


# ---------------------------------------------------------------- reading


def _key(value: Any) -> Any:
    """A unit id as a plain Python value (:func:`plastix.io.unit_select.unit_id`)."""
    return unit_id(value)


def _one_value(role: str, meta: Any, column: str, default: str) -> str:
    """The one value of a metadata column (for all columns of a TsdFrame), or ``default``."""
    if meta is None or column not in meta.columns:
        return default
    values = sorted({str(v) for v in meta[column]})
    if len(values) > 1:
        raise ValueError(f"`{role}`: the metadata column {column!r} must hold one value for "
                         f"all columns; got {values}.")
    return values[0] if values else default


#: names calcium-imaging pipelines give their traces, read as the kind "fluorescence"
FLUORESCENCE_NAMES = ("dff", "df/f", "df_f", "deltaf/f", "dfof", "f", "calcium")


def activity_kind(role: str, kind: str) -> str:
    """A TsdFrame's metadata ``kind`` as a record's activity kind (:data:`ACTIVITY_KINDS`;
    ΔF/F and the other names of :data:`FLUORESCENCE_NAMES` are fluorescence)."""
    from plastix.record import ACTIVITY_KINDS

    text = str(kind).strip().lower()
    if text in ACTIVITY_KINDS:
        return text
    if text.replace("δ", "d") in FLUORESCENCE_NAMES:
        return "fluorescence"
    raise ValueError(f"`{role}`: the TsdFrame's metadata column 'kind' says {kind!r}; expected "
                     f"one of {', '.join(map(repr, ACTIVITY_KINDS))} (or a calcium trace name "
                     "such as 'dff'). Set it with frame.set_info(kind=[...]) in a copy.")


def _label(role: str, meta: Any) -> tuple[str, str]:
    """A TsdFrame's ``(units, kind)`` from its metadata: rates in Hz by default, a trace
    of another kind unitless unless ``units`` says."""
    kind = activity_kind(role, _one_value(role, meta, "kind", "rate"))
    return _one_value(role, meta, "units", "Hz" if kind == "rate" else "1"), kind


def _role(nap: Any, role: str, obj: Any) -> dict[str, Any]:
    """Ids and spike trains (TsGroup) or time grid and values (TsdFrame) of one role."""
    if isinstance(obj, nap.TsGroup):
        meta = obj.metadata
        keys = list(obj.keys())
        unit = ([unit_id(u) for u in meta["unit"].tolist()]
                if "unit" in obj.metadata_columns else None)
        ids = np.asarray(unit if unit_column_names_units(unit, f"`{role}`")
                         else np.asarray(keys, dtype=np.int64))
        support = obj.time_support
        spikes = [np.asarray(obj[k].t, dtype=float) for k in keys]
        start, end = (np.asarray(support.start, dtype=float), np.asarray(support.end, dtype=float))
        return {"ids": ids, "spikes": spikes, "times": None, "label": ("Hz", "rate"),
                "support": (start, end)}
    if isinstance(obj, nap.TsdFrame):
        meta = getattr(obj, "metadata", None)
        labels, counts = np.unique(np.asarray(obj.columns.tolist()).astype(str),
                                   return_counts=True)
        if (counts > 1).any():
            twice = ", ".join(f"{str(v)!r} ({n}x)" for v, n in zip(labels[counts > 1],
                                                              counts[counts > 1], strict=True))
            raise ValueError(f"`{role}`: the TsdFrame's column labels repeat ({twice}); each "
                             "column is one unit, labelled with its id. Give every column its "
                             "own unit id (TsdFrame(..., columns=[...])).")
        return {"ids": np.asarray([unit_id(c) for c in obj.columns.tolist()]), "spikes": None,
                "times": np.asarray(obj.t, dtype=float),
                "values": np.asarray(obj.values, dtype=float).reshape(len(obj.t), -1),
                "label": _label(role, meta)}
    wrap = {"Ts": f" One unit's spike train: pass nap.TsGroup({{ID: {role}}}) with its unit id.",
            "Tsd": f" One unit's activity: pass nap.TsdFrame(t={role}.t, d={role}.d[:, None], "
                   "columns=[ID]) with its unit id."}.get(type(obj).__name__, "")
    raise TypeError(f"`{role}` must be {_ROLE_TYPES}; got {type(obj).__name__}.{wrap}")


def _segment_ids(values: list[Any]) -> np.ndarray:
    """The ``epochs`` metadata ``segment`` as segment numbers, in time order: whole numbers
    as they are, names (``"baseline"``, ``"pairing"``) numbered in order of first appearance;
    a row without a value, or numbers that fall, refused in one line."""
    empty = [i for i, v in enumerate(values) if v is None or (isinstance(v, float)
                                                              and math.isnan(v))]
    if empty:
        raise ValueError(f"`epochs`: the metadata column 'segment' has no value in row(s) "
                         f"{empty[:5]}; each row needs the segment it belongs to. Fill it in "
                         "(rows of one session share a value), or drop the column (one "
                         "segment per row).")
    plain = [unit_id(v) for v in values]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in plain):
        ids = np.asarray(plain, dtype=np.int64)
    else:  # names, in order of first appearance
        order = {name: k for k, name in enumerate(dict.fromkeys(map(str, plain)))}
        ids = np.asarray([order[str(v)] for v in plain], dtype=np.int64)
    fall = np.flatnonzero(np.diff(ids) < 0)
    if fall.size:
        k = int(fall[0])
        raise ValueError(f"`epochs`: the metadata column 'segment' must not fall from one row "
                         f"to the next in time order (segments follow each other; a name may "
                         f"not come back after another); rows {k} and {k + 1} hold "
                         f"{values[k]!r} then {values[k + 1]!r}. Number the segments in time "
                         "order, or give a returning condition its own name.")
    return ids


def _time_offsets(values: list[Any]) -> np.ndarray:
    """The ``epochs`` metadata ``time_offset`` (s), refused in one line when not numbers."""
    try:
        off = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        off = None
    if off is None or not np.isfinite(off).all():
        raise ValueError(f"`epochs`: the metadata column 'time_offset' must hold a finite "
                         f"number of seconds in every row (where each segment's clock "
                         f"starts); got {values[:5]}. Fix it, or drop the column.")
    return off


def _segment_rows(nap: Any, epochs: Any) -> dict[str, np.ndarray] | None:
    """Start, stop (s), segment id and time offset (s) of each epoch; None for one segment."""
    if epochs is None:
        return None
    if not isinstance(epochs, nap.IntervalSet):
        raise TypeError("`epochs` must be a pynapple IntervalSet (one row per segment) or "
                        f"None; got {type(epochs).__name__}.")
    if len(epochs) == 0:
        raise ValueError("`epochs` must hold at least one interval; got an empty IntervalSet.")
    cols = list(getattr(epochs, "metadata_columns", []))
    n = len(epochs)
    seg = (_segment_ids(epochs.metadata["segment"].tolist()) if "segment" in cols
           else np.arange(n, dtype=np.int64))
    off = (_time_offsets(epochs.metadata["time_offset"].tolist()) if "time_offset" in cols
           else np.zeros(n))
    return {"start": np.asarray(epochs.start, dtype=float),
            "stop": np.asarray(epochs.end, dtype=float), "seg": seg, "offset": off}


def _synapse_table(nap: Any, weights: Any, synapses: Any) -> tuple[np.ndarray, np.ndarray]:
    """The weight series' values (sample, synapse) and each column's (pre, post) unit ids."""
    import pandas as pd

    if not isinstance(weights, (nap.TsdFrame, nap.Tsd)):
        raise TypeError("`weights` must be a pynapple TsdFrame (one column per synapse) or a "
                        f"Tsd (one synapse); got {type(weights).__name__}.")
    if len(weights.t) == 0:
        raise ValueError("`weights` must hold at least one sample; got an empty TsdFrame.")
    n_syn = int(np.prod(weights.values.shape[1:]))
    if synapses is None and synapse_columns(getattr(weights, "metadata_columns", [])):
        synapses = weights.metadata
    if not isinstance(synapses, pd.DataFrame):
        raise TypeError("`synapses` must be a pandas DataFrame with columns pre_unit and "
                        "post_unit, one row per column of `weights`; got "
                        f"{type(synapses).__name__}.")
    cols = synapse_columns(synapses.columns)
    if cols is None:
        raise ValueError(f"`synapses` must have columns pre_unit and post_unit (or another "
                         f"pair: {synapse_names()}); got columns "
                         f"{[str(c) for c in synapses.columns]}.")
    if len(synapses) != n_syn:
        raise ValueError(f"`synapses` must have one row per column of `weights` ({n_syn}, in "
                         f"the same order); got {len(synapses)} rows.")
    return (synapses[cols[0]].to_numpy(), synapses[cols[1]].to_numpy())


def _same_id(unit: Any, col: dict[Any, int]) -> Any:
    """The id in ``col`` that ``unit`` names: itself, or the int its text spells (``"7"``
    for 7), or the text of an int (7 for ``"7"``); ``unit`` unchanged when none is there.

    A synapse table read from a CSV or a spreadsheet may hold the ids as text while the
    ``TsGroup``'s index holds ints (or the reverse); they name the same units.
    """
    if unit in col or isinstance(unit, bool):
        return unit
    if isinstance(unit, str) and unit.strip().lstrip("-").isdigit() and int(unit) in col:
        return int(unit)
    if isinstance(unit, (int, np.integer)) and str(unit) in col:
        return str(unit)
    return unit


def _synapse_index(pre_units: np.ndarray, post_units: np.ndarray,
                   ids: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(post, pre) indices of each weight column; unknown ids and repeated synapses refused."""
    idx = {}
    for r, units in (("pre", pre_units), ("post", post_units)):
        col = {_key(u): j for j, u in enumerate(ids[r])}
        units = [_same_id(_key(u), col) for u in units]
        bad = [u for u in units if u not in col]
        if bad:
            known = [_key(u) for u in ids[r][:8]]
            raise ValueError(f"`synapses` names {r}_unit ids that are not units of `{r}`: "
                             f"{sorted(set(bad), key=str)[:5]}; the units of `{r}` are "
                             f"{known}{' ...' if len(ids[r]) > 8 else ''} (a TsGroup's index "
                             "or a TsdFrame's columns).")
        idx[r] = np.array([col[u] for u in units], dtype=np.int64)
    pairs = idx["post"] * len(ids["pre"]) + idx["pre"]
    uniq, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    if np.any(counts > 1):
        k = int(first[np.flatnonzero(counts > 1)[0]])
        again = int(np.flatnonzero(pairs == pairs[k])[1])
        raise ValueError(f"`synapses` lists the synapse (pre_unit {_key(pre_units[k])!r}, "
                         f"post_unit {_key(post_units[k])!r}) twice (rows {k} and {again}); "
                         "each column of `weights` must be a different synapse.")
    return idx["post"], idx["pre"]


def _grid(roles: dict[str, dict[str, Any]], segs: Any, w_times: np.ndarray,
          bin_size: float | None) -> tuple[np.ndarray, float]:
    """Fine bins (s, session clock) and their width: a TsdFrame's samples, or spike bins."""
    frames = [(r, d) for r, d in roles.items() if d["times"] is not None]
    if not frames:
        width = bin_size or DEFAULT_BIN_SIZE
        trains = [st for d in roles.values() for st in d["spikes"]]
        return bin_grid(width, segs, trains + [w_times]), width
    t = frames[0][1]["times"]
    if len(frames) == 2:
        t1 = frames[1][1]["times"]
        if t.shape != t1.shape or not np.array_equal(t, t1):
            raise ValueError("`pre` and `post` must share one time grid when both are "
                             f"TsdFrames; got {t.size} and {t1.size} samples"
                             f"{'' if t.shape != t1.shape else ' at different times'}. "
                             "Resample one onto the other's timestamps.")
    if t.size == 0:
        raise ValueError(f"`{frames[0][0]}` must hold at least one sample; got an empty "
                         "TsdFrame.")
    steps = np.diff(t)
    return t, bin_size or (float(np.median(steps)) if steps.size else DEFAULT_BIN_SIZE)


def _check_recorded(role: str, unrecorded: np.ndarray, support: tuple[np.ndarray, np.ndarray],
                    epochs: Any) -> None:
    """Refuse a spike role whose time support leaves every bin of the record unrecorded
    (``unrecorded``: each bin, whether it starts outside the support)."""
    if unrecorded.size == 0 or not unrecorded.all():
        return
    start, end = support
    span = f"{start.min():g}-{end.max():g} s" if start.size else "empty"
    where = ("the epochs" if epochs is not None else "the span of the spikes and weights")
    raise ValueError(
        f"`{role}`: its time support ({span}) does not overlap {where} "
        f"({_span(epochs)}), so no bin of the record holds its activity; check that the "
        "spike times, the epochs and the weights are in seconds on one clock.")


def _is_default_support(nap: Any, trains: list[np.ndarray], start: np.ndarray,
                        end: np.ndarray) -> bool:
    """Whether a TsGroup's time support (``start``, ``end``, s) is the one pynapple gives a
    group built without ``time_support=``: the union of each unit's span from its first
    to its last spike.  pynapple itself rebuilds that default from the spike trains, so
    the check follows the installed version; a support the user passed that differs from
    it in any bound is not the default."""
    if not any(st.size for st in trains):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            default = nap.TsGroup({j: nap.Ts(t=st) for j, st in enumerate(trains)},
                                  bypass_check=True).time_support
    except (RuntimeError, ValueError):  # e.g. every unit a single spike: no default span
        return False
    return (np.array_equal(np.asarray(default.start, dtype=float), start)
            and np.array_equal(np.asarray(default.end, dtype=float), end))


def _warn_default_support(unrecorded: dict[str, int], roles: dict[str, dict[str, Any]]
                          ) -> None:
    """Warn once, in one line, of the roles whose TsGroup has pynapple's default time
    support and so leaves bins of the record unrecorded (``unrecorded``: role -> bins)."""
    if not unrecorded:
        return
    which = "; ".join(f"`{r}` {_support_text(roles[r]['support'])}, {n} bin(s)"
                      for r, n in unrecorded.items())
    warn_caller(
        f"{' and '.join(f'`{r}`' for r in unrecorded)}: the TsGroup's time support is "
        f"pynapple's default, from the first to the last spike ({which}), so the bins outside it "
        "(before the first spike, after the last) are read as not recorded (NaN), not as 0 Hz. "
        "pynapple gives this default to a group built without time_support=, and its loaders "
        "(nap.load_file of an NWB file) do too; if the units were recorded longer, build the "
        "group again over its recorded span, nap.TsGroup({u: group[u] for u in group.index}, "
        "time_support=nap.IntervalSet(START, END)) with its metadata, and pass (or save) that "
        "one.", UserWarning)


def _support_text(support: tuple[np.ndarray, np.ndarray]) -> str:
    """``start-end s`` of a time support, for messages (``a-b s + k more`` for several)."""
    start, end = support
    more = f" in {start.size} intervals" if start.size > 1 else ""
    return f"{start.min():g}-{end.max():g} s{more}"


def _span(epochs: Any) -> str:
    """``start-end s`` of an IntervalSet, for messages."""
    if epochs is None or len(epochs) == 0:
        return "none"
    return f"{float(np.min(epochs.start)):g}-{float(np.max(epochs.end)):g} s"


def _spike_events(trains: list[np.ndarray], segs: Any) -> dict[str, np.ndarray] | None:
    """A role's spikes (s, session clock), unit index and epoch row; canonical order."""
    if not trains or not any(st.size for st in trains):
        return None
    t = np.concatenate(trains)
    unit = np.concatenate([np.full(st.size, j, dtype=np.int64) for j, st in enumerate(trains)])
    row = assign(t, segs)
    ok = row >= 0
    t, unit, row = t[ok], unit[ok], row[ok]
    order = np.lexsort((unit, t, row))
    return {"time": t[order], "unit": unit[order], "row": row[order]}


def from_pynapple(pre: Any, post: Any, weights: Any, synapses: Any = None, epochs: Any = None,
                  decay: float | None = None, *, bin_size: float | None = None,
                  source: str = "pynapple", lazy: bool = False) -> xr.Dataset:
    """Build a plastix record from pynapple objects (the convention of :mod:`plastix.io.pynapple`).

    Parameters
    ----------
    pre, post : pynapple.TsGroup or pynapple.TsdFrame
        Each role's spike trains (unit id = the group's index) or activity (one
        column per unit, column label = unit id), times in s.
    weights : pynapple.TsdFrame or pynapple.Tsd
        Weights, one column per synapse (a ``Tsd``: one synapse), times in s; NaN =
        not measured.
    synapses : pandas.DataFrame, optional
        Columns ``pre_unit`` and ``post_unit``, one row per column of ``weights``
        in the same order; default: the metadata columns of ``weights``.
    epochs : pynapple.IntervalSet, optional
        The segments, one per row (metadata ``segment`` and ``time_offset``
        honoured); ``None``: one segment.
    decay : float, optional
        Known decay rate in 1/s (``None``: unknown).
    bin_size : float, optional
        Width of the fine bins in s: spike trains are binned at it (default
        :data:`plastix.io.neo.DEFAULT_BIN_SIZE`); with a ``TsdFrame`` it is the
        width of the frame's samples (default their median step).
    source : str
        The record's ``source``.
    lazy : bool
        Bin the spike trains only for the rows that are read
        (:class:`plastix.io.spike_bins.SpikeRates`): the record takes the memory of
        its spikes, not of its (bins × units) rates, and the estimator streams it
        (``HebbianEstimator().fit(record)``).  Each read bins again: call
        ``record.load()`` to hold the rates when they are used many times.

    Returns
    -------
    xarray.Dataset
        A validated record: time in s, binned spike trains as rates in Hz, weights
        ``(weight_time, post, pre)``.  With ``lazy``, the binned rates are checked
        as they are read.

    Raises
    ------
    TypeError
        When an argument is not of the pynapple (or pandas) type named above.
    ValueError
        When ``synapses`` lacks a column, has a row count other than the columns of
        ``weights``, names an id that is not a unit of its role or repeats a
        synapse; when two ``TsdFrame`` roles have different time grids.
    """
    nap = _import_pynapple()
    roles = {r: _role(nap, r, obj) for r, obj in (("pre", pre), ("post", post))}
    pre_u, post_u = _synapse_table(nap, weights, synapses)
    segs = _segment_rows(nap, epochs)
    if bin_size is not None:
        bin_size = check_positive("bin_size", bin_size, "s")
    if decay is not None:
        decay = check_nonnegative("decay", decay, "1/s")
    ids = {r: roles[r]["ids"] for r in _ROLES}
    rows, cols = _synapse_index(pre_u, post_u, ids)
    w_times = np.asarray(weights.t, dtype=float)
    w_values = np.asarray(weights.values, dtype=float).reshape(w_times.size, -1)
    data = [w_times] + [t for d in roles.values()
                        for t in (d["spikes"] if d["spikes"] is not None else [d["times"]])]
    check_rows_hold_data(segs, w_times, data, rows="epochs IntervalSet", label="`epochs`",
                         refuse_empty=True, refuse=lambda what, found, fix: ValueError(
                             f"`epochs`: {what}. Found: {found}. {fix} (epochs=None)."))
    grid, width = _grid(roles, segs, w_times, bin_size)
    row = assign(grid, segs)
    keep = row >= 0
    stop = np.full(grid.size, np.inf) if segs is None else segs["stop"][np.maximum(row, 0)]
    off = np.zeros(1) if segs is None else segs["offset"]
    seg_id = np.zeros(1, dtype=np.int64) if segs is None else segs["seg"]
    activity, spikes, stored, unrecorded = {}, {}, {}, {}
    for r in _ROLES:
        d = roles[r]
        if d["spikes"] is None:
            activity[r] = d["values"][keep]
            spikes[r] = None
            continue
        support = np.column_stack(d["support"])
        outside = outside_intervals(support, grid[keep])
        _check_recorded(r, outside, d["support"], epochs)
        if outside.any() and _is_default_support(nap, d["spikes"], *d["support"]):
            unrecorded[r] = int(outside.sum())
        rates = spike_rates(d["spikes"], grid[keep], width, stop[keep],
                            [support] * len(d["spikes"]))
        if lazy:  # binned when read
            stored[r], activity[r] = rates, placeholder(rates.shape)
        else:
            activity[r] = rates[:]
        ev = _spike_events(d["spikes"], segs)
        spikes[r] = None if ev is None else {
            "time": ev["time"] - off[ev["row"]], "unit": ids[r][ev["unit"]],
            "segment": seg_id[ev["row"]]}
    _warn_default_support(unrecorded, roles)
    wrow = assign(w_times, segs)
    wkeep = wrow >= 0
    dense = np.full((int(wkeep.sum()), len(ids["post"]), len(ids["pre"])), np.nan)
    dense[:, rows, cols] = w_values[wkeep]
    labels = {r: roles[r]["label"] for r in _ROLES}
    ds = make_record(
        activity["pre"], activity["post"], dense, time=grid[keep] - off[row[keep]],
        weight_time=w_times[wkeep] - off[wrow[wkeep]], dt=width, pre=ids["pre"],
        post=ids["post"], segment=seg_id[row[keep]], weight_segment=seg_id[wrow[wkeep]],
        time_units="s", activity_units=labels["pre"][0], activity_kind=labels["pre"][1],
        post_activity_units=labels["post"][0] if labels["post"][0] != labels["pre"][0] else None,
        post_activity_kind=labels["post"][1],
        weight_units=_one_value("weights", getattr(weights, "metadata", None), "units", "1"),
        decay=decay, pre_spikes=spikes["pre"], post_spikes=spikes["post"], source=source,
        provenance={"reader": "plastix.io.from_pynapple", "bin_size_s": width,
                    "pynapple": str(nap.__version__)})
    return with_lazy_activity(ds, stored)


# ---------------------------------------------------------------- writing


def _segment_layout(ds: xr.Dataset, sec: float) -> dict[str, np.ndarray]:
    """Each segment's id, span (s, record clock) and the offset that lays them end to end."""
    dt = float(ds.attrs["dt"]) * sec
    groups = [(np.asarray(ds["time"].values, dtype=float) * sec, ds["segment"].values, dt),
              (np.asarray(ds["weight_time"].values, dtype=float) * sec,
               ds["weight_segment"].values, 0.0)]
    for r in _ROLES:
        if f"{r}_spike_time" in ds.variables:
            groups.append((np.asarray(ds[f"{r}_spike_time"].values, dtype=float) * sec,
                           ds[f"{r}_spike_segment"].values, 0.0))
    seg_ids = np.unique(np.concatenate([np.asarray(g[1], dtype=np.int64) for g in groups]))
    lo, hi = np.full(seg_ids.size, np.inf), np.full(seg_ids.size, -np.inf)
    for t, seg, width in groups:
        at = np.searchsorted(seg_ids, np.asarray(seg, dtype=np.int64))
        np.minimum.at(lo, at, t)
        np.maximum.at(hi, at, t + width)
    off = np.zeros(seg_ids.size)
    prev = -math.inf
    for i in range(seg_ids.size):  # a segment that does not start after the previous moves
        off[i] = 0.0 if lo[i] > prev else float(math.ceil(prev - lo[i] + max(dt, 1e-6)))
        prev = hi[i] + off[i]
    return {"seg": seg_ids, "start": lo, "stop": hi, "offset": off}


def _recorded_support(ds: xr.Dataset, role: str, sec: float, lay: dict[str, np.ndarray],
                      spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Start and end (s, session clock) of the spans over which a role's activity is
    recorded, as :func:`from_pynapple` reads a TsGroup's time support back.

    A bin is recorded when some unit's activity is not NaN; each run of recorded bins is
    one interval, from its first bin's left edge to its last bin's right edge
    (:func:`plastix.io.spike_bins.bin_edges`).  A bin is read as NaN when its left edge
    is outside the support, so ``spikes`` (s, session clock) inside a NaN bin — pynapple's
    default support starts at the first spike, inside a bin read as NaN — are kept by an
    interval from the bin's first such spike to its right edge.  ``None`` when every bin
    is recorded, or none is (the epochs are the support).
    """
    values = np.asarray(ds[f"{role}_activity"].values, dtype=float)
    recorded = ~np.isnan(values).all(axis=1) if values.shape[1] else np.ones(len(values), bool)
    if recorded.all() or not recorded.any():
        return None
    seg = np.searchsorted(lay["seg"], np.asarray(ds["segment"].values, dtype=np.int64))
    left = np.asarray(ds["time"].values, dtype=float) * sec + lay["offset"][seg]
    order = np.argsort(left, kind="stable")
    left, recorded = left[order], recorded[order]
    right = bin_edges(left, float(ds.attrs["dt"]) * sec,
                      (lay["stop"] + lay["offset"])[seg[order]])
    i = np.searchsorted(left, spikes, side="right") - 1
    hit = i >= 0
    hit[hit] = (spikes[hit] < right[i[hit]]) & ~recorded[i[hit]] & (spikes[hit] > left[i[hit]])
    return _merged(np.r_[left[recorded], spikes[hit]], np.r_[right[recorded], right[i[hit]]])


def _merged(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intervals ``[start, end]`` (s) merged where they overlap or touch (pynapple would
    move a shared bound by 1 µs)."""
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    new = np.flatnonzero(np.r_[True, start[1:] > reach[:-1]])
    return start[new], np.maximum.reduceat(end, new)


def _spike_group(nap: Any, ds: xr.Dataset, role: str, sec: float, shift: Any,
                 lay: dict[str, np.ndarray], epochs: Any) -> Any:
    """One role's spike trains as a TsGroup whose time support is the spans where the
    role's activity is recorded (:func:`_recorded_support`); a spike left outside them
    (at the left edge of a NaN bin) is dropped, with a warning."""
    import pandas as pd

    ids = np.asarray(ds[role].values)
    st = np.asarray(ds[f"{role}_spike_time"].values, dtype=float) * sec
    st = st + shift(ds[f"{role}_spike_segment"].values)
    spans = _recorded_support(ds, role, sec, lay, st)
    support = epochs if spans is None else nap.IntervalSet(start=spans[0], end=spans[1])
    unit = pd.Index(ids.astype(str)).get_indexer(
        np.asarray(ds[f"{role}_spike_unit"].values).astype(str))
    order = np.lexsort((st, unit))
    parts = np.split(st[order], np.cumsum(np.bincount(unit, minlength=ids.size))[:-1])
    as_int = ids.dtype.kind in "iu"
    trains = {(int(u) if as_int else j): nap.Ts(t=parts[j], time_support=support)
              for j, u in enumerate(ids)}
    meta = None if as_int else {"unit": [str(u) for u in ids]}
    group = nap.TsGroup(trains, time_support=support, metadata=meta)
    lost = st.size - int(sum(len(group[k].t) for k in group.keys()))
    if lost:
        warn_caller(f"`record`: {lost} of its {st.size} {role} spike(s) fall at the start of "
                    f"a bin whose {role}_activity is NaN (not recorded), so the {role} "
                    "TsGroup's time support (the recorded spans) leaves them out; set the "
                    "activity of those bins (0 Hz when silent) if they were recorded.",
                    UserWarning)
    return group


def _role_object(nap: Any, ds: xr.Dataset, role: str, sec: float, shift: Any,
                 lay: dict[str, np.ndarray], epochs: Any) -> Any:
    """One role as a TsGroup (when the record has its spike times; its time support the
    spans where the role's activity is recorded) or a TsdFrame."""
    ids = np.asarray(ds[role].values)
    if f"{role}_spike_time" in ds.variables:
        return _spike_group(nap, ds, role, sec, shift, lay, epochs)
    da = ds[f"{role}_activity"]
    t = np.asarray(ds["time"].values, dtype=float) * sec + shift(ds["segment"].values)
    n = ids.size
    return nap.TsdFrame(t=t, d=np.asarray(da.values, dtype=float), columns=ids,
                        time_support=epochs,
                        metadata={"kind": [str(da.attrs.get("kind", "rate"))] * n,
                                  "units": [str(da.attrs.get("units", "Hz"))] * n})


def to_pynapple(record: xr.Dataset) -> dict[str, Any]:
    """A record as pynapple objects, keyed by the arguments of :func:`from_pynapple`.

    Parameters
    ----------
    record : xarray.Dataset
        A plastix record; its times are converted to s (a ``"step"`` record's
        steps are taken as seconds).

    Returns
    -------
    dict
        ``pre``, ``post``: ``TsGroup`` of the spike trains when the record has
        spike times for that role (time support: the spans, s, where its activity
        is not NaN, or the epochs when it is recorded throughout), else
        ``TsdFrame`` of its activity (columns =
        unit ids, metadata ``kind`` and ``units``); ``weights``: ``TsdFrame``, one
        column per synapse measured at least once (metadata ``pre_unit``,
        ``post_unit``, ``units``); ``synapses``: ``pandas.DataFrame`` with
        ``pre_unit`` and ``post_unit``, row i = column i; ``epochs``:
        ``IntervalSet``, one row per segment (metadata ``segment`` and
        ``time_offset``, s; segments that restart their clock are laid end to end,
        the offset ≥ 1 s, rounded up to whole seconds); ``decay`` in 1/s or None;
        ``bin_size``: the record's bin width in s.
    """
    import pandas as pd

    ds = validate_record(record, stage="to_pynapple")
    nap = _import_pynapple()
    sec = _SEC_PER.get(str(ds.attrs["time_units"]), 1.0)
    lay = _segment_layout(ds, sec)

    def shift(seg: Any) -> np.ndarray:
        return lay["offset"][np.searchsorted(lay["seg"], np.asarray(seg, dtype=np.int64))]

    epochs = nap.IntervalSet(start=lay["start"] + lay["offset"], end=lay["stop"] + lay["offset"],
                             metadata={"segment": lay["seg"], "time_offset": lay["offset"]})
    out: dict[str, Any] = {r: _role_object(nap, ds, r, sec, shift, lay, epochs)
                            for r in _ROLES}
    w = np.asarray(ds["weight"].values, dtype=float)
    measured = np.any(np.isfinite(w), axis=0)
    post_i, pre_i = np.nonzero(measured if measured.any() else np.ones_like(measured))
    pre_ids, post_ids = np.asarray(ds["pre"].values), np.asarray(ds["post"].values)
    n = pre_i.size
    units = str(ds["weight"].attrs.get("units", "1"))
    out["weights"] = nap.TsdFrame(
        t=np.asarray(ds["weight_time"].values, dtype=float) * sec + shift(
            ds["weight_segment"].values),
        d=w[:, post_i, pre_i], columns=np.arange(n), time_support=epochs,
        metadata={"pre_unit": pre_ids[pre_i], "post_unit": post_ids[post_i],
                  "units": [units] * n})
    out["synapses"] = pd.DataFrame({"pre_unit": pre_ids[pre_i], "post_unit": post_ids[post_i]})
    out["epochs"] = epochs
    decay = float(ds["decay"].values)
    out["decay"] = None if math.isnan(decay) else decay / sec
    out["bin_size"] = float(ds.attrs["dt"]) * sec
    return out
