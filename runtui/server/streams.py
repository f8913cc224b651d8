"""Server-sent event streams of committed events, resumable with no gap and no duplicate.

The SSE `id` is the event's sequence number in its run (per-run stream) or its position in the
database (the all-runs stream). A client that reconnects with `Last-Event-ID` first gets what
it missed from the store, then the live tail. To make the seam exact the stream subscribes to
the bus *before* reading the store, and skips anything at or below the last id it sent; a
`Lagged` marker (the client is slower than the runtime) sends it back to the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio
import msgspec

from actors.bus import Lagged
from actors.runtime import Runtime
from runtui.domain.events import EventEnvelope

_json = msgspec.json.Encoder()
PAGE = 1000
KEEPALIVE_S = 15.0


def sse(event: EventEnvelope, ident: int) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (ident, event.kind.encode(), _json.encode(event))


async def event_stream(
    runtime: Runtime,
    *,
    run_id: str | None,
    last_id: int,
    shutdown: anyio.Event,
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[bytes]:
    """Yield SSE frames from after `last_id` on, until the client leaves or the server stops."""
    key: Callable[[EventEnvelope], int] = (
        (lambda e: e.seq) if run_id is not None else (lambda e: e.position)
    )
    sub = runtime.subscribe(run_id=run_id, max_batches=512)
    sent = last_id
    try:
        yield b"retry: 1000\n\n"
        while True:
            # catch up from the store
            while True:
                if run_id is not None:
                    page = await runtime.reader.events_after(run_id, sent, limit=PAGE)
                else:
                    page = await runtime.reader.events_since(sent, limit=PAGE)
                for env in page:
                    sent = key(env)
                    yield sse(env, sent)
                if len(page) < PAGE:
                    break
            # then the live tail, until lagged
            while True:
                delivery: object = None
                with anyio.move_on_after(keepalive_s):
                    async with anyio.create_task_group() as tg:

                        async def stop_on_shutdown() -> None:
                            await shutdown.wait()
                            tg.cancel_scope.cancel()

                        async def receive() -> None:
                            nonlocal delivery
                            delivery = await sub.receive()
                            tg.cancel_scope.cancel()

                        tg.start_soon(stop_on_shutdown)
                        tg.start_soon(receive)
                if shutdown.is_set():
                    yield b"event: shutdown\ndata: {}\n\n"
                    return
                if delivery is None:
                    yield b": keepalive\n\n"
                    continue
                if isinstance(delivery, Lagged):
                    break
                for env in delivery:  # type: ignore[attr-defined]
                    ident = key(env)
                    if ident > sent:
                        sent = ident
                        yield sse(env, sent)
    finally:
        sub.close()
