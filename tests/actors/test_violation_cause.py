"""Every violation names what caused it (task, and attempt when one attempt's step found it),
through the real runtime on both stores, as `violations_of` reads it back."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.events import AttemptStarted
from tests.actors.conftest import finish, wf
from tests.actors.test_governance import SHELL_STEPS, policy_wf

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("policy", "cause"),
    [
        ('type = "content_policy"\npattern = "SECRET"', ("two", 0)),
        ('type = "pii_detected"\npii = ["email"]', ("two", 0)),
        ('type = "token_limit"\nthreshold = 1000', ("three", 0)),  # the step that went over
        ('type = "safety_violation"\ncommands = ["echo contact"]', ("two", None)),  # before
    ],
)
async def test_a_violation_names_the_task_and_attempt_that_caused_it(
    runtime: Runtime, policy: str, cause: tuple[str, int | None]
) -> None:
    body = f'id = "p"\nname = "the rule"\nseverity = "medium"\n{policy}'
    run_id = await runtime.submit(wf(policy_wf(body, SHELL_STEPS)))
    await finish(runtime, run_id)
    (v,) = await runtime.reader.violations_of(run_id)
    assert (v.task_id, v.attempt) == cause


async def test_a_rate_violation_names_the_task_whose_dispatch_went_over(runtime: Runtime) -> None:
    policy = 'id = "rate"\nseverity = "medium"\ntype = "rate_limit"\nthreshold = 3\nwindow_s = 60'
    tasks = "\n".join(f'[[tasks]]\nid = "t{i}"\nkind = "noop"' for i in range(6))
    run_id = await runtime.submit(wf(policy_wf(policy, tasks)))
    await finish(runtime, run_id)
    (v,) = await runtime.reader.violations_of(run_id)
    events = await runtime.reader.events_after(run_id, 0, limit=10_000)
    dispatched = [e.body for e in events if isinstance(e.body, AttemptStarted)]
    assert v.task_id == dispatched[3].task_id  # the fourth dispatch, over a limit of three
    assert v.attempt is None
