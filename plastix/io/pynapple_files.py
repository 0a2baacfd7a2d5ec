"""pynapple sessions on disk: a folder of pynapple ``.npz`` files as a record.

A lab that analyses with pynapple keeps a session as the files pynapple's
``.save()`` writes (``spikes.npz`` a ``TsGroup``, ``epsp_slopes.npz`` a
``TsdFrame``, ``epochs.npz`` an ``IntervalSet``, ...), often in one folder
(``nap.load_folder``).  :func:`read_pynapple_session` maps such a folder, or one
of its files, onto a record through :func:`plastix.io.from_pynapple`, with the
options of the standard NWB reader (the same command-line flags):

``pre_activity``, ``post_activity``
    The object (file name, with or without ``.npz``) holding each role's units: a
    ``TsGroup`` of spike trains or a ``TsdFrame`` of activity.  Default: the
    files ``pre`` and ``post``; else the file given as the path; else the
    folder's only ``TsGroup`` (both roles in it).
``pre_units``, ``post_units``
    The role's units in that object: ids (``3,4,5``) or a filter on its metadata
    (``location=CA1``, ``depth<1500``: :class:`plastix.io.unit_select.UnitFilter`).
    Default: the metadata column ``role`` (``pre``/``post``, also spelt out), else
    every unit of a role's own object.
``weights``
    The ``TsdFrame`` (one column per synapse) or ``Tsd`` (one synapse) of the
    measured weights; default the file ``weights``.  Without one,
    ``weights_from="spikes"`` reads the spike trains alone (the weights are
    inferred, :func:`plastix.estimate.infer_weights`).
``synapses``
    Each weight column's synapse as ``PRE:POST,PRE:POST,...`` (unit ids, in column
    order) or a CSV/TSV table of the folder (``pre_unit``, ``post_unit``; row i =
    column i); default the weights' metadata ``pre_unit`` / ``post_unit``, else the
    folder's ``synapses.csv`` (``to_pynapple(rec)["synapses"].to_csv(...)``).
``segments``
    The ``IntervalSet`` whose rows are the segments, or ``"none"``; default the
    file ``epochs`` when there is one.
``decay``, ``bin_size``
    Known decay rate (1/s) and the bin width of spike trains (s); default the
    values in ``plastix.json`` (written by :func:`write_pynapple_session`), else
    unknown and 10 ms.

Files are read by :mod:`plastix.io.pynapple_npz`: their pickled metadata never
runs code.  :func:`write_pynapple_session` writes a record as such a folder
(through pynapple's own ``.save()``), which reads back as the same record.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import (
    FileFormatError,
    MappingError,
    UnsafeFileError,
    check_choice,
)
from plastix._util.optional import require
from plastix._util.validate import check_keywords
from plastix._util.warn import warn_caller
from plastix.io.nwb_map import synapse_pairs
from plastix.io.nwb_scan import cli_flag as _flag
from plastix.io.nwb_scan import parse_units, suggest
from plastix.io.pynapple_npz import NotPynappleError, NpzObject, read_npz
from plastix.io.unit_select import role_advice, role_value, unit_id

__all__ = ["READ_OPTIONS", "SETTINGS_FILE", "SYNAPSE_TABLES",
           "read_pynapple_session", "open_pynapple_session", "write_pynapple_session",
           "session_objects", "read_session",
           "select_units", "absent_weights", "empty_synapses"]

READ_OPTIONS = ("pre_units", "post_units", "pre_activity", "post_activity", "weights",
                "synapses", "segments", "decay", "bin_size", "weights_from", "source")
"""Options of :func:`read_pynapple_session` (the standard NWB reader's, same flags)."""

SETTINGS_FILE = "plastix.json"
"""The session's known decay and bin width, written beside the objects (plain JSON)."""

_ROLES = ("pre", "post")
_ACTIVITY = ("TsGroup", "TsdFrame")
_WEIGHTS = ("TsdFrame", "Tsd")
_LABEL = "pynapple session"


def _a(kind: str) -> str:
    """``kind`` with its article: "an IntervalSet", "a TsGroup"."""
    return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind}"


@dataclass
class _Session:
    """The objects of a session folder, read when first asked for."""

    src: Path
    folder: Path
    main: str | None
    names: list[str]
    files: dict[str, Path] = field(default_factory=dict)
    _read: dict[str, NpzObject | Exception] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.names

    def peek(self, name: str) -> NpzObject | Exception:
        """The object, or the error that keeps it from being read."""
        if name not in self._read:
            try:
                self._read[name] = read_npz(self.files.get(name, self.folder / f"{name}.npz"))
            except (FileFormatError, UnsafeFileError) as err:
                self._read[name] = err
        return self._read[name]

    def kinds(self, kinds: tuple[str, ...]) -> list[str]:
        """Names of the objects of these kinds.  A damaged or unsafe file is raised (it may
        be the one the session needs); an archive of other arrays is passed over."""
        out = []
        for n in self.names:
            obj = self.peek(n)
            if isinstance(obj, Exception) and not isinstance(obj, NotPynappleError):
                raise obj
            if isinstance(obj, NpzObject) and obj.kind in kinds:
                out.append(n)
        return out

    def found(self) -> str:
        """The objects, one clause each, for a message (given one file, that file and the
        names of the others, which are not read for it)."""
        parts = []
        for n in self.names if self.main is None else [self.main]:
            obj = self.peek(n)
            parts.append(obj.describe() if isinstance(obj, NpzObject)
                         else f"{n}.npz: not a pynapple object" if isinstance(
                             obj, NotPynappleError) else f"{n}.npz: unreadable")
        others = [n for n in self.names if n != self.main] if self.main is not None else []
        if others:
            parts.append(f"other .npz files beside it: {', '.join(others)}")
        return "; ".join(parts) or "no .npz files"

    def get(self, name: Any, option: str, kinds: tuple[str, ...]) -> NpzObject:
        """The object ``name`` (a file name, ``.npz`` optional) of one of ``kinds``."""
        stem = str(name)
        stem = stem[:-4] if stem.lower().endswith(".npz") else stem
        if not self.has(stem):
            raise self.refuse(f"`{option}` names {str(name)!r}, which is no .npz file of "
                              f"{self.folder.name!r}" + suggest(stem, self.names),
                              f"Name one of the files in {_flag(option)}")
        obj = self.peek(stem)
        if isinstance(obj, Exception):
            raise obj
        if obj.kind not in kinds:
            raise self.refuse(f"`{option}` names {stem}.npz, which holds {_a(obj.kind)}; it must "
                              f"be a {' or '.join(kinds)}",
                              f"Name a {' or '.join(kinds)} in {_flag(option)}")
        return obj

    def refuse(self, what: str, todo: str, flags: tuple[str, ...] = ()) -> MappingError:
        """The refusal of the session reader: what is wrong, what was found, ``inspect``."""
        return MappingError(self.src.name, _LABEL, what, self.found(), todo, flags,
                            path=self.src)


def session_objects(path: str | os.PathLike) -> _Session:
    """The session of a folder, or of one ``.npz`` file (its folder's files are read only
    when an option names them)."""
    path = Path(path)
    if path.name in ("", ".."):  # `.`: messages and the record name the folder itself
        path = path.resolve()
    folder = path if path.is_dir() else path.parent
    files = {p.stem: p for p in sorted(folder.iterdir(), key=lambda p: p.suffix == ".npz")
             if p.is_file() and p.suffix.lower() == ".npz"}  # x.npz wins over x.NPZ
    return _Session(path, folder, None if path.is_dir() else path.stem, sorted(files), files)


# ---------------------------------------------------------------- roles


def _unit_ids(obj: NpzObject) -> list[Any]:
    """The ids a role's units get in the record (a TsGroup's metadata ``unit`` when it
    names each unit once, as :func:`plastix.io.from_pynapple` reads them)."""
    if obj.kind == "TsGroup" and "unit" in obj.metadata and obj.unit_ids:
        return [unit_id(u) for u in obj.metadata["unit"].tolist()]
    return [unit_id(u) for u in obj.ids.tolist()]


def _role_source(s: _Session, role: str, opt: dict[str, Any]) -> NpzObject:
    """The object holding one role's units."""
    option = f"{role}_activity"
    if opt.get(option) is not None:
        return s.get(opt[option], option, _ACTIVITY)
    if s.has(role):
        return s.get(role, option, _ACTIVITY)
    if s.main is not None:
        main = s.peek(s.main)
        if isinstance(main, NpzObject) and main.kind not in _ACTIVITY:
            raise s.refuse(f"the path {s.main}.npz holds {_a(main.kind)}, not units",
                           "Pass the folder, or the file of the units (a TsGroup or "
                           "TsdFrame), and name this one with its flag")
        return s.get(s.main, option, _ACTIVITY)
    groups = s.kinds(("TsGroup",))
    if len(groups) == 1:
        return s.get(groups[0], option, _ACTIVITY)
    what = ("several TsGroups" if groups else "no TsGroup") + f", so the {role}synaptic units' "
    cands = s.kinds(_ACTIVITY)
    raise s.refuse(what + "object is not known",
                   f"Name it with {_flag(option)} NAME (a TsGroup or TsdFrame file)",
                   (f"{_flag(option)} {cands[0] if cands else 'NAME'}",))


def select_units(refuse: Callable[..., Exception], obj: NpzObject, role: str, spec: Any,
                 shared: bool, advice: Callable[[NpzObject], tuple[str, tuple[str, ...]]]
                 | None = None) -> NpzObject:
    """The role's units of ``obj``: by ids, by a filter on its metadata, by its
    ``role`` column, or all of them when the object is the role's own.

    Parameters
    ----------
    refuse : callable
        ``refuse(what, todo, flags=())`` -> the exception to raise (the reader's own).
    obj : NpzObject
        A ``TsGroup`` (or ``TsdFrame``) holding the role's units.
    role : {"pre", "post"}
    spec : tuple or None
        :func:`plastix.io.unit_select.parse_units` of the role's option.
    shared : bool
        Whether ``obj`` holds both roles' units (then a selection is required).
    advice : callable, optional
        ``advice(obj)`` -> ``(fix, flags)``: how to split ``obj``'s units into the two
        roles, for the refusal when nothing says (default :func:`selection_fix`).
    """
    option = f"{role}_units"
    ids = _unit_ids(obj)
    meta = obj.metadata
    if spec is None and "role" in meta:
        keep = [i for i, v in zip(ids, meta["role"].tolist(), strict=True)
                if role_value(v) == role]
        if not keep:
            fix, flags = (advice or selection_fix)(obj) if shared else ("", ())
            raise refuse(f"the metadata column 'role' of {obj.path.name} names no {role} "
                         f"unit (values {sorted(set(map(str, meta['role'].tolist())))}; a "
                         "role is pre/post, presyn/postsyn or presynaptic/postsynaptic)",
                         fix if flags and not flags[0].endswith(" IDS") else
                         f"Select the {role}synaptic units with {_flag(option)}", flags)
    elif spec is None:
        if shared:
            fix, flags = (advice or selection_fix)(obj)
            guessed = not any(f.endswith(" IDS") for f in flags)
            raise refuse(f"{obj.path.name} holds both roles' units and "
                         + ("nothing says which are pre and which post" if guessed else fix),
                         fix if guessed else "Name the roles so", flags)
        return obj
    elif spec[0] == "ids":
        text = {str(i): i for i in ids}
        missing = [i for i in spec[1] if str(i) not in text]
        if missing:
            raise refuse(f"`{option}` names unit(s) {missing} that {obj.path.name} does not "
                           f"hold (its ids: {_few(ids)})", f"Name its units in {_flag(option)}")
        keep = [text[str(i)] for i in spec[1]]
    else:
        column = spec[1].column
        if column not in meta:
            lost = f" (its metadata was not read: {obj.unread})" if obj.unread else ""
            raise refuse(f"`{option}` selects units by the metadata column {column!r}, which "
                           f"{obj.path.name} does not have{lost}" + suggest(column, list(meta)),
                           f"Name one of its columns in {_flag(option)}")
        keep = [i for i, v in zip(ids, meta[column].tolist(), strict=True)
                if spec[1].matches(v)]
        if not keep:
            raise refuse(f"`{option}` selects units with {spec[1].describe()}, and "
                           f"{obj.path.name} has none (values "
                           f"{sorted(set(map(str, meta[column].tolist())))})",
                           f"Choose one of these values in {_flag(option)}")
    return obj.select([obj.ids.tolist()[ids.index(i)] for i in keep])


def _few(ids: list[Any], n: int = 8) -> str:
    return ", ".join(map(str, ids[:n])) + (f", ... ({len(ids)} in all)" if len(ids) > n else "")


def selection_fix(obj: NpzObject, synapses: tuple[Any, Any] | None = None,
                  noise: tuple[Any, ...] = (), unnamed: str = "") -> tuple[str, tuple[str, ...]]:
    """How to split one object's units into the two roles (:func:`role_advice`): the
    advice and the flags; when nothing tells the roles apart, the advice says how to name
    them (``unnamed``, else a ``role`` column; or ids) and the flags end in ``IDS``.

    Parameters
    ----------
    obj : NpzObject
        The object holding both roles' units.
    synapses : tuple of two arrays, optional
        The weights' ``(pre_unit, post_unit)`` ids: the direction of the split.
    noise : tuple, optional
        Units labelled noise, never suggested for a role.
    unnamed : str, optional
        How to name the roles when nothing in ``obj`` says them.
    """
    ids = _unit_ids(obj)
    split = role_advice(ids, obj.metadata, synapses=synapses, noise=noise)
    if split is not None:
        flags = (f"{_flag('pre_units')} {shlex.quote(split[0])}",
                 f"{_flag('post_units')} {shlex.quote(split[1])}")
        return f"Select each role's units with {' '.join(flags)} ({split[2]})", flags
    bad = {str(i) for i in noise}
    usable = [i for i in ids if str(i) not in bad]
    left = f"; labelled noise, left out: {_few(list(noise))}" if noise else ""
    return ((unnamed or "no metadata column says which units are pre and which post: add one "
             "named role (values pre/post)") + f", or name them with {_flag('pre_units')} IDS "
            f"{_flag('post_units')} IDS (its ids: {_few(usable)}{left})",
            (f"{_flag('pre_units')} IDS", f"{_flag('post_units')} IDS"))


def _weight_synapses(s: _Session, opt: dict[str, Any]) -> tuple[Any, Any] | None:
    """The weights' ``(pre_unit, post_unit)`` metadata, for advice on the roles; None
    when the weights (as the options name them) have none or cannot be read."""
    name = opt.get("weights") or ("weights" if s.main is None and s.has("weights") else None)
    if name is None or opt.get("synapses") is not None:
        return None
    try:
        stem = str(name)
        w = s.peek(stem[:-4] if stem.lower().endswith(".npz") else stem)
    except (OSError, ValueError):
        return None
    if not isinstance(w, NpzObject) or not {"pre_unit", "post_unit"} <= set(w.metadata):
        return None
    return w.metadata["pre_unit"], w.metadata["post_unit"]


def _roles(s: _Session, opt: dict[str, Any]) -> dict[str, NpzObject]:
    sources = {r: _role_source(s, r, opt) for r in _ROLES}
    shared = sources["pre"].path == sources["post"].path
    chosen = {r: select_units(s.refuse, sources[r], r,
                              parse_units(f"{r}_units", opt.get(f"{r}_units")), shared,
                              lambda obj: selection_fix(obj, _weight_synapses(s, opt)))
              for r in _ROLES}
    if shared:
        check_one_role(s.refuse, chosen, opt)
    return chosen


def check_one_role(refuse: Callable[..., Exception], chosen: dict[str, NpzObject],
                   opt: dict[str, Any]) -> None:
    """Refuse units selected as both pre and post from one group (overlapping selections,
    ``--pre-units group=good --post-units 9``): a unit's spikes paired with themselves
    read as a perfect synapse."""
    pre = {str(i): i for i in _unit_ids(chosen["pre"])}
    both = [pre[str(i)] for i in _unit_ids(chosen["post"]) if str(i) in pre]
    if both:
        given = {r: opt.get(f"{r}_units") for r in _ROLES}
        how = ", ".join(f"{_flag(r + '_units')} {given[r]}" for r in _ROLES
                        if given[r] is not None) or "their role column"
        raise refuse(f"unit(s) {_few(both)} are selected as both pre and post (by {how})",
                     "Give each unit one role: narrow one selection, e.g. "
                     f"{_flag('pre_units')} with the ids of the presynaptic units only")


# ---------------------------------------------------------------- weights, segments


def _weight_rank(obj: NpzObject) -> tuple[bool, bool]:
    """Sort key of the objects that may hold the weights: first those whose metadata names
    each column's synapse (``pre_unit``, ``post_unit``), then frames before single series
    (a position or speed trace is a ``Tsd``); by name within each."""
    return not {"pre_unit", "post_unit"} <= set(obj.metadata), obj.kind != "TsdFrame"


def _weights(s: _Session, opt: dict[str, Any], roles: dict[str, NpzObject]
             ) -> NpzObject | None:
    """The weights' object, or None when none is named or found and they will be
    inferred from the spikes (``roles``: the objects of the units, never candidates)."""
    if opt.get("weights") is not None:
        return s.get(opt["weights"], "weights", _WEIGHTS)
    if s.has("weights") and s.main is None:
        return s.get("weights", "weights", _WEIGHTS)
    if opt.get("weights_from") == "spikes":
        return None
    used = {o.name for o in roles.values()}
    frames = sorted((f for f in s.kinds(_WEIGHTS) if f not in used),
                    key=lambda f: _weight_rank(s.peek(f))) if s.main is None else []
    hint = f" (candidates: {', '.join(frames)})" if frames else ""
    what = ("no weights: the path is one file, and its folder's other files are read only "
            "when a flag names them" if s.main is not None else
            "no weights: no file is named weights.npz and --weights names none")
    traces = [f"{r} ({o.name}.npz, a {o.kind})" for r, o in roles.items() if o.kind != "TsGroup"]
    if traces:  # activity traces: no spikes to infer weights from
        raise s.refuse(what + f", and the units of {' and '.join(traces)} are activity, not "
                       "spike trains, so weights cannot be inferred from spikes either",
                       f"Name the TsdFrame of the measured weights with {_flag('weights')} "
                       f"NAME{hint}", (f"{_flag('weights')} {frames[0] if frames else 'NAME'}",))
    raise s.refuse(what,
                   f"Name the TsdFrame of the measured weights with {_flag('weights')} NAME"
                   f"{hint}, or infer them from the spikes with --weights-from spikes",
                   (f"{_flag('weights')} {frames[0]}",) if frames else ("--weights-from spikes",))


SYNAPSE_TABLES = ("synapses.csv", "synapses.tsv")
"""Default synapse tables of a session folder (``pre_unit``, ``post_unit``; row i =
weight column i), as ``to_pynapple(rec)["synapses"].to_csv(...)`` writes one."""


def _synapses(s: _Session, w: NpzObject, opt: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The (pre, post) unit ids of each weight column: the option's pairs or table file,
    else the weights' metadata ``pre_unit`` / ``post_unit``, else the folder's
    :data:`SYNAPSE_TABLES`."""
    given = opt.get("synapses")
    n = 1 if w.kind == "Tsd" else w.ids.size
    if given is None and {"pre_unit", "post_unit"} <= set(w.metadata):
        return w.metadata["pre_unit"], w.metadata["post_unit"]
    if given is None and s.main is None:
        given = next((t for t in SYNAPSE_TABLES if (s.folder / t).is_file()), None)
    if given is None:
        raise s.refuse(f"the weights ({w.path.name}, {n} column(s)) do not say which synapse "
                       "each column is (no metadata pre_unit, post_unit, no synapses.csv)",
                       f"Give them with {_flag('synapses')} PRE:POST,PRE:POST,... (unit ids, "
                       "in column order) or a table file", (f"{_flag('synapses')} PRE:POST,...",))
    pairs = synapse_pairs(given)
    if pairs is None and str(given).lower().endswith((".csv", ".tsv")):
        pairs = _synapse_table_file(s, str(given))
    if pairs is None:
        raise s.refuse(f"`synapses` must be PRE:POST,PRE:POST,... or a .csv/.tsv table of the "
                       f"session folder; got {given!r}", f"Give one PRE:POST pair per weight "
                       f"column with {_flag('synapses')}")
    if pairs[0].size != n:
        raise s.refuse(f"`synapses` ({given}) gives {pairs[0].size} synapse(s) for the {n} "
                       f"column(s) of {w.path.name}", f"Give one synapse per column with "
                       f"{_flag('synapses')}")
    return pairs


def _synapse_table_file(s: _Session, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``pre_unit`` and ``post_unit`` of a CSV/TSV table in the session folder."""
    import pandas as pd

    path = s.folder / name
    if not path.is_file():
        raise s.refuse(f"`synapses` names {name!r}, which is no file of {s.folder.name!r}",
                       f"Name a table in the folder with {_flag('synapses')}")
    try:
        table = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise FileFormatError(f"cannot read {name!r} of {s.folder.name!r} as a table: {err}. "
                              "Save it as CSV with columns pre_unit, post_unit.") from err
    missing = [c for c in ("pre_unit", "post_unit") if c not in table.columns]
    if missing:
        raise s.refuse(f"the synapse table {name} lacks the column(s) {', '.join(missing)} "
                       f"(it has {', '.join(map(str, table.columns))})",
                       "Give it columns pre_unit and post_unit, one row per weight column")
    return table["pre_unit"].to_numpy(), table["post_unit"].to_numpy()


def _selected_weights(s: _Session, w: NpzObject, pairs: tuple[np.ndarray, np.ndarray],
                      roles: dict[str, NpzObject]) -> tuple[NpzObject, Any]:
    """The weight columns whose synapse joins two selected units, and their synapse table;
    columns of other synapses are left out with a warning (none left: refused)."""
    import pandas as pd

    held = {r: {str(i) for i in _unit_ids(o)} for r, o in roles.items()}
    keep = np.array([str(unit_id(a)) in held["pre"] and str(unit_id(b)) in held["post"]
                     for a, b in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)],
                    dtype=bool)
    if not keep.any():
        named = [f"{unit_id(a)}:{unit_id(b)}" for a, b in zip(*pairs, strict=True)]
        raise s.refuse(f"no column of {w.path.name} is a synapse between the selected units "
                       f"(its synapses: {_few(named)})",
                       f"Select the units of these synapses with {_flag('pre_units')} and "
                       f"{_flag('post_units')}, or give the columns' synapses with "
                       f"{_flag('synapses')}", _synapse_flags(pairs))
    if not keep.all():
        out = [f"{unit_id(a)}:{unit_id(b)}" for a, b, k in zip(*pairs, keep, strict=True)
               if not k]
        warn_caller(f"{w.path.name}: {len(out)} of {keep.size} weight columns are synapses "
                    f"of units that were not selected ({_few(out)}); they are left out.",
                    UserWarning)
        w = w.columns_at(np.flatnonzero(keep).tolist())
    table = pd.DataFrame({"pre_unit": np.asarray(pairs[0])[keep],
                          "post_unit": np.asarray(pairs[1])[keep]})
    return w, table


def _synapse_flags(pairs: tuple[np.ndarray, np.ndarray]) -> tuple[str, ...]:
    """``--pre-units`` / ``--post-units`` with the ids the synapses name on each side
    (none when a unit is on both)."""
    sides = [list(dict.fromkeys(str(unit_id(u)) for u in np.asarray(p).tolist()))
             for p in pairs]
    if set(sides[0]) & set(sides[1]):
        return ()
    return tuple(f"{_flag(r + '_units')} {','.join(ids)}" for r, ids in zip(_ROLES, sides,
                                                                            strict=True))


def _segments(s: _Session, opt: dict[str, Any]) -> NpzObject | None:
    choice = opt.get("segments")
    if choice is not None and str(choice).lower() == "none":
        return None
    if choice is not None:
        return s.get(choice, "segments", ("IntervalSet",))
    if s.main is None and s.has("epochs"):
        return s.get("epochs", "segments", ("IntervalSet",))
    return None


def _settings(s: _Session, opt: dict[str, Any]) -> dict[str, Any]:
    """``decay`` and ``bin_size``: the options, else the session's ``plastix.json``."""
    out = {k: opt.get(k) for k in ("decay", "bin_size")}
    path = s.folder / SETTINGS_FILE
    if s.main is None and path.is_file() and any(v is None for v in out.values()):
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise FileFormatError(f"cannot read {path.name!r} of {s.folder.name!r}: {err}. "
                                  "Fix or delete it (it holds only decay and bin_size), or "
                                  "pass --decay and --bin-size.") from err
        if not isinstance(saved, dict):
            raise FileFormatError(f"{path.name!r} of {s.folder.name!r} must hold a JSON "
                                  f"object such as {{\"decay\": 0.01, \"bin_size\": 0.01}}; "
                                  f"got {type(saved).__name__}. Fix or delete it, or pass "
                                  "--decay and --bin-size.")
        for k in out:
            if out[k] is None and saved.get(k) is not None:
                out[k] = _setting(path, s.folder.name, k, saved[k])
    return out


def _setting(path: Path, folder: str, key: str, value: Any) -> float:
    """One value of ``plastix.json``: a number (``decay`` >= 0 in 1/s, ``bin_size`` > 0
    in s), else refused naming the file, the key and the fix."""
    unit, least = {"decay": ("1/s", "a number >= 0"), "bin_size": ("s", "a number > 0")}[key]
    number = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and np.isfinite(value) and (value > 0 if key == "bin_size" else value >= 0))
    if not number:
        raise FileFormatError(f"{path.name!r} of {folder!r}: {key!r} must be {least} in "
                              f"{unit}; got {value!r}. Write it as a plain number (e.g. "
                              f"\"{key}\": 0.01), delete the key, or pass "
                              f"--{key.replace('_', '-')}.")
    return float(value)


def absent_weights(nap: Any, roles: dict[str, Any], epochs: Any) -> Any:
    """No weights measured: an empty weight frame at the start of the data (its time
    support the data's, so that pynapple sees a span, not one instant)."""
    spans = [epochs] if epochs is not None else [o.time_support for o in roles.values()]
    start = min(float(np.min(e.start)) for e in spans)
    end = max(float(np.max(e.end)) for e in spans)
    return nap.TsdFrame(t=np.array([start]), d=np.zeros((1, 0)),
                        time_support=nap.IntervalSet(start=start, end=max(end, start + 1.0)))


# ---------------------------------------------------------------- reading


def read_pynapple_session(path: str | os.PathLike, *, lazy: bool = False,
                          **options: Any) -> xr.Dataset:
    """A pynapple session folder (or one of its ``.npz`` files) as a record.

    Parameters
    ----------
    path : str or os.PathLike
        The folder, or a ``.npz`` file (then the default for both roles; the
        folder's other files are read only when an option names them).
    lazy : bool
        Bin spike trains only for the rows read (:func:`plastix.io.from_pynapple`).
    **options
        :data:`READ_OPTIONS`, described in :mod:`plastix.io.pynapple_files`.

    Returns
    -------
    xarray.Dataset
        The record (``attrs["weights"] = "absent"`` when read with
        ``weights_from="spikes"`` and no weights).

    Raises
    ------
    plastix._util.errors.MappingError
        When the session cannot be mapped: the message names what is missing, what
        the folder holds and the flag that maps it.
    """
    return read_session(session_objects(path), lazy=lazy, **options)


def read_session(s: _Session, *, lazy: bool = False, **options: Any) -> xr.Dataset:
    """:func:`read_pynapple_session` of a session already scanned (:func:`session_objects`;
    the objects it has read are not read again, e.g. by ``plastix inspect``)."""
    from plastix.io.pynapple import from_pynapple

    check_keywords("read_pynapple_session", options, list(READ_OPTIONS))
    if options.get("weights_from") is not None:
        check_choice("weights_from", options["weights_from"], ("spikes",))
    nap = require("pynapple")
    chosen = _roles(s, options)
    roles = {r: o.to_pynapple() for r, o in chosen.items()}
    seg = _segments(s, options)
    epochs = seg.to_pynapple() if seg is not None else None
    w = _weights(s, options, chosen)
    if w is None:
        weights, synapses = absent_weights(nap, roles, epochs), empty_synapses()
    else:
        w, synapses = _selected_weights(s, w, _synapses(s, w, options), chosen)
        weights = w.to_pynapple()
    settings = _settings(s, options)
    ds = from_pynapple(roles["pre"], roles["post"], weights, synapses, epochs,
                       settings["decay"], bin_size=settings["bin_size"], lazy=lazy,
                       source=options.get("source") or f"pynapple session {s.src.name}")
    if w is None:
        ds.attrs["weights"] = "absent"
    return ds


def empty_synapses() -> Any:
    import pandas as pd

    return pd.DataFrame({"pre_unit": np.zeros(0, np.int64), "post_unit": np.zeros(0, np.int64)})


def open_pynapple_session(path: str | os.PathLike, **options: Any) -> xr.Dataset:
    """:func:`read_pynapple_session` with spike trains binned when read (``lazy=True``)."""
    return read_pynapple_session(path, lazy=True, **options)


# ---------------------------------------------------------------- writing


def write_pynapple_session(record: xr.Dataset, folder: str | os.PathLike) -> Path:
    """Write a record as a pynapple session folder, atomically.

    The folder gets ``pre.npz``, ``post.npz`` (``TsGroup`` of the spike trains, or
    ``TsdFrame`` of the activity), ``weights.npz`` (``TsdFrame``, metadata
    ``pre_unit``, ``post_unit``, ``units``), ``epochs.npz`` (``IntervalSet``, one row
    per segment), each written by pynapple's ``.save()`` (:func:`plastix.io.to_pynapple`
    gives the objects), and :data:`SETTINGS_FILE` with the decay and bin width.
    :func:`read_pynapple_session` reads it back as the record (as
    ``from_pynapple(**to_pynapple(record))``).

    Parameters
    ----------
    record : xarray.Dataset
        The record.
    folder : str or os.PathLike
        A folder that does not exist yet (or an empty one): it is written beside it
        under a temporary name and renamed into place, so a failed write leaves
        nothing.

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    from plastix.io.pynapple import to_pynapple

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "a file" if not folder.is_dir() else "a folder that is not empty"
        raise FileExistsError(f"`folder` {str(folder)!r} is {what}; a session is written to a "
                              "new (or empty) folder only, never over files. Name another "
                              "folder.")
    objects = to_pynapple(record)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in ("pre", "post", "weights", "epochs"):
            objects[name].save(str(tmp / f"{name}.npz"))
        settings = {"decay": objects["decay"], "bin_size": objects["bin_size"],
                    "written_by": "plastix.io.write_pynapple_session"}
        (tmp / SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n")
        if folder.is_dir():
            folder.rmdir()  # empty: checked above
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
