"""`v` on a run: its task graph, its lineage, and the workflow source it was started from.

Three views, `1` `2` `3`:

- graph: every task by wave with its status, `needs` drawn as lanes (an indented tree where
  lanes would not fit, `graph_layout`); `enter` opens the task under the cursor.
- lineage: the run's root ancestor and every fork below it (`lineage_layout`), this run
  marked; `enter` opens the run under the cursor.
- source: the text the run was started from (`Port.workflow_source`), numbered, made safe.

It reads through the port only: the run and its tasks on open, the lineage and the source when
first shown. Live: each coalesced `EventsArrived` that concerns the run (or, once the lineage
is read, a run of it, or a new fork of one) marks what its kinds can change, and one re-read
takes them all once the messages already queued are handled; output lines change nothing.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import ContentSwitcher, Footer, Static

from runtui.domain.errors import RuntuiError
from runtui.domain.events import RunCreated
from runtui.domain.views import RunRow, TaskRow
from runtui.domain.workflow_source import WorkflowSource
from runtui.tui.glyphs import RUN_STYLE, run_glyph, short_id, unique_length
from runtui.tui.messages import ConnectionChanged, EventsArrived, OpenRun, OpenTask
from runtui.tui.safe_text import one_line
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.graph_layout import GraphLayout, GraphMode, draw_row, layout, row_width
from runtui.tui.widgets.line_list import LineList
from runtui.tui.widgets.lineage_layout import LineageRow, draw_lineage_row, lineage_rows
from runtui.tui.widgets.run_header import DISCONNECTED
from runtui.tui.widgets.source_layout import describe, draw_source_line, source_lines

VIEWS = ("graph", "lineage", "source")
#: What each kind of event can change here (output changes nothing).
READS_BY_KIND: dict[str, frozenset[str]] = {
    "run.status": frozenset({"run"}),
    "run.terminated": frozenset({"run"}),
    "phase.changed": frozenset({"run"}),
    "task.declared": frozenset({"tasks"}),
    "task.status": frozenset({"tasks"}),
    "attempt.started": frozenset({"tasks"}),
    "attempt.status": frozenset({"tasks"}),
}
LINEAGE_KINDS = frozenset({"run.status", "run.terminated"})
MAX_LINEAGE = 500  # runs read for the lineage, at most


class GraphScreen(RuntuiScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "view('graph')", "Graph", id="graph.graph", tooltip="tasks and their needs"),
        Binding("2", "view('lineage')", "Lineage", id="graph.lineage", tooltip="parent, forks"),
        Binding("3", "view('source')", "Source", id="graph.source", tooltip="the workflow text"),
        Binding(
            "enter",
            "open",
            "Open",
            id="graph.open",
            tooltip="open the task (graph) or the run (lineage) under the cursor",
        ),
        Binding("escape", "back", "Back", id="graph.back", tooltip="back to the run"),
    ]
    DEFAULT_CSS = """
    GraphScreen #graph-title { height: 1; padding: 0 1; background: $panel; }
    GraphScreen #graph-tabs { height: 1; padding: 0 1; }
    GraphScreen ContentSwitcher { height: 1fr; }
    """

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunRow | None = None
        self.tasks: list[TaskRow] = []
        self.graph: GraphLayout | None = None
        self.lineage: list[LineageRow] = []
        self.runs: dict[str, RunRow] = {}  # the lineage's runs
        self.lineage_cut = False  # more runs than MAX_LINEAGE
        self.source: WorkflowSource | None = None
        self.lines: list[str] = []  # the source's, safe
        self.current = "graph"
        self.reloads = 0  # re-reads (tests check that output alone causes none)
        self.title_line = Text()  # the first line, as shown (tests read it)
        self.tabs_line = Text()
        self._wanted: set[str] = set()
        self._flush_queued = False

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="graph-title")
        yield Static(id="graph-tabs")
        with ContentSwitcher(initial="graph"):
            for view in VIEWS:
                yield LineList(cursor=view != "source", id=view)
        yield Footer()

    def view(self, name: str | None = None) -> LineList:
        return self.query_one(f"#{name or self.current}", LineList)

    async def on_mount(self) -> None:
        self.view().focus()
        await self.reload({"run", "tasks"})

    def on_resize(self, event: events.Resize) -> None:
        if self.graph is not None:  # drawn already: lanes or a tree depends on the width
            self._show_graph(self.selected_task())

    # --- reading -------------------------------------------------------------------------------

    async def reload(self, what: set[str] | frozenset[str]) -> None:
        """Re-read `what` (run, tasks, lineage, source) and redraw what it shows."""
        self.reloads += 1
        client = self.client
        task, run = self.selected_task(), self.selected_run()  # kept across the re-read
        try:
            if "run" in what or self.run is None:
                self.run = await client.get_run(self.run_id)
            if "tasks" in what:
                self.tasks = await client.tasks_of(self.run_id)
            if "lineage" in what:
                await self._read_lineage()
            if "source" in what:
                self.source = await client.workflow_source(self.run_id)
                self.lines = source_lines(self.source.text)
        except RuntuiError as exc:  # not found, or a remote runtime went away: say so
            if self.run is None:
                self._show_title(missing=True)
            self.notify(str(exc), severity="warning", markup=False)
            return
        if "tasks" in what:
            self._show_graph(task)
        if "lineage" in what or ("run" in what and self.run_id in self.runs):
            if self.run is not None and self.run_id in self.runs:
                self.runs[self.run_id] = self.run
            self._show_lineage(run or self.run_id)
        if "source" in what:
            self._show_source()
        self._show_title()

    async def _read_lineage(self) -> None:
        """Up the parents to the root, then down every fork from there (breadth first)."""
        assert self.run is not None
        client = self.client
        chain = [self.run]
        while (parent := chain[-1].parent_run_id) and len(chain) < MAX_LINEAGE:
            if any(r.run_id == parent for r in chain):
                break  # a loop: data can lie
            chain.append(await client.get_run(parent))
        root = chain[-1].run_id
        runs = {r.run_id: r for r in chain}
        forks: dict[str, list[str]] = {}
        queue = [root]
        while queue and len(runs) < MAX_LINEAGE:
            run_id = queue.pop(0)
            found = await client.forks_of(run_id)
            forks[run_id] = [f.run_id for f in found]
            for fork in found:
                if fork.run_id not in runs:
                    runs[fork.run_id] = fork
                    queue.append(fork.run_id)
        self.lineage_cut = bool(queue)
        self.runs = runs
        self.lineage = lineage_rows(root, runs, forks)

    # --- live ----------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        if message.lagged:
            self._want({"run", "tasks"} | ({"lineage"} if self.runs else set()))
            return
        for env in message.events:
            if env.run_id == self.run_id:
                self._want(READS_BY_KIND.get(env.kind, frozenset()))
            if self.runs and (
                (env.run_id in self.runs and env.kind in LINEAGE_KINDS)
                or (isinstance(env.body, RunCreated) and env.body.parent_run_id in self.runs)
            ):
                self._want({"lineage"})

    def _want(self, what: set[str] | frozenset[str]) -> None:
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

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._show_title()

    # --- showing -------------------------------------------------------------------------------

    def _width(self) -> int:
        return self.view("graph").scrollable_content_region.width or max(20, self.size.width - 2)

    def _show_graph(self, selected: str | None) -> None:
        view = self.view("graph")
        tasks = self.tasks
        graph = self.graph = layout(tasks, self._width())
        if not tasks:
            view.show(1, 20, lambda _i, _s: [("no tasks yet", "dim")])
            return

        def draw(index: int, under: bool) -> list[tuple[str, str]]:
            row = graph.rows[index]
            return draw_row(row, tasks[row.task], graph.wave_width, selected=under)

        widest = max(row_width(draw(i, False)) for i in range(len(graph.rows)))
        at = graph.row_of(tasks, selected)
        view.show(
            len(graph.rows), widest, draw, cursor=graph.first_choice(tasks) if at is None else at
        )

    def _show_lineage(self, selected: str) -> None:
        rows, runs = self.lineage, self.runs
        length = unique_length(runs)

        def draw(index: int, under: bool) -> list[tuple[str, str]]:
            row = rows[index]
            current = row.run_id == self.run_id
            return draw_lineage_row(row, runs[row.run_id], length, current=current, selected=under)

        widest = max((row_width(draw(i, False)) for i in range(len(rows))), default=0)
        here = next((n for n, r in enumerate(rows) if r.run_id == selected), None)
        if here is None:
            here = next((n for n, r in enumerate(rows) if r.run_id == self.run_id), 0)
        self.view("lineage").show(len(rows), widest, draw, cursor=here)

    def _show_source(self) -> None:
        lines = self.lines
        width = len(str(len(lines)))

        def draw(index: int, under: bool) -> list[tuple[str, str]]:
            return draw_source_line(index + 1, lines[index], width)

        widest = max((row_width(draw(i, False)) for i in range(len(lines))), default=0)
        if not lines:
            self.view("source").show(1, 20, lambda _i, _s: [("(no text)", "dim")])
            return
        self.view("source").show(len(lines), widest, draw)

    def selected_task(self) -> str | None:
        graph, view = self.graph, self.view("graph")
        if graph is None or not graph.rows or view.cursor >= len(graph.rows):
            return None
        return self.tasks[graph.rows[view.cursor].task].task_id

    def selected_run(self) -> str | None:
        view = self.view("lineage")
        if view.cursor >= len(self.lineage):
            return None
        return self.lineage[view.cursor].run_id

    def _show_title(self, *, missing: bool = False) -> None:
        title = Text(no_wrap=True, end="", overflow="ellipsis")
        if not self.rt_app.connected:
            title.append(DISCONNECTED, style="bold red")
        run = self.run
        if run is None:
            if missing:
                title.append(f"run {one_line(self.run_id)} not found (esc: back)", style="bold red")
        else:
            title.append(f"run {short_id(one_line(run.run_id))}", style="bold")
            title.append(f"  {one_line(run.workflow)}", style="bold")
            title.append(
                f"  {run_glyph(run.status)} {run.status.value}", style=RUN_STYLE[run.status]
            )
        self.title_line = title
        self.query_one("#graph-title", Static).update(title)
        self._show_tabs()

    def _show_tabs(self) -> None:
        tabs = Text(no_wrap=True, end="", overflow="ellipsis")
        for n, view in enumerate(VIEWS, start=1):
            tabs.append(f" {n} {view} ", style="reverse bold" if view == self.current else "dim")
        tabs.append("  ")
        tabs.append(self._about(), style="dim")
        self.tabs_line = tabs
        self.query_one("#graph-tabs", Static).update(tabs)

    def _about(self) -> str:
        """What the current view shows, in a few words."""
        if self.current == "graph":
            n, waves = len(self.tasks), len({t.wave for t in self.tasks})
            about = f"{n:,} task{'s' if n != 1 else ''} in {waves} wave{'s' if waves != 1 else ''}"
            if self.graph is not None and self.graph.mode is GraphMode.TREE:
                about += " · a tree: too many lanes to draw at this width"
            return about
        if self.current == "lineage":
            n = len(self.runs)
            cut = f" (the first {MAX_LINEAGE})" if self.lineage_cut else ""
            if not self.runs:
                return "loading…"
            return f"{n} runs{cut}" if n > 1 else "1 run: no parent, no forks (yet)"
        return describe(self.source) if self.source is not None else "loading…"

    # --- keys ----------------------------------------------------------------------------------

    async def action_view(self, name: str) -> None:
        self.current = name
        self.query_one(ContentSwitcher).current = name
        self.view().focus()
        self._show_tabs()
        self.refresh_bindings()
        if name == "lineage" and not self.runs:
            await self.reload({"lineage"})
        elif name == "source" and self.source is None:
            await self.reload({"source"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.current != "source"  # nothing to open there
        return True

    def action_open(self) -> None:
        if self.current == "graph":
            task = self.selected_task()
            if task is not None:
                self.post_message(OpenTask(self.run_id, task))
        elif self.current == "lineage":
            run_id = self.selected_run()
            if run_id is not None:
                self._open_run(run_id)

    def _open_run(self, run_id: str) -> None:
        from runtui.tui.screens.run import RunScreen

        stack = self.app.screen_stack
        below = stack[-2] if len(stack) > 1 else None
        if isinstance(below, RunScreen) and below.run_id == run_id:
            self.app.pop_screen()  # the run this graph was opened from
        else:
            self.post_message(OpenRun(run_id))

    def on_line_list_picked(self, message: LineList.Picked) -> None:
        self.action_open()

    def copyable_id(self) -> tuple[str, str] | None:
        if self.current == "lineage" and (run_id := self.selected_run()) is not None:
            return ("run", run_id)
        return ("run", self.run_id)

    def action_back(self) -> None:
        self.app.pop_screen()
