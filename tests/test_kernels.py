"""The kernel registry: one entry per kernel, fast paths against the reference, toy kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from plastix import kernels as K
from plastix.alignment import hebbian_term
from plastix.estimate import HebbianEstimator
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic

FAST = dict(n_pre=8, n_post=5, n_intervals=60, bins_per_interval=20, lr=0.5, decay=2.0,
            noise=0.05, n_burn=60)


@pytest.fixture
def toy():
    """Names registered by a test are removed afterwards."""
    names: list[str] = []
    yield names
    for n in names:
        K.unregister_kernel(n)


def test_registry_api(toy):
    assert K.kernel_names()[:3] == ("product", "covariance", "lagged")
    assert {"stdp", "post_activation"} <= set(K.kernel_names())
    assert "stdp" not in K.kernel_names("rates")
    with pytest.raises(ValueError, match=r"Did you mean 'covariance'\?"):
        K.get_kernel("covarience")
    with pytest.raises(ValueError, match=r"already registered; pass replace=True"):
        K.register_kernel(K.Kernel("product", "dup", lambda pre, post: 0))
    entry = K.register_kernel(K.Kernel("toy_help", "a one-line help", lambda pre, post: 0))
    toy.append("toy_help")
    assert K.get_kernel("toy_help") is entry
    lines = K.registry_help().splitlines()
    assert "toy_help: a one-line help" in lines
    assert len(lines) == len(K.kernel_names())
    assert all(K.get_kernel(n).description for n in K.kernel_names())


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="only rate kernels"):
        K.Kernel("x", "d", lambda *a: 0, inputs="spike_times", bilinear=True)
    with pytest.raises(ValueError, match="declares a `lag` parameter"):
        K.Kernel("x", "d", lambda *a: 0, lagged=True)
    with pytest.raises(ValueError, match="streaming path accumulates bilinear"):
        K.Kernel("x", "d", lambda *a: 0, streaming=True)


@pytest.mark.parametrize("name", ["product", "covariance", "lagged", "post_activation"])
def test_estimator_paths_match_reference(name, rng):
    """Batch and chunk-streamed H of the estimator equal the kernel's term × n_pairs × dt."""
    from plastix.estimate._stats import BoundKernel, _batch_term, interval_stats, layout_of

    kern = K.get_kernel(name)
    lag = 2 if kern.lagged else 0
    params = {"lag": lag} if lag else {}
    x, y = rng.normal(size=(3, 20, 4)) + 1.0, rng.normal(size=(3, 20, 2)) - 0.5
    ref = np.stack([kern.term(x[j], y[j], **params) for j in range(3)]) * (20 - lag) * 0.01
    # 1e-12: the same float64 products summed in another order
    assert_allclose(_batch_term(BoundKernel(kern, params), x, y, lag, 0.01), ref, rtol=1e-12)
    # the streaming path: intervals of 20 bins read in chunks of 7 (H accumulated)
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    lay = layout_of(rec)
    pre, post = rec["pre_activity"].values, rec["post_activity"].values
    bound = BoundKernel(kern, params)
    whole = interval_stats(rec, lay, kernel=bound, lag=lag, chunk_bins=10**6)
    chunked = interval_stats(rec, lay, kernel=bound, lag=lag, chunk_bins=7)
    k = 4
    sel = slice(int(lay.start[k]), int(lay.stop[k]))
    h = kern.term(pre[sel], post[sel], **params) * (20 - lag) * rec.attrs["dt"]
    assert_allclose(whole["stats"][k, 2], np.sum(h * h), rtol=1e-10)  # ⟨h, h⟩ of interval k
    assert_allclose(chunked["stats"], whole["stats"], rtol=1e-10)


def test_hebbian_term_numpy_and_torch_agree(rng):
    torch = pytest.importorskip("torch")
    pre, post = rng.normal(size=(2, 9, 3)), rng.normal(size=(2, 9, 4))
    for name in K.kernel_names("rates"):
        lag = 1 if K.get_kernel(name).lagged else 0
        a = hebbian_term(pre, post, kernel=name, lag=lag)
        b = hebbian_term(torch.from_numpy(pre), torch.from_numpy(post), kernel=name, lag=lag)
        assert isinstance(b, torch.Tensor)
        assert_allclose(b.numpy(), a, rtol=1e-12, err_msg=name)  # same float64 arithmetic


def _stdp_pairs(pre, post, edges, tau):
    """Independent reference: every pair within 5τ, counted in its later spike's interval."""
    h = np.zeros((edges.size - 1, post.n, pre.n))
    for tq, i in zip(post.times, post.units, strict=True):
        for tp, j in zip(pre.times, pre.units, strict=True):
            d = tq - tp
            if d == 0 or abs(d) > K.STDP_CUTOFF * tau:
                continue
            k = np.searchsorted(edges, max(tq, tp), side="right") - 1
            if 0 <= k < edges.size - 1:
                h[k, i, j] += math.copysign(math.exp(-abs(d) / tau), d)
    return h


def test_stdp_traces_match_pair_sum(rng):
    n_pre, n_post = 6, 3
    pre = K.Spikes(rng.uniform(0, 4, 300), rng.integers(0, n_pre, 300), n_pre)
    post = K.Spikes(rng.uniform(0, 4, 120), rng.integers(0, n_post, 120), n_post)
    edges = np.array([0.5, 1.0, 1.02, 2.0, 3.5])  # one interval shorter than the window
    got = K.get_kernel("stdp").term(pre, post, edges, tau=0.02)
    # 1e-9 absolute: traces sum the same exponentials in another order (values ~1-10)
    assert_allclose(got, _stdp_pairs(pre, post, edges, 0.02), atol=1e-9)
    assert np.abs(got).sum() > 1  # pairs were found
    # a pair across the first edge counts in the later spike's interval (pre before the edge)
    one = K.get_kernel("stdp").term(K.Spikes(np.array([0.49]), np.array([0]), 1),
                                    K.Spikes(np.array([0.5, 0.52]), np.array([0, 0]), 1),
                                    np.array([0.5, 0.51, 1.0]), tau=0.02)
    assert_allclose(one[:, 0, 0], [math.exp(-0.5), math.exp(-1.5)], rtol=1e-12)


def _toy_record(rng):
    return simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)


def test_toy_kernel_end_to_end(toy, rng):
    """A toy kernel registered in one call runs through the estimator: 2 × product gives the
    product's alignment; a sign-flipped product flips the verdict."""
    K.register_kernel(K.Kernel("twice_product", "2 × product",
                               lambda pre, post: 2.0 * hebbian_term(pre, post)))
    toy.append("twice_product")
    K.register_kernel(K.Kernel("flipped", "-product", lambda pre, post: -hebbian_term(pre, post)))
    toy.append("flipped")
    rec = _toy_record(rng)
    kw = dict(decay=2.0, n_boot=200, n_null=59, rng=5)  # 2/60: the smallest two-sided p
    ref = HebbianEstimator(**kw).fit(rec)
    two = HebbianEstimator(kernel="twice_product", **kw).fit(rec)
    flip = HebbianEstimator(kernel="flipped", **kw).fit(rec)
    assert ref.verdict_ == "hebbian", ref.summary()
    # the cosine is scale free: 1e-10 for float64 rounding of the factor 2
    assert_allclose(two.alignment_, ref.alignment_, rtol=1e-10)
    assert_allclose(two.per_interval_.values, ref.per_interval_.values, rtol=1e-10)
    assert_allclose(flip.alignment_, -ref.alignment_, rtol=1e-10)
    assert flip.verdict_ == "anti_hebbian", flip.summary()
    assert two.result_.attrs["kernel"] == "twice_product"


def test_stdp_grid_aligned_ties_match_pair_sum(rng):
    """Spikes on a time grid: pairs at Δ = 0 (K(0) = 0) and at Δ = 5τ exactly (counted), and
    spikes on the cells' breakpoints, take the exact path.  A binary grid keeps every time
    difference exact, so the pair sum is an exact reference."""
    step, tau = 2.0**-10, 2.0**-9
    n_pre, n_post = 4, 2
    pre = K.Spikes(rng.integers(0, 2000, 400) * step, rng.integers(0, n_pre, 400), n_pre)
    post = K.Spikes(rng.integers(0, 2000, 150) * step, rng.integers(0, n_post, 150), n_post)
    edges = np.array([100, 700, 1300, 1900]) * step
    got = K.get_kernel("stdp").term(pre, post, edges, tau=tau)
    # 1e-9 absolute: exponentials summed in another order
    assert_allclose(got, _stdp_pairs(pre, post, edges, tau), atol=1e-9)
