"""The spike-timing (STDP-window) Hebbian term and its Elephant surrogates.

For a postsynaptic spike at ``t_post`` and a presynaptic spike at ``t_pre`` the
pair contributes ``K(Δ)`` with ``Δ = t_post − t_pre`` (``time_units``):

``K(Δ) = exp(−Δ/τ)`` for ``Δ > 0`` (pre before post: potentiating, Hebbian),
``K(Δ) = −exp(Δ/τ)`` for ``Δ < 0`` (post before pre: depressing), ``K(0) = 0``;

a symmetric-amplitude pair-based window, so that independent trains give a
term of mean ~0.  Pairs further apart than ``5 τ`` are ignored (``e⁻⁵ < 0.7 %``).
A pair is counted in the weight interval that contains the *later* of its
two spikes (the moment the pairing is complete); both spikes must lie in the
same segment.  ``H_k`` is dimensionless (a signed count of pairs).
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

__all__ = ["stdp_terms", "shifted_pre_spikes"]

_CUTOFF = 5.0


def _spikes(ds: xr.Dataset, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    name = f"{role}_spike_time"
    if name not in ds.variables:
        raise SchemaError(
            f"record: kernel='stdp' needs spike times, but `{name}` is missing; found "
            f"variables {sorted(map(str, ds.data_vars))}. Use a record built with "
            f"`{role}_spikes=` (or a Neo file with SpikeTrains), or choose kernel='product'."
        )
    ids = {v: i for i, v in enumerate(np.asarray(ds[role].values).tolist())}
    units = np.asarray(ds[f"{role}_spike_unit"].values).tolist()
    try:
        idx = np.asarray([ids[u] for u in units], dtype=np.int64)
    except KeyError as err:
        raise SchemaError(
            f"record: `{role}_spike_unit` holds unit {err.args[0]!r}, which is not in the "
            f"`{role}` coordinate {list(ids)[:10]!r}."
        ) from None
    return (np.asarray(ds[name].values, dtype=float), idx,
            np.asarray(ds[f"{role}_spike_segment"].values))


def stdp_terms(ds: xr.Dataset, lay: Layout, *, tau: float,
               pre_override: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
               ) -> np.ndarray:
    """STDP-window Hebbian term of every interval, shape ``(K, post, pre)``.

    Parameters
    ----------
    ds : xarray.Dataset
        Record with ``pre_spike_*`` and ``post_spike_*`` variables.
    lay : Layout
        Interval layout.
    tau : float
        Window time constant, in ``time_units``.
    pre_override : (times, unit index, segment), optional
        Surrogate presynaptic spikes (the null).
    """
    pt, pu, ps = _spikes(ds, "pre") if pre_override is None else pre_override
    qt, qu, qs = _spikes(ds, "post")
    n_k = lay.k.size
    h = np.zeros((n_k, ds.sizes["post"], ds.sizes["pre"]))
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    wseg = np.asarray(ds["weight_segment"].values)
    cut = _CUTOFF * tau
    for seg in np.unique(wseg[lay.k]):
        ks = np.flatnonzero(wseg[lay.k] == seg)
        lo_edge, hi_edge = wt[lay.k[ks]], wt[lay.k[ks] + 1]
        a = ps == seg
        b = qs == seg
        if not a.any() or not b.any():
            continue
        order = np.argsort(pt[a], kind="stable")
        ts, js = pt[a][order], pu[a][order]
        tp, ip = qt[b], qu[b]
        lo = np.searchsorted(ts, tp - cut, side="left")
        hi = np.searchsorted(ts, tp + cut, side="right")
        counts = hi - lo
        total = int(counts.sum())
        if total == 0:
            continue
        rep = np.repeat(np.arange(tp.size), counts)
        idx = lo[rep] + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        delta = tp[rep] - ts[idx]
        val = np.where(delta > 0, np.exp(-np.abs(delta) / tau),
                       np.where(delta < 0, -np.exp(-np.abs(delta) / tau), 0.0))
        later = np.maximum(tp[rep], ts[idx])
        pos = np.searchsorted(lo_edge, later, side="right") - 1
        ok = (pos >= 0) & (later < hi_edge[np.clip(pos, 0, ks.size - 1)]) & (val != 0)
        np.add.at(h, (ks[pos[ok]], ip[rep][ok], js[idx][ok]), val[ok])
    return h


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
