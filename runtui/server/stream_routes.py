"""The two event-stream routes, shared by the runtime's API and the API process's front.

Both serve the same server-sent events from a `StreamSource`: in the runtime's own process
that is the runtime (its bus, fed by the writer); in the API process it is a `StoreTail`
(the database file, watched for commits). Registering them in one place keeps the two
servers' streams, parameters and OpenAPI description identical.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any, Protocol

import anyio
from fastapi import FastAPI, Header, Query
from fastapi.responses import Response

from runtui.domain.events import TYPE_TO_KIND
from runtui.server.bodies import Position
from runtui.server.host import StreamSource
from runtui.server.respond import js
from runtui.server.schemas import openapi_responses, problems
from runtui.server.streams import (
    LINGER_S,
    EventStreamResponse,
    LiveFeed,
    StreamHub,
    event_stream,
    pieces,
)

#: Largest value SQLite stores in an INTEGER column (seqs, positions).
MAX_ID = 2**63 - 1

#: One server-sent event, as OpenAPI (3.1: `schema` of an event stream) describes each event.
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data", "event"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"type": "string", "enum": [*sorted(TYPE_TO_KIND.values()), "shutdown"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/EventEnvelope"},
        },
        "retry": {"type": "integer"},
    },
}

LastEventId = Annotated[
    str | None,
    Header(
        pattern=r"^[0-9]{1,18}$",
        description="Resume after this event id (sent by EventSource on reconnect).",
    ),
]

SSE_DOC = (
    "Server-sent events: `id` is the event's {what}, `event` its kind, `data` the event"
    " (JSON). Reconnect with `Last-Event-ID` to resume with no gap and no duplicate; at"
    " server shutdown the stream ends with `event: shutdown`."
)


def sse_responses(*errors: int) -> dict[int | str, dict[str, Any]]:
    """An event-stream route's OpenAPI responses: the endless stream, and its problems."""
    return {
        200: {
            "description": "An endless text/event-stream",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **problems(*errors),
    }


class ClientCount(Protocol):
    """Where a server counts its connected stream clients (its metrics)."""

    stream_clients: int


def add_stream_routes(
    app: FastAPI,
    source: StreamSource,
    *,
    shutdown: anyio.Event,
    hub: StreamHub,
    stats: ClientCount,
    buffer_bytes: int,
    linger_s: float = LINGER_S,
) -> None:
    """The routes, on `app`. `linger_s`: at most one write per stream per that long (0 when
    the source paces itself, as `StoreTail` does); `buffer_bytes`: what a stream holds for a
    client that does not read (`LiveFeed`)."""
    reader = source.reader

    def respond(run_id: str | None, start: int) -> Response:
        feed = hub.open_feed(source, run_id=run_id, max_bytes=buffer_bytes)
        frames = event_stream(
            source,
            feed,
            run_id=run_id,
            last_id=start,
            shutdown=shutdown,
            hub=hub,
            linger_s=linger_s,
        )
        return _stream(frames, feed, stats)

    @app.get(
        "/api/runs/{run_id}/events/stream",
        tags=["events"],
        operation_id="streamRunEvents",
        summary="One run's events, live (SSE)",
        description=SSE_DOC.format(what="seq in its run"),
        response_class=EventStreamResponse,
        responses=sse_responses(401, 403, 404, 422),
    )
    async def run_stream(
        run_id: str,
        after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        last_event_id: LastEventId = None,
    ) -> Response:
        await reader.get_run(run_id)
        return respond(run_id, resume_point(last_event_id, after))

    @app.get(
        "/api/events/position",
        tags=["events"],
        operation_id="eventsPosition",
        summary="The position of the last committed event: `after` for a stream from now",
        responses=openapi_responses("The position", Position, errors=(401, 403)),
    )
    async def position() -> Response:
        return js(Position(source.last_position))

    @app.get(
        "/api/events/stream",
        tags=["events"],
        operation_id="streamEvents",
        summary="Every run's events, live (SSE); from now unless `after` or Last-Event-ID",
        description=SSE_DOC.format(what="position in the database"),
        response_class=EventStreamResponse,
        responses=sse_responses(401, 403, 422),
    )
    async def all_stream(
        after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
        last_event_id: LastEventId = None,
    ) -> Response:
        if after is None and last_event_id is None:
            start = source.last_position  # a new client starts at "now"
        else:
            start = resume_point(last_event_id, after or 0)
        return respond(None, start)


def resume_point(last_event_id: str | None, after: int) -> int:
    if last_event_id is None:
        return after
    try:
        value = int(last_event_id)
    except ValueError:
        raise ValueError(f"Last-Event-ID: not an event id: {last_event_id[:40]!r}") from None
    if not 0 <= value <= MAX_ID:
        raise ValueError("Last-Event-ID: out of range")
    return max(value, after)


def _stream(frames: AsyncGenerator[bytes, None], feed: LiveFeed, stats: ClientCount) -> Response:
    async def counted() -> AsyncGenerator[bytes | memoryview, None]:
        stats.stream_clients += 1
        try:
            async for frame in frames:
                for piece in pieces(frame):
                    yield piece
        finally:
            stats.stream_clients -= 1
            await frames.aclose()

    return EventStreamResponse(
        counted(),
        feed=feed,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
