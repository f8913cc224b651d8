"""`runtui serve`'s HTTP API in a process of its own, beside the runtime's.

Why: the runtime is one Python process, so everything in it shares one GIL. Served from there,
event streams took their CPU from the writer and the actors: with 20 stream clients the writer
kept about half its throughput. Served from a second process they run on the other core, read
the database file the runtime writes (a WAL reader never blocks the writer), and the runtime's
cost for them is nothing.

The runtime's process (`api_process`, a context manager beside the actors):
- binds the public TCP socket itself (a bind error is reported by `serve`, and the socket
  outlives the API process, so a restarted one takes over the same listener and backlog);
- serves its full API (`build_app`) on a Unix socket in a private (0700) temporary directory;
- starts the API process with the listener inherited and its settings (token included) on
  stdin, and waits until it says `ready`; starts another if it dies while the runtime runs;
- on `stop_accepting` sends it SIGTERM (it closes the listener, ends streams with
  `event: shutdown`, finishes open requests), and once it has exited stops the Unix socket.

The API process (`python -m runtui.server.api_process`, `main`) serves `Front`: streams from a
`StoreTail`, the rest forwarded to the Unix socket. It ends when told to (SIGTERM) or when the
runtime's process is gone (its stdin, the other end of which the runtime holds, reaches EOF),
so a killed `serve` never leaves an API process holding the port.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
from anyio.abc import Process

from runtui.server.limits import ApiLimits
from runtui.server.security import HostRule, Tokens, load_or_create_token
from runtui.server.serve import (
    ServerStartError,
    base_url,
    embedded_server,
    host_rule,
    listen,
)

if TYPE_CHECKING:  # the API process imports this module too: it needs none of the runtime
    from runtui.server.front import Front
    from runtui.server.host import ServerHost

log = logging.getLogger(__name__)

#: How long the API process may take to start (imports, database connections) before `serve`
#: gives up, and how long it may take to stop before it is killed.
START_S = 30.0
STOP_S = 10.0
#: An API process that died sooner than this after starting is restarted only after this long
#: (a crash loop must not spin).
RESTART_BACKOFF_S = 1.0


@dataclass
class ApiProcess:
    """The public API served by a process of its own: `url` for clients; `pid` and
    `restarts` to watch it by."""

    url: str
    port: int
    token: str
    _stop: Callable[[], None]
    _process: Callable[[], Process]
    restarts: int = 0
    _restarted: anyio.Event = field(default_factory=anyio.Event)

    @property
    def pid(self) -> int:
        """The API process's pid (a new one after each restart)."""
        return self._process().pid

    async def wait_restarts(self, count: int) -> None:
        """Return once the API process has been restarted `count` times in all."""
        while self.restarts < count:
            await self._restarted.wait()

    def _note_restart(self) -> None:
        self.restarts += 1
        self._restarted.set()
        self._restarted = anyio.Event()

    def stop_accepting(self) -> None:
        """Close the listener, end every event stream (`event: shutdown`), let open requests
        finish."""
        self._stop()


@contextlib.asynccontextmanager
async def api_process(
    runtime: ServerHost,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    say: Callable[[str], None] | None = None,
    allow_hosts: Iterable[str] = (),
) -> AsyncIterator[ApiProcess]:
    """Serve the API from a process of its own while the block runs; `say` gets a line for
    each thing an operator should know (a restart), else it is logged."""
    from runtui.server.app import build_app

    say = say or log.warning
    token = token or load_or_create_token()
    public = listen(host, port)
    bound = int(public.getsockname()[1])
    hosts = host_rule(host, bound, [*runtime.settings.allowed_hosts, *allow_hosts])
    shutdown = anyio.Event()
    tokens = Tokens.of(token, runtime.settings.api_tokens_file)
    app = build_app(runtime, token=tokens, hosts=hosts, shutdown=shutdown)
    limits = ApiLimits.of(runtime.settings)
    inner = embedded_server(app, limits.passed_on())
    stopping = False
    try:
        with tempfile.TemporaryDirectory(prefix="runtui-api-") as private:  # 0700
            control = str(Path(private) / "runtime.sock")
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            unix.bind(control)
            unix.listen(256)
            settings = {
                "fd": public.fileno(),
                "db": (
                    db
                    if isinstance(db := runtime.settings.db, str)  # a PostgreSQL URL
                    else str(await anyio.Path(db).absolute())
                ),
                "control": control,
                "hosts": msgspec.to_builtins(hosts),
                "tokens": tokens.as_list(),
                "nice": runtime.settings.api_nice,
                "limits": msgspec.to_builtins(limits),
            }
            async with anyio.create_task_group() as tg:
                tg.start_soon(inner.serve, [unix])
                child = await _start(public, settings)

                async def keep_running() -> None:
                    nonlocal child
                    while True:
                        started = time.monotonic()
                        code = await child.wait()
                        if stopping:
                            return
                        await child.aclose()
                        say(f"the API process exited (code {code}); starting another")
                        if time.monotonic() - started < RESTART_BACKOFF_S:
                            await anyio.sleep(RESTART_BACKOFF_S)
                        child = await _start(public, settings)
                        api._note_restart()
                        say(f"API process pid {child.pid} serves {api.url}")

                def stop() -> None:
                    nonlocal stopping
                    if stopping:
                        return
                    stopping = True
                    shutdown.set()
                    app.state.streams.close()
                    with contextlib.suppress(ProcessLookupError):
                        child.send_signal(signal.SIGTERM)
                    public.close()  # the API process holds the only listener now

                api = ApiProcess(base_url(host, bound), bound, token, stop, lambda: child)
                tg.start_soon(keep_running)
                try:
                    yield api
                finally:
                    stop()
                    with anyio.CancelScope(shield=True):
                        await _reap(child)
                    inner.should_exit = True
            unix.close()  # uvicorn closed it on a clean stop; not when we were cancelled
    finally:
        public.close()


async def _start(public: socket.socket, settings: dict[str, Any]) -> Process:
    """Start the API process and wait for its `ready` line (ServerStartError if none comes)."""
    child = await anyio.open_process(
        [sys.executable, "-m", "runtui.server.api_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # its warnings go where ours go
        pass_fds=(public.fileno(),),
        start_new_session=True,  # a terminal's Ctrl-C is for `serve`, which then tells it
    )
    assert child.stdin is not None
    assert child.stdout is not None
    await child.stdin.send(json.dumps(settings).encode() + b"\n")
    said = b""
    with anyio.move_on_after(START_S):
        async for chunk in child.stdout:
            said += chunk
            if b"\n" in said:
                break
    if said.strip() != b"ready":
        await _reap(child)
        raise ServerStartError(
            f"the API process did not start (exit code {child.returncode}, said {said[:200]!r})"
        )
    return child


async def _reap(child: Process) -> None:
    """Wait for the API process to end (it was told to); kill it if it takes too long."""
    with anyio.move_on_after(STOP_S):
        await child.wait()
    if child.returncode is None:
        log.warning("the API process did not stop within %ss; killing it", STOP_S)
        with contextlib.suppress(ProcessLookupError):
            child.kill()
    await child.aclose()


# --- the API process -------------------------------------------------------------------------


async def _serve(settings: dict[str, Any]) -> None:
    from runtui.embedded import EmbeddedRuntime
    from runtui.server.front import Front

    shutdown = anyio.Event()
    limits = msgspec.convert(settings["limits"], ApiLimits)
    listener = socket.socket(fileno=int(settings["fd"]))
    async with EmbeddedRuntime.follow(_database(settings["db"])) as view:  # reads, follows commits
        front = Front(
            view.follower(),
            control=settings["control"],
            token=Tokens(dict(settings["tokens"])),
            hosts=msgspec.convert(settings["hosts"], HostRule),
            shutdown=shutdown,
            limits=limits,
        )
        try:
            await _serve_front(front, limits, listener)
        finally:
            listener.close()
            await front.aclose()


async def _serve_front(front: Front, limits: ApiLimits, listener: socket.socket) -> None:
    server = embedded_server(front, limits)
    async with anyio.create_task_group() as tg:

        def stop() -> None:
            front.close()
            server.should_exit = True

        tg.start_soon(_until_told_to_stop, stop)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await server.serve([listener])
        tg.cancel_scope.cancel()


async def _until_told_to_stop(stop: Callable[[], None]) -> None:
    """SIGTERM (from `serve`), or EOF on stdin (`serve` is gone): stop serving."""
    async with anyio.create_task_group() as tg:

        async def signalled() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    return

        async def orphaned() -> None:
            while True:
                await anyio.wait_readable(0)
                if not os.read(0, 4096):
                    return

        async def first(wait: Callable[[], Any]) -> None:
            await wait()
            tg.cancel_scope.cancel()

        tg.start_soon(first, signalled)
        tg.start_soon(first, orphaned)
    stop()


def _database(db: str) -> Path | str:
    """The database the runtime process named: a PostgreSQL URL as is, else a file."""
    return db if db.startswith(("postgresql://", "postgres://")) else Path(db)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="runtui api: %(message)s")
    settings = json.loads(sys.stdin.buffer.readline())
    os.nice(int(settings["nice"]))
    try:
        import uvloop  # noqa: F401
    except ImportError:
        options = {}
    else:
        options = {"use_uvloop": True}
    anyio.run(_serve, settings, backend_options=options)


if __name__ == "__main__":
    main()
