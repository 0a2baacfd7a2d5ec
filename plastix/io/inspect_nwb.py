"""``plastix inspect`` of a standard NWB file (read with pynwb; :mod:`plastix.io.nwb`).

:func:`inspect_standard_nwb` lists the units and their roles, every TimeSeries (a
candidate activity or weight series) and table, the weight series and its synapse
mapping, the segments and the decay; says what is missing for an estimate and the
command-line flags (``--pre-units``, ``--post-units``, ``--pre-activity``,
``--post-activity``, ``--weights``, ``--synapses``, ``--decay``) that would map it; and
tries the mapping.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.errors import SchemaError
from plastix.io.inspect_report import Inspection, _flag_value, _option_flag
from plastix.io.inspect_review import _activity_fits, _finish, _Review, _review, describe_record
from plastix.io.nwb import open_standard_nwb
from plastix.io.nwb_map import synapse_ids, synapse_pairs
from plastix.io.nwb_regions import region_metadata
from plastix.io.nwb_scan import (
    CLI_FLAGS,
    MODULE,
    ROLE,
    SYNAPSES,
    WEIGHT,
    NwbContent,
    cli_flag,
    open_nwb,
    scan_nwb,
    series_ids,
    series_kind,
    series_region,
    synapse_columns,
    units_absent,
)
from plastix.io.probe import reading
from plastix.io.unit_select import (
    parse_units,
    role_advice,
    role_value,
    selected_units,
    split_agrees,
)


def inspect_standard_nwb(path: Path, options: dict[str, Any]) -> Inspection:
    """What pynwb finds in a standard NWB file, mapped by ``options`` (reader options)."""
    io = open_nwb(path)
    try:
        with reading(path, "NWB"):
            c = scan_nwb(io.read(), units=options.get("units"), src=path)
        ins = Inspection(path, "NWB (standard, read with pynwb)")
        _units(c, ins, options)
        _series(c, ins, options)
        offered = _weights(c, ins, options)
        _segments_and_decay(c, ins, options)
    finally:
        io.close()
    ins.flags += [f"{cli_flag(k)} {_flag_value(v)}" for k, v in options.items()
                  if (k in CLI_FLAGS or k == "weights_from") and v is not None
                  and not (k.endswith("_units")  # replaced by advice the synapses support
                           and any(f.startswith(cli_flag(k) + " ") for f in ins.flags))]
    try:
        desc = _described(path, options)
    except SchemaError as err:
        desc = None if offered else _standard_spikes_only(path, options)
        if desc is None:
            if not ins.missing:  # the reader's refusal is all that is missing: its fix too
                ins.missing.append(getattr(err, "what", None) or _reason(str(err)))
                ins.fix = getattr(err, "todo", "")
            return ins
        ins.found.append("spike trains of pre and post units and no measured weights: the "
                         "weights can be inferred from the spikes")
        ins.flags = [f for f in ins.flags if not f.startswith(("--weights ", "--synapses "))]
        ins.flags.append("--weights-from spikes")
    ins.missing = []
    _finish(ins, desc)
    return ins


def _reason(text: str) -> str:
    """The reason alone of a reader's one-line refusal (between ``to a record:`` and
    ``. Found:``)."""
    start = text.find("to a record: ") + len("to a record: ")
    return text[start:text.find(". Found:")] if ". Found:" in text else text


def _described(path: Path, options: dict[str, Any]) -> _Review:
    """:func:`describe_record` of the file's record, opened lazily (activity binned from
    spikes or held in series is read, and checked, only when it is small, so inspecting
    a long recording takes the memory of its spikes, not of its rates), and what an
    estimate still lacks (:func:`_review`)."""
    from plastix.record import validate_record

    ds = open_standard_nwb(path, **options)
    try:
        if _activity_fits(ds):
            validate_record(ds.load(), stage=f"inspect({path.name})")
            return _review(ds, inferred=bool(options.get("weights_from")))
        return _review(ds, describe_record(ds) + " (activity values are checked as the "
                       "estimator reads them)", inferred=bool(options.get("weights_from")))
    finally:
        ds.close()


def _standard_spikes_only(path: Path, options: dict[str, Any]) -> _Review | None:
    """The description of a standard NWB file of spike trains without weights, and what
    an estimate still lacks; else None."""
    if "weights_from" in options or options.get("weights") is not None:
        return None
    try:
        ds = open_standard_nwb(path, weights_from="spikes", **options)
    except SchemaError:
        return None
    try:
        have = all(f"{r}_spike_time" in ds for r in ("pre", "post"))
        if have and ds.attrs.get("weights") == "absent":
            return _review(ds)
        return None
    finally:
        ds.close()


def _units(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> None:
    if c.unit_ids.size == 0:
        ins.found.append("Units table: none (no spike-sorted units)" if not c.empty_units
                         else f"Units table: {units_absent(c)} (no spike-sorted units)")
    else:
        n_sp = sum(s.size for s in c.spikes)
        ins.found.append(f"Units table: {c.unit_ids.size} unit(s), ids "
                         f"{_short(c.unit_ids.tolist())}, {n_sp} spikes in all")
        others = [p for p in c.units_tables if p != c.units_path]
        if others:
            read = "the top-level one (units)" if c.units_path == "units" else c.units_path
            ins.found.append(f"  read: {read}, of {len(c.units_tables)} Units tables; "
                             f"--units {shlex.quote(others[0])} reads "
                             + ("the other" if len(others) == 1 else "another"))
        for name, col in c.unit_columns.items():
            uniq, counts = np.unique(col.astype(str), return_counts=True)
            vals = ", ".join(f"{str(u)!r} ({n})"
                             for u, n in list(zip(uniq, counts, strict=True))[:6])
            where = (" (from the units' electrodes)" if name in c.electrode_columns else
                     " (from the units' electrode group)" if name in c.group_columns else "")
            ins.found.append(f"  column {name}{where}: {vals}"
                             + (", ..." if uniq.size > 6 else ""))
        if c.observed is not None:
            spans = [float(np.clip(iv[:, 1] - iv[:, 0], 0, None).sum()) for iv in c.observed]
            most = f"{min(spans):g} to {max(spans):g} s" if min(spans) < max(spans) else (
                f"{max(spans):g} s")
            ins.found.append(f"  obs_intervals: each unit observed for {most} in all (durations, "
                             "not times); bins outside a unit's intervals read as not recorded "
                             "(NaN)")
    if any(options.get(f"{r}_activity") for r in ("pre", "post")) or c.unit_ids.size == 0:
        _filter_without_units(c, ins, options)
        return  # the roles are the activity series' (asked for under missing, if absent)
    synapses = _weight_synapses(c, options, ins.path)
    if any(options.get(f"{r}_units") is not None for r in ("pre", "post")):
        _check_given_roles(c, ins, options, synapses)
        return
    default = all(f"processing/{MODULE}/{r}_activity" in c.series for r in ("pre", "post"))
    if ROLE in c.unit_columns or default:
        return
    ins.missing.append("the role of each unit: no column 'role' (values pre/post) in the Units "
                       "table")
    ins.flags += _role_flags(c, synapses)


def _unit_filters(c: NwbContent, options: dict[str, Any]) -> list[str]:
    """The roles whose ``--pre-units`` / ``--post-units`` is a COLUMN=VALUE filter that the
    role's activity series cannot resolve: the series has no ROI/electrode table with
    that column (a filter it can resolve is read from that table, :mod:`plastix.io.nwb_regions`)."""
    roles = []
    for r in ("pre", "post"):
        try:
            spec = parse_units(f"{r}_units", options.get(f"{r}_units"))
        except ValueError:
            continue  # the reader names a bad value itself
        if spec is not None and spec[0] == "column" and not _region_column(
                c, options.get(f"{r}_activity"), spec[1].column):
            roles.append(r)
    return roles


def _region_column(c: NwbContent, path: Any, column: str) -> bool:
    """Whether the activity series at ``path`` has a ROI/electrode table with ``column``."""
    found = series_region(c.series[path]) if path in c.series else None
    return found is not None and column in found[0].table.colnames


def _filter_without_units(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> None:
    """A COLUMN=VALUE ``--pre-units`` in a file without a Units table: say that the
    filter selects by Units (or electrode) columns and that ids name the series' columns
    (the flags that do so come from :func:`_activity_split`)."""
    if c.unit_ids.size:
        return
    for r in _unit_filters(c, options):
        given = _option_flag(f"{r}_units", options[f"{r}_units"])
        ins.missing.append(f"the {r} units: {given} selects by a column of the Units table (or "
                           f"of its electrodes), and {ins.path.name} has no Units table; name "
                           "the activity series' columns by their ROI/electrode ids instead, "
                           "as ids or ranges A-B (both ends in; see the flags below)")


def _activity_split(c: NwbContent, ins: Inspection, options: dict[str, Any],
                    acts: dict[str, str]) -> None:
    """When one series with ROI/electrode ids holds both roles' activity and no usable
    ``--pre-units`` / ``--post-units`` is given (each column would be read as pre and as
    post), advise a split (:func:`role_advice`): a column of the series' ROI/electrode table
    that says pre/post or tells the synapse table's two sides apart (COLUMN=VALUE), else the
    synapse table's presynaptic ids pre and postsynaptic ids post, as ids or ranges."""
    if set(acts) != {"pre", "post"} or acts["pre"] != acts["post"]:
        return
    bad = _unit_filters(c, options) if c.unit_ids.size == 0 else []
    if any(options.get(f"{r}_units") is not None and r not in bad for r in ("pre", "post")):
        return
    s = c.series.get(acts["pre"])
    ids = series_ids(s) if s is not None else None
    synapses = _weight_synapses(c, options, ins.path)
    meta = region_metadata(s) if ids else {}
    split = role_advice(ids, meta, synapses=synapses) if ids else None
    if split is None:
        if bad:
            ins.flags += ["--pre-units IDS", "--post-units IDS"]
        return
    flags = [f"--pre-units {shlex.quote(split[0])}", f"--post-units {shlex.quote(split[1])}"]
    ins.flags += flags
    if not any(options.get(f"{r}_activity") for r in ("pre", "post")) or bad:
        return  # the flags are advice already (the activity or the roles are missing)
    n_pre, n_post = (len(selected_units(ids, meta, x)) for x in split[:2])
    why = (f"the synapse table names {n_pre} of them as pre and {n_post} as post"
           if "=" not in split[0] else
           split[2].replace("its column", "the ROI/electrode table's column", 1))
    ins.advice.append(f"{acts['pre']} holds both roles, and without --pre-units/--post-units "
                      f"each of its {len(ids)} columns is read as pre and as post; {why}: "
                      f"{' '.join(flags)} reads only those ({n_pre} x {n_post}, not "
                      f"{len(ids)} x {len(ids)})")


def _role_flags(c: NwbContent, synapses: tuple[np.ndarray, np.ndarray] | None) -> list[str]:
    """``--pre-units`` / ``--post-units`` advice (:func:`role_advice`: a column that says
    pre/post, else the weights' synapses' direction, never a split they contradict); an
    arbitrary split of the ids only when nothing says the direction."""
    ids = c.unit_ids.tolist()
    split = role_advice(ids, c.unit_columns, synapses=synapses)
    if split is not None:
        return [f"--pre-units {shlex.quote(split[0])}", f"--post-units {shlex.quote(split[1])}"]
    if synapses is not None:
        return ["--pre-units IDS", "--post-units IDS"]
    half = len(ids) // 2 or 1
    return [f"--pre-units {_flag_value(ids[:half])}", f"--post-units {_flag_value(ids[half:])}"]


def _check_given_roles(c: NwbContent, ins: Inspection, options: dict[str, Any],
                       synapses: tuple[np.ndarray, np.ndarray] | None) -> None:
    """When the given ``--pre-units`` / ``--post-units`` put a synapse's presynaptic unit
    on the post side (or its postsynaptic unit on the pre side), say so and advise the
    split the synapses support instead of repeating the flags."""
    ids = c.unit_ids.tolist()
    try:
        chosen = [selected_units(ids, c.unit_columns, options[f"{r}_units"])
                  if options.get(f"{r}_units") is not None else [] for r in ("pre", "post")]
    except (KeyError, ValueError):
        return  # the reader names a bad filter itself
    if split_agrees(*chosen, synapses):
        return
    flags = _role_flags(c, synapses)
    given = " ".join(_option_flag(f"{r}_units", options[f"{r}_units"])
                     for r in ("pre", "post") if options.get(f"{r}_units") is not None)
    ins.missing.append(f"the roles: {given} puts units the weights' synapses (pre_unit, "
                       "post_unit) name on one side on the other side; select them as the "
                       f"synapses do: {' '.join(flags)}")
    ins.flags += flags


def _weight_synapses(c: NwbContent, options: dict[str, Any], src: Path
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """The weights' ``(pre_unit, post_unit)`` ids, one per weight column: ``--synapses``
    pairs, else the synapse table (``--synapses PATH``, or the one next to the weights);
    None when neither is there or readable."""
    pairs = synapse_pairs(options.get("synapses"))
    if pairs is not None:
        return pairs
    wpath = options.get("weights") or f"processing/{MODULE}/{WEIGHT}"
    spath = options.get("synapses") or f"{wpath.rsplit('/', 1)[0]}/{SYNAPSES}"
    table = c.tables.get(spath)
    cols = synapse_columns(table.colnames) if table is not None else None
    if cols is None:
        return None
    try:
        return (synapse_ids(table, cols[0], spath, src), synapse_ids(table, cols[1], spath, src))
    except SchemaError:
        return None


def _short(ids: list[Any], n: int = 8) -> str:
    return ", ".join(map(str, ids[:n])) + (f", ... ({len(ids)})" if len(ids) > n else "")


def _series(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> None:
    from pynwb.image import ImageSeries

    candidates = _weight_candidates(c)
    for p, s in c.series.items():
        is_w = p == (options.get("weights") or f"processing/{MODULE}/{WEIGHT}")
        kind = "weights" if is_w else "candidate weights" if p in candidates else (
            "images, not the activity of units" if isinstance(s, ImageSeries) else
            series_kind(s)[1])
        ids = series_ids(s)
        cols = f"columns: ids {_short(ids)} (its ROI/electrode table)" if ids else (
            "axes (post, pre): one synapse per pair of units" if is_w and np.ndim(s.data) >= 3
            else "columns: synapses (one per row of a synapse table)" if is_w else
            "columns: no ROI/electrode table (ids from --pre-units/--post-units ID,...)")
        ins.found.append(f"TimeSeries {p} ({type(s).__name__}), shape {tuple(np.shape(s.data))},"
                         f" unit {str(s.unit)!r} ({kind}); {cols}")
    no_spikes = sum(x.size for x in c.spikes) == 0
    acts = {r: options[f"{r}_activity"] for r in ("pre", "post")
            if options.get(f"{r}_activity")}
    for r in ("pre", "post"):
        if options.get(f"{r}_activity") or f"processing/{MODULE}/{r}_activity" in c.series:
            continue
        if no_spikes:
            cands = _activity_candidates(c, r, options, ins.path)
            ins.missing.append(f"{r}synaptic activity: no spikes in the Units table and no "
                               f"series named for it ({CLI_FLAGS[r + '_activity']} PATH"
                               + ("; the flags below name a candidate)" if cands else ")"))
            named = [p for p in cands if r in p.rsplit("/", 1)[-1].lower()]
            if cands:
                # a series with a ROI/electrode table (ranked first) holds both roles, split
                # by its table (_activity_split); plain series, one per role by name or order
                tabled = series_ids(c.series[cands[0]]) is not None
                pick = acts[r] = (named or cands)[0 if r == "pre" or tabled else -1]
                ins.flags.append(f"{CLI_FLAGS[r + '_activity']} {shlex.quote(pick)}")
                ids = _synapse_units(c, r, options, ins.path)
                n_cols = int(np.prod(np.shape(c.series[pick].data)[1:]))
                if (not series_ids(c.series[pick]) and options.get(f"{r}_units") is None
                        and ids is not None and len(ids) == n_cols):  # its columns' ids
                    _column_ids(c, ins, r, ids)
    _activity_split(c, ins, options, acts)


def _column_ids(c: NwbContent, ins: Inspection, role: str, ids: list[int]) -> None:
    """Advise ``ids`` (the synapses' units of ``role``) as the ids of the columns of a role's
    series without ROI/electrode table, unless the role's advice (:func:`_role_flags`)
    already selects as many units (their ids, in table order, name the columns); each
    flag is given once."""
    flag = CLI_FLAGS[role + "_units"]
    given = [f for f in ins.flags if f.startswith(flag + " ")]
    if given:
        value = shlex.split(given[0])[1]
        try:
            if len(selected_units(c.unit_ids.tolist(), c.unit_columns, value)) == len(ids):
                return
        except (KeyError, ValueError):
            pass  # a placeholder (IDS) or a selection of nothing: the ids replace it
        ins.flags = [f for f in ins.flags if f not in given]
    ins.flags.append(f"{flag} {_flag_value(ids)}")


def _activity_candidates(c: NwbContent, role: str, options: dict[str, Any], src: Path
                         ) -> list[str]:
    """The series that can be a role's activity, best first: never an image series (a raw
    movie such as a ``TwoPhotonSeries``), the weights or a series that may hold them, nor one
    whose columns cannot be mapped to unit ids; the series with a ROI/electrode table of
    one row per column first (``DfOverF`` before raw ``Fluorescence``, then other ROI
    series, then electrode series); without any, the plain series whose column count is
    that of the role's units (the synapses' ids, else the Units of that role), or any
    plain series when neither is known (the ids are then given as --pre-units)."""
    from pynwb.image import ImageSeries

    wpath = options.get("weights") or f"processing/{MODULE}/{WEIGHT}"
    skip = {wpath, *_weight_candidates(c)}
    usable = {p: s for p, s in c.series.items() if p not in skip
              and not p.endswith(f"/{WEIGHT}") and not isinstance(s, ImageSeries)}

    def n_cols(s: Any) -> int:
        return int(np.prod(np.shape(s.data)[1:]))

    def rank(p: str) -> int:
        roi = getattr(usable[p], "rois", None) is not None
        return 0 if roi and "dfoverf" in p.lower() else 1 if roi else 2

    tabled = [p for p, s in usable.items()
              if (ids := series_ids(s)) is not None and len(ids) == n_cols(s)]
    if tabled:
        return sorted(tabled, key=rank)
    want = _synapse_units(c, role, options, src)
    if want is None and ROLE in c.unit_columns:
        want = [u for u, v in zip(c.unit_ids.tolist(), c.unit_columns[ROLE], strict=True)
                if role_value(v) == role] or None
    return [p for p, s in usable.items()
            if series_region(s) is None and (want is None or n_cols(s) == len(want))]


def _synapse_units(c: NwbContent, role: str, options: dict[str, Any], src: Path
                   ) -> list[int] | None:
    """The distinct presynaptic (or postsynaptic) unit ids of the weights' synapses, in order
    of first appearance, as the reader maps them (:func:`_weight_synapses`: ``--synapses``
    pairs, else the synapse table, whose references to ``Units`` rows read as those rows'
    ids); None without synapses."""
    synapses = _weight_synapses(c, options, src)
    if synapses is None:
        return None
    return list(dict.fromkeys(int(u) for u in synapses[0 if role == "pre" else 1].tolist()))


_MASS_UNITS = frozenset({"g", "kg", "mg", "gram", "grams", "kilogram", "kilograms", "lb",
                         "lbs", "oz"})
"""Units of a series that holds a body weight, never offered as synaptic weights."""


def _weight_candidates(c: NwbContent) -> list[str]:
    """Series that may hold the weights (``weight``, ``epsp``, ``slope`` in their path),
    leaving out a body weight (a unit of mass, or a ``behavior`` module), which the reader
    never takes."""
    return [p for p, s in c.series.items()
            if any(k in p.lower() for k in ("weight", "epsp", "slope"))
            and str(s.unit).strip().lower() not in _MASS_UNITS
            and not p.lower().startswith("processing/behavior/")]


def _weights(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> bool:
    """The weight series and its synapses, or what is missing and the flags that name
    them; True when a measured series that may hold the weights was offered."""
    wpath = options.get("weights") or f"processing/{MODULE}/{WEIGHT}"
    spath = options.get("synapses") or f"{wpath.rsplit('/', 1)[0]}/{SYNAPSES}"
    for p, t in c.tables.items():
        ins.found.append(f"table {p}: {len(t)} rows, columns {', '.join(t.colnames)}")
    if wpath in c.series or options.get("weights"):
        ins.found.append(_weight_line(c, wpath, spath, options))
        return False
    ins.missing.append(f"the weights: no TimeSeries {WEIGHT!r} in a processing module "
                       f"{MODULE!r}")
    named = _weight_candidates(c)
    syn = [p for p, t in c.tables.items() if synapse_columns(t.colnames) is not None]
    spikes = sum(x.size for x in c.spikes) > 0
    if not named and not syn and spikes:  # spikes, nothing like weights
        ins.missing[-1] += (": infer them from the spike trains (--weights-from spikes), or "
                            "name a series with --weights PATH --synapses PRE:POST,...")
        ins.flags.append("--weights-from spikes")
        return False
    if named:
        ins.flags.append(f"--weights {shlex.quote(named[0])}")
    ins.flags.append(f"--synapses {shlex.quote(syn[0])}" if syn else "--synapses PRE:POST,...")
    if not named:
        ins.flags.append("--weights PATH")
        return False
    n = int(np.prod(np.shape(c.series[named[0]].data)[1:]))  # the shape, nothing read
    ins.found.append((f"{len(named)} series that may hold the weights: {', '.join(named)}; "
                      f"the command takes the first, {named[0]} ({n} column(s))"
                      if len(named) > 1 else
                      f"a series that may hold the weights: {named[0]} ({n} column(s))")
                     + f"; read it with --weights {shlex.quote(named[0])} --synapses "
                     + (shlex.quote(syn[0]) if syn else
                        "PRE:POST,PRE:POST,... (the unit ids of each column's synapse, "
                        "in column order)"))
    if spikes:
        ins.missing[-1] += (f" (or, if {named[0]} is not the weights, infer them from the "
                            "spike trains: --weights-from spikes --decay G)")
    return True


def _weight_line(c: NwbContent, wpath: str, spath: str, options: dict[str, Any]) -> str:
    """The weight series read and where its synapses come from: its synapse table (or
    ``--synapses``), or, for a series shaped (time, post, pre), its axes."""
    series = c.series.get(wpath)
    shape = tuple(np.shape(series.data)) if series is not None else ()
    if len(shape) >= 3:
        listed = ("; the synapses listed in " + spath + " must name the same, post-major"
                  if options.get("synapses") is not None or spath in c.tables else "")
        return (f"weight series {wpath}, shaped (time, post, pre) {shape}: sample [t, i, j] "
                "is the synapse from the j-th pre unit onto the i-th post unit, each role's "
                f"units in their table order{listed}")
    return f"weight series {wpath}, synapses from {spath}"


def _segments_and_decay(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> None:
    if c.intervals:
        name = options.get("segments") or next(iter(c.intervals))
        rows = {k: len(v) for k, v in c.intervals.items()}
        ins.found.append(f"segments: the rows of the {name} table ({rows}); "
                         "segments='none' for one segment")
    else:
        ins.found.append("segments: no epochs or trials table (one segment)")
    decay = options.get("decay", c.meta.get("decay"))
    if decay is None:
        ins.found.append("decay: unknown (estimated from presynaptic units silent in two "
                         "consecutive weight intervals, or --decay G in 1/s)")
    else:
        ins.found.append(f"decay: {decay}")
