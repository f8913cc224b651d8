"""One run: its phases, its waves of tasks, what governance saw, and its event log, live.

On open it reads the run, its tasks and governance records, and only the TAIL of its events
(plus the first few, for the phase times), so a run with 100k events opens as fast as a small
one. Each coalesced `EventsArrived` tick appends this run's new events to the log and re-reads
only what those kinds can change (never on output lines), at most once per tick; a `lagged`
tick re-reads everything. The keys that act on the run live in `run_actions` (what applies,
what each does), the log's keys in `log_search`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer

from runtui.domain.errors import RuntuiError
from runtui.domain.events import EventEnvelope, PhaseChanged, RunCreated, RunStopping
from runtui.domain.phases import RunPhase
from runtui.domain.views import ApprovalRow, AuditRows, IncidentRow, RunRow, TaskRow, ViolationRow
from runtui.tui.glyphs import RUN_STYLE, run_glyph
from runtui.tui.messages import ApprovalsChanged, ConnectionChanged, EventsArrived
from runtui.tui.run_reads import carried_violations, explanation
from runtui.tui.screens.log_search import SEARCH_BINDINGS
from runtui.tui.screens.run_actions import RUN_ACTION_BINDINGS, RunActionsScreen
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.phase_diagram import PhaseDiagram, PhaseState, PhaseStep
from runtui.tui.widgets.run_header import RunHeader
from runtui.tui.widgets.search_bar import SearchBar
from runtui.tui.widgets.violations_panel import ViolationsPanel
from runtui.tui.widgets.waves_view import WavesView
from runtui.tui.widgets.why_panel import WhyPanel

TAIL = 2000  # events rendered on open
HEAD = 200  # first events read on open, for the early phase changes
PAGE = 1000  # older events per `[`
NARROW_BELOW = 100  # columns: stack the panels
SHORT_BELOW = 32  # rows: shrink the panels

#: What each kind of event can change, so a tick re-reads only that (output changes nothing).
RUN_KINDS = frozenset(
    {
        "run.status",
        "phase.changed",
        "run.terminated",
        "run.summary",
        "wave.completed",
        "violation.recorded",
        "approval.requested",
        "approval.decided",
    }
)
TASK_KINDS = frozenset({"task.declared", "task.status", "attempt.started", "attempt.status"})
GOVERNANCE_KINDS = frozenset(
    {"violation.recorded", "incident.opened", "audit.expected", "audit.acked", "run.terminated"}
)
APPROVAL_KINDS = frozenset({"approval.requested", "approval.decided", "run.terminated"})


class RunScreen(RunActionsScreen):
    HELP_TITLE = "Run"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="run.back", tooltip="back to the previous screen"),
        *RUN_ACTION_BINDINGS,  # a A x w c R r
        Binding(
            "f",
            "follow",
            "Follow",
            id="run.follow",
            show=False,
            tooltip="keep the newest event in view",
        ),
        Binding(
            "slash",
            "search",
            "Search",
            id="run.search",
            key_display="/",
            tooltip="search the whole log (then n / N: the next / previous match)",
        ),
        Binding("z", "zoom", "Zoom", id="run.zoom", tooltip="fill the screen with a panel"),
        # a log key like home/end: in the help and the palette, kept out of a full footer
        Binding(
            "left_square_bracket", "older", "Older", id="run.older", key_display="[", show=False
        ),
        Binding(
            "t",
            "timeline",
            "Timeline",
            id="run.timeline",
            tooltip="phases, waves and every attempt as bars over time",
        ),
        Binding("T", "time", "Time", id="run.time", show=False, tooltip="relative or wall clock"),
        Binding(
            "d",
            "diff",
            "Diff",
            id="run.diff",
            show=False,  # the footer is full; `?` and the palette list it
            tooltip="side by side with its parent (a fork) or the run of its workflow before it",
        ),
        Binding(
            "v",
            "graph",
            "Graph, lineage, source",
            id="run.graph",
            show=False,  # the footer is full; `?` and the palette list it
            tooltip="the tasks' needs as a graph, the run's parent and forks, its workflow text",
        ),
        Binding(
            "enter",
            "pick_task",
            "Task",
            id="run.task",
            show=False,  # the footer is full; `?` and the palette list it
            tooltip="pick a task in the waves panel (arrows), enter again opens it",
        ),
        *SEARCH_BINDINGS,  # n N : # o h W ]
    ]
    DEFAULT_CSS = """
    RunScreen #middle { height: auto; max-height: 16; }
    RunScreen #waves { width: 1fr; max-height: 16; }
    RunScreen #violations { width: 1fr; max-height: 16; }
    RunScreen #events { height: 1fr; min-height: 5; }
    RunScreen.short #middle { max-height: 10; }
    RunScreen.short #waves, RunScreen.short #violations { max-height: 10; }
    RunScreen.narrow #middle { layout: vertical; max-height: 12; }
    RunScreen.narrow #waves, RunScreen.narrow #violations { width: 1fr; max-height: 7; }
    RunScreen.narrow.short #waves, RunScreen.narrow.short #violations { max-height: 5; }
    RunScreen.short PhaseDiagram, RunScreen.short WavesView, RunScreen.short ViolationsPanel,
    RunScreen.short EventLog { border: none; border-top: round $primary-darken-1; }
    RunScreen.short WavesView:focus, RunScreen.short ViolationsPanel:focus,
    RunScreen.short EventLog:focus { border: none; border-top: round $accent; }
    RunScreen .-maximized { height: 1fr !important; max-height: 100% !important; }
    RunScreen.short WhyPanel { max-height: 4; }
    """

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunRow | None = None
        self.tasks: list[TaskRow] = []
        self.violations: list[ViolationRow] = []
        self.carried: list[ViolationRow] = []  # a fork's, from the results it carried over
        self.incidents: list[IncidentRow] = []
        self.audit = AuditRows(expectations=[], acks=[])
        self.approvals: list[ApprovalRow] = []
        self.forks: list[RunRow] = []
        self.driven: dict[str, int] = {}  # the runs this process drives (resume is moot there)
        self.steps: dict[int, PhaseStep] = {}
        self.stopping_seq: int | None = None  # the first `run.stopping` read: where it failed
        self._explained_at = -1  # the run's last seq when its WhyPanel was drawn
        self.reloads = 0  # data re-reads (tests check that output alone causes none)

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield WhyPanel(id="why")
        yield PhaseDiagram(clock=self.rt_app.clock, id="phases")
        with Horizontal(id="middle"):
            yield WavesView(id="waves")
            yield ViolationsPanel(id="violations")
        yield SearchBar(id="search")
        yield EventLog(id="events")
        yield Footer()

    async def on_mount(self) -> None:
        self._fit(self.size.width, self.size.height)
        self.log_view.focus()
        await self.reload_everything()
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        narrow = 0 < width < NARROW_BELOW
        self.set_class(narrow, "narrow")
        self.set_class(0 < height < SHORT_BELOW, "short")
        for footer in self.query(Footer):
            footer.compact = narrow
        if self.run is not None:
            self._show_header()  # the lineage is left out when narrow and empty

    # --- reading -----------------------------------------------------------------------------

    async def reload_everything(self) -> None:
        """Open, or re-read after the feed lagged: the run, its records and the log's tail."""
        run = await self.rt_app.attempt(self.client.get_run(self.run_id))
        if run is None:
            self.query_one(RunHeader).missing(self.run_id)
            for panel in self.query("#phases, #middle, #events"):
                panel.display = False
            return
        self.run = run
        try:
            total = await self.client.count_events(self.run_id)
            last = max(run.last_seq, total)
            tail = await self.client.events_after(self.run_id, max(0, last - TAIL), TAIL)
            if tail and tail[0].seq > 1:
                self._note_phases(await self.client.events_after(self.run_id, 0, HEAD))
        except RuntuiError as exc:  # a remote runtime went away meanwhile
            self.notify(str(exc), severity="warning", markup=False)
            return
        self._note_phases(tail)
        self.log_view.set_events(tail, total=total, origin=run.created_at)
        await self._reload(run=False, tasks=True, governance=True, approvals=True, forks=True)

    async def _reload(
        self,
        *,
        run: bool = True,
        tasks: bool = False,
        governance: bool = False,
        approvals: bool = False,
        forks: bool = False,
    ) -> None:
        self.reloads += 1
        client, rid = self.client, self.run_id
        if run:
            fresh = await self.rt_app.attempt(client.get_run(rid))
            if fresh is None:
                return
            self.run = fresh
        try:
            if tasks:
                self.tasks = await client.tasks_of(rid)
            if governance:
                self.violations = await client.violations_of(rid)
                self.incidents = await client.incidents_of(rid)
                self.audit = await client.audit_of(rid)
                if self.run is not None and self.run.parent_run_id is not None:
                    self.carried = await carried_violations(client, self.run, self.tasks)
            if approvals:
                self.approvals = sorted(
                    (a for a in await client.approvals_of(rid) if a.pending),
                    key=lambda a: (a.requested_at, a.approval_id),
                )
            if forks:
                self.forks = await client.forks_of(rid)
            self.driven = await client.driven_here()
        except RuntuiError as exc:  # a remote runtime went away meanwhile: keep what is shown
            self.notify(str(exc), severity="warning", markup=False)
            return
        self._show(tasks=tasks, governance=governance or run)
        if self.run is not None and self.run.last_seq != self._explained_at:
            await self._explain()
        self.refresh_bindings()  # the footer follows what applies now

    def loaded(self, events: list[EventEnvelope]) -> None:
        self._note_phases(events)

    def _note_phases(self, events: list[EventEnvelope]) -> None:
        for env in events:
            if isinstance(env.body, PhaseChanged):
                b = env.body
                self.steps[env.seq] = PhaseStep(env.ts, b.from_phase, b.to_phase, b.reason)
            elif isinstance(env.body, RunStopping) and (
                self.stopping_seq is None or env.seq < self.stopping_seq
            ):
                self.stopping_seq = env.seq

    def _stopped_in(self) -> RunPhase | None:
        """The phase the run was in when its first stop reason was accepted, when the steps
        up to it are known."""
        if self.stopping_seq is None:
            return None
        before = [seq for seq in self.steps if seq < self.stopping_seq]
        return self.steps[max(before)].to_phase if before else None

    # --- showing -----------------------------------------------------------------------------

    def _show(self, *, tasks: bool = True, governance: bool = True) -> None:
        run = self.run
        if run is None:
            return
        self._show_header()
        self.query_one("#phases", PhaseDiagram).show(
            PhaseState(
                created_at=run.created_at,
                current=run.phase,
                steps=tuple(self.steps[s] for s in sorted(self.steps)),
                ended_at=run.ended_at,
                glyph=run_glyph(run.status),
                style=RUN_STYLE[run.status],
                stopped_in=self._stopped_in(),
            )
        )
        if tasks:
            self.query_one("#waves", WavesView).show(self.tasks)
        if governance:
            self.query_one("#violations", ViolationsPanel).show(
                run,
                self.violations,
                self.incidents,
                self.audit,
                now=self.rt_app.clock(),
                carried=self.carried,
            )

    async def _explain(self) -> None:
        """A run that ended badly says why first (`WhyPanel`): re-read when the run moved."""
        run = self.run
        if run is None:
            return
        try:
            text = await explanation(
                self.client, run, self.tasks, self.violations, self._stopped_in()
            )
        except RuntuiError as exc:  # a remote runtime went away meanwhile
            self.notify(str(exc), severity="warning", markup=False)
            return
        self._explained_at = run.last_seq
        self.query_one(WhyPanel).show(text)

    def _show_header(self) -> None:
        if self.run is not None:
            self.query_one(RunHeader).show(
                self.run,
                self.tasks,
                self.forks,
                self.approvals,
                now=self.rt_app.clock(),
                lineage=not self.has_class("narrow"),
                read_only=self.rt_app.read_only,
                connected=self.rt_app.connected,
                waiting=self.rt_app.approvals.summary(self.rt_app.clock(), narrow=True),
            )

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        """This screen has no status bar: its header says when the server is gone."""
        self._show_header()

    async def on_approvals_changed(self, message: ApprovalsChanged) -> None:
        """...and what waits for a human across every run."""
        self._show_header()

    def approvals_aged(self) -> None:
        self._show_header()

    def copyable_id(self) -> tuple[str, str] | None:
        return ("run", self.run_id)

    @property
    def header(self) -> Text:
        return self.query_one(RunHeader).text

    def _tick(self) -> None:
        if self.run is not None and not self.run.status.is_terminal:
            self._show_header()

    # --- live --------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        if message.lagged:
            await self.reload_everything()
            return
        mine = [e for e in message.events if e.run_id == self.run_id]
        forked = any(
            isinstance(e.body, RunCreated) and e.body.parent_run_id == self.run_id
            for e in message.events
        )
        if not mine and not forked:
            return
        log = self.log_view
        gap = mine and mine[0].seq > log.last_seq + 1 and log.last_seq
        if gap and not log.detached:  # fill it (a window away from the tail only counts)
            missed = await self.client.events_after(self.run_id, log.last_seq, TAIL)
            self._note_phases(missed)
            log.append(missed)
        self._note_phases(mine)
        log.append(mine)
        kinds = {e.kind for e in mine}
        if kinds & (RUN_KINDS | TASK_KINDS | GOVERNANCE_KINDS | APPROVAL_KINDS) or forked:
            await self._reload(
                tasks=bool(kinds & TASK_KINDS),
                governance=bool(kinds & GOVERNANCE_KINDS),
                approvals=bool(kinds & APPROVAL_KINDS),
                forks=forked,
            )

    async def on_screen_resume(self) -> None:
        """Shown again (a dialog closed): take the output that covered screens are not sent."""
        log = self.log_view
        if self.run is None or not log.last_seq or log.detached:
            return
        run = await self.rt_app.attempt(self.client.get_run(self.run_id))
        if run is None or run.last_seq <= log.last_seq:
            return
        if run.last_seq - log.last_seq > TAIL:
            await self.reload_everything()
            return
        missed = await self.client.events_after(self.run_id, log.last_seq, TAIL)
        self._note_phases(missed)
        log.append(missed)

    async def on_event_log_older_wanted(self, message: EventLog.OlderWanted) -> None:
        log = self.log_view
        if log.is_full:
            self.notify(
                "the log holds its maximum: search (/) or go to an event (:) to reach older ones",
                severity="warning",
            )
            return
        older = await self.rt_app.attempt(
            self.client.events_before(self.run_id, message.before, PAGE)
        )
        if older:
            self._note_phases(older)
            log.prepend(older)

    # --- the log -----------------------------------------------------------------------------

    def action_follow(self) -> None:
        log = self.log_view
        log.follow = not log.follow

    def action_timeline(self) -> None:
        from runtui.tui.screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.run_id))

    async def action_diff(self) -> None:
        from runtui.tui.screens.diff import open_default_diff

        await open_default_diff(self, self.run_id)

    def action_graph(self) -> None:
        from runtui.tui.screens.graph import GraphScreen

        self.app.push_screen(GraphScreen(self.run_id))

    def action_time(self) -> None:
        log = self.log_view
        log.relative_time = not log.relative_time

    def action_older(self) -> None:
        log = self.log_view
        if not log.has_older:
            self.notify("the log starts at the first event", timeout=3)
        log.request_older()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        target = focused if isinstance(focused, WavesView | ViolationsPanel) else self.log_view
        self.maximize(target, container=False)

    def action_pick_task(self) -> None:
        """The waves panel takes the keys (its cursor shows); its own `enter` opens the task."""
        self.query_one("#waves", WavesView).focus()

    def action_back(self) -> None:
        if self.search_escape():  # the search bar first, then the search
            return
        self.app.pop_screen()
