"""Lazy imports of heavy or optional packages with an exact install hint."""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Iterator
from types import ModuleType

import numpy as np

__all__ = ["require", "import_brian2", "brian2_scope", "import_torch", "import_neo"]

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


@contextlib.contextmanager
def brian2_scope(b2: ModuleType, *, target: str | None = None,
                 seed: int | None = None) -> Iterator[None]:
    """Brian2's code-generation ``target`` (None: leave it) and ``seed`` (None: do not seed)
    for the duration of the block; the previous target and numpy's global random state
    (which ``brian2.seed`` and the numpy target draw from) are restored on exit."""
    old_target = b2.prefs.codegen.target
    np_state = np.random.get_state()  # noqa: NPY002 (restored below)
    try:
        if target is not None:
            b2.prefs.codegen.target = target
        if seed is not None:
            b2.seed(seed)
        yield
    finally:
        b2.prefs.codegen.target = old_target
        np.random.set_state(np_state)  # noqa: NPY002


def import_neo() -> ModuleType:
    """Import neo, silencing only the `quantities` warnings it raises."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="quantities")
        return require("neo")
