"""The app as the snapshot tests run it: the real `RuntuiApp` over a real runtime, all fixed.

`snap_compare` runs the app with `App.run()`, which starts its own event loop, so the runtime
cannot be opened by an async fixture: `SnapshotApp.run_async` opens it inside that loop, around
the app, exactly as `runtui.tui.launch.run_embedded` does, and closes it when the app exits.
The runtime is opened with `resume=False` and a fixed clock, so it never touches the stored
runs; the app gets the same fixed clock, so ages and durations of live runs never move.

The `show_*` helpers are `run_before` callbacks: each drives the app to one screen with the
keys a user would press and waits (bounded, on a condition, never a fixed sleep) until that
screen has drawn everything it loads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

import runtui.tui.app
from runtui.actors.runtime import Runtime
from runtui.api import Port
from runtui.embedded import EmbeddedRuntime
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
from runtui.tui.widgets.status_bar import StatusBar
from runtui.tui.widgets.task_output_view import TaskOutputView
from runtui.tui.widgets.waves_view import WavesView
from tests.actors.conftest import settings_for
from tests.tui.snapshot_db import NOW


def fixed_clock() -> float:
    return NOW


class SnapshotApp(RuntuiApp):
    # Textual resolves a relative CSS_PATH next to the subclass's module: point at the real one
    CSS_PATH = str(Path(runtui.tui.app.__file__).with_name(str(RuntuiApp.CSS_PATH)))

    def __init__(self, db_path: Path, *, read_only: bool = False) -> None:
        # the client exists only once the runtime is open, in run_async
        super().__init__(cast(Port, None), read_only=read_only, demo_path=None, clock=fixed_clock)
        self.db_path = db_path

    async def run_async(self, **kwargs: Any) -> Any:  # returns what `exit()` was given
        settings = settings_for(self.db_path)
        async with Runtime.open(settings, resume=False, clock=fixed_clock) as runtime:
            self.client = EmbeddedRuntime(runtime)
            return await super().run_async(**kwargs)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    for _ in range(250):
        if condition():
            await pilot.pause()
            if condition():
                return
        await pilot.pause(0.02)
    raise AssertionError(f"the app never showed {what}")


def _status_shown(screen: Any) -> bool:
    bar = screen.query(StatusBar)
    return bool(bar) and "⏸ 2 " in str(bar.first().render())


async def show_runs(pilot: Pilot[Any]) -> None:
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, RunsScreen):
            return False
        return screen.query_one("#runs", DataTable).row_count == 7 and _status_shown(screen)

    await wait_for(pilot, ready, "the runs screen with 7 runs")


def show_run(run_id: str) -> Callable[[Pilot[Any]], Any]:
    async def show(pilot: Pilot[Any]) -> None:
        app = cast(RuntuiApp, pilot.app)
        await show_runs(pilot)
        app.open_run(run_id)

        def ready() -> bool:
            screen = app.screen
            if not isinstance(screen, RunScreen) or screen.run is None:
                return False
            log = screen.query_one("#events", EventLog)
            return (
                log.last_seq == screen.run.last_seq
                and log.scroll_y == log.max_scroll_y
                and bool(screen.query_one("#waves").border_subtitle)
            )

        await wait_for(pilot, ready, f"run {run_id} with its whole log")

    return show


async def show_approvals(pilot: Pilot[Any]) -> None:
    await show_runs(pilot)
    await pilot.press("i")

    def ready() -> bool:
        screen = pilot.app.screen
        return (
            isinstance(screen, ApprovalsScreen)
            and screen.query_one("#approvals", DataTable).row_count == 2
            and _status_shown(screen)
        )

    await wait_for(pilot, ready, "the approvals inbox with 2 approvals")


def show_rewind(run_id: str) -> Callable[[Pilot[Any]], Any]:
    async def show(pilot: Pilot[Any]) -> None:
        await show_run(run_id)(pilot)
        await pilot.press("w")

        def ready() -> bool:
            screen = pilot.app.screen
            return isinstance(screen, RewindDialog) and screen.plan is not None

        await wait_for(pilot, ready, "the rewind dialog with its dry-run")
        # a blinking cursor would be on or off depending on when the picture is taken
        pilot.app.screen.query_one("#wave", Input).cursor_blink = False

    return show


def show_timeline(run_id: str) -> Callable[[Pilot[Any]], Any]:
    async def show(pilot: Pilot[Any]) -> None:
        await show_run(run_id)(pilot)
        await pilot.press("t")

        def ready() -> bool:
            screen = pilot.app.screen
            return isinstance(screen, TimelineScreen) and bool(screen.view.lines)

        await wait_for(pilot, ready, f"the timeline of run {run_id}")

    return show


def show_task(run_id: str, task_id: str, *keys: str) -> Callable[[Pilot[Any]], Any]:
    """The run's screen, then its task picked with the waves cursor (`enter`, the arrows,
    `enter`), then `keys` pressed there."""

    async def show(pilot: Pilot[Any]) -> None:
        await show_run(run_id)(pilot)
        app = pilot.app
        await pilot.press("enter")
        waves = app.screen.query_one(WavesView)
        for _ in range(len(waves.cells)):
            if waves.selected == task_id:
                break
            await pilot.press("right")
        await pilot.press("enter")

        def ready() -> bool:
            screen = app.screen
            return (
                isinstance(screen, TaskScreen)
                and screen.task_id == task_id
                and bool(screen.attempts)
                and screen.query_one("#output", TaskOutputView).attempt is not None
            )

        await wait_for(pilot, ready, f"task {task_id} with its output")
        if keys:
            await pilot.press(*keys)
            await pilot.pause()

    return show


def show_diff(run_id: str) -> Callable[[Pilot[Any]], Any]:
    """The run's screen, then `d`: the run beside its parent (or the run before it), with the
    output of every row in view compared."""

    async def show(pilot: Pilot[Any]) -> None:
        await show_run(run_id)(pilot)
        await pilot.press("d")

        def ready() -> bool:
            screen = pilot.app.screen
            if not isinstance(screen, DiffScreen) or not screen.rows or not screen.governance:
                return False
            return not screen._reading and all(
                screen.outputs.get(r.task_id) is not None
                for r in screen.view.in_view()
                if r.output_key is not None
            )

        await wait_for(pilot, ready, f"the diff of run {run_id}")

    return show


def show_graph(run_id: str, view: str = "1") -> Callable[[Pilot[Any]], Any]:
    """The run's screen, then `v`, then the view picked by its key (`1` graph, `2` lineage,
    `3` source), once it has read what it shows."""

    async def show(pilot: Pilot[Any]) -> None:
        await show_run(run_id)(pilot)
        await pilot.press("v", view)

        def ready() -> bool:
            screen = pilot.app.screen
            if not isinstance(screen, GraphScreen) or not screen.tasks:
                return False
            return {"1": True, "2": bool(screen.lineage), "3": screen.source is not None}[view]

        await wait_for(pilot, ready, f"view {view} of the graph screen of run {run_id}")

    return show


async def show_health(pilot: Pilot[Any]) -> None:
    """The runs screen, then `h`: every workflow's health, worst first."""
    await show_runs(pilot)
    await pilot.press("h")

    def ready() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, HealthScreen) and bool(screen.workflows)

    await wait_for(pilot, ready, "the workflow health screen")
