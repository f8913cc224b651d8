"""Run statuses, which phases admit them, and the UI's LIVE/COMPLETED buckets."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum

from runtui.domain.errors import PhaseStatusInvariantError
from runtui.domain.phases import RunPhase

log = logging.getLogger(__name__)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    PAUSED = "paused"
    INTERRUPTED = "interrupted"
    RETRY = "retry"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    FAILED_POLICY = "failed_policy"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.FAILED_POLICY, RunStatus.CANCELLED}
)

#: Which statuses each phase admits (DESIGN.md §2).
PHASE_STATUS_INVARIANTS: Mapping[RunPhase, frozenset[RunStatus]] = {
    RunPhase.CREATED: frozenset({RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL}),
    RunPhase.AUTHORIZED: frozenset({RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL}),
    RunPhase.EXECUTING: frozenset(
        {
            RunStatus.RUNNING,
            RunStatus.AWAITING_APPROVAL,
            RunStatus.PAUSED,
            RunStatus.INTERRUPTED,
        }
    ),
    RunPhase.GOVERNANCE_CHECK: frozenset({RunStatus.RUNNING, RunStatus.INTERRUPTED}),
    RunPhase.FINALIZING: frozenset({RunStatus.RUNNING, RunStatus.INTERRUPTED}),
    RunPhase.COMPLETED: frozenset({RunStatus.SUCCEEDED}),
    RunPhase.FAILED: frozenset(
        {RunStatus.FAILED, RunStatus.FAILED_POLICY, RunStatus.CANCELLED, RunStatus.RETRY}
    ),
}


def status_allowed(phase: RunPhase, status: RunStatus) -> bool:
    return status in PHASE_STATUS_INVARIANTS[phase]


def check_phase_status(phase: RunPhase, status: RunStatus, *, enforce: bool = True) -> bool:
    """Check the invariant; raise when enforcing, otherwise log and report False."""
    if status_allowed(phase, status):
        return True
    allowed = sorted(s.value for s in PHASE_STATUS_INVARIANTS[phase])
    if enforce:
        raise PhaseStatusInvariantError(phase.value, status.value, allowed)
    log.warning("phase/status invariant broken: %s in %s (allowed %s)", status, phase, allowed)
    return False


class RunLifecycleState(StrEnum):
    LIVE = "LIVE"
    COMPLETED = "COMPLETED"


def get_lifecycle_state(status: RunStatus) -> RunLifecycleState:
    """COMPLETED exactly for the terminal statuses; everything else is still LIVE."""
    return RunLifecycleState.COMPLETED if status in TERMINAL_STATUSES else RunLifecycleState.LIVE
