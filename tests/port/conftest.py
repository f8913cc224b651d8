"""The port in both shapes: every test that takes `port` runs embedded and through a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import runtui
from runtui.api import Port
from runtui.server.serve import http_api

TOKEN = "port-token"
FAST = {"durability": "fast", "rok_governance_timeout_ms": 3000}


class Beside:
    """A port whose runs another runtime on the same database drives (it submits them): this
    one sees them through the file (`actors.tail.OtherWriters`) and acts on them by commands
    to that runtime (`actors.delegate`). Everything but submitting is this port's own."""

    def __init__(self, rt: Port, driver: Port) -> None:
        self._rt = rt
        self._driver = driver

    async def submit(self, *args: Any, **kwargs: Any) -> str:
        return await self._driver.submit(*args, **kwargs)

    async def submit_file(self, *args: Any, **kwargs: Any) -> str:
        return await self._driver.submit_file(*args, **kwargs)

    async def drain(self) -> None:
        await self._driver.drain()
        await self._rt.drain()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rt, name)


@pytest.fixture(params=["embedded", "remote", "beside", "postgres", "beside-postgres"])
async def port(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[Port]:
    """The runtime in this process; a server's, through HTTP; or one beside the runtime that
    drives the runs (`Beside`: a second runtime on the database, as another process would be:
    its own writer, leases and bell); the embedded and beside shapes also on PostgreSQL."""
    if request.param.endswith("postgres"):
        from tests.databases import postgres_schema

        with postgres_schema() as url:
            if request.param == "postgres":
                async with runtui.open(url, **FAST) as rt:
                    yield rt
                return
            async with runtui.open(url, **FAST) as driver, runtui.open(url, **FAST) as rt:
                yield Beside(rt, driver)  # type: ignore[misc]
        return
    if request.param == "embedded":
        async with runtui.open(db_path, **FAST) as rt:
            yield rt
        return
    if request.param == "beside":
        async with (
            runtui.open(db_path, **FAST) as driver,
            runtui.open(db_path, **FAST) as rt,
        ):
            yield Beside(rt, driver)  # type: ignore[misc]
        return
    async with (
        runtui.open(db_path, **FAST) as local,
        http_api(local, port=0, token=TOKEN) as api,
        runtui.connect(api.url, token=TOKEN) as rt,
    ):
        yield rt
