"""The run timeout's clock: it bounds execution, not the time a human takes to answer.

The clock runs while a run is in any status but `awaiting_approval` and `paused`
(`runtui.domain.recall.WAITING_FOR_HUMAN`), stops while it waits for a person and goes on with
what is left afterwards; a run taken over from another process starts from the time its events
say it used (`RunRecall.active_seconds`), so a resume never restarts it.

A mixin of `Kernel`, kept apart because the clock is its own idea; the kernel's parts used here
are declared below for the type checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtui.actors import messages as m
from runtui.actors.run_control import RunCtl
from runtui.actors.step import Clock, Outbox
from runtui.domain.recall import WAITING_FOR_HUMAN
from runtui.domain.termination import RunTerminationReason


class RunClock:
    clock: Clock

    if TYPE_CHECKING:  # provided by Kernel and StepActor

        def _stop(self, msg: m.StopRun, out: Outbox) -> None: ...
        def schedule(self, key: tuple[str, str], delay: float, message: Any) -> None: ...
        def cancel_timer(self, key: tuple[str, str]) -> None: ...

    def _run_clock(self, ctl: RunCtl) -> None:
        """Stop or restart the clock after the run's status changed."""
        waiting = ctl.status in WAITING_FOR_HUMAN
        if waiting and ctl.active_since is not None:
            ctl.active_s += self.clock() - ctl.active_since
            ctl.active_since = None
            self.cancel_timer((ctl.run_id, "run_timeout"))
        elif not waiting and ctl.active_since is None and not ctl.finalized:
            ctl.active_since = self.clock()
            self.schedule(
                (ctl.run_id, "run_timeout"),
                max(0.0, ctl.timeout_s - ctl.active_s),
                m.Timer(run_id=ctl.run_id, what="run_timeout"),
            )

    def _run_time_left(self, ctl: RunCtl) -> float:
        """What is left of the run timeout now."""
        return max(0.0, ctl.timeout_s - self._run_time_used(ctl))

    def _run_time_used(self, ctl: RunCtl) -> float:
        used = ctl.active_s
        if ctl.active_since is not None:
            used += self.clock() - ctl.active_since
        return used

    def _run_timed_out(self, ctl: RunCtl, out: Outbox) -> None:
        """The timer fired: stop the run, unless it is waiting for a human meanwhile."""
        if ctl.active_since is None:
            return
        self._stop(
            m.StopRun(
                run_id=ctl.run_id,
                reason=RunTerminationReason.TIMEOUT,
                error=f"run timed out after {self._run_time_used(ctl):.1f}s of execution"
                f" (its timeout is {ctl.timeout_s:g}s; time waiting for approval not counted)",
            ),
            out,
        )
