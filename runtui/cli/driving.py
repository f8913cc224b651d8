"""How a command drives a run through the port and reports it: shared by the command modules.

A command that changes runs gets a port (`open_port`): a server's API when there is one, else
the actor runtime embedded in this process, which takes over every live run nobody drives and
hands verbs on runs another process drives to that process. It does its thing (submit, decide,
fork, cancel) once, against the port, then waits until the run has settled and this process
has nothing left to drive (`settle`), reports the run and exits; what still waits is persisted,
for a later `runtui approve`. `serve` keeps driving until SIGTERM/SIGINT.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import anyio
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
    from runtui.api import Port
    from runtui.domain.events import EventEnvelope
    from runtui.domain.views import ApprovalRow, AttemptRow, RunRow, TaskRow, ViolationRow
    from runtui.embedded import EmbeddedRuntime


def current_user() -> str:
    """Who decides from this shell, by default: user@host (`--by` says otherwise)."""
    from runtui.identity import who_decides

    return who_decides()


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
    c: Context,
    *,
    resume: bool = True,
    about: str | None = None,
    hold: bool = False,
    adopt: bool = False,
) -> AsyncIterator[EmbeddedRuntime]:
    """Start the runtime here; take over every live run nobody drives (but the run it is
    `about`, with `hold`: the command takes that one over itself), and say which ones this
    command will drive besides the run it is `about`. With `adopt` (`serve`) it keeps taking
    over the runs of processes that stop, for as long as it runs."""
    from runtui.domain.status import RunStatus
    from runtui.embedded import EmbeddedRuntime

    c.setup_logging()
    async with EmbeddedRuntime.open(c.settings, resume=False, adopt=adopt) as rt:
        from runtui.gc_tuning import tune_gc

        tune_gc()
        if resume:
            live = await rt.live_runs()
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


@asynccontextmanager
async def open_port(
    c: Context, *, resume: bool = True, about: str | None = None, hold: bool = False
) -> AsyncIterator[Port]:
    """What a runtime command acts through: the server's API when one is given (`--server`)
    or serves the database; else the runtime embedded in this process (`open_runtime`), beside
    any other process driving runs of the database (a verb on a run one of them drives goes to
    it as a command, `actors.delegate`). The command is written once, against the port; only
    where it runs differs."""
    if (url := c.remote_url()) is not None:
        from runtui.cli.remote import connect, through

        through(c, url)
        async with connect(url) as client:
            yield client
        return
    async with open_runtime(c, resume=resume, about=about, hold=hold) as rt:
        yield rt


@asynccontextmanager
async def reading(c: Context) -> AsyncIterator[Port]:
    """A port that only reads, for the checks a command makes before it owns anything: the
    server's with `--server`, else the database read directly (never created: a missing one
    is exit 3), with no runtime started."""
    if c.server is not None:
        from runtui.cli.remote import connect

        c.setup_logging()
        async with connect(c.server) as client:
            yield client
        return
    from runtui.embedded import EmbeddedRuntime

    async with EmbeddedRuntime.open(c.settings, read_only=True) as view:
        yield view


def print_event(env: EventEnvelope, as_json: bool) -> None:
    """One event as `--follow` prints it: a JSON line, or `time #seq kind summary` lines."""
    if as_json:
        click.echo(to_json(env))
    else:
        for line in event_lines(env):
            echo(line)


async def settle(port: Port, run_id: str, *, follow: bool, as_json: bool, after_seq: int) -> None:
    """Return once the run has settled and this process has nothing left to drive
    (`Port.wait`, then `Port.drain`: an embedded runtime also drives the runs it resumed);
    with `follow`, print the run's events after `after_seq` meanwhile, each once, in order,
    up to the last one committed."""
    if not follow:
        await port.wait(run_id)
        await port.drain()
        return
    printed = after_seq
    target: int | None = None
    reached = anyio.Event()

    async def printer() -> None:
        nonlocal printed
        async for env in port.events(run_id, after=after_seq):
            print_event(env, as_json)
            printed = env.seq
            if target is not None and printed >= target:
                break
        reached.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(printer)
        await port.wait(run_id)
        await port.drain()
        target = (await port.get_run(run_id)).last_seq
        if printed < target:
            await reached.wait()
        tg.cancel_scope.cancel()


async def drive_run(
    c: Context,
    port: Port,
    run_id: str,
    *,
    follow: bool,
    as_json: bool,
    after_seq: int = 0,
    cancelled_ok: bool = False,
) -> int:
    """Let the run settle (printing its events after `after_seq` with `follow`), report it,
    return the exit code its status calls for."""
    await settle(port, run_id, follow=follow, as_json=as_json, after_seq=after_seq)
    run = await port.get_run(run_id)
    return await report_run(c, port, run, follow=follow, as_json=as_json, cancelled_ok=cancelled_ok)


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
    """What `outcome_lines` reads (any `Port` has it)."""

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
                stop = next(
                    (
                        v
                        for v in await reader.violations_of(rid)
                        if v.action == "stop" and v.step_index == run.stopped_at_step
                    ),
                    None,
                )
                from runtui.domain.why import place

                if stop is not None and stop.task_id is not None:
                    head += f" at {place(stop.task_id, stop.attempt, None)}"
                else:
                    head += f" {place(None, None, run.stopped_at_step)}"
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
