"""Standard NWB conventions found by the fourth file probe: weights shaped (time, post,
pre), and rate series that start after the weights do."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from plastix._util.errors import SchemaError
from plastix.estimate import HebbianEstimator
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
from plastix.io import load_record

pynwb = pytest.importorskip("pynwb")

from nwb_builders import add_plasticity, add_units, nwbfile, write  # noqa: E402

PRE, POST = [0, 1, 2, 3], [100, 101]
RATES = {"pre_activity": "processing/ecephys/pre_rates",
         "post_activity": "processing/ecephys/post_rates"}


@pytest.fixture(scope="module")
def rec():
    cfg = SyntheticConfig(rule="hebbian", n_pre=len(PRE), n_post=len(POST), n_intervals=30,
                          bins_per_interval=10)
    return simulate_synthetic(cfg, rng=np.random.default_rng(2), known_decay=True)


def _lab_file(rec, path, *, grid: bool, pairs=None, start_bin: int = 0, n_pre_w=None):
    """``rec`` as a lab's file: units with roles, rate series from bin ``start_bin`` on,
    and its weights either (time, post, pre) (``grid``) or (time, synapse) with a table."""
    nwb = nwbfile()
    add_units(nwb, [(u, [], "pre") for u in PRE] + [(u, [], "post") for u in POST])
    dt = float(rec.attrs["dt"])
    ecephys = nwb.create_processing_module("ecephys", "firing rates")
    for r in ("pre", "post"):
        ecephys.add(pynwb.TimeSeries(name=f"{r}_rates", unit="Hz", rate=1.0 / dt,
                                     data=rec[f"{r}_activity"].values[start_bin:],
                                     starting_time=start_bin * dt))
    w, t = rec["weight"].values, rec["weight_time"].values
    table = [(p, q) for q in POST for p in PRE]  # post-major: the flattened grid's order
    if grid:
        mod = nwb.create_processing_module("plasticity", "measured synaptic efficacies")
        mod.add(pynwb.TimeSeries(name="weight", data=w[:, :, :n_pre_w], unit="mV",
                                 timestamps=t))
        if pairs is not None:
            from nwb_builders import add_synapses

            add_synapses(mod, pairs)
    else:
        add_plasticity(nwb, t, w.reshape(w.shape[0], -1), table)
    return write(nwb, path)


def _same(a, b):
    for v in ("pre_activity", "post_activity", "weight"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    np.testing.assert_array_equal(a["post"].values, b["post"].values)
    np.testing.assert_array_equal(a["pre"].values, b["pre"].values)


def test_weights_shaped_time_post_pre_read_like_a_synapse_table(rec, tmp_path):
    flat = load_record(_lab_file(rec, tmp_path / "flat.nwb", grid=False), **RATES)
    grid = load_record(_lab_file(rec, tmp_path / "grid.nwb", grid=True), **RATES)
    _same(flat, grid)


def test_a_grid_with_a_table_in_its_own_order_is_read(rec, tmp_path):
    table = [(p, q) for q in POST for p in PRE]
    both = load_record(_lab_file(rec, tmp_path / "b.nwb", grid=True, pairs=table), **RATES)
    flat = load_record(_lab_file(rec, tmp_path / "flat.nwb", grid=False), **RATES)
    _same(flat, both)


def test_a_grid_with_a_table_in_another_order_is_refused(rec, tmp_path):
    pre_major = [(p, q) for p in PRE for q in POST]  # silently gave +0.652 for +0.923
    path = _lab_file(rec, tmp_path / "c.nwb", grid=True, pairs=pre_major)
    with pytest.raises(SchemaError, match=r"shaped \(time, post, pre\).*flattened column 1 "
                       r"is the synapse 1:100.*names 0:101"):
        load_record(path, **RATES)


def test_a_grid_of_the_wrong_shape_is_refused(rec, tmp_path):
    path = _lab_file(rec, tmp_path / "d.nwb", grid=True, n_pre_w=3)
    with pytest.raises(SchemaError, match=r"read as \(time, post, pre\) over the 2 post and "
                       r"4 pre units.*of shape \(31, 2, 3\)"):
        load_record(path, **RATES)


def test_rates_that_start_after_the_weights_leave_those_intervals_out(rec, tmp_path):
    late = load_record(_lab_file(rec, tmp_path / "late.nwb", grid=False, start_bin=50),
                       **RATES)
    est = HebbianEstimator(n_boot=40, n_null=0, rng=0, decay=float(rec["decay"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(late)
    per_k = est.result_["alignment_interval"].values
    assert np.isnan(per_k[:5]).all() and np.isfinite(per_k[5:]).all()
    assert (est.result_["n_observed"].values[:5] == 0).all()
