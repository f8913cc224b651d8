"""Each of the seven violation types fires through the real runtime, and each action works."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.termination import RunTerminationReason
from tests.actors.conftest import finish, next_approval, wf

pytestmark = pytest.mark.anyio


def policy_wf(policy: str, tasks: str) -> str:
    return f'name = "gov"\n{tasks}\n[[policies]]\n{policy}\n'


SHELL_STEPS = """
[[tasks]]
id = "one"
kind = "shell"
cmd = "echo ::usage tokens=400 cost=0.4"
[[tasks]]
id = "two"
kind = "shell"
cmd = "echo ::usage tokens=400 cost=0.4; echo contact me at ann@example.com; echo SECRET"
needs = ["one"]
[[tasks]]
id = "three"
kind = "shell"
cmd = "echo ::usage tokens=400 cost=0.4"
needs = ["two"]
[[tasks]]
id = "four"
kind = "noop"
needs = ["three"]
"""

CASES = {
    "token_limit": ('type = "token_limit"\nthreshold = 1000', "1200 tokens used, budget 1000", 2),
    "cost_limit": ('type = "cost_limit"\nthreshold = 1.0', "cost 1.2 USD, budget 1 USD", 2),
    "content_policy": ('type = "content_policy"\npattern = "SECRET"', "task two: output line 3", 1),
    "pii_detected": (
        'type = "pii_detected"\npii = ["email"]',
        "task two: email found in output line 2",
        1,
    ),
    "custom_rule": (
        'type = "custom_rule"\nfunction = "tests.actors.pyrules:no_secrets"',
        "task two printed a secret marker",
        1,
    ),
}


@pytest.mark.parametrize("vtype", sorted(CASES))
async def test_warn_records_and_the_run_goes_on(runtime: Runtime, vtype: str) -> None:
    body, reason, step = CASES[vtype]
    policy = f'id = "p"\nname = "the rule"\nseverity = "medium"\n{body}'
    run_id = await runtime.submit(wf(policy_wf(policy, SHELL_STEPS)))
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    (v,) = await runtime.reader.violations_of(run_id)
    assert v.violation_type.value == vtype
    assert (v.severity.value, v.action, v.step_index) == ("medium", "warn", step)
    assert reason in v.reason
    assert run.worst_violation is not None
    assert run.worst_violation.value == vtype


@pytest.mark.parametrize("vtype", sorted(CASES))
async def test_critical_stops_the_run_at_the_step(runtime: Runtime, vtype: str) -> None:
    body, _reason, step = CASES[vtype]
    policy = f'id = "p"\nname = "the rule"\nseverity = "critical"\n{body}'
    run_id = await runtime.submit(wf(policy_wf(policy, SHELL_STEPS)))
    run = await finish(runtime, run_id)
    expected = (
        RunTerminationReason.BUDGET_EXCEEDED
        if vtype in ("token_limit", "cost_limit")
        else RunTerminationReason.POLICY_BLOCK
    )
    assert run.termination_reason is expected
    assert run.status is (
        RunStatus.FAILED_POLICY
        if expected is RunTerminationReason.POLICY_BLOCK
        else RunStatus.FAILED
    )
    assert run.stopped_at_step == step
    assert run.phase is RunPhase.FAILED
    tasks = {t.task_id: t.status for t in await runtime.reader.tasks_of(run_id)}
    assert tasks["four"] == "cancelled"  # nothing after the stop ran
    started = {a.task_id for a in await runtime.reader.attempts_of(run_id)}
    assert "four" not in started
    incidents = [i.title for i in await runtime.reader.incidents_of(run_id)]
    assert any(t.startswith("critical") for t in incidents)
    # the termination info carries the violation
    events = await runtime.reader.events_after(run_id, 0, limit=10_000)
    term = next(e.body for e in events if e.kind == "run.terminated")
    info = term.to_info(0.0)  # type: ignore[union-attr]
    assert info.violation_info is not None
    assert info.violation_info.violation_type.value == vtype
    assert info.stopped_at_step == step


async def test_high_severity_opens_an_approval_gate(runtime: Runtime) -> None:
    policy = 'id = "budget"\nseverity = "high"\ntype = "token_limit"\nthreshold = 500'
    run_id = await runtime.submit(wf(policy_wf(policy, SHELL_STEPS)))
    approval = await next_approval(runtime, run_id)
    assert approval.kind.value == "violation"
    assert "800 tokens used, budget 500" in approval.prompt
    assert "three" in approval.unblocks
    started = {a.task_id for a in await runtime.reader.attempts_of(run_id)}
    assert "three" not in started  # paused
    await runtime.approve(approval.approval_id, reason="accept the overrun")
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED


async def test_forbidden_command_denies_authorization(runtime: Runtime) -> None:
    policy = (
        'id = "no-rm"\nseverity = "critical"\ntype = "safety_violation"\ncommands = ["rm -rf /"]'
    )
    tasks = '[[tasks]]\nid = "oops"\nkind = "shell"\ncmd = "rm -rf / --no-preserve-root"'
    run_id = await runtime.submit(wf(policy_wf(policy, tasks)))
    run = await finish(runtime, run_id)
    assert run.phase is RunPhase.FAILED
    assert run.status is RunStatus.FAILED_POLICY
    assert run.termination_reason is RunTerminationReason.POLICY_BLOCK
    assert await runtime.reader.attempts_of(run_id) == []  # nothing ran
    (v,) = await runtime.reader.violations_of(run_id)
    assert v.violation_type.value == "safety_violation"
    assert "task oops" in v.reason


async def test_rate_limit_on_dispatches(runtime: Runtime) -> None:
    policy = 'id = "rate"\nseverity = "critical"\ntype = "rate_limit"\nthreshold = 3\nwindow_s = 60'
    tasks = "\n".join(f'[[tasks]]\nid = "t{i}"\nkind = "noop"' for i in range(6))
    run_id = await runtime.submit(wf(policy_wf(policy, tasks)))
    run = await finish(runtime, run_id)
    assert run.termination_reason is RunTerminationReason.RATE_LIMITED
    (v,) = await runtime.reader.violations_of(run_id)
    assert v.actual_value == 4.0
    assert v.threshold_value == 3.0


async def test_python_task_usage_counts_toward_budget(runtime: Runtime) -> None:
    policy = 'id = "b"\nseverity = "critical"\ntype = "token_limit"\nthreshold = 100'
    tasks = (
        '[[tasks]]\nid = "py"\nkind = "python"\nfunction = "tests.actors.pyrules:spend"\n'
        "args = { tokens = 150 }"
    )
    run_id = await runtime.submit(wf(policy_wf(policy, tasks)))
    run = await finish(runtime, run_id)
    assert run.termination_reason is RunTerminationReason.BUDGET_EXCEEDED
    assert run.stopped_at_step == 0


async def test_high_safety_violation_asks_before_the_run(runtime: Runtime) -> None:
    policy = (
        'id = "careful"\nseverity = "high"\ntype = "safety_violation"\ncommands = ["rm\\\\s+-rf"]'
    )
    tasks = '[[tasks]]\nid = "clean"\nkind = "shell"\ncmd = "echo rm -rf /nothing"'
    run_id = await runtime.submit(wf(policy_wf(policy, tasks)))
    approval = await next_approval(runtime, run_id)
    assert approval.kind.value == "violation"
    assert "before the run" in approval.prompt
    assert (await runtime.reader.get_run(run_id)).phase is RunPhase.AUTHORIZED
    assert await runtime.reader.attempts_of(run_id) == []  # nothing ran yet
    await runtime.reject(approval.approval_id, reason="no deletes today")
    run = await finish(runtime, run_id)
    assert run.termination_reason is RunTerminationReason.APPROVAL_REJECTED
    assert await runtime.reader.attempts_of(run_id) == []


async def test_a_catastrophic_content_pattern_does_not_stall_the_runtime(runtime: Runtime) -> None:
    """`(a+)+$` over "a"*50000 + "b" never ends for a backtracking engine, on the event loop
    that every run shares; on RE2 the scan is linear and the runtime goes on answering."""
    policy = 'id = "evil"\nseverity = "medium"\ntype = "content_policy"\npattern = "(a+)+$"'
    tasks = (
        '[[tasks]]\nid = "spew"\nkind = "shell"\n'
        "cmd = \"printf '%50000s' '' | tr ' ' a; echo b; echo aaa\"\n"
        '[[tasks]]\nid = "after"\nkind = "noop"\nneeds = ["spew"]'
    )
    run_id = await runtime.submit(wf(policy_wf(policy, tasks)))
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    (v,) = await runtime.reader.violations_of(run_id)
    assert v.reason == "task spew: output line 2 matches '(a+)+$'"
    other = await runtime.submit(wf('name = "next"\n[[tasks]]\nid = "a"\nkind = "noop"'))
    assert (await finish(runtime, other)).status is RunStatus.SUCCEEDED
