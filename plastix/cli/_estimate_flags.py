"""Which of ``plastix estimate``'s flags apply to the input, and their defaults.

A flag that does not apply to what is estimated (a record's ``--lag`` on a table of
pairing experiments, a table's ``--tau-ms`` on a record, ``--window`` without
``--weights-from spikes``) is refused in one line instead of being ignored.  The flags
whose default is a value (``--lag``, ``--null``, ``--pairing``, ``--tau-ms``,
``--method``, ``--nan``) are parsed with ``None`` so that "given" can be told from
"default"; :func:`fill_defaults` then sets the documented defaults.  Flags that would do
nothing whatever the input (``--allow-pickle`` without a pickle, ``--overwrite``
without ``--out``, ``--null`` with ``--n-null 0``) are refused here too.
"""

from __future__ import annotations

import argparse

from plastix.cli._errors import CLIError
from plastix.cli._paths import input_name
from plastix.cli._reader_flags import given_reader_flags

__all__ = ["DEFAULTS", "check_flags_apply", "check_kernel_flags", "check_table_kernel_flags",
           "fill_defaults"]

DEFAULTS = {"lag": 1, "null": "pooled-shift", "pairing": "all", "tau_ms": 20.0,
            "method": "ccg", "nan": "refuse"}
"""The documented default of each flag parsed with ``None`` (see the module docstring)."""

_RECORD_ONLY = {"decay": "--decay", "lag": "--lag", "null": "--null",
                "weights_from": "--weights-from", "method": "--method", "window": "--window"}
_TABLE_ONLY = {"by": "--by", "pairing": "--pairing", "tau_ms": "--tau-ms",
               "sheet": "--sheet", "nan": "--nan"}


def _given(args: argparse.Namespace, dests: dict[str, str]) -> list[str]:
    """The flags of ``dests`` (dest -> flag) the user gave (a value other than None)."""
    return [flag for dest, flag in dests.items() if getattr(args, dest, None) is not None]


def _listing(flags: list[str]) -> str:
    return ", ".join(f"`{f}`" for f in flags)


def check_flags_apply(args: argparse.Namespace, *, table: bool) -> None:
    """Refuse, in one line, the flags given that do not apply to ``args.file`` (a table
    of pairing experiments when ``table``, else a record), before any work."""
    name = input_name(args.file)
    if getattr(args, "overwrite", False) and getattr(args, "out", None) is None:
        raise CLIError("`--overwrite` lets --out replace earlier results, but no --out is "
                       "given (nothing is written): drop it, or add --out RESULT.")
    if table:
        wrong = _given(args, _RECORD_ONLY) + given_reader_flags(args)
        wrong += ["--allow-pickle"] if getattr(args, "allow_pickle", False) else []
        if wrong:
            them = "it" if len(wrong) == 1 else "them"
            raise CLIError(f"{_listing(wrong)} appl{'ies' if len(wrong) == 1 else 'y'} to "
                           f"recordings, not to the table of pairing experiments {name!r}, and "
                           f"would be ignored; drop {them}.")
        if getattr(args, "plot", False):
            raise CLIError(f"`--plot` draws the estimate of a recording; the estimate of a "
                           f"table of pairing experiments ({name!r}) has no figure: drop "
                           "`--plot` (the result's .nc and .json hold every number).")
        if args.sheet is not None and args.file.suffix.lower() != ".xlsx":
            raise CLIError(f"`--sheet` picks a sheet of an Excel workbook (.xlsx), but {name!r} "
                           "is a text table with one sheet: drop `--sheet`.")
        return
    from plastix.cli._inputs import check_allow_pickle

    check_allow_pickle(args.allow_pickle, [args.file])
    wrong = _given(args, _TABLE_ONLY)
    if wrong:
        them = "it" if len(wrong) == 1 else "them"
        raise CLIError(f"{_listing(wrong)} appl{'ies' if len(wrong) == 1 else 'y'} to a table "
                       f"of pairing experiments, not to {name!r}, and would be ignored; drop "
                       f"{them}.")
    inference = _given(args, {"method": "--method", "window": "--window"})
    if inference and args.weights_from != "spikes":
        raise CLIError(f"{_listing(inference)} set{'s' if len(inference) == 1 else ''} how "
                       "weights are inferred from spikes, but `--weights-from spikes` is not "
                       f"given, so {name!r} is read with its measured weights: add "
                       f"`--weights-from spikes` or drop {_listing(inference)}.")


def check_table_kernel_flags(args: argparse.Namespace) -> None:
    """Refuse ``--tau-ms`` and ``--pairing`` (the STDP window's time constant and spike
    pairs) with a table's kernel of rates, which uses neither (``--kernel all`` holds the
    STDP window, so they apply there)."""
    from plastix.kernels import get_kernel

    if args.kernel == "all" or get_kernel(args.kernel).inputs == "spike_times":
        return
    wrong = _given(args, {"tau_ms": "--tau-ms", "pairing": "--pairing"})
    if wrong:
        them = "it" if len(wrong) == 1 else "them"
        raise CLIError(f"{_listing(wrong)} set{'s' if len(wrong) == 1 else ''} the STDP window "
                       f"of the table's estimate, but the kernel {args.kernel!r} uses rates and "
                       f"no window: add `--kernel stdp` (or `--kernel all`) or drop {them}.")


def check_kernel_flags(args: argparse.Namespace) -> None:
    """Refuse ``--lag`` with a kernel that is not lagged and ``--null`` with a kernel of
    rates (its null always shifts the rates), once the kernel (``args.kernel``) is known."""
    from plastix._util.errors import check_choice
    from plastix.estimate._spikes import NULL_METHODS
    from plastix.kernels import get_kernel

    if args.null is not None:
        check_choice("null", args.null, NULL_METHODS)  # a typo is named as one first
    kernel = get_kernel(args.kernel)
    if args.null is not None and args.n_null == 0 and kernel.inputs == "spike_times":
        raise CLIError("`--null` chooses how the null's replicates are made, but `--n-null 0` "
                       "makes none: drop one of them.")
    if args.lag is not None and not kernel.lagged:
        raise CLIError(f"`--lag` is the lag of a lagged kernel, but the kernel is "
                       f"{args.kernel!r}: add `--kernel lagged` or drop `--lag`.")
    if args.null is not None and kernel.inputs != "spike_times":
        raise CLIError(f"`--null` chooses the null of spike-time kernels (e.g. stdp), but the "
                       f"kernel {args.kernel!r} reads rates, whose null is always a circular "
                       "shift of them: drop `--null`.")


def fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Set the documented default of every flag of :data:`DEFAULTS` not given."""
    for dest, value in DEFAULTS.items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)
    return args
