"""Commands through a runtui server's HTTP API instead of an embedded runtime.

Two ways to get here. `--server URL` (or `RUNTUI_SERVER`) sends every command that can to
that server, reads included. Without it, a runtime command (`run`, `approve`, `reject`,
`rewind`, `cancel`, `resume`) on a database that a `runtui serve` owns finds the server's URL
in the database's lock file and goes through its API rather than failing with exit 4; read
commands keep reading the database directly.

Through the API the server drives the run; the command sends its verb, then watches the run's
event stream (reconnecting, with `Last-Event-ID`) until the run finishes or waits for a human,
and reports it exactly as the embedded command does: same lines, same `--follow` output, same
exit codes (0 succeeded, 5 failed, 6 cancelled, 7 waiting). A server that cannot be reached is
exit 1 naming the URL; a refused token exit 2.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import click

from runtui.cli import EXIT_OK, Context, UsageProblem
from runtui.cli.render import echo, one_line
from runtui.client.errors import ConflictError, RemoteNotFoundError
from runtui.client.http import HttpClient, server_url
from runtui.client.token import read_token, token_file
from runtui.domain.events import EventEnvelope, RunStatusChanged
from runtui.domain.status import RunStatus

if TYPE_CHECKING:
    from runtui.domain.views import ApprovalRow

#: How long a command watching a run waits for a server that went away before giving up.
GIVE_UP_S = 30.0
#: A run that waits for a human has settled once nothing was committed for this long (the
#: remote twin of the embedded `drive`'s quiet moment).
SETTLE_S = 0.3
BUSY_TASKS = frozenset({"running", "waiting_external"})


def token_for(given: str | None) -> str:
    token = (given or "").strip() or read_token(warn=lambda text: echo(f"runtui: {text}", err=True))
    if not token:
        raise UsageProblem(
            "no token for the server: set RUNTUI_TOKEN (attach also takes --token);"
            f" `runtui serve` keeps it in {token_file()} on its machine"
        )
    return token


@asynccontextmanager
async def connect(
    url: str, token: str | None = None, *, user: str = "cli"
) -> AsyncIterator[HttpClient]:
    """A client of the server at `url`, checked with one authenticated request first, so an
    unreachable server (exit 1) or a refused token (exit 2) is reported before anything."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per request
    url = server_url(url)  # a malformed URL is said before a missing token
    async with HttpClient(url, token_for(token), user=user) as client:
        await client.check()
        yield client


@asynccontextmanager
async def reads(c: Context) -> AsyncIterator[Any]:
    """What read commands read: the database, or with `--server` the server's API (both
    answer `list_runs`, `get_run`, `tasks_of`, ... `pending_approvals`, `iter_events`)."""
    if c.server is not None:
        c.setup_logging()
        async with connect(c.server) as client:
            yield client
        return
    from store import open_reader

    async with open_reader(c.db) as reader:
        yield reader


def _through(c: Context, url: str) -> None:
    c.setup_logging()  # log records go to the log file, never to the terminal
    if c.server is None:  # found, not asked for: say why this command does not own the DB
        echo(
            f"runtui: {c.db} is owned by a runtui server; sending the command to its API ({url})",
            err=True,
        )


async def watch_run(
    c: Context,
    client: HttpClient,
    run_id: str,
    *,
    follow: bool,
    as_json: bool,
    after_seq: int = 0,
    cancelled_ok: bool = False,
) -> int:
    """Follow the run's events after `after_seq` until it has finished, or waits for a human
    with nothing else under way; print them with `follow`; report; return the exit code."""
    from runtui.cli.driving import print_event, report_run

    send, receive = anyio.create_memory_object_stream[EventEnvelope](math.inf)
    last_seq = after_seq

    async def pump() -> None:
        async with send:
            async for env in client.run_events(run_id, after=after_seq, give_up_after=GIVE_UP_S):
                await send.send(env)

    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(pump)
        while True:
            env: EventEnvelope | None = None
            with anyio.move_on_after(SETTLE_S):
                env = await receive.receive()
            if env is not None:
                if env.seq <= last_seq:
                    continue
                last_seq = env.seq
                if follow:
                    print_event(env, as_json)
                if isinstance(env.body, RunStatusChanged) and env.body.status.is_terminal:
                    break  # a run's terminal status is the last event it commits
                continue
            run = await client.get_run(run_id)  # quiet for a moment: where does it stand?
            if last_seq < run.last_seq:
                continue  # its events are still on their way
            if run.status.is_terminal:
                break
            if run.status is RunStatus.AWAITING_APPROVAL and not any(
                t.status in BUSY_TASKS for t in await client.tasks_of(run_id)
            ):
                break
        tg.cancel_scope.cancel()
    run = await client.get_run(run_id)
    return await report_run(
        c, client, run, follow=follow, as_json=as_json, cancelled_ok=cancelled_ok
    )


# --- the runtime commands, remotely -------------------------------------------------------------


async def run_remote(
    c: Context, url: str, file: Path, *, follow: bool, as_json: bool, force: bool
) -> int:
    from runtui.cli.driving import echo_err, plural
    from runtui.workflows import load_workflow

    workflow = load_workflow(file)  # here: errors name the file and its lines
    _through(c, url)
    async with connect(url) as client:
        run_id = await client.submit_file(file, force=force)
        intro = (
            f"run {run_id}: {one_line(workflow.name)} from {file}"
            f" ({plural(len(workflow.tasks), 'task')} in {plural(workflow.wave_count, 'wave')})"
        )
        if as_json:
            echo_err(intro)
        else:
            echo(intro)
        return await watch_run(c, client, run_id, follow=follow, as_json=as_json)


async def _pending(client: HttpClient, approval_id: str) -> ApprovalRow:
    for ap in await client.pending_approvals():
        if ap.approval_id == approval_id:
            return ap
    raise RemoteNotFoundError(
        f"approval {approval_id} is not pending on {client.url} (unknown, or already decided)",
        status=404,
    )


async def decide_remote(
    c: Context,
    url: str,
    approval_id: str,
    *,
    approve: bool,
    by: str,
    reason: str,
    edits: dict[str, Any] | None,
    follow: bool,
    as_json: bool,
) -> int:
    """`approve` / `reject` through the API. On the server's own database the approval is
    checked here first, as the embedded command does (unknown: 3; decided: 2 naming how)."""
    import json

    from runtui.cli.approval_commands import _check_edits, _decidable, _what
    from runtui.cli.driving import say

    known: ApprovalRow | None = None
    if c.server is None:
        known = await _decidable(c, approval_id)
        if edits is not None:
            await _check_edits(c, known, edits)
    _through(c, url)
    async with connect(url, user=by) as client:
        ap = known or await _pending(client, approval_id)
        seen = (await client.get_run(ap.run_id)).last_seq
        if approve:
            await client.approve(approval_id, reason=reason, edits=edits, by=by, run_id=ap.run_id)
            note = f"approved {approval_id} ({_what(ap)} of run {ap.run_id}) by {by}"
            if edits:
                note += f" with edits {json.dumps(edits)}"
        else:
            await client.reject(approval_id, reason=reason, by=by, run_id=ap.run_id)
            note = f"rejected {approval_id} ({_what(ap)} of run {ap.run_id}) by {by}: {reason}"
        say(note, as_json)
        return await watch_run(c, client, ap.run_id, follow=follow, as_json=as_json, after_seq=seen)


async def rewind_remote(
    c: Context,
    url: str,
    run_id: str,
    wave: int,
    *,
    dry_run: bool,
    force: bool,
    follow: bool,
    as_json: bool,
) -> int:
    from runtui.cli.driving import echo_err
    from runtui.cli.render import to_json
    from runtui.cli.runtime_commands import plan_lines

    _through(c, url)
    async with connect(url) as client:
        if dry_run:
            plan = await client.rewind_plan(run_id, wave)
            if as_json:
                click.echo(to_json(plan))
                return EXIT_OK
            echo(f"rewind of run {run_id} to wave {wave} (dry run: nothing changed)")
            for line in plan_lines(plan):
                echo(line)
            return EXIT_OK
        plan = await client.rewind(run_id, wave, force=force)
        assert plan.new_run_id is not None
        out = echo_err if as_json else echo
        out(f"run {plan.new_run_id}: fork of {run_id} rewound to wave {wave}")
        for line in plan_lines(plan):
            out(line)
        return await watch_run(c, client, plan.new_run_id, follow=follow, as_json=as_json)


async def cancel_remote(c: Context, url: str, run_id: str) -> int:
    _through(c, url)
    async with connect(url) as client:
        run = await client.get_run(run_id)
        if run.status.is_terminal:
            raise UsageProblem(f"run {run_id} has already ended ({run.status.value})")
        await client.cancel(run_id)
        return await watch_run(
            c,
            client,
            run_id,
            follow=False,
            as_json=False,
            after_seq=run.last_seq,
            cancelled_ok=True,
        )


async def resume_remote(
    c: Context, url: str, run_id: str | None, *, follow: bool, as_json: bool
) -> int:
    _through(c, url)
    async with connect(url) as client:
        if run_id is None:
            if follow or as_json:
                raise UsageProblem("--follow and --json need a RUN_ID")
            echo(
                f"the server at {url} resumed the interrupted runs when it started and drives"
                " every live run; nothing to resume here"
            )
            return EXIT_OK
        run = await client.get_run(run_id)
        if run.status.is_terminal:
            raise UsageProblem(
                f"run {run_id} is {run.status.value}; terminal runs are never resumed"
            )
        with contextlib.suppress(ConflictError):  # already active there: the server drives it
            await client.resume(run_id)
        return await watch_run(
            c, client, run_id, follow=follow, as_json=as_json, after_seq=run.last_seq
        )


def retry_remote(c: Context, url: str, run_id: str) -> int:
    raise UsageProblem(
        f"retry needs the runtime, and the server at {url} has no retry endpoint: fork the"
        f" run with `{c.command('rewind', run_id, '--wave', 'N')}`, or stop the server and"
        f" run `{c.command('retry', run_id)}`"
    )
