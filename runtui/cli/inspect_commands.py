"""`runtui verify` and `runtui health`: read-only looks at what the store says."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runtui.cli import EXIT_ERROR, EXIT_OK, Context, UsageProblem, _run, main, pass_ctx
from runtui.cli.driving import current_user, finish, open_runtime
from runtui.cli.render import DASH, echo, table, to_json

if TYPE_CHECKING:
    from runtui.domain.health import WorkflowHealth
    from runtui.store.queries import StoreReader


@main.command("verify")
@click.argument("run_id")
@pass_ctx
def verify_cmd(c: Context, run_id: str) -> None:
    """Check a run from its events: replay them through the phase machine (the first illegal
    step is reported), then rebuild the projections and compare. Exit 0 if both are clean,
    else 1."""
    from runtui.domain.verify import verify_events
    from runtui.store import open_reader
    from runtui.store.replay import replay_stored_run

    async def go() -> int:
        async with open_reader(c.db) as reader:
            await reader.get_run(run_id)
            events = [e async for e in reader.iter_events(run_id)]
        report = verify_events(events)
        replayed = replay_stored_run(c.db.resolve(), run_id)
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


async def health_of(reader: StoreReader, workflow: str) -> WorkflowHealth:
    """A workflow's health from the store alone (as `Runtime.health_of` computes it), so
    `runtui health` reads beside the owner instead of owning the database."""
    from runtui.domain.health import assess

    return assess(workflow, await reader.health_results(workflow))


@main.command("health")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--clear", "clear", metavar="WORKFLOW", help="Clear a workflow's health record.")
@pass_ctx
def health_cmd(c: Context, as_json: bool, clear: str | None) -> None:
    """Health of each workflow from its recent runs: healthy, degraded, unstable or blocked
    (a blocked workflow refuses new runs until cleared, or `run --force`)."""
    from runtui.domain.errors import NotFoundError
    from runtui.store import open_reader

    async def go() -> None:
        if c.server is not None:
            if clear is not None:
                raise UsageProblem(
                    f"the server at {c.server} has no endpoint to clear a workflow's health;"
                    " run `runtui health --clear` where the database is, with the server stopped"
                )
            from runtui.cli.remote import reads

            async with reads(c) as client:
                healths = await client.health()
        if clear is not None:
            async with open_reader(c.db) as reader:
                known = await reader.workflows()
            if clear not in known:
                raise NotFoundError(f"workflow {clear} not found (no runs of it)")
            async with open_runtime(c, resume=False) as rt:
                await rt.clear_health(clear, by=current_user())
            echo(f"cleared the health of {clear}: only runs from now on count")
            return
        if c.server is None:
            async with open_reader(c.db) as reader:
                healths = [await health_of(reader, w) for w in await reader.workflows()]
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
