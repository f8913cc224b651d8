"""Why a run ended, the status that follows from it, and which reason wins when several apply."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from runtui.domain.status import RunStatus
from runtui.domain.violations import PolicyViolationType, RunViolationInfo


class RunTerminationReason(StrEnum):
    # The source's seven reasons, then the two runtui adds; precedence is TERMINATION_PRECEDENCE.
    POLICY_BLOCK = "policy_block"
    BUDGET_EXCEEDED = "budget_exceeded"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    SYSTEM_FAILURE = "system_failure"
    USER_ABORT = "user_abort"
    COMPLETED = "completed"
    TASK_FAILED = "task_failed"
    APPROVAL_REJECTED = "approval_rejected"


#: Precedence rank (0 = highest). The two runtui extensions rank above `completed`, which is
#: only ever the reason when nothing went wrong, and below the source's failure reasons.
TERMINATION_PRECEDENCE: Mapping[RunTerminationReason, int] = {
    RunTerminationReason.POLICY_BLOCK: 0,
    RunTerminationReason.BUDGET_EXCEEDED: 1,
    RunTerminationReason.RATE_LIMITED: 2,
    RunTerminationReason.TIMEOUT: 3,
    RunTerminationReason.SYSTEM_FAILURE: 4,
    RunTerminationReason.TASK_FAILED: 5,
    RunTerminationReason.APPROVAL_REJECTED: 6,
    RunTerminationReason.USER_ABORT: 7,
    RunTerminationReason.COMPLETED: 8,
}

#: Total: every reason maps to the terminal status it produces.
TERMINATION_TO_STATUS: Mapping[RunTerminationReason, RunStatus] = {
    RunTerminationReason.COMPLETED: RunStatus.SUCCEEDED,
    RunTerminationReason.POLICY_BLOCK: RunStatus.FAILED_POLICY,
    RunTerminationReason.BUDGET_EXCEEDED: RunStatus.FAILED,
    RunTerminationReason.RATE_LIMITED: RunStatus.FAILED,
    RunTerminationReason.TIMEOUT: RunStatus.FAILED,
    RunTerminationReason.SYSTEM_FAILURE: RunStatus.FAILED,
    RunTerminationReason.TASK_FAILED: RunStatus.FAILED,
    RunTerminationReason.APPROVAL_REJECTED: RunStatus.FAILED,
    RunTerminationReason.USER_ABORT: RunStatus.CANCELLED,
}


#: The termination reason a stopping violation records.
VIOLATION_TERMINATION: Mapping[PolicyViolationType, RunTerminationReason] = {
    PolicyViolationType.TOKEN_LIMIT: RunTerminationReason.BUDGET_EXCEEDED,
    PolicyViolationType.COST_LIMIT: RunTerminationReason.BUDGET_EXCEEDED,
    PolicyViolationType.RATE_LIMIT: RunTerminationReason.RATE_LIMITED,
    PolicyViolationType.CONTENT_POLICY: RunTerminationReason.POLICY_BLOCK,
    PolicyViolationType.PII_DETECTED: RunTerminationReason.POLICY_BLOCK,
    PolicyViolationType.SAFETY_VIOLATION: RunTerminationReason.POLICY_BLOCK,
    PolicyViolationType.CUSTOM_RULE: RunTerminationReason.POLICY_BLOCK,
}


def task_failure_text(failed: Sequence[str], errors: Mapping[str, str] | None = None) -> str:
    """Why a run failed with `task_failed`, on one line: each failed task with how its last
    attempt ended, when known (`task failed: build (exit 3), lint (timed out after 5s)`)."""
    errors = errors or {}
    parts = []
    for task_id in failed:
        why = " ".join(errors.get(task_id, "").split())
        if len(why) > 100:
            why = why[:99] + "…"
        parts.append(f"{task_id} ({why})" if why else task_id)
    return "task failed: " + ", ".join(parts)


def resolve_termination(reasons: Iterable[RunTerminationReason]) -> RunTerminationReason:
    """The reason that wins among several (e.g. a timeout racing a policy block).

    With no reason at all the run simply completed.
    """
    best = RunTerminationReason.COMPLETED
    for r in reasons:
        if TERMINATION_PRECEDENCE[r] < TERMINATION_PRECEDENCE[best]:
            best = r
    return best


class RunTerminationInfo(BaseModel):
    """How a run ended, as the source defines it; kept on the run and shown by the UI."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    termination_reason: RunTerminationReason
    terminated_at: datetime
    stopped_at_step: int | None = None
    violation_info: RunViolationInfo | None = None
    error_message: str | None = None

    @property
    def status(self) -> RunStatus:
        return TERMINATION_TO_STATUS[self.termination_reason]
