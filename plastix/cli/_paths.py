"""Output paths of the CLI, resolved and checked before any work.

Every command calls :func:`check_outputs` before it reads, simulates or
estimates anything.  An output never replaces an input (compared by resolved
path and by inode, so symbolic and hard links count), never replaces an
existing file the user did not name unless ``--overwrite`` is given, and its
folder is tried for writing first.
"""

from __future__ import annotations

import argparse
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from plastix._util.io import TEMP_EXTRA
from plastix.cli._errors import CLIError

__all__ = ["input_name", "input_stem", "is_folder_target", "check_outputs", "check_folder",
           "add_overwrite_flag", "add_rng_flag", "folder_arg"]



def input_name(path: Path) -> str:
    """The name an input is shown and its results are named by: the last part of the path,
    or of the folder it resolves to when it has none (``.``, ``..``, ``/data/``)."""
    return path.name if path.name not in ("", ".", "..") else path.resolve().name or str(path)


def input_stem(path: Path) -> str:
    """:func:`input_name` without a file's suffix; a folder keeps its whole name
    (``rat1.day2/`` is ``rat1.day2``)."""
    name = input_name(path)
    return name if path.is_dir() else Path(name).stem

def add_overwrite_flag(parser) -> None:
    """Add ``--overwrite`` to a subcommand's parser."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing output files that you did not name (an input "
                        "file is never replaced)")


def add_rng_flag(parser, help_text: str = "master seed (default 0)") -> None:
    """Add ``--rng N`` (and ``--seed N``, its hidden deprecated spelling) to a parser."""
    parser.add_argument("--rng", type=int, default=0, help=help_text)
    parser.add_argument("--seed", type=int, dest="rng", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)


def is_folder_target(text: str | os.PathLike, flag: str = "--out") -> bool:
    """Whether ``--out`` names a folder: it ends in ``/`` or is an existing folder.

    Raises
    ------
    CLIError
        For an empty ``text`` (it would mean the working folder) and for an existing
        device, fifo or socket (``/dev/null``: no file is written there, nor beside it),
        before anything is resolved from it.
    """
    text = os.fspath(text)
    if not text.strip():
        raise CLIError(f"{flag} is empty ({text!r}; an unset shell variable?); give an output "
                       f"file or folder, e.g. {flag} results/.")
    _refuse_special(Path(text), flag)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def folder_arg(text: str) -> Path:
    """``type=`` of an ``--out`` that names a folder: the path; an empty one (which would
    mean the working folder) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"it is empty ({text!r}; an unset shell variable?); "
                                         "give an output folder, e.g. --out results/")
    return Path(text)


_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a fifo (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _refuse_special(path: Path, flag: str) -> None:
    """Refuse an output path that exists and is neither a regular file nor a folder."""
    try:
        mode = path.stat().st_mode
    except OSError:  # not there (or not reachable): the other checks say so
        return
    kind = next((what for test, what in _SPECIAL if test(mode)), None)
    if kind is not None:
        raise CLIError(f"{flag}: {str(path)!r} is {kind}, not a file or a folder, and plastix "
                       f"writes files; give a file name or a folder, e.g. {flag} results/.")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _probe_folder(folder: Path, flag: str) -> None:
    """Fail now if nothing can be written in ``folder`` (or its nearest existing parent)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CLIError(f"{flag}: cannot write in {str(folder)!r}: {str(existing)!r} is a file, "
                       "not a folder. Choose another output location.")
    try:
        fd, tmp = tempfile.mkstemp(dir=existing, prefix=".plastix-write-test-")
    except OSError as err:
        raise CLIError(f"{flag}: cannot write in {str(existing)!r} ({err.strerror or err}). "
                       "Choose a writable output location.") from err
    os.close(fd)
    os.unlink(tmp)


def check_outputs(outputs: Sequence[Path], *, inputs: Iterable[Path] = (),
                  named: Iterable[Path] = (), overwrite: bool = False,
                  flag: str = "--out") -> list[Path]:
    """Check the files a command will write, before it does any work.

    Parameters
    ----------
    outputs : sequence of Path
        Every file the command will write.
    inputs : iterable of Path
        Files the command reads; no output may replace one, even with ``overwrite``.
    named : iterable of Path
        Outputs the user named exactly (replacing those is what they asked for).
    overwrite : bool
        Allow replacing existing outputs the user did not name.
    flag : str
        The option that set the outputs, for the messages.

    Returns
    -------
    list of Path
        ``outputs``, unchanged.

    Raises
    ------
    CLIError
        With one line saying which output, why, and what to do.
    """
    inputs = [Path(p) for p in inputs]
    named_resolved = {Path(p).resolve() for p in named}
    for out in outputs:
        out = Path(out)
        for src in inputs:
            if _same_file(out, src):
                raise CLIError(f"{flag}: the output {str(out)!r} would replace the input "
                               f"{str(src)!r}; choose another output name (an input is never "
                               "overwritten, even with --overwrite).")
        if out.is_dir():
            raise CLIError(f"{flag}: the output {str(out)!r} is an existing folder; choose a "
                           "file name.")
        _refuse_special(out, flag)
        _check_name_length(out, flag)
        if out.exists() and out.resolve() not in named_resolved and not overwrite:
            raise CLIError(f"{flag}: {str(out)!r} exists and would be replaced; pass "
                           "--overwrite to replace it, or choose another output location.")
    for folder in dict.fromkeys(Path(o).parent for o in outputs):
        _probe_folder(folder, flag)
    return list(outputs)


NAME_MAX = 255
"""Bytes in one file name on the usual file systems (ext4, APFS, NTFS: 255)."""


def _check_name_length(out: Path, flag: str) -> None:
    """Refuse, before any work, a name too long for its temporary file to be written."""
    room = NAME_MAX - TEMP_EXTRA - len(out.suffix.encode())
    size = len(os.fsencode(out.name))
    if size > room:
        raise CLIError(f"{flag}: the output name {out.name[:40]!r}... is {size} bytes; with the "
                       f"temporary file of an atomic write it must stay under {room + 1} bytes "
                       "(file systems allow 255): choose a shorter name.")


def check_folder(folder: str | os.PathLike, *, flag: str = "--out") -> Path:
    """Check an output folder before any work: not an existing file, and writable."""
    folder = Path(folder)
    _refuse_special(folder, flag)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"{flag}: {str(folder)!r} is an existing file; it must be a folder. "
                       "Choose another output location.")
    _probe_folder(folder, flag)
    return folder
