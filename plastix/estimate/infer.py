"""Synaptic weights inferred from spike trains, for recordings that never measured one.

The efficacy of each (pre, post) pair is read, window by window, from the
short-latency excess of the pre → post cross-correlogram: the *spike-transmission
probability* (method ``"ccg"``), the standard for monosynaptic pairs in vivo.

For a presynaptic spike at ``t`` (unit ``j``) count the postsynaptic spikes of
``i`` in the lag window ``[t + lag[0], t + lag[1])``.  Over the ``n_j`` spikes of
``j`` in one window this gives ``N_ij``; the baseline ``E_ij`` is the count
expected without a monosynaptic effect, and the efficacy is

``w_ij = (N_ij − E_ij) / n_j``  (post spikes per pre spike, units ``"1"``).

Baselines
---------
* ``"jitter"`` (default): each presynaptic spike moved uniformly within
  ``± jitter`` (50 ms by default), which keeps slow co-modulation and destroys
  millisecond timing.  With ``n_surrogates = 0`` the *expected* count over all
  jitters is computed exactly (the limit of infinitely many surrogates) from the
  integrated counting function of the post train; with ``n_surrogates > 0`` that
  many jittered copies are drawn with ``rng`` and counted.
* ``(lo, hi)``: the post spikes ``lo``–``hi`` s after each pre spike (e.g.
  ``(0.010, 0.050)``), rescaled to the width of the lag window: the crude check of
  issue 16.

Standard error (``weight_sem``): ``√((v₀ + (1 − r)² p (1 − p)) n_eff) / (n (1 − r))``
for a window's ``n`` presynaptic spikes, with three parts, none read from the pair's
own excess in that window (a spread read from the same few post spikes as the
estimate grows with it: mean z −0.17, var(z) 1.15 at 50–300 spikes, coverage of
±1.96 sem 92.7 % on probe 5's Neuropixels-sized file with that SE):

* ``v₀``, the variance of one spike's excess ``x = N₁ − E₁`` where nothing
  transmits: ``x`` read at the window's pre spikes shifted by twice their reach,
  pooled over all pre units (model-free: a regular, LIF-like post train varies less
  than a Poisson one), floored at a quarter of the Poisson value;
* ``p``, the pair's transmission probability, from its efficacies in the 40 windows
  before (none from the window itself), where their mean exceeds 2 standard errors
  (else 0): a transmitted spike adds ``(1 − r)² p (1 − p)`` to the variance of ``x``;
* ``n_eff = Σ_kl K(t_k − t_l) / K(0)`` over the pair's spikes in the window, ``K``
  the autocorrelation of a spike's counting kernel: spikes of a burst share post
  spikes in their lag windows, so their excesses add up (``n_eff = n`` for spikes
  farther apart than the reach).

Measured over many pairs (``tests/test_ccg_calibration.py``): var(z) 0.98–1.02,
|mean z| < 0.02 and coverage 94.5–95.6 % for unconnected and connected pairs at 20–50
and 80–250 pre spikes a window, bursty inputs included (the per-spike spread gave
1.07–1.60, −0.05 to −0.23 and 89–94.6 %).  With the jitter baseline a peak inside the
lag window leaks a fraction ``r = |lag| / (2 jitter)`` of itself into ``E``; the
efficacy and its error are divided by ``1 − r``.  For a connected *bursty* input the
efficacy itself is biased up (a transmitted spike is counted for every spike of the
burst before it).

Windows
-------
Consecutive windows of ``window`` seconds from the start of each segment; a
trailing remainder shorter than ``window`` is dropped.  Each window's efficacy
is stored at the window's **centre** (``weight_time``), so interval ``k`` of the
output record runs from the centre of window ``k`` to that of window ``k + 1``,
the span over which the two window averages differ.  A pair whose presynaptic
unit fired fewer than ``min_spikes`` times in a window, or whose postsynaptic
unit did not fire in it, gets NaN (missing, never 0); the count is in
``attrs["n_missing"]``.  A unit that never fires in the record is warned about
and its synapses are NaN in every window; a role none of whose units fires is
refused.  Time a unit was not recorded (bins of NaN activity: outside its NWB
``obs_intervals`` or a pynapple group's time support)
is handled with a warning: ``ccg`` leaves out of a pair the presynaptic spikes
whose lag window or baseline touches time the *post* unit was not recorded (its
spikes there were not seen, and would read as transmission failures, biasing the
efficacy down); ``glm`` sets to NaN the pairs of a window either unit misses in
part (unseen pre spikes would read as silence).

When to use which method
------------------------
``ccg`` needs no model and is fast (one ``searchsorted`` per spike); it is the
right choice for many weak inputs onto few cells and for in vivo data where a
monosynaptic peak sits on top of slow co-modulation (the jitter baseline
removes what is slower than ``jitter``).  It confounds a true synapse with
common input arriving within the lag window, and its efficacy is a
probability, not a conductance.

``glm`` (``log λ_t = b + Σ_j β_j x_jt + Σ_h η_h y_ht`` on 1 ms bins, per window
and post unit: ``x_jt`` the spikes of ``j`` in the lag window before bin ``t``,
a boxcar synaptic kernel; ``y_ht`` the post unit's own spikes 1–2, 2–5, 5–10 and
10–20 ms before; scikit-learn's ``PoissonRegressor``, standard errors from the
Fisher information) gives the coupling ``β`` as a log-rate gain, conditioned on
all other inputs and on the post cell's own history: it separates refractoriness,
bursting and the other inputs' drive from the coupling, so it is preferable for
bursting or high-rate post cells and for inputs that are correlated with each
other.  It costs one fit with ``n_pre + 5`` covariates per window and post unit
(seconds to minutes for 1000 inputs), and its stored weight is ``β``, not a
probability.

Spike times, ``window``, ``lag`` and ``jitter`` are in seconds; the record may be
in ``"s"``, ``"ms"`` or ``"min"`` (converted), not in ``"step"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.rng import resolve_rng
from plastix._util.threads import one_blas_thread
from plastix._util.validate import check_int, check_positive
from plastix._util.warn import warn_caller
from plastix.io.lazy import lazy_backend, placeholder
from plastix.record import make_record, provenance, truth

__all__ = ["infer_weights", "METHODS", "DEFAULT_WINDOW", "DEFAULT_LAG", "DEFAULT_JITTER",
           "inference_gate"]

METHODS = ("ccg", "glm")
DEFAULT_WINDOW = 10.0
"""Default inference window, in seconds."""
DEFAULT_LAG = (0.0, 0.010)
"""Default lag window after each presynaptic spike, in seconds (0–10 ms)."""
DEFAULT_JITTER = 0.05
"""Default half-width of the jitter baseline, in seconds (± 50 ms)."""
_SEC_PER = {"s": 1.0, "ms": 1e-3, "min": 60.0}


def _role_spikes(ds: xr.Dataset, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, unit index, segment) of one role, via the estimator's spike reader."""
    from plastix.estimate._spikes import _spikes

    return _spikes(ds, role)


def _train_keys(spikes: tuple[np.ndarray, np.ndarray, np.ndarray], units: np.ndarray,
                segments: np.ndarray) -> dict[int, bytes]:
    """The spike train of each of ``units`` (times, and segments coded by their place in
    the sorted ``segments``, in order) as bytes."""
    t, u, seg = spikes
    keep = np.isin(u, units)  # only the candidates: no sort of every spike of the record
    t, u = np.asarray(t, dtype=float)[keep], np.asarray(u)[keep]
    code = np.searchsorted(segments, np.asarray(seg)[keep]).astype(float)
    order = np.lexsort((t, code, u))
    t, u, code = t[order], u[order], code[order]
    cut = np.searchsorted(u, np.append(units, np.iinfo(np.int64).max))
    return {int(k): np.concatenate([t[a:b], code[a:b]]).tobytes()
            for k, a, b in zip(units, cut[:-1], cut[1:], strict=True)}


def _warn_same_trains(ds: xr.Dataset, pre: tuple, post: tuple) -> None:
    """Warn about pre and post units with the same spike train (one unit in both roles?):
    a unit's transmission onto itself measures its own autocorrelation, not a synapse."""
    n_pre = np.bincount(pre[1], minlength=ds.sizes["pre"])
    n_post = np.bincount(post[1], minlength=ds.sizes["post"])
    counts = np.intersect1d(n_pre[n_pre > 0], n_post[n_post > 0])  # same train: same count
    if not counts.size:
        return
    segments = np.unique(np.concatenate([np.asarray(pre[2]), np.asarray(post[2])]))
    index: dict[bytes, int] = {}
    for i, key in _train_keys(pre, np.flatnonzero(np.isin(n_pre, counts)), segments).items():
        index.setdefault(key, i)
    post_keys = _train_keys(post, np.flatnonzero(np.isin(n_post, counts)), segments)
    same = [(index[k], j) for j, k in post_keys.items() if k in index]
    if not same:
        return
    ids_pre, ids_post = ds["pre"].values, ds["post"].values
    named = ", ".join(f"pre {ids_pre[i]!s} and post {ids_post[j]!s}" for i, j in same[:5])
    more = f" and {len(same) - 5} more" if len(same) > 5 else ""
    warn_caller(f"infer_weights: {len(same)} pre/post pair(s) have the same spike train, as if "
                f"one unit were in both roles: {named}{more}; their weight measures the unit "
                "against itself (its own spikes at lag 0 and its refractoriness), not a "
                "synapse: check the roles (--pre-units, --post-units).")


def _check_spikes(ds: Any) -> None:
    """Refuse inputs without spike trains of both roles."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"`record` must be a plastix record (xarray.Dataset); got "
                        f"{type(ds).__name__}.")
    have = [r for r in ("pre", "post") if f"{r}_spike_time" in ds.variables]
    src = ds.attrs.get("source", "the record")
    if not have:
        raise ValueError(f"infer_weights: {src} has no spike times, only activity (its units "
                         "are traces, not spike trains); weights can only be inferred from "
                         "spike trains of both roles: give the measured weights instead.")
    if len(have) == 1:
        miss = "post" if have == ["pre"] else "pre"
        kind = ds[f"{miss}_activity"].attrs.get("kind", "activity")
        raise ValueError(f"infer_weights: {src} has {have[0]}synaptic spike trains but its "
                         f"{miss}synaptic units are {kind} traces, with no spike times; weights "
                         "are inferred from the spike trains of both roles: give the measured "
                         "weights instead, or spike trains of the other role.")


def _note_measured(ds: xr.Dataset) -> None:
    """Warn when the record holds measured weights: the inferred ones replace them (not for
    a simulation, whose weights are the ground truth they are compared to)."""
    if ds.attrs.get("weights") in ("absent", "inferred") or truth(ds):
        return
    w = np.asarray(ds["weight"].values, dtype=float)
    if np.isfinite(w).any():
        warn_caller(f"infer_weights: {ds.attrs.get('source', 'the record')} holds measured "
                    f"weights ({int(np.isfinite(w).sum())} values); the weights inferred from "
                    "the spikes replace them (estimate without --weights-from spikes to use "
                    "the measured ones).")


def _check_silent(ds: xr.Dataset, role: str, units: np.ndarray) -> None:
    """Warn about units that never fire (their synapses stay NaN); refuse a silent role.

    A unit with no spike in the whole record has no efficacy to infer: its
    synapses come out NaN (not measured) in every window, as in a window where it
    is silent, and the other units are inferred as usual.
    """
    n = ds.sizes[role]
    fired = np.bincount(units, minlength=n) > 0
    if fired.all():
        return
    ids = np.asarray(ds[role].values)[~fired]
    few = ", ".join(repr(v) for v in ids.tolist()[:5]) + (", ..." if ids.size > 5 else "")
    if not fired.any():
        raise ValueError(f"infer_weights: no {role}synaptic unit fires (all {n} have no "
                         f"spikes); weights are inferred from spikes. Check that the "
                         f"{role}synaptic units hold spike times.")
    warn_caller(f"infer_weights: {ids.size} of {n} {role}synaptic units never fire ({few}); "
                "their synapses are left NaN (not measured) in every window.")


def _check_params(window: float, lag: Any, baseline: Any, jitter: float,
                  n_surrogates: int, min_spikes: int) -> tuple[float, float]:
    check_positive("window", window, "s")
    lo, hi = (float(x) for x in lag)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
        raise ValueError(f"`lag` must be (lo, hi) in seconds with 0 <= lo < hi; got {lag!r}.")
    if not isinstance(baseline, str):
        b0, b1 = (float(x) for x in baseline)
        if not (np.isfinite(b0) and np.isfinite(b1) and 0 <= b0 < b1):
            raise ValueError(f"`baseline` must be 'jitter' or (lo, hi) in seconds with "
                             f"0 <= lo < hi; got {baseline!r}.")
        reach = b1
    else:
        check_choice("baseline", baseline, ("jitter",))
        check_positive("jitter", jitter, "s")
        reach = hi + jitter
        if jitter < hi - lo:
            raise ValueError(f"`jitter` ({jitter:g} s) must be at least the width of the lag "
                             f"window ({hi - lo:g} s), so the jittered spikes leave it.")
    if window <= reach:
        raise ValueError(f"`window` ({window:g} s) must be longer than the lag window and its "
                         f"baseline (they reach {reach:g} s after a presynaptic spike); use a "
                         "`window` of several seconds (e.g. 10 s).")
    check_int("n_surrogates", n_surrogates, low=0)
    check_int("min_spikes", min_spikes, low=1)
    return lo, hi


def _windows(ds: xr.Dataset, seg_ids: np.ndarray, window: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and their segments (record time units), segment by segment."""
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    dt = float(ds.attrs["dt"])
    starts, segs = [], []
    for s in seg_ids:
        ts = t[seg == s]
        n = int(math.floor((ts[-1] + dt - ts[0]) / window + 1e-9))
        starts.append(ts[0] + window * np.arange(n))
        segs.append(np.full(n, s))
    return np.concatenate(starts), np.concatenate(segs)


def _warn_short_segments(ds: xr.Dataset, seg_ids: np.ndarray, wsegs: np.ndarray,
                         window: float, c: float) -> None:
    """Warn, naming them, about segments shorter than one ``window`` (s): they give no
    window, so none of their spikes is used (``c``: seconds to record time units)."""
    short = [s for s in seg_ids if not np.any(wsegs == s)]
    if not short:
        return
    lengths = _segment_lengths(ds, np.asarray(short)) / c
    named = ", ".join(f"{s!s} ({n:.3g} s)" for s, n in zip(short[:5], lengths[:5], strict=False))
    more = f" and {len(short) - 5} more" if len(short) > 5 else ""
    warn_caller(f"infer_weights: {len(short)} of {len(seg_ids)} segments are shorter than the "
                f"window ({window:g} s) and give no weight, so their spikes are not used: "
                f"segment {named}{more}; use a shorter `window` (--window) to include them.")


def _segment_lengths(ds: xr.Dataset, seg_ids: np.ndarray) -> np.ndarray:
    """Length of each segment of ``seg_ids``, first bin's start to last bin's end (record
    time units)."""
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    dt = float(ds.attrs["dt"])
    return np.array([t[seg == s][-1] + dt - t[seg == s][0] for s in seg_ids])


def _round2(x: float, up: bool = True) -> float:
    """``x`` rounded up (or down) to two significant digits."""
    e = 10.0 ** (math.floor(math.log10(x)) - 1)
    return (math.ceil(x / e - 1e-9) if up else math.floor(x / e + 1e-9)) * e


def _too_long(window: float, longest: float, reach: float) -> str:
    """The message refusing a ``window`` (s) longer than the ``longest`` segment (s); the
    window suggested is a quarter of it, longer than the lag window's ``reach`` (s)."""
    quarter = longest / 4
    fix = (f"use a shorter `window`, e.g. {quarter:.3g} s (a quarter of it)" if quarter > reach
           else f"the record is too short for the lag window and its baseline ({reach:g} s): "
           "record longer segments")
    return (f"`window` ({window:g} s) is longer than every segment of the record (the longest "
            f"is {longest:.4g} s); {fix}.")


def _window_counts(pre: tuple, starts: np.ndarray, wsegs: np.ndarray, window: float,
                   n_pre: int) -> np.ndarray:
    """Presynaptic spikes per ``(window, pre unit)``; ``window`` in record time units."""
    pt, pu, ps = pre
    out = np.zeros((starts.size, n_pre))
    for s in np.unique(wsegs):
        wi = np.flatnonzero(wsegs == s)
        sel = ps == s
        k = np.floor((pt[sel] - starts[wi[0]]) / window).astype(np.int64)
        ok = (k >= 0) & (k < wi.size)
        out[wi] += np.bincount(k[ok] * n_pre + pu[sel][ok],
                               minlength=wi.size * n_pre).reshape(wi.size, n_pre)
    return out


def _check_pre_counts(n_spk: np.ndarray, window: float, min_spikes: int,
                      longest: float) -> None:
    """Refuse a ``window`` (s) in which no presynaptic unit ever fires ``min_spikes`` times:
    every weight would be missing.

    The window suggested gives the average firing unit about 1.5 ``min_spikes``
    spikes at its rate in the record; it must fit twice in the ``longest`` segment (s)
    (two windows make one weight change), else the longest that does is suggested
    when the most active unit reaches ``min_spikes`` in it.
    """
    if n_spk.max(initial=0) >= min_spikes:
        return
    rate = n_spk.mean(0) / window  # spikes/s of each pre unit, over the windows
    mean = float(rate[rate > 0].mean()) if (rate > 0).any() else 0.0
    head = (f"`window` ({window:g} s): no window has the {min_spikes} presynaptic spikes an "
            f"efficacy needs (`min_spikes`); the pre units fire {mean * window:.3g} spikes "
            f"per window on average (at most {int(n_spk.max(initial=0))})")
    need = _round2(1.5 * min_spikes / mean) if mean > 0 else math.inf
    half = _round2(longest / 2, up=False)
    if need <= half:
        raise ValueError(f"{head}; use a longer `window` (about {need:g} s).")
    if rate.max(initial=0) * half >= min_spikes:
        raise ValueError(f"{head}; about {need:g} s would give most pairs a weight, but two "
                         f"windows of the longest segment ({longest:.4g} s) last at most "
                         f"{half:g} s each: use `window` {half:g} for the most active units, "
                         "or record longer.")
    raise ValueError(f"{head}, so a window of about {need:g} s is needed, more than half the "
                     f"longest segment ({longest:.4g} s; two windows make one weight change): "
                     "record longer, or lower `min_spikes`.")


def _check_some_weight(w: np.ndarray, n_unrecorded: int, window: float,
                       min_spikes: int) -> None:
    """Refuse a result whose every weight is missing (NaN): a record with no weight."""
    if not np.isnan(w).all():
        return
    why = f"{n_unrecorded} where a unit was not recorded, " if n_unrecorded else ""
    raise ValueError(f"`window` ({window:g} s): all {w.size} weights are missing ({why}the "
                     f"rest in windows where the pre unit fired fewer than {min_spikes} times "
                     "(`min_spikes`) or the post unit not at all); use a longer `window`.")


UNOBSERVED_VALUES = 1 << 22
"""Values (rows × units) of activity looked at a time for bins a unit was not recorded in:
32 MB of float64."""


def _unobserved(gaps: dict[Any, list], n_units: int, starts: np.ndarray, wsegs: np.ndarray,
                window: float) -> np.ndarray:
    """``(n_windows, n_units)``: whether a unit was not recorded for part of a window (one
    of its ``gaps``, :func:`_gaps`, in the window's segment overlaps it)."""
    out = np.zeros((starts.size, n_units), dtype=bool)
    for s in np.unique(wsegs):
        k = np.flatnonzero(wsegs == s)
        for j, g in enumerate(gaps.get(s.item(), [])):
            out[k, j] = ~_clear_of(g, starts[k], starts[k] + window)
    return out


def _pairs_unobserved(gaps: dict[str, dict], shape: tuple[int, int, int], starts: np.ndarray,
                      wsegs: np.ndarray, window: float) -> np.ndarray:
    """``(window, post, pre)``: whether either unit of a pair was not recorded for part of
    the window."""
    return (_unobserved(gaps["post"], shape[1], starts, wsegs, window)[:, :, None]
            | _unobserved(gaps["pre"], shape[2], starts, wsegs, window)[:, None, :])


def _mask_unobserved(w: np.ndarray, sem: np.ndarray, miss: np.ndarray) -> None:
    """Set to NaN (in place) the pairs of the windows that either unit was not recorded
    throughout (``miss``; the GLM reads unseen spikes as silence); warn with the count."""
    if not miss.any():
        return
    w[miss], sem[miss] = np.nan, np.nan
    warn_caller(f"infer_weights: {int(miss.sum())} (window, pair) weights fall in windows "
                "that the presynaptic or postsynaptic unit was not recorded throughout (NaN "
                "activity: outside its obs_intervals or time support); they are left NaN "
                "(missing).")


def _gaps(ds: xr.Dataset, role: str) -> dict[Any, list[tuple[np.ndarray, np.ndarray]]]:
    """Per segment, per unit of ``role``: the time spans (record units, the segment's clock)
    of its bins of NaN activity (not recorded), sorted and disjoint ``(starts, ends)``, a
    run of bins merged into one; segments without any are absent.  The activity is read
    in chunks of :data:`UNOBSERVED_VALUES` values (:func:`_nan_bins`)."""
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    dt = float(ds.attrs["dt"])
    n = ds.sizes[role]
    nan_bins = _nan_bins(ds[f"{role}_activity"].variable)
    step = max(1, UNOBSERVED_VALUES // max(n, 1))
    rows: list[list[np.ndarray]] = [[] for _ in range(n)]
    for a in range(0, t.size, step):
        r, u = np.nonzero(nan_bins(a, min(a + step, t.size)))
        for j in np.unique(u):
            rows[j].append(a + r[u == j])
    empty = (np.zeros(0), np.zeros(0))
    out: dict[Any, list[tuple[np.ndarray, np.ndarray]]] = {}
    for j, parts in enumerate(rows):
        idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        for s in np.unique(seg[idx]):
            at = idx[seg[idx] == s]
            t0, t1 = t[at], t[at] + dt
            new = np.r_[True, t0[1:] > t1[:-1] + 1e-9 * dt]  # a run goes on where a bin ends
            first = np.flatnonzero(new)
            last = np.r_[first[1:] - 1, at.size - 1]
            out.setdefault(s.item(), [empty] * n)[j] = (t0[first], t1[last])
    return out


def _nan_bins(act: xr.Variable) -> Callable[[int, int], np.ndarray]:
    """``f(a, b)``: which bins of rows ``a..b`` of the activity ``act`` are NaN (not
    recorded), ``(rows, unit)`` bool.

    Rates binned from spikes when read (:class:`plastix.io.spike_bins.SpikeRates`)
    answer from their units' observation intervals, without binning a spike
    (:meth:`~plastix.io.spike_bins.SpikeRates.unrecorded`); other activity is read.
    """
    unrecorded = getattr(lazy_backend(act), "unrecorded", None)
    if unrecorded is not None:
        return unrecorded
    return lambda a, b: np.isnan(np.asarray(act[a:b].values, dtype=float))


def _clear_of(gaps: tuple[np.ndarray, np.ndarray], x0: np.ndarray, x1: np.ndarray
              ) -> np.ndarray:
    """Whether each span ``[x0, x1]`` misses every gap ``[start, end)``."""
    starts, ends = gaps
    if not starts.size:
        return np.ones(x0.shape, dtype=bool)
    k = np.searchsorted(ends, x0, side="right")  # the first gap ending after x0
    return (k >= starts.size) | (starts[np.minimum(k, starts.size - 1)] >= x1)


def _integral(q: np.ndarray, cq: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``∫_{-∞}^{x} N(s) ds`` for the counting function ``N`` of sorted times ``q``."""
    k = np.searchsorted(q, x, side="right")
    out = x * k
    below = k > 0  # the spikes of q before x: their summed times are subtracted
    np.subtract(k, 1, out=k)
    out[below] -= cq[k[below]]
    return out


def _counts(q: np.ndarray, t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Post spikes of sorted ``q`` in ``[t + lo, t + hi)`` for every ``t``."""
    return (np.searchsorted(q, t + hi, side="left")
            - np.searchsorted(q, t + lo, side="left")).astype(float)


def _pair_counts(q, t, lo, hi, baseline, jitter, n_surrogates, rng
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Observed count and its baseline expectation per pre spike."""
    obs = _counts(q, t, lo, hi)
    if not isinstance(baseline, str):
        b0, b1 = (float(x) for x in baseline)
        return obs, (hi - lo) / (b1 - b0) * _counts(q, t, b0, b1)
    if n_surrogates == 0:  # (f(hi + j) − f(hi − j) − f(lo + j) + f(lo − j)) / 2j, in place
        cq = np.cumsum(q)
        exp = _integral(q, cq, t + jitter + hi)
        exp -= _integral(q, cq, t - jitter + hi)
        exp -= _integral(q, cq, t + jitter + lo)
        exp += _integral(q, cq, t - jitter + lo)
        exp /= 2 * jitter
        return obs, exp
    sur = [_counts(q, t + rng.uniform(-jitter, jitter, t.size), lo, hi)
           for _ in range(n_surrogates)]
    return obs, np.mean(sur, axis=0)


CCG_SPIKES = 1 << 20
"""Presynaptic spikes ``ccg`` takes in one pass over the post units (whole windows at a
time): its working memory, about 100 bytes a spike, is bounded by it, not by the record."""


def _window_runs(k: np.ndarray, n_win: int, n_surrogates: int) -> list[tuple[int, int]]:
    """Consecutive runs ``[a, b)`` of a segment's ``n_win`` windows holding about
    :data:`CCG_SPIKES` of the presynaptic spikes in windows ``k`` (at least one window a
    run).  One run with surrogates: their draws follow the spikes in order."""
    if n_surrogates:
        return [(0, n_win)]
    ends = np.cumsum(np.bincount(k[(k >= 0) & (k < n_win)], minlength=n_win))
    runs, a = [], 0
    while a < n_win:
        done = int(ends[a - 1]) if a else 0
        b = min(n_win, max(a + 1, int(np.searchsorted(ends, done + CCG_SPIKES, "right"))))
        runs.append((a, b))
        a = b
    return runs


CCG_CHUNK_PASSES = 1 << 26
"""(pre spike, post unit) passes in one saved chunk of ``ccg`` (a run of windows and a
block of post units): about 17 s at the 250 ns a pass measured on 1 M spikes (one
core), so a kill loses at most that much with ``resume_dir``."""


def _post_blocks(n_spikes: int, n_post: int, n_surrogates: int) -> list[tuple[int, int]]:
    """Blocks ``[i0, i1)`` of post units, each about :data:`CCG_CHUNK_PASSES` passes over
    a run's ``n_spikes`` presynaptic spikes (a surrogate costs about a quarter pass more:
    measured 1.5 passes with 3)."""
    cost = max(n_spikes, 1) * (1.0 + n_surrogates / 4)
    n_blocks = int(min(n_post, max(1, math.ceil(n_post * cost / CCG_CHUNK_PASSES))))
    edges = np.linspace(0, n_post, n_blocks + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _ccg_plan(pre, starts, wsegs, window, n_post, n_surrogates) -> list[tuple]:
    """The chunks of ``ccg`` in the order they are done: per segment, its runs of
    windows (:func:`_window_runs`), each with its blocks of post units
    (:func:`_post_blocks`); ``[(segment, windows, [((a, b), blocks), ...]), ...]``."""
    pt, _, ps = pre
    plan = []
    for s in np.unique(wsegs):
        wi = np.flatnonzero(wsegs == s)
        k = np.floor((pt[ps == s] - starts[wi[0]]) / window).astype(np.int64)
        ends = np.cumsum(np.bincount(k[(k >= 0) & (k < wi.size)], minlength=wi.size))
        runs = [((a, b), _post_blocks(int(ends[b - 1] - (ends[a - 1] if a else 0)), n_post,
                                      n_surrogates))
                for a, b in _window_runs(k, wi.size, n_surrogates)]
        plan.append((s, wi, runs))
    return plan


def _ccg_chunks(plan: list[tuple]) -> list[tuple[str, dict]]:
    """The chunks of a :func:`_ccg_plan` for :class:`~plastix.estimate._infer_resume.ChunkStore`:
    a name and the part of ``w`` and ``sem`` (windows, post units) each fills."""
    out = []
    for g, (_, wi, runs) in enumerate(plan):
        for (a, b), blocks in runs:
            rows = slice(int(wi[a]), int(wi[b - 1]) + 1)  # a segment's windows are contiguous
            out += [(f"ccg-{g}-{a}-{b}-{i0}-{i1}", {"w": (rows, slice(i0, i1)),
                                                   "sem": (rows, slice(i0, i1))})
                    for i0, i1 in blocks]
    return out


def _ccg(ds, pre, post, starts, wsegs, window, lo, hi, baseline, jitter, n_surrogates,
         min_spikes, rng, gaps, store=None, progress=None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Efficacy, its SEM and the pre spike count per (window, post, pre).

    A presynaptic spike whose reach (its lag window and baseline) touches time the
    post unit was not recorded (:func:`_gaps`) is left out of that post unit's pairs:
    the post spikes there were not seen, and counting them as absent would read as
    transmission failures.  The spikes are taken a run of whole windows at a time
    (:func:`_window_runs`): each (window, pair) sums its spikes in time order, as in one
    pass over all of them.  Each run's post units go in blocks (:func:`_ccg_plan`), the
    chunks a ``store`` (:class:`~plastix.estimate._infer_resume.ChunkStore`) keeps as
    they end and reads back on a rerun, the generator's state with them."""
    pt, pu, ps = pre
    qt, qu, qs = post
    n_w, n_post, n_pre = starts.size, ds.sizes["post"], ds.sizes["pre"]
    w = np.full((n_w, n_post, n_pre), np.nan)
    sem = np.full_like(w, np.nan)
    n_spk = np.zeros((n_w, n_pre))
    clear = [(np.zeros(0), np.zeros(0))] * n_post
    if isinstance(baseline, str):
        reach = (lo - jitter, hi + jitter)
    else:
        reach = (lo, max(hi, float(baseline[1])))
    from plastix._util.progress import progress_bar
    from plastix.estimate._infer_resume import ChunkStore

    store = ChunkStore(None) if store is None else store
    plan = _ccg_plan(pre, starts, wsegs, window, n_post, n_surrogates)
    chunks = _ccg_chunks(plan)
    done = store.resume(chunks, {"w": w, "sem": sem}, progress)
    # one pass over the pre spikes per (segment, post unit): minutes on a lab session
    bar = progress_bar(progress, len(chunks) - len(done), "infer-weights", "chunks")
    dropped, c = 0, 0
    for s, wi, runs in plan:
        idx = np.flatnonzero(ps == s)
        k = np.floor((pt[idx] - starts[wi[0]]) / window).astype(np.int64)  # window in segment
        qs_i = [np.sort(qt[(qs == s) & (qu == i)]) for i in range(n_post)]
        edges = np.append(starts[wi], starts[wi[-1]] + window)
        # windows are [start, end): a spike on the segment's last edge fires in none
        fired = [np.diff(np.searchsorted(q, edges, side="left")) > 0 for q in qs_i]
        for (a, b), blocks in runs:
            sel = (k >= a) & (k < b)
            m, kk = idx[sel], k[sel]
            del sel
            order = np.argsort(pt[m], kind="stable")  # sorted needles: cache-friendly
            t = pt[m[order]]
            flat = wi[kk[order]] * n_pre + pu[m[order]]
            del m, kk, order
            n_j = np.bincount(flat, minlength=n_w * n_pre).reshape(n_w, n_pre)
            n_spk += n_j
            for i0, i1 in blocks:
                if c in done:
                    dropped += store.restore(c)
                    c += 1
                    continue
                part = 0
                for i in range(i0, i1):
                    part += _ccg_pass(w, sem, i, (t, flat, n_j[wi[a:b]]), qs_i[i],
                                      fired[i][a:b], wi[a:b], gaps.get(s.item(), clear)[i],
                                      (lo, hi, baseline, jitter, n_surrogates, min_spikes, rng,
                                       reach))
                store.save(chunks[c], {"w": w, "sem": sem}, part)
                dropped += part
                c += 1
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    if dropped:
        warn_caller(f"infer_weights: {dropped} (pre spike, post unit) pairs fall where the "
                    "postsynaptic unit was not recorded (NaN activity: outside its "
                    "obs_intervals or time support); they are left out of those pairs' "
                    "efficacies.")
    return w, sem, n_spk


def _ccg_pass(w, sem, i, spikes, q, fired, wi, gap, how) -> int:
    """Efficacy and SEM of post unit ``i`` in windows ``wi`` (one run), into ``w`` and
    ``sem``; returns the (pre spike, post unit) pairs left out (post unit not recorded).

    ``spikes`` are the run's presynaptic spikes: sorted times, ``window × n_pre + unit``
    and the count per (window of ``wi``, unit); ``q`` the post unit's sorted spikes in
    the segment, ``fired`` whether it fired in each window of ``wi``, ``gap`` the time
    it was not recorded (:func:`_gaps`), ``how`` the method's parameters and the reach of
    a pre spike.  The SEM is ``√((v₀ + (1 − r)² p (1 − p)) n_eff) / (n (1 − r))``: the
    background variance ``v₀`` of one spike's excess (:func:`_ccg_background`), the
    transmission variance of a pair with evidence of a connection
    (:func:`_ccg_transmitted`) and the pair's effective spike count
    (:func:`_ccg_overlap`).
    """
    lo, hi, baseline, jitter, n_surrogates, min_spikes, rng, reach = how
    t, flat, n = spikes
    n_w, n_pre = w.shape[0], w.shape[2]
    obs, exp = _pair_counts(q, t, lo, hi, baseline, jitter, n_surrogates, rng)
    x = obs - exp                                   # excess post spikes per pre spike
    del obs, exp
    seen = _clear_of(gap, t + reach[0], t + reach[1])
    dropped = 0
    if not seen.all():
        x = np.where(seen, x, 0.0)
        n = np.bincount(flat[seen], minlength=n_w * n_pre).reshape(n_w, n_pre)[wi]
        dropped = int((~seen).sum())
    s1, s2 = (np.bincount(flat, weights=v, minlength=n_w * n_pre).reshape(n_w, n_pre)[wi]
              for v in (x, x * x))
    good = (n >= min_spikes) & fired[:, None]
    keep = 1.0 - (hi - lo) / (2 * jitter) if isinstance(baseline, str) else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        est = s1 / n
        if isinstance(baseline, str):  # the jittered peak leaks r = |lag| / 2 jitter
            est = est / keep               # of itself into E
        est = np.where(good, est, np.nan)
        v0 = _ccg_background(q, t, flat, gap, how, n_pre, wi)
        v0 = np.where(np.isfinite(v0), v0, (s2 - s1 * s1 / n) / (n - 1))  # no shifted spike
        p = _ccg_transmitted(w[:, i], est, wi, v0, n, keep)
        n_eff = n + _ccg_overlap(t, flat, seen, how, n_w * n_pre).reshape(n_w, n_pre)[wi]
        err = np.sqrt((v0 + keep ** 2 * p * (1 - p)) * np.maximum(n_eff, 1.0)) / (n * keep)
    w[wi, i] = est
    sem[wi, i] = np.where(good, err, np.nan)
    return dropped


CCG_SEM_SHIFT = 2.0
"""Shift, in reaches of a pre spike, of the times at which :func:`_ccg_background` reads the
background variance: far enough that no pair's transmitted spikes fall in their reach."""
CCG_SEM_POISSON = 0.25
"""Floor of the background variance, as a fraction of a Poisson post train's at the post
unit's rate in the window: a window with a handful of post spikes can leave the shifted
reads of :func:`_ccg_background` with none (variance 0); a regular (LIF-like) train's
variance is 0.4-0.7 of the Poisson one, above the floor."""
CCG_SEM_READS = 2000
"""Post spikes that :func:`_ccg_background` aims to find in the lag windows of its shifted
reads per window (a relative error of about 3 % on the variance); it reads every spike
when they give fewer."""
CCG_SEM_HISTORY = 40
"""Windows before a window whose efficacies give a pair's transmission probability for its
SEM (:func:`_ccg_transmitted`)."""
CCG_SEM_EVIDENCE = 2.0
"""Standard errors by which a pair's mean efficacy over :data:`CCG_SEM_HISTORY` windows must
exceed 0 for its transmission variance to enter its SEM."""


_MIX = 1e6 * (5 ** 0.5 - 1) / 2
"""``(t × _MIX / shift) mod 1``: a pseudo-random number per spike time that is the same in
any run of windows; spikes a microsecond apart get unrelated ones, so a sample by it has
no period to alias with and is not clumped in time."""


def _ccg_background(q, t, flat, gap, how, n_pre, wi) -> np.ndarray:
    """Per-spike variance of the excess ``x`` where no pair transmits, per window of
    ``wi``: ``x`` read at pre spikes shifted by :data:`CCG_SEM_SHIFT` reaches (forwards,
    or backwards near the window's end), pooled over the pre units; enough of them that
    about :data:`CCG_SEM_READS` post spikes fall in their lag windows (one spike in
    ``k``, picked by a hash of its time, :data:`_MIX`: a sample of every k-th block of
    time aliased with cross-fitting's alternating blocks, and one of whole blocks read
    clumps of overlapping spikes, a noisy variance).
    Floored at :data:`CCG_SEM_POISSON` of a Poisson train's; with surrogates the
    baseline's own noise adds ``1 / n_surrogates``.  Returns ``(windows of wi, 1)``, NaN
    in a window with fewer than 2 reads (the pair's own spread stands in there)."""
    lo, hi, baseline, jitter, n_surrogates, _, _, reach = how
    d = CCG_SEM_SHIFT * (reach[1] - reach[0])
    win = flat // n_pre  # non-decreasing: t is sorted and windows follow each other
    first = np.searchsorted(win, wi, "left")  # each window's first and last pre spike
    last = np.searchsorted(win, wi, "right") - 1
    has = last >= first
    t0 = np.where(has, t[np.clip(first, 0, t.size - 1)], 0.0)
    t1 = np.where(has, t[np.clip(last, 0, t.size - 1)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (np.searchsorted(q, t1, "right") - np.searchsorted(q, t0, "left")) / (t1 - t0)
        hits = (last - first + 1) * rate * (hi - lo)  # post spikes in all lag windows
        every = np.maximum(np.floor(np.nan_to_num(hits / CCG_SEM_READS)), 1.0)
    at = win - wi[0]
    ahead = t + d + reach[1] <= t1[at]
    ts = np.where(ahead, t + d, t - d)
    take = (t * (_MIX / d)) % 1.0 < 1 / every[at]  # 1 spike in `every`, by its time
    use = take & (ahead | (t - d + reach[0] >= t0[at]))
    use[use] = _clear_of(gap, ts[use] + reach[0], ts[use] + reach[1])
    obs, exp = _pair_counts(q, ts[use], lo, hi, baseline, jitter, 0, None)
    x, k = obs - exp, at[use]
    m0, m1, m2 = (np.bincount(k, weights=v, minlength=wi.size) for v in (None, x, x * x))
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(m0 >= 2, (m2 - m1 * m1 / m0) / (m0 - 1), np.nan)
        step, h = _spike_kernel(lo, hi, baseline, jitter)
        v = np.maximum(v, CCG_SEM_POISSON * rate * float(h @ h) * step)  # NaN stays
    v = np.where(has, v, np.nan)
    return (v * (1 + 1 / n_surrogates) if n_surrogates else v)[:, None]


def _ccg_transmitted(w_i, est, wi, v0, n, keep) -> np.ndarray:
    """Transmission probability for the SEM: the mean of a pair's finite efficacies in
    the :data:`CCG_SEM_HISTORY` windows before each window (``w_i``: earlier runs;
    ``est``: this one; its own estimate only where none came before), where it exceeds
    :data:`CCG_SEM_EVIDENCE` standard errors, else 0 (no evidence of a connection)."""
    a = int(wi[0])
    rows = np.vstack([w_i[max(a - CCG_SEM_HISTORY, 0):a], est])
    fin = np.isfinite(rows)
    c = np.cumsum(np.vstack([np.zeros((1, rows.shape[1])), np.where(fin, rows, 0.0)]), 0)
    m = np.cumsum(np.vstack([np.zeros((1, rows.shape[1])), fin]), 0)
    at = np.arange(rows.shape[0] - est.shape[0], rows.shape[0])
    start = np.maximum(at - CCG_SEM_HISTORY, 0)
    m = m[at] - m[start]
    mean = np.where(m > 0, (c[at] - c[start]) / np.maximum(m, 1), est)
    se = np.sqrt(v0 / (n * np.maximum(m, 1))) / keep
    return np.where(mean > CCG_SEM_EVIDENCE * se, np.clip(mean, 0.0, 1.0), 0.0)


_OVERLAP_MEMO: list = [None]
"""The last run's :func:`_ccg_overlap` per spike (the run's spikes, kernel, sums), reused
for every post unit of that run."""


def _ccg_overlap(t, flat, seen, how, size) -> np.ndarray:
    """``Σ_{k≠l} K(t_k − t_l) / K(0)`` per (window, pre unit), over its seen spikes: how
    far the excesses of nearby spikes of one unit add up (``K`` the autocorrelation of a
    spike's counting kernel, lag window minus baseline; bursts make it positive).  A pair
    with one spike unseen is kept (its neighbour is left out by ``seen`` alone)."""
    lo, hi, baseline, jitter, n_surrogates, _, _, _ = how
    key = (lo, hi, baseline if isinstance(baseline, str) else tuple(baseline), jitter)
    memo = _OVERLAP_MEMO[0]
    if memo is None or memo[0] is not t or memo[1] is not flat or memo[2] != key:
        step, h = _spike_kernel(lo, hi, baseline, jitter)
        k = np.correlate(h, h, "full")[h.size - 1:]  # K(d) for d = 0, step, ...
        memo = (t, flat, key, _overlap_sums(t, flat, np.arange(k.size) * step, k / k[0]))
        _OVERLAP_MEMO[0] = memo
    return np.bincount(flat, weights=memo[3] * seen, minlength=size)


def _spike_kernel(lo, hi, baseline, jitter) -> tuple[float, np.ndarray]:
    """``(step, h)``: a spike's counting kernel on a grid of lags, its lag-window indicator
    minus its baseline weight (jitter: a trapezoid); ``Σ h² step`` times a Poisson post
    rate is the variance of one spike's excess."""
    step = (hi - lo) / 200
    if isinstance(baseline, str):
        u = np.arange(lo - jitter - step, hi + jitter + step, step) + step / 2
        g = np.clip(np.minimum(u - lo, jitter) - np.maximum(u - hi, -jitter), 0, None)
        g /= 2 * jitter
    else:
        b0, b1 = (float(b) for b in baseline)
        u = np.arange(min(lo, b0) - step, max(hi, b1) + step, step) + step / 2
        g = (hi - lo) / (b1 - b0) * ((u >= b0) & (u < b1))
    return step, ((u >= lo) & (u < hi)) - g


def _overlap_sums(t, flat, d, k) -> np.ndarray:
    """Per spike, ``Σ K(t_k − t_l) / K(0)`` over the other spikes ``l`` of its
    (window, unit) closer than the kernel's support ``d[-1]``."""
    order = np.argsort(flat, kind="stable")  # by (window, unit), in time within each
    ts, fs = t[order], flat[order]
    c = np.zeros(t.size)
    for o in range(1, t.size):
        gap = ts[o:] - ts[:-o]
        near = np.flatnonzero((fs[o:] == fs[:-o]) & (gap < d[-1]))
        if near.size == 0:
            break
        v = np.interp(gap[near], d, k)
        c[near] += v
        c[near + o] += v
    out = np.empty_like(c)
    out[order] = c
    return out



GLM_BIN = 0.001
"""Bin width of the ``glm`` method, in seconds (1 ms)."""
GLM_HISTORY = (0.001, 0.002, 0.005, 0.010, 0.020)
"""Edges (s before the bin) of the post-history covariates of ``glm``: 1–2, 2–5, 5–10, 10–20 ms."""
GLM_ALPHA = 1e-4
"""Ridge penalty of ``glm`` (scikit-learn's ``alpha``, per bin), which keeps every fit finite."""


def _binned(t: np.ndarray, u: np.ndarray, n: int, a: float, n_bins: int, width: float
            ) -> np.ndarray:
    """Spike counts ``(n_bins, n)`` of the spikes in ``[a, a + n_bins width)``."""
    b = np.floor((t - a) / width).astype(np.int64)
    ok = (b >= 0) & (b < n_bins)
    return np.bincount(b[ok] * n + u[ok], minlength=n_bins * n).reshape(n_bins, n).astype(float)


def _lagged(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Rows ``t`` of the sums of ``x`` over rows ``t − hi + 1 … t − lo`` (causal boxcar)."""
    c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    idx = np.arange(x.shape[0])
    top = np.clip(idx - lo + 1, 0, x.shape[0])
    bot = np.clip(idx - hi + 1, 0, x.shape[0])
    return c[top] - c[bot]


GLM_CHUNK_BINS = 3_000_000
"""Work in one saved chunk of ``glm`` (a block of windows), in (post unit × bin) fits
weighted by ``1 + (n_pre + 5)² / 10⁴``: one fit costs about 7 µs a bin plus 0.75 ns a
bin per squared covariate (measured, 15 to 205 covariates), so a chunk is about 20 s."""


def _glm_chunks(n_w: int, n_post: int, n_pre: int, n_bins: int) -> list[tuple[str, dict]]:
    """The chunks of ``glm``: blocks of consecutive windows of about
    :data:`GLM_CHUNK_BINS` work each (at least one window)."""
    cost = n_post * n_bins * (1.0 + (n_pre + 5) ** 2 / 1e4)
    size = int(max(1, GLM_CHUNK_BINS // max(cost, 1.0)))
    return [(f"glm-{a}-{min(a + size, n_w)}", {n: (slice(a, min(a + size, n_w)),)
                                                for n in ("w", "sem", "n_spk")})
            for a in range(0, n_w, size)]


def _glm(ds, pre, post, starts, wsegs, window, lo, hi, width, min_spikes, store=None,
         progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson GLM coupling, its SEM and the pre spike count per (window, post, pre).

    Per window and post unit: ``log λ_t = b + Σ_j β_j x_jt + Σ_h η_h y_ht`` on
    bins of ``width``, ``x_jt`` the spikes of ``j`` in the lag window before bin
    ``t`` (a boxcar synaptic kernel), ``y_ht`` the post unit's own spikes in the
    :data:`GLM_HISTORY` bands; fitted by scikit-learn's ``PoissonRegressor``
    (Newton–Cholesky, ridge :data:`GLM_ALPHA`); standard errors from the inverse
    Fisher information ``(Xᵀ diag(λ) X + n α I)⁻¹`` of the penalised fit.  The
    windows go in blocks (:func:`_glm_chunks`), which a ``store``
    (:class:`~plastix.estimate._infer_resume.ChunkStore`) keeps as they end and reads
    back on a rerun.
    """
    from plastix._util.progress import progress_bar
    from plastix.estimate._infer_resume import ChunkStore

    n_w, n_post, n_pre = starts.size, ds.sizes["post"], ds.sizes["pre"]
    out = {"w": np.full((n_w, n_post, n_pre), np.nan), "n_spk": np.zeros((n_w, n_pre))}
    out["sem"] = np.full_like(out["w"], np.nan)
    n_bins = int(round(window / width))
    lags = (int(round(lo / width)), max(int(round(hi / width)), 1))
    store = ChunkStore(None) if store is None else store
    chunks = _glm_chunks(n_w, n_post, n_pre, n_bins)
    done = store.resume(chunks, out, progress)
    # one fit per (window, post unit): seconds each on long windows, so show progress
    left = n_w - sum(_chunk_windows(chunks[c]) for c in done)
    bar = progress_bar(progress, left, "infer-weights", "windows")
    for c, chunk in enumerate(chunks):
        if c in done:
            continue
        rows = chunk[1]["w"][0]
        for k in range(rows.start, rows.stop):
            _glm_window(k, out, pre, post, starts[k], wsegs[k], n_bins, lags, width,
                        min_spikes)
            if bar is not None:
                bar.update(1)
        store.save(chunk, out)
    if bar is not None:
        bar.close()
    return out["w"], out["sem"], out["n_spk"]


def _chunk_windows(chunk: tuple[str, dict]) -> int:
    """Windows in a chunk of :func:`_glm_chunks`."""
    return chunk[1]["w"][0].stop - chunk[1]["w"][0].start


def _glm_window(k, out, pre, post, a, s, n_bins, lags, width, min_spikes) -> None:
    """The GLM fits of window ``k`` (start ``a``, segment ``s``), one per post unit, into
    ``out``'s ``w``, ``sem`` and ``n_spk`` (see :func:`_glm`); ``lags`` in bins."""
    from sklearn.linear_model import PoissonRegressor
    from threadpoolctl import threadpool_limits

    pt, pu, ps = pre
    qt, qu, qs = post
    n_post, n_pre = out["w"].shape[1:]
    hist = np.maximum(np.round(np.array(GLM_HISTORY) / GLM_BIN).astype(int), 1)
    xp = _binned(pt[ps == s], pu[ps == s], n_pre, a, n_bins, width)
    out["n_spk"][k] = xp.sum(0)
    x_pre = _lagged(xp, *lags)
    yq = _binned(qt[qs == s], qu[qs == s], n_post, a, n_bins, width)
    for i in range(n_post):
        y = yq[:, i]
        good = (out["n_spk"][k] >= min_spikes) & (y.sum() > 0)
        if not good.any():
            continue
        own = np.column_stack([_lagged(y[:, None], h0, h1)[:, 0]
                               for h0, h1 in zip(hist[:-1], hist[1:], strict=True)])
        x = np.hstack([x_pre[:, good], own])
        # small fits: BLAS threads cost more than they save (25x on a busy 2-core machine)
        with threadpool_limits(1 if x.shape[1] < 256 else None):
            fit = PoissonRegressor(alpha=GLM_ALPHA, solver="newton-cholesky",
                                   max_iter=200).fit(x, y)
            mu = fit.predict(x)
            xa = np.hstack([np.ones((x.shape[0], 1)), x])
            info = (xa * mu[:, None]).T @ xa
        info[1:, 1:] += x.shape[0] * GLM_ALPHA * np.eye(x.shape[1])
        cov = np.linalg.pinv(info)
        out["w"][k, i, good] = fit.coef_[: good.sum()]
        out["sem"][k, i, good] = np.sqrt(np.diag(cov)[1: good.sum() + 1])


def _open_store(resume_dir: Any, method: str, args: tuple, ds: xr.Dataset, spikes: tuple,
                windows: tuple, gaps: Any = None, rng: np.random.Generator | None = None):
    """The :class:`~plastix.estimate._infer_resume.ChunkStore` of one inference: its
    folder in ``resume_dir`` is keyed by the method, its arguments ``args`` (record time
    units), the numbers of units of ``ds``, the ``spikes`` (pre, post), the ``windows``
    (starts, segments), the post units' unrecorded time ``gaps`` the method reads, the
    generator's state (when it draws), the chunk sizes and the numerical libraries'
    versions; None: keeps nothing."""
    from plastix._util.checkpoint import digest
    from plastix.estimate._infer_resume import open_store

    if resume_dir is None:
        return open_store(None, {})
    libs = {"numpy": np.__version__}
    if method == "glm":
        import sklearn

        libs.update(sklearn=sklearn.__version__, glm=[GLM_HISTORY, GLM_ALPHA])
    config = {"method": method, "args": [repr(a) for a in args],
              "units": [ds.sizes["pre"], ds.sizes["post"]],
              "spikes": digest(*spikes), "windows": digest(*windows),
              "gaps": digest(gaps) if gaps is not None else None,
              "rng": None if rng is None else rng.bit_generator.state,
              "chunks": [CCG_SPIKES, CCG_CHUNK_PASSES, GLM_CHUNK_BINS], "libraries": libs}
    return open_store(resume_dir, config, rng)


@one_blas_thread()
def infer_weights(record: Any, *, method: str = "ccg", window: float = DEFAULT_WINDOW,
                  lag: tuple[float, float] = DEFAULT_LAG, baseline: Any = "jitter",
                  jitter: float = DEFAULT_JITTER, n_surrogates: int = 0, min_spikes: int = 20,
                  rng: Any = None, resume_dir: Any = None,
                  progress: bool | None = None) -> xr.Dataset:
    """Infer the efficacy of every (pre, post) pair in consecutive windows from spikes.

    Parameters
    ----------
    record : xarray.Dataset
        A plastix record with ``pre_spike_*`` and ``post_spike_*`` variables; its
        weights, if any, are ignored (replaced by the inferred ones).
    method : {"ccg", "glm"}
        Spike-transmission probability, or Poisson GLM coupling (see the module
        docstring).
    window : float
        Window length, in seconds (default 10 s).
    lag : (float, float)
        Lag window after each presynaptic spike, in seconds (default 0–10 ms).
    baseline : "jitter" or (float, float)
        Jittered presynaptic spikes (default), or a later lag window in seconds
        (e.g. ``(0.010, 0.050)``).
    jitter : float
        Half-width of the uniform jitter, in seconds (default 50 ms).
    n_surrogates : int
        Jittered surrogates drawn; 0 (default) uses their exact expectation
        (``ccg`` only; ``baseline`` and ``jitter`` too).
    min_spikes : int
        Fewest presynaptic spikes in a window for a pair to get a weight (else NaN).
    rng : int, Generator or None
        Randomness of the surrogates (unused when ``n_surrogates = 0``).
    resume_dir : str, Path or None
        Folder in which each finished chunk of the work is kept as it ends
        (:mod:`plastix.estimate._infer_resume`; ``ccg``: a run of windows and a block
        of post units, about 17 s; ``glm``: a block of windows), in a sub-folder named
        by a hash of the spikes, the parameters and (with surrogates) the generator's
        state; a rerun with the same arguments reads them back and computes only the
        rest, to the same bits.  With surrogates (``n_surrogates > 0``) and
        ``rng=None`` every call draws fresh entropy, so it reuses nothing from an
        earlier one and leaves one more sub-folder (an ``UnseededResumeWarning`` says
        so): pass an int seed to resume.  None
        (default) keeps nothing.
    progress : bool or None
        None (default): a bar on a terminal, a line every 30 s elsewhere; True: a bar;
        False: nothing (:func:`plastix._util.progress.progress_bar`).

    Returns
    -------
    xarray.Dataset
        A plastix record: the input's activity and spikes, ``weight (weight_time,
        post, pre)`` = inferred efficacy at window centres (``ccg``: post spikes
        per pre spike; ``glm``: log-rate gain; units ``"1"``), ``weight_sem``
        (same dims) and ``pre_spike_count``
        ``(weight_time, pre)``; ``attrs["weights"] = "inferred"``, the method and
        its parameters in ``provenance["weight_inference"]``, and ``attrs["n_missing"]``
        (pairs × windows set to NaN).
    """
    _check_spikes(record)
    check_choice("method", method, METHODS)
    lo, hi = _check_params(window, lag, baseline, jitter, n_surrogates, min_spikes)
    _note_measured(record)
    tu = str(record.attrs.get("time_units", "s"))
    if tu not in _SEC_PER:
        raise ValueError(f"infer_weights needs a record timed in seconds, ms or minutes; got "
                         f"time_units={tu!r}.")
    c = 1.0 / _SEC_PER[tu]  # seconds -> record time units
    pre, post = _role_spikes(record, "pre"), _role_spikes(record, "post")
    _check_silent(record, "pre", pre[1])
    _check_silent(record, "post", post[1])
    _warn_same_trains(record, pre, post)
    seg_ids = np.unique(np.asarray(record["segment"].values))
    starts, wsegs = _windows(record, seg_ids, window * c)
    longest = float(_segment_lengths(record, seg_ids).max()) / c  # s
    if starts.size == 0:
        raise ValueError(_too_long(window, longest, hi + (jitter if isinstance(baseline, str)
                                                          else float(baseline[1]))))
    _warn_short_segments(record, seg_ids, wsegs, window, c)
    _check_pre_counts(_window_counts(pre, starts, wsegs, window * c, record.sizes["pre"]),
                      window, int(min_spikes), longest)
    base = baseline if isinstance(baseline, str) else tuple(float(b) * c for b in baseline)
    gaps = {"post": _gaps(record, "post")}  # time a unit was not recorded
    if method == "glm":
        args = (window * c, lo * c, hi * c, GLM_BIN * c, int(min_spikes))
        store = _open_store(resume_dir, "glm", args, record, (pre, post), (starts, wsegs))
        w, sem, n_spk = _glm(record, pre, post, starts, wsegs, *args, store=store,
                             progress=progress)
    else:
        if n_surrogates:
            from plastix.estimate._resume import warn_unseeded

            warn_unseeded(resume_dir, rng)
        gen = resolve_rng(rng)
        args = (window * c, lo * c, hi * c, base, jitter * c, int(n_surrogates),
                int(min_spikes))
        store = _open_store(resume_dir, "ccg", args, record, (pre, post), (starts, wsegs),
                            gaps=gaps["post"], rng=gen if n_surrogates else None)
        w, sem, n_spk = _ccg(record, pre, post, starts, wsegs, *args, gen, gaps["post"],
                             store=store, progress=progress)
    n_unrecorded = 0
    if method == "glm" or np.isnan(w).any():  # the pre units' gaps: only when they matter
        gaps["pre"] = _gaps(record, "pre")
        unseen = _pairs_unobserved(gaps, w.shape, starts, wsegs, window * c)
        if method == "glm":  # ccg leaves out the pre spikes near unrecorded time instead
            _mask_unobserved(w, sem, unseen)
        n_unrecorded = int((np.isnan(w) & unseen).sum())
    _check_some_weight(w, n_unrecorded, window, int(min_spikes))
    return _output(record, w, sem, n_spk, starts + window * c / 2, wsegs, n_unrecorded, {
        "method": method, "window_s": float(window), "lag_s": [lo, hi],
        "baseline": baseline if isinstance(baseline, str) else [float(b) for b in baseline],
        "jitter_s": float(jitter), "n_surrogates": int(n_surrogates),
        "min_spikes": int(min_spikes), "weight_time": "window centres"})


def _output(ds: xr.Dataset, w, sem, n_spk, centres, wsegs, n_unrecorded: int,
            how: dict) -> xr.Dataset:
    """The record with the inferred weights, their SEM and the provenance."""
    n_missing = int(np.isnan(w).sum())
    prov = {**provenance(ds), "weight_inference": how}
    spikes = {r: {"time": ds[f"{r}_spike_time"].values, "unit": ds[f"{r}_spike_unit"].values,
                  "segment": ds[f"{r}_spike_segment"].values} for r in ("pre", "post")}
    pa, qa = ds["pre_activity"], ds["post_activity"]
    lazy = [n for n in ("pre_activity", "post_activity")  # left in its file: carried over
            if not ds[n].variable._in_memory]
    out = make_record(
        *(placeholder(ds[n].shape) if n in lazy else ds[n].values
          for n in ("pre_activity", "post_activity")), w,
        time=ds["time"].values, weight_time=centres,
        dt=float(ds.attrs["dt"]), pre=ds["pre"].values, post=ds["post"].values,
        segment=ds["segment"].values, weight_segment=wsegs,
        time_units=ds.attrs.get("time_units", "s"), activity_units=pa.attrs.get("units", "1"),
        post_activity_units=qa.attrs.get("units") if qa.attrs.get("units") != pa.attrs.get(
            "units") else None,
        activity_kind=pa.attrs.get("kind", "count"), post_activity_kind=qa.attrs.get("kind"),
        weight_units="1", decay=float(ds["decay"].values) if "decay" in ds.variables else None,
        pre_spikes=spikes["pre"], post_spikes=spikes["post"],
        source=f"{ds.attrs.get('source', 'unknown')} (weights inferred: {how['method']})",
        provenance=prov, truth=truth(ds))
    long = ("spike-transmission probability (post spikes per pre spike), inferred"
            if how["method"] == "ccg" else "Poisson GLM coupling (log-rate gain per pre spike "
            "in the lag window), inferred")
    for n in lazy:
        out[n] = ds[n].variable.copy(deep=False)
    out["weight"].attrs.update({"long_name": long, "inferred": how["method"]})
    out["weight_sem"] = (("weight_time", "post", "pre"), sem,
                         {"units": "1", "long_name": "standard error of the inferred weight"})
    out["pre_spike_count"] = (("weight_time", "pre"), n_spk,
                              {"units": "spikes", "long_name": "pre spikes in the window"})
    out.attrs.update({"weights": "inferred", "weight_inference": json.dumps(how),
                      "n_missing": n_missing, "n_unrecorded": n_unrecorded,
                      "n_weights": int(w.size)})
    return out


# ---------------------------------------------------------------- the estimator on inferred weights

PROPAGATION = (
    "inferred weights from the presynaptic spikes of even cross-fit blocks, the Hebbian term "
    "from those of odd blocks (so the counting noise of the weights is independent of the "
    "Hebbian term); the block bootstrap over intervals resamples the inferred changes, their "
    "inference noise included; and the verdict is forced to 'indeterminate' when a "
    "heterogeneity chi-square test (sum over synapses and windows of (w - w_mean)^2 / sem^2, "
    "inverse-variance weighted means, df = windows - 1 per synapse) does not find the "
    "inferred weights changing more than their inference noise at level alpha")


NO_CROSS_FIT = (
    "no cross-fit: the same spikes give the weights and the Hebbian term, so their noise is "
    "correlated (biased towards Hebbian); " + PROPAGATION.split("term); ", 1)[1])


def heterogeneity_test(weight: np.ndarray, sem: np.ndarray) -> tuple[float, int, float]:
    """Do the inferred weights vary over windows more than their standard errors allow?

    Parameters
    ----------
    weight, sem : ndarray (windows, post, pre)
        Inferred weights and their standard errors (NaN: missing).

    Returns
    -------
    (chi2, df, p) : (float, int, float)
        ``Σ_s Σ_k (w_sk − m_s)² / sem_sk²`` with ``m_s`` each synapse's
        inverse-variance weighted mean, its degrees of freedom ``Σ_s (n_s − 1)``
        and the upper-tail p-value (NaN when ``df = 0``).
    """
    from scipy.stats import chi2

    ok = np.isfinite(weight) & np.isfinite(sem) & (sem > 0)
    v = np.where(ok, sem, 1.0) ** 2
    inv = np.where(ok, 1.0 / v, 0.0)
    wz = np.where(ok, weight, 0.0)
    n = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (wz * inv).sum(0) / inv.sum(0)
    stat = float(np.where(ok, (wz - np.nan_to_num(m)) ** 2 * inv, 0.0).sum())
    df = int(np.maximum(n - 1, 0).sum())
    return stat, df, float(chi2.sf(stat, df)) if df > 0 else math.nan


def inference_gate(est: Any, ds: xr.Dataset) -> None:
    """Make a fitted estimator's verdict ``indeterminate`` when the record's weights, which
    carry ``weight_sem``, do not change more than that noise (:func:`heterogeneity_test`).

    Called by :meth:`HebbianEstimator.fit` for every record with ``weight_sem`` (weights
    inferred from spikes, or measured with a standard error); sets ``est.inference_test_``
    ``(chi2, df, p)`` and the ``inference_*`` attributes of ``est.result_``.  The interval
    and the null need no further term: the block bootstrap resamples the observed changes,
    inference noise included, and the circular-shift null keeps it; adding draws from
    ``weight_sem`` would count that noise twice.
    """
    stat, df, p = heterogeneity_test(np.asarray(ds["weight"].values),
                                     np.asarray(ds["weight_sem"].values))
    est.inference_test_ = (stat, df, p)
    if not p < float(est.alpha):
        est.verdict_ = "indeterminate"
        sem = np.asarray(ds["weight_sem"].values)
        tested = np.isfinite(ds["weight"].values) & np.isfinite(sem) & (sem > 0)
        n_syn = int((tested.reshape(tested.shape[0], -1).sum(0) >= 2).sum())  # df > 0
        est.verdict_reason_ = _gate_reason(stat, df, p, n_syn)
        est.result_["verdict"] = ((), est.verdict_)
        est.result_.attrs["verdict_reason"] = est.verdict_reason_
    est.result_.attrs.update({"inference_chi2": stat, "inference_df": df, "inference_p": p})
    if ds.attrs.get("weights") == "inferred":
        est.result_.attrs.setdefault("uncertainty_propagated", NO_CROSS_FIT)


def _gate_reason(stat: float, df: int, p: float, n_synapses: int | None = None) -> str:
    """Why the heterogeneity test (:func:`heterogeneity_test`) leaves the verdict
    indeterminate: no change beyond the noise, or no synapse to test (``df = 0``).  The
    test pools every synapse, so the reason says so (``n_synapses``: those tested)."""
    if df == 0:
        return ("the inferred weights cannot be tested against their inference noise: no "
                "synapse has a finite weight and standard error in two windows")
    n_syn = "" if n_synapses is None else f" pooled over {n_synapses} synapses"
    return ("taken together, the inferred weights do not change more than their inference "
            f"noise (heterogeneity chi-square {stat:.4g} on {df} df{n_syn}, p = {p:.3g}; "
            "a few synapses that change can hide among many that do not)")


def _odd_blocks(ds: xr.Dataset, block: float) -> np.ndarray:
    """Whether each presynaptic spike of ``ds`` lies in an odd block (bool, one per spike).

    Blocks of ``block`` record time units run from the first bin of the spike's
    segment (from 0 for a segment without bins); looked up for all spikes at
    once, without a Python object per spike.
    """
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    pt = np.asarray(ds["pre_spike_time"].values, dtype=float)
    ps = np.asarray(ds["pre_spike_segment"].values)
    if not pt.size:
        return np.zeros(0, bool)
    segs, first = np.unique(seg, return_index=True)  # each segment's first bin
    pos = np.clip(np.searchsorted(segs, ps), 0, max(segs.size - 1, 0))
    t0 = np.where(segs[pos] == ps, t[first][pos], 0.0) if segs.size else np.zeros(pt.size)
    t0 = np.subtract(pt, t0, out=t0)
    t0 /= block
    return (np.floor(t0).astype(np.int64) % 2) == 1


def _split_pre(ds: xr.Dataset, block: float, parity: int,
               odd: np.ndarray | None = None) -> xr.Dataset:
    """``ds`` keeping only the presynaptic spikes of even (0) or odd (1) blocks
    (``odd``: :func:`_odd_blocks` of ``ds``, computed when not given)."""
    odd = _odd_blocks(ds, block) if odd is None else odd
    return ds.isel(pre_spike=np.flatnonzero(odd if parity else ~odd))


#: the presynaptic spike variables of a record
_PRE_SPIKES = ("pre_spike_time", "pre_spike_unit", "pre_spike_segment")


def _without_pre_spikes(ds: xr.Dataset) -> tuple[xr.Dataset, dict]:
    """``ds`` without its presynaptic spikes (no copy), and what :func:`_with_pre_spikes`
    needs to put them back as they were: the order of the variables and each spike
    variable's dims, dtype, attrs and encoding (not its values)."""
    how = {"order": list(ds.variables), "coords": list(ds.coords), "vars": {
        n: (v.dims, v.dtype, dict(v.attrs), dict(v.encoding))
        for n, v in ds.variables.items() if n in _PRE_SPIKES}}
    return ds.drop_vars(list(how["vars"])).drop_dims("pre_spike", errors="ignore"), how


def _with_pre_spikes(shell: xr.Dataset, spikes: xr.Dataset, how: dict) -> xr.Dataset:
    """``shell`` (from :func:`_without_pre_spikes`) with the presynaptic spikes of
    ``spikes`` back in their places, dtypes, attrs and encodings."""
    def var(name: str) -> xr.Variable:
        if name not in how["vars"]:
            return shell.variables[name]
        dims, dtype, attrs, encoding = how["vars"][name]
        return xr.Variable(dims, np.asarray(spikes[name].values, dtype=dtype), attrs, encoding)

    out = xr.Dataset({n: var(n) for n in how["order"]}, attrs=shell.attrs).set_coords(
        how["coords"])  # every variable in its place, coordinates among them
    out.encoding = dict(shell.encoding)
    return out


def _check_decay_given(record: xr.Dataset, decay: Any) -> None:
    """Refuse, before the inference, to estimate without a decay: it cannot be estimated
    from inferred weights (a spike-time kernel has no silent-synapse term), so it must be
    given or stated by the record."""
    known = "decay" in record.variables and np.isfinite(float(record["decay"].values))
    if decay == "estimate" or (decay is None and not known):
        unit = record.attrs.get("time_units", "s")
        raise ValueError(
            "`decay` must be given to estimate from inferred weights (it cannot be estimated "
            f"from them), and {record.attrs.get('source', 'the record')!r} states none. Pass "
            f"`decay`, the rate in 1/{unit} (0 if the weights do not decay), e.g. 0.01.")


def _cross_fit(est: Any, record: xr.Dataset, block: float, method: str, infer: dict
               ) -> xr.Dataset:
    """Fit ``est`` on weights inferred from the presynaptic spikes of even blocks of
    ``block`` record time units and the Hebbian term of those of odd blocks; return the
    inferred record (even blocks' spikes).

    Holds one half of the presynaptic spikes at a time beside ``record``'s: the even
    half while inferring, the odd half while fitting (the inferred record's own spikes
    are dropped meanwhile), the even half again, split anew, for the returned record.
    """
    odd = _odd_blocks(record, block)
    shell, how = _without_pre_spikes(infer_weights(_split_pre(record, block, 0, odd),
                                                   method=method, **infer))
    fit_on = _split_pre(record, block, 1, odd)
    fit_on = shell.assign({v: fit_on[v] for v in _PRE_SPIKES})
    est.fit(fit_on)  # gated: weight_sem
    del fit_on
    return _with_pre_spikes(shell, _split_pre(record, block, 0, odd), how)


def _check_windows_for_estimate(record: xr.Dataset, window: float,
                                cross_fit: float | None) -> None:
    """Refuse, before any work, a ``window`` (s) that leaves the estimate nothing: shorter
    than two cross-fit blocks (every other window would hold no spike to infer from), or
    longer than half the longest segment (one window per segment: no weight change)."""
    if not (np.isfinite(window) and window > 0):
        return  # infer_weights says what is wrong with it
    if cross_fit is not None and np.isfinite(cross_fit) and window < 2 * cross_fit:
        raise ValueError(f"`window` ({window:g} s) must be at least {2 * cross_fit:g} s when "
                         f"estimating from spikes: the estimate cross-fits in blocks of "
                         f"{cross_fit:g} s (the weights from every other block, the STDP term "
                         "from the rest), so a window shorter than two blocks can hold no "
                         f"spike to infer from; use a `window` of {2 * cross_fit:g} s or more "
                         f"(default {DEFAULT_WINDOW:g} s).")
    tu = str(record.attrs.get("time_units", "s"))
    if tu not in _SEC_PER or "segment" not in record.variables:
        return
    seg_ids = np.unique(np.asarray(record["segment"].values))
    longest = float(_segment_lengths(record, seg_ids).max()) * _SEC_PER[tu]  # s
    if window > longest / 2:
        raise ValueError(f"`window` ({window:g} s) leaves at most one window in the longest "
                         f"segment ({longest:.4g} s), and a weight change needs two windows in "
                         f"one segment; use a `window` of at most {longest / 2:.4g} s.")


def estimate_from_spikes(record: Any, *, method: str = "ccg", kernel: str = "stdp",
                         cross_fit: float | None = 1.0, infer: dict | None = None,
                         resume_dir: Any = None, **estimator_params: Any):
    """Infer the weights from spikes, then run the Hebbian estimator on them.

    Parameters
    ----------
    record : xarray.Dataset
        A plastix record with pre and post spike times (weights ignored).
    method : {"ccg", "glm"}
        Inference method (:func:`infer_weights`).
    kernel : str
        A spike-time kernel of :mod:`plastix.kernels` (``"stdp"``); rate kernels
        are refused, since binned activity shares its spikes with the weights.
    cross_fit : float or None
        Length of the alternating blocks, in seconds (default 1 s): presynaptic
        spikes of even blocks give the weights, those of odd blocks the Hebbian
        term.  ``None`` uses every spike for both, which correlates the counting
        noise of the inferred weights with the Hebbian term and biases the
        alignment towards Hebbian.
    infer : dict, optional
        Keyword arguments of :func:`infer_weights` (``window``, ``lag``, ...).
    resume_dir : str, Path or None
        Folder in which the inference keeps its finished chunks (:func:`infer_weights`;
        each inferred record, the cross-fit's half included, in its own sub-folder keyed
        by its spikes and parameters) and the estimator its null replicates
        (``HebbianEstimator(resume_dir=...)``), so that a rerun with the same arguments
        resumes, to the same numbers.  None (default) keeps nothing.
    **estimator_params
        Parameters of :class:`plastix.estimate.HebbianEstimator`.

    Returns
    -------
    HebbianEstimator
        Fitted; ``inferred_`` holds the inferred record, ``inference_test_`` the
        heterogeneity test ``(chi2, df, p)``, and ``result_.attrs`` say how the
        weights were inferred and what uncertainty was propagated
        (:data:`PROPAGATION`).  The verdict is ``indeterminate``, with that
        reason, when the inferred weights do not change more than their noise.
    """
    from plastix.estimate.estimator import HebbianEstimator
    from plastix.kernels import get_kernel

    if get_kernel(kernel).inputs != "spike_times":
        raise ValueError(f"estimate_from_spikes needs a spike-time kernel (e.g. 'stdp'); got "
                         f"kernel={kernel!r}, a rate kernel whose binned activity shares its "
                         "spikes with the inferred weights.")
    _check_spikes(record)
    _check_decay_given(record, estimator_params.get("decay"))
    infer = dict(infer or {})
    if resume_dir is not None:  # keyed sub-folders: infer-<key>/, estimate-null-<key>/
        infer.setdefault("resume_dir", resume_dir)
        estimator_params.setdefault("resume_dir", resume_dir)
    est = HebbianEstimator(kernel=kernel, **estimator_params)
    _check_windows_for_estimate(record, float(infer.get("window", DEFAULT_WINDOW)), cross_fit)
    if cross_fit is not None:
        check_positive("cross_fit", cross_fit, "s")
        c = 1.0 / _SEC_PER.get(str(record.attrs.get("time_units", "s")), 1.0)
        inferred = _cross_fit(est, record, cross_fit * c, method, infer)
    else:
        inferred = infer_weights(record, method=method, **infer)
        est.fit(inferred)  # gated: weight_sem
    est.inferred_ = inferred
    est.result_.attrs.update({
        "weights": f"inferred ({method})", "weight_inference": inferred.attrs["weight_inference"],
        "cross_fit_s": math.nan if cross_fit is None else float(cross_fit),
        "uncertainty_propagated": PROPAGATION if cross_fit is not None else NO_CROSS_FIT})
    return est
