"""Paper Table 1: alignment at convergence of four learning rules on the SRE, vs weight decay.

SGD, Adam, DFA and RandomNN train the standard regression experiment (SPEC §4:
32 → 128 → 128 → 32 tanh student and teacher, 20,000 samples, batch 256, 50
epochs) at ``γ ∈ {0, 5e-5, 5e-4, 5e-3}``.  We report the alignment of the learning
signal with the Hebbian term, mean over the last 100 steps, mean ± SD over 10
seeds, for layer 2 (layer 1 for DFA, whose signal reaches layer 1 directly), and
"–" where the weights collapsed to zero (the product over layers of final /
initial weight norm below :data:`plastix.experiments._common.COLLAPSE_RATIO`).

Signal: ``gradient`` (``−∇W ℓ``, decay excluded) for SGD and Adam, as the paper
measures them (SPEC §2); the rule's own direction (``rule``) for DFA and RandomNN,
whose updates are not gradients.

Sign convention: ``A = cos(g, H)``, ``A > 0`` Hebbian, ``A < 0`` anti-Hebbian
(``g = H`` gives 1, ``g = −H`` gives −1).

Run with ``plastix reproduce table1 --out DIR [--quick] [--seeds N]``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix._util.rng import resolve_rng, spawn
from plastix.experiments import _common as C

__all__ = ["run", "PAPER", "DECAYS", "RULES", "rule_config"]

DECAYS = (0.0, 5e-5, 5e-4, 5e-3)
RULES = ("sgd", "adam", "dfa", "random_nn")
NAMES = {"sgd": "SGD", "adam": "Adam", "dfa": "DFA", "random_nn": "RandomNN"}

PAPER: dict[str, list[tuple[float, float] | None]] = {
    "sgd": [(-0.10, 0.01), (-0.06, 0.01), (0.17, 0.01), (0.59, 0.01)],
    "adam": [(-0.02, 0.00), (0.10, 0.00), (0.66, 0.01), None],
    "dfa": [(0.45, 0.05), (0.45, 0.04), (0.68, 0.05), (0.87, 0.00)],
    "random_nn": [(0.00, 0.00), (0.00, 0.00), (0.05, 0.00), (0.50, 0.00)],
}
"""Paper Table 1 (mean, SD); ``None`` is the paper's "–" (weights collapsed)."""

FULL = C.FULL
N_SEEDS = {False: 10, True: 2}


def rule_config(rule: str, *, quick: bool = False, **overrides: Any):
    """The :class:`plastix.ann.TrainConfig` of one row of Table 1.

    SGD: η = 0.01.  Adam: η = 1e-3 (PyTorch's default; the paper does not state it).
    DFA: η = 0.1, gradient-norm clip 5, with biases (SPEC §4).  RandomNN: η = 0.01,
    clip 1 (SPEC §4).  All: SRE, tanh, 128-128 hidden, batch 256.
    """
    from plastix.ann import TrainConfig

    base = dict(task="sre", activation="tanh", hidden=(128, 128), batch_size=256,
                per_post_layer=None)
    per_rule = {
        "sgd": (dict(rule="sgd", bias=False), 0.01),
        "adam": (dict(rule="adam", bias=False), 1e-3),
        "dfa": (dict(rule="dfa", clip=5.0, bias=True), 0.1),
        "random_nn": (dict(rule="random_nn", clip=1.0, bias=False), 0.01),
    }
    check_choice("rule", rule, per_rule)
    fields, lr = per_rule[rule]
    config = TrainConfig(**{**base, **fields, **C.budget(quick, lr)})
    return replace(config, **overrides) if overrides else config


def reported(rule: str) -> tuple[int, str]:
    """(layer, signal) reported for ``rule``: layer 1 for DFA, 2 otherwise."""
    layer = 1 if rule == "dfa" else 2
    signal = "gradient" if rule in ("sgd", "adam") else "rule"
    return layer, signal


def measure(*, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
            cache: Path | None = None,
            weight_decays=DECAYS, rules=RULES, overrides: dict | None = None,
            threads: int = 1, device: str = "cpu", client: Any = None) -> xr.Dataset:
    """Train every rule at every decay and reduce to Table 1.

    Returns
    -------
    xarray.Dataset
        dims ``(rule, weight_decay, seed)``: ``alignment`` (per run, reported layer and
        signal), ``collapsed`` (bool), ``gain_ratio`` (product over layers of final /
        initial weight norm), and ``(rule, weight_decay)``: ``mean``, ``sd`` (NaN
        where most seeds collapsed), ``paper_mean``, ``paper_sd``, ``n_ok``.
    """
    decays = weight_decays
    seeds = C.resolve_seeds(n_seeds, N_SEEDS[bool(quick)])
    streams = spawn(resolve_rng(rng), len(rules))
    per_run, coll, gains, gaps, drifts, relax = [], [], [], [], [], []
    for rule, stream in zip(rules, streams, strict=True):
        config = rule_config(rule, quick=quick, **(overrides or {}))
        result = C.run_sweep(config, {"weight_decay": list(decays)}, n_seeds=seeds, rng=stream,
                             cache=cache, desc=f"table1 {NAMES[rule]}", threads=threads,
                             device=device, client=client)
        layer, signal = reported(rule)
        a, _, _ = C.final_alignment_stats(result, layer=layer, signal=signal)
        per_run.append(a.drop_vars([c for c in a.coords if c not in ("weight_decay", "seed")]))
        drop = [c for c in result.coords if c not in ("weight_decay", "seed")]
        coll.append(C.collapsed_runs(result).drop_vars(drop, errors="ignore"))
        gains.append(C.gain_ratio(result).drop_vars(drop, errors="ignore"))
        gap, drift = C.late_diagnostics(result, layer=layer, signal=signal)
        gaps.append(gap.drop_vars(drop, errors="ignore"))
        drifts.append(drift.drop_vars(drop, errors="ignore"))
        n_steps = config.epochs * (config.n_train // config.batch_size)
        relax.append(config.lr * np.asarray(decays, dtype=float) * n_steps)
    rule_idx = xr.IndexVariable("rule", [NAMES[r] for r in rules])
    align = xr.concat(per_run, dim=rule_idx).transpose("rule", "weight_decay", "seed")
    collapsed = xr.concat(coll, dim=rule_idx).transpose("rule", "weight_decay", "seed")
    gain = xr.concat(gains, dim=rule_idx).transpose("rule", "weight_decay", "seed")
    gap = xr.concat(gaps, dim=rule_idx).transpose("rule", "weight_decay", "seed")
    drift = xr.concat(drifts, dim=rule_idx).transpose("rule", "weight_decay", "seed")
    ok = ~collapsed & np.isfinite(align)
    valid = align.where(ok)
    n_ok = ok.sum("seed")
    majority = n_ok * 2 > align.sizes["seed"]
    mean = valid.mean("seed").where(majority)
    sd = C.seed_sd(valid).where(majority)
    pm = np.full((len(rules), len(decays)), np.nan)
    ps = np.full_like(pm, np.nan)
    for i, rule in enumerate(rules):
        for j, d in enumerate(decays):
            if d in DECAYS and PAPER[rule][DECAYS.index(d)] is not None:
                pm[i, j], ps[i, j] = PAPER[rule][DECAYS.index(d)]
    ds = xr.Dataset(
        {"alignment": align, "collapsed": collapsed, "gain_ratio": gain, "mean": mean, "sd": sd,
         "n_ok": n_ok, "paper_mean": (("rule", "weight_decay"), pm),
         "paper_sd": (("rule", "weight_decay"), ps),
         "stationarity_gap": gap, "late_drift": drift,
         "decay_relaxation": (("rule", "weight_decay"), np.asarray(relax))},
        attrs={"experiment": "table1", "quick": int(bool(quick)), "n_seeds": seeds,
               "last_steps": 100, "collapse_ratio": C.COLLAPSE_RATIO,
               "configs": {r: C.config_dict(rule_config(r, quick=quick, **(overrides or {})))
                           for r in rules},
               "sign": "alignment > 0 Hebbian, < 0 anti-Hebbian"},
    )
    ds["alignment"].attrs.update(units="1", long_name="final alignment cos(g, H)")
    ds["stationarity_gap"].attrs.update(
        units="1", long_name="‖mean g − γ mean W‖ / ‖γ mean W‖ over the last epoch "
        "(reported layer; 0 at stationarity)")
    ds["late_drift"].attrs.update(
        units="1", long_name="final alignment minus the mean of the 100 steps ending "
        "10 epochs earlier (> 0: still rising)")
    ds["decay_relaxation"].attrs.update(
        units="1", long_name="η γ T: decay time constants elapsed in the run "
        "(weights relax by 1 − exp(−η γ T) under decay alone)")
    ds["weight_decay"].attrs.update(units="1", long_name="weight decay γ")
    return ds


def plot(ds: xr.Dataset, *, ax=None):
    """Measured alignment vs γ per rule (solid) with the paper's values (open, dashed)."""
    from plastix.plot.ann import plot_alignment_vs_decay

    decay = ds["weight_decay"].values
    for i, rule in enumerate(ds["rule"].values):
        color = f"C{i}"
        ax = plot_alignment_vs_decay(decay, ds["mean"].sel(rule=rule).values,
                                     sd=ds["sd"].sel(rule=rule).values, label=f"{rule} (ours)",
                                     ax=ax, color=color)
        pm = ds["paper_mean"].sel(rule=rule).values
        ok = np.isfinite(pm)
        ax.plot(decay[ok], pm[ok], ls="--", marker="o", mfc="none", color=color, alpha=0.6,
                label=f"{rule} (paper)")
    ax.legend(fontsize="x-small", ncol=1, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.set_title("Table 1: SRE, final alignment (layer 2; DFA layer 1)", fontsize="medium")
    return ax


def _sentences(ds: xr.Dataset) -> list[str]:
    out = []
    decay = [float(d) for d in ds["weight_decay"].values]
    for rule in ds["rule"].values:
        m = ds["mean"].sel(rule=rule).values
        pm = ds["paper_mean"].sel(rule=rule).values
        rises = C.is_increasing(m)
        both = np.isfinite(m) & np.isfinite(pm)
        diff = m[both] - pm[both]
        coll_ours = [decay[j] for j in range(len(decay)) if not np.isfinite(m[j])]
        coll_paper = [decay[j] for j in range(len(decay)) if not np.isfinite(pm[j])]
        fm = m[np.isfinite(m)]
        flat = fm.size >= 2 and np.ptp(fm) < 0.02
        shape = ("is flat in γ (range < 0.02)" if flat else
                 "rises with γ" if rises else "does not rise monotonically with γ")
        s = (f"**{rule}**: alignment {shape} "
             f"({' → '.join('–' if not np.isfinite(x) else f'{x:+.2f}' for x in m)}; "
             f"paper {' → '.join('–' if not np.isfinite(x) else f'{x:+.2f}' for x in pm)})")
        if both.sum() >= 2:
            jj = np.flatnonzero(both)
            s += (f", rise from γ = {decay[jj[0]]:g} to {decay[jj[-1]]:g}: ours "
                  f"{m[jj[-1]] - m[jj[0]]:+.2f}, paper {pm[jj[-1]] - pm[jj[0]]:+.2f}")
        if diff.size:
            j = int(np.argmax(np.abs(diff)))
            s += (f", mean difference ours − paper {diff.mean():+.2f}, largest "
                  f"{diff[j]:+.2f} at γ = {np.asarray(decay)[both][j]:g}")
        if coll_ours != coll_paper:
            s += (f"; collapse (–) at γ = {coll_ours or 'none'} here vs "
                  f"{coll_paper or 'none'} in the paper")
        out.append(s + ".")
    out += _explanations(ds)
    # ranking of the rules at each decay
    for j, d in enumerate(decay):
        m = ds["mean"].isel(weight_decay=j).values
        pm = ds["paper_mean"].isel(weight_decay=j).values
        ok = np.isfinite(m) & np.isfinite(pm)
        if ok.sum() < 2:
            continue
        names = ds["rule"].values[ok]
        ours = [str(n) for n in names[np.argsort(-m[ok], kind="stable")]]
        paper = [str(n) for n in names[np.argsort(-pm[ok], kind="stable")]]
        rho = C.spearman(m[ok], pm[ok])
        same = ours == paper
        out.append(f"γ = {d:g}: ranking {' > '.join(ours)} "
                   f"{'matches' if same else 'differs from'} the paper's "
                   f"{' > '.join(paper)} (Spearman ρ = {rho:.2f}).")
    return out


SGD_FIG4_GAMMA0 = 0.09
"""The paper's own Fig. 4 value for SGD on the SRE at σ = 0, γ = 0 (SPEC §4)."""


def _explanations(ds: xr.Dataset) -> list[str]:
    """One sentence per cell where ours and the paper's differ beyond the seeds' spread.

    A difference counts when ``|ours − paper| > max(0.05, 2 √(sd² + sd_paper²))``.  The
    sentence names the measured reason where the run shows one (the stationarity gap,
    the decay time constants elapsed ``η γ T``, an alignment still drifting at the end)
    and says so where it does not.
    """
    out = []
    decay = [float(d) for d in ds["weight_decay"].values]
    # The 10× longer runs the README reports were made at the paper's budget; their
    # findings are cited only in summaries of that budget.
    paper_budget = not bool(ds.attrs.get("quick", 0)) and all(
        c.get("epochs") == FULL["epochs"] for c in ds.attrs.get("configs", {}).values())
    for rule in ds["rule"].values:
        r = ds.sel(rule=rule)
        for j, d in enumerate(decay):
            m, pm = float(r["mean"][j]), float(r["paper_mean"][j])
            if not (np.isfinite(m) and np.isfinite(pm)):
                continue  # collapse mismatches are named in the rule's sentence above
            sd = float(np.nan_to_num(r["sd"][j])), float(np.nan_to_num(r["paper_sd"][j]))
            if abs(m - pm) <= max(0.05, 2 * float(np.hypot(*sd))):
                continue
            gap = float(r["stationarity_gap"][j].median()) if "stationarity_gap" in r else np.nan
            drift = float(r["late_drift"][j].mean()) if "late_drift" in r else np.nan
            relax = float(r["decay_relaxation"][j]) if "decay_relaxation" in r else np.nan
            head = f"*{rule}, γ = {d:g}* (ours {m:+.2f}, paper {pm:+.2f}): "
            plain = rule != "Adam" and np.isfinite(relax)
            if d == 0 or (plain and relax < 0.05):
                why = ("without decay" if d == 0 else
                       f"decay has had no time to act (ηγT = {relax:.2g}), so this cell shows "
                       "the decay-free dynamics")
                why += (f"{'' if d == 0 else ';'} the theory predicts no systematic "
                        "Hebbian alignment from decay here")
                why += _decay_free_reason(str(rule), m, paper_budget=paper_budget)
            elif m < pm and plain and relax < 1.0 and rule == "RandomNN" and paper_budget:
                why = (f"decay acts on a time scale 1/(ηγ) longer than the run (ηγT = "
                       f"{relax:.2g}"
                       + (f", last-epoch stationarity gap {gap:.2g}" if np.isfinite(gap) else "")
                       + "), but that is not the whole reason: our 10× longer run ends "
                       "near stationarity still far below the paper's value (README, 'Longer "
                       "runs'), so the difference comes from RandomNN details the paper does "
                       "not state (the scale of W* and of its random projections)")
            elif m < pm and plain and relax < 1.0:
                why = (f"decay acts on a time scale 1/(ηγ) longer than the run "
                       f"(ηγT = {relax:.2g}: decay alone would shrink the weights by only "
                       f"{100 * (1 - np.exp(-relax)):.0f}%)")
                if np.isfinite(gap):
                    why += f", the last epoch's stationarity gap is {gap:.2g} (0 at stationarity)"
                if np.isfinite(drift) and drift > 0.005:
                    why += (f" and the alignment was still rising ({drift:+.2f} over the last "
                            "10 epochs)")
                why += (", so our runs end before the stationary state where the theory "
                        "predicts the alignment; the paper's larger value suggests a longer or "
                        "faster-learning run than the one it states")
            elif m < pm:
                why = "ours is lower"
                if np.isfinite(gap):
                    why += f" with a last-epoch stationarity gap of {gap:.2g}"
                why += ("; we do not know which unstated detail (learning rate, batch "
                        "estimator, initial scale) accounts for it")
            else:
                why = "ours is higher"
                if np.isfinite(gap):
                    why += f" (last-epoch stationarity gap {gap:.2g})"
                if rule == "Adam":
                    why += ("; the paper does not state Adam's learning rate, and ours "
                            "(PyTorch's default 1e-3) with coupled L2 decay reaches "
                            "stationarity quickly")
                else:
                    why += ("; we do not know which unstated detail of the paper's runs "
                            "accounts for it")
            out.append(head + why + ".")
    return out


def _decay_free_reason(rule: str, ours: float, *, paper_budget: bool) -> str:
    """The clause naming what sets the decay-free alignment of ``rule`` (ours ``ours``);
    findings of the README's longer runs are cited only when ``paper_budget``."""
    if abs(ours) < 0.05:
        return ("; ours is close to 0 as predicted, and the paper's value is not a decay "
                "effect: it comes from a detail of its runs it does not state (`plastix "
                "reproduce table1-ablations` tests the candidates), "
                "which we could not identify")
    if rule == "SGD" and abs(ours - SGD_FIG4_GAMMA0) < 0.05:
        text = (f"; the paper's own Fig. 4 gives about +{SGD_FIG4_GAMMA0:.2f} for the same "
                "setup at σ = 0, γ = 0, as ours does")
        if paper_budget:
            text += (", and in our 10× longer run this decay-free value drifts below 0, "
                     "towards the paper's (README, 'Longer runs'), so its Table 1 likely "
                     "comes from longer training than it states")
        return text
    if rule == "RandomNN" and paper_budget:
        return ("; RandomNN's signal is ± a fixed rank-4 target W*, and after this budget "
                "our weights are still drifting along W* with one sign, which the Hebbian "
                "term H = W Σ inherits; in our 10× longer run they reach the bound ‖W‖² = "
                "100 where s_dir flips the sign, and the alignment is 0 as in the paper "
                "(README, 'Longer runs')")
    return ("; ours is not 0, and we do not know which unstated detail of the paper's "
            "runs accounts for the difference")


def summary(ds: xr.Dataset, *, budget: str) -> str:
    """The markdown summary: our table beside the paper's, and one sentence per difference."""
    decay = [float(d) for d in ds["weight_decay"].values]
    headers = ["rule"] + [f"γ = {d:g} (ours)" for d in decay] + [f"γ = {d:g} (paper)"
                                                                  for d in decay]
    rows = []
    for rule in ds["rule"].values:
        r = ds.sel(rule=rule)
        rows.append([rule] + [C.fmt_pm(float(r["mean"][j]), float(r["sd"][j]))
                              for j in range(len(decay))]
                    + [C.fmt_pm(float(r["paper_mean"][j]), float(r["paper_sd"][j]))
                       for j in range(len(decay))])
    text = [
        "# Table 1: alignment at convergence on the SRE",
        "",
        budget + f" {int(ds.attrs['n_seeds'])} seeds; mean ± SD over seeds of the alignment "
        "averaged over the last 100 steps; layer 2 (layer 1 for DFA); SGD and Adam: the loss "
        "gradient, DFA and RandomNN: the rule's own signal; \"–\": weights collapsed "
        f"(product over layers of final/initial weight norm < {C.COLLAPSE_RATIO:g}) in most "
        "seeds.",
        "",
        "Sign: alignment > 0 is Hebbian, < 0 anti-Hebbian.",
        "",
        C.markdown_table(headers, rows),
        "",
        "## Ours against the paper",
        "",
    ]
    text += [f"- {s}" for s in _sentences(ds)]
    return "\n".join(text) + "\n"


def run(out: Path, *, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
        weight_decays: Any = None, overrides: dict | None = None, threads: int = 1,
        device: str = "cpu", client: Any = None) -> Path:
    """Reproduce Table 1 into ``out``; return the summary path.

    Writes ``table1.nc``, ``table1.csv``, ``table1.png`` and ``table1.md``.
    ``quick`` trains 30 epochs on 4,096 samples at 10× the learning rate, 2 seeds
    (about a minute; see :data:`plastix.experiments._common.QUICK_LR_FACTOR`).

    Parameters
    ----------
    out : path
        Output folder (finished runs are cached in ``out/sweeps``).
    quick, n_seeds, rng
        The reduced budget, seeds per cell, and the master seed.
    weight_decays : sequence of float, optional
        The weight decays ``γ`` (per unit learning rate) to train; default :data:`DECAYS`.
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
    ds = measure(cache=cache, quick=quick, n_seeds=n_seeds, rng=rng, overrides=overrides,
                 weight_decays=DECAYS if weight_decays is None
                 else tuple(float(d) for d in weight_decays),
                 threads=threads, device=device, client=client)
    C.write_dataset(ds, out, "table1")
    ax = plot(ds)
    C.save_figure(ax.figure, out / "table1.png")
    budget = C.describe_budget(rule_config("sgd", quick=quick, **(overrides or {})),
                               quick=quick, full=FULL)
    return C.write_text(out / "table1.md", summary(ds, budget=budget))
