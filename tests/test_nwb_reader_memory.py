"""The standard NWB reader holds a spike-only file's spikes few times at once.

The reader reads the ``Units`` table's spike times as one array (each unit's train a
sorted view into it, not a copy per unit and another when sorted) and builds each role's
spikes one role and one array at a time, each working copy freed once converted.  The
record must stay what the earlier reader made (checked against its algorithm, kept here as
a reference).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from nwb_builders import add_units, nwbfile, write

import plastix.io.nwb as nwb_mod
from plastix.io.nwb import open_standard_nwb, read_standard_nwb
from plastix.io.nwb_scan import open_nwb, scan_nwb

N_UNITS, PER_UNIT = 10, 10_000  # 100 000 spikes: 0.76 MiB a float64 copy


@pytest.fixture(scope="module")
def spike_file(tmp_path_factory):
    """A spike-only file: pre = odd ids, post = even ids, over 600 s."""
    rng = np.random.default_rng(0)
    nwb = nwbfile()
    add_units(nwb, [(i, np.sort(rng.uniform(0, 600, PER_UNIT)), "post" if i % 2 else "pre")
                    for i in range(N_UNITS)])
    return write(nwb, tmp_path_factory.mktemp("mem") / "spikes.nwb")


def test_unit_trains_are_views_into_one_array(spike_file):
    """scan_nwb reads the spike times once: every unit's train is a view into one array
    (the earlier reader kept one array per unit, read and then sorted into a copy)."""
    io = open_nwb(spike_file)
    try:
        c = scan_nwb(io.read(), src=spike_file)
    finally:
        io.close()
    assert len(c.spikes) == N_UNITS
    bases = {id(t.base) for t in c.spikes}
    assert len(bases) == 1 and c.spikes[0].base is not None
    assert all(np.all(np.diff(t) >= 0) for t in c.spikes)


def test_build_record_transient_memory(spike_file, monkeypatch):
    """Memory traced while the record is built, above what the record holds at the end,
    in float64 copies of the spikes.  Measured (this file, eager read, 2026-12-03): the
    earlier reader 2.92 copies (peak 6.10, record 3.18: per-unit trains, both roles'
    working copies, the sort permutation and a copy grouped by unit alive together); this
    one 1.57 (peak 4.75: the file's spikes, read once, plus one role's working copy)."""
    read_standard_nwb(spike_file, weights_from="spikes", bin_size=1.0)  # caches warmed
    starts = []
    scan = nwb_mod.scan_nwb

    def spy(*args, **kwargs):  # from the moment the Units table is read
        starts.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.reset_peak()
        return scan(*args, **kwargs)

    monkeypatch.setattr(nwb_mod, "scan_nwb", spy)
    tracemalloc.start()
    try:
        ds = read_standard_nwb(spike_file, weights_from="spikes", bin_size=1.0)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    copy = N_UNITS * PER_UNIT * 8
    assert ds.sizes["pre_spike"] + ds.sizes["post_spike"] == N_UNITS * PER_UNIT
    assert (held - starts[0]) / copy > 2.5  # the record's time, unit and segment arrays
    assert (peak - held) / copy < 2.25


def _reference_spikes(trains, ids, role, segs):
    """The earlier reader's ``{role}_spike_*`` arrays: NaN dropped, sorted per unit, spikes
    outside every segment row left out, ordered by time then unit (lexsort)."""
    t, unit, seg = [], [], []
    for uid, (times, r) in trains.items():
        if r != role:
            continue
        x = np.sort(np.asarray(times, float)[~np.isnan(times)])
        if segs is None:
            row = np.zeros(x.size, np.int64)
        else:
            start, stop = segs
            row = np.searchsorted(start, x, side="right") - 1
            ok = row >= 0
            ok[ok] = x[ok] <= stop[row[ok]]
            row = np.where(ok, row, -1)
        keep = row >= 0
        t.append(x[keep])  # a lab's epochs: no time offset
        unit.append(np.full(keep.sum(), ids.index(uid), np.int64))
        seg.append(row[keep])
    t, unit, seg = (np.concatenate(a) for a in (t, unit, seg))
    order = np.lexsort((unit, t))
    return t[order], np.asarray(ids, np.int64)[unit[order]], seg[order]


@pytest.mark.parametrize("epochs", [False, True])
def test_record_spikes_as_before(tmp_path, epochs):
    """NaN-padded, unsorted, empty and tied trains, with and without epochs: the record's
    spike arrays are the earlier reader's, and the lazily binned activity equals the eager."""
    nan = np.nan
    trains = {3: ([0.5, 0.2, nan, 2.0, 5.5, nan], "pre"), 1: ([0.2, 1.0, 4.0, 9.0], "pre"),
              7: ([], "pre"), 2: ([3.0, 0.3, 0.2, 6.5, nan], "post"),
              4: ([0.2, 0.2, 8.0, 1.5], "post")}
    nwb = nwbfile()
    add_units(nwb, [(u, np.asarray(t, float), r) for u, (t, r) in trains.items()])
    segs = None
    if epochs:
        start, stop = np.array([0.1, 4.5]), np.array([2.0, 7.0])
        for a, b in zip(start, stop, strict=True):
            nwb.add_epoch(start_time=a, stop_time=b)
        segs = (start, stop)
    path = write(nwb, tmp_path / "ragged.nwb")
    with pytest.warns(UserWarning, match="NaN spike time"):
        ds = read_standard_nwb(path, weights_from="spikes", bin_size=0.5)
    for role in ("pre", "post"):
        ids = [int(u) for u in ds[role].values]
        want = _reference_spikes(trains, ids, role, segs)
        got = ds[f"{role}_spike_time"].values, ds[f"{role}_spike_unit"].values
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        seg_ids = np.unique(ds["segment"].values)
        np.testing.assert_array_equal(ds[f"{role}_spike_segment"].values, seg_ids[want[2]])
    with pytest.warns(UserWarning, match="NaN spike time"):
        lazy = open_standard_nwb(path, weights_from="spikes", bin_size=0.5)
    try:
        for role in ("pre", "post"):
            np.testing.assert_array_equal(np.asarray(lazy[f"{role}_activity"].values),
                                          ds[f"{role}_activity"].values)
        assert lazy.drop_vars(["pre_activity", "post_activity"]).identical(
            ds.drop_vars(["pre_activity", "post_activity"]))
    finally:
        lazy.close()
