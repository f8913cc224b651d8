"""Read commands: the database, runs, replay and history. They never own the database, so
they work beside the process that does (SQLite WAL lets readers run beside the writer)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runtui.cli import EXIT_ERROR, Context, _run, main, pass_ctx
from runtui.cli.render import (
    DASH,
    echo,
    event_lines,
    fmt_time,
    fmt_took,
    json_escaped,
    shorten,
    table,
    to_json,
)
from runtui.domain.terminal_text import safe_fields
from runtui.domain.why import place

if TYPE_CHECKING:
    from runtui.api import Port
    from runtui.domain.views import RunRow


@main.group("db")
def db_group() -> None:
    """The database itself."""


@db_group.command("info")
@pass_ctx
def db_info(c: Context) -> None:
    """Where the database is, its schema version and what it holds."""
    from runtui.storage import facts, shown

    async def go() -> None:
        known = await facts(c.db)
        counts, events = known.runs_by_result, known.events
        echo(f"database   {shown(c.db)}")
        echo(f"schema     v{known.schema_version}")
        echo(f"durability {c.settings.durability.value}")
        echo(
            "runs       "
            + " · ".join(f"{k} {v}" for k, v in counts.items())
            + f"  ({sum(counts.values())} in all)"
        )
        echo(f"events     {events}")

    _run(go)


@main.group("runs")
def runs_group() -> None:
    """List and inspect runs."""


def worst_violation(run: RunRow) -> str:
    if run.worst_violation is None:
        return DASH
    severity = f" ({run.worst_severity.value})" if run.worst_severity else ""
    return f"{run.worst_violation.value}{severity}"


class Since(click.ParamType[float]):
    """`--since`: UNIX seconds, a duration before now (`1h`, `2d`) or an ISO 8601 time."""

    name = "since"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from runtui.domain.since import parse_since

        if isinstance(value, float):
            return value
        try:
            return parse_since(str(value), now=time.time())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@runs_group.command("ls")
@click.option("--result", help="success, failed or stopped.")
@click.option("--status", help="A run status, e.g. running, failed_policy.")
@click.option("--workflow", help="Only runs of this workflow.")
@click.option(
    "--since",
    type=Since(),
    metavar="WHEN",
    help="Only runs created at or after WHEN: UNIX seconds, a duration before now (90s, 15m,"
    " 1h, 2d, 1w) or an ISO 8601 date or time (2026-12-06, 2026-12-06T08:00[+02:00]; local"
    " time without an offset).",
)
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
    """Runs, newest first, with the worst policy violation each one recorded."""
    from runtui.cli.driving import reading

    async def go() -> None:
        async with reading(c) as reader:
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
                click.echo(to_json(run))
            return
        if not page.runs:
            echo("no runs")
            return
        rows = [
            [
                run.run_id,
                shorten(run.workflow, 20),
                run.status.value,
                run.phase.value,
                run.wave_progress,
                fmt_time(run.created_at),
                fmt_took(run.created_at, run.ended_at),
                worst_violation(run),
            ]
            for run in page.runs
        ]
        headers = ["run", "workflow", "status", "phase", "wave", "started", "took", "violation"]
        for line in table(headers, rows, right="wave took"):
            echo(line)
        if page.next_cursor:
            echo(f"more: --cursor {page.next_cursor}")

    _run(go)


async def run_details(reader: Port, run_id: str) -> dict[str, Any]:
    """Everything `runs show` prints about one run, as plain data (also its --json)."""
    from runtui.domain.audit import AckStatus, AuditExpectation, DomainAck, reconcile

    run = await reader.get_run(run_id)
    audit = await reader.audit_of(run_id)
    rec = reconcile(
        [AuditExpectation(d, a, dl, lv) for d, a, dl, lv in audit.expectations],
        [DomainAck(d, a, AckStatus(s), r, e) for d, a, s, r, e in audit.acks],
        now=time.time(),
    )
    return {
        "run": run,
        "tasks": await reader.tasks_of(run_id),
        "attempts": await reader.attempts_of(run_id),
        "approvals": await reader.approvals_of(run_id),
        "violations": await reader.violations_of(run_id),
        "incidents": await reader.incidents_of(run_id),
        "audit": rec,
        "forks": await reader.forks_of(run_id),
    }


def _pairs(keys: Any) -> str:
    return ", ".join(f"{d}/{a}" for d, a in keys) or "none"


def details_lines(d: dict[str, Any]) -> list[str]:
    d = {key: safe_fields(value) for key, value in d.items()}  # every name, reason: one line
    run = d["run"]
    out: list[str] = []
    for field in run.__struct_fields__:
        value = getattr(run, field)
        if value is None or value == {}:
            continue
        shown = value.value if hasattr(value, "value") else value
        if field.endswith("_at"):
            shown = fmt_time(value)
        out.append(f"{field:<19} {shown}")

    last_attempt: dict[str, Any] = {}
    for a in d["attempts"]:
        last_attempt[a.task_id] = a
    out += ["", "tasks"]
    rows = []
    for t in d["tasks"]:
        note = ""
        a = last_attempt.get(t.task_id)
        if a is not None and t.status == "failed":
            note = a.error or (f"exit {a.exit_code}" if a.exit_code is not None else "")
        if t.allow_failure:
            note = "allowed to fail" + (f"; {note}" if note else "")
        rows.append([str(t.wave), t.task_id, t.kind, t.status, str(t.attempts), shorten(note, 60)])
    out += [
        "  " + line
        for line in table(
            ["wave", "task", "kind", "status", "attempts", "note"], rows, right="wave attempts"
        )
    ]

    approvals = d["approvals"]
    if approvals:
        out += ["", "approvals"]
        for ap in approvals:
            what = f"{ap.kind.value}" + (f" {ap.task_id}" if ap.task_id else "")
            if ap.decision is None:
                state = "pending"
            else:
                state = f"{ap.decision.value} by {ap.decided_by or '?'}"
                if ap.reason:
                    state += f": {ap.reason}"
            out.append(f"  {ap.approval_id}  {what}  {state}")

    out += ["", "violations" + ("" if d["violations"] else "  none")]
    for v in d["violations"]:
        out.append(
            f"  #{v.seq} {place(v.task_id, v.attempt, v.step_index)}"
            f"  {v.violation_type.value} ({v.severity.value})"
            f" -> {v.action}  {v.policy_name}: {v.reason}"
        )
    out += ["", "incidents" + ("" if d["incidents"] else "  none")]
    for inc in d["incidents"]:
        out.append(f"  {inc.incident_id}  {inc.severity.value}  {inc.title}")
        if inc.detail:
            out.append(f"    {shorten(inc.detail, 100)}")

    rec = d["audit"]
    out += [
        "",
        f"audit      {rec.status.value}" + ("" if rec.expected else " (no expectations declared)"),
        f"  expected {_pairs(rec.expected)}",
        f"  acked    {_pairs(rec.acked)}",
        f"  missing  {_pairs(rec.missing)}",
    ]
    for label, keys in (("drift", rec.drift), ("failed", rec.failed), ("stale", rec.stale)):
        if keys:
            out.append(f"  {label:<8} {_pairs(keys)}")

    parent = DASH
    if run.parent_run_id:
        parent = run.parent_run_id
        if run.rewound_from_wave is not None:
            parent += f" (waves <= {run.rewound_from_wave} carried over)"
    forks = [f"{f.run_id} ({f.status.value})" for f in d["forks"]]
    out += ["", "lineage", f"  parent   {parent}", f"  forks    {', '.join(forks) or DASH}"]
    return out


@runs_group.command("show")
@click.argument("run_id")
@click.option("--events", "with_events", is_flag=True, help="Also print the run's events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def runs_show(c: Context, run_id: str, with_events: bool, as_json: bool) -> None:
    """One run: its state, tasks, violations, incidents, audit and lineage; with --events,
    its event log."""
    from runtui.cli.driving import reading

    async def go() -> None:
        async with reading(c) as reader:
            details = await run_details(reader, run_id)
            events = [e async for e in reader.iter_events(run_id)] if with_events else []
        if as_json:
            click.echo(to_json({**details, "events": events}))
            return
        for line in details_lines(details):
            echo(line)
        if events:
            echo("")
            echo("events")
        for env in events:
            for line in event_lines(env):
                echo(line)

    _run(go)


@main.command("replay")
@click.argument("run_id")
@pass_ctx
def replay(c: Context, run_id: str) -> None:
    """Rebuild a run from its events alone and compare with the stored projections."""
    from runtui.storage import replay_run

    async def go() -> int:
        report = await replay_run(c.db, run_id)
        if report.differences:
            echo(f"run {run_id}: projections differ from a replay of {report.events} events:")
            for d in report.differences:
                echo(f"  {d}")
            return EXIT_ERROR
        echo(f"run {run_id}: {report.events} events replayed; projections match")
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
    from runtui.storage import export_summaries, run_summaries, summary_json

    async def go() -> int:
        summaries = await run_summaries(c.db, result)
        if output is None:  # perhaps a terminal: DEL, C1 and bidi controls escaped, same JSON
            for summary in summaries:
                sys.stdout.write(json_escaped(summary_json(summary)) + "\n")
            return len(summaries)
        return export_summaries(summaries, output)

    count = _run(go)
    if output is not None:
        echo(f"{count} run summaries written to {output}", err=True)


# `runs source | output | search` live in a module of their own, registered with `runs`.
from runtui.cli import run_part_commands as _run_parts  # noqa: E402, F401
