"""The batched training engine: many MLPs of one architecture trained as one tensor program.

Weights are stacked as ``(n_models, post, pre)``; forward and backward passes are
batched matmuls; the gradient is computed analytically (chain rule), so no
autograd graph is built.  Models in one batch share task, rule and architecture
and may differ in ``lr``, ``decay``, ``noise`` and ``seed`` (per-model scalars
broadcast).  Each model's data order and noise come from its own seed's
generators (:func:`plastix.ann.data.streams`), so a model trained in a batch
follows the same trajectory as the same model trained alone (up to float32
rounding of batched versus single matmuls).

Signals (SPEC §2), per layer ``l`` with input ``h_a`` and pre-activation ``h_b``
on the training batch of the step:

* ``gradient``: ``−∇_W ℓ`` of the mean batch loss at the weights the step is
  taken from (after parameter noise), decay excluded;
* ``rule``: the rule's own signal ``g``:

  - ``sgd``: the gradient (plus gradient noise when ``noise_kind="gradient"``);
  - ``momentum``: the momentum-filtered loss gradient ``m_g ← μ m_g + g``
    (the decay part of the PyTorch momentum buffer is tracked separately);
  - ``adam``: the preconditioned loss step ``m̂_g / (√v̂ + ε)``, where ``m_g`` is
    the first moment of the loss gradient alone and ``v̂`` Adam's second moment
    of the full (coupled-L2) gradient; the update is exactly
    ``torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=γ)``;
  - ``dfa``: ``δ_l h_aᵀ`` averaged over the batch with ``δ_L = −∂ℓ/∂y`` and
    ``δ_l = (B_l δ_L) ⊙ φ'(h_b)`` for hidden layers (fixed random ``B_l``);
  - ``random_nn``: ``g = p s_dir s_red W*`` of SPEC §4;
  - ``oja``: ``mean(h_b h_aᵀ) − diag(mean h_b²) W`` (Oja's rule per unit);
  - ``hebb_pre`` / ``hebb_post``: ``mean(h_b h_aᵀ)`` / ``mean(φ(h_b) h_aᵀ)``;
    after each step every row of ``W`` is rescaled to its initial norm
    (normalised Hebbian learning).  Biases of Oja/Hebbian networks only decay.

  The signal is clipped to a total norm of ``clip`` over all parameters of a
  model (DFA 5, RandomNN 1), like ``torch.nn.utils.clip_grad_norm_``.
* ``update``: the whole applied ``ΔW = W_{k+1} − W_k``, decay, noise and
  normalisation included.

For every rule except momentum and Adam the step is ``W ← W + η (g − γ D W)``.

The Hebbian term is ``H = h_bᵀ h_a / B``, the quantity
:func:`plastix.alignment.hebbian_term` computes, written into a preallocated
buffer (for a layer whose input batch all models share, as ``W C + b h̄_aᵀ`` with
the shared ``C = h_aᵀ h_a / B``, equal up to float32 rounding); the alignments
are the cosines of :func:`plastix.alignment.cosine_alignment` and
:func:`plastix.alignment.alignment_per_post`, read off one Gram matrix (tests
recompute them with those functions from saved weights and activations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plastix._util.optional import import_torch
from plastix.ann import data as _data
from plastix.ann.config import TrainConfig

torch = import_torch()

__all__ = ["run_group", "SIGNALS", "forward_backward"]

SIGNALS = ("gradient", "rule", "update")
_BETAS, _EPS = (0.9, 0.999), 1e-8
_MINUS_ONE = torch.tensor(-1.0)


def _phi(name: str, z, out=None):
    """The hidden non-linearity, into ``out`` when given."""
    if name == "tanh":
        # tanh z = 2 σ(2z) − 1: about 2× faster than torch.tanh on CPU, and within
        # 2e-7 of it (float32 rounding of σ near 1/2); autograd callers get torch.tanh
        if z.requires_grad:
            return torch.tanh(z)
        t = torch.sigmoid(torch.mul(z, 2.0, out=out), out=out)
        return torch.add(_MINUS_ONE, t, alpha=2.0, out=t)  # 2 t − 1 in one pass
    if name == "relu":
        return torch.relu(z) if out is None else torch.clamp(z, min=0.0, out=out)
    if name == "sigmoid":
        return torch.sigmoid(z, out=out)
    return z if out is None else out.copy_(z)


def forward(ws, bs, x, activation: str, *, bufs=None):
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
        z = torch.matmul(a, ws[i].transpose(1, 2), out=None if bufs is None else bufs[0][i])
        if bs[i] is not None:
            z.add_(bs[i][:, None, :])
        pres.append(z)
        if i < n - 1:
            a = _phi(activation, z, None if bufs is None else bufs[1][i])
        else:
            a = z
    return acts, pres, a


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
        gw[i] = torch.matmul(d.transpose(1, 2), acts[i],
                             out=None if out is None else out[i])
        if bias:
            gb[i] = d.sum(1)
        if i > 0:
            back = torch.matmul(d, ws[i], out=None if dbufs is None else dbufs[i - 1])
            d = _dphi_mul(activation, back, pres[i - 1], acts[i])
    return gw, gb, deltas


def forward_backward(ws, bs, x, target, activation: str, loss_kind: str):
    """Forward pass, loss and analytic negative gradients (used by the engine and tests)."""
    acts, pres, out = forward(ws, bs, x, activation)
    loss, e = loss_and_error(out, target, loss_kind)
    gw, gb, _ = backward(ws, acts, pres, e, activation)
    return loss, gw, gb, acts, pres


def _profile(prof: Sequence[float] | None, n: int):
    if prof is None:
        return None
    p = np.asarray(prof, dtype=float)
    if len(p) == n:
        vals = p
    elif len(p) == 1:
        vals = np.full(n, p[0])
    else:
        vals = np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(p)), p)
    return torch.tensor(vals, dtype=torch.float32)


def _stack_seeds(items):
    return torch.stack(items) if items[0] is not None else None


def run_group(
    configs: Sequence[TrainConfig],
    seeds: Sequence[int],
    *,
    progress: Callable[[int], None] | None = None,
    capture: tuple[int, int, int] | None = None,
) -> dict[str, Any]:
    """Train a batch of models that share task, rule and architecture.

    Parameters
    ----------
    configs : sequence of TrainConfig
        One per model; they may differ only in ``lr``, ``decay`` and ``noise``.
    seeds : sequence of int
        The seed of each model (see :func:`plastix.ann.data.streams`).
    progress : callable, optional
        Called with the number of steps just finished (every ~50 steps).
    capture : (layer, start, stop), optional
        Keep the input ``h_a``, pre-activation ``h_b`` and step-start weights of the
        0-based ``layer`` for steps ``start <= k < stop`` (first model), plus the
        weights at ``stop``.  Used by :func:`plastix.ann.record_layer`.

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
    ``G``), the update ``U`` (decay included, parameter noise excluded), a copy of
    the weights ``W`` the step is taken from, and the parameter noise ``E``.  On
    recorded steps a single batched Gram matrix of the slots gives every inner
    product needed: the three alignments (the full update is ``U + E``), the
    weight norm and ``cos(W, H)``, with no per-pair reductions.
    """
    base = configs[0]
    keys = {c.group_key() for c in configs}
    if len(keys) != 1:
        raise ValueError("run_group: configs must differ only in lr, decay and noise; got "
                         f"{len(keys)} different groups.")
    if len(seeds) != len(configs):
        raise ValueError(f"`seeds` must give one seed per config ({len(configs)}); got "
                         f"{len(seeds)}.")
    if base.task == "sre_transformer":
        from plastix.ann import transformer

        return transformer.run_group(configs, seeds, progress=progress, capture=capture)
    m = len(configs)
    useeds = list(dict.fromkeys(int(s) for s in seeds))
    n_seed = len(useeds)
    sidx = torch.tensor([useeds.index(int(s)) for s in seeds])
    # x of shape (1, B, d) broadcasts over models; (M, B, d) when seeds differ.
    shared = n_seed == 1
    trivial_map = n_seed == m and bool(torch.equal(sidx, torch.arange(m)))
    tasks = [_data.make_task(base, s) for s in useeds]
    gens = [_data.streams(s) for s in useeds]
    act = base.activation
    loss_kind = "ce" if base.task == "sce" else "mse"
    x_tr = torch.stack([t["x_train"] for t in tasks])  # (S, N, d)
    y_tr = torch.stack([t["y_train"] for t in tasks])
    x_val = torch.stack([t["x_val"] for t in tasks])
    y_val = torch.stack([t["y_val"] for t in tasks])
    n_tr, bsz = x_tr.shape[1], base.batch_size
    steps_per_epoch = n_tr // bsz
    n_steps = steps_per_epoch * base.epochs
    n_layers = len(tasks[0]["params"])

    def per_model(t):  # (S, ...) -> (M, ...), a copy
        return t[sidx].clone()

    def to_models(t):  # (S, ...) -> (M or 1, ...), no copy when possible
        return t if shared or trivial_map else t[sidx]

    ws = [per_model(torch.stack([t["params"][i][0] for t in tasks])) for i in range(n_layers)]
    bs = [per_model(_stack_seeds([t["params"][i][1] for t in tasks])) if base.bias else None
          for i in range(n_layers)]
    post_sizes = [w.shape[1] for w in ws]
    col = lambda v: torch.tensor(v, dtype=torch.float32).view(m, 1, 1)  # noqa: E731
    lr = col([c.lr for c in configs])
    gamma = col([c.decay for c in configs])
    sigma = col([c.noise for c in configs])
    any_decay = bool((gamma > 0).any())
    any_noise = bool((sigma > 0).any())
    rule = base.rule
    clip = base.effective_clip
    nk = base.noise_kind
    pnoise = any_noise and nk == "parameter"
    gnoise = any_noise and nk == "gradient"
    # γ D per layer as (M, post, 1), and lr γ D
    gd = []
    for i in range(n_layers):
        prof = _profile(base.decay_per_neuron, post_sizes[i])
        gd.append(gamma if prof is None else gamma * prof.view(1, -1, 1))
    lgd = [lr * g for g in gd]
    # ---- slot buffers
    sep_rule = rule != "sgd" or gnoise
    names = ["H", "G"] + (["R"] if sep_rule else []) + ["U", "W"] + (["E"] if pnoise else [])
    sl = {n: j for j, n in enumerate(names)}
    if not sep_rule:
        sl["R"] = sl["G"]
    buf = [torch.zeros(len(names), m, post_sizes[i], ws[i].shape[2]) for i in range(n_layers)]
    slot = lambda i, n: buf[i][sl[n]]  # noqa: E731
    if rule == "dfa":
        fb = [per_model(torch.stack([t["feedback"][i] for t in tasks]))
              for i in range(n_layers - 1)]
    if rule == "random_nn":
        rnet = [(torch.stack([t["rnn"]["net"][j][0] for t in tasks]),
                 torch.stack([t["rnn"]["net"][j][1] for t in tasks]))
                for j in range(len(tasks[0]["rnn"]["net"]))]
        rproj = [tuple(per_model(torch.stack([t["rnn"]["proj"][i][k] for t in tasks]))
                       if tasks[0]["rnn"]["proj"][i][k] is not None else None
                       for k in range(3)) for i in range(n_layers)]
    if rule in ("hebb_pre", "hebb_post"):
        row0 = [w.norm(dim=-1, keepdim=True) for w in ws]
    if rule in ("momentum", "adam"):
        buf_t = [torch.zeros_like(w) for w in ws]
        bbuf = [None if b is None else [torch.zeros_like(b) for _ in range(3)] for b in bs]
        if rule == "adam":
            buf_g = [torch.zeros_like(w) for w in ws]
            buf_v = [torch.zeros_like(w) for w in ws]

    # ---- recording buffers (preallocated, filled without Python floats)
    rec_steps = np.arange(0, n_steps, base.record_every)
    n_rec = len(rec_steps)
    ppl = None if base.per_post_layer is None else min(base.per_post_layer, n_layers) - 1
    nan = float("nan")
    r_align = torch.full((n_rec, m, n_layers, 3), nan)
    r_walign = torch.full((n_rec, m, n_layers), nan)
    r_pp = torch.full((n_rec, m, 3, post_sizes[ppl]), nan) if ppl is not None else None
    r_loss = torch.full((n_rec, m), nan)
    r_wn = torch.full((n_rec, m, n_layers), nan)
    r_val = torch.full((base.epochs + 1, m), nan)
    r_gap = torch.full((base.epochs + 1, m, n_layers), nan)
    cap: dict[str, list] = {"pre": [], "post": [], "weight": []}

    tail_bufs: dict[int, tuple] = {}

    def chunk_bufs(n):
        """Forward buffers for a validation chunk of ``n`` rows (the training ones if n = B)."""
        if n == bsz:
            return bufs, ebuf
        if n not in tail_bufs:
            tail_bufs[n] = (([torch.empty(m, n, p) for p in post_sizes],
                             [torch.empty(m, n, p) for p in post_sizes[:-1]]),
                            torch.empty(m, n, post_sizes[-1]))
        return tail_bufs[n]

    def val_loss():
        """Mean validation loss per model, in chunks of the batch size (reused buffers)."""
        tot = torch.zeros(m)
        n_v = x_val.shape[1]
        for j in range(0, n_v, bsz):
            xv = to_models(x_val[:, j:j + bsz])
            fb_, eb_ = chunk_bufs(xv.shape[1])
            _, _, o = forward(ws, bs, xv, act, bufs=fb_)
            lv, _ = loss_and_error(o, to_models(y_val[:, j:j + bsz]), loss_kind, ebuf=eb_)
            tot += lv * xv.shape[1]
        return tot / n_v

    def noise_draw(shape):
        """Per-seed standard normal draws mapped to models: (M or 1, *shape)."""
        z = torch.stack([torch.randn(*shape, generator=g["noise"]) for g in gens])
        return z if trivial_map or shared else z[sidx]

    inv_b = 1.0 / bsz
    has_bias = base.bias
    # Rules whose weight step is exactly W ← W + η (R − γ D W) after the parameter noise
    # E: the epoch's mean signal minus γ D mean W is then (W_end − W_start − ΣE) / (η K),
    # so the stationarity gap needs no running sum of the signal.
    plain_step = rule in ("sgd", "dfa", "random_nn", "oja")
    # preallocated activations, pre-activations and hidden deltas (no per-step allocation)
    bufs = ([torch.empty(m, bsz, p) for p in post_sizes],
            [torch.empty(m, bsz, p) for p in post_sizes[:-1]])
    dbufs = [torch.empty(m, bsz, p) for p in post_sizes[:-1]]
    ebuf = torch.empty(m, bsz, post_sizes[-1])
    need_grad = rule in ("sgd", "momentum", "adam")
    with torch.no_grad():
        r_val[0] = val_loss()
        step = 0
        rec_i = 0
        flat_off = (torch.arange(n_seed) * n_tr).view(-1, 1)
        x_flat = x_tr.reshape(n_seed * n_tr, *x_tr.shape[2:])
        y_flat = y_tr.reshape(n_seed * n_tr, *y_tr.shape[2:])
        for epoch in range(base.epochs):
            perm = torch.stack([torch.randperm(n_tr, generator=g["order"]) for g in gens])
            perm = perm + flat_off
            w_start = [w.clone() for w in ws] if plain_step else None
            esum = [None] * n_layers  # ΣE per layer (seed-level draws), plain steps only
            gsum = None if plain_step else [torch.zeros_like(w) for w in ws]
            wsum = [torch.zeros_like(w) for w in ws]
            for k in range(steps_per_epoch):
                idx = perm[:, k * bsz:(k + 1) * bsz].reshape(-1)
                xb = x_flat.index_select(0, idx).view(n_seed, bsz, *x_tr.shape[2:])
                yb = to_models(y_flat.index_select(0, idx).view(n_seed, bsz, *y_tr.shape[2:]))
                record = rec_i < n_rec and rec_steps[rec_i] == step
                capturing = capture is not None and capture[1] <= step < capture[2]
                if capturing:
                    cap["weight"].append(ws[capture[0]][0].clone())
                # ---- noise on parameters / inputs
                if pnoise:
                    for i in range(n_layers):
                        z = noise_draw(ws[i].shape[1:])
                        ws[i].addcmul_(z, sigma)
                        if record:
                            torch.mul(z, sigma, out=slot(i, "E"))
                        if plain_step:
                            esum[i] = z.clone() if esum[i] is None else esum[i].add_(z)
                        if bs[i] is not None:
                            bs[i].addcmul_(noise_draw(bs[i].shape[1:]), sigma.view(m, 1))
                xm = to_models(xb)
                if any_noise and nk == "input":
                    xm = xm + sigma * noise_draw((bsz, xb.shape[2]))
                # ---- forward, loss, gradient, Hebbian term
                acts, pres, out = forward(ws, bs, xm, act, bufs=bufs)
                loss, e = loss_and_error(out, yb, loss_kind, ebuf=ebuf)
                gb = None
                if need_grad or record:
                    gb = backward(ws, acts, pres, e, act, bias=has_bias, dbufs=dbufs,
                                  out=[slot(i, "G") for i in range(n_layers)])[1]
                if record or rule in ("oja", "hebb_pre", "hebb_post"):
                    for i in range(n_layers):
                        _hebbian_term(slot(i, "H"), pres[i], acts[i], ws[i], bs[i], inv_b)
                if capturing:
                    cap["pre"].append(acts[capture[0]][0].clone())
                    cap["post"].append(pres[capture[0]][0].clone())
                # ---- the rule's signal, into slot R (biases: list rb)
                rb = _rule_signal(rule, n_layers, slot, acts, pres, e, ws, bs, act, inv_b,
                                  gb if need_grad else None,
                                  fb if rule == "dfa" else None,
                                  (rnet, rproj, xb, sidx) if rule == "random_nn" else None)
                # the signal the step is built from: G for momentum/Adam (which filter it
                # themselves), R otherwise; gradient noise and clipping act on it
                sig = "G" if rule in ("momentum", "adam") else "R"
                if gnoise:
                    for i in range(n_layers):
                        if rule in ("momentum", "adam"):
                            slot(i, "G").addcmul_(noise_draw(ws[i].shape[1:]), sigma)
                        elif rule == "sgd":
                            torch.addcmul(slot(i, "G"), noise_draw(ws[i].shape[1:]), sigma,
                                          out=slot(i, "R"))
                        else:
                            slot(i, "R").addcmul_(noise_draw(ws[i].shape[1:]), sigma)
                        if rb[i] is not None:
                            rb[i] = rb[i] + sigma.view(m, 1) * noise_draw(rb[i].shape[1:])
                if clip is not None:
                    sq = sum(torch.linalg.vecdot(slot(i, sig).flatten(1),
                                                 slot(i, sig).flatten(1)) for i in range(n_layers))
                    sq = sq + sum(r.pow(2).sum(-1) for r in rb if r is not None)
                    coef = (clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
                    for i in range(n_layers):
                        slot(i, sig).mul_(coef.view(m, 1, 1))
                    rb = [r * coef.view(m, 1) if r is not None else None for r in rb]
                # ---- stationarity-gap accumulators, weight copy for the record
                for i in range(n_layers):
                    if gsum is not None:
                        gsum[i] += slot(i, sig)
                    wsum[i] += ws[i]
                    if record:
                        slot(i, "W").copy_(ws[i])
                # ---- the update (into slot U on recorded steps), then applied
                if rule in ("momentum", "adam"):
                    _moment_update(rule, ws, slot, buf_t, buf_g if rule == "adam" else None,
                                   buf_v if rule == "adam" else None, gd, lr, base.momentum,
                                   step + 1, any_decay, record)
                    _moment_bias(rule, bs, gb, bbuf, gd, lr, base.momentum, step + 1)
                else:
                    for i in range(n_layers):
                        hebb = rule in ("hebb_pre", "hebb_post")
                        if record or hebb:
                            u = slot(i, "U")
                            torch.mul(slot(i, "R"), lr, out=u)
                            if any_decay:
                                u.addcmul_(ws[i], lgd[i], value=-1.0)
                        if hebb:
                            ws[i].add_(u)
                            r = row0[i] / ws[i].norm(dim=-1, keepdim=True)
                            ws[i].mul_(r)
                            u.addcmul_(ws[i], 1 - 1 / r)
                        else:
                            # W − η γ D W + η R: the step W + U in two passes (not
                            # W (1 − η γ D): 1 − η γ in float32 would round η γ ~ 1e-7)
                            if any_decay:
                                ws[i].addcmul_(ws[i], lgd[i], value=-1.0)
                            ws[i].addcmul_(slot(i, "R"), lr)
                        if bs[i] is not None:
                            if any_decay:
                                bs[i].addcmul_(bs[i], lgd[i].view(m, -1), value=-1.0)
                            if rb[i] is not None:
                                bs[i].addcmul_(rb[i], lr.view(m, 1))
                # ---- record: one Gram matrix of the slots per layer
                if record:
                    _record(buf, sl, pnoise, ppl, rec_i, r_align, r_walign, r_wn, r_pp)
                    r_loss[rec_i] = loss
                    rec_i += 1
                if capturing and step + 1 == capture[2]:
                    cap["weight"].append(ws[capture[0]][0].clone())
                step += 1
                if progress is not None and step % 50 == 0:
                    progress(50)
            r_val[epoch + 1] = val_loss()
            for i in range(n_layers):
                mw = wsum[i] / steps_per_epoch
                target = gd[i] * mw
                if plain_step:  # mean signal − γ D mean W, from the epoch's net change
                    net = ws[i] - w_start[i]
                    if esum[i] is not None:
                        net.addcmul_(esum[i], sigma, value=-1.0)
                    diff = net / (lr * steps_per_epoch)
                else:
                    diff = gsum[i] / steps_per_epoch - target
                gap = diff.flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1)
                gap[gamma.view(-1) == 0] = nan
                r_gap[epoch + 1, :, i] = gap
        if progress is not None and step % 50:
            progress(step % 50)
    return {
        "alignment": r_align.transpose(0, 1).numpy(),
        "weight_alignment": r_walign.transpose(0, 1).numpy(),
        "alignment_per_post": None if r_pp is None else r_pp.transpose(0, 1).numpy(),
        "per_post_layer": None if ppl is None else ppl + 1,
        "loss": r_loss.T.numpy(),
        "weight_norm": r_wn.transpose(0, 1).numpy(),
        "val_loss": r_val.T.numpy(),
        "stationarity_gap": r_gap.transpose(0, 1).numpy(),
        "steps": rec_steps,
        "n_train": int(n_tr), "n_val": int(x_val.shape[1]),
        "steps_per_epoch": int(steps_per_epoch),
        "source": tasks[0]["source"],
        "capture": None if capture is None else {k: torch.stack(v).numpy()
                                                 for k, v in cap.items() if v},
    }


def _rule_signal(rule, n_layers, slot, acts, pres, e, ws, bs, act, inv_b, gb, fb, rnn):
    """Write the rule's weight signal into slot R of every layer; return bias signals."""
    if rule in ("sgd", "momentum", "adam"):
        return list(gb)  # slot R is G (sgd) or filled by the optimizer (momentum, adam)
    rb = [None] * n_layers
    if rule == "dfa":
        for i in range(n_layers):
            if i == n_layers - 1:
                d = e
            else:
                d = torch.matmul(e, fb[i].transpose(1, 2))
                d = _dphi_mul(act, d, pres[i], acts[i + 1])
            torch.matmul(d.transpose(1, 2), acts[i], out=slot(i, "R"))
            rb[i] = d.sum(1) if bs[i] is not None else None
        return rb
    if rule == "random_nn":
        rnet, rproj, xb, sidx = rnn
        rw, rb = _random_nn_signal(rnet, rproj, xb, ws, bs, sidx)
        for i in range(n_layers):
            slot(i, "R").copy_(rw[i])
        return rb
    for i in range(n_layers):
        if rule == "oja":
            msq = pres[i].pow(2).mean(1).unsqueeze(-1)
            torch.addcmul(slot(i, "H"), msq, ws[i], value=-1.0, out=slot(i, "R"))
        elif rule == "hebb_post" and i < n_layers - 1:
            torch.matmul(acts[i + 1].transpose(1, 2), acts[i], out=slot(i, "R")).mul_(inv_b)
        else:
            slot(i, "R").copy_(slot(i, "H"))
    return rb


def _hebbian_term(out, pre, act, w, b, inv_b):
    """``H = h_bᵀ h_a / B`` (M, post, pre) into ``out``.

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
    return torch.baddbmm(out, pre.transpose(1, 2), act, beta=0.0, alpha=inv_b, out=out)


def _record(buf, sl, pnoise, ppl, rec_i, r_align, r_walign, r_wn, r_pp):
    """Alignments, weight norms and cos(W, H) of a step from one Gram matrix per layer."""
    H, G, R, U, W = sl["H"], sl["G"], sl["R"], sl["U"], sl["W"]
    E = sl.get("E")
    for i, b in enumerate(buf):
        k, m = b.shape[0], b.shape[1]
        v = b.view(k, m, -1).transpose(0, 1)
        gram = torch.bmm(v, v.transpose(1, 2))  # (M, k, k)
        hh = gram[:, H, H]
        uh, uu = gram[:, U, H], gram[:, U, U]
        if E is not None:  # the full update is U + E
            uh = uh + gram[:, E, H]
            uu = uu + 2 * gram[:, U, E] + gram[:, E, E]
        cos = torch.stack([gram[:, G, H] / (gram[:, G, G] * hh).sqrt(),
                           gram[:, R, H] / (gram[:, R, R] * hh).sqrt(),
                           uh / (uu * hh).sqrt()], -1)
        r_align[rec_i, :, i] = cos.clamp(-1.0, 1.0)
        r_wn[rec_i, :, i] = gram[:, W, W].sqrt()
        r_walign[rec_i, :, i] = (gram[:, W, H] / (gram[:, W, W] * hh).sqrt()).clamp(-1.0, 1.0)
        if i == ppl:
            h = b[H]
            upd = b[U] + b[E] if E is not None else b[U]
            hr = torch.linalg.vecdot(h, h, dim=-1)
            rows = []
            for sig in (b[G], b[R], upd):
                rows.append(torch.linalg.vecdot(sig, h, dim=-1)
                            / (torch.linalg.vecdot(sig, sig, dim=-1) * hr).sqrt())
            r_pp[rec_i] = torch.stack(rows, 1).clamp(-1.0, 1.0)


def _dphi_mul(name: str, d, z, a):
    """``d ⊙ φ'(z)`` given ``a = φ(z)``, with torch's fused backward kernels, in place."""
    if name == "tanh":
        return torch.ops.aten.tanh_backward.grad_input(d, a, grad_input=d)
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward.grad_input(d, a, grad_input=d)
    if name == "relu":
        return torch.ops.aten.threshold_backward.grad_input(d, z, 0.0, grad_input=d)
    return d


def _random_nn_signal(rnet, rproj, xb, ws, bs, sidx):
    """RandomNN's ``g = p s_dir s_red W*`` for every parameter (SPEC §4).

    The frozen tanh network maps the clean batch input of each seed to 4 numbers
    ``z`` (averaged over the batch); ``W* = A diag(z) Cᵀ`` (fixed ``A, C``) is a
    rank-4 target; ``p = 1`` if ``‖W*‖² ≤ 1`` else ``1/(‖W*‖² + 1e-8)``,
    ``s_dir = sign(100 − ‖W‖²)``, ``s_red = sign(‖W‖² − ‖W − W*‖²)``, norms per
    parameter tensor.
    """
    a = xb  # (S, B, d)
    for j, (w, b) in enumerate(rnet):
        a = torch.matmul(a, w.transpose(1, 2)) + b[:, None, :]
        if j < len(rnet) - 1:
            a = torch.tanh(a)
    z = a.mean(1)[sidx]  # (M, 4)
    rw, rb = [], []

    def signal(target, w, dims):
        t2 = target.pow(2).sum(dims)
        w2 = w.pow(2).sum(dims)
        d2 = (w - target).pow(2).sum(dims)
        p = torch.where(t2 <= 1, torch.ones_like(t2), 1.0 / (t2 + 1e-8))
        s = p * torch.sign(100 - w2) * torch.sign(w2 - d2)
        return target * s.view(-1, *([1] * len(dims)))

    for i, (a_m, c_m, a_b) in enumerate(rproj):
        target = torch.matmul(a_m * z[:, None, :], c_m.transpose(1, 2))
        rw.append(signal(target, ws[i], (1, 2)))
        if bs[i] is not None:
            rb.append(signal(torch.matmul(a_b, z[:, :, None]).squeeze(-1), bs[i], (1,)))
        else:
            rb.append(None)
    return rw, rb


def _moment_update(rule, ws, slot, buf_t, buf_g, buf_v, gd, lr, mu, t, any_decay, record):
    """Momentum SGD or Adam with coupled L2 (as torch.optim, dampening 0) into slot U.

    Momentum keeps the loss part of its buffer in slot R (the rule's signal);
    Adam writes its preconditioned loss step into slot R on recorded steps.
    """
    for i, w in enumerate(ws):
        g, u, bt = slot(i, "G"), slot(i, "U"), buf_t[i]
        sig = g
        if rule == "momentum":
            r = slot(i, "R")
            r.mul_(mu).add_(g)
            bt.mul_(mu).sub_(g)
            if any_decay:
                bt.addcmul_(w, gd[i])
            torch.mul(bt, lr, out=u).neg_()
        else:
            b1, b2 = _BETAS
            grad = torch.neg(sig)
            if any_decay:
                grad.addcmul_(w, gd[i])
            bt.mul_(b1).add_(grad, alpha=1 - b1)
            buf_v[i].mul_(b2).addcmul_(grad, grad, value=1 - b2)
            buf_g[i].mul_(b1).add_(sig, alpha=1 - b1)
            bc1, bc2 = 1 - b1**t, 1 - b2**t
            denom = (buf_v[i].sqrt() / math.sqrt(bc2)).add_(_EPS)
            torch.div(bt, denom, out=u).mul_(lr).mul_(-1.0 / bc1)
            if record:
                torch.div(buf_g[i], denom, out=slot(i, "R")).mul_(1.0 / bc1)
        w.add_(u)


def _moment_bias(rule, bs, gb, bbuf, gd, lr, mu, t):
    m = lr.shape[0]
    for i, b in enumerate(bs):
        if b is None:
            continue
        bt, bv, _ = bbuf[i]
        grad = gd[i].view(m, -1) * b - gb[i]
        if rule == "momentum":
            bt.mul_(mu).add_(grad)
            b.addcmul_(bt, lr.view(m, 1), value=-1.0)
        else:
            b1, b2 = _BETAS
            bt.mul_(b1).add_(grad, alpha=1 - b1)
            bv.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            bc1, bc2 = 1 - b1**t, 1 - b2**t
            denom = (bv.sqrt() / math.sqrt(bc2)).add_(_EPS)
            b.addcdiv_(bt * lr.view(m, 1), denom, value=-1.0 / bc1)
