"""The registry of ANN learning rules: each rule is one :class:`Rule` entry (no torch here).

A rule provides its signal and *declares* what the training loop needs from it;
:mod:`plastix.ann.engine` and :mod:`plastix.ann.transformer` read only these
declarations and never compare rule names.  Adding a rule is one call::

    from plastix.ann.rules import Rule, PLAIN, register_rule

    def half_gradient(ctx):                      # the signal g, into slot "R"
        for i in range(ctx.n_layers):
            ctx.slot(i, "R").copy_(ctx.slot(i, "G")).mul_(0.5)
        return [None if b is None else 0.5 * b for b in ctx.gb]   # bias signals

    register_rule(Rule(name="half_sgd", description="half the loss gradient",
                       signal=half_gradient, needs_gradient=True, signal_is_gradient=False,
                       needs_hebbian_term=False, step=PLAIN, default_clip=None,
                       draw_fixed=None, batch_fixed=None, backprop=False))

after which ``TrainConfig(rule="half_sgd")`` trains with it.  Every field of
:class:`Rule` is required (a missing one is a ``TypeError``) and checked for
consistency, because a wrong declaration would silently corrupt the stationarity
gap (which is computed from the net weight change for :data:`PLAIN` steps and
from a running sum of the balanced signal otherwise).

What a rule declares
--------------------
``signal(ctx) -> list``
    Writes the rule's weight signal ``g_l`` (M, post, pre) into ``ctx.slot(l, "R")``
    for every layer and returns the bias signals (a list with one (M, post) tensor
    or None per layer).  ``ctx`` is a :class:`SignalContext`.  A rule whose signal
    *is* the loss gradient (``signal_is_gradient=True``) leaves slot R alone: it
    is the gradient slot G.  A rule whose step filters the gradient itself
    (``step.filters_gradient``) returns the bias gradients and leaves slot R to
    the step.
``needs_gradient``
    The loss gradient (slot G, ``ctx.gb``) is computed on every step (otherwise
    only on recorded steps, where the gradient alignment is measured).
``signal_is_gradient``
    The rule's signal equals the loss gradient ``G`` (gradient noise is then added
    to a copy); requires ``needs_gradient``.
``needs_hebbian_term``
    The signal reads the Hebbian term ``ctx.slot(l, "H")`` (computed every step).
``step``
    :data:`PLAIN` (``W ← W + η (g − γ D W)``), :data:`NORMALISED` (the plain step,
    then every row rescaled to its initial norm) or an optimiser step
    (:data:`MOMENTUM`, :data:`ADAM`) that filters the loss gradient itself.
``default_clip``
    Gradient-norm clip of the signal when ``TrainConfig.clip`` is None.
``draw_fixed(gen, sizes, config)`` / ``batch_fixed(per_seed, per_model)``
    Fixed tensors of the rule (DFA's feedback matrices, RandomNN's frozen net):
    drawn from the seed's init generator after the student's weights, and
    stacked over seeds/models for the engine (``ctx.fixed``).  Both or neither.
``backprop``
    The rule trains any differentiable model from the loss gradient, so it may
    train the transformer task's encoder.

Built-in rules
--------------
The signal ``g`` of each, per layer with input ``h_a`` and pre-activation ``h_b``:

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plastix._util.registry import Registry

__all__ = ["Rule", "Step", "SignalContext", "PLAIN", "NORMALISED", "MOMENTUM", "ADAM",
           "register_rule", "get_rule", "rule_names", "registry_help"]

_BETAS, _EPS = (0.9, 0.999), 1e-8


def _torch():
    from plastix.ann.data import torch

    return torch


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, kw_only=True)
class Step:
    """How the weights move given the rule's signal.

    Parameters
    ----------
    name, description : str
    plain : bool
        The step is exactly ``W ← W + η (R − γ D W)`` after parameter noise, so an
        epoch's mean signal is read off the net weight change.
    normalise_rows : bool
        After the plain step every row of ``W`` is rescaled to its initial norm.
    filters_gradient : bool
        An optimiser: it keeps its own state, filters the loss gradient ``G``
        (the signal decay balances) and writes the rule signal into slot R.
    init_state, update, update_bias : callable or None
        The optimiser (only when ``filters_gradient``): ``init_state(params,
        biases)``, ``update(ws, slot, state, gd, lr, mu, t, any_decay, record)``
        (weights, writes slot U then applies it) and ``update_bias(bs, gb, state,
        gd, lr, mu, t)``.
    """

    name: str
    description: str
    plain: bool
    normalise_rows: bool
    filters_gradient: bool
    init_state: Callable | None
    update: Callable | None
    update_bias: Callable | None

    def __post_init__(self) -> None:
        funcs = (self.init_state, self.update, self.update_bias)
        if self.filters_gradient != all(f is not None for f in funcs) or \
                any(f is not None for f in funcs) != self.filters_gradient:
            raise ValueError(f"Step {self.name!r}: an optimiser step (filters_gradient=True) "
                             "must give init_state, update and update_bias; other steps none.")
        if self.filters_gradient and (self.plain or self.normalise_rows):
            raise ValueError(f"Step {self.name!r}: an optimiser step is neither plain nor "
                             "normalised.")
        if self.plain and self.normalise_rows:
            raise ValueError(f"Step {self.name!r}: a normalised step is not plain (the "
                             "rescaling is not W + η (g − γ D W)).")


def _moment_state(ws, bs, n_buffers):
    torch = _torch()
    return {"w": [[torch.zeros_like(w) for _ in range(n_buffers)] for w in ws],
            "b": [None if b is None else [torch.zeros_like(b) for _ in range(3)] for b in bs]}


def _momentum_update(ws, slot, state, gd, lr, mu, t, any_decay, record):
    """Momentum SGD with coupled L2 (``torch.optim.SGD``, dampening 0), into slot U.

    The loss part of the momentum buffer is kept in slot R (the rule's signal).
    """
    torch = _torch()
    for i, w in enumerate(ws):
        g, u, r = slot(i, "G"), slot(i, "U"), slot(i, "R")
        bt = state["w"][i][0]
        r.mul_(mu).add_(g)
        bt.mul_(mu).sub_(g)
        if any_decay:
            bt.addcmul_(w, gd[i])
        torch.mul(bt, lr, out=u).neg_()
        w.add_(u)


def _adam_update(ws, slot, state, gd, lr, mu, t, any_decay, record):
    """Adam with coupled L2 (``torch.optim.Adam(weight_decay=γ)``), into slot U.

    On recorded steps the preconditioned loss step ``m̂_g / (√v̂ + ε)`` goes into slot R.
    """
    import math

    torch = _torch()
    b1, b2 = _BETAS
    bc1, bc2 = 1 - b1**t, 1 - b2**t
    for i, w in enumerate(ws):
        sig, u = slot(i, "G"), slot(i, "U")
        bt, buf_g, buf_v = state["w"][i]
        grad = torch.neg(sig)
        if any_decay:
            grad.addcmul_(w, gd[i])
        bt.mul_(b1).add_(grad, alpha=1 - b1)
        buf_v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        buf_g.mul_(b1).add_(sig, alpha=1 - b1)
        denom = (buf_v.sqrt() / math.sqrt(bc2)).add_(_EPS)
        torch.div(bt, denom, out=u).mul_(lr).mul_(-1.0 / bc1)
        if record:
            torch.div(buf_g, denom, out=slot(i, "R")).mul_(1.0 / bc1)
        w.add_(u)


def _momentum_bias(bs, gb, state, gd, lr, mu, t):
    m = lr.shape[0]
    for i, b in enumerate(bs):
        if b is None:
            continue
        bt = state["b"][i][0]
        grad = gd[i].view(m, -1) * b - gb[i]
        bt.mul_(mu).add_(grad)
        b.addcmul_(bt, lr.view(m, 1), value=-1.0)


def _adam_bias(bs, gb, state, gd, lr, mu, t):
    import math

    m = lr.shape[0]
    b1, b2 = _BETAS
    bc1, bc2 = 1 - b1**t, 1 - b2**t
    for i, b in enumerate(bs):
        if b is None:
            continue
        bt, bv, _ = state["b"][i]
        grad = gd[i].view(m, -1) * b - gb[i]
        bt.mul_(b1).add_(grad, alpha=1 - b1)
        bv.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (bv.sqrt() / math.sqrt(bc2)).add_(_EPS)
        b.addcdiv_(bt * lr.view(m, 1), denom, value=-1.0 / bc1)


PLAIN = Step(name="plain", description="W ← W + η (g − γ D W)", plain=True,
             normalise_rows=False, filters_gradient=False, init_state=None, update=None,
             update_bias=None)
NORMALISED = Step(name="normalised", description="the plain step, then every row of W "
                  "rescaled to its initial norm", plain=False, normalise_rows=True,
                  filters_gradient=False, init_state=None, update=None, update_bias=None)
MOMENTUM = Step(name="momentum", description="heavy-ball momentum on the loss gradient with "
                "coupled L2", plain=False, normalise_rows=False, filters_gradient=True,
                init_state=lambda ws, bs: _moment_state(ws, bs, 1), update=_momentum_update,
                update_bias=_momentum_bias)
ADAM = Step(name="adam", description="Adam on the loss gradient with coupled L2",
            plain=False, normalise_rows=False, filters_gradient=True,
            init_state=lambda ws, bs: _moment_state(ws, bs, 3), update=_adam_update,
            update_bias=_adam_bias)


# --------------------------------------------------------------------------- rules


@dataclass
class SignalContext:
    """What a rule's ``signal`` may read on one step (tensors have the model axis first).

    ``slot(l, name)``: the layer-``l`` buffers ``"H"`` (Hebbian term), ``"G"`` (loss
    gradient, when computed), ``"R"`` (write the signal here); ``acts[l]`` the layer
    input ``h_a`` (M|1, B, pre); ``pres[l]`` the pre-activation ``h_b`` (M, B, post);
    ``e = −∂ℓ/∂out``; ``ws``, ``bs`` the weights and biases; ``gb`` the bias
    gradients (or None); ``inv_b = 1/B``; ``xb`` the clean batch input per seed
    (S, B, d); ``sidx`` the seed index of each model; ``fixed`` the rule's fixed
    tensors (``batch_fixed``); ``dphi_mul(d, z, a)`` is ``d ⊙ φ'(z)`` (``a = φ(z)``).
    """

    n_layers: int
    slot: Callable
    acts: list
    pres: list
    e: Any
    ws: list
    bs: list
    gb: list | None
    inv_b: float
    xb: Any
    sidx: Any
    fixed: Any
    dphi_mul: Callable


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One learning rule: its signal and what the training loop needs (all required).

    See the module docstring for the meaning of each field.
    """

    name: str
    description: str
    signal: Callable[[SignalContext], list]
    needs_gradient: bool
    signal_is_gradient: bool
    needs_hebbian_term: bool
    step: Step
    default_clip: float | None
    draw_fixed: Callable | None
    batch_fixed: Callable | None
    backprop: bool

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Rule `name` must be an identifier-like string; got {self.name!r}.")
        if not isinstance(self.description, str) or not self.description.strip() or \
                "\n" in self.description:
            raise ValueError(f"Rule {self.name!r}: `description` must be one non-empty line.")
        for flag in ("needs_gradient", "signal_is_gradient", "needs_hebbian_term", "backprop"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"Rule {self.name!r}: `{flag}` must be a bool; got "
                                f"{getattr(self, flag)!r}.")
        if not isinstance(self.step, Step):
            raise TypeError(f"Rule {self.name!r}: `step` must be a plastix.ann.rules.Step "
                            f"(PLAIN, NORMALISED, MOMENTUM, ADAM); got {self.step!r}.")
        if not callable(self.signal):
            raise TypeError(f"Rule {self.name!r}: `signal` must be callable.")
        if (self.signal_is_gradient or self.step.filters_gradient or self.backprop) and \
                not self.needs_gradient:
            raise ValueError(f"Rule {self.name!r}: a rule whose signal is the gradient, whose "
                             "step filters the gradient or that trains by backprop must set "
                             "needs_gradient=True.")
        if self.signal_is_gradient and not self.step.plain:
            raise ValueError(f"Rule {self.name!r}: signal_is_gradient needs the PLAIN step (an "
                             "optimiser step writes its own signal into slot R).")
        if self.backprop and not (self.signal_is_gradient or self.step.filters_gradient):
            raise ValueError(f"Rule {self.name!r}: backprop=True needs a signal that is the "
                             "loss gradient or an optimiser step.")
        if (self.draw_fixed is None) != (self.batch_fixed is None):
            raise ValueError(f"Rule {self.name!r}: give both draw_fixed and batch_fixed, or "
                             "neither.")
        if self.default_clip is not None and not (isinstance(self.default_clip, (int, float))
                                                  and self.default_clip > 0):
            raise ValueError(f"Rule {self.name!r}: `default_clip` must be None or a positive "
                             f"number; got {self.default_clip!r}.")


_RULES: Registry[Rule] = Registry("rule", Rule, "rule")


def register_rule(rule: Rule, *, replace: bool = False) -> Rule:
    """Add ``rule`` to the registry (a duplicate name is a ValueError unless ``replace``)."""
    return _RULES.register(rule, replace=replace)


def unregister_rule(name: str) -> Rule:
    """Remove a registered rule (tests use it to clean up toy rules)."""
    return _RULES.unregister(name)


def rule_names() -> tuple[str, ...]:
    """Names of the registered rules, in registration order."""
    return _RULES.names()


def get_rule(name: str) -> Rule:
    """The registered rule ``name``; an unknown name is a ValueError with "did you mean"."""
    return _RULES.get(name)


def registry_help() -> str:
    """One ``name: description`` line per registered rule (for CLI help texts)."""
    return _RULES.help()


# ------------------------------------------------------------------ built-in signals


def _gradient_signal(ctx: SignalContext) -> list:
    """The loss gradient: slot R is G, or is filled by the optimiser step."""
    return list(ctx.gb)


def _dfa_signal(ctx: SignalContext) -> list:
    """``δ_l h_aᵀ`` with ``δ_L = e`` and ``δ_l = (B_l e) ⊙ φ'(h_b)`` (fixed random B_l)."""
    torch = _torch()
    n = ctx.n_layers
    rb = [None] * n
    for i in range(n):
        if i == n - 1:
            d = ctx.e
        else:
            d = torch.matmul(ctx.e, ctx.fixed[i].transpose(1, 2))
            d = ctx.dphi_mul(d, ctx.pres[i], ctx.acts[i + 1])
        torch.matmul(d.transpose(1, 2), ctx.acts[i], out=ctx.slot(i, "R"))
        rb[i] = d.sum(1) if ctx.bs[i] is not None else None
    return rb


def _dfa_draw(gen, sizes, config):
    from plastix.ann.data import linear_init

    # Fixed random feedback B_l: (post_l, d_out), PyTorch-Linear-like scale 1/sqrt(d_out).
    return [linear_init(sizes[i + 1], sizes[-1], gen, bias=False)[0]
            for i in range(len(sizes) - 2)]


def _dfa_batch(per_seed, per_model):
    torch = _torch()
    return [per_model(torch.stack([f[i] for f in per_seed])) for i in range(len(per_seed[0]))]


def _random_nn_signal(ctx: SignalContext) -> list:
    """RandomNN's ``g = p s_dir s_red W*`` for every parameter (SPEC §4).

    The frozen tanh network maps the clean batch input of each seed to 4 numbers
    ``z`` (averaged over the batch); ``W* = A diag(z) Cᵀ`` (fixed ``A, C``) is a
    rank-4 target; ``p = 1`` if ``‖W*‖² ≤ 1`` else ``1/(‖W*‖² + 1e-8)``,
    ``s_dir = sign(100 − ‖W‖²)``, ``s_red = sign(‖W‖² − ‖W − W*‖²)``, norms per
    parameter tensor.
    """
    torch = _torch()
    rnet, rproj = ctx.fixed
    a = ctx.xb  # (S, B, d)
    for j, (w, b) in enumerate(rnet):
        a = torch.matmul(a, w.transpose(1, 2)) + b[:, None, :]
        if j < len(rnet) - 1:
            a = torch.tanh(a)
    z = a.mean(1)[ctx.sidx]  # (M, 4)

    def signal(target, w, dims):
        t2 = target.pow(2).sum(dims)
        w2 = w.pow(2).sum(dims)
        d2 = (w - target).pow(2).sum(dims)
        p = torch.where(t2 <= 1, torch.ones_like(t2), 1.0 / (t2 + 1e-8))
        s = p * torch.sign(100 - w2) * torch.sign(w2 - d2)
        return target * s.view(-1, *([1] * len(dims)))

    rb = []
    for i, (a_m, c_m, a_b) in enumerate(rproj):
        target = torch.matmul(a_m * z[:, None, :], c_m.transpose(1, 2))
        ctx.slot(i, "R").copy_(signal(target, ctx.ws[i], (1, 2)))
        if ctx.bs[i] is not None:
            rb.append(signal(torch.matmul(a_b, z[:, :, None]).squeeze(-1), ctx.bs[i], (1,)))
        else:
            rb.append(None)
    return rb


def _random_nn_draw(gen, sizes, config):
    from plastix.ann.data import RNN_HIDDEN, RNN_OUT, linear_init

    torch = _torch()
    rsizes = [sizes[0], *RNN_HIDDEN, RNN_OUT]
    net = [linear_init(rsizes[i + 1], rsizes[i], gen, bias=True) for i in range(len(rsizes) - 1)]
    # Per parameter a fixed random projection of the 4 numbers z to a rank-4 target
    # W* = A diag(z) C^T (A: post x 4, C: pre x 4, entries N(0, 1)); b* = a z.
    proj = []
    for i in range(len(sizes) - 1):
        a_m = torch.randn(sizes[i + 1], RNN_OUT, generator=gen)
        c_m = torch.randn(sizes[i], RNN_OUT, generator=gen)
        a_b = torch.randn(sizes[i + 1], RNN_OUT, generator=gen) if config.bias else None
        proj.append((a_m, c_m, a_b))
    return {"net": net, "proj": proj}


def _random_nn_batch(per_seed, per_model):
    torch = _torch()
    first = per_seed[0]
    # the frozen net is applied per seed; the projections per model
    rnet = [(torch.stack([f["net"][j][0] for f in per_seed]),
             torch.stack([f["net"][j][1] for f in per_seed])) for j in range(len(first["net"]))]
    rproj = [tuple(per_model(torch.stack([f["proj"][i][k] for f in per_seed]))
                   if first["proj"][i][k] is not None else None for k in range(3))
             for i in range(len(first["proj"]))]
    return rnet, rproj


def _oja_signal(ctx: SignalContext) -> list:
    """``mean(h_b h_aᵀ) − diag(mean h_b²) W`` (Oja's rule per unit); biases only decay."""
    torch = _torch()
    for i in range(ctx.n_layers):
        msq = ctx.pres[i].pow(2).mean(1).unsqueeze(-1)
        torch.addcmul(ctx.slot(i, "H"), msq, ctx.ws[i], value=-1.0, out=ctx.slot(i, "R"))
    return [None] * ctx.n_layers


def _hebb_pre_signal(ctx: SignalContext) -> list:
    """``mean(h_b h_aᵀ)``, the Hebbian term itself; biases only decay."""
    for i in range(ctx.n_layers):
        ctx.slot(i, "R").copy_(ctx.slot(i, "H"))
    return [None] * ctx.n_layers


def _hebb_post_signal(ctx: SignalContext) -> list:
    """``mean(φ(h_b) h_aᵀ)`` (the output layer is linear: ``H``); biases only decay."""
    torch = _torch()
    n = ctx.n_layers
    for i in range(n):
        if i < n - 1:
            torch.matmul(ctx.acts[i + 1].transpose(1, 2), ctx.acts[i],
                         out=ctx.slot(i, "R")).mul_(ctx.inv_b)
        else:
            ctx.slot(i, "R").copy_(ctx.slot(i, "H"))
    return [None] * n


_GRAD = dict(signal=_gradient_signal, needs_gradient=True, needs_hebbian_term=False,
             default_clip=None, draw_fixed=None, batch_fixed=None, backprop=True)
_LOCAL = dict(needs_gradient=False, signal_is_gradient=False, default_clip=None,
              draw_fixed=None, batch_fixed=None, backprop=False)

for _rule in (
    Rule(name="sgd", description="stochastic gradient descent on the loss",
         signal_is_gradient=True, step=PLAIN, **_GRAD),
    Rule(name="momentum", description="SGD with heavy-ball momentum (TrainConfig.momentum)",
         signal_is_gradient=False, step=MOMENTUM, **_GRAD),
    Rule(name="adam", description="Adam (betas 0.9, 0.999; eps 1e-8) with coupled L2",
         signal_is_gradient=False, step=ADAM, **_GRAD),
    Rule(name="dfa", description="direct feedback alignment (fixed random feedback)",
         signal=_dfa_signal, needs_gradient=False, signal_is_gradient=False,
         needs_hebbian_term=False, step=PLAIN, default_clip=5.0, draw_fixed=_dfa_draw,
         batch_fixed=_dfa_batch, backprop=False),
    Rule(name="random_nn", description="a frozen random network's rank-4 targets",
         signal=_random_nn_signal, needs_gradient=False, signal_is_gradient=False,
         needs_hebbian_term=False, step=PLAIN, default_clip=1.0, draw_fixed=_random_nn_draw,
         batch_fixed=_random_nn_batch, backprop=False),
    Rule(name="oja", description="Oja's rule per unit", signal=_oja_signal,
         needs_hebbian_term=True, step=PLAIN, **_LOCAL),
    Rule(name="hebb_pre", description="normalised Hebbian learning on the pre-activation",
         signal=_hebb_pre_signal, needs_hebbian_term=True, step=NORMALISED, **_LOCAL),
    Rule(name="hebb_post", description="normalised Hebbian learning on the activation",
         signal=_hebb_post_signal, needs_hebbian_term=True, step=NORMALISED, **_LOCAL),
):
    register_rule(_rule)
del _rule
