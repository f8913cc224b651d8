"""The source documents' own APIs: the lifecycle models from one place, the run history, the
campaign lifecycle (on the port, in both shapes) and the council's views."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

import runtui
import runtui.sync
from runtui import models
from runtui.api import Port
from runtui.campaign import (
    RunLifecycleError,
    initialize_or_resume_run,
    initialize_run,
    list_active_runs,
    run_until_completion,
    step_run,
)
from runtui.history import RunHistory

pytestmark = pytest.mark.anyio


def three_waves(name: str = "campaign") -> runtui.Workflow:
    flow = runtui.Flow(name)
    a = flow.noop("a")
    b = flow.noop("b", needs=[a])
    flow.shell("c", "echo c", needs=[b])
    return flow.build()


def gated(name: str = "gated") -> runtui.Workflow:
    flow = runtui.Flow(name)
    gate = flow.gate("gate", prompt="Go?")
    flow.noop("after", needs=[gate])
    return flow.build()


def test_the_lifecycle_models_are_importable_from_one_place() -> None:
    """The lifecycle-models document's usage: a status's bucket, a reason's status, the worst
    severity first."""
    assert models.get_lifecycle_state(models.RunStatus.FAILED_POLICY) is (
        models.RunLifecycleState.COMPLETED
    )
    assert models.get_lifecycle_state(models.RunStatus.AWAITING_APPROVAL) is (
        models.RunLifecycleState.LIVE
    )
    reason = models.RunTerminationReason.POLICY_BLOCK
    assert models.TERMINATION_TO_STATUS[reason] is models.RunStatus.FAILED_POLICY
    severities = sorted(models.ViolationSeverity, key=models.SEVERITY_PRIORITY.__getitem__)
    assert severities[-1] is models.ViolationSeverity.CRITICAL
    info = models.RunViolationInfo(
        policy_id="p",
        policy_name="budget",
        violation_type=models.PolicyViolationType.TOKEN_LIMIT,
        severity=models.ViolationSeverity.HIGH,
        step_index=0,
        timestamp=1.0,  # type: ignore[arg-type]
        reason="over",
    )
    assert info.violation_type.value == "token_limit"
    assert models.RunTerminationInfo is runtui.rok.RunTerminationInfo  # type: ignore[attr-defined]


def test_the_council_views_name_five_statuses() -> None:
    council = {s.value: models.council_status(s).value for s in models.RunStatus}
    assert set(council.values()) == {
        "running",
        "awaiting_approval",
        "interrupted",
        "completed",
        "failed",
    }
    assert council["succeeded"] == "completed"
    assert council["cancelled"] == "failed"


async def test_the_campaign_lifecycle_steps_a_run_wave_by_wave(port: Port) -> None:
    run_id = await initialize_run(port, three_waves())
    waves = []
    with anyio.fail_after(30):
        while not (run := await step_run(port, run_id)).status.is_terminal:
            waves.append(run.wave_index)
    assert run.status is models.RunStatus.SUCCEEDED
    assert waves == sorted(waves)
    assert await initialize_or_resume_run(port, three_waves(), run_id) != run_id  # it ended
    with pytest.raises(RunLifecycleError, match="is a run of campaign, not of other"):
        await initialize_or_resume_run(port, three_waves("other"), run_id)


async def test_run_until_completion_waits_for_people_or_stops_at_the_gate(port: Port) -> None:
    run_id = await initialize_run(port, gated())
    with anyio.fail_after(30), pytest.raises(RunLifecycleError, match="waits for an approval"):
        await run_until_completion(port, run_id, stop_at_gate=True)
    assert [r.run_id for r in await list_active_runs(port)] == [run_id]
    assert await initialize_or_resume_run(port, gated(), run_id) == run_id  # live: go on
    async with anyio.create_task_group() as tg:
        ended: list[runtui.RunRow] = []

        async def until_the_end() -> None:
            ended.append(await run_until_completion(port, run_id))

        tg.start_soon(until_the_end)
        (ap,) = await port.approvals_of(run_id)
        await port.approve(ap.approval_id, by="lead")
    assert ended[0].status is models.RunStatus.SUCCEEDED
    assert await list_active_runs(port) == []


async def test_the_run_history_reads_finished_runs(port: Port, tmp_path: Path) -> None:
    ok = await initialize_run(port, three_waves("hist"))
    flow = runtui.Flow("hist")
    flow.shell("boom", "exit 2")
    bad = await initialize_run(port, flow.build())
    with anyio.fail_after(30):
        await port.wait(ok)
        await port.wait(bad)
    summaries, total = await port.run_summaries(result="failed")
    assert (total, [s.run_id for s in summaries]) == (1, [bad])
    assert (await port.get_summary(ok)).result is models.RunResult.SUCCESS


def test_run_history_the_documents_way(db_path: Path) -> None:
    with runtui.sync.open(db_path, durability="fast") as rt:
        done = rt.submit(three_waves("hist"))
        rt.wait(done)
    with RunHistory.open(db_path) as history:
        (summary,) = history.list_runs(limit=10, result_filter="success")
        assert (summary.run_id, summary.stages_executed) == (done, ["a", "b", "c"])
        assert history.get_run(done) == summary
        assert history.get_run("missing") is None
        assert (history.get_run_count(), history.get_run_count("failed")) == (1, 0)
        with pytest.raises(runtui.InvalidInputError, match="result_filter: unknown value 'meh'"):
            history.list_runs(result_filter="meh")
