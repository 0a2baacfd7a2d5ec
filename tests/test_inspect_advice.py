"""``plastix inspect``'s advice is followable: the command it prints runs, and after its flags
inspect says ready; "ready" only when the decay can be had; ``--kernel stdp`` for records
of pairing protocols; the weights' unit printed without ambiguity."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
from nwb_builders import add_plasticity, add_units, nwbfile, write
from test_phy_files import _kilosort

import plastix.io.inspect_review as inspection
from plastix.cli import main
from plastix.estimate.synthetic import simulate_spike_record
from plastix.io import inspect_file, save_record
from plastix.record import make_record

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def _advised(out: str) -> list[str]:
    """The flags of the ``plastix estimate`` command a report prints, G filled in as 0."""
    lines = out.splitlines()
    line = lines[lines.index(next(x for x in lines if x.startswith(("flags that map it",
                                                                     "the command")))) + 1]
    return ["0" if f == "G" else f for f in shlex.split(line)[3:]]


def _follow(path: Path, capsys, *flags: str) -> tuple[int, str]:
    """``plastix inspect PATH FLAGS`` (parsed as the command line): exit code and output."""
    rc = main(["inspect", str(path), *flags])
    return rc, capsys.readouterr().out


def test_phy_folder_asks_for_the_decay_on_the_first_inspect(tmp_path):
    folder, _ = _kilosort(tmp_path / "ks", simulate_spike_record(6, 2, duration=20.0, rng=2))
    report = inspect_file(folder)
    assert not report.ready and "--decay G" in report.flags
    assert "--weights-from spikes" in report.flags


def test_following_the_advice_on_a_pynapple_session_ends_ready(tmp_path, capsys):
    nap = pytest.importorskip("pynapple")
    rng = np.random.default_rng(1)
    folder = tmp_path / "session"
    folder.mkdir()
    trains = {i: nap.Ts(t=np.sort(rng.uniform(0, 60, 300))) for i in (1, 2, 11)}
    nap.TsGroup(trains, time_support=nap.IntervalSet(0, 60),
                location=["CA3", "CA3", "CA1"]).save(str(folder / "spikes.npz"))
    rc, out = _follow(folder, capsys)
    flags = _advised(out)
    assert rc == 1 and "--weights-from" in flags and "--decay" in flags
    # the printed flags are all accepted by inspect, and they map the session
    rc, out = _follow(folder, capsys, "--pre-units", "location=CA3", "--post-units",
                      "location=CA1")
    assert rc == 1 and "--weights-from spikes --decay G" in out
    rc, out = _follow(folder, capsys, *_advised(out))
    assert rc == 0 and "ready for `plastix estimate`" in out, out


def _one_synapse_nwb(path: Path, pre_spikes: np.ndarray) -> Path:
    """Standard NWB: unit 0 (pre) with ``pre_spikes``, unit 10 (post), the weight of
    synapse 0 -> 10 every 5 s from 0 to 100 s, in mV."""
    rng = np.random.default_rng(0)
    nwb = nwbfile()
    add_units(nwb, [(0, pre_spikes, "pre"),
                    (10, np.sort(rng.uniform(0, 100, 800)), "post")])
    t = np.arange(0, 101, 5.0)
    add_plasticity(nwb, t, (1 + 0.01 * np.arange(t.size))[:, None], [(0, 10)])
    return write(nwb, path)


def test_ready_only_when_a_presynaptic_unit_is_silent_for_an_interval(tmp_path, capsys,
                                                                      monkeypatch):
    rng = np.random.default_rng(0)
    busy = _one_synapse_nwb(tmp_path / "busy.nwb", np.sort(rng.uniform(0, 100, 1500)))
    report = inspect_file(busy)
    assert not report.ready and report.flags == ["--decay G"]
    assert "no presynaptic unit is silent" in report.missing[0]
    rc, out = _follow(busy, capsys, *_advised(str(report)))
    assert rc == 0 and "ready for `plastix estimate`" in out
    # silent from 40 to 60 s: intervals 40-45 ... 55-60 give the decay
    quiet = np.sort(rng.uniform(0, 100, 1500))
    quiet = _one_synapse_nwb(tmp_path / "quiet.nwb", quiet[(quiet < 39) | (quiet > 61)])
    assert inspect_file(quiet).ready
    # a large activity is not read: the spike times decide, the same way
    monkeypatch.setattr(inspection, "CHECK_VALUES_BYTES", 0)
    assert not inspect_file(busy).ready and inspect_file(quiet).ready


def _rate_record(units: str = "1"):
    t = np.arange(0, 10, 0.1)
    w = np.linspace(1, 2, 3)[:, None, None] * np.ones((3, 1, 2))
    return make_record(np.ones((t.size, 2)), np.ones((t.size, 1)), w, time=t,
                       weight_time=[0.0, 5.0, 9.99], dt=0.1, weight_units=units)


def test_a_large_rate_series_is_ready_with_the_decay_caveat(tmp_path, monkeypatch):
    path = save_record(_rate_record(), tmp_path / "rates.nc")
    report = inspect_file(path)
    assert not report.ready and "--decay G" in report.flags  # read: never silent
    monkeypatch.setattr(inspection, "CHECK_VALUES_BYTES", 0)
    report = inspect_file(path)  # a NetCDF record opened lazily: its activity read by blocks
    assert not report.ready and "--decay G" in report.flags
    assert "activity values are checked as the estimator reads them" in report.record
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:  # a large series not read: caveat
        review = inspection._review(ds)
    assert not review.lacking and "silent in two consecutive weight intervals" in review.caveat


def test_pairing_protocols_get_the_stdp_kernel_advice(capsys):
    report = inspect_file(DATASETS / "pairing_stdp.nix")
    assert report.ready and report.flags == ["--kernel stdp"]
    assert "pairing protocols" in report.advice[0]
    rc, out = _follow(DATASETS / "pairing_stdp.nix", capsys, "--kernel", "stdp")
    assert rc == 0 and "advice" not in out and "--kernel stdp" in out


def test_no_kernel_advice_for_many_weight_samples_per_segment(tmp_path):
    rng = np.random.default_rng(0)
    spikes = np.sort(rng.uniform(0, 100, 1500))
    report = inspect_file(_one_synapse_nwb(tmp_path / "c.nwb", spikes[spikes > 50]))
    assert report.ready and not report.advice


def test_dimensionless_weights_do_not_read_as_a_segment_count(tmp_path):
    desc = inspection.describe_record(_rate_record())
    assert "3 weight samples (dimensionless)" in desc and "in 1," not in desc
    assert "3 weight samples (mV)" in inspection.describe_record(_rate_record("mV"))


def test_a_spike_only_nwb_file_is_advised_to_infer_its_weights(tmp_path, capsys):
    """Units with spikes and nothing like a weight series: inspect advises inferring the
    weights (--weights-from spikes --decay G), not `--synapses PRE:POST --weights PATH` for
    a series the file does not have; the command it then prints names each flag once."""
    rng = np.random.default_rng(5)
    nwb = nwbfile()
    nwb.add_unit_column("location", "recording site")
    for uid, site in enumerate(["CA3", "CA3", "CA1", "CA1"]):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 60, 600)), id=uid, location=site)
    path = write(nwb, tmp_path / "spikes_only.nwb")
    report = inspect_file(path)
    assert not report.ready
    assert "--weights-from spikes" in report.command() and "--weights PATH" not in report.command()
    rc, out = _follow(path, capsys, "--pre-units", "location=CA3", "--post-units",
                      "location=CA1", "--weights-from", "spikes", "--decay", "0")
    assert rc == 0 and "ready for `plastix estimate`" in out, out
    assert _advised(out).count("--weights-from") == 1
