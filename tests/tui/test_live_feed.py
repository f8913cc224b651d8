"""How the live feed reaches screens that are not on top, and read-only on the runs screen.

Covered screens are sent no task output (waking one makes Textual repaint the whole screen on
top, every tick under a stream of output); a run screen takes what it missed when it is shown
again.
"""

from __future__ import annotations

import time

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.events import AttemptOutput, PendingEvent
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.screens.help import HelpScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.widgets.event_log import EventLog
from tests.actors.conftest import next_approval, wf
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio

GATE = 'name = "gated"\n[[tasks]]\nid = "g"\nkind = "gate"\nprompt = "go?"'


def output(run_id: str, n: int) -> list[PendingEvent]:
    body = AttemptOutput(task_id="g", attempt=0, lines=[f"line {n}"])
    return [PendingEvent(run_id, body, time.time(), 0)]


async def test_a_covered_run_screen_catches_up_on_output_when_shown(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATE))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(run_id)
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        log = screen.query_one("#events", EventLog)
        await runtime.store.writer.append_many(output(run_id, 1))
        await until(pilot, lambda: log.plain_lines()[-1].endswith("g| line 1"))

        await pilot.press("question_mark")  # the help covers the run screen
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        seen, last = app.events_seen, log.last_seq
        envs = []
        for n in range(2, 12):
            envs += await runtime.store.writer.append_many(output(run_id, n))
        await until(pilot, lambda: app.events_seen >= seen + 10)
        await pilot.pause(3 * app.tick_s)
        assert log.last_seq == last  # covered: the output was not sent to it

        await pilot.press("escape")  # shown again: it reads what it missed from the store
        await until(pilot, lambda: log.last_seq == envs[-1].seq)
        assert log.plain_lines()[-1].endswith("g| line 11")
        assert sum("g| line" in line for line in log.plain_lines()) == 11


async def test_a_covered_runs_screen_still_gets_run_changes(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        run_id = await runtime.submit(wf(GATE))
        await until(pilot, lambda: run_id in runs.rows)  # run.created is not output: it comes


async def test_read_only_runs_screen_offers_no_new_run(
    runtime: Runtime, client: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = RuntuiApp(client, read_only=True, demo_path=None)
    notes: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(str(message)))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "new_run" not in shown
        assert "filter" in shown
        await pilot.press("n")
        await pilot.pause()
        assert notes == ["read-only mode: this action is disabled"]
        assert isinstance(app.screen, RunsScreen)
