"""A self-contained HTML report of a plastix run.

The report is one file: figures are embedded as base64 PNG, tables are HTML, and
every section carries the shell command that reruns it.  Nothing is loaded from
the network, so it opens offline and renders in a headless browser without
console errors.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Section", "Report", "table_html", "verdict_badge", "markdown_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1000px;padding:1.5em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}code,pre{background:#f6f8fa;border-radius:4px}
pre{padding:.6em;overflow-x:auto}.badge{display:inline-block;padding:.1em .5em;
border-radius:.8em;font-weight:600;font-size:.9em}.hebbian{background:#d4f4dd;color:#17612e}
.anti_hebbian{background:#fde2e1;color:#8c1d18}.indeterminate{background:#eee;color:#444}
.meta{color:#666;font-size:.9em}.note{background:#fff8e1;border-left:4px solid #f0c36d;
padding:.4em .8em}
"""


def verdict_badge(verdict: str) -> str:
    """An HTML badge for an estimator verdict (``hebbian``, ``anti_hebbian``, ``indeterminate``)."""
    cls = verdict if verdict in ("hebbian", "anti_hebbian", "indeterminate") else "indeterminate"
    return f'<span class="badge {cls}">{html.escape(verdict.replace("_", "-"))}</span>'


def _fmt(value: Any, digits: int) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}g}" if abs(value) >= 1e4 or (0 < abs(value) < 1e-3) else \
            f"{value:.{digits}f}"
    return html.escape(str(value))


def table_html(rows: Sequence[Sequence[Any]], header: Sequence[str], *, digits: int = 3,
               raw_columns: Sequence[int] = ()) -> str:
    """An HTML table; floats formatted to ``digits``, NaN shown as ``–``.

    Columns listed in ``raw_columns`` are inserted as HTML (for badges).
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            cells.append(f"<td>{v if i in raw_columns else _fmt(v, digits)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _inline(text: str) -> str:
    import re

    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return out


def markdown_html(text: str) -> str:
    """Render the small markdown subset plastix summaries use.

    Headings (``#``), paragraphs, bullet lists (``-``), pipe tables, inline code
    and bold.  Everything else is escaped, so the output is safe to embed.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            i += 1
            continue
        if line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(set(c) <= set("-: ") for c in cells):
                    rows.append(cells)
                i += 1
            head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0]) if rows else ""
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                           for r in rows[1:])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            continue
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 2, 6)
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
            i += 1
            continue
        if line.lstrip().startswith(("- ", "* ")):
            items = []
            while i < len(lines) and lines[i].lstrip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].lstrip()[2:])}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(
                ("|", "#", "- ", "* ")):
            para.append(lines[i].strip())
            i += 1
        out.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(out)


@dataclass
class Section:
    """One part of the report: a title, text, figures, tables and the command to rerun it.

    Parameters
    ----------
    title : str
        Section heading.
    command : str
        Shell command that reproduces this section's results.
    text : str
        Paragraphs of plain text (blank lines separate paragraphs); escaped.
    html_parts : list of str
        Pre-rendered HTML (tables from :func:`table_html`, badges).
    figures : list of (path, caption)
        PNG files to embed.
    files : list of path
        Raw result files written beside the report, linked relatively.
    """

    title: str
    command: str = ""
    text: str = ""
    html_parts: list[str] = field(default_factory=list)
    figures: list[tuple[Path, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    error: str | None = None

    def render(self, base: Path) -> str:
        parts = [f"<h2>{html.escape(self.title)}</h2>"]
        if self.error:
            parts.append(f'<p class="note">This part failed: {html.escape(self.error)}</p>')
        for para in [p for p in self.text.split("\n\n") if p.strip()]:
            parts.append(f"<p>{html.escape(para.strip())}</p>")
        parts.extend(self.html_parts)
        for path, caption in self.figures:
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        if self.files:
            links = ", ".join(
                f'<a href="{html.escape(os.path.relpath(f, base))}">'
                f"{html.escape(Path(f).name)}</a>" for f in self.files
            )
            parts.append(f"<p class=\"meta\">Raw results: {links}</p>")
        if self.command:
            parts.append(f"<p class=\"meta\">Rerun:</p><pre><code>{html.escape(self.command)}"
                         "</code></pre>")
        return "\n".join(parts)


@dataclass
class Report:
    """A list of sections written as one self-contained HTML file."""

    title: str
    intro: str = ""
    sections: list[Section] = field(default_factory=list)

    def add(self, section: Section) -> Section:
        self.sections.append(section)
        return section

    def write(self, path: str | os.PathLike) -> Path:
        """Write the report atomically and return its path."""
        from plastix import __version__

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        toc = "".join(
            f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>'
            for i, s in enumerate(self.sections)
        )
        body = "\n".join(
            f'<section id="s{i}">{s.render(path.parent)}</section>'
            for i, s in enumerate(self.sections)
        )
        doc = (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(self.title)}</title><link rel=\"icon\" href=\"data:,\">"
            f"<style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            f"<p class=\"meta\">plastix {html.escape(__version__)} · {stamp}</p>"
            + "".join(f"<p>{html.escape(p.strip())}</p>" for p in self.intro.split("\n\n")
                      if p.strip())
            + f"<nav><ol>{toc}</ol></nav>{body}</body></html>\n"
        )
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(doc, encoding="utf-8")
        os.replace(tmp, path)
        return path
