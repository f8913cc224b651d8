"""A run that ended badly says why first, above its phases: the failed task with its exit and
last stderr lines, the policy with the task that fired it, who rejected what; the runs list
says it in a few words. Embedded, and attached to a real server."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.widgets.why_panel import WhyPanel
from tests.actors.conftest import finish, next_approval, wf
from tests.client.test_http_client import free_port
from tests.tui.conftest import until
from tests.tui.test_run_screen import BUDGET, GATED, open_run

pytestmark = pytest.mark.anyio

BREAKS = '''
name = "breaks"
[[tasks]]
id = "fetch"
kind = "noop"
[[tasks]]
id = "compile"
kind = "shell"
cmd = """echo compiling; echo 'widgets.c:12: error: expected ;' >&2
echo 'make: *** [all] Error 3' >&2; exit 3"""
needs = ["fetch"]
[[tasks]]
id = "test"
kind = "noop"
needs = ["compile"]
'''


@contextlib.asynccontextmanager
async def ui(client: EmbeddedRuntime, attached: bool) -> Any:
    if not attached:
        yield RuntuiApp(client, demo_path=None)
        return
    port = free_port()
    async with (
        http_api(client, port=port, token="t"),
        HttpClient(f"http://127.0.0.1:{port}", "t") as remote,
    ):
        yield RuntuiApp(remote, demo_path=None)


def why(app: RuntuiApp) -> str:
    panel = app.screen.query_one(WhyPanel)
    return panel.text.plain if panel.display else ""


@pytest.mark.parametrize("attached", [False, True], ids=["embedded", "attached"])
async def test_a_failed_task_is_said_first_with_its_exit_and_stderr(
    runtime: Runtime, client: EmbeddedRuntime, attached: bool
) -> None:
    run_id = await runtime.submit(wf(BREAKS))
    await finish(runtime, run_id)
    async with ui(client, attached) as app, app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.rows))
        row = app.screen.rows[run_id]
        assert row.status.value == "failed"
        await open_run(app, pilot, run_id)
        await until(pilot, lambda: "Why it ended" in why(app))
        text = why(app)
        assert "✗ failed · task_failed · in EXECUTING" in text
        assert "✗ task compile: exit code 3 (attempt 0)" in text
        assert "stderr │ widgets.c:12: error: expected ;" in text
        assert "stderr │ make: *** [all] Error 3" in text
        panel = app.screen.query_one(WhyPanel)
        assert panel.region.y < app.screen.query_one("#phases").region.y  # first


async def test_a_policy_stop_names_the_task_that_fired_it(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(BUDGET))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.rows))
        cells = app.screen.query_one("#runs").get_row(run_id)  # type: ignore[attr-defined]
        assert "budget_exceeded" in [str(c) for c in cells]
        await open_run(app, pilot, run_id)
        await until(pilot, lambda: "Why it ended" in why(app))
        text = why(app)
        assert '▲ critical token_limit "10k token budget" fired by task step-3 (attempt 0)' in text
        assert "threshold 10,000 tokens · actual 12,000 tokens" in text
        assert "→ stopped the run" in text
        assert "at step" not in text


async def test_a_rejection_says_who_said_no_and_why_and_success_says_nothing(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    rejected = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, rejected)
    await runtime.reject(approval.approval_id, reason="not today", by="bob@laptop")
    await finish(runtime, rejected)
    fine = await runtime.submit(wf(GATED))
    await runtime.approve((await next_approval(runtime, fine)).approval_id, by="ann@laptop")
    await finish(runtime, fine)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, rejected)
        await until(pilot, lambda: "Why it ended" in why(app))
        assert "✗ task gate publish-gate rejected by bob@laptop: not today" in why(app)
        assert "it asked: Publish?" in why(app)
        await pilot.press("escape")
        await open_run(app, pilot, fine)
        await pilot.pause()
        assert why(app) == ""
