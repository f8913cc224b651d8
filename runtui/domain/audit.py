"""Audit reconciliation (RAC): what the kernel expected to happen versus what facades acked.

At T0 the kernel declares expectations; facades send acks; reconciliation compares the two.
The liveness expectation (`orchestrator/finalize_run`) is acked at finalize, so the governance
check leaves it out and only a deadline can make it stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import msgspec


class AckStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


class ReconciliationStatus(StrEnum):
    COMPLETE = "COMPLETE"
    INCOMPLETE = "INCOMPLETE"
    STALE = "STALE"


class AuditExpectation(msgspec.Struct, frozen=True):
    domain: str
    action: str
    deadline: float
    liveness: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.action)


class DomainAck(msgspec.Struct, frozen=True):
    domain: str
    action: str
    status: AckStatus
    result_id: str | None = None
    error: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.action)


INCIDENT_EXPECTATION = ("incidents", "create_incident")
POLICY_EXPECTATION = ("policies", "evaluate_policy")
TRACE_EXPECTATION = ("logs", "start_trace")
FINALIZE_EXPECTATION = ("orchestrator", "finalize_run")


def standard_expectations(
    *, now: float, governance_timeout_s: float, run_timeout_s: float, grace_period_s: float
) -> list[AuditExpectation]:
    """The four expectations the kernel declares at T0."""
    gov_deadline = now + governance_timeout_s
    return [
        AuditExpectation(*INCIDENT_EXPECTATION, deadline=gov_deadline),
        AuditExpectation(*POLICY_EXPECTATION, deadline=gov_deadline),
        AuditExpectation(*TRACE_EXPECTATION, deadline=gov_deadline),
        AuditExpectation(
            *FINALIZE_EXPECTATION, deadline=now + run_timeout_s + grace_period_s, liveness=True
        ),
    ]


class Reconciliation(msgspec.Struct, frozen=True):
    status: ReconciliationStatus
    expected: tuple[tuple[str, str], ...]
    acked: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, str], ...]
    drift: tuple[tuple[str, str], ...]
    failed: tuple[tuple[str, str], ...]
    stale: tuple[tuple[str, str], ...]

    @property
    def is_clean(self) -> bool:
        return self.status is ReconciliationStatus.COMPLETE and not (
            self.missing or self.drift or self.failed or self.stale
        )


def reconcile(
    expectations: Iterable[AuditExpectation],
    acks: Iterable[DomainAck],
    *,
    now: float,
    include_liveness: bool = True,
) -> Reconciliation:
    """Compare expectations with acks at time `now`.

    missing = expected − acked; drift = acked − expected; failed = non-success acks;
    stale = a liveness expectation still unacked past its deadline. STALE wins over
    INCOMPLETE because an overdue liveness check means the run itself may be wedged.
    """
    exps = [e for e in expectations if include_liveness or not e.liveness]
    ack_list = list(acks)
    expected_keys = [e.key for e in exps]
    acked_keys = sorted({a.key for a in ack_list})
    acked_set = set(acked_keys)
    expected_set = set(expected_keys)
    missing = tuple(k for k in expected_keys if k not in acked_set)
    drift = tuple(k for k in acked_keys if k not in expected_set)
    failed = tuple(sorted({a.key for a in ack_list if a.status is not AckStatus.SUCCESS}))
    stale = tuple(e.key for e in exps if e.liveness and e.key not in acked_set and now > e.deadline)
    if stale:
        status = ReconciliationStatus.STALE
    elif missing:
        status = ReconciliationStatus.INCOMPLETE
    else:
        status = ReconciliationStatus.COMPLETE
    return Reconciliation(
        status=status,
        expected=tuple(expected_keys),
        acked=tuple(acked_keys),
        missing=missing,
        drift=drift,
        failed=failed,
        stale=stale,
    )
