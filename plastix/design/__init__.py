"""Experiment design: which manipulation tells emergent from mechanistic Hebbian plasticity?

State hypotheses (:mod:`plastix.design.hypotheses`), calibrate them to one baseline
alignment, simulate candidate manipulations (:mod:`plastix.design.manipulations`)
in a fast linear-rate circuit (:mod:`plastix.design.circuit`), measure every
simulated session with :class:`plastix.estimate.HebbianEstimator`, and rank the
manipulations by power within a recording budget (:mod:`plastix.design.power`).
For spike-only recordings, :func:`recording_length` says how long a recording of a
given circuit size must be for a Hebbian verdict on inferred weights
(:mod:`plastix.design.recording`).

Sign convention: alignment ``A = cos(ĝ, H)``; ``A > 0`` Hebbian, ``A < 0``
anti-Hebbian (``ĝ = H`` gives 1, ``ĝ = −H`` gives −1).
"""

from plastix.design.circuit import CircuitSpec
from plastix.design.hypotheses import Calibration, Hypothesis, calibrate, default_hypotheses
from plastix.design.manipulations import (
    Manipulation,
    boundary_k,
    default_manipulations,
    noise_boundary,
)
from plastix.design.power import (
    compare_pair,
    debiased_effect_size,
    effect_size,
    power_one_sample,
    sample_size,
    separation_p_value,
    simulated_power,
)
from plastix.design.propose import (
    DEFAULT_TARGET,
    DesignResult,
    circuit_from_record,
    estimator_measure,
    propose_experiments,
    rank_table,
)
from plastix.design.recording import recording_length

__all__ = [
    "CircuitSpec", "Hypothesis", "Calibration", "Manipulation", "DesignResult",
    "default_hypotheses", "default_manipulations", "calibrate", "noise_boundary", "boundary_k",
    "effect_size", "debiased_effect_size", "separation_p_value", "power_one_sample",
    "sample_size", "simulated_power", "compare_pair", "propose_experiments", "rank_table",
    "circuit_from_record", "estimator_measure", "DEFAULT_TARGET", "recording_length",
]
