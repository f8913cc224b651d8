"""The real runtime on a temp database, wrapped for the TUI, plus a bounded wait helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from runtui.actors.runtime import Runtime
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
