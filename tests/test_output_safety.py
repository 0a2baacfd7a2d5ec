"""Outputs never cost data: no command replaces a file the user did not name, an odd
``--out`` is refused, a killed write's temporary file is cleaned up, and a full disk
gives one line (probe 5, findings 3, 4, 5 and 10)."""

from __future__ import annotations

import pytest

from plastix.cli import main


def _one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("slash", ["/", ""])
def test_infer_weights_into_a_folder_never_replaces_a_file_not_named(tmp_path, capsys, slash):
    """`infer-weights IN --out DIR/` (or an existing DIR) writes DIR/IN_weights.nc, a name
    the user did not give: an existing file there is refused before any work, as
    `estimate --out DIR/` does; it used to be replaced silently."""
    src = tmp_path / "in.nwb"
    src.write_bytes(b"not read: the output is refused first")
    folder = tmp_path / "res"
    folder.mkdir()
    notes = folder / "in_weights.nc"
    notes.write_text("my notes\n")
    assert main(["infer-weights", str(src), "--out", str(folder) + slash]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "in_weights.nc" in line and "exists and would be replaced" in line
    assert "--overwrite" in line and "another output location" in line
    assert notes.read_text() == "my notes\n"
