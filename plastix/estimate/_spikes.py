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

__all__ = ["spike_terms", "stdp_terms", "shifted_pre_spikes"]


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


def spike_terms(ds: xr.Dataset, lay: Layout, kernel: Kernel, params: dict,
                pre_override: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> np.ndarray:
    """Hebbian term of a spike-time kernel for every interval, shape ``(K, post, pre)``.

    Calls the kernel's ``term`` once per segment, on the spikes of that segment
    and the weight-sample times bounding its intervals.

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
    pt, pu, ps = _spikes(ds, "pre") if pre_override is None else pre_override
    qt, qu, qs = _spikes(ds, "post")
    n_pre, n_post = ds.sizes["pre"], ds.sizes["post"]
    h = np.zeros((lay.k.size, n_post, n_pre))
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    wseg = np.asarray(ds["weight_segment"].values)
    for seg in np.unique(wseg[lay.k]):
        ks = np.flatnonzero(wseg[lay.k] == seg)
        a, b = ps == seg, qs == seg
        if not a.any() or not b.any():
            continue
        first, last = int(lay.k[ks].min()), int(lay.k[ks].max())
        edges = wt[first: last + 2]  # intervals of one segment are consecutive samples
        hk = kernel.term(Spikes(pt[a], pu[a], n_pre), Spikes(qt[b], qu[b], n_post), edges,
                         **params)
        h[ks] = hk[lay.k[ks] - first]
    return h


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
