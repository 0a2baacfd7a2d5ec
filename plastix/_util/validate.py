"""Input checks shared by every public function.

Each helper raises with one sentence that names the variable, what was expected,
what was found and, where there is one, the likely fix.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "finite_array",
    "check_finite",
    "check_ndim",
    "check_int",
    "check_number",
    "check_positive",
    "check_nonnegative",
    "check_fraction",
    "check_keywords",
    "check_fields",
    "available_memory",
    "check_memory",
]


def as_float_array(name: str, value: Any, *, ndim: int | None = None) -> np.ndarray:
    """Convert ``value`` to a float64 numpy array, with a clear error when impossible."""
    if value is None:
        raise TypeError(f"`{name}` must be an array of numbers; got None.")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`{name}` must be an array of numbers; got {type(value).__name__} "
            "that cannot be converted to float."
        ) from err
    if ndim is not None:
        check_ndim(name, arr, ndim)
    return arr


def finite_array(name: str, value: Any, ndim: int | None = None, dims: str = "") -> np.ndarray:
    """A finite float64 array, optionally with ``ndim`` dimensions described by ``dims``.

    Raises ValueError naming the shape expected (``dims``) and found, or the count
    and first position of NaN/inf values.
    """
    arr = as_float_array(name, value)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must have shape {dims}; got shape {arr.shape}.")
    check_finite(name, arr)
    return arr


def check_ndim(name: str, arr: np.ndarray, ndim: int, dims: str | None = None) -> None:
    """Check the number of dimensions of ``arr``."""
    if arr.ndim != ndim:
        what = f" {dims}" if dims else ""
        raise ValueError(
            f"`{name}` must have {ndim} dimension{'s' if ndim != 1 else ''}{what}; "
            f"got shape {arr.shape}."
        )


def check_finite(name: str, arr: np.ndarray, *, allow_nan: bool = False) -> None:
    """Reject inf (and NaN unless ``allow_nan``) with the count and first position."""
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if np.any(bad):
        n_bad = int(np.count_nonzero(bad))
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "inf" if allow_nan else "NaN or inf"
        extra = " (NaN marks a missing value and is allowed here)" if allow_nan else ""
        raise ValueError(
            f"`{name}` must be finite{extra}; found {n_bad} {kind} value"
            f"{'s' if n_bad != 1 else ''}, the first at index {first}."
        )


def check_int(name: str, value: Any, *, low: int = 1) -> int:
    """An int (Python or numpy, not bool) ``>= low``, returned as a Python int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        fix = (f" Pass {int(value)}." if isinstance(value, (float, np.floating))
               and math.isfinite(value) and float(value).is_integer() else "")
        raise TypeError(f"`{name}` must be an int; got {type(value).__name__} {value!r}.{fix}")
    if value < low:
        raise ValueError(f"`{name}` must be an int >= {low}; got {int(value)}.")
    return int(value)


def check_number(name: str, value: Any, *, low: float | None = None, strict: bool = False,
                 high: float | None = None, unit: str = "") -> float:
    """A finite real number (not bool) in ``[low, high]`` (``low`` excluded when
    ``strict``), returned as a float.

    ``unit`` (e.g. ``"1/s"``) is shown in parentheses in the message.  A quantity with
    units attached (``quantities``, ``brian2``) is refused rather than silently
    stripped: plastix takes plain floats in SI units.
    """
    u = f" ({unit.strip('()')})" if unit else ""
    plain = isinstance(value, numbers.Real) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")
    if hasattr(value, "dimensionality") or hasattr(value, "dim"):  # quantities, brian2
        raise TypeError(f"`{name}` must be a plain number{u}; got a {type(value).__name__} "
                        f"with units, {value!r}. Convert it first, e.g. {_unit_fix(unit)}.")
    if isinstance(value, bool) or not plain:
        raise TypeError(f"`{name}` must be a number{u}; got {type(value).__name__} {value!r}.")
    v = float(value)
    above = low is None or v > low or (not strict and v == low)
    if not (math.isfinite(v) and above and (high is None or v <= high)):
        if low == 0 and high is None:
            what = "a positive finite number" if strict else "a non-negative finite number"
        else:
            what = "a finite number" + (f" {'>' if strict else '>='} {low:g}"
                                        if low is not None else "")
            what += (" and" if low is not None else "") + (f" <= {high:g}"
                                                          if high is not None else "")
        raise ValueError(f"`{name}` must be {what}{u}; got {v!r}.")
    return v


def _unit_fix(unit: str) -> str:
    """How to strip units into ``unit`` (a time or a rate), for the message of check_number."""
    names = {"s": "second", "ms": "ms"}
    if unit.startswith("1/"):  # a rate: 1/s unless the unit is a known 1/time
        per = unit[2:] if unit[2:] in names else "s"
        return (f"float(q.rescale('1/{per}')) for quantities or float(q * {names[per]}) "
                "for brian2")
    target = unit if unit in names else "s"
    return f"float(q.rescale({target!r})) for quantities or float(q / {names[target]}) for brian2"


def check_positive(name: str, value: Any, unit: str = "") -> float:
    """Check ``value > 0`` (finite)."""
    return check_number(name, value, low=0.0, strict=True, unit=unit)


def check_nonnegative(name: str, value: Any, unit: str = "") -> float:
    """Check ``value >= 0`` (finite)."""
    return check_number(name, value, low=0.0, unit=unit)


def check_fraction(name: str, value: Any) -> float:
    """A fraction in ``[0, 1)`` (a real number, not bool), returned as a float.

    Anything else (a bool, a non-number, NaN, a value outside) raises ValueError.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating)) or not (
            0 <= value < 1):
        raise ValueError(f"`{name}` must be a fraction in [0, 1); got {value!r}.")
    return float(value)


def check_keywords(where: str, given: dict[str, Any], allowed: list[str]) -> None:
    """Reject unknown option names with a "did you mean" suggestion."""
    from plastix._util.errors import did_you_mean

    for key in given:
        if key not in allowed:
            raise TypeError(
                f"{where} got an unknown option `{key}`; valid options are "
                f"{', '.join(allowed)}." + did_you_mean(key, allowed)
            )


def check_fields(cls: type, data: Any) -> None:
    """Reject keys of ``data`` that are not fields of the dataclass ``cls`` ("did you mean")."""
    from plastix._util.errors import did_you_mean

    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise TypeError(f"{cls.__name__} got an unknown field `{key}`; valid fields are "
                            f"{', '.join(names)}." + did_you_mean(key, names))


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def check_memory(nbytes: float, *, what: str, fix: str, fraction: float = 0.8) -> None:
    """Refuse, before any work, a computation that would need more memory than is available.

    Parameters
    ----------
    nbytes : float
        Estimated peak memory of the computation (bytes).
    what : str
        What needs it, with the sizes that make it up, e.g. ``"the rate simulation
        (2e+15 steps …)"``.
    fix : str
        Which parameter (and command-line flag) to change.
    fraction : float
        Share of the available memory a computation may take.

    Raises
    ------
    ValueError
        ``"{what} would need about X GiB of memory, more than the Y GiB available; {fix}."``
    """
    avail = available_memory()
    if avail is None or nbytes <= fraction * avail:
        return
    raise ValueError(f"{what} would need about {nbytes / 2**30:.3g} GiB of memory, more than "
                     f"the {avail / 2**30:.3g} GiB available; {fix}.")
