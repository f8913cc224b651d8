"""`runtui.open` and `runtui.connect`: the two ways a Python program gets a runtime, both giving
the same port (`runtui.api.Port`).

    async with runtui.open("runs.db") as rt:              # the runtime in this process
        run_id = await rt.submit(flow.build())
        run = await rt.wait(run_id)

    async with runtui.connect("http://127.0.0.1:8765") as rt:  # a `runtui serve`
        ...

`open` starts the actor runtime on a database (a SQLite file; default: the one the command
line uses) and resumes its interrupted runs, exactly as `runtui` commands do; leaving the block
stops the actors, and a run still live stays live in the database and resumes the next time a
runtime opens it (so `await rt.wait(run_id)` before leaving, to see it through). `connect`
checks the server with one authenticated request first, so a wrong URL or token fails here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtui.domain.errors import ConflictError, InvalidInputError

if TYPE_CHECKING:
    from runtui.client.http import HttpClient
    from runtui.embedded import EmbeddedRuntime

#: Set in the process a python task runs in: a runtime must not start there (a script's top
#: level, imported to find the task's function, would open one).
IN_TASK = "RUNTUI_IN_TASK"


@asynccontextmanager
async def open(
    db: str | Path | None = None,
    *,
    resume: bool = True,
    read_only: bool = False,
    user: str | None = None,
    config: Path | None = None,
    **settings: Any,
) -> AsyncIterator[EmbeddedRuntime]:
    """The runtime in this process on the database `db` (default: `RUNTUI_DB`, the config
    file's, else the user data dir's `runs.db`). `settings` override the configuration by
    field name (e.g. `durability="fast"`); `user` is who decisions made here are recorded as
    (default user@host); `read_only` starts no runtime: it reads and follows the database.
    Other runtui processes may drive runs of the same database meanwhile (its UI, a command,
    `serve`): each drives the runs it holds, and a verb on one of theirs goes to them as a
    command through the database (`actors.delegate`)."""
    from runtui.config import load_settings
    from runtui.embedded import EmbeddedRuntime

    if os.environ.get(IN_TASK):
        raise ConflictError(
            "runtui.open() was called in a python task's process: the task's module runs its"
            " top level when imported; keep a script's work under `if __name__ == '__main__':`"
        )
    _not_a_server(db)
    loaded = load_settings(
        {"db": db if isinstance(db, str) or db is None else Path(db), **settings},
        config_file=config,
    )
    async with EmbeddedRuntime.open(loaded, resume=resume, read_only=read_only, user=user) as rt:
        yield rt


def _not_a_server(db: str | Path | None) -> None:
    if isinstance(db, str) and db.partition("://")[0] in ("http", "https"):
        raise InvalidInputError(f"db: {db} is a server: use runtui.connect({db!r}) for it")


@asynccontextmanager
async def connect(
    url: str | None = None, *, token: str | None = None, user: str | None = None
) -> AsyncIterator[HttpClient]:
    """The runtime of the `runtui serve` at `url` (default: `RUNTUI_SERVER`) with `token`
    (default: `RUNTUI_TOKEN`, else the token file the server wrote for this user)."""
    from runtui.client.http import HttpClient, server_url
    from runtui.client.token import read_token
    from runtui.identity import who_decides

    url = url or os.environ.get("RUNTUI_SERVER")
    if not url:
        raise InvalidInputError("url: no server given (and RUNTUI_SERVER is not set)")
    token = token or read_token()
    if not token:
        raise InvalidInputError(
            "token: none given, RUNTUI_TOKEN is not set and this user has no token file"
        )
    async with HttpClient(server_url(url), token, user=user or who_decides()) as client:
        await client.check()
        yield client


__all__ = ["IN_TASK", "connect", "open"]
