"""Runtime commands: run, rewind, retry, resume, cancel (approvals and decisions live in
`approval_commands`, `serve` in `serve_command`, `verify` and `health` in `inspect_commands`;
how each gets its port and reports a run, in `driving`).

Each is written once, against the port (`runtui.api.Port`): the same code runs on the runtime
embedded in this process and through a server's API.
"""

from __future__ import annotations

import contextlib
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
from runtui.domain.errors import ConflictError

if TYPE_CHECKING:
    from runtui.api import Port
    from runtui.domain.rewind import RewindPlan
    from runtui.domain.views import RunRow

from runtui.cli.driving import (
    drive_run,
    echo_err,
    finish,
    follow_options,
    open_port,
    plural,
    reading,
    say,
)

# --- run ----------------------------------------------------------------------------------------


@main.command("run")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path), required=False)
@click.option("--demo", is_flag=True, help="Run the bundled demo workflow (no FILE).")
@follow_options
@click.option("--force", is_flag=True, help="Run even if the workflow's health blocks it.")
@pass_ctx
def run_cmd(
    c: Context, file: Path | None, demo: bool, follow: bool, as_json: bool, force: bool
) -> None:
    """Run a workflow FILE (or the bundled demo: --demo) until it finishes or waits for an
    approval.

    Exit code: 0 succeeded, 5 failed, 6 cancelled, 7 waiting for an approval (the command to
    approve it is printed), 2 a bad workflow file.
    """
    from runtui.workflows import load_workflow

    file = _workflow_file(file, demo)

    async def go() -> int:
        workflow = load_workflow(file)  # before owning anything: a bad file changes nothing
        async with open_port(c) as port:
            try:
                run_id = await port.submit_file(file, force=force)
            except ConflictError:
                await _blocked(c, port, workflow.name)
                raise
            waves = workflow.wave_count
            intro = (
                f"run {run_id}: {one_line(workflow.name)} from {file}"
                f" ({plural(len(workflow.tasks), 'task')} in {plural(waves, 'wave')})"
            )
            if as_json:
                echo_err(intro)
            else:
                echo(intro)
            return await drive_run(c, port, run_id, follow=follow, as_json=as_json)

    finish(_run(go))


async def _blocked(c: Context, port: Port, workflow: str) -> None:
    """A refused submission of a blocked workflow says why and how to go on (exit 2)."""
    health = next((h for h in await port.health() if h.workflow == workflow), None)
    if health is not None and health.health.value == "blocked":
        raise UsageProblem(
            f"workflow {workflow} is blocked ({'; '.join(health.reasons)}):"
            f" clear it with `{c.command('health', '--clear', workflow)}`"
            " or run it anyway with --force"
        )


def _workflow_file(file: Path | None, demo: bool) -> Path:
    """The FILE argument, or with --demo the demo workflow shipped with runtui (wherever it is
    installed: the checkout's examples/, or inside the wheel)."""
    if demo and file is not None:
        raise click.UsageError("give a workflow FILE or --demo, not both")
    if not demo:
        if file is None:
            raise click.UsageError("missing a workflow FILE (or --demo for the bundled demo)")
        return file
    from runtui.demo import demo_workflow_path

    found = demo_workflow_path()
    if found is None:
        raise click.UsageError("this installation of runtui has no bundled demo workflow")
    return found


# --- rewind, retry, resume, cancel --------------------------------------------------------------


def plan_lines(plan: RewindPlan) -> list[str]:
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
        await _stored_run(c, run_id)  # unknown: exit 3, before anything is owned
        if dry_run:
            async with reading(c) as reader:
                plan = await reader.rewind_plan(run_id, wave)
            if as_json:
                click.echo(to_json(plan))
                return EXIT_OK
            echo(f"rewind of run {run_id} to wave {wave} (dry run: nothing changed)")
            for line in plan_lines(plan):
                echo(line)
            return EXIT_OK
        async with reading(c) as reader:
            await reader.rewind_plan(run_id, wave)  # a wave it lacks: exit 2, owning nothing
        async with open_port(c, about=run_id) as port:
            plan = await port.rewind(run_id, wave, force=force)
            assert plan.new_run_id is not None
            out = echo_err if as_json else echo
            out(f"run {plan.new_run_id}: fork of {run_id} rewound to wave {wave}")
            for line in plan_lines(plan):
                out(line)
            return await drive_run(c, port, plan.new_run_id, follow=follow, as_json=as_json)

    finish(_run(go))


async def _stored_run(c: Context, run_id: str) -> RunRow:
    """The run as stored, read before anything is owned (unknown: exit 3)."""
    async with reading(c) as reader:
        return await reader.get_run(run_id)


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
        run = await _stored_run(c, run_id)
        if run.status is RunStatus.SUCCEEDED:
            raise UsageProblem(
                f"run {run_id} succeeded; nothing to retry"
                f" (to run waves again: {c.command('rewind', run_id, '--wave', 'N')})"
            )
        async with open_port(c, about=run_id) as port:
            new_id = await port.retry(run_id, force=force)
            note = f"run {new_id}: retry {run.retry_count + 1} of {run_id}"
            say(note, as_json)
            return await drive_run(c, port, new_id, follow=follow, as_json=as_json)

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
        from runtui.embedded import EmbeddedRuntime

        if run_id is None:
            if follow or as_json:
                raise UsageProblem("--follow and --json need a RUN_ID")
            async with open_port(c, resume=False) as port:
                if not isinstance(port, EmbeddedRuntime) or port.driving is None:
                    who = (
                        f"the server at {url}"
                        if (url := c.remote_url())
                        else "the runtui processes that drive the database's runs"
                    )
                    echo(
                        f"{who} resumed the interrupted runs when it started and drives every"
                        " live run; nothing to resume here"
                    )
                    return EXIT_OK
                resumed = await port.resume_interrupted()
                if not resumed:
                    echo("no interrupted runs")
                    return EXIT_OK
                echo(f"resumed {len(resumed)} run(s)")
                await port.drain()
                for rid in resumed:
                    run = await port.get_run(rid)
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
        async with open_port(c, about=run_id) as port:
            with contextlib.suppress(ConflictError):  # already driven (resumed at open)
                await port.resume(run_id)
            return await drive_run(
                c, port, run_id, follow=follow, as_json=as_json, after_seq=run.last_seq
            )

    finish(_run(go))


@main.command("cancel")
@click.argument("run_id")
@pass_ctx
def cancel_cmd(c: Context, run_id: str) -> None:
    """Cancel a live run (its running tasks are stopped; it ends as cancelled). Exit 0 once
    it is cancelled; if it ended otherwise first, its status code as for `run`."""

    async def go() -> int:
        run = await _stored_run(c, run_id)
        if run.status.is_terminal:
            raise UsageProblem(f"run {run_id} has already ended ({run.status.value})")
        # embedded: taken over only to be stopped (`hold`), so nothing of it starts again
        async with open_port(c, about=run_id, hold=True) as port:
            await port.cancel(run_id)
            return await drive_run(
                c,
                port,
                run_id,
                follow=False,
                as_json=False,
                after_seq=run.last_seq,
                cancelled_ok=True,
            )

    finish(_run(go))
