"""Rewind and retry plans, without a runtime: which tasks a fork keeps and which run again."""

from __future__ import annotations

import pytest

from runtui.domain.errors import InvalidInputError
from runtui.domain.rewind import plan_retry, plan_rewind
from runtui.domain.workflow import Workflow

#   wave 0: a, b    wave 1: c (needs a), d (needs b)    wave 2: e (needs c, d)
FLOW = Workflow.model_validate(
    {
        "name": "five",
        "tasks": [
            {"id": "a", "kind": "noop"},
            {"id": "b", "kind": "noop"},
            {"id": "c", "kind": "noop", "needs": ["a"]},
            {"id": "d", "kind": "noop", "needs": ["b"]},
            {"id": "e", "kind": "noop", "needs": ["c", "d"]},
        ],
    }
)


def test_a_rewind_keeps_the_done_tasks_of_its_wave_and_before() -> None:
    plan = plan_rewind("r1", FLOW, 1, done={"a", "b", "c"})
    assert plan.kept == {0: ["a", "b"], 1: ["c"]}
    assert plan.rerun == {1: ["d"], 2: ["e"]}  # d did not finish done: it runs again
    assert plan.carried == {"a", "b", "c"}
    assert plan.new_run_id is None


def test_a_rewind_to_wave_zero_of_a_finished_run_reruns_everything_after_it() -> None:
    plan = plan_rewind("r1", FLOW, 0, done={"a", "b", "c", "d", "e"})
    assert plan.kept == {0: ["a", "b"]}
    assert plan.rerun == {1: ["c", "d"], 2: ["e"]}


@pytest.mark.parametrize("wave", [-1, 3])
def test_a_wave_the_workflow_lacks_is_invalid_input_naming_the_range(wave: int) -> None:
    with pytest.raises(InvalidInputError, match=rf"wave: run r1 has waves 0\.\.2, not {wave}"):
        plan_rewind("r1", FLOW, wave, done=set())


def test_a_retry_keeps_the_waves_before_the_first_failure() -> None:
    plan = plan_retry(FLOW, {"a": "done", "b": "done", "c": "done", "d": "failed", "e": "skipped"})
    assert plan.kept_through == 0
    assert plan.carried == {"a", "b"}  # c is done but in the failed wave: it runs again


def test_a_retry_of_a_run_that_failed_at_once_keeps_nothing() -> None:
    plan = plan_retry(FLOW, {"a": "failed", "b": "done"})
    assert plan.kept_through is None
    assert plan.carried == frozenset()


def test_a_task_that_never_started_counts_as_not_done() -> None:
    plan = plan_retry(FLOW, {"a": "done", "b": "done", "c": "done", "d": "done"})
    assert plan.kept_through == 1
    assert plan.carried == {"a", "b", "c", "d"}
