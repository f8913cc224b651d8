"""HITL modes, timeouts, switches, resume, retry, health, replan, external jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.errors import WorkflowBlockedError
from runtui.domain.events import RunStatusChanged
from runtui.domain.health import Health
from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.workflow import Workflow
from tests.actors.conftest import finish, next_approval, settings_for, wf

pytestmark = pytest.mark.anyio

TWO_TASKS = """
[[tasks]]
id = "sh"
kind = "shell"
cmd = "echo hi"
[[tasks]]
id = "nop"
kind = "noop"
needs = ["sh"]
"""


async def test_approve_plan_with_edits_skips_tasks(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf('name = "p"\nhitl = "approve_plan"\n' + TWO_TASKS))
    approval = await next_approval(runtime, run_id)
    assert approval.kind.value == "plan"
    assert (await runtime.reader.get_run(run_id)).phase.value == "AUTHORIZED"
    await runtime.approve(approval.approval_id, edits={"skip": ["nop"]})
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    status = {t.task_id: t.status for t in await runtime.reader.tasks_of(run_id)}
    assert status == {"sh": "done", "nop": "skipped"}


async def test_approve_with_edits_is_only_for_plans(runtime: Runtime) -> None:
    from runtui.domain.errors import RuntuiError

    run_id = await runtime.submit(wf('name = "g"\n[[tasks]]\nid = "g"\nkind = "gate"'))
    approval = await next_approval(runtime, run_id)
    with pytest.raises(RuntuiError, match="plan approvals"):
        await runtime.approve(approval.approval_id, edits={"skip": []})


@pytest.mark.parametrize(
    ("mode", "asked"),
    [("approve_each_task", ["(plan)", "sh", "nop"]), ("approve_tools", ["(plan)", "sh"])],
)
async def test_hitl_task_modes(runtime: Runtime, mode: str, asked: list[str]) -> None:
    run_id = await runtime.submit(wf(f'name = "h"\nhitl = "{mode}"\n' + TWO_TASKS))
    seen: list[str] = []
    sub = runtime.subscribe(run_id=run_id)
    with anyio.fail_after(20):
        while not (await runtime.reader.get_run(run_id)).status.is_terminal:
            for a in await runtime.reader.pending_approvals():
                if a.run_id == run_id:  # the modes include approve_plan: a plan approval first
                    seen.append(a.task_id or f"({a.kind.value})")
                    await runtime.approve(a.approval_id)
            await sub.receive()
    sub.close()
    assert seen == asked
    assert (await runtime.reader.get_run(run_id)).status is RunStatus.SUCCEEDED


async def test_gate_timeout_applies_the_default(runtime: Runtime) -> None:
    text = (
        'name = "t"\n[[tasks]]\nid = "g"\nkind = "gate"\napproval_timeout_s = 0.2\n'
        'default = "approve"\n[[tasks]]\nid = "after"\nkind = "noop"\nneeds = ["g"]'
    )
    run = await finish(runtime, await runtime.submit(wf(text)))
    assert run.status is RunStatus.SUCCEEDED
    (approval,) = await runtime.reader.approvals_of(run.run_id)
    assert (approval.decision.value, approval.decided_by) == ("approve", "runtui:timeout")  # type: ignore[union-attr]


async def test_run_timeout(runtime: Runtime) -> None:
    text = 'name = "slow"\ntimeout_s = 0.5\n[[tasks]]\nid = "s"\nkind = "shell"\ncmd = "sleep 20"'
    run = await finish(runtime, await runtime.submit(wf(text)))
    assert run.termination_reason is RunTerminationReason.TIMEOUT
    assert run.status is RunStatus.FAILED
    (attempt,) = await runtime.reader.attempts_of(run.run_id)
    assert attempt.status == "cancelled"  # the process was killed


@pytest.mark.parametrize(("rok", "rac"), [(False, True), (True, False)])
async def test_governance_switches(db_path: Path, rok: bool, rac: bool) -> None:
    settings = settings_for(db_path, rok_enabled=rok, rac_enabled=rac)
    policy = '\n[[policies]]\nid = "b"\ntype = "token_limit"\nseverity = "critical"\nthreshold = 1'
    text = 'name = "s"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "echo ::usage tokens=5"' + policy
    async with Runtime.open(settings) as rt:
        run = await finish(rt, await rt.submit(wf(text)))
        audit = await rt.reader.audit_of(run.run_id)
        violations = await rt.reader.violations_of(run.run_id)
    if not rok:  # no governance: the budget is not enforced, phases still recorded
        assert run.status is RunStatus.SUCCEEDED
        assert violations == []
        assert run.phase.value == "COMPLETED"
    if not rac:  # no expectations declared
        assert audit.expectations == []
        assert run.termination_reason is RunTerminationReason.BUDGET_EXCEEDED


async def test_restart_keeps_a_pending_approval_and_resumes(db_path: Path) -> None:
    text = (
        'name = "r"\n[[tasks]]\nid = "g"\nkind = "gate"\n'
        '[[tasks]]\nid = "x"\nkind = "noop"\nneeds = ["g"]'
    )
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(wf(text))
        approval = await next_approval(rt, run_id)
    async with Runtime.open(settings_for(db_path)) as rt:
        assert run_id in rt.active_runs
        events = await rt.reader.events_after(run_id, 0, limit=10_000)
        statuses = [e.body.status for e in events if isinstance(e.body, RunStatusChanged)]
        # waiting for a human with nothing in flight: a hand-over, not an interruption
        assert RunStatus.INTERRUPTED not in statuses
        assert statuses[-1] is RunStatus.AWAITING_APPROVAL
        assert [a.approval_id for a in await rt.reader.pending_approvals()] == [
            approval.approval_id
        ]
        await rt.approve(approval.approval_id)
        assert (await finish(rt, run_id)).status is RunStatus.SUCCEEDED


async def test_retry_forks_with_retry_count(runtime: Runtime, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    text = (
        'name = "rt"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "echo a"\n'
        f'[[tasks]]\nid = "b"\nkind = "shell"\ncmd = "test -f {flag}"\nneeds = ["a"]'
    )
    first = await finish(runtime, await runtime.submit(wf(text)))
    assert first.status is RunStatus.FAILED
    flag.write_text("")
    second_id = await runtime.retry(first.run_id)
    second = await finish(runtime, second_id)
    assert second.status is RunStatus.SUCCEEDED
    assert (second.retry_count, second.parent_run_id) == (1, first.run_id)
    assert {a.task_id for a in await runtime.reader.attempts_of(second_id)} == {"b"}


async def test_health_blocks_a_failing_workflow_until_cleared(runtime: Runtime) -> None:
    failing = wf('name = "bad"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "exit 1"')
    for _ in range(3):
        await finish(runtime, await runtime.submit(failing))
    health = await runtime.health_of("bad")
    assert health.health is Health.BLOCKED
    with pytest.raises(WorkflowBlockedError, match="blocked"):
        await runtime.submit(failing)
    await runtime.clear_health("bad")
    assert (await runtime.health_of("bad")).health is Health.HEALTHY
    await runtime.submit(failing)  # accepted again


async def test_replan_hook_appends_tasks_to_the_same_run(db_path: Path) -> None:
    def replan(
        run_id: str, workflow: Workflow, status: dict[str, TaskStatus]
    ) -> list[dict[str, Any]]:
        if "extra" in status:
            return []
        return [{"id": "extra", "kind": "noop", "needs": ["a"]}]

    async with Runtime.open(settings_for(db_path), replan=replan) as rt:
        run = await finish(
            rt, await rt.submit(wf('name = "rp"\n[[tasks]]\nid = "a"\nkind = "noop"'))
        )
        tasks = {t.task_id: (t.wave, t.status) for t in await rt.reader.tasks_of(run.run_id)}
    assert tasks == {"a": (0, "done"), "extra": (1, "done")}
    assert run.status is RunStatus.SUCCEEDED


async def test_external_job_is_polled_to_completion(runtime: Runtime, tmp_path: Path) -> None:
    job = tmp_path / "job"
    text = f"""
name = "ext"
[[tasks]]
id = "job"
kind = "external"
submit = "echo queued > {job}; (sleep 0.3; echo done > {job}) >/dev/null 2>&1 & echo {job}"
poll = "cat {{job_id}} | sed 's/queued/running/'"
poll_interval_s = 0.1
"""
    run = await finish(runtime, await runtime.submit(wf(text)))
    assert run.status is RunStatus.SUCCEEDED
    (attempt,) = await runtime.reader.attempts_of(run.run_id)
    assert (attempt.status, attempt.external_id) == ("completed", str(job))


async def test_refused_plan_edits_record_nothing(runtime: Runtime) -> None:
    from runtui.domain.errors import NotFoundError

    run_id = await runtime.submit(wf('name = "p"\nhitl = "approve_plan"\n' + TWO_TASKS))
    approval = await next_approval(runtime, run_id)
    with pytest.raises(NotFoundError, match="no task 'zz'"):
        await runtime.approve(approval.approval_id, edits={"skip": ["zz"]})
    row = (await runtime.reader.approvals_of(run_id))[0]
    assert row.decision is None  # still pending, nothing half-recorded
    await runtime.approve(approval.approval_id, edits={"skip": ["nop"]})
    assert (await finish(runtime, run_id)).status is RunStatus.SUCCEEDED


async def test_idle_waits_for_a_parallel_branch(runtime: Runtime) -> None:
    text = (
        'name = "par"\n[[tasks]]\nid = "gate"\nkind = "gate"\n'
        '[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "sleep 0.3"\n'
        '[[tasks]]\nid = "b"\nkind = "noop"\nneeds = ["a"]\n'
        '[[tasks]]\nid = "c"\nkind = "noop"\nneeds = ["b"]'
    )
    run_id = await runtime.submit(wf(text))
    with anyio.fail_after(20):
        await runtime.wait_idle()
    status = {t.task_id: t.status for t in await runtime.reader.tasks_of(run_id)}
    assert status == {"gate": "awaiting_approval", "a": "done", "b": "done", "c": "done"}


async def test_many_concurrent_waits_see_fresh_state(runtime: Runtime) -> None:
    """Concurrent reader queries must not pin an old snapshot (runs "not found" or never
    finishing for their waiters)."""
    text = wf('name = "many"\n[[tasks]]\nid = "a"\nkind = "noop"')
    done: list[RunStatus] = []

    async def one() -> None:
        run_id = await runtime.submit(text)
        done.append((await runtime.wait(run_id)).status)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(150):
                tg.start_soon(one)
    assert done == [RunStatus.SUCCEEDED] * 150
