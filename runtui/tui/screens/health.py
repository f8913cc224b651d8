"""Workflow health: every workflow with how its recent runs went and why it is rated so; `c`
clears one (after asking), so a blocked workflow takes new runs again.

A workflow whose last runs all failed is blocked: new runs are refused until someone clears it
(or runs it anyway from the new-run dialog). Before this screen the UI only counted blocked
workflows in the status bar, a dead end; now the reasons are here, and the way out.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from runtui.domain.errors import RuntuiError
from runtui.domain.health import Health, WorkflowHealth
from runtui.tui.messages import EventsArrived
from runtui.tui.safe_text import one_line, plain
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.list_table import ListTable
from runtui.tui.widgets.status_bar import HEALTH_STYLE, StatusBar

HEALTH_GLYPH = {
    Health.HEALTHY: "✓",
    Health.DEGRADED: "▲",
    Health.UNSTABLE: "▲",
    Health.BLOCKED: "✗",
}
#: Worst first: what needs a look comes to the top.
ORDER = {Health.BLOCKED: 0, Health.UNSTABLE: 1, Health.DEGRADED: 2, Health.HEALTHY: 3}
#: Events after which a workflow's health may have changed.
HEALTH_KINDS = frozenset({"run.summary", "run.created"})


class HealthScreen(RuntuiScreen):
    HELP_TITLE = "Workflow health"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="health.back", tooltip="back to the runs"),
        Binding(
            "c",
            "clear",
            "Clear",
            id="health.clear",
            tooltip="clear the workflow's health (asks first): a blocked one takes runs again",
        ),
    ]
    DEFAULT_CSS = """
    HealthScreen #health-title { height: 1; padding: 0 1; }
    HealthScreen #health { height: 1fr; }
    HealthScreen #health-empty { height: 1fr; padding: 2 4; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.workflows: list[WorkflowHealth] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield Static(id="health-title")
        table: DataTable[Any] = ListTable(id="health", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="health-empty")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#health", DataTable)
        table.add_column(" ", key="glyph", width=1)
        table.add_column("workflow", key="workflow", width=24)
        table.add_column("health", key="health", width=9)
        table.add_column("runs", key="runs", width=4)
        table.add_column("why", key="why")
        await self.reload()
        await self.refresh_status_bar()
        table.focus()

    async def reload(self) -> None:
        try:
            found = await self.client.health()
        except RuntuiError as exc:  # a remote runtime went away meanwhile: keep what is shown
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.workflows = sorted(found, key=lambda h: (ORDER[h.health], h.workflow))
        table = self.query_one("#health", DataTable)
        keep = self.current()
        table.clear()
        for h in self.workflows:
            style = HEALTH_STYLE[h.health]
            table.add_row(
                Text(HEALTH_GLYPH[h.health], style=style),
                plain(h.workflow),
                Text(h.health.value, style=style),
                str(h.runs_considered),
                plain("; ".join(one_line(r) for r in h.reasons) or "—"),
                key=h.workflow,
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        blocked = sum(h.health is Health.BLOCKED for h in self.workflows)
        title = Text(f"Workflow health ({len(self.workflows)})", style="bold")
        if blocked:
            title.append(f"   {blocked} blocked: c clears one", style="bold red")
        self.query_one("#health-title", Static).update(title)
        empty = self.query_one("#health-empty", Static)
        empty.display = not self.workflows
        table.display = bool(self.workflows)
        empty.update("No workflow has run yet.")
        self.refresh_bindings()

    def current(self) -> str | None:
        table = self.query_one("#health", DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if key.value is None else str(key.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear":
            return not self.rt_app.read_only and bool(self.workflows)
        return True

    async def on_events_arrived(self, message: EventsArrived) -> None:
        if message.lagged or {e.kind for e in message.events} & HEALTH_KINDS:
            await self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_clear(self) -> None:
        if self.rt_app.refuse_read_only() or (workflow := self.current()) is None:
            return
        health = next(h for h in self.workflows if h.workflow == workflow)
        from runtui.tui.dialogs.confirm import ConfirmDialog

        question = (
            f"Clear the health of {workflow} ({health.health.value})? Its record of recent"
            " failures is set aside: "
            + (
                "it takes new runs again."
                if health.health is Health.BLOCKED
                else "it reads healthy"
            )
            + " The clear is recorded with who did it."
        )

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.rt_app.attempt(
                    self.client.clear_health(workflow), success=f"cleared: {workflow}"
                )
                await self.reload()

        self.app.push_screen(
            ConfirmDialog("Clear workflow health?", question, yes="Clear"), answered
        )
