"""Atomic file writes: a failed write never destroys the previous file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "prepare_out"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path in the target folder, then rename it to ``path``.

    The temporary file keeps ``path``'s suffix (some writers choose the format by
    extension).  If ``write`` raises, the temporary file is removed and any
    previous file at ``path`` is left intact.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def prepare_out(out: Any) -> Path:
    """Check that ``out`` names a folder (str or Path, not an existing file) and create it.

    Returns
    -------
    pathlib.Path
        The folder, created with its parents if needed.
    """
    if not isinstance(out, (str, Path)):
        raise TypeError(f"`out` must be a folder path (str or Path); got {type(out).__name__}.")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"`out` must be a folder; {str(path)!r} is an existing file.")
    path.mkdir(parents=True, exist_ok=True)
    return path
