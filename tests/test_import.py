"""`import plastix` (and the light modules) must not load torch or brian2."""

import subprocess
import sys


def test_import_plastix_loads_neither_torch_nor_brian2():
    code = (
        "import sys, plastix, plastix.record, plastix.alignment, plastix.cli;"
        "bad = [m for m in ('torch', 'brian2') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import plastix loaded {out.stdout.strip()}"


def test_cli_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "plastix.cli", "--help"], capture_output=True,
                         text=True, check=True)
    assert "reproduce" in out.stdout
