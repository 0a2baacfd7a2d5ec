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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from plastix._util.errors import check_choice

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


_KERNELS: dict[str, Kernel] = {}


def register_kernel(kernel: Kernel, *, replace: bool = False) -> Kernel:
    """Add ``kernel`` to the registry and return it.

    A duplicate name is a ValueError unless ``replace=True``.
    """
    if not isinstance(kernel, Kernel):
        raise TypeError(f"`kernel` must be a plastix.kernels.Kernel; got "
                        f"{type(kernel).__name__}.")
    if kernel.name in _KERNELS and not replace:
        raise ValueError(f"a kernel named {kernel.name!r} is already registered; pass "
                         "replace=True to replace it.")
    _KERNELS[kernel.name] = kernel
    return kernel


def unregister_kernel(name: str) -> None:
    """Remove a registered kernel (tests use it to clean up toy kernels)."""
    get_kernel(name)
    del _KERNELS[name]


def kernel_names(inputs: str | None = None) -> tuple[str, ...]:
    """Names of the registered kernels in registration order (only ``inputs`` ones if given)."""
    return tuple(n for n, k in _KERNELS.items() if inputs is None or k.inputs == inputs)


def get_kernel(name: str, *, inputs: str | None = None) -> Kernel:
    """The registered kernel ``name``; unknown → ValueError with "did you mean".

    ``inputs`` restricts the choice to kernels of that input kind (the message
    lists those only).
    """
    if isinstance(name, Kernel):
        name = name.name
    check_choice("kernel", name, kernel_names(inputs))
    return _KERNELS[name]


def registry_help() -> str:
    """One ``name: description`` line per registered kernel (for CLI help texts)."""
    return "\n".join(f"{k.name}: {k.description}" for k in _KERNELS.values())


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


def _backward_traces(times: np.ndarray, units: np.ndarray, n: int, tau: float
                     ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per unit: its sorted spike times and the trace ``T_m = Σ_{l ≤ m} e^{−(t_m − t_l)/τ}``.

    ``T`` follows the event-driven recursion ``T_m = 1 + T_{m−1} e^{−(t_m − t_{m−1})/τ}``
    (Brian2's traces), vectorised over units: one step per spike rank.
    """
    order = np.lexsort((times, units))
    t_sorted, u_sorted = times[order], units[order]
    counts = np.bincount(u_sorted, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    trains = [t_sorted[starts[j]: starts[j] + counts[j]] for j in range(n)]
    width = int(counts.max()) if n else 0
    pad = np.full((n, width), np.inf)
    rank = np.arange(t_sorted.size) - np.repeat(starts, counts)
    pad[u_sorted, rank] = t_sorted
    tr = np.zeros((n, width))
    if width:
        tr[:, 0] = 1.0
        with np.errstate(invalid="ignore"):  # inf − inf = nan only past a train's end
            decay = np.exp(-np.diff(pad, axis=1) / tau)
        for m in range(1, width):
            tr[:, m] = 1.0 + tr[:, m - 1] * decay[:, m - 1]
    return trains, [tr[j, : counts[j]] for j in range(n)]


def _trace_at(train: np.ndarray, trace: np.ndarray, x: np.ndarray, window: float,
              tau: float) -> np.ndarray:
    """``Σ_{x − window ≤ t_l < x} e^{−(x − t_l)/τ}`` over one unit's sorted spikes ``t_l``.

    The trace just after the last spike before ``x``, decayed to ``x``, minus the
    same for the last spike before ``x − window`` (the pairs beyond the window).
    """
    out = np.zeros(x.shape)
    if train.size == 0:
        return out
    m = np.searchsorted(train, x, side="left") - 1
    m0 = np.searchsorted(train, x - window, side="left") - 1
    has = m >= 0
    with np.errstate(over="ignore", invalid="ignore"):
        out[has] = trace[m[has]] * np.exp(-(x[has] - train[m[has]]) / tau)
        old = m0 >= 0
        out[old] -= trace[m0[old]] * np.exp(-(x[old] - train[m0[old]]) / tau)
    return out


def _interval_of(t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the interval ``[edges[k], edges[k+1])`` holding each time, −1 outside."""
    pos = np.searchsorted(edges, t, side="right") - 1
    return np.where((pos >= 0) & (pos < edges.size - 1), pos, -1)


def _stdp(pre: Spikes, post: Spikes, edges: np.ndarray, tau: float) -> np.ndarray:
    """Pair-based STDP window summed per interval, ``(K, n_post, n_pre)``.

    ``K(Δ) = e^{−Δ/τ}`` for ``Δ = t_post − t_pre > 0`` (potentiating),
    ``−e^{Δ/τ}`` for ``Δ < 0`` and 0 at ``Δ = 0``; pairs with ``|Δ| > 5τ`` are
    ignored.  A pair counts in the interval holding its later spike.  Computed
    from event-driven traces: the potentiating part is the presynaptic trace
    read at each postsynaptic spike, the depressing part the postsynaptic trace
    read at each presynaptic spike (``O(spikes × units)``, not ``O(pairs)``).
    """
    edges = np.asarray(edges, dtype=float)
    n_k = edges.size - 1
    h = np.zeros((n_k * post.n * pre.n,))
    window = STDP_CUTOFF * tau
    for late, early, sign in ((post, pre, 1.0), (pre, post, -1.0)):
        t_late = np.asarray(late.times, dtype=float)
        k_late = _interval_of(t_late, edges)
        keep = k_late >= 0
        t_late, u_late, k_late = t_late[keep], np.asarray(late.units)[keep], k_late[keep]
        if t_late.size == 0:
            continue
        trains, traces = _backward_traces(np.asarray(early.times, dtype=float),
                                          np.asarray(early.units, dtype=np.int64), early.n, tau)
        flats, vals = [], []
        for e in range(early.n):
            val = _trace_at(trains[e], traces[e], t_late, window, tau)
            nz = np.flatnonzero(val)
            if nz.size == 0:
                continue
            ii, jj = (u_late[nz], e) if sign > 0 else (e, u_late[nz])
            flats.append((k_late[nz] * post.n + ii) * pre.n + jj)
            vals.append(val[nz])
        if flats:
            h += sign * np.bincount(np.concatenate(flats), weights=np.concatenate(vals),
                                    minlength=h.size)
    return h.reshape(n_k, post.n, pre.n)


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
