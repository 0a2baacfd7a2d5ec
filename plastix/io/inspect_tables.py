"""``plastix inspect`` of a table of pairing experiments (CSV, TSV, Parquet, ``.xlsx``;
:mod:`plastix.io.table`).

:func:`inspect_table` lists the columns as written and as read (SI units), the labels,
the rows, the range of ``delta_t`` and the frequencies, and which kernels apply; it is
ready only when the estimate's own table check (:func:`plastix.io.table_check.check_table`)
would take the table.
"""

from __future__ import annotations

import os
import shlex
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from plastix.io.inspect_report import Inspection
from plastix.io.table import COLUMNS, header_units, label_renames, load_pairing_table
from plastix.io.table_check import check_table


def _column_line(name: str, written: str | None, si: str | None) -> str:
    """``delta_t [ms] -> s``: a known column as written, and its SI unit when converted."""
    head = f"{name} [{written}]" if written else name
    if name in ("weight_before", "weight_after"):
        return f"{head} (ratio after/before: the unit cancels)"
    return f"{head} -> {si}" if written and si and written != si else head


def inspect_table(path: str | os.PathLike, *, sheet: Any = None, nan: str = "refuse",
                  by: Any = None, kernel: str | None = None) -> Inspection:
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
    renamed = label_renames([c for c in table.columns if c in labels])
    if renamed:
        ins.found.append("labels renamed in the estimate's result (it has its own variable "
                         "of that name): " + ", ".join(f"{old!r} as {new!r}"
                                                       for new, old in renamed.items()))
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
    if not refusal and _kernel_refusal(table, kernel):
        refusal = _kernel_refusal(table, kernel)
        ins.fix = f"add the column 'frequency', or use --kernel stdp instead of {kernel}"
    if refusal:
        ins.missing.append(refusal)
        ins.flags = []
    ins.ready = not refusal
    return ins


def _kernel_refusal(table: Any, kernel: str | None) -> str:
    """Why ``kernel`` (``--kernel``, given) cannot estimate ``table``: a kernel of rates
    needs the pairing frequency (``--kernel all`` skips such kernels, so it never fails)."""
    from plastix.kernels import get_kernel

    if kernel is None or kernel == "all" or "frequency" in table:
        return ""
    if get_kernel(kernel).inputs == "spike_times":
        return ""
    return (f"the pairing frequency for --kernel {kernel}: a kernel of rates needs the "
            "column 'frequency' (Hz, each row's pairing rate); add it, or use --kernel stdp")


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
