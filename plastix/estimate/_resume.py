"""The estimator's resume folder: its null replicates saved block by block as they finish.

With ``HebbianEstimator(resume_dir=...)`` the null replicates (the rate kernels' shifted
passes, the spike-time kernels' shifted passes of :func:`plastix.estimate._spikes.spike_null`)
are computed in order and saved in blocks: a block closes once it has run
:data:`CHECKPOINT_EVERY_S` seconds (and at the last replicate), and is written atomically,
floats bit-exact (:func:`plastix._util.checkpoint.save_checkpoint`), with the random
generator's ``bit_generator.state`` at its end.  A rerun reads the blocks back in order,
restores the generator's state after the last one and computes only the rest, so the
replicates, and the bootstrap that draws from the generator afterwards, are the very
numbers of an uninterrupted fit.  A block that is unreadable, of the wrong length or
shape, holds a state the generator refuses, or whose values or state no longer match the
SHA-256 saved with them (``sha256``) is computed again (with every block after it).  The
digest catches damage (a bit flipped on disk, an edit by mistake), not a deliberate
forgery: whoever can write the folder can also write a matching digest.

Layout::

    resume_dir/
      estimate-null-<key>/     key: SHA-256 (16 hex digits) of the configuration
        config.json            what the key was computed from (for people)
        null-<first>.json      one block: its replicates, the generator's state after it
                               and the SHA-256 of both
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.checkpoint import (
    digest,
    jsonable,
    keyed_folder,
    load_checkpoint,
    save_checkpoint,
)
from plastix._util.warn import warn_caller

__all__ = ["CHECKPOINT_EVERY_S", "RESUME_VERSION", "record_identity", "null_folder",
           "check_resume_dir", "warn_unseeded", "UnseededResumeWarning", "resumable_replicates"]

RESUME_VERSION = 1
"""Bumped when the layout or the meaning of the files changes."""

CHECKPOINT_EVERY_S = 10.0
"""Seconds of null replicates per saved block: a kill loses at most about this much work
plus the replicate in flight."""

_ACTIVITY = ("pre_activity", "post_activity")


def check_resume_dir(resume_dir: Any) -> None:
    """Refuse a ``resume_dir`` that is not None or a folder path, before any work."""
    if resume_dir is None:
        return
    if not isinstance(resume_dir, (str, os.PathLike)) or str(resume_dir) == "":
        raise TypeError(f"`resume_dir` must be None or a folder path (str or Path); got "
                        f"{resume_dir!r}.")
    if Path(resume_dir).exists() and not Path(resume_dir).is_dir():
        raise ValueError(f"`resume_dir` must be a folder; {str(resume_dir)!r} is an existing "
                         "file. Give a folder path (it is created when the null starts).")


class UnseededResumeWarning(UserWarning):
    """``resume_dir`` given with ``rng=None``: the work cannot be resumed."""


def warn_unseeded(resume_dir: Any, rng: Any) -> None:
    """Warn when ``resume_dir`` is set but ``rng`` is None: each run then draws fresh
    entropy, keys its folder by it and so reuses nothing a killed run saved (and leaves one
    more folder behind)."""
    if resume_dir is not None and rng is None:
        warn_caller(f"`resume_dir` is {str(resume_dir)!r} but `rng` is None: every run draws "
                    "fresh entropy, so a rerun reuses nothing saved there; pass an int seed "
                    "(e.g. rng=0) to resume.", UnseededResumeWarning)


def record_identity(ds: xr.Dataset) -> dict[str, Any]:
    """What identifies a record in the key of its resume folder, without reading a streamed
    record's activity a second time.

    Every variable and coordinate is hashed by its values (SHA-256), its name, dtype and
    shape, and so are the record's attributes; an activity variable left in its file
    (streamed) is named instead by its shape and dtype and the file's path, size and
    modification time (``ds.encoding["source"]``, else ``ds.attrs["source"]``).  Activity
    held in memory is hashed whole (it may differ from any file it came from).

    Parameters
    ----------
    ds : xarray.Dataset
        A validated record, in memory or lazily opened.

    Returns
    -------
    dict
        ``{"values": hex digest}``, plus ``"file"`` (path, size, mtime_ns) when activity
        was left in a file.
    """
    values, lazy = {}, {}
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        if name in _ACTIVITY and not var._in_memory:
            lazy[name] = f"{var.dtype.str}|{var.shape}|in file"
        else:
            values[name] = var.values
    attrs = json.dumps(jsonable(dict(ds.attrs)), sort_keys=True)
    if not lazy:
        return {"values": digest(values, attrs)}
    src = ds.encoding.get("source") or ds.attrs.get("source")
    try:
        st = os.stat(src)
    except (OSError, TypeError):  # no file to name: its activity is hashed after all
        return {"values": digest({**values, **{n: ds[n].values for n in lazy}}, attrs)}
    return {"values": digest(values, attrs, lazy),
            "file": {"path": str(Path(src).resolve()), "size": st.st_size,
                     "mtime_ns": st.st_mtime_ns}}


def null_folder(resume_dir: Any, config: Mapping[str, Any]) -> Path:
    """Create (if needed) and return the folder of ``config`` inside ``resume_dir``
    (:func:`plastix._util.checkpoint.keyed_folder`)."""
    return keyed_folder(resume_dir, config, prefix="estimate-null", version=RESUME_VERSION,
                        option="resume_dir")


def _block_digest(values: np.ndarray, state: Mapping[str, Any]) -> str:
    """SHA-256 of a block's replicates (float64) and generator state: what detects a block
    damaged or altered since it was saved (not a forgery, which can rewrite it too)."""
    return digest(np.asarray(values, dtype=float),
                  json.dumps(jsonable(state), sort_keys=True))


def _restored(saved: Any, left: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """A saved block's replicates, or None when the block is absent or damaged (its
    values or state do not match the SHA-256 saved with them)."""
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
        return None
    try:
        values = np.asarray(saved.get("values"), dtype=float)
    except (TypeError, ValueError):
        return None
    if values.ndim < 1 or not 0 < values.shape[0] <= left or values.shape[1:] != shape:
        return None
    if saved.get("sha256") != _block_digest(values, saved["state"]):
        return None
    return values


def resumable_replicates(n: int, one: Callable[[], Any], rng: np.random.Generator,
                         folder: Path | None, *, shape: tuple[int, ...] = (),
                         restored: Callable[[int], None] | None = None,
                         announce: bool = False, what: str = "null replicates") -> np.ndarray:
    """``n`` replicates ``one()`` (each drawing from ``rng``), saved block by block in
    ``folder`` and read back from it.

    Parameters
    ----------
    n : int
        Replicates.
    one : callable
        Computes the next replicate (a float, or an array of ``shape``) from ``rng``.
    rng : numpy.random.Generator
        The generator ``one`` draws from; restored to its state after the last saved
        block, so the draws that follow are those of an uninterrupted run.
    folder : Path or None
        The resume folder (:func:`null_folder`); None computes everything, saves nothing.
    shape : tuple of int
        Shape of one replicate.
    restored : callable, optional
        Called with the number of replicates read back (a progress bar's update).
    announce : bool
        Say on stderr how many replicates were read back (one line; the fit's progress
        is shown, as ``infer_weights`` says how many chunks it resumed).
    what : str
        What a replicate is, in that line (the pooled-shift null saves shifted passes,
        from which its replicates are drawn afterwards).

    Returns
    -------
    ndarray (n, *shape)
    """
    out = np.empty((n, *shape))
    done = 0
    while folder is not None and done < n:
        saved = load_checkpoint(folder, f"null-{done:06d}")
        values = _restored(saved, n - done, shape)
        if values is None:
            break
        try:
            rng.bit_generator.state = saved["state"]
        except (TypeError, ValueError, KeyError):
            break
        out[done: done + values.shape[0]] = values
        done += values.shape[0]
        if restored is not None:
            restored(values.shape[0])
    if done and announce:
        print(f"plastix estimate: resumed {done} of {n} {what} from "
              f"{str(folder)!r}", file=sys.stderr, flush=True)
    first, clock = done, time.monotonic()
    for i in range(done, n):
        out[i] = one()
        if folder is not None and (i == n - 1
                                   or time.monotonic() - clock >= CHECKPOINT_EVERY_S):
            values, state = out[first: i + 1], rng.bit_generator.state
            save_checkpoint(folder, f"null-{first:06d}", {
                "values": values, "state": state, "sha256": _block_digest(values, state)})
            first, clock = i + 1, time.monotonic()
    return out
