"""The command line: help texts from the registries, one seed spelling, rerun commands that
rerun, outputs that never replace inputs, one line instead of a traceback."""

from __future__ import annotations

import hashlib
import html
import re
import shlex
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from plastix.cli import build_parser, main
from plastix.cli._registry_help import (
    circuit_rule_names,
    format_entries,
    kernel_entries,
    rule_entries,
)


def _help(*argv: str) -> str:
    """A subcommand's --help text, whitespace collapsed (argparse wraps lines)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices
               and "estimate" in a.choices)
    return " ".join(sub.choices[argv[0]].format_help().split())


def test_every_registered_name_is_in_the_help():
    kernels = [k for k, _ in kernel_entries()]
    assert "product" in kernels and "stdp" in kernels
    for command in ("estimate", "design"):
        text = _help(command)
        missing = [k for k in kernels if re.search(rf"\b{re.escape(k)}\b", text) is None]
        assert not missing, f"kernels missing from `plastix {command} --help`: {missing}"
    formats = format_entries()
    assert {"netcdf", "nix", "nwb", "pynapple", "phy"} <= {n for n, _, _ in formats}
    for command in ("estimate", "simulate", "design"):
        text = _help(command)
        # simulate writes: the formats plastix reads only (pynapple) are not offered there
        for name, suffixes, _ in format_entries(written=command == "simulate"):
            assert name in text, f"format {name!r} missing from `plastix {command} --help`"
            for s in suffixes:
                assert s in text, f"suffix {s!r} missing from `plastix {command} --help`"
    rules = [r for r, _ in rule_entries()]
    assert "sgd" in rules
    text = _help("reproduce")
    assert not [r for r in rules if re.search(rf"\b{re.escape(r)}\b", text) is None]
    text = _help("simulate")
    assert not [r for r in circuit_rule_names() if r not in text]


def test_outputs_offer_only_the_formats_plastix_writes(tmp_path, capsys):
    assert "pynapple" not in _help("simulate") and "pynapple" in _help("inspect")
    (tmp_path / "in.nwb").write_bytes(b"not read: the output is refused first")
    assert main(["infer-weights", str(tmp_path / "in.nwb"), "--out",
                 str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err
    assert "does not write a record as one ('out.npz')" in err and "write_pynapple_session" in err


def test_kernel_help_has_descriptions_when_the_registry_does():
    text = "".join(_help("estimate").split())  # argparse wraps lines, also after hyphens
    for name, desc in kernel_entries():
        if desc:
            assert "".join(desc.split()) in text, f"{name}'s description is not in the help"


@pytest.mark.parametrize("command", ["simulate", "estimate", "design", "demo", "reproduce"])
def test_the_seed_is_spelled_rng_and_seed_is_a_hidden_alias(command):
    parser = build_parser()
    head = {"simulate": ["simulate", "rate", "--out", "x.nc"], "estimate": ["estimate", "x.nc"],
            "design": ["design", "--out", "d"], "demo": ["demo"],
            "reproduce": ["reproduce", "table1", "--out", "d"]}[command]
    assert parser.parse_args(head).rng == 0
    assert parser.parse_args(head + ["--rng", "5"]).rng == 5
    assert parser.parse_args(head + ["--seed", "7"]).rng == 7
    text = _help(command)
    assert "--rng" in text and re.search(r"--seed(?![\w-])", text) is None


def test_a_printed_rerun_command_reproduces_the_demo(tmp_path):
    """The report's `plastix estimate` command for a bundled recording gives the demo's
    numbers exactly (same JSON, byte for byte)."""
    from plastix.demo import run_demo

    report, failed = run_demo(tmp_path / "demo", progress=False, pieces=["bundled datasets"])
    assert failed == []
    blocks = [html.unescape(b) for b in re.findall(r"<pre><code>(.*?)</code></pre>",
                                                  report.read_text(), flags=re.S)]
    commands = [line for b in blocks for line in b.splitlines()
                if line.startswith("plastix estimate ")]
    assert len(commands) == 3
    argv = shlex.split(commands[0])[1:]
    i = argv.index("--out")
    demo_json = Path(argv[i + 1]).with_suffix(".json")
    argv[i + 1] = str(tmp_path / "rerun")
    argv.remove("--overwrite")
    assert main(argv) == 0
    assert (tmp_path / "rerun.json").read_bytes() == demo_json.read_bytes()


def test_printed_commands_parse():
    """Every flag in the demo's rerun commands exists in the parser."""
    import inspect

    import plastix.demo as D

    parser = build_parser()
    known = set()
    for action in parser._actions:
        for p in (getattr(action, "choices", None) or {}).values():
            known |= {opt for a in p._actions for opt in a.option_strings}
    used = set(re.findall(r"(--[a-z][a-z-]*)", inspect.getsource(D)))
    assert used and used - known == set(), f"the demo prints unknown flags: {used - known}"


# ------------------------------------------------------------ outputs never replace inputs

def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def small_nc(tmp_path):
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
    from plastix.io import save_record

    rec = simulate_synthetic(SyntheticConfig(rule="hebbian", n_pre=6, n_post=3,
                                             n_intervals=12, bins_per_interval=5),
                             rng=np.random.default_rng(1), known_decay=True)
    return save_record(rec, tmp_path / "a.nc")


FAST = ["--n-boot", "20", "--n-null", "0"]


def _refused(capsys, argv, *expected):
    """Run the CLI, check it exits 2 with one line containing every `expected` text."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"plastix {argv[0]}: error: "), err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_estimate_never_replaces_its_input(small_nc, tmp_path, capsys):
    before = _sha(small_nc)
    _refused(capsys, ["estimate", str(small_nc), *FAST, "--out", str(small_nc)],
             "would replace the input")
    # `--out a` adds the suffix: a.nc, the input
    _refused(capsys, ["estimate", str(small_nc), *FAST, "--out", str(tmp_path / "a")],
             "would replace the input")
    # --overwrite never allows it
    _refused(capsys, ["estimate", str(small_nc), *FAST, "--overwrite", "--out",
                      str(small_nc)], "never overwritten")
    # a hard link to the input is the input
    link = tmp_path / "link.nc"
    link.hardlink_to(small_nc)
    _refused(capsys, ["estimate", str(small_nc), *FAST, "--out", str(link)],
             "would replace the input")
    assert _sha(small_nc) == before


def test_estimate_refuses_a_sibling_it_was_not_told_to_replace(small_nc, tmp_path, capsys):
    """`estimate c.nix --out c` writes c.nc and c.json: an existing c.nc is not the
    user's to lose without --overwrite; `--out c.nix` is refused (that file would not be
    written)."""
    import shutil

    c_nc = tmp_path / "c.nc"
    shutil.copy(small_nc, c_nc)
    c_nix = tmp_path / "c.nix"
    c_nix.write_bytes(b"not read: the output check comes first")
    before = {p: _sha(p) for p in (c_nc, c_nix, small_nc)}
    names = sorted(tmp_path.iterdir())
    _refused(capsys, ["estimate", str(c_nix), *FAST, "--out", str(tmp_path / "c")],
             f"{str(c_nc)!r} exists", "--overwrite")
    _refused(capsys, ["estimate", str(c_nix), *FAST, "--out", str(c_nix)],
             "names a .nix file", f"--out {tmp_path / 'c'}")
    assert {p: _sha(p) for p in before} == before and sorted(tmp_path.iterdir()) == names


def test_estimate_writes_inside_a_folder_and_named_files_are_replaced(small_nc, tmp_path,
                                                                      capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    assert main(["estimate", str(small_nc), *FAST, "--out", str(folder) + "/"]) == 0
    assert (folder / "a_estimate.nc").exists() and (folder / "a_estimate.json").exists()
    # rerunning into the same folder: the files were not named, so --overwrite is needed
    _refused(capsys, ["estimate", str(small_nc), *FAST, "--out", str(folder)], "--overwrite")
    assert main(["estimate", str(small_nc), *FAST, "--overwrite", "--out", str(folder)]) == 0


def test_design_never_replaces_its_record(small_nc, tmp_path, capsys, monkeypatch):
    import shutil

    import plastix.design.propose as P

    monkeypatch.setattr(P, "propose_experiments",
                        lambda **kw: pytest.fail("the design ran before the output check"))
    rec = tmp_path / "design.nc"
    shutil.copy(small_nc, rec)
    before = _sha(rec)
    monkeypatch.chdir(tmp_path)
    _refused(capsys, ["design", "--record", "design.nc", "--out", "."],
             "would replace the input 'design.nc'")
    _refused(capsys, ["design", "--record", "design.nc", "--overwrite", "--out", "."],
             "never overwritten")
    assert _sha(rec) == before


def test_simulate_checks_its_output_before_simulating(tmp_path, capsys, monkeypatch):
    import plastix.circuits.simulate as S

    monkeypatch.setattr(S, "simulate_rate", lambda *a, **k: pytest.fail("simulated"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _refused(capsys, ["simulate", "rate", "--out", str(blocker / "r.nc")],
             "is a file, not a folder")
    _refused(capsys, ["simulate", "rate", "--out", str(tmp_path / "r.txt")], "must end in")


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root can write in a read-only folder")
def test_a_read_only_output_folder_is_refused_first(tmp_path, capsys, monkeypatch):
    import plastix.circuits.simulate as S

    monkeypatch.setattr(S, "simulate_rate", lambda *a, **k: pytest.fail("simulated"))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _refused(capsys, ["simulate", "rate", "--out", str(ro / "r.nc")], "cannot write in")
    finally:
        ro.chmod(0o700)


# ------------------------------------------------------------ one line, never a traceback

def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="must end in"):
        main(["--debug", "simulate", "rate", "--out", str(tmp_path / "r.txt")])
    with pytest.raises(ValueError, match="must end in"):
        main(["simulate", "rate", "--out", str(tmp_path / "r.txt"), "--debug"])


def test_memory_error_is_one_line(tmp_path, capsys, monkeypatch):
    import plastix.circuits.simulate as S

    def boom(*a, **k):
        raise MemoryError("Unable to allocate 7.28 TiB")

    monkeypatch.setattr(S, "simulate_rate", boom)
    _refused(capsys, ["simulate", "rate", "--out", str(tmp_path / "r.nc")], "out of memory",
             "7.28 TiB", "--duration")


def test_a_pickle_is_not_unpickled_without_allow_pickle(tmp_path, capsys):
    """The pickle below makes a folder when unpickled: refused, it makes none."""
    import os
    import pickle

    marker = tmp_path / "code-ran"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil()))
    before = _sha(evil)
    _refused(capsys, ["estimate", str(evil)], "is a pickle file", "--allow-pickle")
    _refused(capsys, ["design", "--record", str(evil), "--out", str(tmp_path / "d")],
             "is a pickle file")
    assert not marker.exists() and _sha(evil) == before
    # the check can fail: with --allow-pickle the file is unpickled (and is no record)
    assert main(["estimate", str(evil), "--allow-pickle"]) == 2
    assert marker.exists()
    capsys.readouterr()


def test_os_errors_and_interrupts_are_one_line(tmp_path, capsys, monkeypatch):
    import plastix.circuits.simulate as S
    import plastix.io as I

    monkeypatch.setattr(S, "simulate_rate", lambda *a, **k: "a record")

    def full(ds, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(I, "save_record", full)
    out = tmp_path / "r.nc"
    _refused(capsys, ["simulate", "rate", "--out", str(out)],
             f"OSError {str(out)!r}: No space left on device.")

    def interrupted(ds, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(I, "save_record", interrupted)
    assert main(["simulate", "rate", "--out", str(out)]) == 130
    assert capsys.readouterr().err.strip() == "plastix simulate: interrupted."


def test_the_readme_table_matches_the_parser():
    """Every flag of the README's command-line table exists on its subcommand."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## The command line at a glance", 1)[1].split("```bash", 1)[1]
    block = block.split("```", 1)[0]
    parser = build_parser()
    sub = next(a for a in parser._actions if getattr(a, "choices", None)
               and "estimate" in a.choices)
    seen = set()
    for line in block.strip().splitlines():
        command = line.split()[1]
        seen.add(command)
        known = {o for a in sub.choices[command]._actions for o in a.option_strings}
        used = set(re.findall(r"(--[a-z][a-z-]*)", line.split("#")[0]))
        assert used <= known, f"README: `plastix {command}` has no {used - known}"
    assert seen == set(sub.choices)


def test_inspect_and_estimate_map_a_standard_nwb_file(tmp_path, capsys):
    """A simulation exported as standard NWB is described by `inspect` and estimated with the
    reader flags; a wrong mapping is one line that points to `inspect`."""
    out = tmp_path / "r.nwb"
    assert main(["simulate", "rate", "--duration", "1", "--out", str(out),
                 "--nwb-style", "standard"]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "column role" in text and "ready for `plastix estimate`" in text
    assert main(["estimate", str(out), "--n-null", "9", "--n-boot", "50",
                 "--pre-units", "role=pre", "--post-units", "role=post"]) == 0
    assert "verdict" in capsys.readouterr().out
    assert main(["estimate", str(out), "--pre-units", "layer=L4"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "plastix inspect" in err


def test_inspect_exit_code_says_whether_an_estimate_can_run(tmp_path, capsys):
    from datetime import datetime

    import pynwb

    path = tmp_path / "units_only.nwb"
    nwb = pynwb.NWBFile(session_description="units only", identifier="u1",
                        session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    nwb.add_unit(spike_times=[0.1, 0.2, 0.3])
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    assert main(["inspect", str(path)]) == 1
    text = capsys.readouterr().out
    assert "--pre-units" in text


def test_estimate_reads_a_table_of_pairing_experiments(tmp_path, capsys):
    """`plastix estimate TABLE.csv --kernel all` names the kernel that explains a table
    simulated with pair STDP, and never writes over the table."""
    from plastix.estimate.pairing_sim import simulate_pairing_table

    table = tmp_path / "pairs.csv"
    simulate_pairing_table("stdp", rng=1).to_csv(table, index=False)
    before = _sha(table)
    assert main(["estimate", str(table), "--kernel", "all", "--n-boot", "200",
                 "--n-null", "99", "--out", str(tmp_path / "res") + "/"]) == 0
    text = capsys.readouterr().out
    assert "best kernel: stdp" in text
    assert (tmp_path / "res" / "pairs_estimate.json").exists()
    assert _sha(table) == before


def test_datasets_verify_exits_non_zero_on_a_mismatch(tmp_path, monkeypatch, capsys):
    """`plastix datasets verify` exits 0 when every dataset is intact and 1 when one is not."""
    import plastix.datasets as D

    monkeypatch.setattr(D, "verify_datasets",
                        lambda names=None: [("a", "ok"), ("b", "regenerated")])
    assert main(["datasets", "verify"]) == 0
    monkeypatch.setattr(D, "verify_datasets", lambda names=None: [("a", "ok"), ("b", "missing")])
    assert main(["datasets", "verify"]) == 1
    monkeypatch.setattr(D, "verify_datasets", lambda names=None: [("a", "MISMATCH")])
    assert main(["datasets", "verify"]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_infer_weights_and_estimate_from_spikes(tmp_path, capsys):
    """`infer-weights` writes a record with inferred weights beside the input; `estimate
    --weights-from spikes` runs inference then the estimator, with the stdp kernel."""
    from plastix.estimate.synthetic import simulate_spike_record
    from plastix.io import load_record, save_record

    src = tmp_path / "spikes.nc"
    save_record(simulate_spike_record(20, 1, duration=120.0, rng=1), src)
    before = _sha(src)
    out = tmp_path / "inferred.nc"
    assert main(["infer-weights", str(src), "--out", str(out), "--window", "10"]) == 0
    rec = load_record(out)
    assert rec.attrs["weights"] == "inferred" and "weight_sem" in rec
    assert main(["infer-weights", str(src), "--out", str(src)]) == 2  # never over the input
    assert main(["infer-weights", str(src), "--out", str(tmp_path / "w") + "/"]) == 0  # DIR/
    assert load_record(tmp_path / "w" / "spikes_weights.nc").attrs["weights"] == "inferred"
    capsys.readouterr()
    assert main(["infer-weights", str(src), "--out", str(tmp_path / "z.nc"), "--window",
                 "0"]) == 2  # never read as the default window
    assert "`--window`" in capsys.readouterr().err and not (tmp_path / "z.nc").exists()
    assert main(["estimate", str(src), "--weights-from", "spikes", "--n-boot", "100",
                 "--n-null", "39"]) == 0
    text = capsys.readouterr().out
    assert "kernel 'stdp'" in text and "verdict" in text
    assert _sha(src) == before


def test_the_lab_files_demo_section_reruns_exactly(tmp_path):
    """The demo's section on a standard NWB file and pairing tables runs, shows the inspect
    report, and its printed table command gives the same JSON byte for byte."""
    from plastix.demo import run_demo

    report, failed = run_demo(tmp_path / "demo", progress=False, pieces=["files labs write"])
    assert failed == []
    text = html.unescape(report.read_text())
    assert "plastix inspect circuit_hebbian_standard.nwb" in text and "ready for" in text
    commands = [line for b in re.findall(r"<pre><code>(.*?)</code></pre>", text, flags=re.S)
                for line in b.splitlines() if line.startswith("plastix estimate ")]
    assert len(commands) == 3 and sum(".csv " in c for c in commands) == 2
    for command in (commands[0], commands[-1]):  # the NWB file, a table
        argv = shlex.split(command)[1:]
        i = argv.index("--out")
        demo_json = Path(argv[i + 1]).with_suffix(".json")
        argv[i + 1] = str(tmp_path / "rerun")
        argv.remove("--overwrite")
        assert main(argv) == 0
        assert (tmp_path / "rerun.json").read_bytes() == demo_json.read_bytes(), command
        (tmp_path / "rerun.json").unlink()
        (tmp_path / "rerun.nc").unlink()


def test_console_prints_each_warning_once_and_names_other_packages(capsys, monkeypatch):
    """A warning repeated during one command prints once; one raised inside another
    package (hdmf, pynwb, pynapple) is labelled with it, so it is not read as plastix's."""
    import warnings

    import plastix.cli as cli

    def run(args):
        warnings.warn("twice", UserWarning, stacklevel=1)
        warnings.warn("twice", UserWarning, stacklevel=1)
        import numpy as np

        warnings.warn_explicit("from numpy", UserWarning, np.__file__, 1)  # numpy's own code
        return 0

    monkeypatch.setattr(cli, "main", run)
    assert cli.console([]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["plastix: warning: twice", "plastix: warning (numpy): from numpy"], err


def test_errors_name_the_flags_of_the_command(tmp_path, capsys):
    """A message that names an option as Python spells it (`n_boot`) names the flag on the
    command line (`--n-boot`), and is left alone where the flag already follows."""
    import argparse

    from plastix.cli import as_flags

    p = argparse.ArgumentParser()
    p.add_argument("--n-boot")
    p.add_argument("--pre-units")
    assert as_flags("`n_boot` must be >= 1; `alpha` too", p) == (
        "`--n-boot` must be >= 1; `alpha` too")
    given = "`pre_units` (--pre-units) cannot map"
    assert as_flags(given, p) == given
    path = tmp_path / "rec.nc"
    from plastix.estimate.synthetic import SyntheticConfig, simulate_synthetic
    from plastix.io import save_record

    save_record(simulate_synthetic(SyntheticConfig(rule="hebbian", n_pre=4, n_post=2,
                                                   n_intervals=12, bins_per_interval=5),
                                   rng=np.random.default_rng(0), known_decay=True), path)
    capsys.readouterr()
    assert main(["estimate", str(path), "--n-boot", "0"]) == 2
    assert "`--n-boot` must be" in capsys.readouterr().err


def test_an_output_name_too_long_for_its_temporary_file_is_refused_first(small_nc, tmp_path,
                                                                           capsys):
    """A 240-byte name passes the file system but not its atomic write's temporary file:
    refused before the estimate runs, not after."""
    long = tmp_path / ("r" * 240)
    assert main(["estimate", str(small_nc), *FAST, "--out", str(long)]) == 2
    assert "choose a shorter name" in capsys.readouterr().err
    assert not list(tmp_path.glob("r" * 20 + "*"))


def test_usage_errors_are_one_line(capsys):
    """A value argparse refuses (`--n-boot abc`) is one line naming the flag and where the
    usage is, not the usage block."""
    with pytest.raises(SystemExit) as stop:
        main(["estimate", "x.nc", "--n-boot", "abc"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and err == [
        "plastix estimate: error: argument --n-boot: invalid int value: 'abc' (usage: plastix "
        "estimate --help)"]


def test_an_unknown_flag_names_its_subcommand_and_the_closest_flag(capsys):
    """argparse's top-level "unrecognized arguments" named neither the subcommand nor a
    flag it has; a file of an unknown suffix is not offered a far one ('.json': '.nc')."""
    with pytest.raises(SystemExit) as exit_:
        main(["estimate", "rec.nc", "--n-bot", "5"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "plastix estimate: error: unrecognized arguments: --n-bot 5; did you mean --n-boot? "
        "(usage: plastix estimate --help)\n")
    with pytest.raises(SystemExit):
        main(["estimate", "rec.nc", "--bogus"])
    assert "did you mean" not in capsys.readouterr().err


def test_a_far_suffix_gets_no_suggestion(tmp_path, capsys):
    (tmp_path / "registry.json").write_text("{}")
    (tmp_path / "rec.ncc").write_text("x")
    assert main(["estimate", str(tmp_path / "registry.json")]) == 2
    assert "Did you mean" not in capsys.readouterr().err
    assert main(["estimate", str(tmp_path / "rec.ncc")]) == 2
    assert "Did you mean '.nc'?" in capsys.readouterr().err
