"""The event bus: committed events fanned out to subscribers that may not keep up.

The writer publishes each committed group here (never before commit). Publishing never waits:
each subscription has a bounded buffer, and one that is full is marked lagged and skipped. The
subscriber then receives a `Lagged` marker with the last position it did get, and catches up
from the store. A slow UI or a stalled HTTP client therefore can never slow the runtime.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import anyio

from runtui.domain.events import EventEnvelope
from runtui.domain.feed import Lagged

Delivery = Sequence[EventEnvelope] | Lagged


class Subscription:
    def __init__(
        self, bus: EventBus, max_batches: int, predicate: Callable[[EventEnvelope], bool] | None
    ) -> None:
        self._bus = bus
        self._max = max_batches
        self._predicate = predicate
        self._queue: deque[Sequence[EventEnvelope]] = deque()
        self._wakeup = anyio.Event()
        self._lagged_after: int | None = None
        self._last_position = bus.last_position
        self.closed = False
        self.dropped = 0

    def _offer(self, batch: Sequence[EventEnvelope]) -> None:
        if self._predicate is not None:
            batch = [e for e in batch if self._predicate(e)]
            if not batch:
                return
        if self._lagged_after is not None or len(self._queue) >= self._max:
            if self._lagged_after is None:
                self._lagged_after = self._last_queued_position()
            self.dropped += len(batch)
        else:
            self._queue.append(batch)
        self._wakeup.set()

    def _last_queued_position(self) -> int:
        return self._queue[-1][-1].position if self._queue else self._last_position

    async def receive(self) -> Delivery:
        """The next batch of committed events, or a `Lagged` marker."""
        while True:
            if self._queue:
                batch = self._queue.popleft()
                self._last_position = batch[-1].position
                return batch
            if self._lagged_after is not None:
                marker = Lagged(self._lagged_after)
                self._lagged_after = None
                return marker
            if self.closed:
                raise anyio.EndOfStream
            self._wakeup = anyio.Event()
            await self._wakeup.wait()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Delivery:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self.closed = True
        self._bus._subscriptions.discard(self)
        self._wakeup.set()


class EventBus:
    """Fans committed events out in position order.

    With `fill_gaps` set (a runtime that shares its database with other processes), a batch of
    this process's own commits that does not follow the last position published is held back:
    other processes committed in between. `fill_gaps` is asked to read the store (`read_back`
    then publishes what it read, in order, and the held batches that follow); so a subscriber
    sees every commit, in the order of the database, each once.
    """

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.last_position = 0
        self.fill_gaps: Callable[[], None] | None = None
        self._held: list[Sequence[EventEnvelope]] = []

    def publish(self, batch: Sequence[EventEnvelope]) -> None:
        """Called by the writer after each commit; never blocks."""
        if not batch:
            return
        if (
            self.fill_gaps is not None
            and self._subscriptions
            and batch[0].position > self.last_position + 1
        ):
            self._held.append(batch)
            self.fill_gaps()
            return
        self._deliver(batch)
        self._release_held()

    def read_back(self, page: Sequence[EventEnvelope]) -> None:
        """Events read from the store in position order (every process's): publish the ones
        not published yet, then what was held back and now follows."""
        fresh = [e for e in page if e.position > self.last_position]
        if fresh:
            self._deliver(fresh)
        self._release_held()

    @property
    def holding(self) -> bool:
        """Own commits are held back until the store is read (`read_back`)."""
        return bool(self._held)

    def _deliver(self, batch: Sequence[EventEnvelope]) -> None:
        self.last_position = batch[-1].position
        for sub in list(self._subscriptions):
            sub._offer(batch)

    def _release_held(self) -> None:
        while self._held:
            self._held.sort(key=lambda b: b[0].position)
            batch = self._held[0]
            if batch[-1].position <= self.last_position:  # read back already
                self._held.pop(0)
                continue
            if batch[0].position > self.last_position + 1 and self._subscriptions:
                return  # still a gap: the store is being read
            self._held.pop(0)
            self._deliver([e for e in batch if e.position > self.last_position])

    def subscribe(
        self, *, max_batches: int = 1024, predicate: Callable[[EventEnvelope], bool] | None = None
    ) -> Subscription:
        sub = Subscription(self, max_batches, predicate)
        self._subscriptions.add(sub)
        return sub

    def close(self) -> None:
        for sub in list(self._subscriptions):
            sub.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)
