"""Configuration of the Brian2 circuits: frozen, validated dataclasses.

Units are plain SI floats everywhere in plastix (seconds, hertz); Brian2
quantities are attached only inside :mod:`plastix.circuits.build`.

Weights are dimensionless and scaled so that ``w ≈ 1`` on every synapse gives a
postsynaptic neuron its nominal drive (``drive`` mV of mean depolarisation in
the spiking circuit, a rate of ``rate`` Hz in the rate circuit), whatever
``n_pre``.  The rule's signal ``g`` is dimensionless (traces are divided by
``rate``), so ``eta`` and ``decay`` are rates in 1/s and ``noise`` is in
1/sqrt(s): ``dw/dt = eta g − decay w + noise ξ(t)``.

The weight noise is integrated with Euler–Maruyama increments of variance
``noise² · noise_step`` applied every ``noise_step`` (default: ``weight_interval``),
one of them just before each weight sample (the paper's parameter noise "at the start
of each step").  With
noise increments *inside* a recorded interval, the estimate ``ĝ = ΔW + γΔtW``
would pick up a positive covariance between the increments and the Hebbian term
of the same interval (the weights move the postsynaptic activity), which cancels
the anti-Hebbian effect of the noise for a linear readout; applying the noise at
the sample times keeps ``ĝ`` an unbiased view of the rule's signal plus
independent noise.  A smaller ``noise_step`` (closer to white noise) shows that
effect (``tests/test_circuits.py::test_noise_inside_intervals_biases_the_estimate``).

Defaults (``eta = 5``/s) suit the error rule: its dominant mode relaxes in about
0.1–0.2 s and the rest at rate ``decay``.  The Hebbian rule runs away at that
rate (its gain exceeds the decay); use ``eta ≲ 0.5``/s for it.
"""


from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from plastix._util.errors import check_choice, did_you_mean
from plastix._util.validate import check_fields, check_int, check_memory, check_number

__all__ = ["RULES", "RATE_RULES", "RULE_ETA", "RateCircuitConfig", "SpikingCircuitConfig",
           "check_fits_memory", "rule_eta"]

RULES = ("hebbian", "anti_hebbian", "error", "random", "stdp")
"""Learning rules ``g`` (see :mod:`plastix.circuits.templates`)."""

RATE_RULES = ("hebbian", "anti_hebbian", "error", "random")
"""The rules of the rate circuit (STDP needs spikes)."""

RULE_ETA = {"hebbian": 0.5}
"""Learning rate (1/s) that ``plastix simulate`` uses for a rule when ``--eta`` is not
given; the other rules take the configs' ``eta`` (5/s).  The Hebbian rule's mean
weights grow at ``eta · λ − decay`` with ``λ ≈ 1.06`` the top eigenvalue of the
inputs' normalised second moment (``1 + input_corr² / n_groups``), so at 5/s it runs
away at any decay below about 5/s; 0.5/s (the rate of the bundled
``circuit_hebbian_standard.nwb``) relaxes at the default decay of 1/s."""


def rule_eta(rule: str) -> float:
    """The default learning rate (1/s) of ``rule`` on the command line (:data:`RULE_ETA`)."""
    return RULE_ETA.get(rule, _CircuitConfig.eta)


@dataclass(frozen=True)
class _CircuitConfig:
    """Fields shared by the rate and the spiking circuit (all SI units)."""

    rule: str = "error"
    n_pre: int = 100
    n_post: int = 10
    eta: float = 5.0
    decay: float = 1.0
    noise: float = 0.0
    input_noise: float = 0.3
    input_corr: float = 0.5
    n_groups: int = 4
    tau_input: float = 0.1
    rate: float = 10.0
    duration: float = 5.0
    dt: float = 5e-4
    bin_size: float = 0.01
    weight_interval: float = 0.1
    record_synapses: Any = 2000
    record_signal: bool = True
    w_init: float = 1.0
    w_init_sd: float = 0.5
    teacher_sd: float = 0.5
    noise_step: float | None = None

    def __post_init__(self) -> None:
        check_choice("rule", self.rule, RULES)
        for name in ("n_pre", "n_post", "n_groups"):
            object.__setattr__(self, name, check_int(name, getattr(self, name)))
        for name, unit in (("eta", "1/s"), ("decay", "1/s"), ("noise", "1/sqrt(s)"),
                           ("input_noise", ""), ("input_corr", ""), ("w_init_sd", ""),
                           ("teacher_sd", "")):
            value = check_number(name, getattr(self, name), low=0.0, unit=unit)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "w_init", check_number("w_init", self.w_init))
        for name, unit in (("tau_input", "s"), ("rate", "Hz"), ("duration", "s"), ("dt", "s"),
                           ("bin_size", "s"), ("weight_interval", "s")):
            object.__setattr__(self, name, check_number(name, getattr(self, name), low=0.0,
                                                strict=True, unit=unit))
        if not isinstance(self.record_signal, bool):
            raise TypeError(f"`record_signal` must be a bool; got "
                            f"{type(self.record_signal).__name__}.")
        for name in ("bin_size", "weight_interval"):
            ratio = getattr(self, name) / self.dt
            if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
                raise ValueError(
                    f"`{name}` must be a whole multiple of `dt` ({self.dt:g} s); got "
                    f"{getattr(self, name):g} s ({ratio:.4g} steps). Round it to a multiple "
                    "of dt.")
        if self.noise_step is not None:
            step = check_number("noise_step", self.noise_step, low=0.0, strict=True, unit="s")
            ratio = self.weight_interval / step
            k = step / self.dt
            if abs(k - round(k)) > 1e-6 or abs(ratio - round(ratio)) > 1e-6:
                raise ValueError(
                    f"`noise_step` must be a whole multiple of `dt` ({self.dt:g} s) that divides "
                    f"`weight_interval` ({self.weight_interval:g} s); got {step:g} s.")
            object.__setattr__(self, "noise_step", step)
        if self.weight_interval > self.duration:
            raise ValueError(
                f"`weight_interval` ({self.weight_interval:g} s) must not exceed `duration` "
                f"({self.duration:g} s): at least one weight interval is needed.")
        object.__setattr__(self, "record_synapses", _record_spec(self.record_synapses,
                                                                 self.n_post, self.n_pre))

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-ready) of every field; ``from_dict`` inverts it."""
        out = dataclasses.asdict(self)
        rs = out["record_synapses"]
        if isinstance(rs, tuple):
            out["record_synapses"] = [list(map(int, p)) for p in rs]
        out["kind"] = self.kind
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _CircuitConfig:
        """Build a config from :meth:`to_dict` output; unknown keys get "did you mean"."""
        if not isinstance(data, dict):
            raise TypeError(f"`data` must be a dict; got {type(data).__name__}.")
        data = dict(data)
        kind = data.pop("kind", cls.kind)
        if kind != cls.kind:
            raise ValueError(f"`kind` must be {cls.kind!r} for {cls.__name__}; got {kind!r}.")
        check_fields(cls, data)
        rs = data.get("record_synapses")
        if isinstance(rs, list):
            data["record_synapses"] = tuple(tuple(p) for p in rs)
        return cls(**data)

    def replace(self, **changes: Any) -> _CircuitConfig:
        """A copy with some fields changed (validated); unknown names get "did you mean"."""
        names = [f.name for f in dataclasses.fields(self)]
        for key in changes:
            if key not in names:
                raise TypeError(f"{type(self).__name__} has no field `{key}`; valid fields are "
                                f"{', '.join(names)}." + did_you_mean(key, names))
        return dataclasses.replace(self, **changes)

    @property
    def noise_dt(self) -> float:
        """Step of the weight-noise increments (s): ``noise_step`` or ``weight_interval``."""
        return self.weight_interval if self.noise_step is None else self.noise_step

    @property
    def n_steps(self) -> int:
        return int(round(self.duration / self.dt))

    def memory_bytes(self) -> float:
        """Estimated peak memory of one simulation (bytes), before it starts.

        Counts the binned activity (``duration / bin_size`` bins of ``n_pre + n_post``
        units), the dense weight samples (and the signal, if recorded) of ``n_post ×
        n_pre`` synapses every ``weight_interval``, and for the spiking circuit the
        spike times and indices at ``rate`` Hz; doubled for the copies made while
        the record is built.
        """
        n_bins = self.duration / self.bin_size
        n_w = self.duration / self.weight_interval + 1
        floats = n_bins * (self.n_pre + self.n_post)
        floats += n_w * self.n_post * self.n_pre * (2 if self.record_signal else 1)
        if self.kind == "spiking":
            floats += 2 * self.rate * self.duration * (self.n_pre + self.n_post)
        return 2 * 8 * floats


def _record_spec(spec: Any, n_post: int, n_pre: int) -> Any:
    """Validate ``record_synapses``: None (all), an int count, or (post, pre) index pairs."""
    if spec is None:
        return None
    if isinstance(spec, bool):
        raise TypeError("`record_synapses` must be None, an int count or a sequence of "
                        "(post, pre) pairs; got a bool.")
    if isinstance(spec, int):
        if spec < 1:
            raise ValueError(f"`record_synapses` must be >= 1 when a count; got {spec}.")
        return int(spec)
    try:
        pairs = tuple((int(p[0]), int(p[1])) for p in spec)
        if any(len(p) != 2 for p in spec):
            raise ValueError
    except (TypeError, ValueError, IndexError) as err:
        raise TypeError(
            "`record_synapses` must be None (all), an int count, or a sequence of (post, pre) "
            f"index pairs; got {type(spec).__name__} {spec!r:.60}.") from err
    if not pairs:
        raise ValueError("`record_synapses` must name at least one (post, pre) pair; got none.")
    for post, pre in pairs:
        if not (0 <= post < n_post and 0 <= pre < n_pre):
            raise ValueError(
                f"`record_synapses` pair (post={post}, pre={pre}) is out of range; expected "
                f"0 <= post < {n_post} and 0 <= pre < {n_pre}.")
    if len(set(pairs)) != len(pairs):
        raise ValueError("`record_synapses` lists a (post, pre) pair twice; give each once.")
    return pairs


@dataclass(frozen=True)
class RateCircuitConfig(_CircuitConfig):
    """A rate circuit: ``n_pre`` input rates onto ``n_post`` linear rate units.

    Input ``j`` has rate ``rate · [1 + input_corr s_grp(j)(t) + input_noise n_j(t)]₊``
    where ``s`` are ``n_groups`` shared unit-variance Ornstein–Uhlenbeck signals
    (correlated populations) and ``n_j`` private ones (input noise), time constant
    ``tau_input`` (s).  Post unit ``i`` has the rate (pre-activation, may be
    negative) ``u_i = rate · (1/n_pre) Σ_j w_ij x_j / rate``; the error rule's
    teacher has fixed weights ``W* ~ N(1, teacher_sd²)``.

    Fields (SI units): ``rule`` one of :data:`RULES` except ``"stdp"``; ``eta`` (1/s);
    ``decay`` γ (1/s); ``noise`` σ (1/sqrt(s)); ``duration``, ``dt``, ``bin_size``,
    ``weight_interval``, ``tau_input`` (s); ``rate`` (Hz); ``record_synapses``
    (None = all, int count of randomly chosen synapses, or (post, pre) pairs);
    ``record_signal`` also records the rule's integrated signal ``η∫g dt``;
    ``w_init``/``w_init_sd`` the initial weights' mean and SD.
    """

    kind = "rate"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rule not in RATE_RULES:
            raise ValueError(f"`rule` {self.rule!r} needs spikes; the rate circuit supports "
                             f"{', '.join(map(repr, RATE_RULES))}. Use "
                             "SpikingCircuitConfig for STDP.")


@dataclass(frozen=True)
class SpikingCircuitConfig(_CircuitConfig):
    """A spiking circuit: Poisson inputs onto leaky integrate-and-fire neurons.

    Inputs are inhomogeneous Poisson processes with the rates of
    :class:`RateCircuitConfig`.  Post neurons are current-based LIF
    (``tau_m`` s, threshold ``v_th`` mV above rest, reset to rest, refractory
    ``t_ref`` s, membrane noise ``v_noise`` mV SD); a presynaptic spike adds
    ``w · J`` with ``J = drive / (n_pre · rate · tau_m)`` mV, so all-ones weights
    give ``drive`` mV of mean depolarisation.  Optional fixed random recurrence
    among post neurons: connection probability ``p_recurrent``, jump
    ``j_recurrent`` mV.  Traces (``tau_trace`` s) estimate rates; the rule uses them
    divided by ``rate``.  STDP: pair-based, all-to-all, windows ``tau_stdp`` s,
    depression/potentiation ratio ``stdp_ratio``.  The error rule's teacher is a
    second LIF population driven by the same inputs through fixed weights
    ``W* ~ N(1, teacher_sd²)``.
    """

    kind = "spiking"
    tau_m: float = 0.02
    v_th: float = 20.0
    t_ref: float = 0.002
    v_noise: float = 4.0
    drive: float = 16.0
    tau_trace: float = 0.05
    tau_stdp: float = 0.02
    stdp_ratio: float = 1.05
    p_recurrent: float = 0.0
    j_recurrent: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, unit in (("tau_m", "s"), ("v_th", "mV"), ("tau_trace", "s"),
                           ("tau_stdp", "s")):
            object.__setattr__(self, name, check_number(name, getattr(self, name), low=0.0,
                                                strict=True, unit=unit))
        for name, unit in (("t_ref", "s"), ("v_noise", "mV"), ("drive", "mV"),
                           ("stdp_ratio", "")):
            value = check_number(name, getattr(self, name), low=0.0, unit=unit)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "j_recurrent", check_number("j_recurrent", self.j_recurrent,
                                                     unit="mV"))
        p = check_number("p_recurrent", self.p_recurrent, low=0.0)
        if p > 1:
            raise ValueError(f"`p_recurrent` must be a probability in [0, 1]; got {p!r}.")
        object.__setattr__(self, "p_recurrent", p)


def check_fits_memory(cfg: _CircuitConfig) -> None:
    """Refuse a circuit simulation whose record would not fit in memory (one line, up front)."""
    n_bins = cfg.duration / cfg.bin_size
    n_w = cfg.duration / cfg.weight_interval + 1
    check_memory(
        cfg.memory_bytes(),
        what=(f"the {cfg.kind} simulation ({cfg.duration / cfg.dt:.3g} steps of dt = "
              f"{cfg.dt:g} s, {n_bins:.3g} activity bins, {n_w:.3g} weight samples of "
              f"{cfg.n_post}×{cfg.n_pre} synapses)"),
        fix="shorten `duration` (--duration) or use fewer units `n_pre`/`n_post` "
            "(--n-pre/--n-post)")
