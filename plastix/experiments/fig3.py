"""Paper Fig. 3: alignment vs weight decay for four activations, and per layer of a deep MLP.

Panel a: SGD on the SRE (SPEC §4) with the hidden non-linearity ``linear``,
``relu``, ``sigmoid`` or ``tanh``; final layer-2 gradient alignment (mean over the
last 100 steps, mean ± SD over seeds) against ``γ``.  Panel b: a 6 × 512 tanh
MLP (32 → 512 ×6 → 32) on the same task, the alignment of every one of its 7
layers against ``γ``.  The paper's claim: alignment rises with ``γ`` for every
activation and every layer.

Sign convention: ``A = cos(g, H)``, ``A > 0`` Hebbian, ``A < 0`` anti-Hebbian
(``g = H`` gives 1, ``g = −H`` gives −1).

Run with ``plastix reproduce fig3 --out DIR [--quick] [--seeds N]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.rng import resolve_rng, spawn
from plastix.experiments import _common as C

__all__ = ["run", "measure", "ACTIVATIONS", "DECAYS"]

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
DECAYS = (0.0, 5e-5, 5e-4, 1e-3, 5e-3, 1e-2)
QUICK_DECAYS = (0.0, 5e-4, 5e-3, 1e-2)
FULL = C.FULL
DEEP = {False: (512,) * 6, True: (128,) * 6}
N_SEEDS = {False: 5, True: 1}
PAPER_CLAIM = "alignment rises with γ for every activation and every layer of the 6 × 512 MLP"


def config(activation: str, *, hidden=(128, 128), quick: bool = False, **overrides: Any):
    """SGD on the SRE, η = 0.01, batch 256, no biases, the given hidden layers."""
    from plastix.ann import TrainConfig

    base = dict(task="sre", rule="sgd", activation=activation, hidden=tuple(hidden),
                bias=False, batch_size=256, per_post_layer=None, **C.budget(quick, 0.01))
    return TrainConfig(**{**base, **overrides})


def measure(*, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
            cache: Path | None = None,
            weight_decays: Any = None, deep: bool = True, overrides: dict | None = None,
            threads: int = 1, device: str = "cpu", client: Any = None) -> xr.Dataset:
    """Run both panels.

    Returns
    -------
    xarray.Dataset
        ``alignment`` (activation, weight_decay, seed) and its ``mean``/``sd``
        (activation, weight_decay) for layer 2; if ``deep``, ``deep_alignment``
        (deep_layer, weight_decay, seed) and ``deep_mean``/``deep_sd``
        (deep_layer, weight_decay).
    """
    decays = np.asarray(QUICK_DECAYS if quick and weight_decays is None else
                        (DECAYS if weight_decays is None else weight_decays), dtype=float)
    seeds = C.resolve_seeds(n_seeds, N_SEEDS[bool(quick)])
    streams = spawn(resolve_rng(rng), len(ACTIVATIONS) + 1)
    per_act = []
    for act, stream in zip(ACTIVATIONS, streams, strict=False):
        result = C.run_sweep(config(act, quick=quick, **(overrides or {})),
                             {"weight_decay": decays.tolist()}, n_seeds=seeds, rng=stream,
                             cache=cache, desc=f"fig3 {act}", threads=threads,
                             device=device, client=client)
        a, _, _ = C.final_alignment_stats(result, layer=2, signal="gradient")
        keep = ("weight_decay", "seed")
        per_act.append(a.drop_vars([c for c in a.coords if c not in keep]))
    align = xr.concat(per_act, dim=xr.IndexVariable("activation", list(ACTIVATIONS)))
    align = align.transpose("activation", "weight_decay", "seed")
    data = {"alignment": align, "mean": align.mean("seed"), "sd": C.seed_sd(align)}
    attrs = {"experiment": "fig3", "quick": int(bool(quick)), "n_seeds": seeds,
             "last_steps": 100, "sign": "alignment > 0 Hebbian, < 0 anti-Hebbian",
             "config": C.config_dict(config("tanh", quick=quick, **(overrides or {})))}
    if deep:
        hidden = DEEP[bool(quick)]
        deep_seeds = min(seeds, 3)
        cfg = config("tanh", hidden=hidden, quick=quick, **(overrides or {}))
        result = C.run_sweep(cfg, {"weight_decay": decays.tolist()}, n_seeds=deep_seeds,
                             rng=streams[-1], cache=cache, desc="fig3 deep",
                             threads=threads,
                             device=device, client=client)
        layers = []
        for layer in range(1, len(hidden) + 2):
            a, _, _ = C.final_alignment_stats(result, layer=layer, signal="gradient")
            keep = ("weight_decay", "seed")
            layers.append(a.drop_vars([c for c in a.coords if c not in keep]))
        deep_a = xr.concat(layers, dim=xr.IndexVariable("deep_layer",
                                                        list(range(1, len(hidden) + 2))))
        deep_a = deep_a.rename(seed="deep_seed").transpose("deep_layer", "weight_decay",
                                                           "deep_seed")
        data.update(deep_alignment=deep_a, deep_mean=deep_a.mean("deep_seed"),
                    deep_sd=C.seed_sd(deep_a, "deep_seed"))
        attrs.update(deep_hidden=list(hidden), deep_n_seeds=deep_seeds,
                     deep_config=C.config_dict(cfg))
    ds = xr.Dataset(data, attrs=attrs)
    ds["weight_decay"].attrs.update(units="1", long_name="weight decay γ")
    return ds


def plot(ds: xr.Dataset):
    """Panel a (activations, layer 2) and panel b (deep MLP, every layer); returns the axes."""
    from matplotlib.figure import Figure

    from plastix.plot.ann import plot_alignment_vs_decay

    deep = "deep_mean" in ds
    fig = Figure(figsize=(12.0 if deep else 6.0, 4.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, 2 if deep else 1))
    decay = ds["weight_decay"].values
    for act in ds["activation"].values:
        plot_alignment_vs_decay(decay, ds["mean"].sel(activation=act).values,
                                sd=ds["sd"].sel(activation=act).values, label=str(act),
                                ax=axes[0])
    axes[0].set_title("a: SRE layer 2, by activation")
    if deep:
        for layer in ds["deep_layer"].values:
            plot_alignment_vs_decay(decay, ds["deep_mean"].sel(deep_layer=layer).values,
                                    sd=ds["deep_sd"].sel(deep_layer=layer).values,
                                    label=f"layer {int(layer)}", ax=axes[1])
        w = ds.attrs["deep_hidden"]
        w = w if isinstance(w, list) else [w]
        axes[1].set_title(f"b: {len(w)} × {w[0]} tanh MLP, per layer")
    return axes


def _sentences(ds: xr.Dataset) -> list[str]:
    out = []
    decay = ds["weight_decay"].values
    for act in ds["activation"].values:
        m = ds["mean"].sel(activation=act).values
        rho = C.spearman(decay, m)
        holds = m[-1] > m[0] and rho > 0.5
        out.append(f"{act}: {m[0]:+.2f} at γ = 0 → {m[-1]:+.2f} at γ = {decay[-1]:g} "
                   f"(Spearman ρ with γ = {rho:.2f}); the paper's rise with γ "
                   f"{'holds' if holds else 'does not hold'}.")
    if "deep_mean" in ds:
        fails = []
        for layer in ds["deep_layer"].values:
            m = ds["deep_mean"].sel(deep_layer=layer).values
            if not (m[-1] > m[0] and C.spearman(decay, m) > 0.5):
                fails.append(int(layer))
        first = ds["deep_mean"].isel(weight_decay=0).values
        last = ds["deep_mean"].isel(weight_decay=-1).values
        n = ds.sizes["deep_layer"]
        out.append(
            f"Deep MLP: alignment rises with γ in {n - len(fails)} of {n} layers"
            + (f" (not in layer(s) {fails})" if fails else "")
            + f"; per layer from {np.nanmin(first):+.2f}…{np.nanmax(first):+.2f} at γ = 0 to "
              f"{np.nanmin(last):+.2f}…{np.nanmax(last):+.2f} at γ = {decay[-1]:g}.")
    return out


def summary(ds: xr.Dataset, *, budget: str) -> str:
    """Markdown: our curves as tables and the paper's claim, one sentence per curve."""
    decay = ds["weight_decay"].values
    headers = ["activation"] + [f"γ = {g:g}" for g in decay]
    rows = [[str(a)] + [C.fmt_pm(float(ds["mean"].sel(activation=a)[j]),
                                 float(ds["sd"].sel(activation=a)[j])) for j in range(len(decay))]
            for a in ds["activation"].values]
    text = ["# Fig. 3: alignment vs weight decay, by activation and by layer",
            "",
            budget + f" {int(ds.attrs['n_seeds'])} seed(s); final gradient alignment (mean over "
            "the last 100 steps), mean ± SD over seeds. Sign: > 0 Hebbian.",
            "",
            f"Paper: {PAPER_CLAIM}.",
            "",
            "## a: SRE, layer 2",
            "",
            C.markdown_table(headers, rows)]
    if "deep_mean" in ds:
        w = ds.attrs["deep_hidden"]
        w = w if isinstance(w, list) else [w]
        rows = [[int(la)] + [C.fmt_pm(float(ds["deep_mean"].sel(deep_layer=la)[j]),
                                      float(ds["deep_sd"].sel(deep_layer=la)[j]))
                             for j in range(len(decay))] for la in ds["deep_layer"].values]
        text += ["", f"## b: {len(w)} × {w[0]} tanh MLP "
                     f"({int(ds.attrs['deep_n_seeds'])} seed(s))", "",
                 C.markdown_table(["layer"] + headers[1:], rows)]
    text += ["", "## Ours against the paper", ""] + [f"- {s}" for s in _sentences(ds)]
    return "\n".join(text) + "\n"


def run(out: Path, *, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
        weight_decays: Any = None, deep: bool = True, overrides: dict | None = None,
        threads: int = 1, device: str = "cpu", client: Any = None) -> Path:
    """Reproduce Fig. 3 into ``out``; return the summary path.

    Writes ``fig3.nc``, ``fig3.csv``, ``fig3.png`` and ``fig3.md``.  ``quick``: 4
    decays, 1 seed, the quick budget of :mod:`plastix.experiments._common`, and a
    6 × 128 (not 512) deep MLP.

    Parameters
    ----------
    out : path
        Output folder (finished runs are cached in ``out/sweeps``).
    quick, n_seeds, rng
        The reduced budget, seeds per cell, and the master seed.
    weight_decays : sequence of float, optional
        The weight decays ``γ`` (per unit learning rate); default :data:`DECAYS`
        (:data:`QUICK_DECAYS` with ``quick``).
    deep : bool
        Also train the deep MLP (panel b).
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
    ds = measure(cache=cache, quick=quick, n_seeds=n_seeds, rng=rng,
                 weight_decays=weight_decays, deep=deep, overrides=overrides, threads=threads,
                 device=device, client=client)
    C.write_dataset(ds, out, "fig3")
    axes = plot(ds)
    C.save_figure(axes[0].figure, out / "fig3.png")
    budget = C.describe_budget(config("tanh", quick=quick, **(overrides or {})), quick=quick,
                               full=FULL)
    if quick and deep:
        budget += f" Deep MLP: 6 × {DEEP[True][0]} (full: 6 × 512)."
    return C.write_text(out / "fig3.md", summary(ds, budget=budget))
