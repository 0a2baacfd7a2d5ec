"""Figures of the artificial-network experiments (paper Table 1, Figs. 3, 4, 5, 15).

Every function takes ``ax=None`` (a new :class:`matplotlib.figure.Figure`, made
without pyplot so no global state changes), labels both axes with units, and
returns the axes.  Nothing here calls ``show()``.

Sign convention of every alignment axis: ``A = cos(g, H)``, ``A > 0`` Hebbian,
``A < 0`` anti-Hebbian; ``g = H`` plots at 1 and ``g = -H`` at -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from plastix._util.validate import as_float_array, check_int

__all__ = [
    "ALIGNMENT_LABEL",
    "plot_alignment_vs_decay",
    "plot_phase_diagram",
    "plot_loss_vs_alignment",
    "plot_alignment_timecourse",
    "rolling_mean",
]

ALIGNMENT_LABEL = "alignment cos(g, H) (dimensionless)"
DECAY_LABEL = "weight decay γ (dimensionless, per unit η)"
NOISE_LABEL = "parameter-noise SD σ (weight units)"


def _new_axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    return fig.add_subplot()


def plot_alignment_vs_decay(
    weight_decay: Any,
    mean: Any,
    *,
    sd: Any = None,
    label: str | None = None,
    ax: Any = None,
    marker: str = "o",
    color: Any = None,
) -> Any:
    """Alignment at convergence against weight decay, one line (with ±SD bars).

    Parameters
    ----------
    weight_decay : array_like, shape (n,)
        Weight decay ``γ`` of each point (dimensionless, per unit learning rate).
    mean : array_like, shape (n,)
        Mean final alignment; NaN points (collapsed weights) are left out.
    sd : array_like, shape (n,), optional
        Standard deviation over seeds, drawn as error bars.
    label : str, optional
        Legend entry.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    marker, color : optional
        Matplotlib marker and colour of the line.

    Returns
    -------
    matplotlib Axes
        The x axis is symmetric-log (γ = 0 is shown), linear below the smallest
        positive γ.

    Examples
    --------
    ``A > 0`` is Hebbian, ``A < 0`` anti-Hebbian:

    >>> ax = plot_alignment_vs_decay([0, 1e-3], [-0.1, 0.4])
    """
    decay = as_float_array("weight_decay", weight_decay, ndim=1)
    mean = as_float_array("mean", mean, ndim=1)
    if mean.shape != decay.shape:
        raise ValueError(f"`mean` must have the shape of `weight_decay` {decay.shape}; got "
                         f"{mean.shape}.")
    err = None
    if sd is not None:
        err = as_float_array("sd", sd, ndim=1)
        if err.shape != decay.shape:
            raise ValueError(f"`sd` must have the shape of `weight_decay` {decay.shape}; "
                             f"got {err.shape}.")
    ax = _new_axes(ax)
    ok = np.isfinite(mean)
    if err is not None:  # NaN SD (a single seed): no bar
        err = np.where(np.isfinite(err), err, 0.0)
    ax.errorbar(decay[ok], mean[ok], yerr=None if err is None else err[ok], marker=marker,
                capsize=3, label=label, color=color)
    positive = decay[decay > 0]
    if positive.size and np.any(decay == 0):
        ax.set_xscale("symlog", linthresh=float(positive.min()))
    elif positive.size == decay.size and decay.size:
        ax.set_xscale("log")
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set_xlabel(DECAY_LABEL)
    ax.set_ylabel(ALIGNMENT_LABEL)
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def plot_phase_diagram(
    alignment: Any,
    noise: Any,
    weight_decay: Any,
    *,
    k: float | None = None,
    k_interval: tuple[float, float] | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Heatmap of alignment over the (noise σ, weight decay γ) grid, with the boundary γ = kσ².

    Parameters
    ----------
    alignment : array_like, shape (n_noise, n_weight_decay)
        Final alignment of each cell (mean over seeds).
    noise : array_like, shape (n_noise,)
        Parameter-noise SD ``σ`` (weight units), increasing.
    weight_decay : array_like, shape (n_weight_decay,)
        Weight decay ``γ`` (dimensionless), increasing.
    k : float, optional
        Fitted boundary coefficient; draws ``γ = k σ²``.
    k_interval : (float, float), optional
        Its confidence interval, drawn as a shaded band.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        σ on x, γ on y; the colour scale is diverging and centred on 0 (red
        Hebbian, blue anti-Hebbian); the measured zero contour is drawn in black.

    Examples
    --------
    >>> a = np.array([[0.1, 0.4], [-0.2, -0.1]])   # rows σ, columns γ
    >>> ax = plot_phase_diagram(a, [0, 1e-3], [0, 1e-2], k=1.5e4)
    """
    a = as_float_array("alignment", alignment, ndim=2)
    s = as_float_array("noise", noise, ndim=1)
    g = as_float_array("weight_decay", weight_decay, ndim=1)
    if a.shape != (s.size, g.size):
        raise ValueError(f"`alignment` must have shape (n_noise, n_weight_decay) = ({s.size}, "
                         f"{g.size}); got {a.shape}. Did you pass its transpose?")
    ax = _new_axes(ax)
    lim = float(np.nanmax(np.abs(a))) if np.any(np.isfinite(a)) else 1.0
    mesh = ax.pcolormesh(s, g, a.T, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="nearest")
    ax.figure.colorbar(mesh, ax=ax, label=ALIGNMENT_LABEL)
    finite = np.isfinite(a)
    if finite.all() and a.min() < 0 < a.max() and min(a.shape) >= 2:
        ax.contour(s, g, a.T, levels=[0.0], colors="k", linewidths=1.2)
    sigma = np.linspace(s.min(), s.max(), 200)
    if k is not None and np.isfinite(k):
        ax.plot(sigma, k * sigma**2, color="k", ls="--", label=f"γ = kσ², k = {k:.3g}")
        if k_interval is not None and np.all(np.isfinite(k_interval)):
            ax.fill_between(sigma, k_interval[0] * sigma**2, k_interval[1] * sigma**2,
                            color="k", alpha=0.15, label="95% interval of k")
        ax.legend(fontsize="small", loc="upper left")
    ax.set_xlim(s.min(), s.max())
    ax.set_ylim(g.min(), g.max())
    ax.set_xlabel(NOISE_LABEL)
    ax.set_ylabel(DECAY_LABEL)
    if title:
        ax.set_title(title)
    return ax


def plot_loss_vs_alignment(
    alignment: Any,
    val_loss: Any,
    *,
    color: Any = None,
    color_label: str | None = None,
    ax: Any = None,
) -> Any:
    """Validation loss at the end of training against the final alignment, one dot a run.

    Parameters
    ----------
    alignment : array_like, shape (n,)
        Final alignment of each run (dimensionless; ``> 0`` Hebbian).
    val_loss : array_like, shape (n,)
        Final validation MSE of each run (squared output units).
    color : array_like, shape (n,), optional
        A value per run for the colour (e.g. ``γ``), with a colour bar.
    color_label : str, optional
        Label of the colour bar.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ax = plot_loss_vs_alignment([-0.2, 0.0, 0.3], [0.5, 0.4, 0.6])
    """
    a = as_float_array("alignment", alignment, ndim=1)
    loss = as_float_array("val_loss", val_loss, ndim=1)
    if a.shape != loss.shape:
        raise ValueError(f"`val_loss` must have the shape of `alignment` {a.shape}; "
                         f"got {loss.shape}.")
    ax = _new_axes(ax)
    if color is None:
        ax.scatter(a, loss, s=18)
    else:
        c = as_float_array("color", color, ndim=1)
        sc = ax.scatter(a, loss, c=c, s=18, cmap="viridis")
        ax.figure.colorbar(sc, ax=ax, label=color_label or "")
    ax.axvline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set_xlabel(ALIGNMENT_LABEL)
    ax.set_ylabel("validation loss (MSE, squared output units)")
    return ax


def rolling_mean(values: Any, window: int) -> np.ndarray:
    """Trailing rolling mean over the last axis (NaN-aware), same length as ``values``.

    Entry ``t`` averages ``values[max(0, t - window + 1) : t + 1]``.
    """
    v = as_float_array("values", values)
    w = check_int("window", window, low=1)
    ok = np.isfinite(v)
    c = np.cumsum(np.where(ok, v, 0.0), axis=-1)
    n = np.cumsum(ok, axis=-1)
    c_lag = np.concatenate([np.zeros(v.shape[:-1] + (1,)), c[..., :-1]], axis=-1)
    n_lag = np.concatenate([np.zeros(v.shape[:-1] + (1,)), n[..., :-1]], axis=-1)
    idx = np.arange(v.shape[-1]) - w + 1
    start = np.clip(idx, 0, None)
    s = c - np.take(c_lag, start, axis=-1)
    k = n - np.take(n_lag, start, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, s / np.maximum(k, 1), np.nan)


def plot_alignment_timecourse(
    step: Any,
    alignment: Any,
    *,
    window: int = 200,
    label: str | None = None,
    band: Any = None,
    ax: Any = None,
) -> Any:
    """Alignment over training, smoothed by a trailing rolling mean of ``window`` steps.

    Parameters
    ----------
    step : array_like, shape (n_step,)
        Training step of each value.
    alignment : array_like, shape (n_step,)
        Alignment per step (mean over seeds, say).
    window : int
        Rolling window in recorded steps (the paper's 200).
    label : str, optional
    band : array_like, shape (n_step,), optional
        Half-width of a shaded band (e.g. the SD over seeds, smoothed alike).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ax = plot_alignment_timecourse(np.arange(5), [0.0, 0.1, 0.2, 0.2, 0.1], window=2)
    """
    t = as_float_array("step", step, ndim=1)
    a = as_float_array("alignment", alignment, ndim=1)
    if a.shape != t.shape:
        raise ValueError(f"`alignment` must have the shape of `step` {t.shape}; got {a.shape}.")
    ax = _new_axes(ax)
    sm = rolling_mean(a, window)
    (line,) = ax.plot(t, sm, label=label)
    if band is not None:
        b = rolling_mean(as_float_array("band", band, ndim=1), window)
        ax.fill_between(t, sm - b, sm + b, color=line.get_color(), alpha=0.2)
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set_xlabel("training step (SGD updates)")
    ax.set_ylabel(ALIGNMENT_LABEL)
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def series_labels(ax: Any) -> Sequence[str]:
    """The legend labels drawn on ``ax`` (for tests and summaries)."""
    return [h.get_label() for h in ax.get_legend_handles_labels()[0]]
