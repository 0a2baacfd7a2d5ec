"""Size and time grid of a simulated recording session, and the conditions it runs under.

:class:`CircuitSpec` and :class:`Condition` describe the linear-rate circuit that
both simulators integrate: the batched numpy path of :mod:`plastix.design.circuit`
and the Brian2 network of :mod:`plastix.circuits.linear`.  They live here, below
both, so that the circuits never import the design; ``plastix.design.CircuitSpec``
re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass

from plastix._util.errors import check_choice
from plastix._util.results import DictConfig
from plastix._util.validate import check_int, check_number

__all__ = ["DESIGN_RULES", "SIMULATORS", "CircuitSpec", "Condition"]

DESIGN_RULES = ("hebbian", "error", "random")
SIMULATORS = ("numpy", "brian2")


@dataclass(frozen=True)
class CircuitSpec(DictConfig):
    """Size and time grid of one simulated recording session (SI units).

    Parameters
    ----------
    n_pre, n_post : int
        Presynaptic inputs and postsynaptic units; a session records all
        ``n_post × n_pre`` synapses.
    dt : float
        Fine bin (s): one draw of the inputs and one Euler–Maruyama step.
    weight_interval : float
        Time between weight samples (s); a whole multiple of ``dt``.
    n_intervals : int
        Weight intervals in one measurement window (the window lasts
        ``n_intervals × weight_interval`` s).
    decay : float
        Baseline decay rate ``γ`` (1/s).
    noise : float
        Baseline synaptic noise ``σ`` (1/sqrt(s)): every weight interval starts
        with a kick ``σ √Δ N(0, 1)`` on every synapse (the paper's parameter noise,
        applied like the noise of :mod:`plastix.circuits`).
    measurement_noise : float
        SD of the error with which each weight sample is measured (weight units);
        it enters the record, not the dynamics.
    simulator : {"numpy", "brian2"}
        Which implementation integrates the circuit: ``"numpy"``
        (:mod:`plastix.design.circuit`, batched, fast) or ``"brian2"``
        (:mod:`plastix.circuits.linear`: the same equations and random draws, the
        same numbers to float precision, slow).
    """

    n_pre: int = 16
    n_post: int = 8
    dt: float = 0.01
    weight_interval: float = 0.1
    n_intervals: int = 20
    decay: float = 1.0
    noise: float = 0.1
    measurement_noise: float = 0.005
    simulator: str = "numpy"

    def __post_init__(self) -> None:
        check_choice("simulator", self.simulator, SIMULATORS)
        object.__setattr__(self, "n_pre", check_int("n_pre", self.n_pre))
        object.__setattr__(self, "n_post", check_int("n_post", self.n_post))
        object.__setattr__(self, "n_intervals", check_int("n_intervals", self.n_intervals, low=2))
        for name, unit in (("dt", "s"), ("weight_interval", "s"), ("decay", "1/s")):
            value = check_number(name, getattr(self, name), low=0.0, strict=True, unit=unit)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "noise", check_number("noise", self.noise, low=0.0,
                                               unit="1/sqrt(s)"))
        object.__setattr__(self, "measurement_noise", check_number(
            "measurement_noise", self.measurement_noise, low=0.0))
        ratio = self.weight_interval / self.dt
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 2:
            raise ValueError(
                f"`weight_interval` must be a whole multiple (>= 2) of `dt` ({self.dt:g} s); got "
                f"{self.weight_interval:g} s ({ratio:.4g} bins).")

    @property
    def bins_per_interval(self) -> int:
        return int(round(self.weight_interval / self.dt))

    @property
    def window(self) -> float:
        """Duration of one measurement window (s)."""
        return self.n_intervals * self.weight_interval



@dataclass(frozen=True)
class Condition:
    """The circuit's state of affairs during one stretch of simulated time.

    ``decay`` (1/s), ``noise`` (1/sqrt(s)), ``error_gain`` (κ, dimensionless; only the
    error rule reads it) and ``silenced`` (fraction of presynaptic units whose rate
    is clamped to baseline, i.e. zero fluctuation).
    """

    decay: float
    noise: float
    error_gain: float = 1.0
    silenced: float = 0.0
