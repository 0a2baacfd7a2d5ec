"""Propose experiments that tell emergent from mechanistic Hebbian plasticity apart.

:func:`propose_experiments` states the hypotheses, calibrates them to one baseline
alignment, simulates every candidate manipulation under every hypothesis (with
replicate sessions) in the design circuit, measures every simulated session with
the same estimator that serves real data (:class:`plastix.estimate.HebbianEstimator`),
and ranks the manipulations by how well they separate the hypotheses within the
recording budget.

Sign convention: alignment ``A = cos(ĝ, H)``, ``A > 0`` Hebbian, ``A < 0``
anti-Hebbian; ``ĝ = H`` gives ``A = 1`` and ``ĝ = −H`` gives ``A = −1``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.rng import resolve_rng
from plastix._util.validate import check_int, check_keywords, check_memory
from plastix._util.warn import warn_caller
from plastix.design._tasks import measure_records
from plastix.design.circuit import (
    SIMULATORS,
    CircuitSpec,
    Condition,
    SessionState,
    new_sessions,
    run_condition,
    stationary_weight,
    window_record,
)
from plastix.design.hypotheses import (
    Calibration,
    Hypothesis,
    baseline_settle,
    calibrate,
    default_hypotheses,
)
from plastix.design.manipulations import (
    Manipulation,
    boundary_k,
    default_manipulations,
    manipulated_condition,
    noise_boundary,
    settle_time,
)
from plastix.design.power import compare_pair
from plastix.design.resume import (
    load_checkpoint,
    measure_identity,
    resumable_measure,
    resume_folder,
    rng_identity,
    save_checkpoint,
)

__all__ = ["DEFAULT_TARGET", "DEFAULT_ESTIMATOR", "DesignResult", "propose_experiments",
           "estimator_measure", "circuit_from_record", "rank_table"]

DEFAULT_TARGET = 0.35
"""Baseline alignment the hypotheses are calibrated to when no record is given."""

DEFAULT_ESTIMATOR: dict[str, Any] = {"kernel": "product", "n_boot": 1, "n_null": 0}
"""Estimator options for simulated sessions: only the point estimate ``alignment_``
is used (its spread over replicate sessions is the uncertainty that matters), so
no bootstrap or null replicates are drawn."""

_ESTIMATOR_KEYS = ["kernel", "decay", "lag", "stdp_tau", "n_boot", "block_length", "n_null",
                   "alpha", "chunk_bins"]


def estimator_measure(**params: Any) -> Callable[[xr.Dataset], float]:
    """``measure(record) -> alignment``, the estimator's ``alignment_`` on a record.

    The estimator is :class:`plastix.estimate.HebbianEstimator`.

    ``params`` override :data:`DEFAULT_ESTIMATOR`.
    """
    check_keywords("estimator_measure()", params, _ESTIMATOR_KEYS)
    from plastix.estimate import HebbianEstimator

    opts = {**DEFAULT_ESTIMATOR, **params, "progress": False, "rng": 0}

    def measure(record: xr.Dataset) -> float:
        return float(HebbianEstimator(**opts).fit(record).alignment_)

    measure.params = dict(opts)  # type: ignore[attr-defined]
    return measure


@dataclass(frozen=True)
class DesignResult:
    """What :func:`propose_experiments` returns.

    Attributes
    ----------
    dataset : xarray.Dataset
        Every number, labelled (see :func:`propose_experiments`).
    table : pandas.DataFrame
        One row per manipulation, best first.
    calibrations : tuple of Calibration
        One per hypothesis.
    """

    dataset: xr.Dataset
    table: Any
    calibrations: tuple[Calibration, ...]

    @property
    def ranking(self) -> list[str]:
        """Manipulation names, best first."""
        return list(self.table["manipulation"])


# ----------------------------------------------------------------- record -> circuit


def circuit_from_record(record: Any, *, measure: Callable[[xr.Dataset], float] | None = None,
                        estimator: Mapping[str, Any] | None = None,
                        base: CircuitSpec | None = None,
                        max_units: tuple[int, int] = (64, 32)) -> tuple[CircuitSpec, float]:
    """Fit the design circuit's size, time grid and decay to a record; return it and the target.

    The target baseline alignment is the estimator's ``alignment_`` on the record;
    the decay is its ``decay_`` (the record's known decay, or the estimate from
    silent synapses), converted to 1/s.  ``n_pre``/``n_post`` are capped at
    ``max_units`` to keep the design fast; ``dt`` and the weight interval are the
    record's (the interval rounded to a whole number ≥ 2 of bins), and a window
    holds as many intervals as the record (between 10 and 200).
    """
    from plastix.estimate import HebbianEstimator
    from plastix.io import load_record
    from plastix.record import interval_duration, validate_record

    ds = load_record(record) if not isinstance(record, xr.Dataset) else record
    validate_record(ds, stage="design")
    opts = {**DEFAULT_ESTIMATOR, **dict(estimator or {}), "progress": False, "rng": 0}
    est = HebbianEstimator(**opts).fit(ds)
    target = float(est.alignment_)
    if not np.isfinite(target):
        raise ValueError("`record`: the estimator's alignment on it is undefined (NaN), so it "
                         "cannot serve as the calibration target; check that its weights "
                         "change and its activity is not all zero.")
    to_s = {"s": 1.0, "ms": 1e-3, "min": 60.0, "step": 1.0}[ds.attrs.get("time_units", "s")]
    decay = float(est.decay_) / to_s
    if not decay > 0:
        raise ValueError(f"`record`: its decay is {decay!r} 1/s; the design needs a positive "
                         "decay (the mechanism behind emergent Hebbian signatures). Pass a record "
                         "with a known `decay`, or one with silent presynaptic units.")
    dt = float(ds.attrs["dt"]) * to_s
    dur = float(np.median(interval_duration(ds).values)) * to_s
    m = max(2, int(round(dur / dt)))
    base = base or CircuitSpec()
    spec = dataclasses.replace(
        base, n_pre=min(ds.sizes["pre"], max_units[0]), n_post=min(ds.sizes["post"],
                                                                   max_units[1]),
        dt=dt, weight_interval=m * dt,
        n_intervals=int(np.clip(interval_duration(ds).size, 10, 200)), decay=decay)
    return spec, target


# ----------------------------------------------------------------- simulation


def _records_alignment(win: Mapping[str, np.ndarray], spec: CircuitSpec, cond: Condition,
                       measure: Callable, truth: dict, bar: Any, client: Any = None
                       ) -> np.ndarray:
    n = win["pre"].shape[0]
    _check_window(win, spec, cond, truth)
    recs = [window_record(win, (i,), spec, decay=cond.decay, truth={**truth, "session": i})
            for i in range(n)]
    return measure_records(recs, measure, what=f"{truth['hypothesis']}, {truth['condition']}",
                           bar=bar, client=client)


def _check_window(win: Mapping[str, np.ndarray], spec: CircuitSpec, cond: Condition,
                  truth: dict) -> None:
    """Raise one line naming the hypothesis and condition when its sessions ran away."""
    from plastix.circuits.divergence import SimulationDiverged
    from plastix.design.circuit import window_divergence

    found = window_divergence(win, spec)
    if found is None:
        return
    raise SimulationDiverged(
        f"the sessions of hypothesis {truth['hypothesis']!r} ({truth['rule']} rule, eta "
        f"{truth['eta']:.3g} 1/s) diverged under {truth['condition']!r} (decay "
        f"{cond.decay:g} 1/s, noise {cond.noise:g}/sqrt(s), error gain {cond.error_gain:g}): "
        f"{found.describe()} of the measured window; plastix's own simulation, not the file "
        "of --record, ran away: leave that manipulation out (`manipulations`) or give the "
        "hypothesis a smaller fixed `eta`, and please report it.")


def _simulate(spec: CircuitSpec, cal: Calibration, manipulations: Sequence[Manipulation],
              n_rep: int, rng: np.random.Generator, measure: Callable, sigma_c: float | None,
              bar: Any, client: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Baseline (replicate,) and manipulated (manipulation, replicate) alignments."""
    hyp = cal.hypothesis
    gens = rng.spawn(len(manipulations) + 2)
    state = new_sessions(spec, hyp.rule, hyp.eta, batch=(n_rep,), rng=gens[0])
    naive = SessionState(np.zeros_like(state.weight), state.teacher, state.drive, state.eta,
                         hyp.rule, gens[1])
    state.weight = np.nan_to_num(stationary_weight(hyp.rule, state.eta, spec.decay,
                                                   state.teacher, state.drive))
    base_cond = Condition(spec.decay, spec.noise)
    truth = {"rule": hyp.rule, "eta": hyp.eta, "hypothesis": hyp.name}
    win = run_condition(state, spec, base_cond, settle=baseline_settle(hyp.rule, hyp.eta,
                                                                       spec.decay))
    base = _records_alignment(win, spec, base_cond, measure,
                              {**truth, "condition": "baseline", "decay": base_cond.decay,
                               "noise": base_cond.noise}, bar, client)
    manip = np.empty((len(manipulations), n_rep))
    for i, m in enumerate(manipulations):
        if m.phase == "early":
            st, cond = naive.copy(gens[i + 2]), base_cond
        else:
            st, cond = state.copy(gens[i + 2]), manipulated_condition(m, spec,
                                                                      sigma_boundary=sigma_c)
        win = run_condition(st, spec, cond, settle=settle_time(m, spec))
        manip[i] = _records_alignment(win, spec, cond, measure,
                                      {**truth, "condition": m.name, "decay": cond.decay,
                                       "noise": cond.noise, "error_gain": cond.error_gain,
                                       "silenced": cond.silenced}, bar, client)
    return base, manip


# ----------------------------------------------------------------- statistics


def _ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    from scipy import stats

    x = x[np.isfinite(x)]
    if x.size < 2:
        return (math.nan, math.nan)
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def rank_table(ds: xr.Dataset) -> Any:
    """The ranked table (pandas DataFrame) of a design dataset, best manipulation first.

    Order: manipulations whose required number of sessions fits the budget first;
    then by the sessions required for the *weakest* pair of hypotheses (fewer
    first); then by the power at the budget for that pair (higher first); then by
    the number of pairs of hypotheses it separates (more first); then by name.
    """
    import pandas as pd

    rows = []
    for m in ds["manipulation"].values:
        s = ds.sel(manipulation=m)
        rows.append({
            "rank": int(s["rank"]), "manipulation": str(m),
            "fits_budget": bool(s["fits_budget"]),
            "power_at_budget": float(s["power_min"]),
            "sessions_required": float(s["sessions_required"]),
            "synapses_required": float(s["sessions_required"])
            * int(ds.attrs["synapses_per_session"]),
            "weakest_pair": str(s["weakest_pair"].values),
            "best_pair": str(s["best_pair"].values),
            "sessions_required_best": float(s["sessions_required_pair"].sel(
                pair=str(s["best_pair"].values))),
            "abs_effect_size_weakest": float(s["effect_size_min"]),
            "pairs_separated": int(s["pairs_separated"]),
            "n_pairs": int(ds.sizes["pair"]),
            **{f"change_{h}": float(s["change_mean"].sel(hypothesis=h))
               for h in ds["hypothesis"].values},
            "settle_s": float(s["settle"]),
            "description": str(s["description"].values),
        })
    return pd.DataFrame(rows).sort_values("rank").reset_index(drop=True)


def _summarise(spec: CircuitSpec, cals: Sequence[Calibration],
               manipulations: Sequence[Manipulation], base: np.ndarray, manip: np.ndarray,
               *, budget: int, alpha: float, power: float, sigma_c: float | None,
               target: float, measure_params: Mapping[str, Any]) -> xr.Dataset:
    names = [c.hypothesis.name for c in cals]
    mnames = [m.name for m in manipulations]
    n_h, n_m, n_r = len(names), len(mnames), base.shape[1]
    change = manip - base[:, None, :]                      # (hyp, manip, rep)
    pairs = list(itertools.combinations(range(n_h), 2))
    pnames = [f"{names[i]}|{names[j]}" for i, j in pairs]
    d = np.full((n_m, len(pairs)), np.nan)
    d_adj = np.full_like(d, np.nan)
    d_pow = np.full_like(d, np.nan)
    p_sep = np.full_like(d, np.nan)
    pw = np.full_like(d, np.nan)
    n_req = np.full_like(d, np.nan)
    for a, b in itertools.product(range(n_m), range(len(pairs))):
        i, j = pairs[b]
        c = compare_pair(change[i, a], change[j, a], budget=budget, alpha=alpha, power=power)
        d[a, b], d_adj[a, b], d_pow[a, b] = (c["effect_size"], c["effect_size_debiased"],
                                             c["effect_size_power"])
        p_sep[a, b], pw[a, b], n_req[a, b] = (c["separation_p"], c["power"],
                                              c["sessions_required"])
    # NaN (no spread, equal means) and inseparable pairs are the weakest
    absd = np.nan_to_num(np.abs(d_pow), nan=0.0)
    strength = np.where(p_sep < alpha, absd, -1.0 / (1.0 + absd))
    weakest = np.argmin(strength, axis=1)
    best = np.argmax(strength, axis=1)
    power_min = pw[np.arange(n_m), weakest]
    separated = np.sum(p_sep < alpha, axis=1)
    sess_req = n_req[np.arange(n_m), weakest]
    fits = sess_req <= budget
    order = sorted(range(n_m), key=lambda a: (not fits[a], sess_req[a], -power_min[a],
                                              -separated[a], mnames[a]))
    rank = np.empty(n_m, dtype=int)
    rank[order] = np.arange(1, n_m + 1)
    m_stats = np.array([[[np.nanmean(manip[h, a]), np.nanstd(manip[h, a], ddof=1),
                          *_ci(manip[h, a]), np.nanmean(change[h, a]),
                          np.nanstd(change[h, a], ddof=1), *_ci(change[h, a])]
                         for h in range(n_h)] for a in range(n_m)])
    sign = "A > 0 Hebbian, A < 0 anti-Hebbian; cosine in [-1, 1]"
    conds = [manipulated_condition(m, spec, sigma_boundary=sigma_c)
             if m.phase == "late" and (m.noise_boundary_multiple is None or sigma_c is not None)
             else Condition(spec.decay, spec.noise) for m in manipulations]
    ds = xr.Dataset(
        data_vars={
            "alignment_baseline": (("hypothesis", "replicate"), base, {
                "units": "1", "sign_convention": sign,
                "long_name": "estimated alignment, baseline window at stationarity"}),
            "alignment_manipulated": (("manipulation", "hypothesis", "replicate"),
                                      manip.transpose(1, 0, 2), {
                "units": "1", "sign_convention": sign,
                "long_name": "estimated alignment, manipulated window"}),
            "change": (("manipulation", "hypothesis", "replicate"), change.transpose(1, 0, 2), {
                "units": "1", "long_name": "manipulated minus baseline alignment, same session"}),
            "alignment_mean": (("manipulation", "hypothesis"), m_stats[..., 0], {"units": "1"}),
            "alignment_sd": (("manipulation", "hypothesis"), m_stats[..., 1], {"units": "1"}),
            "alignment_ci_low": (("manipulation", "hypothesis"), m_stats[..., 2], {
                "units": "1", "long_name": "95% t interval of the mean over replicates"}),
            "alignment_ci_high": (("manipulation", "hypothesis"), m_stats[..., 3], {"units": "1"}),
            "change_mean": (("manipulation", "hypothesis"), m_stats[..., 4], {"units": "1"}),
            "change_sd": (("manipulation", "hypothesis"), m_stats[..., 5], {"units": "1"}),
            "change_ci_low": (("manipulation", "hypothesis"), m_stats[..., 6], {"units": "1"}),
            "change_ci_high": (("manipulation", "hypothesis"), m_stats[..., 7], {"units": "1"}),
            "baseline_mean": ("hypothesis", np.nanmean(base, axis=1), {"units": "1"}),
            "baseline_sd": ("hypothesis", np.nanstd(base, axis=1, ddof=1), {"units": "1"}),
            "calibration_achieved": ("hypothesis", [c.achieved for c in cals], {"units": "1"}),
            "calibration_converged": ("hypothesis", np.array([c.converged for c in cals],
                                                             dtype=np.int8)),
            "calibration_tolerance": ("hypothesis", [c.tolerance for c in cals], {"units": "1"}),
            "eta": ("hypothesis", [c.hypothesis.eta for c in cals], {
                "units": "1/s", "long_name": "calibrated learning rate"}),
            "effect_size": (("manipulation", "pair"), d, {
                "units": "1", "long_name": "Cohen's d of the change, second minus first"}),
            "effect_size_debiased": (("manipulation", "pair"), d_adj, {
                "units": "1", "long_name": "Cohen's d with the mean difference debiased"}),
            "effect_size_power": (("manipulation", "pair"), d_pow, {
                "units": "1", "long_name": "debiased difference / max SD (harder direction); "
                "used for power and sessions"}),
            "separation_p": (("manipulation", "pair"), p_sep, {
                "units": "1", "long_name": "Welch p-value between the replicates"}),
            "power": (("manipulation", "pair"), pw, {
                "units": "1", "long_name": f"power at the budget, alpha={alpha}"}),
            "sessions_required_pair": (("manipulation", "pair"), n_req, {
                "units": "sessions", "long_name": f"sessions for power {power}"}),
            "power_min": ("manipulation", power_min, {"units": "1"}),
            "sessions_required": ("manipulation", sess_req, {"units": "sessions"}),
            "effect_size_min": ("manipulation", np.abs(d_pow[np.arange(n_m), weakest]),
                                {"units": "1"}),
            "weakest_pair": ("manipulation", np.array([pnames[w] for w in weakest])),
            "best_pair": ("manipulation", np.array([pnames[w] for w in best])),
            "pairs_separated": ("manipulation", separated.astype(np.int64)),
            "fits_budget": ("manipulation", fits.astype(np.int8)),
            "rank": ("manipulation", rank),
            "settle": ("manipulation", [settle_time(m, spec) for m in manipulations],
                       {"units": "s"}),
            "decay": ("manipulation", [c.decay for c in conds], {"units": "1/s"}),
            "noise": ("manipulation", [c.noise for c in conds], {"units": "1/sqrt(s)"}),
            "description": ("manipulation", np.array([m.description for m in manipulations])),
        },
        coords={"manipulation": mnames, "hypothesis": names, "replicate": np.arange(n_r),
                "pair": pnames,
                "rule": ("hypothesis", [c.hypothesis.rule for c in cals])},
        attrs={
            "target_alignment": float(target), "budget_sessions": int(budget),
            "alpha": float(alpha), "power_goal": float(power), "unit": "session",
            "synapses_per_session": int(spec.n_pre * spec.n_post),
            "window_s": float(spec.window), "sign_convention": sign,
            "noise_boundary": float(sigma_c) if sigma_c is not None else math.nan,
            "noise_boundary_k": (float(boundary_k(spec, _error_eta(cals)))
                                 if sigma_c is not None else math.nan),
            "circuit": json.dumps(spec.to_dict()),
            "hypotheses": json.dumps([c.to_dict() for c in cals], default=float),
            "manipulations": json.dumps([m.to_dict() for m in manipulations]),
            "estimator": json.dumps({k: v for k, v in measure_params.items()}, default=str),
            "decision_rule": (
                "per session, change = alignment(manipulated window) - alignment(baseline "
                "window); reject a hypothesis when a two-sided one-sample t-test of the "
                "measured changes against its predicted mean change gives p < alpha"),
            "ranking_rule": (
                "fits the budget first; then sessions required for the weakest pair of "
                "hypotheses (debiased difference / max SD); then power at the budget; then "
                "pairs separated; then name"),
        },
    )
    return ds


def _error_eta(cals: Sequence[Calibration]) -> float | None:
    for c in cals:
        if c.hypothesis.rule == "error":
            return float(c.hypothesis.eta)
    return None


# ----------------------------------------------------------------- public entry point


def propose_experiments(
    *,
    record: Any = None,
    budget: int = 20,
    budget_unit: str = "session",
    n_replicates: int = 12,
    hypotheses: Sequence[Hypothesis] | None = None,
    manipulations: Sequence[Manipulation] | None = None,
    circuit: CircuitSpec | None = None,
    target: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    estimator: Mapping[str, Any] | None = None,
    measure: Callable[[xr.Dataset], float] | None = None,
    n_calibration: int = 8,
    simulator: str | None = None,
    rng: Any = None,
    progress: bool = True,
    resume_dir: Any = None,
    client: Any = None,
) -> DesignResult:
    """Rank candidate manipulations by how well they separate the hypotheses.

    Steps: (1) calibrate each hypothesis' learning rate so that the estimator
    returns the same baseline alignment (``target``; from ``record`` when given);
    (2) for each hypothesis, simulate ``n_replicates`` sessions of the design
    circuit: a baseline window at stationarity, then each manipulation branching
    from the same state (or, for ``early_learning``, the same session from naive
    weights); (3) measure every window with the estimator; (4) for each
    manipulation and pair of hypotheses, compute Cohen's d of the per-session
    change (manipulated − baseline), its debiased value, the power of the decision
    rule with ``budget`` sessions at ``alpha``, and the sessions needed for
    ``power``; (5) rank (see :func:`rank_table`).

    Parameters
    ----------
    record : xarray.Dataset or path, optional
        A user's record; the circuit and target come from it
        (:func:`circuit_from_record`).
    budget : int
        What the experimenter can record, in ``budget_unit``.
    budget_unit : {"session", "synapse"}
        ``"session"``: one session follows all ``n_pre × n_post`` synapses of the
        design circuit through a baseline and a manipulated window.  ``"synapse"``:
        the budget is converted to whole sessions (``budget // (n_pre n_post)``,
        at least 2).
    n_replicates : int
        Simulated sessions per hypothesis (≥ 3).
    hypotheses, manipulations : sequences, optional
        Defaults: :func:`default_hypotheses`, :func:`default_manipulations`.
    circuit : CircuitSpec, optional
        The design circuit (default :class:`CircuitSpec`, or fitted to ``record``).
    target : float, optional
        Baseline alignment to calibrate to; default the record's, else
        :data:`DEFAULT_TARGET`.
    alpha, power : float
        Test level and the power goal of the sample size.
    estimator : mapping, optional
        Options of :class:`plastix.estimate.HebbianEstimator` (over
        :data:`DEFAULT_ESTIMATOR`).
    measure : callable, optional
        ``measure(record) -> alignment`` replacing the estimator (for tests and
        other estimators).
    n_calibration : int
        Sessions per calibration evaluation.
    simulator : {"numpy", "brian2"}, optional
        Which implementation integrates every session, calibration included
        (overrides ``circuit.simulator``; default: the circuit's, ``"numpy"``).
        ``"brian2"`` runs each batch of sessions as one Brian2 network of
        :mod:`plastix.circuits.linear`, fed the same random draws as the numpy
        path, so the same seed gives the same numbers to float precision; it is
        slower (0.1-0.5 ms per bin per network plus ~0.15 s to build each; the
        default design took 16 s against 4.3 s with numpy in the same run).
    rng : int, Generator or None
        The same seed gives the same numbers and ranking.
    progress : bool
        Show a progress bar.
    resume_dir : str or path, optional
        A folder where each measured session is written as soon as it finishes;
        a rerun with the same settings (and an int ``rng``) reads those back
        instead of measuring them again and ends with the same result
        (:mod:`plastix.design.resume`).
    client : distributed.Client, optional
        Measure the simulated sessions, calibration sessions included, on this Dask
        cluster (one task per session, simulated here; results written here, in
        ``resume_dir`` too); the same numbers as without.

    Returns
    -------
    DesignResult
        ``.dataset`` (dims ``manipulation``, ``hypothesis``, ``replicate``,
        ``pair``), ``.table`` (ranked), ``.calibrations``.

    Notes
    -----
    Default sizes: a session is 16 presynaptic × 8 postsynaptic units (128
    synapses), bins of 10 ms, weights sampled every 100 ms, 2 s windows; 12
    replicate sessions per hypothesis and 8 per calibration point.  With the 3
    default hypotheses and 6 manipulations that is at most 516 simulated sessions,
    each measured by the estimator (about 10-30 ms each); the whole run took 25-35 s
    on the shared 2-core development machine.  By default the simulations use the
    batched numpy design circuit (:mod:`plastix.design.circuit`);
    ``simulator="brian2"`` runs the same circuit, manipulations included, as
    Brian2 networks (:mod:`plastix.circuits.linear`).

    Examples
    --------
    Alignment ``A > 0`` is Hebbian, ``A < 0`` anti-Hebbian.

    >>> res = propose_experiments(n_replicates=4, rng=0, progress=False)  # doctest: +SKIP
    >>> res.ranking[0]  # doctest: +SKIP
    """
    budget, n_rep, n_cal = _check_counts(budget, budget_unit, n_replicates, n_calibration,
                                         progress, circuit)
    hyps, mans = _candidates(hypotheses, manipulations)
    gen = resolve_rng(rng)
    if measure is None:
        measure = estimator_measure(**dict(estimator or {}))
    elif estimator is not None:
        raise ValueError("give either `measure` or `estimator` options, not both.")
    spec, target = _design_circuit(record, circuit, simulator, estimator, target)
    budget_input = budget
    budget = _budget_sessions(budget, budget_unit, spec)
    if not -1.0 < target < 1.0:
        raise ValueError(f"`target` must be an alignment in (-1, 1); got {target!r}.")

    _check_memory(spec, max(n_rep, 8 * n_cal))  # calibration: 8 learning rates at once
    if resume_dir is not None:
        measure = _resumable(resume_dir, measure, gen, spec=spec, hypotheses=hyps,
                             manipulations=mans, n_replicates=n_rep, n_calibration=n_cal,
                             target=target)
    cals, base, manip, sigma_c = _run_design(spec, hyps, mans, n_rep=n_rep, n_cal=n_cal,
                                             target=target, measure=measure, gen=gen,
                                             progress=progress, client=client,
                                             folder=getattr(measure, "folder", None)
                                             if resume_dir is not None else None)
    off = [f"{c.hypothesis.name} ({c.achieved:+.3f})" for c, h in zip(cals, hyps, strict=True)
           if h.eta is None and not c.converged]
    if off:
        warn_caller(f"calibration did not reach the target alignment {target:+.3f} within "
                    f"tolerance for: {', '.join(off)}; their predictions start from a "
                    "different baseline (see `calibration_achieved`).", RuntimeWarning)
    ds = _summarise(spec, cals, mans, base, manip, budget=budget, alpha=alpha, power=power,
                    sigma_c=sigma_c, target=target,
                    measure_params=getattr(measure, "params", {"measure": repr(measure)}))
    ds.attrs["budget_input"] = f"{budget_input} {budget_unit}s"
    return DesignResult(ds, rank_table(ds), cals)


def _saved_calibrations(folder: Any, hyps: Sequence[Hypothesis]) -> tuple[Calibration, ...] | None:
    """The calibrations a resumed design saved (:func:`save_checkpoint`), or None."""
    saved = None if folder is None else load_checkpoint(folder, "calibration")
    if saved is None or len(saved) != len(hyps):
        return None
    out = []
    for hyp, c in zip(hyps, saved, strict=True):
        h = dataclasses.replace(hyp, eta=c["hypothesis"]["eta"])
        out.append(Calibration(h, c["target"], c["achieved"], c["achieved_sd"], c["tolerance"],
                               c["converged"], tuple(c["grid_eta"]),
                               tuple(c["grid_alignment"])))
    return tuple(out)


def _check_counts(budget: Any, budget_unit: Any, n_replicates: Any, n_calibration: Any,
                  progress: Any, circuit: Any) -> tuple[int, int, int]:
    """The checked budget, replicate and calibration counts."""
    budget = check_int("budget", budget, low=2)
    check_choice("budget_unit", budget_unit, ("session", "synapse"))
    n_rep = check_int("n_replicates", n_replicates, low=3)
    n_cal = check_int("n_calibration", n_calibration, low=2)
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be a bool; got {type(progress).__name__}.")
    if circuit is not None and not isinstance(circuit, CircuitSpec):
        raise TypeError(f"`circuit` must be a plastix.design.CircuitSpec or None; got "
                        f"{type(circuit).__name__}.")
    return budget, n_rep, n_cal


def _resumable(resume_dir: Any, measure: Callable[[xr.Dataset], float],
               gen: np.random.Generator, **config: Any) -> Callable[[xr.Dataset], float]:
    """``measure`` backed by the resume folder of this configuration (before any draw)."""
    key = {**config, "measure": measure_identity(measure), "rng": rng_identity(gen)}
    return resumable_measure(measure, resume_folder(resume_dir, key))


def _candidates(hypotheses: Sequence[Hypothesis] | None,
                manipulations: Sequence[Manipulation] | None
                ) -> tuple[tuple[Hypothesis, ...], tuple[Manipulation, ...]]:
    """The hypotheses and manipulations to compare (defaults filled in), checked."""
    hyps = tuple(default_hypotheses() if hypotheses is None else hypotheses)
    mans = tuple(default_manipulations() if manipulations is None else manipulations)
    for name, seq, cls, low in (("hypotheses", hyps, Hypothesis, 2),
                                ("manipulations", mans, Manipulation, 1)):
        bad = [type(x).__name__ for x in seq if not isinstance(x, cls)]
        if bad:
            raise TypeError(f"`{name}` must hold {cls.__name__} objects; got {bad[0]}.")
        if len(seq) < low:
            raise ValueError(f"`{name}` must hold at least {low}; got {len(seq)}.")
        names = [x.name for x in seq]
        if len(set(names)) != len(names):
            raise ValueError(f"`{name}` must have unique names; got {names}.")
    return hyps, mans


def _design_circuit(record: Any, circuit: CircuitSpec | None, simulator: str | None,
                    estimator: Mapping[str, Any] | None,
                    target: float | None) -> tuple[CircuitSpec, float]:
    """The circuit to simulate and the baseline alignment to calibrate to.

    From ``record`` when given (``target`` overrides its alignment), else
    ``circuit`` (default :class:`CircuitSpec`) and :data:`DEFAULT_TARGET`;
    ``simulator`` overrides the circuit's.
    """
    if record is not None:
        spec, rec_target = circuit_from_record(record, estimator=estimator, base=circuit)
        target = rec_target if target is None else target
    else:
        spec = circuit or CircuitSpec()
    if simulator is not None:
        check_choice("simulator", simulator, SIMULATORS)
        spec = dataclasses.replace(spec, simulator=simulator)
    return spec, DEFAULT_TARGET if target is None else float(target)


def _budget_sessions(budget: int, budget_unit: str, spec: CircuitSpec) -> int:
    """The budget in whole sessions (a synapse budget divided by the synapses per session)."""
    if budget_unit != "synapse":
        return budget
    n_syn = spec.n_pre * spec.n_post
    sessions = budget // n_syn
    if sessions < 2:
        raise ValueError(f"`budget` of {budget} synapses is less than 2 sessions of "
                         f"{n_syn} synapses each; the design needs at least "
                         f"{2 * n_syn} synapses.")
    return sessions


def _check_memory(spec: CircuitSpec, batch: int) -> None:
    """Refuse, up front, a design whose batch of simulated windows would not fit in memory.

    One window of ``batch`` sessions holds ``n_bins × (n_pre + n_post)`` activity
    values and ``(n_intervals + 1) × n_post × n_pre`` weight samples per session
    (8 bytes each), counted twice for the records built from it.
    """
    n_bins = spec.n_intervals * spec.bins_per_interval
    per_session = n_bins * (spec.n_pre + spec.n_post) + (
        spec.n_intervals + 1) * spec.n_post * spec.n_pre
    check_memory(
        2 * 8 * batch * per_session,
        what=(f"the design's simulated sessions ({batch} at once, each {n_bins} bins of "
              f"{spec.n_pre}+{spec.n_post} units and {spec.n_intervals + 1} weight samples of "
              f"{spec.n_post}×{spec.n_pre} synapses)"),
        fix="use a smaller circuit (CircuitSpec n_pre, n_post, n_intervals) or fewer "
            "`n_replicates` (--replicates) and `n_calibration`")


def _run_design(spec: CircuitSpec, hyps: Sequence[Hypothesis], mans: Sequence[Manipulation],
                *, n_rep: int, n_cal: int, target: float, measure: Callable[[xr.Dataset], float],
                gen: np.random.Generator, progress: bool, folder: Path | None = None,
                client: Any = None
                ) -> tuple[list[Calibration], np.ndarray, np.ndarray, float | None]:
    """Calibrate every hypothesis, then simulate and measure its sessions.

    With a resume ``folder`` (:mod:`plastix.design.resume`), the calibrations and each
    hypothesis' alignments are saved as they finish, and those saved before are read
    back instead of being simulated again.

    Returns the calibrations, the baseline alignments ``(hypothesis, replicate)``,
    the manipulated ones ``(hypothesis, manipulation, replicate)`` and the noise
    boundary σ_c of the error rule (None without an error hypothesis).
    """
    n_free = sum(h.eta is None for h in hyps)
    n_cal_fits = n_cal * (n_free * (8 + 5) + (len(hyps) - n_free))  # at most
    total = n_cal_fits + len(hyps) * n_rep * (1 + len(mans))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="plastix design", unit="session")
    try:
        cal_gen = gen.spawn(1)[0]
        cals = _saved_calibrations(folder, hyps)
        if cals is None:
            cals = calibrate(hyps, spec, target=target, measure=measure, n_sessions=n_cal,
                             rng=cal_gen, progress=bar, client=client)
            if folder is not None:
                save_checkpoint(folder, "calibration", [dataclasses.asdict(c) for c in cals])
        if bar is not None:  # calibration may stop refining early
            bar.update(n_cal_fits - bar.n)
        eta_err = _error_eta(cals)
        sigma_c = noise_boundary(spec, eta_err) if eta_err is not None else None
        base = np.empty((len(hyps), n_rep))
        manip = np.empty((len(hyps), len(mans), n_rep))
        for h, (cal, g) in enumerate(zip(cals, gen.spawn(len(hyps)), strict=True)):
            saved = None if folder is None else load_checkpoint(folder, f"sessions-{h}")
            if saved is not None:  # all its sessions were simulated and measured before
                base[h], manip[h] = saved["base"], saved["manip"]
                if bar is not None:
                    bar.update(n_rep * (1 + len(mans)))
                continue
            base[h], manip[h] = _simulate(spec, cal, mans, n_rep, g, measure, sigma_c, bar,
                                          client)
            if folder is not None:
                save_checkpoint(folder, f"sessions-{h}", {"base": base[h], "manip": manip[h]})
    finally:
        if bar is not None:
            bar.close()
    return cals, base, manip, sigma_c
