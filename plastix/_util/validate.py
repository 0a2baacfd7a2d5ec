"""Input checks shared by every public function.

Each helper raises with one sentence that names the variable, what was expected,
what was found and, where there is one, the likely fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "check_finite",
    "check_ndim",
    "check_positive",
    "check_nonnegative",
    "check_keywords",
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


def check_positive(name: str, value: float, unit: str = "") -> float:
    """Check ``value > 0`` (finite)."""
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        u = f" {unit}" if unit else ""
        raise ValueError(f"`{name}` must be a positive finite number{u}; got {value!r}.")
    return value


def check_nonnegative(name: str, value: float, unit: str = "") -> float:
    """Check ``value >= 0`` (finite)."""
    value = float(value)
    if not np.isfinite(value) or value < 0:
        u = f" {unit}" if unit else ""
        raise ValueError(f"`{name}` must be a non-negative finite number{u}; got {value!r}.")
    return value


def check_keywords(where: str, given: dict[str, Any], allowed: list[str]) -> None:
    """Reject unknown option names with a "did you mean" suggestion."""
    from plastix._util.errors import did_you_mean

    for key in given:
        if key not in allowed:
            raise TypeError(
                f"{where} got an unknown option `{key}`; valid options are "
                f"{', '.join(allowed)}." + did_you_mean(key, allowed)
            )
