"""The metric: Hebbian term, cosine alignment, numpy == torch, zero norms, the gap."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from plastix import alignment as A

torch = pytest.importorskip("torch")


def _loop_hebbian(pre, post):
    """Independent reference: explicit sum over samples of post_i pre_j."""
    n, n_pre = pre.shape
    out = np.zeros((post.shape[1], n_pre))
    for s in range(n):
        for i in range(post.shape[1]):
            for j in range(n_pre):
                out[i, j] += post[s, i] * pre[s, j]
    return out / n


def test_hebbian_term_matches_explicit_sum(rng):
    pre, post = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    np.testing.assert_allclose(A.hebbian_term(pre, post), _loop_hebbian(pre, post), rtol=1e-12,
                               err_msg="same arithmetic, summation order only")


def test_covariance_and_lagged_variants(rng):
    pre, post = rng.normal(size=(50, 4)) + 3.0, rng.normal(size=(50, 2)) - 1.0
    cov = A.hebbian_term(pre, post, kernel="covariance")
    ref = np.cov(post.T, pre.T, bias=True)[:2, 2:]  # numpy's covariance, independent code
    np.testing.assert_allclose(cov, ref, rtol=1e-10, err_msg="two covariance implementations")
    lagged = A.hebbian_term(pre, post, kernel="lagged", lag=2)
    np.testing.assert_allclose(lagged, _loop_hebbian(pre[:-2], post[2:]), rtol=1e-12,
                               err_msg="pre at t paired with post at t+2")


def test_post_activation_variant(rng):
    pre, post = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    np.testing.assert_allclose(A.hebbian_term(pre, post, activation=np.tanh),
                               _loop_hebbian(pre, np.tanh(post)), rtol=1e-12,
                               err_msg="phi(h_b) h_a^T")


def test_cosine_known_values():
    H = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert A.cosine_alignment(H, H) == pytest.approx(1.0)
    assert A.cosine_alignment(-H, H) == pytest.approx(-1.0)
    assert A.cosine_alignment(np.array([[0.0, 1.0], [1.0, 0.0]]), H) == pytest.approx(0.0)
    np.testing.assert_allclose(A.alignment_per_post(np.array([[1.0, 1.0], [0.0, -3.0]]), H),
                               [1 / np.sqrt(2), -1.0], rtol=1e-12, err_msg="row-wise cosines")


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
       arrays(np.float64, (3, 4), elements=st.floats(-10, 10)))
def test_numpy_and_torch_give_the_same_numbers(g, h):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", A.ZeroNormWarning)
        a_np = A.cosine_alignment(g, h)
        a_t = A.cosine_alignment(torch.from_numpy(g), torch.from_numpy(h))
        r_np = A.alignment_per_post(g, h)
        r_t = A.alignment_per_post(torch.from_numpy(g), torch.from_numpy(h))
    np.testing.assert_allclose(a_t.numpy(), a_np, rtol=1e-12, atol=1e-15, equal_nan=True,
                               err_msg="same float64 arithmetic in both libraries")
    np.testing.assert_allclose(r_t.numpy(), r_np, rtol=1e-12, atol=1e-15, equal_nan=True,
                               err_msg="same float64 arithmetic in both libraries")
    assert -1.0 <= np.nan_to_num(a_np) <= 1.0


def test_batched_leading_dims_equal_one_by_one(rng):
    g, h = rng.normal(size=(5, 2, 3, 4)), rng.normal(size=(3, 4))
    batched = A.cosine_alignment(g, h)
    assert batched.shape == (5, 2)
    for i in range(5):
        for j in range(2):
            assert batched[i, j] == pytest.approx(A.cosine_alignment(g[i, j], h), rel=1e-12)
    pre, post = rng.normal(size=(6, 10, 4)), rng.normal(size=(6, 10, 3))
    Ht = A.hebbian_term(torch.from_numpy(pre), torch.from_numpy(post)).numpy()
    for i in range(6):
        np.testing.assert_allclose(Ht[i], _loop_hebbian(pre[i], post[i]), rtol=1e-12,
                                   err_msg="batched torch vs explicit sum")


def test_zero_norm_gives_nan_and_warns():
    with pytest.warns(A.ZeroNormWarning, match="zero norm"):
        assert np.isnan(A.cosine_alignment(np.zeros((2, 2)), np.eye(2)))
    with pytest.warns(A.ZeroNormWarning, match="1 alignment value undefined"):
        rows = A.alignment_per_post(np.array([[0.0, 0.0], [0.0, 2.0]]), np.eye(2))
    assert np.isnan(rows[0]) and rows[1] == pytest.approx(1.0)
    with pytest.warns(A.ZeroNormWarning):
        t = A.cosine_alignment(torch.zeros(2, 2), torch.eye(2))
    assert torch.isnan(t)


def test_stationarity_gap(rng):
    w = rng.normal(size=(3, 4))
    assert A.stationarity_gap(0.1 * w, w, 0.1) == pytest.approx(0.0, abs=1e-15)
    assert A.stationarity_gap(np.zeros_like(w), w, 0.1) == pytest.approx(1.0)
    d = np.array([1.0, 2.0, 3.0])
    assert A.stationarity_gap(0.1 * d[:, None] * w, w, 0.1, decay_matrix=d) == pytest.approx(
        0.0, abs=1e-15)
    assert A.stationarity_gap(0.1 * d[:, None] * w, w, 0.1, decay_matrix=np.diag(d)) == \
        pytest.approx(0.0, abs=1e-15)


def test_docstring_examples_hold():
    import doctest

    result = doctest.testmod(A, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0
