"""A run's timeline as a scrolling Gantt chart: the time axis pinned on the first line, then a
line per phase group, per gate and per task (more where retries overlap).

A Line API widget, so a run of a thousand tasks costs only the lines on screen: placing every
lane on columns is arithmetic (`timeline_layout.place`), redone when the data, the width, the
order or "now" changes; each line's cells are drawn when it is first shown, once per layout.

A cursor (its lane's label reversed) moves with the keys of every list (`cursor_keys`); the
view follows it. It stays on its lane when the lanes change (a live run, a resize), and
`selected` says which lane that is, for the screen's `enter`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment as RichSegment
from rich.style import Style
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runtui.tui.widgets.cursor_keys import CURSOR_BINDINGS
from runtui.tui.widgets.timeline_lanes import Lane, Timeline, slowest_first
from runtui.tui.widgets.timeline_layout import (
    Axis,
    Geometry,
    Line,
    Segment,
    draw_axis,
    draw_line,
    fit,
    place,
    plain,
)

AXIS_TITLE = "wave task"


class TimelineView(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = CURSOR_BINDINGS
    DEFAULT_CSS = """
    TimelineView { height: 1fr; padding: 0 1; background: $surface;
                   scrollbar-size-horizontal: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.slowest = False
        self.now = 0.0
        self.lines: list[Line] = []
        self._geometry: Geometry | None = None
        self._axis: Axis | None = None
        self._wave_width = 1
        self._cache: LRUCache[int, Strip] = LRUCache(512)
        self._styles: dict[str, Style] = {}
        self.cursor = 0  # index in `lines`
        self._cursor_lane: tuple[str, str] | None = None  # (kind, key) of the cursor's lane

    # --- what is shown -------------------------------------------------------------------------

    def show(self, timeline: Timeline, *, now: float, slowest: bool) -> None:
        self.timeline, self.now, self.slowest = timeline, now, slowest
        self._layout()

    def tick(self, now: float) -> None:
        """Move "now": running bars and waits grow, the axis stretches (a live run only)."""
        if self.timeline is not None and self.timeline.live:
            self.now = now
            self._layout()

    @property
    def lanes(self) -> list[Lane]:
        """Every lane in the order drawn: phases and gates, then the tasks."""
        t = self.timeline
        if t is None:
            return []
        tasks = slowest_first(t.tasks, self.now) if self.slowest else t.tasks
        return [*t.fixed, *tasks]

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        width = self.scrollable_content_region.width
        t = self.timeline
        if t is None or width <= 0:
            return
        lanes = self.lanes
        waves = [lane.wave for lane in lanes if lane.wave is not None]
        self._wave_width = len(str(max(waves, default=0)))
        geometry = fit(width, lanes, self.now, self._wave_width)
        axis = geometry.axis(t.created_at, t.end(self.now))
        self._geometry, self._axis = geometry, axis
        self.lines = [line for lane in lanes for line in place(lane, axis, self.now)]
        self.cursor = self._line_of(self._cursor_lane)
        self._cache.clear()
        size = Size(width, len(self.lines) + 1)  # +1: the axis
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    # --- the cursor ----------------------------------------------------------------------------

    @property
    def selected(self) -> Lane | None:
        """The lane under the cursor."""
        return self.lines[self.cursor].lane if self.lines else None

    def _line_of(self, lane: tuple[str, str] | None) -> int:
        """The first line of `lane`, or (gone, or none yet) the cursor's line kept in range."""
        if lane is not None:
            for i, line in enumerate(self.lines):
                if (line.lane.kind, line.lane.key) == lane:
                    return i
        return max(0, min(self.cursor, len(self.lines) - 1))

    def move_to(self, index: int) -> None:
        if not self.lines:
            return
        index = max(0, min(index, len(self.lines) - 1))
        if index != self.cursor:
            old, self.cursor = self.cursor, index
            for i in (old, index):
                self._cache.discard(i)
                self.refresh_line(i + 1)  # virtual y: the axis is row 0
        lane = self.lines[index].lane
        self._cursor_lane = (lane.kind, lane.key)
        self.reveal()

    def reveal(self) -> None:
        """Scroll just enough to show the cursor's line (below the axis on the first row)."""
        rows = self.scrollable_content_region.height - 1
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif rows > 0 and self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def action_move(self, by: int) -> None:
        self.move_to(self.cursor + by)

    def action_page(self, by: float) -> None:
        """`by` screens on: the view and the cursor both move by that many lines."""
        lines = round(by * max(1, self.scrollable_content_region.height - 1))
        self.scroll_to(y=self.scroll_offset.y + lines, animate=False, immediate=True)
        self.move_to(self.cursor + lines)

    def action_jump(self, to: int) -> None:
        self.move_to(len(self.lines) - 1 if to < 0 else to)

    # --- drawing -------------------------------------------------------------------------------

    def segments(self, index: int) -> list[Segment]:
        """Line `index` (-1: the axis) as (text, style) runs."""
        geometry, axis = self._geometry, self._axis
        if geometry is None or axis is None:
            return [("loading…", "dim")]
        if index < 0:
            return draw_axis(geometry, axis, AXIS_TITLE)
        segments = draw_line(self.lines[index], geometry, axis, self.now, self._wave_width)
        if index == self.cursor and self.has_focus:
            label, style = segments[0]
            segments[0] = (label, f"{style} reverse".strip())
        return segments

    def on_focus(self) -> None:
        self._cache.discard(self.cursor)
        self.refresh()

    def on_blur(self) -> None:
        self._cache.discard(self.cursor)
        self.refresh()

    def plain_lines(self) -> list[str]:
        """Every line, the axis first, as plain text (tests, and what a reader would copy)."""
        return [plain(self.segments(i)) for i in range(-1, len(self.lines))]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = -1 if y == 0 else self.scroll_offset.y + y - 1
        if index >= len(self.lines) or (index >= 0 and self._axis is None):
            return Strip.blank(width, base)
        strip = self._cache.get(index)
        if strip is None:
            strip = Strip(
                [
                    RichSegment(text, base + self._style(style))
                    for text, style in self.segments(index)
                ]
            )
            self._cache[index] = strip
        return strip.crop_extend(0, width, base).apply_offsets(0, max(0, index))

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = Style.parse(name) if name else Style()
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
