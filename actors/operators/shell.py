"""The shell operator: `/bin/sh -c cmd` as a real subprocess, output streamed in batches.

The child starts in its own session (`start_new_session=True`), so it leads a new process group
and everything it starts belongs to that group unless it detaches on purpose (setsid). The group
is reported to the caller once it exists, and its leader dies with the runtime that started it
(`actors.operators.process_group`: after kill -9 nothing of an attempt runs on beside the attempt
that replaces it). Stopping a task stops the group, grandchildren included:

- timeout: SIGTERM to the group, `kill_grace_s` for the leader to exit, then SIGKILL to the
  group; the attempt fails with "timed out after Ns".
- cancellation of the caller's scope: the same, shielded, then the cancellation is re-raised.
- normal exit: whatever the task left running in its group (`cmd &` without `wait`) is killed
  with SIGKILL. A task is its process group; leftovers would otherwise hold the output pipes
  open and outlive the run.

stdout and stderr are read concurrently, split into lines (utf-8, undecodable bytes replaced,
trailing newline stripped) and handed to the `OutputCollector`, which batches them to the sink.
stdin is /dev/null: a task never reads the terminal the UI is drawn on.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import NamedTuple

import anyio
from anyio.abc import ByteReceiveStream, Process

from runtui.actors.operators.base import (
    STDERR,
    STDOUT,
    AttemptContext,
    AttemptOutcome,
    OutputCollector,
    time_label,
    wrong_spec,
)
from runtui.actors.operators.process_group import PDEATHSIG_PREFIX, describe
from runtui.domain.events import ProcessGroupRef
from runtui.domain.task_env import NEVER_PREFIX, task_cwd
from runtui.domain.tasks import AttemptStatus
from runtui.domain.workflow import ShellTask

SHELL = "/bin/sh"
KILL_GRACE_S = 2.0  # SIGTERM -> SIGKILL
DRAIN_S = 1.0  # after the group is dead: how long a pipe held by an escaped process is read
REAP_S = 5.0  # after SIGKILL: how long to wait for the leader to be reaped
MAX_LINE_BYTES = 64 * 1024  # a longer line without a newline is cut into pieces of this size


class CommandResult(NamedTuple):
    returncode: int | None  # None when the command could not be started
    timed_out: bool
    start_error: str | None = None


def task_env(ctx: AttemptContext, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The run's recorded environment (`runtui.domain.task_env`; for a run recorded before
    there was one, the driving process's, without RUNTUI_*) + the task's own variables + what
    identifies the attempt."""
    if ctx.run_env is not None:
        env = dict(ctx.run_env.env)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith(NEVER_PREFIX)}
    if extra:
        env.update(extra)
    env.update(
        RUNTUI_RUN_ID=ctx.run_id,
        RUNTUI_TASK_ID=ctx.task_id,
        RUNTUI_ATTEMPT=str(ctx.attempt),
        RUNTUI_IDEMPOTENCY_KEY=ctx.idempotency_key,
    )
    return env


def exit_error(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by signal {name}"
    return f"exit code {returncode}"


class ShellOperator:
    def __init__(self, kill_grace_s: float = KILL_GRACE_S) -> None:
        self.kill_grace_s = kill_grace_s

    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        spec = ctx.spec
        if not isinstance(spec, ShellTask):
            return wrong_spec(ctx, ShellTask)
        out = OutputCollector(ctx.emit, scan=ctx.scan)
        result = await run_command(
            spec.cmd,
            env=task_env(ctx, spec.env),
            cwd=task_cwd(ctx.run_env, spec.cwd),
            out=out,
            timeout_s=ctx.timeout_s,
            kill_grace_s=self.kill_grace_s,
            on_spawn=ctx.on_spawn,
        )
        if result.start_error is not None:
            return out.outcome(AttemptStatus.FAILED_INIT, error=result.start_error)
        if result.timed_out:
            assert ctx.timeout_s is not None
            return out.outcome(
                AttemptStatus.FAILED,
                exit_code=result.returncode,
                error=f"timed out after {time_label(ctx.timeout_s)}",
            )
        assert result.returncode is not None
        if result.returncode == 0:
            return out.outcome(AttemptStatus.COMPLETED, exit_code=0)
        return out.outcome(
            AttemptStatus.FAILED,
            exit_code=result.returncode,
            error=exit_error(result.returncode),
        )


async def run_command(
    cmd: str | Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    out: OutputCollector,
    timeout_s: float | None,
    kill_grace_s: float = KILL_GRACE_S,
    keep_leftovers: bool = False,
    on_spawn: Callable[[ProcessGroupRef], Awaitable[None]] | None = None,
) -> CommandResult:
    """Run `cmd` with /bin/sh (or, given as a list, that program itself), feeding its output
    to `out`; see the module docstring.

    `keep_leftovers` spares what a *successful* command left running in its group: an
    external task's `submit` may start the job itself in the background.

    `on_spawn` is told the new process group (to record it) before any output is read. Unless
    leftovers are kept on purpose, the shell dies with the process that started it (a
    parent-death signal); see `process_group`.

    Errors raised by the output sink propagate (unwrapped from the task group).
    """
    prefix = () if keep_leftovers else PDEATHSIG_PREFIX
    argv = [SHELL, "-c", cmd] if isinstance(cmd, str) else list(cmd)
    try:
        process = await anyio.open_process(
            [*prefix, *argv],
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        where = f" in {cwd!r}" if cwd is not None else ""
        return CommandResult(None, False, f"cannot start{where}: {exc}")

    timed_out = False
    reading = _ReadDeadline()
    try:
        if on_spawn is not None:
            group = describe(process.pid)
            if group is not None:
                await on_spawn(group)
        try:
            async with anyio.create_task_group() as tg:
                assert process.stdout is not None
                assert process.stderr is not None
                tg.start_soon(_pump, process.stdout, STDOUT, out, reading)
                tg.start_soon(_pump, process.stderr, STDERR, out, reading)
                with anyio.move_on_after(timeout_s) as deadline:
                    await process.wait()
                if deadline.cancelled_caught:
                    timed_out = True
                    await _terminate(process, kill_grace_s)
                if timed_out or not keep_leftovers:
                    _signal_group(process, signal.SIGKILL)  # leftovers of a finished task
                # Pipes reach EOF once every process holding them is dead; one that escaped
                # the group (setsid) could hold them forever, so reading stops after DRAIN_S.
                reading.set(anyio.current_time() + DRAIN_S)
        except BaseExceptionGroup as group:
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from group
            raise
    except BaseException:
        # Cancelled (or the sink failed): stop the group before letting the exception go,
        # and hand on what was read so far, within bounds.
        with anyio.CancelScope(shield=True):
            await _terminate(process, kill_grace_s)
            with anyio.move_on_after(DRAIN_S), suppress(Exception):
                await out.flush()
        raise
    finally:
        with anyio.CancelScope(shield=True):
            if not keep_leftovers or process.returncode is None:
                _signal_group(process, signal.SIGKILL)
            with anyio.move_on_after(REAP_S):
                await process.aclose()
    await out.flush()
    return CommandResult(process.returncode, timed_out)


def _signal_group(process: Process, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(process.pid, sig)


async def _terminate(process: Process, kill_grace_s: float) -> None:
    """SIGTERM the group, give the leader `kill_grace_s` to exit, then SIGKILL the group."""
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            _signal_group(process, signal.SIGTERM)
            with anyio.move_on_after(kill_grace_s):
                await process.wait()
        _signal_group(process, signal.SIGKILL)
        with anyio.move_on_after(REAP_S):
            await process.wait()


class _ReadDeadline:
    """A deadline for every pending read, that can be moved earlier while reads wait."""

    def __init__(self) -> None:
        self.deadline = math.inf
        self._scopes: set[anyio.CancelScope] = set()

    def set(self, deadline: float) -> None:
        self.deadline = deadline
        for scope in self._scopes:
            scope.deadline = min(scope.deadline, deadline)

    @property
    def passed(self) -> bool:
        return anyio.current_time() >= self.deadline

    @contextmanager
    def scope(self, deadline: float) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope(deadline=min(deadline, self.deadline)) as scope:
            self._scopes.add(scope)
            try:
                yield scope
            finally:
                self._scopes.discard(scope)


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")


async def _pump(
    stream: ByteReceiveStream, name: str, out: OutputCollector, reading: _ReadDeadline
) -> None:
    """Read one pipe to EOF, line by line; flush the batch when it is due even if idle."""
    pending = b""
    while True:
        due = out.due_in(name)
        flush_at = math.inf if due is None else anyio.current_time() + due
        chunk = b""
        with reading.scope(flush_at) as scope:
            try:
                chunk = await stream.receive()
            except anyio.EndOfStream:
                break
        if scope.cancelled_caught:
            if reading.passed:
                break
            await out.flush(name)
            continue
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            await out.add(name, _decode(raw))
        while len(pending) > MAX_LINE_BYTES:
            await out.add(name, _decode(pending[:MAX_LINE_BYTES]))
            pending = pending[MAX_LINE_BYTES:]
    if pending:
        await out.add(name, _decode(pending))
    await out.flush(name)
