"""Exception types and message helpers shared across plastix."""

from __future__ import annotations

import difflib
import os
import shlex
from collections.abc import Iterable

__all__ = ["SchemaError", "MappingError", "FileFormatError", "UnsafeFileError", "did_you_mean",
           "check_choice"]


class SchemaError(ValueError):
    """A plastix record (or a Neo block read as one) breaks the schema."""


class MappingError(SchemaError):
    """A lab's files that cannot be mapped onto a record (a pynapple session, a Phy folder).

    The message is one line: what is wrong, what was found, the fix and ``plastix
    inspect``; ``what`` is the reason alone and ``flags`` the command-line flags that
    would map the files (``plastix inspect`` lists them); ``path``, the files as the user
    gave them (default ``source``), is what the ``plastix inspect`` command names.
    """

    def __init__(self, source: str, label: str, what: str, found: str, todo: str,
                 flags: tuple[str, ...] = (), path: str | os.PathLike | None = None) -> None:
        typed = shlex.quote(str(path if path is not None else source))
        super().__init__(f"cannot map {source!r} ({label}) to a record: {what}. Found: {found}. "
                         f"{todo}; run `plastix inspect {typed}` to see what plastix finds and "
                         "the flags that map it.")
        self.what, self.flags = what, tuple(flags)


class FileFormatError(OSError, ValueError):
    """A file cannot be read as the format its suffix names.

    Empty, truncated or corrupt files, a directory in place of a file, and a file
    whose content is another format than its suffix says.  The message is one
    line: the file, the format, the probable cause and what to do.  It is an
    ``OSError`` (the file is at fault) and a ``ValueError`` (as every plastix
    input error), like :class:`io.UnsupportedOperation`.
    """


class UnsafeFileError(ValueError):
    """A file whose reading can run code (a pickle) was not explicitly allowed."""


def did_you_mean(name: str, choices: Iterable[str], cutoff: float = 0.5) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice (difflib similarity at least
    ``cutoff``), or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=cutoff)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices``; raise a ``ValueError`` otherwise.

    Parameters
    ----------
    name : str
        Name of the argument, used in the message.
    value : object
        The value given by the user.
    choices : iterable of str
        Allowed values.

    Returns
    -------
    str
        ``value`` unchanged.
    """
    choices = list(choices)
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}."
            + did_you_mean(str(value), choices)
        )
    return value  # type: ignore[return-value]
