"""Human-in-the-loop: approval kinds, decisions and the ordered HITL modes."""

from __future__ import annotations

from enum import StrEnum


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
