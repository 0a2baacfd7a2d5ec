"""The design circuit in numpy and in Brian2 (plastix.circuits.linear) are the same circuit.

Both implementations are fed the same random draws (inputs, noise kicks and
measurement errors, in the order of ``plastix.design.circuit._draws``) and must
return the same weight trajectories, records and estimated alignments to float
precision, for every rule, at baseline and after a mid-session manipulation
(inverted error signal, presynaptic silencing).

Tolerance ``rtol = atol = 1e-12`` throughout: the two paths evaluate the same
Euler–Maruyama step on the same numbers; they differ only in floating-point
rounding (the order in which Brian2's summed variables and numpy's einsum add up
``W x``, and how Brian2 arranges ``w + dt (η g − γ w)``), about 1e-16 per step.
The dynamics are contracting (decay), so rounding does not accumulate; the
measured worst relative difference is ~4e-16, so 1e-12 leaves four orders of
margin and still fails on any real difference (one missing kick or one bin out
of step changes weights by ~1e-2).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from plastix.design import CircuitSpec, Hypothesis, Manipulation, estimator_measure
from plastix.design.circuit import (
    Condition,
    _draws,
    new_sessions,
    run_condition,
    window_record,
)

pytestmark = pytest.mark.brian2

TOL = {"rtol": 1e-12, "atol": 1e-12}  # float rounding only; see the module docstring
SPEC = CircuitSpec(n_pre=8, n_post=4, n_intervals=10)
ETA = {"hebbian": 0.5, "error": 2.0, "random": 1.0}
MANIPULATIONS = {
    "none": Condition(SPEC.decay, SPEC.noise),
    "error_inverted": Condition(SPEC.decay, SPEC.noise, error_gain=-1.0),
    "silence_half": Condition(SPEC.decay, SPEC.noise, silenced=0.5),
}


def _session(rule: str, simulator: str, seed: int) -> tuple:
    """Baseline (settle + window) then a manipulated window, branching from the same state."""
    spec = dataclasses.replace(SPEC, simulator=simulator)
    st = new_sessions(spec, rule, ETA[rule], batch=(2,), rng=np.random.default_rng(seed))
    st.weight = 0.5 * st.teacher
    base = run_condition(st, spec, MANIPULATIONS["none"], settle=0.35)  # 3.5 intervals
    return spec, st, base


# Each rule once and each manipulation once by default (3.5 s a case on 2 cores); the
# other six pairs are slow. The full design below compares every pair's alignment too.
_DIAGONAL = {("hebbian", "none"), ("error", "error_inverted"), ("random", "silence_half")}


@pytest.mark.parametrize(("rule", "manipulation"), [
    pytest.param(r, m, marks=() if (r, m) in _DIAGONAL else pytest.mark.slow)
    for r in ("hebbian", "error", "random") for m in MANIPULATIONS])
def test_numpy_and_brian2_give_the_same_sessions(rule, manipulation):
    measure = estimator_measure()
    out = {}
    for sim in ("numpy", "brian2"):
        spec, st, base = _session(rule, sim, seed=7)
        after_base = st.weight.copy()
        cond = MANIPULATIONS[manipulation]
        man = run_condition(st, spec, cond)  # mid-session: continues from the baseline state
        out[sim] = (spec, base, after_base, man, st.weight, st.rng.standard_normal())
    (s_np, b_np, w1_np, m_np, w2_np, r_np), (s_b2, b_b2, w1_b2, m_b2, w2_b2, r_b2) = (
        out["numpy"], out["brian2"])
    assert r_np == r_b2  # both consumed exactly the same random draws
    for key in ("pre", "post", "weight"):
        assert_allclose(b_b2[key], b_np[key], **TOL, err_msg=f"baseline {key}")
        assert_allclose(m_b2[key], m_np[key], **TOL, err_msg=f"{manipulation} {key}")
    assert_allclose(w1_b2, w1_np, **TOL)
    assert_allclose(w2_b2, w2_np, **TOL)
    # the manipulation did something (the comparison is not between two idle circuits)
    if manipulation == "silence_half":
        assert np.all(m_np["pre"][..., 4:] == 0) and np.all(m_b2["pre"][..., 4:] == 0)
        assert np.all(b_np["pre"][..., 4:] != 0)
    # the same records, hence the same estimated alignment
    for i in range(2):
        for win_np, win_b2, c in ((b_np, b_b2, MANIPULATIONS["none"]), (m_np, m_b2, cond)):
            r1 = window_record(win_np, (i,), s_np, decay=c.decay)
            r2 = window_record(win_b2, (i,), s_b2, decay=c.decay)
            for v in ("pre_activity", "post_activity", "weight"):
                assert_allclose(r2[v].values, r1[v].values, **TOL)
            a1, a2 = measure(r1), measure(r2)
            assert np.isfinite(a1)
            # alignment is a cosine of sums over the record: rounding of ~1e-15
            assert_allclose(a2, a1, rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # 13 s; test_propose_experiments_through_brian2 checks the same on the design
def test_inverting_the_error_signal_matters_only_for_the_error_rule():
    """A check that κ reaches the Brian2 equations: −1 changes the error rule only."""
    finals = {}
    for rule in ("error", "hebbian"):
        for kappa in (1.0, -1.0):
            spec, st, _ = _session(rule, "brian2", seed=3)
            run_condition(st, spec, Condition(SPEC.decay, SPEC.noise, error_gain=kappa),
                          measure=False, settle=0.5)
            finals[rule, kappa] = st.weight
    assert np.max(np.abs(finals["error", 1.0] - finals["error", -1.0])) > 0.05
    assert_allclose(finals["hebbian", -1.0], finals["hebbian", 1.0], rtol=0, atol=0)


@pytest.mark.parametrize("rule", ["hebbian", "error", "random"])
def test_simulate_linear_record_equals_the_design_record(rule):
    """The public one-session API, fed explicit draws, returns the design's record."""
    from plastix.circuits.linear import simulate_linear

    spec = SPEC
    st = new_sessions(spec, rule, ETA[rule], batch=(1,), rng=np.random.default_rng(11))
    st.weight = 0.3 * st.teacher
    w0 = st.weight[0].copy()
    cond = Condition(spec.decay, 0.2, error_gain=-1.0 if rule == "error" else 1.0)
    st.rng = np.random.default_rng(12)
    win = run_condition(st, spec, cond)
    rec_np = window_record(win, (0,), spec, decay=cond.decay)
    # the same draws, in the numpy path's order
    g = np.random.default_rng(12)
    n_bins = spec.n_intervals * spec.bins_per_interval
    chunks = list(_draws(g, (), spec, cond, n_bins))
    inputs = np.concatenate([x for _, _, x in chunks])
    kicks = np.stack([xi for _, xi, _ in chunks])
    errors = g.standard_normal((spec.n_intervals + 1, spec.n_post, spec.n_pre))
    rec_b2 = simulate_linear(spec, rule=rule, eta=ETA[rule], decay=cond.decay, noise=cond.noise,
                             weights0=w0, teacher=st.teacher[0], drive=st.drive[0],
                             inputs=inputs, noise_increments=kicks,
                             measurement_errors=errors, error_gain=cond.error_gain)
    assert rec_b2.attrs["source"] == "brian2"
    for v in ("pre_activity", "post_activity", "weight"):
        assert rec_b2[v].dims == rec_np[v].dims
        assert_allclose(rec_b2[v].values, rec_np[v].values, **TOL, err_msg=v)
    for c in ("time", "weight_time"):
        assert_allclose(rec_b2[c].values, rec_np[c].values, rtol=0, atol=1e-12)
    assert float(rec_b2["decay"]) == float(rec_np["decay"])
    measure = estimator_measure()
    assert_allclose(measure(rec_b2), measure(rec_np), rtol=1e-10, atol=1e-12)


def test_brian2_drawn_noise_has_the_stated_variance():
    """With Brian2's own randn() kicks (and no input), the kicks are N(0, σ² Δ)."""
    from plastix.circuits.linear import integrate_linear

    spec = dataclasses.replace(SPEC, n_intervals=20)
    n_bins = spec.n_intervals * spec.bins_per_interval
    shape = (spec.n_post, spec.n_pre)
    kw = dict(rule="error", eta=2.0, decay=1.0, noise=0.3, weights0=np.zeros(shape),
              teacher=np.ones(shape), inputs=np.zeros((n_bins, spec.n_pre)))
    res = integrate_linear(spec, **kw, rng=5)
    again = integrate_linear(spec, **kw, rng=5)
    assert_allclose(again["weight"], res["weight"], rtol=0, atol=0)  # same seed, same run
    w = res["weight"]
    m, dt = spec.bins_per_interval, spec.dt
    # x = 0: between kicks only decay acts, w ← (1 − γ dt)^m w; the residual is the kick
    kicks = w[1:-1] - (1 - kw["decay"] * dt) ** m * w[:-2]
    z = kicks / (kw["noise"] * np.sqrt(m * dt))
    # 19 × 32 = 608 N(0, 1) draws: SE of the SD ≈ 1/sqrt(2·608) = 0.029, of the mean 0.041;
    # thresholds are 5 SE
    assert abs(z.std() - 1.0) < 0.15 and abs(z.mean()) < 0.2
    assert np.all(w[0] != 0)  # the first kick lands at t = 0, before the first sample


def test_bad_inputs_are_reported():
    from plastix.circuits.linear import integrate_linear, simulate_linear

    shape = (SPEC.n_post, SPEC.n_pre)
    kw = dict(rule="error", eta=1.0, decay=1.0, noise=0.1, weights0=np.zeros(shape),
              teacher=np.zeros(shape), inputs=np.zeros((20, SPEC.n_pre)))
    with pytest.raises(ValueError, match=r"`rule` must be one of 'hebbian', 'error', "
                       r"'random'; got 'eror'\. Did you mean 'error'\?"):
        integrate_linear(SPEC, **{**kw, "rule": "eror"})
    with pytest.raises(ValueError, match=r"`drive` \(the random rule's fixed matrix G\) is "
                       r"required for rule='random'\."):
        integrate_linear(SPEC, **{**kw, "rule": "random"})
    with pytest.raises(ValueError, match=r"`noise_increments` must have shape \(2, 4, 8\)"):
        integrate_linear(SPEC, **kw, noise_increments=np.zeros((3, 4, 8)))
    with pytest.raises(ValueError, match=r"`inputs` must hold a whole number of weight "
                       r"intervals \(10 bins each\); got 15 bins\."):
        simulate_linear(SPEC, **{**kw, "inputs": np.zeros((15, SPEC.n_pre))})
    with pytest.raises(TypeError, match=r"`spec` must be a plastix\.design\.CircuitSpec"):
        integrate_linear({"n_pre": 8}, **kw)
    with pytest.raises(ValueError, match=r"`simulator` must be one of 'numpy', 'brian2'; got "
                       r"'brain2'\. Did you mean 'brian2'\?"):
        CircuitSpec(simulator="brain2")


HYPS = (Hypothesis("hebbian", "hebbian", eta=0.5), Hypothesis("error", "error", eta=2.0),
        Hypothesis("random", "random", eta=1.0))
MANS = (Manipulation("error_inverted", error_gain=-1.0, settle=0.0),
        Manipulation("silence_half", silenced=0.5, settle=0.0))


@pytest.fixture(scope="module")
def brian2_design():
    from plastix.design import propose_experiments

    kw = dict(circuit=SPEC, hypotheses=HYPS, manipulations=MANS, n_replicates=3,
              n_calibration=2, rng=0, progress=False)
    return propose_experiments(simulator="brian2", **kw), propose_experiments(**kw)


def test_propose_experiments_through_brian2(brian2_design):
    res, ref = brian2_design
    table = res.table
    assert table.shape == (len(MANS), ref.table.shape[1])
    assert list(table.columns) == list(ref.table.columns)
    assert sorted(table["manipulation"]) == sorted(m.name for m in MANS)
    assert list(table["rank"]) == [1, 2]
    assert res.dataset["change"].shape == (len(MANS), len(HYPS), 3)
    assert '"simulator": "brian2"' in res.dataset.attrs["circuit"]
    assert '"simulator": "numpy"' in ref.dataset.attrs["circuit"]
    # the same seed through Brian2 gives the numpy design's numbers and ranking
    for v in ("alignment_baseline", "alignment_manipulated", "change"):
        assert_allclose(res.dataset[v].values, ref.dataset[v].values, rtol=1e-10, atol=1e-12)
    assert res.ranking == ref.ranking
    # and the error rule is the one that inverting the error signal moves: the other rules
    # do not read κ, so their change is window-to-window variation of a mean of 3 sessions
    # (|change| <= 0.06 over seeds 0-2), while the error rule's is -0.5 to -0.7
    chg = res.dataset["change_mean"].sel(manipulation="error_inverted")
    assert abs(float(chg.sel(hypothesis="error"))) > 0.1
    assert_allclose(chg.sel(hypothesis=["hebbian", "random"]).values, 0.0, atol=0.1)


def test_cli_passes_the_simulator(brian2_design, tmp_path, monkeypatch, capsys):
    import plastix.design.propose as P
    from plastix.cli import main

    seen = {}

    def fake(**kw):
        seen.update(kw)
        return brian2_design[0]

    monkeypatch.setattr(P, "propose_experiments", fake)
    assert main(["design", "--simulator", "brian2", "--replicates", "3", "--quiet", "--out",
                 str(tmp_path)]) == 0
    assert seen["simulator"] == "brian2"
    assert (tmp_path / "design.csv").exists()
    assert main(["design", "--quiet", "--overwrite", "--out", str(tmp_path)]) == 0
    assert seen["simulator"] == "numpy"
