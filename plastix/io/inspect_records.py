"""``plastix inspect`` of a file read as a plastix record by its format's reader: NetCDF,
NIX, pickle, and NWB in plastix's Neo convention (the formats without an inspector of
their own).

:func:`_inspect_record` reads the record (whole when its activity is small, else lazily,
:func:`_open_to_inspect`), or a Neo-convention file of spike trains without weights
(:func:`_spikes_only`), and reviews it (:mod:`plastix.io.inspect_review`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from plastix._util.errors import SchemaError
from plastix.io.files import load_record, open_record
from plastix.io.inspect_report import Inspection, _flag_value
from plastix.io.inspect_review import (
    _ACTIVITY,
    _activity_fits,
    _finish,
    _review,
    describe_record,
)
from plastix.io.lazy import placeholder
from plastix.record import validate_record


def _inspect_record(path: Path, fmt: Any, label: str, allow_pickle: bool,
                    options: dict[str, Any]) -> Inspection:
    """:func:`inspect_file` of a format without an inspector of its own: the record read."""
    ins = Inspection(path, label)
    inferred = options.get("weights_from") == "spikes"
    if inferred:
        ins.flags.append("--weights-from spikes")
        if fmt.read_blocks is None and "weights_from" not in fmt.lazy_options:
            options = {k: v for k, v in options.items() if k != "weights_from"}
    decay = options.get("decay")
    if decay is not None:  # the estimator's option, whatever the reader takes
        ins.flags.append(f"--decay {_flag_value(decay)}")
        options = {k: v for k, v in options.items() if k != "decay"}
    try:
        ds, lazy = _open_to_inspect(path, fmt, allow_pickle, options)
    except SchemaError as err:
        ds, lazy = _spikes_only(path, fmt, allow_pickle, options), False
        if ds is None:
            ins.found.append("a file that does not follow the Neo convention (the README's "
                             "section \"Your own data: the Neo convention\")"
                             if fmt.read_blocks is not None else
                             "a record that does not follow plastix's record layout (the "
                             "README's section \"The record\")")
            ins.missing.append(str(err))
            return ins
        ins.found.append("spike trains of pre and post units and no measured weights (no "
                         "signal named 'weight'): the weights can be inferred from the spikes")
        ins.flags.append("--weights-from spikes")
    ins.found.append(f"a plastix record from {ds.attrs.get('source', 'unknown')!r}")
    try:
        if decay is not None:
            ds = ds.assign(decay=((), float(decay), ds["decay"].attrs))
        desc = describe_record(ds) + (" (activity values are checked as the estimator reads "
                                      "them)" if lazy else "")
        _finish(ins, _review(ds, desc, inferred=inferred, any_size=lazy))
        _spikes_for_inference(ins, ds, inferred)
    finally:
        ds.close()
    if allow_pickle:
        ins.flags.insert(0, "--allow-pickle")
    return ins


def _spikes_for_inference(ins: Inspection, ds: xr.Dataset, inferred: bool) -> None:
    """``--weights-from spikes`` on a record without spike trains of both roles: what is
    missing, and the fix (the estimate would refuse it)."""
    lacking = [r for r in ("pre", "post") if f"{r}_spike_time" not in ds.variables]
    if not inferred or not lacking:
        return
    ins.missing.append(f"spike trains of the {' and '.join(lacking)}synaptic units: "
                       "--weights-from spikes infers the weights from spike trains, and this "
                       "record's activity is rates or traces")
    ins.fix = "drop --weights-from spikes (the record's measured weights are then used)"
    ins.ready = False


def _open_to_inspect(path: Path, fmt: Any, allow_pickle: bool, options: dict[str, Any]
                     ) -> tuple[xr.Dataset, bool]:
    """The record of ``path`` and whether it is open lazily: read whole and validated
    (:func:`load_record`) when its activity is small (:func:`_activity_fits`) or the
    format cannot open it lazily; else open lazily (:func:`open_record`: a 1 GB NetCDF
    record takes memory for its weights and spikes, not for its activity), its layout
    validated with stand-ins for the activity, whose values the estimator checks as it
    streams them.  The caller closes it."""
    if fmt.open_lazy is None or not set(options) <= set(fmt.lazy_options):
        return load_record(path, allow_pickle=allow_pickle, **options), False
    ds = open_record(path, allow_pickle=allow_pickle, **options)
    if all(v in ds and ds[v].variable._in_memory for v in _ACTIVITY):
        return ds, False  # the format read it whole (as load_record does)
    if any(v not in ds for v in _ACTIVITY) or _activity_fits(ds):
        ds.close()
        return load_record(path, allow_pickle=allow_pickle, **options), False
    try:
        validate_record(ds.assign({v: xr.Variable(ds[v].dims, placeholder(ds[v].shape),
                                                  ds[v].attrs) for v in _ACTIVITY}),
                        stage=f"inspect({path.name})")
    except BaseException:
        ds.close()
        raise
    return ds, True


def _spikes_only(path: Path, fmt: Any, allow_pickle: bool, options: dict[str, Any]
                 ) -> xr.Dataset | None:
    """The record of a Neo-convention file of spike trains without weights, else None."""
    if fmt.read_blocks is None or "weights_from" in options:
        return None
    try:
        ds = load_record(path, allow_pickle=allow_pickle, weights_from="spikes", **options)
    except SchemaError:
        return None
    have = all(f"{r}_spike_time" in ds for r in ("pre", "post"))
    return ds if have and ds.attrs.get("weights") == "absent" else None
