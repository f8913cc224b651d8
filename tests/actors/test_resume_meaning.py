"""A run means the same thing however it is driven: in one process from start to end, or
through a hand-over (another runtime takes it over at a gate), a clean stop (as on SIGTERM) or
kill -9 and a restart. Governance, stop reasons, the run timeout, approvals and spans are
compared across those paths."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.events import RunStatusChanged, WaveCompleted
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult
from runtui.domain.verify import verify_events
from tests.actors.conftest import finish, next_approval, settings_for, wf
from tests.actors.resume_scenarios import (
    AFTER_GATE,
    AFTER_GATE_VIOLATIONS,
    FAILING,
    hold_back,
    reach_phase,
)

pytestmark = pytest.mark.anyio

HELD = Path(__file__).with_name("held_runtime.py")
ROOT = Path(__file__).resolve().parents[2]


async def drive_through_gate(db: Path, text: str, *, hand_over: bool) -> str:
    """Submit `text`, approve its gate (in the same runtime, or in a second one after the first
    has stopped), and return the run id once the run has ended."""
    async with Runtime.open(settings_for(db)) as rt:
        run_id = await rt.submit(wf(text))
        approval = await next_approval(rt, run_id)
        if not hand_over:
            await rt.approve(approval.approval_id)
            await finish(rt, run_id)
            return run_id
    async with Runtime.open(settings_for(db)) as rt:
        await rt.approve(approval.approval_id)
        await finish(rt, run_id)
    return run_id


def spans(db: Path, run_id: str) -> dict[str, tuple[object, object]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT span_id, ended_at, status FROM spans WHERE run_id = ? AND span_id NOT LIKE "
            "'attempt:%'",
            (run_id,),
        )
        return {str(span): (ended, status) for span, ended, status in rows}
    finally:
        conn.close()


async def outcome(db: Path, run_id: str) -> tuple[str, str | None, str | None, bool]:
    async with Runtime.open(settings_for(db), resume=False) as rt:
        run = await rt.reader.get_run(run_id)
        summary = await rt.reader.get_summary(run_id)
        events = [e async for e in rt.reader.iter_events(run_id)]
    reason = run.termination_reason.value if run.termination_reason else None
    return run.status.value, reason, summary.result.value, verify_events(events).ok


# --- governance keeps applying after a resume ----------------------------------------------


@pytest.mark.parametrize("hand_over", [False, True], ids=["one-process", "hand-over"])
async def test_every_policy_type_fires_after_the_gate(db_path: Path, hand_over: bool) -> None:
    run_id = await drive_through_gate(db_path, AFTER_GATE, hand_over=hand_over)
    async with Runtime.open(settings_for(db_path), resume=False) as rt:
        run = await rt.reader.get_run(run_id)
        violations = await rt.reader.violations_of(run_id)
    assert {(v.policy_id, v.step_index) for v in violations} == AFTER_GATE_VIOLATIONS
    budget = next(v for v in violations if v.policy_id == "budget")
    assert budget.actual_value == 12_000  # the 3,000 before the gate were still counted
    assert run.status is RunStatus.FAILED
    assert run.termination_reason is not None
    assert run.termination_reason.value == "budget_exceeded"


@pytest.mark.parametrize("hand_over", [False, True], ids=["one-process", "hand-over"])
async def test_spans_close_and_every_phase_has_one(db_path: Path, hand_over: bool) -> None:
    run_id = await drive_through_gate(db_path, AFTER_GATE, hand_over=hand_over)
    found = spans(db_path, run_id)
    assert set(found) == {
        "run",
        "phase:CREATED",
        "phase:AUTHORIZED",
        "phase:EXECUTING",
        "phase:GOVERNANCE_CHECK",
        "phase:FINALIZING",
    }
    assert all(ended is not None for ended, _ in found.values()), found
    assert found["run"][1] == "error"  # the budget stopped it


async def test_a_hand_over_at_a_gate_is_not_an_interruption(db_path: Path) -> None:
    text = 'name = "h"\n[[tasks]]\nid = "g"\nkind = "gate"'
    run_id = await drive_through_gate(db_path, text, hand_over=True)
    async with Runtime.open(settings_for(db_path), resume=False) as rt:
        events = [e async for e in rt.reader.iter_events(run_id)]
    statuses = [e.body.status for e in events if isinstance(e.body, RunStatusChanged)]
    assert RunStatus.INTERRUPTED not in statuses
    assert statuses[-1] is RunStatus.SUCCEEDED


async def test_an_approved_task_is_not_asked_again_after_a_restart(db_path: Path) -> None:
    text = 'name = "each"\nhitl = "approve_each_task"\n[[tasks]]\nid = "s"\nkind = "shell"\n'
    text += 'cmd = "sleep 30"'
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(wf(text))
        plan = await next_approval(rt, run_id)
        await rt.approve(plan.approval_id)
        task = await next_approval(rt, run_id)
        assert task.task_id == "s"
        await rt.approve(task.approval_id)
        sub = rt.subscribe(run_id=run_id)
        with anyio.fail_after(20):
            while not await rt.reader.attempts_of(run_id):
                await sub.receive()
        sub.close()
    async with Runtime.open(settings_for(db_path)) as rt:
        sub = rt.subscribe(run_id=run_id)
        with anyio.fail_after(20):  # the task runs again (a new attempt) without a new question
            while len(await rt.reader.attempts_of(run_id)) < 2:
                await sub.receive()
        sub.close()
        assert await rt.reader.pending_approvals() == []
        await rt.cancel(run_id)
        await finish(rt, run_id)


# --- a failed run never ends succeeded after a restart -------------------------------------


@pytest.mark.parametrize("phase", [RunPhase.GOVERNANCE_CHECK, RunPhase.FINALIZING])
@pytest.mark.parametrize("kind", list(FAILING))
async def test_a_failed_run_stays_failed_across_a_clean_stop(
    db_path: Path, kind: str, phase: RunPhase
) -> None:
    text, status, reason = FAILING[kind]
    async with Runtime.open(settings_for(db_path, rok_governance_timeout_ms=120_000)) as rt:
        hold_back(rt, phase)
        run_id = await rt.submit(wf(text))
        await reach_phase(rt, run_id, phase)
    async with Runtime.open(settings_for(db_path)) as rt:
        await finish(rt, run_id)
    assert await outcome(db_path, run_id) == (status, reason, "failed", True)


def held_run(db: Path, kind: str, phase: RunPhase) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(HELD), str(db), kind, phase.value],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("held "):
        proc.kill()
        pytest.fail(f"the held runtime did not get there: {line}{proc.communicate()[1]}")
    return proc, line.split()[1]


@pytest.mark.parametrize("phase", [RunPhase.GOVERNANCE_CHECK, RunPhase.FINALIZING])
@pytest.mark.parametrize("kind", list(FAILING))
async def test_a_failed_run_stays_failed_across_kill_9(
    db_path: Path, kind: str, phase: RunPhase
) -> None:
    proc, run_id = held_run(db_path, kind, phase)
    proc.kill()
    proc.communicate(timeout=30)
    async with Runtime.open(settings_for(db_path)) as rt:
        await finish(rt, run_id)
    _, status, reason = FAILING[kind]
    assert await outcome(db_path, run_id) == (status, reason, "failed", True)


@pytest.mark.parametrize("kind", list(FAILING))
async def test_a_failed_run_stays_failed_across_sigterm(db_path: Path, kind: str) -> None:
    proc, run_id = held_run(db_path, kind, RunPhase.GOVERNANCE_CHECK)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    async with Runtime.open(settings_for(db_path)) as rt:
        await finish(rt, run_id)
    _, status, reason = FAILING[kind]
    assert await outcome(db_path, run_id) == (status, reason, "failed", True)


# --- the run timeout bounds execution, not waiting for a human ----------------------------


async def test_time_at_a_gate_does_not_count_against_the_run_timeout(db_path: Path) -> None:
    # The gate answers itself (approve) after 1 s; the run may execute for 0.5 s at most.
    text = (
        'name = "patient"\ntimeout_s = 0.5\n[[tasks]]\nid = "g"\nkind = "gate"\n'
        'approval_timeout_s = 1.0\ndefault = "approve"\n'
        '[[tasks]]\nid = "after"\nkind = "noop"\nneeds = ["g"]'
    )
    async with Runtime.open(settings_for(db_path)) as rt:
        run = await finish(rt, await rt.submit(wf(text)))
    assert run.status is RunStatus.SUCCEEDED, run.error_message


SPLIT_TIMEOUT = (
    'name = "split"\ntimeout_s = 2.0\n'
    '[[tasks]]\nid = "before"\nkind = "shell"\ncmd = "sleep 1.3"\n'
    '[[tasks]]\nid = "g"\nkind = "gate"\nneeds = ["before"]\n'
    '[[tasks]]\nid = "after"\nkind = "shell"\ncmd = "sleep 1.3"\nneeds = ["g"]'
)


@pytest.mark.parametrize("hand_over", [False, True], ids=["one-process", "hand-over"])
async def test_a_resume_does_not_restart_the_run_timeout(db_path: Path, hand_over: bool) -> None:
    # 1.3 s of execution before the gate and 1.3 s after it exceed the 2 s timeout, whether
    # or not another runtime took the run over at the gate.
    run_id = await drive_through_gate(db_path, SPLIT_TIMEOUT, hand_over=hand_over)
    status, reason, result, verified = await outcome(db_path, run_id)
    assert (status, reason, result, verified) == ("failed", "timeout", "failed", True)


async def test_an_approval_timeout_survives_a_restart(db_path: Path) -> None:
    text = (
        'name = "deadline"\n[[tasks]]\nid = "g"\nkind = "gate"\napproval_timeout_s = 1.0\n'
        'default = "approve"'
    )
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(wf(text))
        await next_approval(rt, run_id)
    async with Runtime.open(settings_for(db_path)) as rt:  # nobody answers: the default applies
        run = await finish(rt, run_id)
        (approval,) = await rt.reader.approvals_of(run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert approval.decided_by == "runtui:timeout"


# --- history: one definition, however the run was driven -----------------------------------

WITH_ALLOWED_FAILURE = """
name = "history"
[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"
[[tasks]]
id = "lint"
kind = "shell"
cmd = "exit 1"
allow_failure = true
[[tasks]]
id = "gate"
kind = "gate"
needs = ["build", "lint"]
[[tasks]]
id = "ship"
kind = "shell"
cmd = "echo shipped"
needs = ["gate"]
"""


async def summary_of(db: Path, run_id: str) -> tuple[object, ...]:
    async with Runtime.open(settings_for(db), resume=False) as rt:
        s = await rt.reader.get_summary(run_id)
        waves = [
            (e.body.wave, e.body.failed)
            async for e in rt.reader.iter_events(run_id)
            if isinstance(e.body, WaveCompleted)
        ]
    return s.result, s.failure_reason, s.stages_executed, s.stages_failed, waves


@pytest.mark.parametrize("hand_over", [False, True], ids=["one-process", "hand-over"])
async def test_history_is_the_same_however_the_run_was_driven(
    db_path: Path, hand_over: bool
) -> None:
    run_id = await drive_through_gate(db_path, WITH_ALLOWED_FAILURE, hand_over=hand_over)
    assert await summary_of(db_path, run_id) == (
        RunResult.SUCCESS,
        None,
        ["build", "lint", "ship"],  # workflow order; the gate is not a stage
        ["lint"],  # an allowed failure is still a failed stage...
        [(0, False), (1, False), (2, False)],  # ...but does not fail its wave
    )


async def test_a_forks_history_names_its_parent_and_not_what_it_carried(db_path: Path) -> None:
    run_id = await drive_through_gate(db_path, WITH_ALLOWED_FAILURE, hand_over=False)
    async with Runtime.open(settings_for(db_path)) as rt:
        plan = await rt.rewind(run_id, 1)  # waves 0 and 1 (the gate) carried over
        assert plan.new_run_id is not None
        await finish(rt, plan.new_run_id)
        summary = await rt.reader.get_summary(plan.new_run_id)
    # build (and the gate) were carried over, not run; lint failed, so it is not carried
    assert summary.stages_executed == ["lint", "ship"]
    assert summary.metadata["parent_run_id"] == run_id
    assert summary.metadata["rewound_from_wave"] == 1


async def test_an_approval_records_the_run_time_left_while_it_waits(db_path: Path) -> None:
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(wf(SPLIT_TIMEOUT))
        approval = await next_approval(rt, run_id)
    assert approval.run_time_left_s is not None
    assert 0.0 <= approval.run_time_left_s <= 2.0 - 1.3  # the task before the gate took 1.3 s
