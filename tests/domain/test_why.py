"""Why a run ended, picked from its records: the failed task, the policy and what fired it,
the rejection; the runs list's few words; where a stop came from instead of "at step N"."""

from __future__ import annotations

from typing import Any

from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import ApprovalRow, AttemptRow, RunRow, TaskRow, ViolationRow
from runtui.domain.violations import PolicyViolationType, ViolationSeverity
from runtui.domain.why import (
    OtherCause,
    RejectionCause,
    TaskCause,
    ViolationCause,
    cause_of,
    place,
    short_reason,
)


def run(
    status: RunStatus, reason: RunTerminationReason | None, error: str = "", **kw: Any
) -> RunRow:
    base: dict[str, Any] = {
        "run_id": "r1", "workflow": "w", "created_at": 0.0, "updated_at": 0.0,
        "phase": RunPhase.FAILED, "status": status, "wave_index": 0, "hitl_mode": HitlMode.NONE,
        "timeout_s": None, "parent_run_id": None, "rewound_from_wave": None, "retry_count": 0,
        "termination_reason": reason, "terminated_at": 1.0, "stopped_at_step": None,
        "error_message": error, "worst_severity": None, "worst_violation": None, "result": None,
        "ended_at": 1.0, "last_seq": 9, "metadata": {},
    }  # fmt: skip
    base.update(kw)
    return RunRow(**base)


def task(task_id: str, status: str, *, allowed: bool = False, attempts: int = 1) -> TaskRow:
    return TaskRow(
        run_id="r1", task_id=task_id, kind="shell", wave=0, needs=[], allow_failure=allowed,
        retries=0, spec={}, status=status, attempts=attempts, updated_at=1.0,
    )  # fmt: skip


def attempt(task_id: str, n: int, ended: float, code: int | None = 1) -> AttemptRow:
    return AttemptRow(
        run_id="r1", task_id=task_id, attempt=n, status="failed", idempotency_key="k",
        external_id=None, exit_code=code, error=f"exit code {code}", output_tail=None,
        usage={}, started_at=ended - 1, ended_at=ended,
    )  # fmt: skip


def violation(seq: int, action: str, task_id: str | None = "export") -> ViolationRow:
    return ViolationRow(
        run_id="r1", seq=seq, policy_id="p", policy_name="No personal data",
        violation_type=PolicyViolationType.PII_DETECTED, severity=ViolationSeverity.CRITICAL,
        step_index=2, at=1.0, threshold_value=None, actual_value=None, reason="email found",
        action=action, task_id=task_id, attempt=1 if task_id else None,
    )  # fmt: skip


def rejection(by: str, reason: str) -> ApprovalRow:
    return ApprovalRow(
        approval_id="a1", run_id="r1", kind=ApprovalKind.TASK, task_id="publish", prompt="Go?",
        requested_at=0.0, timeout_s=None, default_action=ApprovalDecision.REJECT, unblocks=[],
        decision=ApprovalDecision.REJECT, reason=reason, decided_by=by, decided_at=1.0,
        edits=None,
    )  # fmt: skip


def test_the_first_task_to_fail_is_the_cause_not_one_allowed_to_fail() -> None:
    failed = run(RunStatus.FAILED, RunTerminationReason.TASK_FAILED, "task failed: b (exit 2)")
    tasks = [task("docs", "failed", allowed=True), task("b", "failed"), task("c", "failed")]
    attempts = [attempt("docs", 0, 1.0), attempt("c", 0, 9.0), attempt("b", 0, 5.0)]
    cause = cause_of(failed, tasks, attempts, [], [])
    assert isinstance(cause, TaskCause)
    assert (cause.task.task_id, cause.attempt, cause.others) == ("b", attempts[2], ["c"])
    assert short_reason(failed) == "b (exit 2)"


def test_a_stopping_violation_names_the_task_that_fired_it() -> None:
    stopped = run(
        RunStatus.FAILED_POLICY,
        RunTerminationReason.POLICY_BLOCK,
        worst_violation=PolicyViolationType.PII_DETECTED,
    )
    cause = cause_of(stopped, [], [], [violation(3, "warn"), violation(7, "stop")], [])
    assert isinstance(cause, ViolationCause)
    assert cause.violation.seq == 7
    assert place(cause.violation.task_id, cause.violation.attempt, 2) == "task export (attempt 1)"
    assert place(None, None, 2) == "after 2 finished attempts"
    assert place(None, None, None) == ""
    assert short_reason(stopped) == "policy_block"  # the list's worst column names pii


def test_a_rejection_says_who_and_why_and_a_cancel_is_a_cancel() -> None:
    rejected = run(
        RunStatus.FAILED,
        RunTerminationReason.APPROVAL_REJECTED,
        "task publish rejected (bob@laptop: not today)",
    )
    cause = cause_of(rejected, [], [], [], [rejection("bob@laptop", "not today")])
    assert isinstance(cause, RejectionCause)
    assert cause.approval.decided_by == "bob@laptop"
    assert short_reason(rejected) == "rejected: publish (bob@laptop: not today)"
    cancelled = run(RunStatus.CANCELLED, RunTerminationReason.USER_ABORT, "cancelled")
    assert cause_of(cancelled, [], [], [], []) == OtherCause(
        RunTerminationReason.USER_ABORT, "cancelled"
    )
    assert short_reason(cancelled) == "cancelled"
    ok = run(RunStatus.SUCCEEDED, RunTerminationReason.COMPLETED)
    assert cause_of(ok, [], [], [], []) is None
    assert short_reason(ok) == ""
    long = run(RunStatus.FAILED, RunTerminationReason.TASK_FAILED, "task failed: " + "x" * 80)
    assert len(short_reason(long)) == 60
    assert short_reason(long).endswith("…")
