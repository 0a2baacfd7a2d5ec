"""Figures of experiment design (:mod:`plastix.design`), matplotlib only.

Sign convention: alignment ``A = cos(ĝ, H)``; ``A > 0`` Hebbian, ``A < 0``
anti-Hebbian (``ĝ = H`` gives 1, ``ĝ = −H`` gives −1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["plot_design", "plot_sessions_required", "plot_design_panels"]

_MARKERS = "osD^vP*X"


def _axes(ax: Any, size: tuple[float, float] = (7.0, 4.0)) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size).add_subplot(1, 1, 1)


def _check(ds: Any, needed: tuple[str, ...]) -> None:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"`dataset` must be the xarray.Dataset of a design result "
                        f"(DesignResult.dataset); got {type(ds).__name__}.")
    missing = [v for v in needed if v not in ds.variables]
    if missing:
        raise ValueError(f"`dataset` is not a design result: missing {missing}; pass "
                         "DesignResult.dataset from plastix.design.propose_experiments.")


def _ranked(ds: xr.Dataset) -> list[str]:
    return [str(m) for m in ds["manipulation"].values[np.argsort(ds["rank"].values)]]


def plot_design(dataset: xr.Dataset, *, ax: Any = None) -> Any:
    """Predicted alignment under each manipulation (ranked, best left) and hypothesis.

    Points are the mean estimated alignment over replicate sessions, bars the 95%
    t interval of that mean; the leftmost group is the calibrated baseline, the
    dashed line the calibration target.

    Parameters
    ----------
    dataset : xarray.Dataset
        ``DesignResult.dataset``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    _check(dataset, ("alignment_mean", "alignment_ci_low", "alignment_ci_high",
                     "alignment_baseline", "rank"))
    ax = _axes(ax)
    order = _ranked(dataset)
    hyps = [str(h) for h in dataset["hypothesis"].values]
    n_h = len(hyps)
    width = 0.7 / max(n_h, 1)
    base = dataset["alignment_baseline"]
    for j, h in enumerate(hyps):
        off = (j - (n_h - 1) / 2) * width
        b = base.sel(hypothesis=h).values
        b = b[np.isfinite(b)]
        half = 1.96 * b.std(ddof=1) / np.sqrt(b.size) if b.size > 1 else np.nan
        mean = [float(b.mean())]
        lo, hi = [mean[0] - half], [mean[0] + half]
        for m in order:
            s = dataset.sel(manipulation=m, hypothesis=h)
            mean.append(float(s["alignment_mean"]))
            lo.append(float(s["alignment_ci_low"]))
            hi.append(float(s["alignment_ci_high"]))
        x = np.arange(len(order) + 1) + off
        mean, lo, hi = map(np.asarray, (mean, lo, hi))
        ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt=_MARKERS[j % len(_MARKERS)],
                    capsize=3, label=h, linestyle="none")
    ax.axhline(0.0, color="0.3", lw=0.8)
    target = dataset.attrs.get("target_alignment")
    if target is not None and np.isfinite(target):
        ax.axhline(float(target), color="0.5", lw=0.8, ls="--", label="calibration target")
    labels = ["baseline"] + [f"{i + 1}. {m}" for i, m in enumerate(order)]
    ax.set_xticks(np.arange(len(order) + 1))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_xlabel("manipulation (ranked, best first)")
    ax.set_ylabel("estimated alignment cos(ĝ, H) (1; > 0 Hebbian)")
    ax.set_title("Predicted alignment per hypothesis (mean, 95% CI over sessions)")
    ax.legend(title="hypothesis", fontsize="small")
    return ax


def plot_sessions_required(dataset: xr.Dataset, *, ax: Any = None) -> Any:
    """Sessions needed for the power goal, per manipulation and pair of hypotheses.

    Infinite requirements (hypotheses the manipulation cannot separate) are drawn
    at the top edge with an ``×``; the dashed line is the budget.

    Returns
    -------
    matplotlib Axes
    """
    _check(dataset, ("sessions_required_pair", "rank"))
    ax = _axes(ax)
    order = _ranked(dataset)
    pairs = [str(p) for p in dataset["pair"].values]
    req = dataset["sessions_required_pair"]
    finite = req.values[np.isfinite(req.values)]
    budget = float(dataset.attrs.get("budget_sessions", np.nan))
    top = max([budget * 4 if np.isfinite(budget) else 10.0, *(finite * 2)]) if finite.size \
        else budget * 4
    width = 0.7 / max(len(pairs), 1)
    for j, p in enumerate(pairs):
        off = (j - (len(pairs) - 1) / 2) * width
        vals = np.array([float(req.sel(manipulation=m, pair=p)) for m in order])
        x = np.arange(len(order)) + off
        ok = np.isfinite(vals)
        color = f"C{(j + 4) % 10}"  # not the hypotheses' colours of plot_design
        ax.plot(x[ok], vals[ok], _MARKERS[j % len(_MARKERS)], ls="none", label=p, color=color)
        ax.plot(x[~ok], np.full((~ok).sum(), top), "x", color=color, ls="none")
    if np.isfinite(budget):
        ax.axhline(budget, color="0.4", ls="--", lw=0.8, label=f"budget ({budget:g})")
    ax.set_yscale("log")
    ax.set_ylim(1.5, top * 1.3)
    ax.set_xticks(np.arange(len(order)))
    ax.set_xticklabels([f"{i + 1}. {m}" for i, m in enumerate(order)], rotation=30, ha="right")
    ax.set_xlabel("manipulation (ranked, best first)")
    power = dataset.attrs.get("power_goal", 0.8)
    ax.set_ylabel(f"sessions for power {power:g} (count)")
    ax.set_title("Sessions required (× = cannot separate)")
    ax.legend(title="pair of hypotheses", fontsize="small")
    return ax


def plot_design_panels(dataset: xr.Dataset, *, fig: Any = None) -> Any:
    """Two panels: :func:`plot_design` and :func:`plot_sessions_required`; returns the figure.

    Parameters
    ----------
    dataset : xarray.Dataset
        ``DesignResult.dataset``.
    fig : matplotlib.figure.Figure, optional
        Figure to draw on (default a new 13 × 4.8 inch one, not registered with pyplot).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13.0, 4.8), layout="constrained") if fig is None else fig
    a1, a2 = fig.subplots(1, 2)
    plot_design(dataset, ax=a1)
    plot_sessions_required(dataset, ax=a2)
    return fig
