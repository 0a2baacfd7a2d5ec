"""The estimator: how Hebbian are the measured weight changes of a recording? (SPEC §6)

Sign convention: every alignment is a cosine in [−1, 1]; ``A > 0`` Hebbian,
``A < 0`` anti-Hebbian; decay is added back into the learning signal and never
counted as anti-Hebbian.

>>> res = estimate_alignment(record, decay=0.5, rng=0)   # doctest: +SKIP
>>> float(res["alignment"]) > 0                           # doctest: +SKIP

* :class:`HebbianEstimator` (scikit-learn style: ``fit(record)`` returns ``self``,
  fitted attributes end in ``_``) and :func:`estimate_alignment` (one call,
  labelled ``xarray.Dataset`` out);
* :func:`estimate_pairing` (:mod:`plastix.estimate.pairing`): the same question
  asked of a table of pairing experiments, kernels compared with ``kernel="all"``;
  :mod:`plastix.estimate.pairing_sim` simulates such tables under known rules;
* :func:`infer_weights` and :func:`estimate_from_spikes`
  (:mod:`plastix.estimate.infer`): weights inferred from spike trains
  (spike-transmission probability per window) and the estimator run on them;
* :mod:`plastix.estimate.synthetic`: a fast linear-rate generator with known rules
  and the population truth, for calibration.
"""

from plastix.estimate._resume import UnseededResumeWarning
from plastix.estimate.estimator import (
    KERNELS,
    VERDICT_RULE,
    VERDICTS,
    HebbianEstimator,
    estimate_alignment,
    result_to_dict,
    save_result,
)
from plastix.estimate.infer import estimate_from_spikes, infer_weights
from plastix.estimate.pairing import PairingResult, estimate_pairing

__all__ = ["HebbianEstimator", "estimate_alignment", "save_result", "result_to_dict",
           "estimate_pairing", "PairingResult", "infer_weights", "estimate_from_spikes",
           "KERNELS", "VERDICTS", "VERDICT_RULE", "UnseededResumeWarning"]
