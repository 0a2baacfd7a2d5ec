"""``plastix simulate rate|spiking --rule R --decay G --noise S [--duration T] --out FILE``.

Also ``--rng N``, ``--eta``, ``--n-pre``, ``--n-post``, ``--record-synapses``,
``--target`` and ``--nwb-style``.  Writes the record by the file's suffix through the format
registry (``save_record``); ``--out DIR/`` writes ``DIR/CIRCUIT.nc``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plastix.cli._paths import add_overwrite_flag, add_rng_flag, check_outputs, is_folder_target
from plastix.cli._registry_help import circuit_rule_names, format_help


def _synapses(text: str):
    if text.lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--record-synapses must be a count or 'all'; got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a Brian2 rate or spiking circuit",
                       description="Simulate a circuit with plastic synapses "
                       "dw/dt = eta g - gamma w + sigma xi(t) and write its record.")
    p.add_argument("circuit", help="'rate' or 'spiking'")
    p.add_argument("--rule", default="error",
                   help="learning rule g (default error), one of: "
                   + ", ".join(circuit_rule_names()) + " (stdp: spiking only)")
    p.add_argument("--decay", type=float, default=1.0,
                   help="weight decay gamma (1/s; default 1)")
    p.add_argument("--noise", type=float, default=0.0,
                   help="weight noise sigma (1/sqrt(s); default 0)")
    p.add_argument("--eta", type=float, default=None,
                   help="learning rate (1/s; default 0.5 for hebbian, whose weights run away "
                   "when eta exceeds the decay, else 5)")
    p.add_argument("--duration", type=float, default=5.0, help="simulated time (s)")
    p.add_argument("--n-pre", type=int, default=None, help="number of inputs")
    p.add_argument("--n-post", type=int, default=None, help="number of output units")
    p.add_argument("--record-synapses", type=_synapses, default=argparse.SUPPRESS,
                   metavar="N", help="synapses whose weights are recorded: a count or 'all' "
                   "(default: the circuit's, 2000)")
    p.add_argument("--target", default=None, help="Brian2 codegen target: numpy, cython, auto")
    add_rng_flag(p, "random seed (default 0)")
    p.add_argument("--out", required=True,
                   help=f"output file by its suffix: {format_help(written=True)}; DIR/ writes "
                   "DIR/CIRCUIT.nc")
    p.add_argument("--nwb-style", default=None, choices=("neo", "standard"),
                   help="with a .nwb output: 'neo' (default; plastix's Neo convention, every "
                   "record variable) or 'standard' (Units, a plasticity module with the weight "
                   "series and its synapse table: opens in any NWB tool)")
    add_overwrite_flag(p)
    p.set_defaults(func=_run)


def _check_rule(circuit: str, rule: str) -> None:
    """Refuse, in flags, a rule the circuit cannot run (STDP needs spikes)."""
    from plastix.circuits.config import RATE_RULES
    from plastix.cli._errors import CLIError

    if circuit == "rate" and rule == "stdp":
        raise CLIError("--rule stdp needs spikes; `plastix simulate rate` runs "
                       f"{', '.join(RATE_RULES)}. Run `plastix simulate spiking --rule stdp` "
                       "instead.")


def _run(args: argparse.Namespace) -> int:
    from plastix._util.errors import check_choice
    from plastix.cli._registry_help import check_format

    check_choice("circuit", args.circuit, ("rate", "spiking"))
    _check_rule(args.circuit, args.rule)
    out = Path(args.out) / f"{args.circuit}.nc" if is_folder_target(args.out) else Path(args.out)
    check_format(out)  # fail on a bad suffix before simulating
    if args.nwb_style and out.suffix.lower() != ".nwb":
        from plastix.cli._errors import CLIError

        raise CLIError(f"`--nwb-style` chooses how an .nwb file is written, but the output "
                       f"{out.name!r} is a {out.suffix or 'suffix-less'} file: write a .nwb "
                       "file or drop `--nwb-style`.")
    check_outputs([out], named=[] if is_folder_target(args.out) else [out],
                  overwrite=args.overwrite)
    from plastix.circuits.config import RateCircuitConfig, SpikingCircuitConfig, rule_eta
    from plastix.circuits.simulate import simulate_rate, simulate_spiking
    from plastix.io import save_record

    kw = {"rule": args.rule, "decay": args.decay, "noise": args.noise,
          "duration": args.duration, "eta": rule_eta(args.rule)}
    for name in ("eta", "n_pre", "n_post"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if hasattr(args, "record_synapses"):  # 'all' is None
        kw["record_synapses"] = args.record_synapses
    if args.circuit == "rate":
        ds = simulate_rate(RateCircuitConfig(**kw), rng=args.rng, target=args.target)
    else:
        ds = simulate_spiking(SpikingCircuitConfig(**kw), rng=args.rng, target=args.target)
    path = save_record(ds, out, **({"nwb_style": args.nwb_style} if args.nwb_style else {}))
    print(f"plastix simulate {args.circuit}: wrote {path}")
    return 0
