"""A real runtime on a real database, served by a real uvicorn on 127.0.0.1 (an ephemeral port).

`api` runs the server in the test's own event loop (async tests), in both of its shapes: the
API in the runtime's process (`http_api`, `serve --in-process-api`) and the API in a process
of its own (`api_process`, what `serve` does), so every test that uses it holds for both.
`local_api` is the first shape only, for tests that look inside the server. `live_server`
runs it on a thread of its own (a blocking portal), for synchronous clients such as
schemathesis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest

from runtui.actors.runtime import Runtime
from runtui.embedded import EmbeddedRuntime
from runtui.server.api_process import ApiProcess, api_process
from runtui.server.serve import ApiServer, http_api
from tests.actors.conftest import settings_for

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

NOOP = """
name = "noop"
[[tasks]]
id = "a"
kind = "noop"
[[tasks]]
id = "b"
kind = "noop"
needs = ["a"]
"""

GATE = """
name = "gated"
[[tasks]]
id = "build"
kind = "noop"
[[tasks]]
id = "gate"
kind = "gate"
needs = ["build"]
prompt = "ship it?"
[[tasks]]
id = "ship"
kind = "noop"
needs = ["gate"]
"""

FAILING = """
name = "failing"
[[tasks]]
id = "boom"
kind = "shell"
cmd = "echo going down; exit 3"
"""


@dataclass
class Api:
    runtime: Runtime
    server: ApiServer | ApiProcess
    client: httpx.AsyncClient

    @property
    def local(self) -> ApiServer:
        """The in-process server (for tests that look inside it)."""
        assert isinstance(self.server, ApiServer)
        return self.server

    @property
    def url(self) -> str:
        return self.server.url

    async def submit(self, toml: str, **extra: Any) -> str:
        r = await self.client.post("/api/runs", json={"toml": toml, **extra})
        assert r.status_code == 201, r.text
        return str(r.json()["run_id"])

    async def finish(self, run_id: str, limit_s: float = 30) -> dict[str, Any]:
        """Wait (on committed events) for the run to end; return it as the API shows it."""
        with anyio.fail_after(limit_s):
            await self.runtime.wait(run_id)
        r = await self.client.get(f"/api/runs/{run_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def pending(self, run_id: str, limit_s: float = 30) -> dict[str, Any]:
        """Wait (on committed events) until the run has a pending approval; return it."""
        sub = self.runtime.subscribe(run_id=run_id)
        try:
            with anyio.fail_after(limit_s):
                while True:
                    r = await self.client.get("/api/approvals")
                    mine = [a for a in r.json() if a["run_id"] == run_id]
                    if mine:
                        return dict(mine[0])
                    await sub.receive()
        finally:
            sub.close()


@asynccontextmanager
async def serving(
    db: Path, *, resume: bool = True, **settings: Any
) -> AsyncIterator[tuple[Runtime, ApiServer]]:
    async with (
        Runtime.open(settings_for(db, **settings), resume=resume) as rt,
        http_api(EmbeddedRuntime(rt), port=0, token=TOKEN) as server,
    ):
        yield rt, server


@asynccontextmanager
async def serving_apart(db: Path, **settings: Any) -> AsyncIterator[tuple[Runtime, ApiProcess]]:
    """The runtime here, its API in a process of its own (as `runtui serve` runs them)."""
    async with (
        Runtime.open(settings_for(db, **settings)) as rt,
        api_process(EmbeddedRuntime(rt), port=0, token=TOKEN) as server,
    ):
        yield rt, server


SHAPES = ["in-process", "api-process"]


@pytest.fixture(params=SHAPES)
async def api(db_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    async with (
        (serving if request.param == "in-process" else serving_apart)(db_path) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield Api(rt, server, client)


@pytest.fixture
async def local_api(db_path: Path) -> AsyncIterator[Api]:
    async with (
        serving(db_path) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield Api(rt, server, client)


class Errors(logging.Handler):
    """Every warning or error the server, the runtime or uvicorn logs (a failed request, an
    actor that crashed and was restarted)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


@dataclass
class LiveServer:
    url: str
    portal: anyio.from_thread.BlockingPortal
    runtime: Runtime
    errors: list[str]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("live") / "runs.db"
    errors = Errors()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(errors)
    try:
        with (
            anyio.from_thread.start_blocking_portal() as portal,
            portal.wrap_async_context_manager(serving(db)) as (rt, server),
        ):
            yield LiveServer(server.url, portal, rt, errors.records)
    finally:
        for logger in loggers:
            logger.removeHandler(errors)


def sse_frames(text: str) -> list[dict[str, str]]:
    """Parse complete SSE frames (`id`, `event`, `data`); comments and `retry` are skipped."""
    frames = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "data" in fields:
            frames.append(fields)
    return frames


def data_of(frame: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(frame["data"]))
