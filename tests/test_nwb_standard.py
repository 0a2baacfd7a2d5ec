"""Standard NWB files, as labs write them with pynwb, read into records (issue 15).

The files here are built with pynwb calls (NWBFile, add_unit_column('role'),
add_unit(spike_times=...), a processing module 'plasticity' with a TimeSeries
'weight' and a DynamicTable 'synapses'), not with plastix's writer, from records
whose rule is known; the estimator must give the right verdict on them.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from plastix.estimate import HebbianEstimator
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
from plastix.io import load_record, save_record
from plastix.record import compare_records

pynwb = pytest.importorskip("pynwb")

from nwb_builders import add_plasticity, nwbfile, write  # noqa: E402

FAST = dict(n_pre=8, n_post=5, n_intervals=60, bins_per_interval=20, lr=0.5, decay=2.0,
            noise=0.05, n_burn=60)
RATES = "processing/ecephys/pre_rates"


def lab_file_from_record(rec, path, *, spikes=None, role=True, extra_column=None):
    """A lab's NWB file holding a record: Units with roles, rate series, weights.

    Unit ids are 100 + j (pre) and 200 + i (post); the rates go to a module
    'ecephys' as TimeSeries in Hz; the synapses are all (post, pre) pairs.
    """
    n_pre, n_post = rec.sizes["pre"], rec.sizes["post"]
    pre_ids, post_ids = 100 + np.arange(n_pre), 200 + np.arange(n_post)
    nwb = nwbfile()
    if role:
        nwb.add_unit_column("role", "pre or post")
    if extra_column:
        nwb.add_unit_column(extra_column[0], "recording site")
    for r, ids in (("pre", pre_ids), ("post", post_ids)):
        for j, u in enumerate(ids):
            kw = {"role": r} if role else {}
            if extra_column:
                kw[extra_column[0]] = extra_column[1][r]
            st = spikes[r][j] if spikes is not None else []
            nwb.add_unit(spike_times=st, id=int(u), **kw)
    dt = float(rec.attrs["dt"])
    if spikes is None:
        ecephys = nwb.create_processing_module("ecephys", "firing rates")
        for r in ("pre", "post"):
            ecephys.add(pynwb.TimeSeries(name=f"{r}_rates", data=rec[f"{r}_activity"].values,
                                         unit="Hz", rate=1.0 / dt, starting_time=0.0))
    w = rec["weight"].values
    pairs = [(int(pre_ids[j]), int(post_ids[i])) for i in range(n_post) for j in range(n_pre)]
    add_plasticity(nwb, rec["weight_time"].values, w.reshape(w.shape[0], -1), pairs,
                   description="EPSP slope of each synapse")
    return write(nwb, path)


def _read_rates(path, **kw):
    return load_record(path, pre_activity=RATES, post_activity="post_rates", **kw)


@pytest.mark.parametrize("rule,want", [("hebbian", "hebbian"), ("anti_hebbian", "anti_hebbian"),
                                       ("null", "indeterminate")])
def test_lab_rate_file_gives_the_right_verdict(rule, want, tmp_path):
    rec = simulate_synthetic(SyntheticConfig(rule=rule, **FAST), rng=3)
    ds = _read_rates(lab_file_from_record(rec, tmp_path / "lab.nwb"), decay=2.0)
    assert_array_equal(ds["pre"].values, 100 + np.arange(8))
    assert_array_equal(ds["post_activity"].values, rec["post_activity"].values)
    assert_array_equal(ds["weight"].values, rec["weight"].values)
    assert ds["weight"].attrs["units"] == "mV" and float(ds["decay"]) == 2.0
    assert_allclose(ds["time"].values, rec["time"].values, rtol=0, atol=1e-12)
    est = HebbianEstimator(n_boot=300, n_null=59, rng=3).fit(ds)
    assert est.verdict_ == want, (rule, est.summary())


def spiking_rule_record(rule: str, seed: int = 0):
    """Spike trains and a spike-pair rule: ΔW = η · (pre→post pairs within 20 ms) + noise.

    Post units 0 and 1 fire 5 ms after pre units 0 and 1 on half of their
    spikes; η = +0.02 (Hebbian), −0.02 (anti-Hebbian) or 0 (null).
    """
    rng = np.random.default_rng(seed)
    eta = {"hebbian": 0.02, "anti_hebbian": -0.02, "null": 0.0}[rule]
    n_pre, n_post, dur = 4, 3, 30.0
    pre = [np.sort(rng.uniform(0, dur, 60)) for _ in range(n_pre)]
    post = [np.sort(rng.uniform(0, dur, 30)) for _ in range(n_post)]
    for i in (0, 1):
        driven = pre[i][rng.random(pre[i].size) < 0.5] + 0.005
        post[i] = np.sort(np.concatenate([post[i], driven]))
    wt = np.arange(0.0, dur + 1e-9, 1.0)
    w = np.empty((wt.size, n_post, n_pre))
    w[0] = 1.0
    for k in range(1, wt.size):
        pairs = np.zeros((n_post, n_pre))
        for i in range(n_post):
            for j in range(n_pre):
                q = post[i][(post[i] >= wt[k - 1]) & (post[i] < wt[k])]
                p = pre[j][(pre[j] >= wt[k - 1]) & (pre[j] < wt[k])]
                lag = q[:, None] - p[None, :]
                pairs[i, j] = np.sum((lag > 0) & (lag < 0.02))
        w[k] = w[k - 1] + eta * pairs + 0.005 * rng.standard_normal((n_post, n_pre))
    return {"pre": pre, "post": post}, wt, w


@pytest.mark.filterwarnings("ignore:1 of 30 interval")  # one 1-s interval has no spike pair
@pytest.mark.parametrize("rule,want", [("hebbian", "hebbian"), ("anti_hebbian", "anti_hebbian"),
                                       ("null", "indeterminate")])
def test_lab_spike_file_gives_the_right_verdict(rule, want, tmp_path):
    spikes, wt, w = spiking_rule_record(rule, seed=1)
    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    for r, base in (("pre", 0), ("post", 10)):
        for j, st in enumerate(spikes[r]):
            nwb.add_unit(spike_times=st, role=r, id=base + j)
    pairs = [(j, 10 + i) for i in range(3) for j in range(4)]
    add_plasticity(nwb, wt, w.reshape(wt.size, -1), pairs)
    path = write(nwb, tmp_path / "spikes.nwb")
    ds = load_record(path, bin_size=0.005)
    assert_array_equal(ds["pre"].values, [0, 1, 2, 3])
    assert_array_equal(ds["post"].values, [10, 11, 12])
    assert ds.attrs["dt"] == 0.005 and ds["pre_activity"].attrs["units"] == "Hz"
    # binned rates: every spike is counted once
    assert_allclose(ds["pre_activity"].values.sum(0) * 0.005, [s.size for s in spikes["pre"]])
    assert ds.sizes["pre_spike"] == sum(s.size for s in spikes["pre"])
    est = HebbianEstimator(kernel="stdp", decay=0.0, n_boot=300, n_null=59, rng=1).fit(ds)
    assert est.verdict_ == want, (rule, est.summary())


def test_roles_from_a_column_or_ids(tmp_path):
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **{**FAST, "n_intervals": 5}),
                             rng=0)
    sites = {"pre": "CA3", "post": "CA1"}
    path = lab_file_from_record(rec, tmp_path / "sites.nwb", role=False,
                                extra_column=("location", sites))
    by_col = _read_rates(path, pre_units="location=CA3", post_units="location=CA1")
    by_ids = _read_rates(path, pre_units=list(range(100, 108)), post_units="200,201,202,203,204")
    for ds in (by_col, by_ids):
        assert_array_equal(ds["post"].values, 200 + np.arange(5))
        assert_array_equal(ds["weight"].values, rec["weight"].values)


def test_roi_response_series_maps_columns_by_its_roi_table(tmp_path):
    """Post activity as ΔF/F of ROIs (ophys): columns are the ROI ids; pre units spike."""
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = nwbfile()
    device = nwb.create_device(name="2p")
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="GCaMP",
                                                      emission_lambda=510.0),
        description="L2/3", device=device, excitation_lambda=920.0, imaging_rate=10.0,
        indicator="GCaMP6f", location="V1")
    seg = ImageSegmentation()
    ps = seg.create_plane_segmentation(name="cells", description="somata", imaging_plane=plane)
    for k in range(3):
        mask = np.zeros((4, 4))
        mask[k, k] = 1
        ps.add_roi(image_mask=mask, id=50 + k)
    ophys = nwb.create_processing_module("ophys", "calcium imaging")
    ophys.add(seg)
    region = ps.create_roi_table_region(region=[2, 0], description="two cells")
    dff = np.random.default_rng(0).normal(size=(40, 2))
    dfof = DfOverF()
    ophys.add(dfof)
    dfof.add_roi_response_series(RoiResponseSeries(name="RoiResponseSeries", data=dff,
                                                   rois=region, unit="n.a.", rate=10.0))
    nwb.add_unit_column("role", "pre or post")
    nwb.add_unit(spike_times=[0.05, 1.23, 2.5], role="pre", id=7)
    add_plasticity(nwb, [0.0, 2.0, 4.0], np.array([[1.0, 2.0], [1.5, np.nan], [2.0, 2.5]]),
                [(7, 52), (7, 50)])
    ds = load_record(write(nwb, tmp_path / "ophys.nwb"),
                     post_activity="processing/ophys/DfOverF/RoiResponseSeries")
    assert_array_equal(ds["post"].values, [52, 50])
    assert ds["post_activity"].attrs["kind"] == "fluorescence"
    assert_array_equal(ds["post_activity"].values, dff)
    assert_allclose(ds["pre_activity"].values[[0, 12, 25], 0], [10.0] * 3)  # 1 spike / 0.1 s
    assert_array_equal(ds["weight"].values[:, :, 0], [[1.0, 2.0], [1.5, np.nan], [2.0, 2.5]])


def test_epochs_are_segments_and_data_outside_is_left_out(tmp_path):
    spikes, wt, w = spiking_rule_record("hebbian", seed=2)
    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    for r, base in (("pre", 0), ("post", 10)):
        for j, st in enumerate(spikes[r]):
            nwb.add_unit(spike_times=st, role=r, id=base + j)
    add_plasticity(nwb, wt, w.reshape(wt.size, -1), [(j, 10 + i) for i in range(3)
                                                   for j in range(4)])
    nwb.add_epoch(start_time=0.0, stop_time=10.0, tags=["baseline"])
    nwb.add_epoch(start_time=20.0, stop_time=30.0, tags=["pairing"])
    ds = load_record(write(nwb, tmp_path / "epochs.nwb"), bin_size=0.01)
    assert_array_equal(np.unique(ds["segment"].values), [0, 1])
    assert_array_equal(ds["weight_time"].values, np.r_[0:11, 20:31].astype(float))
    assert_array_equal(ds["weight_segment"].values, [0] * 11 + [1] * 11)
    st = ds["pre_spike_time"].values
    assert not np.any((st > 10) & (st < 20))
    one = load_record(tmp_path / "epochs.nwb", bin_size=0.01, segments="none")
    assert one.sizes["weight_time"] == wt.size


def _records():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_neo_io import ann_record, continuous_record, pairing_record

    rng = np.random.default_rng(0)
    return {"continuous": continuous_record(rng), "ann": ann_record(rng),
            "pairing": pairing_record(rng), "synthetic": simulate_synthetic(rng=0,
                                                                           n_intervals=10)}


@pytest.mark.parametrize("kind", ["continuous", "ann", "pairing", "synthetic"])
def test_standard_style_round_trip_is_exact(kind, tmp_path):
    """Records in ms with spikes and NaNs, in training steps, with restarting segments."""
    rec = _records()[kind]
    path = save_record(rec, tmp_path / f"{kind}.nwb", nwb_style="standard")
    compare_records(rec, load_record(path))  # exact: rtol 0, NaN == NaN
    with pynwb.NWBHDF5IO(str(path), "r") as io:  # any NWB tool sees the convention
        nwb = io.read()
        assert set(nwb.units["role"][:]) == {"pre", "post"}
        assert nwb.processing["plasticity"]["weight"].data.shape[0] == rec.sizes["weight_time"]
        assert list(nwb.processing["plasticity"]["synapses"].colnames) == ["pre_unit",
                                                                          "post_unit"]


def test_default_nwb_style_is_neo_and_both_read_back(tmp_path):
    from plastix.io.neo_pack import NWB_MARK
    from plastix.io.nwb import STANDARD_MARK
    from plastix.io.probe import nwb_notes

    rec = _records()["continuous"]
    neo_path = save_record(rec, tmp_path / "neo.nwb")
    std_path = save_record(rec, tmp_path / "std.nwb", nwb_style="standard")
    assert nwb_notes(neo_path).startswith(NWB_MARK)
    assert nwb_notes(std_path).startswith(STANDARD_MARK)
    compare_records(load_record(neo_path), load_record(std_path))
    with pytest.raises(TypeError, match="not a write option of NetCDF"):
        save_record(rec, tmp_path / "x.nc", nwb_style="standard")


def test_inspect_describes_a_lab_file_and_its_flags(tmp_path):
    from plastix.io import inspect_file

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **{**FAST, "n_intervals": 5}),
                             rng=0)
    path = lab_file_from_record(rec, tmp_path / "sites.nwb", role=False,
                                extra_column=("location", {"pre": "CA3", "post": "CA1"}))
    ins = inspect_file(path)
    text = str(ins)
    assert not ins.ready
    assert "13 unit(s)" in text and "location" in text and "'CA1'" in text
    assert "processing/ecephys/pre_rates" in text and "(100, 8)" in text
    assert "weight series processing/plasticity/weight" in text
    assert "--pre-units location=" in text and "--pre-activity" in text
    no_decay = inspect_file(path, pre_units="location=CA3", post_units="location=CA1",
                            pre_activity=RATES, post_activity="post_rates")
    assert not no_decay.ready and "--decay G" in str(no_decay)  # no input is ever silent
    ok = inspect_file(path, pre_units="location=CA3", post_units="location=CA1",
                      pre_activity=RATES, post_activity="post_rates", decay=0.0)
    assert ok.ready, str(ok)
    assert "8 pre x 5 post" in str(ok)
    rec_ins = inspect_file(save_record(rec, tmp_path / "rec.nc"), decay=0.0)
    assert rec_ins.ready and "8 pre x 5 post" in str(rec_ins)


def test_readme_example_runs(tmp_path, monkeypatch):
    """The README's 'standard NWB' example, as a lab would write its file."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own data: standard NWB", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    pre = np.sort(rng.uniform(0, 10, 50))
    env = {"pre_spikes": pre, "post_spikes": np.sort(pre[::2] + 0.005),
           "t_epsp": np.arange(11.0), "epsp_slope": 1 + 0.01 * np.arange(11.0)}
    exec(compile(code, "README", "exec"), env)  # noqa: S102 - our own README
    rec = env["rec"]
    assert rec.sizes["pre"] == 1 and rec.sizes["post"] == 1
    assert_allclose(rec["weight"].values[:, 0, 0], env["epsp_slope"])
    assert rec["pre_spike_time"].size == 50


def test_neo_written_nwb_files_still_go_through_neo(tmp_path):
    """A file written by plain neo.NWBIO gets Neo's explanation, not the standard reader's."""
    import warnings

    from plastix._util.errors import SchemaError
    from plastix.io import inspect_file
    from plastix.io.neo import to_neo

    rec = _records()["continuous"]
    block = to_neo(rec)
    block.annotations["session_start_time"] = datetime.datetime(2025, 1, 1,
                                                                tzinfo=datetime.UTC)
    from plastix._util.optional import import_neo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import_neo().io.NWBIO(str(tmp_path / "raw.nwb"), mode="w").write_block(block)
    with pytest.raises(SchemaError, match=r"read by neo\.NWBIO, which keeps neither"):
        load_record(tmp_path / "raw.nwb")
    ins = inspect_file(tmp_path / "raw.nwb")
    assert not ins.ready and "NWB (written by Neo)" in str(ins)
    nix = inspect_file(save_record(rec, tmp_path / "rec.nix"))
    assert nix.ready and "5 pre x 3 post" in str(nix) and "decay 0.0003 1/ms" in str(nix)


def test_one_roi_series_for_both_roles(tmp_path):
    """Imaging only: pre and post ROIs in one ΔF/F series, picked by ROI id."""
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = nwbfile()
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="GCaMP",
                                                     emission_lambda=510.0),
        description="L2/3", device=nwb.create_device(name="2p"), excitation_lambda=920.0,
        imaging_rate=10.0, indicator="GCaMP6f", location="V1")
    seg = ImageSegmentation()
    ps = seg.create_plane_segmentation(name="cells", description="somata", imaging_plane=plane)
    for k in range(4):
        ps.add_roi(image_mask=np.eye(4)[k][:, None] * np.ones((1, 4)), id=50 + k)
    ophys = nwb.create_processing_module("ophys", "calcium imaging")
    ophys.add(seg)
    dfof = DfOverF()
    ophys.add(dfof)
    dff = np.arange(120.0).reshape(30, 4)
    dfof.add_roi_response_series(RoiResponseSeries(
        name="RoiResponseSeries", data=dff, unit="n.a.", rate=10.0,
        rois=ps.create_roi_table_region(region=[0, 1, 2, 3], description="all cells")))
    add_plasticity(nwb, [0.0, 1.0, 2.0], np.array([[1.0], [1.1], [1.3]]), [(51, 53)])
    path = write(nwb, tmp_path / "imaging.nwb")
    dff_path = "processing/ophys/DfOverF/RoiResponseSeries"
    ds = load_record(path, pre_activity=dff_path, post_activity=dff_path,
                     pre_units=[51, 50], post_units="53")
    assert_array_equal(ds["pre"].values, [51, 50])
    assert_array_equal(ds["pre_activity"].values, dff[:, [1, 0]])
    assert_array_equal(ds["post_activity"].values, dff[:, [3]])
    assert_array_equal(ds["weight"].values[:, 0, 0], [1.0, 1.1, 1.3])


@pytest.mark.brian2
@pytest.mark.parametrize("rule,eta,want", [("hebbian", 0.5, "hebbian"),
                                           ("anti_hebbian", 0.5, "anti_hebbian"),
                                           ("hebbian", 0.0, "indeterminate")])  # null: η = 0
def test_plastix_circuit_files_give_the_right_verdict_through_the_lab_reader(rule, eta, want,
                                                                             tmp_path):
    """Brian2 rate circuits (numpy target) with known rules, written by plastix as standard
    NWB, read back as a lab's file is: once as written, once with plastix's notes removed
    (nothing left but the pynwb convention, decay given as a lab would)."""
    import h5py

    from plastix.circuits import RateCircuitConfig, simulate_rate

    cfg = RateCircuitConfig(rule=rule, eta=eta, decay=2.0, noise=0.05, n_pre=12, n_post=3,
                            duration=3.0, weight_interval=0.1, record_synapses=None,
                            record_signal=False)
    rec = simulate_rate(cfg, rng=1, target="numpy")
    path = save_record(rec, tmp_path / "circuit.nwb", nwb_style="standard")
    as_written = load_record(path)
    with h5py.File(path, "a") as f:  # what plastix adds for an exact round trip
        del f["general/notes"]
    lab = load_record(path, decay=2.0)
    assert lab.attrs["truth"] == "{}" and as_written.attrs["truth"] == rec.attrs["truth"]
    for name in ("pre_activity", "post_activity", "weight"):
        assert_array_equal(lab[name].values, rec[name].values)
    for ds in (as_written, lab):
        est = HebbianEstimator(n_boot=300, n_null=59, rng=1).fit(ds)
        assert est.verdict_ == want, (rule, eta, est.summary())


def test_bundled_standard_nwb_file_gets_its_registered_verdict():
    from plastix.datasets import dataset_dir, list_datasets
    from plastix.io import inspect_file

    (entry,) = [e for e in list_datasets() if e.write_options.get("nwb_style") == "standard"]
    path = dataset_dir() / entry.file
    assert inspect_file(path).ready
    est = HebbianEstimator(n_boot=300, n_null=59, rng=0).fit(load_record(path))
    assert est.verdict_ == entry.truth["expected_verdict"], est.summary()


def test_units_without_spikes_and_no_activity_series_are_refused(tmp_path):
    """Units with roles but no spike times, rates in a series the reader was not told of:
    refused (not read as all-zero rates), naming the series and the flag; inspect is not
    ready and suggests the flags."""
    from plastix._util.errors import SchemaError
    from plastix.io import inspect_file

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **{**FAST, "n_intervals": 5}),
                             rng=0)
    path = lab_file_from_record(rec, tmp_path / "rates.nwb")  # Units: no spikes
    with pytest.raises(SchemaError, match=r"the pre units have no spike times and no pre "
                                          r"activity series is named\. Found: .*TimeSeries: "
                                          r"processing/ecephys/post_rates, processing/ecephys/"
                                          r"pre_rates.*--pre-activity PATH.*plastix inspect"):
        load_record(path)
    ins = inspect_file(path)
    assert not ins.ready and "--pre-activity processing/ecephys/pre_rates" in ins.command()
    assert inspect_file(path, pre_activity=RATES, post_activity="post_rates", decay=0.0).ready


def test_a_spike_only_lab_file_reads_when_the_weights_are_to_be_inferred(tmp_path):
    """A pynwb file of sorted units (role column) and no weight series: refused as it is,
    read with ``weights_from="spikes"`` (one all-NaN weight sample per segment, marked
    absent), and ``inspect`` names the flag."""
    from plastix._util.errors import SchemaError
    from plastix.io import inspect_file

    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    gen = np.random.default_rng(0)
    trains = [np.sort(gen.uniform(0.0, 20.0, 200)) for _ in range(4)]
    for u, train in enumerate(trains):
        nwb.add_unit(spike_times=train, role="post" if u == 3 else "pre")
    nwb.add_epoch(0.0, 10.0)
    nwb.add_epoch(10.0, 20.0)
    path = write(nwb, tmp_path / "units.nwb")
    with pytest.raises(SchemaError, match="no weights"):
        load_record(path)
    rec = load_record(path, weights_from="spikes")
    assert rec.attrs["weights"] == "absent"
    assert rec.sizes["weight_time"] == 2 and np.isnan(rec["weight"].values).all()
    assert_allclose(np.sort(rec["pre_spike_time"].values),
                    np.sort(np.concatenate(trains[:3])))
    assert "--weights-from spikes" in str(inspect_file(path))
    ins = inspect_file(path, decay=0.0)  # inferred weights say nothing of the decay
    assert ins.ready and "--weights-from spikes" in str(ins)
    with pytest.raises(ValueError, match="weights_from"):
        load_record(path, weights_from="spike")


def test_a_bin_size_that_bins_nothing_is_named(tmp_path):
    """With an activity series the grid is its samples and `bin_size` is not used: a
    warning says so (it was ignored without a word)."""
    from plastix.datasets import dataset_dir

    path = dataset_dir() / "circuit_hebbian_standard.nwb"
    with pytest.warns(UserWarning, match=r"circuit_hebbian_standard\.nwb: `bin_size` "
                      r"\(--bin-size\) 0\.05 s is not used: the activity is the presynaptic "
                      r"series, sampled every 0\.01 s"):
        ds = load_record(path, bin_size=0.05)
    assert ds.attrs["dt"] == pytest.approx(0.01)
