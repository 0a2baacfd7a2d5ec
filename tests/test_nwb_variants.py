"""Standard NWB files in the variations other tools write (pynwb, MatNWB-like layouts).

Each test builds a small file with pynwb calls in ``tmp_path`` and checks that
the standard reader either maps it right or refuses it with one message naming
what was expected, what was found and the fix.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from plastix.io import load_record

pynwb = pytest.importorskip("pynwb")

from nwb_builders import add_plasticity, nwbfile, write  # noqa: E402

PRE, POST = [0, 1, 2], [10, 11]


def _units(nwb, *, role=True, columns=None, duration=20.0, seed=0):
    """Units ``PRE`` and ``POST`` with Poisson spikes (20 Hz); ``columns``: name -> fn(role)."""
    gen = np.random.default_rng(seed)
    if role:
        nwb.add_unit_column("role", "pre or post")
    for name in columns or {}:
        nwb.add_unit_column(name, name)
    for r, ids in (("pre", PRE), ("post", POST)):
        for u in ids:
            kw = {name: fn(r) for name, fn in (columns or {}).items()}
            if role:
                kw["role"] = r
            train = np.sort(gen.uniform(0.0, duration, int(20 * duration)))
            nwb.add_unit(spike_times=train, id=u, **kw)


PAIRS = [(p, q) for q in POST for p in PRE]


def test_series_conversion_and_offset_are_applied(tmp_path):
    """A weight series stored as int16 with ``conversion`` and ``offset``, and an activity
    series stored as int16 with ``conversion``, read as ``data * conversion + offset``
    (NWB's meaning), eagerly and lazily -- not as the raw integers."""
    from plastix.io.nwb import open_standard_nwb

    nwb = nwbfile("variants", "variant-1")
    _units(nwb)
    gen = np.random.default_rng(1)
    raw_w = (1000 + gen.integers(-20, 20, (21, len(PAIRS))).cumsum(0)).astype(np.int16)
    add_plasticity(nwb, np.arange(21.0), raw_w, PAIRS, conversion=1e-3, offset=0.5)
    raw_a = gen.integers(0, 3000, (2000, len(PRE))).astype(np.int16)
    ecephys = nwb.create_processing_module("ecephys", "firing rates")
    ecephys.add(pynwb.TimeSeries(name="pre_rates", data=raw_a, unit="Hz", conversion=0.01,
                                 rate=100.0, starting_time=0.0))
    path = write(nwb, tmp_path / "scaled.nwb")

    rec = load_record(path, pre_activity="pre_rates")
    want_w = raw_w * 1e-3 + 0.5
    for k, (pre, post) in enumerate(PAIRS):
        assert_allclose(rec["weight"].sel(pre=pre, post=post).values, want_w[:, k])
    assert_allclose(rec["pre_activity"].values, raw_a * 0.01)
    lazy = open_standard_nwb(path, pre_activity="pre_rates")
    try:
        assert_allclose(lazy["pre_activity"][5:9, 1:3].values, raw_a[5:9, 1:3] * 0.01)
    finally:
        lazy.close()


def test_column_value_selection_compares_numbers_as_numbers(tmp_path):
    """``COLUMN=VALUE`` on a float column (MatNWB writes numbers as doubles) selects by
    value (``depth=100`` finds ``100.0``), on a bool column by ``true``/``false``, on a
    text column by the text; several values, ``!=`` and numeric comparisons select too
    (a comparison never selects text); a value no unit has is refused listing the values."""
    from plastix._util.errors import SchemaError

    nwb = nwbfile("variants", "variant-1")
    _units(nwb, role=False, columns={"depth": lambda r: 100.0 if r == "pre" else 250.0,
                                     "is_pre": lambda r: r == "pre",
                                     "location": lambda r: "CA3" if r == "pre" else "CA1"})
    add_plasticity(nwb, np.arange(5.0), np.ones((5, len(PAIRS))), PAIRS)
    path = write(nwb, tmp_path / "columns.nwb")
    for pre, post in (("depth=100", "depth=250"), ("depth=1e2", "depth=250.0"),
                      ("is_pre=true", "is_pre=False"), ("location=CA3", "location=CA1"),
                      ("depth<200", "depth>=250"), ("depth<=100", "depth>100.5"),
                      ("location!=CA1", "location=CA1,CA2"), ("location==CA3", "is_pre!=true")):
        rec = load_record(path, pre_units=pre, post_units=post)
        assert rec["pre"].values.tolist() == PRE and rec["post"].values.tolist() == POST
    with pytest.raises(SchemaError, match=r"units with depth == '99', and there is none.*values "
                       r"'100.0', '250.0'"):
        load_record(path, pre_units="depth=99", post_units="depth=250")
    with pytest.raises(SchemaError, match=r"units with location < 5, and there is none"):
        load_record(path, pre_units="location<5", post_units="depth=250")  # text: no number
    with pytest.raises(ValueError, match=r"`pre_units` must be a list of unit ids .* or "
                       r"COLUMN=VALUE .*got 'depth<deep'"):
        load_record(path, pre_units="depth<deep", post_units="depth=250")


def _weights(nwb, n=21):
    return add_plasticity(nwb, np.arange(float(n)), np.ones((n, len(PAIRS))), PAIRS)


def test_overlapping_epochs_are_refused_with_plain_times_and_the_flags_that_work(tmp_path):
    """Overlapping epochs (with tags) cannot be segments: one message with the times as
    plain numbers (no ``np.float64(...)``) and the ``--segments`` choices that would work,
    including the trials table the file has; that choice then reads."""
    from plastix._util.errors import SchemaError

    nwb = nwbfile("variants", "variant-1")
    _units(nwb)
    _weights(nwb)
    nwb.add_epoch(0.0, 10.0, tags=["baseline"])
    nwb.add_epoch(8.0, 20.0, tags=["pairing"])
    nwb.add_trial(0.0, 5.0)
    nwb.add_trial(10.0, 15.0)
    path = write(nwb, tmp_path / "overlap.nwb")
    with pytest.raises(SchemaError) as err:
        load_record(path)
    msg = str(err.value)
    assert "starting at 8 s begins before the previous one stops at 10 s" in msg
    assert "np.float64" not in msg and "\n" not in msg
    assert "--segments none or --segments trials" in msg
    rec = load_record(path, segments="trials")
    assert rec["segment"].values.tolist() == [0] * 500 + [1] * 500


def test_a_file_without_units_is_refused_for_what_it_lacks_and_reads_with_series(tmp_path):
    """No ``Units`` table: the refusal says so (not "add a column 'role'") and names the
    activity flags; with both activity series named and their column ids given, it reads."""
    from plastix._util.errors import SchemaError

    nwb = nwbfile("variants", "variant-1")
    _weights(nwb)
    gen = np.random.default_rng(2)
    rates = nwb.create_processing_module("ecephys", "firing rates")
    for r, ids in (("pre", PRE), ("post", POST)):
        rates.add(pynwb.TimeSeries(name=f"{r}_rates", data=gen.random((2000, len(ids))),
                                   unit="Hz", rate=100.0, starting_time=0.0))
    path = write(nwb, tmp_path / "no_units.nwb")
    with pytest.raises(SchemaError, match=r"has no Units table.*Found: no Units table; "
                                          r"TimeSeries .*pre_rates.*--pre-activity PATH"):
        load_record(path)
    rec = load_record(path, pre_activity="pre_rates", post_activity="post_rates",
                      pre_units=PRE, post_units=POST)
    assert rec["pre"].values.tolist() == PRE and rec.sizes["time"] == 2000


def test_synapse_ids_in_no_table_and_of_the_other_role_get_their_own_fix(tmp_path):
    """A synapse row naming an id that is no unit of the file is an error of the synapse
    table (fix its rows or pass --synapses), not a role mapping; an id of a unit of the
    other role still says to map the roles."""
    from plastix._util.errors import SchemaError

    for pairs, want in (([*PAIRS[:-1], (77, 11)], r"pre_unit ids that are no unit of the "
                         r"file: 77\. Found: pre units 0, 1, 2\. Fix those rows.*--synapses"),
                        ([*PAIRS[:-1], (10, 11)], r"pre_unit ids that are not presynaptic "
                         r"units: 10\..*Map the roles with --pre-units")):
        nwb = nwbfile("variants", "variant-1")
        _units(nwb)
        add_plasticity(nwb, np.arange(5.0), np.ones((5, len(pairs))), pairs)
        path = write(nwb, tmp_path / "synapses.nwb")
        with pytest.raises(SchemaError, match=want):
            load_record(path)


def test_a_spike_only_file_is_refused_with_the_hint_to_infer_the_weights(tmp_path):
    """Units with spikes of both roles and no weight series: the refusal names
    ``--weights-from spikes`` as the README says, next to ``--weights PATH``."""
    from plastix._util.errors import SchemaError

    nwb = nwbfile("variants", "variant-1")
    _units(nwb)
    path = write(nwb, tmp_path / "spikes.nwb")
    with pytest.raises(SchemaError, match=r"no weights.*--weights PATH; or, to infer the "
                                          r"weights from the spike trains, .*--weights-from "
                                          r"spikes"):
        load_record(path)


def test_synapse_columns_that_reference_units_rows_map_to_their_ids(tmp_path):
    """``pre_unit`` / ``post_unit`` as DynamicTableRegions into the Units table (row
    indices, not ids) map to the ids of those rows; a column of text is refused in one
    message naming the column and its values."""
    from plastix._util.errors import SchemaError

    nwb = nwbfile("variants", "variant-1")
    _units(nwb)
    rows = [*PRE, *POST]  # the Units table's row of each id
    add_plasticity(nwb, np.arange(4.0), np.tile(np.arange(float(len(PAIRS))), (4, 1)),
                   [(rows.index(pre), rows.index(post)) for pre, post in PAIRS], region=nwb.units)
    path = write(nwb, tmp_path / "region.nwb")
    rec = load_record(path)
    for k, (pre, post) in enumerate(PAIRS):
        assert_allclose(rec["weight"].sel(pre=pre, post=post).values, k)

    nwb = nwbfile("variants", "variant-1")
    _units(nwb)
    add_plasticity(nwb, np.arange(4.0), np.ones((4, 1)), [("cell-a", "cell-b")])
    path = write(nwb, tmp_path / "text.nwb")
    with pytest.raises(SchemaError, match=r"the column 'pre_unit' of the synapse table "
                                          r"'processing/plasticity/synapses' must hold integer "
                                          r"unit ids .*Found: values 'cell-a'"):
        load_record(path)


def test_a_spike_under_an_epochs_overhanging_last_bin_is_counted_once(tmp_path):
    """Bins tile each epoch from its start, so an epoch of 1.005 s at 10 ms bins ends in
    a bin reaching 5 ms into the next epoch: a spike there belongs to the next epoch
    alone, and the spike count of the record equals the file's."""
    nwb = nwbfile("variants", "variant-1")
    nwb.add_unit_column("role", "pre or post")
    nwb.add_unit(spike_times=[0.5, 1.007, 1.5], id=0, role="pre")
    nwb.add_unit(spike_times=[0.25, 1.75], id=10, role="post")
    add_plasticity(nwb, [0.0, 0.9, 1.1, 1.9], np.ones((4, 1)), [(0, 10)])
    nwb.add_epoch(0.0, 1.005)
    nwb.add_epoch(1.005, 2.0)
    rec = load_record(write(nwb, tmp_path / "edge.nwb"), bin_size=0.01)
    counts = np.nansum(rec["pre_activity"].values * 0.01, axis=0)
    assert_allclose(counts, [3.0])


def test_bins_outside_a_units_obs_intervals_are_not_recorded(tmp_path):
    """NWB's ``obs_intervals`` say when each unit was observed: a bin starting outside
    them is NaN (not recorded), not 0 Hz, for that unit alone; intervals may come in
    any order and overlap.  The estimator then leaves that unit's synapses out of the
    intervals it misses instead of reading silence."""
    nwb = nwbfile("variants", "variant-1")
    nwb.add_unit_column("role", "pre or post")
    gen = np.random.default_rng(3)
    observed = {0: [[10.0, 20.0], [0.0, 4.0], [2.0, 5.0]]}  # unit 0 lost over [5, 10) s
    for r, ids in (("pre", PRE), ("post", POST)):
        for u in ids:
            train = np.sort(gen.uniform(0.0, 20.0, 400))
            if u in observed:
                train = train[(train < 5.0) | (train >= 10.0)]
            nwb.add_unit(spike_times=train, id=u, role=r,
                         obs_intervals=observed.get(u, [[0.0, 20.0]]))
    add_plasticity(nwb, np.arange(21.0), gen.normal(size=(21, len(PAIRS))).cumsum(0), PAIRS)
    path = write(nwb, tmp_path / "obs.nwb")
    rec = load_record(path, bin_size=0.1)
    t = rec["time"].values
    pre = rec["pre_activity"].values
    past = t >= 20.0 - 1e-9  # the bin [20, 20.1) of the last weight sample: nobody observed
    lost = ((t >= 5.0 - 1e-9) & (t < 10.0 - 1e-9)) | past
    assert np.isnan(pre[lost, 0]).all() and np.isfinite(pre[~lost, 0]).all()
    assert np.isnan(pre[past]).all() and np.isnan(rec["post_activity"].values[past]).all()
    assert np.isfinite(pre[~past, 1:]).all()
    assert np.isfinite(rec["post_activity"].values[~past]).all()
    # the observed bins hold every spike of the unit: its rate over the 15 s it was
    # observed (about 20 Hz), not diluted by the 5 s gap read as silence
    n_spikes = np.asarray(nwb.units["spike_times"][0]).size
    assert np.nansum(pre[:, 0]) * 0.1 == pytest.approx(n_spikes)
    assert np.nanmean(pre[:, 0]) == pytest.approx(n_spikes / 15.0)
    # over [5, 10) s the alignment is that of the synapses of units 1 and 2 alone
    from plastix.estimate import HebbianEstimator

    kw = dict(n_boot=20, n_null=0, rng=0, decay=0.0)
    whole = HebbianEstimator(**kw).fit(rec).per_interval_.values
    rest = rec.drop_vars([v for v in rec.variables if "spike" in v]).isel(pre=[1, 2])
    alone = HebbianEstimator(**kw).fit(rest).per_interval_.values
    assert_allclose(whole[5:10], alone[5:10], rtol=1e-12)
    assert np.abs(whole[:5] - alone[:5]).max() > 0.05  # unit 0 counts where it was observed


def test_outside_intervals_matches_a_direct_check():
    """The merged-interval lookup agrees with testing every interval for every bin."""
    from plastix.io.spike_bins import outside_intervals

    gen = np.random.default_rng(0)
    for _ in range(50):
        k = int(gen.integers(0, 6))
        a = gen.uniform(0, 10, k)
        iv = np.column_stack([a, a + gen.uniform(-0.5, 3, k)])  # some empty or reversed
        grid = np.sort(gen.uniform(-1, 12, 200))
        direct = ~((grid[:, None] >= iv[None, :, 0]) & (grid[:, None] < iv[None, :, 1])).any(1)
        np.testing.assert_array_equal(outside_intervals(iv, grid), direct)


def test_epochs_in_another_unit_than_the_spikes_are_flagged(tmp_path):
    """Epochs written in ms against spike times in s: refused in one line naming both spans
    and the likely fix (99.9% of the rows' time would read as 0 Hz); rows mostly but not
    almost all outside the data are warned about; rows that hold no weight sample at all
    are refused in one line instead of an empty record."""
    def with_epochs(name, *rows):
        nwb = nwbfile("variants", "variant-1")
        _units(nwb)
        _weights(nwb)
        for start, stop in rows:
            nwb.add_epoch(start, stop)
        return write(nwb, tmp_path / name)

    ms = with_epochs("ms.nwb", (0.0, 10000.0), (10000.0, 20000.0))
    with pytest.raises(Exception, match=r"ms.nwb.*the 2 rows of the epochs table \(0-20000 s\) "
                       r"last 20000 s in all, and 99.9% .*within 0-20 s.*divide them by 1000"):
        load_record(ms, bin_size=0.1)
    long = with_epochs("long.nwb", (0.0, 10.0), (10.0, 50.0))
    with pytest.warns(UserWarning, match=r"long.nwb: the 2 rows of the epochs table \(0-50 s\) "
                      r"last 50 s in all, but .* within 0-20 s, so 60% .*divide them by 1000"):
        load_record(long, bin_size=0.1)
    nwb = nwbfile("variants", "variant-1")
    _units(nwb)
    _weights(nwb)
    nwb.add_trial(1000.0, 1020.0)
    with pytest.raises(Exception, match=r"no weight sample lies in any of the 1 row of the trials "
                       r"table \(1000-1020 s\)\. Found: weights sampled at 0-20 s\..*"
                       r"--segments none") as err:
        load_record(write(nwb, tmp_path / "late.nwb"), bin_size=0.1)
    assert "\n" not in str(err.value)


def test_units_are_selected_by_their_electrodes_location_and_group(tmp_path):
    """Spike-sorted units of two shanks (CA3, CA1), their location only in the electrodes
    table as pynwb files usually keep it: ``location=CA3`` / ``location=CA1`` select the
    roles through the Units ``electrodes`` column, ``electrode_group`` cells read as the
    group's name, and inspect lists them in one line each."""
    from plastix.io import inspect_file

    nwb = nwbfile("variants", "variant-1")
    dev = nwb.create_device(name="probe")
    groups = {loc: nwb.create_electrode_group(name=f"shank-{loc}", description="shank",
                                              location=loc, device=dev)
              for loc in ("CA3", "CA1")}
    for loc in ("CA3", "CA3", "CA1", "CA1"):
        nwb.add_electrode(group=groups[loc], location=loc)
    gen = np.random.default_rng(4)
    for u, (loc, rows) in enumerate([("CA3", [0]), ("CA3", [1]), ("CA3", [0, 1]),
                                     ("CA1", [2]), ("CA1", [2, 3])]):
        nwb.add_unit(spike_times=np.sort(gen.uniform(0, 20, 200)), id=u, electrodes=rows,
                     electrode_group=groups[loc])
    add_plasticity(nwb, np.arange(21.0), np.ones((21, 6)),
                   [(p, q) for q in (3, 4) for p in (0, 1, 2)])
    path = write(nwb, tmp_path / "shanks.nwb")
    rec = load_record(path, pre_units="location=CA3", post_units="location=CA1")
    assert rec["pre"].values.tolist() == [0, 1, 2] and rec["post"].values.tolist() == [3, 4]
    same = load_record(path, pre_units="electrode_group=shank-CA3",
                       post_units="electrode_group=shank-CA1")
    assert same["pre"].values.tolist() == [0, 1, 2]
    text = str(inspect_file(path))
    assert "column location (from the units' electrodes): 'CA1' (2), 'CA3' (3)" in text
    assert "column electrode_group: 'shank-CA1' (2), 'shank-CA3' (3)" in text
    assert "pynwb" not in text.split("NWB (standard, read with pynwb)")[1]  # no object reprs


def test_weights_without_a_synapse_table_take_their_synapses_as_pairs(tmp_path):
    """A weight series kept in ``acquisition`` with no synapse table: inspect names it and
    the flags that read it; ``synapses`` given as pairs (Python) or ``PRE:POST,...`` text
    (command line) reads the same record as the file with a table; a pair count other than
    the series' columns is refused in one line."""
    from plastix.io import inspect_file

    gen = np.random.default_rng(5)
    w = 1.0 + np.cumsum(gen.normal(size=(21, len(PAIRS))) * 0.01, axis=0)

    def lab_file(name, *, table):
        nwb = nwbfile("variants", "variant-1")
        _units(nwb)
        if table:
            add_plasticity(nwb, np.arange(21.0), w, PAIRS)
        else:
            nwb.add_acquisition(pynwb.TimeSeries(name="epsp_slope", data=w, unit="mV/ms",
                                                 timestamps=np.arange(21.0)))
        return write(nwb, tmp_path / name)

    ref = load_record(lab_file("table.nwb", table=True))
    bare = lab_file("bare.nwb", table=False)
    text = ",".join(f"{p}:{q}" for p, q in PAIRS)
    for synapses in (PAIRS, text):
        rec = load_record(bare, weights="acquisition/epsp_slope", synapses=synapses)
        assert_allclose(rec["weight"].values, ref["weight"].values, rtol=0)
    said = str(inspect_file(bare))
    assert ("a series that may hold the weights: acquisition/epsp_slope (6 column(s)); read it "
            "with --weights acquisition/epsp_slope --synapses PRE:POST,PRE:POST,...") in said
    from plastix._util.errors import SchemaError

    with pytest.raises(SchemaError, match=r"`synapses` must give one PRE:POST pair per column "
                       r"of 'acquisition/epsp_slope' \(6\), in column order\. Found: 2 pair"):
        load_record(bare, weights="acquisition/epsp_slope", synapses="0:10,1:10")
    with pytest.raises(SchemaError, match=r"`synapses` names pre_unit ids that are no unit of "
                       r"the file: 7\. .*Give each pair as ids of the Units table"):
        load_record(bare, weights="acquisition/epsp_slope", synapses=text.replace("0:", "7:"))


@pytest.mark.parametrize(("pre", "post"), [("Pre", "Post"), ("presynaptic", "postsynaptic"),
                                           ("Pre-synaptic", "POST SYNAPTIC"), (" pre", "post ")])
def test_role_values_as_labs_write_them(tmp_path, pre, post):
    """The ``role`` column read without regard to case or spaces, spelt out or not."""
    nwb = nwbfile("variants", "variant-1")
    nwb.add_unit_column("role", "pre or post")
    gen = np.random.default_rng(6)
    for u, role in ((0, pre), (1, pre), (2, post)):
        nwb.add_unit(spike_times=np.sort(gen.uniform(0, 20, 100)), id=u, role=role)
    add_plasticity(nwb, np.arange(21.0), np.ones((21, 2)), [(0, 2), (1, 2)])
    rec = load_record(write(nwb, tmp_path / "roles.nwb"))
    assert rec["pre"].values.tolist() == [0, 1] and rec["post"].values.tolist() == [2]


def test_a_unit_observed_outside_the_record_is_named(tmp_path):
    """A unit whose obs_intervals miss the record altogether: a warning names it (its
    activity is NaN throughout), the others read as usual."""
    nwb = nwbfile("variants", "variant-1")
    nwb.add_unit_column("role", "pre or post")
    gen = np.random.default_rng(8)
    for u, role, seen in ((0, "pre", [[0.0, 20.0]]), (1, "pre", [[50.0, 60.0]]),
                          (2, "post", [[0.0, 20.0]])):
        nwb.add_unit(spike_times=np.sort(gen.uniform(0, 20, 100)), id=u, role=role,
                     obs_intervals=seen)
    add_plasticity(nwb, np.arange(21.0), np.ones((21, 2)), [(0, 2), (1, 2)])
    with pytest.warns(UserWarning, match=r"the obs_intervals of unit\(s\) 1 miss the record "
                      r"\(0-20\.\d+ s\) altogether"):
        rec = load_record(write(nwb, tmp_path / "away.nwb"), bin_size=0.1)
    assert np.isnan(rec["pre_activity"].values[:, 1]).all()
    assert np.isfinite(rec["pre_activity"].values[:-1, 0]).all()


def test_units_with_only_an_electrode_group_are_selected_by_its_location(tmp_path):
    """A Units table with an ``electrode_group`` column and no ``electrodes``: the group's
    ``location`` is the units' location."""
    nwb = nwbfile("variants", "variant-1")
    dev = nwb.create_device(name="probe")
    groups = {loc: nwb.create_electrode_group(name=f"shank-{loc}", description="shank",
                                              location=loc, device=dev)
              for loc in ("CA3", "CA1")}
    gen = np.random.default_rng(9)
    for u, loc in enumerate(["CA3", "CA3", "CA1"]):
        nwb.add_unit(spike_times=np.sort(gen.uniform(0, 20, 100)), id=u,
                     electrode_group=groups[loc])
    add_plasticity(nwb, np.arange(21.0), np.ones((21, 2)), [(0, 2), (1, 2)])
    rec = load_record(write(nwb, tmp_path / "groups.nwb"), pre_units="location=CA3",
                      post_units="location=CA1")
    assert rec["pre"].values.tolist() == [0, 1] and rec["post"].values.tolist() == [2]
