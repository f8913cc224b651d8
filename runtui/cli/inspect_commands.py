"""`runtui verify` and `runtui health`: read-only looks at what the store says."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runtui.cli import EXIT_ERROR, EXIT_OK, Context, _run, main, pass_ctx
from runtui.cli.driving import current_user, finish, open_port, reading
from runtui.cli.render import DASH, echo, table, to_json

if TYPE_CHECKING:
    pass


@main.command("verify")
@click.argument("run_id")
@pass_ctx
def verify_cmd(c: Context, run_id: str) -> None:
    """Check a run from its events: replay them through the phase machine (the first illegal
    step is reported), then rebuild the projections and compare. Exit 0 if both are clean,
    else 1."""
    from runtui.storage import verify_run

    async def go() -> int:
        report, replayed = await verify_run(c.db, run_id)
        echo(f"run {run_id}: {report.events} events")
        if report.ok:
            echo(f"  phases       ok: {report.path}")
            echo(
                f"  statuses     ok: {report.statuses_checked} status change(s), each allowed"
                f" in its phase; ends {report.status.value} in {report.phase.value}"
            )
        elif report.problem_kind == "outcome":
            echo(f"  phases       ok: {report.path}")
            echo(f"  outcome      CONTRADICTED {report.problem}")
        else:
            echo(f"  phases       ILLEGAL STEP {report.problem}")
            echo(f"               (phases up to it: {report.path})")
        if replayed.matches:
            echo(
                f"  projections  ok: a replay of {replayed.events} events matches the stored tables"
            )
        else:
            echo(f"  projections  DIFFER from a replay of {replayed.events} events:")
            for d in replayed.differences:
                echo(f"    {d}")
        return EXIT_OK if report.ok and replayed.matches else EXIT_ERROR

    finish(_run(go))


# --- health -------------------------------------------------------------------------------------


@main.command("health")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--clear", "clear", metavar="WORKFLOW", help="Clear a workflow's health record.")
@pass_ctx
def health_cmd(c: Context, as_json: bool, clear: str | None) -> None:
    """Health of each workflow from its recent runs: healthy, degraded, unstable or blocked
    (a blocked workflow refuses new runs until cleared, or `run --force`)."""
    from runtui.domain.errors import NotFoundError

    async def go() -> None:
        async with reading(c) as reader:
            healths = await reader.health()
        if clear is not None:
            if clear not in {h.workflow for h in healths}:
                raise NotFoundError(f"workflow {clear} not found (no runs of it)")
            async with open_port(c, resume=False) as port:
                await port.clear_health(clear, by=current_user())
            echo(f"cleared the health of {clear}: only runs from now on count")
            return
        if as_json:
            for h in healths:
                click.echo(to_json(h))
            return
        if not healths:
            echo("no workflows have run yet")
            return
        rows = [
            [h.workflow, h.health.value, str(h.runs_considered), "; ".join(h.reasons) or DASH]
            for h in healths
        ]
        for line in table(["workflow", "health", "runs", "reasons"], rows, right="runs"):
            echo(line)
        if any(h.health.value == "blocked" for h in healths):
            echo(f"unblock: {c.command('health', '--clear', 'WORKFLOW')}")

    _run(go)
