"""The `runtui` command line.

Kept free of Textual (and of anything heavy at import time) so that `runtui --version` and the
scriptable commands start fast and work on servers without a terminal UI.

Exit codes: 0 ok · 1 runtime error · 2 bad usage or bad input (config, flags, files) ·
3 not found · 4 database owned by another process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import msgspec

from runtui import __version__
from runtui.domain.errors import (
    ConfigError,
    DatabaseLockedError,
    MigrationError,
    NotFoundError,
    RuntuiError,
    UnknownValueError,
)

EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_LOCKED = 1, 2, 3, 4
T = TypeVar("T")

_json = msgspec.json.Encoder()


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine; turn runtui's errors into a message and an exit code."""
    import anyio

    try:
        return anyio.run(fn, backend="asyncio")
    except NotFoundError as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except DatabaseLockedError as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except (UnknownValueError, ConfigError, MigrationError, ValueError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except RuntuiError as exc:
        return _fail(str(exc), EXIT_ERROR)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"runtui: error: {message}", err=True)
    sys.exit(code)


class Context:
    """What every command needs: settings (loaded lazily, once) and the database path."""

    def __init__(self, db: Path | None, config: Path | None) -> None:
        self._db = db
        self._config = config
        self._settings: Any = None

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
    def db(self) -> Path:
        return Path(self.settings.db)


pass_ctx = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="runtui")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite database file.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML config file.")
@click.pass_context
def main(ctx: click.Context, db: Path | None, config: Path | None) -> None:
    """runtui: governed runs, orchestrated and watched from the terminal."""
    ctx.obj = Context(db, config)
    if ctx.invoked_subcommand is None:
        ctx.invoke(db_info)


@main.group("db")
def db_group() -> None:
    """The database itself."""


@db_group.command("info")
@pass_ctx
def db_info(c: Context) -> None:
    """Where the database is, its schema version and what it holds."""
    from store import open_reader
    from store.schema import SCHEMA_VERSION

    async def go() -> None:
        async with open_reader(c.db) as reader:
            counts = await reader.count_by_result()
            events = await reader.count_events()
        click.echo(f"database   {c.db}")
        click.echo(f"schema     v{SCHEMA_VERSION}")
        click.echo(f"durability {c.settings.durability.value}")
        click.echo(
            "runs       "
            + " · ".join(f"{k} {v}" for k, v in counts.items())
            + f"  ({sum(counts.values())} in all)"
        )
        click.echo(f"events     {events}")

    _run(go)


@main.group("runs")
def runs_group() -> None:
    """List and inspect runs."""


def _fmt_time(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _fmt_took(start: float, end: float | None) -> str:
    if end is None:
        return "—"
    secs = end - start
    return f"{secs:.1f}s" if secs < 120 else f"{secs / 60:.1f}m"


@runs_group.command("ls")
@click.option("--result", help="success, failed or stopped.")
@click.option("--status", help="A run status, e.g. running, failed_policy.")
@click.option("--workflow", help="Only runs of this workflow.")
@click.option("--since", type=float, help="Only runs created at or after this UNIX time.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def runs_ls(
    c: Context,
    result: str | None,
    status: str | None,
    workflow: str | None,
    since: float | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Runs, newest first."""
    from store import open_reader

    async def go() -> None:
        async with open_reader(c.db) as reader:
            page = await reader.list_runs(
                limit=limit,
                result=result,
                status=status,
                workflow=workflow,
                since=since,
                cursor=cursor,
            )
        if as_json:
            for run in page.runs:
                click.echo(_json.encode(run).decode())
            return
        if not page.runs:
            click.echo("no runs")
            return
        click.echo(
            f"{'run':<34} {'workflow':<16} {'status':<18} {'phase':<17} "
            f"{'wave':>4}  {'started':<19}  took"
        )
        for run in page.runs:
            wave = "—" if run.wave_index is None else str(run.wave_index)
            click.echo(
                f"{run.run_id:<34} {run.workflow[:16]:<16} {run.status.value:<18} "
                f"{run.phase.value:<17} {wave:>4}  {_fmt_time(run.created_at):<19}  "
                f"{_fmt_took(run.created_at, run.ended_at)}"
            )
        if page.next_cursor:
            click.echo(f"more: --cursor {page.next_cursor}")

    _run(go)


@runs_group.command("show")
@click.argument("run_id")
@click.option("--events", "with_events", is_flag=True, help="Also print the run's events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def runs_show(c: Context, run_id: str, with_events: bool, as_json: bool) -> None:
    """One run: its state and, with --events, its event log."""
    from store import open_reader

    async def go() -> None:
        async with open_reader(c.db) as reader:
            run = await reader.get_run(run_id)
            events = [e async for e in reader.iter_events(run_id)] if with_events else []
        if as_json:
            click.echo(_json.encode({"run": run, "events": events}).decode())
            return
        for field in run.__struct_fields__:
            value = getattr(run, field)
            if value is None or value == {}:
                continue
            shown = value.value if hasattr(value, "value") else value
            if field.endswith("_at"):
                shown = _fmt_time(value)
            click.echo(f"{field:<19} {shown}")
        for env in events:
            body = msgspec.json.encode(env.body).decode()
            click.echo(f"#{env.seq:<5} {_fmt_time(env.ts)}  {env.kind:<19} {body}")

    _run(go)


@main.command("replay")
@click.argument("run_id")
@pass_ctx
def replay(c: Context, run_id: str) -> None:
    """Rebuild a run from its events alone and compare with the stored projections."""
    from store import open_reader
    from store.replay import replay_stored_run

    async def go() -> int:
        async with open_reader(c.db) as reader:
            await reader.get_run(run_id)
        report = replay_stored_run(c.db.resolve(), run_id)
        if report.differences:
            click.echo(f"run {run_id}: projections differ from a replay of {report.events} events:")
            for d in report.differences:
                click.echo(f"  {d}")
            return EXIT_ERROR
        click.echo(f"run {run_id}: {report.events} events replayed; projections match")
        return 0

    code = _run(go)
    if code:
        sys.exit(code)


@main.group("history")
def history_group() -> None:
    """Run history in the run-history format."""


@history_group.command("export")
@click.option("--jsonl", "as_jsonl", is_flag=True, default=True, help="JSON Lines (default).")
@click.option("--result", help="Only success, failed or stopped.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@pass_ctx
def history_export(c: Context, as_jsonl: bool, result: str | None, output: Path | None) -> None:
    """Every finished run's RunSummary, one JSON object per line, newest first."""
    from store import open_reader
    from store.history import export_jsonl_file, write_jsonl

    async def go() -> int:
        async with open_reader(c.db) as reader:
            summaries = await reader.run_summaries(limit=None, result=result)
        if output is None:
            return write_jsonl(summaries, sys.stdout)
        return export_jsonl_file(summaries, output)

    count = _run(go)
    if output is not None:
        click.echo(f"{count} run summaries written to {output}", err=True)
