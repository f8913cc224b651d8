"""The dispatcher (PLAN + EXECUTE): starts attempts within the concurrency caps.

Ready tasks queue here. An attempt starts only when the global cap, its kind's cap and its run's
cap all have room; its `attempt.started` event commits before the operator runs (write-ahead:
after a crash, an attempt that may have run is known and is re-run as a new attempt); it is
also what makes the task `running` and opens the attempt's span (both projected from it, see
`store.projector`). Operators run on this actor's worker tasks, one per slot of the global cap;
their output is appended as it comes, and their outcome comes back through the mailbox, where
the end of every attempt finished since the last batch is recorded in one commit before it
goes to governance and the slot is freed.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from typing import Any

import anyio
from anyio.abc import TaskStatus as StartStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runtui.actors import messages as m
from runtui.actors.actor import Actor, ActorStopped
from runtui.actors.operators import operator_for
from runtui.actors.operators.base import AttemptContext, AttemptOutcome
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.domain.events import (
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    PendingEvent,
    ProcessGroupRef,
    TaskStatusChanged,
)
from runtui.domain.policy_checks import OutputScan
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.store.writer import EventWriter

log = logging.getLogger(__name__)

Work = tuple[m.Dispatch, str, anyio.CancelScope]  # an attempt for a worker: dispatch, key, scope


class Dispatcher(StepActor[Any]):
    name = "dispatcher"

    def __init__(self, writer: EventWriter, *, clock: Clock, max_concurrency: int = 50) -> None:
        super().__init__(writer, clock=clock)
        self.max_concurrency = max_concurrency
        self.queue: deque[m.Dispatch] = deque()
        self.running: dict[tuple[str, str], anyio.CancelScope] = {}
        self.by_kind: Counter[str] = Counter()
        self.by_run: Counter[str] = Counter()
        self.governance: Actor[Any] | None = None
        self.poller: Actor[Any] | None = None
        self._work: MemoryObjectSendStream[Work] | None = None
        self._work_queue: MemoryObjectReceiveStream[Work] | None = None

    def forget(self) -> None:
        self.queue.clear()
        self.running.clear()
        self.by_kind.clear()
        self.by_run.clear()

    async def on_start(self) -> None:
        """Start one worker task per slot of the global cap (again after a restart).

        A worker runs attempts one after another; handing an attempt to an idle worker is a
        stream hop, several times cheaper than spawning a task for every attempt, which was a
        sizeable part of the runtime's cost per task."""
        send, receive = anyio.create_memory_object_stream[Work](math.inf)
        self._work, self._work_queue = send, receive
        for _ in range(self.max_concurrency):
            self.tg.start_soon(self._worker, receive)

    async def run(self, *, task_status: StartStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            await super().run(task_status=task_status)
        finally:  # the workers are gone with the actor's task group: release their queue
            if self._work is not None and self._work_queue is not None:
                self._work.close()
                self._work_queue.close()
            self._work = self._work_queue = None

    async def _worker(self, work: MemoryObjectReceiveStream[Work]) -> None:
        async for d, key, scope in work:
            await self._execute(d, key, scope)

    @property
    def active(self) -> int:
        return sum(self.by_kind.values())

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.Dispatch():
                self.queue.append(message)
            case m.AttemptFinished():
                self._finished(message.dispatch, message.outcome, out)
            case m.CancelAttempts():
                self._cancel(message.run_id, out)
            case _:
                raise TypeError(f"dispatcher cannot handle {type(message).__name__}")
        self._pump(out)

    def _fits(self, d: m.Dispatch) -> bool:
        kind = kind_of(d)
        if d.caps.get(kind) is not None and self.by_kind[kind] >= d.caps[kind]:
            return False
        return d.run_limit is None or self.by_run[d.run_id] < d.run_limit

    def _pump(self, out: Outbox) -> None:
        if not self.queue or self.active >= self.max_concurrency:
            return
        waiting: deque[m.Dispatch] = deque()
        while self.queue and self.active < self.max_concurrency:
            d = self.queue.popleft()
            if not self._fits(d):
                waiting.append(d)
                continue
            self._start(d, out)
        waiting.extend(self.queue)
        self.queue = waiting

    def _start(self, d: m.Dispatch, out: Outbox) -> None:
        kind = TaskKind(d.spec.kind)
        self.by_kind[kind.value] += 1
        self.by_run[d.run_id] += 1
        key = f"{d.run_id}:{d.task_id}:{d.attempt}"
        out.emit(
            d.run_id,
            AttemptStarted(
                task_id=d.task_id,
                attempt=d.attempt,
                idempotency_key=key,
                status=AttemptStatus.RUNNING,
            ),
            d.wave,
        )
        assert self.governance is not None
        if d.rate_watched:  # only rate limits look at dispatches: no message otherwise
            out.send(
                self.governance, m.Dispatched(run_id=d.run_id, task_id=d.task_id, at=self.clock())
            )
        scope = anyio.CancelScope()
        self.running[(d.run_id, d.task_id)] = scope
        work = self._work
        assert work is not None
        out.later(lambda: work.send_nowait((d, key, scope)))

    def _cancel(self, run_id: str, out: Outbox) -> None:
        keep: deque[m.Dispatch] = deque()
        for d in self.queue:
            if d.run_id != run_id:
                keep.append(d)
                continue
            assert self.governance is not None
            out.send(
                self.governance,
                m.AttemptDone(
                    run_id=d.run_id,
                    task_id=d.task_id,
                    attempt=d.attempt,
                    wave=d.wave,
                    outcome=AttemptOutcome(
                        status=AttemptStatus.CANCELLED, error="run stopped before start"
                    ),
                ),
            )
        self.queue = keep
        for (run, _task), scope in list(self.running.items()):
            if run == run_id:
                scope.cancel()

    async def _execute(self, d: m.Dispatch, key: str, scope: anyio.CancelScope) -> None:
        kind = TaskKind(d.spec.kind)

        async def sink(stream: str, lines: list[str]) -> None:
            await self.writer.append(
                d.run_id,
                AttemptOutput(task_id=d.task_id, attempt=d.attempt, stream=stream, lines=lines),
                ts=self.clock(),
                wave_index=d.wave,
            )

        async def spawned(group: ProcessGroupRef) -> None:
            await self.writer.append(
                d.run_id,
                AttemptStatusChanged(
                    task_id=d.task_id,
                    attempt=d.attempt,
                    status=AttemptStatus.RUNNING,
                    process=group,
                ),
                ts=self.clock(),
                wave_index=d.wave,
            )

        ctx = AttemptContext(
            run_id=d.run_id,
            task_id=d.task_id,
            attempt=d.attempt,
            spec=d.spec,
            emit=sink,
            timeout_s=d.spec.timeout_s,
            idempotency_key=key,
            on_spawn=spawned,
            run_env=d.run_env,
            scan=OutputScan(d.scan_policies) if d.scan_policies else None,
        )
        outcome: AttemptOutcome | None = None
        with scope:
            try:
                outcome = await operator_for(kind).execute(ctx)
            except Exception as exc:
                log.exception("operator %s failed on %s", kind.value, key)
                outcome = AttemptOutcome(
                    status=AttemptStatus.FAILED_INIT, error=f"{type(exc).__name__}: {exc}"
                )
        if outcome is None:
            outcome = AttemptOutcome(status=AttemptStatus.CANCELLED, error="cancelled")
        self.running.pop((d.run_id, d.task_id), None)
        with anyio.CancelScope(shield=True):
            try:
                await self.tell(m.AttemptFinished(dispatch=d, outcome=outcome))
            except ActorStopped:  # shutting down: the attempt stays open; resume re-runs it
                log.info("attempt %s ended while the runtime stopped", key)

    def _finished(self, d: m.Dispatch, outcome: AttemptOutcome, out: Outbox) -> None:
        """Record how an attempt ended, free its slot, and hand the outcome on: to the poller
        when it now waits on an external job, to governance otherwise."""
        assert self.governance is not None
        assert self.poller is not None
        if outcome.status is AttemptStatus.WAITING_EXTERNAL and outcome.external_id:
            out.emit(
                d.run_id,
                AttemptStatusChanged(
                    task_id=d.task_id,
                    attempt=d.attempt,
                    status=AttemptStatus.WAITING_EXTERNAL,
                    external_id=outcome.external_id,
                ),
                d.wave,
            )
            out.emit(
                d.run_id,
                TaskStatusChanged(task_id=d.task_id, status=TaskStatus.WAITING_EXTERNAL),
                d.wave,
            )
            out.send(
                self.poller,
                m.Watch(
                    run_id=d.run_id,
                    task_id=d.task_id,
                    attempt=d.attempt,
                    wave=d.wave,
                    spec=d.spec,
                    external_id=outcome.external_id,
                    started_at=self.clock(),
                    run_env=d.run_env,
                ),
            )
        else:
            out.events.extend(
                attempt_end(d.run_id, d.task_id, d.attempt, d.wave, outcome, self.clock())
            )
            out.send(
                self.governance,
                m.AttemptDone(
                    run_id=d.run_id,
                    task_id=d.task_id,
                    attempt=d.attempt,
                    wave=d.wave,
                    outcome=outcome,
                ),
            )
        kind = kind_of(d)
        self.by_kind[kind] -= 1
        self.by_run[d.run_id] -= 1
        if self.by_run[d.run_id] <= 0:
            del self.by_run[d.run_id]


def kind_of(d: m.Dispatch) -> str:
    """The dispatch's task kind, as the caps name it."""
    return TaskKind(d.spec.kind).value


def attempt_end(
    run_id: str, task_id: str, attempt: int, wave: int, outcome: AttemptOutcome, ts: float
) -> list[PendingEvent]:
    """The events that end an attempt: its final status (which also ends its span)."""
    return [PendingEvent(run_id, final_status_event(task_id, attempt, outcome), ts, wave)]


def final_status_event(task_id: str, attempt: int, outcome: AttemptOutcome) -> AttemptStatusChanged:
    return AttemptStatusChanged(
        task_id=task_id,
        attempt=attempt,
        status=outcome.status,
        external_id=outcome.external_id,
        exit_code=outcome.exit_code,
        error=outcome.error,
        output_tail=outcome.output_tail,
        usage=dict(outcome.usage),
    )
