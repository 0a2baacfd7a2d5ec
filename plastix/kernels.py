"""The Hebbian-term kernels: one registry, one reference implementation per kernel.

A kernel turns the activity of one weight interval (or one batch) into the
Hebbian term ``H`` (post × pre).  Every part of plastix that computes ``H``
(:func:`plastix.alignment.hebbian_term`, the circuits' analysis, the
estimator's batch and streaming paths, the null of the estimator, the ANN
engine) looks the kernel up here and reads what it declares; none compares
kernel names.  Adding a kernel is one call::

    >>> from plastix.kernels import Kernel, register_kernel, get_kernel
    >>> twice = register_kernel(Kernel(
    ...     name="twice_product", description="2 × the product kernel",
    ...     term=lambda pre, post: 2 * get_kernel("product").term(pre, post)))  # doctest: +SKIP

Two kinds of inputs exist (``Kernel.inputs``):

``"rates"``
    ``term(pre, post, **params)`` with ``pre (..., n_samples, n_pre)`` and
    ``post (..., n_samples, n_post)`` (numpy arrays or torch tensors; the result
    has the same type) returns the *mean over sample pairs*, shape
    ``(..., n_post, n_pre)``.  The estimator integrates it over an interval:
    ``H_k = term × n_pairs × dt`` (activity² × time), ``n_pairs`` the number of
    samples minus the lag of a lagged kernel.
``"spike_times"``
    ``term(pre, post, edges, **params)`` with ``pre`` and ``post`` :class:`Spikes`
    of one segment and ``edges (K + 1,)`` the weight-sample times bounding ``K``
    contiguous intervals returns ``(K, n_post, n_pre)`` (here a signed pair count).

Declarations the fast paths read (the *bilinear* family
``mean_t φ(post[t + lag]) pre[t]ᵀ``, optionally with each unit's mean removed):
``bilinear``, ``lagged``, ``centred`` and ``post_map`` (the parameter holding
``φ``).  A kernel that is not bilinear is computed by its ``term`` alone, one
interval in memory at a time (``streaming=False``).  Every fast path is tested
against ``term`` (``tests/test_kernels.py``).

Sign convention: ``H`` pairs post with pre, so a learning signal ``g`` with
``cos(g, H) > 0`` is Hebbian and ``< 0`` anti-Hebbian:

>>> import numpy as np
>>> H = get_kernel("product").term(np.array([[1.0, 0.0]]), np.array([[2.0]]))
>>> H.tolist()
[[2.0, 0.0]]
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from plastix._util.errors import check_choice
from plastix._util.registry import Registry

__all__ = ["Kernel", "KernelParam", "Spikes", "register_kernel", "unregister_kernel",
           "get_kernel", "kernel_names", "registry_help", "INPUTS", "STDP_CUTOFF"]

#: the kinds of input a kernel may need
INPUTS = ("rates", "spike_times")
#: pairs of the STDP window further apart than this many time constants are ignored
STDP_CUTOFF = 5.0


@dataclass(frozen=True)
class KernelParam:
    """A parameter of a kernel.

    Attributes
    ----------
    name : str
        Keyword of ``Kernel.term``.
    unit : str
        ``"bins"`` (fine time bins of a record, samples of a batch), ``"time_units"``
        (the record's time unit) or ``"callable"``.
    default : object
        Default value; a mapping ``{time unit: value}`` for a time-valued
        parameter whose default depends on the record's unit (missing units:
        the value must be given).
    description : str
        One line for help texts.
    default_text : str
        The default in words with its unit, for messages (``"20 ms"``).
    """

    name: str
    unit: str
    default: Any
    description: str
    default_text: str = ""


@dataclass(frozen=True)
class Kernel:
    """A Hebbian-term kernel and what the machinery needs to know about it.

    Attributes
    ----------
    name : str
        Registry key (``kernel=`` everywhere).
    description : str
        One line for CLI help texts.
    term : callable
        The reference implementation (see the module docstring for the two
        signatures).
    inputs : {"rates", "spike_times"}
        What the kernel reads from a record.
    params : tuple of KernelParam
        Parameters of ``term`` beyond the activity.
    bilinear : bool
        ``term`` is ``mean_t φ(post[t + lag]) pre[t]ᵀ`` (after centring if
        ``centred``): the estimator's batch and streaming paths and the ANN
        engine compute it as matrix products instead of calling ``term``.
    lagged : bool
        Pairs ``post[t + lag]`` with ``pre[t]``; ``lag`` (bins, ≥ 1) is a parameter.
    centred : bool
        Each unit's mean over the samples is removed before the product.
    post_map : str or None
        Name of the parameter holding ``φ``, applied elementwise to ``post``.
    streaming : bool
        The streaming path can accumulate ``H`` of one interval chunk by chunk;
        otherwise each interval is held in memory at once.
    units : str
        Units of the estimator's ``H_k``; ``{activity}`` and ``{time}`` are filled
        from the record.
    """

    name: str
    description: str
    term: Callable[..., Any]
    inputs: str = "rates"
    params: tuple[KernelParam, ...] = ()
    bilinear: bool = False
    lagged: bool = False
    centred: bool = False
    post_map: str | None = None
    streaming: bool = False
    units: str = "({activity})^2 {time}"
    _param_index: Mapping[str, KernelParam] = field(default_factory=dict, repr=False,
                                                    compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Kernel: `name` must be a non-empty string; got {self.name!r}.")
        check_choice("inputs", self.inputs, INPUTS)
        if not callable(self.term):
            raise TypeError(f"Kernel {self.name!r}: `term` must be callable.")
        if self.lagged and "lag" not in {p.name for p in self.params}:
            raise ValueError(f"Kernel {self.name!r}: a lagged kernel declares a `lag` parameter.")
        if (self.bilinear or self.streaming) and self.inputs != "rates":
            raise ValueError(f"Kernel {self.name!r}: only rate kernels can be bilinear or "
                             "streamed.")
        if self.streaming and not self.bilinear:
            raise ValueError(f"Kernel {self.name!r}: the streaming path accumulates bilinear "
                             "kernels only; set streaming=False.")
        object.__setattr__(self, "_param_index", {p.name: p for p in self.params})

    def param(self, name: str) -> KernelParam | None:
        """The declared parameter ``name``, or None."""
        return self._param_index.get(name)


class Spikes(NamedTuple):
    """Spike times of one segment: ``times`` (time units), ``units`` (int index), ``n`` units."""

    times: np.ndarray
    units: np.ndarray
    n: int


_KERNELS: Registry[Kernel] = Registry("kernel", Kernel, "kernel")


def register_kernel(kernel: Kernel, *, replace: bool = False) -> Kernel:
    """Add ``kernel`` to the registry and return it.

    A duplicate name is a ValueError unless ``replace=True``.
    """
    return _KERNELS.register(kernel, replace=replace)


def unregister_kernel(name: str) -> Kernel:
    """Remove a registered kernel (tests use it to clean up toy kernels)."""
    return _KERNELS.unregister(name)


def kernel_names(inputs: str | None = None) -> tuple[str, ...]:
    """Names of the registered kernels in registration order (only ``inputs`` ones if given)."""
    return tuple(k.name for k in _KERNELS.values() if inputs is None or k.inputs == inputs)


def get_kernel(name: str, *, inputs: str | None = None) -> Kernel:
    """The registered kernel ``name``; unknown → ValueError with "did you mean".

    ``inputs`` restricts the choice to kernels of that input kind (the message
    lists those only).
    """
    if isinstance(name, Kernel):
        name = name.name
    return _KERNELS.get(name, among=kernel_names(inputs))


def registry_help() -> str:
    """One ``name: description`` line per registered kernel (for CLI help texts)."""
    return _KERNELS.help()


# ------------------------------------------------------------------ rate kernels


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _mean_outer(pre: Any, post: Any) -> Any:
    """``mean over samples of post ⊗ pre``: ``postᵀ pre / n``, shape ``(..., post, pre)``."""
    post_t = post.transpose(-1, -2) if _is_torch(post) else post.swapaxes(-1, -2)
    return post_t @ pre / pre.shape[-2]


def _centre(x: Any) -> Any:
    return x - (x.mean(-2, keepdim=True) if _is_torch(x) else x.mean(-2, keepdims=True))


def _product(pre: Any, post: Any) -> Any:
    return _mean_outer(pre, post)


def _covariance(pre: Any, post: Any) -> Any:
    return _mean_outer(_centre(pre), _centre(post))


def _lagged(pre: Any, post: Any, lag: int = 1) -> Any:
    lag = int(lag)
    if lag < 1 or lag >= pre.shape[-2]:
        raise ValueError(
            f"`lag` must be between 1 and n_samples - 1 ({pre.shape[-2] - 1}) for the lagged "
            f"kernel; got {lag}."
        )
    return _mean_outer(pre[..., :-lag, :], post[..., lag:, :])


def _tanh(x: Any) -> Any:
    return x.tanh() if _is_torch(x) else np.tanh(x)


def _post_activation(pre: Any, post: Any, activation: Callable | None = None) -> Any:
    return _mean_outer(pre, (activation or _tanh)(post))


_LAG = KernelParam("lag", "bins", 1, "bins by which pre leads post (>= 1)")
_PHI = KernelParam("activation", "callable", None,
                   "elementwise activation applied to post (default tanh)")

register_kernel(Kernel("product", "mean of post x pre over the samples (the paper's H)",
                       _product, bilinear=True, streaming=True))
register_kernel(Kernel("covariance", "product with each unit's mean over the interval removed",
                       _covariance, bilinear=True, centred=True, streaming=True))
register_kernel(Kernel("lagged", "post at t + lag times pre at t (pre leading post)", _lagged,
                       params=(_LAG,), bilinear=True, lagged=True, streaming=True))


# ------------------------------------------------------------------ the STDP window


class _Counts:
    """``#{t_l < y}`` (or ``≤``) for many queries ``y`` in one sorted train ``t``.

    A table of the counts at ``4 n + 16`` grid points, then exact correction steps
    (a grid cell holds few spikes): about ten vectorised operations per query
    whatever their order.  ``np.searchsorted`` of 1.5 M unsorted queries into
    1541 spike times was measured at 0.30 s, 12× its time on sorted queries; the
    null's shifted spikes are unsorted and sorting them costs more than this.
    """

    def __init__(self, t: np.ndarray):
        self.t = t
        self.n = t.size
        self.lo = float(t[0]) if t.size else 0.0
        span = float(t[-1]) - self.lo if t.size else 0.0
        self.n_grid = 4 * t.size + 16
        self.step = span / self.n_grid if span > 0 else 1.0
        self.grid = np.searchsorted(t, self.lo + np.arange(self.n_grid + 1) * self.step)

    def below(self, y: np.ndarray, strict: bool = True) -> np.ndarray:
        """``#{t_l < y}`` (``strict``) or ``#{t_l ≤ y}`` for each query."""
        t, n = self.t, self.n
        if n == 0:
            return np.zeros(y.shape, dtype=np.int64)
        # one cell early (never past y whatever the rounding), then count up exactly
        g = ((y - self.lo) * (1.0 / self.step) - 1.0).clip(0, self.n_grid).astype(np.int64)
        c = self.grid[g]
        tp = np.append(t, np.inf)  # t[n] = +inf: never below a query
        before = np.less if strict else np.less_equal
        idx = np.flatnonzero(before(tp[c], y))
        while idx.size:
            c[idx] += 1
            idx = idx[before(tp[c[idx]], y[idx])]
        return c


def _traces(t: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Event-driven traces of one sorted train, as Brian2 updates them at each spike.

    ``back[m] = Σ_{l ≤ m} e^{−(t_m − t_l)/τ}`` (``back[m] = 1 + back[m−1] e^{−Δ/τ}``)
    and ``fwd[m] = Σ_{l ≥ m} e^{−(t_l − t_m)/τ}``.
    """
    n = t.size
    back, fwd = np.ones(n), np.ones(n)
    if n > 1:
        d = np.exp(-np.diff(t) / tau)
        for m in range(1, n):
            back[m] += back[m - 1] * d[m - 1]
            fwd[n - 1 - m] += fwd[n - m] * d[n - 1 - m]
    return back, fwd


def _decayed(t: np.ndarray, tr: np.ndarray, m: np.ndarray, y: np.ndarray, tau: float
             ) -> np.ndarray:
    """``tr[m] e^{−|y − t[m]|/τ}``, 0 where ``m`` is outside the train (−1 or ``t.size``)."""
    t_pad = np.concatenate([[t[0]], t, [t[-1]]])
    tr_pad = np.concatenate([[0.0], tr, [0.0]])
    m1 = m + 1
    return tr_pad[m1] * np.exp(np.abs(y - t_pad[m1]) * (-1.0 / tau))


def _stdp_one_post(t: np.ndarray, y: np.ndarray, k0: np.ndarray, edges: np.ndarray,
                   tau: float, window: float):
    """Depressing and potentiating sums of one postsynaptic train ``t`` at presynaptic
    spikes ``y``: yields ``(positions in y, interval, value)`` pieces."""
    back, fwd = _traces(t, tau)
    cnt = _Counts(t)
    below = cnt.below(y)                       # post spikes before y
    # depression (pre later, counted in y's interval): post spikes in [y − w, y)
    dep = _decayed(t, back, below - 1, y, tau) - _decayed(
        t, back, cnt.below(y - window) - 1, y, tau)
    n_k = edges.size - 1
    inside = np.flatnonzero((k0 >= 0) & (k0 < n_k))
    yield inside, k0[inside], -dep[inside]
    # potentiation (post later, counted in the post spike's interval): post in (y, y + w]
    first = cnt.below(y, strict=False)          # first post spike after y
    last = cnt.below(y + window, strict=False)  # first post spike after y + w
    edge_pos = np.searchsorted(t, edges)        # first post spike at or after each edge
    idx = np.arange(y.size)
    for r in range(n_k + 1):  # the intervals the window (y, y + w] reaches, in turn
        if idx.size == 0:
            break
        k = k0[idx] + r
        ok = (k >= 0) & (k < n_k)
        ii, kk = idx[ok], k[ok]
        lo = first[ii] if r == 0 else np.maximum(first[ii], edge_pos[kk])
        hi = np.minimum(last[ii], edge_pos[kk + 1])
        val = _decayed(t, fwd, lo, y[ii], tau) - _decayed(t, fwd, hi, y[ii], tau)
        yield ii, kk, np.where(hi > lo, val, 0.0)
        nxt = k + 1  # continue where the window passes the end of interval k
        idx = idx[(nxt < n_k) & (edges[np.clip(nxt, 0, n_k)] <= y[idx] + window)]


MAX_STDP_CELLS = 1e7
"""Most cells of ``4τ`` one postsynaptic train's STDP sums may span (about 0.5 GB of
cell tables): a ``τ`` given in the wrong unit (1e-9 for 20 ms) is refused, not allocated."""


class _Cells:
    """The STDP sums of one postsynaptic train as a piecewise-exponential function of time.

    Between consecutive breakpoints (the post spikes ``t_l``, ``t_l ± 5τ``, the
    interval edges, and a grid every ``4τ``) the set of post spikes in the
    window of a presynaptic spike at ``y`` is fixed, so the depressing sum is
    ``a_c e^{−(y − μ_c)/τ}`` and each potentiating piece ``b_c e^{(y − μ_c)/τ}``
    exactly, with ``a_c``, ``b_c`` the trace sums at the cell's midpoint ``μ_c``
    (from :func:`_stdp_one_post`).  A presynaptic spike then costs one cell
    look-up and one exponential.  A spike exactly on a breakpoint (ties of
    grid-aligned data) is evaluated by :func:`_stdp_one_post` itself.
    """

    def __init__(self, t: np.ndarray, edges: np.ndarray, tau: float, window: float):
        # outside [lo, hi] no post spike is within the window or no interval holds the pair
        lo = min(float(t[0]) - window, float(edges[0]))
        hi = max(float(t[-1]) + window, float(edges[-1]))
        if (hi - lo) / (4 * tau) > MAX_STDP_CELLS:
            raise ValueError(f"`stdp_tau` = {tau:g} (the record's time units) is too short for "
                             f"a record spanning {hi - lo:g} of them: the STDP sums would need "
                             f"{(hi - lo) / (4 * tau):.3g} cells of 4τ (at most "
                             f"{MAX_STDP_CELLS:.0e}). STDP time constants are 10-100 ms: give "
                             "it in the record's time units (0.02 for 20 ms in seconds).")
        grid = np.arange(lo, hi + 4 * tau, 4 * tau)
        self.b = np.unique(np.concatenate([t, t - window, t + window, edges, grid]))
        self.t, self.edges, self.tau, self.window = t, edges, tau, window
        mid = (self.b[:-1] + self.b[1:]) / 2
        self.mid = np.append(mid, self.b[-1])  # the last cell reaches past every spike
        n = self.mid.size
        self.a, self.b0 = np.zeros(n + 1), np.zeros(n + 1)  # slot 0: before every breakpoint
        self.k0 = np.full(n + 1, -1)
        extra: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        k_mid = _Counts(edges).below(self.mid, strict=False) - 1
        pieces = _stdp_one_post(t, self.mid, k_mid, edges, tau, window)
        pos, k, val = next(pieces)  # depression, in the cell's own interval
        self.a[pos + 1], self.k0[pos + 1] = val, k
        for r, (pos, k, val) in enumerate(pieces):  # potentiation, interval by interval
            same = k == k_mid[pos]
            self.b0[pos[same] + 1] += val[same]
            self.k0[pos[same] + 1] = k[same]
            if r and (~same).any():
                extra.append((pos[~same] + 1, k[~same], val[~same]))
        # pieces in a later interval than the cell's own (windows across an edge), by slot
        c, kk, v = ((np.concatenate(x) for x in zip(*extra, strict=True)) if extra else
                    (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))
        order = np.argsort(c, kind="stable")
        self.x_cell, self.x_k, self.x_val = c[order], kk[order], v[order]
        self.x_first = np.searchsorted(self.x_cell, np.arange(n + 1))
        self.x_count = np.diff(np.append(self.x_first, self.x_cell.size))
        # per slot (0 before the first breakpoint, c + 1 for cell c): the midpoint and the
        # first breakpoint, for the look-up of a spike's cell and its ties
        self.mid_s = np.concatenate([[self.mid[0]], self.mid])
        self.b_s = np.concatenate([[-np.inf], self.b])
        self.lookup = _Counts(self.b)

    @property
    def nbytes(self) -> int:
        """Bytes of the table's arrays (the train and edges it was built from included)."""
        own = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        return own + self.lookup.grid.nbytes

    def evaluate(self, y: np.ndarray, base: np.ndarray):
        """Flat indices and values of the sums at presynaptic spikes ``y``.

        ``base[k]`` is the flat index of interval ``k`` for this post unit
        (``k n_pre`` in :func:`_stdp`), ``base[−1]`` that of a trash block for "no interval"; the
        caller adds the presynaptic unit ``j``.  Yields ``(positions in y
        or None for all, flat offsets, values)``.
        """
        c = self.lookup.below(y, strict=False)  # slot: 0 before the first breakpoint
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # far outside every cell (slot 0, the last) u over/underflows; k0 = −1 there
            u = np.exp((y - self.mid_s[c]) * (-1.0 / self.tau))
            val = self.a[c] * u + self.b0[c] / u
        flat = base[self.k0][c]  # the table per cell first: one gather per spike
        tie = np.flatnonzero(self.b_s[c] == y)
        if tie.size:
            flat[tie] = base[-1]
        yield None, flat, val
        if self.x_cell.size:
            sel = np.flatnonzero(self.x_count[c])
            if tie.size:
                sel = np.setdiff1d(sel, tie)
            reps = self.x_count[c[sel]]
            rows = np.repeat(sel, reps)
            idx = np.repeat(self.x_first[c[sel]], reps) + np.arange(reps.sum()) - np.repeat(
                np.cumsum(reps) - reps, reps)
            yield rows, base[self.x_k[idx]], self.x_val[idx] / u[rows]
        if tie.size:
            for pos, kk, v in _stdp_one_post(self.t, y[tie], _Counts(self.edges).below(
                    y[tie], strict=False) - 1, self.edges, self.tau, self.window):
                yield tie[pos], base[kk], v


#: presynaptic spikes evaluated at once by the STDP kernel (a cache-sized chunk)
_STDP_CHUNK = 1 << 18
#: bytes of :class:`_Cells` tables kept for reuse (the null's surrogates), all trains together
_CELLS_BUDGET = 64 << 20


class _CellsCache:
    """The :class:`_Cells` tables of recent trains, least recently used first out, at most
    ``_CELLS_BUDGET`` bytes in all (read at each insertion).

    A table costs about 0.5 kB per postsynaptic spike (10 MB for a 11 Hz train of 30
    min); a cache bounded by its number of tables (32, formerly) held 0.3 GB on a
    50-post-unit record and gave no hit there, its trains read in turn.  A table larger
    than the budget is built and not kept.
    """

    def __init__(self) -> None:
        self._tables: OrderedDict[tuple[bytes, bytes, float], _Cells] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes of the tables kept, their keys' trains included."""
        with self._lock:
            return sum(c.nbytes for c in self._tables.values())

    def clear(self) -> None:
        """Forget every table."""
        with self._lock:
            self._tables.clear()

    def get(self, t: np.ndarray, edges: np.ndarray, tau: float) -> _Cells:
        """The table of train ``t`` (sorted, time units) over ``edges``, built if not kept."""
        key = (t.tobytes(), edges.tobytes(), float(tau))
        with self._lock:
            cells = self._tables.get(key)
            if cells is not None:
                self._tables.move_to_end(key)
                return cells
        cells = _Cells(np.frombuffer(key[0]), np.frombuffer(key[1]), tau, STDP_CUTOFF * tau)
        if cells.nbytes > _CELLS_BUDGET:  # kept, it would push every other table out
            return cells
        with self._lock:
            self._tables[key] = cells
            held = sum(c.nbytes for c in self._tables.values())
            while self._tables and held > _CELLS_BUDGET:
                held -= self._tables.popitem(last=False)[1].nbytes
        return cells


_CELLS = _CellsCache()


def _stdp(pre: Spikes, post: Spikes, edges: np.ndarray, tau: float) -> np.ndarray:
    """Pair-based STDP window summed per interval, ``(K, n_post, n_pre)``.

    ``K(Δ) = e^{−Δ/τ}`` for ``Δ = t_post − t_pre > 0`` (potentiating),
    ``−e^{Δ/τ}`` for ``Δ < 0`` and 0 at ``Δ = 0``; pairs with ``|Δ| > 5τ`` are
    ignored.  A pair counts in the interval holding its later spike.  Computed
    from the event-driven traces of the postsynaptic trains (Brian2's
    recursion), tabulated as exact piecewise exponentials (:class:`_Cells`) and
    read at every presynaptic spike: ``O(pre spikes × post units)`` operations,
    no pair list, any order of the spikes (the null shifts them).
    """
    edges = np.asarray(edges, dtype=float)
    n_k = edges.size - 1
    y = np.asarray(pre.times, dtype=float)
    j = np.asarray(pre.units, dtype=np.int64)
    q_t = np.asarray(post.times, dtype=float)
    q_u = np.asarray(post.units, dtype=np.int64)
    h = np.zeros((n_k, post.n, pre.n))
    # per post unit, flat index k n_pre + j; "no interval" goes to a trash block k = n_k
    base = np.arange(n_k + 1) * pre.n  # base[−1] = base[n_k]: the trash
    # presynaptic spikes in chunks that stay in cache (measured ~30% faster on 1.5 M
    # spikes), but never so small that adding each chunk's counts dominates
    step = max(_STDP_CHUNK, base.size * pre.n)
    for i in range(post.n):
        t = np.sort(q_t[q_u == i])
        if t.size == 0 or y.size == 0:
            continue
        cells = _CELLS.get(t, edges, float(tau))
        hi = np.zeros(base.size * pre.n)
        for a in range(0, y.size, step):
            yc, jc = y[a: a + step], j[a: a + step]
            for pos, flat, val in cells.evaluate(yc, base):
                flat += jc if pos is None else jc[pos]
                hi += np.bincount(flat, weights=val, minlength=hi.size)
        h[:, i, :] = hi[: n_k * pre.n].reshape(n_k, pre.n)
    return h


_TAU = KernelParam("tau", "time_units", {"s": 0.02, "ms": 20.0},
                   "STDP window time constant (default 20 ms)", default_text="20 ms")

register_kernel(Kernel("stdp", "pair-based spike-timing window (exp(-|dt|/tau), signed), a "
                       "signed pair count", _stdp, inputs="spike_times", params=(_TAU,),
                       units="1 (signed pair count)"))
register_kernel(Kernel("post_activation", "phi(post) x pre, phi = tanh unless given (the "
                       "post-activation variant)", _post_activation, params=(_PHI,),
                       bilinear=True, post_map="activation", streaming=True))


def default_param(kernel: Kernel, name: str, time_units: str | None = None) -> Any:
    """The default of parameter ``name`` of ``kernel`` (for a record in ``time_units``).

    Returns ``math.nan`` when a time-valued default is not defined for ``time_units``.
    """
    p = kernel.param(name)
    if p is None:
        raise KeyError(name)
    if isinstance(p.default, Mapping):
        return p.default.get(time_units, math.nan)
    return p.default
