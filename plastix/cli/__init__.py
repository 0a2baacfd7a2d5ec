"""The ``plastix`` command line: thin wrappers that parse, call a public function, write files.

One module per subcommand in this package (:mod:`~plastix.cli.reproduce`,
:mod:`~plastix.cli.simulate`, :mod:`~plastix.cli.inspect`,
:mod:`~plastix.cli.infer_weights`, :mod:`~plastix.cli.estimate`,
:mod:`~plastix.cli.design`, :mod:`~plastix.cli.demo`), each exposing
``add_parser(subparsers)`` and setting ``func`` on its parser.  Heavy packages
are imported only when a subcommand runs.  Help texts and choices of rules,
kernels and formats come from the registries (:mod:`plastix.cli._registry_help`).

Every command checks its output paths before any work
(:mod:`plastix.cli._paths`).  Whatever a user can cause ends in one line,
``plastix CMD: error: ...``, and exit code 2; ``plastix --debug CMD ...``
shows the traceback instead.  On the console (:func:`console`) each warning is
one line too, ``plastix: warning: ...``, not Python's file-and-source-line form.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = ["main", "console", "build_parser"]

# subcommand modules, in the order shown by --help
_SUBCOMMANDS = ("reproduce", "simulate", "inspect", "infer_weights", "estimate", "design", "demo")

_DEBUG_HELP = "show the full traceback of an error instead of one line"


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (the command, what is wrong,
    where the usage is), not the usage block; its subcommands' parsers are of this class."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (usage: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    from plastix import __version__

    parser = OneLineParser(
        prog="plastix",
        description="Emergent versus mechanistic Hebbian plasticity: reproduce, simulate, "
        "estimate, design.",
    )
    parser.add_argument("--version", action="version", version=f"plastix {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        importlib.import_module(f"plastix.cli.{name}").add_parser(sub)
    for command in sub.choices.values():  # `--debug` also after the subcommand
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=_DEBUG_HELP)
        command.formatter_class = _DefaultsHelp
    return parser


class _DefaultsHelp(argparse.HelpFormatter):
    """Help that ends each option's text with its default, unless the text gives it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default in (None, False, argparse.SUPPRESS) or not action.option_strings
                or "default" in text or f"({default})" in text or "%(default)" in text):
            return text
        return f"{text} (default: %(default)s)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``plastix`` console script; returns the exit code.

    0 on success, 1 when a command ran but found a problem it reports (a demo
    piece failed, a dataset does not match), 2 for a usage or input error
    (one line on stderr), 130 when interrupted (143 on SIGTERM, under :func:`console`).
    """
    from plastix.cli._errors import one_line

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unrecognized(parser, args, extra)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `plastix inspect f | head`: the reader has gone
        _quiet_stdout()
        return 141  # as a shell reports a command ended by SIGPIPE
    except KeyboardInterrupt as err:
        if args.debug:
            raise
        how = "terminated" if isinstance(err, Terminated) else "interrupted"
        print(f"plastix {args.command}: {how}.", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except Exception as err:  # MemoryError included: one line, the traceback with --debug
        if args.debug:
            raise
        line = as_flags(one_line(err), _subparser(parser, args.command))
        print(f"plastix {args.command}: error: {line}", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's final flush of a pipe
    whose reader has gone prints no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (captured, closed)
        pass


def _unrecognized(parser: argparse.ArgumentParser, args: argparse.Namespace,
                  extra: list[str]) -> None:
    """Exit with one line naming the subcommand whose flags ``extra`` are not, and the
    closest flag it has."""
    import difflib

    command = getattr(args, "command", None)
    owner = _subparser(parser, command) if command else parser
    flags = [o for a in owner._actions for o in a.option_strings if o.startswith("--")]
    first = next((x.split("=")[0] for x in extra if x.startswith("-")), "")
    close = difflib.get_close_matches(first, flags, n=1, cutoff=0.75) if first else []
    hint = f"; did you mean {close[0]}?" if close else ""
    owner.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def as_flags(text: str, parser: argparse.ArgumentParser) -> str:
    """A message with each option named in backticks as Python spells it (`` `n_boot` ``)
    named as the command's flag (`` `--n-boot` ``), unless the flag follows already."""
    flags = {opt[2:].replace("-", "_"): opt for action in parser._actions
             for opt in action.option_strings if opt.startswith("--")}

    def flag(m: re.Match) -> str:
        name = m[1]
        if name not in flags or text[m.end():].startswith(f" ({flags[name]}"):
            return m[0]
        return f"`{flags[name]}`"

    return re.sub(r"`([a-z][a-z0-9_]*)`", flag, text)


def console(argv: list[str] | None = None) -> int:
    """The ``plastix`` console script: :func:`main` with each warning printed once, as one
    line on stderr (``plastix: warning: ...``, or ``plastix: warning (pynwb): ...`` for
    another package's), and SIGTERM (``kill``, ``timeout``, a batch scheduler's end of
    time) handled like Ctrl-C, so that a write in progress removes its temporary file and
    the finished work is kept; the warning settings and the handler are restored on
    return."""
    with warnings.catch_warnings(), _terminate_as_interrupt(), _brian2_log_as_warnings():
        warnings.showwarning = _WarningPrinter()
        return main(argv)


class _Brian2Lines(logging.Handler):
    """On the ``brian2`` logger while the console runs: each WARNING or worse that Brian2
    logs becomes a Python warning from Brian2's own file (printed as one
    ``plastix: warning (brian2): ...`` line), and Brian2's console handler, once it
    exists, is filtered so that it does not print the record a second time."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.muted: logging.Handler | None = None

    def mute(self) -> None:
        """Filter Brian2's console handler, when Brian2 has made it (it is made when
        Brian2 is imported, before or after the console starts)."""
        own = getattr(sys.modules.get("brian2.utils.logger"), "BrianLogger", None)
        console = getattr(own, "console_handler", None)
        if console is not None and console is not self.muted:
            self.unmute()
            console.addFilter(_below_warning)
            self.muted = console

    def emit(self, record: logging.LogRecord) -> None:
        self.mute()
        warnings.warn_explicit(record.getMessage(), UserWarning, record.pathname,
                               record.lineno, module=record.module)

    def unmute(self) -> None:
        """Take the filter off Brian2's console handler (``release`` is the lock's)."""
        if self.muted is not None:
            self.muted.removeFilter(_below_warning)
            self.muted = None


def _below_warning(record: logging.LogRecord) -> bool:
    return record.levelno < logging.WARNING


@contextlib.contextmanager
def _brian2_log_as_warnings() -> Iterator[None]:
    """Inside the block, Brian2's logged warnings are plastix's warning lines
    (:class:`_Brian2Lines`); the ``brian2`` logger and its console handler are restored on
    exit."""
    lines = _Brian2Lines()
    logger = logging.getLogger("brian2")
    logger.addHandler(lines)
    lines.mute()  # Brian2 imported already: its handler comes first, mute it now
    try:
        yield
    finally:
        logger.removeHandler(lines)
        lines.unmute()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that cleanups run as for Ctrl-C."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    old = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


class _WarningPrinter:
    """``warnings.showwarning`` of :func:`console`: the message alone, on one line, each
    text once per command, labelled with the package that raised it when not plastix."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        origin = _package_of(filename)
        label = "" if origin in ("plastix", None) else f" ({origin})"
        if (label, text) in self.seen:
            return
        self.seen.add((label, text))
        print(f"plastix: warning{label}: {text}", file=sys.stderr if file is None else file)


def _package_of(filename: str) -> str | None:
    """The top-level package a source file belongs to (None when it is not in one that is
    installed: a script, the interpreter)."""
    path = Path(filename).resolve()
    parts = path.parts
    if _PLASTIX_ROOT in path.parents:
        return "plastix"
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1:]
            return rest[0].removesuffix(".py") if len(rest) > 1 else None
    return None


_PLASTIX_ROOT = Path(__file__).resolve().parents[1]
