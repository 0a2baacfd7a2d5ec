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

import math
import random
import warnings
from contextlib import contextmanager

import numpy as np
import xarray as xr

from plastix._util.errors import SchemaError
from plastix._util.rng import child_seed
from plastix.estimate._stats import Layout
from plastix.kernels import Kernel, Spikes, get_kernel

__all__ = ["spike_terms", "SpikeTerms", "stdp_terms", "shifted_pre_spikes", "ShiftNull",
           "NULL_METHODS", "pool_size", "spike_null"]


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
        return (np.asarray(ds[name].values, dtype=float), units.astype(np.int64, copy=False),
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
    pre : (times, unit index, segment), optional
        Its presynaptic spikes as :class:`SpikeTerms` read them (``SpikeTerms.pre``);
        read from ``ds`` when not given.
    """

    def __init__(self, ds: xr.Dataset,
                 pre: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        pt, pu, ps = _spikes(ds, "pre") if pre is None else pre
        t = np.asarray(ds["time"].values, dtype=float)
        seg = np.asarray(ds["segment"].values)
        dt = float(ds.attrs["dt"])
        segs = np.unique(seg)
        t0 = np.array([t[seg == s][0] for s in segs])
        t1 = np.array([t[seg == s][-1] for s in segs]) + dt
        self.n_pre, self.segs = ds.sizes["pre"], segs
        self.n_draws = self.n_pre * segs.size
        self.dither = float(np.max((t1 - t0) / 2.0)) if segs.size else 0.0
        # Elephant draws one number per train: for each unit, for each segment in this order
        self.times, self.units, self.segments = pt, pu, ps
        if segs.size == 1:  # scalars: fewer passes over every spike, here and per surrogate
            self._draw_index = pu
            self._t0, self._span = float(t0[0]), float(t1[0] - t0[0])
        else:
            si = np.searchsorted(segs, ps)
            self._draw_index = pu * segs.size + si
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

    def trains(self, segs: np.ndarray) -> np.ndarray:
        """The trains holding a spike in segments ``segs``: flat ids
        ``position of the segment in segs × n_pre + unit``."""
        counts = np.bincount(self._draw_index, minlength=self.n_draws).reshape(
            self.n_pre, self.segs.size)
        pos = np.clip(np.searchsorted(self.segs, segs), 0, max(self.segs.size - 1, 0))
        has = np.zeros((segs.size, self.n_pre), bool)
        known = (self.segs[pos] == segs) if self.segs.size else np.zeros(segs.size, bool)
        has[known] = counts[:, pos[known]].T > 0
        return np.flatnonzero(has)


# ------------------------------------------------------------------ the null of spike kernels

#: the null of a spike-time kernel (``HebbianEstimator(null=...)``): see :func:`spike_null`
NULL_METHODS = ("pooled-shift", "shift")
#: the fewest shifted passes of the pooled null (:func:`pool_size`)
POOL_MIN = 4
#: distinct configurations the pooled null offers, at least, per replicate and the observation
POOL_CONFIGS = 100


def pool_size(n_trains: int, n_null: int) -> int:
    """Shifted passes ``m`` of the pooled null of ``n_trains`` trains and ``n_null`` replicates.

    ``m = min(n_null, max(POOL_MIN, ⌈(POOL_CONFIGS (n_null + 1))^{1/n_trains}⌉ − 1))``: the
    ``(m + 1)^{n_trains}`` configurations are at least ``POOL_CONFIGS = 100`` times the
    ``n_null + 1`` statistics drawn from them, so two replicates coincide about
    ``(n_null + 1) / 200`` times per null (each such pair only repeats a value, which
    leaves the test valid).  One train: ``m = n_null``, the full null's cost; many
    trains: ``m = POOL_MIN = 4``, chosen by measurement (see :func:`spike_null`).
    """
    n = max(n_trains, 1)
    need = POOL_CONFIGS * (n_null + 1)
    m = math.ceil(need ** (1.0 / n)) - 1
    if n * math.log(m + 1) < math.log(need):  # a root rounded down
        m += 1
    return int(min(n_null, max(POOL_MIN, m)))


def _train_parts(h: np.ndarray, d: np.ndarray, wd: np.ndarray, seg_of: np.ndarray
                 ) -> np.ndarray:
    """``⟨d, h⟩``, ``⟨Δt w, h⟩`` and ``⟨h, h⟩`` restricted to each train, ``(3, n_seg n_pre)``.

    A train ``(unit i, segment s)`` holds the entries ``h[k, :, i]`` of the intervals
    ``k`` of ``s`` (``seg_of``, ``(n_seg, K)``, is 1 where interval ``k`` lies in
    segment ``s``): a circular shift of that train changes only them.
    """
    per_k = np.stack([np.einsum("kji,kji->ki", x, h) for x in (d, wd, h)])  # (3, K, pre)
    return (seg_of @ per_k).reshape(3, -1)


def spike_null(ds: xr.Dataset, lay: Layout, terms: SpikeTerms, h_obs: np.ndarray,
               stats: np.ndarray, gamma: float, n_null: int, method: str,
               rng: np.random.Generator, bar=None, resume=None) -> tuple[np.ndarray, int]:
    """``alignment_`` under ``n_null`` circular-shift surrogates of the presynaptic trains.

    The statistic is a cosine of three inner products of the learning signal
    ``d_k``, ``Δt_k w_k`` and the Hebbian term ``H_k`` over (interval, post, pre)
    (the weight-only sums do not change under the null; same synapse mask as the
    observed pass: spike kernels mark every unit recorded).  A circular shift of
    presynaptic train ``(i, s)`` changes only ``H[k ∈ s, :, i]``, so each inner
    product is a sum over trains of parts that depend on that train's own shift
    (:func:`_train_parts`).

    * ``"shift"``: each replicate shifts every train by a fresh uniform shift
      (:class:`ShiftNull`, Elephant's ``trial_shifting`` surrogates) and recomputes
      ``H``: ``n_null`` passes of the kernel.
    * ``"pooled-shift"``: ``m`` = :func:`pool_size` passes, each with every train
      shifted by a fresh uniform shift; with the observation as member 0, each train
      has a pool of ``m + 1`` versions and their parts.  A replicate picks, for each
      train independently, a uniform member of ``{0, …, m}`` (0 included) and sums the
      chosen parts: ``n_null × n_trains`` look-ups instead of ``n_null`` passes.

    Exactness of the pooled null.  Under the null hypothesis of the circular-shift
    test (the law of the data is invariant under independent uniform circular
    shifts of each presynaptic train), the observed train is a uniformly shifted
    version of itself, so its ``m + 1`` pool members are ``m + 1`` iid uniform shifts
    of one train, and which of them is the observation is uniform, independently
    across trains.  Given the pools, the observation (configuration "all 0") and
    the replicates are iid uniform configurations of the same grid, hence
    exchangeable, and ``(1 + #{replicates ≥ observed}) / (1 + n_null)`` is an exact
    (valid) Monte Carlo p-value, whenever the full null's is.  A replicate equal to
    the observation's configuration gets the observed value itself (a tie, counted).
    Both nulls draw Elephant's shifts, uniform on ``±`` half the longest segment:
    uniform on the circle of every segment when the segments are equally long, and
    slightly uneven on a shorter one otherwise, for both alike.

    The price is power: a replicate leaves a fraction ``1 / (m + 1)`` of the trains at
    their observed timing, so the null distribution keeps that share of the effect,
    and its ``m`` shifted versions per train add their own sampling noise.  Measured
    on 200 weak pair-STDP records and 200 static ones (200 → 1, 20 s, weight noise
    1.0; ``benchmarks/pooled_null_power.py``, seeds in the script), the share of
    ``p < 0.05`` on STDP records was 0.195 with the full null and 0.135, 0.140,
    0.185, 0.185, 0.210 pooled with ``m`` = 1, 2, 4, 8, 16 (at ``p < 0.1``: 0.365
    against 0.230, 0.230, 0.295, 0.320, 0.340; mean p 0.29 against 0.34 at
    ``m = 4``); on static records 2.5–4.0 % for every null (the full one 3.0 %).
    ``POOL_MIN = 4`` is the largest pool that keeps the whole estimate within 10
    passes of the kernel (a shifted pass costs about 1.2 passes with its shifts,
    the rest of the estimate 1–2), and the smallest within 0.01 of the full null's
    rejections at ``p < 0.05`` there; on a borderline p, ``null="shift"`` gives the
    full null's power at ``n_null`` passes.

    Saving as it goes.  With ``resume`` (a folder of
    :func:`plastix.estimate._resume.null_folder`) the shifted passes are saved in blocks
    as they finish (``"shift"``: each replicate's three sums; ``"pooled-shift"``: each
    pass's per-train parts), with ``rng``'s state after each block, and a rerun reads
    them back and makes only the rest (:func:`plastix.estimate._resume.resumable_replicates`);
    the pooled replicates' picks are drawn afterwards from the restored ``rng``, so the
    replicates are those of an uninterrupted run, bit for bit.

    Returns
    -------
    (ndarray (n_null,), int)
        The replicates and the number of shifted passes of the kernel made (read back
        from ``resume`` or not).
    """
    from plastix.estimate._resume import resumable_replicates
    from plastix.estimate.intervals import _concat_cos

    w = np.asarray(ds["weight"].values, dtype=float)
    w0, w1 = w[lay.k], w[lay.k + 1]
    mask = np.isfinite(w0) & np.isfinite(w1)
    d = np.where(mask, w1 - w0, 0.0)
    wd = np.where(mask, w0, 0.0) * lay.duration[:, None, None]
    del w0, w1  # (K, post, pre) each, like H: not held through the shifted passes
    wseg = np.asarray(ds["weight_segment"].values)[lay.k]
    seg_of = (terms.segs[:, None] == wseg[None, :]).astype(float)
    shifter = ShiftNull(ds, terms.pre)
    trains = shifter.trains(terms.segs)
    m = n_null if method == "shift" else pool_size(trains.size, n_null)
    if bar is not None:
        bar.total = lay.k.size * (1 + m)

    def parts(h: np.ndarray) -> np.ndarray:
        return _train_parts(np.where(mask, h, 0.0), d, wd, seg_of)[:, trains]

    def shifted() -> np.ndarray:
        out = parts(terms(shifter.draw(rng)))
        if bar is not None:
            bar.update(lay.k.size)
        return out

    fixed = stats.sum(0)[3:]

    def cosines(sums: np.ndarray) -> np.ndarray:
        return _concat_cos(np.column_stack([sums, np.broadcast_to(fixed, (len(sums), 3))]),
                           gamma)

    def read_back(count: int) -> None:
        if bar is not None:
            bar.update(count * lay.k.size)

    if m >= n_null:  # as many passes as replicates: each replicate its own fresh shifts
        return cosines(resumable_replicates(n_null, lambda: shifted().sum(1), rng, resume,
                                            shape=(3,), restored=read_back,
                                            announce=bar is not None)), m
    passes = resumable_replicates(m, shifted, rng, resume, shape=(3, trains.size),
                                  restored=read_back, announce=bar is not None,
                                  what="shifted null passes")  # (m, 3, n)
    pool = np.concatenate([parts(h_obs)[:, None], passes.transpose(1, 0, 2)],
                          axis=1)  # (3, m + 1, n)
    flat_pool = pool.reshape(3, -1)
    sums, observed = np.empty((n_null, 3)), np.zeros(n_null, bool)
    step = max(1, (1 << 20) // max(trains.size, 1))  # about 40 MB of look-ups at once
    for a in range(0, n_null, step):
        pick = rng.integers(0, m + 1, size=(min(step, n_null - a), trains.size))
        observed[a: a + pick.shape[0]] = (pick == 0).all(1)
        pick *= trains.size
        pick += np.arange(trains.size)
        sums[a: a + pick.shape[0]] = flat_pool[:, pick].sum(-1).T
    null = cosines(sums)
    null[observed] = _concat_cos(stats.sum(0), gamma)
    return null, m
