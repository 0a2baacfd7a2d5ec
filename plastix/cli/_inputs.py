"""Input records of the CLI: read through the format registry, pickles only when allowed."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from plastix.cli._errors import reading
from plastix.cli._registry_help import format_of_path, pickle_suffixes

__all__ = ["add_allow_pickle_flag", "add_sheet_flag", "is_pickle", "input_kind", "check_input",
           "load_input"]


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


def check_allow_pickle(allow_pickle: bool, paths: list[str | Path]) -> None:
    """Refuse ``--allow-pickle`` when none of ``paths`` is a pickle file: the flag would do
    nothing (it lets plastix run the code a pickle holds, and only a pickle holds any)."""
    if allow_pickle and not any(is_pickle(p) for p in paths):
        from plastix.cli._errors import CLIError

        names = ", ".join(repr(Path(p).name or str(p)) for p in paths[:3])
        suffixes = ", ".join(pickle_suffixes())
        which = "is not one" if len(paths) == 1 else "are not pickles"
        raise CLIError(f"`--allow-pickle` lets plastix read a pickle file ({suffixes}), but "
                       f"{names} {which}: drop it.")


def input_kind(path: str | Path) -> str:
    """What an input path names, for a message: a table of pairing experiments, a folder
    (a pynapple session, a Kilosort / Phy folder) or a record file."""
    from plastix.io.table import is_pairing_table

    text = str(path)
    if is_pairing_table(Path(text)):
        return "the table"
    if text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix:
        return "the folder"
    return "the file"


def check_input(path: str | Path, *, allow_pickle: bool = False, name: str | None = None) -> Path:
    """Check an input path before any work: it exists (the loader checks the rest).

    ``name`` names the input in the message (default: what the path is, as
    :func:`input_kind` says: ``the table 'x.csv' does not exist``).
    """
    given = str(path)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name or input_kind(given)} {given!r} does not exist (paths "
                                f"are relative to the working directory {os.getcwd()!r}); "
                                "check its spelling and folder.")
    from plastix.io.formats import check_not_folder_member

    check_not_folder_member(path)
    return path


def load_input(path: str | Path, *, allow_pickle: bool = False, name: str | None = None,
               **options: Any) -> Any:
    """Read a record, turning a reader library's error into one line naming the file.

    ``allow_pickle=True`` lets the loader unpickle (which runs code stored in the file);
    ``options`` are the format's reader options (e.g. standard NWB's ``pre_units``).
    """
    from plastix.io import load_record

    path = check_input(path, allow_pickle=allow_pickle, name=name)
    with reading(path, format_of_path(path)):
        return load_record(path, allow_pickle=allow_pickle, **options)


def open_input(path: str | Path, *, allow_pickle: bool = False, name: str | None = None,
               **options: Any) -> Any:
    """As :func:`load_input`, but without reading the activity when the format can open
    the file lazily (:func:`plastix.io.open_record`): the caller closes the record."""
    from plastix.io import open_record

    path = check_input(path, allow_pickle=allow_pickle, name=name)
    with reading(path, format_of_path(path)):
        return open_record(path, allow_pickle=allow_pickle, **options)
