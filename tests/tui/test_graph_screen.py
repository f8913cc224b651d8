"""The graph screen (`v` on a run) driven with the Pilot over the real runtime: its tasks as lanes
with their statuses, live; `enter` to a task; the lineage, live as a fork is made, and `enter`
to a run of it; the source the run was started from; the same attached to a real server; a
thousand tasks, of which only the lines in view are drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.domain.events import (
    AttemptOutput,
    EventEnvelope,
    PendingEvent,
    RunCreated,
    TaskDeclared,
)
from runtui.domain.tasks import TaskKind
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.messages import EventsArrived
from runtui.tui.screens.graph import GraphScreen
from runtui.tui.screens.help import HelpScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.task import TaskScreen
from tests.actors.conftest import finish, next_approval, settings_for, wf
from tests.client.test_http_client import free_port
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run
from tests.tui.test_timeline_screen import GATED

pytestmark = pytest.mark.anyio

GATED_LANES = [
    "0 ╭───────✓ fetch",
    "  │ ╭─────✗ flaky ×2 (allowed)",
    "  │ │ ╭───✓ slow",
    "1 ╰─┴─┴─┬─⏸ publish-gate",
    "2       ╰─· publish",
]


async def open_graph(app: RuntuiApp, pilot: Any, run_id: str) -> GraphScreen:
    await open_run(app, pilot, run_id)
    await pilot.press("v")
    await until(pilot, lambda: isinstance(app.screen, GraphScreen) and bool(app.screen.tasks))
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, GraphScreen)
    return screen


async def show(pilot: Any, screen: GraphScreen, key: str, loaded: Any) -> list[str]:
    await pilot.press(key)
    await until(pilot, loaded)
    await pilot.pause()
    return screen.view().plain_lines()


async def test_v_shows_the_graph_live_opens_a_task_and_reads_lineage_and_source(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_graph(app, pilot, run_id)
        assert screen.view().plain_lines() == GATED_LANES
        assert "release  ⏸ awaiting_approval" in screen.title_line.plain
        assert "5 tasks in 3 waves" in screen.tabs_line.plain
        assert screen.selected_task() == "flaky"  # the cursor starts on the failed task
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskScreen))
        assert app.screen.task_id == "flaky"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        reloads = screen.reloads
        out = EventEnvelope(run_id, 10_000, 0.0, AttemptOutput(task_id="slow", attempt=0))
        screen.post_message(EventsArrived([out], lagged=False))
        await pilot.pause()
        assert screen.reloads == reloads  # output changes no status: nothing re-read

        await pilot.press("down", "down")
        assert screen.selected_task() == "publish-gate"
        await client.approve(approval.approval_id)  # live: the gate passes, publish runs
        await until(pilot, lambda: "✓ publish" in screen.view().plain_lines()[-1])
        assert "✓ publish-gate" in screen.view().plain_lines()[3]
        assert screen.selected_task() == "publish-gate"  # the cursor stayed on its task
        await until(pilot, lambda: "✓ succeeded" in screen.title_line.plain)

        lineage = await show(pilot, screen, "2", lambda: bool(screen.lineage))
        assert lineage == ["✓ " + lineage[0][2:]]
        assert lineage[0].endswith("release  succeeded  ◀ this run")
        assert "no parent, no forks" in screen.tabs_line.plain
        fork = (await client.rewind(run_id, 0)).new_run_id
        assert fork is not None
        await until(pilot, lambda: len(screen.view().plain_lines()) == 2)  # live: the fork
        assert "rewind@0" in screen.view().plain_lines()[1]
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.run_id == fork  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        source = await show(pilot, screen, "3", lambda: screen.source is not None)
        assert [line.split(" │ ", 1)[1] for line in source] == GATED.split("\n")[:-1]
        assert source[1] == ' 2 │ name = "release"'
        assert "TOML file · test.toml" in screen.tabs_line.plain
        await pilot.press("enter")  # nothing to open in the source: nothing happens
        assert app.screen is screen

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = app.screen.rows  # type: ignore[attr-defined]
        for key, label in (("1", "Graph"), ("2", "Lineage"), ("3", "Source"), ("escape", "Back")):
            assert any(k == key and w.startswith(label) for k, w in rows), key
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = app.screen.rows  # type: ignore[attr-defined]
        assert any(k == "v" and w.startswith("Graph, lineage, source") for k, w in rows)


async def test_an_attached_graph_reads_everything_through_the_api(
    db_path: Path, tmp_path: Path
) -> None:
    port = free_port()
    async with (
        Runtime.open(settings_for(db_path)) as rt,
        http_api(EmbeddedRuntime(rt), port=port, token="t"),
        HttpClient(f"http://127.0.0.1:{port}", "t") as client,
    ):
        path = tmp_path / "release.toml"
        path.write_text(GATED)
        run_id = await client.submit_file(path)
        approval = await next_approval(rt, run_id)
        app = RuntuiApp(client, demo_path=None)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_graph(app, pilot, run_id)
            assert screen.view().plain_lines() == GATED_LANES
            await client.approve(approval.approval_id)  # live, over the event stream
            await until(pilot, lambda: "✓ publish" in screen.view().plain_lines()[-1])

            await finish(rt, run_id)
            fork = (await client.rewind(run_id, 1)).new_run_id
            lineage = await show(pilot, screen, "2", lambda: len(screen.lineage) == 2)
            assert lineage[0].endswith("◀ this run")
            assert lineage[1].startswith("╰─ ")
            assert lineage[1].endswith("rewind@1")

            source = await show(pilot, screen, "3", lambda: screen.source is not None)
            assert source[2] == " 3 │ [[tasks]]"
            assert f"TOML file · {path}" in screen.tabs_line.plain

            await pilot.press("2", "down", "enter")
            await until(pilot, lambda: isinstance(app.screen, RunScreen))
            assert app.screen.run_id == fork  # type: ignore[attr-defined]
            await pilot.press("v", "enter")  # the fork's graph, then its first task
            await until(pilot, lambda: isinstance(app.screen, TaskScreen))


def wide_run(run_id: str, n: int, per_wave: int) -> list[PendingEvent]:
    """A run of `n` tasks in waves, each needing two of the wave before: too many lanes."""
    events = [PendingEvent(run_id, RunCreated(workflow="wide"), 1.0)]
    for i in range(n):
        wave = i // per_wave
        needs = [f"t{i - per_wave + k:04d}" for k in range(2 if i % per_wave + 1 < per_wave else 1)]
        needs = needs if wave else []
        body = TaskDeclared(task_id=f"t{i:04d}", task_kind=TaskKind.NOOP, wave=wave, needs=needs)
        events.append(PendingEvent(run_id, body, 1.0, wave))
    return events


async def test_a_thousand_tasks_draw_only_the_lines_in_view(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    await runtime.store.writer.append_many(wide_run("wide", 1000, 100))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_graph(app, pilot, "wide")
        view = screen.view()
        assert view.count == 1000
        assert "1,000 tasks in 10 waves · a tree" in screen.tabs_line.plain
        height = view.scrollable_content_region.height
        assert 0 < len(view._cache) <= height  # drawn: what is on screen, nothing more
        await pilot.press("end")
        await pilot.pause()
        assert view.cursor == 999
        assert view.scroll_offset.y == 1000 - height
        assert len(view._cache) <= 2 * height
        lines = view.plain_lines()
        assert lines[-1].endswith("╰─ · t0999")  # the end of the last root's chain
        assert lines[-2].endswith("╰─ · t0899")
        assert "t0998  (also needs: t0899)" in "\n".join(lines)

        await show(pilot, screen, "3", lambda: screen.source is not None)
        assert "rendered from the stored workflow" in screen.tabs_line.plain
