"""Task/attempt statuses and wave computation."""

from __future__ import annotations

import pytest

from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus, compute_waves


def test_task_status_values_and_finality() -> None:
    assert {s.value for s in TaskStatus} == {
        "pending",
        "awaiting_approval",
        "running",
        "waiting_external",
        "done",
        "failed",
        "skipped",
        "cancelled",
    }
    assert {s.value for s in TaskStatus if s.is_final} == {
        "done",
        "failed",
        "skipped",
        "cancelled",
    }


def test_attempt_status_values_and_finality() -> None:
    assert {s.value for s in AttemptStatus} == {
        "created",
        "submitted",
        "running",
        "completed",
        "failed",
        "failed_init",
        "cancelled",
        "waiting_external",
    }
    assert {s.value for s in AttemptStatus if s.is_final} == {
        "completed",
        "failed",
        "failed_init",
        "cancelled",
    }


def test_task_kinds() -> None:
    assert {k.value for k in TaskKind} == {
        "shell",
        "python",
        "external",
        "gate",
        "noop",
        "sleep",
        "driven",
    }


def test_empty_graph() -> None:
    assert compute_waves({}) == {}


def test_roots_are_wave_zero() -> None:
    assert compute_waves({"a": [], "b": [], "c": ()}) == {"a": 0, "b": 0, "c": 0}


def test_chain() -> None:
    assert compute_waves({"a": [], "b": ["a"], "c": ["b"], "d": ["c"]}) == {
        "a": 0,
        "b": 1,
        "c": 2,
        "d": 3,
    }


def test_chain_declared_in_reverse_order() -> None:
    assert compute_waves({"d": ["c"], "c": ["b"], "b": ["a"], "a": []}) == {
        "a": 0,
        "b": 1,
        "c": 2,
        "d": 3,
    }


def test_diamond() -> None:
    #    a
    #   / \
    #  b   c
    #   \ /
    #    d
    waves = compute_waves({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    assert waves == {"a": 0, "b": 1, "c": 1, "d": 2}


def test_wave_is_one_plus_max_of_needs_not_min() -> None:
    # e needs a root (wave 0) and a deep task (wave 2): it must wait for the deepest.
    waves = compute_waves({"a": [], "b": ["a"], "c": ["b"], "r": [], "e": ["r", "c"]})
    assert waves == {"a": 0, "b": 1, "c": 2, "r": 0, "e": 3}


def test_every_task_gets_a_wave_including_disconnected() -> None:
    needs = {"x": [], "y": ["x"], "lonely": [], "z": ["y", "x"]}
    waves = compute_waves(needs)
    assert set(waves) == set(needs)
    for task, deps in needs.items():
        expected = 0 if not deps else 1 + max(waves[d] for d in deps)
        assert waves[task] == expected


def test_cycle_raises_naming_the_cycle() -> None:
    with pytest.raises(ValueError, match="cycle") as info:
        compute_waves({"a": ["c"], "b": ["a"], "c": ["b"]})
    message = str(info.value)
    for name in ("a", "b", "c"):
        assert name in message
    assert "a -> c -> b -> a" in message


def test_cycle_behind_a_root() -> None:
    with pytest.raises(ValueError, match=r"x -> y -> x"):
        compute_waves({"root": [], "x": ["root", "y"], "y": ["x"]})


def test_self_loop_is_a_cycle() -> None:
    with pytest.raises(ValueError, match=r"cycle through solo -> solo"):
        compute_waves({"solo": ["solo"]})


def test_wide_graph_is_fast_and_correct() -> None:
    # 200 roots, each with a chain of length 5; checks nothing is recomputed pathologically.
    needs: dict[str, list[str]] = {}
    for i in range(200):
        needs[f"r{i}"] = []
        prev = f"r{i}"
        for depth in range(1, 6):
            name = f"r{i}.{depth}"
            needs[name] = [prev]
            prev = name
    needs["join"] = [f"r{i}.5" for i in range(200)]
    waves = compute_waves(needs)
    assert waves["join"] == 6
    assert waves["r7.3"] == 3
