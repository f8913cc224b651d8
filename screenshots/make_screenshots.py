"""Regenerate the SVG screenshots in this folder (run by hand, never in CI):

    .venv/bin/python screenshots/make_screenshots.py

It builds a realistic database in a temp dir by really running the example workflows through
the runtime: `demo.toml` (approved at its gate, so it succeeds), `failing.toml`, `budget.toml`
(stopped by its token budget), a rewind of the demo (a fork) and a second demo left waiting at
its gate. Then it opens the app headless at 120x40 (the real `RuntuiApp` on that runtime, as
`runtui` does) and saves one SVG per screen with `app.save_screenshot`:

    runs.svg  runs-80x24.svg  run-waiting.svg  run-stopped.svg  approvals.svg  rewind.svg
    run-failed.svg (why it ended, first)  task.svg (task detail, at its first error)
    timeline.svg  graph.svg  diff.svg (the fork beside its parent)  health.svg
    approval-toast.svg (a new approval arriving: the toast, the count and the oldest's age)

and, through the HTTP API (a real uvicorn on 127.0.0.1, as `runtui attach` sees it), the waiting
run after the server went away: `attached-disconnected.svg`.

Times on screen are real (the runs are real), shown in UTC.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from runtui.actors.runtime import Runtime
from runtui.client.http import HttpClient
from runtui.config import load_settings
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.dialogs.rewind import RewindDialog
from runtui.tui.screens.approvals import ApprovalsScreen
from runtui.tui.screens.diff import DiffScreen
from runtui.tui.screens.graph import GraphScreen
from runtui.tui.screens.health import HealthScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.screens.task import TaskScreen
from runtui.tui.screens.timeline import TimelineScreen
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.why_panel import WhyPanel

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
SIZE = (120, 40)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app work until `condition` holds (bounded; a condition, not a fixed sleep)."""
    for _ in range(500):
        if condition():
            await pilot.pause()
            if condition():
                return
        await pilot.pause(0.02)
    raise RuntimeError(f"the app never showed {what}")


async def pending_approval(rt: Runtime, run_id: str) -> str:
    """The id of `run_id`'s pending approval, once the run has asked for one."""
    sub = rt.subscribe(run_id=run_id)
    try:
        with anyio.fail_after(60):
            while True:
                for a in await rt.reader.pending_approvals():
                    if a.run_id == run_id:
                        return a.approval_id
                await sub.receive()
    finally:
        sub.close()


async def make_runs(rt: Runtime) -> dict[str, str]:
    """Run the examples for real; returns the run ids by role."""
    demo = await rt.submit_file(EXAMPLES / "demo.toml")
    await rt.approve(await pending_approval(rt, demo), by="ann")
    await rt.wait(demo)
    failing = await rt.submit_file(EXAMPLES / "failing.toml")
    await rt.wait(failing)
    budget = await rt.submit_file(EXAMPLES / "budget.toml")
    await rt.wait(budget)
    fork = (await rt.rewind(demo, 3)).new_run_id
    assert fork is not None
    await rt.wait(fork)
    waiting = await rt.submit_file(EXAMPLES / "demo.toml")
    await pending_approval(rt, waiting)
    return {"demo": demo, "failing": failing, "budget": budget, "fork": fork, "waiting": waiting}


async def show_runs(pilot: Pilot[Any], count: int) -> None:
    def ready() -> bool:
        screen = pilot.app.screen
        return (
            isinstance(screen, RunsScreen)
            and screen.query_one("#runs", DataTable).row_count == count
        )

    await wait_for(pilot, ready, f"{count} runs")


async def show_run(pilot: Pilot[Any], run_id: str) -> RunScreen:
    app = pilot.app
    assert isinstance(app, RuntuiApp)
    app.open_run(run_id)

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, RunScreen) or screen.run is None:
            return False
        log = screen.query_one("#events", EventLog)
        return log.last_seq >= screen.run.last_seq and log.scroll_y == log.max_scroll_y

    await wait_for(pilot, ready, f"run {run_id}")
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


def save(app: RuntuiApp, name: str) -> None:
    app.save_screenshot(name, str(HERE))
    print(f"wrote screenshots/{name}")


async def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    with tempfile.TemporaryDirectory(prefix="runtui-screens-") as tmp:
        settings = load_settings({"db": Path(tmp) / "runs.db", "durability": "fast"})
        async with Runtime.open(settings) as rt:
            ids = await make_runs(rt)
            count = len(ids)
            app = RuntuiApp(EmbeddedRuntime(rt), demo_path=EXAMPLES / "demo.toml")
            async with app.run_test(size=SIZE) as pilot:
                await show_runs(pilot, count)
                save(app, "runs.svg")

                await show_run(pilot, ids["waiting"])
                save(app, "run-waiting.svg")
                await pilot.press("escape")

                await show_run(pilot, ids["budget"])
                save(app, "run-stopped.svg")
                await pilot.press("escape")

                await pilot.press("i")
                await wait_for(
                    pilot,
                    lambda: (
                        isinstance(app.screen, ApprovalsScreen)
                        and app.screen.query_one("#approvals", DataTable).row_count == 1
                    ),
                    "the approvals inbox",
                )
                save(app, "approvals.svg")
                await pilot.press("escape")

                await show_run(pilot, ids["failing"])
                await pilot.press("w")
                await wait_for(
                    pilot,
                    lambda: isinstance(app.screen, RewindDialog) and app.screen.plan is not None,
                    "the rewind dialog's dry-run",
                )
                app.screen.query_one("#wave", Input).cursor_blink = False
                await pilot.pause()
                save(app, "rewind.svg")
                await pilot.press("escape", "escape")
                await more_screens(pilot, ids)

            small = RuntuiApp(EmbeddedRuntime(rt), demo_path=EXAMPLES / "demo.toml")
            async with small.run_test(size=(80, 24)) as pilot:
                await show_runs(pilot, count)
                save(small, "runs-80x24.svg")

            await attached_then_disconnected(rt, ids["waiting"])
            await approval_arrives(rt, count)


async def until_screen(
    pilot: Pilot[Any], kind: type, ready: Callable[[Any], bool], what: str
) -> None:
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, kind) and ready(pilot.app.screen), what
    )


async def more_screens(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    """The screens an operator opens a run for: why it failed, a task, time, needs, a diff."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs again")
    screen = await show_run(pilot, ids["failing"])
    await wait_for(pilot, lambda: screen.query_one(WhyPanel).display, "why it ended")
    save(app, "run-failed.svg")
    await pilot.press("enter", "enter")  # the waves cursor (on the failed task), then open it
    await until_screen(pilot, TaskScreen, lambda s: bool(s.attempts), "the task screen")
    await pilot.press("e")
    await pilot.pause(0.3)
    save(app, "task.svg")
    await pilot.press("escape", "escape")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs again")
    await show_run(pilot, ids["waiting"])
    await pilot.press("t")
    await until_screen(pilot, TimelineScreen, lambda s: bool(s.view.lines), "the timeline")
    save(app, "timeline.svg")
    await pilot.press("escape", "v")
    await until_screen(pilot, GraphScreen, lambda s: bool(s.tasks), "the graph")
    await pilot.pause(0.2)
    save(app, "graph.svg")
    await pilot.press("escape", "escape")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs again")
    await show_run(pilot, ids["fork"])
    await pilot.press("d")
    await until_screen(
        pilot,
        DiffScreen,
        lambda s: bool(s.rows) and not s._reading and s.governance is not None,
        "the diff",
    )
    await pilot.pause(0.5)
    save(app, "diff.svg")
    await pilot.press("escape", "escape")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs again")
    await pilot.press("h")
    await until_screen(pilot, HealthScreen, lambda s: bool(s.workflows), "workflow health")
    save(app, "health.svg")
    await pilot.press("escape")


async def approval_arrives(rt: Runtime, count: int) -> None:
    """A new approval while the UI shows the runs: its toast, and the count in the bar."""
    app = RuntuiApp(EmbeddedRuntime(rt), demo_path=EXAMPLES / "demo.toml")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await show_runs(pilot, count)
        await rt.submit_file(EXAMPLES / "demo.toml")
        await wait_for(
            pilot,
            lambda: any(n.title == "approval waiting" for n in app._notifications),
            "the new approval's toast",
        )
        await pilot.pause(0.3)
        save(app, "approval-toast.svg")


async def attached_then_disconnected(rt: Runtime, run_id: str) -> None:
    """The waiting run through the API; then the server stops and the UI says so."""
    token = "screenshots"
    async with AsyncExitStack() as server:
        api = await server.enter_async_context(http_api(EmbeddedRuntime(rt), port=0, token=token))
        async with HttpClient(api.url, token, user="screens", max_backoff=0.5) as client:
            app = RuntuiApp(client, demo_path=EXAMPLES / "demo.toml")
            async with app.run_test(size=SIZE) as pilot:
                await show_run(pilot, run_id)
                await wait_for(pilot, lambda: client.connected, "the event stream")
                await server.aclose()  # the server goes away under the attached UI
                await wait_for(pilot, lambda: not app.connected, "the UI to see it gone")
                save(app, "attached-disconnected.svg")


if __name__ == "__main__":
    sys.exit(anyio.run(main))
