"""plastix.theory against independent numerical computations (SPEC §3).

Each closed form is compared with something computed another way: an explicit
per-sample sum over a data set at an exactly solved stationary point, a Monte
Carlo average, a numerical optimiser or root finder, or a simulation of noisy SGD.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize

from plastix import theory as T
from plastix.alignment import stationarity_gap

# ----------------------------------------------------------------------------- fixtures


def _normalised_data(rng, n=2000, n_pre=6, n_post=3, c_a=2.5, noise=0.3):
    """Inputs with ‖x‖² = c_a exactly, targets from a random linear teacher + noise."""
    x = rng.normal(size=(n, n_pre)) * np.linspace(0.5, 1.5, n_pre)  # anisotropic directions
    x *= np.sqrt(c_a) / np.linalg.norm(x, axis=1, keepdims=True)
    teacher = rng.normal(size=(n_post, n_pre))
    y = x @ teacher.T + noise * rng.normal(size=(n, n_post))
    return x, y


def _ridge(x, y, gamma):
    """Stationary point of mean ‖W x − y‖² + γ/2 ‖W‖²: W* = 2 S (2 Σ + γ I)⁻¹."""
    n = x.shape[0]
    cov, s = x.T @ x / n, y.T @ x / n
    return np.linalg.solve(2 * cov + gamma * np.eye(x.shape[1]), 2 * s.T).T


def _per_sample_g(w, x, y):
    """g_n = −∇_W ‖W x_n − y_n‖², shape (n, post, pre)."""
    return -2 * np.einsum("ni,nj->nij", x @ w.T - y, x)


def _per_sample_h(w, x):
    """H_n = h_b h_aᵀ = (W x_n) x_nᵀ."""
    return np.einsum("ni,nj->nij", x @ w.T, x)


# ----------------------------------------------------------------------------- Lemma 1


def test_gradient_convention_matches_finite_differences(rng):
    # Guard the factor conventions used throughout: ℓ = ‖W x − y‖² (no ½).
    x, y = _normalised_data(rng, n=1)
    w = rng.normal(size=(3, 6))

    def loss(flat):
        return float(np.sum((x @ flat.reshape(3, 6).T - y) ** 2))

    fd = optimize.approx_fprime(w.ravel(), loss, 1e-7).reshape(3, 6)
    # 1e-5: forward differences with step 1e-7 on an O(10) loss.
    assert_allclose(-_per_sample_g(w, x, y)[0], fd, rtol=1e-5, atol=1e-5)


def test_lemma1_exact_at_ridge_stationary_point(rng):
    gamma, c_a = 0.3, 2.5
    x, y = _normalised_data(rng, c_a=c_a)
    w = _ridge(x, y, gamma)
    g = _per_sample_g(w, x, y)
    # The empirical distribution makes W* exactly stationary (rounding only).
    assert stationarity_gap(g.mean(0), w, gamma) < 1e-12
    direct = np.mean(np.sum(g * _per_sample_h(w, x), axis=(1, 2)))
    # Exact identity on the empirical distribution: rounding error only.
    assert_allclose(T.lemma1_alignment_mass(w, decay=gamma, presyn_norm_sq=c_a), direct,
                    rtol=1e-10)
    assert direct > 0


def test_lemma1_monte_carlo_over_batches(rng):
    gamma, c_a, n_mc = 0.3, 2.5, 20000
    x, y = _normalised_data(rng, c_a=c_a)
    w = _ridge(x, y, gamma)
    sig_a = x.T @ x / x.shape[0]
    for batch in (1, 16):
        idx = rng.integers(0, x.shape[0], size=(n_mc, batch))
        xb, yb = x[idx], y[idx]  # (n_mc, B, ·)
        g = -2 * np.einsum("mbi,mbj->mij", xb @ w.T - yb, xb) / batch  # −∇ of mean batch loss
        h = np.einsum("mbi,mbj->mij", xb @ w.T, xb) / batch
        dots = np.sum(g * h, axis=(1, 2))
        mean, se = dots.mean(), dots.std(ddof=1) / np.sqrt(n_mc)
        pred = T.lemma1_alignment_mass(w, decay=gamma, presyn_norm_sq=c_a, batch_size=batch,
                                       presyn_second_moment=sig_a)
        # 4 standard errors: a false failure has probability < 1e-4.
        assert abs(mean - pred) < 4 * se, (batch, mean, pred, se)
        if batch > 1:
            # The per-sample formula is wrong for batches, and this test can tell.
            per_sample = T.lemma1_alignment_mass(w, decay=gamma, presyn_norm_sq=c_a)
            assert abs(mean - per_sample) > 10 * se


def test_lemma1_nonlinear_loss_and_nonuniform_decay(rng):
    # Logistic loss on each output of h_b = W x (a non-quadratic loss), penalty
    # γ/2 Tr[Wᵀ D W] with D diagonal per postsynaptic unit; W* by a numerical optimiser.
    n, n_pre, n_post, c_a, gamma = 400, 4, 2, 1.7, 0.2
    x, _ = _normalised_data(rng, n=n, n_pre=n_pre, n_post=n_post, c_a=c_a)
    labels = (rng.random((n, n_post)) < 0.5 + 0.4 * np.tanh(x[:, :n_post])).astype(float)
    dvec = np.array([0.5, 2.0])

    # Newton's method on the strongly convex objective (rows decouple for diagonal D).
    w = np.zeros((n_post, n_pre))
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w.T)))
        for i in range(n_post):
            grad = (p[:, i] - labels[:, i]) @ x / n + gamma * dvec[i] * w[i]
            curv = (x * (p[:, i] * (1 - p[:, i]))[:, None]).T @ x / n
            hess = curv + gamma * dvec[i] * np.eye(n_pre)
            w[i] -= np.linalg.solve(hess, grad)
    z = x @ w.T
    g = -np.einsum("ni,nj->nij", 1 / (1 + np.exp(-z)) - labels, x)
    assert stationarity_gap(g.mean(0), w, gamma, decay_matrix=dvec) < 1e-11
    direct = np.mean(np.sum(g * _per_sample_h(w, x), axis=(1, 2)))
    pred = T.lemma1_alignment_mass(w, decay=gamma, presyn_norm_sq=c_a, decay_matrix=dvec)
    # 1e-9: the solver's stationarity (relative gap < 1e-11) bounds the error.
    assert_allclose(direct, pred, rtol=1e-9)
    # The uniform-decay formula is wrong here (by ~4%, far above the 1e-9 agreement).
    assert abs(T.lemma1_alignment_mass(w, decay=gamma, presyn_norm_sq=c_a) - direct) > 0.01 * pred


# ----------------------------------------------------------------------------- weak form


def _linear_rule(rng, n_post=4, n_pre=5):
    """A non-gradient linear rule g(W) = A − B W (B not symmetric)."""
    a = rng.normal(size=(n_post, n_pre))
    b = rng.normal(size=(n_post, n_post)) * 0.3 + 2 * np.eye(n_post)
    assert np.abs(b - b.T).max() > 0.1  # not the gradient of any potential
    return a, b


@pytest.mark.parametrize("dmode", ["identity", "vector", "matrix"])
def test_weak_form_at_fixed_point_of_non_gradient_rule(rng, dmode):
    n_post, n_pre, gamma = 4, 5, 0.4
    a, b = _linear_rule(rng, n_post, n_pre)
    dm = {"identity": None, "vector": np.array([0.5, 1.0, 2.0, 3.0]),
          "matrix": (lambda q: q @ q.T + 0.5 * np.eye(n_post))(rng.normal(size=(4, 4)))}[dmode]
    dfull = np.eye(n_post) if dm is None else (np.diag(dm) if dm.ndim == 1 else dm)
    w_star = np.linalg.solve(b + gamma * dfull, a)  # A − B W* = γ D W*
    pre = rng.normal(size=(3000, n_pre)) @ rng.normal(size=(n_pre, n_pre))  # correlated
    post = pre @ w_star.T
    # Exact mean signal: both sides agree to rounding.
    wf = T.weak_form(a - b @ w_star, pre, post, decay=gamma, decay_matrix=dm)
    obs_direct = np.trace((a - b @ w_star) @ (pre.T @ post / pre.shape[0]))
    assert_allclose(wf.observed, obs_direct, rtol=1e-12)  # the trace form, computed directly
    assert_allclose(wf.observed, wf.predicted, rtol=1e-10)  # rounding only
    assert wf.predicted > 0
    # Monte Carlo mean signal: the rule's per-step signal carries noise.
    n_steps = 4000
    steps = a - b @ w_star + 0.5 * rng.normal(size=(n_steps, n_post, n_pre))
    per_step = np.einsum("tij,ij->t", steps, post.T @ pre / pre.shape[0])
    wf_mc = T.weak_form(steps.mean(0), pre, post, decay=gamma, decay_matrix=dm)
    se = per_step.std(ddof=1) / np.sqrt(n_steps)
    assert abs(wf_mc.observed - wf_mc.predicted) < 4 * se  # 4 SE: false failure < 1e-4
    # Off stationarity the two sides differ by ⟨F(W), E H⟩, and the test sees it.
    w = w_star + 0.3 * rng.normal(size=w_star.shape)
    post_w = pre @ w.T
    wf_off = T.weak_form(a - b @ w, pre, post_w, decay=gamma, decay_matrix=dm)
    f = a - b @ w - gamma * dfull @ w
    assert_allclose(wf_off.observed - wf_off.predicted,
                    np.sum(f * (post_w.T @ pre / pre.shape[0])), rtol=1e-9)
    assert abs(wf_off.relative_gap) > 0.05


def test_weak_form_nonlinear_rule_solved_numerically(rng):
    # g(W) = tanh(A − B W) elementwise-saturating, non-gradient; W* from a root finder.
    n_post, n_pre, gamma = 3, 4, 0.5
    a, b = _linear_rule(rng, n_post, n_pre)

    def residual(flat):
        w = flat.reshape(n_post, n_pre)
        return (np.tanh(a - b @ w) - gamma * w).ravel()

    sol = optimize.root(residual, np.zeros(n_post * n_pre), tol=1e-14)
    assert np.abs(residual(sol.x)).max() < 1e-13
    w = sol.x.reshape(n_post, n_pre)
    pre = rng.normal(size=(500, n_pre))
    wf = T.weak_form(np.tanh(a - b @ w), pre, pre @ w.T, decay=gamma)
    # 1e-9: the root finder's residual is ~1e-14 relative to O(1) weights.
    assert_allclose(wf.observed, wf.predicted, rtol=1e-9)


# ----------------------------------------------------------------------------- noise


def test_noise_expectation_monte_carlo(rng):
    d, n_mc = 5, 400_000
    for sigma in (0.0, 0.1, 0.6):
        v, x, y = rng.normal(size=d), rng.normal(size=d), rng.normal()
        w = v + sigma * rng.normal(size=(n_mc, d))
        u = w @ x
        dots = np.sum((-2 * (u - y)[:, None] * x) * (u[:, None] * x), axis=1)  # ⟨Δ_SGD, Δ_Hebb⟩
        pred = T.noise_expectation(v, x, y, sigma=sigma)
        if sigma == 0:
            assert_allclose(dots.mean(), pred, rtol=1e-12)  # deterministic
        else:
            se = dots.std(ddof=1) / np.sqrt(n_mc)
            assert abs(dots.mean() - pred) < 4 * se  # 4 SE: false failure < 1e-4
    # SPEC §3 writes the expression for ℓ = ½(wᵀx − y)², i.e. loss_scale = 1/2.
    xs, ys = rng.normal(size=(7, d)), rng.normal(size=7)
    spec = -np.sum(xs**2, 1) * ((xs @ v) ** 2 + 0.3**2 * np.sum(xs**2, 1) - (xs @ v) * ys)
    assert_allclose(T.noise_expectation(v, xs, ys, sigma=0.3, loss_scale=0.5), spec, rtol=1e-12)
    assert_allclose(T.noise_expectation(v, xs, ys, sigma=0.3), 2 * spec, rtol=1e-12)


def _mc_alignment(rng, v, cov_sqrt, teacher, sigma, batch, n_mc, label_sd=0.2):
    """Monte Carlo E⟨g_B, H_B⟩ at v: fresh ε per batch, g = −∇ mean batch loss."""
    d = v.size
    x = rng.normal(size=(n_mc, batch, d)) @ cov_sqrt.T
    y = x @ teacher + label_sd * rng.normal(size=(n_mc, batch))
    w = v + sigma * rng.normal(size=(n_mc, d))
    u = np.einsum("mbi,mi->mb", x, w)
    g = -2 * np.einsum("mb,mbi->mi", u - y, x) / batch
    h = np.einsum("mb,mbi->mi", u, x) / batch
    dots = np.sum(g * h, axis=1)
    return dots.mean(), dots.std(ddof=1) / np.sqrt(n_mc)


@pytest.mark.parametrize("batch", [1, 8])
def test_linear_boundary_closed_form_matches_monte_carlo(rng, batch):
    d, gamma = 4, 0.3
    q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    cov = q @ np.diag(np.logspace(-1, 0.5, d)) @ q.T  # anisotropic: k depends on the batch size
    cov_sqrt = np.linalg.cholesky(cov)
    teacher = 2 * q[:, 0] + 0.3 * rng.normal(size=d)  # mostly along the low-variance axis
    bnd = T.boundary_k_linear(decay=gamma, teacher=teacher, input_cov=cov, batch_size=batch)
    # v* is the ridge solution: check stationarity E_x,ε[g] = γ v* by its closed form.
    assert_allclose(-2 * (cov @ bnd.weight - cov @ teacher), gamma * bnd.weight, rtol=1e-10)
    s_star = bnd.sigma_boundary
    for sigma in (0.0, 0.5 * s_star, s_star, 2 * s_star):
        mean, se = _mc_alignment(rng, bnd.weight, cov_sqrt, teacher, sigma, batch, 200_000)
        pred = bnd.expected_alignment(sigma)
        assert abs(mean - pred) < 4 * se, (sigma, mean, pred, se)  # 4 SE: false fail < 1e-4
    # The sign flips across the predicted σ*: Hebbian below, anti-Hebbian above.
    below, se_b = _mc_alignment(rng, bnd.weight, cov_sqrt, teacher, 0.6 * s_star, batch, 200_000)
    above, se_a = _mc_alignment(rng, bnd.weight, cov_sqrt, teacher, 1.4 * s_star, batch, 200_000)
    assert below > 3 * se_b and above < -3 * se_a  # each significant at 3 SE
    if batch > 1:
        per_sample = T.boundary_k_linear(decay=gamma, teacher=teacher, input_cov=cov)
        assert abs(per_sample.k / bnd.k - 1) > 0.1  # B matters for anisotropic inputs


def test_linear_boundary_isotropic_closed_form_and_empirical(rng):
    d, s2, gamma = 6, 1.7, 0.05
    teacher = rng.normal(size=d)
    bnd = T.boundary_k_linear(decay=gamma, teacher=teacher, input_cov=s2)
    v = teacher * 2 * s2 / (2 * s2 + gamma)
    assert_allclose(bnd.weight, v, rtol=1e-12)
    assert_allclose(bnd.k, 2 * d * s2 / np.sum(v**2), rtol=1e-12)  # k = 2 d s² / ‖v*‖²
    for batch in (2, 32):  # isotropic: k does not depend on B
        assert_allclose(T.boundary_k_linear(decay=gamma, teacher=teacher, input_cov=s2,
                                            batch_size=batch).k, bnd.k, rtol=1e-12)
    # Empirical moments of many Gaussian samples approach the closed form.
    n = 400_000
    x = rng.normal(size=(n, d)) * np.sqrt(s2)
    y = x @ teacher + 0.3 * rng.normal(size=n)
    emp = T.boundary_k_linear(decay=gamma, x=x, y=y)
    # 5%: c₁ is a small (order γ) difference of sample moments; its sampling SD here is ~1%.
    assert_allclose(emp.k, bnd.k, rtol=0.05)
    assert_allclose(emp.c0, bnd.c0, rtol=0.02)  # fourth moment, SD ~0.3%


def test_noisy_sgd_zero_crossing_matches_derived_k():
    # Simulation: chains of v ← v + η (g − γ v), g and H on a batch at w = v + ε.
    sim_rng = np.random.default_rng(7)
    d, batch, eta, burn, steps = 8, 16, 0.005, 600, 2500
    teacher = sim_rng.normal(size=d)
    teacher /= np.linalg.norm(teacher)
    sigma = np.array([0.0, 0.02, 0.035, 0.05, 0.06, 0.07])
    gamma = np.linspace(0.0, 0.1, 11)
    reps = 2
    ss, gg = (np.repeat(m[..., None], reps, -1).ravel()
              for m in np.meshgrid(sigma, gamma, indexing="ij"))
    v = np.zeros((ss.size, d))
    acc = np.zeros(ss.size)
    for it in range(burn + steps):
        x = sim_rng.normal(size=(ss.size, batch, d))
        y = x @ teacher
        w = v + ss[:, None] * sim_rng.normal(size=(ss.size, d))
        u = np.einsum("nbd,nd->nb", x, w)
        g = -2 * np.einsum("nb,nbd->nd", u - y, x) / batch
        if it >= burn:
            acc += np.einsum("nd,nd->n", g, np.einsum("nb,nbd->nd", u, x) / batch)
        v += eta * (g - gg[:, None] * v)
    sim = (acc / steps).reshape(sigma.size, gamma.size, reps).mean(-1)
    fit = T.fit_phase_boundary(sigma, gamma, sim, rng=0)

    # Theory: the exact crossing γ*(σ) solves γ c₁(γ) = σ² c₀.
    def theory_cross(s):
        return optimize.brentq(lambda gm: T.boundary_k_linear(
            decay=gm, teacher=teacher, batch_size=batch).expected_alignment(s), 1e-9, 1.0)

    pos = fit.crossings_sigma > 0
    assert pos.sum() >= 4
    th = np.array([theory_cross(s) for s in fit.crossings_sigma[pos]])
    # 0.005 (half a grid step): per-cell MC error ~0.002 in C, slope dC/dγ ≈ 1.4, plus the
    # SGD fluctuation of v (≈ η d / B relative to σ², < 0.3%) and interpolation bias.
    assert_allclose(fit.crossings_gamma[pos], th, atol=0.005)
    k_theory = np.sum(fit.crossings_sigma[pos] ** 2 * th) / np.sum(fit.crossings_sigma[pos] ** 4)
    assert_allclose(fit.k, k_theory, rtol=0.08)  # 8%: same error budget on the slope
    k_range = [T.boundary_k_linear(decay=gm, teacher=teacher).k for gm in (0.0, 0.1)]
    assert k_range[0] * 0.92 < fit.k < k_range[1] * 1.08  # derived k = 16 … 17.6 here


# ----------------------------------------------------------------------------- Theorems 1, 2


def test_alignment_lower_bound_holds_and_is_tight(rng):
    gamma, c_a = 0.3, 2.5
    x, y = _normalised_data(rng, n=1500, c_a=c_a)
    w_star = _ridge(x, y, gamma)
    at_star = T.alignment_lower_bound(w_star, x=x, y=y, decay=gamma)
    assert_allclose(at_star.stationary_weight, w_star, rtol=1e-12)
    # C* equals Lemma 1 for normalised inputs (rounding only).
    assert_allclose(at_star.alignment_star,
                    T.lemma1_alignment_mass(w_star, decay=gamma, presyn_norm_sq=c_a), rtol=1e-10)
    # Random perturbations over four decades of radius.
    radii = np.repeat(np.logspace(-3, 1, 9), 30)
    dirs = rng.normal(size=(radii.size,) + w_star.shape)
    dirs /= np.linalg.norm(dirs, axis=(1, 2), keepdims=True)
    ws = w_star + radii[:, None, None] * dirs
    b = T.alignment_lower_bound(ws, x=x, y=y, decay=gamma)
    # Independent C(W): explicit per-sample ⟨g_n, H_n⟩ averaged over the data.
    direct = np.array([np.mean(np.sum(_per_sample_g(w, x, y) * _per_sample_h(w, x), (1, 2)))
                       for w in ws])
    assert_allclose(b.alignment, direct, rtol=1e-9, atol=1e-9 * abs(at_star.alignment_star))
    slack = 1e-9 * abs(at_star.alignment_star)  # rounding
    assert np.all(direct >= b.bound_distance - slack)  # Theorem 1
    assert np.all(direct >= b.bound_gap - slack)  # Theorem 2
    assert np.all(b.bound_gap <= b.bound_distance + slack)
    assert np.all(b.gap >= b.strong_monotonicity * b.distance * (1 - 1e-12))
    assert_allclose(b.distance, radii, rtol=1e-10)
    # Inside the safe radius the alignment is certified positive, and it is.
    inside = radii < at_star.safe_radius
    assert inside.any() and np.all(direct[inside] > 0)
    # Tight near W*: along the worst direction (−∇C*) the bound's deficit is met.
    grad = -2 * (2 * w_star @ ((x * np.sum(x * x, 1)[:, None]).T @ x / x.shape[0])
                 - ((y * np.sum(x * x, 1)[:, None]).T @ x / x.shape[0]))
    worst = -grad / np.linalg.norm(grad)
    for r in (1e-4, 1e-3):
        bw = T.alignment_lower_bound(w_star + r * worst, x=x, y=y, decay=gamma)
        ratio = (bw.alignment_star - bw.alignment) / (bw.alignment_star - bw.bound_distance)
        assert 0.97 < ratio <= 1 + 1e-6, ratio  # first-order tight


# ----------------------------------------------------------------------------- phase boundary


def _tanh_grid(rng, k=2.0, a=20.0, noise=0.3):
    sigma, gamma = np.linspace(0, 1, 11), np.linspace(0, 2.5, 11)
    al = np.tanh(a * (gamma[None] - k * sigma[:, None] ** 2))
    return sigma, gamma, al + noise * rng.normal(size=al.shape)


def test_fit_phase_boundary_recovers_k(rng):
    sigma, gamma, al = _tanh_grid(rng)
    fit = T.fit_phase_boundary(sigma, gamma, al, rng=1)
    assert fit.k_low <= 2.0 <= fit.k_high
    assert fit.k_high - fit.k_low < 0.5  # informative, not a trivially wide interval
    assert fit.n_crossings == fit.crossings_sigma.size == fit.crossings_gamma.size >= 8
    assert fit.p_value < 0.01
    # Same seed, same numbers; to_dict round trip.
    again = T.fit_phase_boundary(sigma, gamma, al, rng=1)
    assert (again.k, again.k_low, again.k_high) == (fit.k, fit.k_low, fit.k_high)
    back = T.PhaseBoundary.from_dict(fit.to_dict())
    assert back == fit and np.array_equal(back.crossings_gamma, fit.crossings_gamma)
    # Column order and missing cells do not matter.
    perm = rng.permutation(gamma.size)
    al_nan = al.copy()
    al_nan[3, 0] = np.nan
    shuffled = T.fit_phase_boundary(sigma, gamma[perm], al_nan[:, perm], rng=1)
    assert shuffled.k_low <= 2.0 <= shuffled.k_high


def test_fit_phase_boundary_interval_coverage():
    # Percentile bootstrap over ~10 crossings: nominal 95%.  Over 100 synthetic grids,
    # coverage below 85% would be > 4 binomial SDs under nominal (SD 2.2%).
    hits = 0
    for seed in range(100):
        r = np.random.default_rng(seed)
        fit = T.fit_phase_boundary(*_tanh_grid(r), rng=r)
        hits += fit.k_low <= 2.0 <= fit.k_high
    assert hits >= 85, hits


def test_fit_phase_boundary_refuses_without_evidence(rng):
    sigma, gamma = np.linspace(0, 1, 11), np.linspace(0, 2.5, 11)
    # Pure noise: signs not ordered along γ → NaN with a warning.
    with pytest.warns(T.PhaseBoundaryWarning, match="not ordered along γ"):
        fit = T.fit_phase_boundary(sigma, gamma, rng.normal(size=(11, 11)), rng=2)
    assert np.isnan(fit.k) and np.isnan(fit.k_low) and fit.p_value > 0.05
    # All Hebbian: no crossing.
    with pytest.warns(T.PhaseBoundaryWarning, match="no σ row changes sign"):
        fit = T.fit_phase_boundary(sigma, gamma, np.ones((11, 11)), rng=2)
    assert np.isnan(fit.k) and fit.n_crossings == 0
    # Only the σ = 0 row crosses: k is unconstrained.
    al = -np.ones((11, 11))
    al[0, 5:] = 1
    with pytest.warns(T.PhaseBoundaryWarning, match="all crossings are at σ = 0"):
        fit = T.fit_phase_boundary(sigma, gamma, al, rng=2, alpha=None)
    assert np.isnan(fit.k) and fit.n_crossings == 1
    # Two crossings: k, but no interval.
    al = np.tanh(20 * (gamma[None] - 2 * sigma[:, None] ** 2))[:3]
    with pytest.warns(T.PhaseBoundaryWarning, match="too few for a bootstrap"):
        fit = T.fit_phase_boundary(sigma[:3], gamma, al, rng=2, alpha=None)
    assert np.isfinite(fit.k) and np.isnan(fit.k_low)


def test_results_round_trip_through_dicts(rng):
    x, y = _normalised_data(rng, n=50)
    results = [
        T.weak_form(np.ones((3, 6)), x, y, decay=0.1),
        T.boundary_k_linear(decay=0.1, teacher=[1.0, 2.0]),
        T.alignment_lower_bound(_ridge(x, y, 0.1) + 0.1, x=x, y=y, decay=0.1),
    ]
    for res in results:
        back = type(res).from_dict(res.to_dict())
        assert back == res
        for f in ("weight", "stationary_weight"):
            if hasattr(res, f):
                assert np.array_equal(getattr(back, f), getattr(res, f))


def test_fit_phase_boundary_exact_on_piecewise_linear_grid():
    # Alignment linear in γ per row: interpolation is exact, so k is recovered exactly.
    sigma, gamma = np.array([0.5, 1.0, 1.5]), np.linspace(0, 6, 13)
    al = gamma[None] - 2.5 * sigma[:, None] ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = T.fit_phase_boundary(sigma, gamma, al, rng=0, alpha=None)
    assert_allclose(fit.crossings_gamma, 2.5 * sigma**2, rtol=1e-12)
    assert_allclose([fit.k, fit.k_low, fit.k_high], 2.5, rtol=1e-12)


def test_fit_phase_boundary_refuses_a_level_that_is_not_a_number():
    grid = (np.arange(3.0), np.arange(3.0), np.ones((3, 3)))
    with pytest.raises(TypeError, match=r"^`level` must be a number; got str '0\.9'\.$"):
        T.fit_phase_boundary(*grid, level="0.9")
    with pytest.raises(TypeError, match=r"^`alpha` must be a number; got bool True\.$"):
        T.fit_phase_boundary(*grid, alpha=True)
