"""The home screen: every run, newest first, live.

Rows come from the store a page at a time (keyset paging), so ten thousand runs cost what a
page costs; scrolling to the end loads the next page. `/` filters as you type (server-side,
over run id, workflow, status and phase); 1–5 pick a result bucket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static

from runtui.domain.errors import RuntuiError
from runtui.domain.views import RunRow
from runtui.domain.violations import SEVERITY_PRIORITY
from runtui.domain.why import ENDED_BADLY, short_reason
from runtui.tui.glyphs import (
    RUN_STYLE,
    SEVERITY_STYLE,
    SHORT_ID,
    duration,
    run_glyph,
    short_id,
    started_time,
    unique_length,
)
from runtui.tui.messages import EventsArrived, OpenRun
from runtui.tui.safe_text import markup, plain
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.list_table import ListTable
from runtui.tui.widgets.status_bar import StatusBar

PAGE = 200
RUN_LEVEL = frozenset(
    {
        "run.created",
        "run.status",
        "phase.changed",
        "violation.recorded",
        "run.summary",
        "wave.completed",
    }
)
STATUS_LEVEL = frozenset({"approval.requested", "approval.decided", "run.status", "run.summary"})

#: (key, label, width); the last one takes what is left. "↳ demo (rewind@3)" fits `workflow`.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("glyph", " ", 1),
    ("run", "run", 9),
    ("workflow", "workflow", 18),
    ("status", "status", 17),
    ("phase", "phase · why", 20),
    ("wave", "wave", 5),
    ("started", "started", 11),
    ("took", "took", 6),
    ("worst", "worst", None),
)
#: Below this many columns the secondary ones go, so that the worst violation stays in view;
#: below `WIDE`, the wave (the run screen says it).
NARROW_BELOW = 100
WIDE = 130
NARROW_COLUMNS = frozenset({"glyph", "run", "workflow", "status", "worst"})
NARROW_WORKFLOW = 17

FILTERS: dict[str, dict[str, Any]] = {
    "all": {},
    "live": {"live": True},
    "success": {"result": "success"},
    "failed": {"result": "failed"},
    "stopped": {"result": "stopped"},
}


def _took(now: float) -> Callable[[RunRow], Any]:
    return lambda r: -((r.ended_at if r.ended_at is not None else now) - r.created_at)


#: `s` cycles through these (the column each sorts is marked ▼); keys for `sorted`, given now.
SORTS: dict[str, Callable[[float], Callable[[RunRow], Any]]] = {
    "started": lambda now: lambda r: 0,  # the store's order (newest first) is kept
    "took": _took,
    "status": lambda now: lambda r: (r.status.value, -r.created_at),
    "workflow": lambda now: lambda r: (r.workflow, -r.created_at),
    "worst": lambda now: (
        lambda r: (
            -SEVERITY_PRIORITY.get(r.worst_severity, 0) if r.worst_severity else 0,
            -r.created_at,
        )
    ),
}
SORT_LABEL = {
    "started": "start, newest first",
    "took": "time taken, longest first",
    "status": "status",
    "workflow": "workflow",
    "worst": "worst violation, most severe first",
}


class RunsScreen(RuntuiScreen):
    HELP_TITLE = "Runs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="runs.open"),
        Binding("n", "new_run", "New run", id="runs.new"),
        Binding("slash", "filter", "Filter", id="runs.filter", key_display="/"),
        Binding("s", "sort", "Sort", id="runs.sort", tooltip="sort the loaded runs: next order"),
        Binding(
            "h",
            "health",
            "Health",
            id="runs.health",
            tooltip="every workflow's health and why; clear a blocked one",
        ),
        Binding(
            "d",
            "diff",
            "Diff",
            id="runs.diff",
            tooltip="mark this run; d on a second run shows the two side by side",
        ),
        Binding("1", "bucket('all')", "All", id="runs.all", show=False),
        Binding("2", "bucket('live')", "Live", id="runs.live", show=False),
        Binding("3", "bucket('success')", "Succeeded", id="runs.success", show=False),
        Binding("4", "bucket('failed')", "Failed", id="runs.failed", show=False),
        Binding("5", "bucket('stopped')", "Stopped", id="runs.stopped", show=False),
        Binding("escape", "clear_filter", "Clear filter", id="runs.clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.bucket = "all"
        self.text = ""
        self.rows: dict[str, RunRow] = {}
        self.next_cursor: str | None = None
        self._status_due = 0.0
        self._status_timer_set = False
        self._loading = False
        self._keys: list[str] = []  # the columns shown, by key
        self._id_len = SHORT_ID  # short ids' length: unique among the rows shown
        self.sort_by = "started"
        self.diff_mark: str | None = None  # the run `d` marked, to diff with the next one

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield Static(id="filter-line")
        yield Input(placeholder="filter: run id, workflow, status or phase", id="filter")
        table: DataTable[Any] = ListTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="empty")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        self._set_columns(self.size.width)
        self.query_one("#filter", Input).display = False
        await self.reload()
        await self.refresh_status_bar()
        table.focus()
        self.set_interval(1.0, self._tick_live_rows)

    def _tick_live_rows(self) -> None:
        """A live run's "took" runs on while nothing happens in it (a run waiting at a gate
        writes no events, so no reload would move it)."""
        if "took" not in self._keys:
            return
        table = self.query_one("#runs", DataTable)
        for run in self.rows.values():
            if not run.status.is_terminal and run.ended_at is None:
                table.update_cell(run.run_id, "took", self._cells(run)["took"])

    # --- data --------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read the first page (and every page already shown), keeping the cursor's run."""
        table = self.query_one("#runs", DataTable)
        keep = self._cursor_run()
        shown = max(PAGE, len(self.rows))
        runs: list[RunRow] = []
        cursor: str | None = None
        try:
            while len(runs) < shown:
                page = await self.client.list_runs(
                    limit=min(1000, shown - len(runs)),
                    cursor=cursor,
                    text=self.text or None,
                    **FILTERS[self.bucket],
                )
                runs += page.runs
                cursor = page.next_cursor
                if cursor is None:
                    break
        except RuntuiError as exc:  # a remote runtime went away meanwhile: keep what is shown
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.next_cursor = cursor
        self.rows = {r.run_id: r for r in runs}
        self._id_len = unique_length(self.rows)
        self._refill(table, keep)
        self._show_filter_line()
        self._show_empty_state()

    async def load_more(self) -> None:
        if self.next_cursor is None or self._loading:
            return
        self._loading = True
        try:
            page = await self.client.list_runs(
                limit=PAGE, cursor=self.next_cursor, text=self.text or None, **FILTERS[self.bucket]
            )
            table = self.query_one("#runs", DataTable)
            for run in page.runs:
                if run.run_id not in self.rows:
                    self.rows[run.run_id] = run
                    if self.sort_by == "started":  # newest first: a page goes below
                        self._add_row(table, run)
            if self.sort_by != "started":
                self._refill(table, self._cursor_run())
            self.next_cursor = page.next_cursor
            if (length := unique_length(self.rows)) != self._id_len:  # two tails now collide
                self._id_len = length
                if "run" in self._keys:
                    for run_id in self.rows:
                        table.update_cell(run_id, "run", plain(short_id(run_id, length)))
        except RuntuiError as exc:
            self.notify(str(exc), severity="warning", markup=False)
        finally:
            self._loading = False

    def _set_columns(self, width: int) -> bool:
        """Lay out the columns for `width`; True when they changed (the rows must be re-added)."""
        narrow = 0 < width < NARROW_BELOW
        keys = [k for k, _, _ in COLUMNS if not narrow or k in NARROW_COLUMNS]
        if 0 < width < WIDE:
            keys = [k for k in keys if k != "wave"]
        if keys == self._keys:
            return False
        table = self.query_one("#runs", DataTable)
        table.clear(columns=True)
        for key, label, size in COLUMNS:
            if key in keys:
                if narrow and key == "workflow":
                    size = NARROW_WORKFLOW
                shown = f"{label} ▼" if key == self.sort_by and key != "started" else label
                table.add_column(shown, key=key, width=size)
        self._keys = keys
        return True

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted and self._set_columns(event.size.width):
            self._refill(self.query_one("#runs", DataTable), self._cursor_run())

    def _refill(self, table: DataTable[Any], keep: str | None) -> None:
        """Every loaded run again, in the order chosen with `s` (the cursor stays on its run)."""
        table.clear()
        runs = list(self.rows.values())  # as the store pages them: newest first
        if self.sort_by != "started":  # a stable sort: ties stay newest first
            runs.sort(key=SORTS[self.sort_by](self.rt_app.clock()))
        for run in runs:
            self._add_row(table, run)
        if keep in self.rows:
            table.move_cursor(row=table.get_row_index(keep))

    def action_sort(self) -> None:
        """Next sort order (of the runs loaded: the store pages them newest first)."""
        order = list(SORTS)
        self.sort_by = order[(order.index(self.sort_by) + 1) % len(order)]
        self._keys = []  # the headers change: the ▼ moves
        self._set_columns(self.size.width)
        self._refill(self.query_one("#runs", DataTable), self._cursor_run())
        self.notify(f"sorted by {SORT_LABEL[self.sort_by]}", timeout=2)

    def _add_row(self, table: DataTable[Any], run: RunRow) -> None:
        cells = self._cells(run)
        table.add_row(*(cells[k] for k in self._keys), key=run.run_id)

    def _cells(self, run: RunRow) -> dict[str, Any]:
        """The row's cells; the workflow's name as `Text` (a `str` cell is read as markup)."""
        style = RUN_STYLE[run.status]
        name = run.workflow
        if run.parent_run_id:
            name = (
                f"↳ {name} (rewind@{run.rewound_from_wave})"
                if run.rewound_from_wave is not None
                else f"↳ {name} (retry)"
            )
        worst = Text()
        if run.worst_severity is not None and run.worst_violation is not None:
            worst.append(
                f"▲ {run.worst_severity.value} {run.worst_violation.value}",
                style=SEVERITY_STYLE[run.worst_severity],
            )
        end = (
            run.ended_at
            if run.ended_at is not None
            else (None if run.status.is_terminal else self.rt_app.clock())
        )
        glyph = Text("⇄", style="bold") if run.run_id == self.diff_mark else None
        return {
            "glyph": glyph or Text(run_glyph(run.status), style=style),
            "run": plain(short_id(run.run_id, self._id_len)),
            "workflow": plain(name),
            "status": Text(run.status.value, style=style),
            # an ended run's phase says little (COMPLETED, FAILED): a failed one says why
            "phase": plain(short_reason(run)) if run.status in ENDED_BADLY else run.phase.value,
            "wave": run.wave_progress,
            "started": started_time(run.created_at, self.rt_app.clock()),
            "took": duration(None if end is None else end - run.created_at),
            "worst": worst,
        }

    def copyable_id(self) -> tuple[str, str] | None:
        run_id = self._cursor_run()
        return None if run_id is None else ("run", run_id)

    def _cursor_run(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        try:
            key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def _show_filter_line(self) -> None:
        parts = [f"[b]{b}[/b]" if b == self.bucket else b for b in FILTERS]
        label = f"Filter: /{markup(self.text)}" if self.text else "Filter: (none)"
        more = "  more below ↓" if self.next_cursor else ""
        mark = ""
        if self.diff_mark is not None:
            mark = f"    ⇄ {short_id(self.diff_mark, self._id_len)} marked: d on another run diffs"
        self.query_one("#filter-line", Static).update(
            f"{label}    {'  '.join(parts)}    {len(self.rows)} shown{more}{markup(mark)}"
        )

    def _show_empty_state(self) -> None:
        empty = self.query_one("#empty", Static)
        fresh = not self.rows and not self.text and self.bucket == "all"
        empty.display = fresh
        self.query_one("#runs", DataTable).display = not fresh
        if fresh:
            demo = self.rt_app.demo_path
            hint = (
                f"Press [b]n[/b] to start the demo workflow ({demo.name}): shell tasks in waves,"
                " a policy warning and an approval gate."
                if demo is not None
                else "Press [b]n[/b] to start a run from a workflow file."
            )
            empty.update(f"No runs yet.\n\n{hint}\nOr from a shell: runtui run FILE")

    # --- live --------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        kinds = {e.kind for e in message.events}
        if message.lagged or kinds & RUN_LEVEL:
            await self.reload()
        if message.lagged or kinds & STATUS_LEVEL:
            self._status_soon()

    def _status_soon(self) -> None:
        """Refresh the status bar at most twice a second, but never drop the last change."""
        now = time.monotonic()
        if self._status_timer_set:
            return
        delay = max(0.01, self._status_due - now)
        self._status_timer_set = True

        async def refresh() -> None:
            self._status_timer_set = False
            self._status_due = time.monotonic() + 0.5
            await self.refresh_status_bar()

        self.set_timer(delay, refresh)

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one("#runs", DataTable)
        if event.cursor_row >= table.row_count - 5:
            await self.load_more()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(OpenRun(str(event.row_key.value)))

    # --- read-only ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No new runs in read-only mode (so the footer does not offer one)."""
        return not (action == "new_run" and self.rt_app.read_only)

    def on_key(self, event: events.Key) -> None:
        # Hidden bindings do not fire; say why instead of ignoring the key silently.
        if event.key == "n" and self.rt_app.read_only and not isinstance(self.focused, Input):
            event.stop()
            self.rt_app.refuse_read_only()

    # --- actions -----------------------------------------------------------------------------

    def action_open(self) -> None:
        run_id = self._cursor_run()
        if run_id is not None:
            self.post_message(OpenRun(run_id))

    def action_diff(self) -> None:
        """The first `d` marks the run under the cursor, the second (on another run) shows the
        two side by side; `d` on the marked run again forgets it."""
        run_id = self._cursor_run()
        if run_id is None:
            return
        marked = self.diff_mark
        self.diff_mark = run_id if marked is None else None
        for rid in (marked, run_id):
            if rid in self.rows and "glyph" in self._keys:
                cell = self._cells(self.rows[rid])["glyph"]
                self.query_one("#runs", DataTable).update_cell(rid, "glyph", cell)
        self._show_filter_line()
        if marked is not None and marked != run_id:
            from runtui.tui.screens.diff import DiffScreen

            self.app.push_screen(DiffScreen(marked, run_id))

    def action_health(self) -> None:
        from runtui.tui.screens.health import HealthScreen

        self.app.push_screen(HealthScreen())

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.text
        box.focus()

    async def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.text = event.value.strip()
            await self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.input.display = False
            self.query_one("#runs", DataTable).focus()

    async def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = False
        if self.text:
            self.text = ""
            await self.reload()
        self.query_one("#runs", DataTable).focus()

    async def action_bucket(self, bucket: str) -> None:
        self.bucket = bucket
        await self.reload()

    def action_new_run(self) -> None:
        if self.rt_app.refuse_read_only():
            return
        from pathlib import Path

        from runtui.tui.dialogs.new_run import NewRunDialog

        app = self.rt_app

        async def submit(path: str, force: bool) -> str:
            app.last_workflow_path = path  # offered again next time, even when refused
            return await self.client.submit_file(Path(path), force=force)

        async def started(run_id: str | None) -> None:
            if run_id is not None:
                self.notify(f"started run {short_id(run_id)}", timeout=4)
                await self.reload()
                self.post_message(OpenRun(run_id))

        default = app.last_workflow_path or (str(app.demo_path) if app.demo_path else "")
        self.app.push_screen(NewRunDialog(default, submit), started)
