"""The header of a table of pairing experiments: the known columns, their other names
and units, and how a header cell is read (``delta_t [ms]``, ``Δt (ms)``, ``delta_t_ms``,
``# pairings``), for :mod:`plastix.io.table`.

A known column's name is matched without regard to case, spaces, hyphens or
underscores, a leading Greek delta read as "delta"; its unit follows in brackets,
in parentheses or after an underscore; a row of units under the header gives the
columns without one their units.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from plastix._util.errors import did_you_mean
from plastix.io.table_cells import blank as _blank
from plastix.io.table_cells import is_number as _is_number

__all__ = ["COLUMNS", "ALIASES", "RATIO_UNITS", "canonical", "is_known", "unit_word",
           "known_unit",
           "of_baseline", "weight_scale", "weight_units", "split_header", "header_name",
           "is_header", "is_table_header", "one_row_name", "with_units_row", "parse_header",
           "require_columns", "column_key", "distinct_columns", "repeated"]

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
    **dict.fromkeys(("pairings", "# pairings", "# of pairings", "no. pairings",
                     "no. of pairings", "no of pairings", "number of pairings",
                     "pairings per train"), "n_pairings"),
    **dict.fromkeys(("trains", "# trains", "# of trains", "no. trains", "no. of trains",
                     "no of trains", "number of trains"), "n_trains"),
    **dict.fromkeys(("sem", "s.e.m.", "se", "s.e.", "standard error", "weight sem"),
                    "weight_sem"),
    **dict.fromkeys(("n cells", "n_cells", "number of cells", "# cells", "# of cells",
                     "no. cells", "no. of cells", "no of cells"), "n"),
    **dict.fromkeys(("freq", "freq.", "pairing frequency", "pairing freq.", "pairing rate"),
                    "frequency"),
    **dict.fromkeys(("control", "control ratio"), "control_ratio"),
}

_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")
_PARENS = re.compile(r"^\s*(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$")
_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_\-]+(?P<unit>[A-Za-zµμ%]+)$")
_ELECTRICAL = re.compile(r"^[munpµμ]?[VAS]$")
#: a weight's unit that plastix converts: a prefix, a quantity (volt, ampere, siemens,
#: ohm), and for a slope a time after a slash (``mV``, ``pA``, ``nS``, ``MΩ``, ``mV/ms``)
_WEIGHT_UNIT = re.compile(r"^(?P<prefix>[GMkmunpµμ]?)(?P<base>V|A|S|Ω|Ohm|ohm)"
                          r"(?:/(?P<time>s|ms|us|µs|μs))?$")
_PREFIXES = {"": 1.0, "G": 1e9, "M": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "µ": 1e-6,
             "μ": 1e-6, "n": 1e-9, "p": 1e-12}
#: unit words read as the units (any case), in brackets and after an underscore alike
_UNIT_WORDS = {"pct": "%", "percent": "%", "sec": "s", "secs": "s", "msec": "ms",
               "msecs": "ms", "usec": "us", "usecs": "us"}
#: "% of baseline" (``% baseline``, ``percent of baseline``): a ratio in percent, 100 =
#: unchanged, as plastix reads ``weight_ratio [%]``; in a name, or alone as the unit
_OF_BASELINE = r"(?:%|pct|percent)\s*(?:of\s+)?(?:the\s+)?baseline"
_OF_BASELINE_UNIT = re.compile(rf"^{_OF_BASELINE}$", re.IGNORECASE)
_OF_BASELINE_IN = re.compile(_OF_BASELINE, re.IGNORECASE)


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
    """A unit with its spelt-out word read (``msec`` → ``ms``, ``percent`` → ``%``, and
    ``% of baseline`` → ``%``: a ratio in percent, 100 = unchanged)."""
    if of_baseline(unit):
        return "%"
    return _UNIT_WORDS.get(unit.strip().lower(), unit.strip())


#: the SI prefixes, in their case (``M`` mega, ``m`` milli)
_SI_PREFIXES = frozenset(("Y", "Z", "E", "P", "T", "G", "M", "k", "h", "da", "d", "c", "m",
                          "u", "µ", "μ", "n", "p", "f", "a", "z", "y"))


def known_unit(unit: str, accepted: Mapping[str, float] | None) -> str:
    """A known column's unit as the one of ``accepted`` it writes in another case (``MS``,
    ``Ms.`` aside: ``MS`` → ``ms``, ``hz`` → ``Hz``, ``KHZ`` → ``kHz``), else as written.

    A unit is read in another case only when that is unambiguous for the column's
    quantity: one accepted unit matches it without regard to case, and as written it is
    not another unit of the quantity (``Ms`` is a megasecond, ``MHz`` a megahertz: kept,
    and refused as units plastix does not take)."""
    word = unit_word(unit)
    if accepted is None or word in accepted:
        return unit
    for base in ("s", "Hz"):
        if base in accepted and word.endswith(base) and word[:-len(base)] in _SI_PREFIXES:
            return unit  # another unit of the quantity, in its own case
    match = [u for u in accepted if u.lower() == word.lower()]
    return match[0] if len(match) == 1 else unit


def of_baseline(unit: str) -> bool:
    """Whether a unit is "% of baseline" (``% baseline``, ``percent of baseline``): a ratio
    in percent (100 = unchanged), never a change."""
    return _OF_BASELINE_UNIT.match(unit.strip()) is not None


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
    name = canonical(name)
    if unit is not None and name in COLUMNS:
        unit = known_unit(unit.strip(), COLUMNS[name][1])
    return name, None if unit is None else unit.strip()


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
    if not any(u.lower() == word.lower() for u in accepted):
        return name, None
    return m["name"], known_unit(m["unit"], accepted)  # Ms (a megasecond): refused later


def weight_scale(unit: str) -> tuple[str, float] | None:
    """The quantity of a weight's unit and its factor to SI: ``"mV"`` → ``("V", 1e-3)``,
    ``"pA"`` → ``("A", 1e-12)``, ``"mV/ms"`` → ``("V/s", 1.0)``; None for a unit plastix
    does not convert (``a.u.``, ``%``)."""
    m = _WEIGHT_UNIT.match(unit.strip())
    if m is None:
        return None
    base = "Ω" if m["base"].lower() == "ohm" else m["base"]
    factor = _PREFIXES[m["prefix"]]
    if m["time"] is None:
        return base, factor
    return f"{base}/s", factor / _TIME[m["time"]]


def weight_units(units: Mapping[str, str], sem: bool, of: str = ""
                 ) -> tuple[str, dict[str, float]]:
    """The weights' unit, and the factors that convert ``weight_before``, ``weight_after``
    and ``weight_sem`` (when ``sem``) to SI when their units differ but measure one
    quantity (``mV`` and ``µV``: the ratio after/before has no unit); no factors when the
    units are the same.  Weights of two quantities, or with and without a unit, are
    refused with the fix; ``of`` says where the table is (`` of 'x.csv'``)."""
    before, after = units.get("weight_before", ""), units.get("weight_after", "")
    sem_unit = units.get("weight_sem") if sem else None
    if before == after and sem_unit in (None, before):
        return before, {}
    qb, qa = (weight_scale(u) if u else None for u in (before, after))
    if before != after and (qb is None or qa is None or qb[0] != qa[0]):
        raise ValueError(f"`weight_before` and `weight_after`{of} must be in one unit, "
                         "or in units of one quantity (mV and µV are converted); got "
                         f"{repr(before) if before else 'none'} and "
                         f"{repr(after) if after else 'none'}: write both in one unit "
                         f"and name it in both headers, e.g. 'weight_before [{before or 'mV'}]' "
                         f"and 'weight_after [{before or 'mV'}]'.")
    if sem and sem_unit is None:
        raise ValueError(f"`weight_sem`{of} has no unit, and `weight_before` and "
                         f"`weight_after` are in {before!r} and {after!r}: name its unit, e.g. "
                         f"'weight_sem [{after}]'.")
    factors = {"weight_before": qb[1], "weight_after": qa[1]} if qb and qa else {}
    if sem:
        qs = weight_scale(sem_unit or "")
        if qb is None or qs is None or qs[0] != qb[0]:
            raise ValueError(f"`weight_sem`{of} must be in the weights' unit "
                             f"({before or 'none'}) or another unit of its quantity; got "
                             f"{sem_unit!r}.")
        factors["weight_sem"] = qs[1]
    return before, factors


def header_name(cell: Any) -> str:
    """The canonical column name of a header cell (its unit dropped)."""
    split = split_header(cell)
    return split[0] if split is not None else str(cell)


def is_header(cells: Sequence[Any]) -> bool:
    """Whether a row of cells is the header: one of them names ``delta_t``."""
    return any(isinstance(c, str) and header_name(c) == "delta_t" for c in cells)


def is_table_header(cells: Sequence[Any]) -> bool:
    """Whether a header row names the columns a table needs: ``delta_t`` and a weight
    column (``weight_ratio``, ``weight_change``, or ``weight_before`` and
    ``weight_after``), so that a sheet which documents the columns is not taken for
    the table."""
    names = {header_name(c) for c in cells if isinstance(c, str)}
    return "delta_t" in names and bool(names & {"weight_ratio", "weight_change"}
                                       or {"weight_before", "weight_after"} <= names)


_UNIT_CHARS = re.compile(r"[\w%µμΩ°/.^·*\- ]{1,12}")


def _unit_like(text: str) -> bool:
    """Whether a cell under a weight column reads as its unit: up to 12 characters of
    letters, digits, ``% µ Ω ° / . ^ · * -`` and spaces, with a letter or ``%``
    (``mV``, ``pA``, ``a.u.``, ``mV/ms``)."""
    return (_UNIT_CHARS.fullmatch(text) is not None
            and re.search(r"[^\W\d_]|%", text) is not None)


def _is_unit(text: str) -> bool:
    """Whether a cell is a unit plastix knows: one of a known column's units (``ms``,
    ``%``, ``Hz``, spelt out too) or a weight's (``mV``, ``pA``, ``mV/ms``)."""
    word = unit_word(text.strip().strip("[]()").strip())
    return weight_scale(word) is not None or any(
        word in accepted for _, accepted in COLUMNS.values() if accepted is not None)


def one_row_name(top: str, sub: str) -> str:
    """The one header cell for a column headed in two rows, ``top`` over ``sub``: the
    lower cell when it names a known column (``'EPSP'`` over ``'weight_before [mV]'``),
    the upper one with the lower as its unit (``'delta_t'`` over ``'ms'``), or
    ``weight_before``/``weight_after`` for the words before/baseline and after
    (``'EPSP slope [mV/ms]'`` over ``'before'`` → ``'weight_before [mV/ms]'``); else
    both, the upper first."""
    t_name, t_unit = split_header(top) or (top, None)
    s_name, s_unit = split_header(sub) or (sub, None)
    unit = s_unit or t_unit
    if is_known(s_name):
        name = s_name
    elif _is_unit(sub):
        name, unit = t_name, sub.strip().strip("[]()").strip()
    else:
        words = _words(f"{t_name} {s_name}")
        name = ("weight_before" if words & {"before", "baseline"} else "weight_after"
                if "after" in words else f"{t_name} {s_name}")
    return f"{name} [{unit}]" if unit else name


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
    unit = {j: known_unit(str(c).strip().strip("[]()").strip(), COLUMNS[sp[0]][1])
            for j, sp in known if isinstance(c := cells[j], str) and str(c).strip()}
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
            raise repeated(name, written[name], str(col))
        names.append(name)
        written[name] = str(col)
        if unit is not None:
            units[name] = unit
    return names, units


# ------------------------------------------------------------------ repeated names

_SEM_WORDS = frozenset(column_key(w) for w in ("sem", "s.e.m.", "se", "s.e.", "standard error",
                                               "std. error", "stderr", "std err"))


def _is_sem(column: str) -> bool:
    """Whether a header's unit (in brackets or parentheses) says it holds standard errors
    (``weight ratio (SEM)``)."""
    split = split_header(column)
    return split is not None and split[1] is not None and column_key(split[1]) in _SEM_WORDS


def repeated(name: str, first: str, second: str) -> ValueError:
    """The refusal of two columns both read as the known column ``name``; a mean and its
    SEM (``weight ratio (mean)``, ``weight ratio (SEM)``) get the names that keep both."""
    sem = [c for c in (first, second) if _is_sem(c)]
    head = (f"`table` has two columns named {name!r} (units aside): {first!r} and "
            f"{second!r}; ")
    if name in ("weight_ratio", "weight_change") and len(sem) == 1:
        mean = first if sem[0] == second else second
        unit = split_header(mean)[1]  # type: ignore[index]  # both were read
        rename = "" if unit is None or unit_word(unit) in RATIO_UNITS else (
            f" and {mean!r} {name!r}")
        return ValueError(head + f"if {sem[0]!r} holds the standard errors, name it "
                          f"'weight_sem' (plastix weights the rows by them){rename}; else "
                          "keep one.")
    return ValueError(head + "keep one.")


def distinct_columns(columns: Sequence[Any]) -> tuple[list[Any], list[tuple[str, str]]]:
    """The columns with repeated label names told apart as pandas does (``notes``,
    ``notes.1``; a bracketed unit kept: ``slice.1 [L5]``), and the ``(written, new)``
    names of those renamed; two columns read as one known column are refused
    (:func:`repeated`).  Columns whose header cannot be read are left to
    :func:`parse_header`."""
    splits = [split_header(c) for c in columns]
    taken = {sp[0] for sp in splits if sp is not None}
    seen: dict[str, str] = {}
    out, renamed = [], []
    for col, split in zip(columns, splits, strict=True):
        if split is None:
            out.append(col)
            continue
        name, unit = split
        if name in seen:
            if is_known(name):
                raise repeated(name, seen[name], str(col))
            k = 1
            while f"{name}.{k}" in taken:
                k += 1
            name = f"{name}.{k}"
            taken.add(name)
            new = name + (f" [{unit}]" if unit is not None else "")
            renamed.append((str(col), new))
            col = new
        seen[name] = str(col)
        out.append(col)
    return out, renamed


# ------------------------------------------------------------------ did you mean

_TOKEN = re.compile(r"[^\W_]+|%")


def _unit_in(name: str, wanted: str, units: Mapping[str, str]) -> str | None:
    """The unit a column named ``name`` is written in, if it is one ``wanted`` accepts: its
    bracketed unit, else the last word of its name that is such a unit (``dt_ms``,
    ``pre-post interval (ms)``, ``('delta_t', 'ms')``); for the weights (any unit) an
    electrical unit (``mV``, ``pA``)."""
    accepted = COLUMNS[wanted][1]
    given = [units[name]] if name in units else []
    for word in given + list(reversed(_TOKEN.findall(name))):
        if accepted is None and (_ELECTRICAL.match(word) or word in given):
            return word
        if accepted is not None and unit_word(word) in accepted:
            return word
    return None


def _named(wanted: str, unit: str | None) -> str:
    """``'delta_t [ms]'``; without a unit, the name with the unit to add."""
    if unit is not None:
        return repr(f"{wanted} [{unit}]")
    if wanted == "delta_t":
        return "'delta_t' (in seconds; 'delta_t [ms]' in milliseconds)"
    if wanted == "weight_change":
        return "'weight_change' (a fraction, 0.5 = +50%; 'weight_change [%]' in percent)"
    return repr(wanted)


def _written(name: str, units: Mapping[str, str]) -> str:
    return repr(f"{name} [{units[name]}]" if name in units else name)


def _hint(wanted: str, others: list[str], units: Mapping[str, str] | None = None) -> str:
    """" Did you mean 'x'? Rename that column 'wanted [unit]'." for the closest other
    column, its unit kept."""
    hint = did_you_mean(wanted, others)
    if not hint:
        return ""
    other = difflib.get_close_matches(wanted, others, n=1, cutoff=0.5)[0]
    return f"{hint} Rename that column {_named(wanted, _unit_in(other, wanted, units or {}))}."


def _interval_words(name: str) -> str:
    """A name lower-cased, its minus signs and dashes as ``-``, underscores as spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[−–]", "-", name.lower()).replace("_", " "))


#: a column of t_pre − t_post, and one of t_post − t_pre, written out (a minus sign with
#: ``t`` on both times, or the word "minus"); a bare ``pre-post`` says no sign
_PRE_MINUS_POST = re.compile(r"\bt ?pre ?(?:-|minus) ?t ?post\b|\bpre ?minus ?post\b")
_POST_MINUS_PRE = re.compile(r"\bt ?post ?(?:-|minus) ?t ?pre\b|\bpost ?minus ?pre\b")
_PRE_POST = re.compile(r"\bpre ?(?:-|to|->|→)? ?(?:t ?)?post\b|\bpost ?(?:-|to|->|→)? ?pre\b")


def _pre_post_hint(others: list[str], units: Mapping[str, str]) -> str | None:
    """The fix for a column named after the pre and post spikes: a rename for
    ``t_post - t_pre``, a negation for ``t_pre - t_post``, and both readings for a name
    whose sign it does not say (``pre-post interval``: the interval from pre to post,
    or pre minus post)."""
    for name in others:
        words = _interval_words(name)
        target = _named("delta_t", _unit_in(name, "delta_t", units))
        if _POST_MINUS_PRE.search(words):
            return f" Column {_written(name, units)} reads as t_post − t_pre: rename it {target}."
        if _PRE_MINUS_POST.search(words):
            return (f" Column {_written(name, units)} reads as t_pre − t_post, but plastix's "
                    "delta_t is t_post − t_pre (> 0 when pre fires first): negate its values "
                    f"and name the column {target}.")
        if _PRE_POST.search(words):
            return (f" Column {_written(name, units)} names the pre and post spikes but not the "
                    "sign of its interval; plastix's delta_t is t_post − t_pre (> 0 when pre "
                    f"fires first). If its values are > 0 when pre fires first, rename it "
                    f"{target}; if they are > 0 when post fires first (t_pre − t_post), negate "
                    f"them and name the column {target}.")
    return None


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z%]+", name.lower().replace("_", " ")))


def _weight_hint(others: list[str], units: Mapping[str, str]) -> str | None:
    """The fix for weights under lab names: one column ``... before`` and one ``... after``
    (``EPSP before [µV]``), one in % of baseline (``EPSP slope (% of baseline)``: a ratio),
    or one ``... change`` (``% change``, ``EPSP slope change (%)``); None when no such
    column, or more than one, is found."""
    before = [n for n in others if _words(n) & {"before", "baseline"}]
    after = [n for n in others if "after" in _words(n)]
    if len(before) == 1 and len(after) == 1 and before != after:
        b, a = before[0], after[0]
        return (f" Did you mean {_written(b, units)} and {_written(a, units)}? Rename them "
                f"{_named('weight_before', _unit_in(b, 'weight_before', units))} and "
                f"{_named('weight_after', _unit_in(a, 'weight_after', units))}.")
    ratio = [n for n in others if _OF_BASELINE_IN.search(_written(n, units))
             and "change" not in _words(n)]
    if len(ratio) == 1:
        return (f" Did you mean {_written(ratio[0], units)}? % of baseline (100 = unchanged) "
                "is the ratio after/before: rename that column 'weight_ratio [%]'.")
    change = [n for n in others if "change" in _words(n)]
    if len(change) == 1:
        c = change[0]
        unit = _unit_in(c, "weight_change", units)
        return (f" Did you mean {_written(c, units)}? Rename that column "
                f"{_named('weight_change', unit)}.")
    return None


def require_columns(names: list[str], units: Mapping[str, str] | None = None) -> None:
    """Refuse a table without ``delta_t`` or a weight change, with "did you mean" (the
    suggested name keeps the unit, from ``units`` or the column's name)."""
    units = units or {}
    others = [n for n in names if n not in COLUMNS]
    found = ", ".join(map(repr, names)) or "none"
    if "delta_t" not in names:
        raise ValueError("`table` must have a column 'delta_t' (post spike time minus pre spike "
                         f"time, e.g. 'delta_t [ms]'); found columns {found}."
                         + (_pre_post_hint(others, units) or _hint("delta_t", others, units)))
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
                         + _hint(miss, others, units))
    if not have:
        raise ValueError("`table` must have a column 'weight_ratio' (after/before), "
                         "'weight_change' (after/before - 1) or both 'weight_before' and "
                         f"'weight_after'; found columns {found}."
                         + (_weight_hint(others, units) or _hint("weight_ratio", others, units)))
