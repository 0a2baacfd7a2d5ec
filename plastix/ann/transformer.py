"""The transformer variant of the SRE (SPEC §4), batched over models with autograd.

Input: token sequences (vocabulary 16, length 32, tokens i.i.d. uniform).  Encoder:
token embedding (16 × 32, ``N(0, 1)`` like ``nn.Embedding``) plus a learned
positional embedding (32 × 32, ``N(0, 1)``), then 2 post-norm encoder layers like
``nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=32,
activation="relu", dropout=0)``: ``h ← LN(h + MHA(h))``, ``h ← LN(h + FF(h))``.
The sequence is mean-pooled into the SRE MLP (32 → 128 → 128 → 32).  The teacher
is the same architecture randomly drawn.  The encoder and the MLP are trained
by the same rule (any rule with ``backprop=True``: SGD, momentum or Adam, coupled
L2 decay and parameter noise on every parameter); alignment is measured on the
MLP's weight matrices.
Gradients come from autograd (the loss of the batch of models is the sum of
their losses, so each model receives its own gradient).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from plastix.ann import data as _data
from plastix.ann.config import TrainConfig
from plastix.ann.engine import forward, loss_and_error, plain_update
from plastix.ann.loop import Checkpoint, Group, Recorder, copy_state, stationarity_gap, train_loop
from plastix.ann.rules import get_rule

torch = _data.torch

__all__ = ["init_encoder", "encode", "encode_single", "run_group"]

_V, _T, _D, _NH, _FF = _data.VOCAB, _data.SEQ_LEN, _data.EMBED, _data.HEADS, _data.FF


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
              capture: tuple[int, int, int] | None = None,
              checkpoint: Checkpoint | None = None) -> dict[str, Any]:
    """Train transformer-SRE models together; same outputs as :func:`engine.run_group`.

    The loop, the records and the rule's step are the engine's
    (:func:`plastix.ann.loop.train_loop`, :class:`plastix.ann.loop.Recorder`, the
    rule's :class:`plastix.ann.rules.Step`); only the gradient comes from autograd,
    and every parameter (encoder and MLP) takes the step.  The stationarity gap
    is always the running sum of the loss gradient (which decay balances for
    every backprop rule).
    """
    group = Group(configs, seeds)
    trainer = _TransformerTrainer(group)
    rec = trainer.rec = Recorder(group, [w.shape[1] for w in trainer.ws], capture)
    train_loop(group, trainer, rec, progress, checkpoint)
    return rec.result(group, "sre_transformer")


def _per_param(p, t):
    """A per-model (M,) tensor shaped to broadcast over the parameter ``p`` (M, ...)."""
    return t.view(-1, *([1] * (p.dim() - 1)))


def _cosines(sig, h):
    """Whole-matrix and row-wise cosines of ``sig`` and ``h`` (M, post, pre)."""
    dot = torch.linalg.vecdot(sig, h, dim=-1)
    ss, hh = torch.linalg.vecdot(sig, sig, dim=-1), torch.linalg.vecdot(h, h, dim=-1)
    return dot.sum(-1) / (ss.sum(-1) * hh.sum(-1)).sqrt(), dot / (ss * hh).sqrt()


class _TransformerTrainer:
    """Encoder and MLP parameters of a batch of models, trained by autograd gradients."""

    def __init__(self, g: Group):
        base = g.base
        self.g, self.kind = g, get_rule(base.rule).step
        n = g.n_layers
        self.enc = {k: g.stacked(lambda t, k=k: t["encoder"][k]) for k in g.tasks[0]["encoder"]}
        self.ws = [g.stacked(lambda t, i=i: t["params"][i][0]) for i in range(n)]
        self.bs = [g.stacked(lambda t, i=i: t["params"][i][1]) if base.bias else None
                   for i in range(n)]
        self.params = list(self.enc.values()) + self.ws + [b for b in self.bs if b is not None]
        for p in self.params:
            p.requires_grad_(True)
        self.n_w = len(self.enc)
        lr, gamma = g.lr.view(-1), g.gamma.view(-1)
        self.lr = [_per_param(p, lr) for p in self.params]
        self.gd = [_per_param(p, gamma) for p in self.params]
        self.lgd = [_per_param(p, lr * gamma) for p in self.params]
        self.any_decay = bool((gamma > 0).any())
        self.any_noise = bool((g.sigma > 0).any())
        # slots per parameter: G (−gradient), R (the rule's signal; G for plain steps), U
        self.slots = []
        for p in self.params:
            gs = torch.zeros_like(p, requires_grad=False)
            rs = gs if not self.kind.filters_gradient else torch.zeros_like(gs)
            self.slots.append({"G": gs, "R": rs, "U": torch.zeros_like(gs)})
        self.opt = ([self.kind.init_state([p.detach()], []) for p in self.params]
                    if self.kind.filters_gradient else None)

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs at an epoch's end (see the engine's trainer)."""
        return {"params": [p.detach() for p in self.params], "opt": self.opt,
                "R": ([sl["R"] for sl in self.slots] if self.kind.filters_gradient
                      else None)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` into the existing tensors."""
        copy_state(self.params, state["params"])
        copy_state(self.opt, state["opt"])
        if state["R"] is not None:
            copy_state([sl["R"] for sl in self.slots], state["R"])

    def val_loss(self):
        """Mean validation loss per model, in chunks of 512 samples."""
        g = self.g
        with torch.no_grad():
            tot = torch.zeros(g.m)
            for j in range(0, g.x_val.shape[1], 512):
                u = encode(self.enc, g.to_models(g.x_val[:, j:j + 512]))
                _, _, o = forward(self.ws, self.bs, u, g.base.activation)
                lv, _ = loss_and_error(o, g.to_models(g.y_val[:, j:j + 512]), "mse")
                tot += lv * u.shape[1]
            return tot / g.x_val.shape[1]

    def epoch_start(self) -> None:
        """Reset the running sums of the gradient and the weights."""
        self.gsum = [torch.zeros_like(w, requires_grad=False) for w in self.ws]
        self.wsum = [torch.zeros_like(w, requires_grad=False) for w in self.ws]

    def epoch_gap(self):
        """The epoch's stationarity gap per model and layer (M, L)."""
        g, spe = self.g, self.g.steps_per_epoch
        gaps = []
        for i in range(g.n_layers):
            mg, mw = self.gsum[i] / spe, self.wsum[i] / spe
            target = g.gamma * mw
            gaps.append(stationarity_gap(mg - target, target, g.gamma))
        return torch.stack(gaps, 1)

    def step(self, step: int, xb, yb, record: bool, capturing: bool) -> None:
        """One step of every model: noise, autograd gradient, the rule's step, records."""
        g, rec, ws = self.g, self.rec, self.ws
        xb = g.to_models(xb)
        with torch.no_grad():
            w_start = [w.detach().clone() for w in ws]
            if capturing:
                rec.cap["weight"].append(ws[rec.capture[0]][0].detach().clone())
            if self.any_noise:
                for p in self.params:
                    p.add_(g.noise_draw(p.shape[1:]) * _per_param(p, g.sigma.view(-1)))
            w_from = [w.detach().clone() for w in ws]  # after parameter noise
        for p in self.params:
            p.grad = None
        acts, pres, out = forward(ws, self.bs, encode(self.enc, xb), g.base.activation)
        loss = (out - yb).pow(2).mean((1, 2))
        loss.sum().backward()
        with torch.no_grad():
            for p, sl in zip(self.params, self.slots, strict=True):
                torch.neg(p.grad, out=sl["G"])
            for i, w in enumerate(ws):
                self.gsum[i] += self.slots[self.n_w + i]["G"]
                self.wsum[i] += w
            self._update(step, record)
            if record:
                self._record(acts, pres, w_start, w_from, loss)
            if capturing:
                rec.cap["pre"].append(acts[rec.capture[0]][0].detach().clone())
                rec.cap["post"].append(pres[rec.capture[0]][0].detach().clone())
                if step + 1 == rec.capture[2]:
                    rec.cap["weight"].append(ws[rec.capture[0]][0].detach().clone())

    def _update(self, step: int, record: bool) -> None:
        """The rule's step on every parameter (the engine's step code, one parameter at a time)."""
        kind, mu = self.kind, self.g.base.momentum
        for j, p in enumerate(self.params):
            sl = self.slots[j]
            if kind.filters_gradient:
                kind.update([p], lambda i, name, sl=sl: sl[name], self.opt[j], [self.gd[j]],
                            self.lr[j], mu, step + 1, self.any_decay, record)
            else:
                plain_update(p, sl["R"], self.lr[j], self.lgd[j], self.any_decay)

    def _record(self, acts, pres, w_start, w_from, loss) -> None:
        """Alignments (gradient, rule, update), weight norms and cos(W, H) of the MLP layers."""
        rec, bsz = self.rec, self.g.bsz
        pp = []
        for i in range(self.g.n_layers):
            h = pres[i].detach().transpose(1, 2) @ acts[i].detach() / bsz
            sl = self.slots[self.n_w + i]
            for s_i, sig in enumerate((sl["G"], sl["R"], self.ws[i] - w_start[i])):
                c, c_pp = _cosines(sig, h)
                rec.align[rec.i, :, i, s_i] = c.clamp(-1, 1)
                if i == rec.ppl:
                    pp.append(c_pp.clamp(-1, 1))
            rec.wnorm[rec.i, :, i] = w_from[i].flatten(1).norm(dim=1)
            rec.walign[rec.i, :, i] = _cosines(w_from[i], h)[0].clamp(-1, 1)
        if pp:
            rec.per_post[rec.i] = torch.stack(pp, 1)
        rec.loss[rec.i] = loss.detach()
        rec.i += 1
