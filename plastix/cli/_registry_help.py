"""Help texts and name checks of the CLI, built from plastix's registries.

The kernel, learning-rule and file-format registries (:mod:`plastix.kernels`,
:mod:`plastix.ann.rules`, :mod:`plastix.io.formats`) are the only places their
names are listed; every help text and choice of the command line comes from
them.  Until a registry is importable the functions fall back to the module
constants that listed the names before (marked ``fallback`` below: delete those
branches once the registries are merged).
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
        out.append((str(name), str(getattr(entry, "description", "") or "").strip()))
    return out


def kernel_entries() -> list[tuple[str, str]]:
    """``[(name, description)]`` of the registered Hebbian-term kernels."""
    try:
        from plastix.kernels import get_kernel, kernel_names
    except ImportError:  # fallback: before the kernel registry
        from plastix.estimate.estimator import KERNELS

        return [(k, "") for k in KERNELS]
    return _described(kernel_names, get_kernel)


def rule_entries() -> list[tuple[str, str]]:
    """``[(name, description)]`` of the registered ANN learning rules.

    Imported only when a help text asks for it (the rules may load torch).
    """
    try:
        from plastix.ann.rules import get_rule, rule_names
    except ImportError:  # fallback: before the rule registry
        from plastix.ann.config import RULES

        return [(r, "") for r in RULES]
    return _described(rule_names, get_rule)


def _format_suffixes(entry) -> tuple[str, ...]:
    suffixes = getattr(entry, "suffixes", None) or getattr(entry, "suffix", ()) or ()
    return (suffixes,) if isinstance(suffixes, str) else tuple(suffixes)


def format_entries() -> list[tuple[str, tuple[str, ...], str]]:
    """``[(name, suffixes, short label)]`` of the registered record file formats."""
    try:
        from plastix.io.formats import format_names, get_format
    except ImportError:  # fallback: before the format registry
        from plastix.record import _FORMATS

        words = {"netcdf": "NetCDF", "nix": "NIX, through Neo", "nwb": "NWB, through Neo",
                 "pickle": "a pickled neo.Block"}
        names = dict.fromkeys(_FORMATS.values())
        return [(n, tuple(s for s, f in _FORMATS.items() if f == n), words.get(n, ""))
                for n in names]
    out = []
    for name in format_names():
        fmt = get_format(name)
        short = getattr(fmt, "label", None) or getattr(fmt, "description", "") or ""
        out.append((str(name), _format_suffixes(fmt), str(short).strip()))
    return out


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


def format_help() -> str:
    """``"netcdf .nc/.nc4/.h5 (NetCDF), nix .nix (…), …"`` for a file-argument help text."""
    parts = []
    for name, suffixes, desc in format_entries():
        parts.append(" ".join([name, "/".join(suffixes)]).strip() + (f" ({desc})" if desc else ""))
    return ", ".join(parts)


def check_kernel(name: str) -> str:
    """Check a kernel name against the registry (ValueError with "did you mean")."""
    try:
        from plastix.kernels import get_kernel
    except ImportError:  # fallback: before the kernel registry
        from plastix._util.errors import check_choice

        return check_choice("kernel", name, [k for k, _ in kernel_entries()])
    get_kernel(name)
    return name


def check_format(path: str | Path) -> str:
    """The format a path's suffix names; ValueError (with "did you mean") when none does."""
    path = Path(path)
    try:
        from plastix.io.formats import format_for_path
    except ImportError:  # fallback: before the format registry
        from plastix.record import _format_of

        return _format_of(path)
    fmt = format_for_path(path)
    return str(getattr(fmt, "name", fmt))


def format_of_path(path: str | Path) -> str | None:
    """The registered format a path's suffix names, or None when none does."""
    path = Path(path)
    try:
        from plastix.io.formats import format_for_path
    except ImportError:  # fallback: before the format registry
        from plastix.record import _FORMATS

        return _FORMATS.get(path.suffix.lower())
    try:
        fmt = format_for_path(path)
    except (ValueError, TypeError):
        return None
    return str(getattr(fmt, "name", fmt))


def pickle_suffixes() -> tuple[str, ...]:
    """Suffixes of the formats whose reading can run code (pickles)."""
    try:
        from plastix.io.formats import formats
    except ImportError:  # fallback: before the format registry
        return tuple(s for name, suffixes, _ in format_entries() if name == "pickle"
                     for s in suffixes)
    return tuple(s for f in formats() if not getattr(f, "safe", True) for s in f.suffixes)
