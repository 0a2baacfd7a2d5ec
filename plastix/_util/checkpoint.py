"""Resume folders: one folder per configuration, small JSON checkpoints with exact floats.

Long work that saves as it goes (a design's sessions, a circuit sweep's points) keeps
its results in a folder named by a hash of everything that decides them, so another
configuration never reads them, and writes each result atomically as soon as it is
done, floats in hex (bit-exact), so a rerun reads back the very numbers.

Layout::

    root/
      <prefix>-<key>/        key: SHA-256 (16 hex digits) of the configuration as JSON,
                             with plastix's version and source digest
        config.json          what the key was computed from (for people)
        <name>.json          one checkpoint each (:func:`save_checkpoint`)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.io import atomic_write

__all__ = ["jsonable", "code_digest", "source_digest", "config_key", "keyed_folder",
           "save_checkpoint", "load_checkpoint", "write_named", "digest",
           "remove_resume_folder", "holds_work", "STALE_CHECKPOINT_TEMP_S"]

STALE_CHECKPOINT_TEMP_S = 300.0
"""Temporary files in a resume folder older than this (seconds) were left by a killed
writer: removed when the folder is opened."""


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values (dataclasses tagged with their type, mappings sorted by
    key, arrays as lists, anything else as its ``repr``), for hashing and for people."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__, **jsonable(dataclasses.asdict(obj))}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


@functools.cache
def code_digest() -> str:
    """First 16 hex digits of the SHA-256 of plastix's own Python source (every ``.py``
    file of the package, by relative path and bytes), read once per process.

    Part of every resume key: saved work from other code (an upgrade between two runs,
    or a local edit, which the version number does not show) could hold other numbers,
    so it is never read; the work is done again.
    """
    return source_digest(Path(__file__).resolve().parents[1])


def source_digest(root: Path) -> str:
    """First 16 hex digits of the SHA-256 of the ``.py`` files under ``root`` (relative
    paths and bytes, in sorted order)."""
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def config_key(config: Mapping[str, Any], version: int) -> str:
    """First 16 hex digits of the SHA-256 of ``config``, the plastix version, its source
    (:func:`code_digest`) and the layout ``version``, as canonical JSON."""
    from plastix import __version__

    full = {"config": jsonable(config), "plastix": __version__, "code": code_digest(),
            "resume_version": version}
    text = json.dumps(full, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def keyed_folder(root: Any, config: Mapping[str, Any], *, prefix: str, version: int,
                 option: str) -> Path:
    """Create (if needed) and return ``root/<prefix>-<key>`` for ``config``.

    Writes ``config.json`` there and removes temporary files a killed writer left
    (named as :func:`plastix._util.io.atomic_write` names them; a user's hidden file
    stays).
    ``option`` names the argument ``root`` came from, for the one-line refusal of a
    path that is not a folder.
    """
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"`{option}` must be a folder path (str or Path); got "
                        f"{type(root).__name__}.")
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"`{option}` must be a folder; {str(root)!r} is an existing file.")
    folder = root / f"{prefix}-{config_key(config, version)}"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for tmp in folder.glob(".*"):
        try:
            if (_TEMP.fullmatch(tmp.name) and tmp.is_file()
                    and now - tmp.stat().st_mtime > STALE_CHECKPOINT_TEMP_S):
                tmp.unlink()
        except OSError:  # pragma: no cover - removed by another process meanwhile
            pass
    cfg = folder / "config.json"
    if not cfg.exists():
        text = json.dumps(jsonable(config), indent=1, sort_keys=True) + "\n"
        write_named(cfg, lambda p: p.write_text(text, encoding="utf-8"))
    return folder


def write_named(path: Path, write: Callable[[Path], Any]) -> None:
    """:func:`plastix._util.io.atomic_write` of ``path``, an OSError without a file name
    (a full disk while writing) raised again naming ``path``, so that the message can say
    which folder could not be written."""
    try:
        atomic_write(path, write)
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err


def _exact(obj: Any) -> Any:
    """``obj`` as JSON with every float exact (``{"__f__": float.hex}``)."""
    if isinstance(obj, (float, np.floating)):
        return {"__f__": float(obj).hex()}
    if isinstance(obj, np.ndarray):
        return [_exact(x) for x in obj.tolist()]
    if isinstance(obj, (list, tuple)):
        return [_exact(x) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): _exact(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _unexact(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_unexact(x) for x in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__f__"}:
            return float.fromhex(obj["__f__"])
        return {k: _unexact(v) for k, v in obj.items()}
    return obj


def save_checkpoint(folder: Path, name: str, value: Any) -> None:
    """Write ``value`` (JSON-able; floats and arrays kept bit-exact) as ``name``.json in
    ``folder``, atomically."""
    text = json.dumps(_exact(value), separators=(",", ":")) + "\n"
    write_named(folder / f"{name}.json", lambda p: p.write_text(text, encoding="utf-8"))


def load_checkpoint(folder: Path, name: str) -> Any | None:
    """The value :func:`save_checkpoint` wrote as ``name``, or None when absent or
    unreadable (the work is done again).  Arrays come back as lists."""
    try:
        return _unexact(json.loads((folder / f"{name}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def digest(*parts: Any) -> str:
    """SHA-256 (hex) of arrays, nested in tuples, lists and mappings (keys sorted), with
    their dtypes and shapes: what identifies the data a result is computed from.

    Text and object arrays are hashed as JSON of their strings; every other array by its
    bytes.
    """
    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, Mapping):
            for k in sorted(x, key=str):
                h.update(f"<{k!s}>".encode())
                feed(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(f"[{len(x)}".encode())
            for v in x:
                feed(v)
        else:
            a = np.ascontiguousarray(np.asarray(x))
            if a.dtype.kind in "OUS":
                a = np.asarray(json.dumps(a.astype(str).tolist()))
            h.update(f"{a.dtype.str}{a.shape}|".encode())
            h.update(a.reshape(-1).view(np.uint8))  # its bytes, not a copy of them

    for p in parts:
        feed(p)
    return h.hexdigest()


_KEYED = re.compile(r"^[a-z][a-z0-9-]*-[0-9a-f]{16}$")
"""The name of a configuration's folder (:func:`keyed_folder`): ``<prefix>-<key>``."""
_WRITTEN = re.compile(r"config\.json|null-\d{6}\.json|(?:ccg|glm)(?:-\d+)+\.npz")
"""The names plastix writes in a configuration's folder: ``config.json``, the null's
blocks (``null-NNNNNN.json``, :mod:`plastix.estimate._resume`) and the inference's chunks
(``ccg-G-A-B-I0-I1.npz``, ``glm-A-B.npz``, :mod:`plastix.estimate.infer`)."""
_TEMP = re.compile(r"\.(?P<name>.+)\.\d+-[0-9a-f]{8}-[a-z0-9_]{8}(?P<suffix>\.[a-z]+)")
"""A temporary file of :func:`plastix._util.io.atomic_write`: ``temp_prefix(NAME)``
(``.NAME.PID-HOST-``), 8 random characters and NAME's suffix."""


def _written(name: str) -> bool:
    """Whether ``name`` is one plastix writes in a configuration's folder (a checkpoint,
    ``config.json``, a chunk, or the temporary file of one's atomic write)."""
    if _WRITTEN.fullmatch(name):
        return True
    tmp = _TEMP.fullmatch(name)
    return bool(tmp and _WRITTEN.fullmatch(tmp["name"])
                and tmp["name"].endswith(tmp["suffix"]))


def _ours(folder: Path) -> Iterable[Path]:
    for p in folder.iterdir():
        if p.is_file() and not p.is_symlink() and _written(p.name):
            yield p


def holds_work(root: str | os.PathLike) -> bool:
    """Whether the resume folder ``root`` holds finished work: a checkpoint or chunk in
    one of its configuration folders (``config.json`` alone is no work)."""
    root = Path(root)
    try:
        return any(p.name != "config.json" and _WRITTEN.fullmatch(p.name)
                   for folder in root.iterdir()
                   if folder.is_dir() and _KEYED.match(folder.name) for p in _ours(folder))
    except OSError:
        return root.is_dir()  # cannot tell: say it is kept


def remove_resume_folder(root: str | os.PathLike,
                         failed: list[OSError] | None = None) -> bool:
    """Remove plastix's files from the resume folder ``root`` (in its configuration
    folders ``<prefix>-<key>/``) and the folders left empty; anything else there stays,
    with its folders.  Returns whether ``root`` is gone.

    Never raises OSError: a file that cannot be removed is left (its error appended to
    ``failed`` when given) and the rest is removed all the same.
    """
    root = Path(root)
    failed = [] if failed is None else failed
    try:
        if not root.is_dir():
            return not root.exists()
        folders = list(root.iterdir())
    except OSError as err:
        failed.append(err)
        return False
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink() or not _KEYED.match(folder.name):
            continue
        try:
            ours = list(_ours(folder))
        except OSError as err:
            failed.append(err)
            continue
        for p in ours:
            try:
                p.unlink(missing_ok=True)
            except OSError as err:
                failed.append(err)
        try:
            folder.rmdir()
        except OSError:  # something else is there: keep it
            pass
    try:
        root.rmdir()
    except OSError:
        return False
    return True
