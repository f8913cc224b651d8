"""Event bodies: tagged-union round trips, validation on the way in, and schema evolution."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode
from runtui.domain.audit import AckStatus, AuditExpectation, DomainAck
from runtui.domain.errors import EventDecodeError, RuntuiError
from runtui.domain.events import (
    EVENT_TYPES,
    KIND_TO_TYPE,
    TYPE_TO_KIND,
    AckRecorded,
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    EventBody,
    EventEnvelope,
    ExpectationDeclared,
    IncidentOpened,
    PendingEvent,
    PhaseChanged,
    RunClaimed,
    RunCreated,
    RunStatusChanged,
    RunStopping,
    RunSummaryWritten,
    RunTerminated,
    SpanEnded,
    SpanStarted,
    TaskDeclared,
    TaskStatusChanged,
    ViolationData,
    ViolationRecorded,
    WaveCompleted,
    decode_event,
    encode_event,
    event_to_json,
    kind_of,
    validated_payload,
)
from runtui.domain.phases import PhaseMachine, RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult, RunSummary
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationInfo, RunTerminationReason
from runtui.domain.violations import (
    PolicyViolationType,
    RunViolationInfo,
    ViolationAction,
    ViolationSeverity,
)

T_START = 1_714_564_800.0  # 2024-05-01T12:00:00Z
T_END = T_START + 300.5

VIOLATION = ViolationData(
    policy_id="pol-tokens",
    policy_name="token budget",
    violation_type=PolicyViolationType.TOKEN_LIMIT,
    severity=ViolationSeverity.CRITICAL,
    step_index=4,
    at=T_START + 12.25,
    threshold_value=10_000.0,
    actual_value=12_345.0,
    reason="tokens over budget",
)

# One realistic, non-default-heavy instance of every event type.
SAMPLES: dict[type[EventBody], EventBody] = {
    RunCreated: RunCreated(
        workflow="ci.toml",
        hitl_mode=HitlMode.APPROVE_EACH_TASK,
        timeout_s=600.0,
        parent_run_id="run-parent",
        rewound_from_wave=2,
        retry_count=1,
        metadata={"user": "alice", "tags": ["nightly"], "n": 3},
    ),
    PhaseChanged: PhaseChanged(
        from_phase=RunPhase.EXECUTING,
        to_phase=RunPhase.GOVERNANCE_CHECK,
        reason="all waves done",
        metadata={"waves": 3},
    ),
    RunStatusChanged: RunStatusChanged(status=RunStatus.AWAITING_APPROVAL, reason="gate deploy"),
    RunStopping: RunStopping(reason=RunTerminationReason.TIMEOUT),
    RunClaimed: RunClaimed(
        owner="ab12",
        owner_label="pid 7 on box (runtui serve)",
        epoch=3,
        how="expired",
        previous="pid 6 on box (runtui serve)",
    ),
    RunTerminated: RunTerminated(
        reason=RunTerminationReason.BUDGET_EXCEEDED,
        stopped_at_step=4,
        violation=VIOLATION,
        error_message="stopped by policy pol-tokens",
    ),
    RunSummaryWritten: RunSummaryWritten(
        started_at=T_START,
        ended_at=T_END,
        result=RunResult.FAILED,
        failure_reason="task_failed",
        stages_executed=["build", "test"],
        stages_failed=["test"],
        retry_count=2,
        metadata={"workflow": "ci"},
    ),
    TaskDeclared: TaskDeclared(
        task_id="test",
        task_kind=TaskKind.SHELL,
        wave=1,
        needs=["build"],
        allow_failure=True,
        retries=3,
        spec={"cmd": "pytest -q", "env": {"CI": "1"}},
    ),
    TaskStatusChanged: TaskStatusChanged(
        task_id="test", status=TaskStatus.SKIPPED, reason="upstream failed"
    ),
    AttemptStarted: AttemptStarted(
        task_id="test",
        attempt=2,
        idempotency_key="run-1/test/2",
        status=AttemptStatus.SUBMITTED,
    ),
    AttemptStatusChanged: AttemptStatusChanged(
        task_id="test",
        attempt=2,
        status=AttemptStatus.FAILED,
        external_id="job-991",
        exit_code=1,
        error="exit 1",
        output_tail="FAILED tests/test_x.py",
        usage={"tokens": 1234.0, "cost_usd": 0.12},
    ),
    AttemptOutput: AttemptOutput(
        task_id="test", attempt=2, stream="stderr", lines=["line 1", "line 2 ünïcode"]
    ),
    WaveCompleted: WaveCompleted(wave=1, failed=True),
    ApprovalRequested: ApprovalRequested(
        approval_id="ap-1",
        approval_kind=ApprovalKind.VIOLATION,
        task_id="deploy",
        prompt="Allow deploy despite high-severity violation?",
        timeout_s=3600.0,
        default_action=ApprovalDecision.APPROVE,
        unblocks=["deploy", "notify"],
    ),
    ApprovalDecided: ApprovalDecided(
        approval_id="ap-1",
        decision=ApprovalDecision.APPROVE_WITH_EDITS,
        reason="ok with smaller batch",
        decided_by="bob",
        edits={"batch": 10},
    ),
    ViolationRecorded: ViolationRecorded(violation=VIOLATION, action=ViolationAction.STOP),
    IncidentOpened: IncidentOpened(
        incident_id="inc-7",
        severity=ViolationSeverity.HIGH,
        title="Task test failed",
        detail="exit code 1",
    ),
    ExpectationDeclared: ExpectationDeclared(
        domain="orchestrator", action="finalize_run", deadline=T_START + 35.0, liveness=True
    ),
    AckRecorded: AckRecorded(
        domain="incidents",
        action="create_incident",
        status=AckStatus.ROLLED_BACK,
        result_id="inc-7",
        error="rolled back",
    ),
    SpanStarted: SpanStarted(
        span_id="sp-2", name="wave 1", parent_id="sp-1", attributes={"wave": 1}
    ),
    SpanEnded: SpanEnded(span_id="sp-2", status="error"),
}

EXPECTED_KINDS = {
    "run.created",
    "phase.changed",
    "run.status",
    "run.stopping",
    "run.claimed",
    "run.terminated",
    "run.summary",
    "task.declared",
    "task.status",
    "attempt.started",
    "attempt.status",
    "attempt.output",
    "wave.completed",
    "approval.requested",
    "approval.decided",
    "violation.recorded",
    "incident.opened",
    "audit.expected",
    "audit.acked",
    "span.started",
    "span.ended",
}


def _mp(obj: object) -> bytes:
    return msgspec.msgpack.encode(obj)


# --- registry ---------------------------------------------------------------------------------


def test_samples_cover_every_event_type() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 21


def test_kind_registry_is_complete_and_unique() -> None:
    assert set(KIND_TO_TYPE.values()) == set(EVENT_TYPES)
    assert len(KIND_TO_TYPE) == len(EVENT_TYPES)  # no two types share a kind
    assert set(KIND_TO_TYPE) == EXPECTED_KINDS
    assert {t: k for k, t in KIND_TO_TYPE.items()} == dict(TYPE_TO_KIND)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", list(SAMPLES.values()), ids=lambda b: type(b).__name__)
def test_round_trip(body: EventBody) -> None:
    payload = validated_payload(body)
    assert payload == encode_event(body)
    decoded = decode_event(payload)
    assert type(decoded) is type(body)
    assert decoded == body
    assert kind_of(decoded) == kind_of(body)
    # The tag travels inside the payload.
    raw = msgspec.msgpack.decode(payload)
    assert raw["kind"] == kind_of(body)


@pytest.mark.parametrize("body", list(SAMPLES.values()), ids=lambda b: type(b).__name__)
def test_json_form_carries_kind(body: EventBody) -> None:
    data = msgspec.json.decode(event_to_json(body))
    assert data["kind"] == kind_of(body)


@pytest.mark.parametrize("event_type", list(EVENT_TYPES), ids=lambda t: t.__name__)
def test_minimal_instances_round_trip(event_type: type[EventBody]) -> None:
    # Only required fields set: defaults are omitted on the wire and restored on decode.
    body = SAMPLES[event_type]
    required = {
        f.name: getattr(body, f.name) for f in msgspec.structs.fields(event_type) if f.required
    }
    minimal = event_type(**required)
    payload = validated_payload(minimal)
    assert set(msgspec.msgpack.decode(payload)) == {"kind", *required}
    assert decode_event(payload) == minimal


def test_defaults_are_omitted_on_the_wire() -> None:
    raw = msgspec.msgpack.decode(validated_payload(RunCreated(workflow="w")))
    assert raw == {"kind": "run.created", "workflow": "w"}


def test_envelope_round_trip() -> None:
    env = EventEnvelope(
        run_id="run-1", seq=7, ts=T_START, body=SAMPLES[TaskStatusChanged], wave_index=1
    )
    again = msgspec.msgpack.decode(msgspec.msgpack.encode(env), type=EventEnvelope)
    assert again == env
    assert again.kind == "task.status"
    assert again.position == 0
    pending = PendingEvent(run_id="run-1", body=SAMPLES[WaveCompleted], ts=T_START)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(pending), type=PendingEvent) == pending


def test_phase_changed_of_transition() -> None:
    m = PhaseMachine("r")
    step = m.transition(RunPhase.AUTHORIZED, at=1.0, reason="policy ok", metadata={"p": 1})
    ev = PhaseChanged.of(step)
    assert ev == PhaseChanged(
        from_phase=RunPhase.CREATED,
        to_phase=RunPhase.AUTHORIZED,
        reason="policy ok",
        metadata={"p": 1},
    )
    assert decode_event(validated_payload(ev)) == ev


def test_audit_event_conversions() -> None:
    exp = SAMPLES[ExpectationDeclared]
    assert isinstance(exp, ExpectationDeclared)
    assert exp.to_expectation() == AuditExpectation(
        "orchestrator", "finalize_run", T_START + 35.0, True
    )
    ack = SAMPLES[AckRecorded]
    assert isinstance(ack, AckRecorded)
    assert ack.to_ack() == DomainAck(
        "incidents", "create_incident", AckStatus.ROLLED_BACK, "inc-7", "rolled back"
    )


# --- refusing bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1",
        b"\xc1garbage bytes",
        b"not msgpack at all \xff\xfe",
        b"\x85",  # map header promising 5 entries, none present
    ],
)
def test_decode_garbage_bytes(payload: bytes) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode_event(payload)
    assert isinstance(info.value, RuntuiError)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_mp(42), None),
        (_mp(["run.created", "w"]), None),
        (_mp({"workflow": "w"}), "kind"),
        (_mp({"kind": "run.nope", "workflow": "w"}), "kind"),
        (_mp({"kind": "run.created"}), "workflow"),
        (_mp({"kind": "run.status", "status": "done"}), "status"),
        (_mp({"kind": "wave.completed", "wave": "one"}), "wave"),
        (_mp({"kind": "attempt.output", "task_id": "t", "attempt": 1, "lines": [1]}), "lines[0]"),
        (
            _mp({"kind": "violation.recorded", "violation": {"policy_id": "p"}, "action": "stop"}),
            "violation.policy_name",
        ),
    ],
)
def test_decode_invalid_structure_names_field(payload: bytes, field: str | None) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode_event(payload)
    assert info.value.field == field
    if field is not None:
        assert field.split(".")[-1].split("[")[0] in str(info.value)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (RunStatusChanged(status="bogus"), "status"),  # type: ignore[arg-type]
        (TaskStatusChanged(task_id=3, status="done"), "task_id"),  # type: ignore[arg-type]
        (TaskStatusChanged(task_id="t", status="finished"), "status"),  # type: ignore[arg-type]
        (PhaseChanged(from_phase="CREATED", to_phase="DONE"), "to_phase"),  # type: ignore[arg-type]
        (WaveCompleted(wave="2"), "wave"),  # type: ignore[arg-type]
        (RunCreated(workflow="w", hitl_mode="approve_all"), "hitl_mode"),  # type: ignore[arg-type]
        (
            ViolationRecorded(
                violation=ViolationData(
                    policy_id="p",
                    policy_name="n",
                    violation_type="token_limit",  # type: ignore[arg-type]
                    severity="catastrophic",  # type: ignore[arg-type]
                    step_index=0,
                    at=0.0,
                    reason="r",
                ),
                action=ViolationAction.WARN,
            ),
            "violation.severity",
        ),
    ],
)
def test_validated_payload_refuses_wrong_values(body: EventBody, field: str) -> None:
    with pytest.raises(EventDecodeError) as info:
        validated_payload(body)
    assert info.value.field == field
    assert field in str(info.value)


def test_plain_strings_that_are_valid_still_pass() -> None:
    # msgspec does not coerce at construction; a correct string value must still validate and
    # come back as the enum member.
    body = RunStatusChanged(status="running")  # type: ignore[arg-type]
    decoded = decode_event(validated_payload(body))
    assert isinstance(decoded, RunStatusChanged)
    assert decoded.status is RunStatus.RUNNING


# --- schema evolution -------------------------------------------------------------------------


def test_old_payload_missing_defaulted_fields_decodes() -> None:
    old = _mp({"kind": "run.created", "workflow": "legacy.toml"})
    decoded = decode_event(old)
    assert decoded == RunCreated(workflow="legacy.toml")
    assert isinstance(decoded, RunCreated)
    assert decoded.hitl_mode is HitlMode.NONE
    assert decoded.retry_count == 0
    assert decoded.metadata == {}
    assert decoded.parent_run_id is None


def test_old_attempt_status_payload_without_usage_decodes() -> None:
    old = _mp({"kind": "attempt.status", "task_id": "t", "attempt": 0, "status": "completed"})
    decoded = decode_event(old)
    assert isinstance(decoded, AttemptStatusChanged)
    assert decoded.usage == {}
    assert decoded.exit_code is None


def test_newer_payload_with_unknown_field_still_decodes() -> None:
    newer = _mp({"kind": "wave.completed", "wave": 3, "added_in_v2": {"x": 1}})
    assert decode_event(newer) == WaveCompleted(wave=3)


# --- conversions to the source's pydantic models ----------------------------------------------


def test_violation_data_to_info() -> None:
    info = VIOLATION.to_info()
    assert isinstance(info, RunViolationInfo)
    assert info == RunViolationInfo(
        policy_id="pol-tokens",
        policy_name="token budget",
        violation_type=PolicyViolationType.TOKEN_LIMIT,
        severity=ViolationSeverity.CRITICAL,
        step_index=4,
        timestamp=datetime(2024, 5, 1, 12, 0, 12, 250000, tzinfo=UTC),
        threshold_value=10_000.0,
        actual_value=12_345.0,
        reason="tokens over budget",
    )
    assert info.timestamp.tzinfo is not None


def test_run_terminated_to_info_with_violation() -> None:
    body = SAMPLES[RunTerminated]
    assert isinstance(body, RunTerminated)
    info = body.to_info(at=T_END)
    assert isinstance(info, RunTerminationInfo)
    assert info.termination_reason is RunTerminationReason.BUDGET_EXCEEDED
    assert info.terminated_at == datetime(2024, 5, 1, 12, 5, 0, 500000, tzinfo=UTC)
    assert info.stopped_at_step == 4
    assert info.violation_info == VIOLATION.to_info()
    assert info.error_message == "stopped by policy pol-tokens"
    assert info.status is RunStatus.FAILED


def test_run_terminated_to_info_without_violation() -> None:
    info = RunTerminated(reason=RunTerminationReason.USER_ABORT).to_info(at=T_START)
    assert info == RunTerminationInfo(
        termination_reason=RunTerminationReason.USER_ABORT,
        terminated_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    assert info.status is RunStatus.CANCELLED


def test_run_summary_written_to_summary() -> None:
    body = SAMPLES[RunSummaryWritten]
    assert isinstance(body, RunSummaryWritten)
    summary = body.to_summary("run-9")
    assert summary == RunSummary(
        run_id="run-9",
        started_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        ended_at=datetime(2024, 5, 1, 12, 5, 0, 500000, tzinfo=UTC),
        result=RunResult.FAILED,
        failure_reason="task_failed",
        stages_executed=["build", "test"],
        stages_failed=["test"],
        retry_count=2,
        metadata={"workflow": "ci"},
    )
    # The summary owns copies: mutating it leaves the event untouched.
    summary.stages_executed.append("deploy")
    summary.metadata["x"] = 1
    assert body.stages_executed == ["build", "test"]
    assert body.metadata == {"workflow": "ci"}


def test_structs_are_frozen() -> None:
    body = SAMPLES[WaveCompleted]
    with pytest.raises(AttributeError):
        body.wave = 9  # type: ignore[attr-defined]
