"""Test policy: seeded rng, no global-state changes, registered markers."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info

warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyparsing")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every stochastic test is reproducible."""
    return np.random.default_rng(20250518)


def _global_state() -> dict:
    state = {"np_random": np.random.get_state()[1][:8].tobytes()}  # noqa: NPY002 (the guard)
    for lib in threadpool_info():  # a library loaded during the test has no "before"
        state[f"threads of {lib['filepath']}"] = lib["num_threads"]
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch_rng"] = bytes(torch.random.get_rng_state()[:64].tolist())
        state["torch_dtype"] = torch.get_default_dtype()
        state["torch_threads"] = torch.get_num_threads()
    b2 = sys.modules.get("brian2")
    if b2 is not None:
        prefs = b2.prefs
        state["b2_target"] = prefs["codegen.target"]
        state["b2_device"] = type(b2.get_device()).__name__
    return state


@pytest.fixture(autouse=True)
def _guard_global_state(request):
    """Fail a test whose library code changed global RNG, dtype, torch or BLAS threads or
    Brian2 state."""
    before = _global_state()
    yield
    after = _global_state()
    changed = [k for k in before if k in after and before[k] != after[k]]
    if changed and not request.node.get_closest_marker("allow_global_state"):
        pytest.fail(f"library code changed global state: {', '.join(changed)}; "
                    "use rng=, restore Brian2 prefs/devices and torch threads instead.")
