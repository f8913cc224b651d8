"""The incident facade: opens incidents for failed runs and serious violations.

It acks `incidents/create_incident` for every run that reaches the governance check, whether or
not an incident was needed: the audit asks "did the incident domain look at this run?".
"""

from __future__ import annotations

from typing import Any

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.facades.acks import ack
from runtui.actors.step import Clock, Outbox, StepActor
from runtui.domain.audit import INCIDENT_EXPECTATION
from runtui.domain.events import IncidentOpened
from runtui.domain.ids import new_id
from runtui.domain.termination import RunTerminationReason
from runtui.domain.violations import SEVERITY_PRIORITY, ViolationSeverity
from runtui.store.writer import EventWriter

SERIOUS = SEVERITY_PRIORITY[ViolationSeverity.HIGH]


class IncidentFacade(StepActor[Any]):
    name = "incident"

    def __init__(self, writer: EventWriter, *, clock: Clock) -> None:
        super().__init__(writer, clock=clock)
        self.kernel: Actor[Any] | None = None
        self.opened: dict[str, int] = {}

    def forget(self) -> None:
        self.opened.clear()

    async def on_message(self, message: Any, out: Outbox) -> None:
        match message:
            case m.SeriousViolation():
                v = message.violation
                if SEVERITY_PRIORITY[v.severity] >= SERIOUS:
                    self._open(
                        out,
                        message.run_id,
                        v.severity,
                        f"{v.severity.value} {v.violation_type.value}: {v.policy_name}",
                        f"step {v.step_index}: {v.reason}",
                    )
            case m.RunOutcome():
                if message.failed:
                    severity = (
                        ViolationSeverity.CRITICAL
                        if message.reason is RunTerminationReason.POLICY_BLOCK
                        else ViolationSeverity.HIGH
                    )
                    self._open(
                        out,
                        message.run_id,
                        severity,
                        f"run failed: {message.reason.value}",
                        message.detail,
                    )
                ack(out, self.kernel, message.run_id, *INCIDENT_EXPECTATION)
            case m.ForgetRun():
                self.opened.pop(message.run_id, None)
            case _:
                raise TypeError(f"incident facade cannot handle {type(message).__name__}")

    def _open(
        self, out: Outbox, run_id: str, severity: ViolationSeverity, title: str, detail: str
    ) -> None:
        self.opened[run_id] = self.opened.get(run_id, 0) + 1
        out.emit(
            run_id,
            IncidentOpened(
                incident_id=new_id(self.clock()), severity=severity, title=title, detail=detail
            ),
        )
