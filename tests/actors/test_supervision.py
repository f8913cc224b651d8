"""Actor base, supervisor and bus: replies, restarts, escalation, ordered stop, lag."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from runtui.actors import messages as m
from runtui.actors.actor import Actor, ActorStopped, Reply
from runtui.actors.analyzer import Analyzer
from runtui.actors.bus import EventBus, Lagged
from runtui.actors.facades.incident import IncidentFacade
from runtui.actors.facades.trace import TraceFacade
from runtui.actors.runtime import Runtime
from runtui.actors.step import Outbox
from runtui.actors.supervisor import ChildSpec, Supervisor, SupervisorEscalation
from runtui.domain.events import EventEnvelope, WaveCompleted
from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.store.replay import replay_stored_run
from tests.actors.conftest import finish, settings_for, wf

pytestmark = pytest.mark.anyio


class Echo(msgspec.Struct):
    value: int
    reply: Reply[int]


class Boom(msgspec.Struct):
    pass


class Block(msgspec.Struct):
    release: anyio.Event


class Worker(Actor[Any]):
    name = "worker"

    def __init__(self, *, ignore_stop: bool = False) -> None:
        super().__init__(mailbox_size=16)
        self.starts = 0
        self.ignore_stop = ignore_stop
        self.stopped_at: float | None = None

    async def on_start(self) -> None:
        self.starts += 1

    async def on_stop(self) -> None:
        self.stopped_at = time.perf_counter()

    async def handle(self, message: Any) -> None:
        match message:
            case Echo():
                message.reply.set(message.value * 2)
            case Boom():
                raise RuntimeError("boom")
            case Block():
                await message.release.wait()
            case _:
                raise TypeError(message)


async def test_ask_replies_and_stopped_actor_fails_pending_requests() -> None:
    worker = Worker()
    sup = Supervisor([ChildSpec(worker)])
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        assert await worker.ask(Echo(21, Reply())) == 42
        sup.stop()
    with pytest.raises(ActorStopped):
        await worker.ask(Echo(1, Reply()))


async def test_one_for_one_restart_keeps_the_mailbox() -> None:
    worker = Worker()
    sup = Supervisor([ChildSpec(worker)], max_restarts=3, period=60)
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        await worker.tell(Boom())
        assert await worker.ask(Echo(5, Reply())) == 10  # queued behind the crash, still served
        assert worker.restarts == 1
        assert worker.starts == 2
        sup.stop()


async def test_restart_budget_escalates() -> None:
    worker = Worker()
    sup = Supervisor([ChildSpec(worker)], max_restarts=2, period=60)

    async def crash_three_times() -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            for _ in range(3):
                await worker.tell(Boom())
            with anyio.fail_after(5):
                await anyio.sleep_forever()

    with pytest.raises(BaseExceptionGroup) as info:
        await crash_three_times()
    assert info.group_contains(SupervisorEscalation, match="worker crashed 3 times")


async def test_ordered_start_and_reverse_stop_within_deadline() -> None:
    first, second, stuck = Worker(), Worker(), Worker()
    order: list[str] = []
    for name, w in (("first", first), ("second", second), ("stuck", stuck)):
        w.name = name
        original = w.on_start

        async def record(n: str = name, o: Any = original) -> None:
            order.append(n)
            await o()

        w.on_start = record  # type: ignore[method-assign]
    sup = Supervisor(
        [ChildSpec(first), ChildSpec(second), ChildSpec(stuck, shutdown_s=0.3)],
    )
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        assert order == ["first", "second", "stuck"]
        await stuck.tell(Block(anyio.Event()))  # never released: must be cancelled
        sup.stop()
    assert time.perf_counter() - started < 3.0
    assert first.stopped_at is not None
    assert second.stopped_at is not None
    assert second.stopped_at <= first.stopped_at  # reverse order


def _env(position: int) -> EventEnvelope:
    return EventEnvelope("r", position, 0.0, WaveCompleted(wave=0), None, position)


async def test_lagging_subscriber_gets_a_marker_and_never_blocks_the_producer() -> None:
    bus = EventBus()
    slow = bus.subscribe(max_batches=2)
    fast = bus.subscribe(max_batches=1000)
    for p in range(1, 11):
        bus.publish([_env(p)])  # never awaits, however slow the subscriber
    assert await slow.receive() == [_env(1)]
    assert await slow.receive() == [_env(2)]
    assert await slow.receive() == Lagged(2)  # re-read from the store after position 2
    bus.publish([_env(11)])
    assert await slow.receive() == [_env(11)]
    got = [await fast.receive() for _ in range(11)]
    assert [b[0].position for b in got if not isinstance(b, Lagged)] == list(range(1, 12))


class FlakyIncident(IncidentFacade):
    crashed = 0

    async def on_message(self, message: Any, out: Outbox) -> None:
        if type(message).__name__ == "RunOutcome" and FlakyIncident.crashed == 0:
            FlakyIncident.crashed += 1
            raise RuntimeError("incident backend down")
        await super().on_message(message, out)


async def test_a_crashing_facade_is_restarted_and_the_run_finishes(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtui.actors.runtime.IncidentFacade", FlakyIncident)
    settings = settings_for(db_path, rok_governance_timeout_ms=300)
    async with Runtime.open(settings) as rt:
        run_id = await rt.submit(wf('name = "x"\n[[tasks]]\nid = "a"\nkind = "noop"'))
        run = await finish(rt, run_id)
        assert rt.incident.restarts == 1
        # the lost message cost the incident ack; non-strict governance goes on after the timeout
        assert run.status is RunStatus.SUCCEEDED
        second = await rt.submit(wf('name = "x"\n[[tasks]]\nid = "a"\nkind = "noop"'))
        assert (await finish(rt, second)).status is RunStatus.SUCCEEDED
        acks = {(d, a) for d, a, *_ in (await rt.reader.audit_of(second)).acks}
        assert ("incidents", "create_incident") in acks  # the restarted facade works


class SilentTrace(TraceFacade):
    async def on_message(self, message: Any, out: Outbox) -> None:
        if type(message).__name__ == "StartTrace":
            return  # never acks start_trace
        await super().on_message(message, out)


@pytest.mark.parametrize("strict", [True, False])
async def test_strict_governance_fails_a_run_missing_an_ack(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    monkeypatch.setattr("runtui.actors.runtime.TraceFacade", SilentTrace)
    settings = settings_for(db_path, rok_governance_timeout_ms=200)
    text = (
        f'name = "x"\n[governance]\nstrict = {str(strict).lower()}\n'
        '[[tasks]]\nid = "a"\nkind = "noop"'
    )
    async with Runtime.open(settings) as rt:
        run = await finish(rt, await rt.submit(wf(text)))
    if strict:
        assert run.status is RunStatus.FAILED
        assert run.termination_reason is RunTerminationReason.SYSTEM_FAILURE
        assert "logs/start_trace" in (run.error_message or "")
    else:
        assert run.status is RunStatus.SUCCEEDED


async def test_shutdown_with_a_running_task_completes_within_its_deadline(db_path: Path) -> None:
    started = time.perf_counter()
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(
            wf('name = "x"\n[[tasks]]\nid = "long"\nkind = "shell"\ncmd = "echo start; sleep 30"')
        )
        sub = rt.subscribe(run_id=run_id)
        with anyio.fail_after(10):
            while not any(e.kind == "attempt.output" for e in (await sub.receive())):  # type: ignore[union-attr]
                pass
        sub.close()
    assert time.perf_counter() - started < 10
    async with Runtime.open(settings_for(db_path), resume=False) as rt:
        run = await rt.reader.get_run(run_id)
        assert not run.status.is_terminal  # left for the next start to resume


class ForgetfulAnalyzer(Analyzer):
    """Marks the task done in memory, then crashes before its events commit (once)."""

    crashed = 0

    async def on_message(self, message: Any, out: Outbox) -> None:
        if isinstance(message, m.AttemptAnalyzed) and ForgetfulAnalyzer.crashed == 0:
            ForgetfulAnalyzer.crashed += 1
            graph = self.graphs[message.run_id]
            graph.status[message.task_id] = TaskStatus.DONE
            graph.inflight.discard(message.task_id)
            raise RuntimeError("analyzer bug after changing its memory")
        await super().on_message(message, out)


async def test_a_crash_reloads_every_actor_from_the_store(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtui.actors.runtime.Analyzer", ForgetfulAnalyzer)
    text = 'name = "x"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "echo a"\n'
    text += '[[tasks]]\nid = "b"\nkind = "noop"\nneeds = ["a"]'
    async with Runtime.open(settings_for(db_path)) as rt:
        run = await finish(rt, await rt.submit(wf(text)))
        assert ForgetfulAnalyzer.crashed == 1
        assert rt.kernel.restarts == rt.analyzer.restarts == 1  # one_for_all
        attempts = [
            (a.task_id, a.attempt, a.status) for a in await rt.reader.attempts_of(run.run_id)
        ]
    # The store never saw `a` done: reloaded from it, the run ran `a` again, then `b`.
    assert run.status is RunStatus.SUCCEEDED
    assert attempts == [("a", 0, "completed"), ("a", 1, "completed"), ("b", 0, "completed")]
    assert replay_stored_run(db_path, run.run_id).matches
