"""The column lists the read models are built from (their order is `from_row`'s order)."""

from __future__ import annotations

from runtui.domain.views import (
    ApprovalRow,
    AttemptRow,
    AuditRows,
    IncidentRow,
    RunPage,
    RunRow,
    TaskRow,
    ViolationRow,
)

RUN_COLUMNS = (
    "run_id, workflow, created_at, updated_at, phase, status, wave_index, hitl_mode, timeout_s,"
    " parent_run_id, rewound_from_wave, retry_count, termination_reason, terminated_at,"
    " stopped_at_step, error_message, worst_severity, worst_violation, result, ended_at,"
    " last_seq, metadata, wave_count"
)

APPROVAL_COLUMNS = (
    "approval_id, run_id, kind, task_id, prompt, requested_at, timeout_s, default_action,"
    " unblocks, decision, reason, decided_by, decided_at, edits, run_time_left_s"
)

__all__ = [
    "APPROVAL_COLUMNS",
    "RUN_COLUMNS",
    "ApprovalRow",
    "AttemptRow",
    "AuditRows",
    "IncidentRow",
    "RunPage",
    "RunRow",
    "TaskRow",
    "ViolationRow",
]
