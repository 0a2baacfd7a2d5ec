"""Warnings that point at the user's line, however deep in plastix they are raised."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

__all__ = ["warn_caller"]

_INSIDE = (str(Path(__file__).resolve().parents[1]) + os.sep,
           str(Path(contextlib.__file__).resolve()))
"""Frames from these files are skipped: plastix itself and the wrappers of
:class:`contextlib.ContextDecorator` (``@one_blas_thread()``)."""


def _outside_level() -> int:
    """The ``stacklevel`` of the first frame, counted from :func:`warn_caller`'s caller,
    whose code is neither plastix's nor contextlib's."""
    frame, level = sys._getframe(2), 2  # level 1: warn_caller itself
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_INSIDE):
        frame, level = frame.f_back, level + 1
    return level


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """:func:`warnings.warn` ``message`` at the first line outside plastix that led to it,
    so that the user's filters by module and the printed location name their code."""
    warnings.warn(message, category, stacklevel=_outside_level())
