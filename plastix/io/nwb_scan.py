"""Scanning a standard NWB file and resolving the reader's options (see :mod:`plastix.io.nwb`)."""

from __future__ import annotations

import json
import os
import re
import shlex
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.errors import SchemaError, did_you_mean
from plastix.io.lazy import RowsArray, read_views
from plastix.io.neo_pack import arr_dec
from plastix.io.probe import reading
from plastix.io.unit_select import (  # noqa: F401 - the readers' selections, re-exported
    FILTER_HELP,
    UnitFilter,
    cell_matches,
    parse_units,
    role_value,
)

__all__ = ["STANDARD_MARK", "READ_OPTIONS", "CLI_FLAGS", "NwbContent", "scan_nwb",
           "open_nwb", "parse_units", "UnitFilter", "cli_flag", "suggest", "not_mappable",
           "resolve", "role_units",
           "series_grid", "series_kind", "series_scaling", "series_values", "series_view",
           "series_ids", "series_region", "channel_factors", "check_channels",
           "assign", "restore_exact", "activity_series",
           "segment_rows", "series_found", "units_found", "units_absent", "OPTION_HELP",
           "unit_rows",
           "series_times", "series_path", "SYNAPSE_COLUMNS", "synapse_columns",
           "synapse_names"]

STANDARD_MARK = "plastix-standard-nwb:"
"""Prefix of the ``notes`` of standard NWB files written by plastix (JSON follows)."""

MODULE, WEIGHT, SYNAPSES, ROLE = "plasticity", "weight", "synapses", "role"
ROLES = ("pre", "post")
SYNAPSE_COLUMNS = (("pre_unit", "post_unit"), ("pre_unit_id", "post_unit_id"),
                   ("pre_id", "post_id"), ("presynaptic_unit", "postsynaptic_unit"),
                   ("presynaptic_unit_id", "postsynaptic_unit_id"),
                   ("presynaptic", "postsynaptic"), ("pre", "post"), ("source", "target"))
"""The (presynaptic, postsynaptic) unit-id columns a synapse table may have, in order of
preference (plastix writes the first); matched in any case, with spaces or hyphens for
underscores (:func:`synapse_columns`)."""
READ_OPTIONS = ("pre_units", "post_units", "pre_activity", "post_activity", "weights",
                "synapses", "decay", "bin_size", "segments", "units", "source")
"""Options of :func:`read_standard_nwb` (also accepted by ``load_record`` for ``.nwb``)."""

CLI_FLAGS = {"pre_units": "--pre-units", "post_units": "--post-units",
             "pre_activity": "--pre-activity", "post_activity": "--post-activity",
             "weights": "--weights", "synapses": "--synapses", "decay": "--decay",
             "bin_size": "--bin-size", "segments": "--segments", "units": "--units"}
"""The command-line flag of each reader option."""


def cli_flag(option: str) -> str:
    """The command-line flag of a reader option (``pre_units`` -> ``--pre-units``)."""
    return CLI_FLAGS.get(option, "--" + option.replace("_", "-"))


def named_options(options) -> str:
    """Reader options for a message, each with its flag: ```pre_units` (--pre-units), ...``."""
    return ", ".join(f"`{k}` ({cli_flag(k)})" for k in options)


OPTION_HELP = {
    "pre_units": "presynaptic units: ids (3,4,5) or COLUMN=VALUE of the NWB Units table (of "
                 "the ROI/electrode table of a --pre-activity series that has one), a "
                 "pynapple object's metadata or a Phy cluster table (also COLUMN=A,B, "
                 "COLUMN!=V, COLUMN<NUMBER, >, <=, >=; default: a 'role' column); with "
                 "--pre-activity and a series without ROI table, the ids of its columns",
    "post_units": "postsynaptic units, as --pre-units (e.g. location=CA1)",
    "pre_activity": "NWB: path of a TimeSeries with the presynaptic activity (time x unit), "
                    "e.g. processing/ecephys/rates (default: binned spikes); pynapple: the "
                    "file (TsGroup or TsdFrame) of the presynaptic units",
    "post_activity": "NWB: path of a TimeSeries with the postsynaptic activity, e.g. "
                     "processing/ophys/DfOverF/RoiResponseSeries; pynapple: the file of the "
                     "postsynaptic units",
    "weights": "NWB: path of the weight TimeSeries (default processing/plasticity/weight); "
               "pynapple: the TsdFrame file (default weights.npz)",
    "synapses": "NWB: path of its synapse table with columns pre_unit, post_unit (also "
                "pre/post, presynaptic_unit_id/postsynaptic_unit_id, source/target, ...; "
                "default: 'synapses' next to the weights); pynapple: a .csv/.tsv table; or the "
                "synapse of each weight column as PRE:POST,PRE:POST,... (unit ids, in column "
                "order)",
    "decay": "known decay rate in 1/s",
    "bin_size": "bin width in s for spike trains without a rate series (default 0.01)",
    "units": "NWB: path of the Units table to read, e.g. processing/ecephys/units_kilosort4 "
             "(default: the top-level units, else the file's only Units table)",
}
"""One help line per reader option, for the CLI."""

_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0, "step": 1.0}
_HZ = {"hz", "1/s", "s^-1", "spikes/s", "spikes per second"}


@dataclass
class NwbContent:
    """What a standard NWB file holds, as plastix sees it (also used by ``inspect``).

    Attributes
    ----------
    unit_ids : ndarray of int
        The ``Units`` table's ids (empty without a table).
    unit_columns : dict
        Scalar columns of the ``Units`` table, name -> values (one per unit).
    spikes : list of ndarray
        Spike times (s) of each unit, in table order.
    series : dict
        Every ``TimeSeries``, by path.
    tables : dict
        Every ``DynamicTable`` outside ``Units`` and the interval tables, by path.
    intervals : dict
        ``"epochs"`` / ``"trials"`` -> the ``TimeIntervals`` table, when present.
    meta : dict
        What plastix wrote in ``notes`` (empty for other files).
    observed : list of ndarray or None
        Each unit's ``obs_intervals`` (s, shape ``(k, 2)``: start, stop), in table
        order, when the ``Units`` table has that column; None when it has not
        (every unit then counts as observed throughout).
    electrode_columns : tuple of str
        The names in ``unit_columns`` that come from the electrodes table (through
        the Units ``electrodes`` column, where every unit's electrodes agree), e.g.
        ``location``.
    group_columns : tuple of str
        The names in ``unit_columns`` that come from each unit's ``electrode_group``
        (its ``location``, when the electrodes give none, e.g. when a unit's
        electrodes disagree).
    units_path : str or None
        Path of the Units table read (``"units"`` for the top-level one), None without.
    units_tables : tuple of str
        Paths of every ``Units`` table of the file (top level and processing modules).
    nan_spikes : dict
        Row of the Units table -> how many NaN spike times it held (dropped: NaN is no
        spike; MatNWB pads ragged spike trains with NaN).
    empty_units : tuple of str
        Paths of the file's ``Units`` tables that hold no unit (0 rows): such a table
        is not read, and messages say it is empty, not absent.
    marked : bool
        Whether plastix wrote the file (``notes`` start with :data:`STANDARD_MARK`): only
        then are the ``segment`` / ``time_offset`` columns of epochs and trials plastix's.
    """

    unit_ids: np.ndarray
    unit_columns: dict[str, np.ndarray]
    spikes: list[np.ndarray]
    series: dict[str, Any]
    tables: dict[str, Any]
    intervals: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    observed: list[np.ndarray] | None = None
    electrode_columns: tuple[str, ...] = ()
    group_columns: tuple[str, ...] = ()
    units_path: str | None = None
    units_tables: tuple[str, ...] = ()
    nan_spikes: dict[int, int] = field(default_factory=dict)
    empty_units: tuple[str, ...] = ()
    marked: bool = False


_PYNWB_CHECKS = (r".*Length of data does not match length of timestamps",
                 r".*second dimension of data does not match the length of (rois|electrodes)",
                 r".*EnumData is experimental")
"""pynwb / hdmf warnings of a read that plastix replaces by its own one-line refusal
(a series' timestamps or ROI count that do not match its data) or that say nothing
to the user (EnumData columns read fine)."""


def open_nwb(path: str | os.PathLike):
    """Open an NWB file read-only with pynwb; returns the ``NWBHDF5IO`` (close it)."""
    import warnings

    from pynwb import NWBHDF5IO

    with reading(path, "NWB"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # namespace-version notices of cached specs
        io = NWBHDF5IO(str(path), mode="r", load_namespaces=True)
    plain_read = io.read

    def read(*args: Any, **kwargs: Any) -> Any:
        """``NWBHDF5IO.read`` without the pynwb warnings plastix replaces (``_PYNWB_CHECKS``)."""
        with warnings.catch_warnings():
            for pattern in _PYNWB_CHECKS:
                warnings.filterwarnings("ignore", message=pattern)
            return plain_read(*args, **kwargs)

    io.read = read
    return io


def _walk(obj: Any, prefix: str, series: dict[str, Any], tables: dict[str, Any]) -> None:
    from hdmf.common import DynamicTable
    from pynwb import TimeSeries

    for child in getattr(obj, "children", ()):
        p = f"{prefix}/{child.name}"
        if isinstance(child, TimeSeries):
            series[p] = child
        elif isinstance(child, DynamicTable):
            tables[p] = child
        if not isinstance(child, TimeSeries):
            _walk(child, p, series, tables)


def scan_nwb(nwb: Any, *, units: str | None = None, src: str | os.PathLike | None = None
             ) -> NwbContent:
    """Collect the units, series, tables, interval tables and plastix notes of an ``NWBFile``.

    Parameters
    ----------
    nwb : pynwb.NWBFile
        The file, as read.
    units : str, optional
        Path of the ``Units`` table to read (the reader option ``units``, ``--units``):
        ``"units"`` for the top-level one, or one in a processing module
        (``processing/ecephys/units_kilosort4``; a name found once is enough).
        Default: the top-level table, else the file's only ``Units`` table.
    src : str or os.PathLike, optional
        The file, for the refusal of a ``units`` that names no ``Units`` table.
    """
    from hdmf.common import DynamicTable
    from pynwb import TimeSeries

    series: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    for group in ("acquisition", "processing", "analysis", "stimulus", "scratch"):
        for name, obj in (getattr(nwb, group, None) or {}).items():
            p = f"{group}/{name}"
            if isinstance(obj, TimeSeries):
                series[p] = obj
                continue
            if isinstance(obj, DynamicTable):  # a table stored directly there, e.g.
                tables[p] = obj                # nwb.add_analysis(synapses)
            _walk(obj, p, series, tables)
    found = _units_tables(nwb, tables)
    upath = _units_choice(found, units, Path(src or "the file"))
    table = found.get(upath) if upath is not None else None
    content = _scan_units(table)
    intervals = {k: getattr(nwb, k) for k in ("epochs", "trials")
                 if getattr(nwb, k, None) is not None and len(getattr(nwb, k)) > 0}
    notes = str(nwb.notes or "")
    meta: dict[str, Any] = {}
    if notes.startswith(STANDARD_MARK):
        try:
            meta = json.loads(notes[len(STANDARD_MARK):])
        except ValueError:
            meta = {}  # edited notes: read the file from its NWB objects only
    return NwbContent(series=series, tables=tables, intervals=intervals, meta=meta,
                      units_path=upath if table is not None else None,
                      units_tables=tuple(found), marked=notes.startswith(STANDARD_MARK),
                      empty_units=_empty_units(nwb, tables), **content)


def _empty_units(nwb: Any, tables: dict[str, Any]) -> tuple[str, ...]:
    """Paths of the file's ``Units`` tables with no unit (0 rows): top level, then modules."""
    from pynwb.misc import Units

    top = ("units",) if nwb.units is not None and len(nwb.units) == 0 else ()
    return top + tuple(p for p, t in tables.items() if isinstance(t, Units) and len(t) == 0)


def _units_tables(nwb: Any, tables: dict[str, Any]) -> dict[str, Any]:
    """Every ``Units`` table of the file by path: ``"units"`` (top level) first, then those in
    processing modules (SpikeInterface's ``write_as="processing"``, several sorters)."""
    from pynwb.misc import Units

    out = {"units": nwb.units} if nwb.units is not None and len(nwb.units) > 0 else {}
    out.update({p: t for p, t in tables.items() if isinstance(t, Units) and len(t) > 0})
    return out


def _units_choice(found: dict[str, Any], units: str | None, src: Path) -> str | None:
    """The path of the Units table to read: ``units`` when given (refused when it names
    none), else the top-level one, else the only one; None when there is none or several
    (the reader then refuses, naming them)."""
    if units is None:
        if "units" in found or len(found) == 1:
            return next(iter(found))
        return None
    key = str(units).strip().strip("/")
    if key in found:
        return key
    by_name = [p for p in found if p.rsplit("/", 1)[-1] == key]
    if len(by_name) == 1:
        return by_name[0]
    raise not_mappable(src, f"`units` names {units!r}, which is no Units table of the file"
                       + (suggest(key, list(found)) if found else ""),
                       "Units tables " + (", ".join(found) or "none"),
                       f"Name one of them with {CLI_FLAGS['units']} PATH (units= in Python)")


def _scan_units(units: Any) -> dict[str, Any]:
    """The fields of :class:`NwbContent` that come from a ``Units`` table (empty for None)."""
    ids, cols, spikes = np.zeros(0, dtype=np.int64), {}, []
    out: dict[str, Any] = {"unit_ids": ids, "unit_columns": cols, "spikes": spikes}
    if units is None:
        return out
    out["unit_ids"] = ids = np.asarray(units.id[:], dtype=np.int64)
    group_location: list[Any] = []
    for name in units.colnames:
        if name == "spike_times":
            continue
        try:
            values = np.asarray(units[name][:])
        except Exception:  # noqa: BLE001 - a column that does not read as an array
            continue
        if values.ndim == 1 and values.shape[0] == ids.size:
            cols[name] = np.array([_text(v) for v in values], dtype=object)
            if name == "electrode_group":
                group_location = [getattr(v, "location", None) for v in values]
    electrodes = {k: v for k, v in _electrode_columns(units, ids.size).items() if k not in cols}
    cols.update(electrodes)
    out["electrode_columns"] = tuple(electrodes)
    if "location" not in cols and "electrode_group" in cols and group_location and all(
            isinstance(v, str) for v in group_location):
        cols["location"] = np.array(group_location, dtype=object)
        out["group_columns"] = ("location",)
    if "spike_times" in units.colnames:
        spikes += _unit_spikes(units, ids.size, out)
    else:
        spikes += [np.zeros(0) for _ in ids]
    if "obs_intervals" in units.colnames:
        out["observed"] = [np.asarray(units["obs_intervals"][i], dtype=float).reshape(-1, 2)
                           for i in range(ids.size)]
    return out


def _electrode_columns(units: Any, n_units: int) -> dict[str, np.ndarray]:
    """Columns of the electrodes table, one value per unit, through the Units ``electrodes``
    column (a ragged region of electrode rows): a column is taken when every unit's
    electrodes agree on its value (e.g. ``location``, ``group_name``); none if the table
    has no such column or it cannot be read."""
    if "electrodes" not in units.colnames:
        return {}
    try:
        index = units["electrodes"]
        ends = np.asarray(index.data[:], dtype=np.int64)
        rows = np.asarray(index.target.data[:], dtype=np.int64)
        table = index.target.table
        if ends.size != n_units:
            return {}
        starts = np.concatenate([[0], ends[:-1]])
        out = {}
        for name in table.colnames:
            try:
                col = np.array([_text(v) for v in table[name].data[:]], dtype=object)
            except Exception:  # noqa: BLE001 - a column that does not read as values
                continue
            per_unit = [{str(v) for v in col[rows[a:b]]} for a, b in zip(starts, ends,
                                                                           strict=True)]
            if all(len(v) == 1 for v in per_unit):
                out[name] = np.array([col[rows[a]] for a in starts], dtype=object)
        return out
    except Exception:  # noqa: BLE001 - an electrodes column written another way: left out
        return {}


def _unit_spikes(units: Any, n: int, out: dict[str, Any]) -> list[np.ndarray]:
    """Each row's spike times (s, sorted, NaN dropped and counted in ``out["nan_spikes"]``):
    views into one array read at once, so that the spikes are held once (not once per
    row and again when sorted)."""
    from hdmf.common.table import VectorIndex

    col, bounds = units["spike_times"], None
    target = getattr(col, "target", None)
    if isinstance(col, VectorIndex) and not isinstance(target, VectorIndex):
        ends = np.asarray(col.data[:], dtype=np.int64)
        flat = np.asarray(target.get(slice(None)), dtype=float)
        if ends.shape == (n,) and flat.ndim == 1 and (ends[-1:] <= flat.size).all():
            bounds = np.concatenate([np.zeros(1, np.int64), ends])
    if bounds is None:  # not a plain ragged column: row by row
        rows = [np.asarray(units["spike_times"][i], dtype=float) for i in range(n)]
        bounds = np.concatenate([[0], np.cumsum([t.size for t in rows])]).astype(np.int64)
        flat = np.concatenate(rows) if rows else np.zeros(0)
        del rows
    elif not flat.flags.writeable or not flat.flags.owndata:
        flat = flat.copy()  # sorted in place below: never the file's own buffer
    bad = np.isnan(flat)
    nan: dict[int, int] = {}
    if bad.any():  # MatNWB pads ragged trains with NaN: no spike
        seen = np.concatenate([np.zeros(1, np.int64), np.cumsum(bad)])
        per_row = seen[bounds[1:]] - seen[bounds[:-1]]
        del seen
        nan = {i: int(k) for i, k in enumerate(per_row) if k}
        bounds = bounds - np.concatenate([[0], np.cumsum(per_row)])
        flat = flat[~bad]
    del bad
    out["nan_spikes"] = nan
    trains = [flat[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    for t in trains:
        t.sort()  # in place, as np.sort sorts a copy
    return trains


def _text(v: Any) -> Any:
    """A Units cell as a plain value: text decoded, numpy scalars unwrapped, and an NWB
    object (an ``electrode_group`` cell holds an ElectrodeGroup) as its name."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    from hdmf.container import AbstractContainer

    return v.name if isinstance(v, AbstractContainer) else v


# ---------------------------------------------------------------- options


def suggest(name: str, choices: list[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    hint = did_you_mean(name, choices).strip()
    return f" ({hint[0].lower()}{hint[1:]})" if hint else ""


def not_mappable(path: Path, what: str, found: str, todo: str) -> SchemaError:
    """The refusal of the standard reader: what is missing, what was found, ``inspect``;
    its attributes ``what`` and ``todo`` hold the reason and the fix alone (``plastix
    inspect`` prints them)."""
    err = SchemaError(f"cannot map {path.name!r} (standard NWB) to a record: {what}. Found: "
                      f"{found}. {todo}; run `plastix inspect {shlex.quote(str(path))}` to "
                      "see what plastix finds and the flags that map it.")
    err.what, err.todo = what, todo
    return err


def units_absent(c: NwbContent) -> str:
    """What stands for the units of a file that has none: ``"no Units table"``, or ``"an
    empty Units table (0 units)"`` when it has one that holds no unit (named when it is
    not the top-level ``units``)."""
    if not c.empty_units:
        return "no Units table"
    where = "" if c.empty_units[0] == "units" else f" {c.empty_units[0]}"
    return f"an empty Units table{where} (0 units)"


def units_found(c: NwbContent) -> str:
    if c.unit_ids.size == 0:
        return units_absent(c)
    cols = ", ".join(f"{k} ({_values_desc(v)})" for k, v in c.unit_columns.items())
    return (f"a Units table with {c.unit_ids.size} unit(s) (ids {_ids_desc(c.unit_ids)}) and "
            f"columns: {cols or 'none besides spike_times'}")


def _ids_desc(ids: Any, n: int = 8) -> str:
    ids = list(np.asarray(ids).tolist())
    return ", ".join(map(str, ids[:n])) + (f", ... ({len(ids)} in all)" if len(ids) > n else "")


def _values_desc(values: np.ndarray, n: int = 4) -> str:
    uniq = sorted({str(v) for v in values.tolist()})
    return "values " + ", ".join(map(repr, uniq[:n])) + (", ..." if len(uniq) > n else "")


def series_found(c: NwbContent) -> str:
    if not c.series:
        return "no TimeSeries"
    return "TimeSeries " + ", ".join(f"{p} {tuple(np.shape(s.data))}"
                                     for p, s in list(c.series.items())[:8])


def resolve(c: NwbContent, kind: str, path: str, option: str, src: Path) -> Any:
    """The series (``kind="series"``) or table (``"tables"``) at ``path`` or of that unique name."""
    pool = getattr(c, kind)
    key = path.strip("/")
    if key in pool:
        return pool[key]
    by_name = [p for p in pool if p.rsplit("/", 1)[-1] == key]
    if len(by_name) == 1:
        return pool[by_name[0]]
    what = "TimeSeries" if kind == "series" else "DynamicTable"
    found = ", ".join(pool) or "none"
    extra = f" (several match: {', '.join(by_name)})" if by_name else suggest(key, list(pool))
    raise not_mappable(src, f"`{option}` names {path!r}, which is no {what} of the file{extra}",
                       f"{what} {found}", f"Give the full path of one of them as `{option}`")


def unit_rows(c: NwbContent, src: Path) -> dict[int, int]:
    """Row of the ``Units`` table of each unit id; a table whose ids repeat is refused.

    Two probes' Kilosort clusters concatenated into one table both start at id 0: an
    id would then name two units, and a map from id to row would silently keep one.

    Parameters
    ----------
    c : NwbContent
        What the file holds.
    src : Path
        The file, for the message.
    """
    ids = c.unit_ids.tolist()
    rows = {int(u): i for i, u in enumerate(ids)}
    if len(rows) == len(ids):
        return rows
    uniq, counts = np.unique(c.unit_ids, return_counts=True)
    dup = uniq[counts > 1].tolist()
    table = c.units_path or "units"
    one = len(dup) == 1
    raise not_mappable(src, f"the ids of the Units table {table!r} are not unique: "
                       f"{'id' if one else 'ids'} {_ids_desc(dup)} {'names' if one else 'name'} "
                       f"{int(counts[counts > 1].sum())} rows (e.g. the "
                       "clusters of two probes, each numbered from 0), so a unit id cannot say "
                       "which unit it means", f"{len(ids)} rows, {uniq.size} distinct ids",
                       "Give every unit its own id in a copy of the file (e.g. probe * 1000 + "
                       "cluster), and the same ids in the synapse table and --pre-units/"
                       "--post-units")


def synapse_columns(colnames: Any) -> tuple[str, str] | None:
    """A synapse table's (presynaptic, postsynaptic) unit-id columns, as the table names them.

    The first pair of :data:`SYNAPSE_COLUMNS` the table has both of, matched in any
    case and with spaces or hyphens for underscores (``Presynaptic Unit ID``); None
    when it has none.

    Parameters
    ----------
    colnames : iterable of str
        The table's column names.
    """
    have: dict[str, str] = {}
    for name in colnames:
        have.setdefault(re.sub(r"[\s\-]+", "_", str(name).strip().lower()), str(name))
    return next(((have[a], have[b]) for a, b in SYNAPSE_COLUMNS if a in have and b in have),
                None)


def synapse_names() -> str:
    """The accepted synapse-table column pairs, for messages (``pre_unit/post_unit, ...``)."""
    return ", ".join(f"{a}/{b}" for a, b in SYNAPSE_COLUMNS)


def series_path(c: NwbContent, s: Any) -> str:
    """The path of the series ``s`` in the file (as listed in ``c.series``)."""
    return next((p for p, x in c.series.items() if x is s), str(getattr(s, "name", "?")))


def series_times(c: NwbContent, s: Any, src: Path, what: str) -> np.ndarray:
    """Sample times (s) of a series (:func:`series_grid`), refused in one line when its
    timestamps are not one per row of its data (pynwb only warns) or hold NaN.

    Parameters
    ----------
    c : NwbContent
        What the file holds (for the series' path).
    s : pynwb.TimeSeries
        The series.
    src : Path
        The file.
    what : str
        What the series is for the message, e.g. ``"weight series"``.
    """
    path = series_path(c, s)
    n = int(np.shape(s.data)[0])
    if s.timestamps is not None and int(np.shape(s.timestamps)[0]) != n:
        m = int(np.shape(s.timestamps)[0])
        raise not_mappable(src, f"the {what} {path!r} has {n} rows of data but {m} "
                           "timestamps, so its samples have no sure times",
                           f"data of shape {tuple(np.shape(s.data))}, {m} timestamps",
                           "Give the series one timestamp per row of its data (time on the "
                           "first axis), in a copy of the file")
    t = series_grid(s)
    nan = int(np.isnan(t).sum())
    if nan:
        raise not_mappable(src, f"{nan} of the {t.size} timestamps of the {what} {path!r} are "
                           "NaN, so those samples have no time", f"timestamps "
                           f"{np.nanmin(t) if nan < t.size else np.nan:g}-"
                           f"{np.nanmax(t) if nan < t.size else np.nan:g} s and {nan} NaN",
                           "Drop the samples without a time (their rows of data and "
                           "timestamps) in a copy of the file")
    return t


# ---------------------------------------------------------------- roles and activity


def role_units(c: NwbContent, role: str, spec: tuple[str, Any] | None, src: Path,
               option: str) -> list[int] | None:
    """Ids of the ``Units`` rows of one role (None: no role information)."""
    if spec is None:
        if ROLE not in c.unit_columns:
            return None
        col = c.unit_columns[ROLE]
        return [int(i) for i, v in zip(c.unit_ids, col, strict=True) if role_value(v) == role]
    kind, arg = spec
    if kind == "ids":
        return list(arg)
    name = arg.column
    if name not in c.unit_columns:
        raise not_mappable(src, f"`{option}` selects units by column {name!r}, which the Units "
                           "table does not have" + suggest(name, list(c.unit_columns)),
                           units_found(c), f"Name one of its columns in `{option}`")
    col = c.unit_columns[name]
    ids = [int(i) for i, v in zip(c.unit_ids, col, strict=True) if arg.matches(v)]
    if not ids:
        raise not_mappable(src, f"`{option}` selects units with {arg.describe()}, and there "
                           "is none",
                           f"column {name!r} with {_values_desc(col, 8)}",
                           f"Choose one of these values in `{option}`")
    return ids


def series_region(s: Any) -> tuple[Any, str] | None:
    """The region of table rows a series' columns are (its ``rois``, else its
    ``electrodes``) and what a row is (``"ROI"``, ``"electrode"``); None without one."""
    for name, what in (("rois", "ROI"), ("electrodes", "electrode")):
        region = getattr(s, name, None)
        if region is not None:
            return region, what
    return None


def series_ids(s: Any) -> list[int] | None:
    """Unit ids of a series' columns from its own ROI or electrode table, if it has one."""
    found = series_region(s)
    if found is None:
        return None
    region = found[0]
    idx = np.asarray(region.data[:], dtype=np.int64)
    return [int(x) for x in np.asarray(region.table.id[:])[idx]]


def series_grid(s: Any) -> np.ndarray:
    """Sample times (s) of a ``TimeSeries``: its timestamps, or starting_time + i / rate."""
    n = int(np.shape(s.data)[0])
    if s.timestamps is not None:
        return np.asarray(s.timestamps[:], dtype=float)
    return float(s.starting_time or 0.0) + np.arange(n) / float(s.rate)


def series_scaling(s: Any) -> tuple[float, float]:
    """The ``(conversion, offset)`` of a ``TimeSeries``: its values are ``data * conversion *
    channel_conversion[column] + offset`` in its ``unit`` (NWB's scaling of stored integers;
    default 1 and 0; ``channel_conversion``, an ``ElectricalSeries``' factor per channel, is
    :func:`channel_factors`)."""
    conversion = getattr(s, "conversion", None)
    offset = getattr(s, "offset", None)
    return (1.0 if conversion is None else float(conversion),
            0.0 if offset is None else float(offset))


def channel_factors(s: Any) -> np.ndarray | None:
    """A series' ``channel_conversion`` (an ``ElectricalSeries``' factor per channel, i.e.
    per data column, applied on top of ``conversion``) as float64; None when it has none or
    every factor is 1."""
    cc = getattr(s, "channel_conversion", None)
    if cc is None:
        return None
    factors = np.asarray(cc[:], dtype=np.float64).ravel()
    return None if np.all(factors == 1.0) else factors


def check_channels(c: NwbContent, s: Any, src: Path, what: str) -> None:
    """Refuse, in one line, a series whose ``channel_conversion`` does not hold one factor
    per data column (so the columns' values are not sure).

    Parameters
    ----------
    c : NwbContent
        What the file holds (for the series' path).
    s : pynwb.TimeSeries
        The series.
    src : Path
        The file.
    what : str
        What the series is for the message, e.g. ``"weight series"``.
    """
    factors = channel_factors(s)
    shape = tuple(int(n) for n in np.shape(s.data))
    n = shape[1] if len(shape) > 1 else 1
    if factors is not None and factors.size != n:
        raise not_mappable(src, f"the channel_conversion of the {what} {series_path(c, s)!r} "
                           f"holds {factors.size} factors for its {n} channels (data columns), "
                           "so its values are not sure", f"data of shape {shape}, "
                           f"channel_conversion of {factors.size}", "Give one factor per "
                           "channel (the second axis of data), in a copy of the file")


class _ChannelScaled:
    """A series' stored data times a factor per column (``conversion * channel_conversion``),
    float64, read only where indexed, as :class:`plastix.io.lazy.RowsArray` indexes a
    dataset: ``data[rows]`` or, for a (time, channel) dataset, ``data[rows, columns]``.

    Parameters
    ----------
    data : array-like
        The stored data (an h5py dataset), ``(time,)``, ``(time, channel)`` or
        ``(time, channel, ...)``.
    factors : ndarray
        One factor per channel (the second axis; one for a 1-D series).
    """

    def __init__(self, data: Any, factors: np.ndarray):
        self.data = data
        self.factors = np.asarray(factors, dtype=np.float64)
        self.shape = tuple(int(n) for n in np.shape(data))
        self.dtype = np.dtype(np.float64)

    def __getitem__(self, key: Any) -> np.ndarray:
        raw = np.asarray(self.data[key], dtype=np.float64)
        ndim = len(self.shape)
        if isinstance(key, tuple) and len(key) == 2 and ndim == 2:
            factor = self.factors[key[1]]  # the columns taken
        elif isinstance(key, tuple):
            raise TypeError(f"a channel-scaled NWB series is indexed by rows or (rows, "
                            f"columns); got {key!r}")
        elif ndim == 1:
            factor = self.factors[0]
        else:  # whole rows: the channel axis is the first after time
            factor = self.factors.reshape((-1,) + (1,) * (ndim - 2))
        return raw * factor


_SCALED: weakref.WeakValueDictionary[tuple, _ChannelScaled] = weakref.WeakValueDictionary()
"""The channel-scaled data of each series read, so the views of one series (the pre and
the post columns) share it and :func:`plastix.io.lazy.read_views` reads it once."""


def series_values(s: Any) -> np.ndarray:
    """A ``TimeSeries``' values in its ``unit``, float64, as (time, column).

    The stored data scaled by :func:`series_scaling` and :func:`channel_factors`; a 1-D
    series is one column, trailing axes are flattened into columns.
    """
    return read_views([series_view(s)])[0]


def series_view(s: Any) -> RowsArray:
    """A ``TimeSeries``' values as a :class:`plastix.io.lazy.RowsArray` (time, column),
    read from the file only where indexed (or by :func:`plastix.io.lazy.read_views`).

    The values are ``data * conversion + offset``, and with a ``channel_conversion``
    (:func:`channel_factors`) ``data * (conversion * channel_conversion[column]) + offset``,
    as pynwb's ``get_data_in_units`` computes them; such a series is read as float64 (never
    kept as its stored float32, which holds unscaled values only).
    """
    conversion, offset = series_scaling(s)
    factors = channel_factors(s)
    if factors is None:
        return RowsArray(s.data, conversion=conversion, offset=offset)
    shape = tuple(int(n) for n in np.shape(s.data))
    n = shape[1] if len(shape) > 1 else 1
    if factors.size != n:
        raise ValueError(f"the channel_conversion of series {getattr(s, 'name', '?')!r} holds "
                         f"{factors.size} factors for its {n} channels (data of shape {shape}); "
                         "give one factor per channel, in a copy of the file")
    scale = conversion * factors
    key = (id(s.data), scale.tobytes())
    data = _SCALED.get(key)
    if data is None or data.data is not s.data:
        data = _SCALED[key] = _ChannelScaled(s.data, scale)
    return RowsArray(data, conversion=1.0, offset=offset)


def series_kind(s: Any) -> tuple[str, str]:
    """The record's (unit label, kind) of an activity series."""
    unit = str(s.unit or "1")
    if unit.strip().lower() in _HZ:
        return "Hz", "rate"
    if type(s).__name__ == "RoiResponseSeries":
        return unit, "fluorescence"
    return unit, "activation"


def activity_series(c: NwbContent, role: str, path: str, option: str, ids: list[int] | None,
                     spec: tuple[str, Any] | None, src: Path) -> dict[str, Any]:
    """A role's activity from a series: times, values (time, unit), column ids, label, kind,
    its path (and ``table_ids``, every id of the series' ROI / electrode table, if it has one).

    The values are a :class:`plastix.io.lazy.RowsArray` of the role's columns of the
    file's dataset, read when indexed, or with the other role's by
    :func:`plastix.io.lazy.read_views` (a series both roles take is read once).
    """
    s = resolve(c, "series", path, option, src)
    check_channels(c, s, src, f"{role} activity series")
    values = series_view(s)
    n = values.shape[1]
    given = spec[1] if spec is not None and spec[0] == "ids" else None
    table = series_ids(s)
    times = series_times(c, s, src, f"{role} activity series")
    if table is not None and len(table) != n:
        region = "rois" if getattr(s, "rois", None) is not None else "electrodes"
        raise not_mappable(src, f"the {role} activity series {series_path(c, s)!r} has {n} "
                           f"data columns but its {region} region names {len(table)} rows, so "
                           "its columns cannot be matched to them", f"data of shape "
                           f"{tuple(np.shape(s.data))}, {len(table)} {region}",
                           f"Give the series one {region} row per data column (or the data "
                           "with time on the first axis), in a copy of the file")
    if table is not None and given is not None:  # pick these ROIs / electrodes of the series
        absent = [u for u in given if u not in table]
        if absent:
            raise not_mappable(src, f"`{role}_units` names ids that are not in the ROI/electrode "
                               f"table of {option} {path!r}: {absent[:5]}",
                               f"its ids {_ids_desc(table)}",
                               f"Name ids of that table in {CLI_FLAGS[role + '_units']}")
        pick = [table.index(u) for u in given]
        values = values.take_cols(pick)
        n = len(given)
    cols = given or table or (ids if ids is not None and len(ids) == n else None)
    if cols is None or len(cols) != n:
        have = ("no ROI or electrode table" if table is None
                else f"a table with {len(table)} ids")
        units = f"{len(ids)} Units rows of role {role!r}" if ids else f"no Units of role {role!r}"
        raise not_mappable(src, f"the {n} column(s) of {option} {path!r} cannot be mapped to "
                           f"unit ids", f"{have}, {units}",
                           f"Give the {n} ids of its columns as `{role}_units` "
                           f"({CLI_FLAGS[role + '_units']} ID,ID,...)")
    label, kind = series_kind(s)
    return {"times": times, "values": values, "ids": [int(x) for x in cols],
            "label": label, "kind": kind, "dt": (1.0 / float(s.rate)) if s.rate else None,
            "path": series_path(c, s),
            "table_ids": table or []}


# ---------------------------------------------------------------- segments


def segment_rows(c: NwbContent, choice: str | None, src: Path
                 ) -> dict[str, np.ndarray] | None:
    """Start, stop, id and time offset (s) of each segment row, or None for one segment."""
    if choice == "none":
        return None
    if choice is not None and choice not in ("epochs", "trials"):
        raise ValueError(f"`segments` must be one of 'epochs', 'trials', 'none'; got {choice!r}."
                         + did_you_mean(str(choice), ["epochs", "trials", "none"]))
    name = choice or next((k for k in ("epochs", "trials") if k in c.intervals), None)
    if name is None:
        return None
    if name not in c.intervals:
        raise not_mappable(src, f"`segments` asks for the {name} table, which is absent or "
                           "empty", "interval tables " + (", ".join(c.intervals) or "none"),
                           _segments_fix(["none", *c.intervals]))
    tab = c.intervals[name]
    start = np.asarray(tab["start_time"][:], dtype=float)
    stop = np.asarray(tab["stop_time"][:], dtype=float)
    for col, t in (("start_time", start), ("stop_time", stop)):
        bad = np.flatnonzero(~np.isfinite(t))
        if bad.size:
            i, more = int(bad[0]), f" (and {bad.size - 1} more row(s))" if bad.size > 1 else ""
            edge = "start" if col == "start_time" else "stop"
            other = _segments_fix(["none", *(k for k in c.intervals if k != name)])
            raise not_mappable(src, f"row {i} of the {name} table{more} has no {edge} time "
                               f"({col} is {t[i]}), so its segment has no {edge}",
                               f"{len(start)} rows, {bad.size} with {col} {t[i]}",
                               f"Give the row its {edge} time (s), or drop it, in a copy of "
                               f"the file, or p{other[1:]}")
    order = np.argsort(start, kind="stable")
    start, stop = start[order], stop[order]
    if np.any(start[1:] < stop[:-1]):
        i = int(np.flatnonzero(start[1:] < stop[:-1])[0])
        other = [k for k in c.intervals if k != name]
        raise not_mappable(src, f"the rows of the {name} table overlap (a row starting at "
                           f"{float(start[i + 1]):g} s begins before the previous one stops at "
                           f"{float(stop[i]):g} s), so they cannot be segments",
                           f"{len(start)} rows", _segments_fix(["none", *other]))
    seg, off = np.arange(len(start), dtype=np.int64), np.zeros(len(start))
    if c.marked:  # plastix's own columns; in a lab's file they are the lab's, left alone
        seg = _own_column(tab, "segment", np.int64, seg, order, src)
        off = _own_column(tab, "time_offset", float, off, order, src)
    return {"start": start, "stop": stop, "seg": seg, "offset": off, "name": name}


def _own_column(tab: Any, name: str, dtype: Any, default: np.ndarray, order: np.ndarray,
                src: Path) -> np.ndarray:
    """Column ``name`` (``segment`` or ``time_offset``) of an interval table plastix wrote,
    in row order ``order``; ``default`` without it; refused when it is not numbers.

    Parameters
    ----------
    tab : pynwb.epoch.TimeIntervals
        The epochs or trials table.
    name : str
        The column.
    dtype : type
        ``np.int64`` (segment ids) or ``float`` (offsets in s).
    default : ndarray
        The values without the column.
    order : ndarray of int
        The rows sorted by start time.
    src : Path
        The file.
    """
    if name not in tab.colnames:
        return default
    raw = np.asarray(tab[name][:])
    try:
        values = raw.astype(float)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != default.shape or not np.isfinite(values).all() or (
            dtype is np.int64 and not np.array_equal(values, np.round(values))):
        shown = ", ".join(repr(_text(v)) for v in raw.tolist()[:4])
        want = "integer segment ids" if dtype is np.int64 else "offsets in s"
        raise not_mappable(src, f"the column {name!r} of the {tab.name} table, which plastix "
                           f"wrote, must hold {want}", f"values {shown}",
                           "Remove the column (or the plastix mark in the file's notes) in a "
                           "copy of the file")
    return values.astype(dtype)[order]


def _segments_fix(choices: list[str]) -> str:
    """The fix of a segment table that cannot be used: the other choices, as flag and option.

    Parameters
    ----------
    choices : list of str
        The ``segments`` values that would work (``"none"``, ``"epochs"``, ``"trials"``).
    """
    flags = " or ".join(f"--segments {k}" for k in choices)
    opts = " or ".join(f"segments={k!r}" for k in choices)
    return f"Pass {flags} ({opts} in Python)"


def assign(t: np.ndarray, segs: dict[str, np.ndarray] | None) -> np.ndarray:
    """Row of the segment table holding each time (-1: none); one segment when None."""
    if segs is None:
        return np.zeros(t.shape[0], dtype=np.int64)
    row = np.searchsorted(segs["start"], t, side="right") - 1
    ok = row >= 0
    ok[ok] = t[ok] <= segs["stop"][row[ok]]
    return np.where(ok, row, -1)


# ---------------------------------------------------------------- the reader


def restore_exact(meta: dict[str, Any], name: str, values: np.ndarray) -> np.ndarray:
    """The exact array plastix stored for ``name`` when it agrees with ``values`` to 1e-9."""
    stored = meta.get("exact", {}).get(name)
    if stored is None:
        return values
    exact = arr_dec(stored)
    scale = max(1.0, float(np.max(np.abs(exact)))) if exact.size else 1.0
    if exact.shape == values.shape and np.allclose(exact, values, rtol=0, atol=1e-9 * scale):
        return exact
    return values
