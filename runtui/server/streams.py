"""Server-sent event streams of committed events, resumable with no gap and no duplicate.

The SSE `id` is the event's sequence number in its run (per-run stream) or its position in the
database (the all-runs stream). A client that reconnects with `Last-Event-ID` first gets what
it missed from the store, then the live tail. To make the seam exact the stream subscribes to
the bus *before* reading the store, and skips anything at or below the last id it sent.

What a stream holds for its client is bounded in bytes (`LiveFeed`): a task takes each live
delivery as it comes and holds it until the client can take it; a client slower than the
runtime by more than the bound is sent back to the store (resync), not dropped.

Cheap per client, since every client of a busy server sees the same events: each committed
batch becomes SSE frames once per server and goes to every client as one chunk (`StreamHub`
keeps the recent chunks and event encodings), and waiting is one wait under a deadline (a pump
task per stream, none per batch). At shutdown the hub closes every stream's subscription: each
stream sends what it still holds, then `event: shutdown`, and ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence

import anyio
import msgspec
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from runtui.domain.events import TYPE_TO_KIND, EventEnvelope
from runtui.domain.feed import Lagged
from runtui.server.host import LiveDelivery, LiveSubscription, StreamSource

_json = msgspec.json.Encoder()
PAGE = 1000
KEEPALIVE_S = 15.0
#: At most one write per client per LINGER_S: under a steady flow of commits, those of the
#: last LINGER_S join one write (fewer, larger writes: less CPU for the server and the client
#: per event); the first event after a quiet spell is written at once.
LINGER_S = 0.05
#: At most about this many events join one write (the rest waits in the subscription).
DRAIN_EVENTS = 2048
#: Writes are cut to this size: asyncio keeps what the socket did not take in one buffer and
#: moves the rest down after each send, so one big write to a slow client costs its size
#: squared; small writes wait for the client instead (uvicorn's flow control).
WRITE_BYTES = 64 * 1024
CACHE_CHUNKS = 64
CACHE_CHUNK_BYTES = 16 * 2**20
SHUTDOWN = b"event: shutdown\ndata: {}\n\n"
KEEPALIVE = b": keepalive\n\n"


class StreamHub:
    """The event streams of one server: their subscriptions and the shared encodings."""

    def __init__(self) -> None:
        self.subscriptions: set[LiveSubscription] = set()
        self._chunks: dict[tuple[bool, int, int], bytes] = {}
        self._chunk_bytes = 0
        self.closed = False

    def chunk(self, batch: Sequence[EventEnvelope], per_run: bool) -> bytes:
        """A committed batch as SSE frames, built once for every client that gets it whole.

        A batch is known by its first and last position (positions are unique, and a
        subscriber gets a commit's events, or one run's share of them, in order).
        """
        key = (per_run, batch[0].position, batch[-1].position)
        cached = self._chunks.get(key)
        if cached is None:
            cached = self._chunks[key] = frames(batch, per_run)
            self._chunk_bytes += len(cached)
            while len(self._chunks) > CACHE_CHUNKS or self._chunk_bytes > CACHE_CHUNK_BYTES:
                self._chunk_bytes -= len(self._chunks.pop(next(iter(self._chunks))))
        return cached

    def open_feed(self, source: StreamSource, *, run_id: str | None, max_bytes: int) -> LiveFeed:
        """A stream's feed of live events (one run's, or every run's), subscribed now and
        known here, so that shutdown reaches it."""
        per_run = run_id is not None
        sub = source.subscribe(run_id=run_id, max_batches=512)
        self.subscriptions.add(sub)

        def size(batch: Sequence[EventEnvelope]) -> int:
            return len(self.chunk(batch, per_run))  # the stream writes this very encoding

        return LiveFeed(sub, size, max_bytes, on_close=lambda: self.subscriptions.discard(sub))

    def close(self) -> None:
        """Shutdown: every stream sends what it holds, then `event: shutdown`, and ends."""
        self.closed = True
        for sub in list(self.subscriptions):
            sub.close()


class LiveFeed:
    """A stream's live events, moved out of its subscription as they are published (`pump`,
    a task beside the stream) and held until the stream writes them: at most `max_bytes` of
    frames.

    A client that stops reading stops its stream's writes, not the pump. Once more than
    `max_bytes` would wait for it, the feed forgets what it holds, drops what follows, and
    hands the stream a lag instead: the stream re-reads the store from the last event it
    wrote, once the client reads again (a resync: no gap, no duplicate). So a client that
    never reads costs its connection and nothing that grows.
    """

    def __init__(
        self,
        sub: LiveSubscription,
        size: Callable[[Sequence[EventEnvelope]], int],
        max_bytes: int,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.sub = sub
        self._size = size
        self._max_bytes = max_bytes
        self._on_close = on_close
        self._held: deque[tuple[Sequence[EventEnvelope], int]] = deque()
        self.held_bytes = 0
        self._lagged = False
        self._ended = False
        self._wakeup = anyio.Event()
        #: How often the feed overflowed (the stream re-read the store).
        self.resyncs = 0

    async def pump(self) -> None:
        """Move each delivery of the subscription into the feed, until it is closed."""
        try:
            async for delivery in self.sub:
                self._offer(delivery)
        finally:
            self._ended = True
            self._wakeup.set()

    def _offer(self, delivery: LiveDelivery) -> None:
        if self._lagged:
            return  # the stream re-reads the store from before this
        size = 0 if isinstance(delivery, Lagged) else self._size(delivery)
        if isinstance(delivery, Lagged) or self.held_bytes + size > self._max_bytes:
            self._held.clear()
            self.held_bytes = 0
            self._lagged = True
            self.resyncs += 1
        else:
            self._held.append((delivery, size))
            self.held_bytes += size
        self._wakeup.set()

    @property
    def pending(self) -> bool:
        """Whether the stream has something to take: events, a lag, or the end."""
        return bool(self._held) or self._lagged or self._ended

    async def wait(self) -> None:
        """Return once `pending`."""
        while not self.pending:
            self._wakeup = anyio.Event()
            await self._wakeup.wait()

    def take(self, limit: int = DRAIN_EVENTS) -> tuple[list[Sequence[EventEnvelope]], bool, bool]:
        """What the feed holds, oldest first (about `limit` events at most); whether it lagged
        (re-read the store: what it holds from now on follows that read); whether it ended
        (shutdown) with nothing left."""
        taken: list[Sequence[EventEnvelope]] = []
        events = 0
        while self._held and events < limit:
            batch, size = self._held.popleft()
            self.held_bytes -= size
            taken.append(batch)
            events += len(batch)
        lagged, self._lagged = self._lagged, False
        return taken, lagged, self._ended and not self._held

    def close(self) -> None:
        self.sub.close()
        if self._on_close is not None:
            self._on_close()


_KIND = {t: k.encode() for t, k in TYPE_TO_KIND.items()}


def frames(events: Sequence[EventEnvelope], per_run: bool) -> bytes:
    """SSE frames for `events`: `id` (seq per run, else position), `event` (the kind),
    `data` (the event as JSON). One msgspec call encodes them all (JSON has no raw newline)."""
    datas = _json.encode_lines(events).split(b"\n")
    if per_run:
        return b"".join(
            [
                b"id: %d\nevent: %s\ndata: %s\n\n" % (e.seq, _KIND[type(e.body)], d)
                for e, d in zip(events, datas, strict=False)
            ]
        )
    return b"".join(
        [
            b"id: %d\nevent: %s\ndata: %s\n\n" % (e.position, _KIND[type(e.body)], d)
            for e, d in zip(events, datas, strict=False)
        ]
    )


def sse(event: EventEnvelope, ident: int) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (
        ident,
        _KIND[type(event.body)],
        _json.encode(event),
    )


async def event_stream(
    source: StreamSource,
    feed: LiveFeed,
    *,
    run_id: str | None,
    last_id: int,
    shutdown: anyio.Event,
    keepalive_s: float = KEEPALIVE_S,
    linger_s: float = LINGER_S,
    hub: StreamHub | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield SSE frames from after `last_id` on, until the client leaves or the server stops.

    `feed` (`StreamHub.open_feed`, its `pump` running beside this) brings the live events: it
    is opened before the store is read, so that nothing committed in between is missed."""
    hub = hub or StreamHub()
    key: Callable[[EventEnvelope], int] = (
        (lambda e: e.seq) if run_id is not None else (lambda e: e.position)
    )
    per_run = run_id is not None
    sent = last_id
    wrote_at = -linger_s
    # The id tells a client where this stream starts, so a reconnect before the first
    # event resumes from here instead of from a later "now".
    yield b"retry: 1000\nid: %d\n\n" % last_id
    if shutdown.is_set() or hub.closed:
        yield SHUTDOWN
        return
    while True:
        # catch up from the store
        while True:
            if run_id is not None:
                page = await source.reader.events_after(run_id, sent, limit=PAGE)
            else:
                page = await source.reader.events_since(sent, limit=PAGE)
            if page:
                sent = key(page[-1])
                yield frames(page, per_run)
            if len(page) < PAGE:
                break
        # then the live tail, until the feed lags
        while True:
            with anyio.move_on_after(keepalive_s):
                await feed.wait()
            if not feed.pending:
                if shutdown.is_set():
                    yield SHUTDOWN
                    return
                yield KEEPALIVE
                continue
            # One write per linger_s at most: under a steady flow the commits of that time
            # join one write; an event after a quiet spell goes out at once.
            wait = wrote_at + linger_s - anyio.current_time()
            if wait > 0:
                await anyio.sleep(wait)
            batches, lagged, ended = feed.take()
            chunks = []
            for batch in batches:
                if key(batch[0]) > sent:  # the common case: all of it is new
                    sent = key(batch[-1])
                    chunks.append(hub.chunk(batch, per_run))
                    continue
                fresh = [env for env in batch if key(env) > sent]  # the seam
                if fresh:
                    sent = key(fresh[-1])
                    chunks.append(frames(fresh, per_run))
            if chunks:
                yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
                if sum(len(b) for b in batches) < DRAIN_EVENTS:
                    wrote_at = anyio.current_time()  # else more is queued: no pause
            if ended:
                yield SHUTDOWN
                return
            if lagged:
                break  # back to the store


def pieces(chunk: bytes) -> list[bytes | memoryview]:
    """`chunk` cut into writes of at most WRITE_BYTES (views: nothing is copied)."""
    if len(chunk) <= WRITE_BYTES:
        return [chunk]
    view = memoryview(chunk)
    return [view[i : i + WRITE_BYTES] for i in range(0, len(chunk), WRITE_BYTES)]


class EventStreamResponse(StreamingResponse):
    """A stream's response: writes what the stream yields, runs its feed's pump beside it, and
    notices a client leaving at once, not at its next write.

    (Starlette relies on the next write failing under ASGI 2.4; an idle stream would then keep
    its subscription, and count as a client, until the next keepalive.)
    """

    def __init__(
        self,
        content: AsyncIterator[bytes | memoryview],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        *,
        feed: LiveFeed,
    ) -> None:
        super().__init__(content, status_code, headers, media_type)
        self.feed = feed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tg:

                async def stream() -> None:
                    try:
                        await self.stream_response(send)
                    except OSError:  # the client went away mid-write
                        pass
                    finally:
                        with anyio.CancelScope(shield=True):
                            close = getattr(self.body_iterator, "aclose", None)
                            if close is not None:
                                await close()  # the stream's `finally`: counted out now
                    tg.cancel_scope.cancel()

                tg.start_soon(self.feed.pump)
                tg.start_soon(stream)
                await self.listen_for_disconnect(receive)
                tg.cancel_scope.cancel()
        finally:
            self.feed.close()  # unsubscribed now
