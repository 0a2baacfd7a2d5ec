"""Selections of units by id or by a column of their table: the ``pre_units`` /
``post_units`` options (``--pre-units 3,4,5``, ``location=CA1``, ``depth<1500``) that
the standard NWB, pynapple and Kilosort/Phy readers share, and the advice on a split
into the two roles that their refusals and ``plastix inspect`` print."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["UnitFilter", "parse_units", "id_list", "cell_matches", "role_value", "role_split",
           "role_advice", "selected_units", "split_agrees", "FILTER_HELP", "ROLE_SPELLINGS"]

_FILTER = re.compile(r"^\s*(?P<column>[^<>=!]*?)\s*(?P<op>==|=|!=|<=|>=|<|>)\s*(?P<value>.*?)\s*$")
FILTER_HELP = ("a list of unit ids (ranges A-B inclusive: '0-79,85') or COLUMN=VALUE (e.g. "
               "'location=CA1'; several values 'location=CA1,CA3'; 'group!=noise'; numbers "
               "'depth<1500', 'depth>=2000')")
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
MAX_RANGE = 1_000_000
"""The most ids one ``A-B`` range of ``--pre-units`` / ``--post-units`` may name."""


ROLE_SPELLINGS = {"pre": ("pre", "presyn", "presynaptic"),
                  "post": ("post", "postsyn", "postsynaptic")}
"""The spellings of each role in a ``role`` column (any case; spaces, ``-``, ``_`` and
``.`` between the letters ignored: ``Pre-synaptic``, ``post_syn``)."""

_ROLE_OF = {word: role for role, words in ROLE_SPELLINGS.items() for word in words}



def unit_id(x: Any) -> Any:
    """A unit id as the Python value it names: a numpy scalar as its Python value, a float
    that is a whole number (MATLAB stores ids as doubles, pandas an int column with a gap:
    ``7.0``) as the int ``7``, bytes (how HDF5 hands back text: ``b"10"``) as their text;
    other values unchanged (booleans too: they are no unit numbers).  Every reader of unit
    ids (Neo files, pynapple sessions, Phy folders) names its units through it."""
    x = x.item() if isinstance(x, np.generic) else x
    if isinstance(x, bytes):
        x = x.decode("utf-8", errors="replace")
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x

def role_value(cell: Any) -> str:
    """A ``role`` cell as ``"pre"`` / ``"post"`` when it says so (:data:`ROLE_SPELLINGS`:
    ``"Pre "``, ``"presyn"``, ``"Presynaptic"``, ``"post-synaptic"``); else as written,
    lower case and stripped."""
    plain = str(cell).strip().lower()
    return _ROLE_OF.get(re.sub(r"[\s_\-.]+", "", plain), plain)


@dataclass(frozen=True)
class UnitFilter:
    """Units selected by a column: ``COLUMN=VALUE`` (any of several values ``=A,B``),
    ``COLUMN!=VALUE``, or a numeric comparison (``<``, ``<=``, ``>``, ``>=``).

    Attributes
    ----------
    column : str
        The column (of a ``Units`` table, of the ROI / electrode table of an NWB activity
        series, or of a pynapple object's metadata).
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

    Accepts a list of ids, a string ``"3,4,5"`` (with ranges ``A-B``, both ends
    included: ``"0-79,85"``) or a filter string: ``"COLUMN=VALUE"``, ``"COLUMN=A,B"``
    (any of them), ``"COLUMN!=VALUE"``, ``"COLUMN<NUMBER"`` (also ``<=``, ``>``, ``>=``;
    see :class:`UnitFilter`).  A filter is told by its operator, so a dash in its value
    (``location=CA1-dorsal``) is text, never a range.
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
        ids += _ids_of(name, v, given)
    if not ids:
        raise ValueError(f"`{name}` must name at least one unit; got {value!r}.")
    return "ids", list(dict.fromkeys(ids))  # a unit named twice is one unit


def _ids_of(name: str, item: Any, given: Any) -> list[int]:
    """The ids one item of an id list names: an int, or a range ``A-B`` (both ends in)."""
    m = _RANGE.match(item) if isinstance(item, str) else None
    if m is None:
        try:
            return [int(item)]
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be {FILTER_HELP}; got {given!r}.") from None
    lo, hi = int(m[1]), int(m[2])
    if hi < lo:
        raise ValueError(f"`{name}` has the range {item!r}, whose end is below its start; "
                         f"write it low-high: '{hi}-{lo}'.")
    if hi - lo >= MAX_RANGE:
        raise ValueError(f"`{name}` has the range {item!r} of {hi - lo + 1} ids; a range names "
                         f"at most {MAX_RANGE}: give the ids the file has.")
    return list(range(lo, hi + 1))


def id_list(ids: list[Any]) -> str:
    """Ids as a ``--pre-units`` value: integer ids sorted, runs of three or more as
    ranges ``A-B`` (``0-79,85,90-99``, which :func:`parse_units` reads back; runs of
    negative ids listed one by one); other ids comma-separated as given."""
    try:
        nums = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        return ",".join(map(str, ids))
    if any(str(int(i)) != str(i).strip() for i in ids):
        return ",".join(map(str, ids))  # ids like '07' or 3.0: as the file writes them
    parts, start = [], 0
    for k in range(1, len(nums) + 1):
        if k == len(nums) or nums[k] != nums[k - 1] + 1:
            run = nums[start:k]
            ranged = len(run) >= 3 and run[0] >= 0  # '-3--1' would not read back
            parts += [f"{run[0]}-{run[-1]}"] if ranged else [str(n) for n in run]
            start = k
    return ",".join(parts)


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
    as doubles); boolean cells match ``true`` / ``false`` in any case, and ``1`` / ``0``
    (``iscell=1``, as suite2p writes it).

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
        text = value.strip().lower()
        return text == str(bool(cell)).lower() or text == str(int(bool(cell)))
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


def _texts(values: Any) -> list[str]:
    """A metadata column's cells as text (``1500.0`` as ``1500``)."""
    out = []
    for v in np.asarray(values, dtype=object).tolist():
        out.append(f"{v:g}" if isinstance(v, (float, np.floating)) else str(v))
    return out


def selected_units(ids: list[Any], metadata: dict[str, np.ndarray], spec: str) -> list[Any]:
    """The ids a filter or id list ``spec`` selects among ``ids``."""
    kind, what = parse_units("advice", spec)
    if kind == "ids":
        wanted = {str(i) for i in what}
        return [i for i in ids if str(i) in wanted]
    cells = np.asarray(metadata[what.column], dtype=object).tolist()
    return [i for i, c in zip(ids, cells, strict=True) if what.matches(c)]


def split_agrees(pre: list[Any], post: list[Any], synapses: tuple[Any, Any] | None) -> bool:
    """Whether no synapse of the weights runs against a split: none joins a unit of
    ``post`` as its presynaptic side or a unit of ``pre`` as its postsynaptic side."""
    if synapses is None:
        return True
    pre_s, post_s = {str(i) for i in pre}, {str(i) for i in post}
    return not any(str(a) in post_s or str(b) in pre_s
                   for a, b in zip(np.asarray(synapses[0]).tolist(),
                                   np.asarray(synapses[1]).tolist(), strict=True))


def _role_column(ids: list[Any], metadata: dict[str, np.ndarray],
                 synapses: tuple[Any, Any] | None) -> tuple[str, str, str] | None:
    """A column whose values say pre / post (``Role`` = ``Presynaptic``, ``cell_type`` =
    ``pre``), as a split the weights do not contradict; else None."""
    for column in sorted(metadata, key=_advice_rank):
        cells = _texts(metadata[column])
        roles = {v: role_value(v) for v in set(cells)}
        pre = sorted(v for v, r in roles.items() if r == "pre")
        post = sorted(v for v, r in roles.items() if r == "post")
        if not pre or not post or any("," in v for v in pre + post):
            continue
        split = (f"{column}={','.join(pre)}", f"{column}={','.join(post)}")
        if split_agrees(*(selected_units(ids, metadata, s) for s in split), synapses):
            return (*split, f"its column {column!r} says which units are pre and which post "
                    f"({', '.join(pre + post)})")
    return None


def _synapse_split(ids: list[Any], metadata: dict[str, np.ndarray],
                   synapses: tuple[Any, Any]) -> tuple[str, str, str] | None:
    """The split the weights' synapses give (their ``pre_unit`` ids pre, their
    ``post_unit`` ids post): by a column whose values tell the two sides apart, else by
    ids; None when the synapses name no unit of ``ids`` or a unit on both sides."""
    held = {str(i): i for i in ids}
    pre = list(dict.fromkeys(held[str(a)] for a in np.asarray(synapses[0]).tolist()
                             if str(a) in held))
    post = list(dict.fromkeys(held[str(b)] for b in np.asarray(synapses[1]).tolist()
                              if str(b) in held))
    if not pre or not post or {str(i) for i in pre} & {str(i) for i in post}:
        return None
    why = ("the weights' synapses (pre_unit, post_unit) name units "
           f"{id_list(pre)} as pre and {id_list(post)} as post")
    for column in sorted(metadata, key=_advice_rank):
        if column.lower() in _NOT_ROLES:
            continue
        cells = dict(zip(map(str, ids), _texts(metadata[column]), strict=True))
        a = sorted({cells[str(i)] for i in pre})
        b = sorted({cells[str(i)] for i in post})
        if set(a) & set(b) or len(a) + len(b) > 4 or any(
                "," in v or not v.strip() or v == "nan" for v in a + b):
            continue
        split = (f"{column}={','.join(a)}", f"{column}={','.join(b)}")
        if split_agrees(*(selected_units(ids, metadata, s) for s in split), synapses):
            return (*split, f"{why}, and its column {column!r} tells them apart")
    return id_list(pre), id_list(post), why


def _selectable(column: str) -> bool:
    """Whether ``COLUMN=VALUE`` names this column when parsed back: no surrounding spaces,
    no comparison signs or commas in the name (a column named ``a<b`` is never advised)."""
    return bool(column) and column == column.strip() and not re.search(r"[=!<>,]", column)


def role_advice(ids: list[Any], metadata: dict[str, np.ndarray], *,
                synapses: tuple[Any, Any] | None = None,
                noise: list[Any] | tuple[Any, ...] = ()) -> tuple[str, str, str] | None:
    """The split of units into the two roles that advice suggests, or None when nothing
    tells the roles apart.

    In order: a column whose values say pre / post (:func:`role_value`'s spellings);
    the weights' synapses (``synapses``: their ``pre_unit`` and ``post_unit`` ids), by a
    column that tells their two sides apart, else by ids; a column that tells units
    apart by place (:func:`role_split`, whose sides are a guess).  A split the
    synapses contradict is never given.

    Parameters
    ----------
    ids : list
        The units' ids, as ``--pre-units 3,4`` names them.
    metadata : dict of str to ndarray
        Their metadata columns, one value per unit.
    synapses : tuple of two arrays, optional
        The weights' ``(pre_unit, post_unit)`` ids, one per weight column.
    noise : list, optional
        Units that must stay out of both roles (labelled noise, and kept by a filter):
        a filter that would select one becomes a list of the other ids.

    Returns
    -------
    tuple of str or None
        ``(pre selection, post selection, why)``: the selections as the
        ``--pre-units`` / ``--post-units`` values.
    """
    metadata = {k: v for k, v in metadata.items() if _selectable(k)}
    split = _role_column(ids, metadata, synapses)
    if split is None and synapses is not None:
        split = _synapse_split(ids, metadata, synapses)
    if split is None:
        split = role_split(metadata)
        if split is not None:
            split = (*split[:2], f"its metadata {split[2]}")
        if split is not None and not split_agrees(*(selected_units(ids, metadata, s)
                                               for s in split[:2]), synapses):
            split = None
    if split is None or not noise:
        return split
    bad = {str(i) for i in noise}
    chosen = [selected_units(ids, metadata, s) for s in split[:2]]
    if not any(str(i) in bad for side in chosen for i in side):
        return split
    kept = [[i for i in side if str(i) not in bad] for side in chosen]
    if not all(kept):
        return None
    return (id_list(kept[0]), id_list(kept[1]),
            f"{split[2]}; the units labelled noise ({', '.join(map(str, noise))}) left out")
