"""parse_enum and the Durability enum."""

from __future__ import annotations

import pytest

from runtui.domain.enums import Durability, parse_enum
from runtui.domain.errors import RuntuiError, UnknownValueError
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus


def test_durability_values() -> None:
    assert {d.value for d in Durability} == {"full", "fast"}


def test_parse_known_value() -> None:
    assert parse_enum(RunStatus, "failed_policy", "status") is RunStatus.FAILED_POLICY
    assert parse_enum(Durability, "fast") is Durability.FAST


def test_parse_member_is_returned_as_is() -> None:
    assert parse_enum(RunStatus, RunStatus.RUNNING, "status") is RunStatus.RUNNING


def test_unknown_value_names_field_and_lists_allowed() -> None:
    with pytest.raises(UnknownValueError) as info:
        parse_enum(RunStatus, "bogus", "status")
    err = info.value
    assert err.field == "status"
    assert err.value == "bogus"
    assert err.allowed == [s.value for s in RunStatus]
    message = str(err)
    assert message.startswith("status: ")
    assert "'bogus'" in message
    for status in RunStatus:
        assert status.value in message


def test_unknown_value_without_field_names_the_enum() -> None:
    with pytest.raises(UnknownValueError) as info:
        parse_enum(Durability, "slow")
    assert info.value.field == "Durability"
    assert str(info.value) == "Durability: unknown value 'slow'; expected one of: full, fast"


def test_unknown_value_error_is_a_value_error_and_runtui_error() -> None:
    with pytest.raises(ValueError, match="phase"):
        parse_enum(RunPhase, "created", "phase")  # values are case-sensitive
    with pytest.raises(RuntuiError):
        parse_enum(RunPhase, "DONE", "phase")


@pytest.mark.parametrize("value", [None, 3, "", " running"])
def test_non_member_inputs_are_refused(value: object) -> None:
    with pytest.raises(UnknownValueError) as info:
        parse_enum(RunStatus, value, "status")
    assert info.value.value == value
