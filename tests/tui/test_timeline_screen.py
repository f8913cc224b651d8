"""The timeline screen (`t` on a run) driven with the Pilot over the real runtime: embedded and
attached to a real server (the same picture either way), live while the run runs (a wait grows
with the clock, an attempt appears once the gate is approved), `s` for the slowest first,
scrolling a thousand tasks, and task ids that try to drive the terminal."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.domain.events import (
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    EventEnvelope,
    PendingEvent,
    PhaseChanged,
    RunCreated,
    RunStatusChanged,
    TaskDeclared,
    TaskStatusChanged,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.messages import EventsArrived
from runtui.tui.screens.help import HelpScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.task import TaskScreen
from runtui.tui.screens.timeline import TimelineScreen
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.timeline_lanes import LaneKind
from tests.actors.conftest import finish, next_approval, wf
from tests.hostile import SHORT, assert_terminal_safe
from tests.tui.conftest import port_for, until
from tests.tui.test_run_screen import open_run

pytestmark = pytest.mark.anyio

TOKEN = "timeline-token"

GATED = """
name = "release"
[[tasks]]
id = "fetch"
kind = "shell"
cmd = "echo fetched"
[[tasks]]
id = "flaky"
kind = "shell"
cmd = "echo trying; exit 2"
retries = 1
allow_failure = true
[[tasks]]
id = "slow"
kind = "shell"
cmd = "sleep 0.3; echo done"
[[tasks]]
id = "publish-gate"
kind = "gate"
needs = ["fetch", "flaky", "slow"]
prompt = "Publish?"
[[tasks]]
id = "publish"
kind = "shell"
needs = ["publish-gate"]
cmd = "sleep 0.2; echo published"
"""


UNGATED = GATED.replace('kind = "gate"', 'kind = "noop"').replace('prompt = "Publish?"\n', "")


class Clock:
    """The app's clock: the real time, moved forward on demand (the runtime keeps real time)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


async def open_timeline(app: RuntuiApp, pilot: Any, run_id: str) -> TimelineScreen:
    await open_run(app, pilot, run_id)
    await pilot.press("t")
    await until(
        pilot,
        lambda: isinstance(app.screen, TimelineScreen) and app.screen.timeline is not None,
    )
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, TimelineScreen)
    return screen


def line_of(screen: TimelineScreen, label: str) -> str:
    (line,) = [line for line in screen.view.plain_lines() if line.startswith(label)]
    return line


def task_lines(screen: TimelineScreen) -> list[str]:
    return [line for line in screen.view.plain_lines() if re.match(r"w\d", line)]


def drawn(app: RuntuiApp) -> str:
    """The screen as Textual draws it, checked: nothing in it drives a terminal."""
    svg = app.export_screenshot()
    assert_terminal_safe(svg, type(app.screen).__name__)
    return svg.replace("&#160;", " ")


async def test_t_opens_the_timeline_of_a_run_at_its_gate(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_timeline(app, pilot, run_id)
        lines = screen.view.plain_lines()
        assert lines[0].startswith("wave task ")
        assert " 0s ─" in lines[0]
        assert "release  ⏸ awaiting_approval" in screen.title_line.plain
        assert screen.title_line.plain.endswith("timeline of 5 tasks · by wave")
        assert line_of(screen, "CREATED..AUTHORIZED ").rstrip().endswith("s")
        assert "▌…" in line_of(screen, "EXECUTING ")  # live: an open edge
        tasks = [line.split()[1] for line in task_lines(screen)]
        assert sorted(tasks[:3]) == ["fetch", "flaky", "slow"]  # wave 0, in the order started
        assert tasks[3:] == ["publish-gate", "publish"]
        flaky = [line for line in lines if "flaky" in line or "↳" in line]
        assert "".join(flaky).count("✗") == 2  # both attempts failed, each marked
        assert "failed" in flaky[0]
        assert "×2" in flaky[0]
        gate = line_of(screen, "w1 publish-gate ")
        assert "⏸╌" in gate
        assert "waiting" in gate
        assert line_of(screen, "w2 publish ").rstrip().endswith("pending")
        assert "Slowest first" in drawn(app)  # in the footer

        by_wave = [lane.key for lane in screen.view.lanes]
        await pilot.press("s")
        assert screen.title_line.plain.endswith("slowest first")
        now = app.clock()
        tasks = [lane for lane in screen.view.lanes if lane.wave is not None]
        took = [lane.took(now) for lane in tasks]
        started = [t for t in took if t is not None]
        assert started == sorted(started, reverse=True)
        assert len(started) == 4
        assert took[-1] is None
        assert tasks[-1].key == "publish"
        await pilot.press("s")
        assert screen.title_line.plain.endswith("by wave")
        assert [lane.key for lane in screen.view.lanes] == by_wave

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert any(k == "s" and w.startswith("Slowest first") for k, w in help_screen.rows)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))


async def test_the_timeline_is_live_a_wait_grows_and_an_attempt_appears(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    clock = Clock()
    app = RuntuiApp(client, demo_path=None, clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_timeline(app, pilot, run_id)
        assert "waiting 1m" not in line_of(screen, "w1 publish-gate ")
        clock.ahead = 95.0  # the 1 s tick moves "now": the wait grows, nothing is re-read
        reloads = screen.reloads
        await until(pilot, lambda: "waiting 1m3" in line_of(screen, "w1 publish-gate "))
        assert screen.reloads == reloads
        assert "running 1m3" in line_of(screen, "EXECUTING ")

        out = EventEnvelope(run_id, 10_000, 0.0, AttemptOutput(task_id="slow", attempt=0))
        screen.post_message(EventsArrived([out], lagged=False))
        await pilot.pause()
        assert screen.reloads == reloads  # output changes no bar: nothing re-read

        assert line_of(screen, "w2 publish ").rstrip().endswith("pending")
        await client.approve(approval.approval_id, reason="ship it")
        await until(pilot, lambda: "█" in line_of(screen, "w2 publish "))  # its attempt
        assert "approved" in line_of(screen, "w1 publish-gate ")
        await until(pilot, lambda: "✓ succeeded" in screen.title_line.plain)
        assert "▌" not in "".join(screen.view.plain_lines())  # nothing runs any more
        assert line_of(screen, "w2 publish ").rstrip().endswith("s")  # how long it took
        screen.post_message(EventsArrived([], lagged=True))  # lagged: re-read everything
        await until(pilot, lambda: screen.reloads > reloads + 1)


async def test_attached_to_a_server_the_timeline_is_the_same_and_live(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    at = time.time() + 60  # both apps see the same "now": the same picture, to the cell

    def clock() -> float:
        return at

    embedded = RuntuiApp(client, demo_path=None, clock=clock)
    async with embedded.run_test(size=(100, 30)) as pilot:
        here = (await open_timeline(embedded, pilot, run_id)).view.plain_lines()
    async with (
        http_api(client, port=0, token=TOKEN) as api,
        HttpClient(api.url, TOKEN) as remote,
    ):
        app = RuntuiApp(remote, demo_path=None, clock=clock)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_timeline(app, pilot, run_id)
            assert screen.view.plain_lines() == here
            assert "waiting 1m0" in line_of(screen, "w1 publish-gate ")
            await remote.approve(approval.approval_id, reason="ship it")
            await until(pilot, lambda: "█" in line_of(screen, "w2 publish "))
            await until(pilot, lambda: "✓ succeeded" in screen.title_line.plain)


async def test_a_finished_run_draws_the_same_embedded_and_attached(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(UNGATED))
    await finish(runtime, run_id)
    pictures = []
    async with (
        http_api(client, port=0, token=TOKEN) as api,
        HttpClient(api.url, TOKEN) as remote,
    ):
        for port in (client, remote):
            app = RuntuiApp(port, demo_path=None)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_timeline(app, pilot, run_id)
                pictures.append(screen.view.plain_lines())
                assert "✓ succeeded" in screen.title_line.plain
    assert pictures[0] == pictures[1]
    assert all(len(line) == 78 for line in pictures[0])  # 80 columns less the padding
    assert "GOV_CHECK..FINALIZING" in "\n".join(pictures[0])


@pytest.mark.parametrize("mode", ["embedded", "attached"])
async def test_enter_opens_the_task_under_the_cursor(runtime: Runtime, mode: str) -> None:
    run_id = await runtime.submit(wf(UNGATED))
    await finish(runtime, run_id)
    async with port_for(mode, runtime) as port:
        app = RuntuiApp(port, demo_path=None)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_timeline(app, pilot, run_id)
            view = screen.view
            assert view.selected is not None
            assert view.selected.kind is LaneKind.PHASE  # the first line
            await pilot.press("enter")  # a phase: nothing to open, and it says so
            await until(pilot, lambda: any("opens a task" in n.message for n in app._notifications))
            assert app.screen is screen
            flaky = next(i for i, line in enumerate(view.lines) if line.lane.key == "flaky")
            for _ in range(flaky):
                await pilot.press("j")
            assert view.selected.key == "flaky"
            assert marked_label(app).startswith("w0 flaky")  # the cursor shows on screen
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TaskScreen))
            assert isinstance(app.screen, TaskScreen)
            assert app.screen.task_id == "flaky"
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen)
            assert view.selected.key == "flaky"  # back where it was
            await pilot.press("G")
            assert view.selected.key == "publish"  # the last lane
            await pilot.press("s")  # slowest first: the cursor goes to the top
            assert view.cursor == 0


def marked_label(app: RuntuiApp) -> str:
    """The text drawn reversed on screen (the timeline's cursor)."""
    screen = app.screen
    assert isinstance(screen, TimelineScreen)
    view = screen.view
    for y in range(view.scrollable_content_region.height):
        for segment in view.render_line(y):
            if segment.style is not None and segment.style.reverse:
                return segment.text
    return ""


# --- forged runs: a thousand tasks, hostile ids --------------------------------------------------


def forged_run(run_id: str, task_ids: list[str], *, waves: int = 1) -> list[PendingEvent]:
    """A running run whose tasks each ran once (the first one twice, failing first)."""
    t0 = time.time() - 600
    out: list[PendingEvent] = []

    def ev(body: Any, at: float, wave: int | None = None) -> None:
        out.append(PendingEvent(run_id, body, t0 + at, wave))

    ev(RunCreated(workflow="forged"), 0)
    for i, task_id in enumerate(task_ids):
        ev(TaskDeclared(task_id=task_id, task_kind=TaskKind.SHELL, wave=i % waves), 0)
    ev(PhaseChanged(from_phase=RunPhase.CREATED, to_phase=RunPhase.AUTHORIZED), 0.1)
    ev(PhaseChanged(from_phase=RunPhase.AUTHORIZED, to_phase=RunPhase.EXECUTING), 0.2)
    ev(RunStatusChanged(status=RunStatus.RUNNING), 0.2)
    for i, task_id in enumerate(task_ids):
        wave, start = i % waves, 1 + i * 0.5
        tries = [AttemptStatus.FAILED, AttemptStatus.COMPLETED] if i == 0 else [None]
        for n, status in enumerate(tries):
            ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.RUNNING), start, wave)
            ev(AttemptStarted(task_id=task_id, attempt=n, idempotency_key=f"k{i}:{n}"), start, wave)
            if status is not None:
                ev(AttemptStatusChanged(task_id=task_id, attempt=n, status=status), start + 2, wave)
            start += 3
        if i == 0:
            ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.DONE), start, wave)
    return out


async def test_a_thousand_tasks_scroll_and_the_slowest_come_first(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    ids = [f"task-{i:04d}" for i in range(1000)]
    await runtime.store.writer.append_many(forged_run("wide", ids, waves=10))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_timeline(app, pilot, "wide")
        assert len(screen.view.timeline.tasks) == 1000  # type: ignore[union-attr]
        assert "timeline of 1,000 tasks" in screen.title_line.plain
        assert "w9 task-0999" not in drawn(app)
        await pilot.press("end")
        await until(pilot, lambda: "w9 task-0999" in drawn(app))
        assert "wave task " in drawn(app)  # the axis stays on top
        await pilot.press("home", "pagedown")
        await until(pilot, lambda: "task-0000" not in drawn(app))
        view = screen.view
        rows = view.scrollable_content_region.height - 1  # lines under the axis
        assert view.cursor == rows
        await pilot.press("g", "ctrl+d")  # the keys of every list: half a screen down
        assert view.cursor == round(rows / 2)
        await pilot.press("ctrl+u", "j", "j", "k")
        assert view.cursor == 1
        await pilot.press("s")  # running the longest: the first started, task-0001
        await until(pilot, lambda: screen.view.scroll_y == 0)
        first = task_lines(screen)[0]
        assert first.startswith("w1 task-0001")
        assert "running 10m" in first


HOSTILE_ID = "evil\x1b[2J\x07\u202e[bold]x[/bold]\nline2" + SHORT


async def test_hostile_task_ids_are_shown_and_never_obeyed(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    await runtime.store.writer.append_many(forged_run("forged", [HOSTILE_ID, "plain"]))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_timeline(app, pilot, "forged")
        for line in screen.view.plain_lines():
            assert_terminal_safe(line, "the timeline")
            assert "\n" not in line
        label = line_of(screen, "w0 evil")
        assert label.startswith("w0 evil␇[bold]x[/bold]↵line2pw…")  # brackets read as text
        assert "↳ #1" in "\n".join(screen.view.plain_lines())
        assert "evil␇[bold]x[/bold]↵line2pw…" in drawn(app)


async def test_a_run_that_does_not_exist_says_so(runtime: Runtime, client: EmbeddedRuntime) -> None:
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(TimelineScreen("no-such-run" + SHORT))
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, TimelineScreen)
                and "not found" in app.screen.title_line.plain
            ),
        )
        assert "no-such-run" in drawn(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, TimelineScreen)


async def test_the_log_time_toggle_moved_to_capital_t(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(UNGATED))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        log = screen.query_one("#events", EventLog)
        assert log.relative_time
        await pilot.press("T")
        assert not log.relative_time
        await pilot.press("T")
        assert log.relative_time
        assert isinstance(app.screen, RunScreen)
