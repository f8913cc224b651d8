"""The kernel document's API (`runtui.rok`): the caller's worker does the work, runtui's kernel
governs, audits and persists the run, which then reads like any other run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest

import runtui
import runtui.sync
from runtui.domain.errors import PhaseTransitionError, WorkflowError
from runtui.domain.phases import PHASE_TRANSITIONS
from runtui.domain.status import RunStatus
from runtui.domain.termination import RunTerminationReason
from runtui.rok import (
    VALID_TRANSITIONS,
    DrivenRun,
    PhaseStateMachine,
    RunLifecycleError,
    RunPhase,
    close_all,
    create_rok,
    driven_workflow,
)
from runtui.storage import verify_run
from runtui.workflows import parse_workflow

HAPPY_PATH = [
    "CREATED",
    "AUTHORIZED",
    "EXECUTING",
    "GOVERNANCE_CHECK",
    "FINALIZING",
    "COMPLETED",
]
BUDGET = {"id": "budget", "type": "token_limit", "severity": "critical", "threshold": 500}


@pytest.fixture(autouse=True)
def _stop_hosts() -> object:
    """Each test's runtimes stop with it (create_rok keeps one per database per process)."""
    yield
    close_all()


def test_the_documents_usage_runs_a_governed_audited_run(db_path: Path) -> None:
    rok = create_rok("nightly-42", db=db_path, name="nightly", durability="fast")
    assert rok.declare_expectations() == [
        ("incidents", "create_incident"),
        ("policies", "evaluate_policy"),
        ("logs", "start_trace"),
        ("orchestrator", "finalize_run"),
    ]
    success, error = False, None
    try:
        if rok.authorize():
            rok.begin_execution()
            assert rok.phase is RunPhase.EXECUTING
            rok.log("reading 3 files", "wrote report.md")
            rok.execution_complete(success=True)
            assert rok.governance_check() is True
            rok.begin_finalization()
            success = True
    except Exception as exc:  # the document's pattern: any failure is reported at finalize
        error = str(exc)
    finally:
        info = rok.finalize(success=success, error=error)
    assert info.termination_reason is RunTerminationReason.COMPLETED
    assert info.status is RunStatus.SUCCEEDED
    steps = rok.context.transitions
    assert [steps[0].from_phase.value] + [t.to_phase.value for t in steps] == HAPPY_PATH
    close_all()
    with runtui.sync.open(db_path, read_only=True) as view:
        run = view.get_run("nightly-42")
        assert (run.workflow, run.status) == ("nightly", RunStatus.SUCCEEDED)
        (attempt,) = view.attempts_of("nightly-42")
        assert attempt.output_tail == "reading 3 files\nwrote report.md"
        assert view.list_runs(workflow="nightly").runs[0].run_id == "nightly-42"
    report, replayed = anyio.run(verify_run, db_path, "nightly-42")
    assert report.ok
    assert replayed.matches
    assert report.path.split(" → ") == HAPPY_PATH


def test_a_worker_pool_finalizes_every_run_however_its_work_ended(db_path: Path) -> None:
    """The worker-pool pattern: each thread drives its own run, `finally: finalize`."""

    def job(n: int) -> tuple[int, str, str]:
        rok = create_rok(f"job-{n}", db=db_path, name="pool", policies=[BUDGET])
        success, error = False, None
        try:
            rok.declare_expectations()
            if rok.authorize():
                rok.begin_execution()
                rok.report_usage(tokens=100 * n)
                if n == 2:
                    raise RuntimeError("disk full")
                rok.execution_complete(success=True)
                success = True
        except Exception as exc:
            error = str(exc)
        finally:
            info = rok.finalize(success=success, error=error)
        return n, info.termination_reason.value, rok.phase.value

    with ThreadPoolExecutor(4) as pool:
        results = sorted(pool.map(job, range(1, 7)))
    assert results == [
        (1, "completed", "COMPLETED"),
        (2, "task_failed", "FAILED"),  # the worker raised: finalize reported the failure
        (3, "completed", "COMPLETED"),
        (4, "completed", "COMPLETED"),
        (5, "completed", "COMPLETED"),
        (6, "budget_exceeded", "FAILED"),  # 600 tokens against a 500 budget: the kernel stopped it
    ]
    close_all()
    with runtui.sync.open(db_path, read_only=True) as view:
        (failed,) = view.attempts_of("job-2")
        assert failed.error == "disk full"
        assert view.get_run("job-2").error_message == "task failed: work (disk full)"
        assert [v.policy_id for v in view.violations_of("job-6")] == ["budget"]


def test_a_rejected_plan_ends_the_run_before_its_work_starts(db_path: Path) -> None:
    async def go() -> None:
        async with runtui.open(db_path, durability="fast") as rt:
            run = DrivenRun(rt, "planned", driven_workflow("planned", hitl="approve_plan"))
            assert await run.authorize()
            async with anyio.create_task_group() as tg:

                async def decide() -> None:
                    with anyio.fail_after(20):
                        async for env in rt.events("planned"):
                            if type(env.body).__name__ == "ApprovalRequested":
                                break
                    (ap,) = await rt.approvals_of("planned")
                    await rt.reject(ap.approval_id, reason="not tonight", by="ops")

                tg.start_soon(decide)
                with pytest.raises(RunLifecycleError, match="approval_rejected"):
                    await run.begin_execution()
            info = await run.finalize(success=False)
            assert info.termination_reason is RunTerminationReason.APPROVAL_REJECTED

    anyio.run(go)


def test_fail_stops_the_run_with_the_reason_given(db_path: Path) -> None:
    rok = create_rok("doomed", db=db_path)
    assert rok.authorize()
    rok.begin_execution()
    info = rok.fail("the GPU fell over")
    assert (info.termination_reason, info.status) == (
        RunTerminationReason.SYSTEM_FAILURE,
        RunStatus.FAILED,
    )
    assert info.error_message == "the GPU fell over"
    assert rok.phase is RunPhase.FAILED


def test_a_run_whose_program_died_fails_when_the_next_runtime_opens_it(tmp_path: Path) -> None:
    """kill -9 of the driving program mid-work: the run stays live; the next runtime cannot
    do its work (nobody can), so it fails it, saying why."""
    db = tmp_path / "runs.db"
    script = tmp_path / "dies.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal
            from runtui.rok import create_rok

            rok = create_rok("orphan", db={str(db)!r})
            rok.authorize()
            rok.begin_execution()
            rok.log("half way")
            os.kill(os.getpid(), signal.SIGKILL)
            """
        )
    )
    died = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60)
    assert died.returncode == -9, died.stderr

    async def go() -> None:
        async with runtui.open(db, durability="fast") as rt:
            with anyio.fail_after(30):
                run = await rt.wait("orphan")
            assert (run.status, run.termination_reason) == (
                RunStatus.FAILED,
                RunTerminationReason.TASK_FAILED,
            )
            attempts = await rt.attempts_of("orphan")
            assert "no program drives this run here any more" in (attempts[-1].error or "")

    anyio.run(go)


def test_the_documents_names_are_the_kernels() -> None:
    assert VALID_TRANSITIONS is PHASE_TRANSITIONS
    machine = PhaseStateMachine("r1")
    machine.transition(RunPhase.AUTHORIZED, at=1.0, reason="policies allow")
    with pytest.raises(PhaseTransitionError, match="AUTHORIZED -> COMPLETED"):
        machine.transition(RunPhase.COMPLETED, at=2.0)
    context = machine.context
    assert (context.run_id, context.phase, context.is_terminal) == (
        "r1",
        RunPhase.AUTHORIZED,
        False,
    )
    assert [t.reason for t in context.transitions] == ["policies allow"]


def test_a_workflow_file_cannot_hold_a_driven_task() -> None:
    with pytest.raises(WorkflowError, match=r"test\.toml:4: tasks\[0\] \(id=w\)\.kind: driven"):
        parse_workflow('name = "x"\n[[tasks]]\nid = "w"\nkind = "driven"\n', source="test.toml")


def test_a_run_id_is_checked(db_path: Path) -> None:
    with pytest.raises(runtui.InvalidInputError, match="is not an id"):
        create_rok("no spaces", db=db_path).declare_expectations()
    first = create_rok("taken", db=db_path)
    assert first.authorize()
    first.finalize(success=True)
    with pytest.raises(runtui.ConflictError, match="exists already"):
        create_rok("taken", db=db_path).declare_expectations()
