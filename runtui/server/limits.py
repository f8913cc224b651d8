"""What one client may cost the server: its request head, its request body, its event stream.

- **Head** (`HeaderGuard`): at most `max_headers` header lines and `max_header_bytes` for the
  request line and headers together, enforced while the bytes are parsed, before any app (or
  token check) sees the request. Over either: `431`, and the connection is closed. Without it
  a request with 100,000 headers was parsed, guarded and forwarded whole (minutes of CPU).
- **Body** (`BodyLimit`): at most `max_body_bytes`. A larger `Content-Length` is refused with
  `413` before a byte of the body is read; a chunked body is counted as it streams in and
  refused the moment it passes the limit. Either way the connection is closed after the 413.
- **Stream** (`stream_buffer_bytes`, used by `streams.LiveFeed`): what an event stream holds
  for a client that has not read it yet; past that, the stream forgets it and re-reads the
  store once the client reads again (no gap, no duplicate).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, cast

import httptools
import msgspec
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from runtui.server.security import problem


class ApiLimits(msgspec.Struct, frozen=True):
    """The server's limits (`RUNTUI_API_*` settings, where their defaults are; README,
    "Limits")."""

    max_headers: int
    max_header_bytes: int
    max_body_bytes: int
    stream_buffer_bytes: int

    @classmethod
    def of(cls, settings: Any) -> ApiLimits:
        """The limits a `runtui.config.Settings` sets."""
        return cls(
            max_headers=settings.api_max_headers,
            max_header_bytes=settings.api_max_header_bytes,
            max_body_bytes=settings.api_max_body_bytes,
            stream_buffer_bytes=settings.api_stream_buffer_bytes,
        )

    def passed_on(self) -> ApiLimits:
        """The limits of the runtime's API behind the API process: the same, with room for
        the headers the API process's HTTP client adds to a request it passes on."""
        return msgspec.structs.replace(
            self, max_headers=self.max_headers + 16, max_header_bytes=self.max_header_bytes + 4096
        )


# --- the head --------------------------------------------------------------------------------


class _HeadTooLarge(Exception):
    pass


def _refusal(status: int, title: str, detail: str) -> bytes:
    """A whole problem+json response, for writing straight to a connection that is closed
    next (no app runs for it)."""
    response = problem(status, title, detail)
    head = [b"HTTP/1.1 %d %s" % (status, title.encode())]
    head += [b"%s: %s" % (k, v) for k, v in response.raw_headers]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(response.body)


class HeaderGuard(asyncio.Protocol):
    """uvicorn's HTTP protocol (httptools), behind a parser of its own that only counts.

    Every byte goes through the counting parser first, and on to uvicorn only if the head it
    belongs to is within the limits; over them, the connection gets a 431 (or, when an earlier
    request on it may still be answering, is just closed) and nothing of the request reaches
    uvicorn. A header that never ends is caught too: bytes that leave a head unfinished count
    against `max_header_bytes` as they arrive. Use `header_guard(limits)` as uvicorn's `http`.
    """

    limits: ClassVar[ApiLimits]

    def __init__(self, **uvicorn_args: Any) -> None:
        self._inner = HttpToolsProtocol(**uvicorn_args)
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._in_head = True  # a connection starts with a request's head
        self._head_bytes = 0  # of the current head: counted as its lines complete
        self._unfinished = 0  # bytes of chunks that fell wholly inside the current head
        self._headers = 0
        self._requests = 0
        self._done = False  # refused, or past what the counting parser follows (an upgrade)

    # the counting parser's callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = self._unfinished = self._headers = 0
        self._requests += 1

    def on_url(self, url: bytes) -> None:
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        self._count(len(name) + len(value) + 4)  # ": " and CRLF

    def on_headers_complete(self) -> None:
        self._in_head = False

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if (
            self._headers > self.limits.max_headers
            or self._head_bytes > self.limits.max_header_bytes
        ):
            raise _HeadTooLarge

    # asyncio.Protocol: through the count, then to uvicorn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # (uvloop's is not a subclass)
        self._inner.connection_made(self._transport)

    def data_received(self, data: bytes) -> None:
        if not self._done:
            in_head, requests = self._in_head, self._requests
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                self._done = True  # what follows is not HTTP; uvicorn decides
            except httptools.HttpParserError as exc:
                if isinstance(exc.__context__, _HeadTooLarge):
                    self._refuse()
                    return
                self._done = True  # malformed: uvicorn answers 400 itself
            if in_head and self._in_head and self._requests == requests and not self._done:
                self._unfinished += len(data)  # all of it belongs to this head
                if self._unfinished > self.limits.max_header_bytes:
                    self._refuse()
                    return
        self._inner.data_received(data)

    def _refuse(self) -> None:
        self._done = True
        assert self._transport is not None
        if self._requests <= 1:  # else an earlier request's answer may be on its way
            self._transport.write(
                _refusal(
                    431,
                    "Request Header Fields Too Large",
                    f"at most {self.limits.max_headers} header lines and"
                    f" {self.limits.max_header_bytes} bytes of request line and headers",
                )
            )
        self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def eof_received(self) -> None:
        self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def header_guard(limits: ApiLimits) -> type[HeaderGuard]:
    """uvicorn's `http` protocol class, with these limits on every request's head."""
    return type("HeaderGuard", (HeaderGuard,), {"limits": limits})


# --- the body --------------------------------------------------------------------------------


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413 (problem+json, then the connection
    closes), without reading more of it than the limit.

    A `Content-Length` over the limit is refused at once. A chunked body is counted as the app
    reads it; once past the limit the app's reading fails, and whatever the app then answers is
    replaced by the 413 (a body that cannot be read whole is never half-processed).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        response = problem(
            413,
            "Content Too Large",
            f"the request body is over this server's limit of {self.max_bytes} bytes",
        )
        response.headers["Connection"] = "close"
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:  # uvicorn reads no more than it says (and checked it is a number)
            if int(declared) > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if "transfer-encoding" not in headers:  # no body
            await self.app(scope, receive, send)
            return
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _BodyTooLarge
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a body it could not read: the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not over:
                raise  # else: the app failed because its body was cut off
        if over and not started:
            await self._too_large()(scope, receive, send)
