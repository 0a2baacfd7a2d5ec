"""The resume folder of :func:`plastix.estimate.infer_weights`: each chunk kept as it ends.

The inference is cut into chunks done in a fixed order (``ccg``: a segment's run of
windows and a block of post units; ``glm``: a block of windows).  With
``resume_dir=`` each finished chunk is written at once, atomically, so a killed run
loses only the chunk in flight, and a rerun reads the finished ones back and
computes the rest, to the same bits as an uninterrupted run.

Layout::

    resume_dir/
      infer-<key>/         one folder per configuration (plastix._util.checkpoint)
        config.json        what the key was computed from (for people)
        <chunk>.npz        one per finished chunk: its weights and SEMs (float64),
                           the (pre spike, post unit) pairs it left out, and, when
                           surrogates are drawn, the generator's state at its end;
                           ``sha256``: the SHA-256 of all of these

``<key>`` hashes everything that decides the numbers: the method and its
parameters, the spike trains, the windows, the post units' unrecorded time, the
generator's state at the start (only when surrogates are drawn) and the plastix
version and source; the measured weights, which the inference ignores, are not in it.  A chunk
file that cannot be read, holds arrays of the wrong shape or type, or whose arrays no
longer match the SHA-256 saved with them (``sha256``, over every other array) is
computed again, never trusted.  The digest catches damage (a bit flipped on disk, an
edit by mistake), not a deliberate forgery: whoever can write the folder can write a
matching digest too.  Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.checkpoint import digest, keyed_folder, write_named

__all__ = ["RESUME_VERSION", "PREFIX", "ChunkStore", "open_store"]

RESUME_VERSION = 2
"""Bumped when the layout or the meaning of the chunk files changes."""
PREFIX = "infer"
"""Start of the name of each configuration's folder inside ``resume_dir``."""
_SUFFIX = ".npz"
_DIGEST = "sha256"
"""The array of a chunk file holding the SHA-256 (hex) of all its other arrays."""


def _state_text(rng: np.random.Generator) -> str:
    """The generator's ``bit_generator.state`` as JSON (arrays as lists)."""
    return json.dumps(rng.bit_generator.state, default=lambda v: np.asarray(v).tolist())


def _state_of(text: Any, rng: np.random.Generator) -> dict | None:
    """The state in ``text`` if it is one ``rng``'s bit generator accepts, else None."""
    try:
        state = json.loads(str(text))
        probe = type(rng.bit_generator)()
        probe.state = state  # raises on a malformed state
    except (ValueError, TypeError, KeyError):
        return None
    return state


class ChunkStore:
    """The finished chunks of one inference, in ``folder`` (None: nothing is kept).

    A chunk is ``(name, {array: index})``: each array of the result it fills (by its
    name in ``targets``) and the part of it, a tuple of slices.

    Parameters
    ----------
    folder : Path or None
        The configuration's folder (:func:`open_store`); None keeps nothing.
    rng : numpy.random.Generator or None
        The generator whose state is saved at each chunk's end and restored when a
        finished chunk is read back (None when the method draws nothing).
    """

    def __init__(self, folder: Path | None, rng: np.random.Generator | None = None):
        self.folder, self.rng = folder, rng
        self.states: dict[int, dict] = {}
        self.dropped: dict[int, int] = {}

    def resume(self, chunks: list[tuple[str, dict]], targets: dict[str, np.ndarray],
               progress: Any = None) -> set[int]:
        """Fill ``targets`` from the finished chunks in the folder; return their indices.

        Prints ``plastix infer-weights: resumed N of M chunks from 'FOLDER'`` on stderr
        when it read any (not with ``progress=False``).
        """
        done = set()
        if self.folder is None:
            return done
        for c, (name, parts) in enumerate(chunks):
            got = self._read(name, {k: targets[k][ix].shape for k, ix in parts.items()})
            if got is None:
                continue
            for k, ix in parts.items():
                targets[k][ix] = got[k]
            self.dropped[c] = int(got["dropped"])
            if "state" in got:
                self.states[c] = got["state"]
            done.add(c)
        if done and progress is not False:
            print(f"plastix infer-weights: resumed {len(done)} of {len(chunks)} chunks from "
                  f"{str(self.folder)!r}", file=sys.stderr, flush=True)
        return done

    def _read(self, name: str, shapes: dict[str, tuple]) -> dict | None:
        """The arrays of chunk ``name`` if its file holds all of them, float64 of the
        expected ``shapes``, an integer ``dropped`` and (with a generator) a state it
        accepts, all matching the SHA-256 saved with them; else None (computed again)."""
        path = self.folder / (name + _SUFFIX)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as f:
                saved = {k: f[k] for k in f.files if k != _DIGEST}
                sha = str(f[_DIGEST]) if _DIGEST in f.files else None
            got = {k: saved[k] for k in (*shapes, "dropped", *(("state",) if self.rng else ()))}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        if sha != digest(saved):  # damaged (or altered) since it was written
            return None
        if any(got[k].dtype != np.float64 or got[k].shape != s for k, s in shapes.items()):
            return None
        if got["dropped"].shape != () or got["dropped"].dtype.kind not in "iu":
            return None
        if self.rng is not None:
            got["state"] = _state_of(got["state"], self.rng)
            if got["state"] is None:
                return None
        return got

    def restore(self, c: int) -> int:
        """Set the generator to the state saved at the end of finished chunk ``c``;
        return the pairs that chunk left out."""
        if self.rng is not None:
            self.rng.bit_generator.state = self.states[c]
        return self.dropped[c]

    def save(self, chunk: tuple[str, dict], targets: dict[str, np.ndarray],
             dropped: int = 0) -> None:
        """Write a finished chunk (its parts of ``targets``, ``dropped`` and the
        generator's state now), atomically."""
        if self.folder is None:
            return
        name, parts = chunk
        arrays = {k: np.ascontiguousarray(targets[k][ix]) for k, ix in parts.items()}
        arrays["dropped"] = np.asarray(int(dropped), dtype=np.int64)
        if self.rng is not None:
            arrays["state"] = np.asarray(_state_text(self.rng))
        arrays[_DIGEST] = np.asarray(digest(arrays))
        write_named(self.folder / (name + _SUFFIX), lambda p: np.savez(p, **arrays))


def open_store(resume_dir: Any, config: Mapping[str, Any],
               rng: np.random.Generator | None = None) -> ChunkStore:
    """The :class:`ChunkStore` of ``config`` inside ``resume_dir`` (created now), or one
    that keeps nothing when ``resume_dir`` is None."""
    if resume_dir is None:
        return ChunkStore(None, rng)
    return ChunkStore(keyed_folder(resume_dir, config, prefix=PREFIX, version=RESUME_VERSION,
                                   option="resume_dir"), rng)
