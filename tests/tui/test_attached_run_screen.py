"""The run screen of an attached UI (a real `HttpClient` on a real uvicorn on 127.0.0.1): it has
no status bar, so its header says when the server is gone, and stops saying so when the server
is back on the same port."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.widgets.run_header import DISCONNECTED
from tests.actors.conftest import next_approval, settings_for, wf
from tests.client.test_http_client import free_port
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run

pytestmark = pytest.mark.anyio

TOKEN = "t"
GATED = """
name = "gated"

[[tasks]]
id = "ship"
kind = "gate"
prompt = "Ship it?"
"""


async def test_the_run_header_says_when_the_server_is_gone_and_when_it_is_back(
    db_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings_for(db_path)
    async with (
        Runtime.open(settings) as rt,
        HttpClient(url, TOKEN, min_backoff=0.05, max_backoff=0.2) as client,
    ):
        run_id = await rt.submit(wf(GATED))
        await next_approval(rt, run_id)
        app = RuntuiApp(client, demo_path=None)
        async with app.run_test(size=(120, 40)) as pilot:
            async with http_api(EmbeddedRuntime(rt), port=port, token=TOKEN):
                screen = await open_run(app, pilot, run_id)
                await until(pilot, lambda: client.connected and app.connected)
                assert "awaiting_approval" in screen.header.plain
                assert DISCONNECTED.strip() not in screen.header.plain
            await until(pilot, lambda: DISCONNECTED.strip() in screen.header.plain)
            assert screen.header.plain.startswith(DISCONNECTED)
            assert "awaiting_approval" in screen.header.plain  # the last known state stays
            for _ in range(2):  # a key that fails its reads: one toast, however often pressed
                await pilot.press("a")
                await until(pilot, lambda: bool(app._notifications))
            said = [(n.title, n.message) for n in app._notifications]
            assert len(said) == len(set(said)) >= 1

            async with http_api(EmbeddedRuntime(rt), port=port, token=TOKEN):
                await until(pilot, lambda: DISCONNECTED.strip() not in screen.header.plain)
                assert app.connected
                assert "awaiting_approval" in screen.header.plain
