"""The port (`runtui.api.Port`) means the same embedded and through a server.

Every test here runs twice: on `runtui.open` (the runtime in this process) and on
`runtui.connect` (a real uvicorn on 127.0.0.1 serving a runtime on its own database). Each
checks what a Python program sees: the same answers, the same events, the same errors by kind.
"""

from __future__ import annotations

import anyio
import pytest

import runtui
from runtui.api import Port
from runtui.domain.events import AttemptStarted, EventEnvelope, RunStatusChanged
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.identity import who_decides

pytestmark = pytest.mark.anyio


def gated_flow(name: str = "gated") -> runtui.Flow:
    flow = runtui.Flow(name, timeout_s=60)
    build = flow.shell("build", "echo built; echo '::usage tokens=40'")
    gate = flow.gate("ship-gate", prompt="Ship it?", needs=[build])
    flow.shell("ship", "echo shipped", needs=[gate])
    flow.policy("tokens", type="token_limit", severity="low", threshold=10)
    return flow


def failing_flow() -> runtui.Flow:
    flow = runtui.Flow("failing")
    first = flow.noop("first")
    flow.shell("breaks", "echo oops >&2; exit 3", needs=[first])
    return flow


async def all_events(port: Port, run_id: str, after: int = 0) -> list[EventEnvelope]:
    """The run's events after `after` up to its current last one, through `events()`."""
    last = (await port.get_run(run_id)).last_seq
    out: list[EventEnvelope] = []
    if last <= after:
        return out
    with anyio.fail_after(20):
        async for env in port.events(run_id, after=after):
            out.append(env)
            if env.seq >= last:
                break
    return out


async def test_a_flow_waits_at_its_gate_then_finishes_once_approved(
    port: Port, request: pytest.FixtureRequest
) -> None:
    run_id = await port.submit(gated_flow().build())
    with anyio.fail_after(30):
        run = await port.wait(run_id)
    assert run.status is RunStatus.AWAITING_APPROVAL
    (pending,) = [a for a in await port.pending_approvals() if a.run_id == run_id]
    assert (pending.task_id, pending.prompt) == ("ship-gate", "Ship it?")
    await port.approve(pending.approval_id, reason="looks right", by="alice@laptop")
    with anyio.fail_after(30):
        run = await port.wait(run_id)
    assert run.status is RunStatus.SUCCEEDED
    decided = (await port.approvals_of(run_id))[0]
    # through a server, the token that authenticated it is who decided; the client's word
    # follows as what it is, a claim
    by = "alice@laptop"
    if request.node.callspec.params["port"] == "remote":
        by = f"{who_decides()} (as alice@laptop)"
    assert (decided.decided_by, decided.reason) == (by, "looks right")
    assert {t.task_id: t.status for t in await port.tasks_of(run_id)} == {
        "build": "done",
        "ship-gate": "done",
        "ship": "done",
    }
    assert [v.policy_id for v in await port.violations_of(run_id)] == ["tokens"]


async def test_events_are_gap_free_from_any_seq_and_end_with_the_terminal_status(
    port: Port,
) -> None:
    run_id = await port.submit(failing_flow().build())
    with anyio.fail_after(30):
        run = await port.wait(run_id)
    assert run.status is RunStatus.FAILED
    events = await all_events(port, run_id)
    assert [e.seq for e in events] == list(range(1, run.last_seq + 1))
    assert isinstance(events[-1].body, RunStatusChanged)
    assert events[-1].body.status is RunStatus.FAILED
    tail = await all_events(port, run_id, after=5)
    assert [e.seq for e in tail] == list(range(6, run.last_seq + 1))
    assert [e.body for e in tail] == [e.body for e in events[5:]]


async def test_phases_of_a_run_are_its_phase_changes_in_order_as_its_events_say(
    port: Port,
) -> None:
    run_id = await port.submit(failing_flow().build())
    with anyio.fail_after(30):
        run = await port.wait(run_id)
    phases = await port.phases_of(run_id)
    changes = [e for e in await all_events(port, run_id) if e.kind == "phase.changed"]
    assert [(p.seq, p.at, p.from_phase, p.to_phase) for p in phases] == [
        (e.seq, e.ts, e.body.from_phase, e.body.to_phase)  # type: ignore[attr-defined]
        for e in changes
    ]
    assert phases[0].from_phase is RunPhase.CREATED
    assert phases[-1].to_phase is run.phase is RunPhase.FAILED
    assert {p.run_id for p in phases} == {run_id}


async def test_every_runs_events_from_a_position_in_commit_order(port: Port) -> None:
    """`events(None, after=position())`: a run submitted afterwards is seen from its first
    event to its last, none twice, in commit order."""
    start = await port.position()
    flow = runtui.Flow("quick")
    flow.noop("a")
    run_id = await port.submit(flow.build())
    with anyio.fail_after(30):
        await port.wait(run_id)
    seen: list[EventEnvelope] = []
    with anyio.fail_after(20):
        async for env in port.events(after=start):
            seen.append(env)
            body = env.body
            if (
                env.run_id == run_id
                and isinstance(body, RunStatusChanged)
                and body.status.is_terminal
            ):
                break
    mine = [e for e in seen if e.run_id == run_id]
    assert [e.seq for e in mine] == list(range(1, len(mine) + 1))
    assert mine[0].position > start
    positions = [e.position for e in seen]
    assert positions == sorted(set(positions))


async def test_rewind_plans_and_forks_the_same_way(port: Port) -> None:
    run_id = await port.submit(failing_flow().build())
    with anyio.fail_after(30):
        await port.wait(run_id)
    plan = await port.rewind_plan(run_id, 0)
    assert (plan.kept, plan.rerun, plan.new_run_id) == ({0: ["first"]}, {1: ["breaks"]}, None)
    fork = await port.rewind(run_id, 0)
    assert fork.new_run_id is not None
    with anyio.fail_after(30):
        forked = await port.wait(fork.new_run_id)
    assert (forked.parent_run_id, forked.rewound_from_wave) == (run_id, 0)
    retried = await port.retry(run_id)
    with anyio.fail_after(30):
        again = await port.wait(retried)
    assert (again.parent_run_id, again.retry_count) == (run_id, 1)
    assert {f.run_id for f in await port.forks_of(run_id)} == {fork.new_run_id, retried}


async def test_a_blocked_workflow_is_a_conflict_until_its_health_is_cleared(port: Port) -> None:
    flow = failing_flow()
    for _ in range(3):
        with anyio.fail_after(30):
            await port.wait(await port.submit(flow.build()))
    (health,) = [h for h in await port.health() if h.workflow == "failing"]
    assert health.health.value == "blocked"
    with pytest.raises(runtui.ConflictError, match="blocked"):
        await port.submit(flow.build())
    await port.clear_health("failing")
    run_id = await port.submit(flow.build())
    assert (await port.get_run(run_id)).workflow == "failing"


async def test_refusals_are_the_same_kinds(port: Port) -> None:
    with pytest.raises(runtui.NotFoundError):
        await port.get_run("no-such-run")
    with pytest.raises(runtui.NotFoundError):
        await port.wait("no-such-run")
    run_id = await port.submit(gated_flow("twice").build())
    with anyio.fail_after(30):
        await port.wait(run_id)
    (pending,) = await port.approvals_of(run_id)
    await port.reject(pending.approval_id, reason="not today")
    with pytest.raises(runtui.ConflictError, match="reject"):
        await port.approve(pending.approval_id)
    with anyio.fail_after(30):
        assert (await port.wait(run_id)).status is RunStatus.FAILED
    with pytest.raises(runtui.ConflictError):
        await port.cancel(run_id)
    with pytest.raises(runtui.InvalidInputError, match="wave"):
        await port.rewind_plan(run_id, 7)


async def test_cancel_stops_a_running_run(port: Port) -> None:
    flow = runtui.Flow("slow")
    flow.sleep("nap", 30)
    run_id = await port.submit(flow.build())
    with anyio.fail_after(10):
        async for env in port.events(run_id):
            if isinstance(env.body, AttemptStarted):
                break
    await port.cancel(run_id)
    with anyio.fail_after(30):
        assert (await port.wait(run_id)).status is RunStatus.CANCELLED


async def test_ready_says_the_runtime_takes_work(port: Port) -> None:
    assert await port.ready()


async def test_driven_here_names_what_quitting_this_process_hands_over(
    port: Port, request: pytest.FixtureRequest
) -> None:
    """Embedded, the runs this process drives (a run at its gate runs no attempt); a server's
    client or a port beside the driver hands nothing over when it goes."""
    run_id = await port.submit(gated_flow().build())
    with anyio.fail_after(30):
        await port.wait(run_id)
    shape = request.node.callspec.params["port"]
    drives = shape in ("embedded", "postgres")
    assert await port.driven_here() == ({run_id: 0} if drives else {})
    (pending,) = [a for a in await port.pending_approvals() if a.run_id == run_id]
    await port.approve(pending.approval_id)
    with anyio.fail_after(30):
        await port.wait(run_id)
    assert run_id not in await port.driven_here()  # ended: nobody drives it any more
