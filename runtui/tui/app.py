"""The Textual app: a thin shell that owns the client, the live feed and the status bar.

Screens do the work. The feed reads the runtime's bounded, lossy subscription in a worker and
hands the active screen one coalesced `EventsArrived` per tick (~75 ms), so a burst of ten
thousand events costs the UI one refresh, and a UI that falls behind gets a `lagged` flag and
re-reads from the store instead of slowing the runtime down.

`connected` follows the client's own flag when it has one (the remote client's event stream):
each tick compares the two and, on a change, tells every screen (`ConnectionChanged`) so the
status bar says "disconnected, retrying" or "runtime up" again; on the way back up the screens
also re-read (as after a lag), since reads may have failed while it was down.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import Notification, Notify, SeverityLevel

from runtui.api import Port
from runtui.domain.errors import RuntuiError
from runtui.domain.events import AttemptOutput, EventEnvelope
from runtui.domain.terminal_text import terminal_safe
from runtui.domain.views import ApprovalRow
from runtui.tui.approval_watch import (
    DEFAULT_ALERTS,
    ApprovalWatch,
    announcement,
    desktop_notification,
)
from runtui.tui.commands import RuntuiCommands
from runtui.tui.messages import (
    ApprovalsChanged,
    ConnectionChanged,
    EventsArrived,
    OpenRun,
    OpenTask,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

TICK_S = 0.075
#: Events after which what waits for a human may have changed.
APPROVAL_KINDS = frozenset({"approval.requested", "approval.decided", "run.terminated"})
MAX_BUFFERED = 20_000


class RuntuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "runtui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {RuntuiCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("i", "inbox", "Inbox", id="inbox"),
        Binding("y", "copy_id", "Copy id", id="copy", show=False, tooltip="copy the full id"),
    ]

    def __init__(
        self,
        client: Port,
        *,
        read_only: bool = False,
        demo_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        tick_s: float = TICK_S,
        alerts: tuple[str, ...] = DEFAULT_ALERTS,
    ) -> None:
        super().__init__()
        self.client = client
        self.read_only = read_only
        self.demo_path = demo_path
        self.clock = clock
        self.tick_s = tick_s
        self._buffer: list[EventEnvelope] = []
        self._lagged = False
        self.events_seen = 0
        self.connected = True
        self.last_workflow_path = ""  # the new-run dialog's last path, offered again
        self.alerts = alerts
        self.approvals = ApprovalWatch()  # what waits for a human, across runs
        self._toasts_shown: dict[tuple[str, str, str], float] = {}  # → when it goes
        self._approval_toasts: dict[str, Notification] = {}  # approval id → its toast

    def on_mount(self) -> None:
        from runtui.tui.screens.runs import RunsScreen

        self.push_screen(RunsScreen())
        self.run_worker(self._feed(), name="feed", group="feed", exclusive=True)
        self.set_interval(self.tick_s, self._deliver_events)
        self._look_at_approvals()
        self.set_interval(1.0, self._age_approvals)

    # --- approvals that find you ---------------------------------------------------------------

    def _look_at_approvals(self) -> None:
        """Re-read what waits for a human (one look at a time; a newer one replaces it)."""
        self.run_worker(self._reread_approvals(), group="approvals", exclusive=True)

    async def _reread_approvals(self) -> None:
        try:
            pending = await self.client.pending_approvals()
        except RuntuiError:  # the server is away: the last known count stays
            return
        new = self.approvals.update(pending)
        for screen in self.screen_stack:
            screen.post_message(ApprovalsChanged(self.approvals.pending))
        self._withdraw_decided_toasts()
        for approval in new:
            self._announce(approval)

    def _withdraw_decided_toasts(self) -> None:
        """A toast announcing an approval goes once it is decided (here or anywhere else): it
        no longer waits for anyone."""
        waiting = {a.approval_id for a in self.approvals.pending}
        for approval_id in [k for k in self._approval_toasts if k not in waiting]:
            toast = self._approval_toasts.pop(approval_id)
            self._toasts_shown.pop((toast.message, toast.title, toast.severity), None)
            if toast in self._notifications:
                self._unnotify(toast)

    def _age_approvals(self) -> None:
        from runtui.tui.screens.base import RuntuiScreen

        if self.approvals.pending and isinstance(self.screen, RuntuiScreen):
            self.screen.approvals_aged()

    def _announce(self, approval: ApprovalRow) -> None:
        """A new approval: said where the user looks, as they chose (`RUNTUI_APPROVAL_ALERT`)."""
        if "toast" in self.alerts:
            toast = self._toast(
                announcement(approval) + "\ni inbox · open the run to approve",
                title="approval waiting",
                severity="warning",
                timeout=10,
                markup=False,
            )
            if toast is not None:
                self._approval_toasts[approval.approval_id] = toast
        if "bell" in self.alerts:
            self.bell()
        for kind in ("osc9", "osc777"):
            if kind in self.alerts and self._driver is not None and not self.is_headless:
                inside_tmux = bool(os.environ.get("TMUX"))
                self._driver.write(desktop_notification(kind, approval, tmux=inside_tmux))

    # --- the live feed -----------------------------------------------------------------------

    async def _feed(self) -> None:
        async for delivery in self.client.subscribe():
            # not a list: a `Lagged` (or remote `Resync`) marker: events were missed, re-read
            if not isinstance(delivery, list) or len(self._buffer) > MAX_BUFFERED:
                self._buffer.clear()
                self._lagged = True
                continue
            self._buffer.extend(delivery)

    def _check_connection(self) -> None:
        connected = bool(getattr(self.client, "connected", True))
        if connected == self.connected:
            return
        self.connected = connected
        if connected:  # back: re-read what reads may have missed while it was away
            self._lagged = True
        for screen in self.screen_stack:
            screen.post_message(ConnectionChanged(connected))

    def _deliver_events(self) -> None:
        self._check_connection()
        if not self._buffer and not self._lagged:
            return
        events, self._buffer = self._buffer, []
        lagged, self._lagged = self._lagged, False
        self.events_seen += len(events)
        if lagged or any(e.kind in APPROVAL_KINDS for e in events):
            self._look_at_approvals()
        self.screen.post_message(EventsArrived(events, lagged))
        # Screens underneath are out of view (or dimmed under a dialog) and task output changes
        # none of their rows, so they get the rest only: a message that wakes a covered screen
        # makes Textual repaint the whole screen on top, which under a stream of output would be
        # every tick. A run screen catches up on its output when it is shown again.
        rest = [e for e in events if type(e.body) is not AttemptOutput]
        if rest or lagged:
            for screen in self.screen_stack[:-1]:
                screen.post_message(EventsArrived(rest, lagged))

    # --- calling the runtime -----------------------------------------------------------------

    async def attempt(self, action: Awaitable[T], success: str | None = None) -> T | None:
        """Await a runtime call; its refusal becomes a notification, never a traceback."""
        try:
            result = await action
        except RuntuiError as exc:
            self.notify(str(exc), title="runtui", severity="error", timeout=8, markup=False)
            return None
        except Exception as exc:  # a bug: logged in full, shown briefly
            log.exception("runtime call failed")
            self.notify(
                f"{type(exc).__name__}: {exc}",
                title="unexpected error",
                severity="error",
                markup=False,
            )
            return None
        if success:
            self.notify(success, timeout=4, markup=False)
        return result

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast, made terminal-safe. Those that quote a workflow's or the runtime's
        strings (an error, a task id) are sent with `markup=False`: brackets in them stay text.

        A toast that is already on screen is not stacked again: while a server is away, one
        key can fail several reads at once, and each would say the same thing."""
        self._toast(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _toast(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> Notification | None:
        """`notify`, returning the toast shown (None: the same one is on screen already), so
        that it can be taken back before its time."""
        message, title = terminal_safe(message), terminal_safe(title, one_line=True)
        now = time.monotonic()
        self._toasts_shown = {k: t for k, t in self._toasts_shown.items() if t > now}
        key = (message, title, severity)
        if key in self._toasts_shown:
            return None
        if timeout is None:
            timeout = self.NOTIFICATION_TIMEOUT
        self._toasts_shown[key] = now + timeout
        toast = Notification(message, title, severity, timeout, markup=markup)
        self.post_message(Notify(toast))
        return toast

    def refuse_read_only(self) -> bool:
        if self.read_only:
            self.notify("read-only mode: this action is disabled", severity="warning")
        return self.read_only

    # --- app-wide actions --------------------------------------------------------------------

    def action_help(self) -> None:
        from runtui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def action_quit(self) -> None:
        """Quit, but first say what happens to the runs this process drives and ask: they are
        handed over (another runtui or `serve` on the database takes them at once, or the next
        one to start does), and the attempts running here are stopped and run again there."""
        driven = await self.attempt(self.client.driven_here())
        if not driven:
            self.exit()
            return
        from runtui.tui.dialogs.confirm import ConfirmDialog

        running = sum(driven.values())
        runs = f"{len(driven)} live run{'s' if len(driven) != 1 else ''}"
        question = (
            f"This runtui drives {runs}. Quitting hands them over: another runtui or"
            " `runtui serve` on this database takes them at once, otherwise the next one to"
            " start does; until then they wait, nothing is lost."
        )
        if running:
            question += (
                f"\n{running} task attempt{'s' if running != 1 else ''} running here"
                f" {'is' if running == 1 else 'are'} stopped and run again as new attempts."
            )

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmDialog("Quit runtui?", question, yes="Quit"), answered)

    def action_copy_id(self) -> None:
        """Copy the full id of what the screen shows (the terminal's clipboard, OSC 52) and
        say it, so it can also be read off the toast where the terminal does not take OSC 52."""
        from runtui.tui.screens.base import RuntuiScreen

        screen = self.screen
        found = screen.copyable_id() if isinstance(screen, RuntuiScreen) else None
        if found is None:
            self.notify("nothing to copy here", severity="warning", timeout=3)
            return
        what, full = found
        self.copy_to_clipboard(full)
        self.notify(f"copied {what} id {full}", timeout=4, markup=False)

    def action_inbox(self) -> None:
        from runtui.tui.screens.approvals import ApprovalsScreen

        if not isinstance(self.screen, ApprovalsScreen):
            self.push_screen(ApprovalsScreen())

    def open_run(self, run_id: str) -> None:
        from runtui.tui.screens.run import RunScreen

        self.push_screen(RunScreen(run_id))

    def on_open_run(self, message: OpenRun) -> None:
        self.open_run(message.run_id)

    def on_open_task(self, message: OpenTask) -> None:
        from runtui.tui.screens.task import TaskScreen

        self.push_screen(TaskScreen(message.run_id, message.task_id))

    def get_client(self) -> Any:
        return self.client
