"""Candidate manipulations, as data: what changes, when to measure, what is counted.

Each :class:`Manipulation` says how the circuit's condition changes (decay,
synaptic noise, error signal, presynaptic silencing) or which phase of learning is
measured, how long to wait after the change before measuring (``settle``, s), and
the unit of replication (a *session*: one preparation in which all
``n_post × n_pre`` synapses of the design circuit are followed through a baseline
window and a manipulated window).

The noise manipulation is placed across the predicted boundary of the error-driven
rule (:func:`noise_boundary`): in the design circuit the expected alignment mass of
the delta rule at stationarity is (isotropic unit-variance inputs, teacher rows of
unit norm on average, noise kicks of variance ``σ² Δ`` every weight interval)

``E⟨g, H⟩ ∝ γ (2η + γ) / (η + γ)² · ‖T‖² − N σ² / (2 (η + γ))``,

positive (Hebbian) below ``σ_c² = 2 γ (2η + γ) / (n_pre (η + γ))`` and
anti-Hebbian above: the boundary ``γ = k σ²`` with ``k = n_pre (η + γ) / (2 (2η + γ))``
(→ ``n_pre / 4`` for ``η ≫ γ``).  A test checks the sign change in simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plastix._util.errors import check_choice
from plastix._util.results import DictConfig
from plastix._util.validate import check_fraction, check_number
from plastix.design.circuit import CircuitSpec, Condition

__all__ = ["Manipulation", "PHASES", "default_manipulations", "noise_boundary", "boundary_k",
           "manipulated_condition", "settle_time"]

PHASES = ("late", "early")


def _factor(name: str, value: Any, *, allow_negative: bool = False) -> float:
    if allow_negative:
        return check_number(name, value)
    return check_number(name, value, low=0.0, strict=True)


@dataclass(frozen=True)
class Manipulation(DictConfig):
    """One candidate experiment.

    Parameters
    ----------
    name : str
        Short label.
    description : str
        What the experimenter does, in one sentence.
    decay_factor : float
        Multiplies the decay rate ``γ`` (1 = unchanged).
    noise_boundary_multiple : float, optional
        Sets the total synaptic noise to this multiple of the predicted boundary
        ``σ_c`` of the error-driven rule (:func:`noise_boundary`); ``None`` keeps the
        baseline noise.
    error_gain : float
        Multiplies the error signal delivered to the synapses (−1 inverts it; only
        an error-driven rule reads it; co-activity is unchanged).
    silenced : float
        Fraction of presynaptic units silenced (their rate fluctuations clamped to 0).
    phase : {"late", "early"}
        ``"late"``: manipulate a circuit at stationarity.  ``"early"``: no change of
        condition; measure the first window after learning starts from naive
        (zero) weights, against the same session's late baseline.
    settle : float or "auto"
        Seconds between the manipulation and the start of the measurement window;
        ``"auto"``: three relaxation times of the decay (``3 / γ_new``) when decay or
        noise change, 0 otherwise (measure at once, while co-activity is unchanged).
    unit : str
        What one replicate is ("session").
    """

    name: str
    description: str = ""
    decay_factor: float = 1.0
    noise_boundary_multiple: float | None = None
    error_gain: float = 1.0
    silenced: float = 0.0
    phase: str = "late"
    settle: float | str = "auto"
    unit: str = "session"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"`name` must be a non-empty str; got {self.name!r}.")
        object.__setattr__(self, "decay_factor", _factor("decay_factor", self.decay_factor))
        if self.noise_boundary_multiple is not None:
            object.__setattr__(self, "noise_boundary_multiple", _factor(
                "noise_boundary_multiple", self.noise_boundary_multiple))
        object.__setattr__(self, "error_gain", _factor("error_gain", self.error_gain,
                                                       allow_negative=True))
        check_fraction("silenced", self.silenced)
        check_choice("phase", self.phase, PHASES)
        if self.settle != "auto":
            if isinstance(self.settle, bool) or not isinstance(self.settle, (int, float)) or (
                    not math.isfinite(self.settle) or self.settle < 0):
                raise ValueError(f"`settle` must be 'auto' or a non-negative number of seconds; "
                                 f"got {self.settle!r}.")
        check_choice("unit", self.unit, ("session",))



def default_manipulations() -> tuple[Manipulation, ...]:
    """The candidate manipulations of SPEC §8 (and one more, decay doubled)."""
    return (
        Manipulation("decay_half", "halve the synaptic decay rate (e.g. slow protein turnover)",
                     decay_factor=0.5),
        Manipulation("decay_double", "double the synaptic decay rate", decay_factor=2.0),
        Manipulation("noise_cross", "add synaptic noise until the total noise is twice the "
                     "predicted Hebbian/anti-Hebbian boundary of the error-driven rule",
                     noise_boundary_multiple=2.0),
        Manipulation("early_learning", "measure in the first window after learning starts "
                     "(naive synapses) instead of at stationarity", phase="early"),
        Manipulation("error_inverted", "invert the error (teaching) signal while pre and post "
                     "activity are left unchanged", error_gain=-1.0, settle=0.0),
        Manipulation("silence_half", "silence half of the presynaptic units (only decay should "
                     "remain at their synapses)", silenced=0.5, settle=0.0),
    )


def noise_boundary(spec: CircuitSpec, eta: float, decay: float | None = None) -> float:
    """Predicted noise SD ``σ_c`` (1/sqrt(s)) where the error rule's alignment changes sign."""
    g = spec.decay if decay is None else float(decay)
    return math.sqrt(2.0 * g * (2.0 * eta + g) / (spec.n_pre * (eta + g)))


def boundary_k(spec: CircuitSpec, eta: float, decay: float | None = None) -> float:
    """``k`` of the boundary ``γ = k σ²`` for the error rule (dimensionless: γ and σ² in 1/s)."""
    g = spec.decay if decay is None else float(decay)
    return g / noise_boundary(spec, eta, g) ** 2


def manipulated_condition(m: Manipulation, spec: CircuitSpec, *,
                          sigma_boundary: float | None) -> Condition:
    """The circuit condition during the manipulated window."""
    noise = spec.noise
    if m.noise_boundary_multiple is not None:
        if sigma_boundary is None:
            raise ValueError(f"manipulation {m.name!r} sets noise relative to the error rule's "
                             "boundary, but no hypothesis uses the error rule; give "
                             "an error-driven hypothesis or drop this manipulation.")
        noise = max(spec.noise, m.noise_boundary_multiple * sigma_boundary)
    return Condition(decay=spec.decay * m.decay_factor, noise=noise, error_gain=m.error_gain,
                     silenced=m.silenced)


def settle_time(m: Manipulation, spec: CircuitSpec) -> float:
    """Seconds between the manipulation and the measurement window."""
    if m.settle != "auto":
        return float(m.settle)
    if m.phase == "early":
        return 0.0
    if m.decay_factor != 1.0 or m.noise_boundary_multiple is not None:
        return 3.0 / (spec.decay * min(1.0, m.decay_factor))
    return 0.0
