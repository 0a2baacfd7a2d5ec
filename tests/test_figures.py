"""Every figure plastix draws has labelled axes with units (the report shows them all)."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

UNIT = re.compile(r"\(.+\)")  # a unit (or "dimensionless", "index", "count") in parentheses


def _check_figure(fig):
    labelled = 0
    for ax in fig.axes:
        if not ax.has_data() and not ax.images and not ax.collections:
            continue
        for which, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if ax.get_label() == "<colorbar>" and not label:
                continue  # a colorbar labels one axis only
            assert label, f"axis {which} of {ax.get_title()!r} has no label"
            assert UNIT.search(label), f"label {label!r} gives no unit in parentheses"
            labelled += 1
    assert labelled >= 2
    plt.close(fig)


def test_unit_check_can_fail():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("time")
    with pytest.raises(AssertionError, match="no unit"):
        _check_figure(fig)


def test_estimator_figures_are_labelled():
    from plastix.estimate import estimate_alignment
    from plastix.estimate.synthetic import simulate_synthetic
    from plastix.plot.estimate import plot_estimate

    rec = simulate_synthetic(rule="hebbian", n_intervals=20, rng=0, known_decay=True)
    result = estimate_alignment(rec, n_boot=100, n_null=19, rng=0, progress=False)
    fig = plot_estimate(result)
    _check_figure(fig[0].figure)


def test_circuit_figures_are_labelled():
    from plastix.plot.circuits import plot_alignment_vs_decay_rate, plot_circuit_phase, plot_weights
    from plastix.record import make_record

    sig, gam = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0, 4.0])
    a = np.tanh(gam[None, :] - sig[:, None] ** 2)
    _check_figure(plot_circuit_phase(sig, gam, a).figure)
    _check_figure(plot_alignment_vs_decay_rate(gam, a[0]).figure)
    rng = np.random.default_rng(0)
    rec = make_record(rng.random((40, 3)), rng.random((40, 2)), rng.random((5, 2, 3)),
                      time=np.arange(40) * 0.1, weight_time=np.arange(5.0), dt=0.1)
    _check_figure(plot_weights(rec).figure)
