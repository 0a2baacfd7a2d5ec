"""Reader options of the command line: how a lab's file maps onto a record.

The flags (``--pre-units``, ``--post-units``, ``--pre-activity``,
``--post-activity``, ``--weights``, ``--synapses``, ``--bin-size``,
``--segments``) and their help lines come from the standard-NWB reader
(:mod:`plastix.io.nwb`), the one place they are defined.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

__all__ = ["add_reader_flags", "given_reader_flags", "reader_options"]

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
        kind = {"bin_size": _bin_size, "decay": _decay}.get(name, str)
        group.add_argument(flag, dest=f"read_{name}", type=kind, default=None,
                           help=OPTION_HELP.get(name, _SEGMENTS_HELP))


def _decay(text: str) -> float:
    """``--decay``: a known decay rate in 1/s, finite and >= 0 (0: the weights do not
    decay); NaN, infinite or negative values are refused as the flag is read."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a decay rate in 1/s, finite and >= 0 "
                                         f"(0 if the weights do not decay); got {text!r}")
    return value


def _bin_size(text: str) -> float:
    """``--bin-size``: a bin width in s, finite and > 0."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a bin width in seconds, finite and > 0 "
                                         f"(e.g. 0.01); got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reader options the user gave, as keywords of :func:`plastix.io.load_record`."""
    return {k.removeprefix("read_"): v for k, v in vars(args).items()
            if k.startswith("read_") and v is not None}


def given_reader_flags(args: argparse.Namespace) -> list[str]:
    """The reader flags the user gave, as typed (``--bin-size``, ...)."""
    return [flag for name, flag in _flags(()).items()
            if getattr(args, f"read_{name}", None) is not None]
