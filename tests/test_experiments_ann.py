"""The paper's ANN experiments (Table 1, Figs. 3, 4, 5, 15) and their figures.

Default tests run each experiment at a budget below ``--quick`` (a few seconds
each) through the same ``run`` code path and check the files, the summary
(paper's numbers beside ours, recomputed here from the stored data) and the
physics that must already show at that budget.  The true ``--quick`` runs are
marked slow.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

pytest.importorskip("torch")

from plastix.experiments import _common as C  # noqa: E402
from plastix.plot import ann as P  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A tiny SRE budget: enough steps for decay to shape the gradient, seconds to run.
# (with --quick's 10× learning rate: 240 steps, half the quick run)
TINY = {"epochs": 15, "n_train": 4096, "n_val": 256}


def _load(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf") as f:
        return f.load()


def _check_files(out: Path, name: str) -> tuple[xr.Dataset, str]:
    for ext in ("nc", "csv", "png", "md"):
        assert (out / f"{name}.{ext}").is_file(), f"{name}.{ext} missing in {out}"
    assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / f"{name}.csv").read_text().count("\n") > 1
    assert not list(out.glob(".*")), "temporary files left behind"
    return _load(out / f"{name}.nc"), (out / f"{name}.md").read_text()


def _labelled(ax) -> None:
    for label in (ax.get_xlabel(), ax.get_ylabel()):
        assert label and re.search(r"\(.+\)", label), f"axis label without units: {label!r}"


# ----------------------------------------------------------------- table 1


@pytest.fixture(scope="module")
def table1_tiny(tmp_path_factory):
    from plastix.experiments import table1

    out = tmp_path_factory.mktemp("table1")
    md = table1.run(out, quick=True, n_seeds=2, rng=1, weight_decays=[0.0, 5e-3], overrides=TINY)
    return out, md


def test_table1_files_and_summary(table1_tiny):
    from plastix.experiments import table1

    out, md = table1_tiny
    ds, text = _check_files(out, "table1")
    assert md == out / "table1.md"
    # the paper's numbers, verbatim
    for row in ("-0.10 ± 0.01", "0.59 ± 0.01", "0.87 ± 0.00", "0.50 ± 0.00"):
        assert row in text, row
    # ours, recomputed from the stored per-run values (collapsed runs excluded)
    valid = ds["alignment"].where(~ds["collapsed"].astype(bool))
    n_ok = valid.count("seed")
    mean = valid.mean("seed").where(n_ok * 2 > ds.sizes["seed"])
    # identical arithmetic on the same float64 numbers: only rounding differs
    assert_allclose(ds["mean"].values, mean.values, rtol=1e-12, equal_nan=True)
    for rule in ds["rule"].values:
        for j in range(ds.sizes["weight_decay"]):
            cell = C.fmt_pm(float(ds["mean"].sel(rule=rule)[j]), float(ds["sd"].sel(rule=rule)[j]))
            assert cell in text, (rule, j, cell)
    assert text.count("Ours against the paper") == 1
    assert "Quick run" in text and "epochs 15 (full: 50)" in text
    ax = table1.plot(ds)
    _labelled(ax)


def test_table1_sgd_alignment_rises_with_decay(table1_tiny):
    # Decay adds γW to E[g] near stationarity and ⟨W, H⟩ > 0 (Lemma 1), so the SGD
    # gradient's alignment must grow from γ = 0 to γ = 5e-3 in every seed.  Seeds are
    # common random numbers across γ (same data, init), so the difference isolates γ;
    # at this budget it is about 0.05, and 0.02 is far above float32 rounding.
    out, _ = table1_tiny
    ds = _load(out / "table1.nc")
    sgd = ds["alignment"].sel(rule="SGD")
    rise = (sgd.sel(weight_decay=5e-3) - sgd.sel(weight_decay=0.0)).values
    assert np.all(rise > 0.02), f"SGD alignment should rise by > 0.02 with γ in every seed; {rise}"


# ----------------------------------------------------------------- fig 4


@pytest.fixture(scope="module")
def fig4_coarse(tmp_path_factory):
    from plastix.experiments import fig4

    out = tmp_path_factory.mktemp("fig4")
    # the quick budget on a coarse grid whose σ rows straddle the quick boundary
    md = fig4.run(out, quick=True, rng=2, noise=[0.0, 1e-3, 1.25e-3, 1.5e-3, 1.75e-3, 3e-3],
                  weight_decay=[0.0, 5e-3, 1e-2], n_boot=200)
    return out, md


def test_fig4_boundary_positive_with_interval(fig4_coarse):
    from plastix.experiments import fig4

    out, _ = fig4_coarse
    ds, text = _check_files(out, "fig4")
    for layer in (1, 2):
        d = ds.sel(layer=layer)
        k, lo, hi = float(d["k"]), float(d["k_low"]), float(d["k_high"])
        assert k > 0 and np.isfinite(lo) and np.isfinite(hi), (layer, k, lo, hi)
        assert lo <= k <= hi
        assert f"{k:.3g}" in text
    assert "1.5e+04" in text and "1.3e+04" in text
    # the boundary separates the corners: Hebbian at (σ = 0, γ max), anti-Hebbian at
    # (σ max, γ = 0); this is the phase diagram's defining property
    m2 = ds["mean"].sel(layer=2)
    assert float(m2.isel(noise=0, weight_decay=-1)) > 0 > float(m2.isel(noise=-1, weight_decay=0))
    axes = fig4.plot(ds)
    for ax in axes:
        _labelled(ax)


def test_fig4_explains_differences_from_the_runs_diagnostics(fig4_coarse):
    """The σ = 0 shortfall is blamed on the budget only when the run was still rising."""
    from plastix.experiments import fig4

    out, _ = fig4_coarse
    ds, _ = _check_files(out, "fig4")
    assert {"stationarity_gap", "late_drift"} <= set(ds.data_vars)
    ds = ds.copy(deep=True)
    ds["mean"].loc[dict(layer=2, noise=0.0)] = 0.2  # below the paper's +0.41 at the top γ
    ds["late_drift"][:] = 0.03
    rising = [s for s in fig4._sentences(ds) if s.startswith("Ours reaches")]
    assert len(rising) == 1 and "still rising (+0.03" in rising[0] and "--epochs" in rising[0]
    ds["late_drift"][:] = -0.01
    flat = [s for s in fig4._sentences(ds) if s.startswith("Ours reaches")]
    assert len(flat) == 1 and "we do not know" in flat[0]


# ---------------------------------------------------- figs 3, 5, 15 (tiny)


def test_fig3_tiny(tmp_path):
    from plastix.experiments import fig3

    md = fig3.run(tmp_path, quick=True, rng=3, weight_decays=[0.0, 5e-3],
                  overrides={"epochs": 2, "n_train": 1024, "n_val": 256})
    ds, text = _check_files(tmp_path, "fig3")
    assert md.name == "fig3.md"
    assert fig3.PAPER_CLAIM in text
    assert set(ds["activation"].values) == {"linear", "relu", "sigmoid", "tanh"}
    assert ds.sizes["deep_layer"] == 7
    for act in ds["activation"].values:
        m = float(ds["mean"].sel(activation=act)[0])
        assert f"{m:+.2f}" in text
    for ax in fig3.plot(ds):
        _labelled(ax)


def test_fig5_tiny(tmp_path):
    from plastix.experiments import fig5

    fig5.run(tmp_path, quick=True, rng=4, overrides=TINY)
    ds, text = _check_files(tmp_path, "fig5")
    assert fig5.PAPER_CLAIM in text
    best = int(np.nanargmin(ds["val_loss"].values))
    assert_allclose(float(ds["best_alignment"]), ds["alignment"].values.ravel()[best],
                    rtol=0, err_msg="best run must be the argmin of the stored losses")
    assert f"{float(ds['best_alignment']):+.2f}" in text
    _labelled(fig5.plot(ds))


def test_fig15_tiny(tmp_path):
    from plastix.experiments import fig15

    fig15.run(tmp_path, quick=True, rng=5, n_seeds=1, weight_decays=[5e-3],
              overrides={"epochs": 6, "n_train": 2048, "n_val": 256})
    ds, text = _check_files(tmp_path, "fig15")
    assert fig15.PAPER_CLAIM in text
    # end values are the plain mean of the stored per-step values over the window
    w = int(ds.attrs["window"])
    expect = ds["alignment"].isel(step=slice(-w, None)).mean(("step", "seed"))
    assert_allclose(ds["final"].values, expect.values, rtol=1e-6,
                    err_msg="same float32 numbers, summation order differs (~1e-7 relative)")
    for sig in ("gradient", "update"):
        assert f"{float(ds['final'].sel(weight_decay=5e-3, signal=sig)):+.3f}" in text
    for ax in fig15.plot(ds):
        _labelled(ax)


# ------------------------------------------------------------------- plots


def test_rolling_mean_matches_direct_loop(rng):
    v = rng.normal(size=57)
    v[[3, 20]] = np.nan
    got = P.rolling_mean(v, 7)
    want = [np.nanmean(v[max(0, t - 6): t + 1]) for t in range(v.size)]
    assert_allclose(got, want, rtol=1e-12, err_msg="cumulative sums vs direct means")


def test_plot_functions_label_axes_and_return_axes():
    ax = P.plot_alignment_vs_decay([0, 1e-4, 1e-3], [-0.1, 0.0, 0.3], sd=[0.01] * 3,
                                   label="SGD")
    _labelled(ax)
    assert ax.get_xscale() == "symlog"
    ax = P.plot_phase_diagram(np.array([[0.1, 0.4], [-0.2, -0.1]]), [0, 1e-3], [0, 1e-2],
                              k=1e4, k_interval=(5e3, 2e4))
    _labelled(ax)
    ax = P.plot_loss_vs_alignment([-0.1, 0.0, 0.2], [1.0, 0.5, 0.8], color=[0, 1, 2])
    _labelled(ax)
    ax = P.plot_alignment_timecourse(np.arange(10), np.linspace(0, 1, 10), window=3,
                                     label="g")
    _labelled(ax)


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: P.plot_phase_diagram(np.zeros((2, 3)), [0, 1, 2], [0, 1]), ValueError,
         r"`alignment` must have shape \(n_noise, n_weight_decay\) = \(3, 2\); got \(2, 3\)\. "
         r"Did you pass its transpose\?"),
        (lambda: P.plot_alignment_vs_decay([0, 1], [0.1]), ValueError,
         r"`mean` must have the shape of `weight_decay` \(2,\); got \(1,\)\."),
        (lambda: P.rolling_mean([1.0, 2.0], 0), ValueError,
         r"`window` must be an int >= 1; got 0\."),
        (lambda: C.prepare_out(3), TypeError,
         r"`out` must be a folder path \(str or Path\); got int\."),
        (lambda: C.resolve_seeds(0, 2), ValueError,
         r"`n_seeds` must be an int >= 1; got 0\."),
    ],
)
def test_bad_inputs(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert re.fullmatch(message, str(info.value)), str(info.value)


def test_cli_rejects_unknown_experiment(tmp_path, capsys):
    from plastix.cli import main

    assert main(["reproduce", "tabel1", "--out", str(tmp_path)]) == 2
    assert "Did you mean 'table1'?" in capsys.readouterr().err


# ------------------------------------------------ reductions on synthetic data


def test_collapse_is_detected_from_the_end_to_end_gain():
    # layer norms shrink by 0.1, 0.1, 0.5 -> gain 0.005 < 1e-2: collapsed; by 0.5 each
    # -> gain 0.125: not collapsed, even though no single layer decides it
    norm = np.ones((2, 1, 3, 3))  # (decay, seed, step, layer)
    norm[0, 0, -1] = [0.1, 0.1, 0.5]
    norm[1, 0, -1] = [0.5, 0.5, 0.5]
    ds = xr.Dataset({"weight_norm": (("weight_decay", "seed", "step", "layer"), norm)},
                    coords={"weight_decay": [0.0, 1e-3], "layer": [1, 2, 3]})
    assert_allclose(C.gain_ratio(ds).values[:, 0], [0.005, 0.125], rtol=1e-12,
                    err_msg="products of three exact ratios")
    assert C.collapsed_runs(ds).values[:, 0].tolist() == [True, False]


def test_table1_summary_states_which_shape_holds():
    from plastix.experiments import table1

    decay = list(table1.DECAYS)
    rules = ["SGD", "Adam", "DFA", "RandomNN"]
    mean = np.array([[-0.1, 0.0, 0.2, 0.6], [0.0, 0.1, 0.7, np.nan], [0.5, 0.5, 0.7, 0.9],
                     [0.3, 0.2, 0.1, 0.0]])  # RandomNN falls: must be reported
    pm = np.array([[np.nan if v is None else v[0] for v in table1.PAPER[r]] for r in table1.RULES])
    ps = np.array([[np.nan if v is None else v[1] for v in table1.PAPER[r]] for r in table1.RULES])
    rd = ("rule", "weight_decay")
    ds = xr.Dataset({"mean": (rd, mean), "sd": (rd, mean * 0 + 0.01),
                     "paper_mean": (rd, pm), "paper_sd": (rd, ps)},
                    coords={"rule": rules, "weight_decay": decay}, attrs={"n_seeds": 3})
    text = table1.summary(ds, budget="Test.")
    assert "**SGD**: alignment rises with γ" in text
    assert "**RandomNN**: alignment does not rise monotonically with γ" in text
    assert "rise from γ = 0 to 0.005: ours +0.70, paper +0.69" in text  # SGD
    assert "0.60 ± 0.01" in text and "– |" in text  # ours, and Adam's collapsed cell
    # ranking at γ = 5e-3 (Adam collapsed, left out): DFA > SGD > RandomNN in both
    assert "γ = 0.005: ranking DFA > SGD > RandomNN matches the paper's" in text


# ------------------------------------------------------- the real --quick runs


@pytest.mark.slow
@pytest.mark.parametrize("name", ["table1", "fig3", "fig4", "fig5", "fig15"])
def test_quick_run(name, tmp_path):
    import importlib

    module = importlib.import_module(f"plastix.experiments.{name}")
    md = module.run(tmp_path, quick=True, rng=0)
    _, text = _check_files(tmp_path, name)
    assert md == tmp_path / f"{name}.md"
    assert "Ours against the paper" in text and "Quick run" in text


def _table1_cells(mean, sd, relax, gap, drift):
    """A one-rule Table 1 dataset with the given per-γ values (paper's SGD row)."""
    from plastix.experiments import table1

    decay = list(table1.DECAYS)
    pm = [v[0] for v in table1.PAPER["sgd"]]
    ps = [v[1] for v in table1.PAPER["sgd"]]
    rd = ("rule", "weight_decay")
    rds = ("rule", "weight_decay", "seed")
    return xr.Dataset(
        {"mean": (rd, [mean]), "sd": (rd, [sd]), "paper_mean": (rd, [pm]),
         "paper_sd": (rd, [ps]), "decay_relaxation": (rd, [relax]),
         "stationarity_gap": (rds, np.asarray(gap, float)[None, :, None]),
         "late_drift": (rds, np.asarray(drift, float)[None, :, None])},
        coords={"rule": ["SGD"], "weight_decay": decay, "seed": [0]})


def test_table1_explains_each_difference_and_only_differences():
    """One sentence per cell beyond the seeds' spread, naming the measured reason."""
    from plastix.experiments import table1

    pm = [v[0] for v in table1.PAPER["sgd"]]
    # cells 0 and 3 differ; 1 and 2 agree within max(0.05, 2 × combined SD)
    mean = [0.10, pm[1] + 0.03, pm[2] - 0.04, 0.25]
    ds = _table1_cells(mean, [0.01] * 4, [0.0, 0.002, 0.02, 0.2], [np.nan, 30, 3, 1.2],
                       [0.0, 0.0, 0.01, 0.04])
    lines = table1._explanations(ds)
    assert len(lines) == 2, lines
    assert lines[0].startswith("*SGD, γ = 0*") and "Fig. 4" in lines[0]
    assert lines[1].startswith("*SGD, γ = 0.005*")
    assert "ηγT = 0.2" in lines[1] and "18%" in lines[1]  # 1 − e^−0.2
    assert "stationarity gap is 1.2" in lines[1] and "+0.04" in lines[1]
    # a higher value with decay time to act gets the "higher" sentence, not the decay one
    ds2 = _table1_cells([pm[0], pm[1], pm[2], 0.80], [0.01] * 4, [0.0, 0.002, 0.02, 2.0],
                        [np.nan, 30, 3, 0.1], [0.0] * 4)
    (line,) = table1._explanations(ds2)
    assert "ours is higher" in line and "gap 0.1" in line
    # the README's longer-run findings are cited at the paper's budget only
    assert "README" in lines[0]
    ds.attrs["quick"] = 1
    quick = table1._explanations(ds)
    assert "Fig. 4" in quick[0] and not any("README" in q for q in quick)


def test_reproduce_threads_option(tmp_path, monkeypatch):
    """`--threads` reaches the experiment's run as a parameter; bad values are refused."""
    from plastix.cli import main
    from plastix.experiments import fig15

    seen = {}

    def fake_run(out, *, quick, n_seeds, rng, threads=1):
        seen["threads"] = threads
        return Path(out) / "fig15.md"

    monkeypatch.setattr(fig15, "run", fake_run)
    assert main(["reproduce", "fig15", "--threads", "2", "--out", str(tmp_path)]) == 0
    assert seen == {"threads": 2}
    from plastix.ann import TrainConfig

    for bad in (0, 1.5, True):
        with pytest.raises((TypeError, ValueError), match="`threads` must be an int"):
            C.run_sweep(TrainConfig(), {"weight_decay": [0.0]}, n_seeds=1, rng=0, desc="x",
                        threads=bad)


def test_experiment_runs_take_public_parameters_only():
    """No private keyword arguments: every parameter of the runs is public."""
    import inspect

    from plastix.experiments import fig3, fig4, fig5, fig15, table1

    for module in (table1, fig3, fig4, fig5, fig15):
        params = inspect.signature(module.run).parameters
        assert not [p for p in params if p.startswith("_")], module.__name__
        assert params["threads"].default == 1, module.__name__


def test_budget_sentence_names_changed_epochs():
    """A full run with other epochs than the paper's must not call itself the paper's."""
    from plastix.experiments import table1

    full = C.describe_budget(table1.rule_config("sgd"), quick=False, full=table1.FULL)
    assert full.startswith("Full run (the paper's budget: 50 epochs")
    longer = C.describe_budget(table1.rule_config("sgd", epochs=500), quick=False,
                               full=table1.FULL)
    assert longer.startswith("Changed budget (not the paper's): epochs 500 (paper: 50)")


def test_cli_epochs_reaches_the_runs(tmp_path, monkeypatch):
    """`plastix reproduce fig15 --epochs N` trains N epochs; circuit-phase refuses it."""
    from plastix.cli import main
    from plastix.experiments import fig15

    seen = {}

    def fake_run(out, *, quick, n_seeds, rng, overrides=None, threads=1):
        seen.update(overrides or {}, quick=quick, threads=threads)
        return Path(out) / "fig15.md"

    monkeypatch.setattr(fig15, "run", fake_run)
    assert main(["reproduce", "fig15", "--quick", "--epochs", "3", "--out", str(tmp_path)]) == 0
    assert seen == {"epochs": 3, "quick": True, "threads": 1}
    assert main(["reproduce", "circuit-phase", "--epochs", "3", "--out", str(tmp_path)]) == 2


def test_late_drift_spans_epochs_not_steps():
    """The drift compares the last 100 steps with the 100 ending 10 *epochs* earlier:
    on a trace that rises by 0.001 a step, that is 0.001 × 10 × steps per epoch."""
    from plastix.ann import TrainConfig, sweep

    cfg = TrainConfig(hidden=(8,), n_train=640, n_val=64, batch_size=64, epochs=25,
                      weight_decay=0.01, per_post_layer=None)
    res = sweep(cfg, {"lr": [0.01, 0.02]}, n_seeds=1, rng=0, progress=False)
    assert res.attrs["steps_per_epoch"] == 10
    ramp = xr.DataArray(0.001 * np.arange(res.sizes["step"]), dims="step")
    res = res.assign(alignment=(ramp + 0 * res["alignment"]).transpose(*res["alignment"].dims))
    gap, drift = C.late_diagnostics(res, layer=1, signal="gradient")
    assert_allclose(drift.values, 0.001 * 10 * 10)
    assert np.all(np.isfinite(gap.values))


def test_reproduce_never_replaces_results_of_other_options(tmp_path, monkeypatch, capsys):
    """`reproduce NAME --out DIR` replaces its own results (same options: a rerun), but
    not those of a run with another --rng, nor a file of its names plastix did not write
    there, unless --overwrite."""
    from plastix.cli import main
    from plastix.experiments import fig15

    def fake_run(out, *, quick, n_seeds, rng, threads=1):
        return C.write_text(Path(out) / "fig15.md", f"rng {rng}\n")

    monkeypatch.setattr(fig15, "run", fake_run)
    args = ["reproduce", "fig15", "--quick", "--out", str(tmp_path)]
    assert main([*args, "--rng", "1"]) == 0
    assert main([*args, "--rng", "1"]) == 0  # the same options: its own results
    capsys.readouterr()
    assert main([*args, "--rng", "2"]) == 2
    assert "made with other options" in capsys.readouterr().err
    assert (tmp_path / "fig15.md").read_text() == "rng 1\n"
    assert main([*args, "--rng", "2", "--overwrite"]) == 0
    assert (tmp_path / "fig15.md").read_text() == "rng 2\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "fig15.md").write_text("my notes\n")
    assert main(["reproduce", "fig15", "--quick", "--out", str(mine)]) == 2
    assert "files this run would replace (fig15.md)" in capsys.readouterr().err
    assert (mine / "fig15.md").read_text() == "my notes\n"
