"""The estimator: exact agreement with direct computations, streaming, kernels, files, CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from plastix.alignment import alignment_per_post, cosine_alignment, hebbian_term, stationarity_gap
from plastix.estimate import HebbianEstimator, estimate_alignment, save_result
from plastix.estimate.synthetic import SyntheticConfig, fit_linear_rule, simulate_synthetic
from plastix.io import to_netcdf
from plastix.record import delta_weight, interval_weight, make_record

FAST = dict(n_pre=8, n_post=5, n_intervals=60, bins_per_interval=20, lr=0.5, decay=2.0,
            noise=0.05, n_burn=60)


def _masked_record(rng):
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    w = rec["weight"].values.copy()
    w[3, 1, 2] = np.nan      # synapse (1, 2) unmeasured at sample 3: intervals 2 and 3 lose it
    w[10, :, 0] = np.nan     # presynaptic unit 0 unmeasured at sample 10
    pre = rec["pre_activity"].values.copy()
    pre[25 * 20 + 3, 4] = np.nan  # pre unit 4 not recorded for one bin of interval 25
    return make_record(pre, rec["post_activity"].values, w, time=rec["time"].values,
                       weight_time=rec["weight_time"].values, dt=rec.attrs["dt"])


def _direct(rec, gamma, kernel="product", lag=0):
    """Independent computation with plastix.alignment on dense masked arrays."""
    dw = delta_weight(rec).values
    w = interval_weight(rec).values
    iv = rec["interval"].values
    pre, post = rec["pre_activity"].values, rec["post_activity"].values
    dur = np.diff(rec["weight_time"].values)
    gs, hs = [], []
    for k in range(dw.shape[0]):
        sel = iv == k
        x, y = pre[sel], post[sel]
        okp, okq = ~np.isnan(x).any(0), ~np.isnan(y).any(0)
        h = hebbian_term(np.nan_to_num(x), np.nan_to_num(y), kernel=kernel, lag=lag)
        mask = np.isfinite(dw[k]) & np.isfinite(w[k]) & okp[None, :] & okq[:, None]
        g = np.where(mask, dw[k] + gamma * dur[k] * w[k], 0.0)
        gs.append(g)
        hs.append(np.where(mask, h, 0.0))
    return np.stack(gs), np.stack(hs), np.where(np.isfinite(w), w, 0) * dur[:, None, None]


def test_statistics_match_direct_computation(rng):
    rec = _masked_record(rng)
    est = HebbianEstimator(decay=2.0, n_boot=200, n_null=0, rng=1).fit(rec)
    g, h, wdt = _direct(rec, 2.0)
    # per-interval cosine is scale free, so H as a mean (alignment.hebbian_term) and as a
    # time integral (the estimator) must agree to rounding (1e-10: float64 sums of ~1e3 terms)
    assert_allclose(est.per_interval_.values, cosine_alignment(g, h), rtol=1e-10, atol=1e-12)
    # the pooled cosines weight intervals by their H: use the integral H = mean × n × dt
    n = np.bincount(rec["interval"].values[rec["interval"].values >= 0])
    hi = h * (n * rec.attrs["dt"])[:, None, None]
    flat = lambda a: a.reshape(1, -1)  # noqa: E731
    assert_allclose(est.alignment_, float(cosine_alignment(flat(g), flat(hi))), rtol=1e-10)
    assert_allclose(est.pooled_, cosine_alignment(g.sum(0), hi.sum(0)), rtol=1e-10)
    mask = (g != 0) | (hi != 0)
    assert_allclose(est.emergent_prediction_,
                    cosine_alignment(np.where(mask, wdt, 0).sum(0), hi.sum(0)), rtol=1e-10)
    per_post = alignment_per_post(g.transpose(1, 0, 2).reshape(5, 1, -1).squeeze(1)[:, None],
                                  hi.transpose(1, 0, 2).reshape(5, -1)[:, None]).ravel()
    assert_allclose(est.per_post_.values, per_post, rtol=1e-10)
    gap = stationarity_gap(g.sum(0), np.where(mask, wdt, 0).sum(0), 2.0)
    assert_allclose(est.stationarity_gap_, gap, rtol=1e-10)
    # a masked synapse stays missing: interval 2 has one synapse fewer than interval 1
    n_obs = est.result_["n_observed"].values
    assert n_obs[1] == 40 and n_obs[2] == 39 and n_obs[9] == 35 and n_obs[25] == 35


def test_pooled_from_weight_basis_matches_direct(rng):
    """Fully observed blocks use the Gram of [W; H] and a linear map: same numbers."""
    from plastix.estimate._stats import interval_stats, layout_of

    rec = simulate_synthetic(SyntheticConfig(rule="error", **FAST), rng=rng)
    est = HebbianEstimator(decay=2.0, n_boot=50, n_null=0, rng=1).fit(rec)
    g, h, wdt = _direct(rec, 2.0)
    n = np.bincount(rec["interval"].values[rec["interval"].values >= 0])
    hi = h * (n * rec.attrs["dt"])[:, None, None]
    assert_allclose(est.pooled_, cosine_alignment(g.sum(0), hi.sum(0)), rtol=1e-9)
    assert_allclose(est.emergent_prediction_, cosine_alignment(wdt.sum(0), hi.sum(0)),
                    rtol=1e-9)
    # the whole Gram matrix, by blocks of 2 rows (basis path) against dense products
    lay = layout_of(rec)
    gram = interval_stats(rec, lay, kernel="product", lag=0, chunk_bins=10**6, keep_h=True,
                          gram=True, gram_block_rows=2)["gram"]
    dw = delta_weight(rec).values
    x = np.concatenate([dw, wdt, hi]).reshape(3 * lay.k.size, -1)
    # 1e-9 relative to the largest entry: different summation order of ~1e3 products
    assert_allclose(gram, x @ x.T, rtol=0, atol=1e-9 * np.abs(x @ x.T).max())


@pytest.mark.parametrize("kernel,lag", [("covariance", 0), ("lagged", 2)])
def test_kernels_match_hebbian_term(rng, kernel, lag):
    rec = simulate_synthetic(SyntheticConfig(rule="error", **FAST), rng=rng)
    est = HebbianEstimator(kernel=kernel, lag=max(lag, 1), decay=2.0, n_boot=50, n_null=0,
                           rng=0).fit(rec)
    g, h, _ = _direct(rec, 2.0, kernel=kernel, lag=lag)
    assert_allclose(est.per_interval_.values, cosine_alignment(g, h), rtol=1e-10, atol=1e-12)


def test_streaming_from_disk_equals_in_memory(tmp_path, rng):
    rec = _masked_record(rng)
    path = to_netcdf(rec, tmp_path / "rec.nc")
    kw = dict(decay=2.0, n_boot=300, n_null=2, rng=3)
    mem = HebbianEstimator(**kw).fit(rec)
    # chunks of 13 bins (intervals have 20): every interval is split across chunks
    disk = HebbianEstimator(streaming=True, chunk_bins=13, **kw).fit(path)
    for name in ("alignment_", "pooled_", "emergent_prediction_", "stationarity_gap_",
                 "p_value_"):
        # float64 sums in a different order: 1e-10 relative
        assert_allclose(getattr(disk, name), getattr(mem, name), rtol=1e-10, err_msg=name)
    assert_allclose(disk.ci_, mem.ci_, rtol=1e-10)
    assert_allclose(disk.per_interval_.values, mem.per_interval_.values, rtol=1e-10)
    assert disk.verdict_ == mem.verdict_


def test_verdicts_small(rng):
    for rule, want in (("hebbian", "hebbian"), ("anti_hebbian", "anti_hebbian"),
                       ("null", "indeterminate")):
        rec = simulate_synthetic(SyntheticConfig(rule=rule, **FAST), rng=rng)
        est = HebbianEstimator(decay=2.0, n_boot=300, n_null=59, rng=rng).fit(rec)
        assert est.verdict_ == want, (rule, est.summary())
        if want != "indeterminate":  # 2/60 is the smallest two-sided p with 59 nulls
            assert est.p_value_ < 0.05


def test_decay_estimated_from_silent_units(rng):
    cfg = SyntheticConfig(rule="error", silent_fraction=0.25, **{**FAST, "n_intervals": 120})
    rec = simulate_synthetic(cfg, rng=rng)
    est = HebbianEstimator(decay="estimate", n_boot=500, n_null=0, rng=2).fit(rec)
    assert est.decay_source_ == "silent_synapses"
    assert est.decay_ci_[0] <= 2.0 <= est.decay_ci_[1], (est.decay_, est.decay_ci_)
    # 15 % relative: noise 0.05/sqrt(s) on ~40 silent synapses × 120 intervals of weights ~0.1
    assert_allclose(est.decay_, 2.0, rtol=0.15)
    # the decay is resampled inside the bootstrap: its interval has a width
    assert est.decay_ci_[1] > est.decay_ci_[0]


def test_record_decay_used_and_missing_decay_explained(rng):
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    assert HebbianEstimator(n_boot=10, n_null=0).fit(rec).decay_source_ == "record"
    rec2 = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    with pytest.raises(ValueError, match=r"`decay` cannot be estimated.*presynaptic unit "
                                         r"silent in two consecutive"):
        HebbianEstimator(n_boot=10, n_null=0).fit(rec2)


def test_stdp_kernel_values_and_null():
    # one pre spike at 1.00 s, post spikes at 1.01 s (causal) and 0.98 s (acausal)
    t = np.arange(0, 4, 0.01)
    rec = make_record(np.zeros((t.size, 1)), np.zeros((t.size, 1)),
                      np.array([[[0.0]], [[1.0]], [[1.0]]]), time=t,
                      weight_time=[0.0, 2.0, 4.0], dt=0.01,
                      pre_spikes={"time": [1.0], "unit": [0]},
                      post_spikes={"time": [0.98, 1.01], "unit": [0, 0]})
    from plastix.estimate._spikes import stdp_terms
    from plastix.estimate._stats import layout_of

    h = stdp_terms(rec, layout_of(rec), tau=0.02)
    # exp(-0.01/0.02) - exp(-0.02/0.02); 1e-12: two float64 exponentials
    assert_allclose(h[:, 0, 0], [math.exp(-0.5) - math.exp(-1.0), 0.0], atol=1e-12)


def test_stdp_estimator_finds_causal_potentiation(rng):
    # post spikes 5 ms after pre spikes at synapses that grow; others independent
    n_pre, n_post, seg_t = 4, 2, 10.0
    t = np.arange(0, 2 * seg_t, 0.001)
    pt, pu, qt, qu = [], [], [], []
    for j in range(n_pre):
        s = np.sort(rng.uniform(0, 2 * seg_t, 40))
        pt += s.tolist()
        pu += [j] * s.size
        if j < 2:  # drives post unit j
            qt += (s + 0.005).tolist()
            qu += [j] * s.size
    for i in range(n_post):
        s = np.sort(rng.uniform(0, 2 * seg_t, 20))
        qt += s.tolist()
        qu += [i] * s.size
    order = np.argsort(qt)
    qt, qu = np.asarray(qt)[order], np.asarray(qu)[order]
    wt = np.arange(0, 2 * seg_t + 1e-9, 1.0)
    w = np.zeros((wt.size, n_post, n_pre))
    for k in range(1, wt.size):
        w[k] = w[k - 1] + 0.01 * rng.standard_normal((n_post, n_pre))
        w[k, 0, 0] += 0.5
        w[k, 1, 1] += 0.5
    rec = make_record(np.zeros((t.size, n_pre)), np.zeros((t.size, n_post)), w, time=t,
                      weight_time=wt, dt=0.001, pre_spikes={"time": pt, "unit": pu},
                      post_spikes={"time": qt, "unit": qu})
    est = HebbianEstimator(kernel="stdp", decay=0.0, n_boot=300, n_null=59, rng=1).fit(rec)
    assert est.verdict_ == "hebbian", est.summary()
    assert est.alignment_ > 0.5


def test_trap_small(rng):
    """Rule inference finds a > 0 for an error-driven rule; plastix calls it emergent."""
    cfg = SyntheticConfig(rule="error", **{**FAST, "n_intervals": 150})
    rec = simulate_synthetic(cfg, rng=rng)
    fit = fit_linear_rule(rec)
    assert fit["a"] > 0, fit
    assert fit_linear_rule(rec, decay=2.0)["a"] > 0
    est = HebbianEstimator(decay=2.0, n_boot=500, n_null=0, rng=0).fit(rec)
    assert est.emergent_consistent_, est.summary()
    assert est.stationarity_gap_ < 0.3


def test_growing_hebbian_is_not_emergent(rng):
    """A mechanistic Hebbian rule outgrowing its decay is far from balance: not emergent.

    30 intervals: over 60 the growing rates pass 10 kHz, which records refuse.
    """
    cfg = SyntheticConfig(rule="hebbian", **{**FAST, "decay": 0.5, "n_burn": 0,
                                             "n_intervals": 30})
    est = HebbianEstimator(decay=0.5, n_boot=300, n_null=59, rng=0).fit(
        simulate_synthetic(cfg, rng=rng))
    assert est.verdict_ == "hebbian"
    assert est.stationarity_gap_ > 1 and not est.emergent_consistent_, est.summary()


def test_plots_return_axes(rng):
    from plastix.plot.estimate import (
        plot_bootstrap,
        plot_interval_alignment,
        plot_post_alignment,
    )

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    res = estimate_alignment(rec, decay=2.0, n_boot=50, n_null=5, rng=0)
    import matplotlib.pyplot as plt

    for fn in (plot_interval_alignment, plot_bootstrap, plot_post_alignment):
        ax = fn(res)
        assert ax.get_ylabel()
        fig, ax2 = plt.subplots()
        assert fn(res, ax=ax2) is ax2
        plt.close("all")


def test_result_files_and_estimate_alignment(tmp_path, rng):
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    res = estimate_alignment(rec, decay=2.0, n_boot=100, n_null=9, rng=0)
    assert isinstance(res, xr.Dataset) and res["alignment"].attrs["units"] == "1"
    nc, js = save_result(res, tmp_path / "out" / "result")
    back = xr.open_dataset(nc, engine="h5netcdf").load()
    assert_allclose(back["alignment"].values, res["alignment"].values, rtol=0)
    d = json.loads(js.read_text())
    assert d["verdict"] == str(res["verdict"].values)
    assert len(d["alignment_interval"]) == FAST["n_intervals"]


def test_cli_estimate(tmp_path, rng, capsys):
    from plastix.cli import main

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    path = to_netcdf(rec, tmp_path / "rec.nc")
    code = main(["estimate", str(path), "--n-boot", "200", "--n-null", "59",
                 "--out", str(tmp_path / "res"), "--plot"])
    out = capsys.readouterr().out
    assert code == 0
    assert "verdict     hebbian" in out and "p-value" in out and "emergent" in out
    for suffix in (".nc", ".json", ".png"):
        assert (tmp_path / f"res{suffix}").stat().st_size > 0
    assert main(["estimate", str(path), "--kernel", "prodcut"]) == 2
    assert "Did you mean 'product'?" in capsys.readouterr().err
    before = sorted(tmp_path.iterdir())
    assert main(["estimate", str(path), "--plot"]) == 2  # nothing written beside the input
    assert "`--plot`" in capsys.readouterr().err and sorted(tmp_path.iterdir()) == before


def test_neo_file_and_pairing_shape(tmp_path, rng):
    pytest.importorskip("neo")
    from plastix.io import load_record, save_record

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    path = save_record(rec, tmp_path / "rec.nix")
    a = HebbianEstimator(n_boot=100, n_null=0, rng=0).fit(path)
    b = HebbianEstimator(n_boot=100, n_null=0, rng=0).fit(load_record(path))
    assert_allclose(a.alignment_, b.alignment_, rtol=1e-12)
    c = HebbianEstimator(n_boot=100, n_null=0, rng=0).fit(rec)
    # NIX stores float64: identical up to rounding
    assert_allclose(a.alignment_, c.alignment_, rtol=1e-9)
    # pairing experiments: one synapse per segment, weight before and after
    n_seg, m = 12, 40
    pre = rng.standard_normal((n_seg * m, 1))
    post = 0.8 * pre + 0.6 * rng.standard_normal((n_seg * m, 1))
    seg = np.repeat(np.arange(n_seg), m)
    t = np.tile(np.arange(m) * 0.01, n_seg)
    h = np.array([np.sum(post[seg == s, 0] * pre[seg == s, 0]) * 0.01 for s in range(n_seg)])
    w = np.stack([np.ones(n_seg), 1 + 0.5 * h + 0.02 * rng.standard_normal(n_seg)], 1)
    rec_p = make_record(pre, post, w.reshape(-1, 1, 1), time=t,
                        weight_time=np.tile([0.0, m * 0.01], n_seg), segment=seg,
                        weight_segment=np.repeat(np.arange(n_seg), 2), dt=0.01)
    est = HebbianEstimator(decay=0.0, n_boot=300, n_null=59, rng=0).fit(rec_p)
    assert est.per_interval_.size == n_seg
    assert est.verdict_ == "hebbian", est.summary()
    # the same pairing experiments as a Neo file (one Segment each): same numbers
    via_neo = HebbianEstimator(decay=0.0, n_boot=300, n_null=59, rng=0).fit(
        save_record(rec_p, tmp_path / "pairing.nix"))
    assert_allclose(via_neo.alignment_, est.alignment_, rtol=1e-9)
    assert_allclose(via_neo.p_value_, est.p_value_, rtol=0)


def test_schema_error_of_reader_surfaces_unchanged(tmp_path, rng):
    from plastix.record import SchemaError

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    bad = rec.drop_vars("weight")
    path = tmp_path / "bad.nc"
    bad.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match=r"`weight` is missing"):
        HebbianEstimator().fit(path)
    with pytest.raises(SchemaError, match=r"`weight` is missing"):
        HebbianEstimator(streaming=True).fit(path)


def test_ann_per_interval_equals_trainer_alignment():
    """Estimator on an ANN record == the trainer's own rule/gradient alignment trace."""
    run = pytest.importorskip("plastix.ann.run")
    from plastix.ann.config import TrainConfig

    cfg = TrainConfig(epochs=1, n_train=512, n_val=64, batch_size=64, weight_decay=5e-3,
                      lr=0.05, hidden=(16, 16))
    steps = (0, 6)
    rec = run.record_layer(cfg, layer=2, steps=steps, rng=7)
    tr = run.train(cfg, rng=7)
    est = HebbianEstimator(n_boot=10, n_null=0).fit(rec)
    trace = tr["alignment"].sel(layer=2, step=list(range(*steps)))
    # the trainer computes in float32: 1e-4 absolute on a cosine
    assert_allclose(est.per_interval_.values, trace.sel(signal="rule").values, atol=1e-4)
    assert_allclose(est.per_interval_.values, trace.sel(signal="gradient").values, atol=1e-4)


def test_failed_setup_closes_file_handles(tmp_path, rng, monkeypatch):
    """If the streaming pass fails after opening the file (here: reading the weight
    samples), every file handle it opened is closed and the original error propagates."""
    import os

    from plastix.estimate import _stats

    rec = _masked_record(rng)
    path = to_netcdf(rec, tmp_path / "rec.nc")

    def broken_weights(ds, h5):
        assert h5 is not None, "the h5py path was not used, so this test checks nothing"
        raise RuntimeError("weights unreadable")

    monkeypatch.setattr(_stats, "_Weights", broken_weights)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(RuntimeError, match="weights unreadable"):
        HebbianEstimator(decay=2.0, n_boot=10, n_null=2, streaming=True, rng=0).fit(path)
    leaked = [fd for fd in set(os.listdir("/proc/self/fd")) - before
              if os.path.realpath(f"/proc/self/fd/{fd}") == str(path.resolve())]
    assert not leaked


@pytest.mark.parametrize("split", [2.5, 99.0])
def test_fast_spike_null_equals_elephant(rng, split):
    """The vectorised circular shifts are Elephant's trial_shifting surrogates, spike for
    spike, for the same seed (two segments or one, trains of unequal length, an empty
    train)."""
    from plastix.estimate._spikes import ShiftNull, shifted_pre_spikes

    t = np.arange(0, 6, 0.01)
    seg = (t >= split).astype(int)
    pt = np.concatenate([rng.uniform(0, 2.5, 30), rng.uniform(2.5, 6.0, 50)])
    pu = np.concatenate([rng.integers(0, 3, 30), rng.integers(0, 3, 50)])  # unit 3 silent
    rec = make_record(np.zeros((t.size, 4)), np.zeros((t.size, 1)),
                      np.zeros((4, 1, 4)), time=t, segment=seg,
                      weight_time=[0.0, 2.0, 3.0, 5.0],
                      weight_segment=(np.array([0.0, 2.0, 3.0, 5.0]) >= split).astype(int),
                      dt=0.01,
                      pre_spikes={"time": pt, "unit": pu, "segment": (pt >= split).astype(int)},
                      post_spikes={"time": [1.0, 4.0], "unit": [0, 0],
                                   "segment": (np.array([1.0, 4.0]) >= split).astype(int)})
    fast = ShiftNull(rec)
    for seed in (1, 2, 3):
        a = fast.draw(np.random.default_rng(seed))
        b = shifted_pre_spikes(rec, np.random.default_rng(seed))
        key = lambda x: np.lexsort((x[0], x[2], x[1]))  # noqa: E731 - unit, segment, time
        for got, want in zip(a, b, strict=True):
            # identical float operations on identical draws: equal to the last bit
            np.testing.assert_array_equal(np.asarray(got)[key(a)], np.asarray(want)[key(b)])
        assert not np.array_equal(np.sort(a[0]), np.sort(pt))  # the trains did move


def _inside(est, name, value, ci):
    lo, hi = ci
    assert lo <= value <= hi, (f"{name} {value:+.4f} outside its interval [{lo:+.4f}, "
                               f"{hi:+.4f}]", est.summary())


def _check_intervals(est):
    _inside(est, "alignment", est.alignment_, est.ci_)
    if np.isfinite(est.pooled_):
        _inside(est, "pooled", est.pooled_, est.pooled_ci_)
        _inside(est, "emergent difference", est.pooled_ - est.emergent_prediction_,
                est.emergent_difference_ci_)
    _inside(est, "decay", est.decay_, est.decay_ci_)


def test_bca_interval_contains_its_estimate():
    from plastix.estimate.intervals import bca_interval

    rng = np.random.default_rng(0)
    boot = rng.normal(0.5, 0.1, 2000)
    jack = rng.normal(0.5, 0.01, 50)
    ci, ext = bca_interval(0.5, boot, jack, 0.05)
    # an unbiased, symmetric bootstrap: BCa ≈ the percentile interval (0.01: MC noise)
    assert_allclose(ci, np.percentile(boot, [2.5, 97.5]), atol=0.01)
    assert not ext
    # every replicate below the estimate (the pooled cosine's noise bias, extreme): the basic
    # interval [2θ - q_hi, 2θ - q_lo] excluded θ; BCa is extended to it and says so
    ci, ext = bca_interval(0.9, boot, jack, 0.05)
    assert ci[0] <= 0.9 <= ci[1] and ext


@pytest.mark.parametrize("estimated", [False, True])
def test_alignment_gradient_matches_finite_differences(estimated):
    from plastix.estimate.intervals import _alignment_gradient

    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=3), rng.uniform(1, 2, 2), [0.3],
                        [rng.normal(), rng.uniform(1, 2)]])
    x[2], x[3], x[5] = 4.0, 3.0, 2.0  # hh, dd, ww > 0

    def a_of(v):
        gam = -v[6] / v[7] if estimated else 0.7
        return _alignment_gradient(v[:6], v[6:], gam, estimated)[0]

    gam = -x[6] / x[7] if estimated else 0.7
    _, grad = _alignment_gradient(x[:6], x[6:], gam, estimated)
    eps = 1e-6
    num = [(a_of(x + eps * e) - a_of(x - eps * e)) / (2 * eps) for e in np.eye(8)]
    assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def test_studentized_interval_contains_its_estimate_and_covers(rng):
    """On i.i.d. intervals the studentized interval of a cosine is near the normal one."""
    from plastix.estimate.intervals import block_resamples, studentized_interval

    n = 400
    h = rng.normal(size=(n, 5))
    d = 0.3 * h + rng.normal(size=(n, 5))
    s = np.stack([np.einsum("ki,ki->k", d, h), np.zeros(n), np.einsum("ki,ki->k", h, h),
                  np.einsum("ki,ki->k", d, d), np.zeros(n), np.zeros(n)], axis=1)
    starts, counts = block_resamples(n, 2000, 1, np.random.default_rng(0))
    ci, ext, se, boot = studentized_interval(s, np.zeros((n, 2)), 0.0, np.zeros(2000), False,
                                             starts, counts, 1, 0.05)
    a = s[:, 0].sum() / np.sqrt(s[:, 2].sum() * s[:, 3].sum())
    assert ci[0] <= a <= ci[1] and not ext
    # the standard error is the bootstrap's spread of the resampled alignments
    assert se == pytest.approx(np.std(boot), rel=0.1)
    assert_allclose(ci, [a - 1.96 * se, a + 1.96 * se], atol=0.3 * se)


@pytest.mark.parametrize("rule,extra", [("hebbian", {}), ("anti_hebbian", {}), ("error", {}),
                                        ("null", {}), ("error", {"n_intervals": 4}),
                                        ("hebbian", {"n_intervals": 2}),
                                        ("error", {"noise": 0.5, "silent_fraction": 0.25})])
def test_every_interval_contains_its_estimate(rule, extra, rng):
    cfg = SyntheticConfig(rule=rule, **{**FAST, **extra})
    rec = simulate_synthetic(cfg, rng=rng)
    decay = "estimate" if extra.get("silent_fraction") else 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HebbianEstimator(decay=decay, n_boot=300, n_null=19, rng=4).fit(rec)
    _check_intervals(est)


def test_intervals_contain_estimates_on_bundled_datasets():
    from plastix.datasets import list_datasets, load_dataset

    for entry in (e for e in list_datasets() if e.kind == "record"):
        kernel = "stdp" if entry.truth.get("rule") == "stdp" else "product"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = HebbianEstimator(kernel=kernel, n_boot=300, n_null=19, rng=0).fit(
                load_dataset(entry.name))
        _check_intervals(est)


@pytest.mark.slow  # Brian2 + NIX: ~15 s of CPU even at 1 s
@pytest.mark.parametrize("duration", [1.0, 8.0])  # 8 s: the demo's own record
def test_intervals_contain_estimates_on_the_demo_circuit(duration, tmp_path):
    """The demo's error-driven spiking circuit, written to NIX and read back as the demo
    does, estimated with its default settings: every printed interval holds its estimate."""
    from plastix.circuits import SpikingCircuitConfig, simulate_spiking
    from plastix.io import load_record, save_record

    cfg = SpikingCircuitConfig(rule="error", decay=4.0, noise=0.0, duration=duration,
                               n_pre=100, n_post=10, record_synapses=400)
    rec = load_record(save_record(simulate_spiking(cfg, rng=3, target="numpy"),
                                  tmp_path / "error_circuit.nix"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HebbianEstimator(n_null=19 if duration < 8 else 199, rng=3,
                               progress=False).fit(rec)
    _check_intervals(est)


def test_summary_says_when_p_sits_at_its_floor(rng):
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    est = HebbianEstimator(decay=2.0, n_boot=100, n_null=19, rng=0).fit(rec)
    assert est.p_value_ == pytest.approx(0.1)  # 2/20: every null replicate is below
    assert "the smallest p 19 replicates can give" in est.summary()


def test_one_weight_sample_is_not_ready_and_the_refusal_names_the_record(tmp_path, rng):
    """A record whose weights were measured once has no interval: inspect lists it as
    missing (not 'ready'), and the estimator's refusal names the record and the fix."""
    from plastix._util.errors import SchemaError
    from plastix.io import inspect_file

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    one = make_record(rec["pre_activity"].values, rec["post_activity"].values,
                      rec["weight"].values[:1], time=rec["time"].values,
                      weight_time=rec["weight_time"].values[:1], dt=float(rec.attrs["dt"]),
                      decay=float(rec["decay"]))
    path = to_netcdf(one, tmp_path / "once.nc")
    report = inspect_file(path)
    assert not report.ready and "a weight interval" in report.missing[0]
    with pytest.raises(SchemaError, match=r"no weight interval.*Measure the weights more than"):
        HebbianEstimator(n_boot=10, n_null=0).fit(one)


def test_an_estimate_does_not_depend_on_the_callers_blas_threads(tmp_path):
    """A threaded BLAS adds the parts of a product in an order that depends on its thread
    count (a serial run, a Dask worker with one BLAS thread and a larger machine gave
    estimates differing in the last bits); the estimator runs BLAS on one thread, so the
    numbers are the same bytes whatever the caller's setting, which is restored."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from plastix.cli import main

    rec = tmp_path / "a.nc"
    assert main(["simulate", "rate", "--duration", "5", "--rng", "1", "--out", str(rec)]) == 0

    def fit():
        est = HebbianEstimator(n_boot=100, n_null=39, rng=0, progress=False).fit(rec)
        return est.result_

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    with threadpool_limits(limits=1, user_api="blas"):
        one = fit()
    with threadpool_limits(limits=2, user_api="blas"):
        two = fit()
        assert blas_threads() == {2}
    for v in one.variables:
        assert one[v].values.tobytes() == two[v].values.tobytes(), v


def test_too_few_bootstrap_replicates_give_no_verdict(rng):
    """A 95% interval from fewer than 39 replicates has the extreme replicates as its ends
    (too narrow): the verdict is indeterminate and its reason says why and what to pass."""
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    kw = dict(decay=FAST["decay"], n_null=99, rng=0, progress=False)
    assert HebbianEstimator(n_boot=39, **kw).fit(rec).verdict_ == "hebbian"
    est = HebbianEstimator(n_boot=38, **kw).fit(rec)
    assert est.verdict_ == "indeterminate"
    assert est.verdict_reason_ == ("38 bootstrap replicates cannot place the ends of a 95% "
                                   "interval (its ends are the extreme replicates, too narrow); "
                                   "pass n_boot >= 39 (--n-boot)")


def _all_missing(rng):
    """A record every weight of which is NaN, with a NaN standard error (an all-missing
    inferred record, as infer-weights wrote before it refused one)."""
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    rec["weight"] = rec["weight"] * np.nan
    rec["weight_sem"] = rec["weight"].copy()
    return rec


def _undefined(rng):
    """A record whose alignment is undefined (no presynaptic activity: the Hebbian term is
    zero) and whose weights carry no standard error (no synapse to test)."""
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    rec["pre_activity"] = rec["pre_activity"] * 0.0
    rec["weight_sem"] = rec["weight"] * np.nan
    return rec


def test_summary_of_an_undefined_alignment_says_n_a_without_contradictions(rng):
    """p is NaN because the alignment is (not for want of null replicates); the
    heterogeneity test has no synapse (0 df); the emergent numbers are NaN: the summary
    says so instead of "n_null=0", "chi-square 0 on 0 df" or "not consistent"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HebbianEstimator(n_boot=50, n_null=19, rng=0).fit(_undefined(rng))
    text = est.summary()
    assert "n_null=0" not in text and "0 on 0 df" not in text and "nan" not in text
    assert "consistent" not in text
    assert "p-value     n/a (the alignment is undefined)  (circular-shift null, 19" in text
    assert "alignment   n/a  (undefined" in text and "emergent    n/a" in text
    assert "cannot be tested against their inference noise" in text


def test_summary_says_n_null_0_only_without_replicates(rng):
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng, known_decay=True)
    est = HebbianEstimator(n_boot=50, n_null=0, rng=0).fit(rec)
    assert "p-value     n/a (n_null=0)" in est.summary()
    assert "with pure homeostatic balance" in est.summary()  # defined: judged as before


def test_cli_estimate_refuses_a_record_without_an_observed_weight_change(tmp_path, rng, capsys):
    from plastix.cli import main

    path = to_netcdf(_all_missing(rng), tmp_path / "iw.nc")
    assert main(["estimate", str(path), "--n-boot", "50", "--n-null", "19"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and len(cap.err.splitlines()) == 1
    assert "iw.nc: no observed weight change" in cap.err and "weight interval" in cap.err


def test_the_estimator_refuses_a_record_without_a_weight_change(rng):
    """Every weight NaN (an inference with too short windows): the Python API refuses as
    the command line does, before any work, instead of printing NaNs."""
    from plastix._util.errors import SchemaError

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=rng)
    rec["weight"] = rec["weight"].copy(data=np.full(rec["weight"].shape, np.nan))
    with pytest.raises(SchemaError, match=r"no observed weight change: no synapse has a finite "
                       r"weight at both ends of any of the 60 weight intervals"):
        HebbianEstimator(decay=2.0, n_boot=50, n_null=0, progress=False).fit(rec)
