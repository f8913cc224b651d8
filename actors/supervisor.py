"""Supervision, OTP style: ordered start, restarts with a budget, ordered stop.

Children start in order and each must report ready before the next starts (the kernel needs
the writer, the dispatcher needs the facades). What a crash restarts is the strategy:

- one_for_one: the crashed child alone, with its mailbox (what was queued is still handled).
- one_for_all: every child, each with an empty mailbox and no memory (`Actor.reopen`), then
  `after_restart` (the runtime reloads every live run from the store). A handler may have
  changed its memory and crashed before its events committed; a child restarted alone would go
  on from a state the store never saw, and its peers from one that assumed its work was done.

Either way, more than `max_restarts` crashes within `period` seconds escalate: the supervisor
raises `SupervisorEscalation` to its own parent. Stop is in reverse order, each child given
`shutdown_s` to finish before it is cancelled.

A crash of the `outage` kind (the database refuses writes: disk full, read-only, I/O error) is
not a bug and is not counted: every child is stopped, `until_ready` waits until the cause has
gone (no restart could succeed before), then all restart as after a one_for_all crash. Until
then `running` is False (readiness says so) and requests fail with `ActorStopped` (503).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from runtui.actors.actor import Actor
from runtui.domain.errors import RuntuiError

log = logging.getLogger(__name__)


class Restart(StrEnum):
    PERMANENT = "permanent"  # always restarted
    TRANSIENT = "transient"  # restarted only after a crash
    TEMPORARY = "temporary"  # never restarted


class Strategy(StrEnum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"


class SupervisorEscalation(RuntuiError):
    """A child crashed more often than the restart budget allows."""


@dataclass
class ChildSpec:
    actor: Actor[Any]
    restart: Restart = Restart.PERMANENT
    shutdown_s: float = 5.0
    done: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class Supervisor:
    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        max_restarts: int = 5,
        period: float = 10.0,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        after_restart: Callable[[], Awaitable[object]] | None = None,
        outage: type[BaseException] | None = None,
        until_ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.children = list(children)
        self.max_restarts = max_restarts
        self.period = period
        self.strategy = strategy
        self.after_restart = after_restart
        self.outage = outage
        self.until_ready = until_ready
        self._outage_seen = False
        self._crashes: deque[float] = deque()
        self._stop = anyio.Event()
        self._wake = anyio.Event()  # a stop, or a one_for_all restart, is due
        self._running = False
        self._running_changed = anyio.Event()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def running(self) -> bool:
        """Every child is up (False while starting, restarting, in an outage or stopping)."""
        return self._running

    @running.setter
    def running(self, value: bool) -> None:
        if value is not self._running:
            self._running = value
            self._running_changed.set()
            self._running_changed = anyio.Event()

    async def until_running(self, value: bool = True) -> None:
        """Return once `running` is `value`."""
        while self._running is not value:
            await self._running_changed.wait()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            await self._run(task_status)
        finally:
            for spec in self.children:  # escalated or stopped: no mailbox outlives us
                spec.actor.close()

    async def _run(self, task_status: TaskStatus[None]) -> None:
        async with anyio.create_task_group() as tg:
            for spec in self.children:
                await tg.start(self._supervise, spec, tg)
            self.running = True
            task_status.started()
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                if self._stop.is_set():
                    break
                if self._outage_seen:
                    self.running = False
                    await self._stop_children()
                    await self._until_ready_or_stopped()
                    if self._stop.is_set():
                        return
                    self._outage_seen = False
                    log.warning("the database takes writes again: restarting, reloading")
                await self._restart_all(tg)
            self.running = False
            await self._stop_children()

    async def _until_ready_or_stopped(self) -> None:
        """`until_ready`, unless a stop comes first (the outage may never end)."""
        async with anyio.create_task_group() as waiting:

            async def ready() -> None:
                if self.until_ready is not None:
                    await self.until_ready()
                waiting.cancel_scope.cancel()

            async def stopped() -> None:
                await self._stop.wait()
                waiting.cancel_scope.cancel()

            waiting.start_soon(ready)
            waiting.start_soon(stopped)

    async def _restart_all(self, tg: TaskGroup) -> None:
        """one_for_all: stop every child, give each a fresh incarnation, start them in order,
        then let the owner reload what they need (`after_restart`)."""
        self.running = False
        await self._stop_children()
        for spec in self.children:
            spec.actor.reopen()
            spec.actor.restarts += 1
            spec.done = anyio.Event()
            spec.scope = anyio.CancelScope()
        for spec in self.children:
            await tg.start(self._supervise, spec, tg)
        if self.after_restart is not None:
            await self.after_restart()
        self.running = True  # only once every live run is back

    async def _stop_children(self) -> None:
        for spec in reversed(self.children):
            spec.actor.stop()
            with anyio.move_on_after(spec.shutdown_s, shield=True) as waited:
                await spec.done.wait()
            if waited.cancelled_caught:
                log.warning(
                    "%s did not stop within %.1fs; cancelling", spec.actor.name, spec.shutdown_s
                )
                spec.scope.cancel()
                with anyio.move_on_after(1.0, shield=True):
                    await spec.done.wait()
            spec.actor.fail_pending()

    async def _supervise(
        self,
        spec: ChildSpec,
        tg: TaskGroup,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        ready = _Readiness(task_status)
        try:
            with spec.scope:
                while True:
                    try:
                        await spec.actor.run(task_status=ready)
                        return  # a clean return: the actor was told to stop
                    except Exception as exc:
                        if not ready.fired:
                            raise  # failed to start at all: that is the caller's error
                        if self._stop.is_set():
                            log.warning("%s failed while stopping: %r", spec.actor.name, exc)
                            return
                        if spec.restart is Restart.TEMPORARY:
                            log.error("%s crashed and is temporary: %r", spec.actor.name, exc)
                            return
                        if self.outage is not None and isinstance(exc, self.outage):
                            if not self._outage_seen:
                                log.error("%s: %s; waiting until it is back", spec.actor.name, exc)
                            self._outage_seen = True
                            self._wake.set()
                            return
                        self._record_crash(spec, exc)
                        if self.strategy is Strategy.ONE_FOR_ALL:
                            log.warning(
                                "%s crashed (%r); restarting all, reloading from the store",
                                spec.actor.name,
                                exc,
                            )
                            self._wake.set()
                            return
                        spec.actor.restarts += 1
                        log.warning("%s crashed (%r); restarting", spec.actor.name, exc)
        finally:
            spec.done.set()

    def _record_crash(self, spec: ChildSpec, exc: Exception) -> None:
        now = time.monotonic()
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] > self.period:
            self._crashes.popleft()
        if len(self._crashes) > self.max_restarts:
            raise SupervisorEscalation(
                f"{spec.actor.name} crashed {len(self._crashes)} times within {self.period:.0f}s"
                f" (budget {self.max_restarts}); last error: {exc!r}"
            ) from exc


class _Readiness:
    """Passes the first `started()` on to the supervisor's `start`; later restarts are silent."""

    def __init__(self, inner: TaskStatus[None]) -> None:
        self._inner = inner
        self.fired = False

    def started(self, value: None = None) -> None:
        if not self.fired:
            self.fired = True
            self._inner.started(value)
