"""Benchmark: the paper's Fig. 4 grid (11 σ × 11 γ = 121 SRE runs, 50 epochs), two ways.

(a) *plain*: what one would write first — a PyTorch loop, one model at a time,
    ``nn.Linear`` + autograd + ``torch.optim.SGD(weight_decay=γ)``, parameter
    noise added each step, and the layer alignments ``cos(−∇W, H)`` computed on
    the recorded steps.  Only a sample of runs and epochs is timed; the time per
    full run is extrapolated linearly in epochs (the cost per epoch is constant),
    and the output says so.
(b) *plastix*: :func:`plastix.ann.sweep` over the same grid, all runs at once
    (batches of at most ``max_models`` models, ``threads=N`` of them side by side, one
    core each).

Both record the alignment on the same steps (every ``--record-every`` steps; the
default 1 is what ``plastix reproduce fig4`` does).  The sweep uses ``--threads``
cores (default 2: the one large batched job that opts in to both); the plain loop
is timed at one thread and at ``--threads``, before and after the sweep, and the
fastest of those is the baseline.

Plus a probe of the machine's float32 GEMM throughput (``torch.mm`` at a large
square size on all threads), to say what fraction of it plastix reaches on the
arithmetic the sweep does (forward, backward, Hebbian term on recorded steps, validation
forward), and the time one batched step spends in its matrix products alone,
which bounds the speed-up any engine with this arithmetic could reach over the
plain loop.

Usage::

    python benchmarks/sweep.py [--quick] [--threads N] [--record-every K]

Prints a table and writes ``benchmarks/results/sweep.json`` (``sweep_quick.json``
with ``--quick``; ``_everyK`` appended with ``--record-every K``).  Timings on a shared
machine are noisy; the ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
SIZES = (32, 128, 128, 32)  # SRE: 32 -> 128 -> 128 -> 32, tanh, no biases
N_TRAIN, N_VAL, BATCH, LR, EPOCHS = 20_000, 2_000, 256, 0.01, 50
NOISE = np.linspace(0.0, 1e-3, 11)
DECAY = np.linspace(0.0, 1e-2, 11)


_CLOCK = {"clock": time.perf_counter}


def _now() -> float:
    """The benchmark's clock: wall seconds, or with ``--cpu-time`` the process's CPU
    seconds (all threads), which time-slicing by other processes does not inflate."""
    return _CLOCK["clock"]()


def flops_per_step(sizes=SIZES, *, hebbian: bool = True) -> int:
    """FLOPs (multiply-adds ×2) of one model's training step, as plastix does it.

    forward ``h_b = W h_a`` (every layer) + weight gradient ``δ h_aᵀ`` (every layer)
    + input gradient ``Wᵀ δ`` (every layer but the first) on the batch, + the Hebbian
    term when ``hebbian`` (on recorded steps): ``h_b h_aᵀ`` for every layer but the
    first, and ``W C`` for the first (``post·pre²``: its input is shared, see
    :func:`shared_flops_per_step`).  Elementwise work (tanh, noise, cosines) is not
    counted.
    """
    mac = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    per_batch = 2 * sum(mac) + sum(mac[1:])
    if hebbian:
        per_batch += sum(mac[1:])
    return 2 * (BATCH * per_batch + (mac[0] * sizes[0] if hebbian else 0))


def shared_flops_per_step(sizes=SIZES) -> int:
    """FLOPs of the shared input's second-moment matrix ``C = xᵀx/B`` (once per step and
    sub-batch, on recorded steps)."""
    return 2 * BATCH * sizes[0] ** 2


def sweep_flops(epochs: int, n_runs: int, record_every: int, workers: int) -> int:
    """All the matrix-product arithmetic of the grid: training steps (the Hebbian term
    on recorded steps only; ``C`` once per sub-batch) and the validation forward pass
    once per epoch and at start."""
    steps = N_TRAIN // BATCH * epochs
    recorded = len(range(0, steps, record_every))
    mac = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:], strict=True))
    train = recorded * flops_per_step() + (steps - recorded) * flops_per_step(hebbian=False)
    val = 2 * mac * N_VAL * (epochs + 1)
    return n_runs * (train + val) + min(workers, n_runs) * recorded * shared_flops_per_step()


# ----------------------------------------------------------------- (a) plain


def plain_run(torch, sigma: float, gamma: float, *, epochs: float, seed: int,
              record_every: int = 1, sizes=SIZES) -> dict:
    """One SRE run the straightforward way; returns seconds, steps and final alignments."""
    nn = torch.nn
    gen = torch.Generator().manual_seed(seed)

    def mlp():
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b, bias=False))
            if i < len(sizes) - 2:
                layers.append(nn.Tanh())
        return nn.Sequential(*layers)

    # torch's default init draws from the global RNG: fork it so nothing leaks out.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        student, teacher = mlp(), mlp()
    x = torch.randn(N_TRAIN, sizes[0], generator=gen)
    xv = torch.randn(N_VAL, sizes[0], generator=gen)
    with torch.no_grad():
        y, yv = teacher(x), teacher(xv)
    linears = [m for m in student if isinstance(m, nn.Linear)]
    acts: dict[int, tuple] = {}
    for i, lin in enumerate(linears):
        lin.register_forward_hook(lambda m, inp, out, i=i: acts.__setitem__(i, (inp[0], out)))
    opt = torch.optim.SGD(student.parameters(), lr=LR, weight_decay=gamma)
    loss_fn = nn.MSELoss()
    n_batches = N_TRAIN // BATCH  # the last incomplete batch is dropped, as in plastix
    total_steps = int(round(epochs * n_batches))
    align = []
    t0 = _now()
    step = 0
    while step < total_steps:
        perm = torch.randperm(N_TRAIN, generator=gen)
        for b in range(n_batches):
            if step >= total_steps:
                break
            idx = perm[b * BATCH:(b + 1) * BATCH]
            if sigma > 0:
                with torch.no_grad():
                    for p in student.parameters():
                        p.add_(torch.randn(p.shape, generator=gen) * sigma)
            opt.zero_grad()
            loss = loss_fn(student(x[idx]), y[idx])
            loss.backward()
            if step % record_every == 0:
                row = []
                with torch.no_grad():
                    for i, lin in enumerate(linears):
                        h_a, h_b = acts[i]
                        hebb = h_b.T @ h_a / h_a.shape[0]
                        g = -lin.weight.grad
                        row.append(float((g * hebb).sum() / (g.norm() * hebb.norm())))
                align.append(row)
            opt.step()
            step += 1
        with torch.no_grad():
            float(loss_fn(student(xv), yv))  # validation once per epoch, as in training
    seconds = _now() - t0
    tail = np.asarray(align[-100:])
    return {"seconds": seconds, "steps": step, "final_alignment": tail.mean(0).tolist()}


# ------------------------------------------------------------- (c) vmap


def vmap_run(torch, noise, decay, *, epochs: float, seed: int, record_every: int = 1,
             device: str = "cpu") -> dict:
    """The whole grid the way a user batching small models themselves would write it.

    One functional step (parameter noise, ``torch.func.grad_and_value`` of the MSE with
    the activations as auxiliary output (one forward and one backward pass),
    the layer alignments ``cos(−∇W, H)`` on recorded steps, SGD with coupled decay)
    ``torch.func.vmap``-ed over the models' stacked weights and per-model ``σ, γ``;
    the teacher, data order and noise draws are shared by all models, as in the
    sweep with one seed.  Validation loss once per epoch.  Returns seconds, steps,
    and the last recorded alignments ``(M, L)``.
    """
    from torch.func import grad_and_value, vmap

    gen = torch.Generator().manual_seed(seed)
    m, n_layers = len(noise), len(SIZES) - 1

    def init(n_models):
        return [((torch.rand(n_models, o, i, generator=gen) * 2 - 1) / i ** 0.5).to(device)
                for i, o in zip(SIZES[:-1], SIZES[1:], strict=True)]

    teacher = [w[0] for w in init(1)]
    ws = [w.expand(m, -1, -1).clone() for w in init(1)]  # the same start, like one seed

    def forward(params, x):
        acts, pres, a = [], [], x
        for i, w in enumerate(params):
            acts.append(a)
            a = a @ w.T
            pres.append(a)
            if i < n_layers - 1:
                a = torch.tanh(a)
        return a, acts, pres

    def loss_fn(params, x, y):
        return ((forward(params, x)[0] - y) ** 2).mean()

    def loss_aux(params, x, y):  # the loss, and the activations for the Hebbian terms
        out, acts, pres = forward(params, x)
        return ((out - y) ** 2).mean(), (acts, pres)

    def step(params, sigma, gamma, x, y, zs, record: bool):
        params = [w + sigma * z for w, z in zip(params, zs, strict=True)]
        # one forward and one backward pass: gradients, loss and activations together
        grads, (loss, (acts, pres)) = grad_and_value(loss_aux, has_aux=True)(params, x, y)
        align = torch.zeros(n_layers, device=x.device)
        if record:
            align = torch.stack([
                torch.nn.functional.cosine_similarity((-g).flatten(),
                                                      (h_b.T @ h_a / x.shape[0]).flatten(),
                                                      dim=0)
                for g, h_a, h_b in zip(grads, acts, pres, strict=True)])
        new = [w - LR * (g + gamma * w) for w, g in zip(params, grads, strict=True)]
        return new, loss, align

    steps_rec = vmap(lambda p, s_, g_, x, y, z: step(p, s_, g_, x, y, z, True),
                     in_dims=(0, 0, 0, None, None, None))
    steps_plain = vmap(lambda p, s_, g_, x, y, z: step(p, s_, g_, x, y, z, False),
                       in_dims=(0, 0, 0, None, None, None))
    val_loss = vmap(loss_fn, in_dims=(0, None, None))
    sig = torch.tensor(np.asarray(noise), dtype=torch.float32, device=device)
    gam = torch.tensor(np.asarray(decay), dtype=torch.float32, device=device)
    x = torch.randn(N_TRAIN, SIZES[0], generator=gen).to(device)
    xv = torch.randn(N_VAL, SIZES[0], generator=gen).to(device)
    y, yv = forward(teacher, x)[0], forward(teacher, xv)[0]
    n_batches = N_TRAIN // BATCH
    total_steps = int(round(epochs * n_batches))
    step_i, align = 0, None
    for fn in (steps_rec, steps_plain):  # first calls outside the timing
        fn(ws, sig, gam, x[:BATCH], y[:BATCH], [w[0] * 0 for w in ws])
    _sync(torch, device)
    t0 = _now()
    while step_i < total_steps:
        perm = torch.randperm(N_TRAIN, generator=gen).to(device)
        for b in range(n_batches):
            if step_i >= total_steps:
                break
            idx = perm[b * BATCH:(b + 1) * BATCH]
            zs = [torch.randn(w.shape[1:], generator=gen).to(device) for w in ws]
            fn = steps_rec if step_i % record_every == 0 else steps_plain
            ws, loss, a = fn(ws, sig, gam, x[idx], y[idx], zs)
            if step_i % record_every == 0:
                align = a
            step_i += 1
        val_loss(ws, xv, yv).cpu()  # validation once per epoch, as in training
    _sync(torch, device)
    seconds = _now() - t0
    return {"seconds": seconds, "steps": step_i, "models": m,
            "last_alignment_mean": align.mean(0).cpu().tolist()}


def _sync(torch, device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# --------------------------------------------------------------- GEMM probe


def _side_by_side(torch, fns, workers: int) -> None:
    """Call each of ``fns`` once, ``workers`` of them at a time on one torch thread each
    (the sweep's execution), or in turn on all threads when ``workers`` is 1."""
    from concurrent.futures import ThreadPoolExecutor

    if workers == 1:
        for fn in fns:
            fn()
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda fn: fn(), fns))
    finally:
        torch.set_num_threads(old)


def gemm_probe(torch, *, repeat_s: float = 1.0, device: str = "cpu") -> dict:
    """Measured float32 GEMM FLOP/s of a large square ``torch.mm`` on all threads (or on
    the device): the peak that the sweep's achieved rate is a fraction of."""
    gen = torch.Generator().manual_seed(0)
    big = 2048 if device == "cpu" else 8192
    a = torch.randn(big, big, generator=gen).to(device)
    b = torch.randn(big, big, generator=gen).to(device)
    torch.mm(a, b)
    _sync(torch, device)
    n, t0 = 0, _now()
    while True:
        torch.mm(a, b)
        n += 1
        _sync(torch, device)
        dt = _now() - t0
        if dt > repeat_s:
            return {"square_n": big, "square_flops": n * 2 * big**3 / dt}


def _sweep_max_models(device: str = "cpu") -> int:
    """The largest batch :func:`plastix.ann.sweep` trains by default on ``device``."""
    from plastix.ann.run import default_max_models

    return default_max_models(device)


def gemm_step_probe(torch, *, n_models: int, record_every: int, workers: int,
                    repeats: int = 20, device: str = "cpu", sizes=SIZES,
                    shared: bool = True, max_models: int | None = None) -> float:
    """Seconds a batched step spends in its matrix products alone, at the sweep's shapes.

    One step of ``n_models`` models, split as the sweep splits them (batches of at most
    ``max_models``, by default the sweep's default; ``workers`` of them side by side, one
    torch thread each, or in turn on all threads when ``workers`` is 1): forward (the
    shared input broadcast at layer 1), weight gradients, input gradients and, on a
    recorded step, the Hebbian terms (layer 1 from the shared input's second moments, as
    the engine does), written into preallocated outputs (``shared=False``: every model
    its own input, as with several seeds).  The Hebbian products are weighted by the
    fraction of recorded steps, and the validation forward pass (once an epoch, in
    batches) is amortised over the epoch's steps.
    ``plain step / (this / n_models)`` bounds the speed-up any batched engine with this
    arithmetic can reach if everything that is not a matrix product cost nothing.
    """
    gen = torch.Generator().manual_seed(1)

    def rnd(*shape):
        return torch.randn(*shape, generator=gen).to(device)

    def make(m):
        x = rnd(1 if shared else m, BATCH, sizes[0])
        ws = [rnd(m, o, i) * 0.1 for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
        return {"ws": ws, "pres": [torch.empty(m, BATCH, o, device=device) for o in sizes[1:]],
                "acts": [x] + [rnd(m, BATCH, o) for o in sizes[1:-1]],
                "deltas": [rnd(m, BATCH, o) for o in sizes[1:]],
                "grads": [torch.empty_like(w) for w in ws],
                "hebb": [torch.empty_like(w) for w in ws],
                "back": [torch.empty(m, BATCH, o, device=device) for o in sizes[1:-1]]}

    # the batches the sweep trains: ceil(n / max_models) nearly equal ones, `workers` of
    # them at a time (plastix.ann.run._plan_batches cuts them the same way)
    n_batches = -(-n_models // (max_models or _sweep_max_models()))
    parts = [make(len(c)) for c in np.array_split(np.arange(n_models), n_batches)]

    def step(b, with_h: bool, forward_only: bool = False) -> None:
        ws, pres, acts = b["ws"], b["pres"], b["acts"]
        for i, w in enumerate(ws):
            torch.matmul(acts[i], w.transpose(1, 2), out=pres[i])
        if forward_only:
            return
        for i in range(len(ws) - 1, -1, -1):
            torch.matmul(b["deltas"][i].transpose(1, 2), acts[i], out=b["grads"][i])
            if with_h and i == 0 and shared:
                x = acts[0][0]
                torch.matmul(ws[0], torch.mm(x.T, x), out=b["hebb"][0])
            elif with_h:
                torch.matmul(pres[i].transpose(1, 2), acts[i], out=b["hebb"][i])
            if i > 0:
                torch.matmul(b["deltas"][i], ws[i], out=b["back"][i - 1])

    def timed(with_h: bool, forward_only: bool = False) -> float:
        def run(b):
            for _ in range(repeats):
                step(b, with_h, forward_only)

        for b in parts:
            step(b, with_h, forward_only)
        _sync(torch, device)
        t0 = _now()
        _side_by_side(torch, [lambda b=b: run(b) for b in parts], workers)
        _sync(torch, device)
        return (_now() - t0) / repeats

    frac = 1.0 / record_every
    # the validation forward pass (N_VAL rows once an epoch, in batches as the engine
    # does), amortised per step like the plain loop's per-step time amortises its own
    val_share = (N_VAL / BATCH) / (N_TRAIN // BATCH)
    return (frac * timed(True) + (1.0 - frac) * timed(False)
            + val_share * timed(False, forward_only=True))


# ------------------------------------------------------------------- main


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs for plastix, a short sample for the plain loop and vmap")
    parser.add_argument("--threads", type=int, default=2,
                        help="cores for plastix (sweep threads=N); the plain loop is timed at "
                             "1 and N torch threads, before and after the sweep, and the "
                             "fastest is the baseline; vmap runs one batch on N threads")
    parser.add_argument("--record-every", type=int, default=1,
                        help="record the alignment every K steps (all ways)")
    parser.add_argument("--deep", action="store_true",
                        help="Fig. 3's 6 × 512 MLP instead (its decays × 3 seeds): time per "
                             "run against the plain loop, both on a sample of steps")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time everything in the process's CPU seconds instead of wall "
                             "seconds (for a shared, loaded machine: ratios of work, not of "
                             "waiting)")
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), or cuda: the sweep and vmap on the GPU, against "
                             "the GPU's GEMM rate at the sweep's shapes")
    return parser.parse_args(argv)


def _config(TrainConfig, epochs: int, record_every: int):
    return TrainConfig(task="sre", rule="sgd", activation="tanh", hidden=(128, 128), bias=False,
                       lr=LR, batch_size=BATCH, epochs=epochs, n_train=N_TRAIN, n_val=N_VAL,
                       noise_kind="parameter", per_post_layer=None, record_every=record_every)


def _grid_models():
    """The grid's (σ, γ) per model, in the sweep's order (noise outer, decay inner)."""
    return np.repeat(NOISE, DECAY.size), np.tile(DECAY, NOISE.size)


def _corners(result) -> dict:
    tail = result["alignment"].sel(signal="gradient", layer=2)
    tail = tail.isel(step=slice(-100, None)).mean("step")
    if "seed" in tail.dims:
        tail = tail.mean("seed")
    return {"sigma0_gamma0": float(tail.isel(noise=0, weight_decay=0)),
            "sigma0_gamma_max": float(tail.isel(noise=0, weight_decay=-1)),
            "sigma_max_gamma0": float(tail.isel(noise=-1, weight_decay=0)),
            "sigma_max_gamma_max": float(tail.isel(noise=-1, weight_decay=-1))}


def _time_vmap(torch, args, epochs: float, device: str = "cpu") -> dict:
    sig, gam = _grid_models()
    r = vmap_run(torch, sig, gam, epochs=epochs, seed=7, record_every=args.record_every,
                 device=device)
    r["seconds_per_step"] = r["seconds"] / r["steps"]
    print(f"  vmap, whole grid at once ({device}): {r['steps']} steps in {r['seconds']:.2f} s",
          flush=True)
    return r


def _print_rows(rows) -> None:
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'quantity'.ljust(width)}  value")
    print(f"{'-' * width}  -------")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def _write(record: dict, name: str) -> None:
    cpu = _CLOCK["clock"] is time.process_time
    record = {**record, "clock": "process CPU seconds" if cpu else "wall seconds"}
    name += "_cputime" if cpu else ""  # never in place of a wall-clock result
    (ROOT / "results").mkdir(exist_ok=True)
    path = ROOT / "results" / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)
    print(f"wrote {path.relative_to(ROOT.parent)}")


def _machine(torch) -> dict:
    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from plastix._util.optional import import_torch
    from plastix.ann.run import resolve_device

    torch = import_torch()
    try:
        device = str(resolve_device(args.device))
    except ValueError as err:
        print(f"sweep.py: {err}", file=sys.stderr)
        return 2
    if args.cpu_time:
        if device != "cpu":
            print("sweep.py: --cpu-time measures CPU work; drop it with --device cuda.",
                  file=sys.stderr)
            return 2
        _CLOCK["clock"] = time.process_time
    old = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        if device == "cpu":
            return _main_deep(torch, args) if args.deep else _main_cpu(torch, args)
        return _main_device(torch, args, device)
    finally:
        torch.set_num_threads(old)


def _main_cpu(torch, args) -> int:
    from plastix.ann import TrainConfig, sweep

    epochs = 2 if args.quick else EPOCHS
    plain_epochs = 0.5 if args.quick else 3.0
    vmap_epochs = 0.2 if args.quick else 1.0
    mid = NOISE.size // 2
    samples = [(0, 0), (mid, mid), (NOISE.size - 1, NOISE.size - 1)][: 2 if args.quick else 3]
    n_runs = NOISE.size * DECAY.size
    print(f"plastix sweep benchmark: Fig. 4 grid {NOISE.size}×{DECAY.size} = {n_runs} SRE runs, "
          f"{epochs} epochs each, threads={args.threads}, alignment every "
          f"{args.record_every} step(s)"
          + (" (--quick)" if args.quick else ""), flush=True)

    # The machine's GEMM rate drifts over minutes (a shared VM): probe it before and
    # after the timed work and keep the best, so the fractions and the bound below are
    # conservative (the largest peak, the shortest matrix-product time).
    workers = args.threads  # the sweep trains `threads` sub-batches side by side
    probes = [gemm_probe(torch)]
    gemm_steps = [gemm_step_probe(torch, n_models=n_runs, record_every=args.record_every,
                                  workers=workers)]

    # (a) plain: a sample of runs, a fraction of the epochs, extrapolated; timed at one
    # thread and at --threads, before and after the sweep (the machine drifts), and the
    # fastest of those is the baseline (the loop at its best).
    thread_counts = sorted({1, args.threads})
    plain: dict[str, list] = {}

    def time_plain(when: str) -> None:
        for n_threads in thread_counts:
            torch.set_num_threads(n_threads)
            runs = plain.setdefault(f"{n_threads}_{when}", [])
            for s_i, g_i in samples:
                r = plain_run(torch, float(NOISE[s_i]), float(DECAY[g_i]), epochs=plain_epochs,
                              seed=100 + s_i, record_every=args.record_every)
                runs.append(r)
                print(f"  plain run ({when}), {n_threads} thread(s), σ={NOISE[s_i]:.1e} "
                      f"γ={DECAY[g_i]:.1e}: {r['steps']} steps in {r['seconds']:.2f} s",
                      flush=True)
        torch.set_num_threads(args.threads)

    time_plain("before")
    steps = N_TRAIN // BATCH * epochs

    # (b) plastix: the whole grid in one batched sweep.
    t0 = _now()
    result = sweep(_config(TrainConfig, epochs, args.record_every),
                   {"noise": NOISE.tolist(), "weight_decay": DECAY.tolist()}, n_seeds=1,
                   rng=0, progress=True, threads=args.threads)
    plastix_total = _now() - t0

    # (c) vmap: the whole grid as one vmapped functional step, on --threads threads
    vm = _time_vmap(torch, args, vmap_epochs)
    time_plain("after")
    per_step = {key: sum(r["seconds"] for r in rs) / sum(r["steps"] for r in rs)
                for key, rs in plain.items()}
    best = {n: min(per_step[f"{n}_before"], per_step[f"{n}_after"]) for n in thread_counts}
    plain_threads = min(best, key=best.get)

    probes.append(gemm_probe(torch))
    gemm_steps.append(gemm_step_probe(torch, n_models=n_runs, record_every=args.record_every,
                                      workers=workers))
    m = {"epochs": epochs, "steps": steps, "n_runs": n_runs, "plastix_total": plastix_total,
         "per_step": per_step, "plain_threads": plain_threads, "plain": plain,
         "plain_epochs": plain_epochs, "samples": samples, "vmap": vm,
         "probes": probes, "gemm_steps": gemm_steps, "workers": workers}
    _report_cpu(torch, args, m, result)
    return 0


def _report_cpu(torch, args, m: dict, result) -> None:
    n_runs, steps, epochs = m["n_runs"], m["steps"], m["epochs"]
    per_step, plain_threads = m["per_step"], m["plain_threads"]
    sec_per_step = per_step[f"{plain_threads}_before"]
    sec_per_step = min(sec_per_step, per_step[f"{plain_threads}_after"])
    plain_per_run = sec_per_step * steps
    plastix_per_run = m["plastix_total"] / n_runs
    vmap_per_run = m["vmap"]["seconds_per_step"] * steps / n_runs
    probe = max(m["probes"], key=lambda p: p["square_flops"])
    probe = {**probe, "before_after": m["probes"]}
    gemm_step = min(m["gemm_steps"])
    bound = sec_per_step / (gemm_step / n_runs)
    flops = sweep_flops(epochs, n_runs, args.record_every, m["workers"])
    achieved = flops / m["plastix_total"]
    speedup = plain_per_run / plastix_per_run
    fraction = speedup / bound
    thread_counts = sorted({1, args.threads})
    rows = [
        *((f"plain PyTorch loop at {n} thread(s), ms/step (before / after)",
           f"{1e3 * per_step[f'{n}_before']:.3f} / {1e3 * per_step[f'{n}_after']:.3f}")
          for n in thread_counts),
        (f"plain PyTorch loop, s/run (extrapolated, {plain_threads} thread(s))",
         f"{plain_per_run:.2f}"),
        ("torch.func.vmap over the grid, s/run (extrapolated)", f"{vmap_per_run:.2f}"),
        ("plastix sweep, s/run (measured, whole grid)", f"{plastix_per_run:.3f}"),
        ("speed-up plain / plastix (target ≥ 4)", f"{speedup:.1f}×"),
        ("speed-up vmap / plastix", f"{vmap_per_run / plastix_per_run:.1f}×"),
        ("sweep arithmetic (fwd+bwd+H+val), GFLOP", f"{flops / 1e9:.1f}"),
        ("plastix achieved GFLOP/s", f"{achieved / 1e9:.2f}"),
        (f"GEMM GFLOP/s, torch.mm {probe['square_n']}² (best of before/after)",
         f"{probe['square_flops'] / 1e9:.2f}"),
        ("fraction of square-GEMM peak (target ≥ 50%)",
         f"{100 * achieved / probe['square_flops']:.0f}%"),
        ("plastix sweep, ms per model-step", f"{1e3 * plastix_per_run / steps:.3f}"),
        ("matrix products alone, ms per model-step (best)", f"{1e3 * gemm_step / n_runs:.3f}"),
        ("speed-up bound if all else were free", f"{bound:.1f}×"),
        ("fraction_of_bound = speed-up / bound (target ≥ 0.85)", f"{fraction:.2f}"),
    ]
    _print_rows(rows)
    print(f"\nplain loop timed on {len(m['samples'])} runs × {m['plain_epochs']} epochs "
          f"({sum(r['steps'] for r in m['plain'][f'{plain_threads}_before'])} steps) at each "
          f"thread count, before and after the sweep, and extrapolated to {epochs} epochs per "
          f"run (cost per step is constant); the baseline is the fastest ({plain_threads} "
          f"thread(s)); vmap timed on the whole grid for {m['vmap']['steps']} steps and "
          "extrapolated; plastix timed on the whole grid.")
    record = {
        "quick": args.quick, "threads": args.threads, "record_every": args.record_every,
        "device": "cpu", "n_runs": n_runs, "epochs": epochs,
        "grid": {"noise": NOISE.tolist(), "weight_decay": DECAY.tolist()},
        "plain": {"sample_runs": len(m["samples"]), "sample_epochs": m["plain_epochs"],
                  "threads": plain_threads, "seconds_per_step": sec_per_step,
                  "seconds_per_step_by_threads_and_time": per_step,
                  "seconds_per_run_extrapolated": plain_per_run, "runs": m["plain"]},
        "vmap": {**m["vmap"], "threads": args.threads,
                 "seconds_per_run_extrapolated": vmap_per_run},
        "plastix": {"seconds_total": m["plastix_total"], "seconds_per_run": plastix_per_run,
                    "layer2_alignment_corners": _corners(result)},
        "speedup": speedup,
        "speedup_vs_vmap": vmap_per_run / plastix_per_run,
        "flops": {"per_model_step_recorded": flops_per_step(),
                  "per_model_step_unrecorded": flops_per_step(hebbian=False), "total": flops,
                  "achieved_per_s": achieved},
        "gemm": probe,
        "gemm_only_seconds_per_step": gemm_step,
        "gemm_only_seconds_per_step_before_after": m["gemm_steps"],
        "speedup_bound_gemm_only": bound,
        "fraction_of_bound": fraction,
        "fraction_of_square_gemm": achieved / probe["square_flops"],
        "machine": _machine(torch),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write(record, ("sweep_quick" if args.quick else "sweep") + (
        f"_every{args.record_every}" if args.record_every != 1 else ""))


def _main_deep(torch, args) -> int:
    """Fig. 3's deep panel: 32 → 512 ×6 → 32 tanh, its weight decays × 3 seeds, one
    batched sweep against the plain loop; both timed on a sample of steps (the cost per
    step is constant; the sweep's as the difference of a run of 2n and one of n steps, so
    its setup cancels) and extrapolated to the paper's 50 epochs."""
    from plastix.experiments import fig3

    sizes = (32, *fig3.DEEP[False], 32)
    decays, n_seeds = list(fig3.DECAYS), 3
    n_models = len(decays) * n_seeds
    n_steps = 12 if args.quick else 60
    full_steps = N_TRAIN // BATCH * EPOCHS
    def cfg(steps):
        return fig3.config("tanh", hidden=fig3.DEEP[False]).replace(
            epochs=1, n_train=BATCH * steps, n_val=BATCH, record_every=args.record_every)

    print(f"plastix deep benchmark: Fig. 3 panel b, {sizes}, {n_models} runs, {n_steps} steps "
          f"timed, threads={args.threads}", flush=True)
    gemm = [gemm_step_probe(torch, n_models=n_models, record_every=args.record_every,
                            workers=args.threads, sizes=sizes, shared=False, repeats=3)]
    plain: dict[int, list] = {}
    for n_threads in sorted({1, args.threads}):
        torch.set_num_threads(n_threads)
        for g_i in (0, len(decays) - 1)[: 1 if args.quick else 2]:
            r = plain_run(torch, 0.0, decays[g_i], epochs=n_steps / (N_TRAIN // BATCH),
                          seed=200 + g_i, record_every=args.record_every, sizes=sizes)
            plain.setdefault(n_threads, []).append(r["seconds"] / r["steps"])
            print(f"  plain run, {n_threads} thread(s), γ={decays[g_i]:.1e}: {r['steps']} steps "
                  f"in {r['seconds']:.2f} s", flush=True)
    torch.set_num_threads(args.threads)
    from plastix.ann import sweep

    took = []
    for steps in (n_steps, 2 * n_steps):  # the difference is n_steps steps, setup cancelled
        t0 = _now()
        sweep(cfg(steps), {"weight_decay": decays}, n_seeds=n_seeds, rng=0, progress=False,
              threads=args.threads)
        took.append(_now() - t0)
    plastix_step = (took[1] - took[0]) / n_steps  # s per step of all models
    gemm.append(gemm_step_probe(torch, n_models=n_models, record_every=args.record_every,
                                workers=args.threads, sizes=sizes, shared=False, repeats=3))
    best_threads = min(plain, key=lambda n: float(np.mean(plain[n])))
    plain_step = float(np.mean(plain[best_threads]))
    speedup = plain_step * n_models / plastix_step
    bound = plain_step / (min(gemm) / n_models)
    _print_rows([
        (f"plain loop, s per run of {full_steps} steps (extrapolated, {best_threads} thread(s))",
         f"{plain_step * full_steps:.1f}"),
        ("plastix sweep, s per run (extrapolated)", f"{plastix_step * full_steps / n_models:.1f}"),
        ("speed-up plain / plastix", f"{speedup:.2f}×"),
        ("matrix products alone, ms per model-step (best)", f"{1e3 * min(gemm) / n_models:.2f}"),
        ("speed-up bound if all else were free", f"{bound:.2f}×"),
        ("fraction_of_bound", f"{speedup / bound:.2f}"),
    ])
    _write({"quick": args.quick, "threads": args.threads, "record_every": args.record_every,
            "sizes": list(sizes), "n_models": n_models, "steps_timed": n_steps,
            "plain_seconds_per_step": plain, "plain_threads": best_threads,
            "plastix_seconds_per_step_all_models": plastix_step,
            "seconds_per_run_extrapolated": {"plain": plain_step * full_steps,
                                             "plastix": plastix_step * full_steps / n_models},
            "speedup": speedup, "gemm_only_seconds_per_step": gemm,
            "speedup_bound_gemm_only": bound, "fraction_of_bound": speedup / bound,
            "machine": _machine(torch),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
           "sweep_deep" + ("_quick" if args.quick else ""))
    return 0


def _main_device(torch, args, device: str) -> int:
    """The sweep on a GPU, in the sweep's default batches and in one batch of the whole
    grid: each one's throughput against the GPU's GEMM rate at its shapes (one step's
    products alone, in the same batches), the grid's wall time, and vmap on the same GPU."""
    from plastix.ann import TrainConfig

    epochs = 2 if args.quick else EPOCHS
    n_runs = NOISE.size * DECAY.size
    steps = N_TRAIN // BATCH * epochs
    print(f"plastix sweep benchmark on {device} ({_machine(torch)['cuda']}): {n_runs} runs × "
          f"{epochs} epochs, alignment every {args.record_every} step(s)", flush=True)
    peak = gemm_probe(torch, device=device)
    cfg = _config(TrainConfig, epochs, args.record_every)
    runs = {f"max_models_{m}": _device_sweep(torch, args, cfg, device, m, steps)
            for m in sorted({_sweep_max_models("cpu"), _sweep_max_models(device)})}
    vm = _time_vmap(torch, args, 0.5 if args.quick else 2.0, device=device)
    vmap_total = vm["seconds_per_step"] * steps
    rows = []
    for name, r in runs.items():
        rows += [(f"[{name}] Fig. 4 grid wall time, s", f"{r['wall_seconds']:.1f}"),
                 (f"[{name}] ms per model-step", f"{1e3 * r['seconds_per_model_step']:.4f}"),
                 (f"[{name}] achieved GFLOP/s", f"{r['achieved_flops_per_s'] / 1e9:.1f}"),
                 (f"[{name}] GEMM GFLOP/s at its shapes",
                  f"{r['gemm_at_sweep_shapes_flops_per_s'] / 1e9:.1f}"),
                 (f"[{name}] fraction of that GEMM rate",
                  f"{r['fraction_of_gemm_at_sweep_shapes']:.2f}"),
                 (f"[{name}] speed-up over vmap", f"{vmap_total / r['wall_seconds']:.2f}×")]
        r["speedup_vs_vmap"] = vmap_total / r["wall_seconds"]
    rows += [(f"GEMM GFLOP/s, torch.mm {peak['square_n']}²", f"{peak['square_flops'] / 1e9:.1f}"),
             ("vmap, whole grid, s (extrapolated)", f"{vmap_total:.1f}")]
    _print_rows(rows)
    _write({"quick": args.quick, "device": device, "record_every": args.record_every,
            "n_runs": n_runs, "epochs": epochs, "threads": args.threads, "runs": runs,
            "gemm": peak, "vmap": {**vm, "seconds_total_extrapolated": vmap_total},
            "machine": _machine(torch), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime())},
           "sweep_cuda" + ("_quick" if args.quick else "")
           + (f"_every{args.record_every}" if args.record_every != 1 else ""))
    return 0


def _device_sweep(torch, args, cfg, device: str, max_models: int, steps: int) -> dict:
    """The grid's sweep on the device in batches of at most ``max_models``, with the
    GEMM-only time of one step in the same batches (workers=1: a GPU runs one at a time)."""
    from plastix.ann import sweep

    n_runs = NOISE.size * DECAY.size
    gemm_step = gemm_step_probe(torch, n_models=n_runs, record_every=args.record_every,
                                workers=1, device=device, max_models=max_models)
    frac = 1.0 / args.record_every
    step_flops = n_runs * (frac * flops_per_step() + (1 - frac) * flops_per_step(hebbian=False))
    t0 = _now()
    result = sweep(cfg, {"noise": NOISE.tolist(), "weight_decay": DECAY.tolist()}, n_seeds=1,
                   rng=0, progress=True, threads=args.threads, device=device,
                   max_models=max_models)
    wall = _now() - t0
    n_batches = -(-n_runs // max_models)
    achieved = sweep_flops(cfg.epochs, n_runs, args.record_every, n_batches) / wall
    shape_rate = step_flops / gemm_step  # FLOP/s of the sweep's products at its shapes
    print(f"  sweep, batches of ≤ {max_models} ({device}): {wall:.2f} s", flush=True)
    return {"max_models": max_models, "wall_seconds": wall,
            "seconds_per_model_step": wall / n_runs / steps,
            "achieved_flops_per_s": achieved, "gemm_only_seconds_per_step": gemm_step,
            "gemm_at_sweep_shapes_flops_per_s": shape_rate,
            "fraction_of_gemm_at_sweep_shapes": achieved / shape_rate,
            "layer2_alignment_corners": _corners(result)}


if __name__ == "__main__":
    sys.exit(main())
