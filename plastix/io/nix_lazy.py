"""A NIX file in Neo's convention read with its rate signals left in the file.

``neo.NixIO`` reads every DataArray whole and has no lazy mode, and Neo's lazy NIX
reader (``neo.io.NixIOFr``, on ``NIXRawIO``) drops irregularly sampled signals
(plastix's weights) and signal names.  So the layout ``neo.NixIO`` writes is read
here with nixio's public API: a block per NIX block, a Segment per group of type
``neo.segment``; a signal per run of DataArrays ``<name>.<channel>`` of type
``neo.analogsignal`` or ``neo.irregularlysampledsignal``; a SpikeTrain per
MultiTag of type ``neo.spiketrain``; names, annotations and array annotations from
each object's metadata section (decoded with ``neo.io.nixio``'s public helpers).
Every value is read but those of the ``pre_rate`` / ``post_rate`` signals, whose
channels are read by rows through h5py (the DataArray's ``data`` dataset, by the
NIX file layout ``data/<block>/data_arrays/<array>/data``) only when indexed.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np

from plastix._util.optional import import_neo
from plastix.io.lazy import Columns, placeholder
from plastix.io.neo_parse import LAZY

__all__ = ["open_nix_lazily"]

_SIGNALS = ("neo.analogsignal", "neo.irregularlysampledsignal")
_LAZY_NAMES = ("pre_rate", "post_rate")


def open_nix_lazily(path: str | os.PathLike) -> tuple[list[Any], Any]:
    """All blocks of a NIX file (Neo's convention) with their rate signals left in the
    file, and what to close when done.

    Each ``pre_rate`` / ``post_rate`` AnalogSignal holds no values (a read-only
    broadcast of zeros of its shape) and carries its channels as
    :class:`plastix.io.lazy.Columns` in the attribute
    :data:`plastix.io.neo_parse.LAZY`; :func:`plastix.io.neo.from_neo` then builds a
    record whose activity is read when indexed.  Failures are the caller's to
    translate (:func:`plastix.io.probe.reading`).
    """
    import h5py
    import nixio

    nix = nixio.File.open(str(path), nixio.FileMode.ReadOnly)
    h5 = None
    try:
        h5 = h5py.File(str(path), "r")
        blocks = [_block(b, h5) for b in nix.blocks]
    except BaseException:
        if h5 is not None:
            h5.close()
        raise
    finally:
        nix.close()
    return blocks, h5.close


def _attrs(obj: Any) -> dict[str, Any]:
    """Name, description, annotations and array annotations of a NIX object's metadata
    (Neo's encoding: one property each; ``neo_name`` is the name)."""
    import nixio
    from neo.io import nixio as neo_nix

    out: dict[str, Any] = {"description": neo_nix.stringify(obj.definition)}
    arrays: dict[str, Any] = {}
    if obj.metadata is not None:
        for prop in obj.metadata.inherited_properties():
            values: Any = list(prop.values)
            if not values:
                values = [] if prop.definition == neo_nix.EMPTYANNOTATION else (
                    "" if prop.data_type == nixio.DataType.String else values)
            elif len(values) == 1:
                values = values[0]
            if prop.unit:
                values = neo_nix.create_quantity(values, prop.unit)
            values = neo_nix.dt_from_nix(values, prop.definition)
            (arrays if prop.type == neo_nix.ARRAYANNOTATION else out)[prop.name] = values
    out["name"] = neo_nix.stringify(out.pop("neo_name", None))
    out["nix_name"] = obj.name
    if arrays:
        out["array_annotations"] = arrays
    return out


def _block(nb: Any, h5: Any) -> Any:
    neo = import_neo()
    block = neo.Block(**_attrs(nb))
    for grp in nb.groups:
        if grp.type != "neo.segment":
            continue  # Neo groups and views: not part of plastix's convention
        seg = neo.Segment(**_attrs(grp))
        runs: OrderedDict[str, list[Any]] = OrderedDict()
        for da in grp.data_arrays:
            if da.type in _SIGNALS:
                runs.setdefault(da.name.rsplit(".", 1)[0], []).append(da)
        for das in runs.values():
            sig = _signal(nb, das, h5)
            kind = seg.analogsignals if das[0].type == _SIGNALS[0] else (
                seg.irregularlysampledsignals)
            kind.append(sig)
        for mt in grp.multi_tags:
            if mt.type == "neo.spiketrain":
                seg.spiketrains.append(_spiketrain(mt))
        block.segments.append(seg)
    block.check_relationships()
    return block


def _time_dim(da: Any) -> Any:
    return next(d for d in da.dimensions if getattr(d, "label", None) == "time")


def _signal(nb: Any, das: list[Any], h5: Any) -> Any:
    """The AnalogSignal or IrregularlySampledSignal of one run of DataArrays."""
    from neo.io import nixio as neo_nix

    neo = import_neo()
    attrs = _attrs(das[0])
    attrs["nix_name"] = das[0].metadata.name if das[0].metadata is not None else attrs[
        "nix_name"]
    unit, dim = das[0].unit, _time_dim(das[0])
    lazy = _lazy_columns(nb, das, h5) if attrs.get("name") in _LAZY_NAMES else None
    if lazy is not None:
        values = placeholder((int(das[0].shape[0]), len(das)))
    else:
        values = np.array([d[:] for d in das]).T
    if das[0].type == _SIGNALS[1]:
        times = neo_nix.create_quantity(dim.ticks, dim.unit)
        return neo.IrregularlySampledSignal(times, neo_nix.create_quantity(values, unit),
                                            **attrs)
    period = neo_nix.create_quantity(dim.sampling_interval, dim.unit)
    t_start = attrs.pop("t_start", None)
    if t_start is None:
        t_start = neo_nix.create_quantity(dim.offset, dim.unit)
    sig = neo.AnalogSignal(neo_nix.create_quantity(values, unit), sampling_period=period,
                           t_start=t_start, **attrs)
    if lazy is not None:
        setattr(sig, LAZY, lazy)
    return sig


def _lazy_columns(nb: Any, das: list[Any], h5: Any) -> Columns | None:
    """The HDF5 datasets of a signal's channels, read by rows; None when NIX transforms
    the stored values (polynomial, origin) or the layout is not the one expected: the
    signal is then read whole."""
    import h5py

    # no chunk cache: one dataset per channel and segment, and HDF5's default (1 MiB
    # each) would keep up to the whole signal.  Set on each dataset: HDF5 shares one
    # file's settings among its handles, so those given when opening may not apply.
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(0, 0, 1.0)
    cols = []
    for da in das:
        if da.polynom_coefficients or da.expansion_origin is not None or len(da.shape) != 1:
            return None
        grp = h5.get(f"data/{nb.name}/data_arrays/{da.name}")
        if not isinstance(grp, h5py.Group) or not isinstance(grp.get("data"), h5py.Dataset):
            return None
        dset = h5py.Dataset(h5py.h5d.open(grp.id, b"data", dapl=dapl))
        if dset.shape != tuple(da.shape):
            return None
        cols.append(dset)
    return Columns(cols)


def _spiketrain(mt: Any) -> Any:
    from neo.io import nixio as neo_nix

    neo = import_neo()
    times = neo_nix.create_quantity(mt.positions[:], mt.positions.unit)
    return neo.SpikeTrain(times=times, **_attrs(mt))
