"""Compiled Brian2 targets: one cython test and one cpp_standalone (run_args) test.

Both models are tiny: the cost is the compiler (20–80 s on a busy 2-core machine),
so there is exactly one test per compiled target.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

pytest.importorskip("brian2")

from plastix.circuits import SpikingCircuitConfig, simulate_spiking  # noqa: E402
from plastix.record import provenance  # noqa: E402

pytestmark = pytest.mark.brian2


def test_cython_target_matches_numpy_dynamics_and_is_recorded():
    pytest.importorskip("Cython")
    # η = 0 and σ = 0: the weights are deterministic, so both targets must agree;
    # the spike trains differ (each target has its own random stream).
    cfg = SpikingCircuitConfig(rule="hebbian", eta=0.0, decay=1.5, n_pre=5, n_post=2,
                               duration=0.5, record_signal=False)
    cy = simulate_spiking(cfg, rng=3, target="cython")
    cy2 = simulate_spiking(cfg, rng=3, target="cython")
    np_ = simulate_spiking(cfg, rng=3, target="numpy")
    assert provenance(cy)["codegen_target"] == "cython"
    assert provenance(np_)["codegen_target"] == "numpy"
    # same arithmetic (forward Euler) in C and numpy: agreement to float64 rounding
    assert_allclose(cy["weight"].values, np_["weight"].values, rtol=1e-12)
    # same seed, same target: the same spikes
    assert_allclose(cy["pre_spike_time"].values, cy2["pre_spike_time"].values, rtol=0)


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # 4 intervals
def test_standalone_run_args_sweep_equals_separate_runs(tmp_path):
    from plastix._util.optional import import_brian2
    from plastix.circuits import sweep
    from plastix.circuits.build import draw_arrays

    b2 = import_brian2()
    if shutil.which(b2.prefs.codegen.cpp.compiler or "g++") is None and shutil.which(
            "g++") is None:
        pytest.skip("no C++ compiler")
    cfg = SpikingCircuitConfig(rule="error", eta=0.0, decay=0.5, noise=0.0, n_pre=4, n_post=2,
                               duration=0.4, weight_interval=0.1, record_synapses=None)
    arrays = draw_arrays(cfg, np.random.default_rng(0))
    # points (seed index, seed, σ index, σ, γ index, γ): two decays, a repeated seed,
    # another seed and a noisy point, all from ONE compiled binary
    points = [(0, 11, 0, 0.0, 0, 0.5), (0, 11, 0, 0.0, 1, 3.0), (1, 11, 0, 0.0, 1, 3.0),
              (2, 12, 0, 0.0, 1, 3.0), (0, 11, 1, 2.0, 0, 0.5)]
    model = sweep.CircuitModel(cfg, arrays, "cpp_standalone", str(tmp_path / "build"), 0.5,
                               None, True)
    try:
        runs = [sweep.run_point(model, p) for p in points]
        # the runtime device is active between points; the binary was compiled once
        assert type(b2.get_device()).__name__ == "RuntimeDevice"
        assert [t["n_builds"] for _e, _r, t in runs] == [1, 0, 0, 0, 0]
    finally:
        assert sweep.release_builds()
    recs = [rec for _e, rec, _t in runs]
    assert (tmp_path / "build" / "main").exists()   # a user's build folder is kept
    assert provenance(recs[0])["codegen_target"] == "cpp_standalone"
    t = recs[0]["weight_time"].values
    w0 = arrays.w0
    for rec, gamma in ((recs[0], 0.5), (recs[1], 3.0)):
        # γ reached the binary through run_args: w = w0 exp(−γ t), forward Euler at
        # 0.5 ms (relative error ≤ γ² dt t / 2 = 9e-4)
        assert_allclose(rec["weight"].values, w0[None] * np.exp(-gamma * t)[:, None, None],
                        rtol=1.5e-3)
        assert float(rec["decay"]) == gamma
    # a separate runtime (numpy) run of the same structure: same deterministic weights
    numpy = replace(model, target="numpy", build_dir=None)
    sep_rec = sweep.run_point(numpy, (0, 11, 0, 0.0, 0, 3.0))[1]
    assert_allclose(recs[1]["weight"].values, sep_rec["weight"].values, rtol=1e-9)
    # the seed is a run-time parameter: same seed, same spikes; another seed, other spikes
    assert_allclose(recs[1]["pre_spike_time"].values, recs[2]["pre_spike_time"].values,
                    rtol=0)
    assert not (recs[3].sizes["pre_spike"] == recs[2].sizes["pre_spike"] and np.array_equal(
        recs[3]["pre_spike_time"].values, recs[2]["pre_spike_time"].values))
    # σ through run_args: the noisy point's weights leave the exponential
    noisy = recs[4]["weight"].values
    dev = np.abs(noisy - w0[None] * np.exp(-0.5 * t)[:, None, None]).max()
    assert dev > 0.1, dev
