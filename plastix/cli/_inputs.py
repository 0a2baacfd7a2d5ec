"""Input records of the CLI: read through the format registry, pickles only when allowed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from plastix.cli._errors import reading
from plastix.cli._registry_help import format_of_path, pickle_suffixes

__all__ = ["add_allow_pickle_flag", "add_sheet_flag", "is_pickle", "check_input", "load_input"]


def add_allow_pickle_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-pickle`` to a command that reads records."""
    parser.add_argument("--allow-pickle", action="store_true",
                        help="read pickle files (.pkl); unpickling runs code stored in the "
                        "file, so pass this only for files you made yourself or trust")


def add_sheet_flag(parser: Any) -> None:
    """``--sheet NAME``: the sheet of an .xlsx table of pairing experiments."""
    parser.add_argument("--sheet", default=None, metavar="NAME",
                        help="the sheet of an .xlsx table, by name or 0-based position "
                        "(default: the only sheet, else the first whose header names delta_t)")


def is_pickle(path: str | Path) -> bool:
    """Whether ``path``'s suffix names a pickle format."""
    return Path(path).suffix.lower() in pickle_suffixes()


def check_input(path: str | Path, *, allow_pickle: bool = False, name: str = "`record`") -> Path:
    """Check an input file before any work: it exists (the loader checks the rest)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name} {str(path)!r} does not exist.")
    return path


def load_input(path: str | Path, *, allow_pickle: bool = False, name: str = "`record`",
               **options: Any) -> Any:
    """Read a record, turning a reader library's error into one line naming the file.

    ``allow_pickle=True`` lets the loader unpickle (which runs code stored in the file);
    ``options`` are the format's reader options (e.g. standard NWB's ``pre_units``).
    """
    from plastix.io import load_record

    path = check_input(path, allow_pickle=allow_pickle, name=name)
    with reading(path, format_of_path(path)):
        return load_record(path, allow_pickle=allow_pickle, **options)


def open_input(path: str | Path, *, allow_pickle: bool = False, name: str = "`record`",
               **options: Any) -> Any:
    """As :func:`load_input`, but without reading the activity when the format can open
    the file lazily (:func:`plastix.io.open_record`): the caller closes the record."""
    from plastix.io import open_record

    path = check_input(path, allow_pickle=allow_pickle, name=name)
    with reading(path, format_of_path(path)):
        return open_record(path, allow_pickle=allow_pickle, **options)
