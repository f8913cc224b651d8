"""Run statuses, the phase/status invariants and the LIVE/COMPLETED buckets (DESIGN.md §2)."""

from __future__ import annotations

import logging

import pytest

from runtui.domain.errors import PhaseStatusInvariantError, RuntuiError
from runtui.domain.phases import RunPhase
from runtui.domain.status import (
    PHASE_STATUS_INVARIANTS,
    TERMINAL_STATUSES,
    RunLifecycleState,
    RunStatus,
    check_phase_status,
    get_lifecycle_state,
    status_allowed,
)

ALL_STATUS_VALUES = {
    "queued",
    "running",
    "awaiting_approval",
    "paused",
    "interrupted",
    "retry",
    "succeeded",
    "failed",
    "failed_policy",
    "cancelled",
}

# Written out from DESIGN.md §2, not imported.
EXPECTED_INVARIANTS: dict[str, set[str]] = {
    "CREATED": {"queued", "awaiting_approval"},
    "AUTHORIZED": {"queued", "awaiting_approval"},
    "EXECUTING": {"running", "awaiting_approval", "paused", "interrupted"},
    "GOVERNANCE_CHECK": {"running", "interrupted"},
    "FINALIZING": {"running", "interrupted"},
    "COMPLETED": {"succeeded"},
    "FAILED": {"failed", "failed_policy", "cancelled", "retry"},
}
EXPECTED_TERMINAL = {"succeeded", "failed", "failed_policy", "cancelled"}

PAIRS = [(p, s) for p in RunPhase for s in RunStatus]
ALLOWED = [(p, s) for p, s in PAIRS if s.value in EXPECTED_INVARIANTS[p.value]]
FORBIDDEN = [(p, s) for p, s in PAIRS if s.value not in EXPECTED_INVARIANTS[p.value]]


def _id(pair: tuple[RunPhase, RunStatus]) -> str:
    return f"{pair[0].value}:{pair[1].value}"


def test_status_values() -> None:
    assert {s.value for s in RunStatus} == ALL_STATUS_VALUES


def test_invariant_table_is_exactly_as_designed() -> None:
    actual = {p.value: {s.value for s in ss} for p, ss in PHASE_STATUS_INVARIANTS.items()}
    assert actual == EXPECTED_INVARIANTS
    assert set(PHASE_STATUS_INVARIANTS) == set(RunPhase)


def test_every_status_is_admitted_by_some_phase() -> None:
    admitted = set().union(*EXPECTED_INVARIANTS.values())
    assert admitted == ALL_STATUS_VALUES


@pytest.mark.parametrize(("phase", "status"), ALLOWED, ids=[_id(p) for p in ALLOWED])
@pytest.mark.parametrize("enforce", [True, False])
def test_allowed_pairs_pass(
    phase: RunPhase, status: RunStatus, enforce: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert status_allowed(phase, status)
    assert check_phase_status(phase, status, enforce=enforce) is True
    assert caplog.records == []


@pytest.mark.parametrize(("phase", "status"), FORBIDDEN, ids=[_id(p) for p in FORBIDDEN])
def test_forbidden_pairs_raise_when_enforced(phase: RunPhase, status: RunStatus) -> None:
    assert not status_allowed(phase, status)
    with pytest.raises(PhaseStatusInvariantError) as info:
        check_phase_status(phase, status, enforce=True)
    err = info.value
    assert isinstance(err, RuntuiError)
    assert err.phase == phase.value
    assert err.status == status.value
    assert err.allowed == sorted(EXPECTED_INVARIANTS[phase.value])
    assert phase.value in str(err)
    assert repr(status.value) in str(err)


@pytest.mark.parametrize(("phase", "status"), FORBIDDEN, ids=[_id(p) for p in FORBIDDEN])
def test_forbidden_pairs_log_when_not_enforced(
    phase: RunPhase, status: RunStatus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="runtui.domain.status")
    assert check_phase_status(phase, status, enforce=False) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    record = warnings[0]
    assert record.name == "runtui.domain.status"
    message = record.getMessage()
    assert "invariant" in message
    assert status.value in message
    assert phase.value in message


def test_enforce_defaults_to_true() -> None:
    with pytest.raises(PhaseStatusInvariantError):
        check_phase_status(RunPhase.COMPLETED, RunStatus.FAILED)


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
def test_lifecycle_state(status: RunStatus) -> None:
    expected = "COMPLETED" if status.value in EXPECTED_TERMINAL else "LIVE"
    assert get_lifecycle_state(status) is RunLifecycleState(expected)
    assert status.is_terminal == (status.value in EXPECTED_TERMINAL)


def test_lifecycle_values_and_terminal_set() -> None:
    assert {s.value for s in RunLifecycleState} == {"LIVE", "COMPLETED"}
    assert {s.value for s in TERMINAL_STATUSES} == EXPECTED_TERMINAL


def test_retry_and_interrupted_are_live() -> None:
    # Easy to get wrong: retry sits in the FAILED phase but a retry run is still going.
    assert get_lifecycle_state(RunStatus.RETRY) is RunLifecycleState.LIVE
    assert get_lifecycle_state(RunStatus.INTERRUPTED) is RunLifecycleState.LIVE
