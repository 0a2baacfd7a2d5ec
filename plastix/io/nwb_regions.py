"""``--pre-units COLUMN=VALUE`` for an activity series whose columns are rows of a table
(the ``rois`` of a ``RoiResponseSeries``, the ``electrodes`` of an ``ElectricalSeries``):
the filter reads that table's columns, as it reads a ``Units`` table's for spikes (see
:mod:`plastix.io.nwb`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from plastix.io.nwb_scan import (
    CLI_FLAGS,
    NwbContent,
    UnitFilter,
    _ids_desc,
    _text,
    _values_desc,
    not_mappable,
    resolve,
    series_path,
    series_region,
    suggest,
)
from plastix.io.unit_select import id_list

__all__ = ["region_filter", "region_units", "region_metadata"]


def region_filter(c: NwbContent, role: str, path: str | None, spec: tuple[str, Any] | None,
                  src: Path) -> tuple[str, Any] | None:
    """A role's selection with a ``COLUMN=VALUE`` filter on a series with a ROI / electrode
    table resolved to ``("ids", ids)`` of that table (:func:`region_units`); any other
    selection as given.

    Parameters
    ----------
    c : NwbContent
        What the file holds.
    role : str
        ``"pre"`` or ``"post"``.
    path : str or None
        The role's activity series (None: its spikes).
    spec : tuple or None
        The parsed ``pre_units`` / ``post_units`` (:func:`plastix.io.unit_select.parse_units`).
    src : Path
        The file, for messages.
    """
    if path is None or spec is None or spec[0] != "column":
        return spec
    s = resolve(c, "series", path, f"{role}_activity", src)
    if series_region(s) is None:
        return spec
    return "ids", region_units(c, s, role, spec[1], src)


def _row_columns(table: Any) -> list[str]:
    """The columns of a table that hold one value per row (not masks, ragged columns or
    references to rows of another table)."""
    from hdmf.common import DynamicTableRegion, VectorIndex

    out = []
    for name in table.colnames:
        col = table[name]
        if not isinstance(col, VectorIndex | DynamicTableRegion) and np.ndim(col.data) == 1:
            out.append(name)
    return out


def region_metadata(s: Any) -> dict[str, np.ndarray]:
    """The columns of the ROI / electrode table of the series ``s`` that hold one value per
    row, each as the values of the series' rows in its column order (what
    :func:`plastix.io.unit_select.role_advice` reads as a unit's metadata); empty without
    such a table."""
    found = series_region(s)
    if found is None:
        return {}
    table = found[0].table
    rows = np.asarray(found[0].data[:], dtype=np.int64)
    return {name: np.array([_text(v) for v in np.asarray(table[name][:], dtype=object)[rows]],
                           dtype=object)
            for name in _row_columns(table) if name != "id"}


def region_units(c: NwbContent, s: Any, role: str, filt: UnitFilter, src: Path) -> list[int]:
    """Ids of the ROIs / electrodes of the series ``s`` whose row of its table passes
    ``filt``, in the order of the series' columns.

    A cell passes as a ``Units`` cell does (:meth:`plastix.io.unit_select.UnitFilter.matches`);
    the ids are the table's ``id`` column, as :func:`plastix.io.nwb_scan.series_ids` gives.
    Refused in one line when the table has no such column, no row of it has a value
    named by ``COLUMN=VALUE``, or no ROI of the series passes.

    Parameters
    ----------
    c : NwbContent
        What the file holds.
    s : pynwb.TimeSeries
        The series, with a ``rois`` or ``electrodes`` region.
    role : str
        ``"pre"`` or ``"post"``.
    filt : UnitFilter
        The filter of ``pre_units`` / ``post_units``.
    src : Path
        The file, for messages.
    """
    region, what = series_region(s)
    table, option, flag = region.table, f"{role}_units", CLI_FLAGS[f"{role}_units"]
    rows = np.asarray(region.data[:], dtype=np.int64)
    ids = np.asarray(table.id[:])
    series = f"the {role} activity series {series_path(c, s)!r}"
    columns = _row_columns(table)
    if filt.column not in columns:
        raise not_mappable(src, f"`{option}` selects {what}s by column {filt.column!r}, which "
                           f"the {what} table {table.name!r} of {series} does not have"
                           + suggest(filt.column, columns),
                           f"its columns: {', '.join(columns) or 'none of one value per row'}",
                           f"Name one of them in {flag} COLUMN=VALUE, or the {what}s by id "
                           f"({flag} {id_list(ids[rows].tolist())})")
    cells = np.array([_text(v) for v in table[filt.column][:]], dtype=object)
    hit = np.array([filt.matches(v) for v in cells.tolist()], dtype=bool)
    if filt.op == "=" and not hit.any():
        raise not_mappable(src, f"`{option}` selects {what}s with {filt.describe()}, which no "
                           f"row of the {what} table {table.name!r} of {series} has",
                           f"column {filt.column!r} with {_values_desc(cells, 8)}",
                           f"Choose one of these values: {flag} {filt.column}=VALUE")
    picked = [int(ids[r]) for r in rows if hit[r]]
    if not picked:
        away = np.setdiff1d(np.flatnonzero(hit), rows)
        elsewhere = (f"; the rows of the table that have it are not in the series: ids "
                     f"{_ids_desc(ids[away])}" if away.size else "")
        raise not_mappable(src, f"`{option}` selects {what}s with {filt.describe()}, and that is "
                           f"none of the {rows.size} {what}s of {series}",
                           f"ids {_ids_desc(ids[rows])} with {filt.column} "
                           f"{_values_desc(cells[rows], 8)}{elsewhere}",
                           f"Choose one of their values ({flag} {filt.column}=VALUE), or "
                           f"name the {what}s by id ({flag} {id_list(ids[rows].tolist())})")
    return picked
