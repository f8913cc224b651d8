"""A blocked workflow is no longer a dead end: `h` lists every workflow's health and why, `c`
clears one after asking; the new-run dialog offers "Run anyway" when a workflow is blocked; `r`
retries a failed run. Embedded and attached to a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input

from runtui.actors.runtime import Runtime
from runtui.domain.health import BLOCK_AFTER, Health
from runtui.embedded import EmbeddedRuntime
from runtui.tui.dialogs.confirm import ConfirmDialog
from runtui.tui.dialogs.new_run import NewRunDialog
from runtui.tui.screens.health import HealthScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from tests.actors.conftest import finish, wf
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run
from tests.tui.test_why_it_ended import ui

pytestmark = pytest.mark.anyio

BAD = 'name = "flaky"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "exit 2"'
OK = 'name = "fine"\n[[tasks]]\nid = "a"\nkind = "noop"'


@pytest.mark.parametrize("attached", [False, True], ids=["embedded", "attached"])
async def test_a_blocked_workflow_is_explained_run_anyway_and_cleared(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path, attached: bool
) -> None:
    await finish(runtime, await runtime.submit(wf(OK)))
    for _ in range(BLOCK_AFTER):
        await finish(runtime, await runtime.submit(wf(BAD)))
    flaky = tmp_path / "flaky.toml"
    flaky.write_text(BAD)
    async with ui(client, attached) as app, app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HealthScreen) and app.screen.workflows)
        screen = app.screen
        assert isinstance(screen, HealthScreen)
        table = screen.query_one("#health", DataTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[1:3] == ["flaky", "blocked"]  # worst first
        assert f"the last {BLOCK_AFTER} runs failed" in first[4]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        # a blocked workflow's file: refused, with the way past it
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunDialog))
        dialog = app.screen
        assert isinstance(dialog, NewRunDialog)
        dialog.query_one("#path", Input).value = str(flaky)
        await pilot.press("enter")
        await until(pilot, lambda: "blocked" in dialog.problem)
        force = dialog.query_one("#force", Button)
        assert force.display
        force.press()
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        started = app.screen
        assert isinstance(started, RunScreen)
        await finish(runtime, started.run_id)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HealthScreen) and app.screen.workflows)
        await pilot.press("c")  # on flaky (first): asks
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, HealthScreen)
                and all(h.health is not Health.BLOCKED for h in app.screen.workflows)
            ),
        )
    health = {h.workflow: h.health for h in await client.health()}
    assert health["flaky"] is not Health.BLOCKED


async def test_r_retries_a_failed_run_as_a_fork(runtime: Runtime, client: EmbeddedRuntime) -> None:
    failed = await runtime.submit(wf(BAD))
    await finish(runtime, failed)
    ok = await runtime.submit(wf(OK))
    await finish(runtime, ok)
    async with ui(client, False) as app, app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, ok)
        shown = {key for key, active in screen.active_bindings.items() if active.binding.show}
        assert "r" not in shown  # succeeded: nothing to retry
        await pilot.press("escape")
        await open_run(app, pilot, failed)
        await pilot.press("r")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, RunScreen)
                and app.screen.run_id != failed
                and app.screen.run is not None
            ),
        )
        retried = app.screen
        assert isinstance(retried, RunScreen)
        assert retried.run is not None
        assert retried.run.parent_run_id == failed
