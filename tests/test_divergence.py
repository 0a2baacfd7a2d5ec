"""A simulation that runs away is reported as a divergence, with the parameters to
change, never as the overflowed values of a user's file; defaults that do not run away."""

from __future__ import annotations

import numpy as np
import pytest

from plastix.circuits.divergence import SimulationDiverged, find_divergence
from plastix.design.circuit import CircuitSpec, Condition, new_sessions, run_condition
from plastix.design.hypotheses import (
    Hypothesis,
    _baseline_alignment,
    baseline_settle,
    calibrate,
    eta_range,
    hebbian_step_limit,
)

# the design circuit fitted to the bundled spiking_error.nix (circuit_from_record)
SPIKING_ERROR = CircuitSpec(n_pre=60, n_post=6, dt=0.01, weight_interval=0.1, n_intervals=80,
                            decay=4.0)
# ... and to rate_null.nwb
RATE_NULL = CircuitSpec(n_pre=20, n_post=8, dt=0.01, weight_interval=0.4, n_intervals=60,
                        decay=2.0)


def test_find_divergence_gives_the_earliest_array_and_time():
    t = np.arange(5) * 0.1
    post = np.ones((5, 2))
    post[3, 1] = 2e4
    w = np.ones((5, 2, 2))
    w[4, 0, 0] = np.inf
    w[0, 1, 1] = np.nan  # an unrecorded synapse
    found = find_divergence([("weight", w, 1e6, "", t, 0), ("post rate", post, 1e4, "Hz", t, 0)])
    assert found.label == "post rate" and found.time == pytest.approx(0.3)
    assert found.describe() == "post rate 2e+04 Hz at t = 0.3 s"
    assert find_divergence([("weight", w[:4], 1e6, "", t[:4], 0)]) is None
    assert find_divergence([("weight", w[:4], 1e6, "", t[:4], 0)],
                           nan_is_divergence=True).time == 0.0


@pytest.mark.parametrize("spec", [SPIKING_ERROR, RATE_NULL, CircuitSpec()])
def test_hebbian_calibration_range_stays_bounded(spec):
    # the previous top of the range (0.95 decay) sent these weights to 1e34 and 7e5
    lo, hi = eta_range("hebbian", spec)
    assert hi <= 0.95 * hebbian_step_limit(spec) + 1e-12 and hi < 0.95 * spec.decay
    state = new_sessions(spec, "hebbian", hi, batch=(16,), rng=np.random.default_rng(0))
    win = run_condition(state, spec, Condition(spec.decay, spec.noise),
                        settle=baseline_settle("hebbian", hi, spec.decay))
    assert np.abs(win["weight"]).max() < 100 and np.abs(win["post"]).max() < 1e3


def test_a_diverging_calibration_names_the_hypothesis_and_eta_not_a_file():
    with pytest.raises(SimulationDiverged) as err:
        _baseline_alignment(SPIKING_ERROR, "hebbian", np.array([3.8]), 2,
                            np.random.default_rng(0), lambda rec: 0.0, name="hebbian")
    msg = str(err.value)
    assert "calibration of hypothesis 'hebbian' (hebbian rule) diverged at eta 3.8" in msg
    assert "not the file of --record" in msg and "Check the units" not in msg
    assert "\n" not in msg


def test_an_unreachable_target_names_the_target_flag():
    spec = CircuitSpec(n_pre=4, n_post=2, n_intervals=2)
    with pytest.raises(ValueError, match=r"\(`target`, e\.g\. .*leave this hypothesis out") as err:
        calibrate([Hypothesis("error", "error")], spec, target=0.5, measure=lambda rec: 0.1,
                  n_sessions=2, n_grid=3, rng=0)
    assert "noise or decay" not in str(err.value)


def test_cli_names_the_target_flag(tmp_path, monkeypatch, capsys):
    import plastix.design.propose as P
    from plastix.cli import main

    real = P.propose_experiments
    spec = CircuitSpec(n_pre=4, n_post=2, n_intervals=2)

    def small(**kw):
        return real(**{**kw, "target": 0.5, "circuit": spec, "n_calibration": 2,
                       "measure": lambda rec: 0.1, "estimator": None})

    monkeypatch.setattr(P, "propose_experiments", small)
    assert main(["design", "--replicates", "3", "--quiet", "--out", str(tmp_path)]) == 2
    assert "(`--target`, e.g. 0.10)" in capsys.readouterr().err


def test_recording_length_scales_g_max_and_names_the_flag_when_cells_are_silent():
    import xarray as xr

    from plastix.design.recording import check_post_fires, default_g_max

    assert default_g_max(1000) == pytest.approx(0.01) and default_g_max(100) == pytest.approx(0.1)

    class Cfg:
        n_pre, n_post, rate, g_max, duration = 100, 2, 15.0, 0.01, 40.0

    silent = xr.Dataset(coords={"post_spike": np.arange(0)})
    with pytest.raises(ValueError, match=r"never fired in 40 s.*raise `g_max` \(--g-max, e\.g\. "
                       r"0\.1 = 10/n_pre.*`rate` \(--rate\)"):
        check_post_fires(silent, Cfg)
    check_post_fires(xr.Dataset(coords={"post_spike": np.arange(3)}), Cfg)


def test_cli_recording_length_passes_no_g_max_by_default(tmp_path, monkeypatch):
    import plastix.design.recording as R
    from plastix.cli import main

    seen = {}

    def fake(*args, **kw):
        seen.update(kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(R, "recording_length", fake)
    main(["design", "--recording-length", "--n-pre", "100", "--quiet", "--out", str(tmp_path)])
    assert seen["g_max"] is None


def test_cli_simulate_stdp_on_the_rate_circuit_names_the_spiking_command(tmp_path, capsys):
    from plastix.cli import main

    assert main(["simulate", "rate", "--rule", "stdp", "--out", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err
    assert "plastix simulate spiking --rule stdp" in err and "SpikingCircuitConfig" not in err


@pytest.mark.parametrize("rule, eta", [("hebbian", 0.5), ("error", 5.0), ("anti_hebbian", 5.0)])
def test_cli_simulate_default_eta_is_per_rule(tmp_path, monkeypatch, rule, eta):
    import plastix.circuits.simulate as S
    from plastix.cli import main

    seen = {}

    def fake(cfg, **kw):
        seen["eta"] = cfg.eta
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "simulate_rate", fake)
    main(["simulate", "rate", "--rule", rule, "--out", str(tmp_path / "x.nc")])
    assert seen["eta"] == eta


def test_a_runaway_rate_circuit_is_reported_as_a_divergence():
    pytest.importorskip("brian2")
    from plastix.circuits import RateCircuitConfig, simulate_rate

    cfg = RateCircuitConfig(rule="hebbian", eta=50.0, decay=1.0, duration=1.0, n_pre=10,
                            n_post=2)
    with pytest.raises(SimulationDiverged) as err:
        simulate_rate(cfg, rng=0, target="numpy")
    msg = str(err.value)
    assert msg.startswith("the rate circuit diverged (runaway Hebbian growth: ")
    assert "eta 50/s against decay 1/s" in msg and "(--decay)" in msg and "(--eta)" in msg
    assert "file" not in msg and "units" not in msg


def test_a_diverging_manipulation_names_hypothesis_and_condition():
    from plastix.design.propose import _check_window

    spec = CircuitSpec(n_pre=3, n_post=2, n_intervals=2)
    n_bins = spec.n_intervals * spec.bins_per_interval
    win = {"pre": np.zeros((2, n_bins, 3)), "post": np.zeros((2, n_bins, 2)),
           "weight": np.zeros((2, 3, 2, 3))}
    _check_window(win, spec, Condition(0.5, 0.1), {})  # bounded: nothing to say
    win["weight"][1, 2, 0, 0] = 3e6
    truth = {"hypothesis": "hebbian", "rule": "hebbian", "eta": 0.9, "condition": "decay_half"}
    with pytest.raises(SimulationDiverged, match=r"hypothesis 'hebbian' \(hebbian rule, eta 0\.9 "
                       r"1/s\) diverged under 'decay_half' \(decay 0\.5 1/s.*weight 3e\+06 at "
                       r"t = 0\.2 s of the measured window.*not the file of --record"):
        _check_window(win, spec, Condition(0.5, 0.1), truth)


def test_a_simulation_whose_values_turn_nan_is_a_divergence_not_a_record():
    """An error-rule circuit at eta 1e20: Brian2's integration gives NaN (inf - inf), which
    in a record would read as unrecorded synapses; it is a divergence."""
    pytest.importorskip("brian2")
    from plastix.circuits import RateCircuitConfig, simulate_rate

    cfg = RateCircuitConfig(rule="error", eta=1e20, decay=1.0, duration=0.5, n_pre=10,
                            n_post=2)
    with pytest.raises(SimulationDiverged, match=r"the rate circuit diverged .* nan"):
        simulate_rate(cfg, rng=0, target="numpy")


def test_brian2s_logged_warnings_are_plastix_warning_lines_and_restored(capfd):
    """The console turns Brian2's logged warnings into Python warnings (one
    `plastix: warning (brian2): ...` line) and mutes Brian2's own console line, only while
    it runs."""
    pytest.importorskip("brian2")
    import logging

    from brian2.utils.logger import BrianLogger, get_logger

    from plastix.cli import _brian2_log_as_warnings

    before = list(logging.getLogger("brian2").handlers)
    with _brian2_log_as_warnings(), pytest.warns(UserWarning, match="probe 5 message"):
        get_logger("brian2.probe5").warn("probe 5 message")
    assert "WARNING    probe 5 message" not in capfd.readouterr().err
    assert logging.getLogger("brian2").handlers == before
    assert not BrianLogger.console_handler.filters
