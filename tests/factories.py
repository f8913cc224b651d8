"""Realistic event sequences for tests: a whole governed run, event by event."""

from __future__ import annotations

import itertools

from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.audit import AckStatus
from runtui.domain.events import (
    AckRecorded,
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    ExpectationDeclared,
    IncidentOpened,
    PendingEvent,
    PhaseChanged,
    RunCreated,
    RunStatusChanged,
    RunSummaryWritten,
    RunTerminated,
    SpanEnded,
    SpanStarted,
    TaskDeclared,
    TaskStatusChanged,
    ViolationData,
    ViolationRecorded,
    WaveCompleted,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.violations import PolicyViolationType, ViolationAction, ViolationSeverity

_counter = itertools.count(1)


def full_run(run_id: str, *, t0: float = 1_700_000_000.0, fail: bool = False) -> list[PendingEvent]:
    """A two-wave run with output, a violation, an approval, acks, spans and a summary."""
    clock = itertools.count()

    def ev(body: object, wave: int | None = None) -> PendingEvent:
        return PendingEvent(run_id, body, t0 + next(clock) * 0.5, wave)  # type: ignore[arg-type]

    P = RunPhase
    out = [
        ev(RunCreated(workflow="demo", timeout_s=60.0, metadata={"who": "test"})),
        ev(ExpectationDeclared(domain="incidents", action="create_incident", deadline=t0 + 5)),
        ev(ExpectationDeclared(domain="policies", action="evaluate_policy", deadline=t0 + 5)),
        ev(ExpectationDeclared(domain="logs", action="start_trace", deadline=t0 + 5)),
        ev(
            ExpectationDeclared(
                domain="orchestrator", action="finalize_run", deadline=t0 + 70, liveness=True
            )
        ),
        ev(SpanStarted(span_id="s-run", name="run")),
        ev(
            AckRecorded(
                domain="logs", action="start_trace", status=AckStatus.SUCCESS, result_id="s-run"
            )
        ),
        ev(
            TaskDeclared(task_id="fetch", task_kind=TaskKind.SHELL, wave=0, spec={"cmd": "echo hi"})
        ),
        ev(TaskDeclared(task_id="gate", task_kind=TaskKind.GATE, wave=1, needs=["fetch"])),
        ev(PhaseChanged(from_phase=P.CREATED, to_phase=P.AUTHORIZED, reason="policies ok")),
        ev(AckRecorded(domain="policies", action="evaluate_policy", status=AckStatus.SUCCESS)),
        ev(PhaseChanged(from_phase=P.AUTHORIZED, to_phase=P.EXECUTING)),
        ev(RunStatusChanged(status=RunStatus.RUNNING)),
        ev(TaskStatusChanged(task_id="fetch", status=TaskStatus.RUNNING), 0),
        ev(AttemptStarted(task_id="fetch", attempt=0, idempotency_key=f"{run_id}:fetch:0"), 0),
        ev(AttemptOutput(task_id="fetch", attempt=0, lines=["hi", "there"]), 0),
        ev(
            AttemptStatusChanged(
                task_id="fetch",
                attempt=0,
                status=AttemptStatus.COMPLETED,
                exit_code=0,
                usage={"tokens": 120.0},
            ),
            0,
        ),
        ev(TaskStatusChanged(task_id="fetch", status=TaskStatus.DONE), 0),
        ev(
            ViolationRecorded(
                violation=ViolationData(
                    policy_id="p1",
                    policy_name="budget",
                    violation_type=PolicyViolationType.TOKEN_LIMIT,
                    severity=ViolationSeverity.HIGH,
                    step_index=0,
                    at=t0 + 9,
                    threshold_value=100.0,
                    actual_value=120.0,
                    reason="120 tokens > 100",
                ),
                action=ViolationAction.APPROVE,
            ),
            0,
        ),
        ev(WaveCompleted(wave=0), 0),
        ev(
            ApprovalRequested(
                approval_id=f"{run_id}-ap{next(_counter)}",
                approval_kind=ApprovalKind.TASK,
                task_id="gate",
                prompt="ship it?",
                unblocks=["gate"],
            ),
            1,
        ),
        ev(RunStatusChanged(status=RunStatus.AWAITING_APPROVAL), 1),
    ]
    approval_id = out[-2].body.approval_id  # type: ignore[attr-defined]
    decision = ApprovalDecision.REJECT if fail else ApprovalDecision.APPROVE
    out += [
        ev(
            ApprovalDecided(
                approval_id=approval_id, decision=decision, reason="ok", decided_by="ann"
            ),
            1,
        ),
        ev(RunStatusChanged(status=RunStatus.RUNNING), 1),
        ev(
            TaskStatusChanged(
                task_id="gate", status=TaskStatus.FAILED if fail else TaskStatus.DONE
            ),
            1,
        ),
        ev(PhaseChanged(from_phase=P.EXECUTING, to_phase=P.GOVERNANCE_CHECK), 1),
        ev(AckRecorded(domain="incidents", action="create_incident", status=AckStatus.SUCCESS)),
    ]
    if fail:
        out += [
            ev(
                IncidentOpened(
                    incident_id=f"{run_id}-inc", severity=ViolationSeverity.HIGH, title="rejected"
                )
            ),
            ev(
                PhaseChanged(
                    from_phase=P.GOVERNANCE_CHECK, to_phase=P.FAILED, reason="approval_rejected"
                )
            ),
            ev(RunTerminated(reason=RunTerminationReason.APPROVAL_REJECTED, stopped_at_step=1)),
            ev(RunStatusChanged(status=RunStatus.FAILED)),
        ]
    else:
        out += [
            ev(PhaseChanged(from_phase=P.GOVERNANCE_CHECK, to_phase=P.FINALIZING)),
            ev(PhaseChanged(from_phase=P.FINALIZING, to_phase=P.COMPLETED)),
            ev(RunTerminated(reason=RunTerminationReason.COMPLETED)),
            ev(RunStatusChanged(status=RunStatus.SUCCEEDED)),
        ]
    out += [
        ev(AckRecorded(domain="orchestrator", action="finalize_run", status=AckStatus.SUCCESS)),
        ev(SpanEnded(span_id="s-run", status="error" if fail else "ok")),
        ev(
            RunSummaryWritten(
                started_at=t0,
                ended_at=t0 + 20,
                result=RunResult.FAILED if fail else RunResult.SUCCESS,
                failure_reason="approval_rejected" if fail else None,
                stages_executed=["fetch", "gate"],
                stages_failed=["gate"] if fail else [],
                metadata={"workflow": "demo"},
            )
        ),
    ]
    return out
