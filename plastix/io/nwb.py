"""Standard NWB files, read with pynwb directly: the files labs write (issue 15).

An NWB file written by pynwb (or MatNWB, or any NWB tool) the usual way becomes
a plastix record by this convention; files written in plastix's Neo convention
(SPEC §9, marked in ``notes``) keep going through :mod:`plastix.io.neo`.  The
format table's ``nwb`` entry chooses between the two by that mark.

Convention (every name can be overridden by an option, the CLI flag in brackets)
-----------------------------------------------------------------------------
Units
    Spikes from the ``Units`` table (``spike_times``; NaN times, MatNWB's padding,
    are dropped with a warning); the unit id is the table's ``id``, which must be
    unique (a table with repeated ids is refused).  Without a top-level table, the
    file's only ``Units`` table in a processing module is read (SpikeInterface's
    ``write_as="processing"``); ``units=PATH`` (``--units``) names one.  Each
    unit's role comes from a column ``role`` with values ``pre`` /
    ``post``, or from ``pre_units=`` / ``post_units=`` (``--pre-units``,
    ``--post-units``): a list of ids (``[3, 4]`` or ``"3,4"``) or
    ``"COLUMN=VALUE"`` (e.g. ``"location=CA1"``; also ``"location=CA1,CA3"``,
    ``"quality!=noise"``, ``"depth<1500"``: :class:`plastix.io.unit_select.UnitFilter`).
Activity
    Without a series, each role's spike trains are binned (``bin_size`` seconds,
    default :data:`plastix.io.neo.DEFAULT_BIN_SIZE`) into rates in Hz; a bin that
    starts outside a unit's ``obs_intervals`` is NaN (not recorded), and an empty
    ``obs_intervals`` cell of a unit with spikes reads as observed throughout, with a
    warning (pynwb cannot leave the column out for some units only).  A role's
    activity can instead come from any ``TimeSeries`` (rates,
    ``RoiResponseSeries``, ``DfOverF``) named by its path (``pre_activity=``,
    ``post_activity=``; ``--pre-activity``, ``--post-activity``), e.g.
    ``"processing/ophys/DfOverF/RoiResponseSeries"`` (a name found once in the
    file is enough).  Its columns are the units of that role: the ids of the
    series' own ROI / electrode table, else the list given as ``pre_units`` /
    ``post_units``, else the ``Units`` rows of that role in table order.  With its
    own table, ``pre_units`` / ``post_units`` pick among its columns: ids of that
    table, or ``"COLUMN=VALUE"`` on a column of it (``"cell_type=pre"`` in a
    ``PlaneSegmentation``: :func:`plastix.io.nwb_regions.region_units`).
    A series named ``pre_activity`` / ``post_activity`` in the processing module
    ``plasticity`` is used without an option (plastix writes them).  Both roles'
    series must share one time grid; a role with spikes only is binned on the
    other's grid.  Kind: ``rate`` for a unit in Hz, ``fluorescence`` for a
    ``RoiResponseSeries``, ``activation`` otherwise.
Weights
    A ``TimeSeries`` named ``weight`` in the processing module ``plasticity``
    (or ``weights=PATH``, ``--weights``), one column per synapse; each column's
    synapse is the row of the same index of a ``DynamicTable`` named
    ``synapses`` in the same module (or ``synapses=PATH``, ``--synapses``) with
    columns ``pre_unit`` and ``post_unit`` (unit ids; or another spelling of
    :data:`plastix.io.nwb_scan.SYNAPSE_COLUMNS`: ``pre`` / ``post``,
    ``presynaptic_unit_id`` / ``postsynaptic_unit_id``, ``source`` / ``target``, ...,
    in any case); a file without such a table
    names each column's synapse as pairs (``synapses=[(0, 5), (1, 5)]``,
    ``--synapses 0:5,1:5``).  NaN = not measured; synapses without a column stay
    NaN, never 0.  A series whose timestamps are not one per row of data, or hold
    NaN, is refused, as are weight samples out of time order within a segment, and
    weights whose times share under 1% of the longer span with the spike times or
    an activity series (one of them in ms, or on another clock).
Segments
    The rows of the ``epochs`` table, else of the ``trials`` table, when present
    (``segments="epochs" | "trials" | "none"``): each bin, spike and weight sample
    belongs to the row whose ``[start_time, stop_time]`` contains it (on a shared
    boundary, to the row that starts there); data outside every row is left out.
    Every row must hold a weight sample, and rows whose time lies almost all
    (> 99%) outside the data (epochs in ms against spikes in s) are refused.
    In a file plastix wrote (:data:`STANDARD_MARK` in ``notes``), a column
    ``segment`` gives the integer ids (default 0, 1, ...) and a column
    ``time_offset`` (s), written when a record's segments restart their clock, is
    subtracted from the times of that row; in other files these are the lab's own
    columns and are ignored.
Decay
    ``decay=`` (``--decay``) in 1/s; NWB has no place for it (NaN: unknown).

Times are seconds, rates Hz, weights in the series' unit.  Files written by
:func:`plastix.io.nwb_write.write_standard_nwb` also carry, in ``notes``
(prefixed :data:`STANDARD_MARK`), what NWB cannot hold — the record's time unit,
unit ids, kinds, provenance and truth — so that they read back as the record
that was written.  A file whose roles, activity or weights cannot be found is
refused with a message that lists what was found and says to run
``plastix inspect FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.validate import check_keywords, check_positive
from plastix.io.nwb_map import build_record
from plastix.io.nwb_scan import (
    CLI_FLAGS,
    OPTION_HELP,
    READ_OPTIONS,
    STANDARD_MARK,
    NwbContent,
    open_nwb,
    scan_nwb,
)
from plastix.io.probe import reading

__all__ = ["STANDARD_MARK", "READ_OPTIONS", "CLI_FLAGS", "OPTION_HELP", "NwbContent",
           "scan_nwb", "open_nwb",
           "read_standard_nwb", "open_standard_nwb"]


def read_standard_nwb(path: str | os.PathLike, **options: Any) -> xr.Dataset:
    """Read a standard NWB file (pynwb) into a plastix record by the module's convention.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.nwb`` file.
    pre_units, post_units : list of int or str, optional
        The units of each role: ids (``[3, 4]``, ``"3,4"``) or a filter on a column
        of the ``Units`` table (``"location=CA1"``, ``"depth<1500"``, ...), or of the
        ROI / electrode table of the role's activity series when it has one
        (``"cell_type=pre"``); default its ``role`` column.  With an activity
        series without its own ROI / electrode table, a list gives the ids of the
        series' columns.
    pre_activity, post_activity : str, optional
        Path of a ``TimeSeries`` holding that role's activity (time, unit).
    weights : str, optional
        Path of the weight ``TimeSeries`` (default ``processing/plasticity/weight``).
    synapses : str or sequence of (int, int), optional
        Path of its synapse table (default ``synapses`` next to the weights), or the
        ``(pre, post)`` unit ids of each weight column in order (``"0:5,1:5"`` as text).
    decay : float, optional
        Known decay rate in 1/s (NaN: unknown).
    bin_size : float, optional
        Bin width (s) for roles given by spikes only, when no series sets the
        grid; default :data:`plastix.io.neo.DEFAULT_BIN_SIZE`.
    segments : {"epochs", "trials", "none"}, optional
        The table whose rows are the segments (default: ``epochs``, else
        ``trials``, else one segment).
    units : str, optional
        Path of the ``Units`` table (``"units"``: the top-level one, or e.g.
        ``"processing/ecephys/units_kilosort4"``); default the top-level table, else
        the file's only ``Units`` table.
    source : str, optional
        The record's ``source``; default ``"nwb:<file name>"``.
    weights_from : {None, "spikes"}
        ``"spikes"``: a file without weights (spike trains only) is read with one
        all-NaN weight sample at the start of each segment and
        ``attrs["weights"] = "absent"``, for :func:`plastix.estimate.infer_weights`;
        a file with weights is read as usual.  Default: such a file is refused.

    Returns
    -------
    xarray.Dataset
        A validated record (time in s, rates in Hz) — or, for a file plastix
        wrote, the record it wrote.

    Raises
    ------
    plastix._util.errors.SchemaError
        When roles, activity or weights cannot be found: the message lists what
        was found and says to run ``plastix inspect FILE``.
    """
    ds, io = _build(path, options, lazy=False, caller="read_standard_nwb()")
    io.close()
    return ds


def open_standard_nwb(path: str | os.PathLike, **options: Any) -> xr.Dataset:
    """Open a standard NWB file as a record whose series activity stays in the file.

    As :func:`read_standard_nwb`, but the activity that comes from a
    ``TimeSeries`` is read only for the rows indexed (:mod:`plastix.io.lazy`), and
    activity binned from spikes is binned only for those rows
    (:class:`plastix.io.spike_bins.SpikeRates`); the spikes, the weights and the
    coordinates are in memory.
    The file stays open until the record is closed (``ds.close()``).
    """
    ds, io = _build(path, options, lazy=True, caller="open_standard_nwb()")
    ds.set_close(io.close)
    return ds


def _build(path: str | os.PathLike, options: dict[str, Any], *, lazy: bool, caller: str
           ) -> tuple[xr.Dataset, Any]:
    """The record of a standard NWB file and its open ``NWBHDF5IO`` (closed on failure)."""
    check_keywords(caller, options, [*READ_OPTIONS, "weights_from"])
    if options.get("weights_from") is not None:
        check_choice("weights_from", options["weights_from"], ("spikes",))
    path = Path(path)
    if options.get("bin_size") is not None:
        options["bin_size"] = check_positive("bin_size", options["bin_size"], "(s)")
    io = open_nwb(path)
    try:
        with reading(path, "NWB"):
            nwb = io.read()
            content = scan_nwb(nwb, units=options.get("units"), src=path)
        return build_record(content, path, nwb.identifier, options, lazy=lazy), io
    except BaseException:
        io.close()
        raise
