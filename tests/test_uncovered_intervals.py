"""Weight intervals without activity for their whole time are left out, not read as 0.

A rate series that starts after the weights do (or stops before them) used to give
the uncovered intervals a zero Hebbian term while their weight changes still counted,
pulling the alignment towards 0 (the NWB probe: +0.878 [+0.408, +0.922] against
+0.915 for the same file with its weights trimmed to the activity).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from plastix.estimate import HebbianEstimator
from plastix.estimate._stats import layout_of
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic

BINS = 10


@pytest.fixture(scope="module")
def record():
    cfg = SyntheticConfig(rule="hebbian", n_pre=8, n_post=3, n_intervals=40,
                          bins_per_interval=BINS)
    return simulate_synthetic(cfg, rng=np.random.default_rng(4), known_decay=True)


def _fit(rec):
    est = HebbianEstimator(n_boot=60, n_null=0, rng=1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        est.fit(rec)
    return est.result_, [str(w.message) for w in seen]


def _late_activity(rec, n_missing_bins):
    """The record with its first ``n_missing_bins`` activity bins cut (weights unchanged)."""
    return rec.isel(time=slice(n_missing_bins, None))


def _remap(rec):
    """``rec`` with its derived ``interval`` coordinate rebuilt (weights trimmed)."""
    from plastix.record import _map_intervals

    fresh = _map_intervals(*(np.asarray(rec[v].values) for v in
                             ("time", "segment", "weight_time", "weight_segment")))
    return rec.assign_coords(interval=("time", fresh))


def test_intervals_before_the_activity_are_left_out_like_trimmed_weights(record):
    cut = 5 * BINS  # the activity starts at the sixth weight sample
    late = _late_activity(record, cut)
    trimmed = _remap(late.isel(weight_time=slice(5, None)))
    res_late, msgs = _fit(late)
    res_trim, _ = _fit(trimmed)
    lay = layout_of(late)
    assert (~lay.covered).sum() == 5
    per_k = res_late["alignment_interval"].values
    assert np.isnan(per_k[:5]).all() and np.isfinite(per_k[5:]).all()
    np.testing.assert_allclose(float(res_late["alignment"]), float(res_trim["alignment"]),
                               rtol=1e-12)
    assert any("5 of 40 weight interval(s) hold activity for only part" in m for m in msgs), msgs


def test_an_interval_half_covered_is_left_out_too(record):
    late = _late_activity(record, BINS // 2)  # half of the first interval has no activity
    lay = layout_of(late)
    assert not lay.covered[0] and lay.covered[1:].all()
    res, msgs = _fit(late)
    assert np.isnan(res["alignment_interval"].values[0])
    assert any("the first, " in m and "has 0.05 s of activity" in m for m in msgs), msgs


def test_records_that_cover_their_intervals_are_unchanged(record):
    assert layout_of(record).covered.all()
    _, msgs = _fit(record)
    assert not any("only part of their time" in m for m in msgs)
