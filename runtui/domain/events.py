"""Events: the append-only record every run is made of.

Each event body is a frozen msgspec Struct in one tagged union (`kind` is the tag), so a payload
decodes to exactly one type and an unknown or malformed one is refused with the field named.
The store keeps the body as msgpack; run id, sequence, time and wave live in the envelope.
New fields must get defaults so that older payloads still decode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode
from runtui.domain.audit import AckStatus, AuditExpectation, DomainAck
from runtui.domain.errors import EventDecodeError
from runtui.domain.phases import PhaseTransition, RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult, RunSummary
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationInfo, RunTerminationReason
from runtui.domain.violations import (
    PolicyViolationType,
    RunViolationInfo,
    ViolationAction,
    ViolationSeverity,
)
from runtui.domain.workflow_source import WorkflowSource


class EventBody(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", omit_defaults=True):
    """Base of every event body; subclasses set `tag` to their kind string."""


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# --- run lifecycle ---------------------------------------------------------------------------


class RunCreated(EventBody, frozen=True, tag="run.created"):
    """A new run. `workflow_spec` is the whole validated workflow, so the store alone is enough
    to resume, retry or rewind the run after a restart."""

    workflow: str
    workflow_spec: dict[str, Any] = msgspec.field(default_factory=dict)
    hitl_mode: HitlMode = HitlMode.NONE
    timeout_s: float | None = None
    parent_run_id: str | None = None
    rewound_from_wave: int | None = None
    retry_count: int = 0
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    # where the tasks run and what they inherit (`runtui.domain.task_env`); None: recorded by
    # an older runtui, the driving process's own
    run_env: RunEnvironment | None = None
    # the text the workflow was read from (`runtui.domain.workflow_source`); None: not known
    # (an older runtui, or a program whose module could not be read)
    source: WorkflowSource | None = None


class PhaseChanged(EventBody, frozen=True, tag="phase.changed"):
    from_phase: RunPhase
    to_phase: RunPhase
    reason: str = ""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def of(cls, step: PhaseTransition) -> PhaseChanged:
        return cls(
            from_phase=step.from_phase,
            to_phase=step.to_phase,
            reason=step.reason,
            metadata=dict(step.metadata),
        )


class RunStatusChanged(EventBody, frozen=True, tag="run.status"):
    status: RunStatus
    reason: str = ""


class ViolationData(msgspec.Struct, frozen=True, kw_only=True):
    """A violation as carried inside events; `to_info` gives the source's pydantic model.

    `task_id` (and `attempt`, when one attempt caused it) name what caused it: the attempt
    whose step found it, the task whose command a safety policy refused, the task whose
    dispatch went over a rate. None: recorded by a runtui that did not name them."""

    policy_id: str
    policy_name: str
    violation_type: PolicyViolationType
    severity: ViolationSeverity
    step_index: int
    at: float
    threshold_value: float | None = None
    actual_value: float | None = None
    reason: str
    task_id: str | None = None
    attempt: int | None = None

    def to_info(self) -> RunViolationInfo:
        return RunViolationInfo(
            policy_id=self.policy_id,
            policy_name=self.policy_name,
            violation_type=self.violation_type,
            severity=self.severity,
            step_index=self.step_index,
            timestamp=_dt(self.at),
            threshold_value=self.threshold_value,
            actual_value=self.actual_value,
            reason=self.reason,
        )


class RunClaimed(EventBody, frozen=True, tag="run.claimed"):
    """A process took over driving the run (its lease, `store.leases`): who, with which epoch,
    from whom, and how the previous owner let go. `released`: it stopped cleanly and handed the
    run on (an approve from another shell, a command that exited at a gate); `expired`: it
    stopped renewing (killed, or its machine is gone) and this is a take-over; `unowned`: the
    run had no owner on record (created before ownership per run); `reloaded`: the same process
    reloaded it after its actors restarted."""

    owner: str
    owner_label: str
    epoch: int
    how: str  # released | expired | unowned | reloaded
    previous: str | None = None  # the previous owner's label


_CLAIMED_HOW = {
    "released": "handed over",
    "expired": "taken over (its driver stopped)",
    "unowned": "taken over",
    "reloaded": "reloaded",
}


def claimed_text(b: RunClaimed) -> str:
    """A `run.claimed` in a line: "handed over to pid 7 on box (runtui serve), epoch 2; was
    pid 6 on box (runtui run)"."""
    text = f"{_CLAIMED_HOW.get(b.how, b.how)} to {b.owner_label}, epoch {b.epoch}"
    return text + (f"; was {b.previous}" if b.previous else "")


class RunStopping(EventBody, frozen=True, tag="run.stopping"):
    """The kernel accepted a reason to end the run (a stop violation, a rejection, a timeout,
    a cancel, a failed task, a strict governance check). Recorded when it is accepted, not when
    the run ends, so a process that resumes the run knows why it is stopping: the outcome of a
    run never depends on whether it went through a restart."""

    reason: RunTerminationReason
    stopped_at_step: int | None = None
    violation: ViolationData | None = None
    error: str | None = None


class RunTerminated(EventBody, frozen=True, tag="run.terminated"):
    reason: RunTerminationReason
    stopped_at_step: int | None = None
    violation: ViolationData | None = None
    error_message: str | None = None

    def to_info(self, at: float) -> RunTerminationInfo:
        return RunTerminationInfo(
            termination_reason=self.reason,
            terminated_at=_dt(at),
            stopped_at_step=self.stopped_at_step,
            violation_info=self.violation.to_info() if self.violation else None,
            error_message=self.error_message,
        )


class RunSummaryWritten(EventBody, frozen=True, tag="run.summary"):
    started_at: float
    ended_at: float
    result: RunResult
    failure_reason: str | None = None
    stages_executed: list[str] = msgspec.field(default_factory=list)
    stages_failed: list[str] = msgspec.field(default_factory=list)
    retry_count: int = 0
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    def to_summary(self, run_id: str) -> RunSummary:
        return RunSummary(
            run_id=run_id,
            started_at=_dt(self.started_at),
            ended_at=_dt(self.ended_at),
            result=self.result,
            failure_reason=self.failure_reason,
            stages_executed=list(self.stages_executed),
            stages_failed=list(self.stages_failed),
            retry_count=self.retry_count,
            metadata=dict(self.metadata),
        )


# --- tasks, attempts, waves ------------------------------------------------------------------


class TaskDeclared(EventBody, frozen=True, tag="task.declared"):
    task_id: str
    task_kind: TaskKind
    wave: int
    needs: list[str] = msgspec.field(default_factory=list)
    allow_failure: bool = False
    retries: int = 0
    spec: dict[str, Any] = msgspec.field(default_factory=dict)


class TaskStatusChanged(EventBody, frozen=True, tag="task.status"):
    task_id: str
    status: TaskStatus
    reason: str = ""


class AttemptStarted(EventBody, frozen=True, tag="attempt.started"):
    task_id: str
    attempt: int
    idempotency_key: str
    status: AttemptStatus = AttemptStatus.CREATED


class ProcessGroupRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where an attempt's processes live, recorded once they exist: the process group id, the
    group leader's start time (clock ticks since boot, from /proc) and the machine's boot id.
    Whoever resumes the run kills that group before re-running the attempt; the start time and
    boot id make sure a pid reused by an unrelated process is never killed."""

    pgid: int
    start_ticks: int
    boot_id: str


class AttemptStatusChanged(EventBody, frozen=True, tag="attempt.status"):
    task_id: str
    attempt: int
    status: AttemptStatus
    external_id: str | None = None
    exit_code: int | None = None
    error: str | None = None
    output_tail: str | None = None
    usage: dict[str, float] = msgspec.field(default_factory=dict)
    # closed because the process driving it stopped, not by its operator: not a step
    by_restart: bool = False
    process: ProcessGroupRef | None = None  # with `running`: the attempt's process group
    # when it ended, if not when this was recorded: an attempt closed after a restart ended
    # when its runtime was last seen alive, not when the next one came up
    ended_at: float | None = None


class AttemptOutput(EventBody, frozen=True, tag="attempt.output"):
    """Lines a task printed, batched: output is the hottest event kind by far."""

    task_id: str
    attempt: int
    stream: str = "stdout"
    lines: list[str] = msgspec.field(default_factory=list)


class WaveCompleted(EventBody, frozen=True, tag="wave.completed"):
    wave: int
    failed: bool = False


# --- approvals, governance, audit, traces ----------------------------------------------------


class ApprovalRequested(EventBody, frozen=True, tag="approval.requested"):
    approval_id: str
    approval_kind: ApprovalKind
    task_id: str | None = None
    prompt: str = ""
    timeout_s: float | None = None
    default_action: ApprovalDecision = ApprovalDecision.REJECT
    unblocks: list[str] = msgspec.field(default_factory=list)
    # the run timeout left when the run began to wait (it does not run while it waits)
    run_time_left_s: float | None = None


class ApprovalDecided(EventBody, frozen=True, tag="approval.decided"):
    approval_id: str
    decision: ApprovalDecision
    reason: str = ""
    decided_by: str = ""
    edits: dict[str, Any] | None = None


class ViolationRecorded(EventBody, frozen=True, tag="violation.recorded"):
    violation: ViolationData
    action: ViolationAction


class IncidentOpened(EventBody, frozen=True, tag="incident.opened"):
    incident_id: str
    severity: ViolationSeverity
    title: str
    detail: str = ""


class ExpectationDeclared(EventBody, frozen=True, tag="audit.expected"):
    domain: str
    action: str
    deadline: float
    liveness: bool = False

    def to_expectation(self) -> AuditExpectation:
        return AuditExpectation(self.domain, self.action, self.deadline, self.liveness)


class AckRecorded(EventBody, frozen=True, tag="audit.acked"):
    domain: str
    action: str
    status: AckStatus
    result_id: str | None = None
    error: str | None = None

    def to_ack(self) -> DomainAck:
        return DomainAck(self.domain, self.action, self.status, self.result_id, self.error)


class SpanStarted(EventBody, frozen=True, tag="span.started"):
    span_id: str
    name: str
    parent_id: str | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class SpanEnded(EventBody, frozen=True, tag="span.ended"):
    span_id: str
    status: str = "ok"


Event = (
    RunCreated
    | PhaseChanged
    | RunStatusChanged
    | RunStopping
    | RunClaimed
    | RunTerminated
    | RunSummaryWritten
    | TaskDeclared
    | TaskStatusChanged
    | AttemptStarted
    | AttemptStatusChanged
    | AttemptOutput
    | WaveCompleted
    | ApprovalRequested
    | ApprovalDecided
    | ViolationRecorded
    | IncidentOpened
    | ExpectationDeclared
    | AckRecorded
    | SpanStarted
    | SpanEnded
)

EVENT_TYPES: tuple[type[EventBody], ...] = Event.__args__
#: kind string → body type, and back.
KIND_TO_TYPE: Mapping[str, type[EventBody]] = {
    t.__struct_config__.tag: t  # type: ignore[misc]
    for t in EVENT_TYPES
}
TYPE_TO_KIND: Mapping[type[EventBody], str] = {t: k for k, t in KIND_TO_TYPE.items()}


def kind_of(body: EventBody) -> str:
    return TYPE_TO_KIND[type(body)]


class EventEnvelope(msgspec.Struct, frozen=True):
    """An event as committed: its run, its gap-free sequence number in that run, and its time.

    `position` is the event's place in the whole database (for streams across all runs).
    """

    run_id: str
    seq: int
    ts: float
    body: Event
    wave_index: int | None = None
    position: int = 0

    @property
    def kind(self) -> str:
        return TYPE_TO_KIND[type(self.body)]


class PendingEvent(msgspec.Struct, frozen=True):
    """An event on its way to the store; the writer gives it its sequence number."""

    run_id: str
    body: Event
    ts: float
    wave_index: int | None = None


# One encoder and decoder for the whole process (msgspec's advice: build them once).
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(Event)
_JSON_ENCODER = msgspec.json.Encoder()
_FIELD_RE = re.compile(r"at `\$\.?([^`]*)`")
_MISSING_RE = re.compile(r"missing required field `([^`]*)`")


def encode_event(body: EventBody) -> bytes:
    return _ENCODER.encode(body)


def decode_event(payload: bytes) -> Event:
    """Decode a stored payload; malformed input raises `EventDecodeError` naming the field."""
    try:
        body: Event = _DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _FIELD_RE.search(text)
        path = m.group(1) if m else ""
        missing = _MISSING_RE.search(text)
        if missing:  # name the missing field itself, not just the object that lacks it
            path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        raise EventDecodeError(f"invalid event: {exc}", field=path or None) from None
    except msgspec.DecodeError as exc:
        raise EventDecodeError(f"undecodable event payload: {exc}") from None
    return body


def validated_payload(body: EventBody) -> bytes:
    """Encode `body` and prove it decodes back as the same type.

    msgspec does not validate at construction, so a struct built with a wrong value (an
    unknown status string, a str where an int belongs) would otherwise reach the store.
    """
    payload = _ENCODER.encode(body)
    decoded = decode_event(payload)
    if type(decoded) is not type(body):  # pragma: no cover - the tag makes this impossible
        raise EventDecodeError(f"event re-decoded as {type(decoded).__name__}")
    return payload


def event_to_json(body: EventBody) -> bytes:
    return _JSON_ENCODER.encode(body)
