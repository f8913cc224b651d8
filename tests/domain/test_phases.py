"""The run phase machine against DESIGN.md §2, with the table written out independently."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from runtui.domain.errors import PhaseTransitionError, RuntuiError
from runtui.domain.phases import (
    PHASE_ORDER,
    TERMINAL_PHASES,
    PhaseMachine,
    PhaseTransition,
    RunPhase,
    is_legal_transition,
)

# DESIGN.md §2: CREATED → AUTHORIZED → EXECUTING → GOVERNANCE_CHECK → FINALIZING → COMPLETED;
# every non-terminal phase has exactly two exits: the next phase, or FAILED.
HAPPY_PATH = [
    "CREATED",
    "AUTHORIZED",
    "EXECUTING",
    "GOVERNANCE_CHECK",
    "FINALIZING",
    "COMPLETED",
]
EXPECTED_EDGES: set[tuple[str, str]] = {
    ("CREATED", "AUTHORIZED"),
    ("CREATED", "FAILED"),
    ("AUTHORIZED", "EXECUTING"),
    ("AUTHORIZED", "FAILED"),
    ("EXECUTING", "GOVERNANCE_CHECK"),
    ("EXECUTING", "FAILED"),
    ("GOVERNANCE_CHECK", "FINALIZING"),
    ("GOVERNANCE_CHECK", "FAILED"),
    ("FINALIZING", "COMPLETED"),
    ("FINALIZING", "FAILED"),
}
ALL_PHASE_VALUES = {*HAPPY_PATH, "FAILED"}

ALL_PAIRS = list(itertools.product(list(RunPhase), repeat=2))
LEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if (a.value, b.value) in EXPECTED_EDGES]
ILLEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if (a.value, b.value) not in EXPECTED_EDGES]


def _pair_id(pair: tuple[RunPhase, RunPhase]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def _machine_at(phase: RunPhase, run_id: str | None = "run-1") -> PhaseMachine:
    """A machine that reached `phase` (starting directly in it: the constructor allows it)."""
    return PhaseMachine(run_id=run_id, phase=phase)


def test_phase_values_are_exactly_the_designed_ones() -> None:
    assert {p.value for p in RunPhase} == ALL_PHASE_VALUES
    assert [p.value for p in PHASE_ORDER] == HAPPY_PATH
    assert {p.value for p in TERMINAL_PHASES} == {"COMPLETED", "FAILED"}


def test_pair_partition_is_complete() -> None:
    assert len(ALL_PAIRS) == 49
    assert len(LEGAL_PAIRS) == len(EXPECTED_EDGES) == 10
    assert len(ILLEGAL_PAIRS) == 39


@pytest.mark.parametrize(("src", "dst"), LEGAL_PAIRS, ids=[_pair_id(p) for p in LEGAL_PAIRS])
def test_legal_transition_moves_and_records(src: RunPhase, dst: RunPhase) -> None:
    m = _machine_at(src)
    assert m.can_transition(dst)
    assert is_legal_transition(src, dst)

    step = m.transition(dst, at=123.5, reason="because", metadata={"wave": 2, "who": "kernel"})

    assert isinstance(step, PhaseTransition)
    assert step.from_phase is src
    assert step.to_phase is dst
    assert step.at == 123.5
    assert step.reason == "because"
    assert dict(step.metadata) == {"wave": 2, "who": "kernel"}
    assert m.phase is dst
    assert m.history == (step,)


@pytest.mark.parametrize(("src", "dst"), ILLEGAL_PAIRS, ids=[_pair_id(p) for p in ILLEGAL_PAIRS])
def test_illegal_transition_raises_and_changes_nothing(src: RunPhase, dst: RunPhase) -> None:
    m = _machine_at(src, run_id="run-42")
    assert not m.can_transition(dst)
    assert not is_legal_transition(src, dst)

    with pytest.raises(PhaseTransitionError) as info:
        m.transition(dst, at=1.0, reason="nope", metadata={"x": 1})

    err = info.value
    assert isinstance(err, RuntuiError)
    assert err.from_phase == src.value
    assert err.to_phase == dst.value
    assert err.run_id == "run-42"
    assert f"{src.value} -> {dst.value}" in str(err)
    assert "run-42" in str(err)
    assert m.phase is src
    assert m.history == ()


def test_illegal_transition_mid_history_keeps_earlier_history() -> None:
    m = PhaseMachine("r")
    first = m.transition(RunPhase.AUTHORIZED, at=1.0)
    second = m.transition(RunPhase.EXECUTING, at=2.0)
    with pytest.raises(PhaseTransitionError):
        m.transition(RunPhase.COMPLETED, at=3.0)  # skips GOVERNANCE_CHECK and FINALIZING
    with pytest.raises(PhaseTransitionError):
        m.transition(RunPhase.FINALIZING, at=3.0)  # GOVERNANCE_CHECK is mandatory
    assert m.phase is RunPhase.EXECUTING
    assert m.history == (first, second)


def test_error_message_without_run_id() -> None:
    m = PhaseMachine()
    with pytest.raises(PhaseTransitionError, match=r"CREATED -> COMPLETED$") as info:
        m.transition(RunPhase.COMPLETED, at=0.0)
    assert info.value.run_id is None


@pytest.mark.parametrize("phase", [RunPhase.COMPLETED, RunPhase.FAILED])
def test_terminal_phases_have_no_exits(phase: RunPhase) -> None:
    assert phase.is_terminal
    m = _machine_at(phase)
    for dst in RunPhase:
        assert not m.can_transition(dst)
        with pytest.raises(PhaseTransitionError):
            m.transition(dst, at=0.0)
    assert m.phase is phase
    assert m.history == ()


@pytest.mark.parametrize("phase", [p for p in RunPhase if p.value not in {"COMPLETED", "FAILED"}])
def test_non_terminal_phases_have_exactly_next_or_failed(phase: RunPhase) -> None:
    assert not phase.is_terminal
    exits = {dst for dst in RunPhase if is_legal_transition(phase, dst)}
    nxt = RunPhase(HAPPY_PATH[HAPPY_PATH.index(phase.value) + 1])
    assert exits == {nxt, RunPhase.FAILED}


@pytest.mark.parametrize("phase", list(RunPhase))
def test_no_self_loops(phase: RunPhase) -> None:
    assert not is_legal_transition(phase, phase)


def test_no_skips_and_no_backwards_moves() -> None:
    for i, src in enumerate(HAPPY_PATH):
        for j, dst in enumerate(HAPPY_PATH):
            legal = is_legal_transition(RunPhase(src), RunPhase(dst))
            assert legal == (j == i + 1), (src, dst)


def test_full_happy_path_history() -> None:
    m = PhaseMachine("run-ok")
    assert m.phase is RunPhase.CREATED
    for t, name in enumerate(HAPPY_PATH[1:], start=1):
        m.transition(RunPhase(name), at=float(t), reason=f"to {name}")
    assert m.phase is RunPhase.COMPLETED
    assert [(s.from_phase.value, s.to_phase.value) for s in m.history] == list(
        itertools.pairwise(HAPPY_PATH)
    )
    assert [s.at for s in m.history] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [s.reason for s in m.history] == [f"to {n}" for n in HAPPY_PATH[1:]]


def test_task_failure_still_goes_through_governance_check() -> None:
    m = PhaseMachine("run-fail")
    m.transition(RunPhase.AUTHORIZED, at=1.0)
    m.transition(RunPhase.EXECUTING, at=2.0)
    m.transition(RunPhase.GOVERNANCE_CHECK, at=3.0, reason="task_failed")
    m.transition(RunPhase.FAILED, at=4.0, reason="task_failed")
    assert m.phase is RunPhase.FAILED
    assert [s.to_phase for s in m.history] == [
        RunPhase.AUTHORIZED,
        RunPhase.EXECUTING,
        RunPhase.GOVERNANCE_CHECK,
        RunPhase.FAILED,
    ]


def test_transition_defaults_and_immutability() -> None:
    m = PhaseMachine()
    step = m.transition(RunPhase.AUTHORIZED, at=5.0)
    assert step.reason == ""
    assert dict(step.metadata) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.reason = "changed"  # type: ignore[misc]


def test_metadata_is_copied_not_aliased() -> None:
    meta = {"k": "v"}
    m = PhaseMachine()
    step = m.transition(RunPhase.AUTHORIZED, at=0.0, metadata=meta)
    meta["k"] = "mutated"
    meta["new"] = "x"
    assert dict(step.metadata) == {"k": "v"}


def test_history_is_a_snapshot() -> None:
    m = PhaseMachine()
    before = m.history
    m.transition(RunPhase.AUTHORIZED, at=0.0)
    assert before == ()
    assert isinstance(m.history, tuple)
    assert len(m.history) == 1
