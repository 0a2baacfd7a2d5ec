"""The alignment of a circuit's learning signal with the Hebbian term, from its record.

For each weight interval ``k`` (between samples ``k`` and ``k+1``):

* ``H_k`` = mean over the interval's activity bins of ``post ⊗ pre``
  (:func:`plastix.alignment.hebbian_term`, product kernel by default);
* the learning signal, either
  ``"estimate"``: ``ĝ_k = ΔW_k + γ Δt_k W_k`` from the recorded weights alone
  (what an experimenter can compute), or
  ``"rule"``: the true rule contribution ``signal[k+1] − signal[k]`` recorded by
  the simulator (``η ∫ g dt``, decay and noise excluded);
* ``A_k = cos(signal_k, H_k)`` over the synapses observed at both ends of the interval.

Sign convention: ``A > 0`` Hebbian, ``A < 0`` anti-Hebbian; a signal equal to
``H`` gives 1 and ``−H`` gives −1:

>>> import numpy as np; from plastix.alignment import cosine_alignment
>>> H = np.ones((1, 2)); cosine_alignment(H, H), cosine_alignment(-H, H)
(1.0, -1.0)

This is the circuits' own measurement for tests and the ``circuit-phase``
experiment; :mod:`plastix.estimate` is the full estimator (bootstrap, nulls, verdicts).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from plastix._util.errors import check_choice
from plastix.alignment import ZeroNormWarning, cosine_alignment, hebbian_term
from plastix.kernels import get_kernel
from plastix.record import interval_index, validate_record

__all__ = ["SIGNALS", "interval_alignment", "circuit_alignment"]

SIGNALS = ("estimate", "rule")


def _signal(ds: xr.Dataset, signal: str, decay: float | None) -> np.ndarray:
    k = interval_index(ds)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    if signal == "rule":
        if "signal" not in ds.variables:
            raise ValueError("`signal='rule'` needs the recorded rule contribution `signal`; "
                             "this record has none. Simulate with record_signal=True or use "
                             "signal='estimate'.")
        s = np.asarray(ds["signal"].values, dtype=float)
        return s[k + 1] - s[k]
    gamma = float(ds["decay"].values) if decay is None else float(decay)
    if not np.isfinite(gamma):
        raise ValueError("`decay` is unknown (NaN) in this record; pass decay= (1/s) to "
                         "estimate the learning signal ĝ = ΔW + γ Δt W.")
    w = np.asarray(ds["weight"].values, dtype=float)
    dt_k = (wt[k + 1] - wt[k])[:, None, None]
    return w[k + 1] - w[k] + gamma * dt_k * w[k]


def interval_alignment(ds: xr.Dataset, *, signal: str = "estimate", kernel: str = "product",
                       decay: float | None = None) -> xr.DataArray:
    """Per-interval alignment ``A_k = cos(signal_k, H_k)`` of a circuit record.

    Parameters
    ----------
    ds : xarray.Dataset
        A plastix record (from :func:`simulate_rate`, :func:`simulate_spiking` or a file).
    signal : {"estimate", "rule"}
        ``"estimate"``: ``ĝ_k = ΔW_k + γ Δt_k W_k`` from the weights; ``"rule"``:
        the simulator's recorded true rule contribution over the interval.
    kernel : str
        A rate kernel of :mod:`plastix.kernels` (``"product"``, ``"covariance"``,
        ``"lagged"``, …) over the interval's bins; a lagged kernel uses a lag of one bin.
    decay : float, optional
        γ in 1/s; default the record's ``decay``.

    Returns
    -------
    xarray.DataArray
        Dims ``(interval,)`` with coordinate ``interval_time`` (s, interval start);
        values in [−1, 1], ``> 0`` Hebbian, NaN where undefined (no co-activity).

    Examples
    --------
    ``A > 0`` Hebbian, ``A < 0`` anti-Hebbian:

    >>> interval_alignment(ds).mean()                      # doctest: +SKIP
    """
    validate_record(ds, stage="interval_alignment")
    check_choice("signal", signal, SIGNALS)
    lag = 1 if get_kernel(kernel, inputs="rates").lagged else 0
    k = interval_index(ds)
    g = _signal(ds, signal, decay)
    pre = np.asarray(ds["pre_activity"].values, dtype=float)
    post = np.asarray(ds["post_activity"].values, dtype=float)
    interval = np.asarray(ds["interval"].values)
    out = np.full(k.size, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroNormWarning)
        for n, kk in enumerate(k):
            rows = np.flatnonzero(interval == kk)
            if rows.size < 1 + lag:
                continue
            H = hebbian_term(pre[rows], post[rows], kernel=kernel, lag=lag)
            gk = g[n]
            ok = np.isfinite(gk) & np.isfinite(H)
            if not ok.any():
                continue
            out[n] = cosine_alignment(np.where(ok, gk, 0.0), np.where(ok, H, 0.0), warn=False)
    wt = np.asarray(ds["weight_time"].values, dtype=float)
    return xr.DataArray(out, dims=("interval",), coords={"interval": k,
                                                         "interval_time": ("interval", wt[k])},
                        attrs={"long_name": f"alignment cos({signal}, H) per interval",
                               "units": "1", "signal": signal, "kernel": kernel})


def circuit_alignment(ds: xr.Dataset, *, signal: str = "estimate", kernel: str = "product",
                      skip: float = 0.5, decay: float | None = None) -> float:
    """Stationary alignment: mean of :func:`interval_alignment` after a burn-in.

    Parameters
    ----------
    ds : xarray.Dataset
        A circuit record.
    signal, kernel, decay
        As in :func:`interval_alignment`.
    skip : float
        Fraction of the intervals (the first ones) left out as transient, in [0, 1).

    Returns
    -------
    float
        Mean alignment over the remaining intervals (``> 0`` Hebbian).

    Examples
    --------
    >>> circuit_alignment(ds, signal="rule")               # doctest: +SKIP
    """
    if not (0.0 <= float(skip) < 1.0):
        raise ValueError(f"`skip` must be a fraction in [0, 1); got {skip!r}.")
    a = interval_alignment(ds, signal=signal, kernel=kernel, decay=decay).values
    start = int(np.floor(float(skip) * a.size))
    tail = a[start:]
    tail = tail[np.isfinite(tail)]
    return float(np.mean(tail)) if tail.size else float("nan")
