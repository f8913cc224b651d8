"""Termination reasons, their statuses, their precedence, and what a stopping violation records."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from runtui.domain.status import RunStatus
from runtui.domain.termination import (
    TERMINATION_TO_STATUS,
    VIOLATION_TERMINATION,
    RunTerminationInfo,
    RunTerminationReason,
    resolve_termination,
)
from runtui.domain.violations import PolicyViolationType, RunViolationInfo

R = RunTerminationReason

# DESIGN.md §2: the source's seven in precedence order (highest first); runtui's two extensions
# rank below the source's failures and above user_abort/completed.
PRECEDENCE = [
    "policy_block",
    "budget_exceeded",
    "rate_limited",
    "timeout",
    "system_failure",
    "task_failed",
    "approval_rejected",
    "user_abort",
    "completed",
]

EXPECTED_STATUS = {
    "completed": "succeeded",
    "policy_block": "failed_policy",
    "budget_exceeded": "failed",
    "rate_limited": "failed",
    "timeout": "failed",
    "system_failure": "failed",
    "task_failed": "failed",
    "approval_rejected": "failed",
    "user_abort": "cancelled",
}

EXPECTED_VIOLATION_TERMINATION = {
    "token_limit": "budget_exceeded",
    "cost_limit": "budget_exceeded",
    "rate_limit": "rate_limited",
    "content_policy": "policy_block",
    "pii_detected": "policy_block",
    "safety_violation": "policy_block",
    "custom_rule": "policy_block",
}

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_reason_values() -> None:
    assert {r.value for r in RunTerminationReason} == set(PRECEDENCE)


def test_termination_to_status_is_total_and_exact() -> None:
    assert set(TERMINATION_TO_STATUS) == set(RunTerminationReason)
    assert {r.value: s.value for r, s in TERMINATION_TO_STATUS.items()} == EXPECTED_STATUS


def test_every_termination_status_is_terminal() -> None:
    for status in TERMINATION_TO_STATUS.values():
        assert status.is_terminal


def test_resolve_empty_is_completed() -> None:
    assert resolve_termination([]) is R.COMPLETED
    assert resolve_termination(iter(())) is R.COMPLETED


@pytest.mark.parametrize("reason", list(RunTerminationReason), ids=lambda r: r.value)
def test_resolve_single(reason: RunTerminationReason) -> None:
    assert resolve_termination([reason]) is reason


@pytest.mark.parametrize(
    ("higher", "lower"),
    list(itertools.combinations(PRECEDENCE, 2)),
    ids=lambda v: v,
)
def test_resolve_pairwise_precedence(higher: str, lower: str) -> None:
    assert resolve_termination([R(higher), R(lower)]) is R(higher)
    assert resolve_termination([R(lower), R(higher)]) is R(higher)


def test_resolve_all_and_generator_and_duplicates() -> None:
    everything = list(RunTerminationReason)
    assert resolve_termination(everything) is R.POLICY_BLOCK
    assert resolve_termination(reversed(everything)) is R.POLICY_BLOCK
    assert resolve_termination(r for r in [R.TIMEOUT, R.USER_ABORT, R.TIMEOUT]) is R.TIMEOUT
    assert resolve_termination([R.COMPLETED, R.COMPLETED]) is R.COMPLETED


def test_resolve_timeout_racing_policy_block() -> None:
    assert resolve_termination([R.TIMEOUT, R.POLICY_BLOCK]) is R.POLICY_BLOCK


def test_resolve_user_abort_beats_completed_but_loses_to_failures() -> None:
    assert resolve_termination([R.COMPLETED, R.USER_ABORT]) is R.USER_ABORT
    assert resolve_termination([R.USER_ABORT, R.TASK_FAILED]) is R.TASK_FAILED
    assert resolve_termination([R.APPROVAL_REJECTED, R.USER_ABORT]) is R.APPROVAL_REJECTED


def test_violation_termination_mapping() -> None:
    assert set(VIOLATION_TERMINATION) == set(PolicyViolationType)
    assert {
        t.value: r.value for t, r in VIOLATION_TERMINATION.items()
    } == EXPECTED_VIOLATION_TERMINATION


def _violation(**kw: object) -> RunViolationInfo:
    data: dict[str, object] = {
        "policy_id": "pol-1",
        "policy_name": "tokens",
        "violation_type": "token_limit",
        "severity": "critical",
        "step_index": 3,
        "timestamp": NOW,
        "threshold_value": 1000.0,
        "actual_value": 1500.0,
        "reason": "over budget",
    }
    data.update(kw)
    return RunViolationInfo.model_validate(data)


@pytest.mark.parametrize("reason", list(RunTerminationReason), ids=lambda r: r.value)
def test_termination_info_status(reason: RunTerminationReason) -> None:
    info = RunTerminationInfo(termination_reason=reason, terminated_at=NOW)
    assert info.status is RunStatus(EXPECTED_STATUS[reason.value])


def test_termination_info_fields_and_defaults() -> None:
    info = RunTerminationInfo(termination_reason=R.TIMEOUT, terminated_at=NOW)
    assert info.stopped_at_step is None
    assert info.violation_info is None
    assert info.error_message is None

    v = _violation()
    full = RunTerminationInfo.model_validate(
        {
            "termination_reason": "budget_exceeded",
            "terminated_at": "2024-05-01T12:00:00Z",
            "stopped_at_step": 3,
            "violation_info": v.model_dump(),
            "error_message": "stopped",
        }
    )
    assert full.termination_reason is R.BUDGET_EXCEEDED
    assert full.terminated_at == NOW
    assert full.stopped_at_step == 3
    assert full.violation_info == v
    assert full.error_message == "stopped"
    assert full.status is RunStatus.FAILED


def test_termination_info_round_trips_through_json() -> None:
    info = RunTerminationInfo(
        termination_reason=R.POLICY_BLOCK,
        terminated_at=NOW,
        stopped_at_step=7,
        violation_info=_violation(violation_type="pii_detected"),
        error_message=None,
    )
    again = RunTerminationInfo.model_validate_json(info.model_dump_json())
    assert again == info


def test_termination_info_rejects_bad_reason() -> None:
    with pytest.raises(ValidationError) as info:
        RunTerminationInfo.model_validate({"termination_reason": "bogus", "terminated_at": NOW})
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("termination_reason",)]
    assert "termination_reason" in str(info.value)


def test_termination_info_rejects_extra_fields() -> None:
    with pytest.raises(ValidationError) as info:
        RunTerminationInfo.model_validate(
            {"termination_reason": "timeout", "terminated_at": NOW, "status": "failed"}
        )
    errors = info.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [(("status",), "extra_forbidden")]


def test_termination_info_rejects_nested_bad_violation() -> None:
    bad = _violation().model_dump()
    bad["severity"] = "apocalyptic"
    with pytest.raises(ValidationError) as info:
        RunTerminationInfo.model_validate(
            {"termination_reason": "policy_block", "terminated_at": NOW, "violation_info": bad}
        )
    assert [e["loc"] for e in info.value.errors()] == [("violation_info", "severity")]


def test_termination_info_requires_reason_and_time() -> None:
    with pytest.raises(ValidationError) as info:
        RunTerminationInfo.model_validate({})
    assert {e["loc"] for e in info.value.errors()} == {
        ("termination_reason",),
        ("terminated_at",),
    }


def test_termination_info_is_frozen() -> None:
    info = RunTerminationInfo(termination_reason=R.TIMEOUT, terminated_at=NOW)
    with pytest.raises(ValidationError):
        info.error_message = "x"  # type: ignore[misc]
    assert info.error_message is None


def test_a_task_failure_says_how_each_failed_task_ended_on_one_line() -> None:
    from runtui.domain.termination import task_failure_text

    assert task_failure_text(["build"], {"build": "exit 3"}) == "task failed: build (exit 3)"
    assert task_failure_text(["a", "b"], {"a": "boom\n  at line 2"}) == (
        "task failed: a (boom at line 2), b"
    )
    assert task_failure_text(["x"], {"x": "y" * 300}).endswith("y…)")
    assert task_failure_text(["old"]) == "task failed: old"  # a store without the reasons
