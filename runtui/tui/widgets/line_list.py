"""A scrolling list of drawn lines, with an optional cursor: the graph, lineage and source views.

A Line API widget: it holds only how many lines there are and a function that draws line `n`
(as `(text, style)` segments), so a graph of a thousand tasks or a long source costs only the
lines on screen, each drawn when first shown and kept until the content changes. With a cursor,
the keys of every list (`cursor_keys`) move it (the view follows), a click puts it on a line
and a double click picks it (`Picked`); without one, the same keys scroll. Left and right
scroll sideways where lines are wider than the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment as RichSegment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runtui.tui.widgets.cursor_keys import CURSOR_BINDINGS
from runtui.tui.widgets.graph_layout import Segment

Draw = Callable[[int, bool], list[Segment]]  # (line, under the cursor) -> segments


class LineList(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = CURSOR_BINDINGS
    DEFAULT_CSS = """
    LineList { height: 1fr; padding: 0 1; background: $surface; }
    """

    class Picked(Message):
        """A double click on a line: open what it shows."""

        def __init__(self, view: LineList, index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

    def __init__(self, *, cursor: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.has_cursor = cursor
        self.cursor = 0
        self.count = 0
        self._draw: Draw = lambda index, selected: []
        self._cache: LRUCache[tuple[int, bool], Strip] = LRUCache(512)
        self._styles: dict[str, Style] = {}

    # --- what is shown -------------------------------------------------------------------------

    def show(self, count: int, width: int, draw: Draw, *, cursor: int | None = None) -> None:
        """`count` lines, the widest `width` cells, drawn by `draw`; the cursor on line
        `cursor` (kept where it was, within the lines, if None)."""
        first = not self.count
        self.count, self._draw = count, draw
        before = self.cursor
        if cursor is not None:
            self.cursor = cursor
        self.cursor = max(0, min(self.cursor, count - 1))
        self._cache.clear()
        size = Size(width, count)
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()
        if self.has_cursor and (first or self.cursor != before):
            self.call_after_refresh(self.reveal)  # else the view stays where it was scrolled

    def segments(self, index: int) -> list[Segment]:
        return self._draw(index, self.has_cursor and index == self.cursor)

    def plain_lines(self) -> list[str]:
        """Every line as plain text (tests, and what a reader would copy)."""
        return ["".join(text for text, _ in self.segments(i)) for i in range(self.count)]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = self.scroll_offset.y + y
        if index >= self.count:
            return Strip.blank(width, base)
        selected = self.has_cursor and index == self.cursor
        strip = self._cache.get((index, selected))
        if strip is None:
            strip = Strip(
                [
                    RichSegment(text, base + self._style(style))
                    for text, style in self._draw(index, selected)
                ]
            )
            self._cache[(index, selected)] = strip
        x = self.scroll_offset.x
        return strip.crop_extend(x, x + width, base).apply_offsets(x, index)

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = Style.parse(name) if name else Style()
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # --- the cursor ----------------------------------------------------------------------------

    def move_to(self, index: int) -> None:
        if not self.count:
            return
        index = max(0, min(index, self.count - 1))
        if index != self.cursor:
            self.refresh_lines(self.cursor)
            self.cursor = index
            self.refresh_lines(index)
        self.reveal()

    def reveal(self) -> None:
        """Scroll just enough to show the cursor's line."""
        height = self.scrollable_content_region.height
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_move(self, by: int) -> None:
        if self.has_cursor:
            self.move_to(self.cursor + by)
        else:
            self.scroll_to(y=self.scroll_offset.y + by, animate=False)

    def action_page(self, by: float) -> None:
        lines = round(by * max(1, self.scrollable_content_region.height - 1))
        if self.has_cursor:
            self.move_to(self.cursor + lines)
        else:
            self.scroll_to(y=self.scroll_offset.y + lines, animate=False)

    def action_jump(self, to: int) -> None:
        last = max(0, self.count - 1)
        if self.has_cursor:
            self.move_to(last if to < 0 else to)
        else:
            self.scroll_to(y=last if to < 0 else to, animate=False)

    def on_click(self, event: events.Click) -> None:
        if not self.has_cursor:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if 0 <= index < self.count:
            self.move_to(index)
            if event.chain >= 2:
                self.post_message(self.Picked(self, index))
