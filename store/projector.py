"""Projections: the queryable tables derived from events.

`project` applies committed-to-be events to the projection tables inside the caller's
transaction. It is the only code that writes projections, and it uses nothing but the events,
which is what makes `replay` (projecting a run's events into an empty database) a faithful
rebuild. `attempt.output` has no projection: the events table is already the log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from runtui.domain.events import (
    AckRecorded,
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    EventEnvelope,
    ExpectationDeclared,
    IncidentOpened,
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
    ViolationRecorded,
    WaveCompleted,
)
from runtui.domain.spans import EXECUTING_SPAN, attempt_span_id, attempt_span_name
from runtui.domain.tasks import TaskStatus
from runtui.domain.violations import SEVERITY_PRIORITY

_json = msgspec.json.Encoder()


def _j(value: Any) -> str:
    return _json.encode(value).decode()


def _run_created(c: sqlite3.Cursor, e: EventEnvelope, b: RunCreated) -> None:
    c.execute(
        "INSERT INTO runs (run_id, workflow, created_at, updated_at, hitl_mode, timeout_s,"
        " parent_run_id, rewound_from_wave, retry_count, metadata)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            e.run_id,
            b.workflow,
            e.ts,
            e.ts,
            b.hitl_mode.value,
            b.timeout_s,
            b.parent_run_id,
            b.rewound_from_wave,
            b.retry_count,
            _j(b.metadata),
        ),
    )


def _phase_changed(c: sqlite3.Cursor, e: EventEnvelope, b: PhaseChanged) -> None:
    c.execute(
        "INSERT INTO phase_transitions VALUES (?,?,?,?,?,?,?)",
        (e.run_id, e.seq, b.from_phase.value, b.to_phase.value, e.ts, b.reason, _j(b.metadata)),
    )
    c.execute("UPDATE runs SET phase=? WHERE run_id=?", (b.to_phase.value, e.run_id))


def _run_status(c: sqlite3.Cursor, e: EventEnvelope, b: RunStatusChanged) -> None:
    c.execute("UPDATE runs SET status=? WHERE run_id=?", (b.status.value, e.run_id))


def _run_terminated(c: sqlite3.Cursor, e: EventEnvelope, b: RunTerminated) -> None:
    c.execute(
        "UPDATE runs SET termination_reason=?, terminated_at=?, stopped_at_step=?,"
        " error_message=? WHERE run_id=?",
        (b.reason.value, e.ts, b.stopped_at_step, b.error_message, e.run_id),
    )


def _run_summary(c: sqlite3.Cursor, e: EventEnvelope, b: RunSummaryWritten) -> None:
    c.execute(
        "INSERT INTO run_summaries VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (run_id) DO UPDATE"
        " SET started_at = excluded.started_at, ended_at = excluded.ended_at,"
        " result = excluded.result, failure_reason = excluded.failure_reason,"
        " stages_executed = excluded.stages_executed, stages_failed = excluded.stages_failed,"
        " retry_count = excluded.retry_count, metadata = excluded.metadata",
        (
            e.run_id,
            b.started_at,
            b.ended_at,
            b.result.value,
            b.failure_reason,
            _j(b.stages_executed),
            _j(b.stages_failed),
            b.retry_count,
            _j(b.metadata),
        ),
    )
    c.execute(
        "UPDATE runs SET result=?, ended_at=? WHERE run_id=?",
        (b.result.value, b.ended_at, e.run_id),
    )


def _task_declared(c: sqlite3.Cursor, e: EventEnvelope, b: TaskDeclared) -> None:
    c.execute(
        "INSERT INTO tasks (run_id, task_id, kind, wave, needs, allow_failure, retries, spec,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            e.run_id,
            b.task_id,
            b.task_kind.value,
            b.wave,
            _j(b.needs),
            int(b.allow_failure),
            b.retries,
            _j(b.spec),
            e.ts,
        ),
    )
    c.execute(
        "UPDATE runs SET wave_count=CASE WHEN wave_count IS NULL OR wave_count < ? THEN ?"
        " ELSE wave_count END WHERE run_id=?",
        (b.wave + 1, b.wave + 1, e.run_id),
    )


def _task_status(c: sqlite3.Cursor, e: EventEnvelope, b: TaskStatusChanged) -> None:
    c.execute(
        "UPDATE tasks SET status=?, updated_at=? WHERE run_id=? AND task_id=?",
        (b.status.value, e.ts, e.run_id, b.task_id),
    )


def _attempt_started(c: sqlite3.Cursor, e: EventEnvelope, b: AttemptStarted) -> None:
    """An attempt starting makes its task `running` and opens the attempt's span."""
    c.execute(
        "INSERT INTO attempts (run_id, task_id, attempt, status, idempotency_key, started_at)"
        " VALUES (?,?,?,?,?,?)",
        (e.run_id, b.task_id, b.attempt, b.status.value, b.idempotency_key, e.ts),
    )
    c.execute(
        "UPDATE tasks SET status=?, attempts=CASE WHEN attempts > CAST(? AS BIGINT)"
        " THEN attempts ELSE ? END, updated_at=? WHERE run_id=? AND task_id=?",
        (TaskStatus.RUNNING.value, b.attempt + 1, b.attempt + 1, e.ts, e.run_id, b.task_id),
    )
    # Logs written before attempt spans were derived also hold span.started for the same
    # span: whichever comes first wins, so replaying them gives the same table.
    c.execute(
        "INSERT INTO spans (run_id, span_id, parent_id, name, started_at, attributes)"
        " VALUES (?,?,?,?,?,'{}') ON CONFLICT DO NOTHING",
        (
            e.run_id,
            attempt_span_id(b.task_id, b.attempt),
            EXECUTING_SPAN,
            attempt_span_name(b.task_id, b.attempt),
            e.ts,
        ),
    )


def _attempt_status(c: sqlite3.Cursor, e: EventEnvelope, b: AttemptStatusChanged) -> None:
    c.execute(
        "UPDATE attempts SET status=?, external_id=COALESCE(?, external_id),"
        " exit_code=COALESCE(?, exit_code), error=COALESCE(?, error),"
        " output_tail=COALESCE(?, output_tail),"
        " usage=CASE WHEN ? = '{}' THEN usage ELSE ? END,"
        " ended_at=CASE WHEN ? = 1 THEN ? ELSE ended_at END"
        " WHERE run_id=? AND task_id=? AND attempt=?",
        (
            b.status.value,
            b.external_id,
            b.exit_code,
            b.error,
            b.output_tail,
            usage := _j(b.usage),
            usage,
            int(b.status.is_final),
            ended := (e.ts if b.ended_at is None else b.ended_at),
            e.run_id,
            b.task_id,
            b.attempt,
        ),
    )
    if b.status.is_final:  # the attempt's span ends with it
        c.execute(
            "UPDATE spans SET ended_at=?, status=? WHERE run_id=? AND span_id=?",
            (ended, b.status.value, e.run_id, attempt_span_id(b.task_id, b.attempt)),
        )


def _attempt_output(c: sqlite3.Cursor, e: EventEnvelope, b: AttemptOutput) -> None:
    return None


def _wave_completed(c: sqlite3.Cursor, e: EventEnvelope, b: WaveCompleted) -> None:
    return None


def _kernel_note(c: sqlite3.Cursor, e: EventEnvelope, b: RunStopping) -> None:
    return None  # read back from the events by whoever resumes the run


def _approval_requested(c: sqlite3.Cursor, e: EventEnvelope, b: ApprovalRequested) -> None:
    c.execute(
        "INSERT INTO approvals (approval_id, run_id, kind, task_id, prompt, requested_at,"
        " timeout_s, default_action, unblocks, run_time_left_s) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            b.approval_id,
            e.run_id,
            b.approval_kind.value,
            b.task_id,
            b.prompt,
            e.ts,
            b.timeout_s,
            b.default_action.value,
            _j(b.unblocks),
            b.run_time_left_s,
        ),
    )


def _approval_decided(c: sqlite3.Cursor, e: EventEnvelope, b: ApprovalDecided) -> None:
    c.execute(
        "UPDATE approvals SET decision=?, reason=?, decided_by=?, decided_at=?, edits=?"
        " WHERE approval_id=? AND decision IS NULL",
        (
            b.decision.value,
            b.reason,
            b.decided_by,
            e.ts,
            None if b.edits is None else _j(b.edits),
            b.approval_id,
        ),
    )


def _violation(c: sqlite3.Cursor, e: EventEnvelope, b: ViolationRecorded) -> None:
    v = b.violation
    c.execute(
        "INSERT INTO violations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            e.run_id,
            e.seq,
            v.policy_id,
            v.policy_name,
            v.violation_type.value,
            v.severity.value,
            v.step_index,
            v.at,
            v.threshold_value,
            v.actual_value,
            v.reason,
            b.action.value,
            v.task_id,
            v.attempt,
        ),
    )
    c.execute(
        "UPDATE runs SET worst_severity=?, worst_violation=? WHERE run_id=? AND worst_severity<?",
        (
            prio := SEVERITY_PRIORITY[v.severity],
            v.violation_type.value,
            e.run_id,
            prio,
        ),
    )


def _incident(c: sqlite3.Cursor, e: EventEnvelope, b: IncidentOpened) -> None:
    c.execute(
        "INSERT INTO incidents VALUES (?,?,?,?,?,?)",
        (b.incident_id, e.run_id, e.ts, b.severity.value, b.title, b.detail),
    )


def _expectation(c: sqlite3.Cursor, e: EventEnvelope, b: ExpectationDeclared) -> None:
    c.execute(
        "INSERT INTO audit_expectations VALUES (?,?,?,?,?,?) ON CONFLICT (run_id, domain, action)"
        " DO UPDATE SET deadline = excluded.deadline, liveness = excluded.liveness,"
        " declared_at = excluded.declared_at",
        (e.run_id, b.domain, b.action, b.deadline, int(b.liveness), e.ts),
    )


def _ack(c: sqlite3.Cursor, e: EventEnvelope, b: AckRecorded) -> None:
    c.execute(
        "INSERT INTO audit_acks VALUES (?,?,?,?,?,?,?,?)",
        (e.run_id, e.seq, b.domain, b.action, b.status.value, b.result_id, b.error, e.ts),
    )


def _span_started(c: sqlite3.Cursor, e: EventEnvelope, b: SpanStarted) -> None:
    c.execute(
        "INSERT INTO spans (run_id, span_id, parent_id, name, started_at, attributes)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (e.run_id, b.span_id, b.parent_id, b.name, e.ts, _j(b.attributes)),
    )


def _span_ended(c: sqlite3.Cursor, e: EventEnvelope, b: SpanEnded) -> None:
    c.execute(
        "UPDATE spans SET ended_at=?, status=? WHERE run_id=? AND span_id=?",
        (e.ts, b.status, e.run_id, b.span_id),
    )


_Handler = Callable[[sqlite3.Cursor, EventEnvelope, Any], None]

HANDLERS: dict[type, _Handler] = {
    RunCreated: _run_created,
    PhaseChanged: _phase_changed,
    RunStatusChanged: _run_status,
    RunStopping: _kernel_note,
    RunTerminated: _run_terminated,
    RunSummaryWritten: _run_summary,
    TaskDeclared: _task_declared,
    TaskStatusChanged: _task_status,
    AttemptStarted: _attempt_started,
    AttemptStatusChanged: _attempt_status,
    AttemptOutput: _attempt_output,
    WaveCompleted: _wave_completed,
    ApprovalRequested: _approval_requested,
    ApprovalDecided: _approval_decided,
    ViolationRecorded: _violation,
    IncidentOpened: _incident,
    ExpectationDeclared: _expectation,
    AckRecorded: _ack,
    SpanStarted: _span_started,
    SpanEnded: _span_ended,
}

#: Event kinds whose projection is a no-op; the writer skips the call on the hot path.
NO_PROJECTION: frozenset[type] = frozenset({AttemptOutput, WaveCompleted, RunStopping, RunClaimed})


#: Task statuses that say nothing ran in a wave: a cancel or a failure skips the later waves'
#: tasks, and those events must not move the run "to" the last wave.
_NOT_STARTED = frozenset({TaskStatus.PENDING, TaskStatus.SKIPPED, TaskStatus.CANCELLED})


def _reaches_its_wave(body: object) -> bool:
    """Whether an event carrying a wave index means work started in that wave."""
    if type(body) is TaskStatusChanged:
        return body.status not in _NOT_STARTED
    return type(body) is not WaveCompleted


def project(cur: sqlite3.Cursor, events: Iterable[EventEnvelope]) -> None:
    """Apply `events` (in order) to the projections, then bump each run's bookkeeping.

    `runs.last_seq`, `updated_at` and `wave_index` (the furthest wave where work started) change
    on almost every event, so they are written once per run per batch instead of per event.
    """
    latest: dict[str, tuple[int, float, int | None]] = {}
    for env in events:
        body_type = type(env.body)
        if body_type not in NO_PROJECTION:
            HANDLERS[body_type](cur, env, env.body)
        prev = latest.get(env.run_id)
        wave = env.wave_index if _reaches_its_wave(env.body) else None
        if prev is not None and prev[2] is not None and (wave is None or prev[2] > wave):
            wave = prev[2]
        latest[env.run_id] = (env.seq, env.ts, wave)
    cur.executemany(
        "UPDATE runs SET last_seq=?, updated_at=?, wave_index=CASE"
        " WHEN CAST(? AS BIGINT) IS NULL THEN wave_index"
        " WHEN wave_index IS NULL OR wave_index < ? THEN ? ELSE wave_index END"
        " WHERE run_id=?",
        [(seq, ts, wave, wave, wave, run_id) for run_id, (seq, ts, wave) in latest.items()],
    )
