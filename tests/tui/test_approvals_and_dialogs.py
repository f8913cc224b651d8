"""The approvals inbox, the reject / edits / rewind dialogs and the command palette, driven by
keys against the real runtime on a temp database."""

from __future__ import annotations

import io
from typing import Any

import anyio
import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Button, DataTable, Input, OptionList, Static

from runtui.actors.runtime import Runtime
from runtui.domain.status import RunStatus
from runtui.domain.termination import RunTerminationReason
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.dialogs.edits import EditsDialog
from runtui.tui.dialogs.reject import RejectDialog
from runtui.tui.dialogs.rewind import RewindDialog
from runtui.tui.screens.approvals import ApprovalsScreen
from tests.actors.conftest import finish, next_approval, wf
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio

GATED = """
name = "{name}"
[[tasks]]
id = "build"
kind = "noop"
[[tasks]]
id = "ship-gate"
kind = "gate"
prompt = "Ship {name}?"
needs = ["build"]
[[tasks]]
id = "ship"
kind = "noop"
needs = ["ship-gate"]
"""
PLAN = """
name = "planned"
hitl = "approve_plan"
[[tasks]]
id = "a"
kind = "noop"
[[tasks]]
id = "b"
kind = "noop"
needs = ["a"]
"""
THREE_WAVES = """
name = "three-waves"
[[tasks]]
id = "fetch"
kind = "noop"
[[tasks]]
id = "lint"
kind = "noop"
[[tasks]]
id = "build"
kind = "noop"
needs = ["fetch", "lint"]
[[tasks]]
id = "ship"
kind = "noop"
needs = ["build"]
"""


def text_of(widget: Static) -> str:
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def inbox_keys(app: RuntuiApp) -> list[str]:
    if not isinstance(app.screen, ApprovalsScreen):
        return []
    table = app.screen.query_one("#approvals", DataTable)
    return [str(row.key.value) for row in table.ordered_rows]


def notes_of(app: RuntuiApp) -> list[str]:
    """Record every notification the app shows from now on."""
    notes: list[str] = []
    show = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notes.append(message)
        show(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


async def gated_run(runtime: Runtime, name: str) -> tuple[str, str]:
    run_id = await runtime.submit(wf(GATED.format(name=name)))
    return run_id, (await next_approval(runtime, run_id)).approval_id


async def pending_ids(runtime: Runtime) -> list[str]:
    return [a.approval_id for a in await runtime.reader.pending_approvals()]


async def test_inbox_lists_pending_approvals_oldest_first_and_approves(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    first, first_approval = await gated_run(runtime, "older")
    second, second_approval = await gated_run(runtime, "newer")
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        await until(pilot, lambda: len(inbox_keys(app)) == 2)
        assert inbox_keys(app) == [first_approval, second_approval]
        table = app.screen.query_one("#approvals", DataTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == "⏸"
        assert row[2].startswith("older ")
        assert (row[3], row[4]) == ("task gate", "Ship older?")
        assert row[5] == "ship, ship-gate"
        assert "Approvals waiting (2)" in text_of(app.screen.query_one("#approvals-title", Static))

        await pilot.press("a")  # the highlighted (oldest) one
        with anyio.fail_after(20):
            run = await runtime.wait(first)
        assert run.status is RunStatus.SUCCEEDED
        await until(pilot, lambda: inbox_keys(app) == [second_approval])
        assert await pending_ids(runtime) == [second_approval]
        assert (await runtime.reader.get_run(second)).status is RunStatus.AWAITING_APPROVAL

        await pilot.press("escape")
        assert not isinstance(app.screen, ApprovalsScreen)


async def test_reject_needs_a_reason_and_fails_the_run(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id, approval_id = await gated_run(runtime, "rejectme")
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        await until(pilot, lambda: inbox_keys(app) == [approval_id])
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectDialog) and app.screen.is_mounted)
        dialog = app.screen
        assert dialog.query_one("#reject", Button).disabled
        await pilot.press("enter")  # blank: refused, the dialog stays
        await pilot.pause()
        assert app.screen is dialog
        assert "reason is required" in text_of(dialog.query_one("#problem", Static))
        assert await pending_ids(runtime) == [approval_id]

        await pilot.press(*"not today")
        assert not dialog.query_one("#reject", Button).disabled
        await pilot.press("enter")
        run = await finish(runtime, run_id, limit_s=20)
        assert run.status is RunStatus.FAILED
        assert run.termination_reason is RunTerminationReason.APPROVAL_REJECTED
        assert run.error_message is not None
        assert "not today" in run.error_message
        await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen) and not inbox_keys(app))
        assert "No approvals waiting." in text_of(app.screen.query_one("#approvals-empty", Static))


async def test_reject_dialog_escape_decides_nothing(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    _run_id, approval_id = await gated_run(runtime, "kept")
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        await until(pilot, lambda: inbox_keys(app) == [approval_id])
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectDialog) and app.screen.is_mounted)
        await pilot.press(*"maybe", "escape")
        await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen))
        assert await pending_ids(runtime) == [approval_id]


async def test_approve_plan_with_edits_skips_a_task(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(PLAN))
    approval = await next_approval(runtime, run_id)
    assert approval.kind.value == "plan"
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        await until(pilot, lambda: inbox_keys(app) == [approval.approval_id])
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditsDialog) and app.screen.is_mounted)
        dialog = app.screen
        await pilot.press("z", "enter")  # not a task of this plan: refused inline
        await pilot.pause()
        assert app.screen is dialog
        assert "not in this plan: z" in text_of(dialog.query_one("#problem", Static))
        await pilot.press("backspace", "b", "enter")
        run = await finish(runtime, run_id, limit_s=20)
    assert run.status is RunStatus.SUCCEEDED
    status = {t.task_id: t.status for t in await runtime.reader.tasks_of(run_id)}
    assert status == {"a": "done", "b": "skipped"}
    (decided,) = await runtime.reader.approvals_of(run_id)
    assert decided.edits == {"skip": ["b"]}


async def test_edits_on_a_task_gate_only_explain(runtime: Runtime, client: EmbeddedRuntime) -> None:
    _run_id, approval_id = await gated_run(runtime, "gate")
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = notes_of(app)
        await pilot.press("i")
        await until(pilot, lambda: inbox_keys(app) == [approval_id])
        await pilot.press("e")
        await until(pilot, lambda: bool(notes))
        assert "edits apply to plan approvals" in notes[0]
        assert isinstance(app.screen, ApprovalsScreen)
    assert await pending_ids(runtime) == [approval_id]


async def test_read_only_refuses_and_hides_deciding_keys(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    _run_id, approval_id = await gated_run(runtime, "watched")
    app = RuntuiApp(client, demo_path=None, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = notes_of(app)
        await pilot.press("i")
        await until(pilot, lambda: inbox_keys(app) == [approval_id])
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert {"approve", "reject", "approve_with_edits"}.isdisjoint(shown)
        assert "open" in shown
        await pilot.press("a")
        await until(pilot, lambda: bool(notes))
        assert "read-only" in notes[0]
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ApprovalsScreen)  # no reject dialog
    assert await pending_ids(runtime) == [approval_id]


async def test_enter_opens_the_run_of_the_highlighted_approval(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id, approval_id = await gated_run(runtime, "openme")
    app = RuntuiApp(client, demo_path=None)
    opened: list[str] = []
    app.open_run = opened.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        await until(pilot, lambda: inbox_keys(app) == [approval_id])
        await pilot.press("enter")
        await until(pilot, lambda: bool(opened))
    assert opened == [run_id]


async def test_rewind_dialog_shows_the_dry_run_and_forks(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    parent = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, parent)
    before = await runtime.reader.events_after(parent, 0, limit=10_000)
    results: list[str | None] = []
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(RewindDialog(parent, 3), results.append)
        await until(pilot, lambda: isinstance(app.screen, RewindDialog) and app.screen.is_mounted)
        dialog = app.screen
        assert isinstance(dialog, RewindDialog)
        wave = dialog.query_one("#wave", Input)
        await until(pilot, lambda: wave.value == "1")  # every wave done: the one before last
        await until(pilot, lambda: "re-executed" in text_of(dialog.query_one("#plan", Static)))

        await pilot.press("backspace", "7")  # out of range: an inline message, no dry-run
        await until(pilot, lambda: "waves 0..2" in text_of(dialog.query_one("#problem", Static)))
        assert dialog.query_one("#rewind", Button).disabled

        await pilot.press("backspace", "0")
        await until(pilot, lambda: "wave 1: build" in text_of(dialog.query_one("#plan", Static)))
        plan = text_of(dialog.query_one("#plan", Static))
        assert "kept (results carried over):" in plan
        assert "wave 0: fetch, lint" in plan.split("re-executed:")[0]
        assert "wave 1: build" in plan.split("re-executed:")[1]
        assert "wave 2: ship" in plan.split("re-executed:")[1]
        assert "a new run is forked from it" in text_of(dialog.query_one("#fork-note", Static))
        assert len((await runtime.reader.list_runs()).runs) == 1  # the dry-run changes nothing

        await pilot.press("enter")
        await until(pilot, lambda: bool(results))
    (new_run_id,) = results
    assert new_run_id is not None
    child = await finish(runtime, new_run_id, limit_s=20)
    assert child.status is RunStatus.SUCCEEDED
    assert (child.parent_run_id, child.rewound_from_wave) == (parent, 0)
    assert await runtime.reader.events_after(parent, 0, limit=10_000) == before


async def test_rewind_dialog_escape_creates_nothing(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    parent = await runtime.submit(wf(THREE_WAVES))
    await finish(runtime, parent)
    results: list[str | None] = []
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RewindDialog(parent, 3), results.append)
        await until(pilot, lambda: isinstance(app.screen, RewindDialog) and app.screen.is_mounted)
        dialog = app.screen
        await until(pilot, lambda: "re-executed" in text_of(dialog.query_one("#plan", Static)))
        await pilot.press("escape")
        await until(pilot, lambda: bool(results))
    assert results == [None]
    assert [r.run_id for r in (await runtime.reader.list_runs()).runs] == [parent]


async def test_rewind_of_an_active_run_asks_before_cancelling_it(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id, _approval_id = await gated_run(runtime, "active")
    results: list[str | None] = []
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(RewindDialog(run_id, 3), results.append)
        await until(pilot, lambda: isinstance(app.screen, RewindDialog) and app.screen.is_mounted)
        dialog = app.screen
        note = dialog.query_one("#active-note", Static)
        await until(pilot, lambda: "it will be cancelled first" in text_of(note))
        await until(pilot, lambda: not dialog.query_one("#rewind", Button).disabled)
        assert dialog.query_one("#wave", Input).value == "0"  # wave 0 done, wave 1 waiting
        await pilot.press("enter")  # the first confirmation only asks
        await until(pilot, lambda: "to confirm" in text_of(note))
        assert not results
        assert not (await runtime.reader.get_run(run_id)).status.is_terminal
        await pilot.press("enter")  # confirmed: cancel, then fork
        await until(pilot, lambda: bool(results), rounds=1000)
    (new_run_id,) = results
    assert new_run_id is not None
    assert (await runtime.reader.get_run(run_id)).status is RunStatus.CANCELLED
    assert (await runtime.reader.get_run(new_run_id)).parent_run_id == run_id
    await runtime.cancel(new_run_id)


async def test_palette_lists_app_and_screen_commands(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        options = app.screen.query_one(OptionList)

        def prompts() -> list[str]:
            return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

        await until(pilot, lambda: any("Open approvals inbox" in p for p in prompts()))
        listed = "\n".join(prompts())
        for name in ("New run", "Help", "Quit", "Toggle dark/light theme", "Filter"):
            assert name in listed
        await pilot.press(*"approvals inbox")
        await until(pilot, lambda: any("Open approvals inbox" in p for p in prompts()))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen))
        assert "No approvals waiting." in text_of(app.screen.query_one("#approvals-empty", Static))
