"""Reaching a runtui server from the command line: its URL, its token, one checked client.

Two ways to get here. `--server URL` (or `RUNTUI_SERVER`) sends every command that can to
that server, reads included. Without it, a runtime command (`run`, `approve`, `reject`,
`rewind`, `retry`, `cancel`, `resume`) on a database a `runtui serve` drives runs of finds the
server's URL where the server recorded it (table `owners`) and goes through its API; read
commands keep reading the database directly.

The client is a port like the embedded runtime (`runtui.api.Port`), so each command is written
once (`driving`): through the API the server drives the run, and the command watches the run's
event stream (reconnecting, with `Last-Event-ID`) until it has settled, then reports it exactly
as the embedded command does: same lines, same `--follow` output, same exit codes. A server
that cannot be reached is exit 1 naming the URL (after `GIVE_UP_S` without it, mid-command); a
refused token exit 2.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from runtui.cli import Context, UsageProblem
from runtui.cli.render import echo
from runtui.client.http import HttpClient, server_url
from runtui.client.token import read_token, token_file
from runtui.identity import who_decides

#: How long a command watching a run waits for a server that went away before giving up.
GIVE_UP_S = 30.0


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
    url: str, token: str | None = None, *, user: str | None = None
) -> AsyncIterator[HttpClient]:
    """A client of the server at `url`, checked with one authenticated request first, so an
    unreachable server (exit 1) or a refused token (exit 2) is reported before anything."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per request
    url = server_url(url)  # a malformed URL is said before a missing token
    # who is here (user@host): the server records it beside its token's name, as a claim
    client = HttpClient(url, token_for(token), user=user or who_decides(), give_up_after=GIVE_UP_S)
    async with client:
        await client.check()
        yield client


def through(c: Context, url: str) -> None:
    c.setup_logging()  # log records go to the log file, never to the terminal
    if c.server is None:  # found, not asked for: say why this command does not own the DB
        echo(
            f"runtui: {c.db} is owned by a runtui server; sending the command to its API ({url})",
            err=True,
        )
