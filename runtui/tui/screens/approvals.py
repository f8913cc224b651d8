"""The approvals inbox: every pending approval across runs, oldest first, decided by key.

`a` approves, `x` rejects (with a required reason), `e` approves a plan with edits (tasks to
skip). The list re-reads itself when approval events (or a lag marker) arrive, so a decision
made elsewhere (CLI, timeout, another UI) removes the row here too. In read-only mode the
deciding keys are hidden from the footer and refused with a notice.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from runtui.domain.approvals import ApprovalKind
from runtui.domain.views import ApprovalRow
from runtui.tui.glyphs import SHORT_ID, age, if_undecided, short_id, unique_length
from runtui.tui.messages import EventsArrived, OpenRun
from runtui.tui.safe_text import one_line, plain, safe_fields
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.list_table import ListTable
from runtui.tui.widgets.status_bar import StatusBar

# Events after which the list of pending approvals may differ (a cancelled or stopped run
# drops its pending approvals without deciding them).
RELOAD_ON = frozenset({"approval.requested", "approval.decided", "run.terminated", "run.summary"})
DECIDING_ACTIONS = frozenset({"approve", "approve_with_comment", "reject", "approve_with_edits"})
DECIDING_KEYS = frozenset({"a", "A", "x", "e"})

KIND_LABEL = {
    ApprovalKind.PLAN: "plan",
    ApprovalKind.TASK: "task gate",
    ApprovalKind.VIOLATION: "violation gate",
}
AGE_EVERY_S = 5.0
STATUS_EVERY_S = 0.5
MAX_UNBLOCKS = 6


def cut(text: str, width: int) -> str:
    """`text` on one terminal-safe line, cut to `width` with `…`."""
    text = " ".join(one_line(text).split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def unblocks_text(ids: list[str], limit: int = MAX_UNBLOCKS) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" +{len(ids) - limit}" if len(ids) > limit else "") if ids else "—"


class ApprovalsScreen(RuntuiScreen):
    HELP_TITLE = "Approvals inbox"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve", id="approvals.approve", tooltip="approve as asked"),
        Binding(
            "A",
            "approve_with_comment",
            "Approve+comment",
            id="approvals.approve_comment",
            tooltip="approve with a comment (recorded with the decision)",
        ),
        Binding(
            "x", "reject", "Reject", id="approvals.reject", tooltip="reject (asks for a reason)"
        ),
        Binding(
            "e",
            "approve_with_edits",
            "Edit+approve",
            id="approvals.edits",
            tooltip="approve a plan with edits: tasks to skip",
        ),
        # priority: the focused table's own (hidden) enter binding would otherwise shadow it
        Binding(
            "enter", "open", "Open run", id="approvals.open", tooltip="open the run", priority=True
        ),
        Binding("escape", "back", "Back", id="approvals.back", tooltip="back to the runs"),
        # the app's `i` (inbox) means "re-read" here, and stays out of a crowded footer
        Binding("i", "reload", "Reload", id="approvals.reload", show=False),
    ]
    DEFAULT_CSS = """
    ApprovalsScreen #approvals-title { height: 1; padding: 0 1; }
    ApprovalsScreen #approvals { height: 1fr; }
    ApprovalsScreen #approval-detail { height: auto; max-height: 8; padding: 0 1;
                                       border-top: solid $panel-lighten-2; }
    ApprovalsScreen #approvals-empty { height: 1fr; padding: 2 4; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.approvals: list[ApprovalRow] = []
        self.workflows: dict[str, str] = {}  # run id → workflow name (never changes)
        self._status_due = 0.0
        self._status_pending = False
        self._width = 0
        self._prompt_w = 16
        self._unblocks_w = 0
        self._id_len = SHORT_ID

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield Static(id="approvals-title")
        table: DataTable[Any] = ListTable(id="approvals", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="approval-detail")
        yield Static(id="approvals-empty")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        await self.reload()
        await self.refresh_status_bar()
        self.set_interval(AGE_EVERY_S, self._tick_ages)
        self.query_one("#approvals", DataTable).focus()

    # --- data --------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read the pending approvals (and the workflow names of runs not seen yet)."""
        rows = await self.rt_app.attempt(self.client.pending_approvals())
        if rows is None:
            return
        rows.sort(key=lambda a: (a.requested_at, a.approval_id))
        for run_id in {a.run_id for a in rows} - self.workflows.keys():
            run = await self.rt_app.attempt(self.client.get_run(run_id))
            self.workflows[run_id] = run.workflow if run is not None else "?"
        if rows == self.approvals and self.query_one("#approvals", DataTable).columns:
            return  # nothing changed: keep the table (and its scroll) as it is
        self.approvals = rows
        self._render_rows()

    def _columns(self, table: DataTable[Any]) -> None:
        """Size the prompt (and, when there is room, unblocks) to the screen width."""
        width = self.size.width or 120
        self._width = width
        table.clear(columns=True)
        table.add_column(" ", key="glyph", width=1)
        table.add_column("requested", key="requested", width=10)
        table.add_column("run", key="run", width=20)
        table.add_column("kind", key="kind", width=14)
        # what is left after the fixed columns, their padding (1 each side) and a scrollbar
        room = width - (1 + 10 + 20 + 14) - 2 * 4 - 2
        if room >= 50:
            self._prompt_w = room * 3 // 5 - 2
            self._unblocks_w = room - self._prompt_w - 4
            table.add_column("prompt", key="prompt", width=self._prompt_w)
            table.add_column("unblocks", key="unblocks", width=self._unblocks_w)
        else:
            self._prompt_w = max(16, room - 2)
            self._unblocks_w = 0
            table.add_column("prompt", key="prompt", width=self._prompt_w)

    def _render_rows(self) -> None:
        """Redraw from `self.approvals` (no I/O): keeps the cursor on the same approval."""
        table = self.query_one("#approvals", DataTable)
        keep = self._current()
        if self.size.width != self._width or not table.columns:
            self._columns(table)
        table.clear()
        now = self.rt_app.clock()
        self._id_len = unique_length(a.run_id for a in self.approvals)
        for a in self.approvals:  # text cells as `Text`: a `str` cell is read as markup
            cells: list[Any] = [
                Text("⏸", style="yellow"),
                self._requested(a, now),
                plain(
                    f"{cut(self.workflows.get(a.run_id, '?'), 12)}"
                    f" {short_id(a.run_id, self._id_len)}"
                ),
                KIND_LABEL[a.kind],
                plain(cut(a.prompt, self._prompt_w)),
            ]
            if self._unblocks_w:
                cells.append(plain(cut(unblocks_text(a.unblocks), self._unblocks_w)))
            table.add_row(*cells, key=a.approval_id)
        if keep is not None and any(a.approval_id == keep.approval_id for a in self.approvals):
            table.move_cursor(row=table.get_row_index(keep.approval_id))
        n = len(self.approvals)
        title = Text()
        title.append(f"Approvals waiting ({n})", style="bold")
        if n:
            title.append("   oldest first", style="dim")
        self.query_one("#approvals-title", Static).update(title)
        empty = self.query_one("#approvals-empty", Static)
        empty.display = n == 0
        table.display = n > 0
        self.query_one("#approval-detail", Static).display = n > 0
        self.refresh_bindings()
        if n == 0:
            empty.update("No approvals waiting.\n\nRuns that need a decision will show up here.")
        self._show_detail()

    @staticmethod
    def _requested(a: ApprovalRow, now: float) -> str:
        clock = time.strftime("%H:%M", time.localtime(a.requested_at))
        return f"{clock} {age(now - a.requested_at):>4}"

    def _tick_ages(self) -> None:
        """Ages move on without any event: update those cells only, not the whole table."""
        table = self.query_one("#approvals", DataTable)
        now = self.rt_app.clock()
        for a in self.approvals:
            if a.approval_id in table.rows:
                table.update_cell(a.approval_id, "requested", self._requested(a, now))
        self._show_detail()

    def copyable_id(self) -> tuple[str, str] | None:
        a = self._current()
        return None if a is None else ("approval", a.approval_id)

    def _current(self) -> ApprovalRow | None:
        table = self.query_one("#approvals", DataTable)
        if table.row_count == 0:
            return None
        try:
            key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        except Exception:
            return None
        return next((a for a in self.approvals if a.approval_id == key.value), None)

    def _show_detail(self) -> None:
        a = self._current()
        detail = self.query_one("#approval-detail", Static)
        if a is None:
            detail.update("")
            return
        now = self.rt_app.clock()
        workflow = one_line(self.workflows.get(a.run_id, "?"))
        a = safe_fields(a)
        text = Text()
        text.append(a.prompt, style="bold")
        text.append("\n")
        text.append(f"⏸ {KIND_LABEL[a.kind]}", style="yellow")
        text.append(f" · {workflow} {short_id(a.run_id, self._id_len)}")
        text.append(f" · asked {age(now - a.requested_at)} ago", style="dim")
        if a.timeout_s is not None:
            text.append(f" · {if_undecided(a, now)}", style="yellow")
        text.append("\nunblocks: ", style="bold")
        text.append(unblocks_text(a.unblocks, limit=20))
        text.append(
            f"\nrun {a.run_id} · approval {a.approval_id} (y: copy the approval id)", style="dim"
        )
        detail.update(text)

    # --- live --------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        kinds = {e.kind for e in message.events}
        if message.lagged or kinds & RELOAD_ON:
            await self.reload()
            self._status_soon()

    def _status_soon(self) -> None:
        """Refresh the status bar at most every STATUS_EVERY_S, never dropping the last one."""
        if self._status_pending:
            return
        self._status_pending = True
        delay = self._status_due - time.monotonic()
        if delay > 0:
            self.set_timer(delay, self._status_now)
        else:
            self.call_later(self._status_now)

    async def _status_now(self) -> None:
        self._status_pending = False
        self._status_due = time.monotonic() + STATUS_EVERY_S
        await self.refresh_status_bar()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted:
            self._render_rows()

    # --- read-only ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Deciding actions do not exist in read-only mode (so the footer does not show them),
        and nothing acts on a row while there is none."""
        if action in DECIDING_ACTIONS and self.rt_app.read_only:
            return False
        return not (action in DECIDING_ACTIONS | {"open"} and not self.approvals)

    def on_key(self, event: events.Key) -> None:
        # Hidden bindings do not fire; say why instead of ignoring the key silently.
        if event.key in DECIDING_KEYS and self.rt_app.read_only:
            event.stop()
            self.rt_app.refuse_read_only()

    # --- actions -----------------------------------------------------------------------------

    def _target(self, verb: str) -> ApprovalRow | None:
        a = self._current()
        if a is None:
            self.notify(f"nothing to {verb}: no approval selected", severity="warning")
        return a

    async def action_approve(self) -> None:
        if self.rt_app.refuse_read_only() or (a := self._target("approve")) is None:
            return
        await self.rt_app.attempt(
            self.client.approve(a.approval_id), success=f"approved: {self._label(a)}"
        )
        await self.reload()

    def action_approve_with_comment(self) -> None:
        if self.rt_app.refuse_read_only() or (a := self._target("approve")) is None:
            return
        self._decide_in_words(a, approve=True)

    def action_reject(self) -> None:
        if self.rt_app.refuse_read_only() or (a := self._target("reject")) is None:
            return
        self._decide_in_words(a, approve=False)

    def _decide_in_words(self, a: ApprovalRow, *, approve: bool) -> None:
        from runtui.tui.dialogs.reject import decide_in_words

        decide_in_words(
            self, a, approve=approve, prompt=a.prompt, label=self._label(a), then=self.reload
        )

    def action_approve_with_edits(self) -> None:
        if self.rt_app.refuse_read_only() or (a := self._target("approve")) is None:
            return
        if a.kind is not ApprovalKind.PLAN:
            self.notify(
                f"edits apply to plan approvals; this is a {KIND_LABEL[a.kind]}"
                " (a approves, x rejects)",
                severity="warning",
            )
            return
        from runtui.tui.dialogs.edits import EditsDialog

        async def edited(edits: dict[str, Any] | None) -> None:
            if edits is None:
                return
            await self.rt_app.attempt(
                self.client.approve(a.approval_id, edits=edits),
                success=f"approved with edits: {self._label(a)}",
            )
            await self.reload()

        self.app.push_screen(EditsDialog(a.prompt, a.unblocks), edited)

    def action_open(self) -> None:
        a = self._current()
        if a is not None:
            self.post_message(OpenRun(a.run_id))

    async def action_reload(self) -> None:
        await self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def _label(self, a: ApprovalRow) -> str:
        run = short_id(a.run_id, self._id_len)
        return f"{KIND_LABEL[a.kind]} of {self.workflows.get(a.run_id, '?')} {run}"
