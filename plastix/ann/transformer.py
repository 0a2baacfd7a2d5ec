"""The transformer variant of the SRE (SPEC §4), batched over models with autograd.

Input: token sequences (vocabulary 16, length 32, tokens i.i.d. uniform).  Encoder:
token embedding (16 × 32, ``N(0, 1)`` like ``nn.Embedding``) plus a learned
positional embedding (32 × 32, ``N(0, 1)``), then 2 post-norm encoder layers like
``nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=32,
activation="relu", dropout=0)``: ``h ← LN(h + MHA(h))``, ``h ← LN(h + FF(h))``.
The sequence is mean-pooled into the SRE MLP (32 → 128 → 128 → 32).  The teacher
is the same architecture randomly drawn.  The encoder and the MLP are trained
by the same rule (SGD, momentum or Adam, coupled L2 decay and parameter noise on
every parameter); alignment is measured on the MLP's weight matrices.
Gradients come from autograd (the loss of the batch of models is the sum of
their losses, so each model receives its own gradient).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plastix.ann import data as _data
from plastix.ann.config import TrainConfig

torch = _data.torch

__all__ = ["init_encoder", "encode", "encode_single", "run_group"]

_V, _T, _D, _NH, _FF = _data.VOCAB, _data.SEQ_LEN, _data.EMBED, _data.HEADS, _data.FF
_BETAS, _EPS = (0.9, 0.999), 1e-8


def init_encoder(gen) -> dict[str, Any]:
    """Encoder parameters of one model, drawn from ``gen`` (PyTorch default inits)."""
    p = {"tok": torch.randn(_V, _D, generator=gen), "pos": torch.randn(_T, _D, generator=gen)}
    for layer in range(2):
        w, b = _data.linear_init(3 * _D, _D, gen, bias=True)
        p[f"{layer}.qkv_w"], p[f"{layer}.qkv_b"] = w, b
        w, b = _data.linear_init(_D, _D, gen, bias=True)
        p[f"{layer}.out_w"], p[f"{layer}.out_b"] = w, b
        w, b = _data.linear_init(_FF, _D, gen, bias=True)
        p[f"{layer}.ff1_w"], p[f"{layer}.ff1_b"] = w, b
        w, b = _data.linear_init(_D, _FF, gen, bias=True)
        p[f"{layer}.ff2_w"], p[f"{layer}.ff2_b"] = w, b
        for ln in ("ln1", "ln2"):
            p[f"{layer}.{ln}_w"] = torch.ones(_D)
            p[f"{layer}.{ln}_b"] = torch.zeros(_D)
    return p


def _ln(h, w, b):
    return torch.nn.functional.layer_norm(h, (h.shape[-1],)) * w[:, None, None, :] \
        + b[:, None, None, :]


def encode(p: dict[str, Any], tokens):
    """Batched encoder: parameters with a leading model dim ``M``; tokens (M|1, B, T).

    Returns the mean-pooled features (M, B, 32).
    """
    m = p["tok"].shape[0]
    onehot = torch.nn.functional.one_hot(tokens, _V).to(p["tok"].dtype)
    if onehot.shape[0] == 1:  # tokens shared by every model: one matmul
        h = torch.einsum("btv,mvd->mbtd", onehot[0], p["tok"])
    else:
        h = torch.einsum("mbtv,mvd->mbtd", onehot, p["tok"])
    h = h + p["pos"][:, None]
    bsz = h.shape[1]
    dh = _D // _NH
    for layer in range(2):
        g = lambda k, layer=layer: p[f"{layer}.{k}"]  # noqa: E731
        qkv = torch.einsum("mbtd,med->mbte", h, g("qkv_w")) + g("qkv_b")[:, None, None]
        q, k, v = qkv.split(_D, dim=-1)
        q = q.reshape(m, bsz, _T, _NH, dh).transpose(2, 3)
        k = k.reshape(m, bsz, _T, _NH, dh).transpose(2, 3)
        v = v.reshape(m, bsz, _T, _NH, dh).transpose(2, 3)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        o = (att @ v).transpose(2, 3).reshape(m, bsz, _T, _D)
        o = torch.einsum("mbtd,med->mbte", o, g("out_w")) + g("out_b")[:, None, None]
        h = _ln(h + o, g("ln1_w"), g("ln1_b"))
        f = torch.relu(torch.einsum("mbtd,med->mbte", h, g("ff1_w")) + g("ff1_b")[:, None, None])
        f = torch.einsum("mbtd,med->mbte", f, g("ff2_w")) + g("ff2_b")[:, None, None]
        h = _ln(h + f, g("ln2_w"), g("ln2_b"))
    return h.mean(2)


def encode_single(p: dict[str, Any], tokens, chunk: int = 2048):
    """Features (n, 32) of one model's encoder for tokens (n, T), in chunks."""
    pb = {k: v[None] for k, v in p.items()}
    outs = [encode(pb, tokens[None, i:i + chunk])[0] for i in range(0, tokens.shape[0], chunk)]
    return torch.cat(outs)


def run_group(configs: Sequence[TrainConfig], seeds: Sequence[int], *,
              progress: Callable[[int], None] | None = None,
              capture: tuple[int, int, int] | None = None) -> dict[str, Any]:
    """Train transformer-SRE models together; same outputs as :func:`engine.run_group`."""
    from plastix.ann.engine import forward, loss_and_error

    base = configs[0]
    m = len(configs)
    useeds = list(dict.fromkeys(int(s) for s in seeds))
    n_seed = len(useeds)
    sidx = torch.tensor([useeds.index(int(s)) for s in seeds])
    tasks = [_data.make_task(base, s) for s in useeds]
    gens = [_data.streams(s) for s in useeds]
    x_tr = torch.stack([t["x_train"] for t in tasks])
    y_tr = torch.stack([t["y_train"] for t in tasks])
    x_val = torch.stack([t["x_val"] for t in tasks])
    y_val = torch.stack([t["y_val"] for t in tasks])
    n_tr, bsz = x_tr.shape[1], base.batch_size
    per_epoch = n_tr // bsz
    n_steps = per_epoch * base.epochs
    n_layers = len(tasks[0]["params"])
    to_m = (lambda t: t) if n_seed == 1 else (lambda t: t[sidx])
    enc = {k: torch.stack([t["encoder"][k] for t in tasks])[sidx].clone()
           for k in tasks[0]["encoder"]}
    ws = [torch.stack([t["params"][i][0] for t in tasks])[sidx].clone() for i in range(n_layers)]
    bs = [torch.stack([t["params"][i][1] for t in tasks])[sidx].clone() if base.bias else None
          for i in range(n_layers)]
    params = list(enc.values()) + ws + [b for b in bs if b is not None]
    for p in params:
        p.requires_grad_(True)
    vec = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
    lr, gamma, sigma = (vec([getattr(c, k) for c in configs]) for k in ("lr", "decay", "noise"))
    shape = lambda p, t: t.view(-1, *([1] * (p.dim() - 1)))  # noqa: E731
    state = [dict(t=torch.zeros_like(p), g=torch.zeros_like(p), v=torch.zeros_like(p))
             for p in params]
    rec_steps = np.arange(0, n_steps, base.record_every)
    n_rec = len(rec_steps)
    ppl = None if base.per_post_layer is None else min(base.per_post_layer, n_layers) - 1
    nan = float("nan")
    r_align = torch.full((n_rec, m, n_layers, 3), nan)
    r_walign = torch.full((n_rec, m, n_layers), nan)
    r_pp = torch.full((n_rec, m, 3, ws[ppl].shape[1]), nan) if ppl is not None else None
    r_loss = torch.full((n_rec, m), nan)
    r_wn = torch.full((n_rec, m, n_layers), nan)
    r_val = torch.full((base.epochs + 1, m), nan)
    r_gap = torch.full((base.epochs + 1, m, n_layers), nan)
    cap: dict[str, list] = {"pre": [], "post": [], "weight": []}

    def val_loss():
        with torch.no_grad():
            tot = torch.zeros(m)
            for j in range(0, x_val.shape[1], 512):
                u = encode(enc, to_m(x_val[:, j:j + 512]))
                _, _, o = forward(ws, bs, u, base.activation)
                lv, _ = loss_and_error(o, to_m(y_val[:, j:j + 512]), "mse")
                tot += lv * u.shape[1]
            return tot / x_val.shape[1]

    def cosines(sig, h):
        dot = torch.linalg.vecdot(sig, h, dim=-1)
        ss, hh = torch.linalg.vecdot(sig, sig, dim=-1), torch.linalg.vecdot(h, h, dim=-1)
        return dot.sum(-1) / (ss.sum(-1) * hh.sum(-1)).sqrt(), dot / (ss * hh).sqrt()

    r_val[0] = val_loss()
    step = rec_i = 0
    n_w = len(enc)
    for epoch in range(base.epochs):
        perm = torch.stack([torch.randperm(n_tr, generator=g["order"]) for g in gens])
        gsum = [torch.zeros_like(w) for w in ws]
        wsum = [torch.zeros_like(w) for w in ws]
        for k in range(per_epoch):
            idx = perm[:, k * bsz:(k + 1) * bsz]
            xb = to_m(torch.stack([x_tr[s, idx[s]] for s in range(n_seed)]))
            yb = to_m(torch.stack([y_tr[s, idx[s]] for s in range(n_seed)]))
            record = rec_i < n_rec and rec_steps[rec_i] == step
            capturing = capture is not None and capture[1] <= step < capture[2]
            with torch.no_grad():
                w_start = [w.detach().clone() for w in ws]
                if capturing:
                    cap["weight"].append(ws[capture[0]][0].detach().clone())
                if base.noise > 0 or bool((sigma > 0).any()):
                    for p in params:
                        z = torch.stack([torch.randn(p.shape[1:], generator=g["noise"])
                                         for g in gens])[sidx]
                        p.add_(z * shape(p, sigma))
                w_from = [w.detach().clone() for w in ws]  # after parameter noise
            for p in params:
                p.grad = None
            u = encode(enc, xb)
            acts, pres, out = forward(ws, bs, u, base.activation)
            loss = (out - yb).pow(2).mean((1, 2))
            loss.sum().backward()
            with torch.no_grad():
                grads = [p.grad for p in params]
                for i in range(n_layers):
                    gsum[i] -= grads[n_w + i]
                    wsum[i] += ws[i]
                t = step + 1
                for j, (p, g) in enumerate(zip(params, grads, strict=True)):
                    st = state[j]
                    full = g + shape(p, gamma) * p
                    if base.rule == "sgd":
                        upd = -shape(p, lr) * full
                        st["g"] = -g
                    elif base.rule == "momentum":
                        st["t"].mul_(base.momentum).add_(full)
                        st["g"].mul_(base.momentum).sub_(g)
                        upd = -shape(p, lr) * st["t"]
                    else:
                        b1, b2 = _BETAS
                        st["t"].mul_(b1).add_(full, alpha=1 - b1)
                        st["v"].mul_(b2).addcmul_(full, full, value=1 - b2)
                        st["g"].mul_(b1).add_(-g, alpha=1 - b1)
                        denom = (st["v"].sqrt() / math.sqrt(1 - b2**t)).add_(_EPS)
                        upd = -shape(p, lr) * st["t"] / denom / (1 - b1**t)
                        st["rule"] = st["g"] / denom / (1 - b1**t)
                    p.add_(upd)
                if record:
                    pp = []
                    for i in range(n_layers):
                        h = pres[i].detach().transpose(1, 2) @ acts[i].detach() / bsz
                        st = state[n_w + i]
                        rule_sig = st.get("rule", st["g"]) if base.rule == "adam" else st["g"]
                        sigs = (-grads[n_w + i], rule_sig, ws[i] - w_start[i])
                        for s_i, sig in enumerate(sigs):
                            c, c_pp = cosines(sig, h)
                            r_align[rec_i, :, i, s_i] = c.clamp(-1, 1)
                            if i == ppl:
                                pp.append(c_pp.clamp(-1, 1))
                        r_wn[rec_i, :, i] = w_from[i].flatten(1).norm(dim=1)
                        r_walign[rec_i, :, i] = cosines(w_from[i], h)[0].clamp(-1, 1)
                    if pp:
                        r_pp[rec_i] = torch.stack(pp, 1)
                    r_loss[rec_i] = loss.detach()
                    rec_i += 1
                if capturing:
                    cap["pre"].append(acts[capture[0]][0].detach().clone())
                    cap["post"].append(pres[capture[0]][0].detach().clone())
                    if step + 1 == capture[2]:
                        cap["weight"].append(ws[capture[0]][0].detach().clone())
            step += 1
            if progress is not None and step % 50 == 0:
                progress(50)
        r_val[epoch + 1] = val_loss()
        for i in range(n_layers):
            mg, mw = gsum[i] / per_epoch, wsum[i] / per_epoch
            target = gamma.view(-1, 1, 1) * mw
            gap = (mg - target).flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1)
            gap[gamma == 0] = nan
            r_gap[epoch + 1, :, i] = gap
    if progress is not None and step % 50:
        progress(step % 50)
    return {
        "alignment": r_align.transpose(0, 1).numpy(),
        "weight_alignment": r_walign.transpose(0, 1).numpy(),
        "alignment_per_post": None if r_pp is None else r_pp.transpose(0, 1).numpy(),
        "per_post_layer": None if ppl is None else ppl + 1,
        "loss": r_loss.T.numpy(), "weight_norm": r_wn.transpose(0, 1).numpy(),
        "val_loss": r_val.T.numpy(), "stationarity_gap": r_gap.transpose(0, 1).numpy(),
        "steps": rec_steps, "n_train": int(n_tr), "n_val": int(x_val.shape[1]),
        "steps_per_epoch": int(per_epoch), "source": "sre_transformer",
        "capture": None if capture is None else {k: torch.stack(v).numpy()
                                                 for k, v in cap.items() if v},
    }
