"""`runtui` with no arguments: the runtime and the Textual app on one event loop."""

from __future__ import annotations

from typing import Any

from actors.runtime import Runtime
from runtui.demo import demo_workflow_path
from runtui.logs import log_to_file
from runtui.tui.app import RuntuiApp
from runtui.tui.client import EmbeddedClient


async def run_embedded(settings: Any, *, read_only: bool = False) -> None:
    """Own the database, resume interrupted runs, and show them until the user quits."""
    log_to_file(settings.log_file, settings.log_level.value)
    async with Runtime.open(settings) as runtime:
        app = RuntuiApp(
            EmbeddedClient(runtime), read_only=read_only, demo_path=demo_workflow_path()
        )
        await app.run_async()
