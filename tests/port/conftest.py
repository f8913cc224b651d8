"""The port in both shapes: every test that takes `port` runs embedded and through a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import runtui
from runtui.api import Port
from runtui.server.serve import http_api

TOKEN = "port-token"
FAST = {"durability": "fast", "rok_governance_timeout_ms": 3000}


@pytest.fixture(params=["embedded", "remote"])
async def port(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[Port]:
    if request.param == "embedded":
        async with runtui.open(db_path, **FAST) as rt:
            yield rt
        return
    async with (
        runtui.open(db_path, **FAST) as local,
        http_api(local, port=0, token=TOKEN) as api,
        runtui.connect(api.url, token=TOKEN) as rt,
    ):
        yield rt
