"""``plastix inspect`` of a Kilosort / Phy spike-sorting folder
(:mod:`plastix.io.phy_files`).

:func:`inspect_phy_folder` lists the clusters and the cluster tables and reads the
spike trains as the estimate will; a Phy folder holds no weights, so they are inferred
(``--weights-from spikes``).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.errors import MappingError
from plastix.io.inspect_report import Inspection, _flag_value, _replace_flags
from plastix.io.inspect_review import _finish, _review
from plastix.io.nwb_scan import cli_flag


def inspect_phy_folder(path: Path, options: dict[str, Any]) -> Inspection:
    """What a Kilosort / Phy folder holds (clusters, cluster tables), mapped by ``options``
    (:func:`plastix.io.phy_files.read_phy_folder`'s); spike trains only, so the weights are
    inferred (``--weights-from spikes``)."""
    from plastix.io.phy_files import open_phy_folder, phy_folder

    units = phy_folder(path)
    ins = Inspection(path, "Phy folder (Kilosort / Phy spike sorting)")
    ins.found.append(units.describe())
    for name, values in units.metadata.items():
        distinct = ([f"{v:g}" for v in np.unique(values[np.isfinite(values)])]
                    if values.dtype.kind in "iuf" else sorted({str(v) for v in values.tolist()}))
        few = ", ".join(distinct[:6]) + (", ..." if len(distinct) > 6 else "")
        ins.found.append(f"cluster column {name}: {len(distinct)} value(s) ({few})")
    group = units.metadata.get("group")
    if group is not None:
        noise = sum(str(g).strip().lower() == "noise" for g in group.tolist())
        ins.found.append(f"{noise} cluster(s) labelled noise (group): left out unless named "
                         "by id")
    ins.found.append("no weights (spike trains only): they are inferred from the spikes")
    others = sorted(p.name for p in units.path.glob("*.npz"))
    if others:  # a pynapple object beside the sorting is read only when it is the path
        ins.found.append(f"also in the folder, not read with it: {', '.join(others)} (pass one "
                         "as the path to read it: plastix inspect "
                         f"{shlex.quote(str(units.path / others[0]))})")
    options = {**options, "weights_from": "spikes"}
    ins.flags += [f"{cli_flag(k)} {_flag_value(v)}"
                  for k, v in options.items() if v is not None and k != "source"]
    try:
        ds = open_phy_folder(path, **options)
    except MappingError as err:
        ins.missing.append(err.what)
        _replace_flags(ins, err.flags)
        return ins
    try:
        _finish(ins, _review(ds))
    finally:
        ds.close()
    return ins
