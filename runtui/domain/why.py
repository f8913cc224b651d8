"""Why a run ended badly, said first: which task failed and how, which policy fired and on
what, or who rejected which approval; and the short form the runs list shows.

Every front end reads the same records (the run, its tasks, attempts, violations, approvals),
so the cause is picked here once: the TUI draws it, the CLI prints it. A stop used to be
placed "at step 2", a 0-based count of finished attempts easily read as a task named `step-2`;
where the records name the task and attempt, they are said instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtui.domain.approvals import ApprovalDecision
from runtui.domain.status import RunStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import ApprovalRow, AttemptRow, RunRow, TaskRow, ViolationRow

#: Statuses a run explains itself in (succeeded needs no explanation, a live run has none yet).
ENDED_BADLY = frozenset({RunStatus.FAILED, RunStatus.FAILED_POLICY, RunStatus.CANCELLED})
SHORT = 60  # characters of the runs list's reason, at most (its column cuts it further)


def place(task_id: str | None, attempt: int | None, step: int | None) -> str:
    """Where a stop came from, as a user reads it: `task step-3 (attempt 0)`; for a record
    from before violations named their task, `after 2 finished attempts`; '' if unknown."""
    if task_id is not None:
        return f"task {task_id}" + (f" (attempt {attempt})" if attempt is not None else "")
    if step is not None:
        return f"after {step} finished attempt{'s' if step != 1 else ''}"
    return ""


@dataclass(frozen=True)
class TaskCause:
    """A task failed (and the workflow does not allow it to): its last attempt, if it ran."""

    task: TaskRow
    attempt: AttemptRow | None
    others: list[str] = field(default_factory=list)  # more tasks that failed too


@dataclass(frozen=True)
class ViolationCause:
    """A policy stopped the run."""

    violation: ViolationRow


@dataclass(frozen=True)
class RejectionCause:
    """A human said no."""

    approval: ApprovalRow


@dataclass(frozen=True)
class OtherCause:
    """A timeout, a cancel, a system failure: the run's own words."""

    reason: RunTerminationReason | None
    error: str


Cause = TaskCause | ViolationCause | RejectionCause | OtherCause


def cause_of(
    run: RunRow,
    tasks: list[TaskRow],
    attempts: list[AttemptRow],
    violations: list[ViolationRow],
    approvals: list[ApprovalRow],
) -> Cause | None:
    """What ended `run`, or None when it did not end badly."""
    if run.status not in ENDED_BADLY:
        return None
    reason = run.termination_reason
    if reason is RunTerminationReason.APPROVAL_REJECTED:
        rejected = [a for a in approvals if a.decision is ApprovalDecision.REJECT]
        if rejected:
            return RejectionCause(max(rejected, key=lambda a: a.decided_at or 0.0))
    stops = [v for v in violations if v.action == "stop"]
    if stops and reason is not RunTerminationReason.TASK_FAILED:
        return ViolationCause(min(stops, key=lambda v: v.seq))
    if reason is RunTerminationReason.TASK_FAILED:
        cause = _failed_task(tasks, attempts)
        if cause is not None:
            return cause
    return OtherCause(reason, run.error_message or "")


def _failed_task(tasks: list[TaskRow], attempts: list[AttemptRow]) -> TaskCause | None:
    last: dict[str, AttemptRow] = {}
    for a in attempts:
        if a.task_id not in last or a.attempt > last[a.task_id].attempt:
            last[a.task_id] = a
    failed = [t for t in tasks if t.status == "failed" and not t.allow_failure]
    if not failed:
        return None

    def ended(t: TaskRow) -> float:
        a = last.get(t.task_id)
        return (a.ended_at or a.started_at) if a is not None else t.updated_at

    failed.sort(key=ended)
    first = failed[0]
    return TaskCause(first, last.get(first.task_id), [t.task_id for t in failed[1:]])


def short_reason(run: RunRow) -> str:
    """The runs list's few words on why a run ended badly (from the run's row alone):
    `compile (exit 3)`, `policy_block`, `rejected: publish-gate (bob: no)`."""
    if run.status not in ENDED_BADLY:
        return ""
    reason = run.termination_reason
    error = " ".join((run.error_message or "").split())
    if reason is RunTerminationReason.TASK_FAILED and error.startswith("task failed: "):
        text = error.removeprefix("task failed: ")
    elif reason is RunTerminationReason.APPROVAL_REJECTED and error:
        text = "rejected: " + error.removeprefix("task ").replace(" rejected (", " (", 1)
    elif reason is RunTerminationReason.USER_ABORT:
        text = "cancelled"
    elif reason is RunTerminationReason.TIMEOUT:
        text = "timed out"
    else:  # a policy's stop: its violation is the worst one, which the list shows beside
        text = reason.value if reason is not None else error
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"
