"""Tasks, initialisations and the per-seed random streams of a training run.

Everything random about a run comes from its integer ``seed`` through three
independent ``torch.Generator`` streams (:func:`streams`):

* ``init``: teacher, data set, student initialisation, DFA feedback matrices and
  the RandomNN's frozen network and projections, drawn in that fixed order (so
  runs with the same seed but different rules share teacher, data and
  initial weights);
* ``order``: one permutation of the training set per epoch;
* ``noise``: the injected noise.

Drawing noise (or not) therefore never changes the data order or the initial
weights, which is what makes a batched sweep equal to one-at-a-time training.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from plastix._util.optional import import_torch
from plastix.ann.config import TrainConfig
from plastix.ann.rules import get_rule

torch = import_torch()

__all__ = ["streams", "linear_init", "make_task", "SRE_DIM", "RNN_OUT"]

SRE_DIM = 32  # SRE input and output width
RNN_OUT = 4  # RandomNN: the frozen network maps a batch to 4 numbers
RNN_HIDDEN = (128, 128, 128)
VOCAB, SEQ_LEN, EMBED, HEADS, FF = 16, 32, 32, 4, 32  # transformer variant (SPEC §4)


def streams(seed: int) -> dict[str, Any]:
    """The three independent torch generators (``init``, ``order``, ``noise``) of a seed."""
    children = np.random.SeedSequence(int(seed)).spawn(3)
    out = {}
    for name, child in zip(("init", "order", "noise"), children, strict=True):
        g = torch.Generator()
        g.manual_seed(int(child.generate_state(1, dtype=np.uint64)[0] % (2**63 - 1)))
        out[name] = g
    return out


def linear_init(n_out: int, n_in: int, gen, *, bias: bool, scale: float = 1.0):
    """PyTorch's default ``nn.Linear`` initialisation, drawn from ``gen``.

    ``kaiming_uniform_(a=√5)`` reduces to ``U(−1/√n_in, 1/√n_in)`` for the weight,
    and the bias uses the same bound.  Returns ``(W (n_out, n_in), b (n_out,) or None)``.
    """
    bound = 1.0 / np.sqrt(n_in)
    w = (torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound * scale
    b = (torch.rand(n_out, generator=gen) * 2 - 1) * bound * scale if bias else None
    return w, b


def _act(name: str):
    return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
            "linear": lambda x: x}[name]


def _mlp_forward(params, x, activation: str):
    f = _act(activation)
    a = x
    for i, (w, b) in enumerate(params):
        a = a @ w.T + (b if b is not None else 0.0)
        if i < len(params) - 1:
            a = f(a)
    return a


def _load_cifar(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"`data_path` {path!r} is not a folder; point it to the extracted "
            "'cifar-10-batches-py' folder (data_batch_1 ... data_batch_5, test_batch).")

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        f = folder / name
        if not f.exists():
            raise FileNotFoundError(f"`data_path` {path!r} has no CIFAR-10 batch {name!r}; "
                                    "expected data_batch_1 ... data_batch_5 and test_batch.")
        with open(f, "rb") as fh:
            d = pickle.load(fh, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.float32) / 255.0
        y = np.asarray(d[b"labels"], dtype=np.int64)
        return x, y

    train = [read(n) for n in sorted(p.name for p in folder.glob("data_batch_*"))]
    if not train:
        raise FileNotFoundError(f"`data_path` {path!r} holds no data_batch_* files.")
    xt = np.concatenate([t[0] for t in train])
    yt = np.concatenate([t[1] for t in train])
    xv, yv = read("test_batch")
    return xt, yt, xv, yv


def _classification(config: TrainConfig, gen) -> dict[str, Any]:
    if config.data_path is not None:
        xt, yt, xv, yv = _load_cifar(config.data_path)
        pt = torch.randperm(len(xt), generator=gen).numpy()[: config.n_train]
        pv = torch.randperm(len(xv), generator=gen).numpy()[: config.n_val]
        xt, yt, xv, yv = xt[pt], yt[pt], xv[pv], yv[pv]
        source = f"cifar10:{config.data_path}"
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        x = np.asarray(d.data, dtype=np.float32) / 16.0
        y = np.asarray(d.target, dtype=np.int64)
        perm = torch.randperm(len(x), generator=gen).numpy()
        n_val = min(config.n_val, len(x) // 5)
        n_train = min(config.n_train, len(x) - n_val)
        xv, yv = x[perm[:n_val]], y[perm[:n_val]]
        xt, yt = x[perm[n_val:n_val + n_train]], y[perm[n_val:n_val + n_train]]
        source = "sklearn.datasets.load_digits"
    if config.batch_size > len(xt):
        raise ValueError(f"`batch_size` ({config.batch_size}) must be <= the number of training "
                         f"samples available ({len(xt)}) for task='sce'.")
    mean, sd = xt.mean(0), xt.std(0)
    sd[sd == 0] = 1.0
    xt, xv = (xt - mean) / sd, (xv - mean) / sd
    n_class = int(max(yt.max(), yv.max()) + 1)
    return {"x_train": torch.from_numpy(xt), "y_train": torch.from_numpy(yt),
            "x_val": torch.from_numpy(xv), "y_val": torch.from_numpy(yv),
            "d_in": xt.shape[1], "d_out": n_class, "source": source}


def make_task(config: TrainConfig, seed: int) -> dict[str, Any]:
    """Data, initial student parameters and rule constants of one seed.

    Returns
    -------
    dict
        ``x_train (n, d_in)``, ``y_train`` (``(n, d_out)`` float targets, or ``(n,)``
        class labels), ``x_val``, ``y_val``, ``d_in``, ``d_out``, ``params`` (list of
        ``(W, b)`` of the student MLP, float32), ``fixed`` (the rule's fixed
        tensors, :attr:`plastix.ann.rules.Rule.draw_fixed`: DFA's feedback matrices,
        RandomNN's frozen network and projections), ``encoder`` (transformer task: encoder
        parameters of the student), ``source``.
    """
    gen = streams(seed)["init"]
    out: dict[str, Any] = {}
    if config.task == "sce":
        out.update(_classification(config, gen))
        d_in, d_out = out["d_in"], out["d_out"]
    else:
        d_in = d_out = SRE_DIM
        sizes = [d_in, *config.hidden, d_out]
        n = config.n_train + config.n_val
        if config.task == "sre":
            teacher = [linear_init(sizes[i + 1], sizes[i], gen, bias=config.bias)
                       for i in range(len(sizes) - 1)]
            x = torch.randn(n, d_in, generator=gen)
            with torch.no_grad():
                y = _mlp_forward(teacher, x, config.activation)
        else:
            from plastix.ann import transformer

            teacher_enc = transformer.init_encoder(gen)
            teacher = [linear_init(sizes[i + 1], sizes[i], gen, bias=config.bias)
                       for i in range(len(sizes) - 1)]
            x = torch.randint(0, VOCAB, (n, SEQ_LEN), generator=gen)
            with torch.no_grad():
                feats = transformer.encode_single(teacher_enc, x)
                y = _mlp_forward(teacher, feats, config.activation)
        out.update({"x_train": x[: config.n_train], "y_train": y[: config.n_train],
                    "x_val": x[config.n_train:], "y_val": y[config.n_train:],
                    "d_in": d_in, "d_out": d_out, "source": config.task})
    sizes = [d_in, *config.hidden, d_out]
    if config.task == "sre_transformer":
        from plastix.ann import transformer

        out["encoder"] = transformer.init_encoder(gen)
    out["params"] = [linear_init(sizes[i + 1], sizes[i], gen, bias=config.bias,
                                 scale=config.init_scale) for i in range(len(sizes) - 1)]
    rule = get_rule(config.rule)
    if rule.draw_fixed is not None:
        out["fixed"] = rule.draw_fixed(gen, sizes, config)
    return out
