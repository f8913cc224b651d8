"""One attempt's output: stdout plain, stderr marked `!` (and yellow), an external job's poll
output marked `~`, each line as a terminal would leave it, the task's own colours kept.

A Line API widget over a window of lines (`OutputLine`s, at most `MAX_LINES`): the screen
loads the window (the tail on open, a page around the first error for `e`) and pages it with
the client; the view only says what it wants (`OlderWanted`, `NewerWanted`, `NewestWanted`).
`at_end`: the window reaches the newest line, so live output is appended to it (and followed
while the view is scrolled to its bottom).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runtui.domain.task_output import OutputAt
from runtui.domain.terminal_text import PLAIN, terminal_styled
from runtui.domain.views import OutputLine
from runtui.tui.safe_text import sgr_style

#: Lines kept in memory at most; beyond it the farthest from where the user reads are dropped.
MAX_LINES = 20_000

MARK = {"stdout": "  ", "stderr": "! ", "poll": "~ "}
MARK_STYLE = {"stdout": "", "stderr": "yellow", "poll": "cyan"}
HIGHLIGHT = "reverse"  # the line `e` jumped to


def line_text(line: OutputLine) -> Text:
    """A line as the view draws it: its mark, its safe text with its SGR colours, the cut."""
    text = Text(no_wrap=True, end="")
    text.append(MARK.get(line.stream, "? "), style=f"bold {MARK_STYLE.get(line.stream, '')}")
    base = MARK_STYLE.get(line.stream, "")
    for part, sgr in terminal_styled(line.text, one_line=True):
        style = sgr_style(sgr) if sgr != PLAIN else None
        text.append(part, style=base if style is None else style)
    if line.cut:
        text.append(f" … {line.cut:,} more characters", style="dim italic")
    return text


class TaskOutputView(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home,g", "top", "Top", id="output.top", show=False, tooltip="first line loaded"),
        Binding("end,G", "bottom", "Newest", id="output.bottom", show=False, tooltip="newest"),
        Binding("up", "line_up", show=False),
        Binding("down", "line_down", show=False),
        Binding("pageup", "page_up_output", show=False),
        Binding("pagedown", "page_down_output", show=False),
    ]
    DEFAULT_CSS = """
    TaskOutputView { border: round $primary-darken-1; padding: 0 1; background: $surface; }
    TaskOutputView:focus { border: round $accent; }
    """

    class OlderWanted(Message):
        def __init__(self, before: OutputAt) -> None:
            super().__init__()
            self.before = before

    class NewerWanted(Message):
        def __init__(self, after: OutputAt) -> None:
            super().__init__()
            self.after = after

    class NewestWanted(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[OutputLine] = []
        self.has_older = False
        self.at_end = True
        self.newer_waiting = False  # live output arrived while the window was elsewhere
        self.follow = True
        self.attempt: int | None = None
        self.highlight: OutputAt | None = None
        self.streams: set[str] = set()
        self._width = 0
        self._cache: LRUCache[tuple[OutputAt, bool], Strip] = LRUCache(2048)

    # --- the window --------------------------------------------------------------------------

    def set_page(
        self, attempt: int, lines: list[OutputLine], *, has_older: bool, at_end: bool
    ) -> None:
        """Replace the window (another attempt, a reload, a jump)."""
        self.attempt = attempt
        self.lines = list(lines[-MAX_LINES:])
        self.has_older = has_older or len(lines) > MAX_LINES
        self.at_end = at_end
        self.newer_waiting = False
        self.highlight = None
        self.follow = at_end
        self.streams = {line.stream for line in self.lines}
        self._width = 0
        self._cache.clear()
        self._resize(self.lines)
        if self.follow:
            self._to_end()
        else:
            self.scroll_home(animate=False, immediate=True)

    def append(self, lines: list[OutputLine], *, at_end: bool = True) -> int:
        """Add lines newer than the newest loaded (live, or a newer page); how many were new."""
        last = self.lines[-1].at if self.lines else None
        fresh = [line for line in lines if last is None or line.at > last]
        self.at_end = at_end
        if fresh:
            self.lines.extend(fresh)
            self.streams |= {line.stream for line in fresh}
            overflow = len(self.lines) - MAX_LINES
            if overflow > 0:
                del self.lines[:overflow]
                self.has_older = True
                if not self.follow:
                    self.scroll_to(y=max(0, self.scroll_y - overflow), animate=False)
            self._resize(fresh)
        if self.follow:
            self._to_end()
        else:
            self.refresh()
        self._update_titles()
        return len(fresh)

    def prepend(self, lines: list[OutputLine], *, has_older: bool) -> int:
        """Add an older page, keeping what is on screen where it was."""
        first = self.lines[0].at if self.lines else None
        older = [line for line in lines if first is None or line.at < first]
        room = MAX_LINES - len(self.lines)
        if room <= 0 or not older:
            return 0
        self.has_older = has_older or len(older) > room
        older = older[-room:]
        self.lines[:0] = older
        self.streams |= {line.stream for line in older}
        self._resize(older)
        self.follow = False
        self.scroll_to(y=self.scroll_y + len(older), animate=False, immediate=True)
        self._update_titles()
        return len(older)

    def note_newer(self) -> None:
        """Output arrived beyond the window (not shown until the user asks for it)."""
        if not self.newer_waiting:
            self.newer_waiting = True
            self._update_titles()

    @property
    def is_full(self) -> bool:
        return len(self.lines) >= MAX_LINES

    def index_of(self, at: OutputAt) -> int | None:
        for i, line in enumerate(self.lines):
            if line.at == at:
                return i
        return None

    def first_of(self, stream: str) -> int | None:
        return next((i for i, line in enumerate(self.lines) if line.stream == stream), None)

    def jump_to(self, index: int) -> None:
        """Show line `index` near the top, highlighted, and stop following."""
        self.follow = False
        self.highlight = self.lines[index].at
        self._cache.clear()
        self.scroll_to(y=max(0, index - 2), animate=False, immediate=True)
        self.refresh()
        self._update_titles()

    def plain_lines(self) -> list[str]:
        """What the view shows, as plain text (tests)."""
        return [line_text(line).plain for line in self.lines]

    # --- drawing -----------------------------------------------------------------------------

    def _resize(self, new_lines: list[OutputLine]) -> None:
        if new_lines:
            widest = max(len(line.text) + 40 for line in new_lines)  # the mark, a cut note
            self._width = max(self._width, widest)
        size = Size(self._width, len(self.lines))
        if size != self.virtual_size:
            # not the reactive: assigning it re-lays out the whole screen on every live batch
            self.set_reactive(TaskOutputView.virtual_size, size)
            self._scroll_update(size)
        self.refresh()
        self._update_titles()

    def _to_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)

    def _update_titles(self) -> None:
        if self.attempt is None:
            return
        count = f"{len(self.lines):,} line{'s' if len(self.lines) != 1 else ''}"
        self.border_title = f"attempt {self.attempt} output · {count}"
        legend = ["stdout", "! stderr"] + (["~ poll"] if "poll" in self.streams else [])
        hints = []
        if self.has_older:
            hints.append("[ older")
        if not self.at_end or self.newer_waiting:
            hints.append("] newer · G newest" if not self.at_end else "G newest")
        self.border_subtitle = " · ".join(legend + hints)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= len(self.lines):
            if not self.lines and y == 0:
                said = "(no output yet)" if self.attempt is not None else "(no attempt yet)"
                empty = Text(said, style="dim")
                return Strip(empty.render(self.app.console), empty.cell_len).crop_extend(
                    0, width, style
                )
            return Strip.blank(width, style)
        line = self.lines[index]
        lit = line.at == self.highlight
        strip = self._cache.get((line.at, lit))
        if strip is None:
            text = line_text(line)
            if lit:
                text.stylize(HIGHLIGHT)
            text.stylize(style)
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._cache[(line.at, lit)] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # --- keys --------------------------------------------------------------------------------

    def action_top(self) -> None:
        self.follow = False
        self.scroll_home(animate=False, immediate=True, x_axis=False)

    def action_bottom(self) -> None:
        if not self.at_end or self.newer_waiting:
            self.post_message(self.NewestWanted())
            return
        self.follow = True
        self._to_end()

    def action_line_up(self) -> None:
        self.follow = False
        self.scroll_up(animate=False)

    def action_line_down(self) -> None:
        self.scroll_down(animate=False)
        self._follow_at_bottom()

    def action_page_up_output(self) -> None:
        self.follow = False
        self.scroll_page_up(animate=False)

    def action_page_down_output(self) -> None:
        self.scroll_page_down(animate=False)
        self._follow_at_bottom()

    def _follow_at_bottom(self) -> None:
        if self.at_end and self.scroll_y >= self.max_scroll_y:
            self.follow = True

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.follow = False

    def request_older(self) -> bool:
        if not self.has_older or not self.lines:
            return False
        self.post_message(self.OlderWanted(self.lines[0].at))
        return True

    def request_newer(self) -> bool:
        if self.at_end or not self.lines:
            return False
        self.post_message(self.NewerWanted(self.lines[-1].at))
        return True
