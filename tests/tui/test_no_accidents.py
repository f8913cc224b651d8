"""Keys that cannot be taken back ask first, and say what will happen: quitting a UI that
drives live runs (embedded), but not one attached to a server (the server drives them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.dialogs.confirm import ConfirmDialog
from runtui.tui.screens.approvals import ApprovalsScreen
from runtui.tui.screens.runs import RunsScreen
from tests.actors.conftest import next_approval, wf
from tests.client.test_http_client import free_port
from tests.tui.conftest import until
from tests.tui.test_run_screen import GATED, open_run

pytestmark = pytest.mark.anyio


async def test_quitting_while_driving_runs_says_what_happens_and_asks(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = str(app.screen.query_one("#question").render())
        assert "drives 1 live run" in question
        assert "hands them over" in question
        assert "running here" not in question  # at its gate: no attempt runs
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert app.is_running
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)


async def test_quitting_with_nothing_driven_here_just_quits(
    runtime: Runtime, client: EmbeddedRuntime, db_path: Path
) -> None:
    """Attached to a server, the runs go on there: `q` quits at once."""
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    port = free_port()
    async with (
        http_api(client, port=port, token="t"),
        HttpClient(f"http://127.0.0.1:{port}", "t") as remote,
    ):
        app = RuntuiApp(remote, demo_path=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_run(app, pilot, run_id)
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
            assert not isinstance(app.screen, ConfirmDialog)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_footer_keeps_back_help_and_inbox_in_view(
    runtime: Runtime, client: EmbeddedRuntime, size: tuple[int, int]
) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=size) as pilot:
        for opened in ("runs", "run", "inbox"):
            if opened == "run":
                await open_run(app, pilot, run_id)
            elif opened == "inbox":
                await pilot.press("i")
                await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen))
            else:
                await until(pilot, lambda: isinstance(app.screen, RunsScreen))
            await pilot.pause()
            keys = app.screen.query(FooterKey)
            seen = {k.key for k in keys if k.region.width and k.region.right <= size[0]}
            wanted = {"question_mark"}
            wanted |= {"escape"} if opened != "runs" else set()
            wanted |= {"i"} if opened != "inbox" else set()  # there, i re-reads it
            assert wanted <= seen, (opened, sorted(seen))
