"""The kernel's run phase machine (ROK).

A run moves CREATED → AUTHORIZED → EXECUTING → GOVERNANCE_CHECK → FINALIZING → COMPLETED; every
non-terminal phase may also fall to FAILED. The table below is the single definition of what is
legal; the machine refuses anything else and stays where it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from runtui.domain.errors import PhaseTransitionError


class RunPhase(StrEnum):
    CREATED = "CREATED"
    AUTHORIZED = "AUTHORIZED"
    EXECUTING = "EXECUTING"
    GOVERNANCE_CHECK = "GOVERNANCE_CHECK"
    FINALIZING = "FINALIZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_PHASES


#: The happy path, in order. The phase diagram draws it left to right.
PHASE_ORDER: tuple[RunPhase, ...] = (
    RunPhase.CREATED,
    RunPhase.AUTHORIZED,
    RunPhase.EXECUTING,
    RunPhase.GOVERNANCE_CHECK,
    RunPhase.FINALIZING,
    RunPhase.COMPLETED,
)

TERMINAL_PHASES: frozenset[RunPhase] = frozenset({RunPhase.COMPLETED, RunPhase.FAILED})

#: Every legal edge: each non-terminal phase goes to its successor or to FAILED; no skips,
#: no self-loops, nothing leaves a terminal phase.
PHASE_TRANSITIONS: Mapping[RunPhase, frozenset[RunPhase]] = {
    RunPhase.CREATED: frozenset({RunPhase.AUTHORIZED, RunPhase.FAILED}),
    RunPhase.AUTHORIZED: frozenset({RunPhase.EXECUTING, RunPhase.FAILED}),
    RunPhase.EXECUTING: frozenset({RunPhase.GOVERNANCE_CHECK, RunPhase.FAILED}),
    RunPhase.GOVERNANCE_CHECK: frozenset({RunPhase.FINALIZING, RunPhase.FAILED}),
    RunPhase.FINALIZING: frozenset({RunPhase.COMPLETED, RunPhase.FAILED}),
    RunPhase.COMPLETED: frozenset(),
    RunPhase.FAILED: frozenset(),
}


def is_legal_transition(from_phase: RunPhase, to_phase: RunPhase) -> bool:
    return to_phase in PHASE_TRANSITIONS[from_phase]


@dataclass(frozen=True, slots=True)
class PhaseTransition:
    """One step of a run's lifecycle; immutable, and persisted as a `phase.changed` event."""

    from_phase: RunPhase
    to_phase: RunPhase
    at: float
    reason: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


class PhaseMachine:
    """Holds one run's current phase and its history; only legal edges move it."""

    __slots__ = ("_history", "_phase", "run_id")

    def __init__(self, run_id: str | None = None, phase: RunPhase = RunPhase.CREATED) -> None:
        self.run_id = run_id
        self._phase = phase
        self._history: list[PhaseTransition] = []

    @property
    def phase(self) -> RunPhase:
        return self._phase

    @property
    def history(self) -> tuple[PhaseTransition, ...]:
        return tuple(self._history)

    def can_transition(self, to_phase: RunPhase) -> bool:
        return is_legal_transition(self._phase, to_phase)

    def transition(
        self,
        to_phase: RunPhase,
        *,
        at: float,
        reason: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> PhaseTransition:
        """Move to `to_phase` or raise `PhaseTransitionError` without changing anything."""
        if not is_legal_transition(self._phase, to_phase):
            raise PhaseTransitionError(self._phase.value, to_phase.value, self.run_id)
        step = PhaseTransition(self._phase, to_phase, at, reason, dict(metadata or {}))
        self._history.append(step)
        self._phase = to_phase
        return step
