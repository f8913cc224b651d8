"""What every screen shares: the typed app, the status bar refresh, runtime calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from runtui.tui.app import RuntuiApp
    from runtui.tui.client import RuntimeClient


class RuntuiScreen(Screen[None]):
    @property
    def rt_app(self) -> RuntuiApp:
        from runtui.tui.app import RuntuiApp

        return cast(RuntuiApp, self.app)

    @property
    def client(self) -> RuntimeClient:
        return self.rt_app.client

    async def refresh_status_bar(self) -> None:
        from runtui.tui.widgets.status_bar import StatusBar

        bars = self.query(StatusBar)
        if not bars:
            return
        approvals = await self.client.pending_approvals()
        health = await self.client.health()
        bars.first().show(
            where=self.client.description,
            connected=self.rt_app.connected,
            approvals=len(approvals),
            health=health,
            read_only=self.rt_app.read_only,
        )
