"""Lossless JSON packing of Neo annotations, and the NWB side channel of :mod:`plastix.io.neo`.

``neo.NWBIO`` keeps neither annotations nor array annotations, renames signals
and stores times in seconds.  :func:`nwb_pack` moves all of that into the NWB
file's ``notes`` (a JSON document after the marker ``"plastix-neo-pack:"``) and
renames objects to unique keys; :func:`nwb_unpack` rebuilds the original Block
from a Block read by NWBIO.  Arrays travel as base64 of zlib-compressed bytes.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import re
import uuid
import zlib
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from plastix._util.optional import import_neo, require

__all__ = ["arr_enc", "arr_dec", "enc", "dec", "nwb_pack", "nwb_unpack", "quiet", "quantities",
           "NWB_MARK", "loaded"]

NWB_MARK = "plastix-neo-pack:"


def quantities():
    """The ``quantities`` module that Neo uses for units (imported after Neo)."""
    import_neo()
    return require("quantities")


def arr_enc(arr: np.ndarray) -> dict[str, Any]:
    """An array as JSON: base64 of its zlib-compressed bytes, dtype and shape."""
    arr = np.ascontiguousarray(arr)
    return {"__nd__": base64.b64encode(zlib.compress(arr.tobytes())).decode("ascii"),
            "dtype": arr.dtype.str, "shape": list(arr.shape)}


def arr_dec(d: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`arr_enc`: a fresh, writable array."""
    raw = zlib.decompress(base64.b64decode(d["__nd__"]))
    return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()


def enc(v: Any) -> Any:
    """JSON-encode an annotation value, keeping arrays, quantities and datetimes."""
    pq = quantities()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, pq.Quantity):
        return {"__pq__": enc(np.asarray(v.magnitude)), "units": v.dimensionality.string}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "biufcUS":
            return arr_enc(v)
        return {"__ndobj__": [enc(x) for x in v.ravel().tolist()], "shape": list(v.shape)}
    if isinstance(v, datetime.datetime):
        return {"__datetime__": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"__date__": v.isoformat()}
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    if isinstance(v, dict):
        return {"__dict__": [[str(k), enc(x)] for k, x in v.items()]}
    return {"__str__": str(v)}


def dec(v: Any) -> Any:
    """Inverse of :func:`enc`."""
    pq = quantities()
    if isinstance(v, list):
        return [dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__nd__" in v:
        return arr_dec(v)
    if "__pq__" in v:
        return pq.Quantity(dec(v["__pq__"]), v["units"])
    if "__ndobj__" in v:
        out = np.empty(len(v["__ndobj__"]), dtype=object)
        out[:] = [dec(x) for x in v["__ndobj__"]]
        return out.reshape(v["shape"])
    if "__datetime__" in v:
        return datetime.datetime.fromisoformat(v["__datetime__"])
    if "__date__" in v:
        return datetime.date.fromisoformat(v["__date__"])
    if "__dict__" in v:
        return {k: dec(x) for k, x in v["__dict__"]}
    return v.get("__str__", v)


class _DropNeoNoise(logging.Filter):
    """Hide NWBIO's renaming and unit notices, which plastix's packing makes moot."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not ("signal name exists" in msg or "Can't handle unit" in msg
                    or "event name exists" in msg)


def quiet(func, *args):
    """Call ``func(*args)`` with NWBIO's renaming and unit notices filtered out."""
    filt, loggers = _DropNeoNoise(), [logging.getLogger(), logging.getLogger("Neo")]
    for lg in loggers:
        lg.addFilter(filt)
    try:
        return func(*args)
    finally:
        for lg in loggers:
            lg.removeFilter(filt)


_NWB_KEEP = ("session_start_time", "identifier", "session_description", "experimenter", "lab",
             "institution", "experiment_description", "session_id")


def _times_entry(obj: Any) -> dict[str, Any]:
    """Time unit of ``obj``, and its exact times when seconds would not give them back."""
    pq = quantities()
    t = np.asarray(obj.times.magnitude, dtype=float)
    back = (np.asarray(obj.times.rescale(pq.s).magnitude) * pq.s).rescale(obj.times.units)
    entry = {"time_units": obj.times.units.dimensionality.string}
    if not np.array_equal(np.asarray(back.magnitude), t):
        entry["times"] = arr_enc(t)
    return entry


def nwb_pack(b: Any) -> Any:
    """Move what NWBIO drops into ``notes`` (JSON); rename objects to unique keys.

    Modifies ``b`` in place (pass a copy) and returns it.
    """
    neo = import_neo()
    payload: dict[str, Any] = {"name": b.name, "description": b.description,
                               "annotations": enc(dict(b.annotations)), "segments": []}
    for i, seg in enumerate(b.segments):
        sp: dict[str, Any] = {"name": seg.name, "description": seg.description,
                              "annotations": enc(dict(seg.annotations)), "signals": [],
                              "spiketrains": []}
        for j, sig in enumerate(chain(seg.analogsignals, seg.irregularlysampledsignals)):
            e = {"name": sig.name, "description": sig.description, "units": enc(sig.units),
                 "annotations": enc(dict(sig.annotations)),
                 "array_annotations": enc(dict(sig.array_annotations))}
            if isinstance(sig, neo.AnalogSignal):
                e["t_start"], e["sampling_period"] = enc(sig.t_start), enc(sig.sampling_period)
            else:
                e.update(_times_entry(sig))
            sp["signals"].append(e)
            sig.name, sig.annotations, sig.array_annotations = f"sig{j}", {}, {}
        for j, st in enumerate(seg.spiketrains):
            e = {"name": st.name, "description": st.description, "t_start": enc(st.t_start),
                 "t_stop": enc(st.t_stop), "annotations": enc(dict(st.annotations)),
                 "array_annotations": enc(dict(st.array_annotations))}
            e.update(_times_entry(st))
            sp["spiketrains"].append(e)
            st.name, st.annotations, st.array_annotations = f"st{j}", {}, {}
        payload["segments"].append(sp)
        seg.name, seg.annotations = f"segment{i}", {}
    keep = {k: v for k, v in b.annotations.items() if k in _NWB_KEEP and isinstance(
        v, (str, datetime.datetime))}
    start = keep.get("session_start_time") or b.rec_datetime
    if not isinstance(start, datetime.datetime) or start.tzinfo is None:
        start = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    keep["session_start_time"] = start
    keep.setdefault("identifier", uuid.uuid4().hex)
    keep.setdefault("session_description", b.description or "plastix record")
    b.annotations = dict(keep, notes=NWB_MARK + json.dumps(payload))
    b.name = b.name or "block"
    return b


def nwb_unpack(b: Any, values: Callable[[Any, dict[str, Any]], Any] | None = None) -> Any:
    """Inverse of :func:`nwb_pack` for a block read by NWBIO; other blocks pass through.

    ``values(signal, entry)``, if given, gives the values of each signal read by NWBIO
    (a loaded signal or a lazy proxy) from its packed ``entry``; default: the
    signal's magnitudes.  Spike trains read lazily are loaded.
    """
    neo = import_neo()
    values = values or (lambda f, e: np.asarray(f.magnitude))
    notes = b.annotations.get("notes")
    if not (isinstance(notes, str) and notes.startswith(NWB_MARK)):
        return b
    payload = json.loads(notes[len(NWB_MARK):])
    out = neo.Block(name=payload["name"], description=payload["description"],
                    file_origin=b.file_origin)
    out.annotate(**dec(payload["annotations"]))
    by_name = {seg.name: seg for seg in b.segments}
    for i, sp in enumerate(payload["segments"]):
        src = by_name.get(f"segment{i}")
        seg = neo.Segment(name=sp["name"], description=sp["description"])
        seg.annotate(**dec(sp["annotations"]))
        out.segments.append(seg)
        sigs = {} if src is None else {
            int(m.group(1)): s for s in chain(src.analogsignals, src.irregularlysampledsignals)
            if (m := re.search(r"\bsig(\d+)\b", str(s.name)))}
        trains = {} if src is None else {str(s.name): s for s in src.spiketrains}
        if len(sigs) != len(sp["signals"]) or len(trains) != len(sp["spiketrains"]):
            raise ValueError(
                f"segment {i} of this NWB file holds {len(sigs)} signals and {len(trains)} spike "
                f"trains but plastix wrote {len(sp['signals'])} and {len(sp['spiketrains'])}; "
                "the file was edited after writing. Read it with neo.io.NWBIO directly.")
        for j, e in enumerate(sp["signals"]):
            f, units = sigs[j], dec(e["units"])
            kw = {"units": units, "name": e["name"], "description": e["description"],
                  "array_annotations": dec(e["array_annotations"])}
            if "sampling_period" in e:
                new = neo.AnalogSignal(values(f, e), t_start=dec(e["t_start"]),
                                       sampling_period=dec(e["sampling_period"]), **kw)
                seg.analogsignals.append(new)
            else:
                f = loaded(f)
                new = neo.IrregularlySampledSignal(_packed_times(f, e), np.asarray(f.magnitude),
                                                   **kw)
                seg.irregularlysampledsignals.append(new)
            new.annotate(**dec(e["annotations"]))
        for j, e in enumerate(sp["spiketrains"]):
            st = neo.SpikeTrain(_packed_times(loaded(trains[f"st{j}"]), e),
                                t_start=dec(e["t_start"]),
                                t_stop=dec(e["t_stop"]), name=e["name"],
                                description=e["description"],
                                array_annotations=dec(e["array_annotations"]))
            st.annotate(**dec(e["annotations"]))
            seg.spiketrains.append(st)
        if src is not None:
            seg.events = [loaded(x) for x in src.events]
            seg.epochs = [loaded(x) for x in src.epochs]
    out.create_relationship()
    return out


def loaded(obj: Any) -> Any:
    """A Neo object read lazily (a proxy, ``load()``) read; a loaded one unchanged."""
    return obj.load() if callable(getattr(obj, "load", None)) else obj


def _packed_times(obj: Any, entry: dict[str, Any]) -> Any:
    pq = quantities()
    units = pq.Quantity(1.0, entry["time_units"]).units
    if "times" in entry:
        return arr_dec(entry["times"]) * units
    return obj.times.rescale(units)
