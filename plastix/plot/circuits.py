"""Figures of the Brian2 circuits (matplotlib only).

Sign convention of every alignment shown: ``A = cos(g, H)``, ``A > 0`` Hebbian
(red), ``A < 0`` anti-Hebbian (blue); ``g = H`` gives 1, ``g = −H`` gives −1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_circuit_phase", "plot_alignment_vs_decay_rate", "plot_weights"]


def _axes(ax: Any):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(5, 4)).add_subplot()


def plot_circuit_phase(noise: Any, decay: Any, alignment: Any, *, boundary: Any = None,
                       ax: Any = None, title: str | None = None) -> Any:
    """Heat map of the alignment over the σ × γ grid, its zero contour and ``γ = k σ²``.

    Parameters
    ----------
    noise : array, shape (n_noise,)
        σ values (1/sqrt(s)).
    decay : array, shape (n_decay,)
        γ values (1/s).
    alignment : array, shape (n_noise, n_decay)
        Alignment per cell (``> 0`` Hebbian).
    boundary : plastix.theory.PhaseBoundary, optional
        The fitted boundary; drawn as ``γ = k σ²`` with its interval shaded.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    s = np.asarray(noise, dtype=float)
    g = np.asarray(decay, dtype=float)
    a = np.asarray(alignment, dtype=float)
    lim = max(np.nanmax(np.abs(a)) if np.isfinite(a).any() else 1.0, 1e-3)
    mesh = ax.pcolormesh(_edges(s), _edges(g), a.T, cmap="RdBu_r", vmin=-lim, vmax=lim,
                         shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label="alignment cos(g, H) (dimensionless)")
    if np.isfinite(a).all() and min(a.shape) >= 2 and np.nanmin(a) < 0 < np.nanmax(a):
        ax.contour(s, g, a.T, levels=[0.0], colors="k", linewidths=1.5)
    if boundary is not None and np.isfinite(getattr(boundary, "k", np.nan)):
        ss = np.linspace(0, s.max(), 100)
        ax.plot(ss, boundary.k * ss**2, "k--", label=f"γ = k σ², k = {boundary.k:.3g}")
        if np.isfinite(boundary.k_low) and np.isfinite(boundary.k_high):
            ax.fill_between(ss, boundary.k_low * ss**2, boundary.k_high * ss**2, color="k",
                            alpha=0.15, lw=0)
        cs = np.asarray(getattr(boundary, "crossings_sigma", []), dtype=float)
        cg = np.asarray(getattr(boundary, "crossings_gamma", []), dtype=float)
        if cs.size:
            ax.plot(cs, cg, "ko", ms=4, label="row crossings")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_xlim(_edges(s)[0], _edges(s)[-1])
    ax.set_ylim(_edges(g)[0], _edges(g)[-1])
    ax.set_xlabel("weight noise σ (1/√s)")
    ax.set_ylabel("weight decay γ (1/s)")
    ax.set_title(title or "spiking circuit, error-driven rule")
    return ax


def _edges(x: np.ndarray) -> np.ndarray:
    if x.size == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = (x[1:] + x[:-1]) / 2
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


def plot_alignment_vs_decay_rate(decay: Any, alignment: Any, *, sd: Any = None,
                                 labels: Any = None, ax: Any = None) -> Any:
    """Alignment against the decay rate γ (1/s) of a circuit, one line per row (e.g. per σ).

    What differs from :func:`plastix.plot.ann.plot_alignment_vs_decay`: the decay
    here is a rate in 1/s on a linear axis, and a 2-D ``alignment`` draws one line
    per row (the σ of a σ × γ grid); the ANN figure draws one line of a
    dimensionless per-step coefficient on a symmetric-log axis.

    Parameters
    ----------
    decay : array, shape (n_decay,)
        γ (1/s).
    alignment : array, shape (n_lines, n_decay) or (n_decay,)
        Alignment (``> 0`` Hebbian).
    sd : array like ``alignment``, optional
        Error bars (SD over seeds).
    labels : sequence of str, optional
        One label per line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    g = np.asarray(decay, dtype=float)
    a = np.atleast_2d(np.asarray(alignment, dtype=float))
    e = None if sd is None else np.atleast_2d(np.asarray(sd, dtype=float))
    for n in range(a.shape[0]):
        lab = None if labels is None else labels[n]
        ax.errorbar(g, a[n], yerr=None if e is None else e[n], marker="o", capsize=2,
                    label=lab)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel("weight decay γ (1/s)")
    ax.set_ylabel("alignment cos(g, H) (dimensionless; > 0 Hebbian)")
    if labels is not None:
        ax.legend(fontsize=8)
    return ax


def plot_weights(record: Any, *, n_synapses: int = 20, ax: Any = None) -> Any:
    """Weight trajectories of up to ``n_synapses`` recorded synapses of a circuit record.

    Parameters
    ----------
    record : xarray.Dataset
        A plastix record.
    n_synapses : int
        How many recorded synapses to draw.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    w = np.asarray(record["weight"].values, dtype=float)
    t = np.asarray(record["weight_time"].values, dtype=float)
    flat = w.reshape(w.shape[0], -1)
    cols = np.flatnonzero(np.isfinite(flat).all(axis=0))[: int(n_synapses)]
    ax.plot(t, flat[:, cols], lw=0.8)
    ax.set_xlabel(f"time ({record.attrs.get('time_units', 's')})")
    units = record["weight"].attrs.get("units", "1")
    ax.set_ylabel(f"weight w ({'dimensionless' if units in ('1', '') else units})")
    return ax
