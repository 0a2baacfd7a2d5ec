"""The ``plastix`` command line: thin wrappers that parse, call a public function, write files.

Each subcommand lives beside the code it drives, in a ``_cli`` module exposing
``add_parser(subparsers)``; it sets ``func`` on its parser.  Heavy packages are
imported only when a subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (subcommand module, in the order shown by --help)
_SUBCOMMANDS = (
    "plastix.experiments._cli",   # reproduce
    "plastix.circuits._cli",      # simulate
    "plastix.estimate._cli",      # estimate
    "plastix.design._cli",        # design
    "plastix._demo_cli",          # demo, datasets
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand."""
    from plastix import __version__

    parser = argparse.ArgumentParser(
        prog="plastix",
        description="Emergent versus mechanistic Hebbian plasticity: reproduce, simulate, "
        "estimate, design.",
    )
    parser.add_argument("--version", action="version", version=f"plastix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name is not None and name.startswith(err.name):  # not built yet
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``plastix`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"plastix {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
