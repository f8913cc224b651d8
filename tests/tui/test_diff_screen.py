"""The diff screen driven with the Pilot over the real runtime: a fork against its parent (`d`
on the fork's run screen) embedded and attached to a real server (the same picture), two runs of
one workflow picked on the runs list, live while a run waits at its gate, a thousand tasks whose
output is compared only where the screen looks, and strings that try to drive the terminal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.events import (
    ApprovalDecided,
    ApprovalRequested,
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
    ViolationData,
    ViolationRecorded,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.violations import PolicyViolationType, ViolationAction, ViolationSeverity
from runtui.embedded import EmbeddedRuntime
from runtui.server.serve import http_api
from runtui.tui.app import RuntuiApp
from runtui.tui.diff_reads import compare_output
from runtui.tui.glyphs import short_id
from runtui.tui.messages import EventsArrived
from runtui.tui.screens.diff import DiffScreen
from runtui.tui.screens.help import HelpScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.screens.task import TaskScreen
from tests.actors.conftest import finish, next_approval, wf
from tests.hostile import HOSTILE, SHORT, assert_terminal_safe
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run
from tests.tui.test_timeline_screen import drawn

pytestmark = pytest.mark.anyio

TOKEN = "diff-token"


def workflow(tmp: Path) -> str:
    """`build` prints what `count` holds on its third line; `test` fails until `fixed` exists,
    and prints an email address when it fails (a medium PII warning)."""
    test = (
        f"if [ -f {tmp}/fixed ]; then echo '17 passed';"
        " else echo 'FAILED test_io: ask ada@example.com'; exit 1; fi"
    )
    return f"""
name = "diffed"
[[tasks]]
id = "fetch"
kind = "shell"
cmd = "echo fetched"
[[tasks]]
id = "build"
kind = "shell"
needs = ["fetch"]
cmd = "echo compiling; echo linking; cat {tmp}/count"
[[tasks]]
id = "test"
kind = "shell"
needs = ["build"]
cmd = "{test}"
[[policies]]
id = "pii"
name = "No personal data"
type = "pii_detected"
severity = "medium"
"""


async def parent_and_fork(runtime: Runtime, tmp: Path) -> tuple[str, str]:
    """A run whose test fails, then its rewind to wave 0 once the build counts another file and
    the test is fixed: the fork carries `fetch` over and runs `build` and `test` again."""
    (tmp / "count").write_text("built 41 files\n")
    parent = await runtime.submit(wf(workflow(tmp)))
    await finish(runtime, parent)
    (tmp / "count").write_text("built 42 files\n")
    (tmp / "fixed").touch()
    plan = await runtime.rewind(parent, 0)
    assert plan.new_run_id is not None
    await finish(runtime, plan.new_run_id)
    return parent, plan.new_run_id


def diff_screen(app: RuntuiApp) -> DiffScreen:
    screen = app.screen
    assert isinstance(screen, DiffScreen)
    return screen


def settled(app: RuntuiApp) -> bool:
    """The diff is on screen with every row in view compared."""
    screen = app.screen
    if not isinstance(screen, DiffScreen) or not screen.rows:
        return False
    return not screen._reading and all(
        screen.outputs.get(r.task_id) is not None
        for r in screen.view.in_view()
        if r.output_key is not None
    )


def line_of(screen: DiffScreen, task_id: str) -> str:
    (line,) = [line for line in screen.view.plain_lines() if line[2:].startswith(f"{task_id} ")]
    return line


def governance(screen: DiffScreen, side: int) -> str:
    """Violations and approvals of one side (0: left), as shown below the table."""
    return "\n".join(texts[side].plain for texts in screen.governance.values())


def task_loaded(app: RuntuiApp) -> bool:
    return isinstance(app.screen, TaskScreen) and bool(app.screen.attempts)


async def open_diff(app: RuntuiApp, pilot: Any, run_id: str) -> DiffScreen:
    await open_run(app, pilot, run_id)
    await pilot.press("d")
    await until(pilot, lambda: settled(app))
    await pilot.pause()
    return diff_screen(app)


async def test_d_on_a_fork_shows_it_beside_its_parent(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path
) -> None:
    parent, fork = await parent_and_fork(runtime, tmp_path)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_diff(app, pilot, fork)
        assert (screen.left.run_id, screen.right.run_id) == (parent, fork)
        assert screen.title_line.plain == (
            "diff  diffed · 3 tasks · 2 differ · 1 carried · ▶ forked from ◀ (rewind@0)"
        )
        header = screen.view.plain_lines()[0]
        assert f"◀ ✗ {short_id(parent)}" in header
        assert f"▶ ✓ {short_id(fork)}" in header
        fetch, build, test = (line_of(screen, t) for t in ("fetch", "build", "test"))
        assert "↳ carried" in fetch
        assert fetch.startswith("  fetch")  # the same result: no mark
        assert fetch.rstrip().endswith("—")
        assert build.startswith("≠ build")
        assert 'L3: "built 41 files" ⇄ "built 42 files"' in build
        assert build.count("exit 0") == 2
        assert "✗" in test
        assert "exit 1" in test
        assert "exit 0" in test
        assert 'L1: "FAILED test_io: ask ada@example.com" ⇄ "17 passed"' in test
        assert "▲ medium pii_detected test#0" in governance(screen, 0)
        assert governance(screen, 1) == "none\nnone"  # the fork printed no email

        # the cursor starts on the first row; its detail says it all
        assert screen.view.selected is not None
        assert screen.view.selected.task_id == "fetch"
        await pilot.press("down")
        detail = str(screen.query_one("#diff-detail").render())
        assert "≠ differs: output from line 3" in detail
        assert "◀ L3  built 41 files" in detail
        assert "▶ L3  built 42 files" in detail

        # enter: the task in the left run; o: in the right one
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskScreen))
        assert (app.screen.run_id, app.screen.task_id) == (parent, "build")  # type: ignore[attr-defined]
        await pilot.press("escape", "o")
        await until(pilot, lambda: isinstance(app.screen, TaskScreen))
        assert (app.screen.run_id, app.screen.task_id) == (fork, "build")  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))

        # f: only the rows that differ; s: the runs change sides
        await pilot.press("f")
        assert [r.task_id for r in screen.view.rows] == ["build", "test"]
        assert "· only differing ·" in screen.title_line.plain
        reads = screen.output_reads
        await pilot.press("s")
        assert (screen.left.run_id, screen.right.run_id) == (fork, parent)
        assert 'L3: "built 42 files" ⇄ "built 41 files"' in line_of(screen, "build")
        assert screen.output_reads == reads  # known already: swapped, not read again
        await pilot.press("f")
        assert line_of(screen, "fetch")[2:].split()[1:3] == ["↳", "carried"]

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = app.screen.rows  # type: ignore[attr-defined]
        for key, label in (
            ("enter", "Open left"),
            ("o", "Open right"),
            ("s", "Swap"),
            ("f", "Only differing"),
        ):
            assert any(k == key and w.startswith(label) for k, w in rows), key
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))


async def test_attached_to_a_server_the_diff_is_the_same(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path
) -> None:
    parent, fork = await parent_and_fork(runtime, tmp_path)
    pictures = []
    async with (
        http_api(client, port=0, token=TOKEN) as api,
        HttpClient(api.url, TOKEN) as remote,
    ):
        for port in (client, remote):
            app = RuntuiApp(port, demo_path=None)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_diff(app, pilot, fork)
                pictures.append((screen.title_line.plain, screen.view.plain_lines()))
                assert screen.left.run_id == parent
                await pilot.press("down", "down", "o")  # the task of the fork, through the API
                await until(pilot, lambda app=app: task_loaded(app))
                assert app.screen.task_id == "test"  # type: ignore[attr-defined]
    assert pictures[0] == pictures[1]
    assert all(len(line) == 78 for line in pictures[0][1])  # 80 columns less the padding
    assert 'L1: "FAILED tes…" ⇄ "17 passed"' in "\n".join(pictures[0][1])  # cut to the width


async def test_two_runs_of_a_workflow_picked_on_the_runs_list(
    runtime: Runtime, client: EmbeddedRuntime, tmp_path: Path
) -> None:
    (tmp_path / "count").write_text("built 41 files\n")
    first = await runtime.submit(wf(workflow(tmp_path)))
    await finish(runtime, first)
    (tmp_path / "count").write_text("built 41 files\n")
    (tmp_path / "fixed").touch()
    second = await runtime.submit(wf(workflow(tmp_path)), force=True)
    await finish(runtime, second)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen) and len(app.screen.rows) == 2)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        footer = app.active_bindings["d"]
        assert footer.binding.show
        assert footer.binding.description == "Diff"
        await pilot.press("d")  # marks the newest
        assert runs.diff_mark == second
        assert "marked: d on another run diffs" in str(runs.query_one("#filter-line").render())
        assert runs.query_one("#runs", DataTable).get_cell(second, "glyph").plain == "⇄"
        await pilot.press("d")  # again on the same run: forgotten
        assert runs.diff_mark is None
        await pilot.press("d", "down", "d")
        await until(pilot, lambda: settled(app))
        screen = diff_screen(app)
        assert (screen.left.run_id, screen.right.run_id) == (second, first)
        assert runs.diff_mark is None
        assert "carried" not in "\n".join(screen.view.plain_lines())
        assert "same output (1 line)" in line_of(screen, "fetch")
        assert "same output (3 lines)" in line_of(screen, "build")
        assert line_of(screen, "build").startswith("  build")
        assert '"17 passed" ⇄ "FAILED test_io' in line_of(screen, "test")
        assert screen.title_line.plain == "diff  diffed · 3 tasks · 1 differ"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))

        # d on a run that is no fork: the run of its workflow before it
        screen = await open_diff(app, pilot, second)
        assert (screen.left.run_id, screen.right.run_id) == (first, second)
        await pilot.press("escape", "escape")
        # the first run has nothing before it: said, and no screen opened
        await open_run(app, pilot, first)
        await pilot.press("d")
        await until(
            pilot, lambda: any("nothing to compare" in n.message for n in app._notifications)
        )
        assert isinstance(app.screen, RunScreen)


GATED = """
name = "gated"
[[tasks]]
id = "prep"
kind = "shell"
cmd = "echo ready"
[[tasks]]
id = "gate"
kind = "gate"
needs = ["prep"]
prompt = "Ship?"
[[tasks]]
id = "ship"
kind = "shell"
needs = ["gate"]
cmd = "echo shipped"
"""


async def test_the_diff_is_live_while_a_run_waits_at_its_gate(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    before = await runtime.submit(wf(GATED))
    await client.approve((await next_approval(runtime, before)).approval_id, by="ann")
    await finish(runtime, before)
    live = await runtime.submit(wf(GATED))
    approval = await next_approval(runtime, live)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_diff(app, pilot, live)
        assert screen.left.run_id == before
        assert "· pending" in line_of(screen, "ship")
        assert "⏸ awaiting_approval" in line_of(screen, "gate")
        assert "⏸ pending gate" in governance(screen, 1)
        assert "✓ approve gate by ann" in governance(screen, 0)

        reloads = screen.reloads
        out = EventEnvelope(live, 10_000, 0.0, AttemptOutput(task_id="ship", attempt=0))
        screen.post_message(EventsArrived([out], lagged=False))
        await pilot.pause()
        assert screen.reloads == reloads  # output changes no row: nothing re-read

        await client.approve(approval.approval_id, by="bob")
        await until(pilot, lambda: "same output (1 line)" in line_of(screen, "ship"))
        await until(pilot, lambda: "✓ approve gate by bob" in governance(screen, 1))
        assert screen.title_line.plain == "diff  gated · 3 tasks · 0 differ"
        # a burst of events is read once per tick, not once per event
        assert screen.reloads - reloads <= 8
        screen.post_message(EventsArrived([], lagged=True))  # lagged: re-read everything
        await until(pilot, lambda: screen.reloads > reloads + 1)


# --- forged runs: a thousand tasks, hostile strings ----------------------------------------------


def forged(
    run_id: str, task_ids: list[str], output: list[str], *, extra: list[Any] | None = None
) -> list[PendingEvent]:
    """A run whose tasks each ran once and printed `output` (the last line numbered by task)."""
    t0 = time.time() - 600
    out: list[PendingEvent] = []

    def ev(body: Any, at: float, wave: int | None = None) -> None:
        out.append(PendingEvent(run_id, body, t0 + at, wave))

    ev(RunCreated(workflow="forged"), 0)
    for i, task_id in enumerate(task_ids):
        ev(TaskDeclared(task_id=task_id, task_kind=TaskKind.SHELL, wave=i % 3), 0)
    ev(PhaseChanged(from_phase=RunPhase.CREATED, to_phase=RunPhase.AUTHORIZED), 0.1)
    ev(PhaseChanged(from_phase=RunPhase.AUTHORIZED, to_phase=RunPhase.EXECUTING), 0.2)
    ev(RunStatusChanged(status=RunStatus.RUNNING), 0.2)
    for i, task_id in enumerate(task_ids):
        wave, start = i % 3, 1 + i * 0.01
        ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.RUNNING), start, wave)
        ev(AttemptStarted(task_id=task_id, attempt=0, idempotency_key=f"k{i}"), start, wave)
        ev(AttemptOutput(task_id=task_id, attempt=0, lines=[*output, f"task {i}"]), start, wave)
        done = AttemptStatusChanged(
            task_id=task_id, attempt=0, status=AttemptStatus.COMPLETED, exit_code=0
        )
        ev(done, start + 0.5, wave)
        ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.DONE), start + 0.5, wave)
    for body in extra or []:
        ev(body, 20)
    ev(RunStatusChanged(status=RunStatus.SUCCEEDED), 30)
    return out


async def test_a_thousand_tasks_compare_only_the_output_in_view(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    ids = [f"task-{i:04d}" for i in range(1000)]
    await runtime.store.writer.append_many(forged("wide-a", ids, ["same", "built 41"]))
    await runtime.store.writer.append_many(forged("wide-b", ids, ["same", "built 42"]))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DiffScreen("wide-a", "wide-b"))
        await until(pilot, lambda: settled(app))
        screen = diff_screen(app)
        assert len(screen.rows) == 1000
        page = screen.view.page
        title = screen.title_line.plain
        assert f"1,000 tasks · {page} differ · {1000 - page} outputs not compared yet" in title
        assert page < 20
        assert screen.output_reads <= page  # the rows in view, not a thousand
        assert screen.reloads == 1  # one read of each side
        assert 'L2: "built 41" ⇄ "built 42"' in line_of(screen, "task-0000")
        last = screen.rows[-1].task_id  # in wave order: task-0998
        assert line_of(screen, last).rstrip().endswith("…")  # out of view: not read yet
        await pilot.press("end")
        await until(pilot, lambda: settled(app))
        assert "L2:" in line_of(screen, last)
        assert screen.output_reads <= 2 * page + 1
        assert last in drawn(app)


async def test_output_is_compared_a_page_at_a_time(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    lines = [f"line {i}" for i in range(25)]
    await runtime.store.writer.append_many(forged("page-a", ["t"], lines))
    await runtime.store.writer.append_many(forged("page-b", ["t"], [*lines[:23], "other"]))
    key_a, key_b = ("page-a", "t", 0, "completed"), ("page-b", "t", 0, "completed")
    parted = await compare_output(client, key_a, key_b, page=4)
    assert parted.index == 23
    assert parted.left is not None
    assert parted.left.text == "line 23"
    assert parted.right is not None
    assert parted.right.text == "other"
    same = await compare_output(client, key_a, key_a, page=7)
    assert (same.verdict.value, same.index) == ("same", 26)


HOSTILE_ID = "evil\x1b[2J\x07\u202e[bold]x[/bold]\nline2" + SHORT


async def test_hostile_strings_are_shown_and_never_obeyed(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    violation = ViolationData(
        policy_id="p",
        policy_name="[red]policy[/red]" + SHORT,
        violation_type=PolicyViolationType.PII_DETECTED,
        severity=ViolationSeverity.HIGH,
        step_index=0,
        at=time.time(),
        reason=HOSTILE,
        task_id=HOSTILE_ID,
        attempt=0,
    )
    extra = [
        ViolationRecorded(violation=violation, action=ViolationAction.WARN),
        ApprovalRequested(
            approval_id="ap-evil",
            approval_kind=ApprovalKind.TASK,
            task_id=HOSTILE_ID,
            prompt=HOSTILE,
        ),
        ApprovalDecided(
            approval_id="ap-evil",
            decision=ApprovalDecision.REJECT,
            reason=HOSTILE,
            decided_by="mallory\x1b]0;pwned-title\x07",
        ),
    ]
    await runtime.store.writer.append_many(
        forged("evil-a", [HOSTILE_ID, "plain"], [HOSTILE], extra=extra)
    )
    await runtime.store.writer.append_many(
        forged("evil-b", [HOSTILE_ID, "plain"], ["[bold]x[/bold]\x1b[2J\x07"])
    )
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 30)) as pilot:
        app.push_screen(DiffScreen("evil-a", "evil-b"))
        await until(pilot, lambda: settled(app))
        screen = diff_screen(app)
        for line in screen.view.plain_lines():
            assert_terminal_safe(line, "the diff")
            assert "\n" not in line
        evil = next(line for line in screen.view.plain_lines()[1:] if "evil" in line)
        assert evil.startswith("≠ evil␇[bold]x[/bold]↵l… ")  # cut to its column
        assert '⇄ "[bold]x[/bold]␇"' in evil  # brackets read as text, the sequence gone
        drawn(app)  # checks the whole screen, governance and detail included
        shown = governance(screen, 0)
        assert_terminal_safe(shown, "violations and approvals")
        assert "▲ high pii_detected evil␇[bold]x[/bold]↵line2" in shown
        assert "✗ reject evil␇[bold]x[/bold]↵line2" in shown
        assert "by mallory" in shown
        assert_terminal_safe(screen.title_line.plain, "the diff's title")


async def test_a_run_that_does_not_exist_says_so(runtime: Runtime, client: EmbeddedRuntime) -> None:
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DiffScreen("no-such-run" + SHORT, "no-such-run-either"))
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, DiffScreen) and "not found" in app.screen.title_line.plain
            ),
        )
        assert_terminal_safe(diff_screen(app).title_line.plain, "the diff's title")
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)
