"""The header of a table of pairing experiments: the known columns, their other names
and units, and how a header cell is read (``delta_t [ms]``, ``Δt (ms)``, ``delta_t_ms``,
``# pairings``), for :mod:`plastix.io.table`.

A known column's name is matched without regard to case, spaces, hyphens or
underscores, a leading Greek delta read as "delta"; its unit follows in brackets,
in parentheses or after an underscore; a row of units under the header gives the
columns without one their units.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from plastix._util.errors import did_you_mean
from plastix.io.table_cells import blank as _blank
from plastix.io.table_cells import is_number as _is_number

__all__ = ["COLUMNS", "ALIASES", "RATIO_UNITS", "canonical", "is_known", "unit_word",
           "split_header", "header_name", "is_header", "with_units_row", "parse_header",
           "require_columns", "column_key"]

_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "min": 60.0}
_FREQ = {"Hz": 1.0, "kHz": 1e3, "mHz": 1e-3, "1/s": 1.0}
RATIO_UNITS = {"1": 1.0, "%": 1e-2}
_COUNT = {"1": 1.0}

#: the known columns: name → (SI unit, accepted units with their factor to SI, or None for
#: "any unit, kept": the weights); integers are counts
COLUMNS: dict[str, tuple[str, Mapping[str, float] | None]] = {
    "delta_t": ("s", _TIME), "weight_ratio": ("1", RATIO_UNITS),
    "weight_change": ("1", RATIO_UNITS),
    "weight_before": ("", None),
    "weight_after": ("", None), "weight_sem": ("1", None), "n": ("1", _COUNT),
    "frequency": ("Hz", _FREQ), "n_pairings": ("1", _COUNT), "n_trains": ("1", _COUNT),
    "control_ratio": ("1", RATIO_UNITS),
}
#: other names of the known columns, as labs head them (matched like the names: without
#: regard to case, spaces, hyphens or underscores)
ALIASES: dict[str, str] = {
    **dict.fromkeys(("pairings", "# pairings", "no. pairings", "number of pairings",
                     "pairings per train"), "n_pairings"),
    **dict.fromkeys(("trains", "# trains", "number of trains"), "n_trains"),
    **dict.fromkeys(("sem", "s.e.m.", "se", "s.e.", "standard error", "weight sem"),
                    "weight_sem"),
    **dict.fromkeys(("n cells", "n_cells", "number of cells", "# cells"), "n"),
    **dict.fromkeys(("freq", "pairing frequency", "pairing rate"), "frequency"),
    **dict.fromkeys(("control", "control ratio"), "control_ratio"),
}

_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")
_PARENS = re.compile(r"^\s*(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$")
_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_\-]+(?P<unit>[A-Za-zµμ%]+)$")
_ELECTRICAL = re.compile(r"^[munpµμ]?[VAS]$")
#: unit words read as the units (any case), in brackets and after an underscore alike
_UNIT_WORDS = {"pct": "%", "percent": "%", "sec": "s", "secs": "s", "msec": "ms",
               "msecs": "ms", "usec": "us", "usecs": "us"}


def column_key(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", name.strip().lower())


_ALIAS_KEYS = {column_key(k): v for k, v in ALIASES.items()}


def canonical(name: str) -> str:
    """A header's name as plastix knows it: a known column (or one of its
    :data:`ALIASES`) matched without regard to case, spaces or hyphens, with a leading
    Greek delta read as "delta" (``"Delta t"``, ``"Δt"`` → ``"delta_t"``); any other
    name as written."""
    key = column_key(re.sub(r"^[δ∆]\s*", "delta_", name.strip().lower()))
    if key in COLUMNS or key == "experiment":
        return key
    return _ALIAS_KEYS.get(key, name)


def is_known(name: str) -> bool:
    return name in COLUMNS or name == "experiment"


def unit_word(unit: str) -> str:
    """A unit with its spelt-out word read (``msec`` → ``ms``, ``percent`` → ``%``)."""
    return _UNIT_WORDS.get(unit.strip().lower(), unit.strip())


def split_header(cell: Any) -> tuple[str, str | None] | None:
    """A header cell's canonical name and its unit (None: none); None if it cannot be read.

    The unit is in brackets (``delta_t [ms]``), or, for a known column only, in
    parentheses (``Δt (ms)``, as spreadsheets often write it) or after an underscore
    (``delta_t_ms``); a label column keeps its parentheses (``cell (L5)``).
    """
    m = _HEADER.match(str(cell))
    if m is None:
        return None
    name, unit = m["name"], m["unit"]
    if unit is None and (p := _PARENS.match(name)) is not None and is_known(
            canonical(p["name"])):
        name, unit = p["name"], p["unit"]
    if unit is None and not is_known(canonical(name)):
        name, unit = _unit_suffix(name)
    return canonical(name), None if unit is None else unit.strip()


def _unit_suffix(name: str) -> tuple[str, str | None]:
    """``("delta_t", "ms")`` for ``"delta_t_ms"``: a known column and one of its units
    (any case; ``pct``, ``sec``, ``msec`` spelt out; for the weights an electrical unit,
    ``weight_before_mV``) after an underscore, space or hyphen, as tables exported from
    scripts name them; else ``(name, None)``."""
    m = _SUFFIX.match(name.strip())
    if m is None or not is_known(base := canonical(m["name"])) or base not in COLUMNS:
        return name, None
    accepted = COLUMNS[base][1]
    if accepted is None:  # the weights, in any unit: an electrical one (mV, pA, nS)
        return (m["name"], m["unit"]) if _ELECTRICAL.match(m["unit"]) else (name, None)
    word = unit_word(m["unit"])
    match = [u for u in accepted if u.lower() == word.lower()]
    return (m["name"], match[0]) if match else (name, None)


def header_name(cell: Any) -> str:
    """The canonical column name of a header cell (its unit dropped)."""
    split = split_header(cell)
    return split[0] if split is not None else str(cell)


def is_header(cells: Sequence[Any]) -> bool:
    """Whether a row of cells is the header: one of them names ``delta_t``."""
    return any(isinstance(c, str) and header_name(c) == "delta_t" for c in cells)


_UNIT_CHARS = re.compile(r"[\w%µμΩ°/.^·*\- ]{1,12}")


def _unit_like(text: str) -> bool:
    """Whether a cell under a weight column reads as its unit: up to 12 characters of
    letters, digits, ``% µ Ω ° / . ^ · * -`` and spaces, with a letter or ``%``
    (``mV``, ``pA``, ``a.u.``, ``mV/ms``)."""
    return (_UNIT_CHARS.fullmatch(text) is not None
            and re.search(r"[^\W\d_]|%", text) is not None)


def with_units_row(header: list[str], row: list[Any]) -> list[str] | None:
    """The header with the units of the row under it (``ms``, ``%``, ``(mV)``) put in its
    brackets, or None when that row is not a row of units.

    It is one when every cell under a known column is empty or text that is not a
    number, at least one is not empty, and each is a unit its column takes: one of
    the set of a column with fixed units (``delta_t``, a ratio, ``frequency``), or,
    under the weights (any unit), a short unit-like text (``mV``, ``pA``, ``µV``,
    ``a.u.``, ``%``).  A header that names a unit already keeps it (a different unit
    under it is refused when the units are read).
    """
    known = [(j, split_header(h)) for j, h in enumerate(header) if j < len(row)]
    known = [(j, sp) for j, sp in known if sp is not None and sp[0] in COLUMNS]
    cells = {j: row[j] for j, _ in known}
    if not known or not all(_blank(c) or (isinstance(c, str) and not _is_number(c))
                            for c in cells.values()):
        return None
    unit = {j: str(c).strip().strip("[]()").strip() for j, c in cells.items()
            if isinstance(c, str) and str(c).strip()}
    if not unit or not all(unit_word(unit[j]) in COLUMNS[sp[0]][1]
                           if COLUMNS[sp[0]][1] is not None else _unit_like(unit[j])
                           for j, sp in known if j in unit):
        return None
    out = list(header)
    for j, (_name, given) in known:
        if j in unit and given is None:
            out[j] = f"{header[j]} [{unit[j]}]"
        elif j in unit and unit_word(given or "") != unit_word(unit[j]):
            raise ValueError(f"`table` column {header[j]!r} names the unit {given!r} and the "
                             f"row under it {unit[j]!r}; keep one.")
    return out


def parse_header(columns: Any) -> tuple[list[str], dict[str, str]]:
    """Column names without their brackets, and the unit given for each (if any)."""
    names, units, written = [], {}, {}
    for col in columns:
        split = split_header(col)
        if split is None:
            raise ValueError(f"`table` column {str(col)!r} must be a name with at most one unit "
                             "in brackets, e.g. 'delta_t [ms]'.")
        name, unit = split
        if name in names:
            raise ValueError(f"`table` has two columns named {name!r} (units aside): "
                             f"{written[name]!r} and {str(col)!r}; keep one.")
        names.append(name)
        written[name] = str(col)
        if unit is not None:
            units[name] = unit
    return names, units


def _hint(wanted: str, others: list[str]) -> str:
    """" Did you mean 'x'? Rename that column 'wanted'." for the closest other column."""
    hint = did_you_mean(wanted, others)
    return f"{hint} Rename that column {wanted!r}." if hint else ""


_PRE_POST = re.compile(r"pre_?(?:t_?)?post|pre_?minus_?(?:t_?)?post")


def _pre_post_hint(others: list[str]) -> str | None:
    """The fix for a column named as pre − post (``delta_t_pre_post``, ``t_pre - t_post``)."""
    for name in others:
        if _PRE_POST.search(re.sub(r"[\s\-_−–]+", "_", name.lower()).replace("_", "")):
            return (f" Column {name!r} reads as t_pre − t_post, but plastix's delta_t is "
                    "post − pre (> 0: pre before post): negate its values and name the column "
                    "'delta_t'.")
    return None


def require_columns(names: list[str]) -> None:
    """Refuse a table without ``delta_t`` or a weight change, with "did you mean"."""
    others = [n for n in names if n not in COLUMNS]
    found = ", ".join(map(repr, names)) or "none"
    if "delta_t" not in names:
        raise ValueError("`table` must have a column 'delta_t' (post spike time minus pre spike "
                         f"time, e.g. 'delta_t [ms]'); found columns {found}."
                         + (_pre_post_hint(others) or _hint("delta_t", others)))
    forms = [n for n in ("weight_ratio", "weight_change") if n in names]
    if forms:
        if len(forms) > 1 or "weight_before" in names or "weight_after" in names:
            given = forms + [n for n in ("weight_before", "weight_after") if n in names]
            raise ValueError("`table` must give the weight change once: 'weight_ratio', "
                             "'weight_change' or 'weight_before' and 'weight_after'; got "
                             f"{', '.join(map(repr, given))}.")
        return
    have = [n for n in ("weight_before", "weight_after") if n in names]
    if len(have) == 1:
        miss = ({"weight_before", "weight_after"} - set(have)).pop()
        raise ValueError(f"`table` has {have[0]!r} but not {miss!r}; give both, or "
                         f"'weight_ratio' (after/before); found columns {found}."
                         + _hint(miss, others))
    if not have:
        raise ValueError("`table` must have a column 'weight_ratio' (after/before), "
                         "'weight_change' (after/before - 1) or both 'weight_before' and "
                         f"'weight_after'; found columns {found}."
                         + _hint("weight_ratio", others))
