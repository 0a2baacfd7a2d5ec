"""Dictionary round trip of the frozen result dataclasses (arrays stored as lists)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["DictResult"]


class DictResult:
    """Mixin for frozen dataclasses: ``to_dict`` (arrays as lists) and ``from_dict``.

    ``from_dict`` turns lists back into float arrays and ignores unknown keys, so
    a dictionary written by a newer version with extra fields still loads.
    """

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: np.asarray(v, dtype=float) if isinstance(v, list) else v
                      for k, v in d.items() if k in names})
