"""Whole runs through the real runtime: phases, acks, summaries, failures, approvals."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.errors import ApprovalAlreadyDecided, RuntuiError
from runtui.domain.events import (
    AttemptStarted,
    PhaseChanged,
    RunStatusChanged,
    TaskStatusChanged,
    WaveCompleted,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason
from tests.actors.conftest import finish, next_approval, wf

pytestmark = pytest.mark.anyio

THREE_WAVES = """
name = "three-waves"
[[tasks]]
id = "fetch"
kind = "shell"
cmd = "echo fetching; echo ::usage tokens=10"
[[tasks]]
id = "lint"
kind = "shell"
cmd = "printf 'a\\nb\\nc\\n'"
[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"
needs = ["fetch", "lint"]
[[tasks]]
id = "ship"
kind = "noop"
needs = ["build"]
"""


async def phases_of(rt: Runtime, run_id: str) -> list[str]:
    events = await rt.reader.events_after(run_id, 0, limit=10_000)
    return [e.body.to_phase.value for e in events if isinstance(e.body, PhaseChanged)]


async def test_multi_wave_run_completes_with_every_record(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.phase is RunPhase.COMPLETED
    assert run.result is RunResult.SUCCESS
    assert await phases_of(runtime, run_id) == [
        "AUTHORIZED",
        "EXECUTING",
        "GOVERNANCE_CHECK",
        "FINALIZING",
        "COMPLETED",
    ]
    tasks = {
        t.task_id: (t.wave, t.status, t.attempts) for t in await runtime.reader.tasks_of(run_id)
    }
    assert tasks == {
        "fetch": (0, "done", 1),
        "lint": (0, "done", 1),
        "build": (1, "done", 1),
        "ship": (2, "done", 1),
    }
    audit = await runtime.reader.audit_of(run_id)
    assert {(d, a) for d, a, *_ in audit.expectations} == {
        ("incidents", "create_incident"),
        ("policies", "evaluate_policy"),
        ("logs", "start_trace"),
        ("orchestrator", "finalize_run"),
    }
    assert sorted((d, a, s) for d, a, s, *_ in audit.acks) == [
        ("incidents", "create_incident", "success"),
        ("logs", "start_trace", "success"),
        ("orchestrator", "finalize_run", "success"),
        ("policies", "evaluate_policy", "success"),
    ]
    (summary,) = await runtime.reader.run_summaries()
    assert summary.run_id == run_id
    assert sorted(summary.stages_executed) == ["build", "fetch", "lint", "ship"]
    attempts = await runtime.reader.attempts_of(run_id)
    fetch = next(a for a in attempts if a.task_id == "fetch")
    assert fetch.usage == {"tokens": 10.0}
    assert fetch.exit_code == 0
    assert (await runtime.store.replay(run_id)).matches


async def test_task_failure_skips_downstream_and_fails_after_governance(runtime: Runtime) -> None:
    run_id = await runtime.submit(
        wf(
            """
name = "breaks"
[[tasks]]
id = "compile"
kind = "shell"
cmd = "echo compiling; exit 3"
[[tasks]]
id = "flaky-docs"
kind = "shell"
cmd = "exit 1"
allow_failure = true
[[tasks]]
id = "test"
kind = "noop"
needs = ["compile"]
[[tasks]]
id = "package"
kind = "noop"
needs = ["test"]
"""
        )
    )
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.FAILED
    assert run.termination_reason is RunTerminationReason.TASK_FAILED
    assert await phases_of(runtime, run_id) == [
        "AUTHORIZED",
        "EXECUTING",
        "GOVERNANCE_CHECK",
        "FINALIZING",
        "FAILED",
    ]
    status = {t.task_id: t.status for t in await runtime.reader.tasks_of(run_id)}
    assert status == {
        "compile": "failed",
        "flaky-docs": "failed",
        "test": "skipped",
        "package": "skipped",
    }
    attempt = next(a for a in await runtime.reader.attempts_of(run_id) if a.task_id == "compile")
    assert attempt.exit_code == 3
    incidents = await runtime.reader.incidents_of(run_id)
    assert [i.title for i in incidents] == ["run failed: task_failed"]
    (summary,) = await runtime.reader.run_summaries()
    # every stage that failed, the allowed failure included (it is not what failed the run)
    assert summary.stages_failed == ["compile", "flaky-docs"]
    assert summary.stages_executed == ["compile", "flaky-docs"]  # the skipped ones never ran
    assert summary.failure_reason == "task_failed"
    # the finalize ack is emitted on failure too
    acks = {(d, a) for d, a, *_ in (await runtime.reader.audit_of(run_id)).acks}
    assert ("orchestrator", "finalize_run") in acks


async def test_retries_create_new_attempts(runtime: Runtime, tmp_path: object) -> None:
    marker = f"{tmp_path}/tried"
    run_id = await runtime.submit(
        wf(
            f"""
name = "flaky"
[[tasks]]
id = "flaky"
kind = "shell"
retries = 2
cmd = "if [ -f {marker} ]; then echo ok; else touch {marker}; exit 1; fi"
"""
        )
    )
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    attempts = [(a.attempt, a.status) for a in await runtime.reader.attempts_of(run_id)]
    assert attempts == [(0, "failed"), (1, "completed")]


GATED = """
name = "gated"
[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"
[[tasks]]
id = "publish-gate"
kind = "gate"
prompt = "Publish?"
needs = ["build"]
[[tasks]]
id = "publish"
kind = "shell"
cmd = "echo published"
needs = ["publish-gate"]
"""


async def test_gate_waits_and_approve_continues(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    assert approval.task_id == "publish-gate"
    assert approval.prompt == "Publish?"
    assert approval.unblocks == ["publish", "publish-gate"]
    run = await runtime.reader.get_run(run_id)
    assert run.status is RunStatus.AWAITING_APPROVAL
    publish = next(t for t in await runtime.reader.tasks_of(run_id) if t.task_id == "publish")
    assert publish.status == "pending"
    await runtime.approve(approval.approval_id, by="ann", reason="looks good")
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    decided = (await runtime.reader.approvals_of(run_id))[0]
    assert (decided.decision.value, decided.decided_by) == ("approve", "ann")  # type: ignore[union-attr]
    with pytest.raises(ApprovalAlreadyDecided, match="already decided: approve by ann"):
        await runtime.reject(approval.approval_id, reason="too late", by="bob")


async def test_reject_fails_the_run(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    with pytest.raises(RuntuiError, match="needs a reason"):
        await runtime.reject(approval.approval_id, reason=" ")
    await runtime.reject(approval.approval_id, reason="not today", by="bob")
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.FAILED
    assert run.termination_reason is RunTerminationReason.APPROVAL_REJECTED
    assert "not today" in (run.error_message or "")
    status = {t.task_id: t.status for t in await runtime.reader.tasks_of(run_id)}
    assert status["publish"] in ("cancelled", "skipped")
    with pytest.raises(ApprovalAlreadyDecided, match="reject by bob"):
        await runtime.approve(approval.approval_id)


async def test_cancel_stops_a_running_run(runtime: Runtime) -> None:
    run_id = await runtime.submit(
        wf(
            """
name = "slow"
[[tasks]]
id = "wait"
kind = "gate"
[[tasks]]
id = "after"
kind = "noop"
needs = ["wait"]
"""
        )
    )
    await next_approval(runtime, run_id)
    await runtime.cancel(run_id)
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.CANCELLED
    assert run.termination_reason is RunTerminationReason.USER_ABORT
    assert (await runtime.reader.run_summaries())[0].result is RunResult.STOPPED
    assert await runtime.reader.pending_approvals() == []


async def test_rewind_forks_and_leaves_the_parent_untouched(runtime: Runtime) -> None:
    parent = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, parent)
    before = await runtime.reader.events_after(parent, 0, limit=10_000)
    plan = await runtime.rewind_plan(parent, 0)
    assert plan.kept == {0: ["fetch", "lint"]}
    assert plan.rerun == {1: ["build"], 2: ["ship"]}
    forked = await runtime.rewind(parent, 0)
    assert forked.new_run_id is not None
    child = await finish(runtime, forked.new_run_id)
    assert child.status is RunStatus.SUCCEEDED
    assert (child.parent_run_id, child.rewound_from_wave) == (parent, 0)
    attempts = {a.task_id for a in await runtime.reader.attempts_of(forked.new_run_id)}
    assert attempts == {"build", "ship"}  # wave 0 carried over, not re-executed
    assert await runtime.reader.events_after(parent, 0, limit=10_000) == before
    assert [f.run_id for f in await runtime.reader.forks_of(parent)] == [forked.new_run_id]


async def test_rewind_of_an_active_run_needs_force(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    with pytest.raises(RuntuiError, match="stop it first"):
        await runtime.rewind(run_id, 0)
    forked = await runtime.rewind(run_id, 0, force=True)
    assert (await runtime.reader.get_run(run_id)).status is RunStatus.CANCELLED
    assert forked.new_run_id is not None
    assert (await next_approval(runtime, forked.new_run_id)).task_id == "publish-gate"


async def test_status_history_respects_phase_invariants(runtime: Runtime) -> None:
    from runtui.domain.status import status_allowed

    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    await runtime.approve(approval.approval_id)
    await finish(runtime, run_id)
    phase = RunPhase.CREATED
    for env in await runtime.reader.events_after(run_id, 0, limit=10_000):
        if isinstance(env.body, PhaseChanged):
            phase = env.body.to_phase
        elif isinstance(env.body, RunStatusChanged):
            assert status_allowed(phase, env.body.status), (phase, env.body.status)


async def test_tasks_listed_out_of_dependency_order_run_in_dependency_order(
    runtime: Runtime,
) -> None:
    """The analyzer looks only at tasks whose needs just finished; order in the file must not
    matter, and every wave is announced once, after its last task."""
    run_id = await runtime.submit(
        wf(
            """
            name = "reversed"
            [[tasks]]
            id = "d"
            kind = "noop"
            needs = ["b", "c"]
            [[tasks]]
            id = "c"
            kind = "noop"
            needs = ["a"]
            [[tasks]]
            id = "b"
            kind = "noop"
            needs = ["a"]
            [[tasks]]
            id = "a"
            kind = "noop"
            """
        )
    )
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    events = await runtime.reader.events_after(run_id, 0, limit=10_000)
    started = [e.body.task_id for e in events if isinstance(e.body, AttemptStarted)]
    done_at = {
        e.body.task_id: e.seq
        for e in events
        if isinstance(e.body, TaskStatusChanged) and e.body.status is TaskStatus.DONE
    }
    start_at = {e.body.task_id: e.seq for e in events if isinstance(e.body, AttemptStarted)}
    assert sorted(started) == ["a", "b", "c", "d"]
    assert start_at["b"] > done_at["a"]
    assert start_at["c"] > done_at["a"]
    assert start_at["d"] > max(done_at["b"], done_at["c"])
    waves = [(e.body.wave, e.seq) for e in events if isinstance(e.body, WaveCompleted)]
    assert [w for w, _ in waves] == [0, 1, 2]
    assert waves[1][1] > max(done_at["b"], done_at["c"])


CHAIN_OF_SIX = "name = 'chain'\n" + "".join(
    f"[[tasks]]\nid = 't{i}'\nkind = '{'gate' if i == 0 else 'noop'}'\n"
    + (f"needs = ['t{i - 1}']\n" if i else "")
    for i in range(6)
)


async def test_a_run_cancelled_in_wave_0_stays_in_wave_0(runtime: Runtime) -> None:
    """The later waves' tasks are marked cancelled or skipped: that does not move the run."""
    run_id = await runtime.submit(wf(CHAIN_OF_SIX))
    await next_approval(runtime, run_id)
    assert (await runtime.reader.get_run(run_id)).wave_progress == "0/6"
    await runtime.cancel(run_id)
    run = await finish(runtime, run_id)
    assert {t.status for t in await runtime.reader.tasks_of(run_id) if t.wave == 5} <= {
        "cancelled",
        "skipped",
    }
    assert (run.wave_index, run.wave_count, run.wave_progress) == (0, 6, "0/6")


async def test_wave_progress_counts_waves_behind_the_run(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    run = await finish(runtime, run_id)
    assert (run.wave_index, run.wave_count, run.wave_progress) == (2, 3, "3/3")
    one = await finish(
        runtime, await runtime.submit(wf("name='one'\n[[tasks]]\nid='a'\nkind='noop'"))
    )
    assert one.wave_progress == "1/1"  # not "0/0"
    failed = await finish(
        runtime,
        await runtime.submit(
            wf(
                "name='f'\n[[tasks]]\nid='a'\nkind='noop'\n[[tasks]]\nid='b'\nkind='shell'\n"
                "cmd='exit 2'\nneeds=['a']\n[[tasks]]\nid='c'\nkind='noop'\nneeds=['b']"
            )
        ),
    )
    assert (failed.status, failed.wave_progress) == (RunStatus.FAILED, "1/3")
