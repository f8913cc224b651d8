"""The `driven` operator: the attempt of a run whose work a program does itself (`runtui.rok`).

A program that brings its own runner (the kernel document's `create_rok`) submits a run with one
`driven` task and does the work in its own code; the kernel governs that run like any other. The
task's attempt is this operator waiting for the program: what the program logs becomes the
attempt's output (so `::usage` lines, content and PII policies apply to it), and when the
program says how the work went the attempt completes or fails with its error.

The program and the runtime share a process: a `Driver` is registered under the run's id before
the run is submitted. An attempt that finds no driver (the run was resumed by another process
after its program went away) fails at once, saying so: nobody is left to do the work.
"""

from __future__ import annotations

import math

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runtui.actors.operators.base import (
    AttemptContext,
    AttemptOutcome,
    OutputCollector,
    time_label,
    wrong_spec,
)
from runtui.domain.tasks import AttemptStatus
from runtui.domain.workflow import DrivenTask


class Driver:
    """The program's side of a driven run: where its log lines go and how its work ended."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._send: MemoryObjectSendStream[tuple[str, list[str]]]
        self._receive: MemoryObjectReceiveStream[tuple[str, list[str]]]
        self._send, self._receive = anyio.create_memory_object_stream(math.inf)
        self.started = anyio.Event()  # the attempt began: the kernel let the work start
        self.ended = anyio.Event()  # the attempt ended, whatever ended it
        self.success: bool | None = None
        self.error: str | None = None
        self.outcome: AttemptOutcome | None = None

    async def log(self, stream: str, lines: list[str]) -> None:
        """Lines of the work's output (stream "stdout" or "stderr")."""
        if not self.ended.is_set():
            await self._send.send((stream, lines))

    def close(self) -> None:
        """Let go of the line channel (the attempt ended, or the run ended without one)."""
        self._send.close()
        self._receive.close()

    def complete(self, success: bool, error: str | None = None) -> None:
        """The work is done; once its output is recorded the attempt ends as it says."""
        if self.success is None:
            self.success, self.error = success, error
            self._send.close()


#: run id -> its driver, in this process.
DRIVERS: dict[str, Driver] = {}


class DrivenOperator:
    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        if not isinstance(ctx.spec, DrivenTask):
            return wrong_spec(ctx, DrivenTask)
        driver = DRIVERS.get(ctx.run_id)
        if driver is None or driver.ended.is_set():
            return AttemptOutcome(
                status=AttemptStatus.FAILED,
                error="no program drives this run here any more (it exited, or this process"
                " took the run over from the one it ran in): its work cannot go on",
            )
        out = OutputCollector(ctx.emit, scan=ctx.scan)
        driver.started.set()
        try:
            with anyio.move_on_after(ctx.timeout_s) as deadline:
                async for stream, lines in driver._receive:
                    await out.add_all(stream, lines)
                    await out.flush(stream)
            await out.flush()
            if deadline.cancelled_caught:
                assert ctx.timeout_s is not None
                outcome = out.outcome(
                    AttemptStatus.FAILED, error=f"timed out after {time_label(ctx.timeout_s)}"
                )
            elif driver.success:
                outcome = out.outcome(AttemptStatus.COMPLETED)
            else:
                outcome = out.outcome(
                    AttemptStatus.FAILED, error=driver.error or "the program reported a failure"
                )
            driver.outcome = outcome
            return outcome
        finally:
            driver.ended.set()
            driver.close()
