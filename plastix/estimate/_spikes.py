"""Spike-time kernels over a record's intervals, and the surrogates of their null.

The kernels themselves live in :mod:`plastix.kernels` (the ``"stdp"`` entry:
for a postsynaptic spike at ``t_post`` and a presynaptic spike at ``t_pre``
the pair contributes ``K(Δ)``, ``Δ = t_post − t_pre``, ``K(Δ) = exp(−Δ/τ)``
for ``Δ > 0`` (potentiating, Hebbian), ``−exp(Δ/τ)`` for ``Δ < 0``,
``K(0) = 0``; pairs further apart than ``5 τ`` are ignored; a pair counts in
the weight interval holding its *later* spike; both spikes lie in one segment;
``H_k`` is a signed count of pairs).  This module reads the spike variables
of a record, calls a kernel segment by segment and draws the circular-shift
surrogates of the presynaptic trains.
"""

from __future__ import annotations

import random
import warnings
from contextlib import contextmanager

import numpy as np
import xarray as xr

from plastix._util.errors import SchemaError
from plastix._util.rng import child_seed
from plastix.estimate._stats import Layout
from plastix.kernels import Kernel, Spikes, get_kernel

__all__ = ["spike_terms", "SpikeTerms", "stdp_terms", "shifted_pre_spikes", "ShiftNull"]


def _spikes(ds: xr.Dataset, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    name = f"{role}_spike_time"
    if name not in ds.variables:
        raise SchemaError(
            f"record: kernel='stdp' needs spike times, but `{name}` is missing; found "
            f"variables {sorted(map(str, ds.data_vars))}. Use a record built with "
            f"`{role}_spikes=` (or a Neo file with SpikeTrains), or choose kernel='product'."
        )
    ids = np.asarray(ds[role].values)
    units = np.asarray(ds[f"{role}_spike_unit"].values)
    if ids.dtype.kind in "iu" and np.array_equal(ids, np.arange(ids.size)):
        if units.size and (units.min() < 0 or units.max() >= ids.size):
            bad = (units < 0) | (units >= ids.size)
            raise SchemaError(
                f"record: `{role}_spike_unit` holds unit {units[np.argmax(bad)].item()!r}, which "
                f"is not in the `{role}` coordinate {ids.tolist()[:10]!r}.")
        return (np.asarray(ds[name].values, dtype=float), units.astype(np.int64),
                np.asarray(ds[f"{role}_spike_segment"].values))
    sorter = np.argsort(ids, kind="stable")
    pos = np.clip(np.searchsorted(ids, units, sorter=sorter), 0, max(ids.size - 1, 0))
    idx = sorter[pos].astype(np.int64) if ids.size else np.zeros(units.size, np.int64)
    bad = ~(ids[idx] == units) if ids.size else np.ones(units.size, bool)
    if bad.any():
        raise SchemaError(
            f"record: `{role}_spike_unit` holds unit {units[np.argmax(bad)].item()!r}, which is "
            f"not in the `{role}` coordinate {ids.tolist()[:10]!r}."
        )
    return (np.asarray(ds[name].values, dtype=float), idx,
            np.asarray(ds[f"{role}_spike_segment"].values))


class SpikeTerms:
    """The Hebbian term of a spike-time kernel for every interval, the record read once.

    ``SpikeTerms(ds, lay, kernel, params)(pre)`` is ``spike_terms(ds, lay, kernel,
    params, pre)``; the null calls it once per surrogate without reading the
    record's spike variables again.
    """

    def __init__(self, ds: xr.Dataset, lay: Layout, kernel: Kernel, params: dict):
        self.pre = _spikes(ds, "pre")
        self.post = _spikes(ds, "post")
        self.n_pre, self.n_post = ds.sizes["pre"], ds.sizes["post"]
        self.lay, self.kernel, self.params = lay, kernel, params
        self.wt = np.asarray(ds["weight_time"].values, dtype=float)
        self.wseg = np.asarray(ds["weight_segment"].values)
        self.segs = np.unique(self.wseg[lay.k])

    def __call__(self, pre: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                 ) -> np.ndarray:
        """``H_k``, shape ``(K, post, pre)``, of the record's or the given presynaptic spikes."""
        pt, pu, ps = self.pre if pre is None else pre
        qt, qu, qs = self.post
        lay, segs, wseg = self.lay, self.segs, self.wseg
        h = np.zeros((lay.k.size, self.n_post, self.n_pre))
        # one segment holding every spike (the common case): no masks, no copies
        seg_all_pre = segs.size == 1 and bool(np.all(ps == segs[0]))
        seg_all_post = segs.size == 1 and bool(np.all(qs == segs[0]))
        for seg in segs:
            ks = np.flatnonzero(wseg[lay.k] == seg)
            a = slice(None) if segs.size == 1 and seg_all_pre else ps == seg
            b = slice(None) if segs.size == 1 and seg_all_post else qs == seg
            if not pt[a].size or not qt[b].size:
                continue
            first, last = int(lay.k[ks].min()), int(lay.k[ks].max())
            edges = self.wt[first: last + 2]  # intervals of one segment are consecutive samples
            hk = self.kernel.term(Spikes(pt[a], pu[a], self.n_pre),
                                  Spikes(qt[b], qu[b], self.n_post), edges, **self.params)
            h[ks] = hk[lay.k[ks] - first]
        return h


def spike_terms(ds: xr.Dataset, lay: Layout, kernel: Kernel, params: dict,
                pre_override: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> np.ndarray:
    """Hebbian term of a spike-time kernel for every interval, shape ``(K, post, pre)``.

    Calls the kernel's ``term`` once per segment, on the spikes of that segment
    and the weight-sample times bounding its intervals (:class:`SpikeTerms`).

    Parameters
    ----------
    ds : xarray.Dataset
        Record with ``pre_spike_*`` and ``post_spike_*`` variables.
    lay : Layout
        Interval layout.
    kernel : plastix.kernels.Kernel
        A kernel with ``inputs="spike_times"``.
    params : dict
        Its parameters (e.g. ``tau`` in ``time_units``).
    pre_override : (times, unit index, segment), optional
        Surrogate presynaptic spikes (the null).
    """
    return SpikeTerms(ds, lay, kernel, params)(pre_override)


def stdp_terms(ds: xr.Dataset, lay: Layout, *, tau: float,
               pre_override: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
               ) -> np.ndarray:
    """The registry's ``"stdp"`` kernel over every interval (see :func:`spike_terms`)."""
    return spike_terms(ds, lay, get_kernel("stdp"), {"tau": tau}, pre_override)


@contextmanager
def _seeded_global_random(seed: int):
    """Elephant's ``trial_shifting`` uses the global ``random`` stream: seed it, restore it."""
    py_state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)


def shifted_pre_spikes(ds: xr.Dataset, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One surrogate of the presynaptic spikes: each train circularly shifted within its segment.

    Uses :func:`elephant.spike_train_surrogates.trial_shifting` (each segment is a
    "trial" of the unit) with a dither of half the segment's duration, so the
    shift is uniform on the circle.  Each train keeps its spike count and
    inter-spike intervals; its timing relative to the postsynaptic trains is
    destroyed.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="quantities")
        import quantities as pq
        from elephant.spike_train_surrogates import trial_shifting

        from plastix._util.optional import import_neo

        neo = import_neo()
    pt, pu, ps = _spikes(ds, "pre")
    t = np.asarray(ds["time"].values, dtype=float)
    seg = np.asarray(ds["segment"].values)
    dt = float(ds.attrs["dt"])
    segs = np.unique(seg)
    bounds = {s: (t[seg == s][0], t[seg == s][-1] + dt) for s in segs}
    out_t, out_u, out_s = [], [], []
    with _seeded_global_random(child_seed(rng)), warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="quantities")
        for j in range(ds.sizes["pre"]):
            trains = []
            for s in segs:
                t0, t1 = bounds[s]
                times = np.sort(pt[(pu == j) & (ps == s)])
                trains.append(neo.SpikeTrain(times * pq.s, t_start=t0 * pq.s, t_stop=t1 * pq.s))
            dither = max((b - a) / 2.0 for a, b in bounds.values()) * pq.s
            surr = trial_shifting(trains, dither=dither, n_surrogates=1)[0]
            for s, st in zip(segs, surr, strict=True):
                vals = np.asarray(st.rescale(pq.s).magnitude, dtype=float)
                out_t.append(vals)
                out_u.append(np.full(vals.size, j, dtype=np.int64))
                out_s.append(np.full(vals.size, s))
    return np.concatenate(out_t), np.concatenate(out_u), np.concatenate(out_s)


class ShiftNull:
    """Circular-shift surrogates of all presynaptic trains at once, without Neo objects.

    The same surrogates as :func:`shifted_pre_spikes` (Elephant's
    ``trial_shifting`` with a dither of half the longest segment): for the same
    ``rng`` the shift of every (unit, segment) train is drawn from the same
    seeded ``random`` stream in the same order, and each spike moves by the
    same float operations, ``t0 + ((t + shift) − t0) mod (t1 − t0)``; so the two
    give identical spike times (``tests/test_estimate.py`` checks it).  One
    surrogate costs a few vectorised operations over all spikes instead of
    ``n_pre × n_segments`` Neo ``SpikeTrain`` objects.

    Parameters
    ----------
    ds : xarray.Dataset
        Record with ``pre_spike_*`` variables.
    """

    def __init__(self, ds: xr.Dataset):
        pt, pu, ps = _spikes(ds, "pre")
        t = np.asarray(ds["time"].values, dtype=float)
        seg = np.asarray(ds["segment"].values)
        dt = float(ds.attrs["dt"])
        segs = np.unique(seg)
        t0 = np.array([t[seg == s][0] for s in segs])
        t1 = np.array([t[seg == s][-1] for s in segs]) + dt
        self.n_draws = ds.sizes["pre"] * segs.size
        self.dither = float(np.max((t1 - t0) / 2.0)) if segs.size else 0.0
        # Elephant draws one number per train: for each unit, for each segment in this order
        si = np.searchsorted(segs, ps)
        self._draw_index = pu * segs.size + si
        self.times, self.units, self.segments = pt, pu, ps
        if segs.size == 1:  # scalars: two fewer passes over every spike per surrogate
            self._t0, self._span = float(t0[0]), float(t1[0] - t0[0])
        else:
            self._t0, self._span = t0[si], (t1 - t0)[si]

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One surrogate: ``(times, unit index, segment)`` of the shifted presynaptic spikes."""
        with _seeded_global_random(child_seed(rng)):
            u = np.array([random.random() for _ in range(self.n_draws)])
        shift = self.dither * (2 * u - 1)
        # in place, the same float operations as Elephant: t0 + ((t + shift) − t0) mod span
        v = shift[self._draw_index]
        v += self.times
        v -= self._t0  # in [−span/2, 3 span/2)
        # np.remainder(v, span) without its division: exact for |v| < 2 span (fmod is
        # v − span there, and a negative v gets + span as numpy does)
        np.subtract(v, self._span, out=v, where=v >= self._span)
        np.add(v, self._span, out=v, where=v < 0)
        v += self._t0
        return v, self.units, self.segments
