"""The HTML report: self-contained, renders in headless Chromium without console errors."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from plastix.report import Report, Section, markdown_html, table_html, verdict_badge  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _report(tmp_path, extra_html: str = ""):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("decay γ (1/step)")
    ax.set_ylabel("alignment (dimensionless)")
    fig.savefig(tmp_path / "f.png")
    plt.close(fig)
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    r = Report("test report", "intro <b>escaped</b>")
    r.add(Section("One", command="plastix demo --out x", text="para one\n\npara two",
                  html_parts=[table_html([["sgd", 0.5, float("nan"), verdict_badge("hebbian")]],
                                         ["rule", "A", "B", "verdict"], raw_columns=[3]),
                              markdown_html("| a | b |\n|---|---|\n| `x` | **y** |"),
                              extra_html],
                  figures=[(tmp_path / "f.png", "a figure")], files=[tmp_path / "data.csv"]))
    return r.write(tmp_path / "report.html")


def test_report_is_self_contained(tmp_path):
    text = _report(tmp_path).read_text()
    assert "data:image/png;base64," in text
    assert not re.search(r"""(src|href)=["']https?://""", text), "no network resources"
    assert "intro &lt;b&gt;escaped&lt;/b&gt;" in text
    assert '<span class="badge hebbian">hebbian</span>' in text
    assert "<td>–</td>" in text  # NaN shown as a dash
    assert 'href="data.csv"' in text


def _console_errors(path, tmp_path):
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=2000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120)
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
    return proc.stdout, console


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: chromium)")
def test_report_renders_in_headless_chromium_without_console_errors(tmp_path):
    dom, console = _console_errors(_report(tmp_path), tmp_path)
    assert "<h1>test report</h1>" in dom, "Chromium did not render the page"
    assert console == [], f"console messages: {console}"


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: chromium)")
def test_console_check_catches_a_broken_page(tmp_path):
    """The check above can fail: a page with a script error is caught."""
    path = _report(tmp_path, extra_html="<script>undefinedFunction();</script>")
    _, console = _console_errors(path, tmp_path)
    assert any("undefinedFunction" in ln for ln in console), console
