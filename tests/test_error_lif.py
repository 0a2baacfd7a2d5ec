"""Issue 16: the error-driven (delta rule with decay) LIF circuit, ground truth for inferred
weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plastix.circuits.error_lif import ErrorConfig, simulate_error

# post 0: target 5 Hz, below what its inputs drive (its weights must fall); post 1: 80 Hz,
# above (they must rise)
SMALL = ErrorConfig(n_pre=20, n_post=2, duration=2.0, dt=5e-4, weight_interval=0.5, g_max=0.25,
                    eta=1.0, decay=0.1, target_rate=(5.0, 80.0))


def _trace(t: np.ndarray, unit: np.ndarray, n: int, n_steps: int, dt: float, tau: float,
           start: np.ndarray) -> np.ndarray:
    """Exponential trace (Hz; a spike adds 1/tau) at the start of every step, (steps, n)."""
    k = np.round(t / dt).astype(np.int64)
    hits = np.zeros((n_steps, n))
    np.add.at(hits, (k, unit), 1.0 / tau)
    out = np.empty((n_steps, n))
    x, a = start.astype(float), np.exp(-dt / tau)
    for s in range(n_steps):
        out[s] = x
        x = x * a + hits[s]                     # decays over the step, spikes at its end
    return out


def _expected_weights(rec, cfg: ErrorConfig) -> np.ndarray:
    """The rule integrated in numpy from the recorded spikes: final weights ``(post, pre)``."""
    truth = json.loads(rec.attrs["truth"])
    target = np.asarray(truth["target_rate"])
    n_steps = int(round(cfg.duration / cfg.dt))
    x = _trace(rec["pre_spike_time"].values, rec["pre_spike_unit"].values, cfg.n_pre, n_steps,
               cfg.dt, cfg.tau_pre, np.zeros(cfg.n_pre))
    xr = _trace(rec["post_spike_time"].values, rec["post_spike_unit"].values, cfg.n_post,
                n_steps, cfg.dt, cfg.tau_rate, target)
    w = rec["weight"].values[0].copy()
    e = (target - xr) / target                                      # (steps, post)
    for s in range(n_steps):
        drive = cfg.g_max * cfg.eta * e[s][:, None] * (x[s] / cfg.rate)[None]
        w = np.clip(w + cfg.dt * (drive - cfg.decay * w), 0.0, cfg.g_max)
    return w


def test_error_rule_moves_weights_the_way_the_rule_says():
    """The Brian2 weights against an independent numpy integration of the rule from the same
    spikes; a neuron above its target loses weight, one below gains; same seed, same numbers."""
    pytest.importorskip("brian2")
    rec = simulate_error(SMALL, rng=3)
    again = simulate_error(SMALL, rng=3)
    w = rec["weight"].values
    assert w.shape == (5, 2, 20)                                 # samples at 0, 0.5, ..., 2 s
    assert np.array_equal(w, again["weight"].values)
    assert np.array_equal(rec["post_spike_time"].values, again["post_spike_time"].values)
    truth = json.loads(rec.attrs["truth"])
    assert truth["rule"] == "error" and float(rec["decay"]) == SMALL.decay
    rates = np.bincount(rec["post_spike_unit"].values, minlength=2) / SMALL.duration
    assert rates[0] > 5.0 and rates[1] < 80.0                    # the errors have known signs
    dw = w[-1] - w[0]
    assert (dw[0] <= 0).all() and (dw[1] >= 0).all()
    assert dw[0].mean() < -0.01 * SMALL.g_max and dw[1].mean() > 0.01 * SMALL.g_max
    expected = _expected_weights(rec, SMALL) - w[0]
    assert np.abs(dw - expected).max() < 0.01 * np.abs(expected).max(), (dw, expected)  # 4e-4
    assert w.min() >= 0 and w.max() <= SMALL.g_max


def test_config_keeps_one_target_per_post_neuron():
    cfg = ErrorConfig(n_post=3, target_rate=[10, 20, 30])
    assert cfg.target_rate == (10.0, 20.0, 30.0)
    assert cfg.targets.tolist() == [10.0, 20.0, 30.0]
    assert ErrorConfig(n_post=3).targets.tolist() == [20.0] * 3
    rates = cfg.input_rates(np.random.default_rng(0))
    assert rates.shape == (100,) and rates.min() >= 7.5 and rates.max() <= 22.5


# ------------------------------------------------------------------- slow: recovery


@pytest.mark.slow
def test_inferred_efficacies_track_the_error_driven_weights():
    """100 -> 10, 100 s (cpp_standalone): the ccg efficacies of 10 s windows rank the true
    weights of the last half; the weights did move (the part not proportional to the input
    rates decays at `decay`)."""
    pytest.importorskip("brian2")
    from scipy.stats import spearmanr

    from plastix.estimate.infer import infer_weights

    rec = simulate_error(ErrorConfig(), rng=1, target="cpp_standalone")
    w, t = rec["weight"].values, rec["weight_time"].values
    assert np.median(np.abs(w[-1] - w[0])) > 0.1 * ErrorConfig().g_max
    spikes_only = rec.copy()
    spikes_only["weight"] = spikes_only["weight"] * np.nan
    inferred = infer_weights(spikes_only, window=10.0)
    c = inferred["weight_time"].values
    true = w[t >= t[-1] / 2].mean(0)
    est = np.nanmean(inferred["weight"].values[c >= t[-1] / 2], 0)
    rho = spearmanr(est.ravel(), true.ravel()).statistic
    assert rho >= 0.6, rho
