"""Paper Fig. 15: the learning signal stays Hebbian while the full update's alignment fades.

SGD on the SRE (SPEC §4) with weight decay.  Over training we follow, for layer
2, the alignment with the Hebbian term of (i) the learning signal ``g = −∇W ℓ``
(``signal="gradient"``) and (ii) the whole applied update ``ΔW = η (g − γW)``
(``signal="update"``), smoothed by a rolling mean of 200 steps.  As the weights
approach stationarity ``E[g] ≈ γW`` the mean update vanishes, so its alignment
fades towards 0 while the learning signal's alignment persists.

Sign convention: ``A = cos(g, H)``, ``A > 0`` Hebbian, ``A < 0`` anti-Hebbian
(``g = H`` gives 1, ``g = −H`` gives −1).

Run with ``plastix reproduce fig15 --out DIR [--quick] [--seeds N]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix.experiments import _common as C

__all__ = ["run", "measure"]

DECAYS = (5e-4, 5e-3)
FULL = C.FULL
N_SEEDS = {False: 5, True: 2}
WINDOW = 200
LAYER = 2
PAPER_CLAIM = ("the learning signal's alignment stays positive long after the full update's "
               "alignment has gone to about zero")


def config(*, quick: bool = False, **overrides: Any):
    """SGD on the SRE, η = 0.01, batch 256, tanh 128-128, no biases, no noise."""
    from plastix.ann import TrainConfig

    base = dict(task="sre", rule="sgd", activation="tanh", hidden=(128, 128), bias=False,
                batch_size=256, per_post_layer=None, **C.budget(quick, 0.01))
    return TrainConfig(**{**base, **overrides})


def measure(*, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
            cache: Path | None = None,
            weight_decays: Any = None, overrides: dict | None = None,
            threads: int = 1, device: str = "cpu", client: Any = None) -> xr.Dataset:
    """Train, and keep the per-step layer-2 alignment of the gradient and of the update.

    Returns
    -------
    xarray.Dataset
        ``alignment`` (weight_decay, seed, signal, step) for layer 2, its seed mean
        ``mean`` (weight_decay, signal, step) and the rolling mean ``smooth``; per decay,
        ``final`` (weight_decay, signal): mean over the last ``WINDOW`` steps and seeds;
        ``update_peak`` (weight_decay): the largest rolling mean of the update's alignment.
    """
    decays = np.asarray(DECAYS if weight_decays is None else weight_decays, dtype=float)
    seeds = C.resolve_seeds(n_seeds, N_SEEDS[bool(quick)])
    cfg = config(quick=quick, **(overrides or {}))
    result = C.run_sweep(cfg, {"weight_decay": decays.tolist()}, n_seeds=seeds, rng=rng,
                         cache=cache, desc="fig15", threads=threads, device=device, client=client)
    a = result["alignment"].sel(layer=LAYER, signal=["gradient", "update"])
    keep = ("weight_decay", "seed", "signal", "step")
    a = a.drop_vars([c for c in a.coords if c not in keep])
    a = a.transpose("weight_decay", "seed", "signal", "step")
    mean = a.mean("seed", skipna=True)
    from plastix.plot.ann import rolling_mean

    window = min(WINDOW, a.sizes["step"])
    smooth = xr.DataArray(rolling_mean(mean.values, window), dims=mean.dims, coords=mean.coords)
    final = mean.isel(step=slice(-window, None)).mean("step")
    peak = smooth.sel(signal="update").max("step")
    data = {"alignment": a, "mean": mean, "smooth": smooth, "final": final, "update_peak": peak}
    gap = result.get("stationarity_gap")
    if gap is not None and "layer" in gap.dims:
        g = gap.sel(layer=LAYER)
        g = g.drop_vars([c for c in g.coords if c not in ("weight_decay", "seed", "step")])
        data["final_gap"] = C.final_value(g, last=1).median("seed")
    ds = xr.Dataset(data, attrs={"experiment": "fig15", "quick": int(bool(quick)),
                                 "n_seeds": seeds, "window": window, "layer": LAYER,
                                 "config": C.config_dict(cfg),
                                 "sign": "alignment > 0 Hebbian, < 0 anti-Hebbian"})
    ds["step"].attrs.update(units="step", long_name="training step")
    return ds


def plot(ds: xr.Dataset):
    """Rolling-mean time courses, one panel per decay; returns the axes."""
    from matplotlib.figure import Figure

    from plastix.plot.ann import plot_alignment_timecourse

    n = ds.sizes["weight_decay"]
    fig = Figure(figsize=(5.5 * n, 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n))
    w = int(ds.attrs["window"])
    for ax, gamma in zip(axes, ds["weight_decay"].values, strict=True):
        for sig, name in (("gradient", "learning signal g"), ("update", "full update ΔW")):
            m = ds["mean"].sel(weight_decay=gamma, signal=sig)
            sd = ds["alignment"].sel(weight_decay=gamma, signal=sig).std("seed")
            plot_alignment_timecourse(ds["step"].values, m.values, window=w, label=name,
                                      band=sd.values if ds.sizes["seed"] > 1 else None, ax=ax)
        ax.set_title(f"γ = {float(gamma):g}, layer {int(ds.attrs['layer'])} ({w}-step mean)")
    return axes


def summary(ds: xr.Dataset, *, budget: str) -> str:
    """Markdown: end-of-training alignment of the signal vs the update, per decay."""
    rows, sentences = [], []
    for gamma in ds["weight_decay"].values:
        fg = float(ds["final"].sel(weight_decay=gamma, signal="gradient"))
        fu = float(ds["final"].sel(weight_decay=gamma, signal="update"))
        pk = float(ds["update_peak"].sel(weight_decay=gamma))
        gap = float(ds["final_gap"].sel(weight_decay=gamma)) if "final_gap" in ds else np.nan
        rows.append([f"{float(gamma):g}", f"{fg:+.3f}", f"{fu:+.3f}", f"{pk:+.3f}",
                     f"{gap:.2f}" if np.isfinite(gap) else "n/a"])
        holds = fg > 0 and abs(fu) < 0.5 * fg
        sentences.append(
            f"γ = {float(gamma):g}: at the end the learning signal's alignment is {fg:+.3f} and "
            f"the update's {fu:+.3f} (its rolling peak was {pk:+.3f}), so the paper's picture "
            f"(signal positive, update near 0, |update| < half the signal) "
            f"{'holds' if holds else 'does not hold'}"
            + (f"; stationarity gap ‖E[g] − γW‖/‖γW‖ = {gap:.2f}" if np.isfinite(gap) else "")
            + ("; the weights are still far from stationarity, so the update still carries the "
               "unbalanced decay term −ηγW, whose cosine with H is negative because "
               "⟨W, H⟩ = tr(WᵀW E[h_a h_aᵀ]) ≥ 0." if not holds and np.isfinite(gap) and gap > 0.5
               else "."))
    text = ["# Fig. 15: learning-signal vs full-update alignment over training (SGD, SRE)",
            "",
            budget + f" {int(ds.attrs['n_seeds'])} seed(s); layer {int(ds.attrs['layer'])}; "
            f"end values are means over the last {int(ds.attrs['window'])} steps and seeds. "
            "Sign: > 0 Hebbian.",
            "",
            f"Paper: {PAPER_CLAIM}.",
            "",
            C.markdown_table(["γ", "signal g (end)", "update ΔW (end)", "update peak (rolling)",
                              "stationarity gap (end)"], rows),
            "",
            "## Ours against the paper",
            ""] + [f"- {s}" for s in sentences]
    return "\n".join(text) + "\n"


def run(out: Path, *, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
        weight_decays: Any = None, overrides: dict | None = None, threads: int = 1,
        device: str = "cpu", client: Any = None) -> Path:
    """Reproduce Fig. 15 into ``out``; return the summary path.

    Writes ``fig15.nc``, ``fig15.csv``, ``fig15.png`` and ``fig15.md``.  ``quick``:
    8 epochs on 4,096 samples, 2 seeds.

    Parameters
    ----------
    out : path
        Output folder (finished runs are cached in ``out/sweeps``).
    quick, n_seeds, rng
        The reduced budget, seeds per cell, and the master seed.
    weight_decays : sequence of float, optional
        The weight decays ``γ`` (per unit learning rate); default :data:`DECAYS`.
    overrides : dict, optional
        :class:`plastix.ann.TrainConfig` fields to change (e.g. ``{"epochs": 5}``: a
        budget check); the summary names what changed.
    client : distributed.Client, optional
        Train the sweeps on this Dask cluster (:func:`plastix.ann.sweep`'s ``client``;
        the same numbers as without).
    threads : int
        Cores for the training sweeps (:func:`plastix.ann.sweep`'s ``threads``; the
        caller's torch thread count is restored afterwards).
    device : {"cpu", "cuda", "auto"}
        Where the sweeps train (:func:`plastix.ann.sweep`'s ``device``).
    """
    out = C.prepare_out(out)
    cache = out / "sweeps"  # finished runs: a rerun with the same rng resumes
    ds = measure(cache=cache, quick=quick, n_seeds=n_seeds, rng=rng, weight_decays=weight_decays,
                 overrides=overrides, threads=threads, device=device, client=client)
    C.write_dataset(ds, out, "fig15")
    axes = plot(ds)
    C.save_figure(axes[0].figure, out / "fig15.png")
    budget = C.describe_budget(config(quick=quick, **(overrides or {})), quick=quick, full=FULL)
    return C.write_text(out / "fig15.md", summary(ds, budget=budget))
