"""A circuit sweep saves each finished point as it finishes and resumes from them."""

from __future__ import annotations

import pytest
import xarray as xr

pytest.importorskip("brian2")

from plastix.circuits import SpikingCircuitConfig, sweep_spiking  # noqa: E402
from plastix.circuits import sweep as sweep_module  # noqa: E402

pytestmark = pytest.mark.brian2

CFG = SpikingCircuitConfig(rule="error", eta=5.0, n_pre=6, n_post=2, duration=0.5,
                           weight_interval=0.125, record_synapses=None)
KW = dict(decay=[0.5, 3.0], noise=[0.0, 2.0], rng=3, progress=False, target="numpy")


def _counting(monkeypatch):
    """Count the points simulated (run_point calls in this process)."""
    calls = []
    real = sweep_module.run_point

    def counted(model, point, **kw):
        calls.append(point)
        return real(model, point, **kw)

    monkeypatch.setattr(sweep_module, "run_point", counted)
    return calls


@pytest.mark.slow  # 17-27 s; kill/resume also in test_safety, test_executor and test_ann_sweep
def test_a_cut_sweep_resumes_to_the_same_summary(tmp_path, monkeypatch):
    """Four points saved as they finish; with one lost (a kill mid-point), the rerun
    simulates only that one and the summary is the uncached sweep's, to the byte; another
    rng or another configuration reuses nothing; a grid that grows reuses what it shares."""
    plain = sweep_spiking(CFG, **KW).summary
    first = sweep_spiking(CFG, **KW, cache=tmp_path)
    xr.testing.assert_identical(first.summary, plain)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    points = sorted(folder.glob("seed*.json"))
    assert len(points) == 4 and (folder / "config.json").exists()
    points[1].unlink()
    calls = _counting(monkeypatch)
    again = sweep_spiking(CFG, **KW, cache=tmp_path)
    assert len(calls) == 1 and again.timings["n_cached"] == 3
    assert all(again.summary[v].values.tobytes() == plain[v].values.tobytes()
               for v in plain.data_vars)
    calls.clear()
    sweep_spiking(CFG, **{**KW, "rng": 4}, cache=tmp_path)
    assert len(calls) == 4  # other seeds and structure: nothing reused
    calls.clear()
    grown = sweep_spiking(CFG, **{**KW, "noise": [0.0, 2.0, 4.0]}, cache=tmp_path)
    assert len(calls) == 2  # only the new noise level's two points
    xr.testing.assert_identical(grown.summary.sel(noise=[0.0, 2.0]), plain)
    calls.clear()
    sweep_spiking(CFG.replace(eta=4.0), **KW, cache=tmp_path)
    assert len(calls) == 4


def test_a_damaged_point_file_is_simulated_again_and_keep_records_is_refused(tmp_path):
    first = sweep_spiking(CFG, **KW, cache=tmp_path)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    next(iter(sorted(folder.glob("seed*.json")))).write_text("{not json")
    again = sweep_spiking(CFG, **KW, cache=tmp_path)
    assert again.timings["n_cached"] == 3
    xr.testing.assert_identical(again.summary, first.summary)
    with pytest.raises(ValueError, match=r"`cache` saves each point's summary, not its record"):
        sweep_spiking(CFG, **KW, cache=tmp_path, keep_records=True)


def test_a_cache_that_is_a_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "points.txt"
    path.write_text("mine")
    with pytest.raises(ValueError, match=r"`cache` must be a folder; .* is an existing file\."):
        sweep_spiking(CFG, **KW, cache=path)
    assert path.read_text() == "mine"
