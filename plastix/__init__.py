"""plastix: emergent versus mechanistic Hebbian plasticity.

Train artificial networks (:mod:`plastix.ann`), simulate Brian2 circuits
(:mod:`plastix.circuits`), estimate Hebbian alignment from recordings
(:mod:`plastix.estimate`) and design experiments (:mod:`plastix.design`), all
around one labelled record (:mod:`plastix.record`).

Importing :mod:`plastix` loads neither torch nor brian2; those are imported
lazily by the subpackages that need them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("plastix")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
