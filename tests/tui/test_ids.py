"""Ids on screen: short ids never collide among what a screen shows, the full ids are shown
(the run header, the inbox's details) and `y` copies the one in focus."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from runtui.actors.runtime import Runtime
from runtui.embedded import EmbeddedRuntime
from runtui.store import open_store
from runtui.tui.app import RuntuiApp
from runtui.tui.glyphs import short_id, unique_length
from runtui.tui.screens.approvals import ApprovalsScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from tests.actors.conftest import next_approval, settings_for, wf
from tests.factories import full_run
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio

#: Two runs a second apart whose random parts end alike: six characters do not tell them apart.
TWINS = ("019cf0000001aa123456", "019cf0000002bb123456")


def test_unique_length_grows_until_the_tails_differ() -> None:
    assert unique_length([]) == 6
    assert unique_length(["019cf00000015eed0001", "019cf00000025eed0002"]) == 6
    assert unique_length(TWINS) == 7  # "a123456" / "b123456"
    assert unique_length([*TWINS, TWINS[0]]) == 7  # the same id twice is one id
    assert short_id(TWINS[0], 7) == "…a123456"
    assert short_id("short") == "short"


def column(app: RuntuiApp, key: str) -> list[str]:
    table = app.screen.query_one("#runs", DataTable)
    return [str(table.get_cell(row, key)) for row in table.rows]


async def test_runs_list_short_ids_differ_and_y_copies_the_full_id(db_path: Path) -> None:
    async with open_store(db_path) as store:
        for run_id in TWINS:
            await store.writer.append_many(full_run(run_id))
    async with Runtime.open(settings_for(db_path)) as runtime:
        app = RuntuiApp(EmbeddedRuntime(runtime), demo_path=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.rows)
            await until(pilot, lambda: len(column(app, "run")) == 2)
            assert sorted(column(app, "run")) == ["…a123456", "…b123456"]
            await pilot.press("y")
            newest = max(TWINS)  # newest first: the cursor is on it
            assert app.clipboard == newest
            assert any(newest in str(n.message) for n in app._notifications)


async def test_run_header_shows_the_full_id_and_y_copies_it(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf('name = "g"\n[[tasks]]\nid = "g"\nkind = "gate"'))
    approval = await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(run_id)
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert f"run {run_id}" in screen.header.plain
        await pilot.press("y")
        assert app.clipboard == run_id
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: screen.has_class("narrow"))
        assert f"run {short_id(run_id)}" in screen.header.plain  # narrow: the tail
        await pilot.press("i")
        await until(
            pilot, lambda: isinstance(app.screen, ApprovalsScreen) and bool(app.screen.approvals)
        )
        await pilot.press("y")
        assert app.clipboard == approval.approval_id
        detail = str(app.screen.query_one("#approval-detail").render())
        assert approval.approval_id in detail
        assert run_id in detail
