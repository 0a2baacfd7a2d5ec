"""Kilosort / Phy output folders: sorted spike trains as a record (no weights measured).

A spike-sorted recording is most often kept as the folder Kilosort writes and
Phy curates: ``spike_times.npy`` (sample indices), ``spike_clusters.npy`` (the
curated cluster of each spike; ``spike_templates.npy`` before curation),
``params.py`` (``sample_rate``) and tab-separated cluster tables
(``cluster_group.tsv``: ``good`` / ``mua`` / ``noise``; ``cluster_info.tsv``:
``depth``, ``ch``, ``fr``, ``KSLabel``...; one ``cluster_LABEL.tsv`` per label
added in Phy).  :func:`read_phy_folder` makes each cluster a unit (its id the
cluster id, times in s) and every column of the cluster tables its metadata, so
the roles are chosen as in a pynapple session: ``pre_units`` / ``post_units``
as ids or filters (``depth<1500``, ``group=good``), or a cluster table with a
``role`` column (Phy: ``:label role pre``).  Clusters Phy labelled ``noise``
(``group``) are left out unless named by id.

Such a folder holds no weights, so it is read with ``weights_from="spikes"``
(``plastix estimate FOLDER --weights-from spikes``, ``plastix infer-weights
FOLDER``): the weights are inferred (:func:`plastix.estimate.infer_weights`).

Nothing in the folder runs: ``.npy`` files are read with ``allow_pickle=False``
and ``params.py`` is parsed, never executed (each ``name = value`` line whose
value is a Python literal, :func:`ast.literal_eval`).  Neo's ``PhyIO`` reads the
same folders, but builds one mask over all spikes per cluster (clusters × spikes
work: 8× slower on 300 clusters and 5.4 M spikes, ``benchmarks/phy_folder.py``)
and refuses the ``(n, 1)`` ``spike_times.npy`` Kilosort 2 and 3 write; plastix
needs only the trains and the tables.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import FileFormatError, MappingError, check_choice
from plastix._util.optional import require
from plastix._util.validate import check_keywords
from plastix._util.warn import warn_caller
from plastix.io.nwb_scan import parse_units
from plastix.io.pynapple_files import (
    absent_weights,
    check_one_role,
    empty_synapses,
    select_units,
    selection_fix,
)
from plastix.io.pynapple_npz import NpzObject

__all__ = ["READ_OPTIONS", "PhyFolder", "read_phy_folder", "open_phy_folder", "phy_folder",
           "is_phy_path"]

READ_OPTIONS = ("pre_units", "post_units", "weights_from", "bin_size", "decay", "source")
"""Options of :func:`read_phy_folder`."""

_TIMES, _CLUSTERS, _TEMPLATES, _PARAMS = ("spike_times.npy", "spike_clusters.npy",
                                          "spike_templates.npy", "params.py")
_FIRST_TABLES = ("cluster_group.tsv", "cluster_groups.csv", "cluster_info.tsv")
# cluster_groups.csv: older Phy's labels (tab-separated despite its suffix)
_LABEL = "Phy folder"


def is_phy_path(path: str | os.PathLike) -> bool | None:
    """Whether ``path`` is a Phy folder (it holds ``spike_times.npy``) or a ``.npy`` file."""
    path = Path(path)
    if path.is_dir():
        return (path / _TIMES).is_file()
    try:
        with open(path, "rb") as f:
            return f.read(6) == b"\x93NUMPY"
    except OSError:
        return None


def _params(folder: Path) -> tuple[dict[str, Any], dict[str, tuple[int, str]]]:
    """The literal values of ``params.py`` (``name = value`` lines), never executed, and the
    ``name = value`` lines whose value is no literal (an expression, a call), as their line
    number and text, for the message that asks for the number.  A UTF-8 BOM (Windows
    Notepad) is not part of the first name."""
    path = folder / _PARAMS
    if not path.is_file():
        raise FileFormatError(f"cannot read {folder.name!r} as a {_LABEL}: it has no "
                              f"{_PARAMS} (Kilosort writes one with sample_rate). Add a line "
                              "`sample_rate = 30000.0` (your rate in Hz) in a params.py.")
    out: dict[str, Any] = {}
    skipped: dict[str, tuple[int, str]] = {}
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for n, line in enumerate(text.splitlines(), start=1):
        name, eq, value = line.partition("=")
        if not eq or not name.strip().isidentifier():
            continue
        key = name.strip().lower()
        try:
            with warnings.catch_warnings():  # 'D:\data' in a path: the text is kept as is
                warnings.filterwarnings("ignore", message="invalid escape sequence",
                                        category=SyntaxWarning)
                warnings.filterwarnings("ignore", message="invalid escape sequence",
                                        category=DeprecationWarning)
                out[key] = ast.literal_eval(value.strip())
            skipped.pop(key, None)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            skipped[key] = (n, line.strip())  # not a literal: never evaluated
    return out, skipped


def _no_rate(folder: Path, rate: Any, line: tuple[int, str] | None) -> FileFormatError:
    """The refusal of a ``params.py`` without a positive ``sample_rate``, quoting the line
    that gives it as an expression (which plastix does not run)."""
    head = f"cannot read {folder.name!r} as a {_LABEL}: {_PARAMS} gives no positive sample_rate"
    fix = "`sample_rate = 30000.0` (your rate in Hz)"
    if line is None:
        return FileFormatError(f"{head} (found {rate!r}). Add a line {fix}.")
    quoted = line[1] if len(line[1]) <= 80 else line[1][:77] + "..."
    return FileFormatError(f"{head}: its line {line[0]}, `{quoted}`, is not a number written "
                           f"out, and plastix never runs {_PARAMS}. Write the number instead, "
                           f"e.g. {fix}.")


def _array(folder: Path, name: str) -> np.ndarray:
    """A ``.npy`` file of one column (``(n,)`` or ``(n, 1)``), read without pickles."""
    try:
        values = np.load(folder / name, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:  # pickled, truncated or unreadable
        raise FileFormatError(f"cannot read {name!r} of {folder.name!r}: {err}. Kilosort writes "
                              "plain integer arrays; copy the folder again from the "
                              "sorter's output.") from err
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.dtype.kind not in "iuf":
        raise FileFormatError(f"cannot read {name!r} of {folder.name!r}: expected one column of "
                              f"numbers, found shape {values.shape} of {values.dtype}. Copy the "
                              "folder again from the sorter's output.")
    return values


def _tables(folder: Path, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Every column of the cluster tables, one value per cluster of ``ids`` (missing:
    NaN for numbers, ``""`` for text); ``cluster_group.tsv`` and ``cluster_info.tsv``
    first, a column already read is not read again."""
    import pandas as pd

    files = [folder / n for n in _FIRST_TABLES if (folder / n).is_file()]
    files += sorted(p for p in folder.glob("cluster_*.tsv") if p.name not in _FIRST_TABLES)
    out: dict[str, np.ndarray] = {}
    for path in files:
        table = _cluster_table(path, folder)
        key = next((c for c in table.columns
                    if re.sub(r"[\s_]", "", str(c).lower()) in ("clusterid", "id")), None)
        if key is None and len(table):
            warn_caller(f"{path.name} of {folder.name}: no 'cluster_id' column (found "
                        f"{', '.join(map(repr, map(str, table.columns[:6])))}), so its rows "
                        "cannot be matched to clusters and it is left out; Phy writes a "
                        "tab-separated table whose first column is cluster_id.", UserWarning)
        if key is None or not len(table):
            continue
        twice = table[key][table[key].duplicated()].tolist()
        if twice:
            raise FileFormatError(f"cannot read {path.name!r} of {folder.name!r}: cluster "
                                  f"id(s) {twice[:5]} have more than one row. Keep one row per "
                                  "cluster (Phy writes one).")
        rows = pd.Index(pd.to_numeric(table[key], errors="coerce")).get_indexer(ids)
        for col in table.columns:
            if col == key or str(col) in out:
                continue
            values = table[col].to_numpy()
            blank = np.nan if values.dtype.kind in "iuf" else ""
            picked = np.where(rows >= 0, values[np.maximum(rows, 0)], blank)
            out[str(col)] = picked.astype(float) if values.dtype.kind in "iuf" else picked
    return out


def _cluster_table(path: Path, folder: Path) -> Any:
    """One cluster table as a DataFrame: tab-separated as Phy writes it, or
    comma-separated when a spreadsheet saved it so."""
    import pandas as pd

    if path.stat().st_size == 0:
        warn_caller(f"{path.name} of {folder.name} is empty (0 bytes) and is left out; Phy "
                    "rewrites it when the clustering is saved again.", UserWarning)
        return pd.DataFrame()
    encoding = _encoding(path)  # Windows-1252 when a spreadsheet saved it so
    try:  # index_col=False: rows ending in a separator do not shift into an index
        table = pd.read_csv(path, sep="\t", index_col=False, encoding=encoding)
        if table.shape[1] == 1 and "," in str(table.columns[0]):
            table = pd.read_csv(path, sep=",", index_col=False, encoding=encoding)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise FileFormatError(f"cannot read {path.name!r} of {folder.name!r} as a "
                              f"tab-separated cluster table: {err}. Save it again from "
                              "Phy.") from err
    table.columns = [str(c).strip() for c in table.columns]  # "group " is the column group
    return table


def _encoding(path: Path) -> str:
    """UTF-8 when the file decodes as such, else Windows-1252 (which decodes any byte a
    spreadsheet on Windows writes)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


@dataclass
class PhyFolder(NpzObject):
    """The clusters of a Phy folder as a ``TsGroup``-like object (:class:`NpzObject`):
    spike times in s, cluster ids, the cluster tables as metadata; ``sample_rate`` in Hz
    (``params.py``)."""

    sample_rate: float = 0.0

    def describe(self) -> str:
        """One line: clusters, spikes, rate, span, the cluster tables' columns."""
        span = self.span() or (0.0, 0.0)
        cols = (f"; cluster table columns {', '.join(self.metadata)}" if self.metadata
                else "; no cluster tables")
        return (f"{self.path.name}: {self.ids.size} cluster(s), {np.size(self.arrays['t'])} "
                f"spikes sampled at {self.sample_rate:g} Hz, {span[0]:g} to {span[1]:g} s{cols}")


def phy_folder(path: str | os.PathLike) -> PhyFolder:
    """Read a Phy folder (or the folder of one of its files)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if folder.name in ("", ".."):  # `.`: messages and the record name the folder itself
        folder = folder.resolve()
    if not (folder / _TIMES).is_file():
        raise FileFormatError(f"cannot read {folder.name!r} as a {_LABEL}: it has no {_TIMES}. "
                              "Pass the folder Kilosort wrote (with spike_times.npy, "
                              "spike_clusters.npy and params.py).")
    values, skipped = _params(folder)
    rate = values.get("sample_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        raise _no_rate(folder, rate, skipped.get("sample_rate"))
    samples = _array(folder, _TIMES)
    if samples.dtype.kind == "f" and np.any(samples != np.round(samples)):
        frac = samples[samples != np.round(samples)][:3]
        raise FileFormatError(f"cannot read {folder.name!r} as a {_LABEL}: {_TIMES} must hold "
                              "sample indices (whole numbers, as Kilosort writes them); found "
                              f"fractions ({', '.join(f'{v:g}' for v in frac)}, ...), which "
                              "look like times in seconds. In a copy of the folder, save the "
                              "samples (np.round(times * sample_rate).astype('int64')) as "
                              f"{_TIMES}.")
    labels = _CLUSTERS if (folder / _CLUSTERS).is_file() else _TEMPLATES
    if not (folder / labels).is_file():
        raise FileFormatError(f"cannot read {folder.name!r} as a {_LABEL}: it has neither "
                              f"{_CLUSTERS} nor {_TEMPLATES}, so no spike has a cluster. Copy "
                              "the folder again from the sorter's output.")
    clusters = _array(folder, labels).astype(np.int64)
    if clusters.size != samples.size:
        raise FileFormatError(f"cannot read {folder.name!r} as a {_LABEL}: {labels} has "
                              f"{clusters.size} entries for the {samples.size} spikes of "
                              f"{_TIMES}. Copy the folder again from the sorter's output.")
    if np.any(samples[1:] < samples[:-1]):  # Kilosort writes them sorted; edits may not
        order = np.argsort(samples, kind="stable")
        samples, clusters = samples[order], clusters[order]
    t = samples.astype(float) / float(rate)
    ids = np.unique(clusters)
    end = float(t.max()) + 1.0 / float(rate) if t.size else 1.0
    return PhyFolder(folder.name, folder, "TsGroup",
                     {"t": t, "index": clusters, "keys": ids, "start": np.array([0.0]),
                      "end": np.array([end])}, _tables(folder, ids), unit_ids=False,
                     sample_rate=float(rate))  # ids are the cluster ids; a `unit` column a label


def _refuser(folder: Path, units: PhyFolder):
    def refuse(what: str, todo: str, flags: tuple[str, ...] = ()) -> MappingError:
        return MappingError(folder.name, _LABEL, what, units.describe(), todo, flags,
                            path=folder)
    return refuse


def _without_noise(units: PhyFolder, spec: Any) -> PhyFolder:
    """The clusters not labelled ``noise`` in ``group`` (all of them for ids)."""
    group = units.metadata.get("group")
    if group is None or (spec is not None and spec[0] == "ids"):
        return units
    keep = [i for i, g in zip(units.ids.tolist(), group.tolist(), strict=True)
            if str(g).strip().lower() != "noise"]
    return units.select(keep)


_UNNAMED = ("no cluster table names each cluster's role: label them in Phy (`:label role pre` "
            "on the presynaptic clusters, `:label role post` on the postsynaptic ones, which "
            "writes cluster_role.tsv)")


def noise_ids(units: NpzObject) -> list[Any]:
    """The clusters labelled ``noise``: by ``group`` (Phy's curation), else by
    ``KSLabel`` (Kilosort's) where ``group`` is missing or empty."""
    ids = units.ids.tolist()
    labels = [""] * len(ids)
    for column in ("KSLabel", "group"):  # group, when given, wins
        values = units.metadata.get(column)
        if values is None:
            continue
        for j, v in enumerate(np.asarray(values, dtype=object).tolist()):
            text = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
            if text:
                labels[j] = text.lower()
    return [i for i, lab in zip(ids, labels, strict=True) if lab == "noise"]


def _advice(obj: NpzObject) -> tuple[str, tuple[str, ...]]:
    """How to split a folder's clusters into the two roles, never naming a noise one."""
    return selection_fix(obj, noise=tuple(noise_ids(obj)), unnamed=_UNNAMED)


def read_phy_folder(path: str | os.PathLike, *, lazy: bool = False,
                    **options: Any) -> xr.Dataset:
    """A Kilosort / Phy folder (or one of its files) as a record of spike trains.

    Parameters
    ----------
    path : str or os.PathLike
        The folder, or a file in it.
    lazy : bool
        Bin the spike trains only for the rows read (see
        :func:`plastix.io.from_pynapple`).
    **options
        ``pre_units``, ``post_units`` (ids, or filters on the cluster tables:
        ``depth<1500``, ``group=good``; default a ``role`` column), ``weights_from``
        (must be ``"spikes"``: the folder holds no weights), ``bin_size`` (s),
        ``decay`` (1/s), ``source``.

    Returns
    -------
    xarray.Dataset
        The record, ``attrs["weights"] = "absent"``: the weights are inferred with
        :func:`plastix.estimate.infer_weights`.

    Raises
    ------
    plastix._util.errors.FileFormatError
        When a file of the folder is missing or cannot be read.
    plastix._util.errors.MappingError
        When the roles cannot be chosen, or ``weights_from`` is not ``"spikes"``.
    """
    from plastix.io.pynapple import from_pynapple

    check_keywords("read_phy_folder", options, list(READ_OPTIONS))
    if options.get("weights_from") is not None:
        check_choice("weights_from", options["weights_from"], ("spikes",))
    units = phy_folder(path)
    refuse = _refuser(units.path, units)
    chosen = {}
    for r in ("pre", "post"):
        spec = parse_units(f"{r}_units", options.get(f"{r}_units"))
        chosen[r] = select_units(refuse, _without_noise(units, spec), r, spec, True, _advice)
    check_one_role(refuse, chosen, options)
    if options.get("weights_from") != "spikes":
        raise refuse("no weights: a Phy folder holds spike trains only",
                     "Infer the weights from the spikes: plastix estimate FOLDER "
                     "--weights-from spikes, or plastix infer-weights FOLDER --out OUT.nc",
                     ("--weights-from spikes",))
    nap = require("pynapple")
    roles = {r: o.to_pynapple() for r, o in chosen.items()}
    ds = from_pynapple(roles["pre"], roles["post"], absent_weights(nap, roles, None),
                       empty_synapses(), None, options.get("decay"),
                       bin_size=options.get("bin_size"), lazy=lazy,
                       source=options.get("source") or f"Phy folder {units.path.name}")
    ds.attrs["weights"] = "absent"
    return ds


def open_phy_folder(path: str | os.PathLike, **options: Any) -> xr.Dataset:
    """:func:`read_phy_folder` with spike trains binned when read (``lazy=True``)."""
    return read_phy_folder(path, lazy=True, **options)
