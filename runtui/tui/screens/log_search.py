"""The run screen's log keys: search the whole log, step through matches, go to an event, the
line filters and wrapping.

`/` opens the search bar; what is typed is searched in the whole log through the port (after a
short pause in the typing), from the top line in view, and the first match is shown and marked.
`n`/`N` (or `enter`/`shift+enter` in the bar) go to the next/previous match, loading the events
around it when the log's window does not hold them: a window away from the run's tail stops
taking live events until `end` (or `f`) brings the tail back. `:` or `#` goes to an event by
its seq. `o` keeps one task's lines (the task of the match, or of the lowest line in view with
one), `h` hides bookkeeping (`NOISE_KINDS`), and both narrow the search too. `W` wraps long
lines. `esc` closes the bar, then clears the search.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Input

from runtui.domain.errors import RuntuiError
from runtui.domain.events import EventEnvelope
from runtui.domain.views import RunRow
from runtui.tui.log_finder import LogFinder
from runtui.tui.safe_text import markup
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.search_bar import Mode, SearchBar, parse_seq

LOG_PAGE = 1000  # events loaded around a match the window does not hold
TAIL = 2000  # events loaded when the tail comes back
DEBOUNCE_S = 0.25  # a pause in the typing this long searches


#: The log keys; the run screen lists them in its own bindings (so `?` shows them).
SEARCH_BINDINGS: list[BindingType] = [
    Binding("n", "next_match", "Next match (newer)", id="log.next", show=False),
    Binding("N", "previous_match", "Previous match (older)", id="log.previous", show=False),
    Binding(
        "colon", "goto", "Go to an event by its #", id="log.goto", key_display=":", show=False,
        tooltip="go to an event by its seq",
    ),
    Binding(
        "number_sign", "goto", "Go to an event by its #", id="log.goto_hash", key_display="#",
        show=False,
    ),
    Binding(
        "o", "task_only", "This task only (on/off)", id="log.task_only", show=False,
        tooltip="only the lines of the task of the match (or in view); again: all tasks",
    ),
    Binding(
        "h", "hide_noise", "Hide noise (on/off)", id="log.noise", show=False,
        tooltip="hide spans, audit records, lease changes and task declarations",
    ),
    Binding("W", "wrap", "Wrap long lines (on/off)", id="log.wrap", show=False),
    Binding(
        "right_square_bracket", "newer", "Load newer events", id="log.newer", key_display="]",
        show=False, tooltip="load newer events (a window away from the newest)",
    ),
]  # fmt: skip


class SearchableLogScreen(RuntuiScreen):
    """A screen with an `EventLog` (#events) of run `run_id` and a `SearchBar` (#search)."""

    run_id: str
    run: RunRow | None
    _finder: LogFinder | None = None
    _debounce: Timer | None = None

    @property
    def log_view(self) -> EventLog:
        return self.query_one("#events", EventLog)

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one("#search", SearchBar)

    @property
    def finder(self) -> LogFinder:
        if self._finder is None:
            self._finder = LogFinder(self.client, self.run_id)
        return self._finder

    # --- the bar -------------------------------------------------------------------------------

    def action_search(self) -> None:
        self._open_bar("search")

    def action_goto(self) -> None:
        self._open_bar("goto")

    def _open_bar(self, mode: Mode) -> None:
        if self.maximized is not None:  # a zoomed panel would hide the bar
            self.minimize()
        self.search_bar.open(mode)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "log-search" or self.search_bar.mode != "search":
            return
        event.stop()
        self.finder.text = event.value
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self._search_now)

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "log-search":
            return
        event.stop()
        bar = self.search_bar
        if bar.mode == "goto":
            seq = parse_seq(event.value)
            bar.close()
            self.log_view.focus()
            if seq is None:
                self.notify("go to: type an event's seq, e.g. 4500", severity="warning")
                return
            await self.go_to_seq(seq)
        elif self._debounce is not None:  # typed, not searched yet: search now
            self._search_now()
        else:
            self.action_next_match()

    def on_search_bar_previous(self, message: SearchBar.Previous) -> None:
        self.action_previous_match()

    def search_escape(self) -> bool:
        """`esc`: close the bar, else clear the search; False if there was neither."""
        bar, finder = self.search_bar, self.finder
        if bar.display:
            bar.close()
            self.log_view.focus()
            return True
        if finder.text:
            finder.text = ""
            finder.forget()
            bar.clear()
            self._show_search(None)
            return True
        return False

    # --- searching -----------------------------------------------------------------------------

    def _search_now(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self.run_worker(self._first(), group="log-search", exclusive=True)

    async def _first(self) -> None:
        finder = self.finder
        if not finder.text:  # nothing typed: nothing to go to (n / N still step the filters)
            finder.forget()
            self._show_search(self.log_view.current_seq)
            return
        try:
            seq = await finder.first(self.log_view.top_seq())
        except RuntuiError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        await self._show_match(seq)

    def action_next_match(self) -> None:
        self._step(forward=True)

    def action_previous_match(self) -> None:
        self._step(forward=False)

    def _step(self, *, forward: bool) -> None:
        if not self.finder.active:
            self.notify("nothing to search: / searches the whole log", timeout=3)
            return
        self.run_worker(self._stepped(forward), group="log-search", exclusive=True)

    async def _stepped(self, forward: bool) -> None:
        log = self.log_view
        anchor = log.current_seq if log.current_seq is not None else log.top_seq()
        try:
            seq = await self.finder.step(forward, anchor)
        except RuntuiError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        await self._show_match(seq if seq is not None else self.finder.current)

    async def _show_match(self, seq: int | None) -> None:
        if seq is not None:
            await self._bring(seq)
        self._show_search(seq)

    def _show_search(self, current: int | None) -> None:
        finder, log = self.finder, self.log_view
        status = finder.status()
        self.search_bar.show_status(status)
        log.search_title = f"/{markup(finder.searched)}  {status}" if finder.text else ""
        log.mark(finder.searched, current)

    async def go_to_seq(self, seq: int) -> None:
        log = self.log_view
        last = max(log.total, self.run.last_seq if self.run is not None else 0)
        if last < 1:
            return
        seq = min(max(seq, 1), last)
        self.finder.forget()  # `n` goes on from here
        await self._bring(seq)
        self._show_search(seq)

    async def _bring(self, seq: int) -> None:
        """Show event `seq`, loading the events around it if the window does not hold it."""
        log = self.log_view
        if not log.holds(seq):
            try:
                await self._load_around(seq)
            except RuntuiError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
        if not log.show_seq(seq):
            self.notify(f"#{seq:,} is hidden by the line filters (o, h)", timeout=3)

    async def _load_around(self, seq: int) -> None:
        log, client = self.log_view, self.client
        first = log.first_seq
        if not log.detached and first and 0 < first - seq <= LOG_PAGE and not log.is_full:
            older = await client.events_before(self.run_id, first, first - seq + LOG_PAGE // 10)
            self.loaded(older)
            log.prepend(older)
            return
        events = await client.events_after(self.run_id, max(0, seq - LOG_PAGE // 2), LOG_PAGE)
        self.loaded(events)
        log.follow = False
        at_tail = len(events) < LOG_PAGE
        log.set_events(events, total=log.total, origin=log.origin, detached=not at_tail)

    def loaded(self, events: list[EventEnvelope]) -> None:
        """Events read for the log (the run screen notes its phase changes)."""

    # --- filters, wrapping, windows ------------------------------------------------------------

    def action_task_only(self) -> None:
        finder = self.finder
        if finder.task is not None:
            finder.task = None
        else:
            task = self.log_view.task_in_view()
            if task is None:
                self.notify("no task in view: go to a task's line first (n, :)", timeout=3)
                return
            finder.task = task
        self._filters_changed()

    def action_hide_noise(self) -> None:
        self.finder.hide_noise = not self.finder.hide_noise
        self._filters_changed()

    def _filters_changed(self) -> None:
        finder, log = self.finder, self.log_view
        log.set_line_filter(hidden_kinds=finder.hidden_kinds(), task=finder.task)
        if finder.text:  # the matches change with the filters: search again from here
            self._search_now()
        else:
            finder.forget()
            self._show_search(log.current_seq)

    def action_wrap(self) -> None:
        self.log_view.wrap = not self.log_view.wrap

    def action_newer(self) -> None:
        if not self.log_view.request_newer():
            self.notify("the log already shows the newest events", timeout=3)

    async def on_event_log_newer_wanted(self, message: EventLog.NewerWanted) -> None:
        newer = await self.rt_app.attempt(
            self.client.events_after(self.run_id, message.after, LOG_PAGE)
        )
        if newer is not None:
            self.loaded(newer)
            self.log_view.add_newer(newer, at_tail=len(newer) < LOG_PAGE)

    async def on_event_log_tail_wanted(self, message: EventLog.TailWanted) -> None:
        log = self.log_view
        try:
            total = await self.client.count_events(self.run_id)
            tail = await self.client.events_after(self.run_id, max(0, total - TAIL), TAIL)
        except RuntuiError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.loaded(tail)
        log.set_events(tail, total=total, origin=log.origin)
        log.follow = True
