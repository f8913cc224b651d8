"""What every screen shares: the typed app, the status bar refresh, runtime calls."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.screen import Screen

from runtui.domain.errors import RuntuiError
from runtui.tui.messages import ApprovalsChanged, ConnectionChanged

if TYPE_CHECKING:
    from runtui.api import Port
    from runtui.domain.health import WorkflowHealth
    from runtui.tui.app import RuntuiApp


class RuntuiScreen(Screen[None]):
    #: First in every footer, so that help and the inbox stay in view at 80 columns (the app's
    #: own bindings come last in a footer); the same actions as the app's keys.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", id="help", key_display="?"),
        Binding("i", "app.inbox", "Inbox", id="inbox"),
    ]
    _status_health: list[WorkflowHealth] | None = None
    HELP_TITLE = ""  # what `?` calls the screen (a title, not a class name)

    @property
    def rt_app(self) -> RuntuiApp:
        from runtui.tui.app import RuntuiApp

        return cast(RuntuiApp, self.app)

    @property
    def client(self) -> Port:
        return self.rt_app.client

    async def refresh_status_bar(self) -> None:
        from runtui.tui.widgets.status_bar import StatusBar

        bars = self.query(StatusBar)
        if not bars:
            return
        if self.rt_app.connected:
            with contextlib.suppress(RuntuiError):  # the server went away: keep the last known
                self._status_health = await self.client.health()
        self._show_status_bar()

    def _show_status_bar(self) -> None:
        from runtui.tui.widgets.status_bar import StatusBar

        for bar in self.query(StatusBar):
            bar.show(
                where=self.client.description,
                connected=self.rt_app.connected,
                approvals=self.rt_app.approvals,
                now=self.rt_app.clock(),
                health=self._status_health or [],
                read_only=self.rt_app.read_only,
            )

    def approvals_aged(self) -> None:
        """A second passed with approvals waiting: their age, where shown, moves on."""
        self._show_status_bar()

    async def on_approvals_changed(self, message: ApprovalsChanged) -> None:
        self._show_status_bar()

    def copyable_id(self) -> tuple[str, str] | None:
        """What `y` copies on this screen: (what it is, the full id), or None."""
        return None

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        await self.refresh_status_bar()
