"""Lazy imports of heavy or optional packages with an exact install hint."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

__all__ = ["require", "import_brian2", "import_torch", "import_neo"]

# File-format packages (neo, nixio, pynwb, h5netcdf) are declared with their install
# commands by the formats of plastix.io.formats, not here.
_INSTALL = {
    "torch": "pip install 'torch>=2.2,<2.14'",
    "brian2": "pip install 'brian2>=2.9,<2.12' 'numpy<2.4'",
    "elephant": "pip install elephant",
}


def require(name: str) -> ModuleType:
    """Import ``name`` or raise ``ImportError`` with the exact install command."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        cmd = _INSTALL.get(name.split(".")[0], f"pip install {name}")
        raise ImportError(f"plastix needs `{name}` for this; install it with: {cmd}") from err


def import_torch() -> ModuleType:
    """Import torch (changing none of its settings).

    Training functions set their thread count for their own duration with
    :func:`plastix._util.threads.torch_threads` (their ``threads=`` parameter).
    """
    return require("torch")


def import_brian2() -> ModuleType:
    """Import brian2, silencing only the pyparsing deprecation warnings it raises."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyparsing")
        warnings.filterwarnings("ignore", message=".*pyparsing.*", category=DeprecationWarning)
        return require("brian2")


def import_neo() -> ModuleType:
    """Import neo, silencing only the `quantities` warnings it raises."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="quantities")
        return require("neo")
