"""Committed events read back from the database file, for a process that runs no runtime: the
API process's stream source, and the live feed of a read-only UI (`actors.read_only`).

Such a process has no runtime, so nobody publishes to it; instead it watches the
database for commits (`CommitWatch`: `PRAGMA data_version`, a shared-memory read) and reads
what is new in pages, publishing each page on a bus of its own. Streams subscribe to that bus
exactly as they do to the runtime's, so everything in `runtui.server.streams` (resume, lag,
the shared frame encodings) works unchanged. A WAL reader never blocks the writer, and the watching,
reading and sending run in this process: the runtime does none of that work (what it still
loses, sharing the machine's cores with this process, the README's benchmark table shows).

It looks only while a stream is subscribed: an idle API process does not poll.
"""

from __future__ import annotations

import anyio

from runtui.actors.bus import EventBus, Subscription
from runtui.store.queries import StoreReader
from runtui.store.watch import CommitWatch

#: How often to ask whether the runtime committed, while a stream is connected and nothing
#: was new at the last look: the first event after a quiet spell waits at most this long.
POLL_S = 0.005
#: After a look that found something, the next look comes this much later: under a steady
#: flow the tail publishes once per PACE_S, so every stream writes once per PACE_S, all at
#: the same moment (one wake-up of this process serves them all, and the clients read then).
PACE_S = 0.05
PAGE = 1000


class StoreTail:
    """A `StreamSource` over a database another process writes."""

    def __init__(
        self,
        reader: StoreReader,
        watch: CommitWatch,
        *,
        poll_s: float = POLL_S,
        pace_s: float = PACE_S,
    ) -> None:
        self._reader = reader
        self._watch = watch
        self._poll_s = poll_s
        self._pace_s = pace_s
        self.bus = EventBus()
        self._position = self.bus.last_position = watch.last_position()
        self._wanted = anyio.Event()

    @property
    def reader(self) -> StoreReader:
        return self._reader

    @property
    def last_position(self) -> int:
        """The last committed position, asked now (the tail may be idle, and so behind)."""
        return max(self._watch.last_position(), self.bus.last_position)

    def subscribe(self, *, run_id: str | None = None, max_batches: int = 1024) -> Subscription:
        """A subscription to what is committed from now on.

        The first subscriber after an idle spell moves the tail to the database's last
        position before it returns, so the tail publishes everything after that point, and the
        stream's own catch-up from the store (which starts after this call) covers the rest.
        """
        if self.bus.subscriber_count == 0:
            self._position = self.bus.last_position = self._watch.last_position()
        predicate = None if run_id is None else (lambda e: e.run_id == run_id)
        sub = self.bus.subscribe(max_batches=max_batches, predicate=predicate)
        self._wanted.set()
        return sub

    async def run(self) -> None:
        """Publish what is committed, page by page, while anyone listens; until cancelled."""
        while True:
            if self.bus.subscriber_count == 0:
                self._wanted = anyio.Event()
                await self._wanted.wait()
                continue
            if self._watch.changed():
                await self._publish_new()
                await anyio.sleep(self._pace_s)
            else:
                await anyio.sleep(self._poll_s)

    async def _publish_new(self) -> None:
        while True:
            start = self._position
            page = await self._reader.events_since(start, limit=PAGE)
            if self._position != start:  # a first subscriber moved the tail on: read again
                continue
            if page:
                self._position = page[-1].position
                self.bus.publish(page)
            if len(page) < PAGE:
                return

    def end_streams(self) -> None:
        """End every subscription (their streams send `shutdown`); queries still work."""
        self.bus.close()

    def close(self) -> None:
        """End every subscription and close the watch (the reader is its owner's to close)."""
        self.bus.close()
        self._watch.close()


class OtherWriters:
    """What other processes commit to the database a runtime writes too, onto its bus.

    The runtime publishes its own commits at once; this task watches the file for commits
    (`CommitWatch`) while anyone subscribes and reads back what the store holds after the bus's
    last position: other processes' events, and the gaps before own batches the bus held back
    (`EventBus.fill_gaps`). So a UI on one database shows the runs every process drives.
    """

    def __init__(
        self, bus: EventBus, reader: StoreReader, watch: CommitWatch, *, poll_s: float = POLL_S
    ) -> None:
        self._bus = bus
        self._reader = reader
        self._watch = watch
        self._poll_s = poll_s
        self._wake = anyio.Event()
        bus.fill_gaps = self._wake.set

    async def run(self) -> None:
        try:
            while True:
                if self._bus.subscriber_count == 0 and not self._bus.holding:
                    with anyio.move_on_after(self._poll_s * 20):
                        await self._wake.wait()
                    continue
                if self._wake.is_set() or self._watch.changed():
                    self._wake = anyio.Event()
                    self._bus.fill_gaps = self._wake.set
                    await self._read_back()
                with anyio.move_on_after(self._poll_s):
                    await self._wake.wait()
        finally:
            self._bus.fill_gaps = None
            self._watch.close()

    async def _read_back(self) -> None:
        while True:
            page = await self._reader.events_since(self._bus.last_position, limit=PAGE)
            self._bus.read_back(page)
            if len(page) < PAGE:
                return
