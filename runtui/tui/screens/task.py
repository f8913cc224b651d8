"""One task of a run: what it runs, every attempt and how it ended, an attempt's output (stderr
marked), and the violations it caused, live.

It opens on the task's latest attempt, showing the tail of its output, read through the port's
`task_output` (an index of the run's log: a run with 100k events opens as fast as a small one).
Live, each coalesced `EventsArrived` tick appends the shown attempt's new lines straight from
the events (no read), and re-reads the task's rows only when one of its attempts or its status
changed, or it caused a violation; a new attempt is followed if the latest one was shown. `e`
jumps to the first line the attempt wrote on stderr, loading the output around it if it is not
in view. A `lagged` tick re-reads everything.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from runtui.domain.errors import RuntuiError
from runtui.domain.events import (
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    RunCreated,
    TaskStatusChanged,
    ViolationRecorded,
)
from runtui.domain.task_env import RunEnvironment
from runtui.domain.task_output import DEFAULT_PAGE_LINES, batch_lines
from runtui.domain.views import AttemptRow, RunRow, TaskRow, ViolationRow
from runtui.tui.messages import ConnectionChanged, EventsArrived
from runtui.tui.safe_text import one_line
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.list_table import ListTable
from runtui.tui.widgets.task_output_view import TaskOutputView
from runtui.tui.widgets.task_summary import (
    ATTEMPT_COLUMNS,
    attempt_cells,
    error_line,
    spec_lines,
    title_text,
)
from runtui.tui.widgets.violations_panel import violation_text

CONTEXT = 20  # lines shown above the first error when `e` loads the output around it
NARROW_BELOW = 100
SHORT_BELOW = 32
RUN_KINDS = frozenset({"run.status", "run.terminated"})


class TaskScreen(RuntuiScreen):
    HELP_TITLE = "Task"
    AUTO_FOCUS = "#output"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="task.back", tooltip="back to the run"),
        Binding(
            "e",
            "first_error",
            "First error",
            id="task.first_error",
            tooltip="jump to the first line the shown attempt wrote on stderr",
        ),
        Binding("p", "attempt(-1)", "Prev attempt", id="task.previous", tooltip="older attempt"),
        Binding("n", "attempt(1)", "Next attempt", id="task.next", tooltip="newer attempt"),
        Binding(
            "left_square_bracket",
            "older",
            "Older",
            id="task.older",
            key_display="[",
            tooltip="load older output lines",
        ),
        Binding(
            "right_square_bracket",
            "newer",
            "Newer",
            id="task.newer",
            key_display="]",
            show=False,
            tooltip="load newer output lines (after a jump)",
        ),
    ]
    DEFAULT_CSS = """
    TaskScreen #task-title { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    TaskScreen #task-spec { height: auto; max-height: 2; padding: 0 1;
                            text-wrap: nowrap; text-overflow: ellipsis; }
    TaskScreen #attempts { height: auto; max-height: 8; margin: 0 1;
                           scrollbar-size-horizontal: 0; }
    TaskScreen #attempt-error { height: 1; padding: 0 1; display: none;
                                text-wrap: nowrap; text-overflow: ellipsis; }
    TaskScreen #output { height: 1fr; min-height: 5; }
    TaskScreen #task-violations { height: auto; max-height: 9; display: none;
                                  border: round $error 60%; padding: 0 1; }
    TaskScreen #task-violations > Static { height: auto; }
    TaskScreen.short #attempts { max-height: 4; }
    TaskScreen.short #task-violations { max-height: 7; }
    """

    def __init__(self, run_id: str, task_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.task_id = task_id
        self.run: RunRow | None = None
        self.task_row: TaskRow | None = None
        self.attempts: list[AttemptRow] = []  # this task's, oldest first
        self.violations: list[ViolationRow] = []  # those it caused
        self.run_env: RunEnvironment | None = None
        self.shown: int | None = None  # the attempt whose output is shown
        self.reloads = 0  # row re-reads (tests check that output alone causes none)

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="task-title")
        yield Static(id="task-spec")
        table: DataTable[Text] = ListTable(id="attempts", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static(id="attempt-error")
        yield TaskOutputView(id="output")
        with VerticalScroll(id="task-violations"):
            yield Static(id="task-violations-body")
        yield Footer()

    @property
    def output(self) -> TaskOutputView:
        return self.query_one("#output", TaskOutputView)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#attempts", DataTable)

    async def on_mount(self) -> None:
        for column in ATTEMPT_COLUMNS:
            self.table.add_column(column, key=column)
        self._fit(self.size.width, self.size.height)
        self.output.focus()
        await self.reload()
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.set_class(0 < height < SHORT_BELOW, "short")
        for footer in self.query(Footer):
            footer.compact = 0 < width < NARROW_BELOW

    # --- reading -----------------------------------------------------------------------------

    async def reload(self) -> None:
        """Open, or re-read after the feed lagged: the rows, then the shown attempt's tail."""
        await self._read_rows()
        if self.task_row is not None:
            await self._show_attempt(self.shown, force=True)

    async def _read_rows(self) -> bool:
        """Re-read the run, the task, its attempts and its violations; False if it failed."""
        self.reloads += 1
        client, rid = self.client, self.run_id
        run = await self.rt_app.attempt(client.get_run(rid))
        if run is None:
            self._missing(f"run {rid} not found")
            return False
        self.run = run
        try:
            tasks = await client.tasks_of(rid)
            attempts = await client.attempts_of(rid)
            violations = await client.violations_of(rid)
            if self.run_env is None:
                first = await client.events_after(rid, 0, 1)
                if first and isinstance(first[0].body, RunCreated):
                    self.run_env = first[0].body.run_env
        except RuntuiError as exc:  # a remote runtime went away meanwhile: keep what is shown
            self.notify(str(exc), severity="warning", markup=False)
            return False
        task = next((t for t in tasks if t.task_id == self.task_id), None)
        if task is None:
            self._missing(f"run {rid} has no task {self.task_id}")
            return False
        latest = self.attempts[-1].attempt if self.attempts else None
        self.task_row = task
        self.attempts = sorted(
            (a for a in attempts if a.task_id == self.task_id), key=lambda a: a.attempt
        )
        self.violations = [v for v in violations if v.task_id == self.task_id]
        if self.attempts and (self.shown is None or self.shown == latest):
            self.shown = self.attempts[-1].attempt  # follow the newest attempt
        self._show_rows()
        return True

    async def _show_attempt(self, attempt: int | None, *, force: bool = False) -> None:
        """Show `attempt`'s output from its tail (when it is not the one shown, or `force`)."""
        view = self.output
        if attempt is None:
            return
        if not force and attempt == view.attempt:
            return
        self.shown = attempt
        page = await self.rt_app.attempt(
            self.client.task_output(self.run_id, self.task_id, attempt, limit=DEFAULT_PAGE_LINES)
        )
        if page is not None and attempt == self.shown:
            view.set_page(attempt, page.lines, has_older=page.more, at_end=True)
        self._show_error()
        self._select_row()

    def _missing(self, what: str) -> None:
        self.query_one("#task-title", Static).update(Text(one_line(what), style="bold red"))

    # --- showing -----------------------------------------------------------------------------

    def _show_rows(self) -> None:
        task = self.task_row
        if task is None:
            return
        self._show_title()
        lines = Text("\n", no_wrap=True, overflow="ellipsis", end="")  # one line each, cut
        spec = lines.join(spec_lines(task, self.run_env))
        self.query_one("#task-spec", Static).update(spec)
        self._fill_table()
        self._show_error()
        panel = self.query_one("#task-violations", VerticalScroll)
        panel.display = bool(self.violations)
        if self.violations:
            panel.border_title = f"Violations it caused ({len(self.violations)})"
            parts = []
            for v in self.violations:
                text = violation_text(v)
                if v.attempt is not None:
                    text.append(f"  (attempt {v.attempt})", style="dim")
                parts.append(text)
            body = Text("\n", end="").join(parts)
            self.query_one("#task-violations-body", Static).update(body)

    def _show_title(self) -> None:
        if self.task_row is not None:
            title = title_text(
                self.task_row,
                self.run,
                violations=len(self.violations),
                connected=self.rt_app.connected,
            )
            self.query_one("#task-title", Static).update(title)

    @property
    def title_line(self) -> str:
        """The title as plain text (tests)."""
        if self.task_row is None:
            return ""
        return title_text(self.task_row, self.run, violations=len(self.violations)).plain

    def _fill_table(self) -> None:
        table = self.table
        reason = self.run.termination_reason if self.run is not None else None
        now = self.rt_app.clock()
        table.clear()
        for a in self.attempts:
            table.add_row(*attempt_cells(a, now=now, run_reason=reason), key=str(a.attempt))
        self._select_row()

    def _select_row(self) -> None:
        index = next((i for i, a in enumerate(self.attempts) if a.attempt == self.shown), None)
        if index is not None and self.table.cursor_row != index:
            self.table.move_cursor(row=index, animate=False)

    def _show_error(self) -> None:
        shown = next((a for a in self.attempts if a.attempt == self.shown), None)
        line = error_line(shown) if shown is not None else None
        box = self.query_one("#attempt-error", Static)
        box.display = line is not None
        box.update(line or "")

    def _tick(self) -> None:
        """Running attempts' durations move on."""
        if any(a.ended_at is None for a in self.attempts):
            self._fill_table()

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._show_title()

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The table's cursor moved: show that attempt. The table says so a moment later, also
        when it is refilled (its cursor back on row 0, then set here): only where the cursor
        still is counts."""
        if event.cursor_row != event.data_table.cursor_row or event.row_key.value is None:
            return
        await self._show_attempt(int(event.row_key.value))

    # --- live --------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        if message.lagged:
            await self.reload()
            return
        rows = False
        lines = []
        for env in message.events:
            if env.run_id != self.run_id:
                continue
            b = env.body
            if isinstance(b, AttemptOutput):
                if b.task_id == self.task_id and b.attempt == self.shown:
                    lines += batch_lines(env.seq, b.stream, b.lines)
            elif isinstance(b, AttemptStarted | AttemptStatusChanged | TaskStatusChanged):
                rows = rows or b.task_id == self.task_id
            elif isinstance(b, ViolationRecorded):
                rows = rows or b.violation.task_id == self.task_id
            elif env.kind in RUN_KINDS:
                rows = True
        view = self.output
        if lines and view.attempt == self.shown:
            if view.at_end:
                view.append(lines)
            else:
                view.note_newer()
        if rows:
            before = self.shown
            if await self._read_rows() and self.shown != before:
                await self._show_attempt(self.shown)  # a new attempt started: follow it

    # --- keys --------------------------------------------------------------------------------

    async def action_attempt(self, by: int) -> None:
        numbers = [a.attempt for a in self.attempts]
        if self.shown not in numbers:
            return
        at = numbers.index(self.shown) + by
        if 0 <= at < len(numbers):
            await self._show_attempt(numbers[at])

    async def action_first_error(self) -> None:
        """The first stderr line of the shown attempt: found in the lines loaded when they start
        at its first line, else asked of the runtime, and the output around it loaded."""
        view, attempt = self.output, self.shown
        if attempt is None:
            self.notify("no attempt yet", severity="warning")
            return
        loaded = view.first_of("stderr")
        if loaded is not None and not view.has_older:
            view.jump_to(loaded)
            return
        client, rid, tid = self.client, self.run_id, self.task_id
        first = await self.rt_app.attempt(
            client.task_output(rid, tid, attempt, after=(0, 0), stream="stderr", limit=1)
        )
        if first is None:
            return
        if not first.lines:
            row = next((a for a in self.attempts if a.attempt == attempt), None)
            said = f"; it ended: {one_line(row.error)}" if row is not None and row.error else ""
            self.notify(f"attempt {attempt} wrote nothing on stderr{said}", markup=False)
            return
        at = first.lines[0].at
        index = view.index_of(at)
        if index is None:  # not loaded: load a page that starts a little before it
            before = await self.rt_app.attempt(
                client.task_output(rid, tid, attempt, before=at, limit=CONTEXT)
            )
            start = before.lines[-1].at if before and before.lines else (0, 0)
            page = await self.rt_app.attempt(
                client.task_output(rid, tid, attempt, after=start, limit=DEFAULT_PAGE_LINES)
            )
            if before is None or page is None or attempt != self.shown:
                return
            lines = before.lines + page.lines
            view.set_page(attempt, lines, has_older=before.more, at_end=not page.more)
            index = view.index_of(at)
        if index is not None:
            view.jump_to(index)

    def action_older(self) -> None:
        view = self.output
        if view.is_full:
            self.notify("the view holds its maximum of lines", severity="warning")
        elif not view.request_older():
            self.notify("this is the first line of the attempt's output", timeout=3)

    def action_newer(self) -> None:
        if not self.output.request_newer():
            self.notify("this is the newest output", timeout=3)

    async def on_task_output_view_older_wanted(self, message: TaskOutputView.OlderWanted) -> None:
        view, attempt = self.output, self.shown
        if attempt is None:
            return
        page = await self.rt_app.attempt(
            self.client.task_output(
                self.run_id, self.task_id, attempt, before=message.before, limit=DEFAULT_PAGE_LINES
            )
        )
        if page is not None and view.attempt == attempt:
            view.prepend(page.lines, has_older=page.more)

    async def on_task_output_view_newer_wanted(self, message: TaskOutputView.NewerWanted) -> None:
        view, attempt = self.output, self.shown
        if attempt is None:
            return
        page = await self.rt_app.attempt(
            self.client.task_output(
                self.run_id, self.task_id, attempt, after=message.after, limit=DEFAULT_PAGE_LINES
            )
        )
        if page is not None and view.attempt == attempt:
            view.append(page.lines, at_end=not page.more)

    async def on_task_output_view_newest_wanted(self, message: TaskOutputView.NewestWanted) -> None:
        await self._show_attempt(self.shown, force=True)

    def action_back(self) -> None:
        self.app.pop_screen()
