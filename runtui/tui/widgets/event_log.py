"""A run's events as a scrolling log that stays fast at 100k+ events.

It is a Line API widget: it keeps a bounded window of events in memory (the tail on open,
older pages on demand, live events appended per tick), flattens them into `LogLine`s, and
renders only the lines on screen, each one once (an LRU of strips). Filtering rebuilds the
list of shown lines from the window; it never touches the store. The screen owns the client:
the log only asks for older events with an `OlderWanted` message.
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
from runtui.tui.safe_text import markup, sgr_style
from runtui.tui.widgets.event_lines import KIND_STYLE, KIND_WIDTH, LogLine, event_lines, stamp

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

    class OlderWanted(Message):
        """The user asked for the events before `before` (the oldest one loaded)."""

        def __init__(self, before: int) -> None:
            super().__init__()
            self.before = before

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._events: list[EventEnvelope] = []
        self._all: list[LogLine] = []
        self._shown: list[LogLine] = []
        self._query = ""
        self._width = 0
        self._seq_width = 5
        self._cache: LRUCache[LogLine, Strip] = LRUCache(2048)
        self.total = 0
        self.origin = 0.0

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
    def filter_text(self) -> str:
        return self._query

    def plain_lines(self) -> list[str]:
        """What the log shows, as plain text (tests and copy-out)."""
        return [self._text(line).plain for line in self._shown]

    def set_events(self, events: list[EventEnvelope], *, total: int, origin: float) -> None:
        """Replace everything (open, or re-read after the feed lagged)."""
        self.origin = origin
        self.total = max(total, len(events))
        self._events = list(events[-MAX_EVENTS:])
        self._rebuild()
        if self.follow:
            self._to_end()

    def append(self, events: Iterable[EventEnvelope]) -> int:
        """Add events newer than the newest loaded; returns how many were new."""
        last = self.last_seq
        fresh = [e for e in events if e.seq > last]
        if not fresh:
            return 0
        fresh.sort(key=lambda e: e.seq)
        self._events.extend(fresh)
        self.total += len(fresh)
        new_lines = [line for env in fresh for line in event_lines(env)]
        self._all.extend(new_lines)
        self._shown.extend(line for line in new_lines if self._matches(line))
        overflow = len(self._events) - MAX_EVENTS
        if overflow > 0:
            self._drop_oldest(overflow)
        self._resize(new_lines)
        if self.follow:
            self._to_end()
        else:
            self.refresh()
        return len(fresh)

    def prepend(self, events: list[EventEnvelope]) -> int:
        """Add an older page; keeps the lines on screen where they were."""
        first = self.first_seq
        older = sorted((e for e in events if first == 0 or e.seq < first), key=lambda e: e.seq)
        room = MAX_EVENTS - len(self._events)
        if room <= 0 or not older:
            return 0
        older = older[-room:]
        before = len(self._shown)
        self._events[:0] = older
        new_lines = [line for env in older for line in event_lines(env)]
        self._all[:0] = new_lines
        self._shown[:0] = [line for line in new_lines if self._matches(line)]
        self._resize(new_lines)
        if not self.follow:
            self.scroll_to(y=self.scroll_y + len(self._shown) - before, animate=False)
        self.refresh()
        self._update_titles()
        return len(older)

    @property
    def is_full(self) -> bool:
        return len(self._events) >= MAX_EVENTS

    # --- filtering and display modes -------------------------------------------------------

    def set_filter(self, text: str) -> None:
        query = text.strip().lower()
        if query == self._query:
            return
        # typing narrows: a longer query only looks at what the shorter one kept
        source = self._shown if self._query and query.startswith(self._query) else self._all
        self._query = query
        self._shown = [line for line in source if self._matches(line)]
        self._set_virtual_size(Size(self._width, len(self._shown)))
        self._cache.clear()
        if self.follow:
            self._to_end()
        self.refresh()
        self._update_titles()

    def watch_follow(self, follow: bool) -> None:
        if follow and self.is_mounted:
            self._to_end()
        self._update_titles()

    def _to_end(self) -> None:
        """Scroll to the newest line, now and again once the new size is laid out."""
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)

    def on_resize(self) -> None:
        if self.follow:
            self._to_end()

    def watch_relative_time(self) -> None:
        self._cache.clear()
        self.refresh()

    def _matches(self, line: LogLine) -> bool:
        return not self._query or self._query in line.search

    def _rebuild(self) -> None:
        self._all = [line for env in self._events for line in event_lines(env)]
        self._shown = [line for line in self._all if self._matches(line)]
        self._width = 0
        self._cache.clear()
        self._resize(self._all)
        self.refresh()

    def _drop_oldest(self, count: int) -> None:
        cutoff = self._events[count].seq
        del self._events[:count]
        self._all = [line for line in self._all if line.seq >= cutoff]
        dropped = len(self._shown)
        self._shown = [line for line in self._shown if line.seq >= cutoff]
        if not self.follow:
            self.scroll_to(y=max(0, self.scroll_y - (dropped - len(self._shown))), animate=False)

    def _resize(self, new_lines: list[LogLine]) -> None:
        seq_width = max(self._seq_width, len(str(self.last_seq)) + 2)
        if seq_width != self._seq_width:  # cached lines have the old column width
            self._seq_width = seq_width
            self._cache.clear()
        prefix = 12 + self._seq_width + KIND_WIDTH + 3
        if new_lines:
            self._width = max(self._width, prefix + max(len(line.text) for line in new_lines))
        self._set_virtual_size(Size(self._width, len(self._shown)))
        self._update_titles()

    def _update_titles(self) -> None:
        mode = "● follow" if self.follow else "○ paused (f: follow)"
        query = f"/{markup(self._query)}" if self._query else "(none)"
        shown = f"  {len(self._shown):,} shown" if self._query else ""
        self.border_title = f"Events  {mode}  filter: {query}{shown}  ·  {self.total:,} events"
        if self.has_older:
            self.border_subtitle = f"from #{self.first_seq:,} · [ loads older"
        elif self._events:
            self.border_subtitle = "from the first event"
        else:
            self.border_subtitle = ""

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
        text = Text(no_wrap=True, end="")
        if line.first:
            text.append(f"{stamp(line.ts, self.origin, self.relative_time):<12}", style="dim")
            text.append(f"{'#' + str(line.seq):<{self._seq_width}} ", style="dim")
            text.append(f"{line.kind:<{KIND_WIDTH}} ", style=KIND_STYLE.get(line.kind, ""))
        else:
            text.append(" " * (12 + self._seq_width + 1 + KIND_WIDTH + 1))
        start = len(text)
        text.append(line.text, style="yellow" if line.stderr else "")  # stderr: yellow, `|!`
        for begin, end, sgr in line.spans:  # the task's own colours, over that
            text.stylize(sgr_style(sgr), start + begin, start + end)
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= len(self._shown):
            return Strip.blank(width, style)
        line = self._shown[index]
        strip = self._cache.get(line)
        if strip is None:
            text = self._text(line)
            text.stylize(style)
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._cache[line] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # --- keys --------------------------------------------------------------------------------

    def action_top(self) -> None:
        self.follow = False
        self.scroll_home(animate=False, immediate=True, x_axis=False)

    def action_bottom(self) -> None:
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
