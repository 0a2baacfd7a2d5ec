"""The training configuration: one frozen, validated dataclass (no torch import here)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from plastix._util.errors import check_choice, did_you_mean
from plastix._util.validate import check_int, check_number
from plastix.ann.rules import get_rule, rule_names

__all__ = ["TrainConfig", "TASKS", "ACTIVATIONS", "NOISE_KINDS", "BATCHABLE"]

TASKS = ("sre", "sce", "sre_transformer")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
NOISE_KINDS = ("parameter", "input", "gradient")
#: Fields that may differ between the models trained together in one batch.
BATCHABLE = ("lr", "weight_decay", "noise")
#: Old spellings of fields, still read by :meth:`TrainConfig.from_dict` (cached results).
LEGACY_FIELDS = {"decay": "weight_decay"}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run of an artificial network (SPEC §4).

    Parameters
    ----------
    task : {"sre", "sce", "sre_transformer"}
        ``"sre"``: teacher-student regression, MLP 32 → hidden → 32, MSE loss,
        isotropic Gaussian inputs, the teacher a different random draw of the
        student architecture.  ``"sce"``: classification with cross-entropy; the
        embedded default is scikit-learn's digits (64-d, 10 classes, 1797 images),
        or CIFAR-10 read from the python-pickle batches in ``data_path``.
        ``"sre_transformer"``: token sequences (vocabulary 16, length 32, uniform
        random tokens), a 2-layer, 4-head transformer encoder with 32-d
        embeddings and a ReLU feed-forward of 32, mean-pooled into the SRE MLP;
        the teacher is the same architecture randomly drawn.  Alignment is
        measured on the MLP layers.
    rule : str
        A registered learning rule (:func:`plastix.ann.rules.rule_names`: "sgd",
        "momentum", "adam", "dfa", "random_nn", "oja", "hebb_pre", "hebb_post" built
        in; see :mod:`plastix.ann.rules` for the exact signal and step of each).
    activation : {"tanh", "relu", "sigmoid", "linear"}
        Hidden-layer non-linearity (the output layer is linear).
    hidden : tuple of int
        Hidden widths; the SRE is ``32 → 128 → 128 → 32``.
    bias : bool
        Give every layer a bias (the paper's DFA uses biases).
    lr : float
        Learning rate ``η`` (per step).
    batch_size, epochs, n_train, n_val : int
        Samples per step, passes over the training set (the last incomplete batch of
        an epoch is dropped: ``n_train // batch_size`` steps per epoch), training and
        validation set sizes.  For data sets smaller than ``n_train + n_val`` the
        validation set is ``min(n_val, N // 5)`` samples and training uses the rest
        (the sizes used are stored in the result's attributes).
    weight_decay : float
        The per-step L2 coefficient ``γ`` (dimensionless, per unit learning rate;
        ``weight_decay`` of ``torch.optim``): the step is
        ``ΔW = η (g − γ D W)`` for SGD-like rules.  Adam uses *coupled* L2 like
        ``torch.optim.Adam(weight_decay=γ)``: ``γ D W`` is added to the loss
        gradient before the moments, as in the paper's PyTorch setup.
    decay_per_neuron : tuple of float, optional
        A non-uniform weight-decay profile ``D`` (multiplies ``γ`` per postsynaptic unit).
        It is resampled by linear interpolation onto each layer's postsynaptic
        units (so one profile serves layers of different widths; it is used as is
        where the lengths match).
    noise : float
        Noise SD ``σ``.
    noise_kind : {"parameter", "input", "gradient"}
        ``"parameter"``: ``N(0, σ²)`` added to every parameter at the start of each
        step (it stays: the step is taken from the perturbed weights, SPEC §3).
        ``"input"``: added to the training inputs (targets stay clean).
        ``"gradient"``: added to the rule's signal ``g`` before clipping.
    momentum : float
        Momentum coefficient of the ``"momentum"`` rule (PyTorch convention,
        no dampening).
    clip : float, optional
        Gradient-norm clip of the rule's signal over all parameters of a model;
        default the rule's ``default_clip`` (5 for DFA, 1 for RandomNN, none otherwise).
    record_every : int
        Record alignment, loss and weight norms every ``k`` steps (step 0 first).
    data_path : str, optional
        Folder with the CIFAR-10 python batches (``data_batch_1`` …, ``test_batch``)
        for ``task="sce"``.
    per_post_layer : int, optional
        The layer (1-based) whose per-postsynaptic-unit alignment is stored in
        ``alignment_per_post`` (dims ``step, signal, unit``); ``None`` (default)
        stores none: for the SRE it is 1.5 kB per step and run, 0.7 GB for the
        121-run Fig. 4 grid.  Clamped to the number of layers.
    init_scale : float
        Multiplies the student's PyTorch-default initial weights (paper Fig. 6).
    """

    task: str = "sre"
    rule: str = "sgd"
    activation: str = "tanh"
    hidden: tuple[int, ...] = (128, 128)
    bias: bool = False
    lr: float = 0.01
    batch_size: int = 256
    epochs: int = 50
    n_train: int = 20000
    n_val: int = 2000
    weight_decay: float = 0.0
    decay_per_neuron: tuple[float, ...] | None = None
    noise: float = 0.0
    noise_kind: str = "parameter"
    momentum: float = 0.9
    clip: float | None = None
    record_every: int = 1
    data_path: str | None = None
    per_post_layer: int | None = None
    init_scale: float = 1.0

    def __post_init__(self) -> None:
        check_choice("task", self.task, TASKS)
        get_rule(self.rule)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("noise_kind", self.noise_kind, NOISE_KINDS)
        hidden = self.hidden
        if isinstance(hidden, int) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)):
            raise TypeError(f"`hidden` must be a tuple of ints (hidden widths); got "
                            f"{type(self.hidden).__name__} {self.hidden!r}.")
        hidden = tuple(check_int(f"hidden[{i}]", h, low=1) for i, h in enumerate(hidden))
        object.__setattr__(self, "hidden", hidden)
        if not isinstance(self.bias, bool):
            raise TypeError(f"`bias` must be a bool; got {type(self.bias).__name__}.")
        object.__setattr__(self, "lr", check_number("lr", self.lr, low=0.0, strict=True))
        for name, minimum in (("batch_size", 1), ("epochs", 1), ("n_train", 1), ("n_val", 1),
                              ("record_every", 1)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), low=minimum))
        if self.task != "sce" and self.batch_size > self.n_train:
            raise ValueError(f"`batch_size` ({self.batch_size}) must be <= `n_train` "
                             f"({self.n_train}); otherwise no step is taken.")
        object.__setattr__(self, "weight_decay",
                           check_number("weight_decay", self.weight_decay, low=0.0))
        object.__setattr__(self, "noise", check_number("noise", self.noise, low=0.0))
        object.__setattr__(self, "momentum", check_number("momentum", self.momentum, low=0.0))
        if self.momentum >= 1:
            raise ValueError(f"`momentum` must be in [0, 1); got {self.momentum}.")
        object.__setattr__(self, "init_scale",
                           check_number("init_scale", self.init_scale, low=0.0, strict=True))
        if self.clip is not None:
            object.__setattr__(self, "clip",
                               check_number("clip", self.clip, low=0.0, strict=True))
        if self.decay_per_neuron is not None:
            prof = self.decay_per_neuron
            if not isinstance(prof, (tuple, list)) or len(prof) == 0:
                raise TypeError("`decay_per_neuron` must be a non-empty tuple of floats (one "
                                f"decay multiplier per postsynaptic unit); got {prof!r}.")
            prof = tuple(check_number(f"decay_per_neuron[{i}]", v, low=0.0)
                         for i, v in enumerate(prof))
            object.__setattr__(self, "decay_per_neuron", prof)
        if self.per_post_layer is not None:
            object.__setattr__(self, "per_post_layer",
                               check_int("per_post_layer", self.per_post_layer, low=1))
        if self.data_path is not None:
            if not isinstance(self.data_path, str):
                object.__setattr__(self, "data_path", str(self.data_path))
            if self.task != "sce":
                raise ValueError(f"`data_path` is only used by task='sce' (CIFAR-10); got "
                                 f"task={self.task!r}.")
        if self.task == "sre_transformer":
            if not get_rule(self.rule).backprop:
                backprop = [n for n in rule_names() if get_rule(n).backprop]
                raise ValueError(
                    f"`rule` must be one of {', '.join(map(repr, backprop))} for "
                    f"task='sre_transformer' (the encoder is trained by backpropagation); got "
                    f"{self.rule!r}.")
            unsupported = {"noise_kind": self.noise_kind != "parameter",
                           "decay_per_neuron": self.decay_per_neuron is not None,
                           "clip": self.clip is not None}
            for name, bad in unsupported.items():
                if bad:
                    raise ValueError(
                        f"`{name}` is not supported by task='sre_transformer' (parameter noise, "
                        f"uniform decay and no clipping only); got {getattr(self, name)!r}.")

    # ------------------------------------------------------------------ helpers
    @property
    def n_layers(self) -> int:
        """Number of weight matrices of the MLP (``len(hidden) + 1``)."""
        return len(self.hidden) + 1

    @property
    def effective_clip(self) -> float | None:
        """The clip actually used: ``clip``, or the rule's default (DFA 5, RandomNN 1)."""
        return self.clip if self.clip is not None else get_rule(self.rule).default_clip

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (validated); unknown names get "did you mean"."""
        names = [f.name for f in fields(self) if not f.name.startswith("_")]
        for key in changes:
            if key not in names:
                raise TypeError(f"TrainConfig has no field `{key}`; valid fields are "
                                f"{', '.join(names)}." + did_you_mean(key, names))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists); inverse of :meth:`from_dict`."""
        out = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string with sorted keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """Build a config from :meth:`to_dict` output (lists become tuples).

        Old field names (:data:`LEGACY_FIELDS`: ``decay`` for ``weight_decay``) are
        read too, so results cached by earlier versions still load.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"`d` must be a mapping of TrainConfig fields; got {type(d).__name__}.")
        names = [f.name for f in fields(cls) if not f.name.startswith("_")]
        kw = {}
        for key, v in d.items():
            if key in LEGACY_FIELDS and LEGACY_FIELDS[key] not in d:
                key = LEGACY_FIELDS[key]
            if key not in names:
                raise TypeError(f"TrainConfig has no field `{key}`; valid fields are "
                                f"{', '.join(names)}." + did_you_mean(key, names))
            kw[key] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def group_key(self) -> str:
        """Configs with equal keys can train together in one batched program."""
        d = self.to_dict()
        for name in BATCHABLE:
            d.pop(name)
        return json.dumps(d, sort_keys=True)
