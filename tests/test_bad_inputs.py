"""One table of bad inputs and the exact messages plastix answers them with.

Each row: (id, callable that triggers the error, exception type, exact message
regex).  Every message names the variable, what was expected and what was found.
Areas append their rows in their own section, above the test function.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from plastix._util.validate import check_int, check_number

CASES: list[tuple[str, object, type, str]] = []

# --- record and alignment ---------------------------------------------------

def _rec(**over):
    """A small valid record's arguments, with some replaced."""
    from plastix import record as R

    rng = np.random.default_rng(0)
    kw = dict(pre_activity=rng.random((20, 5)), post_activity=rng.random((20, 3)),
              weight=rng.normal(size=(3, 3, 5)), time=np.arange(20) * 0.1,
              weight_time=[0.0, 1.0, 2.0], dt=0.1)
    kw.update(over)
    return lambda: R.make_record(kw.pop("pre_activity"), kw.pop("post_activity"),
                                 kw.pop("weight"), **kw)


def _with_inf(shape, where):
    a = np.ones(shape)
    a[where] = np.inf
    return a


def _ds_edit(edit):
    def go():
        from plastix import record as R

        ds = _rec()()
        R.validate_record(edit(ds.copy(deep=True)))
    return go


def _set_attr(ds, var, key, val):
    ds[var].attrs[key] = val
    return ds


def _align(fn, *args, **kw):
    def go():
        from plastix import alignment as A

        getattr(A, fn)(*args, **kw)
    return go


_W53 = np.ones((5, 3))
_W35 = np.ones((3, 5))

CASES += [
    ("record-weight-pre-post-order", _rec(weight=np.ones((3, 5, 3))), ValueError,
     r"`weight` must have shape \(weight_time, post, pre\) = \(\.\.\., 3, 5\) to match "
     r"post_activity and pre_activity; got \(3, 5, 3\)\. plastix stores weights as \(post, pre\), "
     r"like torch\.nn\.Linear; did you pass W\.T\?"),
    ("record-weight-shape-mismatch", _rec(weight=np.ones((3, 4, 5))), ValueError,
     r"`weight` must have shape \(weight_time, post, pre\) = \(\.\.\., 3, 5\) to match "
     r"post_activity and pre_activity; got \(3, 4, 5\)\."),
    ("record-pre-rows-mismatch", _rec(pre_activity=np.ones((19, 5))), ValueError,
     r"`pre_activity` must have one row per time bin \(20 bins in `time`\); got shape \(19, 5\)\. "
     r"Activity is \(time, unit\); did you pass it transposed\?"),
    ("record-weight-samples-mismatch", _rec(weight_time=[0.0, 1.0]), ValueError,
     r"`weight` must have one sample per entry of `weight_time` \(2\); got 3\."),
    ("record-activity-inf", _rec(pre_activity=_with_inf((20, 5), (3, 2))),
     __import__("plastix._util.errors", fromlist=["SchemaError"]).SchemaError,
     r"record: `pre_activity` must be finite \(NaN marks a missing value and is allowed here\); "
     r"found 1 inf value, the first at index \(3, 2\)\."),
    ("record-weight-inf", _rec(weight=_with_inf((3, 3, 5), (1, 0, 4))), ValueError,
     r"record: `weight` must be finite \(NaN marks a missing value and is allowed here\); "
     r"found 1 inf value, the first at index \(1, 0, 4\)\."),
    ("record-time-nan", _rec(time=np.r_[np.arange(19) * 0.1, np.nan]), ValueError,
     r"record: `time` must be finite; found 1 NaN or inf value, the first at index \(19,\)\."),
    ("record-time-not-increasing", _rec(time=np.r_[np.arange(10), np.arange(10)] * 0.1),
     ValueError,
     r"record: `time` must be strictly increasing within a segment; it goes from 0\.9 to 0\.0 at "
     r"index 10\. Sort the samples by time or give each session its own `segment`\."),
    ("record-weight-time-not-increasing", _rec(weight_time=[0.0, 2.0, 1.0]), ValueError,
     r"record: `weight_time` must be strictly increasing within a segment; it goes from 2\.0 to "
     r"1\.0 at index 2\. Sort the samples by time or give each session its own "
     r"`weight_segment`\."),
    ("record-empty", _rec(pre_activity=np.ones((0, 5)), post_activity=np.ones((0, 3)),
                          time=np.array([]), dt=0.1), ValueError,
     r"record: the record is empty: `time` has 0 bins; expected at least 1\."),
    ("record-mismatched-activity-units", _rec(activity_units="Hz", post_activity_units="kHz"),
     ValueError,
     r"record: `pre_activity` and `post_activity` hold the same kind \('rate'\) but different "
     r"units: 'Hz' and 'kHz'\. Convert them to one unit\."),
    ("record-mismatched-time-units",
     _ds_edit(lambda ds: _set_attr(ds, "weight_time", "units", "ms")), ValueError,
     r"record: `time` and `weight_time` must share units; got 's' and 'ms'\. Convert one of "
     r"them before building the record\."),
    ("record-unknown-time-units", _rec(time_units="mins"), ValueError,
     r"`time_units` must be one of 's', 'ms', 'min', 'step'; got 'mins'\. Did you mean 'min'\?"),
    ("record-unknown-activity-kind", _rec(activity_kind="rates"), ValueError,
     r"`activity_kind` must be one of 'rate', 'count', 'activation', 'preactivation', "
     r"'fluorescence'; got 'rates'\. Did you mean 'rate'\?"),
    ("record-duplicate-unit-ids", _rec(pre=[0, 1, 1, 2, 3]), ValueError,
     r"`pre` must be unique; got duplicated ids in \[0, 1, 1, 2, 3\]\."),
    ("record-not-a-dataset", lambda: __import__("plastix.record").record.validate_record({}),
     TypeError,
     r"record: expected a plastix record \(xarray\.Dataset from plastix\.record\.make_record or "
     r"load_record\); got dict\."),
    ("record-missing-weight", _ds_edit(lambda ds: ds.drop_vars("weight")), ValueError,
     r"record: `weight` is missing; a plastix record needs pre_activity, post_activity and "
     r"weight\. Found variables: \['decay', 'post_activity', 'pre_activity'\]\."),
    ("record-save-unknown-extension",
     lambda: __import__("plastix.io").io.save_record(_rec()(), "out.ncf"), ValueError,
     r"`path` must end in one of \.h5, \.nc, \.nc4, \.nix, \.nwb, \.pickle, \.pkl; got "
     r"'out\.ncf' \(suffix '\.ncf'\)\. Did you mean '\.nc'\?"),
    ("alignment-transposed-signal", _align("cosine_alignment", _W53, _W35), ValueError,
     r"`signal` and `term` must have the same \(post, pre\) shape; got \(5, 3\) and \(3, 5\)\. "
     r"Did you pass W\.T\? plastix uses \(post, pre\)\."),
    ("alignment-unknown-kernel",
     _align("hebbian_term", np.ones((4, 5)), np.ones((4, 3)), kernel="covarience"), ValueError,
     r"`kernel` must be one of 'product', 'covariance', 'lagged', 'post_activation'; got "
     r"'covarience'\. "
     r"Did you mean 'covariance'\?"),
    ("alignment-sample-mismatch", _align("hebbian_term", np.ones((4, 5)), np.ones((6, 3))),
     ValueError,
     r"`pre` and `post` must have the same number of samples \(axis -2\); got 4 and 6\."),
    ("alignment-lag-out-of-range",
     _align("hebbian_term", np.ones((4, 5)), np.ones((4, 3)), kernel="lagged", lag=0), ValueError,
     r"`lag` must be between 1 and n_samples - 1 \(3\) for the lagged kernel; got 0\."),
    ("alignment-gap-zero-decay", _align("stationarity_gap", _W35, _W35, 0.0), ValueError,
     r"`decay` must be > 0 for the stationarity gap; got 0\.0\."),
]

# --- theory -----------------------------------------------------------------

def _theory(fn, *args, **kw):
    def go():
        from plastix import theory as T

        getattr(T, fn)(*args, **kw)
    return go


CASES += [
    ("theory-fit-alignment-transposed",
     _theory("fit_phase_boundary", np.arange(3.0), np.arange(4.0), np.ones((4, 3))), ValueError,
     r"`alignment` must have shape \(n_sigma, n_gamma\) = \(3, 4\); got \(4, 3\)\. "
     r"Did you pass alignment\.T\? Rows are σ, columns γ\."),
    ("theory-fit-n-boot-float",
     _theory("fit_phase_boundary", np.arange(3.0), np.arange(4.0), np.ones((3, 4)), n_boot=1e3),
     TypeError, r"`n_boot` must be an int; got float 1000\.0\. Pass 1000\."),
    ("theory-fit-gamma-duplicates",
     _theory("fit_phase_boundary", np.arange(3.0), np.array([0.0, 1.0, 1.0]), np.ones((3, 3))),
     ValueError, r"`gamma` must hold distinct grid values; found duplicates \[1\.0\]\. "
     r"Average the repeated cells \(e\.g\. seeds\) first\."),
    ("theory-weak-form-transposed",
     _theory("weak_form", np.ones((5, 3)), np.ones((10, 5)), np.ones((10, 3)), decay=0.1),
     ValueError, r"`mean_signal` must have shape \(n_post, n_pre\) = \(3, 5\); got \(5, 3\)\. "
     r"Did you pass W\.T\? plastix uses \(post, pre\)\."),
    ("theory-lemma1-batch-needs-moment",
     _theory("lemma1_alignment_mass", np.ones((2, 3)), decay=0.1, presyn_norm_sq=1.0,
             batch_size=4), ValueError,
     r"`presyn_second_moment` \(E\[h_a h_aᵀ\], shape \(pre, pre\)\) is needed when "
     r"batch_size > 1; got None with batch_size=4\."),
    ("theory-decay-matrix-asymmetric",
     _theory("lemma1_alignment_mass", np.ones((2, 3)), decay=0.1, presyn_norm_sq=1.0,
             decay_matrix=[[1.0, 1.0], [0.0, 1.0]]), ValueError,
     r"`decay_matrix` must be symmetric: the penalty γ/2 Tr\[Wᵀ D W\] only sees the symmetric "
     r"part of D; got max \|D − Dᵀ\| = 1\. Pass \(D \+ D\.T\) / 2\."),
    ("theory-boundary-teacher-and-samples",
     _theory("boundary_k_linear", decay=0.1, teacher=[1.0, 0.0], x=np.ones((5, 2)),
             y=np.ones(5)), ValueError,
     r"give exactly one of `teacher` \(Gaussian closed form\) or `x` and `y` \(empirical "
     r"moments\); got teacher=array and x=array\."),
    ("theory-noise-negative-sigma",
     _theory("noise_expectation", [1.0, 0.0], [1.0, 0.0], 1.0, sigma=-0.1), ValueError,
     r"`sigma` must be a non-negative finite number \(weight units\); got -0\.1\."),
    ("theory-bound-weight-transposed",
     _theory("alignment_lower_bound", np.ones((3, 2)), x=np.ones((5, 3)), y=np.ones((5, 2)),
             decay=0.1), ValueError,
     r"`weight` must end in \(post, pre\) = \(2, 3\) to match `y` and `x`; got shape "
     r"\(3, 2\)\. Did you pass W\.T\? plastix uses \(post, pre\)\."),
]


# --- io (formats, Neo) -----------------------------------------------------

def _neo_block(edit=None, n_segments=1):
    """A valid convention block (pre spikes, post rates, weights), optionally edited."""
    from plastix._util.optional import import_neo

    neo = import_neo()
    import quantities as pq

    block = neo.Block(name="rig")
    for _ in range(n_segments):
        seg = neo.Segment()
        rate = neo.AnalogSignal(np.ones((4, 2)), units="Hz", sampling_period=10 * pq.ms,
                                name="post_rate", array_annotations={"unit": np.array([0, 1])})
        seg.analogsignals.append(rate)
        st = neo.SpikeTrain([1.0, 12.0] * pq.ms, t_stop=40 * pq.ms, name="cell 3")
        st.annotate(role="pre", unit=3)
        seg.spiketrains.append(st)
        seg.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
            [0.0, 0.04] * pq.s, np.ones((2, 1)), units="dimensionless", name="weight",
            array_annotations={"pre": np.array([3]), "post": np.array([0])}))
        block.segments.append(seg)
    if edit is not None:
        edit(block, neo, pq)
    block.create_relationship()
    return block


def _from_neo(edit=None, n_segments=1, **kw):
    def go():
        from plastix.io import from_neo

        from_neo(_neo_block(edit, n_segments), **kw)
    return go


def _neo_vm_no_weight(block, neo, pq):
    seg = block.segments[0]
    seg.irregularlysampledsignals = []
    seg.analogsignals = [
        neo.AnalogSignal(np.zeros((4, 1)), units="mV", sampling_period=10 * pq.ms, name="Vm"),
        neo.AnalogSignal(np.ones((4, 1)), units="Hz", sampling_period=10 * pq.ms,
                         name="pre_rate", array_annotations={"unit": np.array([3])})]


def _neo_rename_weight(block, neo, pq):
    block.segments[0].irregularlysampledsignals[0].name = "weights"


def _neo_weight_no_pre(block, neo, pq):
    sig = block.segments[0].irregularlysampledsignals[0]
    sig.array_annotations = {"post": np.array([0])}


def _neo_role(value):
    def edit(block, neo, pq):
        block.segments[0].spiketrains[0].annotations["role"] = value
    return edit


def _neo_no_unit(block, neo, pq):
    del block.segments[0].spiketrains[0].annotations["unit"]


def _neo_no_post(block, neo, pq):
    block.segments[0].analogsignals = []


def _neo_rate_no_unit(block, neo, pq):
    block.segments[0].analogsignals[0].array_annotations = {}


def _neo_bad_kind(block, neo, pq):
    block.segments[0].analogsignals[0].annotate(kind="rates")


def _neo_two_widths(block, neo, pq):
    block.segments[1].analogsignals = [neo.AnalogSignal(
        np.ones((2, 2)), units="Hz", sampling_period=20 * pq.ms, name="post_rate",
        array_annotations={"unit": np.array([0, 1])})]


def _neo_decay(value):
    def edit(block, neo, pq):
        block.annotations["decay"] = value
    return edit


def _neo_grids(block, neo, pq):
    block.segments[0].analogsignals.append(neo.AnalogSignal(
        np.ones((4, 1)), units="Hz", sampling_period=5 * pq.ms, name="pre_rate",
        array_annotations={"unit": np.array([3])}))


def _neo_write(name):
    def go():
        import tempfile
        from pathlib import Path

        from plastix.io import write_block

        with tempfile.TemporaryDirectory() as d:
            write_block(_neo_block(), Path(d) / name)
    return go


def _neo_read_missing():
    from plastix.io import read_block

    read_block("/nonexistent/plastix/rig.nix")


def _neo_to_neo_stray_spike():
    from plastix.io import to_neo
    from plastix.record import make_record

    ds = make_record(np.ones((4, 2)), np.ones((4, 1)), np.ones((1, 1, 2)),
                     time=np.arange(4.0), weight_time=[0.0],
                     pre_spikes={"time": [0.5, 1.5], "unit": [1, 7]})
    to_neo(ds)


def _neo_not_a_block():
    from plastix.io import from_neo

    from_neo({"segments": []})


from plastix._util.errors import SchemaError  # noqa: E402

_SEG0 = r"segment 0: "
CASES += [
    ("neo-no-weight", _from_neo(_neo_vm_no_weight), SchemaError,
     r"segment 0: no AnalogSignal named 'weight' or IrregularlySampledSignal named "
     r"'weight'; found signals named \['Vm', 'pre_rate'\]\."),
    ("neo-weight-misnamed", _from_neo(_neo_rename_weight), SchemaError,
     _SEG0 + r"no AnalogSignal named 'weight' or IrregularlySampledSignal named 'weight'; "
     r"found signals named \['post_rate', 'weights'\]\. Rename 'weights' to 'weight'\."),
    ("neo-weight-no-pre-ids", _from_neo(_neo_weight_no_pre), SchemaError,
     _SEG0 + r"the 'weight' signal has no array_annotations\['pre'\]; expected one presynaptic "
     r"unit id per channel \(1 channel\); found array_annotations keys \['post'\]\."),
    ("neo-spiketrain-role-presynaptic", _from_neo(_neo_role("presynaptic")), SchemaError,
     _SEG0 + r"spike train 0 \('cell 3'\) has annotations\['role'\] = 'presynaptic'; "
     r"expected 'pre' or 'post'\."),
    ("neo-spiketrain-role-typo", _from_neo(_neo_role("prre")), SchemaError,
     _SEG0 + r"spike train 0 \('cell 3'\) has annotations\['role'\] = 'prre'; expected 'pre' "
     r"or 'post'\. Did you mean 'pre'\?"),
    ("neo-spiketrain-role-capitalised", _from_neo(_neo_role(" Pre")), SchemaError,
     _SEG0 + r"spike train 0 \('cell 3'\) has annotations\['role'\] = ' Pre'; expected 'pre' "
     r"or 'post'\. Set annotations\['role'\] = 'pre' \(roles are lower case, without "
     r"spaces\)\."),
    ("neo-spiketrain-no-unit", _from_neo(_neo_no_unit), SchemaError,
     _SEG0 + r"spike train 0 \('cell 3'\) has no annotations\['unit'\]; expected the id of "
     r"its presynaptic unit; found annotations \['role'\]\."),
    ("neo-no-post-activity", _from_neo(_neo_no_post), SchemaError,
     r"block: no postsynaptic activity in any segment; expected an AnalogSignal named "
     r"'post_rate' or SpikeTrains with annotations\['role'\] == 'post'; found signals named "
     r"\['weight'\] and spike trains with roles \['pre'\]\."),
    ("neo-rate-no-unit-ids", _from_neo(_neo_rate_no_unit), SchemaError,
     _SEG0 + r"the 'post_rate' signal has no array_annotations\['unit'\]; expected one "
     r"postsynaptic unit id per channel \(2 channels\); found array_annotations keys \[\]\."),
    ("neo-rate-bad-kind", _from_neo(_neo_bad_kind), SchemaError,
     _SEG0 + r"'post_rate' has annotations\['kind'\] = 'rates'; expected one of 'rate', "
     r"'count', 'activation', 'preactivation', 'fluorescence'\. Did you mean 'rate'\?"),
    ("neo-segments-different-bins", _from_neo(_neo_two_widths, n_segments=2), SchemaError,
     r"block: segments have different bin widths \(\[0\.01, 0\.02\] s\); a plastix record "
     r"has one bin width\. Resample the rate signals, or remove them and pass bin_size= to "
     r"bin the spike trains\."),
    ("neo-rate-grids-differ", _from_neo(_neo_grids), SchemaError,
     _SEG0 + r"'pre_rate' and 'post_rate' must share one time grid; got 4 samples over "
     r"\[0, 0\.015\] s and 4 samples over \[0, 0\.03\] s\. Resample one of them\."),
    ("neo-decay-negative", _from_neo(_neo_decay(-0.1)), SchemaError,
     r"block: annotations\['decay'\] must be a non-negative decay rate in 1/s; got -0\.1\."),
    ("neo-decay-bool", _from_neo(_neo_decay(True)), SchemaError,
     r"block: annotations\['decay'\] must be a non-negative decay rate in 1/s; got True\."),
    ("neo-decay-string", _from_neo(_neo_decay("fast")), SchemaError,
     r"block: annotations\['decay'\] must be a non-negative decay rate in 1/s; got 'fast'\."),
    ("neo-empty-block", _from_neo(lambda b, neo, pq: setattr(b, "segments", [])), SchemaError,
     r"block: no Segment; expected at least one Segment \(a session, condition or pairing "
     r"experiment\) holding the activity and a 'weight' signal; found 0\."),
    ("neo-not-a-block", _neo_not_a_block, TypeError,
     r"`block` must be a neo\.Block; got dict\. Read files with plastix\.io\.read_block "
     r"or any neo IO's read_block\(\)\."),
    ("neo-bin-size-negative", _from_neo(bin_size=-0.01), ValueError,
     r"`bin_size` must be a positive finite number \(s\); got -0\.01\."),
    ("neo-write-bad-suffix", _neo_write("rig.nxi"), ValueError,
     r"`path` must end in one of \.nix, \.nwb, \.pickle, \.pkl for a Neo file; got "
     r"'rig\.nxi' \(suffix '\.nxi'\)\. Did you mean '\.nix'\?"),
    ("record-spike-of-unknown-unit", _neo_to_neo_stray_spike, SchemaError,
     r"record: `pre_spike_unit` holds ids that are not in `pre`: \['7'\]; every spike must "
     r"belong to a listed presynaptic unit\."),
    ("neo-read-missing-file", _neo_read_missing, FileNotFoundError,
     r"`path` '/nonexistent/plastix/rig\.nix' does not exist\."),
]


# --- io: bad files (empty, truncated, corrupt, misnamed, unsafe) -------------

def _good_file(path):
    """Write a small valid record to ``path`` (its suffix picks the format)."""
    from plastix.io import save_record

    save_record(_rec()(), path)


def _as_file(ext, edit=None):
    """A maker: a valid ``.ext`` file, optionally edited, written under the asked name."""
    def make(path):
        src = path.with_name("src." + ext)
        _good_file(src)
        data = src.read_bytes()
        src.unlink()
        path.write_bytes(data if edit is None else edit(data))
    return make


def _half(data):
    return data[: len(data) // 2]


def _scramble(data):
    out = bytearray(data)
    out[600:3000] = np.random.default_rng(1).bytes(2400)
    return bytes(out)


def _empty(path):
    path.write_bytes(b"")


def _plain_hdf5(path):
    """A sound HDF5 file written with h5py, without any format's marks."""
    import h5py

    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def _not_a_record(path):
    path.write_bytes(b"plastix: not a record\n" * 50)


def _pynwb_file(path):
    """A standard NWB file as pynwb writes it: a Units table, no obs_intervals."""
    import datetime

    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile(session_description="rig", identifier="rig-1",
                  session_start_time=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
    nwb.add_unit(spike_times=[0.1, 0.2, 0.5])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


class _Touch:
    """Unpickling this creates the file ``path``: a pickle that runs code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _evil_pickle(path):
    import pickle

    path.write_bytes(pickle.dumps(_Touch(path.with_name("ran.txt"))))


def _load_bad(name, make, reader="load_record", **kw):
    """Make a bad file called ``name`` in a fresh folder and read it."""
    def go():
        import tempfile
        from pathlib import Path

        import plastix.io

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / name
            make(path)
            getattr(plastix.io, reader)(path, **kw)
    return go


from plastix._util.errors import FileFormatError, UnsafeFileError  # noqa: E402

_EMPTY = (r"the file is empty \(0 bytes\), probably left by a write or a copy that did not "
          r"finish\. Write or copy it again from the original\.")
_TRUNC = (r"the file is truncated \(HDF5 expects \d+ bytes, found \d+\), probably cut short "
          r"by a copy or a write that did not finish\. Copy it again from the original\.")
_DAMAGED = r"its HDF5 content is damaged \(\w+: .*\)\. Copy it again from the original\."
_RENAME = r"its content is {real}, not {fmt}; the suffix is wrong\. Rename it to '{to}'\."
_NO_FORMAT = (r"its first bytes b'plastix:' match no format plastix reads \(corrupt, or "
              r"another format\)\. Check that it is the file you meant, or copy it again from "
              r"the original\.")
_PICKLE = (r"refusing to read '{name}': it is a pickle file, and unpickling runs any code the "
           r"file contains\. If you trust the file, pass `(--allow-pickle|allow_pickle)` "
           r"\(allow_pickle=True in Python\); better, convert it once to a safe format "
           r"\(\.nc, \.nix, \.nwb\)\.")

CASES += [
    (f"io-empty-{ext}", _load_bad(f"x.{ext}", _empty), FileFormatError,
     rf"cannot read 'x\.{ext}' as {label}: " + _EMPTY)
    for ext, label in (("nc", "NetCDF"), ("nix", "NIX"), ("nwb", "NWB"), ("pkl", "pickle"))
] + [
    (f"io-truncated-{ext}", _load_bad(f"x.{ext}", _as_file(ext, _half)), FileFormatError,
     rf"cannot read 'x\.{ext}' as {label}: " + _TRUNC)
    for ext, label in (("nc", "NetCDF"), ("nix", "NIX"), ("nwb", "NWB"))
] + [
    (f"io-corrupt-{ext}", _load_bad(f"x.{ext}", _as_file(ext, _scramble)), FileFormatError,
     rf"cannot read 'x\.{ext}' as {label}: " + _DAMAGED)
    for ext, label in (("nc", "NetCDF"), ("nix", "NIX"), ("nwb", "NWB"))
] + [
    (f"io-plain-hdf5-{ext}", _load_bad(f"x.{ext}", _plain_hdf5), FileFormatError,
     rf"cannot read 'x\.{ext}' as {label}: it is an HDF5 file that opens, but not in this "
     r"format \(no NWB, NIX or NetCDF marks in its root attributes; the reader said \w+: .*\)\. "
     r"Pass a file written by an NWB \(or NIX, NetCDF\) writer, or convert this one \(e\.g\. "
     r"with pynwb or NeuroConv for NWB\)\.")
    for ext, label in (("nix", "NIX"), ("nwb", "NWB"))
] + [
    ("io-truncated-pkl", _load_bad("x.pkl", _as_file("pkl", _half), allow_pickle=True),
     FileFormatError,
     r"cannot read 'x\.pkl' as pickle: the file ends too early \(UnpicklingError: pickle data "
     r"was truncated\), probably cut short by a copy or a write that did not finish\. Copy it "
     r"again from the original\."),
    ("io-corrupt-pkl", _load_bad("x.pkl", _as_file("pkl", _scramble), allow_pickle=True),
     FileFormatError,
     r"cannot read 'x\.pkl' as pickle: its pickle content is damaged \(\w+: .*\)\. Copy it "
     r"again from the original\."),
    ("io-not-a-record-nc", _load_bad("x.nc", _not_a_record), FileFormatError,
     r"cannot read 'x\.nc' as NetCDF: " + _NO_FORMAT),
    ("io-not-a-record-nix", _load_bad("x.nix", _not_a_record), FileFormatError,
     r"cannot read 'x\.nix' as NIX: " + _NO_FORMAT),
    ("io-directory-nc", _load_bad("x.nc", lambda p: p.mkdir()), FileFormatError,
     r"cannot read 'x\.nc' as NetCDF: it is a directory, not a file\. Pass the path of the "
     r"record file itself\."),
    ("io-nwb-named-nc", _load_bad("x.nc", _as_file("nwb")), FileFormatError,
     r"cannot read 'x\.nc' as NetCDF: " + _RENAME.format(real="NWB", fmt="NetCDF", to=r"x\.nwb")),
    ("io-nix-named-nc", _load_bad("x.nc", _as_file("nix")), FileFormatError,
     r"cannot read 'x\.nc' as NetCDF: " + _RENAME.format(real="NIX", fmt="NetCDF", to=r"x\.nix")),
    ("io-netcdf-named-nix", _load_bad("x.nix", _as_file("nc")), FileFormatError,
     r"cannot read 'x\.nix' as NIX: " + _RENAME.format(real="NetCDF", fmt="NIX", to=r"x\.nc")),
    ("io-nix-named-nwb", _load_bad("x.nwb", _as_file("nix")), FileFormatError,
     r"cannot read 'x\.nwb' as NWB: " + _RENAME.format(real="NIX", fmt="NWB", to=r"x\.nix")),
    ("io-netcdf-named-pkl", _load_bad("x.pkl", _as_file("nc")), FileFormatError,
     r"cannot read 'x\.pkl' as pickle: "
     + _RENAME.format(real="NetCDF", fmt="pickle", to=r"x\.nc")),
    ("io-read-block-standard-nwb", _load_bad("rig.nwb", _pynwb_file, "read_block"),
     FileFormatError,
     r"cannot read 'rig\.nwb' as NWB: it is a standard NWB file \(written by pynwb or another "
     r"tool\), not one in plastix's Neo convention, and neo\.NWBIO cannot read it "
     r"\(KeyError: 'obs_intervals'\)\. Read it as a record with plastix\.io\.load_record "
     r"\(plastix's standard-NWB reader\), and run `plastix inspect \S*rig\.nwb` to see what "
     r"plastix finds in it\."),
    ("io-pickle-refused", _load_bad("evil.pkl", _evil_pickle), UnsafeFileError,
     _PICKLE.format(name=r"evil\.pkl")),
    ("io-read-block-pickle-refused", _load_bad("evil.pickle", _evil_pickle, "read_block"),
     UnsafeFileError, _PICKLE.format(name=r"evil\.pickle")),
]


# --- io: standard NWB files (pynwb) that cannot be mapped --------------------

def _lab_nwb(role=True, weights=True, synapses=True, syn_ids=(0, 10), spikes=True):
    """A maker: a pynwb-written file, with or without roles, weights, synapse table, spikes."""
    def make(path):
        import datetime

        from hdmf.common import DynamicTable
        from pynwb import NWBHDF5IO, NWBFile, TimeSeries

        nwb = NWBFile(session_description="rig", identifier="rig-1",
                      session_start_time=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
        nwb.add_unit_column("location", "site")
        if role:
            nwb.add_unit_column("role", "pre or post")
        for uid, loc, r in ((0, "CA3", "pre"), (10, "CA1", "post")):
            nwb.add_unit(spike_times=[0.1, 0.5, 0.9] if spikes else [], id=uid, location=loc,
                         **({"role": r} if role else {}))
        mod = nwb.create_processing_module("plasticity", "weights")
        if weights:
            mod.add(TimeSeries(name="weight", data=np.array([[1.0], [1.2]]), unit="mV",
                               timestamps=[0.0, 1.0]))
        else:
            mod.add(TimeSeries(name="epsp_slope", data=np.array([[1.0], [1.2]]), unit="mV",
                               timestamps=[0.0, 1.0]))
        if synapses:
            syn = DynamicTable(name="synapses", description="synapses")
            syn.add_column("pre_unit", "pre")
            syn.add_column("post_unit", "post")
            syn.add_row(pre_unit=syn_ids[0], post_unit=syn_ids[1])
            mod.add(syn)
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return make


def _save_nwb_style(name, **kw):
    def go():
        import tempfile
        from pathlib import Path

        from plastix.io import save_record

        with tempfile.TemporaryDirectory() as d:
            save_record(_rec()(), Path(d) / name, **kw)
    return go


from plastix._util.errors import SchemaError  # noqa: E402

_INSPECT = (r"; run `plastix inspect \S*lab\.nwb` to see what plastix finds and the flags that "
            r"map it\.")
_MAP = r"cannot map 'lab\.nwb' \(standard NWB\) to a record: "
_UNITS = (r"a Units table with 2 unit\(s\) \(ids 0, 10\) and columns: location \(values 'CA1', "
          r"'CA3'\)")

CASES += [
    ("io-nwb-no-roles", _load_bad("lab.nwb", _lab_nwb(role=False)), SchemaError,
     _MAP + r"the role of the units cannot be found \(no column 'role' in the Units table, no "
     r"--pre-units\)\. Found: " + _UNITS + r"\. Add a column 'role' \(pre/post\) to the Units "
     r"table, or name the units of each role: --pre-units/--post-units ID,ID,\.\.\. or "
     r"COLUMN=VALUE \(pre_units=/post_units= in Python\)" + _INSPECT),
    ("io-nwb-no-weights", _load_bad("lab.nwb", _lab_nwb(weights=False)), SchemaError,
     _MAP + r"no weights: no TimeSeries 'weight' in a processing module 'plasticity' and no "
     r"`weights`\. Found: TimeSeries processing/plasticity/epsp_slope \(2, 1\)\. Pass the weight "
     r"series as --weights PATH; or, to infer the weights from the spike trains, plastix "
     r"estimate FILE --weights-from spikes \(weights_from='spikes' in Python\)" + _INSPECT),
    ("io-nwb-no-synapses", _load_bad("lab.nwb", _lab_nwb(synapses=False)), SchemaError,
     _MAP + r"no synapse table for the weights 'processing/plasticity/weight': no DynamicTable "
     r"'synapses' next to it and no `synapses`\. Found: tables none\. Pass its synapse table as "
     r"--synapses PATH, or the synapse of each of its 1 column\(s\) as --synapses "
     r"PRE:POST,PRE:POST,\.\.\. \(unit ids, in column order\)" + _INSPECT),
    ("io-nwb-synapse-not-a-unit", _load_bad("lab.nwb", _lab_nwb(syn_ids=(0, 3))), SchemaError,
     _MAP + r"the synapse table 'processing/plasticity/synapses' names post_unit ids that are no "
     r"unit of the file: 3\. Found: post units 10\. Fix those rows of the synapse table \(their "
     r"ids must be ids of the Units table or of the activity series' ROI table\), or name "
     r"another table with --synapses PATH" + _INSPECT),
    ("io-nwb-synapse-other-role", _load_bad("lab.nwb", _lab_nwb(syn_ids=(10, 10))), SchemaError,
     _MAP + r"the synapse table 'processing/plasticity/synapses' names pre_unit ids that are not "
     r"presynaptic units: 10\. Found: pre units 0\. Map the roles with --pre-units" + _INSPECT),
    ("io-nwb-units-column-typo", _load_bad("lab.nwb", _lab_nwb(role=False),
                                           pre_units="locaton=CA3", post_units="location=CA1"),
     SchemaError,
     _MAP + r"`pre_units` selects units by column 'locaton', which the Units table does not "
     r"have \(did you mean 'location'\?\)\. Found: " + _UNITS + r"\. Name one of its columns in "
     r"`pre_units`" + _INSPECT),
    ("io-nwb-units-value-absent", _load_bad("lab.nwb", _lab_nwb(role=False),
                                            pre_units="location=CA2", post_units="location=CA1"),
     SchemaError,
     _MAP + r"`pre_units` selects units with location == 'CA2', and there is none\. Found: "
     r"column 'location' with values 'CA1', 'CA3'\. Choose one of these values in `pre_units`"
     + _INSPECT),
    ("io-nwb-units-malformed", _load_bad("lab.nwb", _lab_nwb(), pre_units="CA3,x"), ValueError,
     r"`pre_units` must be a list of unit ids \(ranges A-B inclusive: '0-79,85'\) or "
     r"COLUMN=VALUE \(e\.g\. 'location=CA1'; "
     r"several values 'location=CA1,CA3'; 'group!=noise'; numbers 'depth<1500', "
     r"'depth>=2000'\); got 'CA3,x'\."),
    ("io-nwb-activity-path-unknown", _load_bad("lab.nwb", _lab_nwb(),
                                               post_activity="processing/ophys/Dff"),
     SchemaError,
     _MAP + r"`post_activity` names 'processing/ophys/Dff', which is no TimeSeries of the file "
     r"\(did you mean 'processing/plasticity/weight'\?\)\. "
     r"Found: TimeSeries processing/plasticity/weight\. Give the full path of one of them as "
     r"`post_activity`" + _INSPECT),
    ("io-nwb-style-typo", _save_nwb_style("x.nwb", nwb_style="standrad"), ValueError,
     r"`nwb_style` must be one of 'neo', 'standard'; got 'standrad'\. Did you mean 'standard'\?"),
    ("io-write-option-wrong-format", _save_nwb_style("x.nc", nwb_style="standard"), TypeError,
     r"`nwb_style` is not a write option of NetCDF files \('x\.nc'\); NetCDF takes no write "
     r"options\."),
    ("io-nwb-reader-option-typo", _load_bad("lab.nwb", _lab_nwb(), pre_unit="0"), TypeError,
     r"read_standard_nwb\(\) got an unknown option `pre_unit`; valid options are pre_units, "
     r"post_units, pre_activity, post_activity, weights, synapses, decay, bin_size, segments, "
     r"units, source, weights_from\. Did you mean 'pre_units'\?"),
]


CASES += [
    ("io-nwb-units-without-spikes", _load_bad("lab.nwb", _lab_nwb(spikes=False)), SchemaError,
     _MAP + r"the pre units have no spike times and no pre activity series is named\. Found: "
     r"a Units table with 2 unit\(s\) \(ids 0, 10\) and columns: location \(values 'CA1', "
     r"'CA3'\), role \(values 'post', 'pre'\); TimeSeries: none\. Name the series that holds "
     r"the presynaptic activity: --pre-activity PATH \(pre_activity= in Python\)" + _INSPECT),
]


# --- ann --------------------------------------------------------------------


def _ann():
    import plastix.ann as ann

    return ann


CASES += [
    ("ann-rule-typo", lambda: _ann().TrainConfig(rule="sdg"), ValueError,
     r"`rule` must be one of 'sgd', 'momentum', 'adam', 'dfa', 'random_nn', 'oja', "
     r"'hebb_pre', 'hebb_post'; got 'sdg'\. Did you mean 'sgd'\?"),
    ("ann-hidden-type", lambda: _ann().TrainConfig(hidden="128"), TypeError,
     r"`hidden` must be a tuple of ints \(hidden widths\); got str '128'\."),
    ("ann-lr-zero", lambda: _ann().TrainConfig(lr=0), ValueError,
     r"`lr` must be a positive finite number; got 0\.0\."),
    ("ann-batch-gt-train", lambda: _ann().TrainConfig(batch_size=512, n_train=256), ValueError,
     r"`batch_size` \(512\) must be <= `n_train` \(256\); otherwise no step is taken\."),
    ("ann-transformer-rule", lambda: _ann().TrainConfig(task="sre_transformer", rule="dfa"),
     ValueError, r"`rule` must be one of 'sgd', 'momentum', 'adam' for "
     r"task='sre_transformer' \(the encoder is trained by backpropagation\); got 'dfa'\."),
    ("ann-train-config-type", lambda: _ann().train({"rule": "sgd"}), TypeError,
     r"`config` must be a plastix\.ann\.TrainConfig; got dict\. Build one with "
     r"TrainConfig\(task=\.\.\., \.\.\.\)\."),
    ("ann-sweep-grid-typo", lambda: _ann().sweep(_ann().TrainConfig(), {"decay": [0]}),
     ValueError, r"`grid` key 'decay' is not a TrainConfig field; valid fields are task, .*"
     r"\(use n_seeds= for seeds\)\. Did you mean 'weight_decay'\?"),
    ("ann-sweep-threads", lambda: _ann().sweep(_ann().TrainConfig(), {"weight_decay": [0.0]},
                                               threads=1.5), TypeError,
     r"`threads` must be an int; got float 1\.5\."),
    ("ann-sweep-grid-scalar",
     lambda: _ann().sweep(_ann().TrainConfig(), {"weight_decay": 0.1}),
     TypeError, r"`grid\['weight_decay'\]` must be a sequence of values; got float 0\.1\. Wrap a "
     r"single value in a list\."),
    ("ann-record-layer", lambda: _ann().record_layer(_ann().TrainConfig(), layer=4,
                                                     steps=(0, 1)), ValueError,
     r"`layer` must be an int between 1 and 3 \(1-based, layer 1 is the first weight "
     r"matrix\); got 4\."),
    ("ann-record-steps", lambda: _ann().record_layer(
        _ann().TrainConfig(epochs=1, n_train=512), layer=1, steps=(0, 3)), ValueError,
     r"`steps` must satisfy 0 <= start < stop <= 2 \(the run's number of steps\); got "
     r"\(0, 3\)\."),
]

# --- circuits ---------------------------------------------------------------

def _circ(name, **kw):
    def run():
        from plastix import circuits

        obj = circuits
        for part in name.split("."):
            obj = getattr(obj, part)
        obj(**kw)
    return run


def _circ_sim_wrong_config():
    from plastix.circuits import RateCircuitConfig, simulate_spiking

    simulate_spiking(RateCircuitConfig(n_pre=2, n_post=1, duration=0.1))


def _circ_sweep_target():
    from plastix.circuits import SpikingCircuitConfig, sweep_spiking

    sweep_spiking(SpikingCircuitConfig(n_pre=2, n_post=1, duration=0.1), decay=[1.0],
                  noise=[0.0], target="cpp_standalon")


def _circ_alignment_no_signal():
    import numpy as np

    from plastix.circuits import interval_alignment
    from plastix.record import make_record

    rec = make_record(np.ones((4, 2)), np.ones((4, 1)), np.ones((2, 1, 2)),
                      time=np.arange(4.0), weight_time=[0.0, 2.0], decay=1.0)
    interval_alignment(rec, signal="rule")


def _circ_too_long(kind):
    def run():
        from plastix import circuits

        cfg = getattr(circuits, f"{kind.capitalize()}CircuitConfig")(duration=1e12)
        getattr(circuits, f"simulate_{kind}")(cfg)
    return run


def _quantity(value, unit):
    import quantities as pq

    return value * pq.Quantity(1.0, unit)


CASES += [
    ("int-from-whole-float", lambda: check_int("n_seeds", 3.0), TypeError,
     r"`n_seeds` must be an int; got float 3\.0\. Pass 3\."),
    ("int-bool", lambda: check_int("n_pre", True), TypeError,
     r"`n_pre` must be an int; got bool True\."),
    ("int-below-low", lambda: check_int("n_burn", -1, low=0), ValueError,
     r"`n_burn` must be an int >= 0; got -1\."),
    ("number-string", lambda: check_number("decay", "0.1", low=0.0, unit="1/s"), TypeError,
     r"`decay` must be a number \(1/s\); got str '0\.1'\."),
    ("number-with-units", lambda: check_number("bin_size", _quantity(10, "ms"), unit="s"),
     TypeError, r"`bin_size` must be a plain number \(s\); got a Quantity with units, "
     r"array\(10\.\) \* ms\. Convert it first, e\.g\. float\(q\.rescale\('s'\)\) for "
     r"quantities or float\(q / second\) for brian2\."),
    ("number-nan", lambda: check_number("w_init", float("nan")), ValueError,
     r"`w_init` must be a finite number; got nan\."),
    ("number-range", lambda: check_number("p", 1.5, low=0.0, strict=True, high=1.0),
     ValueError, r"`p` must be a finite number > 0 and <= 1; got 1\.5\."),
    ("number-positive", lambda: check_number("dt", 0, low=0.0, strict=True, unit="s"),
     ValueError, r"`dt` must be a positive finite number \(s\); got 0\.0\."),
]


CASES += [
    ("circuits-unknown-rule", _circ("SpikingCircuitConfig", rule="hebian"), ValueError,
     r"`rule` must be one of 'hebbian', 'anti_hebbian', 'error', 'random', 'stdp'; "
     r"got 'hebian'\. Did you mean 'hebbian'\?"),
    ("circuits-rate-stdp", _circ("RateCircuitConfig", rule="stdp"), ValueError,
     r"`rule` 'stdp' needs spikes; the rate circuit supports 'hebbian', 'anti_hebbian', "
     r"'error', 'random'\. Use SpikingCircuitConfig for STDP\."),
    ("circuits-negative-decay", _circ("SpikingCircuitConfig", decay=-1.0), ValueError,
     r"`decay` must be a non-negative finite number \(1/s\); got -1\.0\."),
    ("circuits-n-pre-type", _circ("RateCircuitConfig", n_pre=2.5), TypeError,
     r"`n_pre` must be an int; got float 2\.5\."),
    ("circuits-interval-not-multiple", _circ("SpikingCircuitConfig", weight_interval=0.1003),
     ValueError,
     r"`weight_interval` must be a whole multiple of `dt` \(0\.0005 s\); got 0\.1003 s "
     r"\(200\.6 steps\)\. Round it to a multiple of dt\."),
    ("circuits-noise-step", _circ("RateCircuitConfig", weight_interval=0.1, noise_step=0.03),
     ValueError,
     r"`noise_step` must be a whole multiple of `dt` \(0\.0005 s\) that divides "
     r"`weight_interval` \(0\.1 s\); got 0\.03 s\."),
    ("circuits-record-out-of-range",
     _circ("SpikingCircuitConfig", n_pre=3, n_post=2, record_synapses=[(2, 0)]), ValueError,
     r"`record_synapses` pair \(post=2, pre=0\) is out of range; expected 0 <= post < 2 and "
     r"0 <= pre < 3\."),
    ("circuits-from-dict-unknown",
     _circ("SpikingCircuitConfig.from_dict", data={"decya": 1.0}), TypeError,
     r"SpikingCircuitConfig got an unknown field `decya`; valid fields are .*\. "
     r"Did you mean 'decay'\?"),
    ("circuits-wrong-config-type", _circ_sim_wrong_config, TypeError,
     r"`config` of simulate_spiking must be a SpikingCircuitConfig; got RateCircuitConfig\. "
     r"Got a RateCircuitConfig: call simulate_rate instead\."),
    ("circuits-sweep-target", _circ_sweep_target, ValueError,
     r"`target` must be one of 'cpp_standalone', 'numpy', 'cython'; got 'cpp_standalon'\. "
     r"Did you mean 'cpp_standalone'\?"),
    ("circuits-alignment-no-signal", _circ_alignment_no_signal, ValueError,
     r"`signal='rule'` needs the recorded rule contribution `signal`; this record has none\. "
     r"Simulate with record_signal=True or use signal='estimate'\."),
    ("circuits-rate-too-long-for-memory", _circ_too_long("rate"), ValueError,
     r"the rate simulation \(2e\+15 steps of dt = 0\.0005 s, 1e\+14 activity bins, 1e\+13 "
     r"weight samples of 10×100 synapses\) would need about [0-9.e+]+ GiB of memory, more "
     r"than the [0-9.e+]+ GiB available; shorten `duration` \(--duration\) or use fewer "
     r"units `n_pre`/`n_post` \(--n-pre/--n-post\)\."),
    ("circuits-spiking-too-long-for-memory", _circ_too_long("spiking"), ValueError,
     r"the spiking simulation \(2e\+15 steps of dt = 0\.0005 s, 1e\+14 activity bins, "
     r"1e\+13 weight samples of 10×100 synapses\) would need about [0-9.e+]+ GiB of memory, "
     r"more than the [0-9.e+]+ GiB available; shorten `duration` \(--duration\) or use "
     r"fewer units `n_pre`/`n_post` \(--n-pre/--n-post\)\."),
]


# --- estimate ---------------------------------------------------------------
def _est_fit(record=None, **params):
    """Fit a HebbianEstimator on a small synthetic record (or ``record``)."""
    def run():
        from plastix.estimate import HebbianEstimator
        from plastix.estimate.synthetic import simulate_synthetic

        rec = record if record is not None else simulate_synthetic(
            n_pre=3, n_post=2, n_intervals=5, bins_per_interval=4, n_burn=0, rng=0)
        params.setdefault("n_boot", 5)
        params.setdefault("n_null", 0)
        HebbianEstimator(**params).fit(rec)
    return run


def _est_alignment(**params):
    def run():
        from plastix.estimate import estimate_alignment
        from plastix.estimate.synthetic import simulate_synthetic

        estimate_alignment(simulate_synthetic(n_pre=3, n_post=2, n_intervals=5,
                                              bins_per_interval=4, n_burn=0, rng=0), **params)
    return run


def _est_missing_weight_file():
    import tempfile
    from pathlib import Path

    from plastix.estimate import HebbianEstimator
    from plastix.estimate.synthetic import simulate_synthetic

    rec = simulate_synthetic(n_pre=3, n_post=2, n_intervals=5, bins_per_interval=4, n_burn=0,
                             rng=0).drop_vars("weight")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "no_weight.nc"
        rec.to_netcdf(path, engine="h5netcdf")
        HebbianEstimator(decay=1.0).fit(path)


CASES += [
    ("estimate-kernel-typo", _est_fit(kernel="prodcut"), ValueError,
     r"`kernel` must be one of 'product', 'covariance', 'lagged', 'stdp', 'post_activation'; "
     r"got 'prodcut'\. "
     r"Did you mean 'product'\?"),
    ("estimate-decay-typo", _est_fit(decay="estimat"), ValueError,
     r"`decay` must be one of 'estimate'; got 'estimat'\. Did you mean 'estimate'\?"),
    ("estimate-decay-negative", _est_fit(decay=-0.5), ValueError,
     r"`decay` must be a rate >= 0 \(1/time unit\) in dW/dt = g - decay \* W; got -0\.5\. A "
     r"negative decay counts weight growth as decay and flips the alignment: pass abs\(decay\) "
     r"if your convention has the other sign\."),
    ("estimate-decay-type", _est_fit(decay=[0.1]), TypeError,
     r"`decay` must be None, 'estimate' or a number \(1/time unit\); got list\."),
    ("estimate-n-boot", _est_fit(n_boot=0), ValueError, r"`n_boot` must be >= 1; got 0\."),
    ("estimate-alpha", _est_fit(alpha=5), ValueError, r"`alpha` must be in \(0, 1\); got 5\."),
    ("estimate-lag", _est_fit(kernel="lagged", lag=0, decay=1.0), ValueError,
     r"`lag` must be >= 1 bin for kernel='lagged'; got 0\."),
    ("estimate-unknown-option", _est_alignment(n_boots=10), TypeError,
     r"estimate_alignment\(\) got an unknown option `n_boots`; valid options are kernel, "
     r"decay, lag, stdp_tau, n_boot, block_length, n_null, alpha, chunk_bins, streaming, "
     r"memory, progress, rng, null, resume_dir\. Did you mean 'n_boot'\?"),
    ("estimate-memory-unit", _est_fit(memory="2 lightyears"), ValueError,
     r"`memory` must be a size like '2GiB', '512MB' or a number of bytes \(units B, kB, MB, "
     r"GB, TB, KiB, MiB, GiB, TiB\); got '2 lightyears'\."),
    ("estimate-memory-zero", _est_fit(memory=0), ValueError,
     r"`memory` must be at least 1 byte; got 0\."),
    ("estimate-memory-bool", _est_fit(memory=True), TypeError,
     r"`memory` must be a number of bytes or a size like '2GiB'; got bool\."),
    ("estimate-record-type", _est_fit(record=42), TypeError,
     r"`record` must be a plastix record \(xarray\.Dataset\) or a path to a record file; "
     r"got int\."),
    ("estimate-missing-file", _est_fit(record="/nonexistent/rec.nc"), FileNotFoundError,
     r"`record` '/nonexistent/rec\.nc' does not exist\."),
    ("estimate-no-decay", _est_fit(), ValueError,
     r"`decay` cannot be estimated: the record states no decay rate and no synapse had a "
     r"presynaptic unit silent in two consecutive weight intervals \(the decay is estimated "
     r"from the second of those, with the weight measured at both of its ends\)\. Pass "
     r"`decay`, the rate in 1/s \(0 if the weights do not decay\), e\.g\. 0\.01\."),
    ("estimate-stdp-without-spikes", _est_fit(kernel="stdp", decay=1.0), ValueError,
     r"record: kernel='stdp' needs spike times, but `pre_spike_time` is missing; found "
     r"variables \[.*\]\. Use a record built with `pre_spikes=` \(or a Neo file with "
     r"SpikeTrains\), or choose kernel='product'\."),
    ("estimate-synthetic-overshoot",
     lambda: __import__("plastix.estimate.synthetic", fromlist=["x"]).SyntheticConfig(
         lr=1.0, decay=2.0, bins_per_interval=50), ValueError,
     r"the weight update overshoots: \(lr · rate² \+ decay\) · Δt = 1\.5 must be < 1 "
     r"\(Δt = bins_per_interval · dt = 0\.5 s\); with larger steps the discrete weights "
     r"oscillate from interval to interval\. Lower `lr`, `decay` or `bins_per_interval`\."),
    ("estimate-synthetic-rule", lambda: __import__(
        "plastix.estimate.synthetic", fromlist=["x"]).SyntheticConfig(rule="hebian"),
     ValueError, r"`rule` must be one of 'hebbian', 'anti_hebbian', 'error', 'null'; got "
     r"'hebian'\. Did you mean 'hebbian'\?"),
    ("estimate-schema-error-unchanged", _est_missing_weight_file, ValueError,
     r"load_netcdf\(no_weight\.nc\): `weight` is missing; a plastix record needs "
     r"pre_activity, post_activity and weight\. Found variables: \[.*\]\."),
]


# --- design -----------------------------------------------------------------


def _design(fn, *args, **kw):
    def go():
        import plastix.design as D

        getattr(D, fn)(*args, **kw)
    return go


def _design_small(**kw):
    def go():
        from plastix.design import CircuitSpec, propose_experiments

        propose_experiments(circuit=CircuitSpec(n_pre=8, n_post=4, n_intervals=10),
                            n_calibration=2, progress=False, rng=0, **kw)
    return go


def _design_too_big():
    from plastix.design import CircuitSpec, propose_experiments

    propose_experiments(circuit=CircuitSpec(n_pre=20000, n_post=10000), progress=False)


def _hyps(*pairs):
    from plastix.design import Hypothesis

    return tuple(Hypothesis(n, r) for n, r in pairs)


CASES += [
    ("design-budget-too-small", _design("propose_experiments", budget=1), ValueError,
     r"`budget` must be an int >= 2; got 1\."),
    ("design-budget-too-few-synapses",
     _design("propose_experiments", budget=200, budget_unit="synapse"), ValueError,
     r"`budget` of 200 synapses is less than 2 sessions of 128 synapses each; the design "
     r"needs at least 256 synapses\."),
    ("design-unknown-budget-unit", _design("propose_experiments", budget_unit="sessions"),
     ValueError,
     r"`budget_unit` must be one of 'session', 'synapse'; got 'sessions'\. "
     r"Did you mean 'session'\?"),
    ("design-replicates-not-int", _design("propose_experiments", n_replicates=2.5), TypeError,
     r"`n_replicates` must be an int; got float 2\.5\."),
    ("design-unknown-rule", _design("Hypothesis", "h", "hebian"), ValueError,
     r"`rule` must be one of 'hebbian', 'error', 'random'; got 'hebian'\. "
     r"Did you mean 'hebbian'\?"),
    ("design-silenced-out-of-range", _design("Manipulation", "m", silenced=1.5), ValueError,
     r"`silenced` must be a fraction in \[0, 1\); got 1\.5\."),
    ("design-alpha-out-of-range", _design("power_one_sample", 0.5, 10, alpha=1.5), ValueError,
     r"`alpha` must be in \(0, 1\), the test's significance level; got 1\.5\."),
    ("design-interval-not-multiple-of-dt", _design("CircuitSpec", weight_interval=0.015),
     ValueError,
     r"`weight_interval` must be a whole multiple \(>= 2\) of `dt` \(0\.01 s\); got 0\.015 s "
     r"\(1\.5 bins\)\."),
    ("design-duplicate-hypotheses",
     lambda: _design("propose_experiments",
                     hypotheses=_hyps(("a", "hebbian"), ("a", "error")))(), ValueError,
     r"`hypotheses` must have unique names; got \['a', 'a'\]\."),
    ("design-unknown-manipulation-field",
     lambda: __import__("plastix.design", fromlist=["Manipulation"]).Manipulation.from_dict(
         {"name": "x", "decay_factr": 2.0}), TypeError,
     r"Manipulation got an unknown field `decay_factr`; valid fields are name, description, "
     r"decay_factor, noise_boundary_multiple, error_gain, silenced, phase, settle, unit\. "
     r"Did you mean 'decay_factor'\?"),
    ("design-plot-not-a-result",
     lambda: __import__("plastix.plot.design", fromlist=["plot_design"]).plot_design({}),
     TypeError,
     r"`dataset` must be the xarray\.Dataset of a design result \(DesignResult\.dataset\); "
     r"got dict\."),
    ("design-too-big-for-memory", _design_too_big, ValueError,
     r"the design's simulated sessions \(64 at once, each 200 bins of 20000\+10000 units and "
     r"21 weight samples of 10000×20000 synapses\) would need about [0-9.e+]+ GiB of memory, "
     r"more than the [0-9.e+]+ GiB available; use a smaller circuit \(CircuitSpec n_pre, "
     r"n_post, n_intervals\) or fewer `n_replicates` \(--replicates\) and `n_calibration`\."),
    ("design-unreachable-target", _design_small(target=0.99, n_replicates=3), ValueError,
     r"hypothesis 'error' \(error rule\) cannot reach the target baseline alignment 0\.990 "
     r"in this circuit: over eta in \[0\.05, 12\.5\] 1/s its baseline alignment runs from "
     r"-?\d\.\d{3} to -?\d\.\d{3}\. Calibrate every hypothesis to a target inside that "
     r"range \(`target`, e\.g\. -?\d\.\d{2}\), or, in Python, leave this hypothesis out of "
     r"`hypotheses`\."),
]


# --- command line: one line on stderr, exit code 2, inputs untouched ----------
# The exact texts of file-reading failures are the readers' (their rows above); the
# `cli-` rows of unreadable files check what the CLI adds: one line, the command's
# prefix, the file and the cause.

class CLIFailed(Exception):
    """The CLI's one line of stderr, raised so the table can check it."""


def _small_record():
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic

    return simulate_synthetic(SyntheticConfig(rule="hebbian", n_pre=6, n_post=3, n_intervals=12,
                                              bins_per_interval=5),
                              rng=np.random.default_rng(1), known_decay=True)


def _make_file(name: str) -> None:
    """Create a (bad) input file in the current folder; the name says what it is."""
    import os
    import pickle
    import shutil
    from pathlib import Path

    from plastix.io import save_record
    kind, suffix = name.split(".")
    if kind == "folder":
        os.mkdir(name)
    elif kind == "empty":
        Path(name).write_bytes(b"")
    elif kind == "junk":
        Path(name).write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "evil":  # a pickle that would run code: the CLI must not unpickle it
        Path(name).write_bytes(pickle.dumps(np.int64(3)).replace(b"numpy", b"nampy"))
    elif kind in ("nwbfile", "nixfile", "good", "c", "design"):
        real = {"nwbfile": "nwb", "nixfile": "nix"}.get(kind, suffix)
        shutil.move(save_record(_small_record(), f"tmp.{real}"), name)
    elif kind == "trunc":
        data = Path(save_record(_small_record(), f"whole.{suffix}")).read_bytes()
        Path(name).write_bytes(data[:len(data) // 2])
    else:
        raise AssertionError(name)


def _cli(*argv, files=()):
    """Run ``plastix ARGV`` in a fresh folder holding ``files``; raise its one error line."""
    def go():
        import contextlib
        import io
        import os
        import tempfile

        from plastix.cli import main

        err = io.StringIO()
        old = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                for name in files:
                    _make_file(name)
                with contextlib.redirect_stderr(err):
                    code = main(list(argv))
            finally:
                os.chdir(old)
        lines = err.getvalue().strip().splitlines()
        if code == 2 and len(lines) == 1:
            raise CLIFailed(lines[0])
        raise AssertionError(f"exit code {code}; stderr:\n{err.getvalue()}")
    return go


_EST = ("--n-boot", "20", "--n-null", "0")
_NOT_READ = (r": the file is probably truncated, corrupt, or not written by the plastix/Neo "
             r"convention \(the README's Neo section\); check that it opens in the program "
             r"that wrote it\.")

CASES += [
    ("cli-estimate-out-is-the-input",
     _cli("estimate", "good.nc", *_EST, "--out", "good.nc", files=["good.nc"]), CLIFailed,
     r"plastix estimate: error: --out: the output 'good\.nc' would replace the input "
     r"'good\.nc'; choose another output name \(an input is never overwritten, even with "
     r"--overwrite\)\."),
    ("cli-estimate-out-stem-is-the-input",
     _cli("estimate", "good.nc", *_EST, "--overwrite", "--out", "good", files=["good.nc"]),
     CLIFailed,
     r"plastix estimate: error: --out: the output 'good\.nc' would replace the input "
     r"'good\.nc'; choose another output name \(an input is never overwritten, even with "
     r"--overwrite\)\."),
    ("cli-estimate-out-replaces-a-sibling",
     _cli("estimate", "c.nix", *_EST, "--out", "c", files=["c.nc", "c.nix"]), CLIFailed,
     r"plastix estimate: error: --out: 'c\.nc' exists and would be replaced; pass "
     r"--overwrite to replace it, or choose another output location\."),
    ("cli-estimate-out-names-another-format",
     _cli("estimate", "c.nix", *_EST, "--out", "c.nix", files=["c.nix"]), CLIFailed,
     r"plastix estimate: error: `--out` 'c\.nix' names a \.nix file, but an estimate is "
     r"written as RESULT\.nc and RESULT\.json: pass `--out c` \(or a folder, DIR/\)\."),
    ("cli-design-out-is-the-record",
     _cli("design", "--record", "design.nc", "--out", ".", files=["design.nc"]), CLIFailed,
     r"plastix design: error: --out: the output 'design\.nc' would replace the input "
     r"'design\.nc'; choose another output name \(an input is never overwritten, even with "
     r"--overwrite\)\."),
    ("cli-simulate-out-inside-a-file",
     _cli("simulate", "rate", "--out", "good.nc/rate.nc", files=["good.nc"]), CLIFailed,
     r"plastix simulate: error: --out: cannot write in 'good\.nc': 'good\.nc' is a file, not "
     r"a folder\. Choose another output location\."),
    ("cli-simulate-bad-suffix", _cli("simulate", "rate", "--out", "rate.txt"), CLIFailed,
     r"plastix simulate: error: `path` must end in one of .*; got 'rate\.txt'.*"),
    ("cli-reproduce-out-is-a-file",
     _cli("reproduce", "table1", "--quick", "--out", "good.nc", files=["good.nc"]), CLIFailed,
     r"plastix reproduce: error: --out: 'good\.nc' is an existing file; it must be a folder\. "
     r"Choose another output location\."),
    ("cli-design-out-is-a-file", _cli("design", "--out", "good.nc", files=["good.nc"]),
     CLIFailed,
     r"plastix design: error: --out: 'good\.nc' is an existing file; it must be a folder\. "
     r"Choose another output location\."),
    ("cli-demo-out-is-a-file", _cli("demo", "--out", "good.nc", files=["good.nc"]), CLIFailed,
     r"plastix demo: error: --out: 'good\.nc' is an existing file; it must be a folder\. "
     r"Choose another output location\."),
    ("cli-estimate-missing-file", _cli("estimate", "nothere.nc"), CLIFailed,
     r"plastix estimate: error: the file 'nothere\.nc' does not exist \(paths are relative to the "
     r"working directory .*\); check its spelling and folder\."),
    ("cli-estimate-unknown-kernel", _cli("estimate", "good.nc", "--kernel", "prodcut",
                                         files=["good.nc"]), CLIFailed,
     r"plastix estimate: error: .*kernel.*'prodcut'.* Did you mean 'product'\?"),
    ("cli-estimate-folder-named-nc", _cli("estimate", "folder.nc", files=["folder.nc"]),
     CLIFailed,
     r"plastix estimate: error: .*'folder\.nc'.* (a folder|a directory), not a file[;.] "
     r"[Pp]ass the (path of the )?record file itself\."),
    ("cli-estimate-pickle-refused", _cli("estimate", "evil.pkl", files=["evil.pkl"]),
     CLIFailed,
     r"plastix estimate: error: .*'evil\.pkl'.* a pickle file, and .*runs any code .*"
     r"--allow-pickle.*"),
    ("cli-design-pickle-refused",
     _cli("design", "--record", "evil.pkl", "--out", "d", files=["evil.pkl"]), CLIFailed,
     r"plastix design: error: .*'evil\.pkl'.* a pickle file, and .*runs any code .*"
     r"--allow-pickle.*"),
    ("cli-estimate-empty-nix", _cli("estimate", "empty.nix", *_EST, files=["empty.nix"]),
     CLIFailed,
     r"plastix estimate: error: cannot read 'empty\.nix' as (nix|NIX)\b.*the file is empty "
     r"\(0 bytes\).*"),
    ("cli-estimate-empty-pickle",
     _cli("estimate", "empty.pkl", *_EST, "--allow-pickle", files=["empty.pkl"]), CLIFailed,
     r"plastix estimate: error: cannot read 'empty\.pkl' as pickle\b.*the file is empty "
     r"\(0 bytes\).*"),
    ("cli-estimate-truncated-nc", _cli("estimate", "trunc.nc", *_EST, files=["trunc.nc"]),
     CLIFailed,
     r"plastix estimate: error: cannot read 'trunc\.nc' as (netcdf|NetCDF)\b.*truncated.*"
     r"[Cc]opy it again from .*\."),
    ("cli-design-truncated-nwb",
     _cli("design", "--record", "trunc.nwb", "--out", "d", files=["trunc.nwb"]), CLIFailed,
     r"plastix design: error: cannot read 'trunc\.nwb' as (nwb|NWB)\b.*truncated.*"
     r"[Cc]opy it again from .*\."),
    ("cli-estimate-junk-nwb", _cli("estimate", "junk.nwb", *_EST, files=["junk.nwb"]),
     CLIFailed,
     r"plastix estimate: error: cannot read 'junk\.nwb' as (nwb|NWB)\b.*corrupt.*"),
    ("cli-estimate-nwb-named-nc",
     _cli("estimate", "nwbfile.nc", *_EST, files=["nwbfile.nc"]), CLIFailed,
     r"plastix estimate: error: .*'nwbfile\.nc'.*(really NWB, not netcdf|content is NWB, "
     r"not NetCDF).*[Rr]ename it.*"),
    ("cli-estimate-nix-named-nc",
     _cli("estimate", "nixfile.nc", *_EST, files=["nixfile.nc"]), CLIFailed,
     r"plastix estimate: error: .*'nixfile\.nc'.*(really NIX, not netcdf|content is NIX, "
     r"not NetCDF).*[Rr]ename it.*"),
]


# --- physical validation and up-front limits (issue 13) -----------------------

_NEG_DECAY = (r"`decay` must be a rate >= 0 \({unit}\) in dW/dt = g - decay \* W; got -?{v}\. "
              r"A negative decay counts weight growth as decay and flips the alignment: pass "
              r"abs\(decay\) if your convention has the other sign\.")
_BEYOND = (r"{where}`{name}` holds {n} values? beyond ±{bound} \({why}\); the first, {first}, "
           r"at index {idx} \({at}\)\. Check the units, or the file for overflowed or corrupt "
           r"values\.")
_RATE_WHY = r"10 kHz: no neuron fires faster than about 1 kHz"


def _big(shape, n, value=1e306, start=0):
    """Ones with ``n`` entries (C order, from ``start``) overwritten by ``value``."""
    a = np.ones(shape)
    a.reshape(-1)[start:start + n] = value
    return a


def _netcdf_edit(edit, **est):
    """A NetCDF file of a valid record (200 bins, 5 pre, 3 post) edited behind the
    validator's back, then given to the estimator."""
    def go():
        import tempfile
        from pathlib import Path

        from plastix.estimate import estimate_alignment

        rng = np.random.default_rng(0)
        ds = _rec(pre_activity=rng.random((200, 5)), post_activity=rng.random((200, 3)),
                  time=np.arange(200) * 0.01, dt=0.01, decay=1.0)()
        ds = edit(ds.copy(deep=True))
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "rec.nc"
            ds.to_netcdf(path, engine="h5netcdf")
            estimate_alignment(path, n_boot=5, n_null=0, **est)
    return go


def _set_decay(value, units="1/s"):
    def edit(ds):
        ds["decay"] = ((), value, {"units": units})
        return ds
    return edit


def _overwrite_activity(ds):
    """512 of the 1000 presynaptic values overwritten by 1e306, from bin 40 on."""
    a = ds["pre_activity"].values.copy()
    a.reshape(-1)[200:712] = 1e306
    ds["pre_activity"] = (("time", "pre"), a, dict(ds["pre_activity"].attrs))
    return ds


def _est_big_record(**params):
    """Fit on a record with 2000 weight intervals (of 2 bins, 2 x 3 synapses)."""
    def run():
        from plastix import record as R
        from plastix.estimate import HebbianEstimator

        rng = np.random.default_rng(0)
        rec = R.make_record(rng.random((4000, 3)), rng.random((4000, 2)),
                            rng.random((2001, 2, 3)), time=np.arange(4000) * 0.1,
                            weight_time=np.arange(2001) * 0.2, dt=0.1, decay=0.5)
        HebbianEstimator(**params).fit(rec)
    return run


CASES += [
    ("record-decay-negative", _rec(decay=-1), ValueError,
     _NEG_DECAY.format(unit="1/s", v=r"1\.0")),
    ("record-decay-bool", _rec(decay=True), TypeError,
     r"`decay` must be a number \(1/s\), or None if unknown; got bool True\. Pass the decay "
     r"rate itself, e\.g\. decay=0\.01\."),
    ("record-decay-quantity", _rec(decay=_quantity(2, "1/ms")), TypeError,
     r"`decay` must be a plain number \(1/s\); got a Quantity with units, array\(2\.\) \* "
     r"1/ms\. Convert it first, e\.g\. float\(q\.rescale\('1/s'\)\) for quantities or "
     r"float\(q \* second\) for brian2\."),
    ("record-decay-inf", _rec(decay=float("inf")), ValueError,
     r"`decay` must be a finite rate >= 0 \(1/s\); got inf\. Pass the decay rate, or None if "
     r"unknown\."),
    ("record-decay-string", _rec(decay="0.1"), TypeError,
     r"`decay` must be a number \(1/s\), or None if unknown; got str\."),
    ("record-decay-negative-ms", _rec(decay=-0.002, time_units="ms"), ValueError,
     _NEG_DECAY.format(unit="1/ms", v=r"0\.002")),
    ("record-rate-absurd", _rec(pre_activity=_big((20, 5), 3, start=7)), SchemaError,
     _BEYOND.format(where="record: ", name="pre_activity", n=3, bound=r"10000 Hz", why=_RATE_WHY,
                    first=r"1e\+306", idx=r"\(1, 2\)", at=r"time 0\.1, pre 2")),
    ("record-rate-khz", _rec(post_activity=_big((20, 3), 1, 11.0, start=59),
                             activity_units="kHz"), SchemaError,
     _BEYOND.format(where="record: ", name="post_activity", n=1, bound=r"10 kHz", why=_RATE_WHY,
                    first=r"11", idx=r"\(19, 2\)", at=r"time 1\.9, post 2")),
    ("record-count-absurd", _rec(pre_activity=_big((20, 5), 2, 1001.0), activity_kind="count",
                                 activity_units="1"), SchemaError,
     _BEYOND.format(where="record: ", name="pre_activity", n=2, bound=r"1000 spikes per bin",
                    why=r"10 kHz over a bin of 0\.1 s: no neuron fires faster than about 1 kHz",
                    first=r"1001", idx=r"\(0, 0\)", at=r"time 0, pre 0")),
    ("record-activation-absurd", _rec(post_activity=_big((20, 3), 1, -2e9),
                                      activity_kind="activation", activity_units="a.u."),
     SchemaError,
     _BEYOND.format(where="record: ", name="post_activity", n=1, bound=r"1e\+09 a\.u\.",
                    why=r"no activation or fluorescence signal is that large",
                    first=r"-2e\+09", idx=r"\(0, 0\)", at=r"time 0, post 0")),
    ("record-weight-absurd", _rec(weight=_big((3, 3, 5), 4, 2e6, start=20)), SchemaError,
     _BEYOND.format(where="record: ", name="weight", n=4, bound=r"1e\+06",
                    why=r"a million times any real synapse", first=r"2e\+06",
                    idx=r"\(1, 1, 0\)", at=r"weight_time 1, post 1, pre 0")),
    ("file-decay-negative", _netcdf_edit(_set_decay(-2.0)), SchemaError,
     r"load_netcdf\(rec\.nc\): " + _NEG_DECAY.format(unit="1/s", v=r"2\.0")),
    ("file-decay-units", _netcdf_edit(_set_decay(2.0, "1/ms")), SchemaError,
     r"load_netcdf\(rec\.nc\): `decay` is stored in '1/ms' but the record's time unit is "
     r"'s': store it in 1/s \(multiply it by 1000\)\."),
    ("file-decay-bool", _netcdf_edit(_set_decay(np.bool_(True))), SchemaError,
     r"load_netcdf\(rec\.nc\): `decay` must be stored as a rate in 1/s \(a float, NaN if "
     r"unknown\); got bool True\. Rewrite it as the decay rate\."),
    ("file-decay-text", _netcdf_edit(_set_decay("fast")), SchemaError,
     r"load_netcdf\(rec\.nc\): `decay` must be stored as a rate in 1/s \(a float, NaN if "
     r"unknown\); got <U4 'fast'\. Rewrite it as the decay rate\."),
    ("file-activity-1e306", _netcdf_edit(_overwrite_activity), SchemaError,
     _BEYOND.format(where=r"load_netcdf\(rec\.nc\): ", name="pre_activity", n=512,
                    bound=r"10000 Hz", why=_RATE_WHY, first=r"1e\+306", idx=r"\(40, 0\)",
                    at=r"time 0\.4, pre 0")),
    ("file-activity-1e306-streamed", _netcdf_edit(_overwrite_activity, streaming=True),
     SchemaError,
     _BEYOND.format(where=r"estimate\(rec\.nc\): ", name="pre_activity", n=512,
                    bound=r"10000 Hz", why=_RATE_WHY, first=r"1e\+306", idx=r"\(40, 0\)",
                    at=r"time 0\.4, pre 0")),
    ("estimate-decay-bool", _est_fit(decay=True), TypeError,
     r"`decay` must be None, 'estimate' or a number \(1/time unit\); got bool True\. Pass the "
     r"decay rate itself, e\.g\. decay=0\.01\."),
    ("estimate-decay-quantity", _est_fit(decay=_quantity(2, "1/s")), TypeError,
     r"`decay` must be a plain number \(1/time unit\); got a Quantity with units, "
     r"array\(2\.\) \* 1/s\. Convert it first, e\.g\. float\(q\.rescale\('1/s'\)\) for "
     r"quantities or float\(q \* second\) for brian2\."),
    ("estimate-decay-nan", _est_fit(decay=float("nan")), ValueError,
     r"`decay` must be a finite rate >= 0 \(1/time unit\); got nan\. Pass the decay rate\."),
    ("estimate-n-boot-memory", _est_fit(n_boot=10**12, decay=1.0), ValueError,
     r"the bootstrap \(1000000000000 replicates of 1 interval\) and the null \(0 replicates\) "
     r"would need about [0-9.e+]+ GiB of memory, more than the [0-9.e+]+ GiB available; lower "
     r"`n_boot` \(--n-boot\) or `n_null` \(--n-null\)\."),
    ("estimate-n-null-memory", _est_fit(n_null=10**12, decay=1.0), ValueError,
     r"the bootstrap \(5 replicates of 1 interval\) and the null \(1000000000000 replicates\) "
     r"would need about [0-9.e+]+ GiB of memory, more than the [0-9.e+]+ GiB available; lower "
     r"`n_boot` \(--n-boot\) or `n_null` \(--n-null\)\."),
    ("design-resume-dir-type", _design_small(n_replicates=3, resume_dir=42), TypeError,
     r"`resume_dir` must be a folder path \(str or Path\); got int\."),
    ("design-resume-dir-file", _design_small(n_replicates=3, resume_dir=__file__), ValueError,
     r"`resume_dir` must be a folder; '.*test_bad_inputs\.py' is an existing file\."),
    ("estimate-bootstrap-memory-intervals", _est_big_record(n_boot=10**7, n_null=0), ValueError,
     r"the bootstrap \(10000000 replicates of 2000 intervals\) and the null \(0 replicates\) "
     r"would need about [0-9.e+]+ GiB of memory, more than the [0-9.e+]+ GiB available; lower "
     r"`n_boot` \(--n-boot\) or `n_null` \(--n-null\)\."),
]


# --- io: pynapple sessions (from_pynapple / to_pynapple) ---------------------

def _nap_session(**over):
    """A small valid pynapple session's arguments for from_pynapple, with some replaced."""
    import pandas as pd
    import pynapple as nap

    ep = nap.IntervalSet(0, 2)

    def ts(t):
        return nap.Ts(np.array(t), time_support=ep)

    kw = dict(pre=nap.TsGroup({3: ts([0.1, 0.5]), 5: ts([0.7])}, time_support=ep),
              post=nap.TsGroup({11: ts([0.2, 1.1])}, time_support=ep),
              weights=nap.TsdFrame(t=np.array([0.0, 1.0, 2.0]), d=np.ones((3, 2))),
              synapses=pd.DataFrame({"pre_unit": [3, 5], "post_unit": [11, 11]}))
    kw.update({k: (v(nap, pd) if callable(v) else v) for k, v in over.items()})
    return kw


def _from_nap(**over):
    def go():
        from plastix.io import from_pynapple

        from_pynapple(**_nap_session(**over))
    return go


def _to_nap(value):
    def go():
        from plastix.io import to_pynapple

        to_pynapple(value)
    return go


_NAP_ROLE = (r"must be a pynapple TsGroup \(spike trains, one per unit\) or TsdFrame "
             r"\(activity, one column per unit\); got ")

CASES += [
    ("io-pynapple-pre-array", _from_nap(pre=np.ones((5, 2))), TypeError,
     r"`pre` " + _NAP_ROLE + r"ndarray\."),
    ("io-pynapple-pre-one-ts", _from_nap(pre=lambda nap, pd: nap.Ts(np.array([0.1, 0.5]))),
     TypeError, r"`pre` " + _NAP_ROLE + r"Ts\. One unit's spike train: pass "
     r"nap\.TsGroup\(\{ID: pre\}\) with its unit id\."),
    ("io-pynapple-post-one-tsd",
     _from_nap(post=lambda nap, pd: nap.Tsd(t=np.arange(10) * 0.1, d=np.ones(10))), TypeError,
     r"`post` " + _NAP_ROLE + r"Tsd\. One unit's activity: pass nap\.TsdFrame\(t=post\.t, "
     r"d=post\.d\[:, None\], columns=\[ID\]\) with its unit id\."),
    ("io-pynapple-post-dataframe", _from_nap(post=lambda nap, pd: pd.DataFrame({"a": [1.0]})),
     TypeError, r"`post` " + _NAP_ROLE + r"DataFrame\."),
    ("io-pynapple-weights-not-frame",
     _from_nap(weights=lambda nap, pd: pd.DataFrame(np.ones((3, 2)))), TypeError,
     r"`weights` must be a pynapple TsdFrame \(one column per synapse\) or a Tsd \(one "
     r"synapse\); got DataFrame\."),
    ("io-pynapple-synapses-dict", _from_nap(synapses={"pre_unit": [3, 5]}), TypeError,
     r"`synapses` must be a pandas DataFrame with columns pre_unit and post_unit, one row per "
     r"column of `weights`; got dict\."),
    ("io-pynapple-synapses-missing-column",
     _from_nap(synapses=lambda nap, pd: pd.DataFrame({"pre": [3, 5], "post_unit": [11, 11]})),
     ValueError,
     r"`synapses` must have columns pre_unit and post_unit \(or another pair: "
     r"pre_unit/post_unit, .*\); got columns \['pre', "
     r"'post_unit'\]\."),
    ("io-pynapple-synapses-rows",
     _from_nap(synapses=lambda nap, pd: pd.DataFrame({"pre_unit": [3], "post_unit": [11]})),
     ValueError,
     r"`synapses` must have one row per column of `weights` \(2, in the same order\); got 1 "
     r"rows\."),
    ("io-pynapple-synapses-unknown-unit",
     _from_nap(synapses=lambda nap, pd: pd.DataFrame({"pre_unit": [3, 5],
                                                      "post_unit": [11, 12]})),
     ValueError,
     r"`synapses` names post_unit ids that are not units of `post`: \[12\]; the units of "
     r"`post` are \[11\] \(a TsGroup's index or a TsdFrame's columns\)\."),
    ("io-pynapple-synapses-repeated",
     _from_nap(synapses=lambda nap, pd: pd.DataFrame({"pre_unit": [5, 5],
                                                      "post_unit": [11, 11]})),
     ValueError,
     r"`synapses` lists the synapse \(pre_unit 5, post_unit 11\) twice \(rows 0 and 1\); "
     r"each column of `weights` must be a different synapse\."),
    ("io-pynapple-epochs-hold-no-weight-sample",
     _from_nap(epochs=lambda nap, pd: nap.IntervalSet(5.0, 7.0)), ValueError,
     r"`epochs`: no weight sample lies in any of the 1 row of the epochs IntervalSet "
     r"\(5-7 s\)\. Found: weights sampled at 0-2 s\. NWB and pynapple times are in seconds on "
     r"one clock: if the rows are in ms, divide them by 1000, or read the data as one segment "
     r"\(epochs=None\)\."),
    ("io-pynapple-spikes-outside-every-epoch",
     _from_nap(epochs=lambda nap, pd: nap.IntervalSet(5.0, 7.0),
               weights=lambda nap, pd: nap.TsdFrame(t=np.array([5.0, 6.0, 7.0]),
                                                    d=np.ones((3, 2)))), ValueError,
     r"`pre`: its time support \(0-2 s\) does not overlap the epochs \(5-7 s\), so no bin "
     r"of the record holds its activity; check that the spike times, the epochs and the "
     r"weights are in seconds on one clock\."),
    ("io-pynapple-frame-columns-repeat",
     _from_nap(pre=lambda nap, pd: nap.TsdFrame(t=np.arange(10) * 0.1, d=np.ones((10, 2)),
                                                columns=[3, 3])),
     ValueError,
     r"`pre`: the TsdFrame's column labels repeat \('3' \(2x\)\); each column is one unit, "
     r"labelled with its id\. Give every column its own unit id \(TsdFrame\(\.\.\., "
     r"columns=\[\.\.\.\]\)\)\."),
    ("io-pynapple-epochs-list", _from_nap(epochs=[(0.0, 2.0)]), TypeError,
     r"`epochs` must be a pynapple IntervalSet \(one row per segment\) or None; got list\."),
    ("io-pynapple-frames-on-two-grids",
     _from_nap(pre=lambda nap, pd: nap.TsdFrame(t=np.arange(10) * 0.1, d=np.ones((10, 2)),
                                                columns=[3, 5]),
               post=lambda nap, pd: nap.TsdFrame(t=np.arange(8) * 0.1, d=np.ones((8, 1)),
                                                 columns=[11])),
     ValueError,
     r"`pre` and `post` must share one time grid when both are TsdFrames; got 10 and 8 "
     r"samples\. Resample one onto the other's timestamps\."),
    ("io-pynapple-kind-differs-between-columns",
     _from_nap(pre=lambda nap, pd: nap.TsdFrame(
         t=np.arange(10) * 0.1, d=np.ones((10, 2)), columns=[3, 5],
         metadata={"kind": ["rate", "fluorescence"]})),
     ValueError,
     r"`pre`: the metadata column 'kind' must hold one value for all columns; got "
     r"\['fluorescence', 'rate'\]\."),
    ("io-pynapple-bin-size-negative", _from_nap(bin_size=-0.01), ValueError,
     r"`bin_size` must be a positive finite number \(s\); got -0\.01\."),
    ("io-pynapple-decay-text", _from_nap(decay="fast"), TypeError,
     r"`decay` must be a number \(1/s\); got str 'fast'\."),
    ("io-pynapple-to-not-a-record", _to_nap({"pre": 1}), TypeError,
     r"to_pynapple: expected a plastix record \(xarray\.Dataset from "
     r"plastix\.record\.make_record or load_record\); got dict\."),
]


# --- pairing tables (issue 15) ------------------------------------------------

def _table(cols, **kw):
    def go():
        import pandas as pd

        from plastix.io.table import load_pairing_table

        load_pairing_table(pd.DataFrame(cols), **kw)
    return go


def _pairing(cols, **kw):
    def go():
        import pandas as pd

        from plastix.estimate.pairing import estimate_pairing

        estimate_pairing(pd.DataFrame(cols), n_boot=10, n_null=0, rng=0, **kw)
    return go


_DT = {"delta_t [ms]": [10.0, -10.0]}
_OK = {**_DT, "weight_ratio": [1.2, 0.8]}
_OK3 = {"delta_t": [0.01, -0.01, 0.02], "weight_ratio": [1.2, 0.8, 1.1]}  # a pairing estimate

CASES += [
    ("table-missing-delta-t", _table({"delta_tt [ms]": [10.0], "weight_ratio": [1.2]}),
     ValueError,
     r"`table` must have a column 'delta_t' \(post spike time minus pre spike time, e\.g\. "
     r"'delta_t \[ms\]'\); found columns 'delta_tt', 'weight_ratio'\. Did you mean 'delta_tt'\? "
     r"Rename that column 'delta_t \[ms\]'\."),
    ("table-missing-weight", _table({**_DT, "weight_rato": [1.2, 0.8]}), ValueError,
     r"`table` must have a column 'weight_ratio' \(after/before\), 'weight_change' "
     r"\(after/before - 1\) or both 'weight_before' and 'weight_after'; found columns "
     r"'delta_t', 'weight_rato'\. Did you mean 'weight_rato'\? Rename that column "
     r"'weight_ratio'\."),
    ("table-two-weight-forms", _table({**_DT, "weight_ratio": [1.2, 0.8],
                                       "weight_change [%]": [20, -20]}), ValueError,
     r"`table` must give the weight change once: 'weight_ratio', 'weight_change' or "
     r"'weight_before' and 'weight_after'; got 'weight_ratio', 'weight_change'\."),
    ("table-change-below-minus-one", _table({**_DT, "weight_change": [0.2, -1.5]}), ValueError,
     r"`1 \+ weight_change` \(weight after / weight before\) must be finite and > 0; got "
     r"-0\.5 in row 1\. A change of -100% or below leaves no weight: check the signs, and "
     r"write 'weight_change \[%\]' for percent\."),
    ("table-before-without-after", _table({**_DT, "weight_before": [1.0, 1.0],
                                           "weight_aftr": [1.2, 0.8]}), ValueError,
     r"`table` has 'weight_before' but not 'weight_after'; give both, or 'weight_ratio' "
     r"\(after/before\); found columns 'delta_t', 'weight_before', 'weight_aftr'\. Did you mean "
     r"'weight_aftr'\? Rename that column 'weight_after'\."),
    ("table-unknown-time-unit", _table({"delta_t [mss]": [10.0], "weight_ratio": [1.2]}),
     ValueError,
     r"`delta_t` has an unknown unit 'mss' in its header; a time column accepts 's', 'ms', "
     r"'us', 'µs', 'μs', 'min'\. Did you mean 'ms'\?"),
    ("table-unknown-frequency-unit", _table({**_OK, "frequency [Hzz]": [1.0, 1.0]}), ValueError,
     r"`frequency` has an unknown unit 'Hzz' in its header; a frequency column accepts 'Hz', "
     r"'kHz', 'mHz', '1/s'\. Did you mean 'Hz'\?"),
    ("table-ratio-not-positive", _table({**_DT, "weight_ratio": [1.2, 0.0]}), ValueError,
     r"`weight_ratio` \(weight after / weight before\) must be finite and > 0; got 0 in row 1\. "
     r"A ratio of 0 or below has no logarithm: check the signs of the weights\."),
    ("table-weights-opposite-signs", _table({**_DT, "weight_before": [-1.0, 2.0],
                                             "weight_after": [1.5, 2.2]}), ValueError,
     r"`weight_after / weight_before` must be finite and > 0; got -1\.5 in row 0\. A ratio of "
     r"0 or below has no logarithm: check the signs of the weights\."),
    ("table-nan-rows-refused", _table({"delta_t": [0.01, float("nan"), 0.02],
                                       "weight_ratio": [1.2, 0.8, float("nan")]}), ValueError,
     r"`table` has NaN \(empty cells\) in 2 of 3 rows \(rows 1, 2; column\(s\) delta_t, "
     r"weight_ratio\); fill them, or pass nan='drop' \(command line: --nan drop\) to drop those "
     r"rows \(the count is reported\)\."),
    ("table-duplicate-experiment", _table({**_OK, "experiment": ["c1", "c1"]}), ValueError,
     r"`experiment` ids must be unique \(one row per experiment or group\); got 'c1' in rows "
     r"0, 1\."),
    ("table-n-not-integer", _table({**_OK, "n": [3, 1.5]}), ValueError,
     r"`n` must be an integer >= 1; got 1\.5 in row 1\."),
    ("table-not-a-number", _table({**_DT, "weight_ratio": ["1.2", "big"]}), ValueError,
     r"`weight_ratio` must hold numbers; got 'big' in row 1\. Write a number, or leave the "
     r"cell empty for a missing value\."),
    ("table-bad-suffix", lambda: __import__("plastix.io.table", fromlist=["x"])
     .load_pairing_table("pairings.xslx"), ValueError,
     r"`table` must end in one of \.csv, \.tsv, \.tab, \.txt, \.parquet, \.pq, \.xlsx; got "
     r"'pairings\.xslx' \(suffix '\.xslx'\)\. Did you mean '\.xlsx'\?"),
    ("table-bad-nan-policy", _table(_OK, nan="skip"), ValueError,
     r"`nan` must be one of 'refuse', 'drop'; got 'skip'\."),
    ("pairing-unknown-by", _pairing(_OK3, by="slise"), ValueError,
     r"`by` must name columns of the table; got 'slise'; its columns are 'delta_t', "
     r"'weight_ratio' \(no label columns\)\."),
    ("pairing-unknown-kernel", _pairing(_OK3, kernel="stpd"), ValueError,
     r"`kernel` must be one of .*; got 'stpd'\. Did you mean 'stdp'\?"),
    ("pairing-rate-kernel-needs-frequency", _pairing(_OK3, kernel="product"), ValueError,
     r"kernel 'product' needs the column 'frequency' \(the pairing rate, e\.g\. 'frequency "
     r"\[Hz\]'\): a rate kernel reads the pairing rate; missing for 3 of 3 rows\."),
    ("pairing-too-few-rows", _pairing(_OK), ValueError,
     r"`table` has 2 row\(s\): an alignment over rows, its interval and its null need at least 3 "
     r"experiments \(or group means\); add rows\."),
    ("pairing-sem-weights-without-sem", _pairing(_OK3, weights="sem"), ValueError,
     r"weights='sem' needs the column 'weight_sem'; the table has none\. Use weights='n' or "
     r"'auto'\."),
]

def _csv(text):
    def make(path):
        path.write_text(text)
    return make


CASES += [
    ("table-inspect-reader-options", _load_bad("t.csv", _csv("delta_t,weight_ratio\n0.01,1.2\n"),
                                               "inspect_file", pre_units="1"), ValueError,
     r"the reader option `pre_units` \(--pre-units\) maps a recording, not a table of pairing "
     r"experiments \('t\.csv'\); drop it\."),
]

# --- weights inferred from spikes (issue 16) ---------------------------------


def _neo_spikes_only(block, neo, pq):
    """Spike trains of both roles, no weight signal, no rate signal."""
    seg = block.segments[0]
    seg.irregularlysampledsignals, seg.analogsignals = [], []
    st = neo.SpikeTrain([3.0, 20.0] * pq.ms, t_stop=40 * pq.ms, name="cell 9")
    st.annotate(role="post", unit=0)
    seg.spiketrains.append(st)


CASES += [
    ("neo-spikes-only-without-weights-from", _from_neo(_neo_spikes_only), SchemaError,
     _SEG0 + r"no AnalogSignal named 'weight' or IrregularlySampledSignal named 'weight'; "
     r"found signals named \[\]\. For spike trains without measured weights, infer them: "
     r"plastix estimate FILE --weights-from spikes \(Python: weights_from='spikes'\)\."),
    ("neo-weights-from-typo", _from_neo(_neo_spikes_only, weights_from="spike"), ValueError,
     r"`weights_from` must be one of 'spikes'; got 'spike'\. Did you mean 'spikes'\?"),
]


def _infer(pre=True, post=True, silent=False, **kw):
    def go():
        from plastix import record as R
        from plastix.estimate.infer import infer_weights

        rng = np.random.default_rng(0)
        n_pre = 4
        pu = np.repeat(np.arange(n_pre), 50)
        spikes = {"time": np.sort(rng.uniform(0, 20, pu.size)), "unit": pu}
        n_post = 0 if silent else 100
        post_s = {"time": np.sort(rng.uniform(0, 20, n_post)), "unit": np.zeros(n_post, int)}
        ds = R.make_record(np.zeros((20, n_pre)), np.zeros((20, 1)), np.full((2, 1, n_pre), 0.0),
                           time=np.arange(20.0), weight_time=[0.0, 10.0], dt=1.0,
                           pre_spikes=spikes if pre else None,
                           post_spikes=post_s if post else None)
        infer_weights(ds, **kw)
    return go


CASES += [
    ("infer-no-spikes", _infer(pre=False, post=False), ValueError,
     r"infer_weights: .* has no spike times, only activity \(its units are traces, not spike "
     r"trains\); weights can only be inferred from spike trains of both roles: give the "
     r"measured weights instead\."),
    ("infer-pre-spikes-only", _infer(post=False), ValueError,
     r"infer_weights: .* has presynaptic spike trains but its postsynaptic units are \w+ "
     r"traces, with no spike times; weights are inferred from the spike trains of both roles: "
     r"give the measured weights instead, or spike trains of the other role\."),
    ("infer-window-shorter-than-lag", _infer(window=0.005), ValueError,
     r"`window` \(0\.005 s\) must be longer than the lag window and its baseline \(they "
     r"reach 0\.06 s after a presynaptic spike\); use a `window` of several seconds \(e\.g\. "
     r"10 s\)\."),
    ("infer-no-unit-fires", _infer(silent=True), ValueError,
     r"infer_weights: no postsynaptic unit fires \(all 1 have no spikes\); weights are "
     r"inferred from spikes\. Check that the postsynaptic units hold spike times\."),
    ("infer-unknown-method", _infer(method="gml"), ValueError,
     r"`method` must be one of 'ccg', 'glm'; got 'gml'\. Did you mean 'glm'\?"),
]


# --- streamed records get the bounds of records loaded whole (issue 13) ---------


def _streamed(edit, name="rec.nc", **options):
    """The record of :func:`_netcdf_edit` saved as ``name`` (any format), ``edit(path)``
    changing values in the file behind the validator's back, then streamed by the
    estimator with a 1 KiB budget in batches of 16 bins."""
    def go():
        import tempfile
        from pathlib import Path

        from plastix.estimate import estimate_alignment
        from plastix.io import save_record

        rng = np.random.default_rng(0)
        ds = _rec(pre_activity=rng.random((200, 5)), post_activity=rng.random((200, 3)),
                  time=np.arange(200) * 0.01, dt=0.01, decay=1.0)()
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / name
            save_record(ds, path, **options)
            edit(path)
            estimate_alignment(path, n_boot=5, n_null=0, memory="1KiB", chunk_bins=16)
    return go


def _set(shape, value, flat):
    """Set the values at C-order positions ``flat`` of the ``shape`` array in an HDF5 file
    (NetCDF, NWB: one dataset; NIX: one dataset per column, of one signal)."""
    def edit(path):
        import h5py

        with h5py.File(path, "r+") as f:
            found = {}
            f.visititems(lambda n, o: found.setdefault(o.shape, []).append(o) if isinstance(
                o, h5py.Dataset) and n.split("/")[-1] in ("data", "pre_activity",
                                                         "post_activity", "weight") else None)
            if shape in found:
                dset = found[shape][0]
                a = dset[...]
                a.reshape(-1)[flat] = value
                dset[...] = a
                return
            cols = sorted((o for o in found.get(shape[:1], [])), key=lambda o: o.name)
            signals = {}
            for o in cols:
                signals.setdefault(o.name.rsplit(".", 1)[0], []).append(o)
            [sig] = [v for v in signals.values() if len(v) == shape[1]]
            for k in flat:
                sig[k % shape[1]][k // shape[1]] = value
    return edit


_STREAM_INF = (r"{where}`{name}` must be finite \(NaN marks a missing value and is allowed "
               r"here\); found {n} inf values?, the first at index {idx}\.")

CASES += [
    ("stream-post-inf", _streamed(_set((200, 3), np.inf, [100, 401, 402])),
     SchemaError, _STREAM_INF.format(where=r"estimate\(rec\.nc\): ", name="post_activity",
                                     n=3, idx=r"\(33, 1\)")),
    ("stream-pre-rate-beyond-late", _streamed(_set((200, 5), -2e4, [997])), SchemaError,
     _BEYOND.format(where=r"estimate\(rec\.nc\): ", name="pre_activity", n=1,
                    bound=r"10000 Hz", why=_RATE_WHY, first=r"-2e\+04", idx=r"\(199, 2\)",
                    at=r"time 1\.99, pre 2")),
    ("stream-inf-before-beyond", _streamed(lambda p: (_set((200, 5), 1e5, [0])(p),
                                                      _set((200, 5), np.inf, [999])(p))),
     SchemaError,
     _STREAM_INF.format(where=r"estimate\(rec\.nc\): ", name="pre_activity", n=1,
                        idx=r"\(199, 4\)")),
    ("stream-weight-beyond", _streamed(_set((3, 3, 5), 5e6, [16, 17])), SchemaError,
     _BEYOND.format(where=r"estimate\(rec\.nc\): ", name="weight", n=2, bound=r"1e\+06",
                    why=r"a million times any real synapse", first=r"5e\+06",
                    idx=r"\(1, 0, 1\)", at=r"weight_time 1, post 0, pre 1")),
    ("stream-weight-inf", _streamed(_set((3, 3, 5), -np.inf, [3])), SchemaError,
     _STREAM_INF.format(where=r"estimate\(rec\.nc\): ", name="weight", n=1,
                        idx=r"\(0, 0, 3\)")),
    ("stream-nix-rate-beyond", _streamed(_set((200, 3), 3e4, [5, 6]), "rec.nix"),
     SchemaError,
     _BEYOND.format(where=r"estimate\(rec\.nix\): ", name="post_activity", n=2,
                    bound=r"10000 Hz", why=_RATE_WHY, first=r"3e\+04", idx=r"\(1, 2\)",
                    at=r"time 0\.01, post 2")),
    ("stream-nwb-standard-inf", _streamed(_set((200, 5), np.inf, [12]), "rec.nwb",
                                          nwb_style="standard"), SchemaError,
     _STREAM_INF.format(where=r"estimate\(rec\.nwb\): ", name="pre_activity", n=1,
                        idx=r"\(2, 2\)")),
    ("stream-nwb-neo-rate-beyond", _streamed(_set((200, 5), 1e7, [995, 999]), "rec.nwb"),
     SchemaError,
     _BEYOND.format(where=r"estimate\(rec\.nwb\): ", name="pre_activity", n=2,
                    bound=r"10000 Hz", why=_RATE_WHY, first=r"1e\+07", idx=r"\(199, 0\)",
                    at=r"time 1\.99, pre 0")),
]


# --- ANN device (issue 18) -------------------------------------------------------

def _train_on(device, *, hide_cuda=False):
    """Train a tiny run on ``device``; with ``hide_cuda`` as on a machine without CUDA."""
    def go():
        from unittest import mock

        from plastix.ann import TrainConfig, train
        from plastix.ann.loop import torch

        cfg = TrainConfig(epochs=1, n_train=64, n_val=32, batch_size=32)
        with mock.patch.object(torch.cuda, "is_available", lambda: False) if hide_cuda \
                else mock.patch.dict({}):
            train(cfg, rng=0, device=device)
    return go


CASES += [
    ("ann-device-cuda-without-cuda", _train_on("cuda", hide_cuda=True), ValueError,
     r"`device` is 'cuda' but CUDA is not available \((this torch is built without CUDA|no "
     r"CUDA device is visible), torch \S+\); use device 'cpu' or 'auto'\."),
    ("ann-device-unknown", _train_on("gpu"), ValueError,
     r"`device` must be 'auto', 'cpu' or 'cuda'; got 'gpu'\."),
]


# --- executor (Dask) ----------------------------------------------------------


def _open_client(**kw):
    def go():
        from plastix._util.executor import open_client

        with open_client(**kw):
            pass
    return go


class _NoPlastixClient:
    """Answers get_versions like a cluster whose second worker lacks plastix."""

    def submit(self, *args, **kw):  # pragma: no cover - never reached
        raise AssertionError

    def get_versions(self, packages=()):
        return {"workers": {"tcp://10.0.0.1:1": {"packages": {"plastix": "0.1.0"}},
                            "tcp://10.0.0.2:1": {"packages": {"plastix": None}}}}


def _no_plastix():
    from plastix._util.executor import check_client

    check_client(_NoPlastixClient())


def _boom(*, tick=None):
    raise ValueError("boom")


def _ok(*, tick=None):
    return 1


def _failing_task():
    from distributed import Client

    from plastix._util.executor import Task, run_tasks

    saved = []
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        try:
            run_tasks([Task("ok", _ok), Task("bad", _boom, label="bad cell")],
                      lambda task, r: saved.append(task.key), client=client, retries=1)
        finally:
            assert saved == ["ok"], saved  # the finished task was saved


CASES += [
    ("dask-scheduler-unreachable", _open_client(scheduler="tcp://127.0.0.1:9", timeout=1),
     ConnectionError,
     r"`--scheduler` tcp://127\.0\.0\.1:9: no Dask scheduler answered within 1 s \(OSError\); "
     r"start one \(`dask scheduler`\) or check the address \(tcp://HOST:PORT or a scheduler "
     r"file \.json\)\."),
    ("dask-scheduler-file-missing", _open_client(scheduler="/nonexistent/sched.json"),
     FileNotFoundError,
     r"`--scheduler` /nonexistent/sched\.json: no such scheduler file; give the file the "
     r"scheduler wrote \(`dask scheduler --scheduler-file FILE`\) or its address "
     r"tcp://HOST:PORT\."),
    ("dask-workers-0", _open_client(workers=0), ValueError,
     r"`--workers` must be an int >= 1 \(worker processes of a local Dask cluster\); got 0\. "
     r"Omit it to run in this process\."),
    ("dask-workers-and-scheduler", _open_client(workers=2, scheduler="tcp://h:1"), ValueError,
     r"give `--workers` \(start a local cluster\) or `--scheduler` \(connect to a running "
     r"one\), not both\."),
    ("dask-workers-lack-plastix", _no_plastix, ValueError,
     r"1 of 2 Dask workers cannot import plastix \(e\.g\. tcp://10\.0\.0\.2:1\); install "
     r"plastix in the workers' Python environment \(the same version as here\) and restart "
     r"them\."),
    ("dask-task-fails-every-retry", _failing_task, RuntimeError,
     r"task bad cell failed on every one of its 2 tries on the Dask cluster: ValueError: boom; "
     r"1 of 2 tasks finished and were saved, so a rerun computes only the rest\."),
]


# --- error-driven LIF circuit, ground truth for inferred weights (issue 16) -------


def _error_cfg(**kw):
    def go():
        from plastix.circuits.error_lif import ErrorConfig

        ErrorConfig(**kw)
    return go


def _error_sim(config=None, **kw):
    def go():
        from plastix.circuits.error_lif import simulate_error

        simulate_error(config, **kw)
    return go


CASES += [
    ("error-lif-negative-eta", _error_cfg(eta=-1), ValueError,
     r"`eta` must be a non-negative finite number \(1/s\); got -1\.0\."),
    ("error-lif-negative-decay", _error_cfg(decay=-0.1), ValueError,
     r"`decay` must be a non-negative finite number \(1/s\); got -0\.1\."),
    ("error-lif-target-zero", _error_cfg(target_rate=0), ValueError,
     r"`target_rate` must be a positive finite number \(Hz\); got 0\.0\."),
    ("error-lif-one-target-zero", _error_cfg(n_post=3, target_rate=(10, 20, 0)), ValueError,
     r"`target_rate\[2\]` must be a positive finite number \(Hz\); got 0\.0\."),
    ("error-lif-targets-wrong-count", _error_cfg(target_rate=(10, 20)), ValueError,
     r"`target_rate` must be one rate or 10 \(one per post neuron, n_post\); got 2 rates\."),
    ("error-lif-target-text", _error_cfg(target_rate="fast"), TypeError,
     r"`target_rate` must be a number \(Hz\); got str 'fast'\."),
    ("error-lif-rate-spread-1", _error_cfg(rate_spread=1.0), ValueError,
     r"`rate_spread` must be in \[0, 1\) \(input rates stay positive\); got 1\.0\."),
    ("error-lif-stdp-config", _error_sim(config=object()), TypeError,
     r"`config` must be an ErrorConfig; got object\."),
]


# --- the null of spike-time kernels (pooled-shift or shift) ---------------------
CASES += [
    ("estimate-null-typo", _est_fit(null="pooled", decay=1.0), ValueError,
     r"`null` must be one of 'pooled-shift', 'shift'; got 'pooled'\. "
     r"Did you mean 'pooled-shift'\?"),
    ("cli-estimate-null-typo",
     _cli("estimate", "good.nc", *_EST, "--null", "shfit", files=["good.nc"]), CLIFailed,
     r"plastix estimate: error: `--null` must be one of 'pooled-shift', 'shift'; got 'shfit'\. "
     r"Did you mean 'shift'\?"),
]


# --- design: recording length for inferred weights (issue 16) ---------------

def _recording_length(**kw):
    def go():
        from plastix.design.recording import recording_length

        recording_length(20, 1, **kw)
    return go


CASES += [
    ("infer-design-too-few-intervals", _recording_length(lengths=(100.0, 200.0), window=20.0),
     ValueError,
     r"`window` \(20 s\) leaves the shortest length \(100 s\) fewer than 10 weight intervals, "
     r"too few for a verdict; use window <= 9\.09091 s or longer lengths\."),
    ("infer-design-no-lengths", _recording_length(lengths=()), ValueError,
     r"`lengths` must name at least one recording length, in seconds\."),
    ("infer-design-method-typo", _recording_length(method="cgg"), ValueError,
     r"`method` must be one of 'ccg', 'glm'; got 'cgg'\. Did you mean 'ccg'\?"),
    ("infer-design-target-typo", _recording_length(target="cpp"), ValueError,
     r"`target` must be one of 'numpy', 'cython', 'cpp_standalone'; got 'cpp'\."),
]



@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_message(case):
    _, trigger, exc, message = case
    with pytest.raises(exc) as info:
        trigger()
    assert re.fullmatch(message, str(info.value), flags=re.S), (
        f"message was:\n{info.value}\nexpected (regex):\n{message}"
    )


