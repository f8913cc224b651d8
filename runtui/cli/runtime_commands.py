"""Runtime commands: run, rewind, retry, resume, cancel (approvals and decisions live in
`approval_commands`, `serve` in `serve_command`, `verify` and `health` in `inspect_commands`;
how each drives the runtime and reports a run, in `driving`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from runtui.cli import (
    EXIT_OK,
    Context,
    UsageProblem,
    _run,
    main,
    pass_ctx,
)
from runtui.cli.render import (
    DASH,
    echo,
    one_line,
    table,
    to_json,
)
from runtui.domain.errors import RuntuiError

if TYPE_CHECKING:
    from actors.runtime import RewindPlan
    from runtui.client.wire import RewindPlan as RemotePlan
    from store.rows import RunRow

from runtui.cli.driving import (
    drive,
    drive_run,
    echo_err,
    finish,
    follow_options,
    open_runtime,
    plural,
    say,
)

# --- run ----------------------------------------------------------------------------------------


@main.command("run")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@follow_options
@click.option("--force", is_flag=True, help="Run even if the workflow's health blocks it.")
@pass_ctx
def run_cmd(c: Context, file: Path, follow: bool, as_json: bool, force: bool) -> None:
    """Run a workflow file until it finishes or waits for an approval.

    Exit code: 0 succeeded, 5 failed, 6 cancelled, 7 waiting for an approval (the command to
    approve it is printed), 2 a bad workflow file.
    """
    from runtui.workflows import load_workflow

    async def go() -> int:
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import run_remote

            return await run_remote(c, url, file, follow=follow, as_json=as_json, force=force)
        from actors.runtime import WorkflowBlockedError

        workflow = load_workflow(file)  # before owning anything: a bad file changes nothing
        async with open_runtime(c) as rt:
            try:
                run_id = await rt.submit(
                    workflow, force=force, metadata={"file": str(file)}, base_dir=file.parent
                )
            except WorkflowBlockedError:
                health = await rt.health_of(workflow.name)
                raise UsageProblem(
                    f"workflow {workflow.name} is blocked ({'; '.join(health.reasons)}):"
                    f" clear it with `{c.command('health', '--clear', workflow.name)}`"
                    " or run it anyway with --force"
                ) from None
            waves = workflow.wave_count
            intro = (
                f"run {run_id}: {one_line(workflow.name)} from {file}"
                f" ({plural(len(workflow.tasks), 'task')} in {plural(waves, 'wave')})"
            )
            if as_json:
                echo_err(intro)
            else:
                echo(intro)
            return await drive_run(c, rt, run_id, follow=follow, as_json=as_json)

    finish(_run(go))


# --- rewind, retry, resume, cancel --------------------------------------------------------------


def plan_lines(plan: RewindPlan | RemotePlan) -> list[str]:
    waves = sorted(set(plan.kept) | set(plan.rerun))
    rows = []
    for w in waves:
        kept = ", ".join(sorted(plan.kept.get(w, []))) or DASH
        rerun = ", ".join(sorted(plan.rerun.get(w, []))) or DASH
        rows.append([str(w), kept, rerun])
    return ["  " + line for line in table(["wave", "kept", "re-executed"], rows, right="wave")]


@main.command("rewind")
@click.argument("run_id")
@click.option("--wave", type=int, required=True, help="Keep the results of waves <= N.")
@click.option("--dry-run", is_flag=True, help="Only show what would be kept and re-executed.")
@click.option("--force", is_flag=True, help="Cancel the run first if it is still active.")
@follow_options
@pass_ctx
def rewind_cmd(
    c: Context, run_id: str, wave: int, dry_run: bool, force: bool, follow: bool, as_json: bool
) -> None:
    """Fork a run at a wave: a new run keeps the results of waves <= N and re-executes the
    rest. The original run is never changed. Exit code as for `run` (of the new run)."""

    async def go() -> int:
        url = c.remote_url()
        if url is not None and c.server is not None:  # the server's database: ask it
            from runtui.cli.remote import rewind_remote

            return await rewind_remote(
                c,
                url,
                run_id,
                wave,
                dry_run=dry_run,
                force=force,
                follow=follow,
                as_json=as_json,
            )
        waves = await _wave_count(c, run_id)
        if not 0 <= wave < waves:
            raise UsageProblem(f"--wave: run {run_id} has waves 0..{waves - 1}, not {wave}")
        if url is not None:
            from runtui.cli.remote import rewind_remote

            return await rewind_remote(
                c,
                url,
                run_id,
                wave,
                dry_run=dry_run,
                force=force,
                follow=follow,
                as_json=as_json,
            )
        async with open_runtime(c, resume=not dry_run, about=run_id) as rt:
            if dry_run:
                plan = await rt.rewind_plan(run_id, wave)
                if as_json:
                    click.echo(to_json(plan))
                    return EXIT_OK
                echo(f"rewind of run {run_id} to wave {wave} (dry run: nothing changed)")
                for line in plan_lines(plan):
                    echo(line)
                return EXIT_OK
            plan = await rt.rewind(run_id, wave, force=force)
            assert plan.new_run_id is not None
            out = echo_err if as_json else echo
            out(f"run {plan.new_run_id}: fork of {run_id} rewound to wave {wave}")
            for line in plan_lines(plan):
                out(line)
            return await drive_run(c, rt, plan.new_run_id, follow=follow, as_json=as_json)

    finish(_run(go))


async def _stored_run(c: Context, run_id: str) -> RunRow:
    """The run as stored, read before anything is owned (unknown: exit 3)."""
    from store import open_reader

    async with open_reader(c.db) as reader:
        return await reader.get_run(run_id)


async def _wave_count(c: Context, run_id: str) -> int:
    from actors.resume import load_workflow_of
    from store import open_reader

    async with open_reader(c.db) as reader:
        workflow, _ = await load_workflow_of(reader, run_id)
    return workflow.wave_count


@main.command("retry")
@click.argument("run_id")
@click.option("--force", is_flag=True, help="Cancel the run first if it is still active.")
@follow_options
@pass_ctx
def retry_cmd(c: Context, run_id: str, force: bool, follow: bool, as_json: bool) -> None:
    """Retry a failed run: a fork that keeps every wave before the first failed one.
    Exit code as for `run` (of the new run)."""
    from runtui.domain.status import RunStatus

    async def go() -> int:
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import retry_remote

            return retry_remote(c, url, run_id)
        run = await _stored_run(c, run_id)
        if run.status is RunStatus.SUCCEEDED:
            raise UsageProblem(
                f"run {run_id} succeeded; nothing to retry"
                f" (to run waves again: {c.command('rewind', run_id, '--wave', 'N')})"
            )
        async with open_runtime(c, about=run_id) as rt:
            new_id = await rt.retry(run_id, force=force)
            note = f"run {new_id}: retry {run.retry_count + 1} of {run_id}"
            say(note, as_json)
            return await drive_run(c, rt, new_id, follow=follow, as_json=as_json)

    finish(_run(go))


@main.command("resume")
@click.argument("run_id", required=False)
@follow_options
@pass_ctx
def resume_cmd(c: Context, run_id: str | None, follow: bool, as_json: bool) -> None:
    """Resume interrupted runs and drive them until they finish or wait for approval.

    Any runtui command that opens the runtime does this; with RUN_ID, also check that the
    run exists and is live, and exit with its status code as `run` does.
    """

    async def go() -> int:
        from runtui.domain.status import RunStatus

        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import resume_remote

            return await resume_remote(c, url, run_id, follow=follow, as_json=as_json)
        if run_id is None:
            if follow or as_json:
                raise UsageProblem("--follow and --json need a RUN_ID")
            async with open_runtime(c, resume=False) as rt:
                resumed = await rt.resume_interrupted()
                if not resumed:
                    echo("no interrupted runs")
                    return EXIT_OK
                echo(f"resumed {len(resumed)} run(s)")
                await drive(rt)
                for rid in resumed:
                    run = await rt.reader.get_run(rid)
                    echo(f"  {rid} ({one_line(run.workflow)}): {run.status.value}")
                return EXIT_OK
        run = await _stored_run(c, run_id)
        if run.status.is_terminal:
            raise UsageProblem(
                f"run {run_id} is {run.status.value}; terminal runs are never resumed"
                + (
                    f" (to try again: {c.command('retry', run_id)})"
                    if run.status is not RunStatus.SUCCEEDED
                    else ""
                )
            )
        async with open_runtime(c, about=run_id) as rt:
            if run_id not in rt.active_runs:
                raise RuntuiError(
                    f"run {run_id} could not be resumed; the log file says why"
                    f" ({c.settings.log_file})"
                )
            return await drive_run(
                c, rt, run_id, follow=follow, as_json=as_json, after_seq=run.last_seq
            )

    finish(_run(go))


@main.command("cancel")
@click.argument("run_id")
@pass_ctx
def cancel_cmd(c: Context, run_id: str) -> None:
    """Cancel a live run (its running tasks are stopped; it ends as cancelled). Exit 0 once
    it is cancelled; if it ended otherwise first, its status code as for `run`."""

    async def go() -> int:
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import cancel_remote

            return await cancel_remote(c, url, run_id)
        run = await _stored_run(c, run_id)
        if run.status.is_terminal:
            raise UsageProblem(f"run {run_id} has already ended ({run.status.value})")
        async with open_runtime(c, about=run_id, hold=True) as rt:
            await rt.cancel(run_id)  # taken over only to be stopped: nothing starts again
            await rt.wait(run_id)
            return await drive_run(c, rt, run_id, follow=False, as_json=False, cancelled_ok=True)

    finish(_run(go))
