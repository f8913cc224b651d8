"""When a task needs a person before it runs, and what a pending approval is: pure rules."""

from __future__ import annotations

import pytest

from runtui.domain.approvals import (
    SIDE_EFFECT_KINDS,
    ApprovalDecision,
    ApprovalKind,
    HitlMode,
    PendingApproval,
    needs_human,
)
from runtui.domain.tasks import TaskKind


@pytest.mark.parametrize("hitl", list(HitlMode))
def test_a_gate_always_asks_and_nothing_else_asks_below_each_task(hitl: HitlMode) -> None:
    assert needs_human(TaskKind.GATE, hitl)
    assert needs_human(TaskKind.GATE, hitl, approved=True)  # a gate is its own approval
    if hitl < HitlMode.APPROVE_EACH_TASK:
        assert not any(needs_human(k, hitl) for k in TaskKind if k is not TaskKind.GATE)


def test_approve_each_task_asks_for_every_task_once() -> None:
    for kind in TaskKind:
        assert needs_human(kind, HitlMode.APPROVE_EACH_TASK)
        assert needs_human(kind, HitlMode.APPROVE_EACH_TASK, approved=True) is (
            kind is TaskKind.GATE
        )


def test_approve_tools_asks_only_before_side_effects() -> None:
    asked = {k for k in TaskKind if needs_human(k, HitlMode.APPROVE_TOOLS)}
    assert asked == set(SIDE_EFFECT_KINDS) | {TaskKind.GATE}
    assert asked >= {TaskKind.SHELL, TaskKind.EXTERNAL, TaskKind.DRIVEN}


def test_a_pending_approval_is_typed() -> None:
    pending = PendingApproval(ApprovalKind.PLAN, ApprovalDecision.REJECT)
    assert (pending.kind, pending.default) == (ApprovalKind.PLAN, ApprovalDecision.REJECT)
