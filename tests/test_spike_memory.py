"""Spike-only recordings take the memory of their spikes: weights are inferred without
binning the spikes into (bins x units) rates, and the inferred record is written
compressed, its rates binned a block of rows at a time, with the numbers of the record
binned whole."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from plastix.io.spike_bins import SpikeRates

WINDOW = 4.0
"""Inference window (s) of these 20 s recordings."""


def _spike_only_nwb(path, rng):
    """A lab's spike-only standard NWB file (pynwb calls, no weights): 6 pre and 3 post
    units at about 20 Hz over 20 s in two epochs; pre unit 1 and post unit 7 observed on
    part of the session only (their bins outside are NaN, not 0 Hz)."""
    pytest.importorskip("pynwb")
    from nwb_builders import nwbfile, write

    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    for u in range(9):
        train = np.sort(rng.uniform(0.0, 20.0, 400))
        observed = [[0.0, 6.0], [9.0, 20.0]] if u in (1, 7) else [[0.0, 20.0]]
        nwb.add_unit(spike_times=train, id=u, role="pre" if u < 6 else "post",
                     obs_intervals=observed)
    nwb.add_epoch(0.0, 10.004)
    nwb.add_epoch(10.004, 20.0)
    return write(nwb, path)


@pytest.fixture
def binned(monkeypatch):
    """The rows of every :class:`SpikeRates` read, in order (a spy on its binning)."""
    rows: list[int] = []
    fill = SpikeRates._fill

    def spy(self, out, sel):
        rows.append(out.shape[0])
        return fill(self, out, sel)

    monkeypatch.setattr(SpikeRates, "_fill", spy)
    return rows


def _infer_quietly(record):
    from plastix.estimate import infer_weights

    with pytest.warns(UserWarning, match="not recorded"):  # units 1 and 7: partly observed
        return infer_weights(record, window=WINDOW)


def test_inference_bins_no_spike(tmp_path, rng, binned):
    """Inferring from a lazily opened spike-only file never bins its spikes (the gaps of a
    partly observed unit come from its observation intervals), and gives the numbers of
    the record binned whole."""
    from plastix.io import load_record, open_record

    path = _spike_only_nwb(tmp_path / "spikes.nwb", rng)
    lazy = open_record(path, weights_from="spikes")
    try:
        out = _infer_quietly(lazy)
        assert binned == []  # the dense rates were never realised
        assert isinstance(out["pre_activity"].variable._data.array, SpikeRates)
        whole = _infer_quietly(load_record(path, weights_from="spikes"))
        xr.testing.assert_identical(out.load(), whole)
        for name in ("weight", "weight_sem"):  # bit for bit, NaN where NaN
            assert out[name].values.tobytes() == whole[name].values.tobytes()
    finally:
        lazy.close()


def test_infer_weights_writes_rates_compressed_a_block_at_a_time(tmp_path, rng, binned,
                                                                 monkeypatch):
    """`plastix infer-weights` bins each row once, a block of rows at a time, while writing;
    the file is compressed, smaller than its arrays, and reads back, whole or by rows, as
    the record inferred from the file read whole."""
    import h5py

    from plastix.cli import main
    from plastix.io import load_record, netcdf
    from plastix.io.netcdf import open_netcdf

    monkeypatch.setattr(netcdf, "CHUNK_VALUES", 50, raising=False)  # 2001 bins: 8 chunks a block
    monkeypatch.setattr(netcdf, "BLOCK_VALUES", 400, raising=False)
    path = _spike_only_nwb(tmp_path / "spikes.nwb", rng)
    out = tmp_path / "weights.nc"
    with pytest.warns(UserWarning, match="not recorded"):
        assert main(["infer-weights", str(path), "--window", str(WINDOW),
                     "--out", str(out)]) == 0
    written = list(binned)
    whole = _infer_quietly(load_record(path, weights_from="spikes"))
    assert sum(written) == 2 * whole.sizes["time"]  # each row of pre and post rates, once
    assert max(written) <= 8 * (50 // 3) < whole.sizes["time"]  # by blocks of 8 chunks
    raw = sum(whole[v].values.nbytes for v in whole.variables)
    assert out.stat().st_size < raw
    with h5py.File(out, "r") as f:
        for name in ("pre_activity", "post_activity", "weight", "pre_spike_time"):
            assert f[name].compression == "gzip", name
        assert f["pre_activity"].chunks == (50 // 6, 6)
    back = load_record(out)
    xr.testing.assert_identical(back, whole)
    for name in ("pre_activity", "post_activity", "weight", "weight_sem"):
        assert back[name].values.tobytes() == whole[name].values.tobytes(), name
    lazy = open_netcdf(out)
    try:
        rows = lazy["pre_activity"][995:1010].values  # a read across chunks
        assert rows.tobytes() == whole["pre_activity"].values[995:1010].tobytes()
    finally:
        lazy.close()


def test_written_rates_beyond_bound_are_refused_as_in_memory(tmp_path, rng):
    """Activity written by blocks is checked as the record held in memory is: inf is refused
    with validate_record's message, and no file is left."""
    from plastix._util.errors import SchemaError
    from plastix.io import load_record, save_record
    from plastix.io.netcdf import open_netcdf
    from plastix.record import validate_record

    rec = _infer_quietly(load_record(_spike_only_nwb(tmp_path / "s.nwb", rng),
                                     weights_from="spikes"))
    bad = rec.copy(deep=True)
    bad["post_activity"].values[1500, 2] = np.inf
    bad.to_netcdf(tmp_path / "bad.nc", engine="h5netcdf")  # by hand: not validated
    with pytest.raises(SchemaError) as whole:
        validate_record(bad, stage="to_netcdf")
    lazy = open_netcdf(tmp_path / "bad.nc")
    try:
        assert not lazy["post_activity"].variable._in_memory
        with pytest.raises(SchemaError) as streamed:
            save_record(lazy, tmp_path / "out.nc")
    finally:
        lazy.close()
    assert str(streamed.value) == str(whole.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nc", "s.nwb"]


def test_expected_counts_in_place_are_the_formula(rng):
    """The jitter baseline, summed in place, is bit for bit the four integrals' formula."""
    from plastix.estimate.infer import _pair_counts

    q = np.sort(rng.uniform(0.0, 50.0, 700))
    t = np.sort(rng.uniform(-1.0, 51.0, 3000))
    lo, hi, jitter = 0.0, 0.010, 0.05

    def integral(x):
        k = np.searchsorted(q, x, side="right")
        return x * k - np.where(k > 0, np.cumsum(q)[np.maximum(k - 1, 0)], 0.0)

    f = [integral(t + s * jitter + lag) for lag in (hi, lo) for s in (1, -1)]
    formula = (f[0] - f[1] - f[2] + f[3]) / (2 * jitter)
    _, exp = _pair_counts(q, t, lo, hi, "jitter", jitter, 0, None)
    assert exp.tobytes() == formula.tobytes()


def test_ccg_by_runs_of_windows_is_one_pass(tmp_path, rng, monkeypatch):
    """ccg's working memory is bounded by taking whole windows at a time; the weights, their
    SEM and the counts are bit for bit those of one pass over all the spikes."""
    from plastix.estimate import infer
    from plastix.io import load_record

    rec = load_record(_spike_only_nwb(tmp_path / "s.nwb", rng), weights_from="spikes")
    one = _infer_quietly(rec)
    taken, window_runs = [], infer._window_runs
    monkeypatch.setattr(infer, "_window_runs", lambda *a: taken.append(window_runs(*a))
                        or taken[-1])
    monkeypatch.setattr(infer, "CCG_SPIKES", 700)  # a 4 s window holds ~480 pre spikes
    runs = _infer_quietly(rec)
    assert taken == [[(0, 1), (1, 2)]] * 2  # two segments of two windows, one at a time
    for name in ("weight", "weight_sem", "pre_spike_count"):
        assert runs[name].values.tobytes() == one[name].values.tobytes(), name
    monkeypatch.setattr(infer, "CCG_SPIKES", 2)
    k = np.array([0, 0, 1, 2, 2, 2, 4, -1, 5])  # -1, 5: outside the segment's 5 windows
    assert window_runs(k, 5, 0) == [(0, 1), (1, 2), (2, 3), (3, 5)]
    assert window_runs(k, 5, 3) == [(0, 5)]  # surrogates: their draws in one pass
