"""Approvals that find you: a count and the oldest's age on every screen, a toast and the bell
when a new one arrives (not for those already waiting when the UI opened), a desktop
notification where asked for, and approve with a comment recorded with the decision."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from runtui.actors.runtime import Runtime
from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.views import ApprovalRow
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.approval_watch import ApprovalWatch, desktop_notification
from runtui.tui.dialogs.reject import ApproveDialog
from runtui.tui.screens.approvals import ApprovalsScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.widgets.run_header import RunHeader
from tests.actors.conftest import finish, next_approval, wf
from tests.tui.conftest import port_for, until
from tests.tui.test_run_screen import GATED, open_run

pytestmark = pytest.mark.anyio

HOSTILE = "Ship?\x1b]0;pwned\x07\x1b[2J;\u202e evil"


def approval(approval_id: str, at: float, prompt: str = "Ship?") -> ApprovalRow:
    return ApprovalRow(
        approval_id=approval_id,
        run_id="019cf00000015eed0001",
        kind=ApprovalKind.TASK,
        task_id="ship-gate",
        prompt=prompt,
        requested_at=at,
        timeout_s=None,
        default_action=ApprovalDecision.REJECT,
        unblocks=[],
        decision=None,
        reason=None,
        decided_by=None,
        decided_at=None,
        edits=None,
    )


def test_the_first_look_rings_nothing_later_ones_ring_what_is_new() -> None:
    watch = ApprovalWatch()
    assert watch.update([approval("a1", 100.0)]) == []  # waiting before the UI opened
    assert watch.summary(352.0) == "⏸ 1 approval waiting · oldest 4m12s"
    new = watch.update([approval("a2", 300.0), approval("a1", 100.0)])
    assert [a.approval_id for a in new] == ["a2"]
    assert watch.summary(352.0, narrow=True) == "⏸ 2 waiting · oldest 4m12s"
    assert watch.update([approval("a2", 300.0)]) == []  # a1 decided: nothing new
    assert watch.update([]) == []
    assert watch.summary(352.0) == ""


def test_a_desktop_notification_carries_nothing_a_terminal_obeys() -> None:
    for kind in ("osc9", "osc777"):
        sequence = desktop_notification(kind, approval("a1", 0.0, HOSTILE))
        assert sequence.startswith("\x1b]")
        assert sequence.endswith("\x07")
        inner = sequence[2:-1]
        for control in ("\x1b", "\x07", "\u202e"):
            assert control not in inner
        assert "pwned" not in inner  # the title escape went whole
        assert "Ship?" in inner
    assert desktop_notification("osc777", approval("a1", 0.0, HOSTILE)).count(";") == 3


def test_inside_tmux_the_notification_is_wrapped_for_its_passthrough() -> None:
    for kind in ("osc9", "osc777"):
        plain = desktop_notification(kind, approval("a1", 0.0, HOSTILE))
        wrapped = desktop_notification(kind, approval("a1", 0.0, HOSTILE), tmux=True)
        assert wrapped.startswith("\x1bPtmux;\x1b\x1b]")
        assert wrapped.endswith("\x07\x1b\\")
        inner = wrapped[len("\x1bPtmux;") : -2]
        assert inner.replace("\x1b\x1b", "\x1b") == plain  # every ESC doubled, nothing else
        assert "\x1b\\" not in inner  # nothing in it ends the wrapper early


async def test_a_new_approval_toasts_rings_and_is_counted_on_every_screen(
    runtime: Runtime, client: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = await runtime.submit(wf(GATED))
    await next_approval(runtime, earlier)  # waiting before the UI opens: counted, not rung
    app = RuntuiApp(client, demo_path=None)
    bells: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        bar = app.screen.query_one("#status-bar", Static)
        await until(pilot, lambda: "⏸ 1 approval waiting · oldest" in str(bar.render()))
        assert bells == []
        assert not any("approval waiting" in n.title for n in app._notifications)
        screen = await open_run(app, pilot, earlier)
        later = await runtime.submit(wf(GATED.replace('"gated"', '"second"')))
        await until(pilot, lambda: "⏸ 2 waiting · oldest" in screen.header.plain)
        await until(pilot, lambda: bells == [1])
        (toast,) = [n for n in app._notifications if n.title == "approval waiting"]
        assert f"…{later[-6:]}" in toast.message
        assert "Publish?" in toast.message
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen))
        bar = app.screen.query_one("#status-bar", Static)
        await until(pilot, lambda: "⏸ 2 approvals waiting" in str(bar.render()))


@pytest.mark.parametrize("mode", ["embedded", "attached"])
async def test_an_approval_s_toast_goes_once_it_is_decided(runtime: Runtime, mode: str) -> None:
    async with port_for(mode, runtime) as client:
        app = RuntuiApp(client, demo_path=None)
        await toast_goes_once_decided(app, runtime)


async def toast_goes_once_decided(app: RuntuiApp, runtime: Runtime) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        first = await runtime.submit(wf(GATED))
        second = await runtime.submit(wf(GATED.replace('"gated"', '"second"')))

        def toasts() -> list[str]:
            return sorted(n.message for n in app._notifications if n.title == "approval waiting")

        await until(pilot, lambda: len(toasts()) == 2)
        app.notify("unrelated news", timeout=600)
        # decided elsewhere (as by `runtui approve` in a shell): its toast goes, the other stays
        await runtime.approve((await next_approval(runtime, first)).approval_id)
        await until(pilot, lambda: len(toasts()) == 1)
        assert f"…{second[-6:]}" in toasts()[0]
        # decided on its run screen: that toast goes too
        await open_run(app, pilot, second)
        await pilot.press("a")
        await until(pilot, lambda: toasts() == [])
        assert any(n.message == "unrelated news" for n in app._notifications)


async def test_approve_with_a_comment_records_it_and_the_log_shows_who_and_why(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    run_id = await runtime.submit(wf(GATED))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(app, pilot, run_id)
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, ApproveDialog))
        await pilot.press(*"checked the diff")
        await pilot.press("enter")
        run = await finish(runtime, run_id)
        assert run.status.value == "succeeded"
        (decided,) = await runtime.reader.approvals_of(run_id)
        assert (decided.reason, decided.decided_by) == ("checked the diff", client.user)
        await until(
            pilot,
            lambda: any(
                f"approve by {client.user}: checked the diff" in line
                for line in screen.log_view.plain_lines()
            ),
        )
        assert isinstance(app.screen, RunScreen)


async def test_the_approval_banner_wraps_at_80_columns(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    long_prompt = "Publish the quarterly report to every customer mailing list? " * 2
    run_id = await runtime.submit(wf(GATED.replace('"Publish?"', f'"{long_prompt.strip()}"')))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(app, pilot, run_id)
        line = screen.query_one("#approval-line", Static)
        assert line.region.height >= 2  # wrapped, not cut
        assert screen.query_one(RunHeader).approval.endswith("mailing list?")
