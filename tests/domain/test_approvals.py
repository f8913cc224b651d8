"""Approval kinds and decisions, and the ordering of HITL modes."""

from __future__ import annotations

import itertools
import random

import pytest

from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode

ORDER = ["none", "approve_plan", "approve_each_task", "approve_tools"]
PAIRS = list(itertools.product(range(len(ORDER)), repeat=2))


def test_values() -> None:
    assert [m.value for m in HitlMode] == ORDER
    assert {k.value for k in ApprovalKind} == {"plan", "task", "violation"}
    assert {d.value for d in ApprovalDecision} == {"approve", "approve_with_edits", "reject"}


def test_rank() -> None:
    assert [HitlMode(v).rank for v in ORDER] == [0, 1, 2, 3]


@pytest.mark.parametrize(("i", "j"), PAIRS, ids=[f"{ORDER[i]}-vs-{ORDER[j]}" for i, j in PAIRS])
def test_all_comparisons_follow_rank(i: int, j: int) -> None:
    a, b = HitlMode(ORDER[i]), HitlMode(ORDER[j])
    assert (a < b) == (i < j)
    assert (a <= b) == (i <= j)
    assert (a > b) == (i > j)
    assert (a >= b) == (i >= j)
    assert (a == b) == (i == j)
    assert (a != b) == (i != j)


def test_not_alphabetical() -> None:
    # Alphabetically "approve_tools" < "none"; by rank it is the other way round.
    assert HitlMode.NONE < HitlMode.APPROVE_TOOLS
    assert HitlMode.APPROVE_TOOLS > HitlMode.NONE
    assert not (HitlMode.APPROVE_EACH_TASK < HitlMode.APPROVE_PLAN)
    assert HitlMode.APPROVE_EACH_TASK > HitlMode.APPROVE_PLAN


def test_sorted_min_max() -> None:
    modes = list(HitlMode)
    for seed in range(5):
        shuffled = modes[:]
        random.Random(seed).shuffle(shuffled)
        assert [m.value for m in sorted(shuffled)] == ORDER
        assert [m.value for m in sorted(shuffled, reverse=True)] == ORDER[::-1]
    assert min(modes) is HitlMode.NONE
    assert max(modes) is HitlMode.APPROVE_TOOLS


def test_comparison_with_non_mode_returns_not_implemented() -> None:
    assert HitlMode.NONE.__lt__(1) is NotImplemented
    assert HitlMode.NONE.__le__(1) is NotImplemented
    assert HitlMode.NONE.__gt__(1) is NotImplemented
    assert HitlMode.NONE.__ge__(1) is NotImplemented
    with pytest.raises(TypeError):
        _ = HitlMode.NONE < 1  # type: ignore[operator]


def test_modes_parse_from_strings() -> None:
    assert HitlMode("approve_each_task") is HitlMode.APPROVE_EACH_TASK
    with pytest.raises(ValueError, match="approve_everything"):
        HitlMode("approve_everything")
