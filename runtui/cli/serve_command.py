"""`runtui serve`: the runtime and its HTTP API, headless, until SIGTERM or SIGINT."""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

import click

from runtui.cli import Context, UsageProblem, _run, main, pass_ctx
from runtui.cli.driving import echo_err, open_runtime
from runtui.cli.render import fmt_took
from runtui.storage import shown

if TYPE_CHECKING:
    from runtui.domain.events import EventEnvelope
    from runtui.embedded import EmbeddedRuntime
    from runtui.server.api_process import ApiProcess
    from runtui.server.serve import ApiServer


def _reach_hint(host: str, port: int) -> str:
    """On every address, the URL others can use (this machine's name, not 0.0.0.0)."""
    import socket

    from runtui.server.serve import WILDCARD

    if host not in WILDCARD:
        return ""
    return f" (e.g. runtui attach http://{socket.gethostname()}:{port})"


def _log(text: str) -> None:
    """A line of the serve log (stderr): terminal-safe like every human line (`echo`)."""
    echo_err(f"{time.strftime('%H:%M:%S')} {text}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Required to listen on an address other than loopback (prints a warning).",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests whose Host header is NAME (repeatable; e.g. the DNS name"
    " operators use). Adds to RUNTUI_ALLOWED_HOSTS.",
)
@click.option("--no-api", is_flag=True, help="Run the runtime without the HTTP API.")
@click.option(
    "--in-process-api",
    is_flag=True,
    help="Serve the API from the runtime's own process (one process fewer; event streams"
    " then share its CPU).",
)
@pass_ctx
def serve_cmd(
    c: Context,
    host: str,
    port: int,
    allow_remote: bool,
    allow_hosts: tuple[str, ...],
    no_api: bool,
    in_process_api: bool,
) -> None:
    """Headless: drive runs, serve the HTTP API, until SIGTERM or SIGINT; beside other nodes
    on the same database, taking over the runs of any that stop.

    Resumes interrupted runs at start, logs one line per run that finishes (stderr), and on a
    signal stops accepting connections, tells event-stream clients `shutdown`, and drains:
    waits up to ROK_GRACE_PERIOD_MS for running attempts to end, then stops. Runs still active
    stay live and resume at the next start. A second signal stops at once. Every endpoint but
    /healthz needs the bearer token kept (0600) in the user config dir (or RUNTUI_TOKEN).
    The API is served by a second process (event streams read the database there, off the
    runtime's CPU); it is restarted if it dies.
    """
    import signal

    from runtui.config import host_names

    try:
        extra_hosts = host_names(allow_hosts)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-host") from None
    from runtui.server.serve import LOOPBACK

    loopback = host in LOOPBACK
    if not no_api and not loopback and not allow_remote:
        raise click.UsageError(f"--host {host} is not loopback; add --allow-remote to mean it")

    async def go() -> None:
        import anyio

        from runtui.domain.status import RunStatus

        waits = RunStatus.AWAITING_APPROVAL
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with (
                open_runtime(c, resume=False, adopt=True) as here,
                contextlib.AsyncExitStack() as stack,
            ):
                api: ApiServer | ApiProcess | None = None
                if not no_api:
                    from runtui.server.api_process import ApiProcess, api_process
                    from runtui.server.serve import ServerStartError, http_api

                    try:
                        if in_process_api:
                            api = await stack.enter_async_context(
                                http_api(here, host=host, port=port, allow_hosts=extra_hosts)
                            )
                        else:
                            api = await stack.enter_async_context(
                                api_process(
                                    here, host=host, port=port, say=_log, allow_hosts=extra_hosts
                                )
                            )
                    except ServerStartError as exc:
                        raise UsageProblem(str(exc)) from None
                    await here.announce(url=api.url)
                    if not loopback:
                        _log(
                            f"warning: listening on {host}, reachable from other machines"
                            + _reach_hint(host, api.port)
                        )
                    where = f"; API process pid {api.pid}" if isinstance(api, ApiProcess) else ""
                    _log(f"API on {api.url} (bearer token: {_token_hint()}{where})")
                    if warning := _exposed_token():
                        _log(warning)
                start = await here.position()  # runs resumed now are logged when they finish
                resumed = await here.resume_interrupted()
                _log(
                    f"runtui serve: pid {os.getpid()} drives runs of {shown(c.db)}; took over"
                    f" {len(resumed)} run(s) nobody drove"
                )
                waiting = [r for r in await here.live_runs() if r.status is waits]
                if waiting:
                    _log(
                        f"{len(waiting)} run(s) wait for an approval"
                        f" (`{c.command('approvals')}` lists them)"
                    )
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_log_runs, here, start)
                    async for signum in signals:
                        name = signal.Signals(signum).name
                        break
                    else:  # pragma: no cover - the receiver never ends by itself
                        name = "end of signals"
                    grace = c.settings.rok_grace_period_ms / 1000
                    if api is not None:
                        api.stop_accepting()
                    _log(f"{name}: draining (up to {grace:g}s for running attempts)")
                    with anyio.move_on_after(grace) as timer:
                        async with anyio.create_task_group() as drain:
                            drain.start_soon(_until_drained, here, drain.cancel_scope)
                            drain.start_soon(_second_signal, signals, drain.cancel_scope)
                    tg.cancel_scope.cancel()
                live = await here.live_runs()
                if timer.cancel_called:
                    _log("grace period over; stopping what still runs")
                _log(
                    f"stopped; {len(live)} live run(s) resume at the next start"
                    if live
                    else "stopped"
                )

    _run(go)


def _token_hint() -> str:
    from runtui.server.security import token_path

    return "RUNTUI_TOKEN" if os.environ.get("RUNTUI_TOKEN") else str(token_path())


def _exposed_token() -> str | None:
    """The warning for a token file others may read, when the server took its token from it."""
    from runtui.client.token import exposed_token_warning
    from runtui.server.security import token_path

    return None if os.environ.get("RUNTUI_TOKEN") else exposed_token_warning(token_path())


async def _until_drained(here: EmbeddedRuntime, scope: Any) -> None:
    await here.until_no_attempt_runs()
    scope.cancel()


async def _second_signal(signals: Any, scope: Any) -> None:
    async for signum in signals:
        import signal

        _log(f"{signal.Signals(signum).name} again: stopping now")
        scope.cancel()
        return


async def _log_runs(here: EmbeddedRuntime, start: int) -> None:
    """One stderr line per run that finishes, and one per approval it starts waiting for;
    the workflow's strings in it (name, error, prompt) each made one terminal-safe line."""
    from runtui.domain.events import ApprovalRequested, RunStatusChanged
    from runtui.domain.terminal_text import safe_fields

    async def note(env: EventEnvelope) -> None:
        body = env.body
        if isinstance(body, RunStatusChanged) and body.status.is_terminal:
            run = safe_fields(await here.get_run(env.run_id))
            text = f"run {run.run_id} ({run.workflow}) {run.status.value}"
            text += f" after {fmt_took(run.created_at, run.ended_at)}"
            if run.termination_reason is not None and run.status.value != "succeeded":
                text += f" · {run.termination_reason.value}"
                if run.error_message:
                    text += f": {run.error_message}"
            _log(text)
        elif isinstance(body, ApprovalRequested):
            body, run_id = safe_fields(body), safe_fields(env.run_id)
            _log(
                f"run {run_id} waits for approval {body.approval_id}"
                f"{' (' + body.task_id + ')' if body.task_id else ''}: {body.prompt}"
            )

    async for env in here.events(after=start):
        await note(env)
