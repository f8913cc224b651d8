"""How much of a task's output one read may return, and the lines it returns.

An attempt can print millions of lines, and one line can be megabytes (a minified file, a
progress bar that never printed a newline). A read of its output (`Port.task_output`) is
therefore bounded three ways: at most `MAX_PAGE_LINES` lines, each cut to `MAX_LINE_CHARS`
characters (the line says how many were cut), and at most `MAX_PAGE_CHARS` characters in all.
The store applies these to what it reads, and the terminal UI to the output it is sent live, so
both show the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtui.domain.views import OutputLine

MAX_PAGE_LINES = 5000
DEFAULT_PAGE_LINES = 1000
MAX_LINE_CHARS = 4000
MAX_PAGE_CHARS = 1_000_000

STREAMS = ("stdout", "stderr", "poll")

#: Where a line is in a run's output: (seq of its `attempt.output` event, index in its batch).
OutputAt = tuple[int, int]


def batch_lines(seq: int, stream: str, lines: Iterable[str]) -> list[OutputLine]:
    """The lines of one `attempt.output` event, each cut to `MAX_LINE_CHARS`."""
    out: list[OutputLine] = []
    for index, text in enumerate(lines):
        cut = max(0, len(text) - MAX_LINE_CHARS)
        out.append(OutputLine(seq, index, stream, text[:MAX_LINE_CHARS] if cut else text, cut))
    return out


def parse_at(text: str) -> OutputAt:
    """`SEQ:INDEX` (how the HTTP API spells a position) as a position."""
    seq, sep, index = text.partition(":")
    if not sep or not seq.isdigit() or not index.isdigit():
        raise ValueError(f"not a position SEQ:INDEX: {text[:40]!r}")
    return int(seq), int(index)


def format_at(at: OutputAt) -> str:
    return f"{at[0]}:{at[1]}"
