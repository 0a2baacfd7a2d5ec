"""Brian2 equation templates of the circuits and of every learning rule.

Each rule is text, not a Python loop: a continuous learning signal ``g`` (an
expression substituted into :data:`PLASTIC_SYNAPSE`) plus, for pair-based STDP,
event code.  The synaptic weight obeys

``dw/dt = eta g − gamma w + sigma ξ(t)``

with ``gamma`` (1/s) a continuous term of the synaptic equation and the noise
``sigma ξ`` applied as Euler–Maruyama increments ``sigma sqrt(Δ) N(0, 1)`` every
``Δ = noise_step`` (default ``weight_interval``; a ``run_regularly`` operation, one
just before the
weight monitor, so that, as in the paper's parameter noise, each recorded
interval starts from the perturbed weights; see :mod:`plastix.circuits.simulate`).
The optional accumulator ``gsum`` integrates ``eta g`` (the rule's own
contribution, decay and noise excluded), so that the true learning signal of
interval ``k`` is ``gsum[k+1] − gsum[k]``.

Names used inside the templates (all given through ``namespace=``): ``r_ref``
(Hz, the rate that normalises traces), ``n_in`` (number of inputs), ``tau_*``
(s), ``rate`` (Hz), ``J`` (mV), ``v_th`` (mV), ``v_noise`` (mV).
Per-synapse/per-group parameters set at run time (so a compiled
``cpp_standalone`` model can be rerun with ``run_args``): ``eta``, ``gamma``
(shared, Hz) and ``sigma_kick`` (shared, dimensionless ``sigma·sqrt(Δ)``).
"""

from __future__ import annotations

__all__ = [
    "LATENT",
    "INPUT_RATE",
    "RATE_COPY",
    "INPUT_SPIKING",
    "LIF",
    "RATE_POST",
    "PLASTIC_SYNAPSE",
    "SIGNAL_ACCUMULATOR",
    "SIGNALS_SPIKING",
    "SIGNALS_RATE",
    "STDP_EXTRA",
    "STDP_ON_PRE",
    "STDP_ON_POST",
    "NOISE_KICK",
    "plastic_equations",
]

LATENT = """
ds/dt = -s/tau_input + sqrt(2/tau_input)*xi : 1
"""
"""Shared Ornstein–Uhlenbeck signals (unit variance), one per input population."""

_INPUT_COMMON = """
dn/dt = -n/tau_input + sqrt(2/tau_input)*xi : 1
s : 1 (linked)
r = rate*clip(1 + input_corr*s + input_noise*n, 0, inf) : Hz
"""

INPUT_RATE = _INPUT_COMMON + """
x : Hz
"""
"""Rate inputs: ``x`` is the rate itself (Hz), copied from ``r`` by :data:`RATE_COPY`
at the start of every step; ``n`` is the private input noise."""

RATE_COPY = "x = r"

INPUT_SPIKING = _INPUT_COMMON + """
dx/dt = -x/tau_trace : Hz
"""
"""Poisson inputs (threshold ``rand() < r*dt``) with a rate trace ``x`` (Hz)."""

LIF = """
dv/dt = -v/tau_m + v_noise*sqrt(2/tau_m)*xi : volt (unless refractory)
dx/dt = -x/tau_trace : Hz
"""
"""Current-based LIF (rest 0 mV) with membrane noise and a rate trace ``x`` (Hz)."""

RATE_POST = """
u : 1
ut : 1
"""
"""Linear rate units: ``u`` student and ``ut`` teacher output (units of ``r_ref``)."""

PLASTIC_SYNAPSE = """
dw/dt = eta*g - gamma*w : 1 (clock-driven)
g = {g} : 1
eta : Hz (shared, constant)
gamma : Hz (shared, constant)
sigma_kick : 1 (shared, constant)
"""
"""The plastic synapse; ``{g}`` is one of :data:`SIGNALS_SPIKING` / :data:`SIGNALS_RATE`."""

SIGNAL_ACCUMULATOR = """
dgsum/dt = eta*g : 1 (clock-driven)
"""
"""``gsum = ∫ eta g dt``: the rule's contribution, without decay and noise."""

SIGNALS_SPIKING = {
    "hebbian": "(x_post/r_ref)*(x_pre/r_ref)",
    "anti_hebbian": "-(x_post/r_ref)*(x_pre/r_ref)",
    "error": "((xt_post - x_post)/r_ref)*(x_pre/r_ref)",
    "random": "R",
    "stdp": "0",
}
"""``g`` of each rule in the spiking circuit (traces in Hz, normalised by ``r_ref``).

``error`` is the delta rule: the teacher's rate trace minus the student's, times
the presynaptic trace.  ``random`` is a fixed random matrix ``R ~ N(0, 1)``, not a
function of co-activity.  STDP acts through events (:data:`STDP_ON_PRE`)."""

SIGNALS_RATE = {
    "hebbian": "u_post*(x_pre/r_ref)",
    "anti_hebbian": "-u_post*(x_pre/r_ref)",
    "error": "(ut_post - u_post)*(x_pre/r_ref)",
    "random": "R",
}
"""``g`` of each rule in the rate circuit (``u`` is the post rate in units of ``r_ref``)."""

STDP_EXTRA = """
dapre/dt = -apre/tau_stdp : 1 (event-driven)
dapost/dt = -apost/tau_stdp : 1 (event-driven)
"""
"""Pair-based all-to-all STDP traces (counts, dimensionless)."""

STDP_ON_PRE = """
apre += 1
w += -eta*stdp_ratio*apost/(r_ref**2*tau_stdp)
"""
STDP_ON_POST = """
apost += 1
w += eta*apre/(r_ref**2*tau_stdp)
"""
"""STDP increments scaled so that independent Poisson trains at ``r_ref`` give a mean
``g = (1 − stdp_ratio)`` per unit time, like the Hebbian rule's ``(x/r_ref)²``."""

NOISE_KICK = "w += sigma_kick*randn()"
"""Euler–Maruyama increment of ``sigma ξ(t)`` over one noise step (``run_regularly``)."""


def plastic_equations(g: str, *, record_signal: bool, rule: str) -> str:
    """The plastic-synapse equations for signal expression ``g``."""
    eqs = PLASTIC_SYNAPSE.format(g=g)
    if record_signal:
        eqs += SIGNAL_ACCUMULATOR
    if rule == "random":
        eqs += "R : 1 (constant)\n"
    if rule == "stdp":
        eqs += STDP_EXTRA
    return eqs


def stdp_events(record_signal: bool) -> tuple[str, str]:
    """(on_pre, on_post) code of STDP, with the accumulator updated if recorded."""
    pre, post = STDP_ON_PRE, STDP_ON_POST
    if record_signal:
        pre += "gsum += -eta*stdp_ratio*apost/(r_ref**2*tau_stdp)\n"
        post += "gsum += eta*apre/(r_ref**2*tau_stdp)\n"
    return pre, post
