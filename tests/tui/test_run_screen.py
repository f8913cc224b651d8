"""The run screen with the real runtime on a temp database: what each panel shows, live updates,
the log's follow/search/paging, the actions on the run, read-only mode and the 80x24 layout."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from runtui.actors.runtime import Runtime
from runtui.domain.events import AttemptOutput, EventEnvelope
from runtui.domain.status import RunStatus
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.dialogs.confirm import ConfirmDialog
from runtui.tui.dialogs.reject import RejectDialog
from runtui.tui.dialogs.rewind import RewindDialog
from runtui.tui.glyphs import age, clock_time
from runtui.tui.messages import EventsArrived
from runtui.tui.screens.run import RunScreen
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.phase_diagram import PhaseDiagram
from runtui.tui.widgets.run_header import RunHeader
from runtui.tui.widgets.violations_panel import ViolationsPanel
from runtui.tui.widgets.waves_view import WavesView
from tests.actors.conftest import finish, next_approval, wf
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio

THREE_WAVES = """
name = "three-waves"
[[tasks]]
id = "fetch"
kind = "shell"
cmd = "echo fetching"
[[tasks]]
id = "lint"
kind = "noop"
[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"
needs = ["fetch", "lint"]
[[tasks]]
id = "ship"
kind = "noop"
needs = ["build"]
"""

FAILING = """
name = "breaks"
[[tasks]]
id = "compile"
kind = "shell"
cmd = "echo compiling; exit 3"
[[tasks]]
id = "docs"
kind = "shell"
cmd = "exit 1"
allow_failure = true
[[tasks]]
id = "test"
kind = "noop"
needs = ["compile"]
"""

BUDGET = """
name = "budget"
[[tasks]]
id = "step-1"
kind = "shell"
cmd = "echo '::usage tokens=3000'"
[[tasks]]
id = "step-2"
kind = "shell"
needs = ["step-1"]
cmd = "echo '::usage tokens=4000'"
[[tasks]]
id = "step-3"
kind = "shell"
needs = ["step-2"]
cmd = "echo '::usage tokens=5000'"
[[tasks]]
id = "step-4"
kind = "noop"
needs = ["step-3"]
[[policies]]
id = "token-budget"
name = "10k token budget"
type = "token_limit"
severity = "critical"
threshold = 10000
"""

GATED = """
name = "gated"
[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"
[[tasks]]
id = "publish-gate"
kind = "gate"
prompt = "Publish?"
needs = ["build"]
[[tasks]]
id = "publish"
kind = "shell"
cmd = "echo published the thing"
needs = ["publish-gate"]
"""


TIMED_GATE = GATED.replace('prompt = "Publish?"', 'prompt = "Publish?"\napproval_timeout_s = 3600')


def run_screen(app: RuntuiApp) -> RunScreen:
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


def phase_text(app: RuntuiApp) -> list[str]:
    diagram = run_screen(app).query_one("#phases", PhaseDiagram)
    return [line.plain for line in diagram.lines(diagram.content_region.width)]


def waves_text(app: RuntuiApp) -> str:
    return run_screen(app).query_one("#waves", WavesView).text.plain


def violations_text(app: RuntuiApp) -> str:
    return run_screen(app).query_one("#violations", ViolationsPanel).text.plain


def log_of(app: RuntuiApp) -> EventLog:
    return run_screen(app).query_one("#events", EventLog)


async def open_run(app: RuntuiApp, pilot: Any, run_id: str) -> RunScreen:
    app.open_run(run_id)
    await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
    await pilot.pause()
    return run_screen(app)


async def test_completed_run_shows_phases_waves_and_log(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        flow, times = phase_text(app)
        assert "▐COMPLETED▌" in flow
        assert "GOVERNANCE_CHECK" in flow  # full names at 120 columns
        assert times.count("✓") == 6  # five passed phases + the total under COMPLETED
        assert "total" in times
        assert "FAILED" not in " ".join(phase_text(app))
        waves = waves_text(app).splitlines()
        assert waves[0].split() == ["0", "✓", "fetch", "✓", "lint"]
        assert waves[1].split() == ["1", "✓", "build"]
        assert waves[2].split() == ["2", "✓", "ship"]
        assert "✓ succeeded" in screen.header.plain
        assert "wave 3/3" in screen.header.plain
        lines = log_of(app).plain_lines()
        assert "run.created" in lines[0]
        assert any("fetch| fetching" in line for line in lines)
        assert "FINALIZING → COMPLETED" in " ".join(lines)
        assert "✓ no violations" in violations_text(app)
        assert "Audit  4/4 acked · missing — · drift — · stale no" in violations_text(app)


async def test_failed_run_draws_the_failed_branch(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(FAILING))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, run_id)
        flow, times, branch = phase_text(app)
        assert "▐" not in flow  # the current phase is FAILED, on the branch
        assert "▐FAILED▌" in branch
        assert "task_failed" in branch
        # the branch leaves from the phase the task failed in, marked ✗ with its time, not
        # from FINALIZING, which the run only wound down through
        column = flow.index("EXECUTING")
        assert times[column] == "✗"
        assert branch.index("└") == column
        assert times.count("✓") == 2  # CREATED, AUTHORIZED passed
        assert "✗" not in times[flow.index("FINALIZING") :]
        waves = waves_text(app)
        assert "✗ docs (allowed)" in waves
        assert "✗ compile " in waves
        assert "compile (allowed)" not in waves
        assert "↷ test" in waves  # skipped: not ⊘, which means cancelled
        assert "Ended  task_failed" in violations_text(app)
        assert "run failed: task_failed" in violations_text(app)  # the incident


async def test_token_limit_stop_shows_the_violation_and_termination(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(BUDGET))
    run = await finish(runtime, run_id)
    assert run.status is RunStatus.FAILED
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        text = violations_text(app)
        assert '▲ critical  token_limit  "10k token budget"  task step-3 (attempt 0)' in text
        assert "threshold 10,000 tokens · actual 12,000 tokens" in text
        assert "→ stopped the run" in text
        assert "Ended  budget_exceeded at task step-3 (attempt 0)" in text
        assert "12000 tokens used, budget 10000" in text
        assert "Audit  4/4 acked" in text
        assert "critical token_limit: 10k token budget" in text  # the incident
        assert screen.query_one("#violations", ViolationsPanel).border_title == "Violations (1)"
        assert "⊘ step-4" in waves_text(app)
        assert "▐FAILED▌" in phase_text(app)[-1]
        assert "budget_exceeded" in phase_text(app)[-1]


async def test_live_events_then_approve_with_a(runtime: Runtime, client: EmbeddedRuntime) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        assert "⏸ awaiting_approval" in screen.header.plain
        flow, times = phase_text(app)
        assert "▐EXECUTING▌" in flow
        assert times[flow.index("EXECUTING")] == "⏸"  # the run's glyph under the live phase
        approval = screen.query_one(RunHeader).approval
        assert (
            approval == "⏸ approval waiting (a approve · A with a comment · x reject):"
            " task gate publish-gate: Publish?"
        )
        assert "⏸ publish-gate" in waves_text(app)
        before = log_of(app).last_seq
        await pilot.press("a")
        await until(pilot, lambda: "✓ succeeded" in screen.header.plain)
        lines = log_of(app).plain_lines()
        assert log_of(app).last_seq > before
        by = client.user  # user@host: who pressed `a` here
        assert any("approval.decided" in line and f"approve by {by}" in line for line in lines)
        assert any("publish| published the thing" in line for line in lines)
        assert "▐COMPLETED▌" in phase_text(app)[0]
        assert "✓ publish" in waves_text(app)
        assert (await runtime.reader.get_run(run_id)).status is RunStatus.SUCCEEDED


async def test_at_a_timed_gate_the_header_says_the_default_and_the_time_left_live(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(TIMED_GATE))
    approval = await next_approval(runtime, run_id)
    assert approval.timeout_s == 3600
    since = [0.0]  # the app's clock: this long after the approval was asked for
    app = RuntuiApp(client, demo_path=None, clock=lambda: approval.requested_at + since[0])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        header = screen.query_one(RunHeader)
        due = clock_time(approval.requested_at + 3600)
        paused = " · run timeout paused while it waits"
        left = f" ({age(approval.run_time_left_s or 0)} of it left)"  # frozen while it waits
        assert header.gate == f"  if nobody decides: reject in 1h, at {due}{paused}{left}"
        assert header.query_one("#gate-line").display
        since[0] = 3600 - 90  # the clock moves on: the screen follows without any event
        await until(pilot, lambda: "reject in 1m," in header.gate)
        since[0] = 3600 - 30
        await until(pilot, lambda: "reject in 30s," in header.gate)
        assert header.approval.startswith(
            "⏸ approval waiting (a approve · A with a comment · x reject)"
        )


async def test_at_a_gate_without_timeout_the_header_says_it_waits(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(app, pilot, run_id)
        header = screen.query_one(RunHeader)
        gate_line = header.query_one("#gate-line")
        assert header.gate.startswith(
            "  waits: no approval timeout · run timeout paused while it waits ("
        )
        assert header.gate.endswith(" of it left)")
        assert gate_line.display
        assert gate_line.region.height == 2  # wrapped at 80 columns, nothing cut
        await pilot.press("a")
        await until(pilot, lambda: "✓ succeeded" in screen.header.plain)
        assert header.gate == ""  # decided: nothing waits any more
        assert not gate_line.display


async def test_output_alone_appends_without_rereading(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        log = log_of(app)
        reloads, last = screen.reloads, log.last_seq
        out = EventEnvelope(
            run_id, last + 1, 0.0, AttemptOutput(task_id="fetch", attempt=0, lines=["x", "y"])
        )
        other = EventEnvelope("someone-else", 999, 0.0, AttemptOutput(task_id="z", attempt=0))
        screen.post_message(EventsArrived([other, out], lagged=False))
        await until(pilot, lambda: log.last_seq == last + 1)
        assert screen.reloads == reloads  # output changes no panel: nothing re-read
        assert log.plain_lines()[-2:][0].endswith("fetch| x")
        assert log.plain_lines()[-1].endswith("fetch| y")
        screen.post_message(EventsArrived([], lagged=True))  # lagged: re-read from the store
        await until(pilot, lambda: screen.reloads > reloads)
        assert log.last_seq == last  # the store never had the injected event


async def test_follow_toggles_and_slash_searches(runtime: Runtime, client: EmbeddedRuntime) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, run_id)
        log = log_of(app)
        assert log.follow
        assert "● follow" in str(log.border_title)
        assert log.scroll_y == log.max_scroll_y > 0  # following: the newest line is in view
        await pilot.press("f")
        assert not log.follow
        assert "paused" in str(log.border_title)
        await pilot.press("home")
        assert log.scroll_y == 0
        await pilot.press("f")
        assert log.follow
        await until(pilot, lambda: log.scroll_y == log.max_scroll_y)
        everything = log.plain_lines()
        await pilot.press("slash")
        box = run_screen(app).query_one("#log-search", Input)
        assert box.has_focus
        await pilot.press(*"wave")  # 'a' and 'w' are bound keys: the input must take them
        assert isinstance(app.screen, RunScreen)
        # the search is debounced: under load "wav" may be searched before the last key arrives
        await until(pilot, lambda: "/wave  match" in str(log.border_title))  # the whole log
        assert log.current_seq is not None
        assert (
            "wave" in log.plain_lines()[[ln.seq for ln in log.shown_lines].index(log.current_seq)]
        )
        assert log.plain_lines() == everything  # a search marks lines, it hides none
        await pilot.press("escape")  # esc closes the bar, keeps the search
        assert not run_screen(app).query_one("#search").display
        assert log.has_focus
        assert "/wave" in str(log.border_title)
        await pilot.press("escape")  # esc again clears it, stays here
        assert isinstance(app.screen, RunScreen)
        assert "/wave" not in str(log.border_title)
        await pilot.press("escape")  # esc again goes back
        assert not isinstance(app.screen, RunScreen)


async def test_older_events_page_in_from_the_store(
    runtime: Runtime, client: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtui.tui.screens import run as run_module

    monkeypatch.setattr(run_module, "TAIL", 20)
    monkeypatch.setattr(run_module, "PAGE", 15)
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    total = await client.count_events(run_id)
    assert total > 40
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(app, pilot, run_id)
        log = log_of(app)
        assert (log.first_seq, log.last_seq) == (total - 19, total)
        assert f"{total:,} events" in str(log.border_title)
        assert "[ loads older" in str(log.border_subtitle)
        # the early phases come from the first events, though the log shows only the tail
        assert log_of(app).first_seq > 10
        assert phase_text(app)[1].count("✓") == 6
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: log.first_seq == total - 34)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await until(pilot, lambda: log.first_seq == 1)
        assert "run.created" in log.plain_lines()[0]
        assert "from the first event" in str(log.border_subtitle)


async def test_cancel_with_c(runtime: Runtime, client: EmbeddedRuntime) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        shown = {key for key, active in screen.active_bindings.items() if active.binding.show}
        assert {"a", "x", "c", "w"} <= shown
        assert "R" not in shown  # this runtui drives the run: nothing to resume
        await pilot.press("c")  # asks first, saying what happens; n (or a stray enter) keeps
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = str(app.screen.query_one("#question").render())
        assert run_id in question
        assert "ends cancelled" in question
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert (await runtime.reader.get_run(run_id)).status is RunStatus.AWAITING_APPROVAL
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(pilot, lambda: "⊘ cancelled" in screen.header.plain)
        assert (await runtime.reader.get_run(run_id)).status is RunStatus.CANCELLED
        assert "Stopped  user_abort" in violations_text(app)
        assert "▐FAILED▌" in phase_text(app)[-1]
        shown = {key for key, active in screen.active_bindings.items() if active.binding.show}
        assert not {"a", "x", "c", "R"} & shown  # nothing left to approve, cancel or resume
        assert "w" in shown
        await pilot.press("c")  # said why, not ignored
        await until(
            pilot, lambda: any("already ended" in str(n.message) for n in app._notifications)
        )


async def test_reject_asks_for_a_reason(runtime: Runtime, client: EmbeddedRuntime) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectDialog))
        dialog = app.screen
        assert isinstance(dialog, RejectDialog)
        assert dialog.prompt == "task gate publish-gate: Publish?"
        await pilot.press(*"not today", "enter")
        await until(pilot, lambda: app.screen is screen and "✗ failed" in screen.header.plain)
        assert "approval_rejected" in violations_text(app)
        run = await runtime.reader.get_run(run_id)
        assert "not today" in (run.error_message or "")


async def test_rewind_opens_the_dialog(runtime: Runtime, client: EmbeddedRuntime) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, RewindDialog))
        dialog = app.screen
        assert isinstance(dialog, RewindDialog)
        assert (dialog.run_id, dialog.wave_count) == (run_id, 3)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


async def test_read_only_hides_and_refuses_approve(
    runtime: Runtime, client: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, run_id)
    app = RuntuiApp(client, read_only=True, demo_path=None)
    notes: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(str(message)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(app, pilot, run_id)
        shown = {b.binding.action for b in screen.active_bindings.values()}
        assert "approve" not in shown
        assert "cancel" not in shown
        assert "follow" in shown
        await pilot.press("a", "c")
        await pilot.pause()
        assert notes.count("read-only mode: this action is disabled") == 2
        pending = [a.approval_id for a in await runtime.reader.pending_approvals()]
        assert pending == [approval.approval_id]
        assert (await runtime.reader.get_run(run_id)).status is RunStatus.AWAITING_APPROVAL


@pytest.mark.parametrize("workflow", [BUDGET, GATED])
async def test_narrow_terminal_stacks_the_panels(
    runtime: Runtime, client: EmbeddedRuntime, workflow: str
) -> None:
    run_id = await runtime.submit(wf(workflow))
    if workflow is GATED:
        await next_approval(runtime, run_id)
    else:
        await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(app, pilot, run_id)
        assert screen.has_class("narrow")
        assert screen.has_class("short")
        waves = screen.query_one("#waves", WavesView)
        violations = screen.query_one("#violations", ViolationsPanel)
        assert violations.region.y >= waves.region.bottom  # stacked, not side by side
        diagram = screen.query_one("#phases", PhaseDiagram)
        lines = phase_text(app)
        assert "GOV_CHECK" in lines[0]
        assert all(len(line) <= diagram.content_region.width for line in lines)
        log = log_of(app)
        assert log.region.height >= 5
        assert log.region.bottom <= 23
        assert len(log.plain_lines()) > 0
        await pilot.press("z")  # zoom: the log fills the screen
        assert screen.maximized is log
        await pilot.press("z")
        assert screen.maximized is None
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: not screen.has_class("narrow"))
        assert "GOVERNANCE_CHECK" in phase_text(app)[0]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_zoom_fills_the_screen_with_a_small_panel(
    runtime: Runtime, client: EmbeddedRuntime, size: tuple[int, int]
) -> None:
    """A panel a few rows high, zoomed, takes the whole screen: no hatch around it."""
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=size) as pilot:
        screen = await open_run(app, pilot, run_id)
        for panel in (screen.query_one("#waves", WavesView), screen.query_one(ViolationsPanel)):
            panel.focus()
            await pilot.press("z")
            assert screen.maximized is panel
            footer = size[1] - screen.query_one("Footer").region.y
            assert panel.region.height == size[1] - footer
            assert panel.region.width == size[0]
            await pilot.press("z")
            assert screen.maximized is None
        assert screen.query_one("#waves", WavesView).region.height < size[1] // 2


def test_phase_diagram_wraps_when_very_narrow() -> None:
    from runtui.domain.phases import RunPhase
    from runtui.tui.widgets.phase_diagram import PhaseState, PhaseStep

    steps = (
        PhaseStep(1.0, RunPhase.CREATED, RunPhase.AUTHORIZED),
        PhaseStep(2.0, RunPhase.AUTHORIZED, RunPhase.EXECUTING),
        PhaseStep(65.0, RunPhase.EXECUTING, RunPhase.FAILED, "timeout"),
    )
    diagram = PhaseDiagram(clock=lambda: 100.0)
    diagram.state = PhaseState(0.0, RunPhase.FAILED, steps, ended_at=65.0, style="red")
    lines = [line.plain for line in diagram.lines(50)]
    assert all(len(line) <= 50 for line in lines)
    assert lines[0].startswith("CREATED")
    assert lines[0].endswith("▶")
    assert lines[1].split() == ["✓", "1.00s", "✓", "1.00s", "✗", "1m03s"]
    assert lines[2].strip() == "└─▶ ▐FAILED▌  timeout"  # no room for the total here
    assert lines[2].index("└") == lines[0].index("EXECUTING")  # the branch leaves EXECUTING
    assert "GOV_CHECK" in lines[3] or "GOVERNANCE_CHECK" in lines[3]
    assert lines[4].strip() == ""  # nothing after the failure was passed
    wide = [line.plain for line in diagram.lines(120)]
    assert len(wide) == 3
    assert wide[2].strip() == "└─▶ ▐FAILED▌  timeout · total 1m05s"


async def test_toasts_leave_the_newest_log_lines_in_view(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_run(app, pilot, run_id)
        app.notify("first")
        app.notify("second")
        await until(pilot, lambda: len(screen.query("Toast")) == 2)
        log = log_of(app).region
        newest = log.bottom - 3  # the last lines of the log (above its border)
        for toast in screen.query("Toast"):
            assert toast.region.bottom <= newest, (toast.region, log)
