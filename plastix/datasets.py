"""Small reference recordings with known ground truth, and their registry.

``datasets/registry.json`` lists every dataset: its file, the SHA-256 of the
file's bytes, the SHA-256 of its *content* (the record's values, coordinates and
units, independent of the container's timestamps), how it was made (a recipe in
this module and its seed) and the truth (rule and parameters).

:func:`load_dataset` checks the checksum before returning a record and
regenerates a missing file from its recipe.  NIX and NWB files carry creation
timestamps, so a regenerated file has new bytes but the same content: the
content checksum is what decides whether a dataset is intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix.io import load_record, save_record
from plastix.record import validate_record

__all__ = [
    "DatasetEntry",
    "dataset_dir",
    "list_datasets",
    "load_dataset",
    "verify_datasets",
    "make_datasets",
    "content_sha256",
    "file_sha256",
]

REGISTRY_NAME = "registry.json"


def dataset_dir() -> Path:
    """The ``datasets/`` folder: ``$PLASTIX_DATASETS`` if set, else the repository's."""
    env = os.environ.get("PLASTIX_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "datasets"


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_sha256(ds: xr.Dataset, *, decimals: int = 12) -> str:
    """SHA-256 of a record's content: values (rounded to ``decimals``), dims, units, truth.

    Independent of the file container, so a NIX or NWB file rewritten with a new
    creation timestamp keeps its content checksum.
    """
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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _registry_path(root: Path | None = None) -> Path:
    return (root or dataset_dir()) / REGISTRY_NAME


def _read_registry(root: Path | None = None) -> dict[str, DatasetEntry]:
    path = _registry_path(root)
    if not path.exists():
        raise FileNotFoundError(
            f"dataset registry {str(path)!r} not found; run `plastix datasets make` to build it."
        )
    raw = json.loads(path.read_text())
    return {name: DatasetEntry(name=name, **entry) for name, entry in raw.items()}


def _write_registry(entries: dict[str, DatasetEntry], root: Path | None = None) -> Path:
    path = _registry_path(root)
    body = {n: {k: v for k, v in e.to_dict().items() if k != "name"}
            for n, e in sorted(entries.items())}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def list_datasets(root: Path | None = None) -> list[DatasetEntry]:
    """All registered datasets, sorted by name."""
    return [e for _, e in sorted(_read_registry(root).items())]


def load_dataset(name: str, *, regenerate: bool = True, root: Path | None = None) -> xr.Dataset:
    """Load a registered dataset as a plastix record, checking its checksum.

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
    path = root / entry.file
    if not path.exists():
        if not regenerate:
            raise FileNotFoundError(
                f"dataset {name!r}: file {str(path)!r} is missing; rerun with regenerate=True "
                f"or `{entry.made_by}`."
            )
        ds = RECIPES[entry.recipe](seed=entry.seed)
        save_record(ds, path)
    ds = load_record(path)
    if file_sha256(path) != entry.sha256 and content_sha256(ds) != entry.content_sha256:
        raise ValueError(
            f"dataset {name!r}: the content of {str(path)!r} does not match the registry "
            f"(expected content sha256 {entry.content_sha256[:12]}…, got "
            f"{content_sha256(ds)[:12]}…). Delete the file to regenerate it."
        )
    return ds


def verify_datasets(root: Path | None = None) -> list[tuple[str, str]]:
    """Check every dataset; return ``(name, status)`` with status ``ok``, ``content-ok``,
    ``missing`` or ``MISMATCH``."""
    root = root or dataset_dir()
    out = []
    for entry in list_datasets(root):
        path = root / entry.file
        if not path.exists():
            out.append((entry.name, "missing"))
        elif file_sha256(path) == entry.sha256:
            out.append((entry.name, "ok"))
        elif content_sha256(load_record(path)) == entry.content_sha256:
            out.append((entry.name, "content-ok"))
        else:
            out.append((entry.name, "MISMATCH"))
    return out


def make_datasets(root: Path | None = None, *, names: list[str] | None = None) -> Path:
    """(Re)build the datasets from their recipes and write the registry."""
    root = root or dataset_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        entries = _read_registry(root)
    except FileNotFoundError:
        entries = {}
    for spec in SPECS:
        if names and spec["name"] not in names:
            continue
        ds = RECIPES[spec["recipe"]](seed=spec["seed"])
        path = save_record(ds, root / spec["file"])
        back = load_record(path)
        entries[spec["name"]] = DatasetEntry(
            name=spec["name"], file=spec["file"], sha256=file_sha256(path),
            content_sha256=content_sha256(back), recipe=spec["recipe"], seed=spec["seed"],
            made_by=f"plastix datasets make --name {spec['name']}",
            description=spec["description"], truth=json.loads(back.attrs.get("truth", "{}")),
        )
    return _write_registry(entries, root)


# ------------------------------------------------------------------ recipes
# Each recipe is deterministic for its seed and returns a plastix record.


def _spiking_error(*, seed: int) -> xr.Dataset:
    """Spiking circuit (Brian2, numpy target) trained by the error-driven delta rule."""
    from plastix.circuits import SpikingCircuitConfig, simulate_spiking

    cfg = SpikingCircuitConfig(rule="error", n_pre=60, n_post=6, decay=4.0, noise=0.0,
                               duration=8.0, record_synapses=120, weight_interval=0.1)
    return simulate_spiking(cfg, rng=seed, target="numpy")


def _rate_null(*, seed: int) -> xr.Dataset:
    """Linear-rate recording whose weights change by decay and noise only (no co-activity)."""
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic

    cfg = SyntheticConfig(rule="null", n_pre=20, n_post=8, n_intervals=60, bins_per_interval=40)
    return simulate_synthetic(cfg, rng=seed, known_decay=True)


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


RECIPES: dict[str, Callable[..., xr.Dataset]] = {
    "spiking_error": _spiking_error,
    "rate_null": _rate_null,
    "pairing_stdp": _pairing_stdp,
}

SPECS: list[dict[str, Any]] = [
    {"name": "spiking-error-nix", "file": "spiking_error.nix", "recipe": "spiking_error",
     "seed": 11, "description": "Brian2 spiking circuit (60 Poisson inputs onto 6 LIF neurons) "
     "trained by an error-driven delta rule with decay 4/s, 8 s, 120 synapses recorded every "
     "100 ms; the emergent-Hebbian case (Hebbian signature, non-Hebbian rule)."},
    {"name": "rate-null-nwb", "file": "rate_null.nwb", "recipe": "rate_null", "seed": 12,
     "description": "Linear-rate recording, 20 pre x 8 post, weights change by decay and "
     "noise only: no Hebbian structure (the estimator should say indeterminate)."},
    {"name": "pairing-stdp-nix", "file": "pairing_stdp.nix", "recipe": "pairing_stdp",
     "seed": 13, "description": "12 pairing experiments (one synapse per segment, weight "
     "before and after 30 pairings at 5 Hz), pair-based STDP truth."},
]
