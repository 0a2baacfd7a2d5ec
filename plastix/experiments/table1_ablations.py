"""Table 1, cell by cell: which reading of the paper's unstated details reproduces it.

The paper (Table 1) leaves several details of its four learning rules unstated.
:mod:`plastix.experiments.table1` fixes one reading of each (SPEC §4); this module
reruns every rule under each candidate *reading*, one detail changed at a time, at
the paper's budget (50 epochs of 20,000 samples) and at 10× it, and reports for
every cell (rule, γ) of Table 1 that our default reading puts more than
:data:`TOL` from the paper which reading, if any, brings it within ``±TOL``.

A reading changes either the training (batch sum instead of batch mean in the
loss, biases, the initial weight scale, DFA's feedback path, RandomNN's target
construction) or only the measurement of the same run (the Hebbian term from the
post-activation, the per-sample cosine ``C(W)`` of the paper's lemma instead of
the cosine of batch-averaged matrices, Eq. 10, a held-out batch, biases included
in ``W``, the other layer for DFA, and what "at convergence" means).  The list
is :data:`READINGS`; ``baseline`` is :mod:`~plastix.experiments.table1`'s reading.

The runs use a small, explicit trainer of their own (:func:`train_models`) built on
the engine's forward and backward passes (:mod:`plastix.ann.engine`), with the
same teacher, data, data order, initial weights and fixed random matrices as
:func:`plastix.ann.train` for the same seed, so that the baseline reading
reproduces the engine's alignment (a test checks it) while every unstated
detail stays a visible option here rather than a switch in the engine's hot loop.

Sign convention: ``A = cos(g, H)``, ``A > 0`` Hebbian, ``A < 0`` anti-Hebbian.
A step whose signal is exactly zero (RandomNN at γ = 0 once ``‖W‖² = 100``) has no
alignment and makes the mean over the last steps undefined (NaN, "–"); Table 1
itself averages the steps where it is defined.

Run with ``plastix reproduce table1-ablations --out DIR [--quick] [--seeds N]``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from plastix._util.io import atomic_write, write_netcdf_file
from plastix._util.rng import child_seed, resolve_rng, spawn
from plastix._util.validate import check_int
from plastix.experiments import _common as C
from plastix.experiments import table1 as T1

__all__ = ["run", "READINGS", "Reading", "Knobs", "TOL", "train_models", "cell_sentences",
           "markdown"]

TOL = 0.1
"""A cell is reproduced when ``|ours − paper| <= TOL`` (the issue's ±0.1)."""

BUDGETS = {"paper": 1, "10x": 10}
"""Budget name → multiple of the paper's epochs (``--quick``: the paper's only)."""

SEEDS_10X = 1
"""Seeds trained at 10× the budget (the first of the run's seeds; the 10× runs cost ten
times as much, and the seeds' spread at the paper's budget is a few hundredths)."""

QUICK = {"epochs": 2, "n_train": 1024, "n_val": 256}
"""``--quick``: a tiny budget (8 steps) that exercises every reading in seconds; its
numbers say nothing about the paper."""

N_SEEDS = {False: 2, True: 1}
ORDER = ("dfa", "random_nn", "sgd", "adam")
EVERY = 6  # before the last 100 steps, the per-epoch alignment is sampled every 6th step
LAST = 100  # steps averaged "at convergence" (the paper's last 100 steps)
GAP_STOP = 0.1  # "run until the stationarity gap is below 0.1"


@dataclass(frozen=True)
class Knobs:
    """The training options a reading may change (defaults: Table 1's reading).

    Parameters
    ----------
    loss_scale : float
        Multiplies the error ``e = −∂ℓ/∂out`` (256: the batch *sum* of the loss
        instead of its mean; for DFA ``B·d/2`` is the raw error ``y − ŷ``).
    bias : bool or "toggle", optional
        Biases in every layer (None: the rule's Table 1 setting; "toggle": the
        opposite of it).
    init_scale : float
        Multiplies the student's initial weights.
    lr : float, optional
        Learning rate (None: the rule's Table 1 value).
    clip : float, optional
        Total-norm clip of the rule's signal (None: the rule's default; ``inf``: none).
    dfa_derivative : bool
        DFA's hidden signal ``(B e) ⊙ φ'(h_b)`` (True) or ``B e`` (False).
    feedback_sign, feedback_scale : float
        Multiply DFA's feedback ``B e`` (the sign of the error it is fed) and the
        scale of the fixed matrices ``B``.
    rnn_rank, rnn_width : int
        RandomNN: the number of outputs of the frozen network (the rank of ``W*``)
        and its hidden width.
    rnn_normalised : bool
        RandomNN: projections ``A, C`` with entries ``N(0, 1/n)`` (n their row
        count) instead of ``N(0, 1)``.
    rnn_threshold : float
        RandomNN: ``p = 1`` when ``‖W*‖² <= threshold``, else ``1/‖W*‖²``.
    """

    loss_scale: float = 1.0
    bias: bool | str | None = None
    init_scale: float = 1.0
    lr: float | None = None
    clip: float | None = None
    dfa_derivative: bool = True
    feedback_sign: float = 1.0
    feedback_scale: float = 1.0
    rnn_rank: int = 4
    rnn_width: int = 128
    rnn_normalised: bool = False
    rnn_threshold: float = 1.0


MEASURES = ("batch", "post", "per_sample", "held_out", "bias_in_w", "other_layer",
            "last_epoch", "stationary")
"""How a run's alignment is read off (``batch``: Table 1's, the cosine of the
batch-averaged signal and Hebbian term over the last 100 steps)."""


@dataclass(frozen=True)
class Reading:
    """One candidate reading: a name, one line of text, the rules it applies to, what
    it changes in training (:class:`Knobs`) and how the alignment is read (one of
    :data:`MEASURES`)."""

    name: str
    text: str
    rules: tuple[str, ...]
    knobs: Knobs = field(default_factory=Knobs)
    measure: str = "batch"


_ALL = T1.RULES
_BATCH_SUM = 256.0
READINGS: tuple[Reading, ...] = (
    Reading("baseline", "Table 1's reading (`plastix reproduce table1`)", _ALL),
    Reading("hebb_post", "Hebbian term from the post-activation φ(h_b)", _ALL, measure="post"),
    Reading("batch_sum", "loss summed over the batch, not averaged (error × 256)", _ALL,
            Knobs(loss_scale=_BATCH_SUM)),
    Reading("bias_toggled", "biases the other way round (SGD/Adam/RandomNN with, DFA without)",
            _ALL, Knobs(bias="toggle")),
    Reading("bias_in_w", "biases trained and included in W as a column", _ALL,
            Knobs(bias=True), measure="bias_in_w"),
    Reading("per_sample", "per-sample cosine averaged (the lemma's C(W))", _ALL,
            measure="per_sample"),
    Reading("held_out", "signal and Hebbian term on a held-out batch", _ALL, measure="held_out"),
    Reading("last_epoch", "'at convergence' = the last epoch", _ALL, measure="last_epoch"),
    Reading("stationary", f"'at convergence' = the first epoch with stationarity gap < "
            f"{GAP_STOP:g} (NaN if none within the budget, or at γ = 0)", _ALL,
            measure="stationary"),
    Reading("init_x0.5", "initial weights × 0.5", _ALL, Knobs(init_scale=0.5)),
    Reading("init_x2", "initial weights × 2", _ALL, Knobs(init_scale=2.0)),
    Reading("dfa_layer2", "DFA: report layer 2 as 'layer 1' (0-based counting)", ("dfa",),
            measure="other_layer"),
    Reading("dfa_no_derivative", "DFA: feedback B e without φ'(h_b)", ("dfa",),
            Knobs(dfa_derivative=False)),
    Reading("dfa_error_sign", "DFA: the feedback fed ŷ − y instead of y − ŷ", ("dfa",),
            Knobs(feedback_sign=-1.0)),
    Reading("dfa_raw_error", "DFA: raw error y − ŷ (no 2/(B·d) of the mean loss)", ("dfa",),
            Knobs(loss_scale=_BATCH_SUM * 32 / 2)),
    Reading("dfa_sgd_settings", "DFA: η = 0.01, no clip (SGD's settings)", ("dfa",),
            Knobs(lr=0.01, clip=math.inf)),
    Reading("dfa_feedback_x5.7", "DFA: feedback matrices × √32 (entries ~U(−1, 1))", ("dfa",),
            Knobs(feedback_scale=math.sqrt(32))),
    Reading("dfa_feedback_x0.1", "DFA: feedback matrices × 0.1", ("dfa",),
            Knobs(feedback_scale=0.1)),
    Reading("rnn_rank1", "RandomNN: rank-1 targets (frozen network with 1 output)",
            ("random_nn",), Knobs(rnn_rank=1)),
    Reading("rnn_rank16", "RandomNN: rank-16 targets", ("random_nn",), Knobs(rnn_rank=16)),
    Reading("rnn_normalised", "RandomNN: projections N(0, 1/n), not N(0, 1)", ("random_nn",),
            Knobs(rnn_normalised=True)),
    Reading("rnn_p_always", "RandomNN: p = 1/‖W*‖² always (threshold 0)", ("random_nn",),
            Knobs(rnn_threshold=0.0)),
    Reading("rnn_p_never", "RandomNN: p = 1 always (no threshold)", ("random_nn",),
            Knobs(rnn_threshold=math.inf)),
    Reading("rnn_no_clip", "RandomNN: no clip", ("random_nn",), Knobs(clip=math.inf)),
    Reading("rnn_clip10", "RandomNN: clip 10", ("random_nn",), Knobs(clip=10.0)),
    Reading("rnn_width32", "RandomNN: frozen network 32 wide", ("random_nn",),
            Knobs(rnn_width=32)),
    Reading("rnn_width512", "RandomNN: frozen network 512 wide", ("random_nn",),
            Knobs(rnn_width=512)),
)
"""The candidate readings, one unstated detail each."""


# --------------------------------------------------------------------------- trainer


def _knobs_for(rule: str, knobs: Knobs) -> Knobs:
    """Resolve the rule-dependent defaults (bias, lr, clip) of ``knobs``."""
    cfg = T1.rule_config(rule)
    bias = knobs.bias
    if bias == "toggle":
        bias = not cfg.bias
    elif bias is None:
        bias = cfg.bias
    return replace(knobs, bias=bool(bias))


def _random_nn_fixed(seed: int, sizes: list[int], knobs: Knobs, bias: bool):
    """RandomNN's frozen network and projections for a non-default reading (own stream)."""
    from plastix.ann.data import linear_init, torch

    gen = torch.Generator()
    gen.manual_seed(int(np.random.SeedSequence([int(seed), 18]).generate_state(1)[0]))
    k = int(knobs.rnn_rank)
    rsizes = [sizes[0], *([int(knobs.rnn_width)] * 3), k]
    net = [linear_init(rsizes[i + 1], rsizes[i], gen, bias=True) for i in range(len(rsizes) - 1)]
    proj = []
    for i in range(len(sizes) - 1):
        a_m = torch.randn(sizes[i + 1], k, generator=gen)
        c_m = torch.randn(sizes[i], k, generator=gen)
        a_b = torch.randn(sizes[i + 1], k, generator=gen) if bias else None
        if knobs.rnn_normalised:
            a_m, c_m = a_m / math.sqrt(sizes[i + 1]), c_m / math.sqrt(sizes[i])
            a_b = None if a_b is None else a_b / math.sqrt(sizes[i + 1])
        proj.append((a_m, c_m, a_b))
    return {"net": net, "proj": proj}


class _Models:
    """Models of one rule and reading: seeds × decays stacked on the first axis."""

    def __init__(self, rule: str, knobs: Knobs, config, seeds, decays):
        from plastix.ann.data import make_task, torch

        self.torch = torch
        self.rule, self.k = rule, knobs
        self.config = config
        s, d = len(seeds), len(decays)
        self.s, self.d, self.m = s, d, s * d
        tasks = [make_task(config, int(sd)) for sd in seeds]
        self.x_tr = torch.stack([t["x_train"] for t in tasks])
        self.y_tr = torch.stack([t["y_train"] for t in tasks])
        self.x_val = torch.stack([t["x_val"] for t in tasks])
        self.y_val = torch.stack([t["y_val"] for t in tasks])
        rep = lambda ts: ts.repeat_interleave(d, 0).contiguous()  # noqa: E731
        n = len(tasks[0]["params"])
        self.n = n
        self.ws = [rep(torch.stack([t["params"][i][0] for t in tasks])) for i in range(n)]
        self.bs = [rep(torch.stack([t["params"][i][1] for t in tasks])) if knobs.bias else None
                   for i in range(n)]
        self.gamma = torch.tensor(list(decays) * s, dtype=torch.float32)
        self.lr = float(config.lr)
        clip = config.effective_clip if knobs.clip is None else knobs.clip
        self.clip = None if clip is None or math.isinf(clip) else float(clip)
        sizes = [self.x_tr.shape[-1], *config.hidden, self.y_tr.shape[-1]]
        if rule == "dfa":
            self.fb = [rep(torch.stack([t["fixed"][i] for t in tasks])) * knobs.feedback_scale
                       for i in range(n - 1)]
        if rule == "random_nn":
            default = (knobs.rnn_rank, knobs.rnn_width, knobs.rnn_normalised) == (4, 128, False)
            fixed = [t["fixed"] if default else _random_nn_fixed(sd, sizes, knobs, knobs.bias)
                     for t, sd in zip(tasks, seeds, strict=True)]
            self.rnet = [(torch.stack([f["net"][j][0] for f in fixed]),
                          torch.stack([f["net"][j][1] for f in fixed]))
                         for j in range(len(fixed[0]["net"]))]
            self.rproj = [tuple(None if fixed[0]["proj"][i][c] is None else
                                rep(torch.stack([f["proj"][i][c] for f in fixed]))
                                for c in range(3)) for i in range(n)]
        if rule == "adam":
            self.mom = [[torch.zeros_like(w), torch.zeros_like(w)] for w in self.ws + self.bs
                        if w is not None]
        self.sidx = torch.arange(s).repeat_interleave(d)

    def signals(self, x, y):
        """Forward pass on ``x`` (S, B, d): acts, pres, the rule's per-layer signal,
        bias signals, per-sample deltas (None for RandomNN) and the loss gradient."""
        from plastix.ann.engine import backward, forward, loss_and_error

        torch, k = self.torch, self.k
        xm = x.repeat_interleave(self.d, 0)
        ym = y.repeat_interleave(self.d, 0)
        acts, pres, out = forward(self.ws, self.bs, xm, "tanh")
        _, e = loss_and_error(out, ym, "mse")
        e = e * k.loss_scale
        if self.rule in ("sgd", "adam"):
            gw, gb, deltas = backward(self.ws, acts, pres, e, "tanh", bias=bool(k.bias))
            return acts, pres, gw, gb, deltas
        if self.rule == "dfa":
            gw, gb, deltas = [None] * self.n, [None] * self.n, [None] * self.n
            for i in range(self.n):
                if i == self.n - 1:
                    d = e
                else:
                    d = torch.matmul(e, self.fb[i].transpose(1, 2)) * k.feedback_sign
                    if k.dfa_derivative:
                        d = d * (1 - acts[i + 1].pow(2))
                deltas[i] = d
                gw[i] = torch.matmul(d.transpose(1, 2), acts[i])
                gb[i] = d.sum(1) if self.bs[i] is not None else None
            return acts, pres, gw, gb, deltas
        gw, gb = self._random_nn(x)
        return acts, pres, gw, gb, None

    def _random_nn(self, x):
        """RandomNN's ``g = p s_dir s_red W*`` per parameter tensor (SPEC §4)."""
        torch, thr = self.torch, float(self.k.rnn_threshold)
        a = x
        for j, (w, b) in enumerate(self.rnet):
            a = torch.matmul(a, w.transpose(1, 2)) + b[:, None, :]
            if j < len(self.rnet) - 1:
                a = torch.tanh(a)
        z = a.mean(1)[self.sidx]

        def signal(target, w, dims):
            t2, w2 = target.pow(2).sum(dims), w.pow(2).sum(dims)
            d2 = (w - target).pow(2).sum(dims)
            p = torch.where(t2 <= thr, torch.ones_like(t2), 1.0 / (t2 + 1e-8))
            s = p * torch.sign(100 - w2) * torch.sign(w2 - d2)
            return target * s.view(-1, *([1] * len(dims)))

        gw, gb = [], []
        for i, (a_m, c_m, a_b) in enumerate(self.rproj):
            gw.append(signal(torch.matmul(a_m * z[:, None, :], c_m.transpose(1, 2)),
                             self.ws[i], (1, 2)))
            gb.append(None if self.bs[i] is None else
                      signal(torch.matmul(a_b, z[:, :, None]).squeeze(-1), self.bs[i], (1,)))
        return gw, gb

    def step(self, gw, gb, t: int) -> None:
        """Clip (non-gradient rules), then the rule's update with decay γ."""
        lr = self.lr
        lgd = (self.gamma * lr).view(-1, 1, 1)
        if self.rule == "adam":
            self._adam(gw, gb, t)
            return
        if self.clip is not None and self.rule in ("dfa", "random_nn"):
            sq = sum(g.flatten(1).pow(2).sum(1) for g in gw)
            sq = sq + sum(b.pow(2).sum(1) for b in gb if b is not None)
            coef = (self.clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
            gw = [g * coef.view(-1, 1, 1) for g in gw]
            gb = [None if b is None else b * coef.view(-1, 1) for b in gb]
        for i, w in enumerate(self.ws):
            w.addcmul_(w, lgd, value=-1.0)
            w.add_(gw[i], alpha=lr)
            b = self.bs[i]
            if b is not None:
                b.addcmul_(b, lgd.view(-1, 1), value=-1.0)
                if gb[i] is not None:
                    b.add_(gb[i], alpha=lr)

    def _adam(self, gw, gb, t: int) -> None:
        """Adam (betas 0.9, 0.999, eps 1e-8) with coupled L2, as ``torch.optim.Adam``."""
        b1, b2, eps = 0.9, 0.999, 1e-8
        params = [(w, g) for w, g in zip(self.ws, gw, strict=True)]
        params += [(b, g) for b, g in zip(self.bs, gb, strict=True) if b is not None]
        for (p, g), (m, v) in zip(params, self.mom, strict=True):
            gam = self.gamma.view(-1, *([1] * (p.dim() - 1)))
            grad = -g + gam * p
            m.mul_(b1).add_(grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = (v / (1 - b2**t)).sqrt_().add_(eps)
            p.addcdiv_(m, denom, value=-self.lr / (1 - b1**t))


def _cos(a, b):
    """Cosine of (M, ...) tensors per model."""
    a, b = a.flatten(1), b.flatten(1)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def _measure(models: _Models, acts, pres, gw, gb, deltas, *, extra: bool) -> dict:
    """Per-layer alignments of one step: ``batch`` always, the other measures when
    ``extra`` (the held-out measure is added by the caller)."""
    torch = models.torch
    b = pres[0].shape[1]
    hs = [torch.matmul(p.transpose(1, 2), a.expand(p.shape[0], -1, -1)) / b
          for p, a in zip(pres, acts, strict=True)]
    out = {"batch": torch.stack([_cos(g, h) for g, h in zip(gw, hs, strict=True)], 1)}
    if not extra:
        return out
    post = [torch.matmul(acts[i + 1].transpose(1, 2), acts[i].expand(pres[i].shape[0], -1, -1))
            / b if i < models.n - 1 else hs[i] for i in range(models.n)]
    out["post"] = torch.stack([_cos(g, h) for g, h in zip(gw, post, strict=True)], 1)
    per = []
    for i in range(models.n):
        z = pres[i]
        if deltas is not None:  # per-sample signal δ_i a_iᵀ vs z_i a_iᵀ: cos(δ_i, z_i)
            d = deltas[i]
            c = (d * z).sum(-1) / (d.norm(dim=-1) * z.norm(dim=-1))
        else:  # one batch signal g vs z_i a_iᵀ
            a = acts[i].expand(z.shape[0], -1, -1)
            num = (torch.matmul(z, gw[i]) * a).sum(-1)
            c = num / (gw[i].flatten(1).norm(dim=1)[:, None] * z.norm(dim=-1) * a.norm(dim=-1))
        per.append(torch.nanmean(c, 1))
    out["per_sample"] = torch.stack(per, 1)
    if models.bs[0] is not None:
        aug = [_cos(torch.cat([g, gbb[:, :, None]], 2),
                    torch.cat([h, p.mean(1)[:, :, None]], 2))
               for g, gbb, h, p in zip(gw, gb, hs, pres, strict=True)]
        out["bias_in_w"] = torch.stack(aug, 1)
    return out


def train_models(rule: str, knobs: Knobs, config, seeds, decays, *, last: int = LAST
                 ) -> dict[str, np.ndarray]:
    """Train one rule under one reading's :class:`Knobs`; every measure of :data:`MEASURES`.

    Parameters
    ----------
    rule : str
        One of Table 1's rules.
    knobs : Knobs
        The training options (resolved with the rule's defaults first).
    config : plastix.ann.TrainConfig
        The rule's Table 1 config (budget, η); ``bias``, ``lr`` and ``init_scale`` are
        taken from ``knobs`` where it sets them.
    seeds, decays : sequence
        Integer run seeds (as :func:`plastix.ann.train`'s ``rng``) and weight decays γ.
    last : int
        Steps averaged for the measures read "at the end" (the paper's 100).

    Returns
    -------
    dict
        measure name → array ``(seed, decay, layer)`` of alignments (``> 0`` Hebbian),
        ``gain`` (seed, decay): product over layers of final / initial ‖W‖_F,
        ``gap`` (seed, decay, epoch, layer): per-epoch stationarity gap,
        ``epoch_alignment`` (seed, decay, epoch, layer): per-epoch mean ``batch`` (of
        every :data:`EVERY`-th step, and of every step in the last ``last``).
    """
    from plastix.ann.data import streams

    k = _knobs_for(rule, knobs)
    overrides = {"bias": k.bias, "init_scale": config.init_scale * k.init_scale}
    if k.lr is not None:
        overrides["lr"] = k.lr
    config = config.replace(**overrides)
    mod = _Models(rule, k, config, seeds, decays)
    torch = mod.torch
    gens = [streams(int(sd))["order"] for sd in seeds]
    vgen = torch.Generator()
    vgen.manual_seed(int(seeds[0]) + 1)
    n_tr, bsz = mod.x_tr.shape[1], config.batch_size
    per_epoch = n_tr // bsz
    total = per_epoch * config.epochs
    last = min(int(last), total)
    w0 = [w.flatten(1).norm(dim=1) for w in mod.ws]
    sums = {name: 0.0 for name in MEASURES if name not in ("last_epoch", "stationary",
                                                          "other_layer")}
    counts = dict.fromkeys(sums, 0)
    ep_align, ep_gap = [], []
    t = 0
    with torch.no_grad():
        for _ in range(config.epochs):
            perm = torch.stack([torch.randperm(n_tr, generator=g) for g in gens])
            w_start = [w.clone() for w in mod.ws]
            w_sum = [torch.zeros_like(w) for w in mod.ws]
            a_sum, a_n = 0.0, 0
            for j in range(per_epoch):
                idx = perm[:, j * bsz:(j + 1) * bsz]
                xb = torch.stack([mod.x_tr[s, idx[s]] for s in range(mod.s)])
                yb = torch.stack([mod.y_tr[s, idx[s]] for s in range(mod.s)])
                extra = t >= total - last
                acts, pres, gw, gb, deltas = mod.signals(xb, yb)
                got = (_measure(mod, acts, pres, gw, gb, deltas, extra=extra)
                       if extra or t % EVERY == 0 else None)
                if extra:
                    vidx = torch.randint(0, mod.x_val.shape[1], (mod.s, bsz), generator=vgen)
                    vx = torch.stack([mod.x_val[s, vidx[s]] for s in range(mod.s)])
                    vy = torch.stack([mod.y_val[s, vidx[s]] for s in range(mod.s)])
                    got["held_out"] = _measure(mod, *mod.signals(vx, vy), extra=False)["batch"]
                    for name, v in got.items():
                        sums[name] = sums[name] + v
                        counts[name] += 1
                if got is not None:
                    a_sum, a_n = a_sum + got["batch"], a_n + 1
                for i, w in enumerate(mod.ws):
                    w_sum[i] += w
                t += 1
                mod.step(gw, gb, t)
            ep_align.append(a_sum / a_n if a_n else torch.full((mod.m, mod.n), torch.nan))
            gaps = []
            for i, w in enumerate(mod.ws):
                drift = (w - w_start[i]).flatten(1).norm(dim=1) / (mod.lr * per_epoch)
                ref = (mod.gamma * (w_sum[i] / per_epoch).flatten(1).norm(dim=1))
                gaps.append(torch.where(mod.gamma > 0, drift / ref, torch.nan))
            ep_gap.append(torch.stack(gaps, 1))
    shape = (mod.s, mod.d)
    res = {name: (sums[name] / counts[name]).numpy().reshape(*shape, -1)
           for name in sums if counts[name]}
    gain = torch.stack([w.flatten(1).norm(dim=1) / w0[i] for i, w in enumerate(mod.ws)]).prod(0)
    res["gain"] = gain.numpy().reshape(shape)
    res["gap"] = torch.stack(ep_gap, 1).numpy().reshape(*shape, config.epochs, -1)
    res["epoch_alignment"] = torch.stack(ep_align, 1).numpy().reshape(*shape, config.epochs, -1)
    return res


# --------------------------------------------------------------------------- experiment


def _seeds(rng: Any, n: int) -> list[int]:
    return [child_seed(g) for g in spawn(resolve_rng(rng), n)]


def _config(rule: str, quick: bool, factor: int):
    """The rule's Table 1 config at the paper's budget × ``factor`` (or the tiny quick one)."""
    cfg = T1.rule_config(rule)
    if quick:
        cfg = cfg.replace(**QUICK)
    return cfg.replace(epochs=cfg.epochs * int(factor))


def _run_key(rule: str, knobs: Knobs, config, seeds, decays) -> str:
    text = json.dumps({"rule": rule, "knobs": asdict(_knobs_for(rule, knobs)),
                       "config": config.to_dict(), "seeds": list(map(int, seeds)),
                       "decays": list(map(float, decays)), "last": LAST},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cache_path(cache: Path, rule: str, knobs: Knobs, config, seeds, decays) -> Path:
    return cache / f"{rule}-{_run_key(rule, knobs, config, seeds, decays)}.json"


def _load_run(path: Path) -> dict[str, np.ndarray] | None:
    """A saved run (JSON numbers only, nothing executed), or None when there is none."""
    if not path.is_file():
        return None
    return {k: np.asarray(v, dtype=float) for k, v in json.loads(path.read_text()).items()}


def _train_task(rule: str, knobs: Knobs, config, seeds, decays, threads: int = 1, *,
                tick: Any = None) -> dict[str, list]:
    """One training as an executor task: :func:`train_models` on ``threads`` torch threads
    (restored afterwards), its arrays as lists (what the cache stores)."""
    from plastix._util.threads import torch_threads

    with torch_threads(threads):
        res = train_models(rule, knobs, config, seeds, decays)
    if tick is not None:
        tick(1)  # in process: one training done (on a cluster the bar moves on its return)
    return {k: np.asarray(v, dtype=float).tolist() for k, v in res.items()}


def _train_all(plan, cache: Path, decays, threads: int, client: Any,
               saved_only: bool = False) -> dict[Path, dict]:
    """Every distinct training of ``plan`` (``(rule, knobs, config, seeds)`` per entry),
    from ``cache`` or trained as executor tasks (on ``client``'s cluster when given),
    each saved to ``cache`` as it finishes, with a progress bar (``saved_only``: none
    trained, the saved ones only); returns cache path → result."""
    from tqdm.auto import tqdm

    from plastix._util.executor import Task, run_tasks

    runs: dict[Path, dict] = {}
    tasks: dict[Path, Task] = {}
    for rule, knobs, config, seeds in plan:
        path = _cache_path(cache, rule, knobs, config, seeds, decays)
        if path in runs or path in tasks:
            continue
        saved = _load_run(path)
        if saved is not None:
            runs[path] = saved
            continue
        tasks[path] = Task(path.name, _train_task,
                           (rule, knobs, config, tuple(seeds), tuple(decays),
                            threads if client is None else 1),
                           label=f"{T1.NAMES[rule]} at {config.epochs} epochs ({path.name})")
    if saved_only:
        return runs
    by_key = {t.key: p for p, t in tasks.items()}
    bar = tqdm(total=len(runs) + len(tasks), initial=len(runs), desc="table1-ablations",
               unit="training")

    def save(task, res: dict[str, list]) -> None:
        path = by_key[task.key]
        C.write_text(path, json.dumps(res))
        runs[path] = {k: np.asarray(v, dtype=float) for k, v in res.items()}
        bar.write(f"[table1-ablations] trained {task.label}")

    try:
        run_tasks(list(tasks.values()), save, client=client, bar=bar)
    finally:
        bar.close()
    return runs


def _read(res: dict[str, np.ndarray], measure: str, layer: int) -> np.ndarray:
    """(seed, decay) alignment of one reading's ``measure`` at 1-based ``layer``; NaN where
    the weights collapsed (:data:`plastix.experiments._common.COLLAPSE_RATIO`)."""
    li = layer - 1
    if measure == "other_layer":
        a = res["batch"][..., li + 1]
    elif measure == "last_epoch":
        a = res["epoch_alignment"][:, :, -1, li]
    elif measure == "stationary":
        gap = res["gap"][..., li]
        below = np.nan_to_num(gap, nan=np.inf) < GAP_STOP
        first = np.argmax(below, axis=-1)
        a = np.take_along_axis(res["epoch_alignment"][..., li], first[..., None], -1)[..., 0]
        a = np.where(below.any(-1), a, np.nan)
    elif measure in res:
        a = res[measure][..., li]
    else:  # bias_in_w without biases
        a = np.full(res["gain"].shape, np.nan)
    ok = np.isfinite(res["gain"]) & (res["gain"] >= C.COLLAPSE_RATIO)
    return np.where(ok, a, np.nan)


def measure(*, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
            cache: Path, threads: int = 1, readings=READINGS, client: Any = None,
            saved_only: bool = False) -> xr.Dataset:
    """Train every rule under every applicable reading at both budgets.

    Each distinct training (rule, training options, budget) is one task of the executor
    seam (:func:`plastix._util.executor.run_tasks`): in this process on ``threads``
    torch threads, or on ``client``'s Dask cluster (one torch thread a task), the same
    numbers either way; each is saved in ``cache`` as it finishes and read from there
    on a rerun.  ``saved_only`` trains nothing and reports the saved trainings (the
    rest NaN, ``ran`` False): the table of a run that was cut.

    Returns
    -------
    xarray.Dataset
        ``applies`` (rule, reading): the reading is defined for the rule;
        ``alignment`` (rule, weight_decay, reading, budget, seed) at the rule's
        reported layer (NaN: reading not applicable, weights collapsed, undefined,
        or a seed not trained at that budget: :data:`SEEDS_10X`), ``n_seeds``
        (budget), ``mean`` and ``sd`` over seeds (mean NaN unless most seeds
        trained are finite), ``paper_mean``, ``differs`` (rule, weight_decay): the baseline at
        the paper's budget is more than :data:`TOL` from the paper.
    """
    seeds = _seeds(rng, C.resolve_seeds(n_seeds, N_SEEDS[bool(quick)]))
    budgets = {"quick": 1} if quick else BUDGETS
    decays = T1.DECAYS
    al = np.full((len(T1.RULES), len(decays), len(readings), len(budgets), len(seeds)), np.nan)
    plan = []  # (rule, knobs, config, seeds, rule index, reading index, budget index, reading)
    for bi, factor in enumerate(budgets.values()):
        for rule in ORDER:  # the three cells first, so a cut run has them
            config = _config(rule, quick, factor)
            used = seeds if factor == 1 else seeds[:SEEDS_10X]
            plan += [(rule, r.knobs, config, used, T1.RULES.index(rule), ki, bi, r)
                     for ki, r in enumerate(readings) if rule in r.rules]
    runs = _train_all([p[:4] for p in plan], cache, decays, threads, client, saved_only)
    ran = np.zeros((len(T1.RULES), len(readings), len(budgets)), dtype=bool)
    for rule, knobs, config, used, ri, ki, bi, r in plan:
        res = runs.get(_cache_path(cache, rule, knobs, config, used, decays))
        if res is not None:
            ran[ri, ki, bi] = True
            al[ri, :, ki, bi, :len(used)] = _read(res, r.measure, T1.reported(rule)[0]).T
    dims = ("rule", "weight_decay", "reading", "budget", "seed")
    ds = xr.Dataset(
        {"alignment": (dims, al)},
        coords={"rule": [T1.NAMES[r] for r in T1.RULES], "weight_decay": list(decays),
                "reading": [r.name for r in readings], "budget": list(budgets),
                "seed": np.arange(len(seeds))},
        attrs={"experiment": "table1-ablations", "quick": int(bool(quick)),
               "seeds": json.dumps(seeds), "tol": TOL, "last_steps": LAST,
               "readings": json.dumps({r.name: r.text for r in readings}),
               "sign": "alignment > 0 Hebbian, < 0 anti-Hebbian"})
    ds["applies"] = (("rule", "reading"), [[rule in r.rules for r in readings]
                                           for rule in T1.RULES])
    ds["ran"] = (("rule", "reading", "budget"), ran)
    ds["ran"].attrs["long_name"] = ("the reading's training was run (False: applicable but not "
                                    "run yet, in a report of saved runs only)")
    ok = np.isfinite(ds["alignment"])
    n_run = xr.DataArray([len(seeds) if f == 1 else min(len(seeds), SEEDS_10X)
                          for f in budgets.values()], dims="budget")
    ds["n_seeds"] = n_run
    majority = ok.sum("seed") * 2 > n_run
    ds["mean"] = ds["alignment"].mean("seed", skipna=True).where(majority)
    ds["sd"] = C.seed_sd(ds["alignment"]).where(majority)
    pm = np.array([[np.nan if v is None else v[0] for v in T1.PAPER[r]] for r in T1.RULES])
    ds["paper_mean"] = (("rule", "weight_decay"), pm)
    base = ds["mean"].sel(reading="baseline").isel(budget=0)
    ds["differs"] = np.isfinite(ds["paper_mean"]) & ~(abs(base - ds["paper_mean"]) <= TOL)
    ds["alignment"].attrs.update(units="1", long_name="alignment cos(g, H) at the reported "
                                 "layer (layer 2; DFA layer 1)")
    ds["weight_decay"].attrs.update(units="1", long_name="weight decay γ")
    return ds


_BUDGET_TEXT = {"paper": "the paper's budget", "10x": "10× it", "quick": "the quick budget"}


def _fmt(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:+.2f}"


def cell_sentences(ds: xr.Dataset) -> list[str]:
    """One sentence per differing cell: the readings (and budgets) within ±TOL of the
    paper, or "no tested reading does" with the closest value."""
    out = []
    budgets = [str(b) for b in ds["budget"].values]
    for rule in ds["rule"].values:
        for d in ds["weight_decay"].values:
            cell = ds.sel(rule=rule, weight_decay=d)
            if not bool(cell["differs"]):
                continue
            pm = float(cell["paper_mean"])
            mean = cell["mean"]
            base = ", ".join(f"{_fmt(float(mean.sel(reading='baseline', budget=b)))} at "
                             f"{_BUDGET_TEXT.get(b, b)}" if _ran(ds, rule, "baseline", b)
                             else f"not run at {_BUDGET_TEXT.get(b, b)}" for b in budgets)
            head = f"**{rule}, γ = {float(d):g}** (paper {_fmt(pm)}; baseline {base}): "
            hits, best = [], (np.inf, None, None, np.nan)
            for r in ds["reading"].values:
                for b in budgets:
                    v = float(mean.sel(reading=r, budget=b))
                    if not np.isfinite(v):
                        continue
                    if abs(v - pm) <= float(ds.attrs["tol"]):
                        hits.append(f"`{r}` at {b} ({_fmt(v)})")
                    if abs(v - pm) < best[0]:
                        best = (abs(v - pm), r, b, v)
            if hits:
                text = (head + f"within ±{ds.attrs['tol']:g} of the paper under "
                        + ", ".join(hits) + ".")
            elif best[1] is None:
                text = head + "no tested reading does (no finite value)."
            else:
                text = (head + f"no tested reading does; the closest is `{best[1]}` at "
                        f"{best[2]} ({_fmt(best[3])}, {best[0]:.2f} from the paper).")
            out.append(text + _not_run(ds, rule))
    return out


def _ran(ds: xr.Dataset, rule: str, reading: str, budget: str) -> bool:
    return "ran" not in ds or bool(ds["ran"].sel(rule=rule, reading=reading, budget=budget))


def _not_run(ds: xr.Dataset, rule: str) -> str:
    """`` (not run: …)``: the rule's applicable readings without a saved training, by budget."""
    if "ran" not in ds:
        return ""
    missing = ds["applies"].sel(rule=rule) & ~ds["ran"].sel(rule=rule)
    parts = [f"{int(missing.sel(budget=b).sum())} at {_BUDGET_TEXT.get(str(b), str(b))}"
             for b in ds["budget"].values if bool(missing.sel(budget=b).any())]
    return f" (readings not run yet: {', '.join(parts)})" if parts else ""


def markdown(ds: xr.Dataset) -> str:
    """The cell × reading table (differing cells only) and the per-cell sentences."""
    cells = [(r, d) for r in ds["rule"].values for d in ds["weight_decay"].values
             if bool(ds["differs"].sel(rule=r, weight_decay=d))]
    budgets = [str(b) for b in ds["budget"].values]
    texts = json.loads(ds.attrs["readings"])
    headers = ["reading"] + [f"{r} γ={float(d):g} (paper {_fmt(float(ds['paper_mean'].sel(rule=r, weight_decay=d)))})"  # noqa: E501
                             for r, d in cells]
    rows = []
    for name in ds["reading"].values:
        row = [f"`{name}`: {texts[str(name)]}"]
        for r, d in cells:
            vals = [float(ds["mean"].sel(rule=r, weight_decay=d, reading=name, budget=b))
                    for b in budgets]
            applicable = bool(ds["applies"].sel(rule=r, reading=name))
            pm = float(ds["paper_mean"].sel(rule=r, weight_decay=d))
            ran = [_ran(ds, r, name, b) for b in budgets]
            row.append(" / ".join((_fmt(v) + (" ✓" if abs(v - pm) <= TOL else "")) if k else "n/r"
                                  for v, k in zip(vals, ran, strict=True))
                       if applicable else "")
        rows.append(row)
    quick = bool(ds.attrs.get("quick", 0))
    lines = ["# Table 1, cell by cell: readings of the paper's unstated details", "",
             ("Quick run (`--quick`): a tiny budget that exercises every reading; its numbers "
              "say nothing about the paper." if quick else
              f"Alignment (mean over {ds.sizes['seed']} seeds at the paper's budget, "
              f"{min(SEEDS_10X, ds.sizes['seed'])} at 10×) at the reported layer "
              "(layer 2; DFA layer 1), at the paper's budget / at 10× it; ✓ within "
              f"±{TOL:g} of the paper; blank: the reading does not apply to the rule; "
              "–: collapsed or undefined" + ("; n/r: not run yet (the run was cut: rerun "
                                              "the same command to finish it)"
                                              if "ran" in ds and bool((ds["applies"]
                                                                      & ~ds["ran"]).any())
                                              else "") + "."), "",
             f"Cells listed: those where the baseline at the {'quick' if quick else 'paper'}"
             f"'s budget is more than {TOL:g} from the paper ({len(cells)} of "
             f"{int(np.isfinite(ds['paper_mean']).sum())}).", ""]
    if cells:
        lines += [C.markdown_table(headers, rows), ""]
    lines += [f"- {s}" for s in cell_sentences(ds)]
    return "\n".join(lines) + "\n"


def run(out: Path, *, quick: bool = False, n_seeds: int | None = None, rng: Any = None,
        threads: int = 1, client: Any = None, saved_only: bool = False) -> Path:
    """Run the Table 1 ablations; write ``table1_ablations.{nc,csv,md}`` into ``out``.

    Parameters
    ----------
    out : path
        Output folder; each finished run is saved in ``out/runs`` (atomic JSON) and a
        rerun with the same ``rng`` and seeds continues from there.
    quick : bool
        The tiny budget (:data:`QUICK`), the paper's budget only (no 10×).
    n_seeds : int, optional
        Seeds per cell (default 2; 1 with ``quick``).
    rng : int or numpy Generator, optional
        Master seed of the seeds.
    threads : int
        torch threads for training in this process (restored afterwards).
    client : distributed.Client, optional
        Train on this Dask cluster, one training a task (``--workers N`` /
        ``--scheduler``); the same numbers as in this process.
    saved_only : bool
        Train nothing: write the tables of the trainings saved in ``out/runs`` so far
        (a run that was cut; the others are marked "n/r" and counted per cell).

    Returns
    -------
    pathlib.Path
        The markdown summary.
    """
    out = C.prepare_out(out)
    ds = measure(quick=quick, n_seeds=n_seeds, rng=rng, cache=out / "runs",
                 threads=check_int("threads", threads, low=1), client=client,
                 saved_only=bool(saved_only))
    atomic_write(out / "table1_ablations.nc", lambda p: write_netcdf_file(ds, p))
    frame = ds[["mean", "sd"]].to_dataframe().reset_index()
    frame = frame.merge(ds[["paper_mean", "differs"]].to_dataframe().reset_index(),
                        on=["rule", "weight_decay"])
    frame["within_tol"] = (frame["mean"] - frame["paper_mean"]).abs() <= TOL
    C.write_text(out / "table1_ablations.csv", frame.to_csv(index=False))
    return C.write_text(out / "table1_ablations.md", markdown(ds))
