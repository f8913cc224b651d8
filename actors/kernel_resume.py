"""The kernel taking over a run that another process drove: after a crash or SIGTERM, or as a
hand-over (an embedded `approve`, `resume`).

The run must mean the same thing whichever process drives it, so every actor gets back the
per-run state it would have had in one process, from the store (`actors.resume.plan_resume`,
`runtui.domain.recall`): the kernel its stop reasons, its run-timeout clock, its pending
approvals with their deadlines; governance its budgets, rate window and fired policies; the
trace its open phase span; the analyzer its task graph, attempt counts and approved tasks; the
incident facade the run outcome it has not acknowledged yet. What an interrupted attempt left
running is killed before anything runs again (`actors.operators.process_group`).

A mixin of `Kernel`, kept apart because taking over is its own idea; the kernel's state and
moves used here are declared below for the type checker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from runtui.actors import messages as m
from runtui.actors.operators.process_group import kill_group, kill_marked
from runtui.actors.resume import ResumePlan, plan_resume
from runtui.actors.run_control import Peers, RunCtl
from runtui.actors.step import Clock, Outbox
from runtui.config import Settings
from runtui.domain.audit import INCIDENT_EXPECTATION
from runtui.domain.phases import PhaseMachine, RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason, task_failure_text
from runtui.domain.violations import ONCE_PER_RUN
from runtui.store.queries import StoreReader

log = logging.getLogger(__name__)


class KernelResume:
    """Resuming runs (see the module docstring)."""

    runs: dict[str, RunCtl]
    approval_owner: dict[str, str]
    reader: StoreReader
    settings: Settings
    clock: Clock

    if TYPE_CHECKING:  # provided by Kernel and StepActor

        @property
        def p(self) -> Peers: ...
        def _set_status(
            self, ctl: RunCtl, status: RunStatus, out: Outbox, reason: str = ""
        ) -> None: ...
        def _run_clock(self, ctl: RunCtl) -> None: ...
        def _stop(self, msg: m.StopRun, out: Outbox) -> None: ...
        def _report_outcome(self, ctl: RunCtl, out: Outbox) -> None: ...
        def _task_failed(self, ctl: RunCtl, error: str, out: Outbox) -> None: ...
        def _check_governance(self, ctl: RunCtl, out: Outbox, *, deadline_passed: bool) -> None: ...
        def _finalize(self, ctl: RunCtl, out: Outbox, *, early: bool = False) -> None: ...
        def _begin_execution(
            self,
            ctl: RunCtl,
            out: Outbox,
            carried: dict[str, TaskStatus],
            status: RunStatus = RunStatus.RUNNING,
            **resume: Any,
        ) -> None: ...
        def schedule(self, key: tuple[str, str], delay: float, message: Any) -> None: ...

    async def _resume(self, msg: m.ResumeRun, out: Outbox) -> None:
        plan = await plan_resume(self.reader, msg.run_id)
        ctl = self._rebuild(plan, msg.run_id)
        self.runs[msg.run_id] = ctl
        self._tell_peers(ctl, plan, out)
        await self._kill_leftovers(msg.run_id, plan)
        for event, wave in plan.repairs:
            out.emit(msg.run_id, event, wave)
        for task_id, why in plan.quarantined.items():  # the run says why it fails
            if not ctl.workflow.task(task_id).allow_failure:
                self._task_failed(ctl, f"task {task_id} {why}", out)
        phase = plan.phase
        # Something was cut short only if the run was working; a run waiting for a human with
        # nothing in flight is simply handed over.
        cut_short = bool(plan.repairs) or plan.status is not RunStatus.AWAITING_APPROVAL
        if cut_short and phase in (
            RunPhase.EXECUTING,
            RunPhase.GOVERNANCE_CHECK,
            RunPhase.FINALIZING,
        ):
            self._set_status(ctl, RunStatus.INTERRUPTED, out, "runtime restarted")
        self._run_clock(ctl)
        if msg.stop is not None:  # taken over to be stopped (a cancel): start nothing new
            self._stop(msg.stop, out)
            if ctl.finalized:
                out.answer(msg.reply)
                return
        if phase is RunPhase.CREATED:
            out.send(self.p.governance, m.Authorize(run_id=msg.run_id, workflow=plan.workflow))
        elif phase is RunPhase.AUTHORIZED:
            if not ctl.pending_approvals:
                self._begin_execution(ctl, out, plan.carried)
        elif phase is RunPhase.EXECUTING:
            self._resume_execution(ctl, plan, out)
        elif phase is RunPhase.GOVERNANCE_CHECK:
            self._set_status(ctl, RunStatus.RUNNING, out, "resumed")
            if not _acked(plan, INCIDENT_EXPECTATION):  # the incident facade never saw it end
                self._report_outcome(ctl, out)
            self._check_governance(ctl, out, deadline_passed=True)
        elif phase is RunPhase.FINALIZING:
            self._set_status(ctl, RunStatus.RUNNING, out, "resumed")
            self._finalize(ctl, out)
        out.answer(msg.reply)

    async def _kill_leftovers(self, run_id: str, plan: ResumePlan) -> None:
        """Before any attempt runs again: kill what interrupted attempts left running, by their
        recorded process group, else by the attempt key in their environment."""
        killed = 0
        for a in plan.interrupted:
            group = plan.recall.process_groups.get((a.task_id, a.attempt))
            if group is not None:
                killed += await kill_group(group)
        killed += await kill_marked(*(a.idempotency_key for a in plan.interrupted))
        if killed:
            log.warning(
                "run %s: killed %d process(es) left by its interrupted attempts", run_id, killed
            )

    def _rebuild(self, plan: ResumePlan, run_id: str) -> RunCtl:
        """The kernel's record of the run, as one process would have it now."""
        rec = plan.recall
        now = self.clock()
        ctl = RunCtl(
            run_id,
            plan.workflow,
            PhaseMachine(run_id, plan.phase),
            plan.status,
            plan.started_at,
            rec.timeout_s
            or plan.workflow.timeout_s
            or self.settings.rok_default_run_timeout_ms / 1000,
            retry_count=plan.retry_count,
            run_env=rec.run_env,
            parent_run_id=rec.parent_run_id,
            rewound_from_wave=rec.rewound_from_wave,
            expectations=plan.expectations,
            acks=plan.acks,
            executed=plan.executed,
            stages_failed=plan.stages_failed,
            failed=plan.failed,
            active_s=rec.active_seconds(now),
        )
        ctl.reasons = [
            m.StopRun(
                run_id=run_id,
                reason=stop.reason,
                stopped_at_step=stop.stopped_at_step,
                violation=stop.violation,
                error=stop.error,
            )
            for _, stop in rec.stops
        ]
        if not ctl.reasons and plan.failed and plan.phase is not RunPhase.EXECUTING:
            # recorded before stop reasons were (a store from an older runtui)
            ctl.reasons.append(
                m.StopRun(
                    run_id=run_id,
                    reason=RunTerminationReason.TASK_FAILED,
                    error=task_failure_text(plan.failed),
                )
            )
        ctl.plan_approved = plan.phase is not RunPhase.CREATED and not (
            plan.phase is RunPhase.AUTHORIZED and plan.pending_approvals
        )
        ctl.pending_approvals.update(plan.pending_approvals)
        for approval_id in plan.pending_approvals:
            self.approval_owner[approval_id] = run_id
            deadline = plan.approval_deadlines.get(approval_id)
            if deadline is not None:  # an approval's timeout is a deadline: downtime counts
                self.schedule(
                    (run_id, f"approval:{approval_id}"),
                    max(0.0, deadline - now),
                    m.Timer(run_id=run_id, what=f"approval:{approval_id}"),
                )
        return ctl

    def _tell_peers(self, ctl: RunCtl, plan: ResumePlan, out: Outbox) -> None:
        """Governance and the trace learn the run before anything else happens to it."""
        rec = plan.recall
        if plan.phase is not RunPhase.CREATED:
            out.send(
                self.p.governance,
                m.ResumeGovernance(
                    run_id=ctl.run_id,
                    workflow=plan.workflow,
                    steps=rec.steps,
                    tokens=rec.tokens,
                    cost=rec.cost,
                    fired=sorted(rec.fired(ONCE_PER_RUN)),
                    dispatches=rec.dispatches,
                ),
            )
        if "run" in rec.open_spans:
            out.send(self.p.trace, m.ResumeTrace(run_id=ctl.run_id, phase_span=rec.open_phase_span))
        elif plan.phase is RunPhase.CREATED:
            out.send(self.p.trace, m.StartTrace(run_id=ctl.run_id, workflow=plan.workflow.name))

    def _resume_execution(self, ctl: RunCtl, plan: ResumePlan, out: Outbox) -> None:
        task_approvals = {
            a: t for a, t in plan.approval_tasks.items() if a in ctl.pending_approvals
        }
        waiting = bool(ctl.pending_approvals)
        ctl.halted = bool(ctl.reasons)  # stopping before the restart: start nothing new
        self._begin_execution(
            ctl,
            out,
            plan.carried,
            RunStatus.AWAITING_APPROVAL if waiting and not ctl.halted else RunStatus.RUNNING,
            attempts_so_far=plan.attempts_so_far,
            pending_approvals={} if ctl.halted else task_approvals,
            approved=sorted(plan.recall.approved_tasks),
            jobs={t: (a.attempt, a.external_id or "", a.started_at) for t, a in plan.jobs.items()},
            halted=ctl.halted,
        )


def _acked(plan: ResumePlan, expectation: tuple[str, str]) -> bool:
    return any((a.domain, a.action) == expectation for a in plan.acks)
