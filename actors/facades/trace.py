"""The trace facade: spans for the run and each phase it passes through.

Attempt spans are not recorded here: the store projects each from its attempt's own events
(`attempt.started` opens it, the final `attempt.status` closes it; see `runtui.domain.spans`),
so they carry the attempt's real times and cost no event, message or commit of their own.

It acks `logs/start_trace` once the run's root span exists, and closes the trace when the
kernel finalizes the run (CloseTrace), confirming so that the run's terminal status commits last.
A run resumed by another process is announced with `ResumeTrace` (its open phase span, from
the store), so its later phases get spans and its root span is closed as in one process.
"""

from __future__ import annotations

from typing import Any

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.facades.acks import ack
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.domain.audit import TRACE_EXPECTATION
from runtui.domain.events import SpanEnded, SpanStarted
from runtui.domain.phases import RunPhase
from runtui.store.writer import EventWriter

ROOT = "run"


class TraceFacade(StepActor[Any]):
    name = "trace"

    def __init__(self, writer: EventWriter, *, clock: Clock) -> None:
        super().__init__(writer, clock=clock)
        self.kernel: Actor[Any] | None = None
        # run id → its open phase span (None between phases); a run is here while traced
        self.phase_span: dict[str, str | None] = {}

    def forget(self) -> None:
        self.phase_span.clear()

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.StartTrace():
                out.emit(message.run_id, SpanStarted(span_id=ROOT, name=f"run {message.workflow}"))
                self._enter(out, message.run_id, RunPhase.CREATED)
                ack(out, self.kernel, message.run_id, *TRACE_EXPECTATION, result_id=ROOT)
            case m.ResumeTrace():
                self.phase_span[message.run_id] = message.phase_span
            case m.PhaseEntered():
                if message.run_id not in self.phase_span:
                    return  # trace never started (e.g. resumed before it existed)
                self._enter(out, message.run_id, message.phase)
            case m.CloseTrace():
                if message.run_id in self.phase_span:
                    previous = self.phase_span.pop(message.run_id)
                    if previous is not None:
                        out.emit(message.run_id, SpanEnded(span_id=previous))
                    out.emit(
                        message.run_id,
                        SpanEnded(span_id=ROOT, status="ok" if message.ok else "error"),
                    )
                if self.kernel is not None:
                    out.send(self.kernel, m.TraceClosed(run_id=message.run_id))
            case _:
                raise TypeError(f"trace facade cannot handle {type(message).__name__}")

    def _enter(self, out: Outbox, run_id: str, phase: RunPhase) -> None:
        previous = self.phase_span.pop(run_id, None)
        if previous is not None:
            out.emit(run_id, SpanEnded(span_id=previous))
        if phase.is_terminal:
            out.emit(
                run_id,
                SpanEnded(span_id=ROOT, status="ok" if phase is RunPhase.COMPLETED else "error"),
            )
            return
        span_id = f"phase:{phase.value}"
        out.emit(run_id, SpanStarted(span_id=span_id, name=phase.value, parent_id=ROOT))
        self.phase_span[run_id] = span_id
