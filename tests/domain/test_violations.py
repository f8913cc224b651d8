"""Violation types, severities, default actions, the worst one, and the pydantic model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from runtui.domain.violations import (
    SEVERITY_PRIORITY,
    PolicyViolationType,
    RunViolationInfo,
    ViolationAction,
    ViolationSeverity,
    default_action,
    worst_violation,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _data(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "policy_id": "pol-1",
        "policy_name": "token budget",
        "violation_type": "token_limit",
        "severity": "high",
        "step_index": 0,
        "timestamp": NOW,
        "threshold_value": 100.0,
        "actual_value": 120.0,
        "reason": "too many tokens",
    }
    data.update(kw)
    return data


def _v(severity: str, step: int, policy_id: str = "p") -> RunViolationInfo:
    return RunViolationInfo.model_validate(
        _data(severity=severity, step_index=step, policy_id=policy_id)
    )


def test_type_and_severity_values() -> None:
    assert {t.value for t in PolicyViolationType} == {
        "token_limit",
        "cost_limit",
        "rate_limit",
        "content_policy",
        "pii_detected",
        "safety_violation",
        "custom_rule",
    }
    assert {s.value for s in ViolationSeverity} == {"low", "medium", "high", "critical"}
    assert {a.value for a in ViolationAction} == {"stop", "approve", "warn"}


def test_severity_priority_exact() -> None:
    assert {s.value: p for s, p in SEVERITY_PRIORITY.items()} == {
        "critical": 4,
        "high": 3,
        "medium": 2,
        "low": 1,
    }


@pytest.mark.parametrize(
    ("severity", "action"),
    [("critical", "stop"), ("high", "approve"), ("medium", "warn"), ("low", "warn")],
)
def test_default_action(severity: str, action: str) -> None:
    assert default_action(ViolationSeverity(severity)) is ViolationAction(action)


def test_worst_violation_empty_is_none() -> None:
    assert worst_violation([]) is None
    assert worst_violation(iter(())) is None


def test_worst_violation_picks_highest_severity_in_any_order() -> None:
    vs = [_v("low", 0, "a"), _v("critical", 1, "b"), _v("medium", 2, "c"), _v("high", 3, "d")]
    for order in (vs, list(reversed(vs)), vs[1:] + vs[:1]):
        worst = worst_violation(order)
        assert worst is not None
        assert worst.policy_id == "b"
        assert worst.severity is ViolationSeverity.CRITICAL


def test_worst_violation_single() -> None:
    only = _v("low", 4)
    assert worst_violation([only]) is only


def test_worst_violation_tie_goes_to_earliest_step() -> None:
    early, late = _v("high", 2, "early"), _v("high", 5, "late")
    assert worst_violation([early, late]) is early
    assert worst_violation([late, early]) is early  # regardless of iteration order


def test_worst_violation_tie_same_step_keeps_first_seen() -> None:
    first, second = _v("medium", 1, "first"), _v("medium", 1, "second")
    assert worst_violation([first, second]) is first


def test_worst_violation_accepts_generator() -> None:
    worst = worst_violation(_v(s, i) for i, s in enumerate(["low", "high", "medium"]))
    assert worst is not None
    assert worst.severity is ViolationSeverity.HIGH


def test_model_parses_and_coerces() -> None:
    v = RunViolationInfo.model_validate(
        _data(timestamp="2024-05-01T12:00:00+00:00", threshold_value=None, actual_value=3)
    )
    assert v.violation_type is PolicyViolationType.TOKEN_LIMIT
    assert v.severity is ViolationSeverity.HIGH
    assert v.timestamp == NOW
    assert v.threshold_value is None
    assert v.actual_value == 3.0


def test_model_optional_fields_default_to_none() -> None:
    data = _data()
    del data["threshold_value"], data["actual_value"]
    v = RunViolationInfo.model_validate(data)
    assert v.threshold_value is None
    assert v.actual_value is None


@pytest.mark.parametrize(
    "field",
    [
        "policy_id",
        "policy_name",
        "violation_type",
        "severity",
        "step_index",
        "timestamp",
        "reason",
    ],
)
def test_model_required_fields(field: str) -> None:
    data = _data()
    del data[field]
    with pytest.raises(ValidationError) as info:
        RunViolationInfo.model_validate(data)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [((field,), "missing")]


def test_model_rejects_extra_field() -> None:
    with pytest.raises(ValidationError) as info:
        RunViolationInfo.model_validate(_data(action="stop"))
    errors = info.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [(("action",), "extra_forbidden")]
    assert "action" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("severity", "catastrophic"), ("violation_type", "bogus"), ("severity", "HIGH")],
)
def test_model_rejects_bad_enum_strings(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        RunViolationInfo.model_validate(_data(**{field: value}))
    errors = info.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [((field,), "enum")]
    assert field in str(info.value)


def test_model_rejects_non_integer_step() -> None:
    with pytest.raises(ValidationError) as info:
        RunViolationInfo.model_validate(_data(step_index="third"))
    assert [e["loc"] for e in info.value.errors()] == [("step_index",)]


def test_model_is_frozen_and_compares_by_value() -> None:
    v = RunViolationInfo.model_validate(_data())
    with pytest.raises(ValidationError) as info:
        v.step_index = 9  # type: ignore[misc]
    assert info.value.errors()[0]["type"] == "frozen_instance"
    assert v.step_index == 0
    same = RunViolationInfo.model_validate(_data())
    assert v == same
    later = RunViolationInfo.model_validate(_data(timestamp=NOW + timedelta(seconds=1)))
    assert v != later
