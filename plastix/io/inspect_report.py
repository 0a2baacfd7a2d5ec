"""The report ``plastix inspect`` prints: :class:`Inspection`, and the flag helpers the
inspectors share.

:class:`Inspection` holds what plastix finds in a file, what an estimate lacks, the
flags that map it and the advice; ``str()`` of it is the report, ending in the command
to run.  The helpers write a reader option as its command-line flag and value
(:func:`_option_flag`, :func:`_flag_value`) and put a reader's refusal's flags in place
of the given ones (:func:`_replace_flags`).  Every inspector (:mod:`plastix.io.inspection`
and the ``inspect_*`` modules) builds on this module; it imports none of them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plastix.io.nwb_scan import cli_flag


@dataclass
class Inspection:
    """What plastix finds in a file (``str()`` gives the readable report).

    Attributes
    ----------
    path : pathlib.Path
        The file.
    format : str
        Its format (``"NetCDF"``, ``"NWB (standard)"``, ...).
    found : list of str
        What plastix finds, one line each.
    missing : list of str
        What an estimate lacks (empty when ``ready``).
    flags : list of str
        Command-line flags that would map the file (``--pre-units location=CA3``…).
    ready : bool
        Whether the file reads as a record with these options.
    record : str
        One-line description of the record read (when ``ready``).
    advice : list of str
        Advice that does not block an estimate (a kernel that fits the record), one
        line each.
    caveat : str
        What ``ready`` depends on that inspect cannot check cheaply (empty if nothing).
    given : str
        The path as the caller wrote it (``in/pairs.csv``, ``session/``): the suggested
        commands name it so (default: ``path``).
    fix : str
        The reader's own fix for what is missing, when the file (not a flag) is at fault
        (a series with more columns than ROIs, epochs in ms); then ``flags`` are the
        options given, to run inspect again with once the file is fixed.
    """

    path: Path
    format: str
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    ready: bool = False
    record: str = ""
    advice: list[str] = field(default_factory=list)
    caveat: str = ""
    given: str = ""
    fix: str = ""

    def typed(self) -> str:
        """The path as the caller wrote it, quoted for the shell."""
        return shlex.quote(self.given or str(self.path))

    def command(self) -> str:
        """The ``plastix estimate`` command line with the flags (each once)."""
        return " ".join(["plastix estimate", self.typed(), *dict.fromkeys(self.flags)])

    def __str__(self) -> str:
        lines = [f"plastix inspect {self.typed()}: {self.format}"]
        lines += [f"  {x}" for x in self.found]
        if self.record:
            lines.append(f"  record: {self.record}")
        if self.missing:
            lines.append("missing for an estimate:")
            lines += [f"  - {x}" for x in self.missing]
        lines += [f"advice: {x}" for x in self.advice]
        if self.fix and not self.ready:
            again = " ".join([f"plastix inspect {self.typed()}", *dict.fromkeys(self.flags)])
            lines.append(f"the fix: {self.fix}")
            lines.append(f"not ready: apply the fix, then run `{again}` again")
            return "\n".join(lines)
        if self.flags or self.ready:  # ready: the command, even without flags
            lines.append("flags that map it:" if not self.ready else "the command:")
            lines.append(f"  {self.command()}")
        if self.ready:
            lines.append("ready for `plastix estimate`"
                         + (f", provided {self.caveat}" if self.caveat else ""))
        elif self.flags:
            lines.append("not ready: add the flags above (adapt the values), then run "
                         f"`plastix inspect {self.typed()}` again with them")
        else:
            lines.append("not ready: see what is missing above")
        return "\n".join(lines)


def _option_flag(name: str, value: Any) -> str:
    """A reader option as its command-line flag and value (``--pre-units 3,4``)."""
    return f"{cli_flag(name)} {_flag_value(value)}"


def _flag_value(v: Any) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(str(x) for x in v)
    return shlex.quote(str(v))


def _replace_flags(ins: Inspection, flags: tuple[str, ...]) -> None:
    """Add a refusal's flags; each replaces a given flag of the same option (a
    ``--pre-units`` the weights contradict gives way to the one they support)."""
    names = {f.split(" ", 1)[0] for f in flags}
    ins.flags = [f for f in ins.flags if f.split(" ", 1)[0] not in names]
    ins.flags += list(flags)
