"""pynapple sessions as labs save them, probe 5: epoch names, float and repeated ids,
upper-case suffixes, the weights among other series, plastix.json, a session named `.`."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from plastix._util.errors import FileFormatError
from plastix.cli import main
from plastix.io import from_pynapple, inspect_file, load_record, to_pynapple, write_pynapple_session

nap = pytest.importorskip("pynapple")

SUPPORT = (0.0, 60.0)


def _group(rng, ids, **meta):
    return nap.TsGroup({k: nap.Ts(np.sort(rng.uniform(*SUPPORT, 300))) for k in ids},
                       time_support=nap.IntervalSet(*SUPPORT), metadata=meta or None)


def _weights(rng, pre, post, columns=None):
    t = np.arange(0.0, 60.0, 3.0)
    d = np.tile(np.arange(1.0, len(pre) + 1.0), (t.size, 1)) + rng.normal(0, 0.01, (t.size,
                                                                                     len(pre)))
    return nap.TsdFrame(t=t, d=d, columns=columns,
                        metadata={"pre_unit": list(pre), "post_unit": list(post)})


def _session(folder, rng, weights=None):
    folder.mkdir(exist_ok=True)
    _group(rng, (0, 1)).save(str(folder / "pre.npz"))
    _group(rng, (7,)).save(str(folder / "post.npz"))
    (weights or _weights(rng, [0, 1], [7, 7])).save(str(folder / "weights.npz"))
    return folder


def _read(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return from_pynapple(*args, **kwargs)


def test_epochs_named_by_condition_are_segments_in_order_of_first_appearance(rng):
    pre, post, w = _group(rng, (0, 1)), _group(rng, (7,)), _weights(rng, [0, 1], [7, 7])
    epochs = nap.IntervalSet(start=[0.0, 20.0, 40.0], end=[19.0, 39.0, 60.0],
                             metadata={"segment": ["baseline", "pairing", "pairing"]})
    rec = _read(pre, post, w, epochs=epochs, decay=0.01)
    assert np.unique(rec["segment"].values).tolist() == [0, 1]
    assert (rec["segment"].values[rec["time"].values < 20] == 0).all()


@pytest.mark.parametrize("segment, says", [([0.0, np.nan], "no value in row(s) [1]"),
                                           ([2, 1], "rows 0 and 1 hold 2 then 1"),
                                           (["a", "b", "a"], "rows 1 and 2 hold 'b' then 'a'")])
def test_a_segment_column_without_a_value_or_falling_is_refused_naming_it(rng, segment, says):
    n = len(segment)
    edges = np.linspace(0.0, 60.0, n + 1)
    epochs = nap.IntervalSet(start=edges[:-1], end=edges[1:] - 1.0, metadata={"segment": segment})
    with pytest.raises(ValueError, match="metadata column 'segment'") as err:
        _read(_group(rng, (0, 1)), _group(rng, (7,)), _weights(rng, [0, 1], [7, 7]),
              epochs=epochs)
    assert says in str(err.value)


def test_float_unit_ids_are_the_whole_numbers_and_round_trip(tmp_path, rng):
    pre = _group(rng, (0, 1), unit=[1.0, 2.0])
    rec = _read(pre, _group(rng, (9,)), _weights(rng, [1.0, 2.0], [9, 9]))
    assert rec["pre"].values.tolist() == [1, 2] and rec["pre"].dtype.kind == "i"
    again = _read(**to_pynapple(rec))
    np.testing.assert_array_equal(again["weight"].values, rec["weight"].values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        disk = load_record(write_pynapple_session(rec, tmp_path / "s"))
    np.testing.assert_array_equal(disk["weight"].values, rec["weight"].values)


def test_float_synapse_ids_in_a_folder_name_the_int_units(tmp_path, rng, capsys):
    folder = _session(tmp_path / "s", rng, _weights(rng, [0.0, 1.0], [7.0, 7.0]))
    rec = load_record(folder, decay=0.01)
    assert int(np.isfinite(rec["weight"].values).any(axis=0).sum()) == 2
    main(["inspect", str(folder)])
    out = capsys.readouterr().out
    assert "no column of" not in out and "--pre-units 0.0" not in out


def test_repeated_weight_labels_keep_each_synapse_when_some_are_left_out(tmp_path, rng):
    folder = tmp_path / "s"
    folder.mkdir()
    loc = ["CA3"] * 3 + ["CA1"] * 2
    _group(rng, (0, 1, 2, 7, 9), location=loc).save(str(folder / "units.npz"))
    _weights(rng, [0, 1, 2], [7, 7, 9], columns=[7, 7, 9]).save(str(folder / "weights.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = load_record(folder, pre_units="location=CA3", post_units="7")
    for pre, level in ((0, 1.0), (1, 2.0)):
        np.testing.assert_allclose(rec["weight"].sel(pre=pre, post=7).values, level, atol=0.1)


def test_an_upper_case_npz_suffix_is_read(tmp_path, rng):
    folder = _session(tmp_path / "s", rng)
    os.rename(folder / "weights.npz", folder / "weights.NPZ")
    lower = load_record(_session(tmp_path / "t", np.random.default_rng(5)), decay=0.01)
    upper = load_record(folder, decay=0.01)
    assert upper["weight"].shape == lower["weight"].shape
    assert np.isfinite(upper["weight"].values).any()


def test_inspect_offers_the_frame_that_names_synapses_not_a_position_trace(tmp_path, rng):
    folder = _session(tmp_path / "s", rng)
    os.rename(folder / "weights.npz", folder / "slopes.npz")
    nap.Tsd(t=np.arange(0.0, 60.0, 0.1), d=rng.normal(size=600)).save(str(folder / "pos.npz"))
    text = str(inspect_file(folder))
    assert "--weights slopes" in text and "--weights pos" not in text


@pytest.mark.parametrize("saved, says", [('{"decay": "unknown"}', "'decay' must be"),
                                         ('{"bin_size": "10 ms"}', "'bin_size' must be"),
                                         ('{"bin_size": -1}', "'bin_size' must be"),
                                         ('{"decay": true}', "got True"),
                                         ('[0.01]', "JSON object")])
def test_a_bad_plastix_json_is_refused_naming_the_file_and_key(tmp_path, rng, saved, says):
    folder = _session(tmp_path / "s", rng)
    (folder / "plastix.json").write_text(saved)
    with pytest.raises(FileFormatError, match="plastix.json") as err:
        load_record(folder)
    assert says in str(err.value)


def test_a_session_given_as_dot_names_its_results_after_the_folder(tmp_path, rng,
                                                                    monkeypatch, capsys):
    folder = _session(tmp_path / "session1", rng)
    out = tmp_path / "out"
    monkeypatch.chdir(folder)
    main(["estimate", ".", "--decay", "0.01", "--n-null", "19", "--n-boot", "50",
          "--out", f"{out}/"])
    assert sorted(p.name for p in out.iterdir()) == ["session1_estimate.json",
                                                     "session1_estimate.nc"]
    assert "plastix estimate session1" in capsys.readouterr().out
