"""A run's events as a scrolling log that stays fast at 100k+ events.

It is a Line API widget: it keeps a bounded window of events in memory (the tail on open,
older pages on demand, live events appended per tick, or a page around a search match far from
the tail), flattens them into `LogLine`s, and renders only the lines on screen, each one once
(an LRU of strips). The line filters (hide noise, one task only) rebuild the list of shown lines
from the window; they never touch the store, and neither does the highlight of a search: the
screen searches the whole log through the port (`runtui.tui.log_finder`) and tells the log
which event to show. The screen owns the client: the log only asks, with messages, for older
events, newer ones (a window away from the tail), or the tail again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runtui.domain.events import EventEnvelope
from runtui.tui.widgets.event_lines import LogLine, event_lines
from runtui.tui.widgets.log_render import (
    line_text,
    log_subtitle,
    log_title,
    mark,
    prefix_width,
    wrapped_part,
)
from runtui.tui.widgets.log_rows import WrappedRows, index_of, line_at, task_near

#: Events kept in memory at most; beyond it the oldest are dropped (and can be paged in again).
MAX_EVENTS = 20_000


class EventLog(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "top", "Top", id="events.top", show=False, tooltip="Oldest loaded event"),
        Binding("end", "bottom", "Newest", id="events.bottom", show=False, tooltip="Newest"),
        Binding("g", "top", "Top", id="events.g", show=False),
        Binding("G", "bottom", "Newest", id="events.G", show=False),
        Binding("up", "line_up", show=False),
        Binding("down", "line_down", show=False),
        Binding("pageup", "page_up_log", show=False),
        Binding("pagedown", "page_down_log", show=False),
    ]
    DEFAULT_CSS = """
    EventLog { border: round $primary-darken-1; padding: 0 1; background: $surface;
               scrollbar-size-horizontal: 0; }
    EventLog:focus { border: round $accent; }
    """

    follow: reactive[bool] = reactive(True)
    relative_time: reactive[bool] = reactive(True)
    wrap: reactive[bool] = reactive(False)

    class OlderWanted(Message):
        """The user asked for the events before `before` (the oldest one loaded)."""

        def __init__(self, before: int) -> None:
            super().__init__()
            self.before = before

    class NewerWanted(Message):
        """The user asked for the events after `after` (the window is not the tail)."""

        def __init__(self, after: int) -> None:
            super().__init__()
            self.after = after

    class TailWanted(Message):
        """The user asked for the newest events again (the window is not the tail)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._events: list[EventEnvelope] = []
        self._all: list[LogLine] = []
        self._shown: list[LogLine] = []
        self._hidden_kinds: frozenset[str] = frozenset()
        self._only_task: str | None = None
        self._needle = ""  # what a search marks in every line
        self._current: int | None = None  # the seq of the event a search or `:` went to
        self._rows: WrappedRows | None = None  # where each shown line starts, when wrapping
        self._width = 0
        self._seq_width = 5
        self._cache: LRUCache[LogLine, Strip] = LRUCache(2048)
        self.total = 0
        self.origin = 0.0
        self.detached = False  # the window is not the run's tail: live events are not added
        self.search_title = ""  # what the screen's search shows in the title

    # --- what is loaded ----------------------------------------------------------------------

    @property
    def first_seq(self) -> int:
        return self._events[0].seq if self._events else 0

    @property
    def last_seq(self) -> int:
        return self._events[-1].seq if self._events else 0

    @property
    def has_older(self) -> bool:
        return self.first_seq > 1

    @property
    def shown_lines(self) -> list[LogLine]:
        return self._shown

    @property
    def current_seq(self) -> int | None:
        return self._current

    def holds(self, seq: int) -> bool:
        return bool(self._events) and self.first_seq <= seq <= self.last_seq

    def plain_lines(self) -> list[str]:
        """What the log shows, as plain text (tests and copy-out)."""
        return [self._text(line).plain for line in self._shown]

    def set_events(
        self, events: list[EventEnvelope], *, total: int, origin: float, detached: bool = False
    ) -> None:
        """Replace everything (open, re-read after the feed lagged, or a page far away)."""
        self.origin = origin
        self.detached = detached
        self._events = list(events[-MAX_EVENTS:])
        self.total = max(total, self.last_seq)
        self._rebuild()
        if self.follow:
            self._to_end()

    def append(self, events: Iterable[EventEnvelope]) -> int:
        """Add events newer than the newest loaded; returns how many were new. A window away
        from the tail only counts them."""
        last = self.last_seq
        fresh = sorted((e for e in events if e.seq > last), key=lambda e: e.seq)
        if not fresh:
            return 0
        self.total = max(self.total, fresh[-1].seq)
        if self.detached:
            self._update_titles()
            return 0
        self._events.extend(fresh)
        new_lines = [line for env in fresh for line in event_lines(env)]
        self._all.extend(new_lines)
        shown = [line for line in new_lines if self._keeps(line)]
        self._shown.extend(shown)
        if self._rows is not None:
            self._rows.extend(shown)
        overflow = len(self._events) - MAX_EVENTS
        if overflow > 0:
            self._drop_oldest(overflow)
        self._resize(new_lines)
        if self.follow:
            self._to_end()
        else:
            self.refresh()
        return len(fresh)

    def add_newer(self, events: list[EventEnvelope], *, at_tail: bool) -> int:
        """Add the page after the window (`]`); `at_tail`: it reached the run's newest event."""
        self.detached = False
        added = self.append(events)
        self.detached = not at_tail
        self._update_titles()
        return added

    def prepend(self, events: list[EventEnvelope]) -> int:
        """Add an older page; keeps the lines on screen where they were."""
        first = self.first_seq
        older = sorted((e for e in events if first == 0 or e.seq < first), key=lambda e: e.seq)
        room = MAX_EVENTS - len(self._events)
        if room <= 0 or not older:
            return 0
        older = older[-room:]
        before = self._height()
        self._events[:0] = older
        new_lines = [line for env in older for line in event_lines(env)]
        self._all[:0] = new_lines
        self._shown[:0] = [line for line in new_lines if self._keeps(line)]
        self._recount()
        self._resize(new_lines)
        if not self.follow:
            self.scroll_to(y=self.scroll_y + self._height() - before, animate=False)
        self.refresh()
        return len(older)

    @property
    def is_full(self) -> bool:
        return len(self._events) >= MAX_EVENTS

    # --- line filters, search marks, display modes -----------------------------------------

    def set_line_filter(self, *, hidden_kinds: frozenset[str], task: str | None) -> None:
        """Show only lines not of `hidden_kinds` and (if given) about `task`."""
        if (hidden_kinds, task) == (self._hidden_kinds, self._only_task):
            return
        self._hidden_kinds, self._only_task = hidden_kinds, task
        self._shown = [line for line in self._all if self._keeps(line)]
        self._relayout()

    def mark(self, needle: str, current: int | None) -> None:
        """Mark `needle` (any case) wherever it shows, and the lines of event `current`."""
        needle = needle.lower()
        if (needle, current) != (self._needle, self._current):
            self._needle, self._current = needle, current
            self._cache.clear()
            self.refresh()
        self._update_titles()

    def show_seq(self, seq: int) -> bool:
        """Scroll the line of event `seq` that holds the search (or its first) to the middle
        of the view, and stop following; False if that event is not shown."""
        index = index_of(self._shown, seq, self._needle)
        if index is None:
            return False
        self.follow = False
        row = self._rows.row_of(index) if self._rows is not None else index
        middle = max(0, row - self.scrollable_content_region.height // 2)
        self.scroll_to(y=middle, animate=False, immediate=True)
        self.call_after_refresh(self.scroll_to, y=middle, animate=False, immediate=True)
        return True

    def top_seq(self) -> int:
        """The event at the top of the view (where a new search starts)."""
        line = line_at(self._shown, self._rows, self.scroll_offset.y)
        return line.seq if line is not None else self.last_seq

    def task_in_view(self) -> str | None:
        """The task of the event a search went to, else of the lowest line in view with one."""
        height = self.scrollable_content_region.height
        return task_near(self._shown, self._rows, self._current, self.scroll_offset.y, height)

    def watch_follow(self, follow: bool) -> None:
        if follow and self.detached:
            self.post_message(self.TailWanted())
        elif follow and self.is_mounted:
            self._to_end()
        self._update_titles()

    def watch_wrap(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        """Shown lines or wrapping changed: recount the rows, keep the newest line or the
        event a search went to in view."""
        self._recount()
        self._set_virtual_size(Size(self._width, self._height()))
        self._cache.clear()
        if self.follow:
            self._to_end()
        elif self._current is not None:
            self.show_seq(self._current)
        self.refresh()
        self._update_titles()

    def _to_end(self) -> None:
        """Scroll to the newest line, now and again once the new size is laid out."""
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)

    def on_resize(self) -> None:
        if self.wrap:
            self._recount()
            self._set_virtual_size(Size(self._width, self._height()))
        if self.follow:
            self._to_end()

    def watch_relative_time(self) -> None:
        self._cache.clear()
        self.refresh()

    def _keeps(self, line: LogLine) -> bool:
        if line.kind in self._hidden_kinds:
            return False
        return self._only_task is None or line.task == self._only_task

    @property
    def _prefix(self) -> int:
        return prefix_width(self._seq_width)

    def _recount(self) -> None:
        if not self.wrap:
            self._rows = None
            return
        self._rows = WrappedRows(self.scrollable_content_region.width - self._prefix)
        self._rows.extend(self._shown)

    def _height(self) -> int:
        return self._rows.count if self._rows is not None else len(self._shown)

    def _rebuild(self) -> None:
        self._all = [line for env in self._events for line in event_lines(env)]
        self._shown = [line for line in self._all if self._keeps(line)]
        self._width = 0
        self._cache.clear()
        self._recount()
        self._resize(self._all)
        self.refresh()

    def _drop_oldest(self, count: int) -> None:
        cutoff = self._events[count].seq
        del self._events[:count]
        self._all = [line for line in self._all if line.seq >= cutoff]
        before = self._height()
        self._shown = [line for line in self._shown if line.seq >= cutoff]
        self._recount()
        if not self.follow:
            self.scroll_to(y=max(0, self.scroll_y - (before - self._height())), animate=False)

    def _resize(self, new_lines: list[LogLine]) -> None:
        seq_width = max(self._seq_width, len(str(self.last_seq)) + 2)
        if seq_width != self._seq_width:  # cached lines have the old column width
            self._seq_width = seq_width
            self._cache.clear()
            self._recount()
        prefix = self._prefix + 1
        if new_lines:
            self._width = max(self._width, prefix + max(len(line.text) for line in new_lines))
        self._set_virtual_size(Size(self._width, self._height()))
        self._update_titles()

    def _update_titles(self) -> None:
        self.border_title = log_title(
            follow=self.follow,
            search=self.search_title,
            task=self._only_task,
            noise_hidden=bool(self._hidden_kinds),
            wrap=self.wrap,
            total=self.total,
        )
        self.border_subtitle = log_subtitle(
            detached=self.detached,
            first=self.first_seq,
            last=self.last_seq,
            empty=not self._events,
        )

    def _set_virtual_size(self, size: Size) -> None:
        """Grow (or shrink) the scrollable area without a layout of the whole screen.

        `virtual_size` is a layout reactive: assigning it re-lays out and repaints every widget
        on the screen, which a live log would do every tick. Its size on screen does not depend
        on how many lines it holds, so only its scrollbars and its own lines need updating (a
        scrollbar that appears or goes still re-lays out, through its own reactive).
        """
        if size == self.virtual_size:
            return
        self.set_reactive(EventLog.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    # --- rendering ---------------------------------------------------------------------------

    def _text(self, line: LogLine) -> Text:
        return line_text(
            line,
            origin=self.origin,
            relative=self.relative_time,
            seq_width=self._seq_width,
        )

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        part = 0
        index = row
        if self._rows is not None:
            if row >= self._rows.count:
                return Strip.blank(width, style)
            index, part = self._rows.locate(row)
            scroll_x = 0
        if index >= len(self._shown):
            return Strip.blank(width, style)
        line = self._shown[index]
        strip = self._cache.get(line)
        if strip is None:
            text = self._text(line)
            text.stylize(style)
            mark(text, line, self._current, self._needle)
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._cache[line] = strip
        if self._rows is not None:
            strip = wrapped_part(strip, part, self._prefix, self._rows.room, style)
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, row)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # --- keys --------------------------------------------------------------------------------

    def action_top(self) -> None:
        self.follow = False
        self.scroll_home(animate=False, immediate=True, x_axis=False)

    def action_bottom(self) -> None:
        if self.detached:  # ask for the tail (following asks for it too)
            if self.follow:
                self.post_message(self.TailWanted())
            self.follow = True
            return
        self.follow = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_line_up(self) -> None:
        self.follow = False
        self.scroll_up(animate=False)

    def action_line_down(self) -> None:
        self.scroll_down(animate=False)

    def action_page_up_log(self) -> None:
        self.follow = False
        self.scroll_page_up(animate=False)

    def action_page_down_log(self) -> None:
        self.scroll_page_down(animate=False)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.follow = False

    def request_older(self) -> None:
        if self.has_older:
            self.post_message(self.OlderWanted(self.first_seq))

    def request_newer(self) -> bool:
        if self.detached:
            self.post_message(self.NewerWanted(self.last_seq))
        return self.detached
