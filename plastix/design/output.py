"""Files of a design run: ranked table (CSV, NetCDF), figure (PNG), protocols (markdown).

The figure is drawn by the caller (:func:`plastix.plot.design.plot_design_panels`):
the design layer does not import :mod:`plastix.plot`.

Every file is written atomically (temporary file, then rename), so a failed run
never destroys an earlier result.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.io import atomic_write, prepare_out, write_netcdf_file

__all__ = ["protocol_markdown", "write_design"]


def _fmt_sessions(n: float) -> str:
    return "not reachable (the hypotheses do not differ)" if not math.isfinite(n) else f"{n:.0f}"


def _what(ds: xr.Dataset, m: str) -> str:
    man = {d["name"]: d for d in json.loads(ds.attrs["manipulations"])}[m]
    circ = json.loads(ds.attrs["circuit"])
    g0, s0 = circ["decay"], circ["noise"]
    s = ds.sel(manipulation=m)
    parts = []
    if man["phase"] == "early":
        parts.append("Do not change the circuit: measure the first window right after learning "
                     "starts (naive synapses, before the weights settle) and compare it with a "
                     "window at stationarity in the same preparation")
    if man["decay_factor"] != 1.0:
        parts.append(f"Multiply the synaptic decay rate by {man['decay_factor']:g}: from "
                     f"{g0:.3g} to {float(s['decay']):.3g} 1/s")
    if man["noise_boundary_multiple"] is not None:
        k = ds.attrs.get("noise_boundary_k", math.nan)
        parts.append(f"Raise the synaptic noise from {s0:.3g} to {float(s['noise']):.3g} "
                     f"1/sqrt(s), {man['noise_boundary_multiple']:g} × the boundary σ_c = "
                     f"{ds.attrs['noise_boundary']:.3g} 1/sqrt(s) where an error-driven rule "
                     f"turns anti-Hebbian (γ = k σ², k = {k:.3g})")
    if man["error_gain"] != 1.0:
        parts.append(f"Multiply the error (teaching) signal by {man['error_gain']:g} while "
                     "leaving pre- and postsynaptic activity unchanged")
    if man["silenced"] > 0:
        parts.append(f"Silence {100 * man['silenced']:.0f}% of the presynaptic units")
    return "; ".join(parts) + "."


def _phase(ds: xr.Dataset, m: str) -> str:
    return {d["name"]: d for d in json.loads(ds.attrs["manipulations"])}[m]["phase"]


def protocol_markdown(ds: xr.Dataset, *, top: int = 3) -> str:
    """A plain-language protocol for each of the ``top`` ranked manipulations."""
    circ = json.loads(ds.attrs["circuit"])
    order = [str(m) for m in ds["manipulation"].values[np.argsort(ds["rank"].values)]]
    hyps = [str(h) for h in ds["hypothesis"].values]
    window = float(ds.attrs["window_s"])
    alpha, goal = ds.attrs["alpha"], ds.attrs["power_goal"]
    budget = int(ds.attrs["budget_sessions"])
    n_syn = int(ds.attrs["synapses_per_session"])
    lines = [
        "# plastix design: protocols for the top candidates",
        "",
        f"Hypotheses, calibrated to the same baseline alignment "
        f"{ds.attrs['target_alignment']:+.3f} (achieved: "
        + ", ".join(f"{h} {float(ds['baseline_mean'].sel(hypothesis=h)):+.3f}" for h in hyps)
        + "). Alignment is cos(ĝ, H): > 0 Hebbian, < 0 anti-Hebbian.",
        "",
        f"A *session* follows {n_syn} synapses ({circ['n_post']} postsynaptic × "
        f"{circ['n_pre']} presynaptic units) through a {window:g} s baseline window and a "
        f"{window:g} s manipulated window, weights sampled every {circ['weight_interval']:g} s. "
        f"Budget: {budget} sessions; α = {alpha:g}; power goal {goal:g}.",
        "",
    ]
    for i, m in enumerate(order[:top]):
        s = ds.sel(manipulation=m)
        weakest = str(s["weakest_pair"].values)
        lines += [
            f"## {i + 1}. {m}: {str(s['description'].values)}",
            "",
            f"**What to manipulate.** {_what(ds, m)}",
            "",
            "**When to measure.** " + (
                f"Record a {window:g} s baseline window at stationarity; then apply the "
                f"manipulation, wait {float(s['settle']):g} s, and record a {window:g} s window."
                if _phase(ds, m) != "early" else
                f"In each preparation, record the first {window:g} s after learning starts "
                f"(naive synapses) and, once the weights have settled, a {window:g} s baseline "
                "window at stationarity."),
            "",
            f"**How many.** {_fmt_sessions(float(s['sessions_required']))} sessions "
            f"({_fmt_sessions(float(s['sessions_required']) * n_syn)} synapses) give power "
            f"{goal:g} for the hardest pair ({weakest}, |d| = "
            f"{float(s['effect_size_min']):.2f}); your {budget} sessions give power "
            f"{float(s['power_min']):.2f}. It separates {int(s['pairs_separated'])} of "
            f"{ds.sizes['pair']} pairs of hypotheses in simulation (Welch p < {alpha:g}); "
            f"its strongest contrast, {str(s['best_pair'].values)}, needs "
            f"{_fmt_sessions(float(s['sessions_required_pair'].sel(pair=str(s['best_pair'].values))))}"
            " sessions.",
            "",
            "**What each hypothesis predicts** (alignment, mean and 95% interval over "
            "simulated sessions; change = manipulated − baseline in the same session):",
            "",
            "| hypothesis | baseline | manipulated | change (mean ± SD) |",
            "|---|---|---|---|",
        ]
        for h in hyps:
            t = s.sel(hypothesis=h)
            lines.append(
                f"| {h} | {float(ds['baseline_mean'].sel(hypothesis=h)):+.3f} | "
                f"{float(t['alignment_mean']):+.3f} [{float(t['alignment_ci_low']):+.3f}, "
                f"{float(t['alignment_ci_high']):+.3f}] | {float(t['change_mean']):+.3f} ± "
                f"{float(t['change_sd']):.3f} |")
        weak = [str(p) for p in ds["pair"].values
                if float(s["separation_p"].sel(pair=p)) >= alpha]
        lines += [
            "",
            "**Decision rule.** In each session compute the change of the estimated "
            "alignment (manipulated minus baseline). For each hypothesis, run a two-sided "
            f"one-sample t-test of the measured changes against its predicted mean change; "
            f"reject the hypothesis if p < {alpha:g}. The hypotheses not rejected remain."
            + (f" This manipulation cannot tell apart: {', '.join(weak)}." if weak else ""),
            "",
        ]
    return "\n".join(lines)


def write_design(result: Any, out: Any, *, top: int = 3, figure: Any = None) -> dict[str, Path]:
    """Write ``design.nc``, ``design.csv``, ``protocol.md`` (and ``design.png``) into ``out``.

    Parameters
    ----------
    result : DesignResult
    out : str or Path
        Folder (created if needed).
    top : int
        Protocols for this many of the best-ranked manipulations.
    figure : matplotlib.figure.Figure, optional
        Saved as ``design.png`` (for example
        :func:`plastix.plot.design.plot_design_panels` of ``result.dataset``).

    Returns
    -------
    dict
        ``{"netcdf", "csv", "protocol"}`` (and ``"figure"`` when given) → path.
    """
    from plastix.design.propose import DesignResult

    if not isinstance(result, DesignResult):
        raise TypeError(f"`result` must be a DesignResult from propose_experiments; got "
                        f"{type(result).__name__}.")
    out = prepare_out(out)
    ds = result.dataset
    paths = {
        "netcdf": atomic_write(out / "design.nc",
                                lambda p: write_netcdf_file(ds, p)),
        "csv": atomic_write(out / "design.csv", lambda p: result.table.to_csv(p, index=False)),
    }
    if figure is not None:
        paths["figure"] = atomic_write(out / "design.png", lambda p: figure.savefig(
            p, dpi=120, format="png"))
    text = protocol_markdown(ds, top=top)
    paths["protocol"] = atomic_write(out / "protocol.md",
                                      lambda p: p.write_text(text, encoding="utf-8"))
    return paths
