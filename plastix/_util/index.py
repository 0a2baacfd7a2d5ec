"""A JSON index of finished results in an output folder, updated under a file lock.

The one writer of every resumable run (ANN sweeps, estimate batches): the index is
read afresh, changed and written back atomically while an exclusive ``flock`` on
``.index.lock`` is held, so concurrent writers into one folder lose no entry.  The
empty ``.index.lock`` stays in the folder: removing a lock file that another writer may
have just opened would let two writers hold "the" lock at once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from plastix._util.io import atomic_write

__all__ = ["read_index", "update_index", "index_lock"]


def read_index(folder: Path, name: str = "index.json") -> dict[str, Any]:
    """The index ``folder/name`` as a dict (empty when there is none)."""
    f = Path(folder) / name
    if not f.exists():
        return {}
    return json.loads(f.read_text())


@contextlib.contextmanager
def index_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder``'s indexes (``flock`` on ``.index.lock``; POSIX)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".index.lock", "a+") as f:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one writer per folder at a time
            yield
            return
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def update_index(folder: Path, change: Callable[[dict[str, Any]], None],
                 name: str = "index.json") -> dict[str, Any]:
    """Read the index afresh, apply ``change`` (in place) and write it back atomically,
    under the folder's lock; return the new index."""
    with index_lock(folder):
        index = read_index(folder, name)
        change(index)
        text = json.dumps(index, sort_keys=True, indent=1)
        atomic_write(Path(folder) / name, lambda p: p.write_text(text))
    return index
