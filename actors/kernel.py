"""The kernel (ROK): the single authority over every run's phase machine.

It declares the audit expectations at T0, asks governance to authorize, hands execution to the
analyzer, runs the governance check (reconciling acks, waiting up to the governance timeout),
finalizes (summary, termination, the finalize_run ack on success and failure alike) and stops
runs on violations, rejections, timeouts and cancels. No other actor moves a phase.

Its human gates (approvals and what a decision does) are in `actors.gates`, taking over a run
another process drove in `actors.kernel_resume`, the run timeout's clock in `actors.run_clock`,
its records of a run in `actors.run_control`.
"""

from __future__ import annotations

import logging
from typing import Any

from runtui.actors import messages as m
from runtui.actors.gates import HumanGates
from runtui.actors.kernel_resume import KernelResume
from runtui.actors.run_clock import RunClock
from runtui.actors.run_control import Peers, RunCtl, declare, violation_reason
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.config import Settings
from runtui.domain.approvals import ApprovalDecision
from runtui.domain.audit import (
    FINALIZE_EXPECTATION,
    AckStatus,
    DomainAck,
    reconcile,
    standard_expectations,
)
from runtui.domain.errors import NotFoundError
from runtui.domain.events import (
    AckRecorded,
    ApprovalDecided,
    ExpectationDeclared,
    PhaseChanged,
    RunCreated,
    RunStatusChanged,
    RunStopping,
    RunSummaryWritten,
    RunTerminated,
    TaskStatusChanged,
)
from runtui.domain.ids import new_id
from runtui.domain.phases import PhaseMachine, RunPhase
from runtui.domain.status import RunStatus, check_phase_status
from runtui.domain.summary import result_for_status
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import (
    TERMINATION_TO_STATUS,
    RunTerminationReason,
    resolve_termination,
    task_failure_text,
)
from runtui.store.queries import StoreReader
from runtui.store.writer import EventWriter

log = logging.getLogger(__name__)


class Kernel(KernelResume, HumanGates, RunClock, StepActor[Any]):
    name = "kernel"

    def __init__(
        self, writer: EventWriter, reader: StoreReader, settings: Settings, *, clock: Clock
    ) -> None:
        super().__init__(writer, clock=clock)
        self.reader = reader
        self.settings = settings
        self.peers: Peers | None = None
        self.runs: dict[str, RunCtl] = {}
        self.approval_owner: dict[str, str] = {}  # pending approval id → run id
        self.decided: dict[str, str] = {}  # approval id → "approve by ann" (this process)

    def forget(self) -> None:
        self.runs.clear()
        self.approval_owner.clear()
        self.decided.clear()

    @property
    def p(self) -> Peers:
        assert self.peers is not None, "kernel peers not wired"
        return self.peers

    def _ctl(self, run_id: str) -> RunCtl:
        ctl = self.runs.get(run_id)
        if ctl is None:
            raise NotFoundError(f"run {run_id} is not active")
        return ctl

    # --- dispatch ----------------------------------------------------------------------------

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.SubmitRun():
                self._submit(message, out)
            case m.ResumeRun():
                await self._resume(message, out)
            case m.AuthorizationResult():
                self._authorized(message, out)
            case m.ExecutionComplete():
                self._execution_complete(message, out)
            case m.StopRun():
                self._stop(message, out)
            case m.AckNotice():
                self._ack(message, out)
            case m.RequestApproval():
                self._request_approval(message, out)
            case m.Decide():
                await self._decide(message, out)
            case m.Timer():
                self._timer(message, out)
            case m.LoseRun():
                self._lose(message.run_id)
            case m.TraceClosed():
                ctl = self.runs.get(message.run_id)
                if ctl is not None and ctl.finalized:
                    self._terminate(ctl, out)
            case _:
                raise TypeError(f"kernel cannot handle {type(message).__name__}")

    # --- phases ------------------------------------------------------------------------------

    def _move(self, ctl: RunCtl, to: RunPhase, out: Outbox, reason: str = "") -> None:
        step = ctl.machine.transition(to, at=self.clock(), reason=reason)
        out.emit(ctl.run_id, PhaseChanged.of(step))
        if not to.is_terminal:  # the trace was closed just before a terminal phase
            out.send(self.p.trace, m.PhaseEntered(run_id=ctl.run_id, phase=to))

    def _set_status(self, ctl: RunCtl, status: RunStatus, out: Outbox, reason: str = "") -> None:
        if ctl.status is status:
            return
        check_phase_status(
            ctl.machine.phase, status, enforce=self.settings.phase_status_invariant_enforce
        )
        ctl.status = status
        out.emit(ctl.run_id, RunStatusChanged(status=status, reason=reason))
        self._run_clock(ctl)

    def _task_failed(self, ctl: RunCtl, error: str, out: Outbox) -> None:
        self._add_reason(
            ctl,
            m.StopRun(run_id=ctl.run_id, reason=RunTerminationReason.TASK_FAILED, error=error),
            out,
        )

    def _add_reason(self, ctl: RunCtl, stop: m.StopRun, out: Outbox) -> None:
        """Accept a reason to end the run, and record it: whoever resumes the run must know
        why it is stopping (a failed run never ends `succeeded` after a restart)."""
        ctl.reasons.append(stop)
        out.emit(
            ctl.run_id,
            RunStopping(
                reason=stop.reason,
                stopped_at_step=stop.stopped_at_step,
                violation=stop.violation,
                error=stop.error,
            ),
        )

    # --- submit and authorize ----------------------------------------------------------------

    def _submit(self, msg: m.SubmitRun, out: Outbox) -> None:
        wf = msg.workflow
        now = self.clock()
        run_id = msg.run_id or new_id(now)
        timeout_s = wf.timeout_s or self.settings.rok_default_run_timeout_ms / 1000
        ctl = RunCtl(
            run_id,
            wf,
            PhaseMachine(run_id),
            RunStatus.QUEUED,
            now,
            timeout_s,
            retry_count=msg.retry_count,
            carried=dict(msg.carried),
            run_env=msg.run_env,
            parent_run_id=msg.parent_run_id,
            rewound_from_wave=msg.rewound_from_wave,
        )
        self.runs[run_id] = ctl
        out.emit(
            run_id,
            RunCreated(
                workflow=wf.name,
                workflow_spec=wf.model_dump(mode="json"),
                hitl_mode=wf.hitl,
                timeout_s=timeout_s,
                parent_run_id=msg.parent_run_id,
                rewound_from_wave=msg.rewound_from_wave,
                retry_count=msg.retry_count,
                metadata=msg.metadata,
                run_env=msg.run_env,
                source=wf.source,
            ),
        )
        waves = wf.waves()
        for task in wf.tasks:
            out.emit(run_id, declare(task, waves[task.id]))
        for task_id, status in msg.carried.items():
            out.emit(
                run_id,
                TaskStatusChanged(task_id=task_id, status=status, reason="carried from parent"),
                waves[task_id],
            )
        if self.settings.rac_enabled:
            ctl.expectations = standard_expectations(
                now=now,
                governance_timeout_s=self.settings.rok_governance_timeout_ms / 1000,
                run_timeout_s=timeout_s,
                grace_period_s=self.settings.rok_grace_period_ms / 1000,
            )
            for e in ctl.expectations:
                out.emit(
                    run_id,
                    ExpectationDeclared(
                        domain=e.domain, action=e.action, deadline=e.deadline, liveness=e.liveness
                    ),
                )
        out.send(self.p.trace, m.StartTrace(run_id=run_id, workflow=wf.name))
        if self.settings.rok_enabled:
            out.send(self.p.governance, m.Authorize(run_id=run_id, workflow=wf))
        else:
            out.send(self, m.AuthorizationResult(run_id=run_id, allowed=True, reason="ROK off"))
        self._run_clock(ctl)
        out.answer(msg.reply, run_id)

    def _authorized(self, msg: m.AuthorizationResult, out: Outbox) -> None:
        ctl = self.runs.get(msg.run_id)
        if ctl is None or ctl.machine.phase is not RunPhase.CREATED:
            return
        if not msg.allowed:
            reason = violation_reason(msg.violation) or RunTerminationReason.POLICY_BLOCK
            self._add_reason(
                ctl,
                m.StopRun(
                    run_id=ctl.run_id, reason=reason, violation=msg.violation, error=msg.reason
                ),
                out,
            )
            self._finalize(ctl, out, early=True)
            return
        self._move(ctl, RunPhase.AUTHORIZED, out, msg.reason or "policies allow")
        self._after_authorized(ctl, out, msg.gate)

    def _begin_execution(
        self,
        ctl: RunCtl,
        out: Outbox,
        carried: dict[str, TaskStatus],
        status: RunStatus = RunStatus.RUNNING,
        **resume: Any,
    ) -> None:
        if ctl.machine.phase is RunPhase.AUTHORIZED:
            self._move(ctl, RunPhase.EXECUTING, out)
        self._set_status(ctl, status, out)
        out.send(
            self.p.analyzer,
            m.BeginExecution(
                run_id=ctl.run_id,
                workflow=ctl.workflow,
                carried=carried,
                run_env=ctl.run_env,
                **resume,
            ),
        )

    # --- execution end, governance check, finalize -------------------------------------------

    def _execution_complete(self, msg: m.ExecutionComplete, out: Outbox) -> None:
        ctl = self.runs.get(msg.run_id)
        if ctl is None or ctl.machine.phase is not RunPhase.EXECUTING:
            return
        ctl.executed, ctl.failed = msg.executed, msg.failed_tasks
        ctl.stages_failed = msg.stages_failed
        if msg.failed_tasks and not ctl.reasons:
            self._task_failed(ctl, task_failure_text(msg.failed_tasks, msg.errors), out)
        if ctl.status is not RunStatus.RUNNING:
            self._set_status(ctl, RunStatus.RUNNING, out)
        self._move(ctl, RunPhase.GOVERNANCE_CHECK, out)
        self._report_outcome(ctl, out)
        if not (self.settings.rok_enabled and self.settings.rac_enabled):
            self._finalize(ctl, out)
            return
        self.schedule(
            (ctl.run_id, "governance"),
            self.settings.rok_governance_timeout_ms / 1000,
            m.Timer(run_id=ctl.run_id, what="governance"),
        )
        self._check_governance(ctl, out, deadline_passed=False)

    def _report_outcome(self, ctl: RunCtl, out: Outbox) -> None:
        """Tell the incident facade how the run is ending (it opens an incident on failure and
        acks create_incident either way)."""
        final = self._winning(ctl)
        out.send(
            self.p.incident,
            m.RunOutcome(
                run_id=ctl.run_id,
                failed=final.reason is not RunTerminationReason.COMPLETED,
                reason=final.reason,
                detail=final.error or "",
            ),
        )

    def _check_governance(self, ctl: RunCtl, out: Outbox, *, deadline_passed: bool) -> None:
        rec = reconcile(ctl.expectations, ctl.acks, now=self.clock(), include_liveness=False)
        if rec.missing and not deadline_passed:
            return  # wait for more acks (or the deadline)
        self.cancel_timer((ctl.run_id, "governance"))
        if rec.missing and ctl.workflow.governance.strict:
            missing = ", ".join(f"{d}/{a}" for d, a in rec.missing)
            self._add_reason(
                ctl,
                m.StopRun(
                    run_id=ctl.run_id,
                    reason=RunTerminationReason.SYSTEM_FAILURE,
                    error=f"governance check (strict): no ack for {missing}",
                ),
                out,
            )
        elif rec.missing:
            log.warning(
                "run %s: governance check passed without acks for %s", ctl.run_id, rec.missing
            )
        self._finalize(ctl, out)

    def _winning(self, ctl: RunCtl) -> m.StopRun:
        reason = resolve_termination(s.reason for s in ctl.reasons)
        for stop in ctl.reasons:
            if stop.reason is reason:
                return stop
        return m.StopRun(run_id=ctl.run_id, reason=RunTerminationReason.COMPLETED)

    def _finalize(self, ctl: RunCtl, out: Outbox, *, early: bool = False) -> None:
        """Enter FINALIZING and have the trace closed; the terminal records follow once the
        trace facade confirms (or after a grace period), so the terminal status is the last
        thing a run commits and anyone who waits for it sees the whole record."""
        if ctl.finalized:
            return
        ctl.finalized = True
        self.cancel_timers_of(ctl.run_id)
        if not early and ctl.machine.phase is not RunPhase.FINALIZING:
            self._move(ctl, RunPhase.FINALIZING, out)
        final = self._winning(ctl)
        out.send(
            self.p.trace,
            m.CloseTrace(run_id=ctl.run_id, ok=final.reason is RunTerminationReason.COMPLETED),
        )
        self.schedule(
            (ctl.run_id, "trace"),
            self.settings.rok_governance_timeout_ms / 1000,
            m.Timer(run_id=ctl.run_id, what="trace"),
        )

    def _terminate(self, ctl: RunCtl, out: Outbox) -> None:
        now = self.clock()
        final = self._winning(ctl)
        status = TERMINATION_TO_STATUS[final.reason]
        out.emit(
            ctl.run_id,
            RunTerminated(
                reason=final.reason,
                stopped_at_step=final.stopped_at_step,
                violation=final.violation,
                error_message=final.error,
            ),
        )
        result = result_for_status(status)
        assert result is not None
        out.emit(
            ctl.run_id,
            RunSummaryWritten(
                started_at=ctl.started_at,
                ended_at=now,
                result=result,
                failure_reason=None if status is RunStatus.SUCCEEDED else final.reason.value,
                stages_executed=list(ctl.executed),
                stages_failed=list(ctl.stages_failed),
                retry_count=ctl.retry_count,
                metadata=_summary_metadata(ctl, final.error),
            ),
        )
        # The liveness ack: emitted on failure as well as success (an upstream bug skipped it).
        domain, action = FINALIZE_EXPECTATION
        out.emit(ctl.run_id, AckRecorded(domain=domain, action=action, status=AckStatus.SUCCESS))
        end = RunPhase.COMPLETED if status is RunStatus.SUCCEEDED else RunPhase.FAILED
        self._move(ctl, end, out, final.reason.value)
        ctl.status = status
        out.emit(ctl.run_id, RunStatusChanged(status=status, reason=final.reason.value))
        self.cancel_timers_of(ctl.run_id)
        for approval_id in ctl.pending_approvals:  # withdrawn: nobody can decide them now
            self.approval_owner.pop(approval_id, None)
            self.decided[approval_id] = f"withdrawn when the run ended ({final.reason.value})"
            out.emit(
                ctl.run_id,
                ApprovalDecided(
                    approval_id=approval_id,
                    decision=ApprovalDecision.REJECT,
                    reason=f"run ended ({final.reason.value}) before a decision",
                    decided_by="runtui",
                ),
            )
        for peer in (self.p.analyzer, self.p.governance, self.p.incident):
            out.send(peer, m.ForgetRun(run_id=ctl.run_id))
        del self.runs[ctl.run_id]

    def _lose(self, run_id: str) -> None:
        """Another process drives `run_id` now: forget it here, write nothing (the writer
        would refuse it anyway), and stop its attempts in this process."""
        ctl = self.runs.pop(run_id, None)
        if ctl is None:
            return
        log.warning("run %s: lost its lease to another process; no longer driven here", run_id)
        self.cancel_timers_of(run_id)
        for approval_id in ctl.pending_approvals:
            self.approval_owner.pop(approval_id, None)
        for peer in (self.p.analyzer, self.p.governance, self.p.incident):
            peer.tell_nowait(m.ForgetRun(run_id=run_id))
        dispatcher = getattr(self.p.analyzer, "dispatcher", None)
        if dispatcher is not None:
            dispatcher.tell_nowait(m.CancelAttempts(run_id=run_id))

    # --- stop, acks, timers ------------------------------------------------------------------

    def _stop(self, msg: m.StopRun, out: Outbox) -> None:
        ctl = self._ctl(msg.run_id)
        if ctl.finalized:  # too late to change how it ends
            out.answer(msg.reply)
            return
        self._add_reason(ctl, msg, out)
        phase = ctl.machine.phase
        if phase in (RunPhase.CREATED, RunPhase.AUTHORIZED):
            self._finalize(ctl, out, early=True)
        elif phase is RunPhase.EXECUTING and not ctl.halted:
            ctl.halted = True
            out.send(self.p.analyzer, m.HaltExecution(run_id=ctl.run_id))
        out.answer(msg.reply)

    def _ack(self, msg: m.AckNotice, out: Outbox) -> None:
        ctl = self.runs.get(msg.run_id)
        if ctl is None:
            return
        ctl.acks.append(DomainAck(msg.domain, msg.action, msg.status))
        if ctl.machine.phase is RunPhase.GOVERNANCE_CHECK and not ctl.finalized:
            self._check_governance(ctl, out, deadline_passed=False)

    def _timer(self, msg: m.Timer, out: Outbox) -> None:
        ctl = self.runs.get(msg.run_id)
        if ctl is None:
            return
        if msg.what == "trace" and ctl.finalized:
            log.warning("run %s: trace facade did not close the trace; finalizing", ctl.run_id)
            self._terminate(ctl, out)
        elif msg.what == "governance" and ctl.machine.phase is RunPhase.GOVERNANCE_CHECK:
            self._check_governance(ctl, out, deadline_passed=True)
        elif msg.what == "run_timeout":
            self._run_timed_out(ctl, out)
        elif msg.what.startswith("approval:"):
            approval_id = msg.what.split(":", 1)[1]
            if approval_id in ctl.pending_approvals:
                self._apply_decision(
                    ctl,
                    approval_id,
                    ctl.pending_approvals[approval_id].default,
                    "approval timed out; default action applied",
                    "runtui:timeout",
                    None,
                    out,
                )


def _summary_metadata(ctl: RunCtl, error: str | None) -> dict[str, Any]:
    """The workflow, what ended the run, and for a fork the run it was forked from."""
    meta: dict[str, Any] = {"workflow": ctl.workflow.name}
    if error:
        meta["error"] = error
    if ctl.parent_run_id is not None:
        meta["parent_run_id"] = ctl.parent_run_id
        if ctl.rewound_from_wave is not None:
            meta["rewound_from_wave"] = ctl.rewound_from_wave
    return meta
