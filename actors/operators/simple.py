"""The demo operators: `noop` succeeds at once, `sleep` waits (cancellable) then succeeds."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from runtui.actors.operators.base import AttemptContext, AttemptOutcome, time_label, wrong_spec
from runtui.domain.tasks import AttemptStatus
from runtui.domain.workflow import NoopTask, SleepTask


class NoopOperator:
    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        if not isinstance(ctx.spec, NoopTask):
            return wrong_spec(ctx, NoopTask)
        await anyio.lowlevel.checkpoint()
        return AttemptOutcome(status=AttemptStatus.COMPLETED)


class SleepOperator:
    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        spec = ctx.spec
        if not isinstance(spec, SleepTask):
            return wrong_spec(ctx, SleepTask)
        with anyio.move_on_after(ctx.timeout_s) as deadline:
            await anyio.sleep(spec.seconds)
        if deadline.cancelled_caught:
            assert ctx.timeout_s is not None
            return AttemptOutcome(
                status=AttemptStatus.FAILED,
                error=f"timed out after {time_label(ctx.timeout_s)}",
            )
        return AttemptOutcome(status=AttemptStatus.COMPLETED)
