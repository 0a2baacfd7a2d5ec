"""``plastix inspect`` of a pynapple session: a folder of ``.npz`` files saved by
pynapple, or one of them (:mod:`plastix.io.pynapple_files`).

:func:`inspect_pynapple_session` lists the objects, reads the session as the estimate
will, and, when it holds no ``weights.npz``, reviews it with a TsdFrame that may hold
the weights (``--weights FRAME``) or as spike trains whose weights are inferred
(``--weights-from spikes``).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import xarray as xr

from plastix._util.errors import FileFormatError, MappingError, UnsafeFileError
from plastix.io.inspect_report import Inspection, _flag_value, _replace_flags
from plastix.io.inspect_review import _finish, _review
from plastix.io.nwb_scan import cli_flag


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
    ins.found.insert(at, f"a TsdFrame or Tsd that may hold the weights (no file is named "
                     "weights.npz):"
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
