"""Experiment design: power analysis, calibration, manipulations, ranking, files.

Statistical thresholds are stated next to each assertion.  Simulations use a small
design circuit (8 pre × 4 post, 10 intervals) unless a test needs the default one.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from plastix.design import (
    CircuitSpec,
    Hypothesis,
    Manipulation,
    compare_pair,
    debiased_effect_size,
    default_manipulations,
    effect_size,
    estimator_measure,
    noise_boundary,
    power_one_sample,
    propose_experiments,
    sample_size,
    simulated_power,
)
from plastix.design.circuit import (
    Condition,
    new_sessions,
    run_condition,
    stationary_weight,
    window_record,
)

SMALL = CircuitSpec(n_pre=8, n_post=4, n_intervals=10)
ALPHA = 0.05


def _manip(name: str) -> Manipulation:
    return {m.name: m for m in default_manipulations()}[name]


def _pool(rule: str, eta: float, n: int, seed: int, spec: CircuitSpec = SMALL) -> np.ndarray:
    """Baseline alignment of ``n`` independent sessions, measured by the estimator."""
    measure = estimator_measure()
    st = new_sessions(spec, rule, eta, batch=(n,), rng=np.random.default_rng(seed))
    st.weight = stationary_weight(rule, st.eta, spec.decay, st.teacher, st.drive)
    win = run_condition(st, spec, Condition(spec.decay, spec.noise), settle=5.0)
    return np.array([measure(window_record(win, (i,), spec, decay=spec.decay))
                     for i in range(n)])


@pytest.fixture(scope="module")
def pools():
    """Two pools of one hypothesis (independent seeds) and one of a different one."""
    return {"a": _pool("hebbian", 0.3, 300, 1), "a2": _pool("hebbian", 0.3, 300, 2),
            "b": _pool("hebbian", 0.34, 300, 3)}


# ------------------------------------------------------------------ power analysis


def test_power_is_alpha_at_zero_effect_and_grows():
    for n in (2, 5, 20, 200):
        assert power_one_sample(0.0, n, alpha=ALPHA) == pytest.approx(ALPHA, abs=1e-12)
    p = power_one_sample(0.5, np.arange(2, 60))
    assert np.all(np.diff(p) > 0), "power must grow with the number of sessions"
    assert power_one_sample(-0.5, 20) == pytest.approx(power_one_sample(0.5, 20), rel=1e-12)
    # far tails (scipy's noncentral t returns NaN there) give a finite power of 1
    assert_allclose(power_one_sample(np.array([3.75, -20.0, 1e4]), 20), 1.0, atol=1e-9)
    # with n = 2 (1 degree of freedom) even a large effect leaves power below 1
    assert 0.9 < power_one_sample(20.0, 2) < 0.999


def test_sample_size_is_the_smallest_n_reaching_the_goal():
    for d in (0.3, 0.8, 1.5, 3.0):
        n = sample_size(d, power=0.8)
        assert power_one_sample(d, n) >= 0.8
        assert n == 2 or power_one_sample(d, n - 1) < 0.8
    # against the normal approximation ((z_.975 + z_.8)/d)^2 = 31.4 for d = 0.5: the t-test
    # needs about 2 more sessions (noncentral t), the textbook value being 34.
    assert sample_size(0.5) == 34
    assert math.isinf(sample_size(0.0))


def test_debiased_difference_is_unbiased(rng):
    # delta = 0.3 sd, 8 replicates per side: the raw d^2 is biased up by about 2/8;
    # the debiased squared difference has mean delta^2 (tolerance: 4 Monte Carlo SEs).
    delta, n, reps = 0.3, 8, 4000
    a = rng.normal(0.0, 1.0, size=(reps, n))
    b = rng.normal(delta, 1.0, size=(reps, n))
    diff = b.mean(1) - a.mean(1)
    unbiased = diff**2 - a.var(1, ddof=1) / n - b.var(1, ddof=1) / n
    se = unbiased.std() / np.sqrt(reps)
    assert abs(unbiased.mean() - delta**2) < 4 * se
    assert abs((diff**2).mean() - delta**2) > 4 * se, "the raw estimate should be biased"
    d_adj = [debiased_effect_size(x, y) for x, y in zip(a[:200], b[:200], strict=True)]
    d_raw = [effect_size(x, y) for x, y in zip(a[:200], b[:200], strict=True)]
    assert np.mean(np.abs(d_adj)) < np.mean(np.abs(d_raw))


def test_analytic_power_matches_simulated_power(pools):
    # The decision rule (one-sample t-test of n sessions from b against the mean of a)
    # is run 4000 times by resampling the simulated sessions; the analytic noncentral-t
    # power at d = (mean_b - mean_a) / sd_b must agree within 3 binomial SEs plus 0.03
    # for the pool not being exactly normal.
    a, b = pools["a"], pools["b"]
    d = (b.mean() - a.mean()) / b.std(ddof=1)
    assert 0.2 < abs(d) < 1.5, f"pools should differ moderately; d = {d:.3f}"
    for n in (int(np.ceil((1.96 / abs(d)) ** 2)), int(np.ceil((2.8 / abs(d)) ** 2))):
        analytic = power_one_sample(d, n)
        sim, se = simulated_power(a, b, n, n_experiments=4000, rng=7)
        assert abs(sim - analytic) < 3 * se + 0.03, (n, sim, analytic)


def test_identical_hypotheses_have_power_alpha(pools):
    # Same rule and learning rate, independent sessions: rejection rate of the decision
    # rule is alpha.  Binomial tolerance 3 SE (4000 experiments, SE = 0.0034) plus 0.01
    # for testing against the mean of a finite pool of 300 sessions.
    a, a2 = pools["a"], pools["a2"]
    sim, se = simulated_power(a, a2, 10, n_experiments=4000, rng=11)
    assert abs(sim - ALPHA) < 3 * se + 0.01, sim
    d = debiased_effect_size(a, a2, scale="max")
    assert power_one_sample(d, 10) < ALPHA + 0.01


def test_identical_hypotheses_are_reported_inseparable_at_the_nominal_rate(pools):
    # 37 disjoint sets of 8 sessions per copy of one hypothesis: the tool may claim power
    # beyond alpha only when the Welch test separates the copies, which happens with
    # probability alpha per set.  Binomial(37, 0.05) has mean 1.85; P(X >= 7) = 0.002, so
    # at most 6 claims are allowed.  Where it makes no claim, power is alpha exactly.
    a, a2 = pools["a"], pools["a2"]
    claims, powers = 0, []
    for k in range(37):
        c = compare_pair(a[8 * k:8 * k + 8], a2[8 * k:8 * k + 8], budget=20)
        powers.append(c["power"])
        if c["separation_p"] < ALPHA:
            claims += 1
        else:
            assert c["power"] == pytest.approx(ALPHA, abs=1e-12)
            assert math.isinf(c["sessions_required"])
    assert claims <= 6, claims


def test_a_sham_manipulation_changes_nothing_and_claims_no_power():
    # A sham manipulation (no change) and a real one, for two identical hypotheses.
    hyps = (Hypothesis("hebb_1", "hebbian", eta=0.3), Hypothesis("hebb_2", "hebbian", eta=0.3))
    mans = (Manipulation("sham", settle=0.0), _manip("decay_double"))
    res = propose_experiments(hypotheses=hyps, manipulations=mans, circuit=SMALL,
                              n_replicates=8, n_calibration=2, rng=5, progress=False)
    ds = res.dataset
    sham = ds.sel(manipulation="sham")
    # changes under a sham are zero on average (95% t interval of each hypothesis covers 0)
    assert np.all(sham["change_ci_low"].values < 0) and np.all(sham["change_ci_high"] > 0)
    where = ds["separation_p"].values >= ALPHA
    assert_allclose(ds["power"].values[where], ALPHA, atol=1e-12)
    assert np.all(np.isinf(ds["sessions_required_pair"].values[where]))


# ------------------------------------------------------------------ circuit and estimator


def test_records_measure_what_an_independent_computation_gives():
    # The estimator on a design record equals sum_k <g_k, H_k> / sqrt(sum |g|^2 sum |H|^2)
    # with g_k = dW_k + gamma dt_k W_k and H_k = sum over the interval of post pre^T dt,
    # computed here from the raw arrays (round-off tolerance).
    spec = SMALL
    st = new_sessions(spec, "error", 1.0, batch=(2,), rng=np.random.default_rng(0))
    win = run_condition(st, spec, Condition(spec.decay, 0.2), settle=2.0)
    m = spec.bins_per_interval
    for i in range(2):
        w, pre, post = win["weight"][i], win["pre"][i], win["post"][i]
        g = np.diff(w, axis=0) + spec.decay * spec.weight_interval * w[:-1]
        k = w.shape[0] - 1
        h = np.einsum("ktp,ktq->kpq", post.reshape(k, m, -1), pre.reshape(k, m, -1)) * spec.dt
        ref = (g * h).sum() / np.sqrt((g * g).sum() * (h * h).sum())
        got = estimator_measure()(window_record(win, (i,), spec, decay=spec.decay))
        assert_allclose(got, ref, rtol=1e-10)


@pytest.mark.parametrize("rule, eta, expected", [
    ("error", 2.0, 2.0 / 3.0),      # W* = eta / (eta + gamma) T
    ("hebbian", 0.5, 1.0),          # W* = eta / (gamma - eta) T
    ("random", 0.5, 0.5),           # W* = eta / gamma G
])
def test_rules_reach_their_stationary_weights(rule, eta, expected):
    # Without noise each rule with decay settles at its closed-form W* (isotropic inputs,
    # gamma = 1/s): the projection of W on T (on G for the random rule) over |T|^2.
    # Tolerance 0.04 relative: per-bin input sampling makes W fluctuate by about
    # sqrt(eta dt / 2) of |T| per synapse, averaged here over 64 sessions, and the Euler
    # step shifts the fixed point by O(eta dt).
    spec = CircuitSpec(n_pre=8, n_post=4, noise=0.0, measurement_noise=0.0)
    st = new_sessions(spec, rule, eta, batch=(64,), rng=np.random.default_rng(1))
    run_condition(st, spec, Condition(spec.decay, 0.0), settle=15.0, measure=False)
    ref = st.drive if rule == "random" else st.teacher
    ratio = (st.weight * ref).sum() / (ref**2).sum()
    assert_allclose(ratio, expected, rtol=0.04)
    w_star = stationary_weight(rule, eta, spec.decay, st.teacher, st.drive)
    assert_allclose((w_star * ref).sum() / (ref**2).sum(), expected, rtol=1e-12)


# ------------------------------------------------------------------ the science


def test_noise_turns_error_rule_anti_hebbian_but_not_hebbian_rule():
    # Theory (SPEC §3; plastix.design.manipulations): above sigma_c the emergent signature
    # of an error-driven rule turns anti-Hebbian; a mechanistic Hebbian rule stays Hebbian.
    # Criterion: the 95% interval of the mean over 6 sessions lies below / above 0.
    res = propose_experiments(
        hypotheses=(Hypothesis("hebbian", "hebbian"), Hypothesis("error", "error")),
        manipulations=(_manip("noise_cross"),), n_replicates=6, n_calibration=4, rng=3,
        progress=False)
    s = res.dataset.sel(manipulation="noise_cross")
    assert float(s["alignment_ci_high"].sel(hypothesis="error")) < 0
    assert float(s["alignment_ci_low"].sel(hypothesis="hebbian")) > 0
    base = res.dataset["baseline_mean"]
    assert np.all(base > 0), "both hypotheses are calibrated to a Hebbian baseline"
    assert float(s["change_mean"].sel(hypothesis="error")) < float(
        s["change_mean"].sel(hypothesis="hebbian"))
    assert int(s["pairs_separated"]) == 1


def test_noise_boundary_separates_signs_for_the_error_rule():
    # Error rule alone (no calibration): at 0.5 sigma_c mean alignment > 0, at 2 sigma_c < 0,
    # each judged by the 95% t interval of 12 sessions.
    spec = CircuitSpec(n_pre=16, n_post=8, n_intervals=20)
    sc = noise_boundary(spec, 2.0)
    for factor, sign in ((0.5, 1), (2.0, -1)):
        s = dataclasses.replace(spec, noise=factor * sc)
        a = _pool("error", 2.0, 12, 9, spec=s)
        half = 2.2 * a.std(ddof=1) / np.sqrt(a.size)
        assert sign * a.mean() > half, (factor, a.mean(), half)


# ------------------------------------------------------------------ ranking and calibration


SHAM = Manipulation("sham", "change nothing", settle=0.0)


@pytest.fixture(scope="module")
def small_design():
    return propose_experiments(circuit=SMALL, n_replicates=6, n_calibration=3, rng=21,
                               manipulations=(*default_manipulations(), SHAM), progress=False)


def test_same_rng_same_ranking(small_design):
    again = propose_experiments(circuit=SMALL, n_replicates=6, n_calibration=3, rng=21,
                                manipulations=(*default_manipulations(), SHAM), progress=False)
    assert again.ranking == small_design.ranking
    assert again.dataset.equals(small_design.dataset)
    other = propose_experiments(circuit=SMALL, n_replicates=6, n_calibration=3, rng=22,
                                manipulations=(*default_manipulations(), SHAM), progress=False)
    assert not np.allclose(other.dataset["change"].values, small_design.dataset["change"].values)


def test_calibration_reaches_the_target(small_design):
    for cal in small_design.calibrations:
        assert cal.converged, cal
        assert abs(cal.achieved - cal.target) <= cal.tolerance
    ds = small_design.dataset
    # the replicate baselines (fresh sessions) agree with the target within 4 SEs + 0.03
    base = ds["alignment_baseline"].values
    se = base.std(1, ddof=1) / np.sqrt(base.shape[1])
    assert np.all(np.abs(base.mean(1) - ds.attrs["target_alignment"]) < 4 * se + 0.03)


def test_ranking_respects_the_budget(small_design):
    table = small_design.table
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    fits = table["fits_budget"].to_numpy()
    assert not np.any(~fits[:-1] & fits[1:]), "a manipulation that fits must rank higher"
    within = table[table["fits_budget"]]
    assert np.all(np.diff(within["sessions_required"].to_numpy()) >= 0)
    assert np.all(within["sessions_required"] <= small_design.dataset.attrs["budget_sessions"])
    # the sham (changes nothing) cannot separate the hypotheses: it ranks below every
    # manipulation that fits the budget and is claimed power alpha
    sham = table[table["manipulation"] == "sham"].iloc[0]
    assert not sham["fits_budget"] and sham["power_at_budget"] == pytest.approx(ALPHA)
    assert len(within) >= 1 and sham["rank"] > within["rank"].max()


def test_files_are_written_atomically(small_design, tmp_path):
    import xarray as xr

    from plastix.design.output import write_design
    from plastix.plot.design import plot_design_panels

    paths = write_design(small_design, tmp_path,
                         figure=plot_design_panels(small_design.dataset))
    assert sorted(p.name for p in paths.values()) == ["design.csv", "design.nc", "design.png",
                                                      "protocol.md"]
    with xr.open_dataset(paths["netcdf"], engine="h5netcdf") as f:
        back = f.load()
    assert_allclose(back["change"].values, small_design.dataset["change"].values)
    text = paths["protocol"].read_text()
    assert text.count("## ") == 3 and "Decision rule" in text
    # a failed write leaves the previous file intact
    before = paths["csv"].read_bytes()

    class Boom:
        def to_csv(self, p, index=False):
            raise RuntimeError("disk full")

    broken = dataclasses.replace(small_design, table=Boom())
    with pytest.raises(RuntimeError):
        write_design(broken, tmp_path)
    assert paths["csv"].read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_figure_has_labelled_axes(small_design):
    from plastix.plot.design import plot_design, plot_sessions_required

    ax = plot_design(small_design.dataset)
    assert "alignment" in ax.get_ylabel() and ax.get_xlabel()
    assert len(ax.get_xticklabels()) == small_design.dataset.sizes["manipulation"] + 1
    ax2 = plot_sessions_required(small_design.dataset)
    assert "sessions" in ax2.get_ylabel()


def test_cli_writes_the_outputs(tmp_path, monkeypatch, capsys):
    import plastix.design.propose as P
    from plastix.cli import main

    real = P.propose_experiments

    def small(**kw):
        return real(**kw, circuit=SMALL, n_calibration=2)

    monkeypatch.setattr(P, "propose_experiments", small)
    # 640 synapses of a 32-synapse session are a budget of 20 sessions
    assert main(["design", "--budget", "640", "--budget-unit", "synapse", "--replicates", "3",
                 "--seed", "1", "--quiet", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "design.csv").exists() and (tmp_path / "protocol.md").exists()
    assert "noise_cross" in capsys.readouterr().out
    import xarray as xr

    with xr.open_dataset(tmp_path / "design.nc", engine="h5netcdf") as f:
        assert f.attrs["budget_sessions"] == 20 and f.attrs["budget_input"] == "640 synapses"
    # bad input: the CLI reports it and exits 2 without touching the previous results
    before = (tmp_path / "design.csv").read_bytes()
    assert main(["design", "--budget", "1", "--quiet", "--overwrite", "--out",
                 str(tmp_path)]) == 2
    assert "`--budget` must be an int >= 2; got 1." in capsys.readouterr().err
    assert (tmp_path / "design.csv").read_bytes() == before


def test_record_sets_the_calibration_target(tmp_path):
    from plastix.design import circuit_from_record
    from plastix.estimate import HebbianEstimator
    from plastix.io import to_netcdf

    spec = SMALL
    st = new_sessions(spec, "error", 1.5, batch=(1,), rng=np.random.default_rng(4))
    st.weight = stationary_weight("error", st.eta, 0.8, st.teacher, st.drive)
    win = run_condition(st, spec, Condition(0.8, 0.1), settle=3.0)
    rec = window_record(win, (0,), spec, decay=0.8)
    path = to_netcdf(rec, tmp_path / "rec.nc")
    fitted, target = circuit_from_record(path)
    est = HebbianEstimator(n_boot=1, n_null=0, progress=False).fit(rec)
    assert_allclose(target, est.alignment_, rtol=1e-12)
    assert_allclose(fitted.decay, 0.8, rtol=1e-12)
    assert (fitted.n_pre, fitted.n_post, fitted.dt) == (spec.n_pre, spec.n_post, spec.dt)
    assert_allclose(fitted.weight_interval, spec.weight_interval, rtol=1e-9)


def test_fitted_phase_boundary_matches_the_design_circuit_theory():
    # plastix.theory.fit_phase_boundary on a (sigma, gamma) grid of the error rule in the
    # design circuit recovers k = gamma / sigma_c^2 = n_pre (eta + gamma) / (2 (2 eta + gamma))
    # (2.04 to 2.29 over this gamma range); tolerance 25% for the Euler step, the
    # start-of-interval decay correction of the estimator and 4 sessions per cell.
    from plastix.design import boundary_k
    from plastix.theory import fit_phase_boundary

    spec = CircuitSpec(n_pre=8, n_post=4, n_intervals=10)
    eta, sigmas, gammas = 6.0, np.array([0.4, 0.55, 0.7, 0.85]), np.geomspace(0.25, 2.0, 6)
    grid = np.empty((sigmas.size, gammas.size))
    measure = estimator_measure()
    gen = np.random.default_rng(12)
    for i, s in enumerate(sigmas):
        for j, g in enumerate(gammas):
            sp = dataclasses.replace(spec, noise=float(s), decay=float(g))
            st = new_sessions(sp, "error", eta, batch=(4,), rng=gen)
            st.weight = stationary_weight("error", st.eta, g, st.teacher, st.drive)
            win = run_condition(st, sp, Condition(float(g), float(s)), settle=2.0)
            grid[i, j] = np.mean([measure(window_record(win, (r,), sp, decay=float(g)))
                                  for r in range(4)])
    fit = fit_phase_boundary(sigmas, gammas, grid, rng=0, n_boot=500)
    ks = [boundary_k(spec, eta, g) for g in gammas]
    assert 0.75 * min(ks) < fit.k < 1.25 * max(ks), (fit.k, ks)


@pytest.mark.slow
def test_default_design_puts_the_noise_manipulation_on_top():
    # The default run (as `plastix design`): the noise manipulation separates all three
    # hypotheses within the default budget, with the error rule anti-Hebbian (95% interval
    # below 0) and the mechanistic Hebbian rule Hebbian (interval above 0).
    res = propose_experiments(rng=0, progress=False)
    table = res.table.set_index("manipulation")
    assert table.loc["noise_cross", "rank"] <= 3
    assert table.loc["noise_cross", "pairs_separated"] == 3
    assert table.loc["noise_cross", "fits_budget"]
    s = res.dataset.sel(manipulation="noise_cross")
    assert float(s["alignment_ci_high"].sel(hypothesis="error")) < 0
    assert float(s["alignment_ci_low"].sel(hypothesis="hebbian")) > 0
    # inverting the error signal moves only the error rule
    e = res.dataset.sel(manipulation="error_inverted")
    assert float(e["alignment_ci_high"].sel(hypothesis="error")) < 0
    assert float(e["separation_p"].sel(pair="hebbian|error")) < ALPHA
    assert float(e["separation_p"].sel(pair="error|random")) < ALPHA


def test_scalar_checks_use_the_shared_validators():
    from plastix._util.validate import check_fraction
    from plastix.design import Hypothesis, Manipulation, simulated_power

    with pytest.raises(TypeError, match=r"^`eta` must be a number \(1/s\); got bool True\.$"):
        Hypothesis("h", "error", eta=True)
    with pytest.raises(ValueError, match=r"^`eta` must be a positive finite number \(1/s\); "
                                         r"got -1\.0\.$"):
        Hypothesis("h", "error", eta=-1)
    with pytest.raises(TypeError, match=r"^`n` must be an int; got float 4\.0\. Pass 4\.$"):
        simulated_power([0.1, 0.2], [0.3, 0.4], 4.0)
    with pytest.raises(TypeError, match=r"^`error_gain` must be a number; got bool True\.$"):
        Manipulation("m", error_gain=True)
    with pytest.raises(ValueError, match=r"^`decay_factor` must be a positive finite number; "
                                         r"got 0\.0\.$"):
        Manipulation("m", decay_factor=0)
    for bad in (True, -0.1, 1.0, float("nan"), "0.5"):
        with pytest.raises(ValueError, match=r"^`silenced` must be a fraction in \[0, 1\)"):
            check_fraction("silenced", bad)
    assert check_fraction("silenced", 0) == 0.0


def test_write_design_without_a_figure_writes_no_png(small_design, tmp_path):
    from plastix.design.output import write_design

    paths = write_design(small_design, tmp_path)
    assert sorted(paths) == ["csv", "netcdf", "protocol"]
    assert not (tmp_path / "design.png").exists()
