"""The record: construction, validation, derived quantities, NetCDF round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from plastix import record as R


def _continuous(rng, n_time=200, n_pre=6, n_post=4, n_w=5):
    """A continuous recording: 10 ms bins, weights every 0.4 s, two synapses unmeasured."""
    w = rng.normal(size=(n_w, n_post, n_pre))
    w[:, 0, 1] = np.nan
    w[2, 3, 0] = np.nan
    return R.make_record(
        rng.poisson(5.0, size=(n_time, n_pre)) / 0.01,
        rng.poisson(5.0, size=(n_time, n_post)) / 0.01,
        w,
        time=np.arange(n_time) * 0.01,
        weight_time=np.linspace(0.0, 1.6, n_w),
        dt=0.01,
        pre=[f"p{i}" for i in range(n_pre)],
        decay=0.2,
        source="test",
        provenance={"seed": 1, "config": {"a": 1.5}},
        truth={"rule": "hebbian"},
    )


def _ann_like(rng, n_steps=4, batch=8, n_pre=5, n_post=3):
    """An ANN layer: B samples of step k at k + b/B, weights at integer steps."""
    t = (np.arange(n_steps)[:, None] + np.arange(batch)[None, :] / batch).ravel()
    return R.make_record(
        rng.normal(size=(n_steps * batch, n_pre)),
        rng.normal(size=(n_steps * batch, n_post)),
        rng.normal(size=(n_steps + 1, n_post, n_pre)),
        time=t, weight_time=np.arange(n_steps + 1.0), dt=1.0 / batch, time_units="step",
        activity_units="1", activity_kind="activation", post_activity_kind="preactivation",
        decay=0.01 * 5e-3,
    )


def test_interval_mapping_is_explicit_and_correct(rng):
    ds = _continuous(rng)
    # bin at t lies in [wt[k], wt[k+1]): independent recomputation with a plain loop
    wt = ds.weight_time.values
    expected = []
    for t in ds.time.values:
        ks = [k for k in range(len(wt) - 1) if wt[k] <= t < wt[k + 1]]
        expected.append(ks[0] if ks else -1)
    np.testing.assert_array_equal(ds.interval.values, expected)


def test_ann_record_maps_each_batch_to_its_step(rng):
    ds = _ann_like(rng)
    np.testing.assert_array_equal(ds.interval.values, np.repeat(np.arange(4), 8))
    assert ds.attrs["time_units"] == "step"
    assert ds.post_activity.attrs["kind"] == "preactivation"


def test_delta_weight_keeps_missing_synapses_missing(rng):
    ds = _continuous(rng)
    dw = R.delta_weight(ds)
    assert dw.dims == ("interval", "post", "pre")
    assert np.all(np.isnan(dw.values[:, 0, 1]))
    assert np.isnan(dw.values[1, 3, 0]) and np.isnan(dw.values[2, 3, 0])
    w = ds.weight.values
    np.testing.assert_array_equal(dw.values[0, 1], w[1, 1] - w[0, 1])  # exact arithmetic
    np.testing.assert_allclose(R.interval_duration(ds).values, 0.4, rtol=1e-12,
                               err_msg="linspace edges: float rounding only")


def test_segments_restart_time_and_intervals_do_not_cross_segments(rng):
    # two pairing experiments: time restarts in segment 1; weight before/after in each
    t = np.concatenate([np.arange(10) * 0.1, np.arange(10) * 0.1])
    seg = np.repeat([0, 1], 10)
    w = np.full((4, 2, 2), np.nan)
    w[0, 0, 0], w[1, 0, 0] = 1.0, 1.2
    w[2, 1, 1], w[3, 1, 1] = 0.5, 0.4
    ds = R.make_record(rng.random((20, 2)), rng.random((20, 2)), w, time=t, segment=seg,
                       weight_time=[0.0, 1.0, 0.0, 1.0], weight_segment=[0, 0, 1, 1], dt=0.1)
    np.testing.assert_array_equal(R.interval_index(ds), [0, 2])
    np.testing.assert_array_equal(ds.interval.values, np.repeat([0, 2], 10))
    dw = R.delta_weight(ds).values
    np.testing.assert_allclose(dw[0, 0, 0], 0.2, rtol=1e-12, err_msg="1.2 - 1.0 in float")
    np.testing.assert_allclose(dw[1, 1, 1], -0.1, rtol=1e-12, err_msg="0.4 - 0.5 in float")
    assert np.isnan(dw[0, 1, 1]) and np.isnan(dw[1, 0, 0])


@pytest.mark.parametrize("make", [_continuous, _ann_like])
def test_netcdf_round_trip_is_lossless(make, rng, tmp_path):
    ds = make(rng)
    path = R.save_record(ds, tmp_path / "rec.nc")
    back = R.load_record(path)
    R.compare_records(ds, back)
    assert R.records_equal(ds, back)
    assert R.provenance(back) == {"seed": 1, "config": {"a": 1.5}} or make is _ann_like


def test_records_equal_detects_a_changed_value(rng):
    ds = _continuous(rng)
    other = ds.copy(deep=True)
    other["weight"].values[0, 0, 0] += 1e-9
    assert not R.records_equal(ds, other)
    other = ds.copy(deep=True)
    other["pre_activity"].attrs["units"] = "kHz"
    assert not R.records_equal(ds, other)


def test_failed_write_keeps_the_previous_file(rng, tmp_path):
    ds = _continuous(rng)
    path = R.save_record(ds, tmp_path / "rec.nc")
    before = path.read_bytes()
    broken = ds.copy()
    broken["weight"] = broken.weight.transpose("weight_time", "pre", "post")
    with pytest.raises(R.SchemaError):
        R.save_record(broken, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]  # no temp file left


def test_validator_is_the_same_at_every_boundary(rng, tmp_path):
    ds = _continuous(rng)
    bad = ds.copy()
    bad = bad.assign_coords(interval=("time", np.zeros(ds.sizes["time"], dtype=int)))
    with pytest.raises(R.SchemaError, match="`interval` does not match"):
        R.validate_record(bad)
    xr.Dataset.to_netcdf(bad, tmp_path / "bad.nc", engine="h5netcdf")
    with pytest.raises(R.SchemaError, match=r"load_netcdf\(bad.nc\): coordinate `interval`"):
        R.load_record(tmp_path / "bad.nc")
