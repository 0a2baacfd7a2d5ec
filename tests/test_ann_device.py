"""``device=``: the batched sweep on CUDA equals the CPU's to a stated tolerance.

The CUDA test runs only where CUDA is present (skipped with its reason elsewhere);
the CPU tests run everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from plastix.ann import TrainConfig, sweep, train

torch = pytest.importorskip("torch")

CUDA = torch.cuda.is_available()
# float32 products summed in another order drift apart slowly over training: the stated
# tolerance on CUDA against the CPU for these short runs (on an H200, 2026-12-04: at most
# 2.3e-5 in alignment and 4e-7 in relative loss over every rule and noise kind)
ALIGN_TOL, LOSS_RTOL = 1e-4, 1e-5

QUICK = TrainConfig(task="sre", rule="sgd", hidden=(32, 32), bias=False, epochs=2,
                    n_train=2048, n_val=256, batch_size=32, noise_kind="parameter")
GRID = {"noise": [0.0, 1e-3], "weight_decay": [0.0, 1e-2]}


def test_cpu_and_auto_without_cuda_equal_the_default():
    cfg = TrainConfig(epochs=1, n_train=256, n_val=64, batch_size=32, weight_decay=1e-3)
    a = train(cfg, rng=3)
    b = train(cfg, rng=3, device="cpu")
    np.testing.assert_array_equal(a.alignment.values, b.alignment.values)
    if not CUDA:
        c = train(cfg, rng=3, device="auto")
        np.testing.assert_array_equal(a.alignment.values, c.alignment.values)


@pytest.mark.skipif(not CUDA, reason="CUDA is not available on this machine (torch "
                    f"{torch.__version__}); the CPU/CUDA comparison needs a GPU")
def test_cuda_sweep_equals_cpu_within_tolerance():
    cpu = sweep(QUICK, GRID, n_seeds=2, rng=0, progress=False, device="cpu")
    gpu = sweep(QUICK, GRID, n_seeds=2, rng=0, progress=False, device="cuda")
    np.testing.assert_allclose(gpu.alignment.values, cpu.alignment.values, atol=ALIGN_TOL)
    np.testing.assert_allclose(gpu.loss.values, cpu.loss.values, rtol=LOSS_RTOL)
    np.testing.assert_allclose(gpu.val_loss.values, cpu.val_loss.values, rtol=LOSS_RTOL)


@pytest.mark.skipif(not CUDA, reason="CUDA is not available on this machine (torch "
                    f"{torch.__version__}); the CPU/CUDA comparison needs a GPU")
@pytest.mark.parametrize("noise_kind", ["parameter", "input", "gradient"])
def test_cuda_train_equals_cpu_for_every_rule(noise_kind):
    from plastix.ann.rules import rule_names

    for rule in rule_names():
        for task in ("sre", "sce"):
            cfg = TrainConfig(task=task, rule=rule, hidden=(32, 32), bias=task == "sce",
                              epochs=1, n_train=1024, n_val=128, batch_size=32,
                              weight_decay=1e-3, noise=1e-3, noise_kind=noise_kind)
            cpu = train(cfg, rng=5, device="cpu")
            gpu = train(cfg, rng=5, device="cuda")
            np.testing.assert_allclose(gpu.alignment.values, cpu.alignment.values,
                                       atol=ALIGN_TOL, err_msg=f"{rule} {task}")
            np.testing.assert_allclose(gpu.loss.values, cpu.loss.values, rtol=LOSS_RTOL,
                                       err_msg=f"{rule} {task}")


def test_cli_device_cuda_without_cuda_is_one_line_and_writes_nothing(tmp_path, capsys,
                                                                    monkeypatch):
    from plastix.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "o"
    rc = main(["reproduce", "fig4", "--quick", "--device", "cuda", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and "CUDA is not available" in err[0], err
    assert not out.exists()


def _meta_reads(monkeypatch):
    """Let a run on torch's ``meta`` device (shapes, no data) get past the reads of data:
    a read of a meta tensor gives zeros on the CPU, ``bool`` True, ``equal`` True."""
    T = torch.Tensor
    cpu, to, item, boolean, equal = T.cpu, T.to, T.item, T.__bool__, torch.equal

    def zeros(t):
        return torch.zeros(t.shape, dtype=t.dtype)

    def to_(self, *a, **k):
        dev = k.get("device", a[0] if a else None)
        if self.is_meta and isinstance(dev, (str, torch.device)) and str(dev) == "cpu":
            return zeros(self)
        return to(self, *a, **k)

    monkeypatch.setattr(T, "cpu", lambda self, *a, **k: zeros(self) if self.is_meta
                        else cpu(self, *a, **k))
    monkeypatch.setattr(T, "to", to_)
    monkeypatch.setattr(T, "item", lambda self: 0.0 if self.is_meta else item(self))
    monkeypatch.setattr(T, "__bool__", lambda self: True if self.is_meta else boolean(self))
    monkeypatch.setattr(torch, "equal", lambda a, b: True if a.is_meta or b.is_meta
                        else equal(a, b))


@pytest.mark.parametrize("noise_kind", ["parameter", "input", "gradient"])
def test_every_tensor_of_a_run_lives_on_the_groups_device(monkeypatch, noise_kind):
    """The device-hygiene check that runs without a GPU: on the ``meta`` device every
    operation between a meta tensor and a CPU tensor fails, so a run of every rule there
    proves that nothing the engine computes with was left on the CPU (the records'
    single transfer off the device aside)."""
    import dataclasses

    from plastix.ann import engine
    from plastix.ann.rules import rule_names

    _meta_reads(monkeypatch)
    monkeypatch.setattr(engine, "resolve_device", lambda device: torch.device("meta"))
    for rule in rule_names():
        for task, bias in (("sre", noise_kind == "input"), ("sce", True)):
            cfg = TrainConfig(task=task, rule=rule, bias=bias, hidden=(8, 8), epochs=1,
                              n_train=64, n_val=32, batch_size=32, weight_decay=1e-3,
                              noise=1e-3, noise_kind=noise_kind)
            out = engine.run_group([cfg, dataclasses.replace(cfg, weight_decay=0.0)], [0, 1],
                                   device="meta")
            assert out["alignment"].shape[0] == 2


def test_default_batch_is_the_cpus_ten_and_a_whole_grid_on_cuda():
    """A GPU is launch-bound at the lab's sizes: by default a sweep trains up to 128 models
    in one batch there (the whole Fig. 4 grid), 10 on the CPU; an explicit max_models
    wins on either."""
    from plastix.ann.run import default_max_models

    assert default_max_models("cpu") == 10
    assert default_max_models(torch.device("cpu")) == 10
    assert default_max_models("cuda") == default_max_models(torch.device("cuda", 0)) == 128
    cfg = TrainConfig(epochs=1, n_train=64, n_val=32, batch_size=32)
    grid = {"weight_decay": [0.0, 1e-3, 1e-2]}
    a = sweep(cfg, grid, n_seeds=4, rng=1, progress=False)
    b = sweep(cfg, grid, n_seeds=4, rng=1, progress=False, max_models=10)
    np.testing.assert_array_equal(a.alignment.values, b.alignment.values)
