"""`runtui` with no arguments: the runtime and the Textual app on one event loop; and
`runtui attach`: the same app on a server's HTTP API."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from actors.runtime import Runtime
from runtui.demo import demo_workflow_path
from runtui.logs import log_to_file
from runtui.tui.app import RuntuiApp
from runtui.tui.client import EmbeddedClient

if TYPE_CHECKING:
    from runtui.client.http import HttpClient


def tune_gc() -> None:
    """Fewer and shorter garbage collections while the UI runs (bench/tui_latency.py).

    What is alive once everything is loaded (modules, the runtime, the app) is frozen out of
    the collector's scans, and the youngest generation is collected every 10k allocations
    instead of 700: under a live log of 10k events/s the defaults cost full collections of
    100+ ms, each one a frozen frame and a late key.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def run_embedded(settings: Any, *, read_only: bool = False) -> None:
    """Own the database, resume interrupted runs, and show them until the user quits."""
    log_to_file(settings.log_file, settings.log_level.value)
    async with Runtime.open(settings) as runtime:
        app = RuntuiApp(
            EmbeddedClient(runtime), read_only=read_only, demo_path=demo_workflow_path()
        )
        tune_gc()
        await app.run_async()


async def run_attached(client: HttpClient, *, read_only: bool = False) -> None:
    """Show the runs of the server behind `client` until the user quits; the server keeps
    running them. New runs (`n`) send the chosen file's text to the server."""
    app = RuntuiApp(client, read_only=read_only, demo_path=demo_workflow_path())
    tune_gc()
    await app.run_async()
