"""The real runtime on a temp database, wrapped for the TUI, plus a bounded wait helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from runtui.actors.runtime import Runtime
from runtui.api import Port
from runtui.embedded import EmbeddedRuntime
from tests.actors.conftest import settings_for


@pytest.fixture
async def runtime(db_path: Path) -> AsyncIterator[Runtime]:
    async with Runtime.open(settings_for(db_path)) as rt:
        yield rt


@pytest.fixture
def client(runtime: Runtime) -> EmbeddedRuntime:
    return EmbeddedRuntime(runtime)


async def until(pilot: Pilot[object], condition: Callable[[], bool], *, rounds: int = 400) -> None:
    """Let the app process messages until `condition` holds (bounded, no fixed sleeps)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


@asynccontextmanager
async def port_for(mode: str, runtime: Runtime) -> AsyncIterator[Port]:
    """The embedded port ("embedded"), or ("attached") an `HttpClient` on a real HTTP server
    on 127.0.0.1 over the same runtime: the two ways the UI reaches a runtime."""
    if mode == "embedded":
        yield EmbeddedRuntime(runtime)
        return
    from runtui.client import HttpClient
    from runtui.server.serve import http_api

    async with (
        http_api(EmbeddedRuntime(runtime), port=0, token="t") as api,
        HttpClient(api.url, "t") as client,
    ):
        yield client
