"""The poller (POLL): watches attempts whose work happens elsewhere until they end.

An external task's `submit` returned a job id; from then on the poller runs its `poll` command
every `poll_interval_s` (the job's own cadence, not a synchronisation sleep), records the final
status and hands the outcome to governance like any other attempt. A job past its task timeout
is given up as failed.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.dispatcher import attempt_end
from runtui.actors.operators.base import AttemptOutcome
from runtui.actors.operators.external import poll_external
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.domain.events import AttemptOutput
from runtui.domain.tasks import AttemptStatus
from runtui.store.writer import EventWriter

log = logging.getLogger(__name__)


class Poller(StepActor[Any]):
    name = "poller"

    def __init__(self, writer: EventWriter, *, clock: Clock) -> None:
        super().__init__(writer, clock=clock)
        self.watches: dict[tuple[str, str, int], anyio.CancelScope] = {}
        self.governance: Actor[Any] | None = None

    def forget(self) -> None:
        self.watches.clear()

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.Watch():
                scope = anyio.CancelScope()
                self.watches[(message.run_id, message.task_id, message.attempt)] = scope
                self.tg.start_soon(self._watch, message, scope)
            case m.Unwatch():
                for key, scope in list(self.watches.items()):
                    if key[0] == message.run_id:
                        scope.cancel()
            case _:
                raise TypeError(f"poller cannot handle {type(message).__name__}")

    async def _watch(self, w: m.Watch, scope: anyio.CancelScope) -> None:
        outcome = AttemptOutcome(
            status=AttemptStatus.CANCELLED, error="run stopped", external_id=w.external_id
        )
        lines_seen: list[str] = []
        with scope:
            while True:
                timeout = w.spec.timeout_s
                if timeout is not None and self.clock() - w.started_at > timeout:
                    outcome = AttemptOutcome(
                        status=AttemptStatus.FAILED,
                        error=f"external job {w.external_id} timed out after {timeout:g}s",
                        external_id=w.external_id,
                        output=lines_seen,
                    )
                    break
                await anyio.sleep(w.spec.poll_interval_s)
                try:
                    state, lines = await poll_external(w.spec, w.external_id, run_env=w.run_env)
                except Exception as exc:  # a poll that cannot run is the job's failure
                    state, lines = "failed", [f"poll failed: {exc}"]
                if lines:
                    lines_seen += lines
                    await self.writer.append(
                        w.run_id,
                        AttemptOutput(
                            task_id=w.task_id, attempt=w.attempt, stream="poll", lines=lines
                        ),
                        ts=self.clock(),
                        wave_index=w.wave,
                    )
                if state == "done":
                    outcome = AttemptOutcome(
                        status=AttemptStatus.COMPLETED,
                        external_id=w.external_id,
                        output=lines_seen,
                        output_tail="\n".join(lines_seen[-20:]) or None,
                    )
                    break
                if state == "failed":
                    outcome = AttemptOutcome(
                        status=AttemptStatus.FAILED,
                        error=f"external job {w.external_id} failed",
                        external_id=w.external_id,
                        output=lines_seen,
                        output_tail="\n".join(lines_seen[-20:]) or None,
                    )
                    break
        self.watches.pop((w.run_id, w.task_id, w.attempt), None)
        with anyio.CancelScope(shield=True):
            await self.writer.append_many(
                attempt_end(w.run_id, w.task_id, w.attempt, w.wave, outcome, self.clock())
            )
            assert self.governance is not None
            await self.governance.tell(
                m.AttemptDone(
                    run_id=w.run_id,
                    task_id=w.task_id,
                    attempt=w.attempt,
                    wave=w.wave,
                    outcome=outcome,
                )
            )
