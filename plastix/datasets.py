"""Small reference recordings and pairing tables with known ground truth, and their registry.

``datasets/registry.json`` lists every dataset: its file (a path inside the
datasets folder; anything that would leave it is refused), the SHA-256 of the
file's bytes, the SHA-256 of its *content* (the record's values, coordinates and
units, independent of the container's timestamps), how it was made (a recipe in
this module, its seed and every parameter it was given) and the truth (rule and
parameters).

:func:`load_dataset` checks the checksum before returning a record and
regenerates a missing file from its recipe, with the registered seed and
parameters; a regenerated file is kept only if its content matches the registry.
NIX and NWB files carry creation timestamps, so a regenerated file has new bytes
but the same content: the content checksum is what decides whether a dataset is
intact.  :func:`verify_datasets` checks (and regenerates) them all and
:func:`verify_exit_code` turns its report into the command's exit code.

The files ship with the wheel: ``pyproject.toml`` installs ``datasets/`` as data
files under ``<prefix>/share/plastix/datasets``, where :func:`dataset_dir` finds
them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.io import atomic_write
from plastix.io import load_record, save_record
from plastix.io.table import is_pairing_table, load_pairing_table
from plastix.record import validate_record

__all__ = [
    "DatasetEntry",
    "dataset_dir",
    "list_datasets",
    "load_dataset",
    "verify_datasets",
    "verify_exit_code",
    "VERIFY_OK",
    "make_datasets",
    "content_sha256",
    "file_sha256",
]

REGISTRY_NAME = "registry.json"
VERIFY_OK = ("ok", "content-ok", "regenerated")
"""Statuses of :func:`verify_datasets` that mean a dataset is intact."""


def _source_tree_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "datasets"


def _installed_dirs() -> list[Path]:
    """Where a wheel install puts the datasets (``<prefix>/share/plastix/datasets``)."""
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", f"{os.name}_user"))
    except KeyError:  # pragma: no cover - a platform without a user scheme
        pass
    return [Path(p) / "share" / "plastix" / "datasets" for p in prefixes if p]


def dataset_dir() -> Path:
    """The datasets folder.

    In order: ``$PLASTIX_DATASETS`` if set; the source tree's ``datasets/`` (a
    checkout, or an editable install); ``<prefix>/share/plastix/datasets`` of a
    wheel install.  When none holds a registry, the source tree's path (so the
    error names where the registry was expected).
    """
    env = os.environ.get("PLASTIX_DATASETS")
    if env:
        return Path(env)
    tree = _source_tree_dir()
    if (tree.parent / "pyproject.toml").exists() and (tree / REGISTRY_NAME).exists():
        return tree
    for folder in _installed_dirs():
        if (folder / REGISTRY_NAME).exists():
            return folder
    return tree


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _table_sha256(table: pd.DataFrame, decimals: int) -> str:
    """SHA-256 of a parsed pairing table: column names, units, values (floats rounded)."""
    h = hashlib.sha256()
    units = table.attrs.get("units", {})
    for name in map(str, table.columns):
        h.update(name.encode())
        h.update(str(units.get(name, "")).encode())
        values = table[name].to_numpy()
        if values.dtype.kind in "fc":
            values = np.round(values.astype(float), decimals)
            values = np.where(values == 0, 0.0, values)
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update(repr(values.astype(str).tolist()).encode())
    return h.hexdigest()


def content_sha256(ds: xr.Dataset | pd.DataFrame, *, decimals: int = 12) -> str:
    """SHA-256 of a record's content: values (rounded to ``decimals``), dims, units, truth.

    Independent of the file container, so a NIX or NWB file rewritten with a new
    creation timestamp keeps its content checksum.  A pairing table (a DataFrame
    as :func:`~plastix.io.table.load_pairing_table` returns it): its columns,
    their SI units and values.
    """
    if isinstance(ds, pd.DataFrame):
        return _table_sha256(ds, decimals)
    validate_record(ds, stage="content_sha256")
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds[name]
        h.update(name.encode())
        h.update(repr(tuple(var.dims)).encode())
        h.update(str(var.attrs.get("units", "")).encode())
        values = np.asarray(var.values)
        if values.dtype.kind in "fc":
            values = np.round(values.astype(float), decimals)
            values = np.where(values == 0, 0.0, values)  # -0.0 and 0.0 hash alike
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update(repr(values.astype(str).tolist()).encode())
    h.update(str(ds.attrs.get("truth", "{}")).encode())
    return h.hexdigest()


def _save(obj: xr.Dataset | pd.DataFrame, path: Path, options: dict) -> None:
    """Write a record (``save_record(obj, path, **options)``) or a table (CSV, no index)."""
    if isinstance(obj, pd.DataFrame):
        obj.to_csv(path, index=False, sep="\t" if path.suffix in (".tsv", ".tab") else ",")
    else:
        save_record(obj, path, **options)


def _load(path: Path) -> xr.Dataset | pd.DataFrame:
    """A record, or a pairing table parsed to SI units, by the file's suffix."""
    return load_pairing_table(path) if is_pairing_table(path) else load_record(path)


def _truth(obj: xr.Dataset | pd.DataFrame, back: xr.Dataset | pd.DataFrame) -> dict:
    """The truth a recipe recorded: a record's ``truth`` attribute, a table's ``attrs``."""
    if isinstance(obj, pd.DataFrame):
        return json.loads(json.dumps(obj.attrs.get("truth", {})))
    return json.loads(back.attrs.get("truth", "{}"))


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset.

    Attributes
    ----------
    name : str
        Registry key.
    file : str
        File name inside :func:`dataset_dir`.
    sha256 : str
        SHA-256 of the shipped file's bytes.
    content_sha256 : str
        :func:`content_sha256` of the record the file holds.
    recipe : str
        Name of the generating function in :data:`RECIPES`.
    seed : int
        Seed given to the recipe.
    made_by : str
        Command that regenerates the file.
    description : str
        What the recording is.
    truth : dict
        The true rule and its parameters.
    params : dict
        Every keyword the recipe was given besides the seed (its whole
        configuration), so that a regenerated file is the registered one.
    write_options : dict
        Keywords of :func:`plastix.io.save_record` used to write the file.
    """

    name: str
    file: str
    sha256: str
    content_sha256: str
    recipe: str
    seed: int
    made_by: str
    description: str
    truth: dict
    params: dict = field(default_factory=dict)
    write_options: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``"table"`` for a pairing table (a CSV/TSV/Parquet file), else ``"record"``."""
        return "table" if is_pairing_table(self.file) else "record"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def path(self, root: Path) -> Path:
        """The file inside ``root``; a registry path that would leave it raises ValueError."""
        rel = Path(self.file)
        inside = (not rel.is_absolute() and ".." not in rel.parts and rel.parts
                  and (root / rel).resolve().is_relative_to(root.resolve()))
        if not inside:
            raise ValueError(
                f"dataset {self.name!r}: registry path {self.file!r} is outside the datasets "
                f"folder {str(root)!r}; a registry path must name a file inside that folder.")
        return root / rel


def _registry_path(root: Path | None = None) -> Path:
    return (root or dataset_dir()) / REGISTRY_NAME


def _read_registry(root: Path | None = None) -> dict[str, DatasetEntry]:
    root = root or dataset_dir()
    path = _registry_path(root)
    if not path.exists():
        raise FileNotFoundError(
            f"dataset registry {str(path)!r} not found; run `plastix datasets make` to build it."
        )
    raw = json.loads(path.read_text())
    entries = {name: DatasetEntry(name=name, **entry) for name, entry in raw.items()}
    for entry in entries.values():
        entry.path(root)
    return entries


def _write_registry(entries: dict[str, DatasetEntry], root: Path | None = None) -> Path:
    body = {n: {k: v for k, v in e.to_dict().items() if k != "name"}
            for n, e in sorted(entries.items())}
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    return atomic_write(_registry_path(root), lambda p: p.write_text(text))


def _regenerate(entry: DatasetEntry, root: Path) -> xr.Dataset:
    """Rebuild a missing file from its recipe, seed and parameters; keep it only if it matches.

    The new file is written atomically; if its content differs from the registry
    it is not kept and ValueError says so.
    """
    ds = RECIPES[entry.recipe](seed=entry.seed, **entry.params)

    def write(tmp: Path) -> None:
        _save(ds, tmp, entry.write_options)
        got = content_sha256(_load(tmp))
        if got != entry.content_sha256:
            raise ValueError(
                f"dataset {entry.name!r}: recipe {entry.recipe!r} with seed {entry.seed} no "
                f"longer reproduces the registered content (expected content sha256 "
                f"{entry.content_sha256[:12]}…, regenerated {got[:12]}…); the file was not "
                f"written. Check the recipe against registry.json, or re-register it with "
                f"`{entry.made_by}`.")

    atomic_write(entry.path(root), write)
    return _load(entry.path(root))


def list_datasets(root: Path | None = None) -> list[DatasetEntry]:
    """All registered datasets, sorted by name."""
    return [e for _, e in sorted(_read_registry(root).items())]


def load_dataset(name: str, *, regenerate: bool = True,
                 root: Path | None = None) -> xr.Dataset | pd.DataFrame:
    """Load a registered dataset, checking its checksum.

    A record dataset comes back as a plastix record, a table dataset
    (:attr:`DatasetEntry.kind` ``"table"``) as the parsed pairing table (SI units).

    Parameters
    ----------
    name : str
        Registry key (see :func:`list_datasets`).
    regenerate : bool
        Rebuild a missing file from its recipe (deterministic for the stored seed).
    root : path, optional
        Folder holding ``registry.json``; default :func:`dataset_dir`.

    Raises
    ------
    ValueError
        If the file's content does not match the registered checksum.
    """
    root = root or dataset_dir()
    entries = _read_registry(root)
    check_choice("name", name, list(entries))
    entry = entries[name]
    path = entry.path(root)
    if not path.exists():
        if not regenerate:
            raise FileNotFoundError(
                f"dataset {name!r}: file {str(path)!r} is missing; rerun with regenerate=True "
                f"or `{entry.made_by}`."
            )
        return _regenerate(entry, root)
    ds = _load(path)
    if file_sha256(path) != entry.sha256 and content_sha256(ds) != entry.content_sha256:
        raise ValueError(
            f"dataset {name!r}: the content of {str(path)!r} does not match the registry "
            f"(expected content sha256 {entry.content_sha256[:12]}…, got "
            f"{content_sha256(ds)[:12]}…). Delete the file to regenerate it."
        )
    return ds


def verify_datasets(root: Path | None = None, *, regenerate: bool = True,
                    names: list[str] | None = None) -> list[tuple[str, str]]:
    """Check every dataset (only ``names``, if given) against the registry, regenerating
    what is missing.

    Parameters
    ----------
    root : path, optional
        Folder holding ``registry.json``; default :func:`dataset_dir`.
    regenerate : bool
        Rebuild a missing file from its recipe (kept only if its content matches).
    names : list of str, optional
        The datasets to check (default all); a name that is no dataset's is refused.

    Returns
    -------
    list of (name, status)
        ``ok`` (same bytes), ``content-ok`` (same content, new container bytes),
        ``regenerated`` (was missing, rebuilt and matching), ``missing`` (not
        rebuilt: ``regenerate=False``), ``regeneration-mismatch`` (rebuilt, but the
        recipe no longer gives the registered content; nothing written) or
        ``MISMATCH`` (the file's content differs).  :data:`VERIFY_OK` lists the
        statuses of an intact dataset; :func:`verify_exit_code` gives the exit code.
    """
    check_dataset_names(names)
    root = root or dataset_dir()
    out = []
    for entry in list_datasets(root):
        if names and entry.name not in names:
            continue
        path = entry.path(root)
        if not path.exists():
            if not regenerate:
                out.append((entry.name, "missing"))
                continue
            try:
                _regenerate(entry, root)
            except ValueError:
                out.append((entry.name, "regeneration-mismatch"))
            else:
                out.append((entry.name, "regenerated"))
        elif file_sha256(path) == entry.sha256:
            out.append((entry.name, "ok"))
        elif content_sha256(_load(path)) == entry.content_sha256:
            out.append((entry.name, "content-ok"))
        else:
            out.append((entry.name, "MISMATCH"))
    return out


def verify_exit_code(results: list[tuple[str, str]]) -> int:
    """0 when every status of :func:`verify_datasets` is in :data:`VERIFY_OK`, else 1."""
    return 0 if all(status in VERIFY_OK for _, status in results) else 1


def check_dataset_names(names: list[str] | None) -> None:
    """Refuse (ValueError, one line listing the datasets) names that are no dataset's."""
    known = [spec["name"] for spec in SPECS]
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise ValueError(f"`name` (--name) names no dataset: {', '.join(map(repr, unknown))}; "
                         f"the datasets are {', '.join(map(repr, known))}.")


def make_datasets(root: Path | None = None, *, names: list[str] | None = None) -> Path:
    """(Re)build the datasets from their recipes (only ``names``, if given) and write the
    registry."""
    check_dataset_names(names)
    root = root or dataset_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        entries = _read_registry(root)
    except FileNotFoundError:
        entries = {}
    for spec in SPECS:
        if names and spec["name"] not in names:
            continue
        params = dict(spec.get("params", {}))
        ds = RECIPES[spec["recipe"]](seed=spec["seed"], **params)
        options = dict(spec.get("write_options", {}))
        stub = DatasetEntry(spec["name"], spec["file"], "", "", spec["recipe"], spec["seed"],
                            "", "", {})
        path = atomic_write(stub.path(root), lambda p, ds=ds, o=options: _save(ds, p, o))
        back = _load(path)
        entries[spec["name"]] = DatasetEntry(
            name=spec["name"], file=spec["file"], sha256=file_sha256(path),
            content_sha256=content_sha256(back), recipe=spec["recipe"], seed=spec["seed"],
            made_by=f"plastix datasets make --name {spec['name']}",
            description=spec["description"], truth=_truth(ds, back),
            params=params, write_options=options,
        )
    return _write_registry(entries, root)


# ------------------------------------------------------------------ recipes
# Each recipe is deterministic for its seed and returns a plastix record.


def _spiking_error(*, seed: int, **config: Any) -> xr.Dataset:
    """Spiking circuit (Brian2, numpy target) trained by the error-driven delta rule.

    ``config``: every field of :class:`plastix.circuits.SpikingCircuitConfig`.
    """
    from plastix.circuits import SpikingCircuitConfig, simulate_spiking

    return simulate_spiking(SpikingCircuitConfig.from_dict(config), rng=seed, target="numpy")


def _rate_null(*, seed: int, **config: Any) -> xr.Dataset:
    """Linear-rate recording whose weights change by decay and noise only (no co-activity).

    ``config``: every field of :class:`plastix.estimate.synthetic.SyntheticConfig`.
    """
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic

    return simulate_synthetic(SyntheticConfig.from_dict(config), rng=seed, known_decay=True)


def _pairing_stdp(*, seed: int) -> xr.Dataset:
    """Slice-style pairing experiments, one synapse per segment, pair-based STDP truth.

    Each of 12 experiments pairs one presynaptic and one postsynaptic neuron 30
    times at 5 Hz with a spike-timing offset ``Δt = t_post − t_pre`` drawn from
    [−40, 40] ms; the weight is measured once before and once after (6 s later).
    The change follows ``Δw = n_pairs (A₊ e^{−Δt/τ} [Δt>0] − A₋ e^{Δt/τ} [Δt<0])``
    with ``A₊ = 0.01``, ``A₋ = 0.0105``, ``τ = 20 ms``, plus measurement noise of
    SD 0.02; the weights do not decay (the record says so: decay = 0).
    """
    from plastix.record import make_record

    rng = np.random.default_rng(seed)
    n_exp, n_pairs, period, dt = 12, 30, 0.2, 0.02
    a_plus, a_minus, tau, w_sd = 0.01, 0.0105, 0.02, 0.02
    offsets = rng.uniform(-0.04, 0.04, n_exp)
    n_bins = int(round(n_pairs * period / dt))
    pre_act = np.full((n_exp * n_bins, n_exp), np.nan)
    post_act = np.full((n_exp * n_bins, n_exp), np.nan)
    weight = np.full((2 * n_exp, n_exp, n_exp), np.nan)
    time, segment, spikes = [], [], {"pre": ([], [], []), "post": ([], [], [])}
    for e, lag in enumerate(offsets):
        t_pre = 0.05 + np.arange(n_pairs) * period
        t_post = t_pre + lag
        rows = slice(e * n_bins, (e + 1) * n_bins)
        edges = np.arange(n_bins + 1) * dt
        pre_act[rows, e] = np.histogram(t_pre, edges)[0] / dt
        post_act[rows, e] = np.histogram(t_post, edges)[0] / dt
        time.append(edges[:-1])
        segment.append(np.full(n_bins, e))
        for role, ts in (("pre", t_pre), ("post", t_post)):
            spikes[role][0].extend(ts.tolist())
            spikes[role][1].extend([e] * ts.size)
            spikes[role][2].extend([e] * ts.size)
        ltp = a_plus * np.exp(-abs(lag) / tau) if lag > 0 else -a_minus * np.exp(-abs(lag) / tau)
        w0 = rng.uniform(0.5, 1.5)
        weight[2 * e, e, e] = w0
        weight[2 * e + 1, e, e] = w0 + n_pairs * ltp + rng.normal(0.0, w_sd)
    return make_record(
        pre_act, post_act, weight, time=np.concatenate(time), segment=np.concatenate(segment),
        weight_time=np.tile([0.0, n_pairs * period], n_exp),
        weight_segment=np.repeat(np.arange(n_exp), 2), dt=dt,
        pre_spikes={"time": spikes["pre"][0], "unit": spikes["pre"][1],
                    "segment": spikes["pre"][2]},
        post_spikes={"time": spikes["post"][0], "unit": spikes["post"][1],
                     "segment": spikes["post"][2]},
        decay=0.0, source="plastix.datasets:pairing_stdp",
        provenance={"recipe": "pairing_stdp", "seed": seed},
        truth={"rule": "stdp", "a_plus": a_plus, "a_minus": a_minus, "tau": tau,
               "n_pairs": n_pairs, "measurement_sd": w_sd, "expected_verdict": "hebbian"},
    )


def _pairing_table(*, seed: int, rule: str, protocol: str, n_cells: int, noise: float,
                   pairing: str, expected_verdict: str, expected_kernel: str) -> pd.DataFrame:
    """A lab-style table of pairing experiments simulated under a known rule (numpy).

    :func:`plastix.estimate.pairing_sim.simulate_pairing_table` with the protocols
    ``protocol`` (``"bi_poo"``: :data:`~plastix.estimate.pairing_sim.BI_POO`,
    ``"sjostrom"``: :data:`~plastix.estimate.pairing_sim.SJOSTROM`), ``n_cells`` cells
    per protocol and log-scale measurement noise ``noise``; the numpy simulator (the
    Brian2 one gives the same changes, ``tests/test_pairing.py``, but needs minutes
    for 60 pairings at 1 Hz).  The truth keeps the rule, its parameters and what the
    estimator should say (``expected_verdict``, ``expected_kernel``: the best kernel of
    ``--kernel all``, or the kind ``rates`` for any rate kernel).
    """
    from plastix.estimate import pairing_sim as P

    protocols = {"bi_poo": P.BI_POO, "sjostrom": P.SJOSTROM}[protocol]
    table = P.simulate_pairing_table(rule, protocols, n_cells=n_cells, noise=noise,
                                     pairing=pairing, simulator="numpy", rng=seed)
    truth = {k: v for k, v in table.attrs["truth"].items() if k != "ratio"}
    table.attrs["truth"] = {**truth, "protocol": protocol, "expected_verdict": expected_verdict,
                            "expected_kernel": expected_kernel}
    return table


def _circuit_nwb(*, seed: int, expected_verdict: str, **config: Any) -> xr.Dataset:
    """A Brian2 rate circuit (numpy target) with a known rule, for a standard NWB file.

    ``config``: every field of :class:`plastix.circuits.RateCircuitConfig`.  The
    truth adds what the estimator should say (``expected_verdict``).
    """
    from plastix.circuits import RateCircuitConfig, simulate_rate

    rec = simulate_rate(RateCircuitConfig.from_dict(config), rng=seed, target="numpy")
    truth = json.loads(rec.attrs.get("truth", "{}"))
    rec.attrs["truth"] = json.dumps({**truth, "expected_verdict": expected_verdict})
    return rec


RECIPES: dict[str, Callable[..., xr.Dataset | pd.DataFrame]] = {
    "spiking_error": _spiking_error,
    "rate_null": _rate_null,
    "pairing_stdp": _pairing_stdp,
    "pairing_table": _pairing_table,
    "circuit_nwb": _circuit_nwb,
}

_SPIKING_ERROR = {
    "kind": "spiking", "rule": "error", "n_pre": 60, "n_post": 6, "eta": 5.0, "decay": 4.0,
    "noise": 0.0, "input_noise": 0.3, "input_corr": 0.5, "n_groups": 4, "tau_input": 0.1,
    "rate": 10.0, "duration": 8.0, "dt": 0.0005, "bin_size": 0.01, "weight_interval": 0.1,
    "record_synapses": 120, "record_signal": True, "w_init": 1.0, "w_init_sd": 0.5,
    "teacher_sd": 0.5, "noise_step": None, "tau_m": 0.02, "v_th": 20.0, "t_ref": 0.002,
    "v_noise": 4.0, "drive": 16.0, "tau_trace": 0.05, "tau_stdp": 0.02, "stdp_ratio": 1.05,
    "p_recurrent": 0.0, "j_recurrent": 0.5,
}
_RATE_NULL = {
    "rule": "null", "n_pre": 20, "n_post": 8, "n_intervals": 60, "bins_per_interval": 40,
    "dt": 0.01, "tau": 0.05, "rate_mean": 0.0, "rate_sd": 1.0, "mixing": 0.5, "post_noise": 0.5,
    "lr": 1.0, "decay": 2.0, "noise": 0.1, "silent_fraction": 0.0, "teacher_scale": 1.0,
    "n_burn": 100, "structure_seed": 0,
}

_CIRCUIT_HEBBIAN = {
    "kind": "rate", "rule": "hebbian", "n_pre": 20, "n_post": 4, "eta": 0.5, "decay": 2.0,
    "noise": 0.05, "input_noise": 0.3, "input_corr": 0.5, "n_groups": 4, "tau_input": 0.1,
    "rate": 10.0, "duration": 4.0, "dt": 0.0005, "bin_size": 0.01, "weight_interval": 0.1,
    "record_synapses": None, "record_signal": False, "w_init": 1.0, "w_init_sd": 0.5,
    "teacher_sd": 0.5, "noise_step": None, "expected_verdict": "hebbian",
}

SPECS: list[dict[str, Any]] = [
    {"name": "spiking-error-nix", "file": "spiking_error.nix", "recipe": "spiking_error",
     "seed": 11, "params": _SPIKING_ERROR,
     "description": "Brian2 spiking circuit (60 Poisson inputs onto 6 LIF neurons) "
     "trained by an error-driven delta rule with decay 4/s, 8 s, 120 synapses recorded every "
     "100 ms; the emergent-Hebbian case (Hebbian signature, non-Hebbian rule)."},
    {"name": "rate-null-nwb", "file": "rate_null.nwb", "recipe": "rate_null", "seed": 12,
     "params": _RATE_NULL,
     "description": "Linear-rate recording, 20 pre x 8 post, weights change by decay and "
     "noise only: no Hebbian structure (the estimator should say indeterminate)."},
    {"name": "pairing-stdp-nix", "file": "pairing_stdp.nix", "recipe": "pairing_stdp",
     "seed": 13, "description": "12 pairing experiments (one synapse per segment, weight "
     "before and after 30 pairings at 5 Hz), pair-based STDP truth."},
    {"name": "pairing-table-stdp-csv", "file": "pairing_table_stdp.csv",
     "recipe": "pairing_table", "seed": 21,
     "params": {"rule": "stdp", "protocol": "bi_poo", "n_cells": 4, "noise": 0.05,
                "pairing": "all", "expected_verdict": "hebbian", "expected_kernel": "stdp"},
     "description": "A slice lab's table of 40 pairing experiments (Bi & Poo-style: 60 "
     "pairings at 1 Hz, delta_t from -80 to 80 ms, 4 cells each; weight before/after in mV), "
     "pair-based STDP truth: timing explains the changes."},
    {"name": "pairing-table-triplet-csv", "file": "pairing_table_triplet.csv",
     "recipe": "pairing_table", "seed": 22,
     "params": {"rule": "triplet", "protocol": "sjostrom", "n_cells": 4, "noise": 0.05,
                "pairing": "all", "expected_verdict": "hebbian", "expected_kernel": "rates"},
     "description": "A table of 40 pairing experiments (Sjostrom-style: delta_t = +-10 ms at "
     "0.1 to 50 Hz, 75 pairings, 4 cells each) under the minimal triplet rule of Pfister & "
     "Gerstner (2006): potentiation at high frequency whatever the order, so a rate kernel "
     "explains the changes better than the STDP window."},
    {"name": "circuit-hebbian-standard-nwb", "file": "circuit_hebbian_standard.nwb",
     "recipe": "circuit_nwb", "seed": 23, "params": _CIRCUIT_HEBBIAN,
     "write_options": {"nwb_style": "standard"},
     "description": "Brian2 rate circuit (20 inputs onto 4 linear units, 4 s) with a Hebbian "
     "rule (eta 0.5/s) under decay 2/s and noise, weights of all 80 synapses every 100 ms, "
     "written as a standard NWB file (Units with a role column; activity and weight "
     "TimeSeries with their synapses table in the module 'plasticity'), as a lab's tools "
     "write it."},
]
