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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plastix._util.optional import import_torch
from plastix.alignment import hebbian_term
from plastix.ann import data as _data
from plastix.ann.config import TrainConfig

torch = import_torch()

__all__ = ["run_group", "SIGNALS", "forward_backward"]

SIGNALS = ("gradient", "rule", "update")
_BETAS, _EPS = (0.9, 0.999), 1e-8


def _phi(name: str, z):
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    return z


def _dphi(name: str, z, a):
    """φ'(z) given z and a = φ(z)."""
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (z > 0).to(z.dtype)
    if name == "sigmoid":
        return a * (1 - a)
    return None  # linear: derivative 1


def forward(ws, bs, x, activation: str):
    """Batched MLP forward pass.

    Parameters
    ----------
    ws : list of tensors (M, post, pre)
    bs : list of tensors (M, post) or None
    x : tensor (M or 1, B, d_in)

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
        z = torch.matmul(a, ws[i].transpose(1, 2))
        if bs[i] is not None:
            z = z + bs[i][:, None, :]
        pres.append(z)
        a = _phi(activation, z) if i < n - 1 else z
    return acts, pres, a


def loss_and_error(out, target, kind: str):
    """Per-model mean batch loss (M,) and ``e = −∂ℓ/∂out`` (M, B, d_out).

    MSE is the mean over batch and output units (``torch.nn.MSELoss``); cross-entropy
    the mean over the batch of ``−log softmax[target]``.
    """
    bsz = out.shape[1]
    if kind == "mse":
        diff = out - target
        loss = diff.pow(2).mean((1, 2))
        return loss, diff * (-2.0 / (bsz * out.shape[2]))
    logp = torch.log_softmax(out, dim=-1)
    tgt = target.expand(out.shape[0], -1) if target.shape[0] != out.shape[0] else target
    loss = -logp.gather(-1, tgt[..., None]).squeeze(-1).mean(1)
    e = -torch.exp(logp)
    e.scatter_add_(-1, tgt[..., None], torch.ones_like(e[..., :1]))
    return loss, e / bsz


def backward(ws, acts, pres, e, activation: str, *, need=None):
    """Negative gradients ``g_l = −∂ℓ/∂W_l`` and ``−∂ℓ/∂b_l`` by the chain rule.

    Returns lists ``(gw, gb, deltas)``; ``deltas[l] = −∂ℓ/∂h_b`` (M, B, post).
    """
    n = len(ws)
    gw, gb, deltas = [None] * n, [None] * n, [None] * n
    d = e
    for i in range(n - 1, -1, -1):
        deltas[i] = d
        gw[i] = torch.matmul(d.transpose(1, 2), acts[i])
        gb[i] = d.sum(1)
        if i > 0:
            d = torch.matmul(d, ws[i])
            der = _dphi(activation, pres[i - 1], acts[i])
            if der is not None:
                d = d * der
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
    ``alignment_per_post (M, R, 3, P)`` or None, ``loss (M, R)``,
    ``weight_norm (M, R, L)``, ``val_loss (M, E+1)``, ``stationarity_gap (M, E+1, L)``,
    ``steps (R,)``, plus ``n_train``, ``n_val``, ``source``, ``capture``.
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
    # decay matrix diag(D) per layer as (M, post, 1): γ D
    gd = []
    for i in range(n_layers):
        prof = _profile(base.decay_per_neuron, post_sizes[i])
        gd.append(gamma if prof is None else gamma * prof.view(1, -1, 1))
    rule = base.rule
    clip = base.effective_clip
    nk = base.noise_kind
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
        zeros = lambda: [torch.zeros_like(w) for w in ws]  # noqa: E731
        zb = lambda: [torch.zeros_like(b) if b is not None else None for b in bs]  # noqa: E731
        buf_g, buf_t, bbuf_g, bbuf_t = zeros(), zeros(), zb(), zb()
        if rule == "adam":
            buf_v, bbuf_v = zeros(), zb()

    # ---- recording buffers (preallocated, filled without Python floats)
    rec_steps = np.arange(0, n_steps, base.record_every)
    n_rec = len(rec_steps)
    ppl = None if base.per_post_layer is None else min(base.per_post_layer, n_layers) - 1
    r_align = torch.full((n_rec, m, n_layers, 3), float("nan"))
    r_pp = torch.full((n_rec, m, 3, post_sizes[ppl]), float("nan")) if ppl is not None else None
    r_loss = torch.full((n_rec, m), float("nan"))
    r_wn = torch.full((n_rec, m, n_layers), float("nan"))
    r_val = torch.full((base.epochs + 1, m), float("nan"))
    r_gap = torch.full((base.epochs + 1, m, n_layers), float("nan"))
    cap: dict[str, list] = {"pre": [], "post": [], "weight": []}

    def val_loss():
        out = torch.empty(m)
        chunk = max(1, 2_000_000 // max(1, m * max(post_sizes)))
        tot = torch.zeros(m)
        n_v = x_val.shape[1]
        for j in range(0, n_v, chunk):
            xv = x_val[:, j:j + chunk]
            xv = xv if n_seed == 1 else xv[sidx]
            _, _, o = forward(ws, bs, xv, act)
            yv = y_val[:, j:j + chunk]
            yv = yv if n_seed == 1 else yv[sidx]
            lv, _ = loss_and_error(o, yv, loss_kind)
            tot += lv * xv.shape[1]
        out[:] = tot / n_v
        return out

    def noise_draw(shape_fn):
        """Per-seed standard normal draws mapped to models: (M, *shape)."""
        z = torch.stack([torch.randn(*shape_fn, generator=g["noise"]) for g in gens])
        return z if trivial_map else z[sidx]

    with torch.no_grad():
        r_val[0] = val_loss()
        step = 0
        rec_i = 0
        flat_off = (torch.arange(n_seed) * n_tr).view(-1, 1)
        x_flat, y_flat = x_tr.reshape(n_seed * n_tr, *x_tr.shape[2:]), \
            y_tr.reshape(n_seed * n_tr, *y_tr.shape[2:])
        for epoch in range(base.epochs):
            perm = torch.stack([torch.randperm(n_tr, generator=g["order"]) for g in gens])
            perm = (perm + flat_off)
            gsum = [torch.zeros_like(w) for w in ws]
            wsum = [torch.zeros_like(w) for w in ws]
            for k in range(steps_per_epoch):
                idx = perm[:, k * bsz:(k + 1) * bsz].reshape(-1)
                xb = x_flat.index_select(0, idx).view(n_seed, bsz, *x_tr.shape[2:])
                yb = y_flat.index_select(0, idx).view(n_seed, bsz, *y_tr.shape[2:])
                if not (n_seed == 1 or trivial_map):
                    yb = yb[sidx]
                record = rec_i < n_rec and rec_steps[rec_i] == step
                capturing = capture is not None and capture[1] <= step < capture[2]
                if record:
                    w_start = [w.clone() for w in ws]
                    r_wn[rec_i] = torch.stack([torch.linalg.vecdot(w, w, dim=-1).sum(-1).sqrt()
                                               for w in ws], dim=-1)
                if capturing:
                    cap["weight"].append(ws[capture[0]][0].clone())
                # ---- noise on parameters / inputs
                if any_noise and nk == "parameter":
                    for i in range(n_layers):
                        ws[i].addcmul_(noise_draw(ws[i].shape[1:]), sigma)
                        if bs[i] is not None:
                            bs[i].addcmul_(noise_draw(bs[i].shape[1:]), sigma.view(m, 1))
                if any_noise and nk == "input":
                    z = noise_draw((bsz, xb.shape[2]))
                    xm = (xb if n_seed == 1 or trivial_map else xb[sidx]) + sigma * z
                else:
                    xm = xb if n_seed == 1 or trivial_map else xb[sidx]
                # ---- forward, loss, gradient
                acts, pres, out = forward(ws, bs, xm, act)
                loss, e = loss_and_error(out, yb, loss_kind)
                need_grad = rule in ("sgd", "momentum", "adam") or record
                if need_grad:
                    gw, gb, _ = backward(ws, acts, pres, e, act)
                hs = None
                if record or rule in ("oja", "hebb_pre", "hebb_post"):
                    hs = [hebbian_term(acts[i], pres[i]) for i in range(n_layers)]
                if capturing:
                    cap["pre"].append(acts[capture[0]][0].clone())
                    cap["post"].append(pres[capture[0]][0].clone())
                # ---- the rule's signal
                if rule in ("sgd", "momentum", "adam"):
                    rw, rb = list(gw), list(gb)
                elif rule == "dfa":
                    rw, rb = [None] * n_layers, [None] * n_layers
                    for i in range(n_layers):
                        if i == n_layers - 1:
                            d = e
                        else:
                            d = torch.matmul(e, fb[i].transpose(1, 2))
                            der = _dphi(act, pres[i], acts[i + 1])
                            if der is not None:
                                d = d * der
                        rw[i] = torch.matmul(d.transpose(1, 2), acts[i])
                        rb[i] = d.sum(1)
                elif rule == "random_nn":
                    rw, rb = _random_nn_signal(rnet, rproj, xb, ws, bs, sidx, n_seed)
                else:
                    rw, rb = [], []
                    for i in range(n_layers):
                        if rule == "oja":
                            msq = pres[i].pow(2).mean(1).unsqueeze(-1)
                            rw.append(hs[i] - msq * ws[i])
                        elif rule == "hebb_post" and i < n_layers - 1:
                            rw.append(hebbian_term(acts[i], acts[i + 1]))
                        else:
                            rw.append(hs[i])
                        rb.append(None)
                if any_noise and nk == "gradient":
                    rw = [r + sigma * noise_draw(r.shape[1:]) for r in rw]
                    rb = [r + sigma.view(m, 1) * noise_draw(r.shape[1:]) if r is not None
                          else None for r in rb]
                if clip is not None:
                    sq = sum(torch.linalg.vecdot(r, r, dim=-1).sum(-1) for r in rw)
                    sq = sq + sum(r.pow(2).sum(-1) for r in rb if r is not None)
                    coef = (clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
                    rw = [r * coef.view(m, 1, 1) for r in rw]
                    rb = [r * coef.view(m, 1) if r is not None else None for r in rb]
                # ---- stationarity-gap accumulators (signal balanced by decay, weights used)
                sig_gap = gw if rule in ("momentum", "adam") else rw
                for i in range(n_layers):
                    gsum[i] += sig_gap[i]
                    wsum[i] += ws[i]
                # ---- apply the step
                if rule in ("momentum", "adam"):
                    _moment_step(rule, ws, bs, rw, rb, gd, gamma, lr, base.momentum,
                                 buf_g, buf_t, bbuf_g, bbuf_t,
                                 buf_v if rule == "adam" else None,
                                 bbuf_v if rule == "adam" else None, step + 1)
                    rsig = buf_g
                    if rule == "adam":
                        rsig = _adam_rule(buf_g, buf_v, step + 1)
                else:
                    for i in range(n_layers):
                        if any_decay:
                            ws[i].mul_(1 - lr * gd[i])
                        ws[i].addcmul_(rw[i], lr)
                        if bs[i] is not None:
                            if any_decay:
                                bs[i].mul_(1 - (lr * gd[i]).view(m, -1))
                            if rb[i] is not None:
                                bs[i].addcmul_(rb[i], lr.view(m, 1))
                        if rule in ("hebb_pre", "hebb_post"):
                            ws[i].mul_(row0[i] / ws[i].norm(dim=-1, keepdim=True))
                    rsig = rw
                # ---- record
                if record:
                    cols, pp = [], None
                    for i in range(n_layers):
                        h = hs[i]
                        hh = torch.linalg.vecdot(h, h, dim=-1)
                        dw = ws[i] - w_start[i]
                        trip = []
                        for s_i, sig in enumerate((gw[i], rsig[i], dw)):
                            sh = torch.linalg.vecdot(sig, h, dim=-1)
                            ss = torch.linalg.vecdot(sig, sig, dim=-1)
                            trip.append(sh.sum(-1) / (ss.sum(-1) * hh.sum(-1)).sqrt())
                            if i == ppl:
                                if pp is None:
                                    pp = []
                                pp.append(sh / (ss * hh).sqrt())
                        cols.append(torch.stack(trip, -1))
                    r_align[rec_i] = torch.stack(cols, 1).clamp(-1, 1)
                    if pp is not None:
                        r_pp[rec_i] = torch.stack(pp, 1).clamp(-1, 1)
                    r_loss[rec_i] = loss
                    rec_i += 1
                if capturing and step + 1 == capture[2]:
                    cap["weight"].append(ws[capture[0]][0].clone())
                step += 1
                if progress is not None and step % 50 == 0:
                    progress(50)
            r_val[epoch + 1] = val_loss()
            for i in range(n_layers):
                mg, mw = gsum[i] / steps_per_epoch, wsum[i] / steps_per_epoch
                target = gd[i] * mw
                num = (mg - target).flatten(1).norm(dim=1)
                den = target.flatten(1).norm(dim=1)
                gap = num / den
                gap[gamma.view(-1) == 0] = float("nan")
                r_gap[epoch + 1, :, i] = gap
        if progress is not None and step % 50:
            progress(step % 50)
    return {
        "alignment": r_align.transpose(0, 1).numpy(),
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


def _random_nn_signal(rnet, rproj, xb, ws, bs, sidx, n_seed):
    """RandomNN's ``g = p(W*) s_dir(W) s_red(W, W*) W*`` for every parameter (SPEC §4)."""
    a = xb  # (S, B, d): the clean batch input of each seed
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


def _moment_step(rule, ws, bs, rw, rb, gd, gamma, lr, mu, buf_g, buf_t, bbuf_g, bbuf_t,
                 buf_v, bbuf_v, t):
    """Momentum SGD or Adam with coupled L2, exactly as torch.optim (dampening 0)."""
    m = ws[0].shape[0]
    for i in range(len(ws)):
        for par, sig, bg, bt, bv, dec in (
            (ws[i], rw[i], buf_g[i], buf_t[i], None if buf_v is None else buf_v[i], gd[i]),
            (bs[i], rb[i], bbuf_g[i], bbuf_t[i], None if bbuf_v is None else bbuf_v[i],
             None if bs[i] is None else gd[i].view(m, -1)),
        ):
            if par is None:
                continue
            grad = dec * par - sig  # full gradient incl. coupled L2
            lr_p = lr if par.dim() == 3 else lr.view(m, 1)
            if rule == "momentum":
                bg.mul_(mu).add_(sig)
                bt.mul_(mu).add_(grad)
                par.addcmul_(bt, lr_p, value=-1.0)
            else:
                b1, b2 = _BETAS
                bg.mul_(b1).add_(sig, alpha=1 - b1)
                bt.mul_(b1).add_(grad, alpha=1 - b1)
                bv.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                bc1, bc2 = 1 - b1**t, 1 - b2**t
                denom = (bv.sqrt() / math.sqrt(bc2)).add_(_EPS)
                par.addcdiv_(bt * lr_p, denom, value=-1.0 / bc1)


def _adam_rule(buf_g, buf_v, t):
    b1, b2 = _BETAS
    bc1, bc2 = 1 - b1**t, 1 - b2**t
    return [(g / bc1) / ((v.sqrt() / math.sqrt(bc2)) + _EPS) for g, v in zip(buf_g, buf_v,
                                                                               strict=True)]
