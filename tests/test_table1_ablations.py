"""``plastix reproduce table1-ablations``: readings of Table 1's unstated details.

The ``--quick`` run itself (a few seconds of training) runs here: files, shapes,
sentences recomputed from the CSV, resumption from the saved runs.  The trainer's
baseline is checked against :func:`plastix.ann.train` and its measures against
direct per-sample formulas.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from numpy.testing import assert_allclose

pytest.importorskip("torch")

from plastix.experiments import table1_ablations as A  # noqa: E402


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablations")
    md = A.run(out, quick=True, rng=3)
    return out, md


def test_quick_files_and_shapes(quick):
    out, md = quick
    assert md == out / "table1_ablations.md"
    for ext in ("nc", "csv", "md"):
        assert (out / f"table1_ablations.{ext}").is_file()
    assert not list(out.glob(".*")) and not list((out / "runs").glob(".*")), "temporary files"
    frame = pd.read_csv(out / "table1_ablations.csv")
    n_cells = len(A.T1.RULES) * len(A.T1.DECAYS)
    assert len(frame) == n_cells * len(A.READINGS)  # one budget with --quick
    assert set(frame["budget"]) == {"quick"}
    assert {"rule", "weight_decay", "reading", "mean", "paper_mean", "differs",
            "within_tol"} <= set(frame.columns)
    with xr.open_dataset(out / "table1_ablations.nc", engine="h5netcdf") as f:
        ds = f.load()
    assert ds["alignment"].dims == ("rule", "weight_decay", "reading", "budget", "seed")
    # a reading that does not apply to a rule has no number there
    assert ds["alignment"].sel(rule="SGD", reading="dfa_no_derivative").isnull().all()
    assert not ds["applies"].sel(rule="SGD", reading="dfa_no_derivative")
    assert ds["applies"].sel(rule="SGD", reading="stationary")
    assert ds["alignment"].sel(rule="DFA", reading="baseline").notnull().all()
    text = md.read_text()
    assert "Quick run" in text and "| reading |" in text


def _sentence(text: str, rule: str, decay: float) -> str:
    (line,) = [s for s in text.splitlines() if s.startswith(f"- **{rule}, γ = {decay:g}**")]
    return line


def test_quick_sentences_follow_from_the_numbers(quick):
    """Each differing cell's sentence names exactly the readings within ±TOL in the CSV."""
    out, md = quick
    text = md.read_text()
    frame = pd.read_csv(out / "table1_ablations.csv")
    differing = frame[frame["differs"]].groupby(["rule", "weight_decay"])
    assert len(differing) == text.count("\n- **")
    for (rule, decay), cell in differing:
        line = _sentence(text, rule, decay)
        close = cell[(cell["mean"] - cell["paper_mean"]).abs() <= A.TOL]
        named = set(re.findall(r"`([^`]+)` at quick", line))
        if len(close):
            assert "within ±0.1" in line
            assert named == set(close["reading"]), line
        else:
            assert "no tested reading does" in line
            finite = cell[np.isfinite(cell["mean"])]
            best = finite.iloc[(finite["mean"] - finite["paper_mean"]).abs().argmin()]
            assert f"`{best['reading']}`" in line and f"{best['mean']:+.2f}" in line
    # the cells listed are those where the baseline is more than TOL from the paper
    base = frame[frame["reading"] == "baseline"]
    far = (base["mean"] - base["paper_mean"]).abs() > A.TOL
    assert_allclose(base["differs"], far | (base["mean"].isna() & base["paper_mean"].notna()))


def test_rerun_resumes_from_saved_runs(quick, monkeypatch):
    """A rerun into the same folder trains nothing and writes the same summary."""
    out, md = quick
    before = md.read_text()

    def no_training(*args, **kwargs):
        raise AssertionError("a saved run was trained again")

    monkeypatch.setattr(A, "train_models", no_training)
    assert A.run(out, quick=True, rng=3).read_text() == before


def test_baseline_equals_the_engine():
    """The ablation trainer's baseline is plastix.ann.train, to float32 rounding."""
    from plastix.ann import final_alignment, train

    for rule in ("sgd", "dfa", "random_nn"):
        cfg = A.T1.rule_config(rule).replace(epochs=2, n_train=512, n_val=256)
        res = A.train_models(rule, A.Knobs(), cfg, [11], [0.0, 5e-3], last=4)
        layer, signal = A.T1.reported(rule)
        ours = A._read(res, "batch", layer)[0]
        engine = [float(final_alignment(train(cfg.replace(weight_decay=d), rng=11), last=4,
                                        signal=signal).sel(layer=layer)) for d in (0.0, 5e-3)]
        assert_allclose(ours, engine, atol=1e-5, err_msg=rule)


def test_measures_match_direct_formulas():
    """post, per-sample C(W), biases in W and the DFA signal without φ' from their
    definitions, one sample and one model at a time."""
    import torch

    from plastix.alignment import cosine_alignment

    cfg = A.T1.rule_config("sgd").replace(n_train=512, n_val=256, bias=True)
    knobs = A._knobs_for("sgd", A.Knobs(bias=True))
    mod = A._Models("sgd", knobs, cfg, [4], [0.0, 5e-3])
    x, y = mod.x_tr[:, :64], mod.y_tr[:, :64]
    with torch.no_grad():
        acts, pres, gw, gb, deltas = mod.signals(x, y)
        got = A._measure(mod, acts, pres, gw, gb, deltas, extra=True)
    m, layer = 1, 1  # second model, layer 2 (0-based 1)
    a, z = acts[layer][0], pres[layer][m]
    d = deltas[layer][m]
    per = np.mean([float(cosine_alignment(torch.outer(d[i], a[i]), torch.outer(z[i], a[i])))
                   for i in range(a.shape[0])])
    assert_allclose(float(got["per_sample"][m, layer]), per, rtol=1e-4)
    post = torch.tanh(z).T @ a / a.shape[0]
    assert_allclose(float(got["post"][m, layer]), float(cosine_alignment(gw[layer][m], post)),
                    rtol=1e-4)
    aug_h = torch.cat([z.T @ a / a.shape[0], z.mean(0)[:, None]], 1)
    aug_g = torch.cat([gw[layer][m], gb[layer][m][:, None]], 1)
    assert_allclose(float(got["bias_in_w"][m, layer]), float(cosine_alignment(aug_g, aug_h)),
                    rtol=1e-4)
    dcfg = A.T1.rule_config("dfa").replace(n_train=512, n_val=256)
    dfa = A._Models("dfa", A._knobs_for("dfa", A.Knobs(dfa_derivative=False)), dcfg, [4], [0.0])
    with torch.no_grad():
        acts, pres, gw, _, _ = dfa.signals(dfa.x_tr[:, :64], dfa.y_tr[:, :64])
        e = 2 * (dfa.y_tr[0, :64] - pres[-1][0]) / (64 * 32)
    assert_allclose(gw[0][0], (e @ dfa.fb[0][0].T).T @ acts[0][0], rtol=1e-4, atol=1e-7)


def _cell_ds(values: dict[str, list[float]], paper: float) -> xr.Dataset:
    names = list(values)
    mean = np.array([values[n] for n in names])[None, None]  # rule, decay, reading, budget
    return xr.Dataset(
        {"mean": (("rule", "weight_decay", "reading", "budget"), mean),
         "applies": (("rule", "reading"), [[True] * len(names)]),
         "paper_mean": (("rule", "weight_decay"), [[paper]]),
         "differs": (("rule", "weight_decay"), [[True]])},
        coords={"rule": ["DFA"], "weight_decay": [0.0], "reading": names,
                "budget": ["paper", "10x"]}, attrs={"tol": 0.1})


def test_cell_sentences_name_the_readings_or_the_closest():
    ds = _cell_ds({"baseline": [0.00, -0.01], "a": [0.40, 0.20], "b": [np.nan, 0.52]}, 0.45)
    (line,) = A.cell_sentences(ds)
    assert line.startswith("**DFA, γ = 0** (paper +0.45; baseline +0.00 at the paper's budget, "
                           "-0.01 at 10× it)")
    assert "`a` at paper (+0.40), `b` at 10x (+0.52)" in line
    ds = _cell_ds({"baseline": [0.00, -0.01], "a": [0.30, 0.20]}, 0.45)
    (line,) = A.cell_sentences(ds)
    assert "no tested reading does; the closest is `a` at paper (+0.30, 0.15 from the paper)" \
        in line


def test_cli_refuses_epochs(tmp_path, capsys):
    from plastix.cli import main

    assert main(["reproduce", "table1-ablations", "--epochs", "3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "`--epochs`" in err and "table1-ablations" in err and len(err.strip().splitlines()) == 1


def test_saved_only_reports_a_cut_run(quick, tmp_path):
    """With some saved trainings removed, ``saved_only`` trains nothing, marks the
    missing readings "n/r", counts them per cell, and keeps the saved numbers."""
    import shutil

    out, _ = quick
    cut = tmp_path / "cut"
    shutil.copytree(out / "runs", cut / "runs")
    full = A.measure(quick=True, rng=3, cache=out / "runs")
    dfa = sorted((cut / "runs").glob("dfa-*.json"))
    assert dfa
    for p in dfa:
        p.unlink()
    before = sorted(p.name for p in (cut / "runs").iterdir())
    md = A.run(cut, quick=True, rng=3, saved_only=True).read_text()
    assert sorted(p.name for p in (cut / "runs").iterdir()) == before  # nothing trained
    part = xr.open_dataset(cut / "table1_ablations.nc", engine="h5netcdf").load()
    assert not part["ran"].sel(rule="DFA").any() and part["ran"].sel(rule="SGD").any()
    assert part["alignment"].sel(rule="DFA").isnull().all()
    xr.testing.assert_equal(part["alignment"].sel(rule="SGD"), full["alignment"].sel(rule="SGD"))
    assert "n/r" in md and "not run yet" in md
