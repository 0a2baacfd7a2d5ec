"""``inspect_file``: what plastix finds in a file, what an estimate lacks, the flags that map it.

For a standard NWB file (:mod:`plastix.io.nwb`) it lists the units and their
roles, every TimeSeries (a candidate activity or weight series) and table,
the weight series and its synapse mapping, the segments and the decay; says
what is missing for an estimate and the exact command-line flags
(``--pre-units``, ``--post-units``, ``--pre-activity``, ``--post-activity``,
``--weights``, ``--synapses``, ``--decay``) that would map it; and tries the
mapping.  For a table of pairing experiments (CSV, TSV, Parquet;
:mod:`plastix.io.table`) it lists the columns as written and as read (SI units),
the labels, the rows and the protocols, and which kernels apply.  For every other
file (NetCDF, NIX, pickle, NWB in plastix's Neo convention) it reads the record
and describes it.
"""

from __future__ import annotations

import os
import shlex
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import FileFormatError, MappingError, SchemaError, UnsafeFileError
from plastix.io.files import check_readable, load_record, open_record
from plastix.io.formats import format_for_path
from plastix.io.lazy import placeholder
from plastix.io.nwb import open_standard_nwb
from plastix.io.nwb_map import synapse_ids, synapse_pairs
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
    synapse_columns,
)
from plastix.io.probe import reading
from plastix.io.table import COLUMNS, header_units, is_pairing_table, load_pairing_table
from plastix.io.table_check import check_table
from plastix.io.unit_select import parse_units, role_advice, selected_units, split_agrees
from plastix.record import interval_follows, silent_after_silent, validate_record

__all__ = ["Inspection", "inspect_file", "inspect_standard_nwb", "inspect_table",
           "inspect_pynapple_session", "inspect_phy_folder", "describe_record"]


@dataclass
class Inspection:
    """What plastix finds in a file (``str()`` gives the readable report).

    Attributes
    ----------
    path : pathlib.Path
        The file.
    format : str
        Its format (``"NetCDF"``, ``"NWB (standard)"``, ...).
    found : list of str
        What plastix finds, one line each.
    missing : list of str
        What an estimate lacks (empty when ``ready``).
    flags : list of str
        Command-line flags that would map the file (``--pre-units location=CA3``…).
    ready : bool
        Whether the file reads as a record with these options.
    record : str
        One-line description of the record read (when ``ready``).
    advice : list of str
        Advice that does not block an estimate (a kernel that fits the record), one
        line each.
    caveat : str
        What ``ready`` depends on that inspect cannot check cheaply (empty if nothing).
    given : str
        The path as the caller wrote it (``in/pairs.csv``, ``session/``): the suggested
        commands name it so (default: ``path``).
    fix : str
        The reader's own fix for what is missing, when the file (not a flag) is at fault
        (a series with more columns than ROIs, epochs in ms); then ``flags`` are the
        options given, to run inspect again with once the file is fixed.
    """

    path: Path
    format: str
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    ready: bool = False
    record: str = ""
    advice: list[str] = field(default_factory=list)
    caveat: str = ""
    given: str = ""
    fix: str = ""

    def typed(self) -> str:
        """The path as the caller wrote it, quoted for the shell."""
        return shlex.quote(self.given or str(self.path))

    def command(self) -> str:
        """The ``plastix estimate`` command line with the flags (each once)."""
        return " ".join(["plastix estimate", self.typed(), *dict.fromkeys(self.flags)])

    def __str__(self) -> str:
        lines = [f"plastix inspect {self.typed()}: {self.format}"]
        lines += [f"  {x}" for x in self.found]
        if self.record:
            lines.append(f"  record: {self.record}")
        if self.missing:
            lines.append("missing for an estimate:")
            lines += [f"  - {x}" for x in self.missing]
        lines += [f"advice: {x}" for x in self.advice]
        if self.fix and not self.ready:
            again = " ".join([f"plastix inspect {self.typed()}", *dict.fromkeys(self.flags)])
            lines.append(f"the fix: {self.fix}")
            lines.append(f"not ready: apply the fix, then run `{again}` again")
            return "\n".join(lines)
        if self.flags or self.ready:  # ready: the command, even without flags
            lines.append("flags that map it:" if not self.ready else "the command:")
            lines.append(f"  {self.command()}")
        if self.ready:
            lines.append("ready for `plastix estimate`"
                         + (f", provided {self.caveat}" if self.caveat else ""))
        elif self.flags:
            lines.append("not ready: add the flags above (adapt the values), then run "
                         f"`plastix inspect {self.typed()}` again with them")
        else:
            lines.append("not ready: see what is missing above")
        return "\n".join(lines)


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


def inspect_file(path: str | os.PathLike, *, allow_pickle: bool = False, sheet: Any = None,
                 nan: str = "refuse", by: Any = None, kernel: str | None = None,
                 **options: Any) -> Inspection:
    """What plastix finds in ``path``, what an estimate lacks, and the flags that map it.

    Parameters
    ----------
    path : str or os.PathLike
        Any file of a registered format, or a table of pairing experiments
        (:func:`inspect_table`).
    allow_pickle : bool
        Read pickle files (they run code when read).
    sheet : str or int, optional
        The sheet of an ``.xlsx`` table (:func:`inspect_table`); tables only.
    nan : {"refuse", "drop"}
        Rows of a table with empty cells (``--nan``); tables only.
    by : str or list of str, optional
        Label columns of a table the estimate resamples within (``--by``); tables only.
    kernel : str, optional
        The kernel the estimate will use (``--kernel``); given, inspect does not advise
        one (it suggests ``stdp`` for a record of pairing protocols).
    **options
        Reader options to try (for standard NWB: ``pre_units``, ``post_units``,
        ``pre_activity``, ``post_activity``, ``weights``, ``synapses``, ``decay``,
        ``bin_size``, ``segments``), and ``weights_from="spikes"`` (the weights will be
        inferred from the spikes: the decay, in 1/s, is then needed).

    Returns
    -------
    Inspection
        ``str()`` of it is the report ``plastix inspect FILE`` prints; its command names
        ``path`` as given, with every option given.
    """
    given, path = os.fspath(path), Path(path)
    if is_pairing_table(path):
        if options:
            raise ValueError(f"reader options ({', '.join(sorted(options))}) do not apply to a "
                             f"table of pairing experiments ({path.name!r}); drop them.")
        ins = inspect_table(path, sheet=sheet, nan=nan, by=by)
        _kernel_given(ins, kernel)
        ins.given = given
        return ins
    for name, value, unset in (("sheet", sheet, None), ("nan", nan, "refuse"), ("by", by, None)):
        if value != unset:
            raise ValueError(f"`{name}` applies to a table of pairing experiments, not to "
                             f"{path.name!r}; drop it.")
    fmt = format_for_path(path)
    check_readable(path, fmt, allow_pickle=allow_pickle)
    if options.get("weights_from") is not None and options["weights_from"] != "spikes":
        raise ValueError(f"`weights_from` must be 'spikes' (inferred from the spike trains); "
                         f"got {options['weights_from']!r}; pass weights_from='spikes' or drop "
                         "it.")
    own = fmt.inspect(path, options) if fmt.inspect is not None else None
    ins = own if isinstance(own, Inspection) else _inspect_record(
        path, fmt, own or fmt.label, allow_pickle, options)
    _carry_options(ins, options)
    _decay_of_inferred(ins, options)
    _kernel_given(ins, kernel)
    ins.given = given
    return ins


def _option_flag(name: str, value: Any) -> str:
    """A reader option as its command-line flag and value (``--pre-units 3,4``)."""
    return f"{cli_flag(name)} {_flag_value(value)}"


def _carry_options(ins: Inspection, options: dict[str, Any]) -> None:
    """Every reader option the caller gave is in the suggested command: those an
    inspector did not carry (nor replace by advice on the same flag) are put first."""
    missing = [_option_flag(k, v) for k, v in options.items()
               if v is not None and k != "source"
               and not any(f.startswith(cli_flag(k) + " ") for f in ins.flags)]
    ins.flags[:0] = missing


def _decay_of_inferred(ins: Inspection, options: dict[str, Any]) -> None:
    """Ask for ``--decay G`` when the weights are to be inferred from the spikes and the
    record could not be read yet (a read record says it itself: :func:`_review`)."""
    inferred = options.get("weights_from") or "--weights-from spikes" in ins.flags
    if (inferred and not ins.record and options.get("decay") is None
            and "--decay G" not in ins.flags):
        ins.missing.append("the decay rate: weights inferred from spikes hold nothing it can "
                           "be estimated from; give it in 1/s (0 if the weights do not decay)")
        ins.flags.append("--decay G")
        ins.ready = False


def _kernel_given(ins: Inspection, kernel: str | None) -> None:
    """The kernel the user chose replaces inspect's advice on one."""
    if kernel is None:
        return
    ins.flags = [f for f in ins.flags if not f.startswith("--kernel ")]
    ins.advice = [a for a in ins.advice if "--kernel" not in a]
    ins.flags.append(f"--kernel {shlex.quote(kernel)}")


def _inspect_record(path: Path, fmt: Any, label: str, allow_pickle: bool,
                    options: dict[str, Any]) -> Inspection:
    """:func:`inspect_file` of a format without an inspector of its own: the record read."""
    ins = Inspection(path, label)
    inferred = options.get("weights_from") == "spikes"
    if inferred:
        ins.flags.append("--weights-from spikes")
        if fmt.read_blocks is None and "weights_from" not in fmt.lazy_options:
            options = {k: v for k, v in options.items() if k != "weights_from"}
    decay = options.get("decay")
    if decay is not None:  # the estimator's option, whatever the reader takes
        ins.flags.append(f"--decay {_flag_value(decay)}")
        options = {k: v for k, v in options.items() if k != "decay"}
    try:
        ds, lazy = _open_to_inspect(path, fmt, allow_pickle, options)
    except SchemaError as err:
        ds, lazy = _spikes_only(path, fmt, allow_pickle, options), False
        if ds is None:
            ins.found.append("a file that does not follow the Neo convention (the README's "
                             "section \"Your own data: the Neo convention\")"
                             if fmt.read_blocks is not None else
                             "a record that does not follow plastix's record layout (the "
                             "README's section \"The record\")")
            ins.missing.append(str(err))
            return ins
        ins.found.append("spike trains of pre and post units and no measured weights (no "
                         "signal named 'weight'): the weights can be inferred from the spikes")
        ins.flags.append("--weights-from spikes")
    ins.found.append(f"a plastix record from {ds.attrs.get('source', 'unknown')!r}")
    try:
        if decay is not None:
            ds = ds.assign(decay=((), float(decay), ds["decay"].attrs))
        desc = describe_record(ds) + (" (activity values are checked as the estimator reads "
                                      "them)" if lazy else "")
        _finish(ins, _review(ds, desc, inferred=inferred, any_size=lazy))
    finally:
        ds.close()
    if allow_pickle:
        ins.flags.insert(0, "--allow-pickle")
    return ins


_ACTIVITY = ("pre_activity", "post_activity")


def _activity_bytes(ds: xr.Dataset) -> int:
    """The memory both roles' activity takes as float64."""
    return sum(int(np.prod(ds[v].shape)) for v in _ACTIVITY) * 8


def _open_to_inspect(path: Path, fmt: Any, allow_pickle: bool, options: dict[str, Any]
                     ) -> tuple[xr.Dataset, bool]:
    """The record of ``path`` and whether it is open lazily: read whole and validated
    (:func:`load_record`) when its activity is small (:data:`CHECK_VALUES_BYTES`) or the
    format cannot open it lazily; else open lazily (:func:`open_record`: a 1 GB NetCDF
    record takes memory for its weights and spikes, not for its activity), its layout
    validated with stand-ins for the activity, whose values the estimator checks as it
    streams them.  The caller closes it."""
    if fmt.open_lazy is None or not set(options) <= set(fmt.lazy_options):
        return load_record(path, allow_pickle=allow_pickle, **options), False
    ds = open_record(path, allow_pickle=allow_pickle, **options)
    if all(v in ds and ds[v].variable._in_memory for v in _ACTIVITY):
        return ds, False  # the format read it whole (as load_record does)
    if any(v not in ds for v in _ACTIVITY) or _activity_bytes(ds) <= CHECK_VALUES_BYTES:
        ds.close()
        return load_record(path, allow_pickle=allow_pickle, **options), False
    try:
        validate_record(ds.assign({v: xr.Variable(ds[v].dims, placeholder(ds[v].shape),
                                                  ds[v].attrs) for v in _ACTIVITY}),
                        stage=f"inspect({path.name})")
    except BaseException:
        ds.close()
        raise
    return ds, True


def _column_line(name: str, written: str | None, si: str | None) -> str:
    """``delta_t [ms] -> s``: a known column as written, and its SI unit when converted."""
    head = f"{name} [{written}]" if written else name
    if name in ("weight_before", "weight_after"):
        return f"{head} (ratio after/before: the unit cancels)"
    return f"{head} -> {si}" if written and si and written != si else head


def inspect_table(path: str | os.PathLike, *, sheet: Any = None, nan: str = "refuse",
                  by: Any = None) -> Inspection:
    """What plastix finds in a table of pairing experiments, and whether it can be estimated.

    Lists each column as written (its bracketed unit) and as read (SI), the label
    columns (usable with ``--by``), the rows, the range of ``delta_t`` and the
    frequencies, and which kernels apply: the rate kernels need ``frequency``,
    so ``--kernel all`` is suggested only when the table has it.  A table that
    cannot be read says why (the reader's one-line message) under *missing*.
    ``sheet`` picks the sheet of an ``.xlsx`` workbook and ``nan`` says what to do with
    rows with empty cells (see :func:`~plastix.io.table.load_pairing_table`); ``by``
    names the label columns the estimate resamples within.  The table is ready only
    when :func:`~plastix.estimate.pairing.estimate_pairing` would take it (its own
    check: enough rows, ``by`` columns whose values repeat); the command keeps
    ``--sheet``, ``--nan`` and ``--by``.
    """
    path = Path(path)
    ins = Inspection(path, "table of pairing experiments (one row per experiment)")
    if not path.is_file():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist.")
    with warnings.catch_warnings():  # the reader below gives its warnings once
        warnings.simplefilter("ignore")
        written = header_units(path, sheet=sheet)
    ins.flags = _table_flags(sheet, nan, by)
    try:
        table = load_pairing_table(path, sheet=sheet, nan=nan)
    except ValueError as err:
        ins.flags = []
        ins.found.append("columns: " + ", ".join(f"{n} [{u}]" if u else n
                                                 for n, u in written.items()))
        ins.missing.append(str(err))
        return ins
    units = table.attrs["units"]
    read = _sheet_read(path, table)
    if read is not None:
        ins.found.append(f"sheet {read!r}" + (" (chosen by --sheet)" if sheet is not None else
                                             " (pass --sheet NAME to read another)"))
    known = [n for n in written if n in COLUMNS]
    ins.found.append("columns: " + ", ".join(_column_line(n, written[n], units.get(n))
                                             for n in known))
    labels = table.attrs["labels"] + (["experiment"] if "experiment" in table else [])
    groups = [c for c in labels if table[c].duplicated().any()]  # a value shared by rows
    if groups:
        ins.found.append(f"labels that group rows (usable with --by): {', '.join(groups)}")
    if len(groups) < len(labels):
        ins.found.append("labels of one row each (ids, not groups): "
                         + ", ".join(c for c in labels if c not in groups))
    dt_ms = 1e3 * table["delta_t"].to_numpy()
    n_rows, n_cells, n_pre = len(table), int(table["n"].sum()), int(np.sum(dt_ms > 0))
    ins.found.append(f"{n_rows} row{'s' * (n_rows != 1)}, {n_cells} cell{'s' * (n_cells != 1)};"
                     f" delta_t from {dt_ms.min():g} to {dt_ms.max():g} ms (pre before post in "
                     f"{n_pre} row{'s' * (n_pre != 1)})")
    if "frequency" in table:
        freqs = ", ".join(f"{f:g}" for f in np.unique(table["frequency"]))
        ins.found.append(f"frequencies (Hz): {freqs}; pairings per train: "
                         f"{', '.join(f'{n:g}' for n in np.unique(table['n_pairings']))}")
        ins.found.append("kernels: the STDP window and the rate kernels (the table gives the "
                         "pairing frequency); --kernel all compares them")
        ins.flags.append("--kernel all")
    else:
        ins.found.append("kernels: the STDP window only (no frequency column: the rate "
                         "kernels need the pairing frequency)")
    ratio = table["weight_ratio"].to_numpy()
    ins.record = (f"{len(table)} rows; weight ratio after/before from {ratio.min():.3g} to "
                  f"{ratio.max():.3g}")
    refusal = _estimate_refusal(table, by)
    if refusal:
        ins.missing.append(refusal)
        ins.flags = []
    ins.ready = not refusal
    return ins


def _table_flags(sheet: Any, nan: str, by: Any) -> list[str]:
    """The table options given, as the flags of the suggested command."""
    flags = [] if sheet is None else [f"--sheet {shlex.quote(str(sheet))}"]
    if nan != "refuse":
        flags.append(f"--nan {shlex.quote(str(nan))}")
    if by is not None and len(by):
        flags.append(f"--by {shlex.quote(by if isinstance(by, str) else ','.join(by))}")
    return flags


def _sheet_read(path: Path, table: Any) -> str | None:
    """The name of the workbook sheet a table was read from (its ``source`` is
    ``path[sheet]``), or None for a file of one table."""
    source = str(table.attrs.get("source", ""))
    head = f"{path}["
    return source[len(head):-1] if source.startswith(head) and source.endswith("]") else None


def _estimate_refusal(table: Any, by: Any) -> str:
    """Why :func:`~plastix.estimate.pairing.estimate_pairing` would refuse ``table`` with
    ``by`` (its own table check, :func:`plastix.io.table_check.check_table`), or ``""``."""
    by = [c.strip() for c in by.split(",") if c.strip()] if isinstance(by, str) else by
    try:
        check_table(table, by)
    except ValueError as err:
        return str(err)
    return ""


def _spikes_only(path: Path, fmt: Any, allow_pickle: bool, options: dict[str, Any]
                 ) -> xr.Dataset | None:
    """The record of a Neo-convention file of spike trains without weights, else None."""
    if fmt.read_blocks is None or "weights_from" in options:
        return None
    try:
        ds = load_record(path, allow_pickle=allow_pickle, weights_from="spikes", **options)
    except SchemaError:
        return None
    have = all(f"{r}_spike_time" in ds for r in ("pre", "post"))
    return ds if have and ds.attrs.get("weights") == "absent" else None


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


CHECK_VALUES_BYTES = 256 * 2**20
"""Inspect checks every activity value of a record whose activity takes at most this
much memory; a larger one is described without reading it (the estimator checks its
values as it streams them)."""


def _described(path: Path, options: dict[str, Any]) -> _Review:
    """:func:`describe_record` of the file's record, opened lazily (activity binned from
    spikes or held in series is read, and checked, only when it is small, so inspecting
    a long recording takes the memory of its spikes, not of its rates), and what an
    estimate still lacks (:func:`_review`)."""
    from plastix.record import validate_record

    ds = open_standard_nwb(path, **options)
    try:
        size = sum(np.prod(ds[v].shape) for v in ("pre_activity", "post_activity")) * 8
        if size <= CHECK_VALUES_BYTES:
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
    if any_size or _activity_bytes(ds) <= CHECK_VALUES_BYTES:
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


def _flag_value(v: Any) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(str(x) for x in v)
    return shlex.quote(str(v))


def _units(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> None:
    if c.unit_ids.size == 0:
        ins.found.append("Units table: none (no spike-sorted units)")
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


def _unit_filters(options: dict[str, Any]) -> list[str]:
    """The roles whose ``--pre-units`` / ``--post-units`` is a COLUMN=VALUE filter."""
    roles = []
    for r in ("pre", "post"):
        try:
            spec = parse_units(f"{r}_units", options.get(f"{r}_units"))
        except ValueError:
            continue  # the reader names a bad value itself
        if spec is not None and spec[0] == "column":
            roles.append(r)
    return roles


def _filter_without_units(c: NwbContent, ins: Inspection, options: dict[str, Any]) -> None:
    """A COLUMN=VALUE ``--pre-units`` in a file without a Units table: say that the
    filter selects by Units (or electrode) columns and that ids name the series' columns
    (the flags that do so come from :func:`_activity_split`)."""
    if c.unit_ids.size:
        return
    for r in _unit_filters(options):
        given = _option_flag(f"{r}_units", options[f"{r}_units"])
        ins.missing.append(f"the {r} units: {given} selects by a column of the Units table (or "
                           f"of its electrodes), and {ins.path.name} has no Units table; name "
                           "the activity series' columns by their ROI/electrode ids instead, "
                           "as ids or ranges A-B (both ends in; see the flags below)")


def _activity_split(c: NwbContent, ins: Inspection, options: dict[str, Any],
                    acts: dict[str, str]) -> None:
    """When one series with ROI/electrode ids holds both roles' activity and no usable
    ``--pre-units`` / ``--post-units`` is given (each column would be read as pre and as
    post), advise the split the synapse table gives: its presynaptic ids pre, its
    postsynaptic ids post (:func:`role_advice`), as ids or ranges."""
    if set(acts) != {"pre", "post"} or acts["pre"] != acts["post"]:
        return
    bad = _unit_filters(options) if c.unit_ids.size == 0 else []
    if any(options.get(f"{r}_units") is not None and r not in bad for r in ("pre", "post")):
        return
    ids = series_ids(c.series[acts["pre"]]) if acts["pre"] in c.series else None
    synapses = _weight_synapses(c, options, ins.path)
    split = role_advice(ids, {}, synapses=synapses) if ids and synapses is not None else None
    if split is None:
        if bad:
            ins.flags += ["--pre-units IDS", "--post-units IDS"]
        return
    flags = [f"--pre-units {shlex.quote(split[0])}", f"--post-units {shlex.quote(split[1])}"]
    ins.flags += flags
    if not any(options.get(f"{r}_activity") for r in ("pre", "post")) or bad:
        return  # the flags are advice already (the activity or the roles are missing)
    n_pre, n_post = (len(selected_units(ids, {}, x)) for x in split[:2])
    ins.advice.append(f"{acts['pre']} holds both roles, and without --pre-units/--post-units "
                      f"each of its {len(ids)} columns is read as pre and as post; the "
                      f"synapse table names {n_pre} of them as pre and {n_post} as post: "
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
    candidates = _weight_candidates(c)
    for p, s in c.series.items():
        is_w = p == (options.get("weights") or f"processing/{MODULE}/{WEIGHT}")
        kind = "weights" if is_w else "candidate weights" if p in candidates else (
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
            ins.missing.append(f"{r}synaptic activity: no spikes in the Units table and no "
                               f"{r} activity series")
            cands = [p for p in c.series if not p.endswith(f"/{WEIGHT}")]
            named = [p for p in cands if r in p.rsplit("/", 1)[-1].lower()]
            if cands:
                pick = acts[r] = (named or cands)[0 if r == "pre" else -1]
                ins.flags.append(f"{CLI_FLAGS[r + '_activity']} {shlex.quote(pick)}")
                ids = _synapse_units(c, r, options)
                n_cols = int(np.prod(np.shape(c.series[pick].data)[1:]))
                if (not series_ids(c.series[pick]) and options.get(f"{r}_units") is None
                        and ids is not None and len(ids) == n_cols):  # its columns' ids
                    ins.flags.append(f"{CLI_FLAGS[r + '_units']} {_flag_value(ids)}")
    _activity_split(c, ins, options, acts)


def _synapse_units(c: NwbContent, role: str, options: dict[str, Any]) -> list[Any] | None:
    """The distinct ``pre_unit`` (or ``post_unit``) ids of the synapse table next to the
    weights, in order of first appearance; None without such a table of plain ids."""
    wpath = options.get("weights") or f"processing/{MODULE}/{WEIGHT}"
    table = c.tables.get(f"{wpath.rsplit('/', 1)[0]}/{SYNAPSES}")
    cols = synapse_columns(table.colnames) if table is not None else None
    if cols is None:
        return None
    values = np.asarray(table[cols[0 if role == "pre" else 1]].data[:])
    if values.dtype.kind not in "iuU":
        return None
    return list(dict.fromkeys(values.tolist()))


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


def inspect_pynapple_session(path: Path, options: dict[str, Any]) -> Inspection:
    """What a pynapple session folder (or one of its ``.npz`` files) holds, mapped by
    ``options`` (the reader options of :mod:`plastix.io.pynapple_files`).  A folder without
    ``weights.npz`` whose TsdFrame may hold the weights is reviewed as read with
    ``--weights FRAME``; inferring them from the spikes is named as the alternative."""
    from plastix.io.pynapple_files import read_session, session_objects
    from plastix.io.pynapple_npz import NotPynappleError, NpzObject

    s = session_objects(path)
    ins = Inspection(path, "pynapple session (.npz files saved by pynapple)")
    for name in s.names if s.main is None else [s.main]:
        obj = s.peek(name)
        ins.found.append(obj.describe() if isinstance(obj, NpzObject) else
                         f"{name}.npz: not a pynapple object (passed over)"
                         if isinstance(obj, NotPynappleError) else
                         f"{name}.npz: cannot be read (see below)")
    if s.main is not None and len(s.names) > 1:
        ins.found.append(f"other .npz files in its folder, read only when a flag names them: "
                         f"{', '.join(n for n in s.names if n != s.main)}")
    ins.flags += [f"{cli_flag(k)} {_flag_value(v)}"
                  for k, v in options.items() if v is not None and k != "source"]
    _unread_intervals(s, ins, options)
    try:
        ds = read_session(s, lazy=True, **options)
    except (FileFormatError, UnsafeFileError) as err:  # a damaged or unsafe file it needs
        ins.missing.append(str(err))
        return ins
    except MappingError as err:
        frame = _weight_frame(err, options)
        if frame is not None:
            return _with_weight_frame(path, options, frame)
        ds = _session_spikes_only(s, options, err)
        if ds is None:
            ins.missing.append(err.what)
            _replace_flags(ins, err.flags)
            if _session_without_weights(s, options):
                ins.found.append("no weights (no weights.npz, no TsdFrame): they are inferred "
                                 "from the spikes")
                ins.flags.append("--weights-from spikes")
            return ins
        ins.flags.append("--weights-from spikes")
    try:
        review = _review(ds, inferred=bool(options.get("weights_from")))
    finally:
        ds.close()
    if ds.attrs.get("weights") == "absent":
        ins.found.append("spike trains of pre and post units and no measured weights: the "
                         "weights can be inferred from the spikes")
    _finish(ins, review)
    return ins


def _weight_frame(err: Any, options: dict[str, Any]) -> str | None:
    """The TsdFrame a session reader's refusal for want of weights names (its flag
    ``--weights FRAME``), when no weights were named nor asked to be inferred; else None."""
    if options.get("weights") is not None or options.get("weights_from") is not None:
        return None
    return next((f.split(" ", 1)[1] for f in err.flags
                 if f.startswith("--weights ") and not f.endswith(" NAME")), None)


def _with_weight_frame(path: Path, options: dict[str, Any], frame: str) -> Inspection:
    """:func:`inspect_pynapple_session` with ``--weights FRAME`` (a TsdFrame not named
    ``weights.npz`` that may hold them), naming the inference from spikes as the
    alternative."""
    ins = inspect_pynapple_session(path, {**options, "weights": frame})
    at = next((k for k, f in enumerate(ins.found) if f.startswith(f"{frame}.npz:")),
              len(ins.found) - 1) + 1
    ins.found.insert(at, f"a TsdFrame that may hold the weights (no file is named weights.npz):"
                     f" {frame}; the command reads it with --weights {shlex.quote(frame)}; if "
                     "it is not the weights, infer them from the spikes instead: "
                     "--weights-from spikes --decay G")
    return ins


def _unread_intervals(s: Any, ins: Inspection, options: dict[str, Any]) -> None:
    """Advise ``--segments NAME`` for an IntervalSet of a folder that has no ``epochs.npz``
    (the default segments) when none is named."""
    if options.get("segments") is not None or s.main is not None or s.has("epochs"):
        return
    try:
        sets = s.kinds(("IntervalSet",))
    except (FileFormatError, UnsafeFileError):
        return  # a damaged file: reported where it is needed
    for name in sets:
        ins.advice.append(f"{name}.npz is an IntervalSet, not read (the segments are the rows "
                          "of epochs.npz, which the folder lacks): if its rows are the "
                          f"sessions, add --segments {shlex.quote(name)}")


def _replace_flags(ins: Inspection, flags: tuple[str, ...]) -> None:
    """Add a refusal's flags; each replaces a given flag of the same option (a
    ``--pre-units`` the weights contradict gives way to the one they support)."""
    names = {f.split(" ", 1)[0] for f in flags}
    ins.flags = [f for f in ins.flags if f.split(" ", 1)[0] not in names]
    ins.flags += list(flags)


def _session_without_weights(s: Any, options: dict[str, Any]) -> bool:
    """Whether a session's weights can only be inferred from its spikes: no weights named,
    none to infer asked, no weights.npz and no TsdFrame or Tsd that may hold them."""
    from plastix.io.pynapple_files import _WEIGHTS

    if options.get("weights") is not None or options.get("weights_from") is not None:
        return False
    if s.main is not None:
        return False  # one file named: the folder's other files are not read
    try:
        return not s.has("weights") and not s.kinds(_WEIGHTS)
    except (FileFormatError, UnsafeFileError):
        return False


def _session_spikes_only(s: Any, options: dict[str, Any], err: Any) -> xr.Dataset | None:
    """A session refused for want of weights, read as spike trains alone; else None."""
    from plastix.io.pynapple_files import read_session

    if (options.get("weights") is not None or "weights_from" in options
            or not err.what.startswith("no weights")):
        return None
    try:
        ds = read_session(s, lazy=True, weights_from="spikes", **options)
    except MappingError:
        return None
    if all(f"{r}_spike_time" in ds for r in ("pre", "post")):
        return ds
    ds.close()  # a role of activity traces: no spikes to infer weights from
    return None


def inspect_phy_folder(path: Path, options: dict[str, Any]) -> Inspection:
    """What a Kilosort / Phy folder holds (clusters, cluster tables), mapped by ``options``
    (:func:`plastix.io.phy_files.read_phy_folder`'s); spike trains only, so the weights are
    inferred (``--weights-from spikes``)."""
    from plastix.io.phy_files import open_phy_folder, phy_folder

    units = phy_folder(path)
    ins = Inspection(path, "Phy folder (Kilosort / Phy spike sorting)")
    ins.found.append(units.describe())
    for name, values in units.metadata.items():
        distinct = ([f"{v:g}" for v in np.unique(values[np.isfinite(values)])]
                    if values.dtype.kind in "iuf" else sorted({str(v) for v in values.tolist()}))
        few = ", ".join(distinct[:6]) + (", ..." if len(distinct) > 6 else "")
        ins.found.append(f"cluster column {name}: {len(distinct)} value(s) ({few})")
    group = units.metadata.get("group")
    if group is not None:
        noise = sum(str(g).strip().lower() == "noise" for g in group.tolist())
        ins.found.append(f"{noise} cluster(s) labelled noise (group): left out unless named "
                         "by id")
    ins.found.append("no weights (spike trains only): they are inferred from the spikes")
    others = sorted(p.name for p in units.path.glob("*.npz"))
    if others:  # a pynapple object beside the sorting is read only when it is the path
        ins.found.append(f"also in the folder, not read with it: {', '.join(others)} (pass one "
                         "as the path to read it: plastix inspect "
                         f"{shlex.quote(str(units.path / others[0]))})")
    options = {**options, "weights_from": "spikes"}
    ins.flags += [f"{cli_flag(k)} {_flag_value(v)}"
                  for k, v in options.items() if v is not None and k != "source"]
    try:
        ds = open_phy_folder(path, **options)
    except MappingError as err:
        ins.missing.append(err.what)
        _replace_flags(ins, err.flags)
        return ins
    try:
        _finish(ins, _review(ds))
    finally:
        ds.close()
    return ins
