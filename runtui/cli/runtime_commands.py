"""Runtime commands: run, approve, reject, rewind, retry, resume, cancel; and the read
command approvals (`serve` lives in `serve_command`, `verify` and `health` in
`inspect_commands`).

The embedded model: a command that changes runs opens the actor runtime in this process
(`Runtime.open`), which owns the database and resumes every interrupted run. It does its thing
(submit, decide, fork, cancel), then drives every live run until the runtime is idle (each run
has finished or waits for a human) and exits; what still waits is persisted, for a later
`runtui approve`. `serve` keeps driving until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click

from runtui.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_RUN_CANCELLED,
    EXIT_RUN_FAILED,
    EXIT_RUN_WAITING,
    Context,
    UsageProblem,
    _run,
    main,
    pass_ctx,
)
from runtui.cli.render import (
    DASH,
    event_lines,
    fmt_age,
    fmt_took,
    shorten,
    table,
    to_json,
)
from runtui.domain.errors import RuntuiError

if TYPE_CHECKING:
    from actors.runtime import RewindPlan, Runtime
    from runtui.client.http import RewindPlan as RemotePlan
    from runtui.domain.events import EventEnvelope
    from runtui.domain.views import AttemptRow, TaskRow, ViolationRow
    from store.rows import ApprovalRow, RunRow

#: How long the runtime must stay idle, with nothing committed, before a command exits. Covers
#: the moment between one actor's commit and the next actor's reaction (see `drive`).
SETTLE_S = 0.15


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still say who, generically
        return "user"


def exit_code_for(run: RunRow) -> int:
    from runtui.domain.status import RunStatus

    match run.status:
        case RunStatus.SUCCEEDED:
            return EXIT_OK
        case RunStatus.FAILED | RunStatus.FAILED_POLICY:
            return EXIT_RUN_FAILED
        case RunStatus.CANCELLED:
            return EXIT_RUN_CANCELLED
        case RunStatus.AWAITING_APPROVAL:
            return EXIT_RUN_WAITING
    return EXIT_ERROR


# --- the embedded runtime -------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


def _say(text: str, as_json: bool) -> None:
    """Human lines go to stdout, or to stderr when stdout carries JSON."""
    click.echo(text, err=as_json)


@asynccontextmanager
async def open_runtime(
    c: Context, *, resume: bool = True, about: str | None = None
) -> AsyncIterator[Runtime]:
    """Own the database with the runtime; resume every interrupted run, and say which ones
    this command will drive besides the run it is `about`."""
    from actors.runtime import Runtime
    from runtui.domain.status import RunStatus

    c.setup_logging()
    async with Runtime.open(c.settings, resume=False) as rt:
        from runtui.gc_tuning import tune_gc

        tune_gc()
        if resume:
            live = await rt.reader.live_runs()
            resumed = set(await rt.resume_interrupted())
            # Runs that were only waiting for a human are reloaded quietly; the others were
            # cut off mid-run by a process that stopped, and this one now drives them on.
            cut_off = [
                r.run_id
                for r in live
                if r.run_id in resumed
                and r.run_id != about
                and r.status is not RunStatus.AWAITING_APPROVAL
            ]
            if cut_off:
                _echo_err(
                    f"resumed {len(cut_off)} interrupted run(s): {', '.join(cut_off)}"
                    " (driven on by this command too, until they finish or wait for approval)"
                )
        yield rt


def _idle(rt: Runtime) -> bool:
    """`Runtime.is_idle`, plus: no attempt is between its dispatch and its analysis."""
    return rt.is_idle() and not any(g.inflight for g in rt.analyzer.graphs.values())


async def drive(rt: Runtime) -> None:
    """Return once the runtime is idle and stays idle for SETTLE_S with nothing committed.

    `Runtime.is_idle` reads the actors' state, which looks idle for an instant while a message
    is still travelling between actors: with a gate waiting in one branch, a task of another
    branch can sit in the dispatcher's mailbox, not yet counted anywhere, so `wait_idle`
    returns before it runs. The analyzer's in-flight set covers dispatch to analysis; a quiet
    moment with no commit covers the remaining hops (each ends in a commit within
    milliseconds).
    """
    import anyio

    while True:
        await rt.wait_idle()
        if not _idle(rt):
            sub = rt.subscribe()
            try:
                with anyio.move_on_after(0.5):  # re-check on the next commit, or soon
                    await sub.receive()
            finally:
                sub.close()
            continue
        sub = rt.subscribe()
        try:
            with anyio.move_on_after(SETTLE_S) as quiet:
                await sub.receive()
        finally:
            sub.close()
        if quiet.cancel_called and _idle(rt):
            return


def print_event(env: EventEnvelope, as_json: bool) -> None:
    """One event as `--follow` prints it: a JSON line, or `time #seq kind summary` lines."""
    if as_json:
        click.echo(to_json(env))
    else:
        for line in event_lines(env):
            click.echo(line)


class Follower:
    """Prints one run's events as they commit, in seq order, none twice, none missed.

    Subscribes before it reads the store, so an event is either already in the store or will
    arrive on the subscription; after a `Lagged` marker it re-reads the store from the last
    seq it printed.
    """

    def __init__(self, rt: Runtime, run_id: str, as_json: bool, after_seq: int = 0) -> None:
        self.rt = rt
        self.run_id = run_id
        self.as_json = as_json
        self.last_seq = after_seq

    def show(self, env: EventEnvelope) -> None:
        if env.seq <= self.last_seq:
            return
        self.last_seq = env.seq
        print_event(env, self.as_json)

    async def catch_up(self) -> None:
        while True:
            batch = await self.rt.reader.events_after(self.run_id, self.last_seq, limit=1000)
            for env in batch:
                self.show(env)
            if len(batch) < 1000:
                return

    async def run(self) -> None:
        from actors.bus import Lagged

        sub = self.rt.subscribe(run_id=self.run_id)
        try:
            await self.catch_up()
            async for delivery in sub:
                if isinstance(delivery, Lagged):
                    await self.catch_up()
                    continue
                if delivery and delivery[0].seq > self.last_seq + 1:
                    await self.catch_up()  # a gap: the store has what the queue does not
                for env in delivery:
                    self.show(env)
        finally:
            sub.close()


async def drive_run(
    c: Context,
    rt: Runtime,
    run_id: str,
    *,
    follow: bool,
    as_json: bool,
    after_seq: int = 0,
    cancelled_ok: bool = False,
) -> int:
    """Drive until idle (printing the run's events after `after_seq` with `follow`), report
    the run, return the exit code its status calls for."""
    import anyio

    if follow:
        follower = Follower(rt, run_id, as_json, after_seq)
        async with anyio.create_task_group() as tg:
            tg.start_soon(follower.run)
            await drive(rt)
            tg.cancel_scope.cancel()
        await follower.catch_up()
    else:
        await drive(rt)
    run = await rt.reader.get_run(run_id)
    return await report_run(
        c, rt.reader, run, follow=follow, as_json=as_json, cancelled_ok=cancelled_ok
    )


async def report_run(
    c: Context, reader: RunReads, run: RunRow, *, follow: bool, as_json: bool, cancelled_ok: bool
) -> int:
    """Print where the run stands (with `--json`, the run itself) and return its exit code."""
    lines = await outcome_lines(c, reader, run)
    if as_json:
        if not follow:
            click.echo(to_json(run))
        for line in lines:
            _echo_err(line)
    else:
        if follow:
            click.echo("")
        for line in lines:
            click.echo(line)
    code = exit_code_for(run)
    if cancelled_ok and code == EXIT_RUN_CANCELLED:
        return EXIT_OK
    return code


class RunReads(Protocol):
    """What `outcome_lines` reads: the store's reader, or a server's `HttpClient`."""

    async def tasks_of(self, run_id: str) -> list[TaskRow]: ...
    async def attempts_of(self, run_id: str) -> list[AttemptRow]: ...
    async def violations_of(self, run_id: str) -> list[ViolationRow]: ...
    async def approvals_of(self, run_id: str) -> list[ApprovalRow]: ...


async def outcome_lines(c: Context, reader: RunReads, run: RunRow) -> list[str]:
    """Where a run stands, in a few lines: status, tasks, failures, what to do next."""
    from runtui.domain.status import RunStatus
    from runtui.domain.termination import RunTerminationReason

    tasks = await reader.tasks_of(run.run_id)
    head = f"run {run.run_id} ({run.workflow}): {run.status.value}"
    if run.status.is_terminal:
        head += f" after {fmt_took(run.created_at, run.ended_at)}"
        reason = run.termination_reason
        if reason is not None and reason is not RunTerminationReason.COMPLETED:
            head += f" · {reason.value}"
            if run.stopped_at_step is not None:
                head += f" at step {run.stopped_at_step}"
        if run.error_message and run.status is not RunStatus.SUCCEEDED:
            head += f": {run.error_message}"
    lines = [head]
    if tasks:
        counts = Counter(t.status for t in tasks)
        order = ["done", "failed", "skipped", "cancelled", "awaiting_approval", "running"]
        parts = [f"{counts[s]} {s}" for s in order if counts[s]]
        parts += [f"{n} {s}" for s, n in counts.items() if s not in order]
        lines.append(f"  tasks: {' · '.join(parts)}")
    failed = [t for t in tasks if t.status == "failed"]
    if failed:
        last = {a.task_id: a for a in await reader.attempts_of(run.run_id)}
        for t in failed:
            a = last.get(t.task_id)
            detail = ""
            if a is not None:
                detail = a.error or (f"exit {a.exit_code}" if a.exit_code is not None else "")
                tail = (a.output_tail or "").strip().splitlines()
                if tail:
                    detail += f" · last output: {tail[-1]}"
            allowed = " (allowed to fail)" if t.allow_failure else ""
            detail = shorten(detail, 90)
            lines.append(f"  failed: {t.task_id}{allowed}" + (f": {detail}" if detail else ""))
    violations = await reader.violations_of(run.run_id)
    if violations:
        kinds = Counter(
            f"{v.violation_type.value} ({v.severity.value}) -> {v.action}" for v in violations
        )
        lines.append(
            "  violations: "
            + " · ".join(f"{k}" + (f" ×{n}" if n > 1 else "") for k, n in kinds.items())
        )
    if run.status is RunStatus.AWAITING_APPROVAL:
        for ap in await reader.approvals_of(run.run_id):
            if not ap.pending:
                continue
            what = f"{ap.kind.value} approval" + (f" for {ap.task_id}" if ap.task_id else "")
            lines.append(f"  waiting: {what}: {ap.prompt or DASH}")
            lines.append(f"    approve: {c.command('approve', ap.approval_id)}")
            lines.append(f"    reject:  {c.command('reject', ap.approval_id, '--reason', 'TEXT')}")
    elif not run.status.is_terminal:
        lines.append(
            "  the run is still live: it resumes the next time a runtui command opens this"
            f" database ({c.command('resume', run.run_id)})"
        )
    if run.status in (RunStatus.FAILED, RunStatus.FAILED_POLICY):
        lines.append(f"  details: {c.command('runs', 'show', run.run_id)}")
    return lines


def _follow_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the final run as JSON (with --follow: each event as a JSON line).",
    )(fn)
    return click.option(
        "--follow", "-f", is_flag=True, help="Print the run's events as they commit."
    )(fn)


def _finish(code: int) -> None:
    if code:
        sys.exit(code)


# --- run ----------------------------------------------------------------------------------------


@main.command("run")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@_follow_options
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
                run_id = await rt.submit(workflow, force=force, metadata={"file": str(file)})
            except WorkflowBlockedError:
                health = await rt.health_of(workflow.name)
                raise UsageProblem(
                    f"workflow {workflow.name} is blocked ({'; '.join(health.reasons)}):"
                    f" clear it with `{c.command('health', '--clear', workflow.name)}`"
                    " or run it anyway with --force"
                ) from None
            waves = workflow.wave_count
            intro = (
                f"run {run_id}: {workflow.name} from {file}"
                f" ({_plural(len(workflow.tasks), 'task')} in {_plural(waves, 'wave')})"
            )
            if as_json:
                _echo_err(intro)
            else:
                click.echo(intro)
            return await drive_run(c, rt, run_id, follow=follow, as_json=as_json)

    _finish(_run(go))


# --- approvals ----------------------------------------------------------------------------------


@main.command("approvals")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def approvals_cmd(c: Context, as_json: bool) -> None:
    """Pending approvals of live runs, oldest first."""
    from runtui.cli.remote import reads

    async def go() -> None:
        async with reads(c) as reader:
            pending = []
            for ap in await reader.pending_approvals():
                run = await reader.get_run(ap.run_id)
                if not run.status.is_terminal:  # an ended run's request can no longer matter
                    pending.append(ap)
        if as_json:
            for ap in pending:
                click.echo(to_json(ap))
            return
        if not pending:
            click.echo("no pending approvals")
            return
        now = time.time()
        rows = [
            [
                ap.approval_id,
                ap.run_id,
                ap.kind.value,
                ap.task_id or DASH,
                fmt_age(ap.requested_at, now),
                shorten(ap.prompt, 60) or DASH,
            ]
            for ap in pending
        ]
        for line in table(["approval", "run", "kind", "task", "age", "prompt"], rows, right="age"):
            click.echo(line)
        approve, reject = c.command("approve", "ID"), c.command("reject", "ID", "--reason", "TEXT")
        click.echo(f"decide: {approve}  or  {reject}")

    _run(go)


async def _decidable(c: Context, approval_id: str) -> ApprovalRow:
    """The approval, checked from the store before anything is owned: unknown (exit 3),
    already decided (exit 2, naming the first decision, as the runtime would), or pending for
    a run that has ended (exit 2)."""
    from actors.kernel import ApprovalAlreadyDecided
    from store import open_reader

    async with open_reader(c.db) as reader:
        ap = await reader.get_approval(approval_id)
        if ap.decision is not None:
            first = f"{ap.decision.value} by {ap.decided_by or 'unknown'}"
            raise ApprovalAlreadyDecided(approval_id, first)
        run = await reader.get_run(ap.run_id)
    if run.status.is_terminal:
        raise UsageProblem(
            f"approval {approval_id} can no longer be decided: its run {ap.run_id} ended"
            f" ({run.status.value}) before anyone decided it"
        )
    return ap


async def _check_edits(c: Context, ap: ApprovalRow, edits: dict[str, Any]) -> None:
    """Plan edits name tasks of the run's workflow: checked here, before the runtime sees
    them, so a typo is refused without deciding anything."""
    from actors.resume import load_workflow_of
    from store import open_reader

    if ap.kind.value != "plan":
        raise UsageProblem(f"--edits applies to plan approvals; {ap.approval_id} is a {_what(ap)}")
    unknown_keys = sorted(set(edits) - {"skip"})
    skip = edits.get("skip", [])
    if unknown_keys or not isinstance(skip, list) or not all(isinstance(t, str) for t in skip):
        raise UsageProblem(
            '--edits: the only edit is {"skip": ["task", ...]}'
            + (f"; unknown: {', '.join(unknown_keys)}" if unknown_keys else "")
        )
    async with open_reader(c.db) as reader:
        workflow, _ = await load_workflow_of(reader, ap.run_id)
    known = {t.id for t in workflow.tasks}
    missing = [t for t in skip if t not in known]
    if missing:
        raise UsageProblem(
            f"--edits: workflow {workflow.name} has no task {', '.join(map(repr, missing))};"
            f" its tasks: {', '.join(sorted(known))}"
        )


def _what(ap: ApprovalRow) -> str:
    return f"{ap.kind.value} approval" + (f" for {ap.task_id}" if ap.task_id else "")


@main.command("approve")
@click.argument("approval_id")
@click.option("--by", default=_user, show_default="your login name", help="Who decides.")
@click.option("--reason", default="", help="Why (recorded with the decision).")
@click.option("--edits", help='Plan approvals only: JSON edits, e.g. \'{"skip": ["task"]}\'.')
@_follow_options
@pass_ctx
def approve_cmd(
    c: Context,
    approval_id: str,
    by: str,
    reason: str,
    edits: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Approve a pending approval and drive its run on (to its end, or the next approval).

    Exit code as for `run`; 2 if the approval was already decided (the message says how and
    by whom).
    """
    parsed: dict[str, Any] | None = None
    if edits is not None:
        try:
            value = json.loads(edits)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--edits") from None
        if not isinstance(value, dict) or not value:
            raise click.BadParameter(
                'must be a non-empty JSON object, e.g. \'{"skip": ["task"]}\'',
                param_hint="--edits",
            )
        parsed = value

    async def go() -> int:
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import decide_remote

            return await decide_remote(
                c,
                url,
                approval_id,
                approve=True,
                by=by,
                reason=reason,
                edits=parsed,
                follow=follow,
                as_json=as_json,
            )
        ap = await _decidable(c, approval_id)
        if parsed is not None:
            await _check_edits(c, ap, parsed)
        async with open_runtime(c, about=ap.run_id) as rt:
            seen = (await rt.reader.get_run(ap.run_id)).last_seq
            await rt.approve(approval_id, by=by, reason=reason, edits=parsed)
            note = f"approved {approval_id} ({_what(ap)} of run {ap.run_id}) by {by}"
            if parsed:
                note += f" with edits {json.dumps(parsed)}"
            _say(note, as_json)
            return await drive_run(c, rt, ap.run_id, follow=follow, as_json=as_json, after_seq=seen)

    _finish(_run(go))


@main.command("reject")
@click.argument("approval_id")
@click.option("--reason", required=True, help="Why (required; recorded with the decision).")
@click.option("--by", default=_user, show_default="your login name", help="Who decides.")
@_follow_options
@pass_ctx
def reject_cmd(
    c: Context, approval_id: str, reason: str, by: str, follow: bool, as_json: bool
) -> None:
    """Reject a pending approval; its run fails with approval_rejected (exit 5)."""
    if not reason.strip():
        raise click.BadParameter("must say why", param_hint="--reason")

    async def go() -> int:
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import decide_remote

            return await decide_remote(
                c,
                url,
                approval_id,
                approve=False,
                by=by,
                reason=reason,
                edits=None,
                follow=follow,
                as_json=as_json,
            )
        ap = await _decidable(c, approval_id)
        async with open_runtime(c, about=ap.run_id) as rt:
            seen = (await rt.reader.get_run(ap.run_id)).last_seq
            await rt.reject(approval_id, reason=reason, by=by)
            note = f"rejected {approval_id} ({_what(ap)} of run {ap.run_id}) by {by}: {reason}"
            _say(note, as_json)
            return await drive_run(c, rt, ap.run_id, follow=follow, as_json=as_json, after_seq=seen)

    _finish(_run(go))


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
@_follow_options
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
                click.echo(f"rewind of run {run_id} to wave {wave} (dry run: nothing changed)")
                for line in plan_lines(plan):
                    click.echo(line)
                return EXIT_OK
            plan = await rt.rewind(run_id, wave, force=force)
            assert plan.new_run_id is not None
            out = _echo_err if as_json else click.echo
            out(f"run {plan.new_run_id}: fork of {run_id} rewound to wave {wave}")
            for line in plan_lines(plan):
                out(line)
            return await drive_run(c, rt, plan.new_run_id, follow=follow, as_json=as_json)

    _finish(_run(go))


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
@_follow_options
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
            _say(note, as_json)
            return await drive_run(c, rt, new_id, follow=follow, as_json=as_json)

    _finish(_run(go))


@main.command("resume")
@click.argument("run_id", required=False)
@_follow_options
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
                    click.echo("no interrupted runs")
                    return EXIT_OK
                click.echo(f"resumed {len(resumed)} run(s)")
                await drive(rt)
                for rid in resumed:
                    run = await rt.reader.get_run(rid)
                    click.echo(f"  {rid} ({run.workflow}): {run.status.value}")
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

    _finish(_run(go))


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
        async with open_runtime(c, about=run_id) as rt:
            await rt.cancel(run_id)
            await rt.wait(run_id)
            return await drive_run(c, rt, run_id, follow=False, as_json=False, cancelled_ok=True)

    _finish(_run(go))
