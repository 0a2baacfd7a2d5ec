"""The metric: the Hebbian term, and the cosine alignment of any signal with it.

Every function accepts numpy arrays or torch tensors and returns the same kind it
was given, with the same numbers (torch is never imported unless a tensor is
passed).  Leading batch dimensions are allowed everywhere, so a batched sweep of
many networks computes all its alignments in one call.

Sign convention
---------------
``A = ⟨g, H⟩_F / (‖g‖_F ‖H‖_F)`` lies in [−1, 1]; ``A > 0`` is Hebbian,
``A < 0`` anti-Hebbian.  Weight decay is modelled separately and is never
counted as anti-Hebbian.

>>> H = hebbian_term(np.array([[1.0, 0.0]]), np.array([[2.0]]))   # post × pre
>>> float(cosine_alignment(H, H)), float(cosine_alignment(-H, H))
(1.0, -1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plastix._util.warn import warn_caller
from plastix.kernels import get_kernel, kernel_names

__all__ = [
    "hebbian_term",
    "cosine_alignment",
    "alignment_per_post",
    "stationarity_gap",
    "ZeroNormWarning",
]



def __getattr__(name: str) -> Any:
    if name == "KERNELS":  # the rate kernels of the registry, as registered now
        return kernel_names("rates")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ZeroNormWarning(RuntimeWarning):
    """A signal or Hebbian term had zero norm, so its alignment is undefined (NaN)."""


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _lib(x: Any):
    if _is_torch(x):
        import torch

        return torch
    return np


def _asarray(x: Any) -> Any:
    return x if _is_torch(x) else np.asarray(x, dtype=float)


def hebbian_term(
    pre: Any,
    post: Any,
    *,
    kernel: str = "product",
    lag: int = 0,
    activation: Any = None,
) -> Any:
    """The Hebbian term ``H = mean over samples of post ⊗ pre``, shape ``(..., post, pre)``.

    The kernel's reference implementation from :mod:`plastix.kernels` (rate
    kernels only); every fast path of plastix is tested against this function.

    Parameters
    ----------
    pre : array or tensor, shape (..., n_samples, n_pre)
        Presynaptic activity ``h_a`` (an ANN's previous post-activation; a
        recording's rates or binned counts).
    post : array or tensor, shape (..., n_samples, n_post)
        Postsynaptic activity.  The paper's definition uses the post
        *pre-activation* ``h_b = W h_a``.
    kernel : str
        A rate kernel of :func:`plastix.kernels.kernel_names` (``"rates"``):
        ``"product"``: ``mean(post pre^T)``.  ``"covariance"``: means over samples
        removed first.  ``"lagged"``: ``mean(post[t + lag] pre[t]^T)``, pre
        leading post by ``lag`` samples (causal pairing).  ``"post_activation"``:
        ``mean(φ(post) pre^T)``, ``φ = activation`` (tanh by default).
    lag : int
        Lag in samples for a lagged kernel (must be ≥ 1 there, 0 otherwise).
    activation : callable, optional
        Applied to ``post`` first, giving the post-activation variant
        ``φ(h_b) h_a^T`` of any kernel.

    Returns
    -------
    array or tensor, shape (..., n_post, n_pre)
        Same type as the inputs.

    Examples
    --------
    ``A > 0`` is Hebbian; ``A < 0`` anti-Hebbian:

    >>> pre = np.array([[1.0, 0.0], [0.0, 1.0]]); post = np.array([[1.0], [0.0]])
    >>> hebbian_term(pre, post)
    array([[0.5, 0. ]])
    """
    kern = get_kernel(kernel, inputs="rates")
    pre, post = _asarray(pre), _asarray(post)
    if pre.ndim < 2 or post.ndim < 2:
        raise ValueError(
            f"`pre` and `post` must have shape (..., n_samples, n_units); got {tuple(pre.shape)} "
            f"and {tuple(post.shape)}."
        )
    if pre.shape[-2] != post.shape[-2]:
        raise ValueError(
            f"`pre` and `post` must have the same number of samples (axis -2); got "
            f"{pre.shape[-2]} and {post.shape[-2]}."
        )
    params: dict[str, Any] = {}
    if kern.lagged:
        params["lag"] = lag
    elif lag != 0:
        raise ValueError(f"`lag` is only used by kernel='lagged'; got lag={lag} with "
                         f"kernel={kernel!r}.")
    if activation is not None:
        if kern.post_map is not None:
            params[kern.post_map] = activation
        else:
            post = activation(post)
    return kern.term(pre, post, **params)


def _cosine(a: Any, b: Any, axes: tuple[int, ...], *, warn: bool) -> Any:
    lib = _lib(a)
    if lib is np:
        dot = np.sum(a * b, axis=axes)
        na = np.sqrt(np.sum(a * a, axis=axes))
        nb = np.sqrt(np.sum(b * b, axis=axes))
        denom = na * nb
        zero = denom == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(zero, np.nan, dot / np.where(zero, 1.0, denom))
        out = np.clip(out, -1.0, 1.0)
        n_zero = int(np.count_nonzero(zero))
    else:
        dot = (a * b).sum(dim=axes)
        denom = a.pow(2).sum(dim=axes).sqrt() * b.pow(2).sum(dim=axes).sqrt()
        zero = denom == 0
        out = (dot / denom.masked_fill(zero, 1.0)).clamp(-1.0, 1.0).masked_fill(zero, float("nan"))
        n_zero = int(zero.sum()) if warn else 0
    if warn and n_zero:
        warn_caller(
            f"{n_zero} alignment value{'s' if n_zero != 1 else ''} undefined: the signal or the "
            "Hebbian term has zero norm; returning NaN.",
            ZeroNormWarning,
        )
    return out if lib is not np or np.ndim(out) else float(out)


def _check_pair(signal: Any, term: Any) -> tuple[Any, Any]:
    signal, term = _asarray(signal), _asarray(term)
    if _is_torch(signal) != _is_torch(term):
        raise TypeError(
            "`signal` and `term` must both be numpy arrays or both torch tensors; got "
            f"{type(signal).__name__} and {type(term).__name__}."
        )
    if signal.ndim < 2:
        raise ValueError(
            f"`signal` must have shape (..., post, pre); got shape {tuple(signal.shape)}."
        )
    if tuple(signal.shape[-2:]) != tuple(term.shape[-2:]):
        hint = " Did you pass W.T? plastix uses (post, pre)." if tuple(
            signal.shape[-2:]) == tuple(term.shape[-2:])[::-1] else ""
        raise ValueError(
            f"`signal` and `term` must have the same (post, pre) shape; got "
            f"{tuple(signal.shape[-2:])} and {tuple(term.shape[-2:])}.{hint}"
        )
    return signal, term


def cosine_alignment(signal: Any, term: Any, *, warn: bool = True) -> Any:
    """Cosine alignment of a learning signal with the Hebbian term, per weight matrix.

    Parameters
    ----------
    signal : array or tensor, shape (..., post, pre)
        The learning signal ``g`` (or any update).
    term : array or tensor, shape (..., post, pre)
        The Hebbian term ``H`` from :func:`hebbian_term`.  Broadcasts over the
        leading dimensions.
    warn : bool
        Warn (:class:`ZeroNormWarning`) when a norm is zero.  The result is NaN there
        either way.

    Returns
    -------
    float, array or tensor, shape (...)
        ``⟨g, H⟩_F / (‖g‖_F ‖H‖_F)`` in [−1, 1]; ``> 0`` Hebbian, ``< 0``
        anti-Hebbian, NaN for a zero norm.

    Examples
    --------
    >>> g = np.array([[1.0, 2.0]]); H = np.array([[2.0, 4.0]])
    >>> round(cosine_alignment(g, H), 12), round(cosine_alignment(-g, H), 12)
    (1.0, -1.0)
    """
    signal, term = _check_pair(signal, term)
    return _cosine(signal, term, (-2, -1), warn=warn)


def alignment_per_post(signal: Any, term: Any, *, warn: bool = True) -> Any:
    """Cosine alignment row by row: one value per postsynaptic unit, shape ``(..., post)``.

    Same sign convention as :func:`cosine_alignment` (``> 0`` Hebbian).

    Examples
    --------
    >>> g = np.array([[1.0, 0.0], [0.0, -1.0]]); H = np.eye(2)
    >>> alignment_per_post(g, H)
    array([ 1., -1.])
    """
    signal, term = _check_pair(signal, term)
    return _cosine(signal, term, (-1,), warn=warn)


def stationarity_gap(mean_signal: Any, weight: Any, decay: Any, *, decay_matrix: Any = None) -> Any:
    """Relative stationarity gap ``‖E[g] − γ D W‖_F / ‖γ D W‖_F``.

    Near 0 the weights are stationary (the rule's mean signal balances decay).

    Parameters
    ----------
    mean_signal : array or tensor, shape (..., post, pre)
        The learning signal averaged over batches or intervals, ``E[g]``.
    weight : array or tensor, shape (..., post, pre)
        The weights ``W`` at which ``E[g]`` was measured.
    decay : float
        Decay rate ``γ`` (same time unit as ``g``); must be > 0.
    decay_matrix : array, shape (post,) or (post, post), optional
        Non-uniform decay ``D`` (penalty ``γ/2 Tr[Wᵀ D W]``); identity by default.
    """
    if not np.all(np.asarray(decay, dtype=float) > 0):
        raise ValueError(f"`decay` must be > 0 for the stationarity gap; got {decay!r}.")
    mean_signal, weight = _check_pair(mean_signal, weight)
    dw = weight
    if decay_matrix is not None:
        d = decay_matrix if _is_torch(weight) else np.asarray(decay_matrix, dtype=float)
        dw = d[..., :, None] * weight if d.ndim == 1 else d @ weight
    target = dw * decay
    lib = _lib(weight)
    num = lib.sqrt(((mean_signal - target) ** 2).sum((-2, -1) if lib is np else (-2, -1)))
    den = lib.sqrt((target**2).sum((-2, -1)))
    out = num / den
    return float(out) if lib is np and np.ndim(out) == 0 else out
