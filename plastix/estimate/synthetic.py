"""A fast linear-rate generator with a known plasticity rule, for calibrating the estimator
(and :func:`fit_replicates`, the calibration suite's replicate fits, on the executor seam).

The model (time in seconds, rates in Hz, weights dimensionless):

* presynaptic rates ``r_t = mean + sd · L x_t`` where ``x`` is a unit-variance
  Ornstein–Uhlenbeck process (time constant ``tau``) per unit and ``L`` a fixed
  mixing matrix (``mixing = 0``: independent units); in each interval a random
  fraction ``silent_fraction`` of the presynaptic units is silenced (rate 0);
* postsynaptic rates ``y_t = W_k r_t + post_noise · ξ_t``;
* weights are sampled every ``bins_per_interval`` bins and change once per
  interval (like a minibatch step), with the interval's co-activity
  ``H_k = Σ_t y_t r_tᵀ dt`` (Hz) and

  ``W_{k+1} = W_k + lr · g_k − decay · Δt · W_k + noise · √Δt · ε_k``,

  where the rule's learning signal is ``g_k = H_k`` (``"hebbian"``), ``−H_k``
  (``"anti_hebbian"``), ``Σ_t (W* r_t − y_t) r_tᵀ dt`` (``"error"``: the delta
  rule towards a fixed teacher ``W*``, not Hebbian by construction) or ``0``
  (``"null"``: weights driven by noise and decay only, no Hebbian structure).

So the estimator's learning signal ``ĝ_k = ΔW_k + decay Δt W_k`` equals
``lr g_k + noise · √Δt · ε_k`` exactly, and the truth is known.

Truth
-----
The estimand of ``HebbianEstimator.alignment_`` is
``Σ_k⟨ĝ_k, H_k⟩ / √(Σ_k‖ĝ_k‖² Σ_k‖H_k‖²)``.  Its population value for the
stationary process, computed from the *true* signal and the known noise
variance (never from noisy estimates), is

``θ = E⟨lr g, H⟩ / √((E‖lr g‖² + n_syn noise² Δt) · E‖H‖²)``

(the noise is independent of ``H_k`` and of ``g_k``, so it adds only its
variance to the norm).  :func:`population_alignment` evaluates the three
expectations on a long run after burn-in.  For ``"null"`` θ = 0 exactly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.signal import lfilter

from plastix._util.errors import check_choice
from plastix._util.executor import Task, run_tasks
from plastix._util.rng import resolve_rng
from plastix._util.validate import (
    check_int,
    check_keywords,
    check_nonnegative,
    check_positive,
)

__all__ = ["RULES", "SyntheticConfig", "simulate_synthetic", "population_alignment",
           "fit_linear_rule", "simulate_spike_record", "fit_replicates", "fit_replicate"]

RULES = ("hebbian", "anti_hebbian", "error", "null")


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the linear-rate generator (units in brackets).

    Attributes
    ----------
    rule : {"hebbian", "anti_hebbian", "error", "null"}
    n_pre, n_post : int
    n_intervals : int
        Recorded weight intervals (``n_intervals + 1`` weight samples).
    bins_per_interval : int
        Fine bins between weight samples.
    dt : float
        Bin width [s].
    tau : float
        Time constant of the presynaptic OU rates [s].
    rate_mean, rate_sd : float
        Mean and stationary SD of presynaptic rates [Hz].
    mixing : float
        In [0, 1): strength of shared input among presynaptic units.
    post_noise : float
        SD of postsynaptic rate noise per bin [Hz].
    lr : float
        Learning rate [1/Hz] (``lr · g`` is a weight change).
    decay : float
        Weight-decay rate γ [1/s].
    noise : float
        Weight noise SD per √s [1/√s].
    silent_fraction : float
        Fraction of presynaptic units silenced in each interval.
    teacher_scale : float
        Scale of the teacher ``W*`` (rule ``"error"``) and of the initial weights.
    n_burn : int
        Intervals simulated (and discarded) before recording starts.
    structure_seed : int
        Seed of the fixed structure (mixing matrix, teacher, initial weights), so
        that the population truth is one number per configuration while ``rng``
        draws the replicate (inputs and noise).
    """

    rule: str = "hebbian"
    n_pre: int = 20
    n_post: int = 10
    n_intervals: int = 100
    bins_per_interval: int = 20
    dt: float = 0.01
    tau: float = 0.05
    rate_mean: float = 0.0
    rate_sd: float = 1.0
    mixing: float = 0.5
    post_noise: float = 0.5
    lr: float = 0.25
    decay: float = 2.0
    noise: float = 0.1
    silent_fraction: float = 0.0
    teacher_scale: float = 1.0
    n_burn: int = 100
    structure_seed: int = 0

    def __post_init__(self) -> None:
        check_choice("rule", self.rule, RULES)
        for name in ("n_pre", "n_post", "n_intervals", "bins_per_interval"):
            check_int(name, getattr(self, name), low=1)
        check_int("n_burn", self.n_burn, low=0)
        check_positive("dt", self.dt, "s")
        check_positive("tau", self.tau, "s")
        for name in ("rate_sd", "post_noise", "lr", "decay", "noise", "teacher_scale"):
            check_nonnegative(name, getattr(self, name))
        if not np.isfinite(self.rate_mean):
            raise ValueError(f"`rate_mean` must be finite (Hz); got {self.rate_mean!r}.")
        if not 0 <= self.mixing < 1:
            raise ValueError(f"`mixing` must be in [0, 1); got {self.mixing!r}.")
        if not 0 <= self.silent_fraction < 1:
            raise ValueError(f"`silent_fraction` must be in [0, 1); got {self.silent_fraction!r}.")
        dur = self.bins_per_interval * self.dt
        drive = 0.0 if self.rule == "null" else self.lr * (self.rate_mean**2 + self.rate_sd**2)
        step = (drive + self.decay) * dur
        if step >= 1:
            raise ValueError(
                f"the weight update overshoots: (lr · rate² + decay) · Δt = {step:.3g} must be < 1 "
                f"(Δt = bins_per_interval · dt = {dur:.3g} s); with larger steps the discrete "
                "weights oscillate from interval to interval. Lower `lr`, `decay` or "
                "`bins_per_interval`."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (round-trips through :meth:`from_dict`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SyntheticConfig:
        """Build from :meth:`to_dict` output; unknown keys raise with a suggestion."""
        check_keywords("SyntheticConfig.from_dict()", dict(d),
                       [f.name for f in dataclasses.fields(cls)])
        return cls(**d)

    def replace(self, **changes: Any) -> SyntheticConfig:
        """A copy with some fields changed."""
        check_keywords("SyntheticConfig.replace()", changes,
                       [f.name for f in dataclasses.fields(self)])
        return dataclasses.replace(self, **changes)


def _mixing(cfg: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    n = cfg.n_pre
    m = (1 - cfg.mixing) * np.eye(n) + cfg.mixing * rng.standard_normal((n, n)) / math.sqrt(n)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _run(cfg: SyntheticConfig, rng: np.random.Generator, *, record: bool, n_intervals: int):
    """Simulate; yield per-interval arrays (or accumulate truth sums when not recording)."""
    m, dt = cfg.bins_per_interval, cfg.dt
    dur = m * dt
    srng = np.random.default_rng(cfg.structure_seed)
    mix = _mixing(cfg, srng)
    teacher = cfg.teacher_scale * srng.standard_normal((cfg.n_post, cfg.n_pre)) / math.sqrt(
        cfg.n_pre)
    w = cfg.teacher_scale * srng.standard_normal((cfg.n_post, cfg.n_pre)) / math.sqrt(cfg.n_pre)
    a = math.exp(-dt / cfg.tau)
    x_prev = rng.standard_normal(cfg.n_pre)
    total = cfg.n_burn + n_intervals
    n_silent = int(round(cfg.silent_fraction * cfg.n_pre))
    sums = np.zeros(3)
    out_pre, out_post, out_w = [], [], []
    block = 256  # intervals of OU input generated at once
    for b0 in range(0, total, block):
        nb = min(block, total - b0)
        xi = rng.standard_normal((nb * m, cfg.n_pre))
        x, _ = lfilter([math.sqrt(1 - a * a)], [1.0, -a], xi, axis=0, zi=(a * x_prev)[None, :])
        x_prev = x[-1]
        rates = (cfg.rate_mean + cfg.rate_sd * x @ mix.T).reshape(nb, m, cfg.n_pre)
        if n_silent:
            for i in range(nb):
                rates[i][:, rng.choice(cfg.n_pre, n_silent, replace=False)] = 0.0
        eps = cfg.post_noise * rng.standard_normal((nb, m, cfg.n_post))
        wnoise = rng.standard_normal((nb, cfg.n_post, cfg.n_pre))
        for i in range(nb):
            r = rates[i]
            y = r @ w.T + eps[i]
            h = y.T @ r * dt
            if cfg.rule == "hebbian":
                g = h
            elif cfg.rule == "anti_hebbian":
                g = -h
            elif cfg.rule == "error":
                g = (r @ teacher.T - y).T @ r * dt
            else:
                g = np.zeros_like(h)
            recording = b0 + i >= cfg.n_burn
            if recording and record:
                out_pre.append(r)
                out_post.append(y)
                out_w.append(w)
            elif recording:
                lg = cfg.lr * g
                sums += (np.sum(lg * h), np.sum(lg * lg), np.sum(h * h))
            w = w + cfg.lr * g - cfg.decay * dur * w + cfg.noise * math.sqrt(dur) * wnoise[i]
            if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e12:
                raise ValueError(
                    f"the weights diverged under rule {cfg.rule!r}: lr · (input covariance) "
                    f"outgrows decay={cfg.decay}; raise `decay` or lower `lr`/`rate_sd`."
                )
    if record:
        out_w.append(w)
        return np.concatenate(out_pre), np.concatenate(out_post), np.stack(out_w), teacher
    return sums


def simulate_synthetic(config: SyntheticConfig | None = None, *, rng: Any = None,
                       known_decay: bool = False, **overrides: Any) -> xr.Dataset:
    """Simulate a record with a known rule (see the module docstring).

    Parameters
    ----------
    config : SyntheticConfig, optional
        Parameters; keyword ``overrides`` replace single fields.
    rng : int, Generator or None
        Randomness (inputs, teacher, noise).
    known_decay : bool
        Store ``config.decay`` as the record's known decay (otherwise NaN, unknown).

    Returns
    -------
    xarray.Dataset
        A plastix record (time in s, rates in Hz); ``truth`` holds the rule, the
        configuration and the teacher.
    """
    cfg = (config or SyntheticConfig()).replace(**overrides) if overrides else (
        config or SyntheticConfig())
    gen = resolve_rng(rng)
    pre, post, w, teacher = _run(cfg, gen, record=True, n_intervals=cfg.n_intervals)
    m = cfg.bins_per_interval
    n_t = pre.shape[0]
    time = np.arange(n_t) * cfg.dt
    weight_time = (np.arange(cfg.n_intervals + 1) * m) * cfg.dt
    from plastix.record import make_record

    return make_record(
        pre, post, w, time=time, weight_time=weight_time, dt=cfg.dt, time_units="s",
        activity_units="Hz", activity_kind="rate",
        decay=cfg.decay if known_decay else None, source="plastix.estimate.synthetic",
        provenance={"generator": "plastix.estimate.synthetic", "config": cfg.to_dict()},
        truth={"rule": cfg.rule, "config": cfg.to_dict(), "decay": cfg.decay,
               "teacher": teacher.tolist() if cfg.rule == "error" else None},
    )


def population_alignment(config: SyntheticConfig, *, n_intervals: int = 20000,
                         rng: Any = None) -> float:
    """Population value ``θ`` of the estimator's alignment for this generating process.

    ``θ = E⟨lr g, H⟩ / √((E‖lr g‖² + n_syn noise² Δt) E‖H‖²)``, the expectations
    taken over ``n_intervals`` stationary intervals of a fresh run with the true
    signal ``g`` (noise enters only through its known variance).  0 for ``"null"``.
    """
    if config.rule == "null":
        return 0.0
    sums = _run(config, resolve_rng(rng), record=False, n_intervals=n_intervals)
    dur = config.bins_per_interval * config.dt
    noise_energy = n_intervals * config.n_pre * config.n_post * config.noise**2 * dur
    return float(sums[0] / math.sqrt((sums[1] + noise_energy) * sums[2]))


def fit_linear_rule(record: xr.Dataset, *, kernel: str = "product",
                    decay: float | None = None) -> dict[str, float]:
    """What rule-inference tools do: least squares ``ΔW_k = a H_k − γ Δt_k W_k``.

    Fitted over all observed (interval, synapse) pairs, with ``γ`` free
    (``decay=None``) or known (``decay`` in 1 / time unit: then only ``a``).
    ``a > 0`` is read as "a Hebbian rule"; for an error-driven rule at
    stationarity it is ``> 0`` too, which is the emergent signature (SPEC §6,
    the trap).  With ``γ`` known, ``a = Σ⟨ĝ, H⟩ / Σ‖H‖²`` has the sign of the
    alignment; with ``γ`` free, ``H ≈ W C`` is nearly collinear with ``W`` and
    ``a`` also absorbs how the rule responds to fluctuations of ``C``.

    Returns
    -------
    dict
        ``a`` (weight / Hebbian-term units) and ``decay`` (1 / time unit).
    """
    from plastix.estimate._stats import BoundKernel, _hebbian_batch, _Rows, layout_of
    from plastix.record import delta_weight, interval_weight, validate_record

    validate_record(record, stage="fit_linear_rule")
    lay = layout_of(record)
    hs = []
    pre_r, post_r = _Rows(record, "pre_activity"), _Rows(record, "post_activity")
    for i in range(lay.k.size):
        h, *_ = _hebbian_batch(pre_r, post_r, lay, np.array([i]), kernel=BoundKernel(kernel), lag=0,
                               dt=float(record.attrs["dt"]), chunk_bins=1 << 30, shift=0)
        hs.append(h[0])
    h = np.stack(hs)
    dw = delta_weight(record).values
    w = interval_weight(record).values * lay.duration[:, None, None]
    ok = np.isfinite(dw) & np.isfinite(w)
    if decay is not None:
        y = dw[ok] + float(decay) * w[ok]
        return {"a": float(np.dot(h[ok], y) / np.dot(h[ok], h[ok])), "decay": float(decay)}
    x = np.stack([h[ok], -w[ok]], axis=1)
    coef, *_ = np.linalg.lstsq(x, dw[ok], rcond=None)
    return {"a": float(coef[0]), "decay": float(coef[1])}


def simulate_spike_record(n_pre: int = 1000, n_post: int = 1, *, duration: float = 100.0,
                          rate: float = 15.0, weight_every: float = 1.0, rule: str = "stdp",
                          lr: float = 0.01, noise: float = 0.01, tau: float = 0.02,
                          rng: Any = None) -> xr.Dataset:
    """A fast spike-train record with pair-based STDP weights (seconds, Hz).

    Not a neuron model: a cheap stand-in with the statistics the estimator sees.

    * presynaptic trains: independent homogeneous Poisson processes at ``rate``;
    * postsynaptic trains: Poisson background at ``rate / 2`` plus spikes driven
      by the inputs: each presynaptic spike of ``j`` triggers a spike of ``i``
      with probability ``p_ij ∝ W_0[i, j]`` (scaled so that the driven rate is
      ``rate / 2``) after a latency of ``2 ms + Exp(3 ms)``;
    * weights sampled every ``weight_every`` s:
      ``W_{k+1} = W_k + lr · H_k + noise · ε_k`` with ``H_k`` the registry's
      ``"stdp"`` term of interval ``k`` (``rule="stdp"``: the estimator's
      learning signal is the STDP term itself plus noise), or
      ``W_{k+1} = W_k + noise · ε_k`` (``rule="static"``: no plasticity);
    * ``pre_activity``/``post_activity``: spike counts in bins of
      ``weight_every / 10``; ``decay`` 0.

    Parameters
    ----------
    n_pre, n_post : int
        Units.
    duration, rate, weight_every, tau : float
        Record length (s), firing rate (Hz), weight sampling interval (s), STDP
        time constant (s).
    rule : {"stdp", "static"}
        Weight dynamics.
    lr, noise : float
        Step size (weight per signed pair count) and weight noise SD per interval.
    rng : int, Generator or None
        Seed.

    Returns
    -------
    xarray.Dataset
        A plastix record with ``pre_spikes``/``post_spikes``.
    """
    from plastix.kernels import Spikes, get_kernel
    from plastix.record import make_record

    check_choice("rule", rule, ("stdp", "static"))
    rng = resolve_rng(rng)
    counts = rng.poisson(rate * duration, size=n_pre)
    pu = np.repeat(np.arange(n_pre), counts)
    pt = rng.uniform(0.0, duration, size=pu.size)
    w0 = rng.uniform(0.0, 1.0, size=(n_post, n_pre))
    p = 0.5 * w0 / w0.sum(1, keepdims=True)  # Σ_j p_ij = 1/2: driven rate = rate / 2
    qt, qu = [], []
    for i in range(n_post):
        fire = rng.random(pt.size) < p[i, pu]
        lat = 0.002 + rng.exponential(0.003, size=int(fire.sum()))
        bg = rng.uniform(0.0, duration, size=rng.poisson(rate / 2 * duration))
        t_i = np.concatenate([pt[fire] + lat, bg])
        t_i = t_i[t_i < duration]
        qt.append(t_i)
        qu.append(np.full(t_i.size, i))
    qt, qu = np.concatenate(qt), np.concatenate(qu)
    n_w = int(round(duration / weight_every)) + 1
    wt = np.arange(n_w) * weight_every
    dt = weight_every / 10
    t = np.arange(int(round(duration / dt))) * dt
    edges = np.append(t, duration)
    pre_act = np.zeros((t.size, n_pre))
    np.add.at(pre_act, (np.clip(np.searchsorted(edges, pt, "right") - 1, 0, t.size - 1), pu), 1)
    post_act = np.zeros((t.size, n_post))
    np.add.at(post_act, (np.clip(np.searchsorted(edges, qt, "right") - 1, 0, t.size - 1), qu), 1)
    h = get_kernel("stdp").term(Spikes(pt, pu, n_pre), Spikes(qt, qu, n_post), wt, tau=tau)
    steps = noise * rng.standard_normal((n_w - 1, n_post, n_pre))
    if rule == "stdp":
        steps += lr * h
    w = np.concatenate([w0[None], w0[None] + np.cumsum(steps, axis=0)])
    rec = make_record(pre_act, post_act, w, time=t, weight_time=wt, dt=dt,
                      activity_units="1", activity_kind="count", decay=0.0,
                      pre_spikes={"time": pt, "unit": pu}, post_spikes={"time": qt, "unit": qu},
                      source="plastix.estimate.synthetic.simulate_spike_record",
                      truth={"rule": rule, "lr": lr, "noise": noise, "tau": tau, "rate": rate})
    return rec


def fit_replicates(simulate: Callable[..., xr.Dataset], n: int, *, seed0: int,
                   estimator: Mapping[str, Any] | None = None, client: Any = None,
                   progress: bool = False) -> list:
    """The calibration suite's replicates: ``n`` independent records fitted one task each.

    Replicate ``r`` fits ``HebbianEstimator(**estimator, rng=r)`` to the record
    ``simulate(rng=seed0 + r)``; both seeds are fixed by ``r`` before anything runs, so
    the fits are the same in this process (the default) and on a Dask cluster
    (``client=``, :mod:`plastix._util.executor`), whatever the number of workers.

    Parameters
    ----------
    simulate : callable
        ``simulate(rng=seed) -> record``, e.g. ``functools.partial(simulate_synthetic,
        config)`` (module-level, so that the workers can import it).
    n : int
        Replicates.
    seed0 : int
        The records' seeds are ``seed0, ..., seed0 + n - 1``.
    estimator : mapping, optional
        Keyword arguments of :class:`plastix.estimate.HebbianEstimator` (not ``rng``).
    client : distributed.Client, optional
    progress : bool
        Show a progress bar (replicates finished).

    Returns
    -------
    list of HebbianEstimator
        Fitted, in replicate order.
    """
    n = check_int("n", n, low=1)
    seed0 = check_int("seed0", seed0, low=0)
    opts = {**dict(estimator or {}), "progress": False}
    tasks = [Task(f"replicate-{seed0 + r}-{r}", fit_replicate, (simulate, seed0 + r, r, opts))
             for r in range(n)]
    out: list = [None] * n
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="calibration replicates", leave=False)
    try:
        run_tasks(tasks, lambda task, est: out.__setitem__(task.args[2], est), client=client,
                  bar=bar)
    finally:
        if bar is not None:
            bar.close()
    return out


def fit_replicate(simulate: Callable[..., xr.Dataset], seed: int, r: int,
                  estimator: Mapping[str, Any], *, tick: Any = None) -> Any:
    """One task of :func:`fit_replicates`: fit replicate ``r`` (record seed ``seed``)."""
    from plastix.estimate.estimator import HebbianEstimator

    est = HebbianEstimator(**estimator, rng=r).fit(simulate(rng=seed))
    if tick is not None:
        tick(1)
    return est
