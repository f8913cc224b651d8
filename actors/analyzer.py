"""The analyzer (ANALYZE): owns each executing run's task graph.

It applies the graph's rules (`runtui.domain.graph`: what is ready, what a failure skips, when
a wave closes) and records what they decide as events; hands ready tasks to the dispatcher, or
asks a person first (`runtui.domain.approvals.needs_human`; violation gates); decides what a
finished attempt means (done, retry, failed); and reports the end of execution to the kernel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.domain.approvals import ApprovalDecision, ApprovalKind, needs_human
from runtui.domain.events import TaskStatusChanged, WaveCompleted
from runtui.domain.graph import FINAL, Skip, TaskGraph
from runtui.domain.ids import new_id
from runtui.domain.policy_checks import SCANNED
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.violations import PolicyViolationType, ViolationAction
from runtui.domain.workflow import PolicySpec, Workflow
from runtui.store.writer import EventWriter

log = logging.getLogger(__name__)

#: A replan hook sees the run after each wave and may return new task specs (as dicts) that
#: are appended to the same run.
ReplanHook = Callable[[str, Workflow, dict[str, TaskStatus]], list[dict[str, Any]]]


@dataclass
class Graph(TaskGraph):
    """A run's task graph (`runtui.domain.graph`) and what the analyzer keeps beside it."""

    run_id: str = ""
    run_env: RunEnvironment | None = None
    scanned: tuple[PolicySpec, ...] = ()  # the policies every attempt's output is fed to
    approvals: dict[str, str | None] = field(
        default_factory=dict
    )  # approval → task (None: violation)
    approved: set[str] = field(default_factory=set)  # HITL-approved tasks
    retries: int = 0
    halted: bool = False
    completed: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # how each failed task's last try ended

    @property
    def paused(self) -> bool:
        return any(task is None for task in self.approvals.values())


class Analyzer(StepActor[Any]):
    name = "analyzer"

    def __init__(
        self, writer: EventWriter, *, clock: Clock, replan: ReplanHook | None = None
    ) -> None:
        super().__init__(writer, clock=clock)
        self.graphs: dict[str, Graph] = {}
        self.replan = replan
        self.kernel: Actor[Any] | None = None
        self.dispatcher: Actor[Any] | None = None
        self.poller: Actor[Any] | None = None
        self.trace: Actor[Any] | None = None

    def forget(self) -> None:
        self.graphs.clear()

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.BeginExecution():
                self._begin(message, out)
            case m.AttemptAnalyzed():
                self._analyzed(message, out)
            case m.PolicyVerdict():
                g = self.graphs.get(message.run_id)
                if g is not None and message.action is ViolationAction.APPROVE:
                    self._violation_gate(g, message.violation.reason, out)
            case m.ApprovalResolved():
                self._resolved(message, out)
            case m.HaltExecution():
                self._halt(message.run_id, out)
            case m.ForgetRun():
                self.graphs.pop(message.run_id, None)
            case _:
                raise TypeError(f"analyzer cannot handle {type(message).__name__}")

    # --- begin -------------------------------------------------------------------------------

    def _begin(self, msg: m.BeginExecution, out: Outbox) -> None:
        wf = msg.workflow
        g = Graph.start(wf, carried=msg.carried, attempts_so_far=msg.attempts_so_far)
        g.run_id, g.run_env = msg.run_id, msg.run_env
        g.scanned = tuple(p for p in wf.policies if p.type in SCANNED)
        for approval_id, task_id in msg.pending_approvals.items():
            g.approvals[approval_id] = task_id or None
            if task_id:
                g.status[task_id] = TaskStatus.AWAITING_APPROVAL
        g.approved = set(msg.approved)
        g.halted = msg.halted
        for task_id, (attempt, job_id, started_at) in msg.jobs.items():
            self._watch_again(g, task_id, attempt, job_id, started_at, out)
        self.graphs[msg.run_id] = g
        self._advance(g, out)

    def _watch_again(
        self, g: Graph, task_id: str, attempt: int, job_id: str, started_at: float, out: Outbox
    ) -> None:
        """An external job a stopped runtime was polling: poll it again (and, if the run is
        stopping, let the poller cancel the watch at once)."""
        g.status[task_id] = TaskStatus.WAITING_EXTERNAL
        g.inflight.add(task_id)
        assert self.poller is not None
        out.send(
            self.poller,
            m.Watch(
                run_id=g.run_id,
                task_id=task_id,
                attempt=attempt,
                wave=g.waves[task_id],
                spec=g.workflow.task(task_id),
                external_id=job_id,
                started_at=started_at,
                run_env=g.run_env,
            ),
        )
        if g.halted:
            out.send(self.poller, m.Unwatch(run_id=g.run_id))

    # --- the step loop -----------------------------------------------------------------------

    def _set(
        self, g: Graph, task_id: str, status: TaskStatus, out: Outbox, reason: str = ""
    ) -> None:
        g.set(task_id, status)
        self._emit_status(g, task_id, status, out, reason)

    def _emit_status(
        self, g: Graph, task_id: str, status: TaskStatus, out: Outbox, reason: str = ""
    ) -> None:
        out.emit(
            g.run_id,
            TaskStatusChanged(task_id=task_id, status=status, reason=reason),
            g.waves[task_id],
        )

    def _advance(self, g: Graph, out: Outbox) -> None:
        if g.completed:
            return
        while True:
            if not (g.halted or g.failed_fast or g.paused):
                for action in g.step():
                    if isinstance(action, Skip):
                        self._emit_status(g, action.task_id, TaskStatus.SKIPPED, out, action.reason)
                    else:
                        self._start(g, g.workflow.task(action.task_id), out)
            if not self._close_waves(g, out):
                break  # otherwise a replan added tasks: look at them too
        if g.inflight:
            return
        if g.halted:
            if all(s is not TaskStatus.RUNNING for s in g.status.values()):
                for task_id, s in g.status.items():
                    if s not in FINAL:
                        self._set(g, task_id, TaskStatus.CANCELLED, out, "run stopped")
                self._complete(g, out)
        elif g.unfinished == 0:
            self._complete(g, out)

    def _start(self, g: Graph, task: Any, out: Outbox) -> None:
        kind = TaskKind(task.kind)
        hitl = g.workflow.hitl
        if needs_human(kind, hitl, approved=task.id in g.approved):
            approval_id = new_id(self.clock())
            g.approvals[approval_id] = task.id
            self._set(g, task.id, TaskStatus.AWAITING_APPROVAL, out)
            gate = kind is TaskKind.GATE
            assert self.kernel is not None
            out.send(
                self.kernel,
                m.RequestApproval(
                    run_id=g.run_id,
                    approval_id=approval_id,
                    approval_kind=ApprovalKind.TASK.value,
                    task_id=task.id,
                    prompt=(task.prompt or task.label)
                    if gate
                    else f"Run {kind.value} task {task.label}?",
                    timeout_s=task.approval_timeout_s if gate else None,
                    default_action=task.default if gate else ApprovalDecision.REJECT,
                    unblocks=sorted({task.id} | g.workflow.downstream(task.id)),
                ),
            )
            return
        self._dispatch(g, task, out)

    def _dispatch(self, g: Graph, task: Any, out: Outbox) -> None:
        attempt = g.next_attempt[task.id]
        g.next_attempt[task.id] = attempt + 1
        g.inflight.add(task.id)
        assert self.dispatcher is not None
        out.send(
            self.dispatcher,
            m.Dispatch(
                run_id=g.run_id,
                task_id=task.id,
                attempt=attempt,
                wave=g.waves[task.id],
                spec=task,
                caps={k.value: v for k, v in g.workflow.caps.items()},
                run_limit=g.workflow.max_concurrency,
                rate_watched=any(
                    p.type is PolicyViolationType.RATE_LIMIT for p in g.workflow.policies
                ),
                run_env=g.run_env,
                scan_policies=g.scanned,
            ),
        )

    # --- results -----------------------------------------------------------------------------

    def _analyzed(self, msg: m.AttemptAnalyzed, out: Outbox) -> None:
        g = self.graphs.get(msg.run_id)
        if g is None:
            return
        g.inflight.discard(msg.task_id)
        task = g.workflow.task(msg.task_id)
        outcome = msg.outcome
        if outcome.status is AttemptStatus.COMPLETED:
            self._set(g, task.id, TaskStatus.DONE, out)
        elif g.halted or outcome.status is AttemptStatus.CANCELLED:
            self._set(g, task.id, TaskStatus.CANCELLED, out, outcome.error or "cancelled")
        elif g.next_attempt[task.id] <= task.retries and not g.failed_fast:
            g.retries += 1
            self._dispatch(g, task, out)
        else:
            self._set(g, task.id, TaskStatus.FAILED, out, outcome.error or "failed")
            g.errors[task.id] = outcome.error or (
                f"exit {outcome.exit_code}" if outcome.exit_code is not None else ""
            )
            if not task.allow_failure:
                self._fail_fast(g, task.id, out)
        if msg.verdict is ViolationAction.STOP:
            self._halt(g.run_id, out)  # the kernel also halts us; start nothing meanwhile
            return
        if msg.verdict is ViolationAction.APPROVE and msg.violation is not None:
            self._violation_gate(g, msg.violation.reason, out)
        self._advance(g, out)

    def _fail_fast(self, g: Graph, failed: str, out: Outbox) -> None:
        for skip in g.fail_fast(failed):
            self._emit_status(g, skip.task_id, TaskStatus.SKIPPED, out, skip.reason)

    def _close_waves(self, g: Graph, out: Outbox) -> bool:
        """Emit wave.completed for newly closed waves; True if a replan added tasks."""
        added = False
        for wave, failed in g.close_waves():
            out.emit(g.run_id, WaveCompleted(wave=wave, failed=failed), wave)
            if self.replan is not None and not (g.halted or g.failed_fast):
                added = self._replan(g, out) or added
        return added

    def _replan(self, g: Graph, out: Outbox) -> bool:
        assert self.replan is not None
        new_specs = self.replan(g.run_id, g.workflow, dict(g.status))
        if not new_specs:
            return False
        data = g.workflow.model_dump(mode="json")
        data["tasks"] = [*data["tasks"], *new_specs]
        from runtui.actors.run_control import declare

        for task_id in g.add_tasks(Workflow.model_validate(data)):
            out.emit(g.run_id, declare(g.workflow.task(task_id), g.waves[task_id]))
        return True

    def _complete(self, g: Graph, out: Outbox) -> None:
        g.completed = True
        outcome = g.outcome()
        assert self.kernel is not None
        out.send(
            self.kernel,
            m.ExecutionComplete(
                run_id=g.run_id,
                failed_tasks=outcome.failed,
                executed=outcome.executed,
                stages_failed=outcome.stages_failed,
                retries=g.retries,
                errors={t: g.errors.get(t, "") for t in outcome.failed},
            ),
        )

    # --- approvals and halts -----------------------------------------------------------------

    def _violation_gate(self, g: Graph, reason: str, out: Outbox) -> None:
        approval_id = new_id(self.clock())
        g.approvals[approval_id] = None
        pending = [t for t, s in g.status.items() if s is TaskStatus.PENDING]
        assert self.kernel is not None
        out.send(
            self.kernel,
            m.RequestApproval(
                run_id=g.run_id,
                approval_id=approval_id,
                approval_kind=ApprovalKind.VIOLATION.value,
                task_id=None,
                prompt=f"Policy violation: {reason}. Continue the run?",
                timeout_s=None,
                default_action=ApprovalDecision.REJECT,
                unblocks=pending,
            ),
        )

    def _resolved(self, msg: m.ApprovalResolved, out: Outbox) -> None:
        g = self.graphs.get(msg.run_id)
        if g is None or msg.approval_id not in g.approvals:
            return
        task_id = g.approvals.pop(msg.approval_id)
        rejected = msg.decision is ApprovalDecision.REJECT
        if rejected:
            if task_id is not None:
                self._set(g, task_id, TaskStatus.FAILED, out, f"rejected: {msg.reason}")
            assert self.kernel is not None
            what = f"task {task_id}" if task_id else "violation gate"
            out.send(
                self.kernel,
                m.StopRun(
                    run_id=g.run_id,
                    reason=RunTerminationReason.APPROVAL_REJECTED,
                    error=f"{what} rejected ({msg.reason})",
                ),
            )
        elif task_id is not None:
            task = g.workflow.task(task_id)
            if TaskKind(task.kind) is TaskKind.GATE:
                self._set(g, task_id, TaskStatus.DONE, out, f"approved: {msg.reason}")
            else:
                g.approved.add(task_id)
                g.status[task_id] = TaskStatus.PENDING
                g.dirty.add(task_id)
        self._advance(g, out)

    def _halt(self, run_id: str, out: Outbox) -> None:
        g = self.graphs.get(run_id)
        if g is None or g.halted:
            return
        g.halted = True
        g.approvals.clear()
        assert self.dispatcher is not None
        assert self.poller is not None
        out.send(self.dispatcher, m.CancelAttempts(run_id=run_id))
        out.send(self.poller, m.Unwatch(run_id=run_id))
        self._advance(g, out)
