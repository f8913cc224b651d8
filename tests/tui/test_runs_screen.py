"""The runs screen with the real runtime: listing, live updates, filters, paging, new run."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.demo import demo_workflow_path
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.dialogs.new_run import NewRunDialog
from runtui.tui.glyphs import short_id
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from tests.actors.conftest import finish, wf
from tests.client.test_http_client import free_port
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio

OK = 'name = "ok-flow"\n[[tasks]]\nid = "a"\nkind = "noop"'
BAD = 'name = "bad-flow"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "exit 2"'
GATE = 'name = "gated"\n[[tasks]]\nid = "g"\nkind = "gate"'


def rows(app: RuntuiApp) -> list[list[str]]:
    table = app.screen.query_one("#runs", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_lists_runs_newest_first_and_updates_live(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    first = await runtime.submit(wf(OK))
    await finish(runtime, first)
    app = RuntuiApp(client)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen) and len(rows(app)) == 1)
        assert rows(app)[0][0] == "✓"
        assert rows(app)[0][2] == "ok-flow"
        second = await runtime.submit(wf(BAD))
        await until(pilot, lambda: len(rows(app)) == 2 and rows(app)[0][3] == "failed")
        assert rows(app)[0][0] == "✗"
        assert rows(app)[0][4] == "a (exit code 2)"  # a failed run says why, not FAILED
        gated = await runtime.submit(wf(GATE))
        await until(pilot, lambda: len(rows(app)) == 3 and rows(app)[0][3] == "awaiting_approval")
        assert rows(app)[0][0] == "⏸"
        bar = str(app.screen.query_one("#status-bar", Static).render())
        await until(
            pilot,
            lambda: (
                "1 approval waiting" in str(app.screen.query_one("#status-bar", Static).render())
            ),
        )
        assert "runtime up" in bar
        del second, gated


async def test_filters_by_text_and_result(runtime: Runtime, client: EmbeddedRuntime) -> None:
    for text in (OK, OK, BAD):
        await finish(runtime, await runtime.submit(wf(text)))
    app = RuntuiApp(client)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 3)
        await pilot.press("4")  # failed
        await until(pilot, lambda: len(rows(app)) == 1)
        assert rows(app)[0][2] == "bad-flow"
        await pilot.press("1")
        await until(pilot, lambda: len(rows(app)) == 3)
        await pilot.press("slash")
        await pilot.press(*"ok-f")
        await until(pilot, lambda: len(rows(app)) == 2)
        assert {r[2] for r in rows(app)} == {"ok-flow"}
        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app)) == 3)


async def test_pages_through_many_runs(runtime: Runtime, client: EmbeddedRuntime) -> None:
    for _ in range(230):
        await runtime.submit(wf(GATE))  # stays waiting: cheap, and each is a row
    app = RuntuiApp(client)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 200)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        assert screen.next_cursor is not None
        for _ in range(8):  # page down to the end of what is loaded: the next page follows
            await pilot.press("pagedown")
        await until(pilot, lambda: len(rows(app)) == 230)
        assert len(set(screen.rows)) == 230


async def test_fresh_database_offers_the_demo(runtime: Runtime, client: EmbeddedRuntime) -> None:
    demo = demo_workflow_path()
    assert demo is not None
    app = RuntuiApp(client, demo_path=demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        empty = str(app.screen.query_one("#empty", Static).render())
        assert "No runs yet" in empty
        assert "demo workflow" in empty
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("enter")  # the dialog is pre-filled with the demo
        await until(pilot, lambda: bool(runtime.active_runs))
        (run_id,) = runtime.active_runs
        assert (await runtime.reader.get_run(run_id)).workflow == "demo"


async def test_read_only_refuses_a_new_run(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path
) -> None:
    app = RuntuiApp(client, read_only=True, demo_path=demo_workflow_path())
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)  # no dialog opened
        assert runtime.active_runs == []


async def test_help_lists_the_screen_keys(runtime: Runtime, client: EmbeddedRuntime) -> None:
    app = RuntuiApp(client)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("question_mark")
        await pilot.pause()
        from runtui.tui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        body = " ".join(f"{k} {w}" for k, w in app.screen.rows)
        for text in ("n New run", "/ Filter", "q Quit", "i Inbox", "command palette"):
            assert text in body
        assert "y Copy id: copy the full id" in body  # the full description, not the label
        drawn = app.screen.query_one("#help-body")
        assert drawn.border_title == "Keys — Runs"  # a title, not a class name
        await pilot.press("end")  # the legend is last: it scrolls into view
        await pilot.pause()
        shown = app.export_screenshot()  # what the terminal draws (SVG text, spaces as &#160;)
        for words in ("cancelled (a run or a task", "skipped (a task passed over", "a policy"):
            assert words.replace(" ", "&#160;") in shown, words
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)


async def test_took_runs_on_while_a_run_waits(runtime: Runtime, client: EmbeddedRuntime) -> None:
    """A run waiting at a gate writes nothing; its "took" still follows the clock."""
    gated = await runtime.submit(wf(GATE))
    done = await runtime.submit(wf(OK))
    await finish(runtime, done)
    now = [(await runtime.reader.get_run(gated)).created_at + 5]
    app = RuntuiApp(client, clock=lambda: now[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen) and len(rows(app)) == 2)
        took = {r[1]: r[6] for r in rows(app)}
        assert took[short_id(gated)] == "5.0s"
        now[0] += 120
        waiting, finished = short_id(gated), short_id(done)
        await until(pilot, lambda: {r[1]: r[6] for r in rows(app)}[waiting] == "2m05s")
        assert {r[1]: r[6] for r in rows(app)}[finished] == took[finished]


async def new_run_dialog(app: RuntuiApp, pilot: Any) -> NewRunDialog:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, NewRunDialog))
    assert isinstance(app.screen, NewRunDialog)
    return app.screen


async def try_path(app: RuntuiApp, pilot: Any, dialog: NewRunDialog, path: Path) -> None:
    box = dialog.query_one("#path", Input)
    box.value = str(path)
    problem = dialog.problem
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is not dialog or dialog.problem != problem)


@pytest.mark.parametrize("attached", [False, True], ids=["embedded", "attached"])
async def test_new_run_dialog_keeps_its_error_and_the_last_path(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path, attached: bool
) -> None:
    """A refused file: the error stays in the dialog, which stays open on the path; fixed, it
    runs; the next `n` offers that path again."""
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[tasks]]\nid = "a"\nkind = "shell"\n')  # no cmd
    good = tmp_path / "good.toml"
    good.write_text(OK)
    async with contextlib.AsyncExitStack() as stack:
        ui_client: Any = client
        if attached:
            port = free_port()
            await stack.enter_async_context(http_api(client, port=port, token="t"))
            ui_client = await stack.enter_async_context(HttpClient(f"http://127.0.0.1:{port}", "t"))
        app = RuntuiApp(ui_client, demo_path=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunsScreen))
            dialog = await new_run_dialog(app, pilot)
            await try_path(app, pilot, dialog, tmp_path / "missing.toml")
            assert app.screen is dialog
            assert "missing.toml" in dialog.problem
            await try_path(app, pilot, dialog, bad)
            assert app.screen is dialog
            assert "bad.toml" in dialog.problem
            assert "cmd" in dialog.problem  # the field that is wrong
            assert "cmd" in str(dialog.query_one("#problem", Static).render())
            await try_path(app, pilot, dialog, good)
            await until(pilot, lambda: isinstance(app.screen, RunScreen))
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RunsScreen))
            again = await new_run_dialog(app, pilot)
            assert again.query_one("#path", Input).value == str(good)
            assert not again.problem


async def test_lists_move_like_other_terminal_tools_and_sort(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    """j/k, g/G, ctrl+d/ctrl+u on the runs list (every list is a `ListTable`); `s` sorts."""
    for text in (OK, BAD, OK, BAD, OK, OK):
        await finish(runtime, await runtime.submit(wf(text)))
    app = RuntuiApp(client)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen) and len(rows(app)) == 6)
        table = app.screen.query_one("#runs", DataTable)
        for key, row in (("j", 1), ("j", 2), ("k", 1), ("G", 5), ("g", 0)):
            await pilot.press(key)
            assert table.cursor_row == row, key
        await pilot.press("ctrl+d")
        down = table.cursor_row
        assert down > 1
        await pilot.press("ctrl+u")
        assert table.cursor_row == 0
        await pilot.press("s")  # by time taken
        await until(pilot, lambda: "took ▼" in [str(c.label) for c in table.columns.values()])
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        ordered = [str(k.value) for k in table.rows]
        took = {r.run_id: (r.ended_at or 0) - r.created_at for r in screen.rows.values()}
        assert [took[r] for r in ordered] == sorted(took.values(), reverse=True)
        await pilot.press("s")  # by status: failed before succeeded
        await until(pilot, lambda: "status ▼" in [str(c.label) for c in table.columns.values()])
        assert [r[3] for r in rows(app)] == ["failed"] * 2 + ["succeeded"] * 4
