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
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel

from runtui.api import Port
from runtui.domain.errors import RuntuiError
from runtui.domain.events import AttemptOutput, EventEnvelope
from runtui.domain.terminal_text import terminal_safe
from runtui.tui.commands import RuntuiCommands
from runtui.tui.messages import ConnectionChanged, EventsArrived, OpenTask

log = logging.getLogger(__name__)

T = TypeVar("T")

TICK_S = 0.075
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
    ]

    def __init__(
        self,
        client: Port,
        *,
        read_only: bool = False,
        demo_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        tick_s: float = TICK_S,
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

    def on_mount(self) -> None:
        from runtui.tui.screens.runs import RunsScreen

        self.push_screen(RunsScreen())
        self.run_worker(self._feed(), name="feed", group="feed", exclusive=True)
        self.set_interval(self.tick_s, self._deliver_events)

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
        strings (an error, a task id) are sent with `markup=False`: brackets in them stay text."""
        super().notify(
            terminal_safe(message),
            title=terminal_safe(title, one_line=True),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def refuse_read_only(self) -> bool:
        if self.read_only:
            self.notify("read-only mode: this action is disabled", severity="warning")
        return self.read_only

    # --- app-wide actions --------------------------------------------------------------------

    def action_help(self) -> None:
        from runtui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_inbox(self) -> None:
        from runtui.tui.screens.approvals import ApprovalsScreen

        if not isinstance(self.screen, ApprovalsScreen):
            self.push_screen(ApprovalsScreen())

    def open_run(self, run_id: str) -> None:
        from runtui.tui.screens.run import RunScreen

        self.push_screen(RunScreen(run_id))

    def on_open_task(self, message: OpenTask) -> None:
        from runtui.tui.screens.task import TaskScreen

        self.push_screen(TaskScreen(message.run_id, message.task_id))

    def get_client(self) -> Any:
        return self.client
