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
# tolerance for a quick grid (2 epochs, 312 steps) on CUDA against the CPU
ALIGN_TOL, LOSS_RTOL = 2e-3, 1e-3

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
