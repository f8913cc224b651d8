"""`t` on a run: its phases, gates and every task attempt as bars over time, live.

It reads what a timeline is made of through the port, never the run's events: the run, its
phase changes (`phases_of`, from the store's projection), tasks, attempts and approvals. Live:
each coalesced `EventsArrived` that concerns the run marks what its kinds can change, and one
re-read takes them all once the messages already queued are handled (so a burst costs one
read, however slow the runtime answers); output lines change nothing. A 1 s interval moves
"now", so running bars and waits grow between events. `s` puts the slowest tasks first;
`enter` opens the task under the cursor.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from runtui.domain.errors import RuntuiError
from runtui.domain.views import ApprovalRow, AttemptRow, PhaseRow, RunRow, TaskRow
from runtui.tui.glyphs import RUN_STYLE, duration, run_glyph, short_id
from runtui.tui.messages import ConnectionChanged, EventsArrived, OpenTask
from runtui.tui.safe_text import one_line
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.run_header import DISCONNECTED
from runtui.tui.widgets.timeline_lanes import LaneKind, Timeline, build_timeline
from runtui.tui.widgets.timeline_view import TimelineView

#: What each kind of event can change on the timeline (output changes nothing).
READS_BY_KIND: dict[str, frozenset[str]] = {
    "run.status": frozenset({"run"}),
    "run.terminated": frozenset({"run"}),
    "run.summary": frozenset({"run"}),
    "phase.changed": frozenset({"run", "phases"}),
    "task.declared": frozenset({"tasks"}),
    "task.status": frozenset({"tasks"}),
    "attempt.started": frozenset({"tasks", "attempts"}),
    "attempt.status": frozenset({"tasks", "attempts"}),
    "approval.requested": frozenset({"approvals"}),
    "approval.decided": frozenset({"approvals"}),
}
EVERYTHING = frozenset({"run", "phases", "tasks", "attempts", "approvals"})


class TimelineScreen(RuntuiScreen):
    HELP_TITLE = "Timeline"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "s",
            "slowest",
            "Slowest first",
            id="timeline.slowest",
            tooltip="tasks by duration, longest first; again: by wave",
        ),
        Binding(
            "enter",
            "open",
            "Open task",
            id="timeline.open",
            tooltip="the task under the cursor: its attempts, output and violations",
        ),
        Binding("escape", "back", "Back", id="timeline.back", tooltip="back to the run"),
    ]
    DEFAULT_CSS = """
    TimelineScreen #timeline-title { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunRow | None = None
        self.timeline: Timeline | None = None
        self.slowest = False
        self.reloads = 0  # re-reads (tests check that output alone causes none)
        self.phases: list[PhaseRow] = []
        self.tasks: list[TaskRow] = []
        self.attempts: list[AttemptRow] = []
        self.approvals: list[ApprovalRow] = []
        self.title_line = Text()  # the first line, as shown (tests read it)
        self._wanted: set[str] = set()
        self._flush_queued = False

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="timeline-title")
        yield TimelineView(id="timeline")
        yield Footer()

    @property
    def view(self) -> TimelineView:
        return self.query_one("#timeline", TimelineView)

    async def on_mount(self) -> None:
        self.view.focus()
        await self.reload(EVERYTHING)
        self.set_interval(1.0, self._tick)

    # --- reading -------------------------------------------------------------------------------

    async def reload(self, what: frozenset[str] | set[str]) -> None:
        """Re-read `what` (run, phases, tasks, attempts, approvals) and redraw."""
        self.reloads += 1
        client, rid = self.client, self.run_id
        try:
            if "run" in what or self.run is None:
                self.run = await client.get_run(rid)
            if "phases" in what:
                self.phases = await client.phases_of(rid)
            if "tasks" in what:
                self.tasks = await client.tasks_of(rid)
            if "attempts" in what:
                self.attempts = await client.attempts_of(rid)
            if "approvals" in what:
                self.approvals = await client.approvals_of(rid)
        except RuntuiError as exc:  # not found, or a remote runtime went away: say so
            if self.run is None:
                self._show_title(missing=True)
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.timeline = build_timeline(
            self.run, self.phases, self.tasks, self.attempts, self.approvals
        )
        self.view.show(self.timeline, now=self.rt_app.clock(), slowest=self.slowest)
        self._show_title()

    # --- live ----------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        if message.lagged:
            self._want(EVERYTHING)
            return
        for env in message.events:
            if env.run_id == self.run_id:
                self._want(READS_BY_KIND.get(env.kind, frozenset()))

    def _want(self, what: frozenset[str]) -> None:
        if not what:
            return
        self._wanted |= what
        if not self._flush_queued:
            self._flush_queued = True
            self.call_later(self._flush)  # after the messages already queued: one read for all

    async def _flush(self) -> None:
        self._flush_queued = False
        what, self._wanted = set(self._wanted), set()
        if what:
            await self.reload(what)

    def _tick(self) -> None:
        if self.timeline is not None and self.timeline.live:
            self.view.tick(self.rt_app.clock())
            self._show_title()

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._show_title()

    # --- showing -------------------------------------------------------------------------------

    def _show_title(self, *, missing: bool = False) -> None:
        title = Text(no_wrap=True, end="")
        if not self.rt_app.connected:
            title.append(DISCONNECTED, style="bold red")
        run = self.run
        if run is None:
            if missing:
                title.append(f"run {one_line(self.run_id)} not found (esc: back)", style="bold red")
            self._set_title(title)
            return
        end = run.ended_at if run.ended_at is not None else self.rt_app.clock()
        title.append(f"run {short_id(one_line(run.run_id))}", style="bold")
        title.append(f"  {one_line(run.workflow)}", style="bold")
        title.append(f"  {run_glyph(run.status)} {run.status.value}", style=RUN_STYLE[run.status])
        title.append(f"  {duration(max(0.0, end - run.created_at))}")
        tasks = len(self.timeline.tasks) if self.timeline is not None else 0
        title.append(f"  · timeline of {tasks:,} task{'s' if tasks != 1 else ''} · ", style="dim")
        title.append("slowest first" if self.slowest else "by wave", style="bold")
        self._set_title(title)

    def _set_title(self, title: Text) -> None:
        self.title_line = title
        self.query_one("#timeline-title", Static).update(title)

    # --- keys ----------------------------------------------------------------------------------

    def action_slowest(self) -> None:
        self.slowest = not self.slowest
        if self.timeline is not None:
            self.view.show(self.timeline, now=self.rt_app.clock(), slowest=self.slowest)
            self.view.move_to(0)
        self._show_title()

    def action_open(self) -> None:
        lane = self.view.selected
        if lane is None:
            return
        if lane.kind is not LaneKind.TASK:
            what = "a phase" if lane.kind is LaneKind.PHASE else "an approval that is no task's"
            self.notify(f"enter opens a task: this line is {what}", timeout=3)
            return
        self.post_message(OpenTask(self.run_id, lane.key))

    def action_back(self) -> None:
        self.app.pop_screen()
