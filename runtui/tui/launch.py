"""`runtui` with no arguments: the runtime and the Textual app on one event loop; and
`runtui attach`: the same app on a server's HTTP API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtui.demo import demo_workflow_path
from runtui.embedded import EmbeddedRuntime
from runtui.gc_tuning import tune_gc
from runtui.logs import log_to_file
from runtui.tui.app import RuntuiApp
from runtui.tui.approval_watch import DEFAULT_ALERTS

if TYPE_CHECKING:
    from runtui.client.http import HttpClient


async def run_embedded(settings: Any, *, read_only: bool = False) -> None:
    """Own the database, resume interrupted runs, and show them until the user quits.

    Read-only runs no runtime at all: it reads the database (which must exist) and follows
    what its owner, if any, commits; it never resumes or executes a run, and never writes."""
    log_to_file(settings.log_file, settings.log_level.value)
    async with EmbeddedRuntime.open(settings, read_only=read_only) as runtime:
        app = RuntuiApp(
            runtime,
            read_only=read_only,
            demo_path=demo_workflow_path(),
            alerts=settings.approval_alert,
        )
        tune_gc()
        await app.run_async()


async def run_attached(
    client: HttpClient, *, read_only: bool = False, alerts: tuple[str, ...] = DEFAULT_ALERTS
) -> None:
    """Show the runs of the server behind `client` until the user quits; the server keeps
    running them. New runs (`n`) send the chosen file's text to the server."""
    app = RuntuiApp(client, read_only=read_only, demo_path=demo_workflow_path(), alerts=alerts)
    tune_gc()
    await app.run_async()
