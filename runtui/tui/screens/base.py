"""What every screen shares: the typed app, the status bar refresh, runtime calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

from runtui.domain.errors import RuntuiError
from runtui.tui.messages import ConnectionChanged

if TYPE_CHECKING:
    from runtui.api import Port
    from runtui.domain.health import WorkflowHealth
    from runtui.tui.app import RuntuiApp


class RuntuiScreen(Screen[None]):
    _status_approvals = 0
    _status_health: list[WorkflowHealth] | None = None

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
            try:
                self._status_approvals = len(await self.client.pending_approvals())
                self._status_health = await self.client.health()
            except RuntuiError:  # the server went away meanwhile: show what was last known
                pass
        bars.first().show(
            where=self.client.description,
            connected=self.rt_app.connected,
            approvals=self._status_approvals,
            health=self._status_health or [],
            read_only=self.rt_app.read_only,
        )

    def copyable_id(self) -> tuple[str, str] | None:
        """What `y` copies on this screen: (what it is, the full id), or None."""
        return None

    async def on_connection_changed(self, message: ConnectionChanged) -> None:
        await self.refresh_status_bar()
