"""Tables of pairing experiments: reading, the protocol's Hebbian terms, ground truth (issue 15)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import plastix.estimate.pairing as pairing_mod
from plastix.estimate.pairing import (
    _boot_counts,
    _loo_fit,
    _permutations,
    estimate_pairing,
    pair_sums,
    protocol_term,
    protocol_trains,
)
from plastix.estimate.pairing_sim import (
    BI_POO,
    PAIR_STDP,
    SJOSTROM,
    TRIPLET_VISUAL_CORTEX,
    protocol_grid,
    simulate_pairing_table,
    triplet_change,
)
from plastix.io.table import load_pairing_table
from plastix.kernels import STDP_CUTOFF, get_kernel

FAST = {"n_boot": 400, "n_null": 199}


# ------------------------------------------------------------------ reading


def test_units_in_brackets_are_converted_to_si(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("experiment,delta_t [ms],weight_ratio [%],frequency [kHz],n_pairings,"
                    "slice\nc1,10,150,0.005,60,A\nc2,-10,70,0.005,60,B\n")
    t = load_pairing_table(path)
    # exact decimal conversions: 10 ms -> 0.01 s etc. (float rounding only)
    assert_allclose(t["delta_t"], [0.01, -0.01], rtol=1e-12)
    assert_allclose(t["weight_ratio"], [1.5, 0.7], rtol=1e-12)
    assert_allclose(t["frequency"], [5.0, 5.0], rtol=1e-12)
    assert t["n"].tolist() == [1, 1] and t["n_trains"].tolist() == [1, 1]
    assert t["n_pairings"].tolist() == [60, 60]
    assert t["slice"].tolist() == ["A", "B"] and t.attrs["labels"] == ["slice"]
    assert t.attrs["units"]["delta_t"] == "s" and t.attrs["source"] == str(path)
    again = load_pairing_table(t)  # the result reads as itself (SI, no brackets)
    pd.testing.assert_frame_equal(again[t.columns], t)


def test_before_after_sem_and_control_ratio_tsv(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("delta_t [s]\tweight_before [mV]\tweight_after [mV]\tweight_sem [mV]\t"
                    "control_ratio\n0.01\t2.0\t3.0\t0.2\t1.25\n-0.01\t4.0\t2.0\t0.4\t0.8\n")
    t = load_pairing_table(path)
    # ratio after/before divided by the control pathway's drift; SEM of after / before / control
    assert_allclose(t["weight_ratio"], [1.5 / 1.25, 0.5 / 0.8], rtol=1e-12)
    assert_allclose(t["weight_sem"], [0.1 / 1.25, 0.1 / 0.8], rtol=1e-12)
    assert "control_ratio" not in t and "weight_before" not in t


def test_nan_rows_dropped_with_their_count():
    df = pd.DataFrame({"delta_t": [0.01, np.nan, -0.01, 0.02],
                       "weight_ratio": [1.2, 1.1, np.nan, 1.3], "note": [None, "x", "y", None]})
    with pytest.warns(UserWarning, match=r"dropped 2 of 4 rows .*rows 1, 2; column\(s\) "
                                         r"delta_t, weight_ratio") as got:
        t = load_pairing_table(df, nan="drop")
    assert len(t) == 2 and t.attrs["n_dropped"] == 2
    assert t["note"].isna().all()  # NaN in a label column is kept
    # called directly or from three plastix frames deep, the warning names this file
    with pytest.warns(UserWarning, match=r"dropped 2 of 6 rows") as deep:
        estimate_pairing(pd.DataFrame({"delta_t": [0.01, np.nan, -0.01, 0.02, -0.02, 0.03],
                                       "weight_ratio": [1.2, 1.1, np.nan, 1.3, 0.8, 1.1]}),
                         nan="drop", n_boot=40, n_null=0, rng=0)
    assert {w.filename for w in [*got, *deep]} == {__file__}


def test_parquet_table_reads_like_its_csv(tmp_path):
    """A Parquet table (units in its column names) reads as the same table as its CSV."""
    pytest.importorskip("pyarrow", reason="Parquet tables need the 'parquet' extra")
    table = simulate_pairing_table("stdp", rng=3)
    table.to_parquet(tmp_path / "t.parquet", index=False)
    table.to_csv(tmp_path / "t.csv", index=False)
    pq, csv = load_pairing_table(tmp_path / "t.parquet"), load_pairing_table(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(pq, csv, check_exact=False, rtol=1e-15)
    assert pq.attrs["units"] == csv.attrs["units"]
    assert_allclose(pq["delta_t"].unique(), np.array(BI_POO["delta_t"]), rtol=1e-12)
    res = estimate_pairing(tmp_path / "t.parquet", n_boot=50, n_null=99, rng=0)
    assert res.verdict == "hebbian", res.summary()


def test_parquet_without_pyarrow_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    from plastix.cli import main

    def no_engine(*args, **kwargs):  # what pandas raises when no Parquet engine is installed
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', "
                          "'fastparquet'.")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ImportError, match=r"^`table` 't\.parquet' is Parquet, and plastix needs "
                                          r"`pyarrow` .*pip install 'plastix\[parquet\]'"):
        load_pairing_table(path)
    assert main(["estimate", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "plastix[parquet]" in err, err


# ------------------------------------------------------------------ the protocol's terms


def _table(**cols):
    n = max(len(np.atleast_1d(v)) for v in cols.values())
    return load_pairing_table(pd.DataFrame({k: np.broadcast_to(v, n) for k, v in cols.items()}))


@pytest.mark.parametrize("freq", [1.0, 7.0, 15.0, 45.0])
def test_stdp_term_is_the_kernels_reference(freq):
    """protocol_term(all) calls the registry's stdp reference; pair_sums is its closed form.

    The rates put no pair exactly at the cutoff 5 τ = 0.1 s (10, 20, 50 Hz would: whether
    such a pair counts then depends on float rounding of the spike times, in both codes).
    """
    tau = 0.02
    dts = np.array([-0.03, -0.01, -0.004, 0.0, 0.004, 0.01, 0.03])
    tab = _table(delta_t=dts, weight_ratio=1.0, frequency=freq, n_pairings=12, n_trains=3)
    h = protocol_term(tab, "stdp", tau=tau, pairing="all")
    ref = []
    for dt in dts:
        pot, dep = pair_sums(*protocol_trains(dt, freq, 12), tau_plus=tau, tau_minus=tau,
                             pairing="all", cutoff=STDP_CUTOFF * tau)
        ref.append(3 * (pot - dep))
    # the registry sums piecewise exponentials in another order: float rounding only
    assert_allclose(h, ref, rtol=1e-9, atol=1e-12)


def test_nearest_equals_all_when_pairings_are_far_apart():
    """At 1 Hz (period 1 s > 5 τ) only the paired spikes interact: both give N K(Δt)."""
    tau = 0.02
    dts = np.array([-0.05, -0.01, 0.0, 0.01, 0.05])
    tab = _table(delta_t=dts, weight_ratio=1.0, frequency=1.0, n_pairings=60)
    k = np.where(dts > 0, np.exp(-np.abs(dts) / tau), np.where(dts < 0, -np.exp(-np.abs(dts)
                                                                                / tau), 0.0))
    for pairing in ("all", "nearest"):
        assert_allclose(protocol_term(tab, "stdp", tau=tau, pairing=pairing), 60 * k,
                        rtol=1e-9)
    # at 50 Hz they differ: nearest pairs each post with its pre 5 ms before (10 pairs) and
    # each pre with the post 15 ms before (9 pairs); all-to-all adds the farther pairings
    fast = _table(delta_t=[0.005], weight_ratio=1.0, frequency=50.0, n_pairings=10)
    nn, aa = (protocol_term(fast, "stdp", pairing=p)[0] for p in ("nearest", "all"))
    assert_allclose(nn, 10 * np.exp(-0.25) - 9 * np.exp(-0.75), rtol=1e-12)
    assert aa > nn > 0


def test_rate_terms_are_the_protocols_co_activity():
    tab = _table(delta_t=[0.01, -0.01], weight_ratio=1.0, frequency=[5.0, 20.0],
                 n_pairings=[60, 10], n_trains=[1, 4])
    # product = rate^2 x duration = frequency x n_pairings x n_trains (Hz); exact in float
    assert_allclose(protocol_term(tab, "product"), [300.0, 800.0], rtol=1e-12)
    assert_allclose(protocol_term(tab, "lagged"), [300.0, 800.0], rtol=1e-12)
    assert_allclose(protocol_term(tab, "covariance"), [0.0, 0.0], atol=1e-9)
    with pytest.raises(ValueError, match="needs the column 'frequency'"):
        protocol_term(_table(delta_t=[0.01], weight_ratio=1.0), "product")


def test_loo_r2_matches_refitting_without_each_row(rng):
    g, h, w = rng.normal(size=9), rng.normal(size=9), rng.uniform(0.5, 2, 9)
    *_, r2 = _loo_fit(g, h, w)
    pred = []
    for r in range(9):
        keep = np.arange(9) != r
        x = np.column_stack([np.ones(8), h[keep]])
        coef = np.linalg.lstsq(x * np.sqrt(w[keep])[:, None], g[keep] * np.sqrt(w[keep]),
                               rcond=None)[0]
        pred.append(coef[0] + coef[1] * h[r])
    mean = np.sum(w * g) / w.sum()
    ref = 1 - np.sum(w * (g - pred) ** 2) / np.sum(w * (g - mean) ** 2)
    assert_allclose(r2, ref, rtol=1e-9)  # the hat-matrix shortcut is exact algebra


@pytest.mark.parametrize("block", [pairing_mod.RESAMPLE_BLOCK, 5 * 7])
def test_bootstrap_and_permutations_stay_within_groups(rng, monkeypatch, block):
    monkeypatch.setattr(pairing_mod, "RESAMPLE_BLOCK", block)  # 7 replicates a block
    strata = [np.array([0, 2, 4]), np.array([1, 3])]
    counts = np.concatenate([c for _, c in _boot_counts(strata, 5, 50, rng)])
    perms = np.concatenate([p for _, p in _permutations(strata, 5, 40, rng)])
    assert counts.shape == (50, 5) and perms.shape == (40, 5)
    assert_allclose(counts[:, [0, 2, 4]].sum(1), 3)
    assert_allclose(counts[:, [1, 3]].sum(1), 2)
    assert set(perms[:, [0, 2, 4]].ravel()) == {0, 2, 4}
    assert np.all(np.sort(perms, axis=1) == np.arange(5))


# ------------------------------------------------------------------ ground truth


@pytest.mark.parametrize(("rule", "pairing", "verdict"), [
    ("stdp", "all", "hebbian"), ("stdp", "nearest", "hebbian"),
    ("anti_stdp", "all", "anti_hebbian"), ("none", "all", "indeterminate"),
    ("none", "nearest", "indeterminate")])
def test_pair_stdp_tables_get_the_right_verdict(rule, pairing, verdict):
    table = simulate_pairing_table(rule, pairing=pairing, rng=3)
    res = estimate_pairing(table, kernel="stdp", pairing=pairing, rng=0, **FAST)
    assert res.verdict == verdict, res.summary()
    assert res.ci[0] <= res.alignment <= res.ci[1]


def test_kernel_all_prefers_stdp_on_pair_stdp_data():
    res = estimate_pairing(simulate_pairing_table("stdp", rng=4), kernel="all", rng=0, **FAST)
    assert res.best_kernel == "stdp" and res.kernel == "stdp" and res.verdict == "hebbian"
    ds = res.dataset
    lo, hi = ds["alignment_ci"].values.T
    a = ds["alignment"].values
    ok = np.isfinite(a)
    assert np.all((lo[ok] <= a[ok]) & (a[ok] <= hi[ok]))  # every interval holds its estimate
    # the rate kernels see one protocol rate for every row: no association, p = 1
    assert float(ds["p_value"].sel(kernel="product")) == 1.0
    json.dumps(res.to_dict())
    assert "best kernel: stdp" in res.summary()


def test_result_is_saved_as_netcdf_and_json(tmp_path):
    import xarray as xr

    table = simulate_pairing_table("stdp", rng=4).assign(slice=["A", None] * 20)
    res = estimate_pairing(table, kernel="all", n_boot=50, n_null=20, rng=0)
    nc, js = res.save(tmp_path / "res")
    with xr.open_dataset(nc, engine="h5netcdf") as back:
        assert_allclose(back["alignment"], res.dataset["alignment"], rtol=0)
        assert str(back.attrs["best_kernel"]) == "stdp"
    assert json.loads(js.read_text())["best_kernel"] == "stdp"


def test_dates_as_labels_are_saved(tmp_path):
    """A column of dates (experiment days in a sheet) is saved; a failed save leaves no
    folder behind."""
    import xarray as xr

    table = simulate_pairing_table("stdp", rng=4)
    table["day"] = pd.date_range("2024-03-01", periods=len(table), freq="D")
    res = estimate_pairing(table, n_boot=50, n_null=20, rng=0)
    nc, _ = res.save(tmp_path / "out" / "res")
    with xr.open_dataset(nc, engine="h5netcdf") as back:
        assert (back["day"].values == table["day"].to_numpy()).all()


def test_large_tables_are_resampled_in_blocks(monkeypatch):
    """Blocks of replicates (a large table) give the same estimate, and an interval and
    p-value of the same law, as one block (their draws differ)."""
    table = simulate_pairing_table("stdp", rng=4)
    one = estimate_pairing(table, kernel="all", rng=0, **FAST)
    monkeypatch.setattr(pairing_mod, "RESAMPLE_BLOCK", 7 * len(table))
    blocks = estimate_pairing(table, kernel="all", rng=0, **FAST)
    a, b = one.dataset, blocks.dataset
    assert_allclose(a["alignment"], b["alignment"], rtol=0)
    assert not np.array_equal(a["bootstrap_alignment"], b["bootstrap_alignment"])
    assert_allclose(a["alignment_ci"], b["alignment_ci"], atol=0.05)
    assert (a["verdict"].values == b["verdict"].values).all()


@pytest.mark.parametrize(("by", "why"), [
    ("experiment", "a group of its own"), ("weight_ratio", "measured value"),
    (None, "at least 3")])
def test_nothing_to_resample_is_refused(by, why):
    table = simulate_pairing_table("stdp", rng=4)
    table["experiment"] = [f"c{i}" for i in range(len(table))]
    if by is None:
        table = table.iloc[:2]
    with pytest.raises(ValueError, match=why):
        estimate_pairing(table, by=by, rng=0, **FAST)


@pytest.mark.parametrize("freqs", [SJOSTROM["frequency"], [20.0, 30.0, 40.0, 50.0]])
def test_triplet_tables_prefer_a_rate_kernel(freqs):
    """The minimal triplet rule potentiates at high frequency whatever the order."""
    table = simulate_pairing_table("triplet", dict(SJOSTROM, frequency=freqs), rng=1)
    res = estimate_pairing(table, kernel="all", rng=0, **FAST)
    assert get_kernel(res.best_kernel).inputs == "rates", res.summary()
    assert res.verdict == "hebbian", res.summary()


def test_triplet_rule_reproduces_the_frequency_dependence():
    """LTD for post-before-pre at 0.1 Hz, LTP for both orders at 50 Hz (Sjöström et al. 2001);
    75 pairings in one train (pairing_sim.SJOSTROM explains why not bursts of 5)."""
    def ratio(dt, f, n=75):
        pre, post = protocol_trains(dt, f, n)
        return 1 + triplet_change(pre, post, **TRIPLET_VISUAL_CORTEX)

    assert ratio(-0.01, 0.1) < 0.8 and abs(ratio(0.01, 0.1) - 1) < 1e-3
    assert ratio(-0.01, 50.0) > 1.5 and ratio(0.01, 50.0) > 1.5
    assert ratio(-0.01, 50.0, n=5) ** 15 < 1.0  # in bursts of 5: still LTD


def test_same_seed_same_numbers_and_options():
    table = simulate_pairing_table("stdp", rng=5)
    a = estimate_pairing(table, rng=7, **FAST).dataset
    b = estimate_pairing(table, rng=7, **FAST).dataset
    assert_allclose(a["bootstrap_alignment"], b["bootstrap_alignment"], rtol=0)
    lin = estimate_pairing(table, signal="ratio_minus_one", n_null=0, rng=7, n_boot=200)
    # without a null there is no test: indeterminate, as for recordings (VERDICT_RULE)
    assert math.isnan(lin.p_value) and lin.verdict == "indeterminate"
    assert lin.ci[0] > 0  # though the interval alone lies above 0
    grouped = estimate_pairing(table.assign(rig=np.arange(len(table)) % 2), by="rig", rng=7,
                               **FAST)
    assert grouped.dataset.attrs["by"] == "rig" and grouped.verdict == "hebbian"


def test_weights_from_sem_and_n():
    tab = pd.DataFrame({"delta_t": [0.01, -0.01, 0.02, -0.02], "weight_ratio": [1.5, 0.6, 0.9,
                                                                                1.3],
                        "n": [10, 10, 1, 1], "weight_sem": [0.1, 0.1, 1.0, 1.0]})
    by_sem = estimate_pairing(tab, weights="sem", n_boot=50, n_null=0, rng=0)
    by_n = estimate_pairing(tab, weights="n", n_boot=50, n_null=0, rng=0)
    flat = estimate_pairing(tab, weights="none", n_boot=50, n_null=0, rng=0)
    # the two precise rows agree with STDP, the two noisy ones disagree: weighting helps
    assert by_sem.alignment > flat.alignment and by_n.alignment > flat.alignment
    w = by_sem.dataset["signal_weight"].values
    assert_allclose(w[0] / w[2], (0.1 / 1.5) ** -2 / (1.0 / 0.9) ** -2, rtol=1e-12)


def test_protocol_grid_and_simulated_table_read_back():
    grid = protocol_grid(delta_t=[-0.01, 0.01], frequency=[1.0, 20.0], n_pairings=5, n_cells=3)
    assert len(grid) == 12
    table = simulate_pairing_table("none", grid, noise=0.0, rng=0)
    t = load_pairing_table(table)
    assert_allclose(t["weight_ratio"], 1.0, rtol=1e-12)  # no plasticity, no noise
    assert_allclose(t["delta_t"].unique(), [-0.01, 0.01], rtol=1e-12)


@pytest.mark.brian2
@pytest.mark.parametrize(("rule", "pairing"), [("stdp", "all"), ("stdp", "nearest"),
                                               ("triplet", "all"), ("triplet", "nearest")])
def test_brian2_plays_the_protocols_like_numpy(rule, pairing):
    """The Brian2 templates and the numpy rules give the same weight changes."""
    from plastix.estimate.pairing_sim import _changes, brian2_changes

    grid = protocol_grid(delta_t=[-0.01, -0.005, 0.005, 0.01], frequency=[10.0, 50.0],
                         n_pairings=20, n_trains=2)
    par = TRIPLET_VISUAL_CORTEX if rule == "triplet" else PAIR_STDP
    # grid-aligned spike times, the same sums in another order: float rounding only
    assert_allclose(brian2_changes(grid, rule, pairing=pairing), _changes(grid, rule, pairing,
                                                                          par),
                    rtol=1e-9, atol=1e-12)


@pytest.mark.brian2
def test_brian2_simulated_table_gets_the_stdp_verdict():
    # 15 pairings at 1 Hz (15 s of Brian2 time at 0.1 ms) keep the test short
    table = simulate_pairing_table("stdp", dict(BI_POO, n_pairings=15), simulator="brian2",
                                   rng=2)
    assert table.attrs["truth"]["simulator"] == "brian2"
    res = estimate_pairing(table, kernel="all", rng=0, **FAST)
    assert res.best_kernel == "stdp" and res.verdict == "hebbian", res.summary()


@pytest.mark.slow
def test_no_plasticity_false_hebbian_rate():
    """Over 100 noise-only tables the 'hebbian' verdict comes at most at ~alpha/2 + slack."""
    hits = sum(estimate_pairing(simulate_pairing_table("none", rng=s), rng=s, n_boot=300,
                                n_null=199).verdict == "hebbian" for s in range(100))
    # one-sided share ~ alpha/2 = 2.5%; 8 of 100 is beyond the binomial 99th percentile
    assert hits <= 8, hits


def test_delta_t_without_unit_that_looks_like_ms_warns():
    with pytest.warns(UserWarning, match=r"write 'delta_t \[ms\]'"):
        load_pairing_table(pd.DataFrame({"delta_t": [10.0, -10.0], "weight_ratio": [1.2, 0.8]}))


def test_bundled_tables_get_their_registered_verdict_and_kernel(tmp_path):
    """The pairing tables in datasets/ (CSV, units in the header) give the verdict and the
    preferred kernel their registry entry says, and a missing one regenerates to the
    registered content."""
    import shutil

    from plastix import datasets as D
    from plastix.kernels import get_kernel

    tables = [e for e in D.list_datasets() if e.kind == "table"]
    assert {e.truth["rule"] for e in tables} >= {"stdp", "triplet"}
    for entry in tables:
        res = estimate_pairing(D.dataset_dir() / entry.file, kernel="all", rng=0, **FAST)
        want = entry.truth["expected_kernel"]
        got = "rates" if get_kernel(res.best_kernel).inputs == "rates" else res.best_kernel
        assert (res.verdict, got) == (entry.truth["expected_verdict"], want), res.summary()
    shutil.copy(D.dataset_dir() / D.REGISTRY_NAME, tmp_path / D.REGISTRY_NAME)
    for entry in tables:  # only the tables are regenerated here (the others stay missing)
        back = D.load_dataset(entry.name, root=tmp_path)
        assert D.content_sha256(back) == entry.content_sha256
    # the bytes are the registered ones on the machine that built them; elsewhere numpy's
    # vectorised exp/log may differ in a value's last bit (seen: 1 ulp in 5 of 80 values
    # on another CPU), which the content checksum (12 decimals) absorbs
    status = dict(D.verify_datasets(root=tmp_path, regenerate=False))
    assert {status[e.name] for e in tables} <= {"ok", "content-ok"}, status


def test_inspect_describes_a_table_and_what_it_lacks(tmp_path, capsys):
    from plastix.cli import main
    from plastix.datasets import dataset_dir
    from plastix.io import inspect_file

    ins = inspect_file(dataset_dir() / "pairing_table_triplet.csv")
    text = str(ins)
    assert ins.ready and ins.flags == ["--kernel all"], text
    assert "delta_t [ms] -> s" in text and "frequencies (Hz): 0.1, 10, 20, 40, 50" in text
    assert "labels of one row each (ids, not groups): experiment" in text
    plain = tmp_path / "plain.csv"
    plain.write_text("delta_t [ms],weight_ratio [%],slice\n10,150,a\n-10,70,b\n5,120,a\n")
    ins = inspect_file(plain)
    assert ins.ready and ins.flags == [] and "STDP window only" in str(ins)
    assert "labels that group rows (usable with --by): slice" in str(ins)
    assert "weight_ratio [%] -> 1" in str(ins) and "slice" in str(ins)
    bad = tmp_path / "bad.csv"
    bad.write_text("delta_t [ms],ratio\n10,1.5\n")
    ins = inspect_file(bad)
    assert not ins.ready and "Did you mean 'ratio'?" in ins.missing[0]
    assert main(["inspect", str(bad)]) == 1
    assert "missing for an estimate" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"the reader option `decay` \(--decay\) maps a recording, "
                       r"not a table"):
        inspect_file(plain, decay=1.0)


def test_cli_drops_incomplete_rows_only_when_asked(tmp_path, capsys):
    from plastix.cli import main

    table = simulate_pairing_table("stdp", rng=4)
    path = tmp_path / "pairs.csv"
    table.to_csv(path, index=False)
    text = path.read_text().splitlines()
    text[3] = ",".join("" if i == 1 else c for i, c in enumerate(text[3].split(",")))
    path.write_text("\n".join(text) + "\n")
    args = ["estimate", str(path), "--n-boot", "50", "--n-null", "20"]
    assert main(args) == 2
    assert "NaN" in capsys.readouterr().err
    assert main(args + ["--nan", "drop"]) == 0
    assert f"{len(table) - 1} rows (1 dropped for NaN)" in capsys.readouterr().out
    assert main(["estimate", str(tmp_path / "x.nc"), "--nan", "drop"]) == 2
    assert "`--nan` applies to a table" in capsys.readouterr().err


def test_too_few_bootstrap_replicates_give_no_verdict():
    """Fewer than 2/alpha - 1 replicates cannot place a 1 - alpha interval's ends (they are
    the extreme replicates): a warning, and no verdict, where 39 replicates give one."""
    table = simulate_pairing_table("stdp", rng=3)
    assert estimate_pairing(table, n_boot=39, n_null=99, rng=0).verdict == "hebbian"
    with pytest.warns(UserWarning, match=r"38 bootstrap replicates cannot place the ends of a "
                      r"95% interval .* pass n_boot >= 39 \(--n-boot\); every verdict is "
                      r"indeterminate") as got:
        res = estimate_pairing(table, kernel="all", n_boot=38, n_null=99, rng=0)
    # the warning names this line (not contextlib's wrapper of @one_blas_thread)
    assert [w.filename for w in got] == [__file__]
    assert set(res.dataset["verdict"].values.tolist()) == {"indeterminate"}


def test_a_term_the_same_on_every_row_is_named_not_judged():
    """All rows pair at 1 Hz: the rate kernels' term is one number, their alignment only
    the sign of the mean change; they are flagged (term_varies False) and named in the
    summary, the STDP window (which varies with delta_t) is judged."""
    from plastix.datasets import load_dataset

    res = estimate_pairing(load_dataset("pairing-table-stdp-csv"), kernel="all", rng=0, **FAST)
    ds = res.dataset
    flat = ds["kernel"].values[~ds["term_varies"].values].tolist()
    assert flat == ["product", "covariance", "lagged", "post_activation"]  # covariance: 0
    assert (ds["verdict"].sel(kernel=flat).values == "indeterminate").all()
    assert bool(ds["term_varies"].sel(kernel="stdp")) and res.verdict == "hebbian"
    assert ("no verdict (term the same on every row: the alignment is the sign of the mean "
            "change): product, lagged, post_activation") in res.summary()
    with pytest.warns(UserWarning, match=r"kernel 'product': its term is the same on every "
                      r"row .* Try --kernel stdp"):
        estimate_pairing(load_dataset("pairing-table-stdp-csv"), kernel="product", rng=0,
                         **FAST)
