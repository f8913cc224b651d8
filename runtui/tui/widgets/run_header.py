"""The run's top lines: who it is, where it is, how long it has taken, its lineage, and, when
it waits for a human, what for, which keys answer, and what happens if nobody does.

    run 0190f3a2b4c52b9e  release  ⏸ awaiting_approval  EXECUTING  wave 3/4  1m12s   forks: 1
    ⏸ approval waiting (a approve · A with a comment · x reject): task gate ship: Publish?
      if nobody decides: reject in 59m, at 10:12:07 · run timeout paused while it waits

`wave i/n`: i of the run's n waves are behind it; while it runs, i is also the wave it is in
(waves count from 0, as in the waves view and the rewind dialog).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from runtui.domain.recall import WAITING_FOR_HUMAN
from runtui.domain.views import ApprovalRow, RunRow, TaskRow
from runtui.tui.glyphs import (
    RUN_STYLE,
    age,
    clock_time,
    duration,
    if_undecided,
    run_glyph,
    short_id,
    unique_length,
)
from runtui.tui.safe_text import one_line, safe_fields

#: First on the line when an attached UI has lost its server: what is shown may be stale.
DISCONNECTED = "○ disconnected, retrying  "


def header_text(
    run: RunRow,
    forks: list[RunRow],
    *,
    now: float,
    lineage: bool,
    connected: bool = True,
    waiting: str = "",
) -> Text:
    """The first line; an empty lineage is left out, and `lineage` (wide screens) shows the
    full run id.
    `waiting`: what waits for a human across every run (`⏸ 2 approvals waiting · oldest 4m`),
    last on the line, so an approval elsewhere is seen from any run."""
    run, forks = safe_fields(run), safe_fields(forks)
    end = run.ended_at if run.ended_at is not None else now
    text = Text(end="")
    if not connected:
        text.append(DISCONNECTED, style="bold red")
    # wide: the full id (y copies it); narrow: a tail long enough to tell the lineage apart
    length = unique_length([run.run_id, run.parent_run_id or "", *(f.run_id for f in forks)])
    text.append(f"run {run.run_id if lineage else short_id(run.run_id, length)}", style="bold")
    text.append(f"  {run.workflow}", style="bold")
    text.append(f"  {run_glyph(run.status)} {run.status.value}", style=RUN_STYLE[run.status])
    text.append(f"  {run.phase.value}")
    if run.wave_count:
        text.append(f"  wave {run.wave_progress}")
    text.append(f"  {duration(max(0.0, end - run.created_at))}")
    if not (run.parent_run_id or forks):  # no lineage to show
        if waiting:
            text.append(f"   {waiting}", style="bold yellow")
        return text
    text.append("     parent: ", style="dim")
    if run.parent_run_id:
        text.append(short_id(run.parent_run_id, length))
        if run.rewound_from_wave is not None:
            text.append(f" (rewind@{run.rewound_from_wave})", style="dim")
    else:
        text.append("—")
    text.append("  forks: ", style="dim")
    text.append(str(len(forks)))
    if forks:
        ids = ", ".join(short_id(f.run_id, length) for f in forks[:2])
        text.append(f" ({ids}{'…' if len(forks) > 2 else ''})", style="dim")
    if waiting:
        text.append(f"   {waiting}", style="bold yellow")
    return text


def approval_text(approvals: list[ApprovalRow], *, read_only: bool) -> str:
    """What the oldest pending approval asks, one terminal-safe line (shown as `Text`)."""
    a = safe_fields(approvals[0])
    what = f"{a.kind.value} gate" + (f" {a.task_id}" if a.task_id else "")
    more = f" (+{len(approvals) - 1} more)" if len(approvals) > 1 else ""
    keys = "" if read_only else " (a approve · A with a comment · x reject)"
    return f"⏸ approval waiting{keys}: {what}: {a.prompt or '—'}{more}"


def gate_text(approval: ApprovalRow, run: RunRow, *, now: float) -> str:
    """What happens if nobody decides `approval` (the oldest pending), and when; and, while
    the run waits for a human, that its own timeout does not run (the runtime stops that
    clock: it bounds execution, not the time a human takes to answer)."""
    then = if_undecided(approval, now)
    if approval.timeout_s is not None:
        due = approval.requested_at + approval.timeout_s
        then = f"if nobody decides: {then}, at {clock_time(due)}"
    if run.status in WAITING_FOR_HUMAN:
        then += " · run timeout paused while it waits"
        if approval.run_time_left_s is not None:
            then += f" ({age(approval.run_time_left_s)} of it left)"
    return f"  {then}"


class RunHeader(Vertical):
    DEFAULT_CSS = """
    RunHeader { height: auto; }
    RunHeader > #header-line { height: auto; max-height: 2; padding: 0 1; background: $panel; }
    RunHeader > #approval-line { height: auto; max-height: 3; padding: 0 1; color: $warning;
                                 display: none; }
    RunHeader > #gate-line { height: auto; max-height: 2; padding: 0 1; color: $text-muted;
                             display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        self.approval = ""
        self.gate = ""

    def compose(self) -> ComposeResult:
        yield Static(id="header-line")
        yield Static(id="approval-line")
        yield Static(id="gate-line")

    def show(
        self,
        run: RunRow,
        tasks: list[TaskRow],
        forks: list[RunRow],
        approvals: list[ApprovalRow],
        *,
        now: float,
        lineage: bool,
        read_only: bool,
        connected: bool = True,
        waiting: str = "",
    ) -> None:
        self.text = header_text(
            run, forks, now=now, lineage=lineage, connected=connected, waiting=waiting
        )
        self.query_one("#header-line", Static).update(self.text)
        self.approval = approval_text(approvals, read_only=read_only) if approvals else ""
        self.gate = gate_text(approvals[0], run, now=now) if approvals else ""
        for line, text in (("#approval-line", self.approval), ("#gate-line", self.gate)):
            shown = self.query_one(line, Static)
            shown.display = bool(text)
            shown.update(Text(text))  # a `str` would be read as markup

    def missing(self, run_id: str) -> None:
        self.query_one("#header-line", Static).update(
            Text(f"run {one_line(run_id)} not found (esc: back)", style="bold red")
        )
