"""Run history: result buckets and the RunSummary record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from runtui.domain.status import RunStatus
from runtui.domain.summary import STATUS_TO_RESULT, RunResult, RunSummary, result_for_status

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
END = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)

EXPECTED_RESULT = {
    "succeeded": "success",
    "failed": "failed",
    "failed_policy": "failed",
    "cancelled": "stopped",
}


def test_result_values() -> None:
    assert {r.value for r in RunResult} == {"success", "failed", "stopped"}


def test_status_to_result_exact() -> None:
    assert {s.value: r.value for s, r in STATUS_TO_RESULT.items()} == EXPECTED_RESULT


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
def test_result_for_status(status: RunStatus) -> None:
    result = result_for_status(status)
    if status.value in EXPECTED_RESULT:
        assert result is RunResult(EXPECTED_RESULT[status.value])
    else:
        assert result is None  # a live run has no result yet
    assert (result is not None) == status.is_terminal


def test_summary_defaults() -> None:
    s = RunSummary(run_id="r1", started_at=START, ended_at=END, result=RunResult.SUCCESS)
    assert s.failure_reason is None
    assert s.stages_executed == []
    assert s.stages_failed == []
    assert s.retry_count == 0
    assert s.metadata == {}


def test_summary_defaults_are_not_shared() -> None:
    a = RunSummary(run_id="a", started_at=START, ended_at=END, result=RunResult.SUCCESS)
    b = RunSummary(run_id="b", started_at=START, ended_at=END, result=RunResult.SUCCESS)
    a.stages_executed.append("x")
    assert b.stages_executed == []


def test_summary_full_and_json_round_trip() -> None:
    s = RunSummary.model_validate(
        {
            "run_id": "r2",
            "started_at": "2024-05-01T12:00:00Z",
            "ended_at": "2024-05-01T12:05:00Z",
            "result": "failed",
            "failure_reason": "task_failed",
            "stages_executed": ["build", "test"],
            "stages_failed": ["test"],
            "retry_count": 2,
            "metadata": {"workflow": "ci"},
        }
    )
    assert s.result is RunResult.FAILED
    assert s.started_at == START
    assert s.ended_at == END
    assert s.stages_failed == ["test"]
    assert s.retry_count == 2
    assert RunSummary.model_validate_json(s.model_dump_json()) == s


def test_summary_rejects_bad_result_and_extra() -> None:
    base = {"run_id": "r", "started_at": START, "ended_at": END}
    with pytest.raises(ValidationError) as info:
        RunSummary.model_validate({**base, "result": "succeeded"})  # a status, not a result
    assert [e["loc"] for e in info.value.errors()] == [("result",)]
    with pytest.raises(ValidationError) as info:
        RunSummary.model_validate({**base, "result": "success", "status": "succeeded"})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [
        (("status",), "extra_forbidden")
    ]


def test_summary_is_frozen() -> None:
    s = RunSummary(run_id="r", started_at=START, ended_at=END, result=RunResult.STOPPED)
    with pytest.raises(ValidationError):
        s.result = RunResult.SUCCESS  # type: ignore[misc]
    assert s.result is RunResult.STOPPED
