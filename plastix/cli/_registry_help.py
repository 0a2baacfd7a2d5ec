"""Help texts and name checks of the CLI, built from plastix's registries.

The kernel, learning-rule and file-format registries (:mod:`plastix.kernels`,
:mod:`plastix.ann.rules`, :mod:`plastix.io.formats`) are the only places their
names are listed; every help text and choice of the command line comes from
them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["kernel_entries", "rule_entries", "format_entries", "circuit_rule_names",
           "kernel_help", "rule_help", "format_help", "check_kernel", "check_format",
           "format_of_path",
           "pickle_suffixes"]


def _described(names, get) -> list[tuple[str, str]]:
    """``[(name, one-line description)]`` from a registry's names and getter."""
    out = []
    for name in names():
        entry = get(name)
        out.append((str(name), entry.description.strip()))
    return out


def kernel_entries() -> list[tuple[str, str]]:
    """``[(name, description)]`` of the registered Hebbian-term kernels."""
    from plastix.kernels import get_kernel, kernel_names

    return _described(kernel_names, get_kernel)


def rule_entries() -> list[tuple[str, str]]:
    """``[(name, description)]`` of the registered ANN learning rules.

    Imported only when a help text asks for it (the rules may load torch).
    """
    from plastix.ann.rules import get_rule, rule_names

    return _described(rule_names, get_rule)


def format_entries(*, written: bool = False) -> list[tuple[str, tuple[str, ...], str]]:
    """``[(name, suffixes, short label)]`` of the registered record file formats (only
    those plastix writes, with ``written``)."""
    from plastix.io.formats import formats

    return [(f.name, tuple(f.suffixes), (f.label or f.description).strip()) for f in formats()
            if f.write is not None or not written]


def circuit_rule_names() -> tuple[str, ...]:
    """The learning rules of the Brian2 circuits (``plastix simulate --rule``)."""
    from plastix.circuits.config import RULES

    return tuple(RULES)


def _lines(entries: list[tuple[str, str]]) -> str:
    return "; ".join(f"{n} ({d})" if d else n for n, d in entries)


def kernel_help() -> str:
    """``"product (…); covariance (…); …"`` for a ``--kernel`` help text."""
    return _lines(kernel_entries())


def rule_help() -> str:
    """The ANN learning rules, one ``name: description`` line each."""
    return "\n".join(f"  {n}: {d}" if d else f"  {n}" for n, d in rule_entries())


def format_help(*, written: bool = False) -> str:
    """``"netcdf .nc/.nc4/.h5 (NetCDF), nix .nix (…), …"`` for a file-argument help text
    (``written``: the formats an output can have)."""
    parts = []
    for name, suffixes, desc in format_entries(written=written):
        parts.append(" ".join([name, "/".join(suffixes)]).strip() + (f" ({desc})" if desc else ""))
    return ", ".join(parts)


def check_kernel(name: str) -> str:
    """Check a kernel name against the registry (ValueError with "did you mean")."""
    from plastix.kernels import get_kernel

    get_kernel(name)
    return name


def check_format(path: str | Path) -> str:
    """The format an output path's suffix names; ValueError (with "did you mean") when no
    format plastix writes does."""
    from plastix.io.files import writable_format

    return writable_format(Path(path)).name


def format_of_path(path: str | Path) -> str | None:
    """The registered format a path's suffix names, or None when none does."""
    from plastix.io.formats import format_for_path

    try:
        return format_for_path(Path(path)).name
    except (ValueError, TypeError):
        return None


def pickle_suffixes() -> tuple[str, ...]:
    """Suffixes of the formats whose reading can run code (pickles)."""
    from plastix.io.formats import formats

    return tuple(s for f in formats() if not f.safe for s in f.suffixes)
