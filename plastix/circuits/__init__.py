"""Brian2 circuits with plastic synapses ``dw/dt = η g − γ w + σ ξ(t)``.

Rate and spiking (Poisson → LIF) circuits, learning rules as Brian2 equation
templates (:mod:`plastix.circuits.templates`), recording into the plastix record,
sweeps over γ and σ that compile one ``cpp_standalone`` model and rerun it with
``run_args``, the alignment of the learning signal measured from a record, and
ground truth for weights inferred from spikes (:mod:`plastix.circuits.stdp_lif`:
pair STDP onto LIF, static control; :mod:`plastix.circuits.error_lif`: a delta rule
with decay onto the same LIF cells).

Importing this package does not import brian2; the simulators do, when called.

Sign convention: alignment ``A = cos(g, H)``, ``A > 0`` Hebbian, ``A < 0``
anti-Hebbian; ``g = H`` gives 1 and ``g = −H`` gives −1.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from plastix.circuits.config import RULES, RateCircuitConfig, SpikingCircuitConfig
from plastix.circuits.spec import CircuitSpec, Condition

__all__ = [
    "RULES",
    "CircuitSpec",
    "Condition",
    "RateCircuitConfig",
    "SpikingCircuitConfig",
    "simulate_rate",
    "simulate_spiking",
    "sweep_spiking",
    "interval_alignment",
    "circuit_alignment",
    "simulate_linear",
    "integrate_linear",
    "STDPConfig",
    "simulate_stdp",
    "ErrorConfig",
    "simulate_error",
]

_LAZY = {
    "simulate_rate": "plastix.circuits.simulate",
    "simulate_spiking": "plastix.circuits.simulate",
    "sweep_spiking": "plastix.circuits.sweep",
    "interval_alignment": "plastix.circuits.analysis",
    "circuit_alignment": "plastix.circuits.analysis",
    "simulate_linear": "plastix.circuits.linear",
    "integrate_linear": "plastix.circuits.linear",
    "STDPConfig": "plastix.circuits.stdp_lif",
    "simulate_stdp": "plastix.circuits.stdp_lif",
    "ErrorConfig": "plastix.circuits.error_lif",
    "simulate_error": "plastix.circuits.error_lif",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'plastix.circuits' has no attribute {name!r}")
