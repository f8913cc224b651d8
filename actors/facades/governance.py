"""The governance facade: policies before authorization, on every dispatch, after every attempt.

Before a run is authorized its shell commands are checked against safety policies (a critical
match denies the run). Each dispatch feeds the rate limits. Each finished attempt is a *step*:
its usage is added to the run's budget, its output scanned for content and PII, custom rules
are asked; every violation is recorded, and the strongest action decides what happens next:
stop (the kernel ends the run at this step), approve (the analyzer pauses for a human) or warn.
Budget and rate violations are recorded once per policy per run: they describe a state.

A run resumed by another process (after a restart, or a hand-over such as an embedded
`approve`) is announced with `ResumeGovernance`: its steps, spent budget, recent dispatches and
the once-per-run policies that already fired, rebuilt from its events, so the policies keep
applying after the resume exactly as before it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.facades.acks import ack
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.config import Settings
from runtui.domain import policy_checks as checks
from runtui.domain.audit import POLICY_EXPECTATION
from runtui.domain.events import ViolationData, ViolationRecorded
from runtui.domain.tasks import TaskKind
from runtui.domain.termination import VIOLATION_TERMINATION
from runtui.domain.violations import ONCE_PER_RUN, ViolationAction
from runtui.domain.violations import PolicyViolationType as T
from runtui.domain.workflow import PolicySpec, Workflow
from runtui.store.writer import EventWriter

STRENGTH = {ViolationAction.WARN: 1, ViolationAction.APPROVE: 2, ViolationAction.STOP: 3}
DISPATCH_WINDOW = 10_000  # dispatch times kept per run for the rate limits


@dataclass
class RunGovernance:
    workflow: Workflow
    steps: int = 0
    tokens: float = 0.0
    cost: float = 0.0
    dispatches: deque[float] = field(default_factory=lambda: deque(maxlen=DISPATCH_WINDOW))
    fired: set[str] = field(default_factory=set)


class GovernanceFacade(StepActor[Any]):
    name = "governance"

    def __init__(self, writer: EventWriter, settings: Settings, *, clock: Clock) -> None:
        super().__init__(writer, clock=clock)
        self.settings = settings
        self.runs: dict[str, RunGovernance] = {}
        self.kernel: Actor[Any] | None = None
        self.analyzer: Actor[Any] | None = None
        self.incident: Actor[Any] | None = None

    def forget(self) -> None:
        self.runs.clear()

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.Authorize():
                self._authorize(message, out)
            case m.ResumeGovernance():
                self.runs[message.run_id] = RunGovernance(
                    message.workflow,
                    steps=message.steps,
                    tokens=message.tokens,
                    cost=message.cost,
                    dispatches=deque(message.dispatches, maxlen=DISPATCH_WINDOW),
                    fired=set(message.fired),
                )
            case m.Dispatched():
                self._dispatched(message, out)
            case m.AttemptDone():
                self._attempt_done(message, out)
            case m.ForgetRun():
                self.runs.pop(message.run_id, None)
            case _:
                raise TypeError(f"governance cannot handle {type(message).__name__}")

    def _violation(
        self,
        out: Outbox,
        run_id: str,
        policy: PolicySpec,
        step: int,
        reason: str,
        actual: float | None = None,
        *,
        task_id: str,
        attempt: int | None = None,
    ) -> ViolationData:
        v = ViolationData(
            policy_id=policy.id,
            policy_name=policy.label,
            violation_type=policy.type,
            severity=policy.severity,
            step_index=step,
            at=self.clock(),
            threshold_value=policy.threshold,
            actual_value=actual,
            reason=reason,
            task_id=task_id,
            attempt=attempt,
        )
        out.emit(run_id, ViolationRecorded(violation=v, action=policy.action))
        if self.incident is not None:
            out.send(self.incident, m.SeriousViolation(run_id=run_id, violation=v))
        return v

    # --- before the run ----------------------------------------------------------------------

    def _authorize(self, msg: m.Authorize, out: Outbox) -> None:
        gov = self.runs.setdefault(msg.run_id, RunGovernance(msg.workflow))
        denial: ViolationData | None = None
        gate: ViolationData | None = None
        for task in msg.workflow.tasks:
            commands = _commands_of(task)
            for policy in msg.workflow.policies:
                for command in commands:
                    reason = checks.forbidden_command(policy, command)
                    if reason is None:
                        continue
                    v = self._violation(
                        out,
                        msg.run_id,
                        policy,
                        gov.steps,
                        f"task {task.id}: {reason}",
                        task_id=task.id,
                    )
                    if policy.action is ViolationAction.STOP and denial is None:
                        denial = v
                    elif policy.action is ViolationAction.APPROVE and gate is None:
                        gate = v
        ack(out, self.kernel, msg.run_id, *POLICY_EXPECTATION)
        assert self.kernel is not None
        out.send(
            self.kernel,
            m.AuthorizationResult(
                run_id=msg.run_id,
                allowed=denial is None,
                violation=denial,
                gate=gate if denial is None else None,
                reason=denial.reason if denial else "policies allow",
            ),
        )

    # --- during the run ----------------------------------------------------------------------

    def _dispatched(self, msg: m.Dispatched, out: Outbox) -> None:
        gov = self.runs.get(msg.run_id)
        if gov is None or not self.settings.rok_enabled:
            return
        gov.dispatches.append(msg.at)
        for policy in gov.workflow.policies:
            if policy.type is not T.RATE_LIMIT or policy.id in gov.fired:
                continue
            hit = checks.rate_excess(policy, gov.dispatches, msg.at)
            if hit is None:
                continue
            gov.fired.add(policy.id)
            # the dispatch of this task is the one that went over the rate
            v = self._violation(
                out, msg.run_id, policy, gov.steps, hit[1], hit[0], task_id=msg.task_id
            )
            self._enforce(out, msg.run_id, policy.action, v)

    def _attempt_done(self, msg: m.AttemptDone, out: Outbox) -> None:
        gov = self.runs.get(msg.run_id)
        step = 0
        verdict: ViolationAction | None = None
        worst: ViolationData | None = None
        if gov is not None:
            step = gov.steps
            gov.steps += 1
            usage = msg.outcome.usage
            gov.tokens += usage.get("tokens", 0.0)
            gov.cost += usage.get("cost", 0.0)
            if self.settings.rok_enabled:
                for policy in gov.workflow.policies:
                    found = self._evaluate(gov, policy, msg)
                    if found is None:
                        continue
                    reason, actual = found
                    if policy.type in ONCE_PER_RUN:
                        gov.fired.add(policy.id)
                    v = self._violation(
                        out,
                        msg.run_id,
                        policy,
                        step,
                        reason,
                        actual,
                        task_id=msg.task_id,
                        attempt=msg.attempt,
                    )
                    if verdict is None or STRENGTH[policy.action] > STRENGTH[verdict]:
                        verdict, worst = policy.action, v
        if verdict is ViolationAction.STOP and worst is not None:
            self._enforce(out, msg.run_id, verdict, worst)
        assert self.analyzer is not None
        out.send(
            self.analyzer,
            m.AttemptAnalyzed(
                run_id=msg.run_id,
                task_id=msg.task_id,
                attempt=msg.attempt,
                outcome=msg.outcome,
                step_index=step,
                verdict=verdict,
                violation=worst,
            ),
        )

    def _evaluate(
        self, gov: RunGovernance, policy: PolicySpec, msg: m.AttemptDone
    ) -> tuple[str, float | None] | None:
        if policy.id in gov.fired:
            return None
        if policy.type in (T.TOKEN_LIMIT, T.COST_LIMIT):
            hit = checks.budget_excess(policy, gov.tokens, gov.cost)
            return (hit[1], hit[0]) if hit else None
        if policy.type in (T.CONTENT_POLICY, T.PII_DETECTED):
            findings = msg.outcome.findings
            if findings is not None:  # every line was scanned as it came (`OutputScan`)
                reason = findings.get(policy.id)
            else:
                reason = checks.scan_output(policy, msg.outcome.output)
            return (f"task {msg.task_id}: {reason}", None) if reason else None
        if policy.type is T.CUSTOM_RULE:
            context = {
                "run_id": msg.run_id,
                "task_id": msg.task_id,
                "attempt": msg.attempt,
                "status": msg.outcome.status.value,
                "exit_code": msg.outcome.exit_code,
                "output": list(msg.outcome.output),
                "usage": dict(msg.outcome.usage),
                "tokens": gov.tokens,
                "cost": gov.cost,
                "step": gov.steps - 1,
            }
            reason = checks.custom_rule(policy, context)
            return (reason, None) if reason else None
        return None

    def _enforce(self, out: Outbox, run_id: str, action: ViolationAction, v: ViolationData) -> None:
        """Stop and violation gates that are not tied to an attempt's verdict."""
        assert self.kernel is not None
        assert self.analyzer is not None
        if action is ViolationAction.STOP:
            out.send(
                self.kernel,
                m.StopRun(
                    run_id=run_id,
                    reason=VIOLATION_TERMINATION[v.violation_type],
                    stopped_at_step=v.step_index,
                    violation=v,
                    error=f"{v.policy_name}: {v.reason}",
                ),
            )
        elif action is ViolationAction.APPROVE and v.violation_type is T.RATE_LIMIT:
            out.send(self.analyzer, m.PolicyVerdict(run_id=run_id, action=action, violation=v))


def _commands_of(task: Any) -> list[str]:
    kind = TaskKind(task.kind)
    if kind is TaskKind.SHELL:
        return [task.cmd]
    if kind is TaskKind.EXTERNAL:
        return [task.submit, task.poll]
    return []
