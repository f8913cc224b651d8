"""What the run screen reads beyond the run's own rows, each in one place: why it ended (the
records the cause is picked from) and the violations a fork carried over with its parent's
results. Port calls only; the screen decides when."""

from __future__ import annotations

from rich.text import Text

from runtui.api import Port
from runtui.domain.phases import RunPhase
from runtui.domain.views import RunRow, TaskRow, ViolationRow
from runtui.domain.why import ENDED_BADLY, TaskCause, cause_of
from runtui.tui.widgets.why_panel import why_text

#: How far up a lineage carried results are followed (a fork of a fork of ...).
MAX_ANCESTORS = 10
STDERR_LINES = 3


def carried_tasks(run: RunRow, tasks: list[TaskRow]) -> set[str]:
    """The tasks whose results a fork took from its parent: done without an attempt of its
    own, in the waves it kept (a gate re-run in a later wave is done without one too)."""
    kept = run.rewound_from_wave
    if run.parent_run_id is None or kept is None:
        return set()
    return {t.task_id for t in tasks if t.wave <= kept and t.status == "done" and not t.attempts}


async def carried_violations(client: Port, run: RunRow, tasks: list[TaskRow]) -> list[ViolationRow]:
    """The violations that the results a fork carried over caused where they were made: in its
    parent, or further up for results the parent carried too."""
    wanted = carried_tasks(run, tasks)
    found: list[ViolationRow] = []
    parent = run.parent_run_id
    for _ in range(MAX_ANCESTORS):
        if not wanted or parent is None:
            break
        found += [v for v in await client.violations_of(parent) if v.task_id in wanted]
        above = await client.get_run(parent)
        wanted &= carried_tasks(above, await client.tasks_of(parent))
        parent = above.parent_run_id
    return found


async def explanation(
    client: Port,
    run: RunRow,
    tasks: list[TaskRow],
    violations: list[ViolationRow],
    stopped_in: RunPhase | None,
) -> Text | None:
    """Why `run` ended badly, drawn (None when it did not)."""
    if run.status not in ENDED_BADLY:
        return None
    attempts = await client.attempts_of(run.run_id)
    approvals = await client.approvals_of(run.run_id)
    cause = cause_of(run, tasks, attempts, violations, approvals)
    if cause is None:
        return None
    stderr: list[str] = []
    if isinstance(cause, TaskCause) and cause.attempt is not None:
        page = await client.task_output(
            run.run_id,
            cause.task.task_id,
            cause.attempt.attempt,
            stream="stderr",
            limit=STDERR_LINES,
        )
        stderr = [line.text for line in page.lines]
    return why_text(run, cause, stopped_in=stopped_in, stderr=stderr)
