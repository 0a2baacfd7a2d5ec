"""The batched training engine: many MLPs of one architecture trained as one tensor program.

Weights are stacked as ``(n_models, post, pre)``; forward and backward passes are
batched matmuls; the gradient is computed analytically (chain rule), so no
autograd graph is built.  Models in one batch share task, rule and architecture
and may differ in ``lr``, ``weight_decay``, ``noise`` and ``seed`` (per-model scalars
broadcast).  Each model's data order and noise come from its own seed's
generators (:func:`plastix.ann.data.streams`), so a model trained in a batch
follows the same trajectory as the same model trained alone (up to float32
rounding of batched versus single matmuls).

Signals (SPEC §2), per layer ``l`` with input ``h_a`` and pre-activation ``h_b``
on the training batch of the step:

* ``gradient``: ``−∇_W ℓ`` of the mean batch loss at the weights the step is
  taken from (after parameter noise), decay excluded;
* ``rule``: the rule's own signal ``g`` (:mod:`plastix.ann.rules` lists the
  built-in rules and their signals), plus gradient noise when
  ``noise_kind="gradient"``, clipped to a total norm of ``clip`` over all
  parameters of a model (the rule's ``default_clip`` when ``clip`` is None), like
  ``torch.nn.utils.clip_grad_norm_``;
* ``update``: the whole applied ``ΔW = W_{k+1} − W_k``, decay, noise and
  normalisation included.

The step is the rule's :class:`plastix.ann.rules.Step`: ``W ← W + η (g − γ D W)``,
that step followed by row normalisation, or an optimiser that filters the loss
gradient itself.  The engine reads only the rule's declarations.

The Hebbian term is ``H = h_bᵀ h_a / B``, the quantity
:func:`plastix.alignment.hebbian_term` computes, written into a preallocated
buffer (for a layer whose input batch all models share, as ``W C + b h̄_aᵀ`` with
the shared ``C = h_aᵀ h_a / B``, equal up to float32 rounding); the alignments
are the cosines of :func:`plastix.alignment.cosine_alignment` and
:func:`plastix.alignment.alignment_per_post`, read off one Gram matrix (tests
recompute them with those functions from saved weights and activations).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plastix.ann.config import TrainConfig
from plastix.ann.loop import (
    Checkpoint,
    Group,
    Recorder,
    copy_state,
    resolve_device,
    stationarity_gap,
    to_device,
    torch,
    train_loop,
)
from plastix.ann.rules import SignalContext, get_rule

__all__ = ["run_group", "SIGNALS", "forward_backward", "plain_update"]

SIGNALS = ("gradient", "rule", "update")


@functools.cache
def _minus_one(device) -> Any:
    """The 0-d tensor −1 on ``device`` (for ``2 t − 1`` in one pass: ``add(−1, t, alpha=2)``),
    made once per device so that no operand crosses devices."""
    return torch.tensor(-1.0, device=device)


def _phi(name: str, z, out=None):
    """The hidden non-linearity, into ``out`` when given."""
    if name == "tanh":
        # tanh z = 2 σ(2z) − 1: about 2× faster than torch.tanh on CPU, and within
        # 2e-7 of it (float32 rounding of σ near 1/2); autograd callers get torch.tanh
        if z.requires_grad:
            return torch.tanh(z)
        t = torch.sigmoid(torch.mul(z, 2.0, out=out), out=out)
        return torch.add(_minus_one(t.device), t, alpha=2.0, out=t)  # 2 t − 1, one pass
    if name == "relu":
        return torch.relu(z) if out is None else torch.clamp(z, min=0.0, out=out)
    if name == "sigmoid":
        return torch.sigmoid(z, out=out)
    return z if out is None else out.copy_(z)


def forward(ws, bs, x, activation: str, *, bufs=None, doubled: bool = False):
    """Batched MLP forward pass.

    Parameters
    ----------
    ws : list of tensors (M, post, pre)
    bs : list of tensors (M, post) or None
    x : tensor (M or 1, B, d_in)
    bufs : (pres, acts), optional
        Preallocated tensors to write the pre-activations (M, B, post) of every layer
        and the activations (M, B, post) of every hidden layer into (the engine's hot
        loop reuses them, so no step allocates its large intermediates).
    doubled : bool
        With ``activation="tanh"``, keep ``2 h_b`` in ``pres`` of the hidden layers: the
        matrix product writes ``2 h_b`` (exactly: a power of two) and ``tanh z = 2 σ(2z)
        − 1`` then takes two passes instead of three (the engine's hot loop; see
        :func:`pre_scales`).

    Returns
    -------
    acts : list of L tensors; ``acts[l]`` is the input ``h_a`` of layer ``l`` (M|1, B, pre)
    pres : list of L tensors; ``pres[l]`` is the pre-activation ``h_b`` (M, B, post)
    out : tensor (M, B, d_out), the linear output ``pres[-1]``
    """
    acts, pres = [], []
    a = x
    n = len(ws)
    for i in range(n):
        acts.append(a)
        out = None if bufs is None else bufs[0][i]
        if doubled and activation == "tanh" and i < n - 1:
            if out is None:
                out = a.new_empty(ws[i].shape[0], a.shape[1], ws[i].shape[1])
            z2 = torch.baddbmm(out, _batched(a, ws[i]), ws[i].transpose(1, 2), beta=0.0,
                               alpha=2.0, out=out)
            if bs[i] is not None:
                z2.add_(bs[i][:, None, :], alpha=2.0)
            pres.append(z2)
            t = torch.sigmoid(z2, out=None if bufs is None else bufs[1][i])
            a = torch.add(_minus_one(t.device), t, alpha=2.0, out=t)  # 2 σ(2z) − 1 = tanh z
            continue
        z = torch.bmm(_batched(a, ws[i]), ws[i].transpose(1, 2), out=out)
        if bs[i] is not None:
            z.add_(bs[i][:, None, :])
        pres.append(z)
        if i < n - 1:
            a = _phi(activation, z, None if bufs is None else bufs[1][i])
        else:
            a = z
    return acts, pres, a


def _batched(a, w):
    """``a`` (1 or M, B, d) as (M, B, d) for a batched product with ``w`` (M, ., d)."""
    return a if a.shape[0] == w.shape[0] else a.expand(w.shape[0], -1, -1)


def pre_scales(activation: str, n_layers: int, doubled: bool) -> list[float]:
    """What turns ``pres[l]`` of :func:`forward` into ``h_b``: 0.5 where it holds ``2 h_b``."""
    half = doubled and activation == "tanh"
    return [0.5 if half and i < n_layers - 1 else 1.0 for i in range(n_layers)]


class _Scaled(list):
    """``pres`` as the pre-activations ``h_b``: a scaled copy, made on access, of the
    layers that :func:`forward` keeps doubled (for the rules that read ``ctx.pres``)."""

    def __init__(self, pres, scales):
        super().__init__(pres)
        self.scales = scales

    def __getitem__(self, i):
        p = super().__getitem__(i)
        return p if self.scales[i] == 1.0 else p * self.scales[i]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def loss_and_error(out, target, kind: str, *, ebuf=None):
    """Per-model mean batch loss (M,) and ``e = −∂ℓ/∂out`` (M, B, d_out).

    MSE is the mean over batch and output units (``torch.nn.MSELoss``); cross-entropy
    the mean over the batch of ``−log softmax[target]``.  ``ebuf`` optionally gives the
    (M, B, d_out) tensor to write ``e`` into.
    """
    bsz = out.shape[1]
    if kind == "mse":
        diff = torch.sub(out, target, out=ebuf)
        loss = torch.linalg.vector_norm(diff.flatten(1), dim=1).square_() / (bsz * out.shape[2])
        return loss, diff.mul_(-2.0 / (bsz * out.shape[2]))
    logp = torch.log_softmax(out, dim=-1)
    tgt = target.expand(out.shape[0], -1) if target.shape[0] != out.shape[0] else target
    loss = -logp.gather(-1, tgt[..., None]).squeeze(-1).mean(1)
    e = torch.exp(logp, out=ebuf).neg_()
    e.scatter_add_(-1, tgt[..., None], torch.ones_like(e[..., :1]))
    return loss, e.mul_(1.0 / bsz)


def backward(ws, acts, pres, e, activation: str, *, out=None, bias=True, dbufs=None):
    """Negative gradients ``g_l = −∂ℓ/∂W_l`` and ``−∂ℓ/∂b_l`` by the chain rule.

    ``out`` optionally gives the tensors (M, post, pre) to write ``g_l`` into and
    ``dbufs`` the tensors (M, B, post) of the hidden layers to write the deltas into;
    with ``bias=False`` the bias gradients are not computed (``None``).
    Returns lists ``(gw, gb, deltas)``; ``deltas[l] = −∂ℓ/∂h_b`` (M, B, post).
    """
    n = len(ws)
    gw, gb, deltas = [None] * n, [None] * n, [None] * n
    d = e
    for i in range(n - 1, -1, -1):
        deltas[i] = d
        gw[i] = torch.bmm(d.transpose(1, 2), _batched(acts[i], d),
                          out=None if out is None else out[i])
        if bias:
            gb[i] = d.sum(1)
        if i > 0:
            back = torch.bmm(d, ws[i], out=None if dbufs is None else dbufs[i - 1])
            d = _dphi_mul(activation, back, pres[i - 1], acts[i])
    return gw, gb, deltas


def forward_backward(ws, bs, x, target, activation: str, loss_kind: str):
    """Forward pass, loss and analytic negative gradients (used by the engine and tests)."""
    acts, pres, out = forward(ws, bs, x, activation)
    loss, e = loss_and_error(out, target, loss_kind)
    gw, gb, _ = backward(ws, acts, pres, e, activation)
    return loss, gw, gb, acts, pres


def _profile(prof: Sequence[float] | None, n: int, device="cpu"):
    if prof is None:
        return None
    p = np.asarray(prof, dtype=float)
    if len(p) == n:
        vals = p
    elif len(p) == 1:
        vals = np.full(n, p[0])
    else:
        vals = np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(p)), p)
    return torch.tensor(vals, dtype=torch.float32, device=device)


def run_group(
    configs: Sequence[TrainConfig],
    seeds: Sequence[int],
    *,
    progress: Callable[[int], None] | None = None,
    capture: tuple[int, int, int] | None = None,
    checkpoint: Checkpoint | None = None,
    device: Any = "cpu",
) -> dict[str, Any]:
    """Train a batch of models that share task, rule and architecture.

    Parameters
    ----------
    configs : sequence of TrainConfig
        One per model; they may differ only in ``lr``, ``weight_decay`` and ``noise``.
    seeds : sequence of int
        The seed of each model (see :func:`plastix.ann.data.streams`).
    progress : callable, optional
        Called with the number of steps just finished (every ~50 steps).
    capture : (layer, start, stop), optional
        Keep the input ``h_a``, pre-activation ``h_b`` and step-start weights of the
        0-based ``layer`` for steps ``start <= k < stop`` (first model), plus the
        weights at ``stop``.  Used by :func:`plastix.ann.record_layer`.
    checkpoint : plastix.ann.loop.Checkpoint, optional
        Resume from this batch's saved state if there is one, and save it every
        ``checkpoint.every`` epochs (used by :func:`plastix.ann.sweep` with ``out``).
    device : {"cpu", "cuda", "auto"} or torch.device
        Where the batch trains (see :func:`plastix.ann.loop.resolve_device`): the data,
        weights and records live there for the whole run; the data order and noise
        are drawn on the CPU (the same numbers on every device) and the records move
        to the CPU once, at the end.

    Returns
    -------
    dict of numpy arrays (model axis first): ``alignment (M, R, L, 3)``,
    ``weight_alignment (M, R, L)``, ``alignment_per_post (M, R, 3, P)`` or None,
    ``loss (M, R)``, ``weight_norm (M, R, L)``, ``val_loss (M, E+1)``,
    ``stationarity_gap (M, E+1, L)``, ``steps (R,)``, plus ``n_train``, ``n_val``,
    ``steps_per_epoch``, ``source``, ``capture``.

    Notes
    -----
    Per layer the engine keeps one buffer of stacked slots ``(k, M, post, pre)``:
    ``H``, the gradient ``G``, the rule's signal ``R`` (when it differs from
    ``G``), the update ``U`` (decay included, parameter noise excluded; not stored for
    the plain step with one decay per model, whose ``U = η R − η γ W`` is read off
    ``R`` and ``W``), a copy of the weights ``W`` the step is taken from, and the
    parameter noise ``E``.  On recorded steps a single batched Gram matrix of the
    slots gives every inner product needed: the three alignments (the full update is
    ``U + E``), the weight norm and ``cos(W, H)``, with no per-pair reductions; the
    cosines are taken from the stored Gram matrices once an epoch.  What happens on a
    step is read off the rule's declarations (:class:`plastix.ann.rules.Rule`).
    """
    base = configs[0]
    keys = {c.group_key() for c in configs}
    if len(keys) != 1:
        raise ValueError("run_group: configs must differ only in lr, weight_decay and noise; got "
                         f"{len(keys)} different groups.")
    if len(seeds) != len(configs):
        raise ValueError(f"`seeds` must give one seed per config ({len(configs)}); got "
                         f"{len(seeds)}.")
    dev = resolve_device(device)
    if base.task == "sre_transformer":
        from plastix.ann import transformer

        if dev.type != "cpu":
            raise ValueError(f"`device` {str(dev)!r}: the transformer task trains on the CPU "
                             "only; use device 'cpu'.")
        return transformer.run_group(configs, seeds, progress=progress, capture=capture,
                                     checkpoint=checkpoint)
    group = Group(configs, seeds, device=dev)
    trainer = _MLPTrainer(group)
    rec = trainer.rec = Recorder(group, trainer.post_sizes, capture)
    with torch.no_grad():
        train_loop(group, trainer, rec, progress, checkpoint)
    return rec.result(group, group.tasks[0]["source"])


def plain_update(w, r, lr, lgd, any_decay: bool) -> None:
    """The plain step ``W ← W − η γ D W + η R`` in place, in two passes.

    Not ``W (1 − η γ D)``: ``1 − η γ`` in float32 would round ``η γ ~ 1e-7`` away.
    """
    if any_decay:
        w.addcmul_(w, lgd, value=-1.0)
    w.addcmul_(r, lr)


class _MLPTrainer:
    """One batch of MLPs: weights, slot buffers and the step of :func:`run_group`."""

    def __init__(self, g: Group):
        base = g.base
        self.g, self.rule, self.kind = g, get_rule(base.rule), get_rule(base.rule).step
        n, m, dev = g.n_layers, g.m, g.device
        self.ws = [g.stacked(lambda t, i=i: t["params"][i][0]) for i in range(n)]
        self.bs = [g.stacked(lambda t, i=i: t["params"][i][1]) if base.bias else None
                   for i in range(n)]
        self.post_sizes = post = [w.shape[1] for w in self.ws]
        self.act, self.inv_b = base.activation, 1.0 / g.bsz
        self.loss_kind = "ce" if base.task == "sce" else "mse"
        self.any_decay = bool((g.gamma > 0).any())
        any_noise = bool((g.sigma > 0).any())
        self.pnoise = any_noise and base.noise_kind == "parameter"
        self.gnoise = any_noise and base.noise_kind == "gradient"
        self.inoise = any_noise and base.noise_kind == "input"
        self.clip = base.effective_clip
        # γ D per layer as (M, post, 1), and lr γ D
        self.gd = []
        for i in range(n):
            prof = _profile(base.decay_per_neuron, post[i], dev)
            self.gd.append(g.gamma if prof is None else g.gamma * prof.view(1, -1, 1))
        self.lgd = [g.lr * x for x in self.gd]
        # ---- slot buffers; R is G when the rule's signal is the (noise-free) gradient.
        # Parameter noise shared by all models (one seed) is kept once per layer (zs);
        # per-model noise in slot E (the draws z, unscaled).
        sep = not self.rule.signal_is_gradient or self.gnoise
        # The plain step's update U = η R − η γ W (one decay per model) is not stored: the
        # record reads its inner products off those of R and W (see _Grams), which saves
        # writing U (two passes) and reading it in the Gram matrix; it is stored for the
        # other steps, a decay profile, and the per-post-unit record (it reads U's rows).
        self.store_u = not (self.kind.plain and base.decay_per_neuron is None
                            and base.per_post_layer is None)
        names = ((["U"] if self.store_u else []) + ["H", "G"] + (["R"] if sep else []) + ["W"]
                 + (["E"] if self.pnoise and not g.shared else []))
        self.sl = {nm: j for j, nm in enumerate(names)}
        if not sep:
            self.sl["R"] = self.sl["G"]
        self.buf = [torch.zeros(len(names), m, post[i], self.ws[i].shape[2], device=dev)
                    for i in range(n)]
        # the slots' views, made once (not one indexing op per use, several a step)
        self.slots = {nm: [b[j] for b in self.buf] for nm, j in self.sl.items()}
        self.zs: list = [None] * n
        # the plain step's weights live in slot W: recorded without a copy, before the step
        self.w_in_slot = self.kind.plain
        if self.w_in_slot:
            self.ws = [self.slot(i, "W").copy_(w) for i, w in enumerate(self.ws)]
        rule = self.rule
        self.fixed = (None if rule.batch_fixed is None
                      else to_device(rule.batch_fixed([t["fixed"] for t in g.tasks],
                                                      g.per_model), dev))
        self.row0 = ([w.norm(dim=-1, keepdim=True) for w in self.ws]
                     if self.kind.normalise_rows else None)
        self.opt = self.kind.init_state(self.ws, self.bs) if self.kind.filters_gradient else None
        # the signal decay balances: G for optimisers (they filter it themselves), R otherwise
        self.sig = "G" if self.kind.filters_gradient else "R"
        # preallocated activations, pre-activations and hidden deltas (no per-step allocation)
        self.bufs = ([torch.empty(m, g.bsz, p, device=dev) for p in post],
                     [torch.empty(m, g.bsz, p, device=dev) for p in post[:-1]])
        self.dbufs = [torch.empty(m, g.bsz, p, device=dev) for p in post[:-1]]
        self.ebuf = torch.empty(m, g.bsz, post[-1], device=dev)
        self.tail_bufs: dict[int, tuple] = {}
        self.dphi = functools.partial(_dphi_mul, self.act)
        self.psc = pre_scales(self.act, n, True)
        # the record's Gram matrices of one epoch's recorded steps (at most this many)
        self.grams = _Grams(self.buf, self.sl, -(-g.steps_per_epoch // base.record_every),
                            g.sigma if self.pnoise else None, self.pnoise and g.shared,
                            None if self.store_u else (g.lr, self.lgd[0]))

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs at an epoch's end: weights, optimiser state, norms.

        An optimiser's slot R carries its filtered signal from step to step, so it
        is kept too.
        """
        n = self.g.n_layers
        # slot W is a view of the whole slot buffer: save the weights alone
        ws = [w.clone() for w in self.ws] if self.w_in_slot else self.ws
        return {"ws": ws, "bs": self.bs, "opt": self.opt, "row0": self.row0,
                "R": ([self.slot(i, "R") for i in range(n)] if self.kind.filters_gradient
                      else None)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` into the existing tensors."""
        copy_state(self.ws, state["ws"])
        copy_state(self.bs, state["bs"])
        copy_state(self.opt, state["opt"])
        copy_state(self.row0, state["row0"])
        if state["R"] is not None:
            copy_state([self.slot(i, "R") for i in range(self.g.n_layers)], state["R"])

    def slot(self, i: int, name: str):
        """Layer ``i``'s slot ``name`` (M, post, pre)."""
        return self.slots[name][i]

    def _chunk_bufs(self, n: int):
        """Forward buffers for a validation chunk of ``n`` rows (the training ones if n = B)."""
        if n == self.g.bsz:
            return self.bufs, self.ebuf
        if n not in self.tail_bufs:
            m, post, dev = self.g.m, self.post_sizes, self.g.device
            self.tail_bufs[n] = (([torch.empty(m, n, p, device=dev) for p in post],
                                  [torch.empty(m, n, p, device=dev) for p in post[:-1]]),
                                 torch.empty(m, n, post[-1], device=dev))
        return self.tail_bufs[n]

    def val_loss(self):
        """Mean validation loss per model, in chunks of the batch size (reused buffers)."""
        g = self.g
        tot = torch.zeros(g.m, device=g.device)
        n_v = g.x_val.shape[1]
        for j in range(0, n_v, g.bsz):
            xv = g.to_models(g.x_val[:, j:j + g.bsz])
            fb_, eb_ = self._chunk_bufs(xv.shape[1])
            _, _, o = forward(self.ws, self.bs, xv, self.act, bufs=fb_, doubled=True)
            lv, _ = loss_and_error(o, g.to_models(g.y_val[:, j:j + g.bsz]), self.loss_kind,
                                   ebuf=eb_)
            tot += lv * xv.shape[1]
        return tot / n_v

    def epoch_start(self) -> None:
        """Reset the stationarity-gap accumulators.

        With the plain step ``W ← W + η (R − γ D W)`` after the parameter noise ``E``
        the epoch's mean signal minus ``γ D`` mean W is ``(W_end − W_start − ΣE) /
        (η K)``, so no running sum of the signal is needed.
        """
        plain = self.kind.plain
        self.first_row = self.rec.i  # the epoch's first record row
        self.w_start = [w.clone() for w in self.ws] if plain else None
        self.esum = [None] * self.g.n_layers  # ΣE per layer (seed-level draws), plain only
        self.gsum = None if plain else [torch.zeros_like(w) for w in self.ws]
        self.wsum = [torch.zeros_like(w) for w in self.ws]

    def epoch_gap(self):
        """The epoch's stationarity gap per model and layer (M, L).

        Called at every epoch's end (before any checkpoint), so the epoch's alignment
        records are finished here first (:meth:`_Grams.flush`).
        """
        self.grams.flush(self.rec, self.first_row, self.rec.i - self.first_row)
        g, spe = self.g, self.g.steps_per_epoch
        gaps = []
        for i, w in enumerate(self.ws):
            target = self.gd[i] * (self.wsum[i] / spe)
            if self.kind.plain:  # mean signal − γ D mean W, from the epoch's net change
                net = w - self.w_start[i]
                if self.esum[i] is not None:
                    net.addcmul_(self.esum[i], g.sigma, value=-1.0)
                diff = net / (g.lr * spe)
            else:
                diff = self.gsum[i] / spe - target
            gaps.append(stationarity_gap(diff, target, g.gamma))
        return torch.stack(gaps, 1)

    def step(self, step: int, xb, yb, record: bool, capturing: bool) -> None:
        """One training step of every model on the batch ``xb`` (S, B, d), ``yb``."""
        g, rec, ws, bs, n = self.g, self.rec, self.ws, self.bs, self.g.n_layers
        if capturing:
            rec.cap["weight"].append(ws[rec.capture[0]][0].clone())
        if self.pnoise:
            self._parameter_noise(record)
        xm = g.to_models(xb)
        if self.inoise:
            xm = xm + g.sigma * g.noise_draw((g.bsz, xb.shape[2]))
        # ---- forward, loss, gradient, Hebbian term
        acts, pres, out = forward(ws, bs, xm, self.act, bufs=self.bufs, doubled=True)
        loss, e = loss_and_error(out, yb, self.loss_kind, ebuf=self.ebuf)
        gb = None
        if self.rule.needs_gradient or record:
            gb = backward(ws, acts, pres, e, self.act, bias=g.base.bias, dbufs=self.dbufs,
                          out=self.slots["G"])[1]
        if record or self.rule.needs_hebbian_term:
            for i in range(n):
                _hebbian_term(self.slots["H"][i], pres[i], acts[i], ws[i], bs[i], self.inv_b,
                              self.psc[i])
        if capturing:
            rec.cap["pre"].append(acts[rec.capture[0]][0].clone())
            rec.cap["post"].append(pres[rec.capture[0]][0] * self.psc[rec.capture[0]])
        # ---- the rule's signal, into slot R (biases: list rb), then noise and clipping
        rb = self.rule.signal(SignalContext(
            n_layers=n, slot=self.slot, acts=acts, pres=_Scaled(pres, self.psc), e=e, ws=ws, bs=bs,
            gb=gb if self.rule.needs_gradient else None, inv_b=self.inv_b, xb=xb,
            sidx=g.sidx, fixed=self.fixed, dphi_mul=self.dphi))
        if self.gnoise:
            rb = self._gradient_noise(rb)
        if self.clip is not None:
            rb = self._clip(rb)
        self._update(rb, gb, step, record)
        if record:
            if rec.ppl is not None:
                self._per_post()
            rec.loss[rec.i] = loss
            rec.i += 1
        if capturing and step + 1 == rec.capture[2]:
            rec.cap["weight"].append(ws[rec.capture[0]][0].clone())

    def _per_post(self) -> None:
        """The per-post-unit alignments of the layer asked for, into the current row."""
        i, sigma = self.rec.ppl, self.g.sigma if self.pnoise else None
        _per_post(self.buf[i], self.sl, self.rec, sigma,
                  self.slot(i, "E") if "E" in self.sl else self.zs[i])

    def _parameter_noise(self, record: bool) -> None:
        g, m = self.g, self.g.m
        for i, w in enumerate(self.ws):
            z = g.noise_draw(w.shape[1:])
            w.addcmul_(z, g.sigma)
            if record and "E" in self.sl:
                self.slot(i, "E").copy_(z)
            self.zs[i] = z
            if self.kind.plain:
                self.esum[i] = z.clone() if self.esum[i] is None else self.esum[i].add_(z)
            b = self.bs[i]
            if b is not None:
                b.addcmul_(g.noise_draw(b.shape[1:]), g.sigma.view(m, 1))

    def _gradient_noise(self, rb: list) -> list:
        """Gradient noise on the signal the step is built from (G for optimisers)."""
        g, sigma = self.g, self.g.sigma
        for i, w in enumerate(self.ws):
            if self.kind.filters_gradient:
                self.slot(i, "G").addcmul_(g.noise_draw(w.shape[1:]), sigma)
            elif self.rule.signal_is_gradient:
                torch.addcmul(self.slot(i, "G"), g.noise_draw(w.shape[1:]), sigma,
                              out=self.slot(i, "R"))
            else:
                self.slot(i, "R").addcmul_(g.noise_draw(w.shape[1:]), sigma)
            if rb[i] is not None:
                rb[i] = rb[i] + sigma.view(g.m, 1) * g.noise_draw(rb[i].shape[1:])
        return rb

    def _clip(self, rb: list) -> list:
        """Clip the signal to a total norm of ``clip`` over all parameters of a model."""
        m, n, sig = self.g.m, self.g.n_layers, self.sig
        sq = sum(torch.linalg.vecdot(self.slot(i, sig).flatten(1),
                                     self.slot(i, sig).flatten(1)) for i in range(n))
        sq = sq + sum(r.pow(2).sum(-1) for r in rb if r is not None)
        coef = (self.clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
        for i in range(n):
            self.slot(i, sig).mul_(coef.view(m, 1, 1))
        return [r * coef.view(m, 1) if r is not None else None for r in rb]

    def _update(self, rb: list, gb: list | None, step: int, record: bool) -> None:
        """The stationarity-gap sums, the update (into slot U on recorded steps), the
        record's Gram matrices, and the step applied.

        Layer by layer, so that each layer's slots are still in cache when the next
        pass over them runs (the layers are independent here).  The record reads the
        weights the step is taken from: slot W holds them (the plain step's weights
        live there, so the record comes before the step; other steps copy them in).
        """
        g, kind, ws, bs, m = self.g, self.kind, self.ws, self.bs, self.g.m
        lr, row = g.lr, self.rec.i - self.first_row
        for i, w in enumerate(ws):
            if self.gsum is not None:
                self.gsum[i] += self.slot(i, self.sig)
            self.wsum[i] += w
            if record and not self.w_in_slot:
                self.slot(i, "W").copy_(w)
        if kind.filters_gradient:
            kind.update(ws, self.slot, self.opt, self.gd, lr, g.base.momentum, step + 1,
                        self.any_decay, record)
            kind.update_bias(bs, gb, self.opt, self.gd, lr, g.base.momentum, step + 1)
            if record:
                for i in range(len(ws)):
                    self.grams.add(row, i, self.zs)
            return
        for i, w in enumerate(ws):
            if (record and self.store_u) or kind.normalise_rows:
                u = self.slot(i, "U")
                torch.mul(self.slot(i, "R"), lr, out=u)
                if self.any_decay:
                    u.addcmul_(w, self.lgd[i], value=-1.0)
            if record and self.w_in_slot:
                self.grams.add(row, i, self.zs)
            if kind.normalise_rows:
                w.add_(u)
                r = self.row0[i] / w.norm(dim=-1, keepdim=True)
                w.mul_(r)
                u.addcmul_(w, 1 - 1 / r)
            else:
                plain_update(w, self.slot(i, "R"), lr, self.lgd[i], self.any_decay)
            if record and not self.w_in_slot:
                self.grams.add(row, i, self.zs)
            if bs[i] is not None:
                if self.any_decay:
                    bs[i].addcmul_(bs[i], self.lgd[i].view(m, -1), value=-1.0)
                if rb[i] is not None:
                    bs[i].addcmul_(rb[i], lr.view(m, 1))


def _hebbian_term(out, pre, act, w, b, inv_b, pre_scale=1.0):
    """``H = h_bᵀ h_a / B`` (M, post, pre) into ``out``; ``pre`` holds ``h_b / pre_scale``.

    When the input ``act`` (1, B, pre) is shared by every model (layer 1 of models that
    see the same batch), ``H = W C + b h̄_aᵀ`` with the input's second-moment matrix
    ``C = h_aᵀ h_a / B``, computed once: ``post·pre²`` multiply-adds per model instead
    of ``post·pre·B``.  Otherwise one batched product with the ``1/B`` folded in.
    """
    if act.shape[0] == 1:
        x = act[0]
        torch.matmul(w, torch.mm(x.T, x).mul_(inv_b), out=out)
        if b is not None:
            out.addcmul_(b[:, :, None], x.mean(0)[None, None, :])
        return out
    return torch.baddbmm(out, pre.transpose(1, 2), act, beta=0.0, alpha=inv_b * pre_scale,
                         out=out)


class _Grams:
    """The record's inner products: one batched Gram matrix of the slots per layer and
    recorded step (:meth:`add`), turned into cosines once an epoch (:meth:`flush`).

    The cosines are a few dozen tiny elementwise operations per layer; done on every
    step they cost ~7% of a 10-model step (dispatch, not arithmetic), done once an epoch
    on all the epoch's rows at once they cost nothing measurable.  The numbers are the
    same: each cosine is the same float32 expression of the same Gram entries.

    With ``derived = (η, η γ)`` (M, 1, 1) slot U is not stored and the update's inner
    products come from ``U = η R − η γ W``: ``U·H = η R·H − η γ W·H`` and ``U·U = η² R·R
    − 2 η² γ R·W + (η γ)² W·W``.  Against float64 these are as accurate as the stored U's
    (the per-step signal is far from cancelling the decay term; see the README).

    With parameter noise (``sigma`` (M, 1, 1)) the full update is ``U + σ z``: the draws
    ``z`` are in slot E (per-model noise), or ``zs[i]`` (1, post, pre) shared by every
    model, whose inner products with the slots the update needs (U and H, or H to W)
    are one matrix-vector product of those adjacent slots, kept beside the Gram matrices.
    """

    def __init__(self, buf, sl, rows: int, sigma=None, shared_noise: bool = False,
                 derived=None):
        n, k, m = len(buf), buf[0].shape[0], buf[0].shape[1]
        dev = buf[0].device
        self.buf, self.sl, self.sigma, self.derived = buf, sl, sigma, derived
        self.gram = torch.empty(rows, n, m, k, k, device=dev)
        need = [sl[x] for x in (("U", "H") if derived is None else ("H", "R", "W"))]
        self.lo, hi = min(need), max(need) + 1  # the slots lo..hi-1 the noise products read
        self.zx = torch.empty(rows, n, (hi - self.lo) * m, device=dev) if shared_noise else None
        self.zz = torch.empty(rows, n, device=dev) if shared_noise else None
        self.views = []  # per layer: the slots as (M, k, N), its transpose, slots lo:hi
        for b in buf:
            v = b.view(k, m, -1).transpose(0, 1)
            self.views.append((v, v.transpose(1, 2), b[self.lo:hi].view((hi - self.lo) * m, -1)))
        # the outputs of every (row, layer), as views made once (indexing is dispatch a step)
        self.outs = [[(self.gram[r, i],
                       None if self.zx is None else self.zx[r, i],
                       None if self.zz is None else self.zz[r, i]) for i in range(n)]
                     for r in range(rows)]

    def add(self, row: int, i: int, zs=None) -> None:
        """Layer ``i``'s Gram matrix (and shared-noise products) of the slots' current
        contents, as record row ``row`` of the epoch."""
        v, vt, near = self.views[i]
        gram, zx, zz = self.outs[row][i]
        torch.bmm(v, vt, out=gram)  # (M, k, k)
        if zx is not None:
            z = zs[i].reshape(-1)
            torch.mv(near, z, out=zx)
            torch.dot(z, z, out=zz)

    def flush(self, rec, start: int, rows: int) -> None:
        """Alignments, weight norms and cos(W, H) of ``rows`` recorded steps into the
        records' rows ``start, start + 1, …`` (all layers and steps at once)."""
        if rows == 0:
            return
        sl, sigma = self.sl, self.sigma
        H, G, R, W = (sl[x] for x in ("H", "G", "R", "W"))
        U, E = sl.get("U"), sl.get("E")
        gram = self.gram[:rows].transpose(1, 2)  # (rows, M, L, k, k)
        hh = gram[..., H, H]
        if self.derived is None:
            uh, uu = gram[..., U, H], gram[..., U, U]
        else:  # U = a R − c W
            a, c = (x.view(-1, 1) for x in self.derived)  # (M, 1) against (rows, M, L)
            uh = a * gram[..., R, H] - c * gram[..., W, H]
            uu = (a * a * gram[..., R, R] - 2 * a * c * gram[..., R, W]
                  + c * c * gram[..., W, W])
        if sigma is not None:  # the full update is U + σ z
            s = sigma.view(-1, 1)
            if E is not None:
                zall, zz, lo = gram[..., E, :].movedim(-1, 1), gram[..., E, E], 0
            else:  # (rows, slot lo.., M, L)
                zall = self.zx[:rows].view(rows, gram.shape[2], -1, gram.shape[1])
                zall, zz, lo = zall.permute(0, 2, 3, 1), self.zz[:rows, None, :], self.lo
            zu = (zall[:, U - lo] if self.derived is None
                  else a * zall[:, R - lo] - c * zall[:, W - lo])
            uh = uh + s * zall[:, H - lo]
            uu = uu + 2 * s * zu + s * s * zz
        cos = torch.stack([gram[..., G, H] / (gram[..., G, G] * hh).sqrt(),
                           gram[..., R, H] / (gram[..., R, R] * hh).sqrt(),
                           uh / (uu * hh).sqrt()], -1)
        stop = start + rows
        rec.align[start:stop] = cos.clamp(-1.0, 1.0)
        rec.wnorm[start:stop] = gram[..., W, W].sqrt()
        rec.walign[start:stop] = (gram[..., W, H] / (gram[..., W, W] * hh).sqrt()).clamp(-1.0, 1.0)


def _per_post(b, sl, rec, sigma=None, z=None) -> None:
    """The per-post-unit alignments of one layer's slots ``b`` into the current record
    row; ``z`` is the parameter noise draw of the step (slot E or the shared draw)."""
    h = b[sl["H"]]
    upd = b[sl["U"]] if sigma is None else torch.addcmul(b[sl["U"]], z, sigma)
    hr = torch.linalg.vecdot(h, h, dim=-1)
    rows = []
    for sig in (b[sl["G"]], b[sl["R"]], upd):
        rows.append(torch.linalg.vecdot(sig, h, dim=-1)
                    / (torch.linalg.vecdot(sig, sig, dim=-1) * hr).sqrt())
    rec.per_post[rec.i] = torch.stack(rows, 1).clamp(-1.0, 1.0)


def _dphi_mul(name: str, d, z, a):
    """``d ⊙ φ'(z)`` given ``a = φ(z)``, with torch's fused backward kernels, in place."""
    if name == "tanh":
        return torch.ops.aten.tanh_backward.grad_input(d, a, grad_input=d)
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward.grad_input(d, a, grad_input=d)
    if name == "relu":
        return torch.ops.aten.threshold_backward.grad_input(d, z, 0.0, grad_input=d)
    return d
