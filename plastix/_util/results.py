"""Dictionary round trips of the frozen dataclasses: results (arrays as lists) and configs."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from plastix._util.validate import check_fields

__all__ = ["DictConfig", "DictResult"]


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


class DictConfig:
    """Mixin for frozen configuration dataclasses: ``to_dict`` and a strict ``from_dict``.

    ``from_dict`` refuses a key that is not a field with a TypeError naming the
    valid fields and the closest one ("did you mean").
    """

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every field; :meth:`from_dict` inverts it."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        """Build from :meth:`to_dict` output; unknown keys raise TypeError."""
        check_fields(cls, data)
        return cls(**dict(data))
