"""Where the event log's lines are: which row shows which part of which line when long lines
wrap, the line at a row, the line of an event.

Unwrapped, line i is row i. Wrapped, a line takes as many rows as its text needs beside the
time/seq/kind columns (continuation rows leave those columns blank), so the log keeps where each
shown line starts: appending extends that, anything else recounts (a few ms for the 20,000
events the log holds at most).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from rich.cells import cell_len

from runtui.tui.widgets.event_lines import LogLine


class WrappedRows:
    """The first row of every shown line, for a text `room` cells wide."""

    def __init__(self, room: int) -> None:
        self.room = max(1, room)
        self.starts: list[int] = []
        self.count = 0

    def height(self, line: LogLine) -> int:
        return max(1, -(-cell_len(line.text) // self.room))

    def extend(self, lines: Iterable[LogLine]) -> None:
        for line in lines:
            self.starts.append(self.count)
            self.count += self.height(line)

    def locate(self, row: int) -> tuple[int, int]:
        """(index of the line, which of its rows) shown at `row`."""
        index = bisect_right(self.starts, row) - 1
        return index, row - self.starts[index]

    def row_of(self, index: int) -> int:
        return self.starts[index]


def line_at(shown: list[LogLine], rows: WrappedRows | None, row: int) -> LogLine | None:
    """The line at screen row `row` (of the whole scrollable log)."""
    if rows is not None:
        if not 0 <= row < rows.count:
            return None
        row = rows.locate(row)[0]
    return shown[row] if 0 <= row < len(shown) else None


def index_of(shown: list[LogLine], seq: int, needle: str) -> int | None:
    """The shown line of event `seq` that holds `needle` (lower case), else its first shown
    line; None if none of its lines is shown."""
    first: int | None = None
    for index, line in enumerate(shown):
        if line.seq == seq:
            if not needle or needle in line.search:
                return index
            first = index if first is None else first
        elif line.seq > seq:
            break
    return first


def task_near(
    shown: list[LogLine], rows: WrappedRows | None, current: int | None, top: int, height: int
) -> str | None:
    """The task of event `current` if it has one, else of the lowest line in view with one."""
    if current is not None:
        index = index_of(shown, current, "")
        if index is not None and shown[index].task:
            return shown[index].task
    for row in range(top + height - 1, top - 1, -1):
        line = line_at(shown, rows, row)
        if line is not None and line.task:
            return line.task
    return None
