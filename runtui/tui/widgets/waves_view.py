"""The task graph by wave: one row per wave, each task as glyph + id, in columns.

    0  ✓ fetch          ✓ lint
    1  ✓ build          ✗ docs (allowed)
    2  ⏸ publish-gate   · smoke ×2

A task that failed with `allow_failure` says "(allowed)"; "×N" counts attempts when there was
more than one. Rows wrap under their wave number when a wave has more tasks than fit.

Focused, it has a cursor on one task (shown reversed; unfocused it looks as it always did): the
arrows (or h j k l) move it, `enter` (or a double click) posts `OpenTask` for the task under
it. It starts on the task that failed the run (not one allowed to fail), else the first
running one, else the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from runtui.domain.views import TaskRow
from runtui.tui.glyphs import TASK_GLYPH
from runtui.tui.messages import OpenTask
from runtui.tui.safe_text import one_line

CURSOR_STYLE = "reverse"


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


@dataclass(frozen=True, slots=True)
class Cell:
    """Where a task's label is drawn: its row, and its first and past-last column."""

    task_id: str
    row: int
    start: int
    end: int


def wave_layout(
    tasks: list[TaskRow], width: int, selected: str | None = None
) -> tuple[list[Text], list[Cell]]:
    """The rows of the view for `width` columns, and where each task is in them (in reading
    order); the label of `selected` is drawn reversed."""
    if not tasks:
        return [Text("no tasks yet", style="dim")], []
    ordered = sorted(tasks, key=lambda t: t.wave)
    labels = [task_label(t) for t in ordered]
    number = len(str(max(t.wave for t in ordered))) + 2
    column = min(max(label.cell_len for label in labels) + 2, max(8, width - number))
    per_row = max(1, (width - number) // column)
    lines: list[Text] = []
    cells: list[Cell] = []
    for wave, group in groupby(zip(ordered, labels, strict=True), key=lambda p: p[0].wave):
        row_tasks = list(group)
        for start in range(0, len(row_tasks), per_row):
            line = Text(no_wrap=True, end="")
            line.append(f"{wave if start == 0 else '':<{number}}", style="bold")
            chunk = row_tasks[start : start + per_row]
            for i, (task, label) in enumerate(chunk):
                cell = label.copy()
                cell.truncate(column - 1, overflow="ellipsis")
                at = line.cell_len
                if task.task_id == selected:
                    cell.stylize(CURSOR_STYLE)
                line.append_text(cell)
                cells.append(Cell(task.task_id, len(lines), at, at + cell.cell_len))
                if i < len(chunk) - 1:
                    line.append(" " * (column - cell.cell_len))
            lines.append(line)
    return lines, cells


def wave_lines(tasks: list[TaskRow], width: int) -> list[Text]:
    """The rows of the view for `width` columns."""
    return wave_layout(tasks, width)[0]


def first_choice(tasks: list[TaskRow]) -> str | None:
    """Where the cursor starts: the first task whose failure failed the run (one allowed to
    fail did not), else the first failed, else the first running, else the first (in the order
    the view draws them)."""
    ordered = sorted(tasks, key=lambda t: t.wave)
    tests: tuple[Callable[[TaskRow], bool], ...] = (
        lambda t: t.status == "failed" and not t.allow_failure,
        lambda t: t.status == "failed",
        lambda t: t.status == "running",
    )
    for test in tests:
        for task in ordered:
            if test(task):
                return task.task_id
    return ordered[0].task_id if ordered else None


class WavesView(VerticalScroll):
    ALLOW_MAXIMIZE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "open_task", "Open task", id="waves.open", tooltip="its attempts and output"
        ),
        Binding("up,k", "cursor_up", "Up", id="waves.up", show=False),
        Binding("down,j", "cursor_down", "Down", id="waves.down", show=False),
        Binding("left,h", "cursor_left", "Left", id="waves.left", show=False),
        Binding("right,l", "cursor_right", "Right", id="waves.right", show=False),
    ]
    DEFAULT_CSS = """
    WavesView { border: round $primary-darken-1; padding: 0 1; height: auto; }
    WavesView:focus { border: round $accent; }
    WavesView > Static { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tasks: list[TaskRow] = []
        self.text = Text()  # what is shown, as plain as a test needs it
        self.selected: str | None = None  # the task under the cursor
        self.cells: list[Cell] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="waves-body")

    def on_mount(self) -> None:
        self.border_title = "Waves"

    def show(self, tasks: list[TaskRow]) -> None:
        self.tasks = tasks
        if self.selected not in {t.task_id for t in tasks}:
            self.selected = first_choice(tasks)
        waves = len({t.wave for t in tasks})
        done = sum(1 for t in tasks if t.status == "done")
        self.border_title = f"Waves ({waves})" if tasks else "Waves"
        self.border_subtitle = f"{done}/{len(tasks)} tasks done" if tasks else ""
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def on_focus(self) -> None:
        self._draw()
        self._reveal()

    def on_blur(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        width = self.scrollable_content_region.width or 40
        selected = self.selected if self.has_focus else None
        lines, self.cells = wave_layout(self.tasks, width, selected)
        self.text = Text("\n", end="").join(lines)
        self.query_one("#waves-body", Static).update(self.text)

    # --- the cursor --------------------------------------------------------------------------

    def _current(self) -> Cell | None:
        return next((c for c in self.cells if c.task_id == self.selected), None)

    def _move_to(self, cell: Cell | None) -> None:
        if cell is None:
            return
        self.selected = cell.task_id
        self._draw()
        self._reveal()

    def _reveal(self) -> None:
        cell = self._current()
        if cell is not None:
            self.scroll_to_region(Region(0, cell.row, 1, 1), animate=False, immediate=True)

    def _step(self, by: int) -> None:
        cell = self._current()
        if cell is None:
            self._move_to(self.cells[0] if self.cells else None)
            return
        at = self.cells.index(cell) + by
        if 0 <= at < len(self.cells):
            self._move_to(self.cells[at])

    def _row(self, by: int) -> None:
        """To the task of the row above or below whose label is nearest the cursor's column."""
        cell = self._current()
        if cell is None:
            self._step(0)
            return
        row = [c for c in self.cells if c.row == cell.row + by]
        if row:
            self._move_to(min(row, key=lambda c: abs(c.start - cell.start)))

    def action_cursor_left(self) -> None:
        self._step(-1)

    def action_cursor_right(self) -> None:
        self._step(1)

    def action_cursor_up(self) -> None:
        self._row(-1)

    def action_cursor_down(self) -> None:
        self._row(1)

    def action_open_task(self) -> None:
        task = next((t for t in self.tasks if t.task_id == self.selected), None)
        if task is not None:
            self.post_message(OpenTask(task.run_id, task.task_id))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the task under the mouse; a double click opens it."""
        offset = event.get_content_offset(self.query_one("#waves-body", Static))
        if offset is None:
            return
        hit = next(
            (c for c in self.cells if c.row == offset.y and c.start <= offset.x < c.end), None
        )
        if hit is None:
            return
        self.focus()
        self._move_to(hit)
        if event.chain >= 2:
            self.action_open_task()
