"""The task screen of an attached UI (a real `HttpClient` on a real uvicorn on 127.0.0.1): picked
with the waves cursor, its attempts and output read through the API (`/output`), new output
and a new attempt arriving live over the event stream, `e` to the first error."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.screens.run import RunScreen
from tests.actors.conftest import finish, settings_for, wf
from tests.client.test_http_client import free_port
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run
from tests.tui.test_task_screen import cell_texts, loaded, output_of, task_screen, waiting

pytestmark = pytest.mark.anyio

TOKEN = "t"


async def test_an_attached_task_screen_reads_and_follows_through_the_api(
    db_path: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    workflow = f"""
name = "attached"
[[tasks]]
id = "slow"
kind = "shell"
retries = 1
cmd = "{waiting(go, "echo 'giving [up]' >&2")}"
"""
    port = free_port()
    async with (
        Runtime.open(settings_for(db_path)) as rt,
        http_api(EmbeddedRuntime(rt), port=port, token=TOKEN),
        HttpClient(f"http://127.0.0.1:{port}", TOKEN) as client,
    ):
        run_id = await rt.submit(wf(workflow))
        app = RuntuiApp(client, demo_path=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await open_run(app, pilot, run_id)
            await pilot.press("enter", "enter")  # the waves cursor, then open its task
            await until(pilot, lambda: loaded(app, "slow", 1))
            view = output_of(app)
            await until(pilot, lambda: view.plain_lines().count("  tick") >= 3)
            assert view.plain_lines()[0] == "  started"

            go.touch()  # the first attempt gives up, the retry starts: the screen follows
            await until(pilot, lambda: loaded(app, "slow", 2))
            await until(pilot, lambda: "  started" in view.plain_lines())
            assert cell_texts(app)[0][5] == "exit code 5"

            await pilot.press("p")  # back to the first attempt, and its first error
            await until(pilot, lambda: view.attempt == 0)
            await pilot.press("e")
            await until(pilot, lambda: view.highlight is not None)
            assert view.lines[view.index_of(view.highlight) or 0].text == "giving [up]"  # type: ignore[arg-type]

            go.touch()
            await finish(rt, run_id)
            await until(pilot, lambda: "✗ failed" in task_screen(app).title_line)
            await pilot.press("escape")
            assert isinstance(app.screen, RunScreen)
