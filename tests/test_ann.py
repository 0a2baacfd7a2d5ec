"""plastix.ann: configuration, analytic gradients, the engine against an autograd
reference, record_layer against an independent numpy recomputation."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from plastix.ann import TrainConfig

torch = pytest.importorskip("torch")

from plastix.alignment import alignment_per_post, cosine_alignment, hebbian_term  # noqa: E402
from plastix.ann import final_alignment, record_layer, train  # noqa: E402
from plastix.ann.engine import forward_backward  # noqa: E402
from plastix.ann.reference import train_reference  # noqa: E402
from plastix.record import delta_weight, interval_weight, validate_record  # noqa: E402

SMALL = TrainConfig(hidden=(16, 12), n_train=512, n_val=64, batch_size=64, epochs=2)


def test_config_round_trip():
    cfg = TrainConfig(rule="dfa", hidden=(8, 4), bias=True, decay_per_neuron=(1.0, 2.0),
                      clip=3.0, data_path=None)
    d = cfg.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert TrainConfig.from_dict(d) == cfg
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    # results cached before the rename of `decay` to `weight_decay` still load
    old = {**d, "decay": 0.25}
    del old["weight_decay"]
    assert TrainConfig.from_dict(old) == cfg.replace(weight_decay=0.25)
    assert cfg.effective_clip == 3.0
    assert TrainConfig(rule="random_nn").effective_clip == 1.0
    assert TrainConfig(rule="dfa").effective_clip == 5.0
    assert TrainConfig().effective_clip is None
    # batchable fields do not change the group key, others do
    assert SMALL.group_key() == SMALL.replace(weight_decay=1.0, noise=2.0, lr=0.5).group_key()
    assert SMALL.group_key() != SMALL.replace(rule="adam").group_key()


def test_import_ann_config_does_not_import_torch():
    code = ("import sys; import plastix, plastix.ann; from plastix.ann import TrainConfig; "
            "TrainConfig(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("loss_kind", ["mse", "ce"])
def test_analytic_gradient_equals_autograd(activation, loss_kind, rng):
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    sizes, m, bsz = [5, 7, 6, 4], 3, 9
    ws = [torch.randn(m, sizes[i + 1], sizes[i], generator=gen) * 0.5 for i in range(3)]
    bs = [torch.randn(m, sizes[i + 1], generator=gen) * 0.1 for i in range(3)]
    x = torch.randn(1, bsz, sizes[0], generator=gen)  # shared input, broadcast over models
    if loss_kind == "mse":
        target = torch.randn(m, bsz, sizes[-1], generator=gen)
    else:
        target = torch.randint(0, sizes[-1], (m, bsz), generator=gen)
    with torch.no_grad():
        loss, gw, gb, _, _ = forward_backward(ws, bs, x, target, activation, loss_kind)
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
           "linear": lambda z: z}[activation]
    for j in range(m):
        wj = [w[j].clone().requires_grad_(True) for w in ws]
        bj = [b[j].clone().requires_grad_(True) for b in bs]
        a = x[0]
        for i in range(3):
            a = a @ wj[i].T + bj[i]
            a = act(a) if i < 2 else a
        if loss_kind == "mse":
            lj = torch.nn.functional.mse_loss(a, target[j])
        else:
            lj = torch.nn.functional.cross_entropy(a, target[j])
        lj.backward()
        # float32 rounding of two different operation orders: rtol 1e-5, atol 1e-6
        np.testing.assert_allclose(loss[j].item(), lj.item(), rtol=1e-5)
        for i in range(3):
            np.testing.assert_allclose(gw[i][j].numpy(), -wj[i].grad.numpy(), rtol=1e-5,
                                       atol=1e-6)
            np.testing.assert_allclose(gb[i][j].numpy(), -bj[i].grad.numpy(), rtol=1e-5,
                                       atol=1e-6)


@pytest.mark.parametrize("changes", [
    {},
    {"rule": "momentum", "weight_decay": 1e-2},
    {"rule": "adam", "lr": 1e-3, "weight_decay": 1e-2},
    {"noise": 1e-2, "weight_decay": 1e-2, "bias": True},
    {"task": "sce", "rule": "sgd", "lr": 0.05, "weight_decay": 1e-3, "n_train": 20000},
])
def test_engine_equals_autograd_torch_optim_loop(changes):
    """The batched engine (analytic gradients, own optimisers) equals nn.Linear + autograd +
    torch.optim on the same data, init, order and noise: loss and gradient alignment."""
    cfg = SMALL.replace(**changes)
    ds = train(cfg, rng=11)
    ref = train_reference(cfg, rng=11)
    # float32: different summation orders, 16 steps of compounding -> rtol 1e-4
    np.testing.assert_allclose(ds.loss.values, ref["loss"], rtol=1e-4)
    np.testing.assert_allclose(ds.alignment.sel(signal="gradient").values, ref["alignment"],
                               atol=1e-4)


def test_result_layout_and_final_alignment():
    ds = train(SMALL.replace(per_post_layer=2, record_every=3, weight_decay=1e-3), rng=0)
    steps = SMALL.n_train // SMALL.batch_size * SMALL.epochs
    assert ds.alignment.dims == ("step", "layer", "signal")
    np.testing.assert_array_equal(ds.step.values, np.arange(0, steps, 3))
    np.testing.assert_array_equal(ds.layer.values, [1, 2, 3])
    assert list(ds.signal.values) == ["gradient", "rule", "update"]
    np.testing.assert_array_equal(ds.epoch.values, [0, 1, 2])
    assert ds.alignment_per_post.dims == ("step", "signal", "unit")
    assert ds.alignment_per_post.attrs["layer"] == 2 and ds.sizes["unit"] == 12
    assert np.isnan(ds.stationarity_gap.sel(epoch=0)).all()
    assert np.isfinite(ds.stationarity_gap.sel(epoch=[1, 2])).all()
    assert np.isfinite(ds.val_loss).all() and np.isfinite(ds.alignment).all()
    assert TrainConfig.from_json(ds.attrs["config"]) == SMALL.replace(
        per_post_layer=2, record_every=3, weight_decay=1e-3)
    assert ds.attrs["seed"] == 0
    # same seed, same numbers
    again = train(SMALL.replace(per_post_layer=2, record_every=3, weight_decay=1e-3), rng=0)
    np.testing.assert_array_equal(ds.alignment.values, again.alignment.values)
    fa = final_alignment(ds, last=2, signal="rule")
    np.testing.assert_allclose(fa.values,
                               ds.alignment.sel(signal="rule").values[-2:].mean(0), rtol=1e-6)
    assert fa.dims == ("layer",)
    # no decay: the stationarity gap is undefined
    assert np.isnan(train(SMALL, rng=0).stationarity_gap).all()


@pytest.mark.parametrize("rule", ["dfa", "random_nn", "oja", "hebb_pre", "hebb_post"])
def test_other_rules_train_and_record(rule):
    ds = train(SMALL.replace(rule=rule, bias=rule == "dfa", weight_decay=1e-3, per_post_layer=1),
               rng=3)
    assert np.isfinite(ds.loss).all()
    a = ds.alignment.values
    assert np.isfinite(a).all() and (np.abs(a) <= 1).all()
    if rule == "hebb_pre":  # the rule's own signal is the Hebbian term itself
        np.testing.assert_allclose(ds.alignment.sel(signal="rule").values, 1.0, atol=1e-5)
    if rule == "random_nn":
        # the signal p s_dir s_red W* has norm <= 1 (p normalises W*; clip 1 on top), so
        # each step moves ‖W‖ by at most η (1 + γ ‖W‖) (triangle inequality)
        cfg = SMALL.replace(rule=rule, weight_decay=1e-3)
        wn = ds.weight_norm.values  # (step, layer)
        bound = cfg.lr * (1.0 + cfg.weight_decay * wn[:-1]) * (1 + 1e-5)  # float32 slack
        assert np.all(np.abs(np.diff(wn, axis=0)) <= bound)
        # and the rule moves W by more than decay alone would (η γ ‖W‖ a step)
        assert np.abs(np.diff(wn, axis=0)).max() > 3 * cfg.lr * cfg.weight_decay * wn.max()


def test_record_layer_and_numpy_recomputation():
    """record_layer gives a valid record whose weights and activities reproduce the
    engine's alignments with plain numpy (SGD without noise: ĝ = ΔW/lr + γW = g)."""
    cfg = SMALL.replace(weight_decay=0.05, lr=0.05, per_post_layer=2)
    ds = train(cfg, rng=4)
    rec = record_layer(cfg, layer=2, steps=(3, 9), rng=4)
    validate_record(rec)
    bsz = cfg.batch_size
    assert rec.attrs["time_units"] == "step"
    np.testing.assert_allclose(rec.time.values[:bsz + 1],
                               np.r_[3 + np.arange(bsz) / bsz, 4.0])
    np.testing.assert_array_equal(rec.weight_time.values, np.arange(3, 10))
    assert rec.weight.shape == (7, 12, 16) and rec.pre_activity.shape == (6 * bsz, 16)
    assert rec.post_activity.attrs["kind"] == "preactivation"
    np.testing.assert_allclose(float(rec.decay), cfg.lr * cfg.weight_decay)
    dw = delta_weight(rec).values
    w = interval_weight(rec).values
    g_hat = (dw + float(rec.decay) * w) / cfg.lr  # = g for SGD without noise
    pre = rec.pre_activity.values.reshape(6, bsz, -1)
    post = rec.post_activity.values.reshape(6, bsz, -1)
    for j, k in enumerate(range(3, 9)):
        h = post[j].T @ pre[j] / bsz  # H = mean h_b h_a^T, numpy
        np.testing.assert_allclose(h, hebbian_term(pre[j], post[j]), rtol=1e-12)
        expect = ds.alignment.sel(step=k, layer=2)
        # float32 engine vs float64 numpy: atol 1e-4
        np.testing.assert_allclose(cosine_alignment(g_hat[j], h), expect.sel(signal="gradient"),
                                   atol=1e-4)
        np.testing.assert_allclose(cosine_alignment(dw[j], h), expect.sel(signal="update"),
                                   atol=1e-4)
        np.testing.assert_allclose(alignment_per_post(g_hat[j], h),
                                   ds.alignment_per_post.sel(step=k, signal="gradient"),
                                   atol=1e-4)
        np.testing.assert_allclose(np.linalg.norm(w[j]),
                                   ds.weight_norm.sel(step=k, layer=2), rtol=1e-5)
        np.testing.assert_allclose(cosine_alignment(w[j], h),
                                   ds.weight_alignment.sel(step=k, layer=2), atol=1e-4)
    # the weight decay part is a visible share of ĝ, so a wrong decay convention fails
    assert np.linalg.norm(float(rec.decay) * w[0]) > 0.1 * np.linalg.norm(dw[0])


def test_parameter_noise_update_includes_noise():
    """With parameter noise the 'update' signal is W_{k+1} − W_k (noise included), from
    record_layer weights (weights sampled before the noise of each step)."""
    cfg = SMALL.replace(noise=3e-2, weight_decay=1e-2)
    ds = train(cfg, rng=8)
    rec = record_layer(cfg, layer=1, steps=(0, 4), rng=8)
    dw = delta_weight(rec).values
    pre = rec.pre_activity.values.reshape(4, cfg.batch_size, -1)
    post = rec.post_activity.values.reshape(4, cfg.batch_size, -1)
    for k in range(4):
        np.testing.assert_allclose(cosine_alignment(dw[k], hebbian_term(pre[k], post[k])),
                                   ds.alignment.sel(step=k, layer=1, signal="update"), atol=1e-4)


def test_cifar_pickle_batches(tmp_path):
    import pickle

    gen = np.random.default_rng(0)
    for name, n in [("data_batch_1", 120), ("data_batch_2", 120), ("test_batch", 60)]:
        d = {b"data": gen.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": list(gen.integers(0, 10, n))}
        with open(tmp_path / name, "wb") as fh:
            pickle.dump(d, fh)
    cfg = TrainConfig(task="sce", data_path=str(tmp_path), hidden=(8, 8), n_train=200,
                      n_val=50, batch_size=50, epochs=1)
    ds = train(cfg, rng=0)
    assert ds.attrs["n_train"] == 200 and ds.attrs["n_val"] == 50
    assert ds.attrs["source"].startswith("cifar10:")
    assert np.isfinite(ds.loss).all()
    # 10 classes: the initial cross-entropy is near log(10)
    np.testing.assert_allclose(float(ds.val_loss[0]), np.log(10), rtol=0.2)


def test_transformer_encoder_equals_torch_nn():
    """The batched encoder equals torch.nn.TransformerEncoderLayer (post-norm, ReLU,
    4 heads, d_model 32, FF 32, no dropout) with the same weights, mean-pooled."""
    from plastix.ann import transformer
    from plastix.ann.data import streams

    p = transformer.init_encoder(streams(0)["init"])
    tokens = torch.randint(0, 16, (5, 32), generator=torch.Generator().manual_seed(1))
    with torch.random.fork_rng():  # nn layers draw their (overwritten) init globally
        layers = [torch.nn.TransformerEncoderLayer(32, 4, dim_feedforward=32, dropout=0.0,
                                                   activation="relu", batch_first=True)
                  for _ in range(2)]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            layer.self_attn.in_proj_weight.copy_(p[f"{i}.qkv_w"])
            layer.self_attn.in_proj_bias.copy_(p[f"{i}.qkv_b"])
            layer.self_attn.out_proj.weight.copy_(p[f"{i}.out_w"])
            layer.self_attn.out_proj.bias.copy_(p[f"{i}.out_b"])
            layer.linear1.weight.copy_(p[f"{i}.ff1_w"])
            layer.linear1.bias.copy_(p[f"{i}.ff1_b"])
            layer.linear2.weight.copy_(p[f"{i}.ff2_w"])
            layer.linear2.bias.copy_(p[f"{i}.ff2_b"])
            layer.norm1.weight.copy_(p[f"{i}.ln1_w"])
            layer.norm1.bias.copy_(p[f"{i}.ln1_b"])
            layer.norm2.weight.copy_(p[f"{i}.ln2_w"])
            layer.norm2.bias.copy_(p[f"{i}.ln2_b"])
            layer.eval()
        h = p["tok"][tokens] + p["pos"]
        for layer in layers:
            h = layer(h)
        ours = transformer.encode_single(p, tokens)
    # float32, different kernels (fused attention vs einsum): atol 1e-5
    np.testing.assert_allclose(ours.numpy(), h.mean(1).numpy(), atol=1e-5)


@pytest.mark.parametrize("profile", [None, (0.5, 2.0)])
def test_stationarity_gap_and_decay_profile_from_record(profile):
    """For SGD without noise, mean_k g_k − γ D mean_k W_k = mean_k ΔW_k / lr over an epoch,
    so the gap recomputed from record_layer's weights equals the engine's; with a decay
    profile D (resampled per unit), ĝ = (ΔW + lr γ D W) / lr has the engine's alignment."""
    cfg = SMALL.replace(weight_decay=0.05, lr=0.05, decay_per_neuron=profile)
    ds = train(cfg, rng=6)
    spe = ds.attrs["steps_per_epoch"]
    rec = record_layer(cfg, layer=2, steps=(spe, 2 * spe), rng=6)
    dw, w = delta_weight(rec).values, interval_weight(rec).values
    d = np.ones(12) if profile is None else np.interp(np.linspace(0, 1, 12), [0, 1], profile)
    gd = cfg.weight_decay * d[:, None]
    gap = np.linalg.norm(dw.mean(0) / cfg.lr) / np.linalg.norm(gd * w.mean(0))
    # float32 accumulation over the epoch vs float64 numpy: rtol 1e-3
    np.testing.assert_allclose(gap, float(ds.stationarity_gap.sel(epoch=2, layer=2)), rtol=1e-3)
    pre = rec.pre_activity.values.reshape(spe, cfg.batch_size, -1)
    post = rec.post_activity.values.reshape(spe, cfg.batch_size, -1)
    for j in range(spe):
        g_hat = (dw[j] + cfg.lr * gd * w[j]) / cfg.lr
        np.testing.assert_allclose(
            cosine_alignment(g_hat, hebbian_term(pre[j], post[j])),
            ds.alignment.sel(step=spe + j, layer=2, signal="gradient"), atol=1e-4)


@pytest.mark.parametrize("noise_kind", ["parameter", "gradient", "input"])
def test_stationarity_gap_from_net_change_equals_running_sum(noise_kind):
    """SGD's gap comes from the epoch's net weight change (minus the parameter noise);
    momentum with μ = 0 takes the same steps but keeps a running sum of its signal.
    The two bookkeepings must give the same gap, with every kind of noise."""
    cfg = SMALL.replace(weight_decay=0.05, lr=0.05, noise=0.02, noise_kind=noise_kind, epochs=3,
                        decay_per_neuron=(0.5, 2.0))
    sgd = train(cfg, rng=3)
    mom = train(cfg.replace(rule="momentum", momentum=0.0), rng=3)
    np.testing.assert_allclose(sgd.loss.values, mom.loss.values, rtol=1e-4)
    gap_s = sgd.stationarity_gap.isel(epoch=slice(1, None)).values
    gap_m = mom.stationarity_gap.isel(epoch=slice(1, None)).values
    assert np.all(np.isfinite(gap_s)) and np.all(gap_s > 0)
    # float32: ΣΔW/η over an epoch vs Σg accumulated step by step
    np.testing.assert_allclose(gap_s, gap_m, rtol=2e-3)


@pytest.mark.parametrize("bias", [False, True])
def test_engine_hebbian_term_shared_input_equals_direct_product(bias, rng):
    """The engine's H for a layer whose input all models share (W C + b h̄ᵀ) equals
    plastix.alignment.hebbian_term of that layer's activity, per model."""
    from plastix.ann.engine import _hebbian_term

    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    m, bsz, n_pre, n_post = 3, 64, 8, 5
    x = torch.randn(1, bsz, n_pre, generator=gen)
    w = torch.randn(m, n_post, n_pre, generator=gen)
    b = torch.randn(m, n_post, generator=gen) if bias else None
    pre = torch.matmul(x, w.transpose(1, 2)) + (b[:, None, :] if bias else 0.0)
    shared = _hebbian_term(torch.empty(m, n_post, n_pre), pre, x, w, b, 1.0 / bsz)
    direct = _hebbian_term(torch.empty(m, n_post, n_pre), pre, x.expand(m, -1, -1), w, b,
                           1.0 / bsz)
    for k in range(m):
        ref = hebbian_term(pre=x[0].double().numpy(), post=pre[k].double().numpy())
        # float32 sums of 64 products of O(1) terms: 1e-5 relative is ~100 ulp of slack
        np.testing.assert_allclose(shared[k].numpy(), ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(direct[k].numpy(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_hebb_post_signal_equals_post_activation_hebbian_term(activation, rng):
    """The engine's post-activation Hebbian signal (hebb_post: ``mean(φ(h_b) h_aᵀ)`` from the
    stored activations) equals plastix.alignment.hebbian_term with ``activation=φ``."""
    from plastix.ann.engine import _dphi_mul, forward
    from plastix.ann.rules import SignalContext, get_rule

    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    m, bsz, sizes = 2, 32, [6, 5, 4]
    ws = [torch.randn(m, sizes[i + 1], sizes[i], generator=gen) for i in range(2)]
    x = torch.randn(m, bsz, sizes[0], generator=gen)
    acts, pres, _ = forward(ws, [None, None], x, activation)
    slots = {(i, k): torch.zeros(m, sizes[i + 1], sizes[i]) for i in range(2) for k in "HR"}
    for i in range(2):
        slots[(i, "H")].copy_(pres[i].transpose(1, 2) @ acts[i] / bsz)
    ctx = SignalContext(n_layers=2, slot=lambda i, k: slots[(i, k)], acts=acts, pres=pres,
                        e=None, ws=ws, bs=[None, None], gb=None, inv_b=1.0 / bsz, xb=x,
                        sidx=None, fixed=None, dphi_mul=lambda d, z, a: _dphi_mul(activation,
                                                                                  d, z, a))
    get_rule("hebb_post").signal(ctx)
    phi = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}[activation]
    for k in range(m):
        ref = hebbian_term(pre=acts[0][k].double().numpy(), post=pres[0][k].double().numpy(),
                           activation=phi)
        # float32 sums of 32 products of O(1) terms against float64: 1e-5
        np.testing.assert_allclose(slots[(0, "R")][k].numpy(), ref, rtol=1e-5, atol=1e-5)
        # the output layer is linear: its signal is the pre-activation term
        ref_out = hebbian_term(pre=acts[1][k].double().numpy(), post=pres[1][k].double().numpy())
        np.testing.assert_allclose(slots[(1, "R")][k].numpy(), ref_out, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ the rule registry


def _scaled_gradient_rule(name, scale):
    from plastix.ann.rules import PLAIN, Rule

    def signal(ctx):
        for i in range(ctx.n_layers):
            torch.mul(ctx.slot(i, "G"), scale, out=ctx.slot(i, "R"))
        return [None if b is None else b * scale for b in ctx.gb]

    return Rule(name=name, description=f"the loss gradient times {scale}", signal=signal,
                needs_gradient=True, signal_is_gradient=False, needs_hebbian_term=False,
                step=PLAIN, default_clip=None, draw_fixed=None, batch_fixed=None,
                backprop=False)


@pytest.fixture
def toy_rules():
    from plastix.ann import rules

    names = []
    yield names
    for name in names:
        rules.unregister_rule(name)


def test_toy_rule_registered_in_one_call_trains_end_to_end(toy_rules):
    """A rule registered in one call trains through the public ``train``: the gradient
    times 1 gives SGD's numbers, and the gradient times 1/2 at twice the learning
    rate and half the decay the same trajectory, alignment and stationarity gap."""
    from plastix.ann.rules import register_rule, rule_names

    register_rule(_scaled_gradient_rule("toy_grad1", 1.0))
    register_rule(_scaled_gradient_rule("toy_half", 0.5))
    toy_rules += ["toy_grad1", "toy_half"]
    assert {"toy_grad1", "toy_half"} <= set(rule_names())
    cfg = SMALL.replace(weight_decay=1e-2, noise=1e-3, bias=True, per_post_layer=2)
    sgd = train(cfg, rng=4)
    one = train(cfg.replace(rule="toy_grad1"), rng=4)
    for name in ("loss", "alignment", "weight_norm", "stationarity_gap", "val_loss"):
        # same trajectory; the records' Gram matrix has one more slot (R apart from G),
        # so its batched products may round differently in float32: 1e-6
        np.testing.assert_allclose(one[name].values, sgd[name].values, rtol=1e-6, atol=1e-6,
                                   err_msg=name)
    half = train(cfg.replace(rule="toy_half", lr=2 * cfg.lr, weight_decay=cfg.weight_decay / 2),
                 rng=4)
    # η (g/2 − γ/2 W) with 2η is the SGD step; only float32 rounding of the products
    # differs, compounded over 16 steps: 1e-4
    np.testing.assert_allclose(half.loss.values, sgd.loss.values, rtol=1e-4)
    np.testing.assert_allclose(half.alignment.values, sgd.alignment.values, atol=1e-4)
    # the gap is ‖E[g/2] − γ/2 W‖ / ‖γ/2 W‖: SGD's (net change over η K, float32): 1e-3
    np.testing.assert_allclose(half.stationarity_gap.values, sgd.stationarity_gap.values,
                               rtol=1e-3, equal_nan=True)


def test_rule_registry_refuses_wrong_declarations():
    from plastix.ann.rules import PLAIN, Rule, get_rule, register_rule

    with pytest.raises(TypeError, match="missing"):
        Rule(name="x", description="d", signal=lambda c: [], needs_gradient=True)
    base = dict(name="x", description="d", signal=lambda c: [], needs_gradient=False,
                signal_is_gradient=True, needs_hebbian_term=False, step=PLAIN,
                default_clip=None, draw_fixed=None, batch_fixed=None, backprop=False)
    with pytest.raises(ValueError, match="needs_gradient=True"):
        Rule(**base)
    with pytest.raises(TypeError, match="`step` must be"):
        Rule(**{**base, "needs_gradient": True, "step": "plain"})
    with pytest.raises(ValueError, match="draw_fixed and batch_fixed"):
        Rule(**{**base, "needs_gradient": True, "draw_fixed": lambda *a: None})
    with pytest.raises(ValueError, match="already registered"):
        register_rule(get_rule("sgd"))
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        get_rule("adma")


def test_registry_help_names_every_rule():
    from plastix.ann.rules import registry_help, rule_names

    lines = registry_help().splitlines()
    assert [line.split(":")[0] for line in lines] == list(rule_names())
    assert all(line.split(": ", 1)[1] for line in lines)


# ------------------------------------------------------------------ no hidden state


def test_import_changes_no_torch_thread_count():
    code = ("import torch; torch.set_num_threads(2); import plastix.ann, plastix.experiments; "
            "from plastix.ann import engine, transformer, run; print(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "2"


def test_training_sets_threads_for_its_duration_and_restores_them(monkeypatch):
    from plastix.ann import engine

    before = torch.get_num_threads()
    seen = []
    real = engine.run_group

    def spy(*args, **kw):
        seen.append(torch.get_num_threads())
        return real(*args, **kw)

    monkeypatch.setattr(engine, "run_group", spy)
    cfg = SMALL.replace(epochs=1)
    train(cfg, rng=0, threads=2)
    assert seen == [2] and torch.get_num_threads() == before
    record_layer(cfg, layer=1, steps=(0, 1), rng=0)
    assert seen == [2, 1] and torch.get_num_threads() == before

    def boom(*args, **kw):
        seen.append(torch.get_num_threads())
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "run_group", boom)
    with pytest.raises(RuntimeError, match="boom"):
        train(cfg, rng=0, threads=2)
    assert seen[-1] == 2 and torch.get_num_threads() == before


def test_engine_and_loop_name_no_rule():
    """The training loops read the rules' declarations only: no registered rule's name
    appears as a string in their source."""
    import inspect
    import re as _re

    from plastix.ann import engine, loop, transformer
    from plastix.ann.rules import rule_names

    for module in (engine, loop, transformer):
        src = inspect.getsource(module)
        for name in rule_names():
            assert not _re.search(rf"[\"']{name}[\"']", src), (module.__name__, name)
