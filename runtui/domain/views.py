"""Read models: what queries return, as plain frozen records.

They live in the domain (not in `store`) because every reader shares them: the store builds
them from projection rows, the CLI, the TUI and the HTTP API show them. They carry domain enums,
not raw strings, so no caller parses a status string itself. `from_row` takes the columns in
the order the store's column lists give.
"""

from __future__ import annotations

from typing import Any

import msgspec

from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunLifecycleState, RunStatus, get_lifecycle_state
from runtui.domain.summary import RunResult
from runtui.domain.termination import RunTerminationReason
from runtui.domain.violations import SEVERITY_PRIORITY, PolicyViolationType, ViolationSeverity

_json = msgspec.json.Decoder()
_PRIORITY_TO_SEVERITY = {p: s for s, p in SEVERITY_PRIORITY.items()}


class RunRow(msgspec.Struct, frozen=True):
    run_id: str
    workflow: str
    created_at: float
    updated_at: float
    phase: RunPhase
    status: RunStatus
    wave_index: int | None  # the furthest wave where work started (an attempt, a gate)
    hitl_mode: HitlMode
    timeout_s: float | None
    parent_run_id: str | None
    rewound_from_wave: int | None
    retry_count: int
    termination_reason: RunTerminationReason | None
    terminated_at: float | None
    stopped_at_step: int | None
    error_message: str | None
    worst_severity: ViolationSeverity | None
    worst_violation: PolicyViolationType | None
    result: RunResult | None
    ended_at: float | None
    last_seq: int
    metadata: dict[str, Any]
    wave_count: int | None = None  # waves declared (`wave_index` of `wave_count`: "wave 2/4")

    @property
    def lifecycle(self) -> RunLifecycleState:
        return get_lifecycle_state(self.status)

    @property
    def wave_progress(self) -> str:
        """`2/4`: how many of its waves the run has behind it, as every front end shows it.

        While the run runs, the first number is also the wave it is in (waves count from 0):
        `0/1` in its only wave, `1/1` once that succeeded. A run that ended early stays where
        it ended (`0/10`: cancelled in wave 0, however its later waves' tasks were marked)."""
        if not self.wave_count:
            return "—"
        if self.status is RunStatus.SUCCEEDED:
            return f"{self.wave_count}/{self.wave_count}"
        return f"{self.wave_index or 0}/{self.wave_count}"

    @classmethod
    def from_row(cls, r: tuple[Any, ...]) -> RunRow:
        return cls(
            run_id=r[0],
            workflow=r[1],
            created_at=r[2],
            updated_at=r[3],
            phase=RunPhase(r[4]),
            status=RunStatus(r[5]),
            wave_index=r[6],
            hitl_mode=HitlMode(r[7]),
            timeout_s=r[8],
            parent_run_id=r[9],
            rewound_from_wave=r[10],
            retry_count=r[11],
            termination_reason=RunTerminationReason(r[12]) if r[12] else None,
            terminated_at=r[13],
            stopped_at_step=r[14],
            error_message=r[15],
            worst_severity=_PRIORITY_TO_SEVERITY.get(r[16]),
            worst_violation=PolicyViolationType(r[17]) if r[17] else None,
            result=RunResult(r[18]) if r[18] else None,
            ended_at=r[19],
            last_seq=r[20],
            metadata=_json.decode(r[21]),
            wave_count=r[22],
        )


class RunPage(msgspec.Struct, frozen=True):
    runs: list[RunRow]
    next_cursor: str | None


class ApprovalRow(msgspec.Struct, frozen=True):
    approval_id: str
    run_id: str
    kind: ApprovalKind
    task_id: str | None
    prompt: str
    requested_at: float
    timeout_s: float | None
    default_action: ApprovalDecision
    unblocks: list[str]
    decision: ApprovalDecision | None
    reason: str | None
    decided_by: str | None
    decided_at: float | None
    edits: dict[str, Any] | None
    run_time_left_s: float | None = None  # the run timeout left while it waits for this

    @property
    def pending(self) -> bool:
        return self.decision is None

    @classmethod
    def from_row(cls, r: tuple[Any, ...]) -> ApprovalRow:
        return cls(
            approval_id=r[0],
            run_id=r[1],
            kind=ApprovalKind(r[2]),
            task_id=r[3],
            prompt=r[4],
            requested_at=r[5],
            timeout_s=r[6],
            default_action=ApprovalDecision(r[7]),
            unblocks=_json.decode(r[8]),
            decision=ApprovalDecision(r[9]) if r[9] else None,
            reason=r[10],
            decided_by=r[11],
            decided_at=r[12],
            edits=_json.decode(r[13]) if r[13] else None,
            run_time_left_s=r[14],
        )


class TaskRow(msgspec.Struct, frozen=True):
    run_id: str
    task_id: str
    kind: str
    wave: int
    needs: list[str]
    allow_failure: bool
    retries: int
    spec: dict[str, Any]
    status: str
    attempts: int
    updated_at: float


class AttemptRow(msgspec.Struct, frozen=True):
    run_id: str
    task_id: str
    attempt: int
    status: str
    idempotency_key: str
    external_id: str | None
    exit_code: int | None
    error: str | None
    output_tail: str | None
    usage: dict[str, float]
    started_at: float
    ended_at: float | None


class PhaseRow(msgspec.Struct, frozen=True):
    """One phase change of a run, as the store keeps it (`phase_transitions`): what a timeline
    reads instead of scanning the run's events for them (a run may have 100k events, and a
    thousand task declarations come before its first phase change)."""

    run_id: str
    seq: int
    from_phase: RunPhase
    to_phase: RunPhase
    at: float
    reason: str


class ViolationRow(msgspec.Struct, frozen=True):
    run_id: str
    seq: int
    policy_id: str
    policy_name: str
    violation_type: PolicyViolationType
    severity: ViolationSeverity
    step_index: int
    at: float
    threshold_value: float | None
    actual_value: float | None
    reason: str
    action: str
    task_id: str | None = None  # what caused it (None: recorded before violations named it)
    attempt: int | None = None


class OutputLine(msgspec.Struct, frozen=True):
    """One line an attempt printed: where it is in the run's log (the `attempt.output` event's
    `seq`, and the line's `index` in that event's batch), its stream and its text as printed
    (untrusted: made terminal-safe where shown). `cut`: characters cut off a very long line."""

    seq: int
    index: int
    stream: str  # stdout | stderr | poll (an external job's poll output)
    text: str
    cut: int = 0

    @property
    def at(self) -> tuple[int, int]:
        return (self.seq, self.index)


class TaskOutput(msgspec.Struct, frozen=True):
    """A page of one attempt's output, oldest line first; `more`: lines remain beyond it in
    the direction it was read (before its first line for a tail or a `before` page, after its
    last line for an `after` page)."""

    lines: list[OutputLine]
    more: bool


class IncidentRow(msgspec.Struct, frozen=True):
    incident_id: str
    run_id: str
    opened_at: float
    severity: ViolationSeverity
    title: str
    detail: str


class AuditRows(msgspec.Struct, frozen=True):
    expectations: list[tuple[str, str, float, bool]]  # domain, action, deadline, liveness
    acks: list[
        tuple[str, str, str, str | None, str | None]
    ]  # domain, action, status, result, error


class RunDetail(msgspec.Struct, frozen=True):
    """Everything about one run but its events (their count instead): what a run's screen
    reads at once, in one answer (`GET /api/runs/{id}/detail`)."""

    tasks: list[TaskRow]
    attempts: list[AttemptRow]
    violations: list[ViolationRow]
    incidents: list[IncidentRow]
    audit: AuditRows
    approvals: list[ApprovalRow]
    forks: list[RunRow]
    events: int
