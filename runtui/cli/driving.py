"""How a command drives the embedded runtime and reports a run: shared by the command modules.

The embedded model: a command that changes runs opens the actor runtime in this process
(`Runtime.open`), which owns the database and resumes every interrupted run. It does its thing
(submit, decide, fork, cancel), then drives every live run until the runtime is idle (each run
has finished or waits for a human) and exits; what still waits is persisted, for a later
`runtui approve`. `serve` keeps driving until SIGTERM/SIGINT.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import click

from runtui.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_RUN_CANCELLED,
    EXIT_RUN_FAILED,
    EXIT_RUN_WAITING,
    Context,
)
from runtui.cli.render import (
    DASH,
    echo,
    event_lines,
    fmt_secs,
    fmt_time,
    fmt_took,
    shorten,
    to_json,
)

if TYPE_CHECKING:
    from actors.runtime import Runtime
    from runtui.domain.events import EventEnvelope
    from runtui.domain.views import AttemptRow, TaskRow, ViolationRow
    from store.rows import ApprovalRow, RunRow

#: How long the runtime must stay idle, with nothing committed, before a command exits. Covers
#: the moment between one actor's commit and the next actor's reaction (see `drive`).
SETTLE_S = 0.15


def current_user() -> str:
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


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def echo_err(text: str) -> None:
    echo(text, err=True)


def say(text: str, as_json: bool) -> None:
    """Human lines go to stdout, or to stderr when stdout carries JSON."""
    echo(text, err=as_json)


@asynccontextmanager
async def open_runtime(
    c: Context, *, resume: bool = True, about: str | None = None, hold: bool = False
) -> AsyncIterator[Runtime]:
    """Own the database with the runtime; resume every interrupted run (but the run it is
    `about`, with `hold`: the command takes that one over itself), and say which ones this
    command will drive besides the run it is `about`."""
    from actors.runtime import Runtime
    from runtui.domain.status import RunStatus

    c.setup_logging()
    async with Runtime.open(c.settings, resume=False) as rt:
        from runtui.gc_tuning import tune_gc

        tune_gc()
        if resume:
            live = await rt.reader.live_runs()
            resumed = set(await rt.resume_interrupted(hold=about if hold else None))
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
                echo_err(
                    f"resumed {len(cut_off)} interrupted run(s): {', '.join(cut_off)}"
                    " (driven on by this command too, until they finish or wait for approval)"
                )
        yield rt


def idle(rt: Runtime) -> bool:
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
        if not idle(rt):
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
        if quiet.cancel_called and idle(rt):
            return


def print_event(env: EventEnvelope, as_json: bool) -> None:
    """One event as `--follow` prints it: a JSON line, or `time #seq kind summary` lines."""
    if as_json:
        click.echo(to_json(env))
    else:
        for line in event_lines(env):
            echo(line)


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
            echo_err(line)
    else:
        if follow:
            echo("")
        for line in lines:
            echo(line)
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
    """Where a run stands, in a few lines: status, tasks, failures, what to do next. Every
    string read is made one line and terminal-safe (`safe_fields`) before it is shown."""
    from runtui.domain.status import RunStatus
    from runtui.domain.terminal_text import safe_fields, terminal_safe
    from runtui.domain.termination import RunTerminationReason

    rid = run.run_id  # the stored id, to read by; what is shown is `run` made safe
    run = safe_fields(run)
    tasks = safe_fields(await reader.tasks_of(rid))
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
        last = {safe_fields(a.task_id): a for a in await reader.attempts_of(rid)}
        for t in failed:
            a = last.get(t.task_id)
            detail = ""
            if a is not None:
                error = safe_fields(a.error)
                detail = error or (f"exit {a.exit_code}" if a.exit_code is not None else "")
                # output as a terminal leaves it (`\r` rewrites a line), then its last line
                tail = terminal_safe(a.output_tail or "").strip().splitlines()
                if tail:
                    detail += f" · last output: {tail[-1]}"
            allowed = " (allowed to fail)" if t.allow_failure else ""
            detail = shorten(detail, 90)
            lines.append(f"  failed: {t.task_id}{allowed}" + (f": {detail}" if detail else ""))
    violations = safe_fields(await reader.violations_of(rid))
    if violations:
        kinds = Counter(
            f"{v.violation_type.value} ({v.severity.value}) -> {v.action}" for v in violations
        )
        lines.append(
            "  violations: "
            + " · ".join(f"{k}" + (f" ×{n}" if n > 1 else "") for k, n in kinds.items())
        )
    if run.status is RunStatus.AWAITING_APPROVAL:
        for ap in safe_fields(await reader.approvals_of(rid)):
            if not ap.pending:
                continue
            what = f"{ap.kind.value} approval" + (f" for {ap.task_id}" if ap.task_id else "")
            lines.append(f"  waiting: {what}: {ap.prompt or DASH}")
            lines.append(f"    if nobody decides: {if_undecided(ap)}")
            if ap.run_time_left_s is not None:
                lines.append(
                    f"    run timeout: {fmt_secs(ap.run_time_left_s)} left, paused while it waits"
                )
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


def if_undecided(ap: ApprovalRow, now: float | None = None) -> str:
    """What happens to a pending approval nobody decides, and when. The run's own timeout is
    paused meanwhile: it bounds execution, not waiting for a human."""
    if ap.timeout_s is None:
        return "it waits (no approval timeout; the run's timeout is paused at a gate)"
    left = ap.requested_at + ap.timeout_s - (time.time() if now is None else now)
    action = f"{ap.default_action.value} (its default)"
    if left <= 0:
        return f"{action} as soon as a runtime drives the run"
    return f"{action} in {fmt_secs(left)}, at {fmt_time(ap.requested_at + ap.timeout_s)}"


def follow_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the final run as JSON (with --follow: each event as a JSON line).",
    )(fn)
    return click.option(
        "--follow", "-f", is_flag=True, help="Print the run's events as they commit."
    )(fn)


def finish(code: int) -> None:
    if code:
        sys.exit(code)
