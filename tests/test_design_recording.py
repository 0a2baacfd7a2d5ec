"""`plastix design --recording-length`: power of the Hebbian verdict on inferred weights."""

from __future__ import annotations

import numpy as np
import pytest

TINY = dict(rate=40.0, g_max=0.25, lengths=(24.0,), window=2.0)


def test_power_and_shortest_length_of_a_tiny_circuit():
    pytest.importorskip("brian2")
    from plastix.circuits.stdp_lif import STDPConfig
    from plastix.design.recording import power_table, recording_length

    # dt = 1 ms halves the 0.5 ms default's time steps (19 -> 12 s on 2 cores)
    ds = recording_length(20, 1, n_replicates=2, config=STDPConfig(dt=1e-3, a_plus=0.05),
                          target="numpy", rng=0, progress=False, **TINY)
    assert ds["verdict"].dims == ("replicate", "length") and ds["verdict"].shape == (2, 1)
    verdicts = ds["verdict"].values
    assert set(verdicts.ravel()) <= {"hebbian", "anti_hebbian", "indeterminate"}
    power = (verdicts == "hebbian").mean(0)
    np.testing.assert_array_equal(ds["power"].values, power)
    assert (ds["power_low"].values <= power).all() and (power <= ds["power_high"].values).all()
    reached = power >= 0.8
    assert (ds.attrs["shortest_length"] == 24.0) if reached[0] else np.isnan(
        ds.attrs["shortest_length"])
    assert np.isfinite(ds["inference_p"].values).all()
    assert (ds["ci_low"].values <= ds["alignment"].values).all()
    assert '"n_pre": 20' in ds.attrs["circuit"] and '"duration": 24.0' in ds.attrs["circuit"]
    table = power_table(ds)
    assert table.columns[0] == "length_s" and table["replicates"].tolist() == [2]


@pytest.mark.slow  # 22 s on the 2-core machine; kill/resume also in test_safety and test_executor
def test_a_killed_run_resumes_with_the_finished_replicates_kept(tmp_path, monkeypatch):
    """Each finished replicate is written at once; a rerun measures only the missing ones
    and gives the same dataset as the uninterrupted run."""
    pytest.importorskip("brian2")
    import xarray as xr

    from plastix.circuits.stdp_lif import STDPConfig
    from plastix.design import recording

    kw = dict(n_replicates=2, config=STDPConfig(dt=5e-4, a_plus=0.05), target="numpy",
              rng=3, progress=False, resume_dir=tmp_path / "resume", **TINY)
    first = recording.recording_length(20, 1, **kw)
    (folder,) = (tmp_path / "resume").iterdir()
    saved = sorted(p.name for p in folder.glob("replicate-*.json"))
    assert len(saved) == 2
    (folder / saved[1]).unlink()  # as if killed while the second replicate ran
    ran = []
    real = recording.replicate_verdicts

    def counted(*args, **kwargs):
        ran.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(recording, "replicate_verdicts", counted)
    again = recording.recording_length(20, 1, **kw)
    assert ran == [first.attrs["seeds"][1]]  # only the lost replicate is simulated again
    xr.testing.assert_identical(first, again)
    assert sorted(p.name for p in folder.glob("replicate-*.json")) == saved


def test_too_few_intervals_is_refused_before_simulating():
    from plastix.design.recording import recording_length

    with pytest.raises(ValueError, match=r"fewer than 10 weight intervals.*window <= 9\.09"):
        recording_length(20, 1, lengths=(100.0, 200.0), window=20.0)


@pytest.mark.slow
def test_cli_writes_the_power_table(tmp_path, capsys):
    pytest.importorskip("brian2")
    import pandas as pd
    import xarray as xr

    from plastix.cli import main

    out = tmp_path / "len"
    assert main(["design", "--recording-length", "--n-pre", "20", "--rate", "40", "--g-max",
                 "0.25", "--lengths", "24", "--window", "2", "--replicates", "1",
                 "--brian2-target", "numpy", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "shortest length with power >= 0.8" in text and "recording_length.csv" in text
    table = pd.read_csv(out / "recording_length.csv")
    assert table["length_s"].tolist() == [24.0] and table["replicates"].tolist() == [1]
    ds = xr.load_dataset(out / "recording_length.nc")
    assert ds["verdict"].shape == (1, 1)
    assert main(["design", "--recording-length", "--lengths", "24,x", "--out",
                 str(tmp_path / "bad")]) != 0
    assert "--lengths: expected seconds separated by commas" in capsys.readouterr().err


def test_replicate_seeds_of_a_larger_design_begin_with_a_smaller_ones():
    """The documented promise: n seeds drawn at once from an int rng are the first n of a
    larger draw (numpy's Generator.integers), so a grown design reuses saved replicates."""
    import numpy as np

    from plastix._util.rng import resolve_rng

    small = resolve_rng(7).integers(0, 2**31 - 1, 5)
    large = resolve_rng(7).integers(0, 2**31 - 1, 12)
    np.testing.assert_array_equal(large[:5], small)
