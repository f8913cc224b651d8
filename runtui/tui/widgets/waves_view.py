"""The task graph by wave: one row per wave, each task as glyph + id, in columns.

    0  ✓ fetch          ✓ lint
    1  ✓ build          ✗ docs (allowed)
    2  ⏸ publish-gate   · smoke ×2

A task that failed with `allow_failure` says "(allowed)"; "×N" counts attempts when there was
more than one. Rows wrap under their wave number when a wave has more tasks than fit.
"""

from __future__ import annotations

from itertools import groupby

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from runtui.domain.views import TaskRow
from runtui.tui.glyphs import TASK_GLYPH
from runtui.tui.safe_text import one_line


def task_label(task: TaskRow) -> Text:
    glyph, style = TASK_GLYPH.get(task.status, ("?", ""))
    text = Text(no_wrap=True, end="")
    text.append(glyph, style=style)
    text.append(f" {one_line(task.task_id)}")
    if task.status == "failed" and task.allow_failure:
        text.append(" (allowed)", style="dim")
    if task.attempts > 1:
        text.append(f" ×{task.attempts}", style="yellow")
    return text


def wave_lines(tasks: list[TaskRow], width: int) -> list[Text]:
    """The rows of the view for `width` columns."""
    if not tasks:
        return [Text("no tasks yet", style="dim")]
    ordered = sorted(tasks, key=lambda t: t.wave)
    labels = [task_label(t) for t in ordered]
    number = len(str(max(t.wave for t in ordered))) + 2
    column = min(max(label.cell_len for label in labels) + 2, max(8, width - number))
    per_row = max(1, (width - number) // column)
    lines: list[Text] = []
    for wave, group in groupby(zip(ordered, labels, strict=True), key=lambda p: p[0].wave):
        row_labels = [label for _, label in group]
        for start in range(0, len(row_labels), per_row):
            line = Text(no_wrap=True, end="")
            line.append(f"{wave if start == 0 else '':<{number}}", style="bold")
            chunk = row_labels[start : start + per_row]
            for i, label in enumerate(chunk):
                cell = label.copy()
                cell.truncate(column - 1, overflow="ellipsis")
                line.append_text(cell)
                if i < len(chunk) - 1:
                    line.append(" " * (column - cell.cell_len))
            lines.append(line)
    return lines


class WavesView(VerticalScroll):
    ALLOW_MAXIMIZE = True

    DEFAULT_CSS = """
    WavesView { border: round $primary-darken-1; padding: 0 1; height: auto; }
    WavesView:focus { border: round $accent; }
    WavesView > Static { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tasks: list[TaskRow] = []
        self.text = Text()  # what is shown, as plain as a test needs it

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="waves-body")

    def on_mount(self) -> None:
        self.border_title = "Waves"

    def show(self, tasks: list[TaskRow]) -> None:
        self.tasks = tasks
        waves = len({t.wave for t in tasks})
        done = sum(1 for t in tasks if t.status == "done")
        self.border_title = f"Waves ({waves})" if tasks else "Waves"
        self.border_subtitle = f"{done}/{len(tasks)} tasks done" if tasks else ""
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        width = self.scrollable_content_region.width or 40
        self.text = Text("\n", end="").join(wave_lines(self.tasks, width))
        self.query_one("#waves-body", Static).update(self.text)
