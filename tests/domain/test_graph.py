"""The task graph's rules, without a runtime: ready, skip, fail-fast, waves closing."""

from __future__ import annotations

from runtui.domain.graph import Skip, Start, TaskGraph
from runtui.domain.tasks import TaskStatus
from runtui.domain.workflow import Workflow

DONE, FAILED = TaskStatus.DONE, TaskStatus.FAILED


def workflow(*tasks: dict[str, object]) -> Workflow:
    return Workflow.model_validate({"name": "g", "tasks": [{"kind": "noop", **t} for t in tasks]})


#   wave 0: a, b    wave 1: c (needs a), d (needs b, may fail)    wave 2: e (needs c, d)
FIVE = workflow(
    {"id": "a"},
    {"id": "b"},
    {"id": "c", "needs": ["a"]},
    {"id": "d", "needs": ["b"], "allow_failure": True},
    {"id": "e", "needs": ["c", "d"]},
)


def run(graph: TaskGraph, task_id: str, status: TaskStatus) -> None:
    """An attempt of `task_id` ran (as the analyzer's dispatch counts it) and ended so."""
    graph.next_attempt[task_id] += 1
    graph.inflight.discard(task_id)
    graph.set(task_id, status)


def started(actions: list[Skip | Start]) -> list[str]:
    return [a.task_id for a in actions if isinstance(a, Start)]


def test_roots_are_ready_first_then_each_task_once_its_needs_are_done() -> None:
    g = TaskGraph.start(FIVE)
    assert started(g.step()) == ["a", "b"]
    g.inflight |= {"a", "b"}
    assert g.step() == []  # nothing changed
    run(g, "a", DONE)
    assert started(g.step()) == ["c"]
    assert g.close_waves() == []  # b is still in flight
    run(g, "b", DONE)
    assert started(g.step()) == ["d"]
    assert g.close_waves() == [(0, False)]


def test_a_failure_that_may_fail_satisfies_its_dependents_and_does_not_fail_its_wave() -> None:
    g = TaskGraph.start(FIVE, carried={"a": DONE, "b": DONE, "c": DONE})
    assert g.waves_done == {0}  # closed by the parent's results
    assert started(g.step()) == ["d"]
    run(g, "d", FAILED)
    assert started(g.step()) == ["e"]
    assert g.close_waves() == [(1, False)]
    assert not g.failed_fast


def test_fail_fast_skips_every_pending_task_naming_why() -> None:
    g = TaskGraph.start(FIVE)
    g.step()
    g.inflight |= {"a", "b"}
    run(g, "a", FAILED)
    skips = g.fail_fast("a")
    assert skips == [
        Skip("c", "needs a, which failed"),
        Skip("d", "fail-fast after a failed"),
        Skip("e", "needs a, which failed"),
    ]
    assert g.failed_fast
    assert g.status["b"] is TaskStatus.PENDING  # in flight: it finishes
    run(g, "b", DONE)
    assert g.close_waves() == [(0, True), (1, False), (2, False)]
    assert g.unfinished == 0
    outcome = g.outcome()
    assert (outcome.failed, outcome.stages_failed) == (["a"], ["a"])


def test_a_need_that_ended_otherwise_skips_its_dependents_in_a_chain() -> None:
    chain = workflow({"id": "x"}, {"id": "y", "needs": ["x"]}, {"id": "z", "needs": ["y"]})
    g = TaskGraph.start(chain)
    g.step()
    run(g, "x", TaskStatus.CANCELLED)
    assert g.step() == [
        Skip("y", "upstream x did not succeed"),
        Skip("z", "upstream y did not succeed"),
    ]
    assert g.unfinished == 0


def test_a_replan_adds_pending_tasks_to_the_graph() -> None:
    g = TaskGraph.start(workflow({"id": "a"}))
    g.step()
    run(g, "a", DONE)
    assert g.close_waves() == [(0, False)]
    grown = workflow({"id": "a"}, {"id": "b", "needs": ["a"]})
    assert g.add_tasks(grown) == ["b"]
    assert (g.unfinished, started(g.step())) == (1, ["b"])
    assert g.members(1) == ["b"]
