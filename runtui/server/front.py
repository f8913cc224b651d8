"""The API process's app: event streams served here, everything else passed to the runtime.

`runtui serve` runs the HTTP API in a process of its own (see `api_process.py`) so that
delivering events to many stream clients does not take CPU (and the GIL) from the runtime and
its writer. This app is what that process serves on the public port:

- the two event-stream routes, from a `StoreTail` over the database file (same routes, same
  parameters, same frames as the runtime's own API: `stream_routes.py`);
- every other request forwarded unchanged, over a Unix socket, to the runtime's API in the
  runtime's process, and its answer returned unchanged: queries, the mutating verbs with their
  Idempotency-Key memory, probes, metrics (with this process's stream clients counted in) and
  the OpenAPI document. One implementation of each endpoint, in one place.

Host and token are checked here first (the runtime checks them again); a request the runtime
cannot answer because it is gone or stopping gets a 503 problem.
"""

from __future__ import annotations

import logging
import re

import anyio
import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from runtui.server.errors import install_error_handlers
from runtui.server.host import FollowedSource
from runtui.server.limits import ApiLimits, BodyLimit
from runtui.server.security import GuardMiddleware, HostRule, Tokens, problem
from runtui.server.stream_routes import add_stream_routes
from runtui.server.streams import StreamHub

log = logging.getLogger(__name__)

#: Connection-level headers: they describe one hop, not the request (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: Headers this process's own server adds to every response it sends: the runtime's copies
#: are dropped, or a forwarded answer would carry each twice.
OWN_HEADERS = frozenset({b"date", b"server", b"content-length"})
STREAM_CLIENTS = re.compile(rb"^runtui_stream_clients (\d+)$", re.MULTILINE)


class FrontCounts:
    """This process's metrics: its stream clients (the runtime counts the rest)."""

    def __init__(self) -> None:
        self.stream_clients = 0


class Front:
    """The ASGI app of the API process."""

    def __init__(
        self,
        tail: FollowedSource,
        *,
        control: str,
        token: Tokens,
        hosts: HostRule,
        shutdown: anyio.Event,
        limits: ApiLimits,
    ) -> None:
        self.tail = tail
        self.shutdown = shutdown
        self.hub = StreamHub()
        self.counts = FrontCounts()
        streams = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        install_error_handlers(streams)
        add_stream_routes(  # the tail paces what it publishes: streams write as it comes
            streams,
            tail,
            shutdown=shutdown,
            hub=self.hub,
            stats=self.counts,
            linger_s=0.0,
            buffer_bytes=limits.stream_buffer_bytes,
        )
        self._streams = streams
        # Host and token here; whether a body must be JSON is the runtime's to say (it knows
        # which method each path takes: a 405 comes before a 415).
        self._guarded_streams = GuardMiddleware(
            streams, token=token, hosts=hosts, accepts=lambda scope: False
        )
        self._guard = GuardMiddleware(
            self._forward, token=token, hosts=hosts, accepts=lambda scope: False
        )
        # Before either: a body over the limit is refused before it is read (and before the
        # token is looked at); one within it is read here whole, then passed on.
        self._limited = BodyLimit(self._route, max_bytes=limits.max_body_bytes)
        self._runtime = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=control),
            base_url="http://runtime",
            timeout=httpx.Timeout(60.0, connect=5.0),
        )

    def close(self) -> None:
        """Shutdown: every stream sends what it holds, then `event: shutdown`, and ends."""
        self.shutdown.set()
        self.hub.close()
        self.tail.end_streams()

    async def aclose(self) -> None:
        await self._runtime.aclose()

    def _is_stream(self, scope: Scope) -> bool:
        return any(r.matches(scope)[0] is Match.FULL for r in self._streams.router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan, no websockets
        await self._limited(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._is_stream(scope):
            await self._guarded_streams(scope, receive, send)
        else:
            await self._guard(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request to the runtime's API and its answer back, both unchanged."""
        request = Request(scope, receive)
        target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        outgoing = self._runtime.build_request(
            scope["method"], target, headers=headers, content=await request.body()
        )
        try:
            answer = await self._runtime.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            log.warning("runtime unreachable: %s", exc)
            await problem(503, "Service Unavailable", "the runtime is not answering")(
                scope, receive, send
            )
            return
        try:
            body = await answer.aread()
            if scope["path"] == "/metrics" and answer.status_code == 200:
                body = self._count_streams(body)
            out = [
                (k, v)
                for k, v in answer.headers.raw
                if k.lower() not in HOP_BY_HOP and k.lower() not in OWN_HEADERS
            ]
            out.append((b"content-length", str(len(body)).encode()))
            await send(
                {"type": "http.response.start", "status": answer.status_code, "headers": out}
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            await answer.aclose()

    def _count_streams(self, text: bytes) -> bytes:
        """The runtime's metrics, with this process's stream clients added to its own."""

        def add(match: re.Match[bytes]) -> bytes:
            return b"runtui_stream_clients %d" % (int(match.group(1)) + self.counts.stream_clients)

        return STREAM_CLIENTS.sub(add, text)
