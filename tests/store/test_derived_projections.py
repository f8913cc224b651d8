"""Facts the store derives from attempt events instead of recording them twice.

`attempt.started` makes its task `running` and opens the attempt's span; the attempt's final
`attempt.status` closes that span. Logs written before this was derived also carry
`task.status running` and `span.started`/`span.ended` for attempts: they must replay to the
same tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runtui.domain.events import (
    AttemptStarted,
    AttemptStatusChanged,
    EventBody,
    PendingEvent,
    RunCreated,
    SpanEnded,
    SpanStarted,
    TaskDeclared,
    TaskStatusChanged,
)
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.store import open_store

pytestmark = pytest.mark.anyio


def _one(db: Path, sql: str, params: tuple[object, ...]) -> tuple[object, ...]:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(sql, params).fetchone()
    finally:
        conn.close()
    assert row is not None, f"no row for {sql} {params}"
    return tuple(row)


def _at(run: str, body: EventBody, ts: float) -> PendingEvent:
    return PendingEvent(run, body, ts, 0)  # type: ignore[arg-type]


SPAN = (
    "SELECT parent_id, name, started_at, ended_at, status FROM spans WHERE run_id=? AND span_id=?"
)
TASK = "SELECT status, attempts FROM tasks WHERE run_id=? AND task_id=?"


async def test_attempt_events_drive_task_status_and_the_attempt_span(db_path: Path) -> None:
    async with open_store(db_path) as store:
        w = store.writer
        await w.append_many(
            [
                _at("r", RunCreated(workflow="w"), 1.0),
                _at("r", TaskDeclared(task_id="t", task_kind=TaskKind.NOOP, wave=0), 1.0),
            ]
        )
        await w.append_many(
            [_at("r", AttemptStarted(task_id="t", attempt=0, idempotency_key="k"), 2.0)]
        )
        assert _one(db_path, TASK, ("r", "t")) == ("running", 1)
        assert _one(db_path, SPAN, ("r", "attempt:t:0")) == (
            "phase:EXECUTING",
            "attempt t#0",
            2.0,
            None,
            None,
        )
        # a non-final status (waiting on an external job) leaves the span open
        await w.append_many(
            [
                _at(
                    "r",
                    AttemptStatusChanged(
                        task_id="t", attempt=0, status=AttemptStatus.WAITING_EXTERNAL
                    ),
                    3.0,
                )
            ]
        )
        assert _one(db_path, SPAN, ("r", "attempt:t:0"))[3:] == (None, None)
        await w.append_many(
            [
                _at(
                    "r",
                    AttemptStatusChanged(task_id="t", attempt=0, status=AttemptStatus.FAILED),
                    4.0,
                ),
                _at("r", AttemptStarted(task_id="t", attempt=1, idempotency_key="k1"), 5.0),
            ]
        )
        assert _one(db_path, SPAN, ("r", "attempt:t:0"))[3:] == (4.0, "failed")
        assert _one(db_path, SPAN, ("r", "attempt:t:1"))[2:] == (5.0, None, None)
        assert _one(db_path, TASK, ("r", "t")) == ("running", 2)
        report = await store.replay("r")
        assert report.matches, report.differences


async def test_a_log_that_also_records_attempt_spans_and_running_replays_the_same(
    db_path: Path,
) -> None:
    span = "attempt:t:0"
    async with open_store(db_path) as store:
        await store.writer.append_many(
            [
                _at("r", RunCreated(workflow="w"), 1.0),
                _at("r", TaskDeclared(task_id="t", task_kind=TaskKind.NOOP, wave=0), 1.0),
                _at("r", TaskStatusChanged(task_id="t", status=TaskStatus.RUNNING), 2.0),
                _at("r", AttemptStarted(task_id="t", attempt=0, idempotency_key="k"), 2.0),
                _at(
                    "r",
                    SpanStarted(span_id=span, name="attempt t#0", parent_id="phase:EXECUTING"),
                    2.0,
                ),
                _at(
                    "r",
                    AttemptStatusChanged(task_id="t", attempt=0, status=AttemptStatus.COMPLETED),
                    3.0,
                ),
                _at("r", SpanEnded(span_id=span, status="completed"), 3.0),
                _at("r", TaskStatusChanged(task_id="t", status=TaskStatus.DONE), 3.0),
            ]
        )
        assert _one(db_path, SPAN, ("r", span)) == (
            "phase:EXECUTING",
            "attempt t#0",
            2.0,
            3.0,
            "completed",
        )
        assert _one(db_path, TASK, ("r", "t")) == ("done", 1)
        report = await store.replay("r")
        assert report.matches, report.differences
