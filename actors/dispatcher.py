"""The dispatcher (PLAN + EXECUTE): starts attempts within the concurrency caps.

Ready tasks queue here. An attempt starts only when the global cap, its kind's cap and its run's
cap all have room; its `attempt.started` event commits before the operator runs (write-ahead:
after a crash, an attempt that may have run is known and is re-run as a new attempt). Operators
run as tasks of this actor; their output is appended as it comes, their outcome goes to
governance, and the slot is freed.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from typing import Any

import anyio

from actors import messages as m
from actors.actor import Actor, ActorStopped
from actors.operators import operator_for
from actors.operators.base import AttemptContext, AttemptOutcome
from actors.step import Clock, Outbox, StepActor
from runtui.domain.events import (
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    PendingEvent,
    SpanEnded,
    SpanStarted,
    TaskStatusChanged,
)
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from store.writer import EventWriter

log = logging.getLogger(__name__)


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

    @property
    def active(self) -> int:
        return sum(self.by_kind.values())

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.Dispatch():
                self.queue.append(message)
            case m.AttemptEnded():
                pass  # its slot is already free (see _finish): start what waited for it
            case m.CancelAttempts():
                self._cancel(message.run_id, out)
            case _:
                raise TypeError(f"dispatcher cannot handle {type(message).__name__}")
        self._pump(out)

    def _fits(self, d: m.Dispatch) -> bool:
        kind = str(d.spec.kind.value if hasattr(d.spec.kind, "value") else d.spec.kind)
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
        out.emit(d.run_id, TaskStatusChanged(task_id=d.task_id, status=TaskStatus.RUNNING), d.wave)
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
        # The attempt's span opens in the same commit as the attempt (and closes with it): its
        # times are the attempt's own, at no extra message or commit per task.
        out.emit(
            d.run_id,
            SpanStarted(
                span_id=attempt_span(d.task_id, d.attempt),
                name=f"attempt {d.task_id}#{d.attempt}",
                parent_id=EXECUTING_SPAN,
            ),
            d.wave,
        )
        scope = anyio.CancelScope()
        self.running[(d.run_id, d.task_id)] = scope
        out.later(lambda: self.tg.start_soon(self._execute, d, key, scope))

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

        ctx = AttemptContext(
            run_id=d.run_id,
            task_id=d.task_id,
            attempt=d.attempt,
            spec=d.spec,
            emit=sink,
            timeout_s=d.spec.timeout_s,
            idempotency_key=key,
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
                await self._finish(d, kind, outcome)
            except ActorStopped:  # shutting down: the outcome is committed; resume re-runs
                log.info("attempt %s ended while the runtime stopped", key)

    async def _finish(self, d: m.Dispatch, kind: TaskKind, outcome: AttemptOutcome) -> None:
        assert self.governance is not None
        assert self.poller is not None
        if outcome.status is AttemptStatus.WAITING_EXTERNAL and outcome.external_id:
            await self.writer.append_many(
                [
                    _pending(
                        d,
                        AttemptStatusChanged(
                            task_id=d.task_id,
                            attempt=d.attempt,
                            status=AttemptStatus.WAITING_EXTERNAL,
                            external_id=outcome.external_id,
                        ),
                        self.clock(),
                    ),
                    _pending(
                        d,
                        TaskStatusChanged(task_id=d.task_id, status=TaskStatus.WAITING_EXTERNAL),
                        self.clock(),
                    ),
                ]
            )
            await self.poller.tell(
                m.Watch(
                    run_id=d.run_id,
                    task_id=d.task_id,
                    attempt=d.attempt,
                    wave=d.wave,
                    spec=d.spec,
                    external_id=outcome.external_id,
                    started_at=self.clock(),
                )
            )
        else:
            await self.writer.append_many(
                attempt_end(d.run_id, d.task_id, d.attempt, d.wave, outcome, self.clock())
            )
            await self.governance.tell(
                m.AttemptDone(
                    run_id=d.run_id,
                    task_id=d.task_id,
                    attempt=d.attempt,
                    wave=d.wave,
                    outcome=outcome,
                )
            )
        # Free the slot here (same actor, same thread); wake the mailbox loop only when a
        # dispatch is queued behind the caps, instead of one message per finished attempt.
        self.by_kind[kind.value] -= 1
        self.by_run[d.run_id] -= 1
        if self.by_run[d.run_id] <= 0:
            del self.by_run[d.run_id]
        if self.queue:
            await self.tell(m.AttemptEnded(run_id=d.run_id, task_id=d.task_id, kind=kind.value))


EXECUTING_SPAN = "phase:EXECUTING"


def attempt_span(task_id: str, attempt: int) -> str:
    return f"attempt:{task_id}:{attempt}"


def attempt_end(
    run_id: str, task_id: str, attempt: int, wave: int, outcome: AttemptOutcome, ts: float
) -> list[PendingEvent]:
    """The events that end an attempt: its final status and the end of its span."""
    return [
        PendingEvent(run_id, final_status_event(task_id, attempt, outcome), ts, wave),
        PendingEvent(
            run_id,
            SpanEnded(span_id=attempt_span(task_id, attempt), status=outcome.status.value),
            ts,
            wave,
        ),
    ]


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


def _pending(d: m.Dispatch, body: Any, ts: float) -> Any:
    from runtui.domain.events import PendingEvent

    return PendingEvent(d.run_id, body, ts, d.wave)
