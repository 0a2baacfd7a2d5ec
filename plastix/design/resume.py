"""The resume folder of :func:`plastix.design.propose_experiments`.

A design measures hundreds of simulated sessions with the estimator (about 80 %
of its run time).  With ``resume_dir=`` each session's alignment is written, as
soon as it is measured, to its own small file (atomically: a temporary file in
the same folder, then a rename), so a design that is killed loses at most the
session in flight, and a rerun with the same settings reads the finished ones
back instead of measuring them again.

Layout::

    resume_dir/
      design-<key>/          one folder per configuration
        config.json          what the key was computed from (for people)
        <record hash>.alignment   one per measured session: the alignment as a
                                  float in hex (bit-exact), one line
        calibration.json     the calibrations, once all are done
        sessions-<h>.json    hypothesis h's alignments, once all are measured

``<key>`` is the SHA-256 (first 16 hex digits) of everything that decides the
simulated sessions and their measurement: the circuit, the hypotheses and
manipulations, the replicate and calibration counts, the target, the estimator's
options, the random generator's seed and state, and the plastix version and
source (:func:`plastix._util.checkpoint.code_digest`).  A
different configuration gets a different folder and so never reads stale
results; within a folder each session is found by the SHA-256 of its record's
values (activity, weights, times, decay), so a result is only ever reused for the
very same record.  The budget, ``alpha`` and ``power`` only enter the final
statistics and are not part of the key: changing them reuses every session.

Beside the sessions, each finished stage is written as a checkpoint (JSON, floats
in hex: bit-exact): ``calibration.json`` once every hypothesis is calibrated, and
``sessions-<h>.json`` (the baseline and manipulated alignments of hypothesis
``h``) once all its sessions are measured.  A rerun skips a checkpointed stage
whole, its simulations included; inside an unfinished stage the simulations are
rerun (they are deterministic for a seed and take about a fifth of the time with
the numpy circuit) and only the sessions not yet measured are measured.  With
``rng=None`` the sessions are drawn from fresh entropy, so a rerun shares nothing
with the first run: pass an int seed to resume.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.checkpoint import (
    config_key,
    digest,
    keyed_folder,
    load_checkpoint,
    save_checkpoint,
)
from plastix._util.io import atomic_write

__all__ = ["RESUME_VERSION", "design_key", "record_hash", "resumable_measure", "resume_folder",
           "rng_identity", "measure_identity", "save_checkpoint", "load_checkpoint"]

RESUME_VERSION = 1
"""Bumped when the layout or the meaning of the files changes."""

_SUFFIX = ".alignment"


def rng_identity(gen: np.random.Generator) -> dict[str, Any]:
    """What decides a generator's future draws and spawns: its state and seed sequence."""
    seq = getattr(gen.bit_generator, "seed_seq", None)
    out: dict[str, Any] = {"state": gen.bit_generator.state}
    if seq is not None:
        out["seed_seq"] = {"entropy": seq.entropy, "spawn_key": list(seq.spawn_key),
                           "n_children_spawned": seq.n_children_spawned}
    return out


def measure_identity(measure: Callable[..., float]) -> Any:
    """What names a measure in the key: its estimator options, else its qualified name."""
    params = getattr(measure, "params", None)
    if params is not None:
        return dict(params)
    return f"{getattr(measure, '__module__', '?')}.{getattr(measure, '__qualname__', '?')}"


def design_key(config: Mapping[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of ``config`` as canonical JSON."""
    return config_key(config, RESUME_VERSION)


def record_hash(ds: xr.Dataset) -> str:
    """SHA-256 of a record's values: every variable and coordinate, ``dt`` and the time unit
    (:func:`plastix._util.checkpoint.digest`)."""
    return digest({str(n): ds[n].values for n in ds.variables},
                  f"dt={float(ds.attrs.get('dt', 0.0)).hex()}|{ds.attrs.get('time_units')}")


def resume_folder(resume_dir: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    """Create (if needed) and return the folder of this configuration inside ``resume_dir``.

    Writes ``config.json`` there and removes temporary files a killed writer left
    (:func:`plastix._util.checkpoint.keyed_folder`).
    """
    return keyed_folder(resume_dir, config, prefix="design", version=RESUME_VERSION,
                        option="resume_dir")


def _read(path: Path) -> float | None:
    try:
        return float.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None  # absent or unreadable: measure again


def resumable_measure(measure: Callable[[xr.Dataset], float], folder: Path
                      ) -> Callable[[xr.Dataset], float]:
    """``measure`` that reads a session's alignment from ``folder`` if it is there, and
    otherwise measures it and writes it there (atomically) before returning it.

    The wrapper keeps ``measure.params`` and counts ``reused`` and ``measured``
    sessions (attributes).
    """
    def wrapped(record: xr.Dataset) -> float:
        path = folder / (record_hash(record) + _SUFFIX)
        value = _read(path)
        if value is not None:
            wrapped.reused += 1  # type: ignore[attr-defined]
            return value
        value = float(measure(record))
        atomic_write(path, lambda p: p.write_text(value.hex() + "\n", encoding="ascii"))
        wrapped.measured += 1  # type: ignore[attr-defined]
        return value

    wrapped.reused = 0  # type: ignore[attr-defined]
    wrapped.measured = 0  # type: ignore[attr-defined]
    if hasattr(measure, "params"):
        wrapped.params = measure.params  # type: ignore[attr-defined]
    wrapped.folder = folder  # type: ignore[attr-defined]
    # for a design on a cluster: look up and store here, measure on the workers
    wrapped.inner = measure  # type: ignore[attr-defined]
    wrapped.lookup = lambda record: _read(folder / (record_hash(record) + _SUFFIX))  # type: ignore[attr-defined]
    wrapped.store = lambda record, value: atomic_write(  # type: ignore[attr-defined]
        folder / (record_hash(record) + _SUFFIX),
        lambda p: p.write_text(float(value).hex() + "\n", encoding="ascii"))
    return wrapped
