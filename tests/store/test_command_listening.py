"""The connection that listens for commands on PostgreSQL closes when its listener is cancelled
(a runtime shutting down cancels it): the server sees it go, and nothing is left for the
garbage collector to find open (a ResourceWarning in whichever test ran then)."""

from __future__ import annotations

import gc
import sys
from typing import Any

import anyio
import pytest

from runtui.store.commands import CHANNEL, listen_for_commands
from tests.databases import postgres_schema, sql

pytestmark = pytest.mark.anyio


async def test_a_cancelled_listener_closes_its_connection() -> None:
    with postgres_schema() as url:
        schema = url.rsplit("application_name=", 1)[1]

        def listening() -> int:
            rows = sql(
                url,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ? AND query LIKE ?",
                schema,
                f"LISTEN {CHANNEL}%",
            )
            return int(rows[0][0])  # type: ignore[call-overload]

        async def listen() -> None:
            async for _ in listen_for_commands(url, "owner-1"):
                pass

        unraisable: list[Any] = []
        hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(listen)
                with anyio.fail_after(10):
                    # the listener's LISTEN is its last query: another process's view, polled
                    while listening() == 0:  # noqa: ASYNC110 - nothing here to wait on
                        await anyio.sleep(0.02)
                tg.cancel_scope.cancel()
            gc.collect()
        finally:
            sys.unraisablehook = hook
        assert unraisable == []
        with anyio.fail_after(10):
            while listening():  # noqa: ASYNC110 - the server seeing the connection go
                await anyio.sleep(0.02)
