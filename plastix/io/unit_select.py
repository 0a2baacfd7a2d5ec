"""Selections of units by id or by a column of their table: the ``pre_units`` /
``post_units`` options (``--pre-units 3,4,5``, ``location=CA1``, ``depth<1500``) that
the standard NWB, pynapple and Kilosort/Phy readers share, and the advice on a split
into the two roles that their refusals and ``plastix inspect`` print."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["UnitFilter", "parse_units", "cell_matches", "role_split", "FILTER_HELP"]

_FILTER = re.compile(r"^\s*(?P<column>[^<>=!]*?)\s*(?P<op>==|=|!=|<=|>=|<|>)\s*(?P<value>.*?)\s*$")
FILTER_HELP = ("a list of unit ids or COLUMN=VALUE (e.g. 'location=CA1'; several values "
                "'location=CA1,CA3'; 'group!=noise'; numbers 'depth<1500', 'depth>=2000')")


@dataclass(frozen=True)
class UnitFilter:
    """Units selected by a column: ``COLUMN=VALUE`` (any of several values ``=A,B``),
    ``COLUMN!=VALUE``, or a numeric comparison (``<``, ``<=``, ``>``, ``>=``).

    Attributes
    ----------
    column : str
        The column (of a ``Units`` table, or a pynapple object's metadata).
    op : str
        ``"="``, ``"!="``, ``"<"``, ``"<="``, ``">"`` or ``">="``.
    values : tuple of str
        The values after the operator (one for a comparison).
    """

    column: str
    op: str
    values: tuple[str, ...]

    def matches(self, cell: Any) -> bool:
        """Whether a cell passes: equality as :func:`cell_matches`; a comparison holds for
        numeric cells only (text, NaN and missing cells never pass)."""
        if self.op in ("=", "!="):
            hit = any(cell_matches(cell, v) for v in self.values)
            return hit if self.op == "=" else not hit
        try:
            x = float(cell)
        except (TypeError, ValueError):
            return False
        bound = float(self.values[0])
        return bool(np.isfinite(x)) and {"<": x < bound, "<=": x <= bound, ">": x > bound,
                                         ">=": x >= bound}[self.op]

    def __str__(self) -> str:
        return f"{self.column}{self.op}{','.join(self.values)}"

    def describe(self) -> str:
        """The filter for a message: ``location == 'CA1'``, ``location in ('CA1', 'CA3')``,
        ``depth < 1500``."""
        if self.op in ("=", "!=") and len(self.values) == 1:
            return f"{self.column} {'==' if self.op == '=' else '!='} {self.values[0]!r}"
        if self.op in ("=", "!="):
            return (f"{self.column} {'in' if self.op == '=' else 'not in'} "
                    f"({', '.join(map(repr, self.values))})")
        return f"{self.column} {self.op} {self.values[0]}"


def parse_units(name: str, value: Any) -> tuple[str, Any] | None:
    """An option naming units: ``("ids", [ids])``, ``("column", UnitFilter)`` or None.

    Accepts a list of ids, a string ``"3,4,5"`` or a filter string: ``"COLUMN=VALUE"``,
    ``"COLUMN=A,B"`` (any of them), ``"COLUMN!=VALUE"``, ``"COLUMN<NUMBER"`` (also
    ``<=``, ``>``, ``>=``; see :class:`UnitFilter`).
    """
    if value is None:
        return None
    given = value
    if isinstance(value, str):
        m = _FILTER.match(value)
        if m is not None:
            op = "=" if m["op"] == "==" else m["op"]
            values = tuple(v.strip() for v in m["value"].split(",") if v.strip())
            if not m["column"] or not values or (op not in ("=", "!=") and (
                    len(values) != 1 or not _is_float(values[0]))):
                raise ValueError(f"`{name}` must be {FILTER_HELP}; got {value!r}.")
            return "column", UnitFilter(m["column"], op, values)
        value = [v for v in value.replace(" ", "").split(",") if v]
    ids = []
    for v in np.atleast_1d(np.asarray(value, dtype=object)).tolist():
        try:
            ids.append(int(v))
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be {FILTER_HELP}; got {given!r}.") from None
    if not ids:
        raise ValueError(f"`{name}` must name at least one unit; got {value!r}.")
    return "ids", list(dict.fromkeys(ids))  # a unit named twice is one unit


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell_matches(cell: Any, value: str) -> bool:
    """Whether a ``Units`` cell equals the text ``value`` of a ``COLUMN=VALUE`` selection.

    Text cells match the same text; numeric cells match a number of equal value
    (``depth=100`` selects a float column's ``100.0``, as MatNWB stores numbers
    as doubles); boolean cells match ``true`` / ``false`` in any case.

    Parameters
    ----------
    cell : object
        One value of the column (``str``, ``int``, ``float`` or ``bool``).
    value : str
        The text after ``=``.
    """
    if str(cell) == value:
        return True
    if isinstance(cell, (bool, np.bool_)):
        return value.strip().lower() == str(bool(cell)).lower()
    if isinstance(cell, (int, float, np.integer, np.floating)):
        try:
            return float(cell) == float(value)
        except ValueError:
            return False


#: metadata that tells units apart by where they are, most telling first (for advice)
_PLACES = ("location", "region", "brain_region", "area", "structure", "depth", "shank", "sh",
           "ch", "channel", "electrode", "group_name")
#: metadata that never tells roles apart: sorting quality, rates, per-shank numbers
_NOT_ROLES = ("group", "kslabel", "rate", "fr", "unit", "contampct", "amp", "amplitude",
              "n_spikes", "quality")


def _advice_rank(column: str) -> int:
    name = column.lower()
    return _PLACES.index(name) if name in _PLACES else len(_PLACES)


def _numeric_split(values: np.ndarray) -> float | None:
    """The midpoint of the widest gap between the distinct values of a numeric column of
    more than two values (a depth, a channel), or None."""
    if values.dtype.kind not in "iuf":
        return None
    distinct = np.unique(values[np.isfinite(values)].astype(float))
    if distinct.size < 3:
        return None
    k = int(np.argmax(np.diff(distinct)))
    return float((distinct[k] + distinct[k + 1]) / 2)


def role_split(metadata: dict[str, np.ndarray]) -> tuple[str, str, str] | None:
    """A split of units into the two roles by their metadata, for advice: ``(pre filter,
    post filter, why)`` from the most telling column (a place before a quality label): a
    numeric one of more than two values at its widest gap (``depth<1250``), else one of
    two to eight values (``location=CA1``); None when no column serves."""
    for column in sorted(metadata, key=_advice_rank):
        values = np.asarray(metadata[column])
        if column.lower() in _NOT_ROLES:
            continue
        if values.dtype.kind == "O":  # numbers held as objects (pynwb columns)
            try:
                values = values.astype(float)
            except (TypeError, ValueError):
                pass
        split = _numeric_split(values)
        if split is not None:
            return (f"{column}<{split:g}", f"{column}>={split:g}",
                    f"{column!r} is numeric, split here at its widest gap; swap the sides or "
                    "move the threshold as your units are")
        distinct = ([f"{v:g}" for v in np.unique(values[np.isfinite(values)])]
                    if values.dtype.kind in "iuf" else sorted(set(map(str, values.tolist()))))
        if 2 <= len(distinct) <= 8:
            return (f"{column}={distinct[0]}", f"{column}={distinct[1]}",
                    f"{column!r} has values {', '.join(distinct)}: name the presynaptic ones "
                    "first")
    return None
