"""How a facade acknowledges its audit expectation: an event, and a notice to the kernel."""

from __future__ import annotations

from typing import Any

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.step import Outbox
from runtui.domain.audit import AckStatus
from runtui.domain.events import AckRecorded


def ack(
    out: Outbox,
    kernel: Actor[Any] | None,
    run_id: str,
    domain: str,
    action: str,
    status: AckStatus = AckStatus.SUCCESS,
    result_id: str | None = None,
    error: str | None = None,
) -> None:
    out.emit(
        run_id,
        AckRecorded(domain=domain, action=action, status=status, result_id=result_id, error=error),
    )
    if kernel is not None:
        out.send(kernel, m.AckNotice(run_id=run_id, domain=domain, action=action, status=status))
