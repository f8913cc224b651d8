"""Resume: turn a run's stored state back into what the kernel and analyzer need.

Called at start for every run that is not terminal. Finished tasks keep their status; a task
that was running (or waiting on an external job) when the process died is reset to pending and
its attempt is closed as cancelled, so it re-runs as a new attempt (at-least-once, each attempt
with its own idempotency key). Pending approvals stay pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtui.domain.approvals import PendingApproval
from runtui.domain.attempt_end import INTERRUPTED_ERROR, QUARANTINED_PREFIX
from runtui.domain.audit import AckStatus, AuditExpectation, DomainAck
from runtui.domain.events import AttemptStatusChanged, EventBody, RunCreated, TaskStatusChanged
from runtui.domain.phases import RunPhase
from runtui.domain.recall import RunRecall
from runtui.domain.rewind import RewindPlan, plan_rewind
from runtui.domain.status import RunStatus
from runtui.domain.summary import stages
from runtui.domain.tasks import AttemptStatus, TaskStatus
from runtui.domain.views import AttemptRow
from runtui.domain.workflow import Workflow
from runtui.store.queries import StoreReader

KEEP = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED})

#: A task whose runtime stopped under it this many times is not run again: the run fails with a
#: reason saying so (a task that kills the process driving it would otherwise bring down every
#: owner that resumes it, `serve` included, on every restart).
QUARANTINE_AFTER = 3


@dataclass
class ResumePlan:
    workflow: Workflow
    phase: RunPhase
    status: RunStatus
    started_at: float
    retry_count: int
    expectations: list[AuditExpectation]
    acks: list[DomainAck]
    carried: dict[str, TaskStatus]
    attempts_so_far: dict[str, int]
    pending_approvals: dict[str, PendingApproval]  # by approval id
    approval_tasks: dict[str, str]  # approval id → task id ("" for violation gates)
    executed: list[str]
    stages_failed: list[str]
    failed: list[str]
    recall: RunRecall = field(default_factory=RunRecall)
    approval_deadlines: dict[str, float] = field(default_factory=dict)  # approval id → when
    interrupted: list[AttemptRow] = field(default_factory=list)  # attempts cut short
    quarantined: dict[str, str] = field(default_factory=dict)  # task id → why not run again
    jobs: dict[str, AttemptRow] = field(default_factory=dict)  # task → its external job, polled
    repairs: list[tuple[EventBody, int | None]] = field(default_factory=list)


async def load_workflow_of(reader: StoreReader, run_id: str) -> tuple[Workflow, Any]:
    workflow, run, _created = await load_run_created(reader, run_id)
    return workflow, run


async def rewind_plan_of(reader: StoreReader, run_id: str, wave: int) -> RewindPlan:
    """What a rewind of the stored run to `wave` keeps and re-executes (a read: no runtime)."""
    workflow, _run = await load_workflow_of(reader, run_id)
    done = {t.task_id for t in await reader.tasks_of(run_id) if t.status == "done"}
    return plan_rewind(run_id, workflow, wave, done)


async def load_run_created(reader: StoreReader, run_id: str) -> tuple[Workflow, Any, RunCreated]:
    """A run's workflow (with the source it was read from: a fork keeps it), its row and its
    `run.created` event (what it was submitted with)."""
    run = await reader.get_run(run_id)
    first = await reader.events_after(run_id, 0, limit=1)
    body = first[0].body if first else None
    if not isinstance(body, RunCreated) or not body.workflow_spec:
        raise ValueError(f"run {run_id} has no stored workflow to resume from")
    workflow = Workflow.model_validate(body.workflow_spec).with_source(body.source)
    return workflow, run, body


async def plan_resume(reader: StoreReader, run_id: str) -> ResumePlan:
    workflow, run = await load_workflow_of(reader, run_id)
    rec = await reader.recall_run(run_id)
    tasks = await reader.tasks_of(run_id)
    attempts = await reader.attempts_of(run_id)
    approvals = await reader.approvals_of(run_id)
    audit = await reader.audit_of(run_id)
    waves = {t.task_id: t.wave for t in tasks}
    carried: dict[str, TaskStatus] = {}
    quarantined: dict[str, str] = {}  # task id → why it is not run again
    repairs: list[tuple[EventBody, int | None]] = []
    # A job submitted elsewhere (an external task) outlives its runtime: poll it again rather
    # than submit a second one.
    jobs = {
        a.task_id: a
        for a in attempts
        if a.status == AttemptStatus.WAITING_EXTERNAL.value and a.external_id
    }
    for t in tasks:
        status = TaskStatus(t.status)
        if status in KEEP:
            carried[t.task_id] = status
        elif status is TaskStatus.WAITING_EXTERNAL and t.task_id in jobs:
            continue
        elif status in (TaskStatus.RUNNING, TaskStatus.WAITING_EXTERNAL):
            if rec.cut_short.get(t.task_id, 0) + 1 >= QUARANTINE_AFTER:
                carried[t.task_id] = TaskStatus.FAILED
                quarantined[t.task_id] = (
                    f"{QUARANTINED_PREFIX} the runtime stopped {rec.cut_short[t.task_id] + 1} times"
                    " while this task ran (it may be killing the process that drives it);"
                    " not run again"
                )
                repairs.append(
                    (
                        TaskStatusChanged(
                            task_id=t.task_id,
                            status=TaskStatus.FAILED,
                            reason=quarantined[t.task_id],
                        ),
                        t.wave,
                    )
                )
                continue
            repairs.append(
                (
                    TaskStatusChanged(
                        task_id=t.task_id,
                        status=TaskStatus.PENDING,
                        reason="interrupted; will re-run",
                    ),
                    t.wave,
                )
            )
    attempts_so_far: dict[str, int] = {}
    interrupted: list[AttemptRow] = []
    # The old runtime's last sign of life: its interrupted attempts ended then, as far as
    # anyone can tell (the time until this restart is downtime, not the attempt's).
    last_seen = await reader.last_event_at(run_id)
    for a in attempts:
        attempts_so_far[a.task_id] = max(attempts_so_far.get(a.task_id, 0), a.attempt + 1)
        if jobs.get(a.task_id) is a:
            continue
        if not AttemptStatus(a.status).is_final:
            interrupted.append(a)
            why = quarantined.get(a.task_id)
            repairs.insert(  # the attempt ends before its task's status changes
                0,
                (
                    AttemptStatusChanged(
                        task_id=a.task_id,
                        attempt=a.attempt,
                        status=AttemptStatus.FAILED if why else AttemptStatus.CANCELLED,
                        error=why or INTERRUPTED_ERROR,
                        by_restart=True,
                        ended_at=max(last_seen or a.started_at, a.started_at),
                    ),
                    waves.get(a.task_id),
                ),
            )
    pending = {
        a.approval_id: PendingApproval(a.kind, a.default_action) for a in approvals if a.pending
    }
    approval_tasks = {a.approval_id: a.task_id or "" for a in approvals if a.pending}
    deadlines = {
        a.approval_id: a.requested_at + a.timeout_s
        for a in approvals
        if a.pending and a.timeout_s is not None
    }
    executed, stages_failed = stages(
        [t.id for t in workflow.tasks],
        {a.task_id for a in attempts},
        {t.task_id for t in tasks if t.status == "failed" or t.task_id in quarantined},
    )
    return ResumePlan(
        workflow=workflow,
        phase=run.phase,
        status=run.status,
        started_at=run.created_at,
        retry_count=run.retry_count,
        expectations=[AuditExpectation(d, a, dl, lv) for d, a, dl, lv in audit.expectations],
        acks=[DomainAck(d, a, AckStatus(s), r, e) for d, a, s, r, e in audit.acks],
        carried=carried,
        attempts_so_far=attempts_so_far,
        pending_approvals=pending,
        approval_tasks=approval_tasks,
        executed=executed,
        stages_failed=stages_failed,
        failed=[
            t.task_id
            for t in tasks
            if (t.status == "failed" or t.task_id in quarantined) and not t.allow_failure
        ],
        recall=rec,
        approval_deadlines=deadlines,
        interrupted=interrupted,
        jobs=jobs,
        quarantined=quarantined,
        repairs=repairs,
    )
