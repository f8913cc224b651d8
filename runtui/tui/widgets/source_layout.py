"""A workflow's source text as the terminal UI shows it: numbered lines, made safe.

The text is untrusted (a workflow file, a module, anyone's): each line goes through
`terminal_safe` (escape sequences removed, controls shown as pictures, bidi controls removed,
tabs expanded), and is drawn as plain text, never markup. Pure functions (no Textual).
"""

from __future__ import annotations

from runtui.domain.terminal_text import terminal_safe
from runtui.domain.workflow_source import MAX_SOURCE_BYTES, SourceFormat, WorkflowSource
from runtui.tui.widgets.graph_layout import Segment

FORMAT_NAME = {
    SourceFormat.TOML: "TOML file",
    SourceFormat.PYTHON: "Python module",
    SourceFormat.RENDERED: "rendered from the stored workflow, not the original text",
}


def source_lines(text: str) -> list[str]:
    """The text's lines, each safe to draw (a CRLF file reads as its lines)."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no line of its own
    return [terminal_safe(line.removesuffix("\r")) for line in lines]


def draw_source_line(number: int, line: str, number_width: int) -> list[Segment]:
    return [(f"{number:>{number_width}} │ ", "dim"), (line, "")]


def describe(source: WorkflowSource) -> str:
    """What the text is and where from: `TOML file · examples/demo.toml · 2.1 KiB`."""
    parts = [FORMAT_NAME[source.format]]
    if source.origin:
        parts.append(terminal_safe(source.origin, one_line=True))
    parts.append(size_text(source.size))
    if source.truncated:
        parts.append(f"cut: the first {size_text(MAX_SOURCE_BYTES)} shown")
    return " · ".join(parts)


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


__all__ = ["FORMAT_NAME", "describe", "draw_source_line", "size_text", "source_lines"]
