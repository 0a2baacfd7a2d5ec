"""Figures of an estimator result (matplotlib only).

Sign convention: alignment ``A > 0`` is Hebbian, ``A < 0`` anti-Hebbian.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["plot_interval_alignment", "plot_bootstrap", "plot_post_alignment",
           "plot_estimate", "save_estimate_figure"]


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.2))
    return ax


def plot_interval_alignment(result: xr.Dataset, *, ax=None):
    """Per-interval alignment ``A_k`` against interval start, with the overall estimate and CI."""
    ax = _ax(ax)
    t = result["interval_start"].values
    a = result["alignment_interval"].values
    ax.plot(t, a, ".", ms=3, color="0.4", label=r"$A_k$ per interval")
    lo, hi = result["alignment_ci"].values
    ax.axhspan(lo, hi, color="C0", alpha=0.25, label="95% CI")
    ax.axhline(float(result["alignment"]), color="C0", lw=1.5, label="alignment")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel(f"interval start ({result.attrs.get('time_units', '')})")
    ax.set_ylabel("alignment (dimensionless; > 0 Hebbian)")
    ax.set_ylim(-1.05, 1.05)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_bootstrap(result: xr.Dataset, *, ax=None):
    """Bootstrap distribution of the alignment, with the null distribution when present."""
    ax = _ax(ax)
    boot = result["bootstrap_alignment"].values
    boot = boot[np.isfinite(boot)]
    ax.hist(boot, bins=40, color="C0", alpha=0.6, density=True, label="bootstrap")
    if "null_alignment" in result and result["null_alignment"].size:
        null = result["null_alignment"].values
        null = null[np.isfinite(null)]
        if null.size:
            ax.hist(null, bins=30, color="C3", alpha=0.5, density=True,
                    label="circular-shift null")
    ax.axvline(float(result["alignment"]), color="k", lw=1.2, label="estimate")
    ax.axvline(float(result["pooled"]), color="C2", lw=1.2,
               label=r"pooled cos($\Sigma g, \Sigma H$)")
    ax.axvline(float(result["emergent_prediction"]), color="C2", ls="--", lw=1.2,
               label=r"emergent prediction cos($\bar W, \bar H$)")
    ax.set_xlabel("alignment (dimensionless; > 0 Hebbian)")
    ax.set_ylabel("density (per unit alignment)")
    ax.legend(fontsize=7)
    return ax


def plot_post_alignment(result: xr.Dataset, *, ax=None):
    """Alignment of each postsynaptic unit, sorted."""
    ax = _ax(ax)
    a = np.sort(result["alignment_post"].values)
    ax.bar(np.arange(a.size), a, color=np.where(a > 0, "C0", "C3"))
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel("postsynaptic unit (index, sorted by alignment)")
    ax.set_ylabel("alignment (dimensionless; > 0 Hebbian)")
    return ax


def plot_estimate(result: xr.Dataset, *, fig=None):
    """Three-panel summary figure; returns the list of axes."""
    import matplotlib.pyplot as plt

    fig = fig or plt.figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 3)
    plot_interval_alignment(result, ax=axes[0])
    plot_bootstrap(result, ax=axes[1])
    plot_post_alignment(result, ax=axes[2])
    p = float(result["p_value"])
    fig.suptitle(f"verdict: {str(result['verdict'].values)}   alignment "
                 f"{float(result['alignment']):+.3f}   p = "
                 f"{'n/a' if not np.isfinite(p) else f'{p:.3g}'}", fontsize=10)
    fig.tight_layout()
    return list(axes)


def save_estimate_figure(result: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write :func:`plot_estimate` to a PNG atomically; returns the path."""
    from matplotlib.figure import Figure  # no pyplot: no global figure or backend state

    from plastix._util.io import atomic_write

    fig = Figure(figsize=(12, 3.6))
    plot_estimate(result, fig=fig)
    return atomic_write(Path(path), lambda p: fig.savefig(p, dpi=110, format="png"))
