"""Policy violations: their types, severities, what they do, and how they end a run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class PolicyViolationType(StrEnum):
    TOKEN_LIMIT = "token_limit"
    COST_LIMIT = "cost_limit"
    RATE_LIMIT = "rate_limit"
    CONTENT_POLICY = "content_policy"
    PII_DETECTED = "pii_detected"
    SAFETY_VIOLATION = "safety_violation"
    CUSTOM_RULE = "custom_rule"


#: Violations that describe a state (a budget spent, a rate exceeded): recorded once per policy
#: per run, however many steps find the state again.
ONCE_PER_RUN: frozenset[PolicyViolationType] = frozenset(
    {
        PolicyViolationType.TOKEN_LIMIT,
        PolicyViolationType.COST_LIMIT,
        PolicyViolationType.RATE_LIMIT,
    }
)


class ViolationSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_PRIORITY: Mapping[ViolationSeverity, int] = {
    ViolationSeverity.CRITICAL: 4,
    ViolationSeverity.HIGH: 3,
    ViolationSeverity.MEDIUM: 2,
    ViolationSeverity.LOW: 1,
}


class ViolationAction(StrEnum):
    """What a violation does to the run; a policy's `on_violation` overrides the default."""

    STOP = "stop"
    APPROVE = "approve"
    WARN = "warn"


def default_action(severity: ViolationSeverity) -> ViolationAction:
    if severity is ViolationSeverity.CRITICAL:
        return ViolationAction.STOP
    if severity is ViolationSeverity.HIGH:
        return ViolationAction.APPROVE
    return ViolationAction.WARN


class RunViolationInfo(BaseModel):
    """One violation as the source defines it; `step_index` counts finished attempts (0-based)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_id: str
    policy_name: str
    violation_type: PolicyViolationType
    severity: ViolationSeverity
    step_index: int
    timestamp: datetime
    threshold_value: float | None = None
    actual_value: float | None = None
    reason: str


def worst_violation(violations: Iterable[RunViolationInfo]) -> RunViolationInfo | None:
    """The most severe violation; the earliest step wins a tie (it happened first)."""
    worst: RunViolationInfo | None = None
    for v in violations:
        if worst is None:
            worst = v
            continue
        rank, worst_rank = SEVERITY_PRIORITY[v.severity], SEVERITY_PRIORITY[worst.severity]
        if rank > worst_rank or (rank == worst_rank and v.step_index < worst.step_index):
            worst = v
    return worst
