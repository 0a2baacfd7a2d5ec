"""Input records of the CLI: read through the format registry, pickles only when allowed."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any

from plastix.cli._errors import CLIError, reading
from plastix.cli._registry_help import format_of_path, pickle_suffixes

__all__ = ["add_allow_pickle_flag", "is_pickle", "record_io", "check_input", "load_input"]


def add_allow_pickle_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-pickle`` to a command that reads records."""
    parser.add_argument("--allow-pickle", action="store_true",
                        help="read pickle files (.pkl); unpickling runs code stored in the "
                        "file, so pass this only for files you made yourself or trust")


def is_pickle(path: str | Path) -> bool:
    """Whether ``path``'s suffix names a pickle format."""
    return Path(path).suffix.lower() in pickle_suffixes()


def record_io():
    """``(load_record, save_record)`` of the format registry's package."""
    try:
        from plastix.io import load_record, save_record
    except ImportError:  # fallback: before the plastix.io package
        from plastix.record import load_record, save_record
    return load_record, save_record


def _loader_checks_files() -> bool:
    """Whether the loader itself refuses folders and pickles (``allow_pickle=``)."""
    return "allow_pickle" in inspect.signature(record_io()[0]).parameters


def check_input(path: str | Path, *, allow_pickle: bool = False, name: str = "`record`") -> Path:
    """Check an input file before any work: it exists, and is no pickle unless allowed."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name} {str(path)!r} does not exist.")
    if _loader_checks_files():  # the loader's own checks and messages
        return path
    # fallback: before the loader took allow_pickle (plastix.io)
    if path.is_dir():
        raise CLIError(f"{name} {str(path)!r} is a folder, not a file; pass the record file "
                       "itself.")
    if is_pickle(path) and not allow_pickle:
        raise CLIError(f"{name} {str(path)!r} is a pickle file, and reading a pickle runs any "
                       "code stored in it. Pass --allow-pickle only for a file you made "
                       "yourself or trust; better, save the record as NetCDF (.nc) or NIX.")
    return path


def load_input(path: str | Path, *, allow_pickle: bool = False, name: str = "`record`") -> Any:
    """Read a record, turning a reader library's error into one line naming the file.

    ``allow_pickle`` reaches the loader when it takes that keyword.
    """
    load = record_io()[0]
    kw = {"allow_pickle": True} if allow_pickle and _loader_checks_files() else {}
    path = check_input(path, allow_pickle=allow_pickle, name=name)
    with reading(path, format_of_path(path)):
        return load(path, **kw)
