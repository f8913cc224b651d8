"""What the kernel keeps of each active run (`RunCtl`), who it talks to (`Peers`), and the
records it derives from a workflow and a violation; shared by the kernel, its human gates and
the analyzer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.domain.approvals import PendingApproval
from runtui.domain.audit import AuditExpectation, DomainAck
from runtui.domain.events import TaskDeclared, ViolationData
from runtui.domain.phases import PhaseMachine
from runtui.domain.status import RunStatus
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.workflow import Workflow


@dataclass
class RunCtl:
    """The kernel's view of one active run."""

    run_id: str
    workflow: Workflow
    machine: PhaseMachine
    status: RunStatus
    started_at: float
    timeout_s: float
    retry_count: int = 0
    run_env: RunEnvironment | None = None
    parent_run_id: str | None = None  # a fork's parent (named in its summary)
    rewound_from_wave: int | None = None
    # the run timeout's clock: time not waiting for a human, until `active_since` (None while
    # waiting for one); see `runtui.domain.recall.WAITING_FOR_HUMAN`
    active_s: float = 0.0
    active_since: float | None = None
    expectations: list[AuditExpectation] = field(default_factory=list)
    acks: list[DomainAck] = field(default_factory=list)
    reasons: list[m.StopRun] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)  # stages, for the summary
    stages_failed: list[str] = field(default_factory=list)  # stages that failed (allowed too)
    failed: list[str] = field(default_factory=list)  # failed without allow_failure
    pending_approvals: dict[str, PendingApproval] = field(default_factory=dict)  # by id
    carried: dict[str, TaskStatus] = field(default_factory=dict)  # results kept from a parent
    plan_approved: bool = False
    halted: bool = False
    finalized: bool = False


@dataclass
class Peers:
    """Who the kernel talks to; filled in by the runtime before start."""

    analyzer: Actor[Any]
    governance: Actor[Any]
    incident: Actor[Any]
    trace: Actor[Any]


def declare(task: Any, wave: int) -> TaskDeclared:
    spec = task.model_dump(mode="json")
    return TaskDeclared(
        task_id=task.id,
        task_kind=TaskKind(task.kind),
        wave=wave,
        needs=list(task.needs),
        allow_failure=task.allow_failure,
        retries=task.retries,
        spec=spec,
    )


def violation_reason(violation: ViolationData | None) -> RunTerminationReason | None:
    from runtui.domain.termination import VIOLATION_TERMINATION

    return VIOLATION_TERMINATION[violation.violation_type] if violation else None
