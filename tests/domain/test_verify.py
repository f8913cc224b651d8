"""`verify_events`: a run's log replayed through the phase machine, first illegal step named."""

from __future__ import annotations

import msgspec
import pytest

from runtui.domain.approvals import ApprovalDecision
from runtui.domain.events import (
    ApprovalDecided,
    EventEnvelope,
    PhaseChanged,
    RunStatusChanged,
    RunStopping,
    TaskDeclared,
    TaskStatusChanged,
    ViolationData,
    ViolationRecorded,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.verify import verify_events
from runtui.domain.violations import PolicyViolationType, ViolationAction, ViolationSeverity
from tests.factories import full_run

P = RunPhase


def envelopes(run_id: str = "r1", *, fail: bool = False) -> list[EventEnvelope]:
    return [
        EventEnvelope(run_id=p.run_id, seq=i, ts=p.ts, body=p.body, wave_index=p.wave_index)
        for i, p in enumerate(full_run(run_id, fail=fail), start=1)
    ]


def with_event(envs: list[EventEnvelope], at: int, body: object) -> list[EventEnvelope]:
    """Insert `body` as event number `at` (1-based) and renumber what follows."""
    out = [*envs[: at - 1], EventEnvelope("r1", at, envs[at - 2].ts, body)]  # type: ignore[arg-type]
    out += [msgspec.structs.replace(e, seq=e.seq + 1) for e in envs[at - 1 :]]
    return out


@pytest.mark.parametrize("fail", [False, True])
def test_a_whole_run_is_legal(fail: bool) -> None:
    report = verify_events(envelopes(fail=fail))
    assert report.ok, report.problem
    assert report.phase is (P.FAILED if fail else P.COMPLETED)
    assert report.path.startswith("CREATED → AUTHORIZED → EXECUTING → GOVERNANCE_CHECK")
    assert report.statuses_checked == 4


def test_an_illegal_edge_is_named_by_seq() -> None:
    envs = with_event(envelopes(), 11, PhaseChanged(from_phase=P.AUTHORIZED, to_phase=P.FINALIZING))
    report = verify_events(envs)
    assert report.problem == "#11: AUTHORIZED -> FINALIZING is not a legal transition"
    assert report.problem_seq == 11
    assert report.phase is P.AUTHORIZED  # where the machine stood


def test_a_from_phase_that_is_not_the_current_phase() -> None:
    envs = with_event(envelopes(), 11, PhaseChanged(from_phase=P.EXECUTING, to_phase=P.FAILED))
    report = verify_events(envs)
    assert report.problem == "#11: from_phase EXECUTING but the run was in AUTHORIZED"


def test_anything_after_a_terminal_phase_is_illegal() -> None:
    envs = envelopes()
    forged = EventEnvelope(
        "r1", len(envs) + 1, 0.0, PhaseChanged(from_phase=P.COMPLETED, to_phase=P.EXECUTING)
    )
    report = verify_events([*envs, forged])
    assert report.problem == f"#{len(envs) + 1}: COMPLETED -> EXECUTING is not a legal transition"


def test_a_status_its_phase_does_not_admit() -> None:
    envs = with_event(envelopes(), 11, RunStatusChanged(status=RunStatus.SUCCEEDED))
    report = verify_events(envs)
    assert report.problem is not None
    assert report.problem.startswith("#11: status succeeded is not allowed in phase AUTHORIZED")


def test_seq_must_start_at_1_with_run_created_and_have_no_gaps() -> None:
    envs = envelopes()
    assert verify_events(envs[1:]).problem == "#2: the first event has seq 2, not 1"
    gap = [*envs[:5], *envs[6:]]
    assert verify_events(gap).problem == "#7: seq skips; expected #6"
    repeat = [*envs[:5], envs[4], *envs[5:]]
    assert verify_events(repeat).problem == "#5: seq repeats; expected #6"
    not_created = [msgspec.structs.replace(envs[1], seq=1), *envs[1:]]
    assert (
        verify_events(not_created).problem
        == "#1: the first event is audit.expected, not run.created"
    )
    assert verify_events([]).problem == "the run has no events"


def _before_the_end(envs: list[EventEnvelope]) -> int:
    """Where to insert an event so that it lands before the run's first terminal record."""
    return next(e.seq for e in envs if e.kind == "run.terminated")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            TaskStatusChanged(task_id="fetch", status=TaskStatus.FAILED, reason="exit code 3"),
            "task fetch failed (exit code 3)",
        ),
        (
            ViolationRecorded(
                violation=ViolationData(
                    policy_id="c",
                    policy_name="no secrets",
                    violation_type=PolicyViolationType.CONTENT_POLICY,
                    severity=ViolationSeverity.CRITICAL,
                    step_index=0,
                    at=0.0,
                    reason="output line 1 matches 'x'",
                ),
                action=ViolationAction.STOP,
            ),
            "policy no secrets (critical): stop",
        ),
        (
            ApprovalDecided(approval_id="a1", decision=ApprovalDecision.REJECT, decided_by="ann"),
            "approval rejected by ann",
        ),
        (
            RunStopping(reason=RunTerminationReason.TIMEOUT, error="run timed out"),
            "stopping: timeout (run timed out)",
        ),
    ],
)
def test_a_success_that_the_events_forbid_is_named(body: object, named: str) -> None:
    envs = envelopes()
    at = _before_the_end(envs)
    report = verify_events(with_event(envs, at, body))
    assert report.problem is not None
    assert report.problem.startswith(f"#{at}: the run ended succeeded, but ")
    assert report.problem.endswith(named)
    assert report.problem_seq == at


def test_what_does_not_forbid_success_passes() -> None:
    envs = envelopes()
    at = _before_the_end(envs)
    allowed = [
        # a task allowed to fail, a warn-only violation, an approval withdrawn when the run ended
        TaskDeclared(task_id="flaky", task_kind=TaskKind.SHELL, wave=0, allow_failure=True),
        TaskStatusChanged(task_id="flaky", status=TaskStatus.FAILED),
    ]
    for offset, body in enumerate(allowed):
        envs = with_event(envs, at + offset, body)
    withdrawn = ApprovalDecided(
        approval_id="a9", decision=ApprovalDecision.REJECT, decided_by="runtui"
    )
    envs = [*envs, EventEnvelope("r1", len(envs) + 1, envs[-1].ts, withdrawn)]
    assert verify_events(envs).ok, verify_events(envs).problem
