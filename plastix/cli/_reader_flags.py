"""Reader options of the command line: how a lab's file maps onto a record.

The flags (``--pre-units``, ``--post-units``, ``--pre-activity``,
``--post-activity``, ``--weights``, ``--synapses``, ``--bin-size``,
``--segments``) and their help lines come from the standard-NWB reader
(:mod:`plastix.io.nwb`), the one place they are defined.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_reader_flags", "reader_options"]

_SEGMENTS_HELP = ("table whose rows are the segments: epochs, trials or none (default: epochs "
                  "when present, else trials); pynapple: an IntervalSet file or none "
                  "(default epochs.npz)")


def _flags(skip: tuple[str, ...]) -> dict[str, str]:
    from plastix.io.nwb import CLI_FLAGS

    flags = {k: v for k, v in CLI_FLAGS.items() if k not in skip}
    flags.setdefault("segments", "--segments")
    return flags


def add_reader_flags(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """Add the reader options as a group of flags (each defaults to None: not given)."""
    from plastix.io.nwb import OPTION_HELP

    group = parser.add_argument_group(
        "mapping a file of units: standard NWB, a pynapple session folder, a Kilosort / Phy "
        "folder (see `plastix inspect FILE`)")
    for name, flag in _flags(skip).items():
        kind = float if name in ("bin_size", "decay") else str
        group.add_argument(flag, dest=f"read_{name}", type=kind, default=None,
                           help=OPTION_HELP.get(name, _SEGMENTS_HELP))


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reader options the user gave, as keywords of :func:`plastix.io.load_record`."""
    return {k.removeprefix("read_"): v for k, v in vars(args).items()
            if k.startswith("read_") and v is not None}
