"""Benchmark: plastix's Brian2 circuits against a plain Brian2 script of the same circuit.

The circuit: Poisson inputs (correlated populations, input noise) onto LIF neurons,
every synapse plastic with the error-driven rule ``dw/dt = η (teacher − student) ×
pre − γ w + σ ξ``, a teacher population, weights of 2000 synapses recorded every
0.1 s, all spikes recorded (default 1000 inputs × 100 neurons, 10 s, dt 0.5 ms).

Measured in this one run, on the same machine (ratios, because the machine is shared):

1. plastix overhead: ``simulate_spiking`` (build, run, read back, bin, make and
   validate the record) over a plain Brian2 script that builds the same objects,
   runs them and reads the monitors, on the same target (numpy) and run; target ≤ 1.1.
2. numpy target over cpp_standalone (one run each, compile time separate).
3. per sweep point: compile once and rerun with ``run_args`` versus build and
   compile the model again for each point.
4. memory: bytes per recorded synapse-sample (from the RSS difference of two runs
   that record different numbers of synapse-samples) and peak RSS with the defaults.

Each measurement runs in a fresh subprocess (peak RSS is its own; the Brian2 device
is fresh).  Prints a table and writes ``benchmarks/results/circuits.json``.

Run: ``.venv/bin/python benchmarks/circuits.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable

PLAIN = r'''
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import brian2 as b2
from brian2 import Hz, mV, ms, second
P = json.loads(sys.argv[1])
b2.prefs.codegen.target = "numpy"
t0 = time.perf_counter()
gen = np.random.default_rng(0)
n_pre, n_post, T, dt = P["n_pre"], P["n_post"], P["duration"], 0.5 * ms
b2.seed(1)
ns = dict(tau_input=0.1 * second, rate=10 * Hz, r_ref=10 * Hz, input_corr=0.5,
          input_noise=0.3, inf=np.inf, tau_m=20 * ms, tau_trace=50 * ms, v_th=20 * mV,
          v_noise=4 * mV, J=16.0 / (n_pre * 10 * 0.02) * mV)
latent = b2.NeuronGroup(4, "ds/dt = -s/tau_input + sqrt(2/tau_input)*xi : 1", method="euler",
                        dt=dt, namespace=ns)
inputs = b2.NeuronGroup(n_pre, """
dn/dt = -n/tau_input + sqrt(2/tau_input)*xi : 1
s : 1 (linked)
r = rate*clip(1 + input_corr*s + input_noise*n, 0, inf) : Hz
dx/dt = -x/tau_trace : Hz
""", threshold="rand() < r*dt", reset="x += 1/tau_trace", method="euler", dt=dt, namespace=ns)
inputs.s = b2.linked_var(latent, "s", index=np.arange(n_pre) % 4)
lif = """
dv/dt = -v/tau_m + v_noise*sqrt(2/tau_m)*xi : volt (unless refractory)
dx/dt = -x/tau_trace : Hz
"""
kw = dict(threshold="v > v_th", reset="v = 0*mV; x += 1/tau_trace", refractory=2 * ms,
          method="euler", dt=dt, namespace=ns)
teacher = b2.NeuronGroup(n_post, lif, **kw)
post = b2.NeuronGroup(n_post, lif + "xt : Hz (linked)\n", **kw)
post.xt = b2.linked_var(teacher, "x")
i = np.tile(np.arange(n_pre), n_post)
j = np.repeat(np.arange(n_post), n_pre)
tsyn = b2.Synapses(inputs, teacher, "wt : 1 (constant)", on_pre="v_post += wt*J", dt=dt,
                   namespace=ns)
tsyn.connect(i=i, j=j)
syn = b2.Synapses(inputs, post, """
dw/dt = eta*g - gamma*w : 1 (clock-driven)
g = ((xt_post - x_post)/r_ref)*(x_pre/r_ref) : 1
eta : Hz (shared, constant)
gamma : Hz (shared, constant)
sigma_kick : 1 (shared, constant)
dgsum/dt = eta*g : 1 (clock-driven)
""", on_pre="v_post += w*J", method="euler", dt=dt, namespace=ns)
syn.connect(i=i, j=j)
syn.eta = 5 * Hz
syn.gamma = 1 * Hz
syn.sigma_kick = 2.0 * np.sqrt(0.1)
latent.s = "randn()"
inputs.n = "randn()"
syn.w = 1 + 0.5 * gen.standard_normal(n_pre * n_post)
tsyn.wt = 1 + 0.5 * gen.standard_normal(n_pre * n_post)
post.v = "rand()*v_th"
teacher.v = "rand()*v_th"
kick = syn.run_regularly("w += sigma_kick*randn()", dt=0.1 * second, when="start", order=0)
rec = np.sort(gen.choice(n_pre * n_post, size=min(2000, n_pre * n_post), replace=False))
wmon = b2.StateMonitor(syn, ["w", "gsum"], record=rec, dt=0.1 * second, when="start", order=1)
pre_mon = b2.SpikeMonitor(inputs)
post_mon = b2.SpikeMonitor(post)
net = b2.Network(latent, inputs, teacher, post, tsyn, syn, kick, wmon, pre_mon, post_mon)
net.run(T * second, namespace=ns)
out = (np.asarray(wmon.w), np.asarray(wmon.gsum), pre_mon.t_[:], pre_mon.i[:], post_mon.t_[:],
       post_mon.i[:])
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
'''

PLASTIX = r'''
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
from plastix.circuits import SpikingCircuitConfig, simulate_spiking, sweep_spiking
from plastix._util.optional import import_brian2
import_brian2()   # imported before the clock starts, as in the plain script
P = json.loads(sys.argv[1])
mode = P.pop("mode")
kw = dict(rule="error", eta=5.0, decay=1.0, noise=2.0)
kw.update(P.pop("overrides", {}))
cfg = SpikingCircuitConfig(**kw, **P)
t0 = time.perf_counter()
info = {}
if mode == "runtime":
    ds = simulate_spiking(cfg, rng=0, target="numpy")
    info["record_bytes"] = int(ds.nbytes)
elif mode == "default":
    ds = simulate_spiking(SpikingCircuitConfig(), rng=0, target="numpy")
    info["record_bytes"] = int(ds.nbytes)
else:   # standalone sweep: n points, one build
    n_points = int(mode.split(":")[1])
    res = sweep_spiking(cfg, decay=[1.0 + 0.5 * k for k in range(n_points)], noise=[2.0],
                        rng=0, progress=False)
    info.update(res.timings)
info["wall_s"] = time.perf_counter() - t0
info["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(info))
'''


def _run(code: str, params: dict) -> dict:
    proc = subprocess.run([PY, "-c", code, json.dumps(params)], capture_output=True, text=True,
                          cwd=HERE.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small circuit (200 × 20, 2 s)")
    ap.add_argument("--out", type=Path, default=None,
                    help="results JSON (default results/circuits.json; "
                    "circuits_quick.json with --quick)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="alternating plain/plastix repeats, best of (default 3 quick, 1 full)")
    args = ap.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 1
    size = (dict(n_pre=200, n_post=20, duration=2.0) if args.quick
            else dict(n_pre=1000, n_post=100, duration=10.0))
    from tqdm import tqdm

    steps = tqdm(total=7, desc="circuit benchmark", leave=False)
    rows: dict[str, dict] = {}
    # plain and plastix alternate, best of ``repeat`` each: the machine is shared
    plain, plastix = [], []
    for _ in range(args.repeat):
        plain.append(_run(PLAIN, size))
        plastix.append(_run(PLASTIX, {**size, "mode": "runtime"}))
    rows["plain_numpy"] = min(plain, key=lambda r: r["wall_s"])
    rows["plastix_numpy"] = min(plastix, key=lambda r: r["wall_s"])
    rows["plain_numpy"]["all_wall_s"] = [r["wall_s"] for r in plain]
    rows["plastix_numpy"]["all_wall_s"] = [r["wall_s"] for r in plastix]
    steps.update(2)
    rows["plastix_standalone_1"] = _run(PLASTIX, {**size, "mode": "standalone:1"})
    steps.update()
    n_sweep = 4
    rows["plastix_standalone_sweep"] = _run(PLASTIX, {**size, "mode": f"standalone:{n_sweep}"})
    steps.update()
    # memory: two runs that differ only in the number of recorded synapse-samples
    mem = dict(n_pre=200, n_post=50, duration=2.0)
    small = _run(PLASTIX, {**mem, "mode": "runtime", "overrides": {},
                           "record_synapses": 100, "weight_interval": 0.1})
    steps.update()
    big = _run(PLASTIX, {**mem, "mode": "runtime", "overrides": {},
                         "record_synapses": None, "weight_interval": 0.005})
    steps.update()
    rows["default_config"] = _run(PLASTIX, {"mode": "default"})
    steps.update()
    steps.close()

    n_syn = mem["n_pre"] * mem["n_post"]
    samples_small = 100 * (mem["duration"] / 0.1 + 1)
    samples_big = n_syn * (mem["duration"] / 0.005 + 1)
    bytes_per_sample = ((big["maxrss_kb"] - small["maxrss_kb"]) * 1024
                        / (samples_big - samples_small))
    s1 = rows["plastix_standalone_1"]
    sw = rows["plastix_standalone_sweep"]
    per_point_rerun = sw["run_s"] / sw["n_runs"]
    per_point_recompile = s1["build_s"] + s1["run_s"]
    result = {
        "circuit": {**size, "rule": "error", "all_synapses_plastic": True, "dt_s": 5e-4,
                    "recorded_synapses": 2000, "weight_interval_s": 0.1},
        "plastix_over_plain_numpy": rows["plastix_numpy"]["wall_s"] / rows["plain_numpy"]["wall_s"],
        "numpy_over_cpp_standalone_run": rows["plastix_numpy"]["wall_s"] / s1["run_s"],
        "numpy_over_cpp_standalone_incl_compile": rows["plastix_numpy"]["wall_s"]
        / (s1["build_s"] + s1["run_s"]),
        "repeat": args.repeat,
        "sweep_point_rerun_s": per_point_rerun,
        "sweep_point_recompile_s": per_point_recompile,
        "recompile_over_rerun": per_point_recompile / per_point_rerun,
        "bytes_per_recorded_synapse_sample": bytes_per_sample,
        "bytes_per_recorded_synapse_sample_note": "w and gsum recorded: 16 B in the Brian2 "
        "monitor, 16 B in the dense record, plus transient copies while reading back",
        "default_config_peak_rss_mb": rows["default_config"]["maxrss_kb"] / 1024,
        "default_config_record_mb": rows["default_config"]["record_bytes"] / 2**20,
        "raw": rows,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "quick": bool(args.quick),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"circuit: {size['n_pre']} inputs -> {size['n_post']} LIF, all synapses plastic, "
          f"{size['duration']:g} s (error rule, numpy target unless stated)")
    table = [
        ("plain Brian2 script (numpy)", f"{rows['plain_numpy']['wall_s']:.2f} s", ""),
        ("plastix simulate_spiking (numpy)", f"{rows['plastix_numpy']['wall_s']:.2f} s",
         f"x{result['plastix_over_plain_numpy']:.3f} (target <= 1.1)"),
        ("cpp_standalone run (plastix)", f"{s1['run_s']:.2f} s",
         f"numpy/standalone x{result['numpy_over_cpp_standalone_run']:.1f}"),
        ("cpp_standalone build+compile", f"{s1['build_s']:.2f} s", ""),
        ("sweep point, rerun with run_args", f"{per_point_rerun:.2f} s",
         f"recompile/rerun x{result['recompile_over_rerun']:.1f}"),
        ("sweep point, recompiling", f"{per_point_recompile:.2f} s", ""),
        ("bytes per recorded synapse-sample", f"{bytes_per_sample:.1f} B",
         "(w and gsum: 16 B monitor + 16 B record + copies)"),
        ("peak RSS, default config", f"{result['default_config_peak_rss_mb']:.0f} MB",
         f"record {result['default_config_record_mb']:.2f} MB"),
    ]
    w0 = max(len(r[0]) for r in table)
    for name, val, note in table:
        print(f"  {name:<{w0}}  {val:>10}  {note}")
    if args.out is None:
        args.out = HERE / "results" / ("circuits_quick.json" if args.quick else "circuits.json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
