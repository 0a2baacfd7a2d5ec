"""Files as labs' tools leave them (probe 5): a pynapple session whose weights are not named
``weights.npz``, role values spelt ``presyn``, a ``params.py`` saved with a BOM or holding an
expression, Neo roles given as groups, disguised pickles and ``.mat`` files; and inspect's
report, which prints the command when the file is ready."""

from __future__ import annotations

import numpy as np
import pytest
from test_phy_files import _kilosort

from plastix._util.errors import FileFormatError
from plastix.estimate.synthetic import simulate_spike_record
from plastix.io.phy_files import phy_folder


@pytest.fixture(scope="module")
def spike_rec():
    return simulate_spike_record(4, 2, duration=20.0, rng=2)


# ------------------------------------------------------------------ Kilosort params.py


def test_params_py_saved_with_a_bom_reads_its_sample_rate(tmp_path, spike_rec):
    """Windows Notepad saves params.py with a UTF-8 BOM (and CRLF): the first line is
    still ``sample_rate = ...``."""
    folder, _ = _kilosort(tmp_path / "ks", spike_rec)
    (folder / "params.py").write_bytes(
        b"\xef\xbb\xbfsample_rate = 30000.0\r\ndtype = 'int16'\r\n")
    assert phy_folder(folder).sample_rate == 30000.0


@pytest.mark.parametrize("value", ["30 * 1000", "float(30000)"])
def test_a_sample_rate_written_as_an_expression_is_quoted_not_run(tmp_path, spike_rec,
                                                                   value):
    folder, _ = _kilosort(tmp_path / "ks", spike_rec)
    (folder / "params.py").write_text(f"dtype = 'int16'\nsample_rate = {value}\n")
    with pytest.raises(FileFormatError) as err:
        phy_folder(folder)
    text = str(err.value)
    assert "\n" not in text and f"`sample_rate = {value}`" in text
    assert "line 2" in text and "never runs" in text and "`sample_rate = 30000.0`" in text


# ------------------------------------------------------------------ pynapple sessions

nap = pytest.importorskip("pynapple")
PRE, POST = [3, 5, 7], [21, 22]


def _session(folder, rng, *, roles=("pre", "post"), weights="weights", intervals=None):
    """A session as a lab saves it: one TsGroup ``spikes`` of 3 pre and 2 post units
    (metadata ``role``), a TsdFrame of the 6 synapses' weights (metadata ``pre_unit``,
    ``post_unit``) saved as ``weights``.npz, and optionally an IntervalSet ``intervals``."""
    folder.mkdir()
    ids = PRE + POST
    group = nap.TsGroup({u: nap.Ts(np.sort(rng.uniform(0, 40, 200))) for u in ids},
                        time_support=nap.IntervalSet(0, 40))
    group.set_info(role=np.array([roles[0]] * len(PRE) + [roles[1]] * len(POST)))
    group.save(str(folder / "spikes.npz"))
    pairs = [(p, q) for q in POST for p in PRE]
    tw = np.arange(0.0, 41.0, 4.0)
    frame = nap.TsdFrame(t=tw, d=1 + 0.01 * rng.standard_normal((tw.size, len(pairs))),
                         columns=list(range(len(pairs))), time_support=nap.IntervalSet(0, 40))
    frame.set_info(pre_unit=np.array([p for p, _ in pairs]),
                   post_unit=np.array([q for _, q in pairs]))
    frame.save(str(folder / f"{weights}.npz"))
    if intervals is not None:
        nap.IntervalSet(start=[0.0, 20.0], end=[19.0, 40.0]).save(
            str(folder / f"{intervals}.npz"))
    return folder


@pytest.mark.parametrize("roles", [("presyn", "postsyn"), ("Pre-syn", "Post_Syn"),
                                   ("presynaptic", "post-synaptic"), ("Pre ", " post")])
def test_role_values_spelt_presyn_postsyn_read_as_pre_post(tmp_path, rng, roles):
    from plastix.io import read_pynapple_session
    from plastix.io.unit_select import role_value

    assert (role_value(roles[0]), role_value(roles[1])) == ("pre", "post")
    rec = read_pynapple_session(_session(tmp_path / "s", rng, roles=roles))
    assert rec["pre"].values.tolist() == PRE and rec["post"].values.tolist() == POST


def test_role_values_that_say_no_role_get_the_flags_the_weights_support(tmp_path, rng,
                                                                        capsys):
    """``source``/``target`` are not role spellings; the refusal and inspect print the
    selection by that column in the direction of the weights' pre_unit/post_unit."""
    from plastix._util.errors import SchemaError
    from plastix.cli import main
    from plastix.io import inspect_file, read_pynapple_session

    folder = _session(tmp_path / "s", rng, roles=("target", "source"))  # pre units: target
    with pytest.raises(SchemaError) as err:
        read_pynapple_session(folder)
    flags = "--pre-units role=target --post-units role=source"
    assert flags in str(err.value) and "\n" not in str(err.value)
    report = inspect_file(folder)
    assert not report.ready and flags in report.command()
    assert main(["inspect", str(folder), "--pre-units", "role=target", "--post-units",
                 "role=source", "--decay", "0"]) == 0
    assert "ready for `plastix estimate`" in capsys.readouterr().out


def test_inspect_reads_a_weight_frame_not_named_weights_and_offers_the_intervals(
        tmp_path, rng, capsys):
    """``epsp_slopes.npz`` (pre_unit/post_unit metadata) is the weights: the command reads
    it with --weights (inferring them from the spikes is named as the alternative only),
    and ``sessions.npz`` is offered as --segments sessions."""
    from plastix.cli import main
    from plastix.io import inspect_file

    folder = _session(tmp_path / "s", rng, weights="epsp_slopes", intervals="sessions")
    report = inspect_file(folder)
    assert "--weights epsp_slopes" in report.command()
    assert "--weights-from" not in report.command()
    assert "100% of synapses measured" in report.record and "3 pre x 2 post" in report.record
    assert any("--weights-from spikes" in f for f in report.found)  # the alternative
    assert any("--segments sessions" in a for a in report.advice)
    assert report.command().endswith("--decay G")  # no input silent: the decay is needed
    flags = ["0" if f == "G" else f for f in report.command().split()[3:]]
    assert main(["inspect", str(folder), *flags]) == 0
    assert "ready for `plastix estimate`" in capsys.readouterr().out


# ------------------------------------------------------------------ inspect's report


def test_a_file_ready_without_flags_still_gets_the_command(tmp_path, spike_rec, capsys):
    """The README says inspect prints the ``plastix estimate`` command: also when the file
    needs no flag."""
    from plastix.cli import main
    from plastix.io import inspect_file, save_record

    rec = spike_rec.copy()
    rec["decay"] = rec["decay"].copy(data=0.0)
    path = save_record(rec, tmp_path / "rec.nc")
    report = inspect_file(path)
    assert report.ready and report.flags == []
    lines = str(report).splitlines()
    assert lines[-3:] == ["the command:", f"  plastix estimate {path}",
                          "ready for `plastix estimate`"]
    assert main(["inspect", str(path)]) == 0
    assert f"  plastix estimate {path}\n" in capsys.readouterr().out


# ------------------------------------------------------------------ what is not a record


@pytest.mark.parametrize("name", ["x.nc", "x.nwb", "x.nix", "x.npz"])
def test_a_pickle_under_another_suffix_is_called_unsafe_not_just_misnamed(tmp_path, name):
    import pickle

    from plastix.io import load_record

    path = tmp_path / name
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    with pytest.raises(FileFormatError) as err:
        load_record(path)
    text = str(err.value)
    assert "\n" not in text and "its content is pickle" in text
    assert "runs any code" in text and "do not open it unless you trust" in text.lower()
    assert "'x.pkl'" in text and "allow_pickle" in text


def test_a_mat_file_gets_the_way_to_a_file_plastix_reads(tmp_path, capsys):
    """``.mat`` is no format of plastix's; Neo's list of IOs says which of them reads it,
    and the message says how to convert it once (through Neo, or as a record)."""
    from plastix.cli import main
    from plastix.io import load_record

    path = tmp_path / "cell12.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(ValueError) as err:
        load_record(path)
    text = str(err.value)
    assert "\n" not in text and "got 'cell12.mat' (suffix '.mat')" in text
    assert "neo.io.NeoMatlabIO" in text and "plastix.io.write_block(block, 'cell12.nix')" in text
    assert "plastix.io.save_record(rec, 'cell12.nc')" in text
    assert main(["inspect", str(path)]) == 2
    assert "neo.io.NeoMatlabIO" in capsys.readouterr().err


# ------------------------------------------------------------------ Neo roles as groups


def _lab_block(rec, *, groups=True):
    """The record as a lab's Neo block: spike trains and the weight signal, no rates nor
    plastix's annotations; with ``groups``, each train's role given by its membership of
    ``Block.groups`` named 'pre' / 'post' instead of ``annotations['role']``."""
    import neo

    from plastix.io import to_neo

    block = to_neo(rec)
    block.annotations.clear()
    seg = block.segments[0]
    seg.analogsignals = [s for s in seg.analogsignals if not s.name.endswith("_rate")]
    if groups:
        for role in ("pre", "post"):
            trains = [st for st in seg.spiketrains if st.annotations["role"] == role]
            block.groups.append(neo.Group(objects=trains, name=role))
        for st in seg.spiketrains:
            del st.annotations["role"]
    return block


@pytest.mark.parametrize("suffix", [".nix", ".pkl"])
def test_neo_roles_given_as_groups_read_as_the_annotated_block(tmp_path, spike_rec, suffix):
    from plastix.io import load_record, open_record, write_block

    ref = load_record(write_block(_lab_block(spike_rec, groups=False), tmp_path / "ref.nix"))
    path = write_block(_lab_block(spike_rec), tmp_path / f"groups{suffix}")
    assert ref.sizes["pre"] == 4 and ref.sizes["post"] == 2
    for read in (load_record, open_record):
        rec = read(path, allow_pickle=True)
        for v in ("pre_spike_time", "pre_spike_unit", "post_spike_time", "weight"):
            np.testing.assert_array_equal(rec[v].values, ref[v].values)
        rec.close()


@pytest.mark.parametrize("fault", ["both", "neither", "contradicts"])
def test_a_train_in_both_role_groups_or_in_neither_is_refused_naming_it(tmp_path, spike_rec,
                                                                        fault):
    from plastix._util.errors import SchemaError
    from plastix.io import load_record, write_block

    block = _lab_block(spike_rec)
    pre, post = block.groups
    train = post.spiketrains[0]
    train.name = "cell-b"
    if fault == "both":
        pre.add(train)
    elif fault == "neither":
        post.spiketrains.remove(train)
    else:
        train.annotations["role"] = "pre"
    path = write_block(block, tmp_path / "bad.nix")
    with pytest.raises(SchemaError) as err:
        load_record(path)
    text = str(err.value)
    assert "\n" not in text and "spike train 4 ('cell-b')" in text
    assert {"both": "in both the group 'pre' and the group 'post'",
            "neither": "in no group named for a role",
            "contradicts": "has annotations['role'] = 'pre' but is in the group 'post'",
            }[fault] in text


# ------------------------------------------------------------------ wording


def test_the_default_support_warning_says_what_a_loaded_group_needs(tmp_path, rng):
    """A group saved from ``nap.load_file(nwb)`` has pynapple's default support: the user
    never called nap.TsGroup, so the warning names the loaders and how to rebuild it."""
    from plastix.io import read_pynapple_session

    folder = tmp_path / "s"
    folder.mkdir()
    nap.TsGroup({0: nap.Ts(np.sort(rng.uniform(0, 40, 300))),
                 7: nap.Ts(np.sort(rng.uniform(1, 39, 30)))},
                metadata={"role": ["pre", "post"]}).save(str(folder / "units.npz"))
    nap.TsdFrame(t=np.arange(0.0, 41.0, 4.0), d=np.ones((11, 1)),
                 metadata={"pre_unit": [0], "post_unit": [7]}).save(str(folder / "weights.npz"))
    with pytest.warns(UserWarning) as caught:
        read_pynapple_session(folder)
    text = next(str(w.message) for w in caught if "pynapple's default" in str(w.message))
    assert "\n" not in text and "nap.load_file" in text
    assert "time_support=nap.IntervalSet(START, END)" in text and "pass (or save)" in text


def test_inspect_says_obs_intervals_are_durations_and_tags_a_slope_series_as_weights(
        tmp_path):
    """``obs_intervals: 15-20 s observed per unit`` read as a time range: the line says the
    durations; an ``epsp_slope`` series is a candidate weight series, not activation."""
    pynwb = pytest.importorskip("pynwb")
    from nwb_builders import add_synapses, nwbfile, write

    from plastix.io import inspect_file

    nwb = nwbfile()
    nwb.add_unit_column("role", "pre or post")
    gen = np.random.default_rng(0)
    for uid, role, observed in ((0, "pre", [[0.0, 15.0]]), (1, "pre", [[0.0, 20.0]]),
                                (10, "post", [[0.0, 5.0], [8.0, 20.0]])):
        nwb.add_unit(spike_times=np.sort(gen.uniform(0, 15, 50)), id=uid, role=role,
                     obs_intervals=observed)
    mod = nwb.create_processing_module("ephys_analysis", "slopes")
    mod.add(pynwb.TimeSeries(name="epsp_slope", data=np.ones((11, 2)), unit="mV/ms",
                             timestamps=np.arange(0.0, 21.0, 2.0)))
    add_synapses(mod, [(0, 10), (1, 10)])
    report = inspect_file(write(nwb, tmp_path / "slopes.nwb"))
    obs = next(f for f in report.found if "obs_intervals" in f)
    assert "observed for 15 to 20 s in all (durations, not times)" in obs
    line = next(f for f in report.found if f.startswith("TimeSeries processing/ephys_analysis"))
    assert "(candidate weights)" in line and "activation" not in line
