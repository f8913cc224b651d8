"""`runtui runs source | output | search`: one part of a run, for a shell (often over SSH, where
opening the UI for one question is too much).

Each goes through the same reads as the UI (`Port.workflow_source`, `Port.task_output`,
`Port.search_events`), on the database or, with `--server` (or a server that owns the
database), through the server's API. Everything printed came from a workflow or a task: it goes
out terminal-safe, as the UI shows it; `--json` gives the exact text, JSON-escaped.
"""

from __future__ import annotations

import click

from runtui.cli import Context, _run, pass_ctx
from runtui.cli.render import echo, event_lines, one_line, to_json
from runtui.cli.store_commands import runs_group
from runtui.domain.errors import NotFoundError
from runtui.domain.log_search import MAX_MATCHES_PAGE
from runtui.domain.task_output import MAX_PAGE_LINES, STREAMS


@runs_group.command("source")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the exact text).")
@pass_ctx
def runs_source(c: Context, run_id: str, as_json: bool) -> None:
    """The workflow text a run was started from: its TOML file, or the module of the Python
    Flow that built it (a fork's is its parent's). What it is and where it came from goes to
    stderr, so `runtui runs source ID > again.toml` keeps the text alone."""
    from runtui.cli.driving import reading

    async def go() -> None:
        async with reading(c) as reader:
            source = await reader.workflow_source(run_id)
        if as_json:
            click.echo(to_json(source))
            return
        about = f"{source.format.value}" + (
            f" from {one_line(source.origin)}" if source.origin else ""
        )
        if not source.original:
            about += " (rendered from the stored workflow: the run kept no text)"
        if source.truncated:
            kept = len(source.text.encode("utf-8", "surrogatepass"))
            about += f" (cut at {kept:,} of {source.size:,} bytes)"
        echo(f"runtui: run {run_id}: {about}", err=True)
        echo(source.text.rstrip("\n"))

    _run(go)


@runs_group.command("output")
@click.argument("run_id")
@click.argument("task_id")
@click.option(
    "--attempt",
    type=click.IntRange(min=0),
    help="Which attempt (0 is the first; default: the last).",
)
@click.option("--stream", type=click.Choice(STREAMS), help="Only this stream's lines.")
@click.option(
    "--lines",
    "limit",
    type=click.IntRange(1, MAX_PAGE_LINES),
    default=100,
    show_default=True,
    help="The last N lines.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def runs_output(
    c: Context,
    run_id: str,
    task_id: str,
    attempt: int | None,
    stream: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The last lines one attempt of a task printed (stderr and an external job's poll output
    marked `!`, as in the log, unless --stream picks one stream)."""
    from runtui.cli.driving import reading

    async def go() -> None:
        async with reading(c) as reader:
            attempts = [a for a in await reader.attempts_of(run_id) if a.task_id == task_id]
            if not attempts:
                tasks = {t.task_id for t in await reader.tasks_of(run_id)}
                why = "has not run yet" if task_id in tasks else "is not a task of the run"
                raise NotFoundError(f"task {one_line(task_id)} of run {run_id} {why}")
            which = attempts[-1].attempt if attempt is None else attempt
            if which not in {a.attempt for a in attempts}:
                raise NotFoundError(
                    f"task {one_line(task_id)} of run {run_id} has no attempt {which}"
                    f" (attempts: {', '.join(str(a.attempt) for a in attempts)})"
                )
            page = await reader.task_output(run_id, task_id, which, stream=stream, limit=limit)
        if as_json:
            for line in page.lines:
                click.echo(to_json(line))
            return
        more = ", more before it" if page.more else ""
        echo(
            f"runtui: run {run_id} task {one_line(task_id)} attempt {which}:"
            f" {len(page.lines):,} line{'' if len(page.lines) == 1 else 's'}{more}",
            err=True,
        )
        for line in page.lines:
            mark = "! " if stream is None and line.stream != "stdout" else ""
            echo(mark + one_line(line.text))

    _run(go)


@runs_group.command("search")
@click.argument("run_id")
@click.argument("text")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_MATCHES_PAGE),
    default=100,
    show_default=True,
    help="The newest N matching events.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line.")
@pass_ctx
def runs_search(c: Context, run_id: str, text: str, limit: int, as_json: bool) -> None:
    """Events of a run's whole log whose text (as the log shows it) holds TEXT, any case: the
    newest matches, oldest first."""
    from runtui.cli.driving import reading

    async def go() -> None:
        async with reading(c) as reader:
            found = await reader.search_events(run_id, text, limit=limit)
            events = [
                env for seq in found.seqs for env in await reader.events_after(run_id, seq - 1, 1)
            ]
        if as_json:
            for env in events:
                click.echo(to_json(env))
            return
        total = f"{found.total:,}" + ("" if found.total_exact else "+")
        said = f"{total} matching event{'' if found.total == 1 else 's'}"
        if len(events) < found.total:
            said += f", the newest {len(events):,} shown"
        if not found.complete:
            said += " (the search ran out of time: there may be more)"
        echo(f"runtui: run {run_id}: {said}", err=True)
        for env in events:
            for line in event_lines(env):
                echo(line)

    _run(go)
