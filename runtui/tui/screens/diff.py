"""`d`: two runs side by side (a fork and its parent, or two runs of one workflow): per task its
status, duration, exit code and attempts on each side, the first line where their output parts,
and each run's violations and approvals, live.

The rows come from what each run's tasks, attempts and approvals are (one read each per side,
`runtui.domain.run_diff` pairs them), so a thousand tasks draw at once. The output of a task's
two last attempts is compared afterwards, and only for the rows in view and the cursor's: at
most `MAX_READS` comparisons at a time, each reading both outputs a page at a time until they
part (`diff_reads.compare_output`); a row says "…" until its answer is in, and keeps it (an
ended attempt's output does not change). Live: each coalesced `EventsArrived` that concerns
either run marks what its kinds can change, and one re-read takes them all once the messages
already queued are handled; output lines change nothing.

`enter` opens the task in the left run, `o` in the right one, `s` swaps the runs, `f` keeps only
the tasks that differ (a row whose output is not compared yet stays until it is).
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from runtui.domain.errors import NotFoundError, RuntuiError
from runtui.domain.run_diff import DiffRow, OutputDiff, pair_tasks
from runtui.tui.diff_reads import (
    EVERYTHING,
    READS_BY_KIND,
    Side,
    compare_output,
    default_other_of,
    read_side,
)
from runtui.tui.glyphs import short_id, unique_length
from runtui.tui.messages import ConnectionChanged, EventsArrived, OpenTask
from runtui.tui.safe_text import one_line
from runtui.tui.screens.base import RuntuiScreen
from runtui.tui.widgets.diff_rows import (
    OutputFailed,
    OutputState,
    approval_line,
    detail_lines,
    listed,
    relation,
    row_differs,
    run_heading,
    side_by_side,
    violation_line,
    workflows,
)
from runtui.tui.widgets.diff_view import DiffView
from runtui.tui.widgets.run_header import DISCONNECTED

MAX_READS = 4  # output comparisons under way at once
SHORT_BELOW = 32  # rows: one violation and one approval per run below the table

Key = tuple[tuple[str, str, int, str], tuple[str, str, int, str]]


class DiffScreen(RuntuiScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="diff.back", tooltip="back to the previous screen"),
        Binding(
            "enter",
            "open_task('left')",
            "Open left",
            id="diff.open_left",
            tooltip="the task under the cursor, in the left run",
        ),
        Binding(
            "o",
            "open_task('right')",
            "Open right",
            id="diff.open_right",
            tooltip="the task under the cursor, in the right run",
        ),
        Binding("s", "swap", "Swap", id="diff.swap", tooltip="swap the left and the right run"),
        Binding(
            "f",
            "only_differing",
            "Only differing",
            id="diff.only_differing",
            tooltip="only the tasks that differ; again: every task",
        ),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-title { height: 1; padding: 0 1; background: $panel; }
    DiffScreen #diff-detail { height: 4; padding: 0 1; border-top: solid $primary-darken-1; }
    DiffScreen #diff-governance { height: auto; padding: 0 1;
                                  border-top: solid $primary-darken-1; }
    """

    def __init__(self, left_run: str, right_run: str) -> None:
        super().__init__()
        self.left = Side(left_run)
        self.right = Side(right_run)
        self.rows: list[DiffRow] = []  # every task of either run
        self.outputs: dict[str, OutputState] = {}  # by task id, for the rows as they are now
        self.only_differing = False
        self.reloads = 0  # re-reads (tests check that output alone causes none)
        self.output_reads = 0  # output comparisons made (tests check they stay bounded)
        self.title_line = Text()  # the first line, as shown (tests read it)
        self.missing: str | None = None
        self.governance: dict[str, list[Text]] = {}  # violations, approvals: (left, right)
        self._verdicts: dict[Key, OutputDiff | OutputFailed] = {}
        self._queue: list[tuple[str, Key]] = []
        self._reading: set[Key] = set()
        self._wanted: tuple[set[str], set[str]] = (set(), set())
        self._flush_queued = False

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="diff-title")
        yield DiffView(id="diff")
        yield Static(id="diff-detail")
        yield Static(id="diff-governance")
        yield Footer()

    @property
    def view(self) -> DiffView:
        return self.query_one("#diff", DiffView)

    async def on_mount(self) -> None:
        self.view.focus()
        await self.reload(EVERYTHING, EVERYTHING)
        self.set_interval(1.0, self._tick)

    # --- reading -------------------------------------------------------------------------------

    async def reload(
        self, left: frozenset[str] | set[str], right: frozenset[str] | set[str]
    ) -> None:
        """Re-read `left` and `right` (run, tasks, attempts, violations, approvals) and redraw."""
        self.reloads += 1
        try:
            await asyncio.gather(
                *(
                    read_side(self.client, s, w)
                    for s, w in ((self.left, left), (self.right, right))
                    if w
                )
            )
        except NotFoundError as exc:
            self.missing = str(exc)
            self._show_title()
            return
        except RuntuiError as exc:  # a remote runtime went away meanwhile: keep what is shown
            self.notify(str(exc), severity="warning", markup=False)
            return
        self._rebuild()

    def _rebuild(self) -> None:
        left, right = self.left.run, self.right.run
        if left is None or right is None:
            return
        self.rows = pair_tasks(left, self.left.task_sides(), right, self.right.task_sides())
        self.outputs = {r.task_id: self._verdict(r) for r in self.rows}
        self._show_rows()
        self._show_governance()

    def _verdict(self, row: DiffRow) -> OutputState:
        key = row.output_key
        if key is None:
            return None
        found = self._verdicts.get(key)
        if found is not None:
            return found
        flipped = self._verdicts.get((key[1], key[0]))
        if isinstance(flipped, OutputDiff):
            return flipped.swapped()
        return flipped

    # --- output, for the rows in view ----------------------------------------------------------

    def on_diff_view_moved(self, message: DiffView.Moved) -> None:
        self._show_detail()
        self._want_outputs()

    def _want_outputs(self) -> None:
        """Queue the comparisons the rows in view (and the cursor's) lack, in place of those
        queued for rows scrolled away; start as many as may run."""
        view = self.view
        rows = view.in_view()
        if view.selected is not None:
            rows = [view.selected, *rows]
        queue: list[tuple[str, Key]] = []
        seen: set[Key] = set()
        for row in rows:
            key = row.output_key
            if key is None or key in seen or key in self._reading:
                continue
            if self.outputs.get(row.task_id) is None:
                seen.add(key)
                queue.append((row.task_id, key))
        self._queue = queue
        self._pump()

    def _pump(self) -> None:
        while self._queue and len(self._reading) < MAX_READS:
            task_id, key = self._queue.pop(0)
            self._reading.add(key)
            self.run_worker(self._compare(task_id, key), group="diff-output")

    async def _compare(self, task_id: str, key: Key) -> None:
        try:
            verdict: OutputDiff | OutputFailed = await compare_output(self.client, *key)
        except RuntuiError as exc:
            verdict = OutputFailed(str(exc))
        finally:
            self._reading.discard(key)
        self.output_reads += 1
        self._verdicts[key] = verdict
        row = next((r for r in self.rows if r.task_id == task_id), None)
        if row is not None and row.output_key == key:  # still the attempts compared
            self.outputs[task_id] = verdict
            if self.only_differing:
                self._show_rows()
            else:
                self.view.redraw(task_id)
                self._show_detail()
                self._show_title()
        self._pump()

    # --- live ----------------------------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        if message.lagged:
            self._verdicts = {
                k: v for k, v in self._verdicts.items() if not isinstance(v, OutputFailed)
            }
            self._want(EVERYTHING, EVERYTHING)
            return
        for env in message.events:
            what = READS_BY_KIND.get(env.kind, frozenset())
            if env.run_id == self.left.run_id:
                self._want(what, frozenset())
            if env.run_id == self.right.run_id:
                self._want(frozenset(), what)

    def _want(self, left: frozenset[str], right: frozenset[str]) -> None:
        if not left and not right:
            return
        self._wanted[0].update(left)
        self._wanted[1].update(right)
        if not self._flush_queued:
            self._flush_queued = True
            self.call_later(self._flush)  # after the messages already queued: one read for all

    async def _flush(self) -> None:
        self._flush_queued = False
        left, right = set(self._wanted[0]), set(self._wanted[1])
        self._wanted[0].clear()
        self._wanted[1].clear()
        if left or right:
            await self.reload(left, right)

    def _tick(self) -> None:
        """Running attempts' durations move on."""
        if self.left.live or self.right.live:
            self.view.tick(self.rt_app.clock())
            self._show_detail()

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._show_title()

    def on_resize(self, event: events.Resize) -> None:
        self._show_governance()

    # --- showing -------------------------------------------------------------------------------

    def _headings(self) -> tuple[Text, Text]:
        """Each run as its column is titled: status glyph and short id (unique between them)."""
        left, right = self.left.run, self.right.run
        assert left is not None
        assert right is not None
        length = unique_length([left.run_id, right.run_id])
        return run_heading(left, length), run_heading(right, length)

    def _show_rows(self) -> None:
        rows = self.rows
        if self.only_differing:
            rows = [r for r in rows if self._may_differ(r)]
        left, right = self._headings()
        self.view.show(rows, self.outputs, now=self.rt_app.clock(), left=left, right=right)
        self._show_title()
        self._show_detail()

    def _may_differ(self, row: DiffRow) -> bool:
        """Differs, or may: its output is still to be compared."""
        state = self.outputs.get(row.task_id)
        unknown = row.output_key is not None and not isinstance(state, OutputDiff)
        return row_differs(row, state) or unknown

    def _show_title(self) -> None:
        title = Text(no_wrap=True, overflow="ellipsis", end="")
        if not self.rt_app.connected:
            title.append(DISCONNECTED, style="bold red")
        title.append("diff  ", style="bold")
        left, right = self.left.run, self.right.run
        if self.missing is not None:
            title.append(f"{one_line(self.missing)} (esc: back)", style="bold red")
        elif left is None or right is None:
            title.append("loading…", style="dim")
        else:
            title.append(workflows(left, right), style="bold")
            differ = sum(1 for r in self.rows if row_differs(r, self.outputs.get(r.task_id)))
            carried = sum(1 for r in self.rows for s in r.sides if s is not None and s.carried)
            title.append(f" · {len(self.rows):,} task{'s' if len(self.rows) != 1 else ''}")
            title.append(f" · {differ:,} differ", style="bold yellow" if differ else "")
            unread = sum(
                1
                for r in self.rows
                if r.output_key is not None and self.outputs.get(r.task_id) is None
            )
            if unread:
                title.append(f" · {unread:,} outputs not compared yet", style="dim")
            if carried:
                title.append(f" · {carried:,} carried", style="cyan")
            if self.only_differing:
                title.append(" · only differing", style="bold")
            if related := relation(left, right):
                title.append(f" · {related}", style="dim")
        self.title_line = title
        self.query_one("#diff-title", Static).update(title)

    def _show_detail(self) -> None:
        row = self.view.selected
        body = self.query_one("#diff-detail", Static)
        if row is None:
            empty = "no task differs" if self.only_differing and self.rows else "no tasks"
            body.update(Text(empty, style="dim") if self.left.run else "")
            return
        lines = detail_lines(row, self.outputs.get(row.task_id), self.rt_app.clock())
        body.update(Text("\n", end="").join(lines))

    def _show_governance(self) -> None:
        if self.left.run is None or self.right.run is None:
            return
        most = 1 if 0 < self.size.height < SHORT_BELOW else 3
        sides = (self.left, self.right)
        self.governance = {
            "violations": [listed([violation_line(v) for v in s.violations], most) for s in sides],
            "approvals": [listed([approval_line(a) for a in s.approvals], most) for s in sides],
        }
        table = side_by_side(*self._headings(), self.governance)
        self.query_one("#diff-governance", Static).update(table)

    # --- keys ----------------------------------------------------------------------------------

    def action_open_task(self, side: str) -> None:
        row = self.view.selected
        if row is None:
            return
        task, run = (row.left, self.left) if side == "left" else (row.right, self.right)
        if task is None:
            self.notify(
                f"task {one_line(row.task_id)} is not in the {side} run",
                severity="warning",
                markup=False,
            )
            return
        self.post_message(OpenTask(run.run_id, task.task_id))

    def action_swap(self) -> None:
        self.left, self.right = self.right, self.left
        self._rebuild()

    def action_only_differing(self) -> None:
        self.only_differing = not self.only_differing
        self._show_rows()
        self.view.scroll_home(animate=False)

    def copyable_id(self) -> tuple[str, str] | None:
        return ("run", self.right.run_id)

    def action_back(self) -> None:
        self.app.pop_screen()


async def open_default_diff(screen: RuntuiScreen, run_id: str) -> None:
    """The diff of `run_id` with its parent (a fork) or the run of its workflow before it."""
    app = screen.rt_app
    run = await app.attempt(app.client.get_run(run_id))
    if run is None:
        return
    try:
        other = await default_other_of(app.client, run)
    except RuntuiError as exc:
        app.notify(str(exc), severity="warning", markup=False)
        return
    if other is None:
        app.notify(
            f"nothing to compare run {short_id(run_id)} with: it is not a fork, and no run of"
            f" {one_line(run.workflow)} came before it (d on two rows of the runs list compares"
            " any two)",
            severity="warning",
            markup=False,
        )
        return
    app.push_screen(DiffScreen(other.run_id, run.run_id))
