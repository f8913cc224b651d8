"""The kernel's human gates: which ones a run meets before execution (a pre-run violation gate,
then the plan), asking for an approval, taking a decision (from a person or a timeout's
default), and what the decision does to the run: a pre-run violation gate lets it
start or stops it, a plan approval starts execution (with the plan's edits) or stops it, a task
gate goes back to the analyzer.

A mixin of `Kernel`, kept apart because gates are their own idea: the phase machine only hands
an authorized run over, and applies a timed-out approval's default. The kernel's state and the
phase moves used here are declared below for the type checker; `Kernel` provides them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtui.actors import messages as m
from runtui.actors.run_control import Peers, RunCtl
from runtui.actors.step import Clock, Outbox
from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode, PendingApproval
from runtui.domain.errors import ApprovalAlreadyDecided, ConflictError, InvalidInputError
from runtui.domain.events import (
    ApprovalDecided,
    ApprovalRequested,
    TaskStatusChanged,
    ViolationData,
)
from runtui.domain.ids import new_id
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.store.queries import StoreReader


class HumanGates:
    """Approvals of the kernel's runs (see the module docstring)."""

    runs: dict[str, RunCtl]
    approval_owner: dict[str, str]  # pending approval id → run id
    decided: dict[str, str]  # approval id → "approve by ann" (this process)
    reader: StoreReader
    clock: Clock

    if TYPE_CHECKING:  # provided by Kernel and StepActor

        @property
        def p(self) -> Peers: ...
        def _ctl(self, run_id: str) -> RunCtl: ...
        def _set_status(
            self, ctl: RunCtl, status: RunStatus, out: Outbox, reason: str = ""
        ) -> None: ...
        def _stop(self, msg: m.StopRun, out: Outbox) -> None: ...
        def _begin_execution(
            self,
            ctl: RunCtl,
            out: Outbox,
            carried: dict[str, TaskStatus],
            status: RunStatus = RunStatus.RUNNING,
            **resume: Any,
        ) -> None: ...
        def schedule(self, key: tuple[str, str], delay: float, message: Any) -> None: ...
        def _run_time_left(self, ctl: RunCtl) -> float: ...
        def cancel_timer(self, key: tuple[str, str]) -> None: ...

    def _after_authorized(
        self, ctl: RunCtl, out: Outbox, gate: ViolationData | None = None
    ) -> None:
        """Before execution: a human for a pre-run violation gate, then for the plan."""
        if gate is not None:
            self._request_approval(
                m.RequestApproval(
                    run_id=ctl.run_id,
                    approval_id=new_id(self.clock()),
                    approval_kind=ApprovalKind.VIOLATION.value,
                    task_id=None,
                    prompt=f"Policy violation before the run: {gate.reason}. Run anyway?",
                    timeout_s=None,
                    default_action=ApprovalDecision.REJECT,
                    unblocks=[t.id for t in ctl.workflow.tasks],
                ),
                out,
            )
            return
        if ctl.workflow.hitl >= HitlMode.APPROVE_PLAN and not ctl.plan_approved:
            approval_id = new_id(self.clock())
            self._request_approval(
                m.RequestApproval(
                    run_id=ctl.run_id,
                    approval_id=approval_id,
                    approval_kind=ApprovalKind.PLAN.value,
                    task_id=None,
                    prompt=f"Run the plan of {ctl.workflow.name}"
                    f" ({len(ctl.workflow.tasks)} tasks)?",
                    timeout_s=None,
                    default_action=ApprovalDecision.REJECT,
                    unblocks=[t.id for t in ctl.workflow.tasks],
                ),
                out,
            )
            return
        self._begin_execution(ctl, out, ctl.carried)

    def _request_approval(self, msg: m.RequestApproval, out: Outbox) -> None:
        ctl = self.runs.get(msg.run_id)
        if ctl is None:
            return
        out.emit(
            msg.run_id,
            ApprovalRequested(
                approval_id=msg.approval_id,
                approval_kind=ApprovalKind(msg.approval_kind),
                task_id=msg.task_id,
                prompt=msg.prompt,
                timeout_s=msg.timeout_s,
                default_action=msg.default_action,
                unblocks=msg.unblocks,
                run_time_left_s=self._run_time_left(ctl),
            ),
        )
        ctl.pending_approvals[msg.approval_id] = PendingApproval(
            ApprovalKind(msg.approval_kind), msg.default_action
        )
        self.approval_owner[msg.approval_id] = msg.run_id
        self._set_status(ctl, RunStatus.AWAITING_APPROVAL, out, "approval requested")
        if msg.timeout_s is not None:
            self.schedule(
                (msg.run_id, f"approval:{msg.approval_id}"),
                msg.timeout_s,
                m.Timer(run_id=msg.run_id, what=f"approval:{msg.approval_id}"),
            )

    async def _decide(self, msg: m.Decide, out: Outbox) -> None:
        run_id = self.approval_owner.get(msg.approval_id)
        if run_id is None:
            if msg.approval_id in self.decided:
                raise ApprovalAlreadyDecided(msg.approval_id, self.decided[msg.approval_id])
            row = await self.reader.get_approval(msg.approval_id)  # NotFoundError if unknown
            if row.decision is not None:
                raise ApprovalAlreadyDecided(
                    msg.approval_id, f"{row.decision.value} by {row.decided_by or 'unknown'}"
                )
            raise ConflictError(
                f"approval {msg.approval_id} belongs to run {row.run_id}, which is not active"
            )
        if msg.decision is ApprovalDecision.REJECT and not msg.reason.strip():
            raise InvalidInputError("a rejection needs a reason")
        ctl = self._ctl(run_id)
        kind = ctl.pending_approvals[msg.approval_id].kind
        if msg.decision is ApprovalDecision.APPROVE_WITH_EDITS and kind is not ApprovalKind.PLAN:
            raise InvalidInputError(
                f"approve_with_edits applies to plan approvals, not {kind.value} approvals"
            )
        for task_id in (msg.edits or {}).get("skip", []):
            ctl.workflow.task(str(task_id))  # NotFoundError names an unknown id, before anything
        self._apply_decision(
            ctl, msg.approval_id, msg.decision, msg.reason, msg.decided_by, msg.edits, out
        )
        out.answer(msg.reply)

    def _apply_decision(
        self,
        ctl: RunCtl,
        approval_id: str,
        decision: ApprovalDecision,
        reason: str,
        decided_by: str,
        edits: dict[str, Any] | None,
        out: Outbox,
    ) -> None:
        kind = ctl.pending_approvals.pop(approval_id).kind
        self.approval_owner.pop(approval_id, None)
        self.decided[approval_id] = f"{decision.value} by {decided_by or 'unknown'}"
        self.cancel_timer((ctl.run_id, f"approval:{approval_id}"))
        out.emit(
            ctl.run_id,
            ApprovalDecided(
                approval_id=approval_id,
                decision=decision,
                reason=reason,
                decided_by=decided_by,
                edits=edits,
            ),
        )
        if not ctl.pending_approvals:
            waiting_status = (
                RunStatus.RUNNING if ctl.machine.phase is RunPhase.EXECUTING else RunStatus.QUEUED
            )
            self._set_status(ctl, waiting_status, out, f"approval {decision.value}")
        pre_run = kind is ApprovalKind.VIOLATION and ctl.machine.phase is RunPhase.AUTHORIZED
        if pre_run:
            if decision is ApprovalDecision.REJECT:
                self._rejected(
                    ctl, f"pre-run violation gate rejected by {decided_by}: {reason}", out
                )
            else:
                self._after_authorized(ctl, out)
            return
        if kind is ApprovalKind.PLAN:
            ctl.plan_approved = True
            if decision is ApprovalDecision.REJECT:
                self._rejected(ctl, f"plan rejected by {decided_by}: {reason}", out)
                return
            skip = [str(t) for t in (edits or {}).get("skip", [])]
            waves = ctl.workflow.waves()
            for task_id in skip:
                ctl.workflow.task(task_id)  # NotFoundError names an unknown id
                out.emit(
                    ctl.run_id,
                    TaskStatusChanged(
                        task_id=task_id,
                        status=TaskStatus.SKIPPED,
                        reason=f"plan edit by {decided_by}",
                    ),
                    waves[task_id],
                )
            self._begin_execution(
                ctl, out, {**ctl.carried, **dict.fromkeys(skip, TaskStatus.SKIPPED)}
            )
            return
        out.send(
            self.p.analyzer,
            m.ApprovalResolved(
                run_id=ctl.run_id,
                approval_id=approval_id,
                decision=decision,
                edits=edits,
                reason=f"{decided_by}: {reason}" if reason else decided_by,
            ),
        )

    def _rejected(self, ctl: RunCtl, error: str, out: Outbox) -> None:
        """A human said no before execution: the run stops as approval_rejected."""
        self._stop(
            m.StopRun(
                run_id=ctl.run_id, reason=RunTerminationReason.APPROVAL_REJECTED, error=error
            ),
            out,
        )
