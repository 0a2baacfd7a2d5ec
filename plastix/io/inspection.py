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

The work is split by format, each module depending on the shared two and on no other
format's: :mod:`plastix.io.inspect_report` (the report, :class:`Inspection`, and the flag
helpers) and :mod:`plastix.io.inspect_review` (what a record read lacks, its
description), then :mod:`plastix.io.inspect_records` (a record read by its format's
reader), :mod:`plastix.io.inspect_nwb` (standard NWB), :mod:`plastix.io.inspect_tables`
(tables of pairing experiments), :mod:`plastix.io.inspect_pynapple` (pynapple sessions)
and :mod:`plastix.io.inspect_phy` (Kilosort / Phy folders).  This module dispatches a
file to them (:func:`inspect_file`) and applies the options every report shares.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from plastix.io.files import check_readable
from plastix.io.formats import check_not_folder_member, format_for_path
from plastix.io.inspect_nwb import inspect_standard_nwb
from plastix.io.inspect_phy import inspect_phy_folder
from plastix.io.inspect_pynapple import inspect_pynapple_session
from plastix.io.inspect_records import _inspect_record
from plastix.io.inspect_report import Inspection, _option_flag
from plastix.io.inspect_review import describe_record, silent_intervals
from plastix.io.inspect_tables import inspect_table
from plastix.io.nwb_scan import cli_flag, named_options
from plastix.io.table import is_pairing_table

__all__ = ["Inspection", "inspect_file", "inspect_standard_nwb", "inspect_table",
           "inspect_pynapple_session", "inspect_phy_folder", "describe_record",
           "silent_intervals"]


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
    check_not_folder_member(path)
    if is_pairing_table(path):
        if options:
            named = named_options(sorted(options))
            raise ValueError(f"the reader option{'s' * (len(options) > 1)} {named} map"
                             f"{'s' * (len(options) == 1)} a recording, not a table of pairing "
                             f"experiments ({path.name!r}); drop "
                             f"{'them' if len(options) > 1 else 'it'}.")
        ins = inspect_table(path, sheet=sheet, nan=nan, by=by, kernel=kernel)
        _kernel_given(ins, kernel)
        ins.given = given
        return ins
    for name, value, unset in (("sheet", sheet, None), ("nan", nan, "refuse"), ("by", by, None)):
        if value != unset:
            raise ValueError(f"`{name}` applies to a table of pairing experiments, not to "
                             f"{path.name!r}; drop it.")
    if kernel == "all":
        raise ValueError(f"`kernel` 'all' compares the kernels on a table of pairing "
                         f"experiments; the estimate of a recording ({path.name!r}) takes one "
                         "kernel: name it (e.g. product, stdp).")
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
