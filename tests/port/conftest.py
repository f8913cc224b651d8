"""The port in both shapes: every test that takes `port` runs embedded and through a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import runtui
from runtui.api import Port
from runtui.queued import QueuedRuntime
from runtui.server.serve import http_api

TOKEN = "port-token"
FAST = {"durability": "fast", "rok_governance_timeout_ms": 3000}


@pytest.fixture(params=["embedded", "remote", "queued"])
async def port(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[Port]:
    """The runtime in this process; a server's, through HTTP; or another owner's, with each
    verb a command through the database (`runtui.queued`: the owner here is a second runtime
    in this process, which holds the database's lock as another process would)."""
    if request.param == "embedded":
        async with runtui.open(db_path, **FAST) as rt:
            yield rt
        return
    if request.param == "queued":
        async with (
            runtui.open(db_path, **FAST) as owner,
            QueuedRuntime.beside_owner(owner.settings) as rt,
        ):
            yield rt
        return
    async with (
        runtui.open(db_path, **FAST) as local,
        http_api(local, port=0, token=TOKEN) as api,
        runtui.connect(api.url, token=TOKEN) as rt,
    ):
        yield rt
