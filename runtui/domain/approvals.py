"""Human-in-the-loop: approval kinds, decisions, the ordered HITL modes, which tasks need a
person before they run, and what a pending approval is."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from runtui.domain.tasks import TaskKind


class ApprovalKind(StrEnum):
    PLAN = "plan"
    TASK = "task"
    VIOLATION = "violation"


class ApprovalDecision(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_EDITS = "approve_with_edits"
    REJECT = "reject"


class HitlMode(StrEnum):
    """How much a run asks a human: each mode includes everything the lower ones ask."""

    NONE = "none"
    APPROVE_PLAN = "approve_plan"
    APPROVE_EACH_TASK = "approve_each_task"
    APPROVE_TOOLS = "approve_tools"

    @property
    def rank(self) -> int:
        return _HITL_ORDER.index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, HitlMode):
            return NotImplemented
        return self.rank < other.rank

    # str already defines every comparison (alphabetically), so each one is spelled out to
    # compare by rank instead.
    def __le__(self, other: object) -> bool:
        if not isinstance(other, HitlMode):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, HitlMode):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, HitlMode):
            return NotImplemented
        return self.rank >= other.rank


_HITL_ORDER = [
    HitlMode.NONE,
    HitlMode.APPROVE_PLAN,
    HitlMode.APPROVE_EACH_TASK,
    HitlMode.APPROVE_TOOLS,
]


#: Task kinds whose work acts on the world (`approve_tools` asks before each): a shell command,
#: a job submitted elsewhere, a program's own work (`runtui.rok`).
SIDE_EFFECT_KINDS = frozenset({TaskKind.SHELL, TaskKind.EXTERNAL, TaskKind.DRIVEN})


def needs_human(kind: TaskKind, hitl: HitlMode, *, approved: bool = False) -> bool:
    """Whether a task must wait for a person before it runs: a gate always; under
    `approve_each_task` every task, under `approve_tools` those with side effects, unless a
    person already approved it (an approval is never asked twice, restarts included)."""
    if kind is TaskKind.GATE:
        return True
    if approved or hitl < HitlMode.APPROVE_EACH_TASK:
        return False
    return hitl is HitlMode.APPROVE_EACH_TASK or kind in SIDE_EFFECT_KINDS


class PendingApproval(msgspec.Struct, frozen=True):
    """An approval a run waits for: what it asks, and what happens when nobody decides."""

    kind: ApprovalKind
    default: ApprovalDecision
