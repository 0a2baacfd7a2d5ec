"""Issue 13: physical validation at the boundary, verdicts the estimator can stand by,
and design sessions that survive interruption."""

from __future__ import annotations

import numpy as np
import pytest

from plastix.estimate import HebbianEstimator
from plastix.estimate.estimator import MIN_INTERVALS, result_to_dict
from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
from plastix.record import validate_record

FAST = dict(n_pre=8, n_post=5, n_intervals=60, bins_per_interval=20, lr=0.5, decay=2.0,
            noise=0.05, n_burn=60)


def test_one_interval_without_null_is_indeterminate():
    """20 null records of one interval, n_null=0: never a verdict from a zero-width CI."""
    verdicts, reasons = [], set()
    for seed in range(20):
        rec = simulate_synthetic(SyntheticConfig(rule="null", **{**FAST, "n_intervals": 1}),
                                 rng=seed)
        est = HebbianEstimator(decay=2.0, n_boot=200, n_null=0, rng=seed).fit(rec)
        verdicts.append(est.verdict_)
        reasons.add(est.verdict_reason_)
        assert str(est.result_["verdict"].values) == "indeterminate"
        assert est.result_.attrs["verdict_reason"] == est.verdict_reason_
        assert f"verdict     indeterminate  ({est.verdict_reason_})" in est.summary()
    assert verdicts == ["indeterminate"] * 20
    assert reasons == {f"only 1 weight interval; at least {MIN_INTERVALS} are needed for a "
                       "bootstrap interval"}


def test_no_null_is_indeterminate_with_reason():
    """A clear Hebbian record still gets no verdict without null replicates."""
    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", **FAST), rng=3)
    est = HebbianEstimator(decay=2.0, n_boot=200, n_null=0, rng=0).fit(rec)
    assert est.ci_[0] > 0  # the interval alone would have said hebbian
    assert est.verdict_ == "indeterminate"
    assert est.verdict_reason_ == ("no null replicates (n_null=0), so no test; pass n_null >= "
                                   "40 (--n-null; default 199)")
    assert result_to_dict(est.result_)["verdict_reason"] == est.verdict_reason_
    few = HebbianEstimator(decay=2.0, n_boot=200, n_null=19, rng=0).fit(rec)
    assert few.verdict_ == "indeterminate"
    assert few.verdict_reason_.startswith("19 null replicates cannot give p < 0.05")
    enough = HebbianEstimator(decay=2.0, n_boot=200, n_null=59, rng=0).fit(rec)
    assert (enough.verdict_, enough.verdict_reason_) == ("hebbian", "")


def test_zero_width_interval_is_indeterminate():
    from plastix.estimate.estimator import unjudgeable_reason

    assert unjudgeable_reason(50, 199, 0.05, [0.3, 0.3]).startswith(
        "the bootstrap interval has zero width")
    assert unjudgeable_reason(50, 199, 0.05, [0.2, 0.3]) == ""
    assert unjudgeable_reason(MIN_INTERVALS - 1, 199, 0.05, [0.2, 0.3]) != ""


def test_datasets_still_validate():
    """The reference recordings pass the new bounds (and their decay is a rate >= 0)."""
    from plastix.datasets import list_datasets, load_dataset

    entries = list_datasets()
    assert entries
    for entry in entries:
        ds = load_dataset(entry.name, regenerate=False)
        validate_record(ds, stage=entry.name)
        decay = float(ds["decay"].values)
        assert np.isnan(decay) or decay >= 0
