"""Following a live feed without missing or repeating an event, and waiting for a run to settle:
the two algorithms every adapter of the port shares.

`follow_run` turns "a subscription opened first, then the store" into one ordered stream: what
the store already holds is read page by page, then the subscription's batches are yielded; an
event at or below the last one yielded is dropped, and a `Lagged` marker or a gap (the next
event is not the one after the last) re-reads the store from the last one yielded. `key` says
what orders the stream: a run's `seq` (gap-free), or the global `position` (not gap-free: a
gap there is not a loss, so only a marker triggers a re-read).

`wait_settled` applies `runtui.domain.settled` to any port: it follows the run's events and,
once nothing was committed for `QUIET_S`, believes a snapshot that says the run has settled.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from runtui.domain.events import EventEnvelope, RunStatusChanged
from runtui.domain.feed import Lagged, Resync
from runtui.domain.settled import QUIET_S, is_settled
from runtui.domain.views import RunRow

if TYPE_CHECKING:
    from runtui.api import Port


def _seq(env: EventEnvelope) -> int:
    return env.seq


async def follow_run(
    live: AsyncIterable[Sequence[EventEnvelope] | Lagged | Resync],
    read_after: Callable[[int], Awaitable[list[EventEnvelope]]],
    after: int,
    *,
    key: Callable[[EventEnvelope], int] = _seq,
) -> AsyncIterator[EventEnvelope]:
    """Yield the stored events after `after`, then the live ones, in `key` order, each once."""
    last = after
    gap_free = key is _seq

    async def catch_up() -> AsyncIterator[EventEnvelope]:
        nonlocal last
        while True:
            page = await read_after(last)
            for env in page:
                if key(env) > last:
                    last = key(env)
                    yield env
            if not page:
                return

    async for env in catch_up():
        yield env
    async for delivery in live:
        if isinstance(delivery, Lagged | Resync) or (
            gap_free and delivery and key(delivery[0]) > last + 1
        ):
            async for env in catch_up():
                yield env
            if isinstance(delivery, Lagged | Resync):
                continue
        for env in delivery:
            if key(env) > last:
                last = key(env)
                yield env


async def wait_settled(port: Port, run_id: str) -> RunRow:
    """Return the run once it has ended, or waits for a human with nothing under way."""
    run = await port.get_run(run_id)
    send, receive = anyio.create_memory_object_stream[EventEnvelope](math.inf)

    async def pump() -> None:
        async with send:
            async for env in port.events(run_id, after=run.last_seq):
                await send.send(env)

    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(pump)
        settled = await _until_settled(port, run_id, receive, run.last_seq)
        tg.cancel_scope.cancel()
    return settled


async def _until_settled(
    port: Port, run_id: str, receive: MemoryObjectReceiveStream[EventEnvelope], seen: int
) -> RunRow:
    while True:
        env: EventEnvelope | None = None
        with anyio.move_on_after(QUIET_S):
            env = await receive.receive()
        if env is not None:
            seen = max(seen, env.seq)
            if isinstance(env.body, RunStatusChanged) and env.body.status.is_terminal:
                return await port.get_run(run_id)  # the last event a run commits
            continue
        run = await port.get_run(run_id)  # quiet for a moment: where does it stand?
        if seen < run.last_seq:
            continue  # its events are still on their way
        tasks = await port.tasks_of(run_id)
        if is_settled(run.status, (t.status for t in tasks)):
            return run
