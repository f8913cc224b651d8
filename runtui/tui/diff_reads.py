"""What the diff screen reads through the port: one side of a diff, where two attempts' output
first differs, and which run a run is compared with by default.

No widgets here: the screen decides when to read; these functions decide how. A side costs a
fixed number of calls however many tasks the run has (the run, its tasks, attempts, violations
and approvals); the output of two attempts is read a page at a time, both sides at once, only
until the comparison has its answer (`runtui.domain.run_diff.OutputComparer`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from runtui.api import Port
from runtui.domain.run_diff import (
    COMPARE_PAGE_LINES,
    OutputComparer,
    OutputDiff,
    TaskSide,
    default_other,
    task_sides,
)
from runtui.domain.views import ApprovalRow, AttemptRow, RunRow, TaskRow, ViolationRow

#: Runs of a workflow looked through (newest first) for the one before a run, at most.
LOOK_BACK = 1000
LOOK_BACK_PAGE = 200

#: What each kind of event can change in a side (output changes nothing).
READS_BY_KIND: dict[str, frozenset[str]] = {
    "run.status": frozenset({"run"}),
    "run.terminated": frozenset({"run"}),
    "run.summary": frozenset({"run"}),
    "phase.changed": frozenset({"run"}),
    "task.declared": frozenset({"tasks"}),
    "task.status": frozenset({"tasks"}),
    "attempt.started": frozenset({"tasks", "attempts"}),
    "attempt.status": frozenset({"tasks", "attempts"}),
    "violation.recorded": frozenset({"violations"}),
    "approval.requested": frozenset({"approvals"}),
    "approval.decided": frozenset({"approvals"}),
}
EVERYTHING = frozenset({"run", "tasks", "attempts", "violations", "approvals"})


@dataclass(slots=True)
class Side:
    """One run of a diff, as last read."""

    run_id: str
    run: RunRow | None = None
    tasks: list[TaskRow] = field(default_factory=list)
    attempts: list[AttemptRow] = field(default_factory=list)
    violations: list[ViolationRow] = field(default_factory=list)
    approvals: list[ApprovalRow] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.run is not None and not self.run.status.is_terminal

    def task_sides(self) -> dict[str, TaskSide]:
        assert self.run is not None
        return task_sides(self.run, self.tasks, self.attempts, self.approvals)


async def read_side(client: Port, side: Side, what: frozenset[str] | set[str]) -> None:
    """Re-read `what` of `side` (run, tasks, attempts, violations, approvals)."""
    rid = side.run_id

    async def run() -> None:
        side.run = await client.get_run(rid)

    async def tasks() -> None:
        side.tasks = await client.tasks_of(rid)

    async def attempts() -> None:
        side.attempts = await client.attempts_of(rid)

    async def violations() -> None:
        side.violations = await client.violations_of(rid)

    async def approvals() -> None:
        side.approvals = await client.approvals_of(rid)

    async def rows() -> None:
        # one after the other: a remote client answers them all from one request (the run's
        # detail, kept a moment), which reads made at once would each ask for again
        for name, read in (
            ("tasks", tasks),
            ("attempts", attempts),
            ("violations", violations),
            ("approvals", approvals),
        ):
            if name in what:
                await read()

    if "run" in what or side.run is None:
        await asyncio.gather(run(), rows())
    else:
        await rows()


async def compare_output(
    client: Port,
    left: tuple[str, str, int, str],
    right: tuple[str, str, int, str],
    *,
    page: int = COMPARE_PAGE_LINES,
) -> OutputDiff:
    """Where the output of attempt `left` (run, task, attempt, status) and of `right` first
    differ, reading both a page at a time from their first line."""
    comparer = OutputComparer()
    keys = (left, right)

    async def read(side: int) -> None:
        run_id, task_id, attempt, _ = keys[side]
        got = await client.task_output(
            run_id, task_id, attempt, after=comparer.after[side], limit=page
        )
        comparer.feed(side, got.lines, got.more)

    while comparer.result is None:
        wanted = comparer.wanted()
        if not wanted:  # cannot happen: a comparer without a result wants a side
            raise AssertionError("output comparison stalled")
        await asyncio.gather(*(read(s) for s in wanted))
    return comparer.result


async def default_other_of(client: Port, run: RunRow) -> RunRow | None:
    """The run `run` is compared with when none is picked: its parent when it is a fork, else
    the newest run of its workflow created before it (among the last `LOOK_BACK`)."""
    if run.parent_run_id is not None:
        return await client.get_run(run.parent_run_id)
    cursor: str | None = None
    seen = 0
    while seen < LOOK_BACK:
        page = await client.list_runs(workflow=run.workflow, limit=LOOK_BACK_PAGE, cursor=cursor)
        found = default_other(run, page.runs)
        if found is not None:
            return found
        seen += len(page.runs)
        cursor = page.next_cursor
        if cursor is None:
            break
    return None
