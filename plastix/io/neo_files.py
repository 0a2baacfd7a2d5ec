"""``neo.Block`` files: one reader and one writer per Neo format (NIX, NWB, pickle).

The format table (:mod:`plastix.io.formats`) points at these; users call
:func:`plastix.io.read_block` and :func:`plastix.io.write_block`, which choose
the format by the file's suffix, check the file and write atomically.  The
writers may modify the block they are given (pass a copy).  Readers return all
blocks of the file, fully loaded; failures of the underlying Neo IO become one
:class:`~plastix._util.errors.FileFormatError`.
"""

from __future__ import annotations

import os
import shlex
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.optional import import_neo
from plastix.io.lazy import MatrixColumns, placeholder
from plastix.io.neo_pack import NWB_MARK, loaded, nwb_pack, nwb_unpack, quiet
from plastix.io.neo_parse import LAZY
from plastix.io.probe import nwb_notes, reading

__all__ = ["NIX", "NWB", "PICKLE", "read_nix", "open_nix", "write_nix", "read_nwb", "open_nwb",
           "write_nwb",
           "read_pickle_unchecked", "write_pickle"]

NIX, NWB, PICKLE = "NIX", "NWB", "pickle"
"""The formats' names in messages."""


def read_nix(path: str | os.PathLike) -> list[Any]:
    """All blocks of a NIX file (``neo.NixIO``, read-only)."""
    neo = import_neo()
    with reading(path, NIX), neo.io.NixIO(str(path), mode="ro") as io:
        return io.read_all_blocks()


def open_nix(path: str | os.PathLike) -> tuple[list[Any], Any]:
    """All blocks of a NIX file with their rate signals left in the file, and what to
    close when done (:func:`plastix.io.nix_lazy.open_nix_lazily`, read with nixio), and
    the Neo groups of their spike trains (:func:`_nix_groups`: groups named ``pre`` /
    ``post`` may give the trains' roles)."""
    from plastix.io.nix_lazy import open_nix_lazily

    with reading(path, NIX):
        blocks, close = open_nix_lazily(path)
        try:
            _nix_groups(path, blocks)
        except BaseException:
            close()
            raise
        return blocks, close


def _nix_groups(path: str | os.PathLike, blocks: list[Any]) -> None:
    """Add to each lazily read block the Neo groups (``Block.groups``) of its spike trains,
    as ``neo.NixIO`` reads them: each NIX group of type ``neo.group``, named by its Neo name,
    holding the block's trains it lists (matched by their NIX names)."""
    import nixio

    neo = import_neo()
    nix = nixio.File.open(str(path), nixio.FileMode.ReadOnly)
    try:
        for nb, block in zip(nix.blocks, blocks, strict=False):
            trains = {st.annotations.get("nix_name"): st
                      for seg in block.segments for st in seg.spiketrains}
            for grp in nb.groups:
                if grp.type != "neo.group":
                    continue
                meta = grp.metadata
                name = meta["neo_name"] if meta is not None and "neo_name" in meta else grp.name
                held = [trains[m.name] for m in grp.multi_tags if m.name in trains]
                if held:
                    block.groups.append(neo.Group(objects=held, name=str(name)))
    finally:
        nix.close()


def write_nix(block: Any, path: str | os.PathLike) -> None:
    """Write one block to a new NIX file (``neo.NixIO``; it annotates the block)."""
    neo = import_neo()
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_block(block)


def _standard_nwb(path: Path, err: BaseException) -> tuple[str, str] | None:
    notes = nwb_notes(path)
    if notes is None or notes.startswith(NWB_MARK):
        return None  # unreadable, or written by plastix: a damaged file (the generic cause)
    text = " ".join(str(err).split())[:120]
    return ("it is a standard NWB file (written by pynwb or another tool), not one in "
            "plastix's Neo convention, and neo.NWBIO cannot read it "
            f"({type(err).__name__}: {text})",
            "Read it as a record with plastix.io.load_record (plastix's standard-NWB "
            f"reader), and run `plastix inspect {shlex.quote(str(path))}` to see what "
            "plastix finds in it")


def read_nwb(path: str | os.PathLike) -> list[Any]:
    """All blocks of an NWB file (``neo.NWBIO``), with what :func:`write_nwb` packed restored."""
    neo = import_neo()
    with reading(path, NWB, _standard_nwb):
        io = neo.io.NWBIO(str(path), mode="r")
    try:
        with reading(path, NWB, _standard_nwb):
            raw = quiet(io.read_all_blocks)
        return [nwb_unpack(b) for b in raw]
    finally:
        io.close()


def open_nwb(path: str | os.PathLike) -> tuple[list[Any], Any] | None:
    """All blocks of an NWB file in plastix's Neo convention with their rate signals left
    in the file, and what to close when done; None for another NWB file.

    ``neo.NWBIO``'s lazy mode cannot read these files (neo 0.14: its signal proxies
    cannot be put in a Segment), so the layout ``neo.NWBIO`` writes is read with
    pynwb: one ``TimeSeries`` per signal (its block and segment in ``comments``, as
    JSON), one row of the ``Units`` table per spike train (columns ``_name``,
    ``segment``, ``block``), and what plastix packed in ``notes``
    (:func:`plastix.io.neo_pack.nwb_unpack`).  Every object is loaded but the
    ``pre_rate`` / ``post_rate`` signals, which hold no values (a read-only
    broadcast of zeros of their shape) and carry their series' data as
    :class:`plastix.io.lazy.MatrixColumns` in the attribute
    :data:`plastix.io.neo_parse.LAZY`; :func:`plastix.io.neo.from_neo` then builds
    a record whose activity is read when indexed.
    """
    from plastix.io.nwb_scan import open_nwb as open_pynwb

    io = open_pynwb(path)
    try:
        with reading(path, NWB, _standard_nwb):
            nwb = io.read()
            stubs = _neo_layout(nwb, str(path))
            blocks = None if stubs is None else [_unpack_lazily(b) for b in stubs]
    except BaseException:
        io.close()
        raise
    if blocks is None:
        io.close()
        return None
    return blocks, io.close


class _Stored:
    """A signal or spike train of a Neo-written NWB file, read on ``load()``: its
    ``magnitude`` (values as stored) and ``times`` (s)."""

    def __init__(self, name: str, series: Any = None, times: Any = None):
        self.name, self.series, self._times = name, series, times
        self.shape = None if series is None else (
            int(series.data.shape[0]), int(np.prod(series.data.shape[1:], dtype=int)))

    def load(self) -> Any:
        from types import SimpleNamespace

        from plastix.io.neo_pack import quantities

        s = quantities().s
        if self.series is None:  # a spike train: its times
            return SimpleNamespace(times=np.asarray(self._times, dtype=float) * s,
                                   magnitude=np.zeros(0))
        data = np.asarray(self.series.data[:], dtype=float).reshape(self.shape)
        ts = self.series
        if ts.rate:
            times = ts.starting_time + np.arange(self.shape[0]) / ts.rate
        else:
            times = np.asarray(ts.timestamps[:], dtype=float)
        return SimpleNamespace(times=times * s, magnitude=data)


def _neo_layout(nwb: Any, origin: str) -> list[Any] | None:
    """The blocks of a Neo-written NWB file as :func:`nwb_unpack` reads them (their objects
    :class:`_Stored`), or None when the file is not plastix's (no packed ``notes``) or
    holds what this reader does not (events, epochs)."""
    import json
    from types import SimpleNamespace

    from pynwb.misc import AnnotationSeries

    notes = nwb.notes if isinstance(nwb.notes, str) else ""
    if not notes.startswith(NWB_MARK) or nwb.epochs is not None:
        return None
    blocks: dict[str, Any] = {}

    def segment(block: str, name: str) -> Any:
        b = blocks.setdefault(block, SimpleNamespace(
            annotations={"notes": notes}, file_origin=origin, segments={}))
        return b.segments.setdefault(name, SimpleNamespace(
            name=name, analogsignals=[], irregularlysampledsignals=[], spiketrains=[],
            events=[], epochs=[]))

    for group in (nwb.acquisition, nwb.stimulus):
        for ts in group.values():
            try:
                where = json.loads(ts.comments)
                seg = segment(str(where["block"]), str(where["segment"]))
            except (TypeError, ValueError, KeyError):
                return None
            if isinstance(ts, AnnotationSeries):
                return None
            kind = seg.analogsignals if ts.rate else seg.irregularlysampledsignals
            kind.append(_Stored(ts.name, series=ts))
    units = nwb.units
    if units is not None and len(units):
        cols = {c: units[c][:] for c in ("_name", "segment", "block")}
        for i in range(len(units)):
            segment(str(cols["block"][i]), str(cols["segment"][i])).spiketrains.append(
                _Stored(str(cols["_name"][i]), times=units.get_unit_spike_times(i)))
    for b in blocks.values():
        b.segments = list(b.segments.values())
    return list(blocks.values())


def _unpack_lazily(block: Any) -> Any:
    """:func:`nwb_unpack` of a block of :func:`_neo_layout`, its rate signals left in the
    file."""
    made: list[Any] = []  # per AnalogSignal, in the order nwb_unpack builds them

    def values(sig: Any, entry: dict[str, Any]) -> Any:
        lazy = entry["name"] in ("pre_rate", "post_rate")
        made.append(MatrixColumns(sig.series.data) if lazy else None)
        return placeholder(sig.shape) if lazy else loaded(sig).magnitude

    out = nwb_unpack(block, values)
    signals = [sig for seg in out.segments for sig in seg.analogsignals]
    for sig, cols in zip(signals, made, strict=True):
        if cols is not None:
            setattr(sig, LAZY, cols)
    return out


def write_nwb(block: Any, path: str | os.PathLike) -> None:
    """Write one block to a new NWB file, packing what NWBIO drops into ``notes``."""
    neo = import_neo()
    with warnings.catch_warnings():  # NWBIO calls pynwb.validate positionally
        warnings.filterwarnings("ignore", message="validate: Using positional",
                                category=FutureWarning)
        quiet(neo.io.NWBIO(str(path), mode="w").write_block, nwb_pack(block))


def read_pickle_unchecked(path: str | os.PathLike) -> list[Any]:
    """Unpickle a block (``neo.PickleIO``).  This runs any code the file holds.

    Only :func:`plastix.io.read_block` and :func:`plastix.io.load_record` call
    it, and only with ``allow_pickle=True``.
    """
    neo = import_neo()
    with reading(path, PICKLE):
        return [neo.io.PickleIO(str(path)).read_block()]


def write_pickle(block: Any, path: str | os.PathLike) -> None:
    """Pickle one block (``neo.PickleIO``)."""
    import_neo().io.PickleIO(str(path)).write_block(block)
