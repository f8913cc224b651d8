"""The `runtui` command line.

Kept free of Textual (and of anything heavy at import time) so that `runtui --version` and the
scriptable commands start fast and work on servers without a terminal UI: every command imports
what it needs (store, actors) inside its body.

Two kinds of commands:

- read commands (`db info`, `runs ls/show`, `approvals`, `verify`, `replay`, `health`,
  `history export`) only read the database, so they work beside the process that owns it;
- runtime commands (`run`, `approve`, `reject`, `rewind`, `retry`, `resume`, `cancel`,
  `serve`) open the actor runtime embedded, beside any other runtui process on the database:
  the process takes over every live run nobody drives, does its thing and drives the runs it
  holds until the runtime is idle (each run finished or waiting for a human), then exits and
  lets them go. A verb on a run another process drives (the UI, a `runtui run`) is handed to
  that process as a command through the database (`actors.delegate`). `serve` instead keeps
  driving until SIGTERM/SIGINT.

With `--server URL` (or `RUNTUI_SERVER`) commands go to that server's HTTP API instead; when a
`runtui serve` drives runs of the database (it records its URL there), the runtime commands
find it and go through its API (`runtui.cli.remote`).

Exit codes:

    0  ok; for commands that drive a run: the run succeeded (`cancel`: the run is cancelled);
       also when the reader of the output closed the pipe early (`runtui runs ls | head -1`)
    1  runtime error (also: `verify` found a problem)
    2  bad usage or bad input: flags, config, workflow files, a second decision on an
       approval, a run that must be stopped first, a blocked workflow
    3  not found (run, approval, workflow)
    4  the database is locked by an older runtui that takes no commands
    5  the run failed (failed, failed_policy)
    6  the run was cancelled
    7  the run is waiting for an approval (decide it with `runtui approve` / `runtui reject`)
  130  interrupted (Ctrl-C); live runs stay live and resume the next time the database is opened
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from runtui import __version__
from runtui.domain.errors import (
    ConfigError,
    DatabaseLockedError,
    InvalidInputError,
    RuntuiError,
    kind_of,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_LOCKED = 4
EXIT_RUN_FAILED = 5
EXIT_RUN_CANCELLED = 6
EXIT_RUN_WAITING = 7
EXIT_INTERRUPTED = 130

T = TypeVar("T")

log = logging.getLogger("runtui.cli")


class UsageProblem(InvalidInputError):
    """A request the command refuses as given (exit 2); raised by the commands themselves."""


def _exit_code_for(exc: BaseException) -> int | None:
    """The exit code for an error runtui raises on purpose, or None for a bug: by the error's
    kind (`runtui.domain.errors.KINDS`), the same embedded and through a server."""
    if isinstance(exc, DatabaseLockedError):  # an older runtui holds the database alone
        return EXIT_LOCKED
    kind = kind_of(exc)
    if kind is not None:
        return kind[2]
    if isinstance(exc, ValueError):
        return EXIT_USAGE
    if isinstance(exc, RuntuiError):
        return EXIT_ERROR
    return None


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine; turn runtui's errors into a message and an exit code."""
    import anyio

    try:
        return anyio.run(fn, backend="asyncio")
    except KeyboardInterrupt:
        click.echo(
            "runtui: interrupted; live runs stay live and resume the next time a runtui"
            " command opens the database",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    except BaseExceptionGroup as group:  # a task group that failed with one error: show that
        leaves = group.exceptions
        if len(leaves) != 1 or not isinstance(leaves[0], Exception):
            raise
        return _fail_for(leaves[0])
    except Exception as exc:
        return _fail_for(exc)


def _fail_for(exc: Exception) -> NoReturn:
    while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, BrokenPipeError):  # `runtui runs ls | head -1`: the reader left
        _output_closed()
    code = _exit_code_for(exc)
    if code is None:
        log.exception("internal error")
        _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_ERROR)
    _fail(str(exc), code)


def _output_closed() -> NoReturn:
    """Whoever read our output stopped reading (`runtui runs ls | head -1`): they have what
    they wanted, so this is a quiet success. What is still buffered goes to /dev/null, so that
    Python's flush at exit meets no second closed pipe. A run `run --follow` was driving stays
    live, as after Ctrl-C: the next runtime command resumes it."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(EXIT_OK)


#: The module that registers each command, imported when that command is asked for: `runtui
#: --version` loads none, `runtui run` only its own (`runtui --help` loads them all).
_COMMAND_MODULES = {
    "approvals": "approval_commands",
    "approve": "approval_commands",
    "reject": "approval_commands",
    "health": "inspect_commands",
    "verify": "inspect_commands",
    "run": "runtime_commands",
    "rewind": "runtime_commands",
    "retry": "runtime_commands",
    "resume": "runtime_commands",
    "cancel": "runtime_commands",
    "serve": "serve_command",
    "db": "store_commands",
    "runs": "store_commands",
    "history": "store_commands",
    "replay": "store_commands",
}


class _Commands(click.Group):
    """The `runtui` group: commands load on demand (`_COMMAND_MODULES`), and a reader that
    leaves early is a quiet success, wherever the pipe broke (a command's own output, or the
    last flush once it returned)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(_COMMAND_MODULES.get(cmd_name))
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(_COMMAND_MODULES.values())):
            self._load(module)
        return super().list_commands(ctx)

    def _load(self, module: str | None) -> None:
        if module is None or f"runtui.cli.{module}" in sys.modules:
            return
        from importlib import import_module

        from runtui.cli.global_options import spread

        import_module(f"runtui.cli.{module}")
        spread(self)  # the new commands get --db, --config, --server too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # now, while a closed pipe can still be answered
        except BrokenPipeError:
            _output_closed()


def _fail(message: str, code: int) -> NoReturn:
    """Say what went wrong (the message may quote a workflow's strings: made terminal-safe)."""
    from runtui.cli.render import echo

    echo(f"runtui: error: {message}", err=True)
    sys.exit(code)


class Context:
    """What every command needs: settings (loaded lazily, once) and the database path."""

    def __init__(self, db: Path | None, config: Path | None, server: str | None = None) -> None:
        self._db = db
        self._config = config
        #: `--server URL` / `RUNTUI_SERVER`: every command that can goes through this API.
        self.server = server.rstrip("/") if server else None
        self._settings: Any = None
        self._logging = False

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from runtui.config import load_settings

            try:
                self._settings = load_settings({"db": self._db}, config_file=self._config)
            except ConfigError as exc:
                _fail(str(exc), EXIT_USAGE)
        return self._settings

    @property
    def db(self) -> Path | str:
        """The database: a SQLite file's path, or a PostgreSQL URL."""
        db = self.settings.db
        return db if isinstance(db, str) else Path(db)

    def override(self, name: str, value: Any) -> None:
        """A global option given again after the command name (`runtui.cli.global_options`)."""
        assert self._settings is None, "settings were loaded before every option was parsed"
        if name == "db":
            self._db = value
        elif name == "config":
            self._config = value
        else:
            self.server = str(value).rstrip("/")

    def server_of_db(self) -> str | None:
        """The API URL of a `runtui serve` that drives runs of the database now, if one does."""
        from runtui.storage import owner_url

        return owner_url(self.db)

    def remote_url(self) -> str | None:
        """Where a runtime command must go instead of owning the database: `--server`, else
        the server that owns it (None: own it, embedded)."""
        return self.server or self.server_of_db()

    def command(self, *args: str) -> str:
        """`runtui ARGS` as the user should type it to reach the same database."""
        words = [this_program()]
        if self.server is not None:
            words += ["--server", _quote(self.server)]
        if self._db is not None:
            words += ["--db", _quote(str(self._db))]
        if self._config is not None:
            words += ["--config", _quote(str(self._config))]
        return " ".join([*words, *args])

    def setup_logging(self) -> None:
        """Send log records to the log file (never to the terminal) before the runtime starts."""
        if self._logging:
            return
        self._logging = True
        from runtui.logs import log_to_file

        try:
            log_to_file(Path(self.settings.log_file), self.settings.log_level.value)
        except OSError as exc:  # an unwritable log dir must not stop a run
            click.echo(f"runtui: warning: not logging to {self.settings.log_file}: {exc}", err=True)
            logging.getLogger().addHandler(logging.NullHandler())


def this_program() -> str:
    """How to call this program again: `runtui` when that name on PATH is this program, else
    the path it was started by (`.venv/bin/runtui` with the venv not activated) or
    `python -m runtui` — so a printed next step such as `runtui approve ID` works as typed."""
    import os
    import shutil

    started_as = sys.argv[0] if sys.argv else ""
    if Path(started_as).name == "__main__.py" and Path(started_as).parent.name == "runtui":
        return f"{_quote(sys.executable)} -m runtui"
    if Path(started_as).name != "runtui" or os.sep not in started_as:
        return "runtui"  # found on PATH, or another host program (a test runner, an embedder)
    on_path = shutil.which("runtui")
    try:
        if on_path is not None and os.path.samefile(on_path, started_as):
            return "runtui"
    except OSError:
        pass
    return _quote(started_as)


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


pass_ctx = click.make_pass_decorator(Context)

from runtui.cli.global_options import DATABASE  # noqa: E402


@click.group(
    cls=_Commands,
    invoke_without_command=True,
    epilog="Exit codes: 0 ok / run succeeded · 1 runtime error · 2 bad usage or input · "
    "3 not found · 4 database locked by an older runtui · 5 run failed · 6 run cancelled · "
    "7 run waiting for an approval.",
)
@click.version_option(__version__, prog_name="runtui")
@click.option(
    "--db",
    type=DATABASE,
    help="SQLite database file, or a PostgreSQL URL (postgresql://user@host/db).",
)
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML config file.")
@click.option(
    "--server",
    metavar="URL",
    envvar="RUNTUI_SERVER",
    help="Talk to this runtui server's HTTP API (env RUNTUI_SERVER); token: RUNTUI_TOKEN or"
    " the token file. Without it, runtime commands still use the API of a `runtui serve` that"
    " drives runs of the database.",
)
@click.option("--read-only", is_flag=True, help="The terminal UI without mutating actions.")
@click.pass_context
def main(
    ctx: click.Context, db: Path | None, config: Path | None, server: str | None, read_only: bool
) -> None:
    """runtui: governed runs, orchestrated and watched from the terminal.

    With no command, opens the terminal UI on the database, with the runtime embedded (it
    resumes interrupted runs and drives them while the UI is open); when a server owns the
    database (or with --server), attaches to that server instead.
    """
    ctx.obj = Context(db, config, server)
    if ctx.invoked_subcommand is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            from runtui.cli.store_commands import db_info

            click.echo("runtui: not a terminal; showing the database instead of the UI", err=True)
            ctx.invoke(db_info)
            return
        ctx.invoke(tui, read_only=read_only)


@main.command("tui")
@click.option("--read-only", is_flag=True, help="Hide and refuse mutating actions.")
@click.pass_context
def tui(ctx: click.Context, read_only: bool) -> None:
    """The terminal UI (what `runtui` with no command opens)."""
    c: Context = ctx.obj
    url = c.remote_url()
    if url is not None:
        ctx.invoke(attach_cmd, url=url, token=None, read_only=read_only)
        return

    async def go() -> None:
        from runtui.tui.launch import run_embedded

        await run_embedded(c.settings, read_only=read_only)

    _run(go)


@main.command("attach")
@click.argument("url", required=False)
@click.option("--token", help="The server's bearer token (default: RUNTUI_TOKEN, else the file).")
@click.option("--read-only", is_flag=True, help="Hide and refuse mutating actions.")
@click.pass_context
def attach_cmd(ctx: click.Context, url: str | None, token: str | None, read_only: bool) -> None:
    """The terminal UI on a runtui server (`runtui serve`), through its HTTP API and live event
    stream. URL defaults to --server, else a server that drives runs of the database. When
    the server goes away the status bar says "disconnected, retrying"; when it is back the UI
    catches up with no event lost. Exit 1 if the server cannot be reached, 2 if the token is
    refused.
    """
    c: Context = ctx.obj
    target = url or c.remote_url()
    if target is None:
        _fail(
            "attach to which server? give its URL (runtui attach http://127.0.0.1:8765),"
            " --server, or start `runtui serve` on this database",
            EXIT_USAGE,
        )

    async def go() -> None:
        from runtui.cli.remote import connect
        from runtui.tui.launch import run_attached

        async with connect(target, token) as client:
            c.setup_logging()
            await run_attached(client, read_only=read_only, alerts=c.settings.approval_alert)

    _run(go)


from runtui.cli.global_options import spread  # noqa: E402

spread(main)  # `tui` and `attach`; the others get theirs as they load (`_Commands._load`)

__all__ = [
    "EXIT_ERROR",
    "EXIT_LOCKED",
    "EXIT_NOT_FOUND",
    "EXIT_USAGE",
    "Context",
    "UsageProblem",
    "main",
    "pass_ctx",
]
