"""A closed pipe on stdout (``plastix inspect f | head``) ends the command quietly."""

from __future__ import annotations

import io

from plastix.cli import main


class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_stdout_pipe_exits_141_without_an_error_line(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    rc = main(["datasets", "list"])
    assert rc == 141
    assert "error" not in capsys.readouterr().err
