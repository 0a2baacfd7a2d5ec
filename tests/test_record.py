"""The record: construction, validation, derived quantities, NetCDF round-trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from plastix import record as R
from plastix.io import load_record, save_record


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
    path = save_record(ds, tmp_path / "rec.nc")
    back = load_record(path)
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
    path = save_record(ds, tmp_path / "rec.nc")
    before = path.read_bytes()
    broken = ds.copy()
    broken["weight"] = broken.weight.transpose("weight_time", "pre", "post")
    with pytest.raises(R.SchemaError):
        save_record(broken, path)
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
        load_record(tmp_path / "bad.nc")


# ------------------------------------------------------------------ the table of formats


def test_a_toy_format_registers_in_one_call_and_round_trips(rng, tmp_path):
    """A new format is one entry: save_record/load_record find it by its suffix."""
    from plastix.io import formats as F

    def write_npz(ds, path):
        arrays = {name: np.asarray(ds[name].values) for name in ds.variables}
        with open(path, "wb") as f:  # np.savez would append .npz to the temporary name
            np.savez(f, **arrays, __attrs__=np.array(json.dumps(dict(ds.attrs))),
                     __units__=np.array(json.dumps({n: dict(ds[n].attrs) for n in ds.variables})))

    def read_npz(path):
        with np.load(path, allow_pickle=False) as z:
            attrs, var_attrs = json.loads(str(z["__attrs__"])), json.loads(str(z["__units__"]))
            ds = _continuous(np.random.default_rng(0))  # the layout: dims of every variable
            ds = xr.Dataset(
                {n: (ds[n].dims, z[n], var_attrs[n]) for n in ds.data_vars},
                coords={n: (ds[n].dims, z[n], var_attrs[n]) for n in ds.coords}, attrs=attrs)
        return R.validate_record(ds, stage="npz")

    F.register_format(F.Format(name="toy", suffixes=(".toy",), label="toy",
                               description="numpy archive (a test's toy format)",
                               read=read_npz, write=write_npz))
    try:
        assert "toy" in F.format_names() and ".toy" in F.format_suffixes()
        assert "toy (.toy): numpy archive" in F.format_help()
        ds = _continuous(rng)
        path = save_record(ds, tmp_path / "rec.toy")
        R.compare_records(ds, load_record(path))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.toy"]  # written atomically
        with pytest.raises(ValueError, match="a format named 'toy' is already registered"):
            F.register_format(F.get_format("toy"))
        with pytest.raises(ValueError, match="'.npz' of format 'npz' already belongs to format "
                           "'pynapple'"):  # one suffix names one format
            F.register_format(F.Format(name="npz", suffixes=(".npz",), description="x",
                                       read=read_npz, write=write_npz))
    finally:
        F.unregister_format("toy")
    assert "toy" not in F.format_names()


def test_format_table_answers_by_suffix_and_name():
    from plastix.io import formats as F

    assert F.format_names() == ("netcdf", "nix", "nwb", "pickle", "pynapple", "phy")
    assert F.format_for_path("a/B.NC").name == "netcdf"
    assert F.format_for_path("x.pickle") is F.get_format("pickle")
    assert not F.get_format("pickle").safe and F.get_format("nix").safe
    with pytest.raises(ValueError, match=r"got 'x\.nxi' \(suffix '\.nxi'\)\. Did you mean"):
        F.format_for_path("x.nxi")
    with pytest.raises(ValueError, match=r"`format` must be one of .*Did you mean 'nwb'"):
        F.get_format("nbw")
    with pytest.raises(ValueError, match=r"suffix '\.nc' of format 'cdf' already belongs to "
                       r"format 'netcdf'"):
        F.register_format(F.Format(name="cdf", suffixes=(".nc",), description="x",
                                   read=load_record, write=save_record))


def test_record_module_never_imports_io():
    """Layering: plastix.io imports plastix.record, never the reverse (not even lazily)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(R))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [f"plastix.{a.name}" for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module == "plastix" for a in n.names]
    assert not [m for m in names if m and (m == "plastix.io" or m.startswith("plastix.io."))]


def test_a_record_without_units_is_refused_naming_the_variables(rng, tmp_path):
    """A record saved by hand with xarray, its attrs lost: the decay (per s or per ms?)
    and the activity (rate or fluorescence?) are not guessed; the message names them."""
    bare = _continuous(rng).copy()
    for name in ("decay", "pre_activity"):
        bare[name].attrs = {}
    path = tmp_path / "bare.nc"
    bare.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(R.SchemaError, match=r"`pre_activity`, `decay`, `pre_activity \(kind\)` "
                       r"carry no units .*never guesses them"):
        load_record(path)


def test_transposed_variables_are_refused_with_the_reordering(rng):
    rec = _continuous(rng)
    turned = rec.assign(pre_activity=rec["pre_activity"].transpose("pre", "time"))
    with pytest.raises(R.SchemaError, match=r"`pre_activity` must have dims \('time', 'pre'\); "
                       r"got \('pre', 'time'\)\. Reorder it by name: ds\['pre_activity'\] = "
                       r"ds\['pre_activity'\]\.transpose\('time', 'pre'\)"):
        R.validate_record(turned)


def test_a_decay_too_fast_to_be_physical_is_refused():
    """1e200 1/s overflowed the estimator's sums and was blamed on the input file."""
    with pytest.raises(ValueError, match=r"`decay` must be a rate below 1e\+09 .*Check its unit"):
        R.check_decay(1e200)
    assert R.check_decay(5e8) == 5e8
