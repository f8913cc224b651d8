"""The source documents' models, importable from one place.

From the lifecycle-models document: `RunStatus`, `RunLifecycleState`, `get_lifecycle_state`,
`RunTerminationReason`, `TERMINATION_TO_STATUS`, `PolicyViolationType`, `ViolationSeverity`,
`SEVERITY_PRIORITY`, `RunViolationInfo`, `RunTerminationInfo`. From the kernel document:
`RunPhase`, `VALID_TRANSITIONS`, `PhaseTransition`. From the run-history document:
`RunSummary`, `RunResult`. From the council document: its five run statuses
(`CouncilStatus`, `council_status`) and each event's `wave_index` (on `EventEnvelope`).

They are the domain's own classes (runtui.domain), not copies: what these names say is what
runtui stores, serves and shows.
"""

from __future__ import annotations

from enum import StrEnum

from runtui.domain.events import EventEnvelope
from runtui.domain.phases import PHASE_TRANSITIONS as VALID_TRANSITIONS
from runtui.domain.phases import PhaseTransition, RunPhase
from runtui.domain.status import RunLifecycleState, RunStatus, get_lifecycle_state
from runtui.domain.summary import RunResult, RunSummary
from runtui.domain.termination import (
    TERMINATION_TO_STATUS,
    RunTerminationInfo,
    RunTerminationReason,
)
from runtui.domain.violations import (
    SEVERITY_PRIORITY,
    PolicyViolationType,
    RunViolationInfo,
    ViolationSeverity,
)


class CouncilStatus(StrEnum):
    """The council document's run statuses: five, where runtui keeps ten."""

    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    FAILED = "failed"


_COUNCIL = {
    RunStatus.QUEUED: CouncilStatus.RUNNING,
    RunStatus.RUNNING: CouncilStatus.RUNNING,
    RunStatus.PAUSED: CouncilStatus.AWAITING_APPROVAL,
    RunStatus.AWAITING_APPROVAL: CouncilStatus.AWAITING_APPROVAL,
    RunStatus.INTERRUPTED: CouncilStatus.INTERRUPTED,
    RunStatus.SUCCEEDED: CouncilStatus.COMPLETED,
    RunStatus.FAILED: CouncilStatus.FAILED,
    RunStatus.FAILED_POLICY: CouncilStatus.FAILED,
    RunStatus.CANCELLED: CouncilStatus.FAILED,
    RunStatus.RETRY: CouncilStatus.FAILED,  # a failed run marked to be tried again (a fork)
}


def council_status(status: RunStatus) -> CouncilStatus:
    """A run status as the council document names it (a paused run waits for a person;
    cancelled and policy failures are failures there)."""
    return _COUNCIL[status]


__all__ = [
    "SEVERITY_PRIORITY",
    "TERMINATION_TO_STATUS",
    "VALID_TRANSITIONS",
    "CouncilStatus",
    "EventEnvelope",
    "PhaseTransition",
    "PolicyViolationType",
    "RunLifecycleState",
    "RunPhase",
    "RunResult",
    "RunStatus",
    "RunSummary",
    "RunTerminationInfo",
    "RunTerminationReason",
    "RunViolationInfo",
    "ViolationSeverity",
    "council_status",
    "get_lifecycle_state",
]
