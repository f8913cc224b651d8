"""The HTTP API embedded in the runtime's task group, with runtui (not uvicorn) owning signals.

`http_api(runtime, ...)` starts uvicorn beside the actors and yields once it listens. Stopping
it (`stop_accepting`, or leaving the block) closes the listener, tells stream clients
`shutdown` (their streams end) and lets open requests finish; the runtime's own exit then
flushes the writer. `runtui serve` drives this from SIGTERM/SIGINT.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import uvicorn

from runtui.server.limits import ApiLimits, header_guard
from runtui.server.security import HostRule, load_or_create_token

if TYPE_CHECKING:  # the API process imports this module: it needs none of the runtime
    from runtui.server.host import ServerHost
    from runtui.server.streams import StreamHub

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class EmbeddedServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: runtui decides how to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def embedded_server(app: Any, limits: ApiLimits) -> EmbeddedServer:
    """uvicorn as runtui runs it: on sockets it is given, no lifespan, quiet, and every
    request's head within `limits` (`header_guard`)."""
    return EmbeddedServer(
        uvicorn.Config(
            app,
            http=header_guard(limits),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
    )


class ServerStartError(RuntimeError):
    pass


@dataclass
class ApiServer:
    url: str
    port: int
    token: str
    shutdown: anyio.Event
    server: EmbeddedServer
    streams: StreamHub | None = None

    def stop_accepting(self) -> None:
        """Close the listener, end every event stream (`event: shutdown`), let open requests
        finish."""
        self.shutdown.set()
        if self.streams is not None:
            self.streams.close()
        self.server.should_exit = True


WILDCARD = frozenset({"0.0.0.0", "::"})


def base_url(host: str, port: int) -> str:
    """The API's URL on host:port (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def host_rule(host: str, port: int, extra: Iterable[str] = ()) -> HostRule:
    """The Host headers a server listening on host:port answers: that address, the loopback
    names when it listens there, this machine's names and any IP address when it listens on
    every address, and the `extra` names (`--allow-host`, `RUNTUI_ALLOWED_HOSTS`)."""
    names = {f"[{host}]" if ":" in host else host, *extra}  # an IPv6 Host is bracketed
    if host in LOOPBACK or host in WILDCARD:
        names |= {"127.0.0.1", "localhost", "[::1]"}
    if host in WILDCARD:
        names |= {socket.gethostname(), socket.getfqdn()}
    names = {n.lower() for n in names if n}
    return HostRule(frozenset(names | {f"{n}:{port}" for n in names}), any_ip=host in WILDCARD)


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (0: any free port); ServerStartError if it cannot.

    Bound here, not in uvicorn: a bind error is ours to report, and once the socket listens,
    connections queue in its backlog, so the API is reachable from this call on.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # says TCP, and accepted sockets inherit it. With Nagle on, a response written in two
    # parts waits for the client's delayed ACK: +40 ms per request on a kept-alive connection,
    # and event-stream frames held back the same way.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServerStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


@contextlib.asynccontextmanager
async def http_api(
    runtime: ServerHost,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    allow_hosts: Iterable[str] = (),
) -> AsyncIterator[ApiServer]:
    from runtui.server.app import build_app

    token = token or load_or_create_token()
    shutdown = anyio.Event()
    sock = listen(host, port)
    bound = int(sock.getsockname()[1])
    hosts = host_rule(host, bound, [*runtime.settings.allowed_hosts, *allow_hosts])
    app = build_app(runtime, token=token, hosts=hosts, shutdown=shutdown)
    server = embedded_server(app, ApiLimits.of(runtime.settings))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            api = ApiServer(
                base_url(host, bound), bound, token, shutdown, server, app.state.streams
            )
            try:
                yield api
            finally:
                api.stop_accepting()
    finally:
        sock.close()  # uvicorn closes it on a clean stop; not when we were cancelled
