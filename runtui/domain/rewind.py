"""Which of a run's results a fork keeps: the rules of `rewind` and `retry`, as pure functions.

A fork starts a new run of the same workflow. The tasks it keeps carry their parent's result
(`done`) and do not run again; every other task runs. Both rules look only at the workflow's
waves and at which tasks of the parent finished `done`, so every front end (the command line,
the terminal UI, the HTTP API, a Python program) previews and performs the same fork.

- `rewind` to wave N keeps every task of waves 0..N that finished done.
- `retry` keeps every done task of the waves before the first wave with a task that did not
  finish done (a run with no such wave keeps everything and re-runs nothing).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from runtui.domain.errors import InvalidInputError
from runtui.domain.workflow import Workflow


class RewindPlan(msgspec.Struct, frozen=True):
    """What a rewind of `run_id` to `wave` keeps and re-executes, per wave; `new_run_id` once
    the fork exists (None for a dry run). The same struct travels the HTTP API."""

    run_id: str
    wave: int
    kept: dict[int, list[str]]  # wave -> tasks whose results carry over
    rerun: dict[int, list[str]]  # wave -> tasks that execute again
    new_run_id: str | None = None

    @property
    def carried(self) -> set[str]:
        """The tasks the fork starts with as done."""
        return {task for tasks in self.kept.values() for task in tasks}


class RetryPlan(msgspec.Struct, frozen=True):
    """What a retry keeps: the done tasks of waves up to `kept_through` (None: nothing)."""

    kept_through: int | None
    carried: frozenset[str]


def plan_rewind(run_id: str, workflow: Workflow, wave: int, done: set[str]) -> RewindPlan:
    """The plan of a rewind of `run_id` (a run of `workflow` whose `done` tasks finished done)
    to `wave`; a wave the workflow does not have is an `InvalidInputError` naming its range."""
    if not 0 <= wave < workflow.wave_count:
        raise InvalidInputError(
            f"wave: run {run_id} has waves 0..{workflow.wave_count - 1}, not {wave}"
        )
    waves = workflow.waves()
    kept: dict[int, list[str]] = {}
    rerun: dict[int, list[str]] = {}
    for spec in workflow.tasks:
        w = waves[spec.id]
        if w <= wave and spec.id in done:
            kept.setdefault(w, []).append(spec.id)
        else:
            rerun.setdefault(w, []).append(spec.id)
    return RewindPlan(run_id=run_id, wave=wave, kept=kept, rerun=rerun)


def plan_retry(workflow: Workflow, statuses: Mapping[str, str]) -> RetryPlan:
    """The plan of a retry of a run whose tasks ended with `statuses` (task id -> status; a
    task with no row never started)."""
    waves = workflow.waves()
    not_done = [waves[t.id] for t in workflow.tasks if statuses.get(t.id) != "done"]
    first_bad = min(not_done) if not_done else workflow.wave_count
    kept_through = first_bad - 1
    carried = frozenset(
        t.id for t in workflow.tasks if waves[t.id] <= kept_through and statuses.get(t.id) == "done"
    )
    return RetryPlan(kept_through=kept_through if kept_through >= 0 else None, carried=carried)
