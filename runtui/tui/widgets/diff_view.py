"""Two runs' tasks as a scrolling table: the column titles pinned on the first line, then a line
per task, a cursor on one of them.

A Line API widget, so a diff of a thousand tasks costs only the lines on screen: each is drawn
from its row (`diff_rows.row_text`) when first shown, and again only when its row, its output
verdict, the width or the cursor changes. It says when the rows in view (or the cursor) moved
(`Moved`), so that the screen reads the output of those rows, and only those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runtui.domain.run_diff import DiffRow
from runtui.tui.widgets.diff_rows import (
    MARK,
    Columns,
    OutputState,
    columns,
    header_text,
    row_text,
)


class DiffView(ScrollView, can_focus=True):
    #: The cursor's line: a band in colour, and its task id reversed (which reads without).
    COMPONENT_CLASSES: ClassVar[set[str]] = {"diff-view--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", id="diff.up", show=False),
        Binding("down,j", "move(1)", "Down", id="diff.down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="diff.page_up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="diff.page_down", show=False),
        Binding("home", "edge(0)", "First", id="diff.first", show=False),
        Binding("end", "edge(1)", "Last", id="diff.last", show=False),
    ]
    DEFAULT_CSS = """
    DiffView { height: 1fr; padding: 0 1; background: $surface; scrollbar-size-horizontal: 0; }
    DiffView > .diff-view--cursor { background: $accent 30%; }
    """

    class Moved(Message):
        """The rows in view, or the cursor, changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[DiffRow] = []
        self.outputs: Mapping[str, OutputState] = {}
        self.cursor = 0
        self.now = 0.0
        self.left_title = Text()
        self.right_title = Text()
        self._index: dict[str, int] = {}
        self._cols: Columns | None = None
        self._cache: LRUCache[int, Strip] = LRUCache(256)

    # --- what is shown -------------------------------------------------------------------------

    def show(
        self,
        rows: list[DiffRow],
        outputs: Mapping[str, OutputState],
        *,
        now: float,
        left: Text,
        right: Text,
    ) -> None:
        """Show `rows` (the cursor stays on its task when it is still there)."""
        keep = self.selected.task_id if self.selected is not None else None
        self.rows, self.outputs, self.now = rows, outputs, now
        self.left_title, self.right_title = left, right
        self._index = {r.task_id: i for i, r in enumerate(rows)}
        at = self._index.get(keep) if keep is not None else None
        self.cursor = at if at is not None else min(self.cursor, max(0, len(rows) - 1))
        self._layout()
        self._reveal()
        self.post_message(self.Moved())

    def redraw(self, task_id: str) -> None:
        """Its output verdict changed: draw its line again."""
        index = self._index.get(task_id)
        if index is not None:
            self._cache.discard(index)
            self.refresh()

    def tick(self, now: float) -> None:
        """Move "now": running attempts' durations grow."""
        self.now = now
        self._cache.clear()
        self.refresh()

    @property
    def selected(self) -> DiffRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def page(self) -> int:
        """Task lines in view (the first line holds the titles)."""
        return max(1, self.scrollable_content_region.height - 1)

    def in_view(self) -> list[DiffRow]:
        first = int(self.scroll_y)
        return self.rows[first : first + self.page]

    def on_resize(self) -> None:
        self._layout()
        self.post_message(self.Moved())

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Moved())

    def _layout(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        longest = max((len(r.task_id) for r in self.rows), default=4)
        self._cols = columns(width, longest)
        self._cache.clear()
        size = Size(width, len(self.rows) + 1)  # +1: the titles
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    # --- drawing -------------------------------------------------------------------------------

    def line_text(self, index: int) -> Text:
        """Line `index` of the table (-1: the titles) as it is drawn, cursor aside."""
        cols = self._cols or columns(80, 8)
        if index < 0:
            return header_text(cols, self.left_title, self.right_title)
        row = self.rows[index]
        return row_text(row, self.outputs.get(row.task_id), cols, self.now)

    def plain_lines(self) -> list[str]:
        """Every line, the titles first, as plain text (tests, and what a reader would copy)."""
        return [self.line_text(i).plain for i in range(-1, len(self.rows))]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = -1 if y == 0 else int(self.scroll_y) + y - 1
        if index >= len(self.rows) or self._cols is None:
            return Strip.blank(width, base)
        strip = self._cache.get(index)
        if strip is None:
            text = self.line_text(index)
            style = base
            if index == self.cursor and index >= 0:
                style = base + self.get_component_rich_style("diff-view--cursor")
                task = self._cols.task if self._cols is not None else 0
                text.stylize("reverse", MARK, MARK + task)
            segments = Segment.apply_style(text.render(self.app.console), style)
            strip = Strip(list(segments))
            self._cache[index] = strip
        return strip.crop_extend(0, width, base).apply_offsets(0, max(0, index))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # --- the cursor ----------------------------------------------------------------------------

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(len(self.rows) - 1, index))
        if index != self.cursor:
            self._cache.discard(self.cursor)
            self._cache.discard(index)
            self.cursor = index
            self.refresh()
        self._reveal()
        self.post_message(self.Moved())

    def _reveal(self) -> None:
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + self.page:
            self.scroll_to(y=self.cursor - self.page + 1, animate=False, immediate=True)

    def action_move(self, by: int) -> None:
        self.move_to(self.cursor + by)

    def action_page(self, by: int) -> None:
        self.move_to(self.cursor + by * self.page)

    def action_edge(self, end: int) -> None:
        self.move_to(len(self.rows) - 1 if end else 0)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self.focus()
            self.move_to(int(self.scroll_y) + offset.y - 1)
