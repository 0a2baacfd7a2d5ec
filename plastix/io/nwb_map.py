"""Assembling a record from what a standard NWB file holds (see :mod:`plastix.io.nwb`)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.warn import warn_caller
from plastix.io.lazy import placeholder, read_views, with_lazy_activity
from plastix.io.neo import DEFAULT_BIN_SIZE
from plastix.io.nwb_regions import region_filter
from plastix.io.nwb_scan import (
    CLI_FLAGS,
    MODULE,
    ROLES,
    SYNAPSES,
    WEIGHT,
    NwbContent,
    _ids_desc,
    activity_series,
    assign,
    check_channels,
    not_mappable,
    parse_units,
    resolve,
    restore_exact,
    role_units,
    role_value,
    segment_rows,
    series_found,
    series_times,
    series_values,
    synapse_columns,
    synapse_names,
    unit_rows,
    units_absent,
    units_found,
)
from plastix.io.spike_bins import bin_grid, spike_rates
from plastix.record import make_record

__all__ = ["build_record", "find_roles", "find_weights", "synapse_ids", "check_rows_hold_data",
           "check_spans_overlap"]

_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0, "step": 1.0}


def find_roles(c: NwbContent, opt: dict[str, Any], src: Path
               ) -> tuple[dict[str, list[int]], dict[str, Any]]:
    """Each role's unit ids and activity series (None: spikes; a series' values are read
    when indexed, :func:`plastix.io.nwb_scan.activity_series`)."""
    pos = unit_rows(c, src)  # refuses repeated ids before any id is mapped to a row
    paths = {r: _activity_path(c, opt, r) for r in ROLES}
    specs = {r: region_filter(c, r, paths[r], parse_units(f"{r}_units", opt.get(f"{r}_units")),
                              src) for r in ROLES}  # a ROI table's column: its ROI ids
    ids = {r: role_units(c, r, specs[r], src, f"{r}_units") for r in ROLES}
    act: dict[str, Any] = {r: None if paths[r] is None else activity_series(
        c, r, paths[r], f"{r}_activity", ids[r], specs[r], src) for r in ROLES}
    out = {}
    known = set(c.unit_ids.tolist())
    for r in ROLES:
        if act[r] is not None:
            out[r] = act[r]["ids"]
            continue
        flag = CLI_FLAGS[f"{r}_units"]
        if c.unit_ids.size == 0 and (ids[r] is None or len(c.units_tables) > 1):
            raise _no_units_table(c, src)
        if ids[r] is None:
            raise not_mappable(src, f"the role of the units cannot be found (no column 'role' "
                               f"in the Units table, no {flag})", units_found(c),
                               "Add a column 'role' (pre/post) to the Units table, or name "
                               "the units of each role: --pre-units/--post-units ID,ID,... or "
                               "COLUMN=VALUE (pre_units=/post_units= in Python)")
        if not ids[r]:
            raise not_mappable(src, f"no unit has the role {r!r}", units_found(c),
                               f"Pass {flag} (ids or COLUMN=VALUE), or {r}_activity "
                               f"({CLI_FLAGS[r + '_activity']} PATH) for a series")
        unknown = [u for u in ids[r] if u not in known]
        if unknown:
            raise not_mappable(src, f"`{r}_units` names ids that are not in the Units table: "
                               f"{unknown[:5]}", units_found(c),
                               f"Name ids of the Units table in {flag}")
        if sum(np.size(c.spikes[pos[int(u)]]) for u in ids[r]) == 0:  # nothing to bin
            series = [p for p in c.series if not p.endswith(f"/{WEIGHT}")]
            raise not_mappable(src, f"the {r} units have no spike times and no {r} activity "
                               "series is named", f"{units_found(c)}; TimeSeries: "
                               f"{', '.join(series) or 'none'}",
                               f"Name the series that holds the {r}synaptic activity: "
                               f"{CLI_FLAGS[r + '_activity']} PATH ({r}_activity= in Python)")
        out[r] = ids[r]
    both = sorted(set(out["pre"]) & set(out["post"]))
    if both and not any(act.values()):
        raise not_mappable(src, f"units {both[:5]} are both pre and post", units_found(c),
                           "Give each unit one role")
    return out, act


def _activity_path(c: NwbContent, opt: dict[str, Any], role: str) -> str | None:
    """The path of a role's activity series: its ``pre_activity`` / ``post_activity``, else
    plastix's ``processing/plasticity/{role}_activity`` when the file has it, else None."""
    default = f"processing/{MODULE}/{role}_activity"
    path = opt.get(f"{role}_activity")
    return default if path is None and default in c.series else path


def find_weights(c: NwbContent, opt: dict[str, Any], src: Path, ids: dict[str, list[int]],
                 act: dict[str, Any] | None = None) -> dict[str, Any]:
    """The weight series, its synapse table mapped to (post, pre) columns, or the refusal.

    ``act`` (each role's activity series, from :func:`find_roles`) adds the ids of
    their ROI / electrode tables to the ids the synapse table may name.
    """
    wpath = opt.get("weights")
    default = f"processing/{MODULE}/{WEIGHT}"
    if wpath is None and default not in c.series:
        infer = ("; or, to infer the weights from the spike trains, plastix estimate FILE "
                 "--weights-from spikes (weights_from='spikes' in Python)"
                 if _has_spikes(c, ids, src) else "")
        raise not_mappable(src, f"no weights: no TimeSeries {WEIGHT!r} in a processing module "
                           f"{MODULE!r} and no `weights`", series_found(c),
                           f"Pass the weight series as {CLI_FLAGS['weights']} PATH{infer}")
    key = wpath or default
    ws = resolve(c, "series", key, "weights", src)
    wpath = next(p for p, s in c.series.items() if s is ws)
    if not np.shape(ws.data) or int(np.shape(ws.data)[0]) == 0:
        raise not_mappable(src, f"the weight series {wpath!r} holds no sample",
                           f"data of shape {tuple(np.shape(ws.data))}",
                           "Store the weight samples in it (time on the first axis), or name "
                           f"the series that holds them with {CLI_FLAGS['weights']} PATH")
    check_channels(c, ws, src, "weight series")
    values = series_values(ws)
    if len(np.shape(ws.data)) >= 3:
        pre, post = _grid_synapses(c, ws, wpath, values, ids, opt, src)
        spath = f"the (post, pre) axes of {wpath!r}"
    else:
        pre, post, spath = _listed_synapses(c, wpath, values, opt, src)
    col = {r: {u: j for j, u in enumerate(ids[r])} for r in ROLES}
    known = set(c.unit_ids.tolist()) | set(ids["pre"]) | set(ids["post"])
    for a in (act or {}).values():
        known |= set(a["table_ids"]) if a is not None else set()
    for r, got in (("pre", pre), ("post", post)):
        bad = sorted({int(u) for u in got if int(u) not in col[r]})
        if bad:
            raise _synapse_ids_error(src, spath, r, bad, ids[r], known)
    return {"times": series_times(c, ws, src, "weight series"), "values": values,
            "unit": str(ws.unit or "1"), "path": wpath,
            "rows": np.array([col["post"][int(u)] for u in post], dtype=np.int64),
            "cols": np.array([col["pre"][int(u)] for u in pre], dtype=np.int64)}



def _listed_synapses(c: NwbContent, wpath: str, values: np.ndarray, opt: dict[str, Any],
                     src: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """The (pre, post) unit ids of each column of a (time, synapse) weight series, from
    ``synapses`` (pairs, or a table's path) or the table ``synapses`` next to it; and
    where they came from, for messages."""
    pairs = synapse_pairs(opt.get("synapses"))
    if pairs is not None:
        spath = "`synapses`"
        pre, post = pairs
        if pre.size != values.shape[1]:
            raise not_mappable(src, f"`synapses` must give one PRE:POST pair per column of "
                               f"{wpath!r} ({values.shape[1]}), in column order",
                               f"{pre.size} pair(s)", "Give one pair per column")
    else:
        spath = opt.get("synapses") or f"{wpath.rsplit('/', 1)[0]}/{SYNAPSES}"
        if opt.get("synapses") is None and spath not in c.tables:
            raise not_mappable(src, f"no synapse table for the weights {wpath!r}: no "
                               f"DynamicTable {SYNAPSES!r} next to it and no `synapses`",
                               "tables " + (", ".join(c.tables) or "none"),
                               f"Pass its synapse table as {CLI_FLAGS['synapses']} "
                               f"{_synapse_table_hint(c, values.shape[1])}, or the synapse of "
                               f"each of its {values.shape[1]} column(s) as "
                               f"{CLI_FLAGS['synapses']} PRE:POST,PRE:POST,... (unit ids, in "
                               "column order)")
        tab = resolve(c, "tables", spath, "synapses", src)
        cols = synapse_columns(tab.colnames)
        if cols is None:
            raise not_mappable(src, f"the synapse table {spath!r} has no columns of presynaptic "
                               "and postsynaptic unit ids under a name plastix knows ("
                               f"{synapse_names()}, any case)", f"columns "
                               f"{', '.join(map(str, tab.colnames)) or 'none'}", "Rename its "
                               "two columns pre_unit and post_unit in a copy of the file, name "
                               f"another table with {CLI_FLAGS['synapses']} PATH, or give the "
                               f"synapse of each of the {values.shape[1]} weight column(s) as "
                               f"{CLI_FLAGS['synapses']} PRE:POST,PRE:POST,... (unit ids, in "
                               "column order)")
        if len(tab) != values.shape[1]:
            raise not_mappable(src, f"the synapse table {spath!r} must have one row per column "
                               f"of {wpath!r} ({values.shape[1]})", f"{len(tab)} rows",
                               "Fix the table or name another with "
                               f"{CLI_FLAGS['synapses']} PATH")
        pre, post = (synapse_ids(tab, k, spath, src) for k in cols)
    return pre, post, spath


def _synapse_table_hint(c: NwbContent, n_cols: int) -> str:
    """The path of the only table of the file that looks like the synapse table of a weight
    series with ``n_cols`` columns (unit-id columns :func:`synapse_columns` knows, one row
    per column), else ``"PATH"``."""
    fits = [p for p, t in c.tables.items()
            if synapse_columns(t.colnames) is not None and len(t) == n_cols]
    return shlex.quote(fits[0]) if len(fits) == 1 else "PATH"


def _grid_synapses(c: NwbContent, ws: Any, wpath: str, values: np.ndarray,
                   ids: dict[str, list[int]], opt: dict[str, Any], src: Path
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The (pre, post) unit ids of each column of a weight series shaped (time, post, pre):
    sample ``[t, i, j]`` is the synapse from the ``j``-th presynaptic unit onto the
    ``i``-th postsynaptic unit, each role in its table order (the record's own layout).
    A synapse list or table given too must name the same synapses in the same order."""
    shape = tuple(int(n) for n in np.shape(ws.data))
    want = (len(ids["post"]), len(ids["pre"]))
    if len(shape) != 3 or shape[1:] != want:
        raise not_mappable(src, f"a weight series with more than one axis of synapses is read "
                           f"as (time, post, pre) over the {want[0]} post and {want[1]} pre "
                           "units in their table order", f"{wpath!r} of shape {shape}",
                           "Store the weights as (time, synapse) with a synapse table next to "
                           "them (columns pre_unit, post_unit), in a copy of the file")
    post = np.repeat(np.asarray(ids["post"]), want[1])
    pre = np.tile(np.asarray(ids["pre"]), want[0])
    table = f"{wpath.rsplit('/', 1)[0]}/{SYNAPSES}"
    if opt.get("synapses") is not None or table in c.tables:
        lpre, lpost, where = _listed_synapses(c, wpath, values, opt, src)
        if not (np.array_equal(lpre.astype(str), pre.astype(str))
                and np.array_equal(lpost.astype(str), post.astype(str))):
            i = int(np.flatnonzero((lpre.astype(str) != pre.astype(str))
                                   | (lpost.astype(str) != post.astype(str)))[0])
            raise not_mappable(src, f"{wpath!r} is shaped (time, post, pre) {shape}, so its "
                               f"flattened column {i} is the synapse {pre[i]}:{post[i]} "
                               "(PRE:POST, units in their table order), but "
                               f"{where} names {lpre[i]}:{lpost[i]} there",
                               f"{where} listing {lpre.size} synapses",
                               "Drop the synapse list (the axes name the synapses), or store "
                               "the weights as (time, synapse) in a copy of the file")
    return pre, post

_PAIRS = re.compile(r"^\s*-?\d+\s*:\s*-?\d+\s*(,\s*-?\d+\s*:\s*-?\d+\s*)*,?\s*$")


def synapse_pairs(value: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The (pre ids, post ids) of ``synapses`` given as pairs, or None for a table path.

    Pairs are ``"PRE:POST,PRE:POST"`` (the command line) or a sequence of
    ``(pre, post)`` unit ids (Python), one per weight column, in column order.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not _PAIRS.match(value):
            return None
        rows = [tuple(int(x) for x in p.split(":")) for p in value.split(",") if p.strip()]
    elif isinstance(value, (list, tuple, np.ndarray)):
        try:
            rows = [(int(a), int(b)) for a, b in value]
        except (TypeError, ValueError) as err:
            raise ValueError("`synapses` must be a table path, 'PRE:POST,PRE:POST,...' or a "
                             f"sequence of (pre, post) unit ids; got {value!r}.") from err
    else:
        return None
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def synapse_ids(tab: Any, name: str, spath: str, src: Path) -> np.ndarray:
    """The unit ids of a synapse table's presynaptic or postsynaptic column (``pre_unit``,
    ``post_unit`` or another spelling of :data:`plastix.io.nwb_scan.SYNAPSE_COLUMNS`).

    A column of integers holds the ids themselves; a ``DynamicTableRegion`` (rows of
    the ``Units`` table or of an ROI table, as some tools write references) gives
    the ids of the rows it points at.  Anything else is refused.

    Parameters
    ----------
    tab : hdmf.common.DynamicTable
        The synapse table.
    name : str
        The column, as the table names it (:func:`plastix.io.nwb_scan.synapse_columns`).
    spath : str
        The table's path in the file (for the message).
    src : Path
        The file.
    """
    from hdmf.common import DynamicTableRegion

    col = tab[name]
    if isinstance(col, DynamicTableRegion):
        rows = np.asarray(col.data[:], dtype=np.int64)
        return np.asarray(col.table.id[:], dtype=np.int64)[rows]
    values = np.asarray(col[:], dtype=object)
    try:
        ids = np.array([int(v) for v in values.tolist()], dtype=np.int64)
    except (TypeError, ValueError):
        ids = None
    if ids is None or ids.shape != values.shape or not np.array_equal(ids, values.astype(float)):
        shown = ", ".join(repr(v) for v in values.tolist()[:4])
        raise not_mappable(src, f"the column {name!r} of the synapse table {spath!r} must hold "
                           "integer unit ids (or rows of the Units table)",
                           f"values {shown}", "Store the unit ids of each synapse in it, or "
                           f"name another table with {CLI_FLAGS['synapses']} PATH")
    return ids


def _has_spikes(c: NwbContent, ids: dict[str, list[int]], src: Path) -> bool:
    """Whether the units of both roles hold spike times (so weights could be inferred)."""
    pos = unit_rows(c, src)
    return all(any(u in pos and np.size(c.spikes[pos[u]]) for u in ids[r]) for r in ROLES)


def _no_units_table(c: NwbContent, src: Path) -> Exception:
    """The refusal of a file without a ``Units`` table whose activity series are not named.

    Parameters
    ----------
    c : NwbContent
        What the file holds (its series are listed as found).
    src : Path
        The file.
    """
    if len(c.units_tables) > 1:
        return not_mappable(src, f"the file has {len(c.units_tables)} Units tables and none at "
                            "the top level, so plastix cannot tell which holds the units",
                            "Units tables " + ", ".join(c.units_tables),
                            f"Name the one to read with {CLI_FLAGS['units']} PATH (units= in "
                            "Python)")
    have = ("the file has no Units table" if not c.empty_units else
            f"the file's Units table{units_absent(c)[len('an empty Units table'):]} is empty")
    return not_mappable(src, f"{have} (no spike-sorted units), and no "
                        "activity series is named for the pre and post roles",
                        f"{units_absent(c)}; {series_found(c)}",
                        f"Name the series of each role: {CLI_FLAGS['pre_activity']} PATH and "
                        f"{CLI_FLAGS['post_activity']} PATH, with {CLI_FLAGS['pre_units']} / "
                        f"{CLI_FLAGS['post_units']} ID,ID,... for the ids of their columns when "
                        "a series has no ROI or electrode table (pre_activity=, post_activity=, "
                        "pre_units=, post_units= in Python)")


def _synapse_ids_error(src: Path, spath: str, role: str, bad: list[int], role_ids: list[int],
                       known: set[int]) -> Exception:
    """The refusal of a synapse table naming ids that are not units of ``role``.

    Ids found in no table of the file (not in ``Units``, not among the activity
    series' columns) are an error of the synapse table; ids of other units are a
    role mapping to fix.

    Parameters
    ----------
    src : Path
        The file.
    spath : str
        The path of the synapse table.
    role : {"pre", "post"}
        The column (``pre_unit`` / ``post_unit``) that names the ids.
    bad : list of int
        The ids that are not units of ``role``.
    role_ids : list of int
        The units of ``role``.
    known : set of int
        Every unit id of the file (``Units`` rows and activity columns).
    """
    unknown = [u for u in bad if u not in known]
    found = f"{role} units {_ids_desc(sorted(role_ids))}"
    table = spath if spath.startswith("`") else f"the synapse table {spath!r}"
    if unknown and table == spath:  # pairs given as an option
        return not_mappable(src, f"{table} names {role}_unit ids that are no unit of the file: "
                            f"{_ids_desc(unknown)}", found, "Give each pair as ids of the Units "
                            "table (or of the activity series' ROI table)")
    if unknown:
        return not_mappable(src, f"{table} names {role}_unit ids that are "
                            f"no unit of the file: {_ids_desc(unknown)}", found,
                            f"Fix those rows of the synapse table (their ids must be ids of the "
                            f"Units table or of the activity series' ROI table), or name another "
                            f"table with {CLI_FLAGS['synapses']} PATH")
    return not_mappable(src, f"{table} names {role}_unit ids that are "
                        f"not {role}synaptic units: {_ids_desc(bad)}", found,
                        f"Map the roles with {CLI_FLAGS[role + '_units']}")


def _absent_weights(c: NwbContent, ids: dict[str, list[int]], segs, src: Path
                    ) -> dict[str, Any]:
    """No weights measured (``weights_from="spikes"``): one all-NaN sample at the start of
    each segment (of the earliest spike without segments), no synapse columns."""
    if segs is not None:
        times = np.asarray(segs["start"], dtype=float)
    else:
        pos = unit_rows(c, src)
        spikes = [np.asarray(c.spikes[pos[u]]) for r in ROLES for u in ids[r]]
        first = min((float(t.min()) for t in spikes if t.size), default=0.0)
        times = np.array([first])
    return {"times": times, "values": np.zeros((times.size, 0)), "unit": "1", "path": None,
            "rows": np.zeros(0, dtype=np.int64), "cols": np.zeros(0, dtype=np.int64)}


def _data_times(c: NwbContent, act: dict[str, Any], ids: dict[str, list[int]],
                w: dict[str, Any], absent: bool, src: Path) -> list[np.ndarray]:
    """Times (s) of the data the roles read: series samples, else spikes; and weights."""
    pos = unit_rows(c, src)
    out = [] if absent else [np.asarray(w["times"], float)]
    for r in ROLES:
        if act[r] is not None:
            out.append(np.asarray(act[r]["times"], float))
        else:
            out += [np.asarray(c.spikes[pos[u]], float) for u in ids[r] if u in pos]
    return out


def _grid(c: NwbContent, act: dict[str, Any], segs, w_times, ids, bin_size, src: Path
          ) -> tuple[np.ndarray, float]:
    """Fine bins (s, session clock) and their width: a series' samples, or bins over spikes."""
    series = [(r, a) for r, a in act.items() if a is not None]
    if series:
        (r0, a), rest = series[0], series[1:]
        dt = a["dt"] or _sample_step(a["times"])
        for r1, b in rest:
            if a["times"].shape != b["times"].shape or not np.allclose(
                    a["times"], b["times"], rtol=0, atol=1e-9 * dt):
                raise not_mappable(src, f"the {r0} and {r1} activity series have different "
                                   "time grids", f"{a['times'].size} and {b['times'].size} "
                                   "samples", "Resample one of them onto the other's grid")
        if bin_size is not None:
            warn_caller(f"{src.name}: `bin_size` (--bin-size) {bin_size:g} s is not used: the "
                        f"activity is the {r0}synaptic series, sampled every {dt:g} s (spike "
                        "trains are binned on its samples); drop it, or resample the series.",
                        UserWarning)
        return a["times"], dt
    b = bin_size or DEFAULT_BIN_SIZE
    pos = unit_rows(c, src)
    times = [c.spikes[pos[u]] for r in ROLES for u in ids[r]] + [w_times]
    return bin_grid(b, segs, times), b


EMPTY_ROWS_WARN = 0.5
"""Warn when more than this fraction of the segment rows' time lies outside the data."""

EMPTY_ROWS_REFUSE = 0.99
"""Refuse when more than this fraction of the segment rows' time lies outside the data
(epochs in ms against spikes in s): binning it would take ~1000x the memory, for 0 Hz."""


def check_rows_hold_data(segs: dict[str, np.ndarray] | None, w_times: np.ndarray,
                         data_times: list[np.ndarray], *, rows: str, label: str,
                         refuse: Callable[[str, str, str], Exception],
                         each_row: bool = False, refuse_empty: bool = False) -> None:
    """Refuse segment rows that hold no weight sample or almost no data; warn when most of
    their time is empty.

    Rows given in another unit or on another clock than the data (epochs in ms
    against spike times in s) would otherwise be read silently: bins past the
    data as 0 Hz (millions of them), or an empty record.

    Parameters
    ----------
    segs : dict or None
        The segment rows (``start``, ``stop``; s); None for one segment (nothing to check).
    w_times : ndarray
        The weight sample times (s).
    data_times : list of ndarray
        Spike, series and weight times (s) of the roles read.
    rows : str
        What the rows are, for messages (e.g. ``"epochs table"``).
    label : str
        The file or argument the warning names.
    refuse : callable
        ``refuse(what, found, fix)`` -> the exception to raise.
    each_row : bool
        Also refuse a single row that holds no weight sample (the standard NWB reader;
        the row would be a segment without a weight interval).
    refuse_empty : bool
        Refuse, rather than warn, when more than :data:`EMPTY_ROWS_REFUSE` of the rows'
        time holds no data (the standard NWB reader).
    Raises
    ------
    Exception
        ``refuse(...)``: when no row holds a weight sample, when more than
        :data:`EMPTY_ROWS_REFUSE` of the rows' time lies outside the data (with
        ``refuse_empty``), or (with ``each_row``) when a row holds no weight sample.
    """
    if segs is None or len(segs["start"]) == 0:
        return
    start, stop = np.asarray(segs["start"], float), np.asarray(segs["stop"], float)
    where = (f"the {start.size} row{'s' if start.size != 1 else ''} of the {rows} "
             f"({start.min():g}-{stop.max():g} s)")
    hint = ("NWB and pynapple times are in seconds on one clock: if the rows are in ms, "
            "divide them by 1000, or read the data as one segment")
    wrow = assign(np.asarray(w_times, float), segs)
    if w_times.size and not (wrow >= 0).any():
        raise refuse(f"no weight sample lies in any of {where}",
                     f"weights sampled at {np.min(w_times):g}-{np.max(w_times):g} s", hint)
    _check_rows_time(start, stop, data_times, where, label, hint,
                     refuse if refuse_empty else None)
    empty = np.setdiff1d(np.arange(start.size), wrow)
    if each_row and w_times.size and empty.size:
        i = int(empty[0])
        more = f" (and {empty.size - 1} more row(s))" if empty.size > 1 else ""
        raise refuse(f"row {i} of the {rows} ({start[i]:g}-{stop[i]:g} s){more} holds no "
                     "weight sample, so its segment has no weight interval",
                     f"weights sampled at {np.min(w_times):g}-{np.max(w_times):g} s",
                     "Read the data as one segment, or drop the row(s) without weights from "
                     "the table in a copy of the file")


def _check_rows_time(start: np.ndarray, stop: np.ndarray, data_times: list[np.ndarray],
                     where: str, label: str, hint: str,
                     refuse: Callable[[str, str, str], Exception] | None) -> None:
    """Refuse rows whose time lies almost all (> :data:`EMPTY_ROWS_REFUSE`) outside the
    data's span; warn when most of it (> :data:`EMPTY_ROWS_WARN`) does.

    Parameters
    ----------
    start, stop : ndarray
        The rows' times (s).
    data_times : list of ndarray
        Spike, series and weight times (s).
    where : str
        The rows, for messages.
    label : str
        The file or argument the warning names.
    hint : str
        The likely fix.
    refuse : callable or None
        ``refuse(what, found, fix)`` -> the exception to raise; None: warn instead.
    """
    spans = [(np.nanmin(t), np.nanmax(t)) for t in map(np.asarray, data_times)
             if t.size and np.isfinite(t).any()]  # no copy of every spike
    total = float(np.clip(stop - start, 0, None).sum())
    if not spans or total <= 0:
        return
    t0, t1 = float(min(a for a, _ in spans)), float(max(b for _, b in spans))
    covered = float(np.clip(np.minimum(stop, t1) - np.maximum(start, t0), 0, None).sum())
    empty = 100 * (1 - covered / total)
    if refuse is not None and covered < (1 - EMPTY_ROWS_REFUSE) * total:
        raise refuse(f"{where} last {total:g} s in all, and {empty:.3g}% of that time holds "
                     "no data (binning it would read as 0 Hz)", f"the spikes, series and "
                     f"weights lie within {t0:g}-{t1:g} s",
                     "Store the rows' times in seconds on the data's clock (if they are in ms, "
                     "divide them by 1000), or read the data as one segment")
    if covered < EMPTY_ROWS_WARN * total:
        message = (f"{label}: {where} last {total:g} s in all, but the spikes, series and "
                   f"weights lie within {t0:g}-{t1:g} s, so {empty:.3g}% of the rows' time "
                   f"holds no data; {hint}.")
        warn_caller(message, UserWarning)


SPANS_SHARED_MIN = 1 - EMPTY_ROWS_REFUSE
"""Refuse weights and activity whose times share less than this fraction of the longer of
their two spans: one of them in ms and the other in s share about 0.1% (1/1000)."""

SPANS_MS_RATIO = 100.0
"""Spans this many times apart in length are read as ms against s in the refusal's fix
(else as two clocks)."""


def check_spans_overlap(w_times: np.ndarray, w_name: str,
                        spans: list[tuple[str, str, float, float]], *,
                        refuse: Callable[[str, str, str], Exception]) -> None:
    """Refuse weights whose time span and an activity's barely overlap (times in ms against
    times in s, or two clocks).

    Weight times in ms against spike times in s (or the reverse) would otherwise be
    read silently: the weight intervals hold the activity of another time, or none,
    which reads as silence (0 Hz) and skews the alignment and the decay.  Weights
    measured over a part of the recording pass as long as they share at least
    :data:`SPANS_SHARED_MIN` of the longer span with each activity.

    Parameters
    ----------
    w_times : ndarray
        The weight sample times (s).
    w_name : str
        The weights, for the message (e.g. ``"weight series 'processing/plasticity/weight'"``).
    spans : list of (str, str, float, float)
        Each activity source: what it is (``"spikes of the pre and post units"``), what
        its times are called in the fix (``"spike times"``), its first and last time (s).
        A span of no length is not checked.
    refuse : callable
        ``refuse(what, found, fix)`` -> the exception to raise.

    Raises
    ------
    Exception
        ``refuse(...)``: when the weights and an activity share less than
        :data:`SPANS_SHARED_MIN` of the longer of their spans.
    """
    w = np.asarray(w_times, float)
    if w.size < 2 or not np.isfinite(w).any():
        return
    w0, w1 = float(np.nanmin(w)), float(np.nanmax(w))
    for name, noun, a0, a1 in spans:
        lw, la = w1 - w0, a1 - a0
        if lw <= 0 or la <= 0:
            continue
        shared = max(0.0, min(w1, a1) - max(w0, a0))
        if shared >= SPANS_SHARED_MIN * max(lw, la):
            continue
        ratio = max(lw, la) / min(lw, la)
        longer, (s0, s1) = ("weight times", (a0, a1)) if lw > la else (noun, (w0, w1))
        fix = (f"Times in ms? NWB times are in seconds: divide the {longer} by 1000 when "
               f"writing the file (if they are in s and truly span {ratio:.4g}x as long, keep "
               f"only the {longer} within {s0:g}-{s1:g} s, in a copy of the file)"
               if ratio >= SPANS_MS_RATIO else
               f"Put the weight times and the {noun} on one clock, in seconds from the "
               "session_start_time, when writing the file")
        raise refuse(f"the {w_name} and the {name} barely overlap in time (they share "
                     f"{shared:.3g} s, {100 * shared / max(lw, la):.2g}% of the longer span), so "
                     "the weight intervals would be read against activity of another time, or "
                     "none (0 Hz)", f"weights at {w0:g}-{w1:g} s, {name} at {a0:g}-{a1:g} s",
                     fix)


def _activity_spans(c: NwbContent, act: dict[str, Any], ids: dict[str, list[int]],
                    src: Path) -> list[tuple[str, str, float, float]]:
    """Each role's activity for :func:`check_spans_overlap`: an activity series, or the spike
    times of the units read (both roles' together: one table, one clock)."""
    pos = unit_rows(c, src)
    out, spiking = [], []
    for r in ROLES:
        if act[r] is not None:
            t = np.asarray(act[r]["times"], float)
            if t.size:
                out.append((f"{r} activity series {act[r]['path']!r}", f"{r} activity times",
                            float(t.min()), float(t.max())))
        else:
            spiking.append(r)
    trains = [c.spikes[pos[u]] for r in spiking for u in ids[r] if u in pos]
    trains = [t for t in trains if t.size]  # each sorted, NaN dropped (scan_nwb)
    if trains:
        out.append((f"spikes of the {' and '.join(spiking)} units", "spike times",
                    float(min(t[0] for t in trains)), float(max(t[-1] for t in trains))))
    return out


def _sample_step(times: np.ndarray) -> float:
    """The sample step (s) of series timestamps: their median difference, rounded to 12
    significant digits (float noise such as 0.050000000000000266 is 0.05)."""
    if times.size < 2:
        return 1.0
    step = float(np.median(np.diff(times)))
    return float(f"{step:.12g}") if step > 0 else step


def _nan_spikes_warning(c: NwbContent, src: Path) -> None:
    """One warning naming the units whose NaN spike times were dropped, and how many."""
    if not c.nan_spikes:
        return
    items = sorted(c.nan_spikes.items())
    shown = ", ".join(f"{int(c.unit_ids[i])} ({n})" for i, n in items[:8])
    more = f", ... ({len(items)} units)" if len(items) > 8 else ""
    total = sum(n for _, n in items)
    warn_caller(f"{src.name}: {total} NaN spike time(s) in units/spike_times of the Units "
                f"table {c.units_path or 'units'!r} were dropped (NaN is no spike; MatNWB "
                f"pads spike trains with NaN): unit (count) {shown}{more}.", UserWarning)


def _check_weight_order(w: dict[str, Any], wrow: np.ndarray, src: Path, rows: str) -> None:
    """Refuse weight samples out of time order within a segment, naming the series.

    Parameters
    ----------
    w : dict
        The weights (:func:`find_weights`): ``times`` (s) and ``path``.
    wrow : ndarray of int
        Each sample's segment row (-1: left out).
    src : Path
        The file.
    rows : str
        The segment table (``"epochs"``, ``"trials"``) or ``""`` for one segment.
    """
    keep = wrow >= 0
    t, r = np.asarray(w["times"], float)[keep], wrow[keep]
    bad = np.flatnonzero((np.diff(t) <= 0) & (r[1:] == r[:-1]))
    if not bad.size:
        return
    i = int(np.flatnonzero(keep)[bad[0] + 1])
    where = f"the same row of the {rows} table" if rows else "one segment"
    raise not_mappable(src, f"the samples of the weight series {w['path']!r} are not in "
                       f"increasing time order within {where}: sample {i} at {t[bad[0] + 1]:g} "
                       f"s follows one at {t[bad[0]]:g} s", f"{t.size} weight samples, "
                       f"{bad.size} step(s) back in time or repeated",
                       "Sort the series by time (its rows of data and timestamps together) in a "
                       "copy of the file, or, for sessions that each restart their clock, give "
                       "each session its own row of the epochs table")


def _observed(c: NwbContent, ids: list[int], span: tuple[float, float], src: Path
              ) -> list[np.ndarray | None]:
    """Each unit's ``obs_intervals`` (s), or None (observed throughout, or not in Units);
    a warning names the units whose intervals miss the record's ``span`` (s) altogether
    (their activity is all NaN, so the estimator leaves their synapses out).

    An empty cell of a unit with spikes reads as observed throughout, with a warning
    (:func:`_empty_obs_warning`): pynwb cannot leave the column out for some units only,
    so an empty cell is how a lab stores "not given", and a unit never observed cannot
    have spikes.  An empty cell of a unit without spikes stays "never observed".
    """
    pos = unit_rows(c, src)
    if c.observed is None:
        return [None] * len(ids)
    out = [c.observed[pos[u]] if u in pos else None for u in ids]
    kept = {u: int(np.size(c.spikes[pos[u]])) for u, iv in zip(ids, out, strict=True)
            if iv is not None and iv.size == 0 and np.size(c.spikes[pos[u]])}
    out = [None if u in kept else iv for u, iv in zip(ids, out, strict=True)]
    _empty_obs_warning(kept, src)
    lo, hi = span
    missed = [u for u, iv in zip(ids, out, strict=True) if iv is not None
              and not np.any((iv[:, 1] > lo) & (iv[:, 0] < hi) & (iv[:, 1] > iv[:, 0]))]
    if missed:
        empty = [u for u in missed if c.observed[pos[u]].size == 0]
        why = (f" (unit(s) {_ids_desc(empty)} have an empty obs_intervals cell and no spikes)"
               if empty else "")
        warn_caller(f"{src.name}: the obs_intervals of unit(s) {_ids_desc(missed)} miss "
                    f"the record ({lo:g}-{hi:g} s) altogether{why}: their activity is NaN "
                    "(not recorded) throughout and their synapses are left out.", UserWarning)
    return out


def _empty_obs_warning(kept: dict[int, int], src: Path) -> None:
    """One warning naming the units (and their spike counts) whose empty ``obs_intervals``
    cell was read as observed throughout (:func:`_observed`)."""
    if not kept:
        return
    items = list(kept.items())
    shown = ", ".join(f"{u} ({n} spikes)" for u, n in items[:8])
    more = f", ... ({len(items)} units)" if len(items) > 8 else ""
    warn_caller(f"{src.name}: unit(s) {shown}{more} have spikes but an empty obs_intervals "
                "cell (pynwb stores 'not given' so); plastix reads them as observed "
                "throughout and keeps their spikes. If they were truly observed only part of "
                "the time, store those intervals in their obs_intervals cells, in a copy of "
                "the file (or leave the units out with --pre-units/--post-units).",
                UserWarning)


def _spikes(c: NwbContent, ids: list[int], segs, keep_units, src: Path
            ) -> dict[str, np.ndarray] | None:
    """A role's spikes: session time (s), unit index, segment row; canonical order (time,
    then unit).  Built one array at a time, each copy dropped once the next is made."""
    pos = unit_rows(c, src)
    parts = [(c.spikes[pos[u]], j) for j, u in enumerate(ids) if u in pos and keep_units(u)]
    if not parts:
        return None
    t = np.concatenate([p[0] for p in parts])
    ends = np.cumsum([p[0].size for p in parts])
    js = np.array([p[1] for p in parts], dtype=np.int64)
    del parts
    # stable: ties in time keep the order of the parts, which is the order of the units
    order = np.argsort(t, kind="stable")
    t = t[order]
    unit = np.searchsorted(ends, order, side="right")  # the part each spike came from
    del order
    if not np.array_equal(js, np.arange(js.size)):
        unit = js[unit]
    row = assign(t, segs)
    if row.size and row.min() < 0:
        ok = row >= 0
        t, unit, row = t[ok], unit[ok], row[ok]
    return {"time": t, "unit": unit, "row": row}


def _unit_trains(c: NwbContent, ids: list[int], segs, keep_units, src: Path
                 ) -> list[np.ndarray]:
    """Each unit's spike times (s, increasing) within the segment rows: the file's sorted
    trains themselves when every spike is in a row (no copy)."""
    pos = unit_rows(c, src)
    out = []
    for u in ids:
        if u not in pos or not keep_units(u):
            out.append(np.zeros(0))
            continue
        t = c.spikes[pos[u]]
        if segs is not None:
            ok = assign(t, segs) >= 0
            if not ok.all():
                t = t[ok]
        out.append(t)
    return out


def build_record(c: NwbContent, src: Path, identifier: str, opt: dict[str, Any], *,
                 lazy: bool = False) -> xr.Dataset:
    """The record of a standard NWB file (see :func:`plastix.io.nwb.read_standard_nwb`).

    With ``lazy``, activity that comes from a series stays in the file and activity
    binned from spikes is binned when read: the record's variable reads the rows
    indexed (:mod:`plastix.io.lazy`, :class:`plastix.io.spike_bins.SpikeRates`); the
    file must stay open while the record is used.
    """
    meta = c.meta
    tu = meta.get("time_units", "s") if meta.get("time_units") in _SEC_PER else "s"
    sec = _SEC_PER[tu]
    ids, act = find_roles(c, opt, src)
    segs = segment_rows(c, opt.get("segments"), src)
    absent = (opt.get("weights_from") == "spikes" and opt.get("weights") is None
              and f"processing/{MODULE}/{WEIGHT}" not in c.series)
    w = _absent_weights(c, ids, segs, src) if absent else find_weights(c, opt, src, ids, act)
    check_rows_hold_data(segs, w["times"], _data_times(c, act, ids, w, absent, src),
                         rows=f"{segs['name']} table" if segs else "", label=src.name,
                         refuse=lambda what, found, fix: not_mappable(
                             src, what, found, f"{fix} (--segments none)"),
                         each_row=True, refuse_empty=True)
    wrow = assign(w["times"], segs)
    if not absent:
        check_spans_overlap(w["times"], f"weight series {w['path']!r}",
                            _activity_spans(c, act, ids, src),
                            refuse=lambda what, found, fix: not_mappable(src, what, found, fix))
        _check_weight_order(w, wrow, src, segs["name"] if segs else "")
    _nan_spikes_warning(c, src)
    grid, width = _grid(c, act, segs, w["times"], ids, opt.get("bin_size"), src)
    units = set(c.unit_ids.tolist())
    role_of = _role_column(c)
    keep_units = {r: lambda u, r=r: u in units and (act[r] is None or role_of.get(u, r) == r)
                  for r in ROLES}
    row = assign(grid, segs)
    keep = row >= 0
    stop = np.full(grid.size, np.inf) if segs is None else segs["stop"][np.maximum(row, 0)]
    off = np.zeros(1) if segs is None else segs["offset"]
    seg_id = np.zeros(1, dtype=np.int64) if segs is None else segs["seg"]
    bins = grid[keep]
    span = (float(bins[0]), float(bins[-1] + width)) if bins.size else (0.0, 0.0)
    activity, labels, stored = _series_activity(act, keep, lazy)
    for r in ROLES:
        if act[r] is None:
            rates = spike_rates(_unit_trains(c, ids[r], segs, keep_units[r], src), bins, width,
                                stop[keep], _observed(c, ids[r], span, src))
            if lazy:  # binned when read: the memory of the spikes and one batch of rows
                stored[r], activity[r] = rates, placeholder(rates.shape)
            else:
                activity[r] = rates[:]
            labels[r] = ("Hz", "rate")
    wkeep = wrow >= 0
    dense = np.full((int(wkeep.sum()), len(ids["post"]), len(ids["pre"])), np.nan)
    dense[:, w["rows"], w["cols"]] = w["values"][wkeep]
    rows = row[keep]
    t = restore_exact(meta, "time", (grid[keep] - off[rows]) / sec)
    wt = restore_exact(meta, "weight_time", (w["times"][wkeep] - off[wrow[wkeep]]) / sec)
    rec_ids = {r: _record_ids(meta, r, ids[r]) for r in ROLES}
    spike_vars = {}
    for r in ROLES:  # one role at a time: its working copy is freed once converted
        spike_vars[r] = _spike_var(meta, r, _spikes(c, ids[r], segs, keep_units[r], src), off,
                                   seg_id, sec, rec_ids[r])
    labels = {r: tuple(meta.get("activity", {}).get(r, labels[r])) for r in ROLES}
    decay = opt.get("decay")
    decay = float(decay) * sec if decay is not None else meta.get("decay")
    parts = dict(
        pre_activity=activity["pre"], post_activity=activity["post"], weight=dense, time=t,
        weight_time=wt, dt=meta.get("dt", width / sec), pre=rec_ids["pre"],
        post=rec_ids["post"], segment=seg_id[rows], weight_segment=seg_id[wrow[wkeep]],
        time_units=tu, activity_units=labels["pre"][0], activity_kind=labels["pre"][1],
        post_activity_units=labels["post"][0] if labels["post"][0] != labels["pre"][0] else None,
        post_activity_kind=labels["post"][1], weight_units=meta.get("weight_units", w["unit"]),
        decay=decay, pre_spikes=spike_vars["pre"], post_spikes=spike_vars["post"],
        source=opt.get("source") or meta.get("source") or f"nwb:{src.name}",
        provenance={"reader": "plastix.io.nwb.read_standard_nwb", "file": src.name,
                    "identifier": str(identifier),
                    "bin_size_s": None if any(act.values()) else width},
        truth={})
    ds = make_record(**parts)
    if absent:
        ds.attrs["weights"] = "absent"
    ds = with_lazy_activity(ds, stored)
    for key in ("provenance", "truth"):
        if isinstance(meta.get(key), str):
            ds.attrs[key] = meta[key]
    return ds


def _series_activity(act: dict[str, Any], keep: np.ndarray, lazy: bool
                     ) -> tuple[dict[str, Any], dict[str, tuple[str, str]], dict[str, Any]]:
    """The activity, (unit label, kind) and lazily read values of the roles read from a
    series (rows ``keep``): with ``lazy`` a placeholder and the view read when indexed,
    else the values, read together (a series both roles take is read once, only the
    columns they take)."""
    views = {r: a["values"].take_rows(keep) for r, a in act.items() if a is not None}
    labels = {r: (act[r]["label"], act[r]["kind"]) for r in views}
    if lazy:
        return {r: placeholder(v.shape) for r, v in views.items()}, labels, views
    return dict(zip(views, read_views(list(views.values())), strict=True)), labels, {}


def _role_column(c: NwbContent) -> dict[int, str]:
    col = c.unit_columns.get("role")
    if col is None:
        return {}
    return {int(u): role_value(v) for u, v in zip(c.unit_ids, col, strict=True)}


def _record_ids(meta: dict[str, Any], role: str, ids: list[int]) -> np.ndarray:
    """The record's unit ids: plastix's own when it wrote the file, else the file's ids."""
    stored, file_ids = meta.get("ids", {}).get(role), meta.get("file_ids", {}).get(role)
    if stored is not None and file_ids == list(ids):
        return np.asarray(stored)
    return np.asarray(ids, dtype=np.int64)


def _spike_var(meta, role, sp, off, seg_id, sec, rec_ids) -> dict[str, np.ndarray] | None:
    """The record's ``{role}_spikes`` mapping (record time, ids, segment ids), exact if stored."""
    if sp is None or not meta.get("spikes", {}).get(role, sp["time"].size > 0):
        return None  # no spike in the file (or plastix wrote a record without spike times)
    t = sp["time"]  # the working copy, shifted and scaled in place
    if np.any(off != 0):
        t -= off[sp["row"]]
    if sec != 1.0:
        t /= sec
    t = restore_exact(meta, f"{role}_spike_time", t)
    out = {"time": t, "unit": rec_ids[sp.pop("unit")], "segment": seg_id[sp.pop("row")]}
    del sp, t  # each working array freed once converted
    order = meta.get("spike_order", {}).get(role)
    if order is not None and len(order) == out["time"].size:  # the record's own order
        inv = np.asarray(order, dtype=np.int64)
        for k in out:  # one array at a time
            out[k] = out[k][inv]
    return out
