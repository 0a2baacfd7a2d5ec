"""``plastix simulate rate|spiking --rule R --decay G --noise S [--duration T] --out FILE``.

Also ``--seed N``, ``--eta``, ``--n-pre``, ``--n-post`` and ``--target``.

Writes the record by the file's extension through :func:`plastix.io.save_record`
(``.nc`` NetCDF, ``.nix``/``.nwb``/``.pkl`` a ``neo.Block``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plastix.circuits.config import RULES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a Brian2 rate or spiking circuit",
                       description="Simulate a circuit with plastic synapses "
                       "dw/dt = eta g - gamma w + sigma xi(t) and write its record.")
    p.add_argument("circuit", help="'rate' or 'spiking'")
    p.add_argument("--rule", default="error", help="one of: " + ", ".join(RULES))
    p.add_argument("--decay", type=float, default=1.0, help="weight decay gamma (1/s)")
    p.add_argument("--noise", type=float, default=0.0, help="weight noise sigma (1/sqrt(s))")
    p.add_argument("--eta", type=float, default=None, help="learning rate (1/s)")
    p.add_argument("--duration", type=float, default=5.0, help="simulated time (s)")
    p.add_argument("--n-pre", type=int, default=None, help="number of inputs")
    p.add_argument("--n-post", type=int, default=None, help="number of output units")
    p.add_argument("--target", default=None, help="Brian2 codegen target: numpy, cython, auto")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, required=True,
                   help="output file: .nc (NetCDF), .nix, .nwb or .pkl (Neo)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from plastix._util.errors import check_choice
    from plastix.circuits.config import RateCircuitConfig, SpikingCircuitConfig
    from plastix.circuits.simulate import simulate_rate, simulate_spiking
    from plastix.io import format_for_path, save_record

    check_choice("circuit", args.circuit, ("rate", "spiking"))
    format_for_path(args.out)  # fail on a bad extension before simulating
    kw = {"rule": args.rule, "decay": args.decay, "noise": args.noise,
          "duration": args.duration}
    for name in ("eta", "n_pre", "n_post"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if args.circuit == "rate":
        ds = simulate_rate(RateCircuitConfig(**kw), rng=args.seed, target=args.target)
    else:
        ds = simulate_spiking(SpikingCircuitConfig(**kw), rng=args.seed, target=args.target)
    path = save_record(ds, args.out)
    print(f"plastix simulate {args.circuit}: wrote {path}")
    return 0
