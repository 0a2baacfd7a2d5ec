"""Shared plumbing of the ANN experiments: atomic files, final statistics, summaries.

Every experiment module (``table1``, ``fig3``, ``fig4``, ``fig5``, ``fig15``) runs
:func:`plastix.ann.sweep`, reduces the result with the helpers here, and writes

* ``<name>.nc``  the reduced, labelled result (NetCDF-4, h5netcdf, atomic);
* ``<name>.csv`` the same numbers as a flat table;
* ``<name>.png`` the figure;
* ``<name>.md``  the summary, our numbers beside the paper's;
* ``sweeps/``     every finished training run (one NetCDF each, from
  :func:`plastix.ann.sweep`), so an interrupted run resumes when rerun with the
  same ``rng``.

Sign convention (as everywhere in plastix): alignment ``A = cos(g, H)`` with
``A > 0`` Hebbian and ``A < 0`` anti-Hebbian, e.g. ``g = H`` gives ``A = 1`` and
``g = -H`` gives ``A = -1``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.io import atomic_write, prepare_out, write_netcdf_file
from plastix._util.validate import check_int

__all__ = [
    "COLLAPSE_RATIO",
    "QUICK_LR_FACTOR",
    "QUICK",
    "FULL",
    "budget",
    "prepare_out",
    "resolve_seeds",
    "write_dataset",
    "write_text",
    "save_figure",
    "grid_dims",
    "final_alignment_stats",
    "late_diagnostics",
    "final_value",
    "collapsed_runs",
    "gain_ratio",
    "fmt_pm",
    "seed_sd",
    "markdown_table",
    "is_increasing",
    "spearman",
    "config_dict",
]

COLLAPSE_RATIO = 1e-2
"""A run has *collapsed* (the paper's "–") when the product over layers of
``final ‖W‖_F / initial ‖W‖_F`` is below this.  That product bounds how much the
network's end-to-end gain shrank (exactly so for a linear network, as an upper
bound through tanh, whose slope is ≤ 1): below 1e-2 the output has been driven
towards zero by decay, and the alignment no longer describes learning."""

QUICK_LR_FACTOR = 10.0
"""``--quick`` multiplies the learning rate by this and trains about 1/8 of the full
run's steps (30 epochs of 4,096 samples: 480 steps instead of 3,900), so that
``η × steps``, the training time that sets how far the weights get towards
stationarity, stays close to the full run's (48 vs 39).  Measured on the SRE at
γ ∈ {0, 5e-5, 5e-4, 5e-3}: SGD, Adam and DFA end within 0.03 of their full-run
alignments."""

QUICK = {"epochs": 30, "n_train": 4_096, "n_val": 512}
FULL = {"epochs": 50, "n_train": 20_000, "n_val": 2_000}

_SWEEP_INNER = {"step", "layer", "signal", "post", "val_step", "epoch"}


def budget(quick: bool, lr: float) -> dict[str, Any]:
    """TrainConfig fields of the full or ``--quick`` budget, for a rule whose full-run η is
    ``lr``."""
    if quick:
        return {**QUICK, "lr": lr * QUICK_LR_FACTOR}
    return {**FULL, "lr": lr}


def resolve_seeds(n_seeds: int | None, default: int) -> int:
    """``n_seeds`` if given (a positive int), else ``default``."""
    if n_seeds is None:
        return int(default)
    return check_int("n_seeds", n_seeds, low=1)


def _clean_attrs(attrs: dict) -> dict:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(
                value, bool):
            out[key] = value
        else:
            out[key] = json.dumps(value, default=str)
    return out


def write_dataset(ds: xr.Dataset, out: Path, name: str) -> tuple[Path, Path]:
    """Write ``ds`` as ``out/name.nc`` (atomic NetCDF-4) and ``out/name.csv`` (flat table).

    Attributes that NetCDF cannot hold (dicts, lists, bools) are stored as JSON text.
    Variables sharing the largest set of dims go to the CSV (one row per index).
    """
    ds = ds.copy()
    ds.attrs = _clean_attrs(ds.attrs)
    for var in ds.variables.values():
        var.attrs = _clean_attrs(var.attrs)
    for cname, coord in ds.coords.items():
        if coord.dtype == object:
            ds = ds.assign_coords({cname: coord.astype(str)})
    nc = atomic_write(out / f"{name}.nc", lambda p: write_netcdf_file(ds, p))
    frame = ds.to_dataframe()
    csv = atomic_write(out / f"{name}.csv", lambda p: frame.to_csv(p))
    return nc, csv


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(Path(path), lambda p: p.write_text(text, encoding="utf-8"))


def save_figure(fig: Any, path: Path, *, dpi: int = 120) -> Path:
    """Save a matplotlib figure (made without pyplot) as PNG, atomically."""
    return atomic_write(Path(path), lambda p: fig.savefig(p, dpi=dpi, format="png",
                                                          bbox_inches="tight"))


def grid_dims(result: xr.Dataset) -> list[str]:
    """The sweep's leading dims (grid keys and ``seed``), in order."""
    return [d for d in result["alignment"].dims if d not in _SWEEP_INNER]


def final_alignment_stats(
    result: xr.Dataset,
    *,
    layer: int,
    signal: str = "gradient",
    last: int = 100,
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Per-run final alignment of one layer, and its mean and SD over seeds.

    Parameters
    ----------
    result : xarray.Dataset
        A :func:`plastix.ann.sweep` result.
    layer : int
        1-based layer index.
    signal : {"gradient", "rule", "update"}
        Which learning signal.
    last : int
        Number of final recorded steps averaged (the paper's 100).

    Returns
    -------
    per_run, mean, sd : xarray.DataArray
        ``per_run`` has the grid dims and ``seed``; ``mean`` and ``sd`` (ddof 1, NaN
        with a single seed) the grid dims only.  NaN runs (zero norms) are skipped.
        Sign convention: ``> 0`` Hebbian, ``< 0`` anti-Hebbian.
    """
    from plastix.ann import final_alignment

    n_steps = result.sizes.get("step", last)
    per_run = final_alignment(result, last=min(int(last), int(n_steps)), signal=signal)
    if "layer" in per_run.dims:
        per_run = per_run.sel(layer=layer)
    if "seed" not in per_run.dims:
        return per_run, per_run, xr.full_like(per_run, np.nan, dtype=float)
    return per_run, per_run.mean("seed", skipna=True), seed_sd(per_run)


def final_value(da: xr.DataArray, *, last: int = 1) -> xr.DataArray:
    """Mean over the last ``last`` entries of ``da``'s inner time axis (step, val_step…)."""
    inner = [d for d in da.dims if d in _SWEEP_INNER and d not in ("layer", "signal", "post")]
    if not inner:
        return da
    dim = inner[0]
    n = da.sizes[dim]
    return da.isel({dim: slice(max(0, n - int(last)), n)}).mean(dim, skipna=True)


def late_diagnostics(result: xr.Dataset, *, layer: int, signal: str = "gradient",
                     window: int = 100, lag_epochs: int = 10
                     ) -> tuple[xr.DataArray, xr.DataArray]:
    """How close each run of a sweep ended to stationarity.

    Returns, per run (the sweep's grid dims and ``seed``):

    * the last epoch's stationarity gap ``‖mean g − γ D mean W‖ / ‖γ D mean W‖`` of
      ``layer`` (0 at stationarity, NaN at γ = 0);
    * the drift: the final alignment (mean over the last ``window`` recorded steps)
      minus the mean over the ``window`` steps ending ``lag_epochs`` epochs earlier
      (> 0: still rising when training stopped; NaN if the run is too short, or if
      the sweep's cells differ in steps per epoch).
    """
    gap = result["stationarity_gap"].sel(layer=layer).isel(epoch=-1, drop=True)
    a = result["alignment"].sel(layer=layer, signal=signal)
    steps = result["step"].values
    n = a.sizes["step"]
    every = int(steps[1] - steps[0]) if n > 1 else 1
    spe = result.attrs.get("steps_per_epoch")  # absent when cells differ in epoch length
    lag = None if spe is None else max(1, lag_epochs * int(spe) // max(every, 1))
    win = min(int(window), n)
    if lag is not None and n >= win + lag:
        drift = (a.isel(step=slice(n - win, n)).mean("step")
                 - a.isel(step=slice(n - win - lag, n - lag)).mean("step"))
    else:
        drift = xr.full_like(gap, np.nan, dtype=float)
    drop = ["layer", "signal", "epoch"]
    return gap.drop_vars(drop, errors="ignore"), drift.drop_vars(drop, errors="ignore")


def gain_ratio(result: xr.Dataset) -> xr.DataArray:
    """Product over layers of final / first recorded weight norm, per run (dims: grid, seed)."""
    norm = result["weight_norm"]
    ratio = norm.isel(step=-1) / norm.isel(step=0)
    return ratio.prod("layer", skipna=False) if "layer" in ratio.dims else ratio


def collapsed_runs(result: xr.Dataset) -> xr.DataArray:
    """Boolean per run: did the weights collapse to zero?

    True when :func:`gain_ratio` is below :data:`COLLAPSE_RATIO` or not finite.
    Dims: the sweep's grid dims and ``seed``.
    """
    g = gain_ratio(result)
    return (g < COLLAPSE_RATIO) | ~np.isfinite(g)


def fmt_pm(mean: float, sd: float, *, digits: int = 2) -> str:
    """``"0.17 ± 0.01"``; the mean alone when ``sd`` is NaN (one seed); ``"–"`` for a NaN
    mean (collapsed or undefined)."""
    if mean is None or not np.isfinite(mean):
        return "–"
    m = f"{mean:.{digits}f}"
    if m.startswith("-0") and float(m) == 0:
        m = m[1:]
    if sd is None or not np.isfinite(sd):
        return m
    return f"{m} ± {sd:.{digits}f}"


def seed_sd(da: xr.DataArray, dim: str = "seed") -> xr.DataArray:
    """Sample SD (ddof 1) over ``dim``, NaN-aware; NaN where fewer than 2 values."""
    n = da.count(dim)
    return da.std(dim, ddof=1, skipna=True).where(n > 1) if da.sizes[dim] > 1 else \
        xr.full_like(da.isel({dim: 0}, drop=True), np.nan, dtype=float)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(map(str, headers)) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(map(str, row)) + " |")
    return "\n".join(lines)


def is_increasing(values: Sequence[float], *, tol: float = 0.0) -> bool:
    """True when the finite values never drop by more than ``tol`` from one to the next."""
    v = [float(x) for x in values if np.isfinite(x)]
    return len(v) >= 2 and all(b >= a - tol for a, b in zip(v, v[1:], strict=False))


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation of two sequences (ties get average ranks); NaN pairs dropped."""
    from scipy.stats import spearmanr

    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan
    return float(spearmanr(x[ok], y[ok]).statistic)


def config_dict(config: Any) -> dict[str, Any]:
    """A :class:`plastix.ann.TrainConfig` as a plain dict (``to_dict`` if it has one)."""
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    return {f.name: getattr(config, f.name) for f in fields(config)}


def run_sweep(config: Any, grid: dict[str, list], *, n_seeds: int, rng: Any,
              desc: str, threads: int = 1, cache: Path | None = None,
              device: str = "cpu", client: Any = None) -> xr.Dataset:
    """Call :func:`plastix.ann.sweep` with a progress bar labelled ``desc``.

    With ``cache`` (a folder), finished runs are stored there and a rerun of the same
    experiment with the same ``rng`` loads them instead of training again.  ``threads``
    is :func:`plastix.ann.sweep`'s (cores; the caller's setting is restored), and so
    are ``device`` (its device) and ``client`` (a Dask client: the batches train on its
    cluster).
    """
    from plastix.ann import sweep

    print(f"[{desc}] {config_dict(config).get('rule')} over "
          + " × ".join(f"{k}({len(v)})" for k, v in grid.items()) + f" × {n_seeds} seeds",
          flush=True)
    return sweep(config, grid, n_seeds=n_seeds, rng=rng, progress=True, threads=threads,
                 out=cache, device=device, client=client)


def describe_budget(config: Any, *, quick: bool, full: dict[str, Any] | None = None) -> str:
    """One sentence naming what ``--quick`` changed, compared to the full run."""
    d = config_dict(config)
    full = dict(FULL if full is None else full)
    if not quick:
        changed = [f"{k} {d[k]} (paper: {v})" for k, v in full.items() if d.get(k) != v]
        if changed:
            return ("Changed budget (not the paper's): " + ", ".join(changed)
                    + f"; η = {d['lr']:g}.")
        return (f"Full run (the paper's budget: {d['epochs']} epochs of {d['n_train']} samples, "
                f"η = {d['lr']:g}).")
    changed = [f"{k} {d[k]} (full: {v})" for k, v in full.items() if d.get(k) != v]
    text = "Quick run (`--quick`), reduced budget: " + ", ".join(changed)
    return (text + f"; learning rate ×{QUICK_LR_FACTOR:g} (η = {d['lr']:g}) so that η × steps "
            "stays close to the full run's; numbers are indicative, the full run is the "
            "reproduction.")


Reducer = Callable[[xr.Dataset], xr.Dataset]
