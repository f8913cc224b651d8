"""The task screen with the real runtime on a temp database: picked with the waves cursor, what
it shows of a task (spec, attempts, how each ended, output with stderr marked, the violations it
caused), `e` to the first error (loaded when out of view), paging, live output and attempts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from runtui.actors.runtime import Runtime
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.messages import OpenTask
from runtui.tui.screens.help import HelpScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.task import TaskScreen
from runtui.tui.widgets.task_output_view import TaskOutputView
from runtui.tui.widgets.waves_view import WavesView
from tests.actors.conftest import finish, wf
from tests.tui.conftest import until
from tests.tui.test_run_screen import THREE_WAVES, open_run

pytestmark = pytest.mark.anyio

BREAKS = """
name = "breaks"
[[tasks]]
id = "fetch"
kind = "shell"
cmd = "echo fetched"
[[tasks]]
id = "compile"
kind = "shell"
needs = ["fetch"]
retries = 1
cmd = "echo cc -O2 -c widgets.c; echo \\"widgets.c:12: error: expected ';'\\" >&2; exit 2"
env = { CC = "gcc", CFLAGS = "-O2 -DTOKEN=s3cret-value" }
[[tasks]]
id = "leaky"
kind = "shell"
cmd = "echo the SECRET is out"
[[policies]]
id = "no-secrets"
name = "No secrets"
type = "content_policy"
pattern = "SECRET"
severity = "medium"
"""


def waiting(go: Path, then: str) -> str:
    """A shell command that prints `started`, then `tick` until the file `go` exists, then
    removes it, runs `then` and exits 5."""
    return (
        f"echo started; while [ ! -f {go} ]; do echo tick; sleep 0.05; done; rm {go}; {then};"
        " exit 5"
    )


def task_screen(app: RuntuiApp) -> TaskScreen:
    screen = app.screen
    assert isinstance(screen, TaskScreen)
    return screen


def output_of(app: RuntuiApp) -> TaskOutputView:
    return task_screen(app).query_one("#output", TaskOutputView)


def text_of(app: RuntuiApp, selector: str) -> str:
    return str(task_screen(app).query_one(selector, Static).render())


def loaded(app: RuntuiApp, task_id: str, attempts: int) -> bool:
    screen = app.screen
    return (
        isinstance(screen, TaskScreen)
        and screen.task_id == task_id
        and len(screen.attempts) == attempts
        and screen.query_one("#output", TaskOutputView).attempt == screen.attempts[-1].attempt
    )


def cell_texts(app: RuntuiApp) -> list[list[str]]:
    table: DataTable[Any] = task_screen(app).query_one("#attempts", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_waves_cursor_opens_a_task_with_everything_about_it(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(BREAKS))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        run = await open_run(app, pilot, run_id)
        waves = run.query_one("#waves", WavesView)
        plain = waves.text.plain
        await pilot.press("enter")  # the waves panel takes the keys
        assert waves.has_focus
        assert waves.text.plain == plain  # the cursor is a style, the layout does not move
        assert waves.selected == "compile"  # the first failed task
        await pilot.press("up")
        assert waves.selected == "fetch"
        await pilot.press("right")
        assert waves.selected == "leaky"
        await pilot.press("down")
        assert waves.selected == "compile"
        await pilot.press("enter")
        await until(pilot, lambda: loaded(app, "compile", 2))
        screen = task_screen(app)

        title = screen.title_line
        for part in ("task compile", "shell", "wave 1", "✗ failed", "2 attempts"):
            assert part in title
        spec = text_of(app, "#task-spec")
        assert "cmd: echo cc -O2 -c widgets.c" in spec
        assert "env: CC, CFLAGS" in spec
        assert "s3cret" not in spec  # variable names only, never values
        assert "s3cret" not in app.export_screenshot()

        rows = cell_texts(app)
        assert [r[0] for r in rows] == ["0", "1"]
        assert all(r[1] == "✗ failed" and r[2] == "2" and r[5] == "exit code 2" for r in rows)

        view = output_of(app)
        assert view.attempt == 1  # the latest attempt
        assert view.plain_lines() == [
            "  cc -O2 -c widgets.c",
            "! widgets.c:12: error: expected ';'",
        ] or sorted(view.plain_lines()) == [  # two pipes: either may be read first
            "  cc -O2 -c widgets.c",
            "! widgets.c:12: error: expected ';'",
        ]
        await pilot.press("e")
        assert view.highlight is not None
        assert view.lines[view.index_of(view.highlight) or 0].stream == "stderr"

        await pilot.press("p")
        await until(pilot, lambda: view.attempt == 0)
        assert screen.shown == 0
        assert len(view.lines) == 2

        await pilot.press("question_mark")  # its keys, with what they do
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert any(k == "e" and w.startswith("First error") for k, w in help_screen.rows)
        assert any(k == "[" and w.startswith("Older") for k, w in help_screen.rows)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, RunScreen)
        await pilot.press("question_mark")
        assert any(k == "enter" and w.startswith("Task") for k, w in app.screen.rows)  # type: ignore[attr-defined]


async def test_the_violations_a_task_caused_are_on_its_screen(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(BREAKS))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, run_id)
        app.post_message(OpenTask(run_id, "leaky"))
        await until(pilot, lambda: loaded(app, "leaky", 1))
        screen = task_screen(app)
        assert "▲ 1 violation" in screen.title_line
        panel = screen.query_one("#task-violations")
        assert panel.display
        body = text_of(app, "#task-violations-body")
        assert "content_policy" in body
        assert '"No secrets"' in body
        assert "(attempt 0)" in body
        await pilot.press("escape")
        app.post_message(OpenTask(run_id, "fetch"))
        await until(pilot, lambda: loaded(app, "fetch", 1))
        assert not task_screen(app).query_one("#task-violations").display
        assert "violation" not in task_screen(app).title_line


#: 2500 lines, and after the 100th an error on stderr. Its pipe is read apart from stdout's;
#: the pauses around it let each stream's batch go out first, so it lands after line 100 (far
#: above the tail of 1000 lines) rather than wherever the two pipes' reads happen to meet.
SPEW = (
    "i=0; while [ $i -lt 2500 ]; do i=$((i+1)); echo line $i; if [ $i -eq 100 ];"
    " then sleep 0.5; echo first-error >&2; sleep 0.5; fi; done; exit 1"
)
BIG = f"""
name = "big"
[[tasks]]
id = "spew"
kind = "shell"
cmd = "{SPEW}"
"""


async def test_first_error_out_of_view_is_loaded_and_paging_goes_both_ways(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(BIG))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, run_id)
        app.post_message(OpenTask(run_id, "spew"))
        await until(pilot, lambda: loaded(app, "spew", 1))
        view = output_of(app)
        assert len(view.lines) == 1000
        assert view.has_older
        assert view.at_end
        assert view.lines[-1].text == "line 2500"
        assert view.first_of("stderr") is None  # the error is far above the tail

        await pilot.press("e")
        await until(pilot, lambda: view.highlight is not None)
        at = view.index_of(view.highlight)  # type: ignore[arg-type]
        assert at is not None
        assert view.lines[at].text == "first-error"
        assert not view.at_end  # a page around the error, not the tail
        assert "] newer" in str(view.border_subtitle)

        for _ in range(5):  # the next pages down, to the newest line
            count = len(view.lines)
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: len(view.lines) > count)  # noqa: B023
            if view.at_end:
                break
        assert view.lines[-1].text == "line 2500"
        assert view.at_end

        if view.has_older:  # (the error may come late: pipes are read as they fill)
            count = len(view.lines)
            await pilot.press("left_square_bracket")  # older lines above
            await until(pilot, lambda: len(view.lines) > count)
        texts = [line.text for line in view.lines if line.stream == "stdout"]
        assert texts == [f"line {i}" for i in range(int(texts[0].split()[1]), 2501)]

        view.focus()
        await pilot.press("G")
        assert view.follow
        assert view.lines[-1].text == "line 2500"


async def test_output_and_attempts_arrive_live_without_rereads(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    live = f"""
name = "live"
[[tasks]]
id = "slow"
kind = "shell"
retries = 1
cmd = "{waiting(go, "echo giving-up >&2")}"
"""
    run_id = await runtime.submit(wf(live))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, run_id)
        app.post_message(OpenTask(run_id, "slow"))
        await until(pilot, lambda: loaded(app, "slow", 1))
        screen, view = task_screen(app), output_of(app)
        await until(pilot, lambda: "  tick" in view.plain_lines())
        reloads = screen.reloads
        ticks = view.plain_lines().count("  tick")
        await until(pilot, lambda: view.plain_lines().count("  tick") >= ticks + 5)
        assert screen.reloads == reloads  # output alone re-reads nothing
        assert cell_texts(app)[0][1] == "● running"
        assert cell_texts(app)[0][5] == "—"

        go.touch()  # attempt 0 gives up; the retry starts, and the screen follows it
        await until(pilot, lambda: loaded(app, "slow", 2))
        await until(pilot, lambda: "  started" in view.plain_lines())
        assert view.attempt == 1
        assert cell_texts(app)[0][5] == "exit code 5"
        go.touch()
        await finish(runtime, run_id)
        await until(pilot, lambda: "✗ failed" in screen.title_line)
        await until(pilot, lambda: "! giving-up" in view.plain_lines())
        rows = cell_texts(app)
        assert [r[5] for r in rows] == ["exit code 5", "exit code 5"]


async def test_a_task_that_has_not_started(runtime: Runtime, client: EmbeddedRuntime) -> None:
    gated = """
name = "gated"
[[tasks]]
id = "gate"
kind = "gate"
prompt = "go?"
[[tasks]]
id = "after"
kind = "shell"
cmd = "echo later"
needs = ["gate"]
"""
    run_id = await runtime.submit(wf(gated))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_run(app, pilot, run_id)
        app.post_message(OpenTask(run_id, "after"))
        await until(pilot, lambda: isinstance(app.screen, TaskScreen) and app.screen.task_row)
        assert "0 attempts" in task_screen(app).title_line
        assert "(no attempt yet)" in app.export_screenshot().replace("&#160;", " ")
        await pilot.press("e")  # nothing to jump to: said, not an error
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_the_waves_cursor_follows_the_mouse(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        run = await open_run(app, pilot, run_id)
        waves = run.query_one("#waves", WavesView)
        build = next(c for c in waves.cells if c.task_id == "build")
        # the label's place inside the panel: its border and padding come first
        where = (build.start + 2, build.row + 1)
        await pilot.click(WavesView, offset=where)
        assert waves.has_focus
        assert waves.selected == "build"
        await pilot.double_click(WavesView, offset=where)
        await until(pilot, lambda: loaded(app, "build", 1))


def test_the_waves_cursor_starts_on_the_task_that_failed_the_run() -> None:
    """Not on one allowed to fail, drawn before it (docs in wave 0, compile in wave 1)."""
    from runtui.domain.views import TaskRow
    from runtui.tui.widgets.waves_view import first_choice

    def task(task_id: str, wave: int, status: str, allowed: bool = False) -> TaskRow:
        return TaskRow(
            run_id="r", task_id=task_id, kind="shell", wave=wave, needs=[],
            allow_failure=allowed, retries=0, spec={}, status=status, attempts=1, updated_at=0,
        )  # fmt: skip

    tasks = [task("docs", 0, "failed", allowed=True), task("compile", 1, "failed")]
    assert first_choice(tasks) == "compile"
    assert first_choice(tasks[:1]) == "docs"
    assert first_choice([task("a", 0, "done"), task("b", 1, "running")]) == "b"
