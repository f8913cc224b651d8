"""Terminal safety of the terminal UI, driven with the Pilot over the real runtime: the hostile
workflow of `tests.hostile` run to its gate, and a forged run with a hostile string in every
field, shown on every screen and dialog that names them. Each screen is exported as Textual
draws it (`export_screenshot`, every character of every cell) and must hold no byte that
drives a terminal; names with brackets must read as written, never as markup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.style import Style
from textual.widgets import DataTable

from runtui.actors.runtime import Runtime
from runtui.domain.errors import RuntuiError
from runtui.domain.events import AttemptOutput, EventEnvelope
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.dialogs.edits import EditsDialog
from runtui.tui.dialogs.reject import RejectDialog
from runtui.tui.dialogs.rewind import RewindDialog
from runtui.tui.safe_text import sgr_style
from runtui.tui.screens.approvals import ApprovalsScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.widgets.event_lines import event_lines
from runtui.tui.widgets.event_log import EventLog
from tests.actors.conftest import next_approval, settings_for, wf
from tests.factories import full_run
from tests.hostile import HOSTILE, SHORT, assert_terminal_safe, hostile_workflow, poisoned
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def runtime(database: Path | str) -> AsyncIterator[Runtime]:
    """The runtime on each store in turn: what the screens show comes from the store's rows
    (PostgreSQL keeps a NUL as `␀`, the sign the UI shows for it anyway)."""
    async with Runtime.open(settings_for(database)) as rt:
        yield rt


#: How SHORT reads once made safe: its sequences gone, its BEL a picture, its brackets text.
SHORT_SHOWN = "pwned␇[b]md[/b]"


def drawn(app: RuntuiApp) -> str:
    """The screen as Textual draws it (SVG text), checked: nothing in it drives a terminal."""
    svg = app.export_screenshot()
    assert_terminal_safe(svg, type(app.screen).__name__)
    return svg.replace("&#160;", " ")


async def shown_run(app: RuntuiApp, pilot: Any, run_id: str) -> RunScreen:
    app.open_run(run_id)

    def loaded() -> bool:
        screen = app.screen
        return (
            isinstance(screen, RunScreen)
            and screen.run is not None
            and screen.query_one("#events", EventLog).last_seq == screen.run.last_seq
        )

    await until(pilot, loaded)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


async def test_every_screen_shows_hostile_runs_without_escapes(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(hostile_workflow()))
    await next_approval(runtime, run_id)
    await runtime.store.writer.append_many(poisoned(full_run("forged", fail=True)))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, RunsScreen)
                and app.screen.query_one("#runs", DataTable).row_count == 2
            ),
        )
        runs = drawn(app)
        assert f"wf-{SHORT_SHOWN}" in runs  # the workflow's name: its brackets are text

        screen = await shown_run(app, pilot, run_id)
        log = screen.query_one("#events", EventLog)
        for line in log.plain_lines():  # every line of the log, on screen or not
            assert_terminal_safe(line, "the event log")
        assert any("loud|! pwned" in line for line in log.plain_lines())  # stderr, marked
        assert any("loud| 100% pwned" in line for line in log.plain_lines())
        run_screen = drawn(app)
        assert f"wf-{SHORT_SHOWN}" in run_screen  # the header
        assert "100% pwned" in run_screen  # the approval line
        assert f"policy-{SHORT_SHOWN}" in run_screen  # the violations panel
        await pilot.press("home")  # the oldest lines of the log, too
        await pilot.pause()
        drawn(app)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectDialog))
        assert "100% pwned" in drawn(app)
        await pilot.press("escape", "w")
        await until(pilot, lambda: isinstance(app.screen, RewindDialog))
        await until(pilot, lambda: getattr(app.screen, "plan", None) is not None)
        assert f"wf-{SHORT_SHOWN}" in drawn(app)  # the dialog's title names the workflow
        await pilot.press("escape", "escape")

        forged = await shown_run(app, pilot, "forged")
        assert f"fetch{SHORT_SHOWN}" in drawn(app)  # a task id in the waves and the log
        assert f"rejected{SHORT_SHOWN}" in forged.query_one("#violations").text.plain
        await pilot.press("escape", "i")

        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ApprovalsScreen)
                and app.screen.query_one("#approvals", DataTable).row_count == 1
            ),
        )
        assert "100% pwned" in drawn(app)
        app.push_screen(EditsDialog(HOSTILE, ["fetch" + SHORT]))
        await pilot.pause()
        assert f"fetch{SHORT_SHOWN}" in drawn(app)
        await pilot.press("escape")

        async def refused() -> None:
            raise RuntuiError("refused: " + SHORT)

        await app.attempt(refused())  # a toast quoting a workflow's strings
        await until(pilot, lambda: f"refused: {SHORT_SHOWN}" in drawn(app))


def test_task_output_keeps_its_colours_and_loses_its_sequences() -> None:
    body = AttemptOutput(
        task_id="t", attempt=0, lines=["\x1b[1;31mred\x1b[0m \x1b]0;x\x07ok"], stream="stderr"
    )
    (line,) = event_lines(EventEnvelope(run_id="r", seq=3, ts=0.0, body=body))
    assert line.text == "t|! red ok"  # stderr: marked `|!` (and drawn yellow)
    assert line.stderr
    ((start, end, sgr),) = line.spans
    assert line.text[start:end] == "red"
    assert sgr_style(sgr) == Style(color="color(1)", bold=True)
