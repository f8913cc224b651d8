"""The common shape of runtime actors: handle a batch, then commit, then tell.

Handlers never write or send directly. They put events, messages and replies into an `Outbox`;
after the whole batch is handled the events are appended in one request (one group commit),
and only once they are durable are the messages sent and the replies answered. So nothing
downstream ever acts on a state change that a crash could still undo (write-ahead), and a busy
actor pays for one commit per batch, not per message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import anyio
from anyio.abc import TaskGroup, TaskStatus

from runtui.actors.actor import Actor, ActorStopped, Reply, reply_of
from runtui.domain.errors import RunFencedError, RuntuiError
from runtui.domain.events import EventBody, PendingEvent
from runtui.store.writer import EventWriter

log = logging.getLogger(__name__)

M = TypeVar("M")
Clock = Callable[[], float]


class Outbox:
    __slots__ = ("after", "clock", "events", "replies", "sends")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.events: list[PendingEvent] = []
        self.sends: list[tuple[Actor[Any], Any]] = []
        self.replies: list[tuple[Reply[Any], Any, BaseException | None]] = []
        self.after: list[Callable[[], object]] = []

    def later(self, action: Callable[[], object]) -> None:
        """Run `action` once the batch's events have committed (e.g. start a side effect)."""
        self.after.append(action)

    def emit(self, run_id: str, body: EventBody, wave: int | None = None) -> None:
        self.events.append(PendingEvent(run_id, body, self.clock(), wave))  # type: ignore[arg-type]

    def send(self, actor: Actor[Any], message: Any) -> None:
        self.sends.append((actor, message))

    def answer(self, reply: Reply[Any] | None, value: Any = None) -> None:
        if reply is not None:
            self.replies.append((reply, value, None))

    def refuse(self, reply: Reply[Any] | None, error: BaseException) -> None:
        if reply is not None:
            self.replies.append((reply, None, error))


class StepActor(Actor[M], Generic[M]):
    def __init__(self, writer: EventWriter, *, clock: Clock = time.time) -> None:
        super().__init__()
        self.writer = writer
        self.clock = clock
        self._tg: TaskGroup | None = None
        # run id -> timer name -> its scope (by run, so ending a run does not scan every timer)
        self._timers: dict[str, dict[str, anyio.CancelScope]] = {}

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                try:
                    await super().run(task_status=task_status)
                finally:
                    self._timers.clear()
                    tg.cancel_scope.cancel()
                    self._tg = None
        except BaseExceptionGroup as group:  # report the crash itself to the supervisor
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    @property
    def tg(self) -> TaskGroup:
        if self._tg is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._tg

    async def handle_batch(self, batch: Sequence[M]) -> None:
        out = Outbox(self.clock)
        for i, message in enumerate(batch):
            marks = (len(out.events), len(out.sends), len(out.replies), len(out.after))
            self.current = message
            try:
                await self.on_message(message, out)
            except RuntuiError as exc:  # refused on purpose: undo its effects, tell the asker
                del out.events[marks[0] :], out.sends[marks[1] :]
                del out.replies[marks[2] :], out.after[marks[3] :]
                reply = reply_of(message)
                if reply is None:
                    log.warning("%s refused %s: %s", self.name, type(message).__name__, exc)
                out.refuse(reply, exc)
            except Exception:
                # A bug: drop this message's partial effects, commit what the messages before
                # it did, and leave the rest of the batch to the restarted actor.
                del out.events[marks[0] :], out.sends[marks[1] :]
                del out.replies[marks[2] :], out.after[marks[3] :]
                self.redeliver(batch[i + 1 :])
                await self.flush(out)
                raise
        await self.flush(out)

    async def flush(self, out: Outbox) -> None:
        """Queue the batch's events, tell the peers, then wait for the commit before any side
        effect (`after`) or answer to a caller.

        Peers may be told before the commit: every actor appends through the same writer,
        whose requests commit in queue order, so whatever a peer records in response commits
        after these events. Side effects outside the store (starting a process) and answers
        to callers wait for durability.
        """
        queued = await self.writer.enqueue(out.events) if out.events else None
        for actor, message in out.sends:
            try:
                await actor.tell(message)
            except ActorStopped:  # shutting down: the peer is gone, the state is persisted
                log.info(
                    "%s: %s dropped, %s has stopped", self.name, type(message).__name__, actor.name
                )
        if queued is not None:
            try:
                await queued.wait()
            except RunFencedError as exc:  # every event was of runs another process drives
                log.info("%s: %s", self.name, exc)  # now; the kernel drops them (`LoseRun`)
                for reply, _, _ in out.replies:
                    reply.fail(exc)
                return
            except Exception as exc:  # nothing was written: nobody may hear it was
                for reply, _, _ in out.replies:
                    reply.fail(exc)
                raise
        for action in out.after:
            action()
        for reply, value, error in out.replies:
            if error is not None:
                reply.fail(error)
            else:
                reply.set(value)

    async def on_message(self, message: M, out: Outbox) -> None:
        raise NotImplementedError

    # --- timers ------------------------------------------------------------------------------

    def schedule(self, key: tuple[str, str], delay: float, message: Any) -> None:
        """Tell ourselves `message` after `delay` seconds; a new timer with the key (run id,
        name) replaces the old one."""
        self.cancel_timer(key)
        run_id, name = key
        scope = anyio.CancelScope()
        self._timers.setdefault(run_id, {})[name] = scope

        async def fire() -> None:
            with scope:
                await anyio.sleep(max(0.0, delay))
                self._forget_timer(run_id, name, scope)
                await self.tell(message)

        self.tg.start_soon(fire)

    def _forget_timer(self, run_id: str, name: str, scope: anyio.CancelScope) -> None:
        timers = self._timers.get(run_id)
        if timers is not None and timers.get(name) is scope:
            del timers[name]
            if not timers:
                del self._timers[run_id]

    def cancel_timer(self, key: tuple[str, str]) -> None:
        run_id, name = key
        timers = self._timers.get(run_id)
        scope = timers.get(name) if timers is not None else None
        if scope is not None:
            self._forget_timer(run_id, name, scope)
            scope.cancel()

    def cancel_timers_of(self, run_id: str) -> None:
        for scope in self._timers.pop(run_id, {}).values():
            scope.cancel()
