"""Audit reconciliation (RAC): expectations versus acks."""

from __future__ import annotations

import msgspec
import pytest

from runtui.domain.audit import (
    AckStatus,
    AuditExpectation,
    DomainAck,
    Reconciliation,
    ReconciliationStatus,
    reconcile,
    standard_expectations,
)

INC = ("incidents", "create_incident")
POL = ("policies", "evaluate_policy")
TRC = ("logs", "start_trace")
FIN = ("orchestrator", "finalize_run")

T0 = 1_000.0
GOV_S = 5.0
RUN_S = 30.0
GRACE_S = 5.0
GOV_DEADLINE = T0 + GOV_S
FIN_DEADLINE = T0 + RUN_S + GRACE_S


def _std() -> list[AuditExpectation]:
    return standard_expectations(
        now=T0, governance_timeout_s=GOV_S, run_timeout_s=RUN_S, grace_period_s=GRACE_S
    )


def _ok(key: tuple[str, str], result_id: str | None = "id") -> DomainAck:
    return DomainAck(key[0], key[1], AckStatus.SUCCESS, result_id=result_id)


def _bad(key: tuple[str, str], status: AckStatus) -> DomainAck:
    return DomainAck(key[0], key[1], status, error="boom")


def test_enum_values() -> None:
    assert {s.value for s in AckStatus} == {"success", "failed", "rolled_back"}
    assert {s.value for s in ReconciliationStatus} == {"COMPLETE", "INCOMPLETE", "STALE"}


def test_standard_expectations() -> None:
    exps = _std()
    assert [(e.domain, e.action) for e in exps] == [INC, POL, TRC, FIN]
    by_key = {e.key: e for e in exps}
    for key in (INC, POL, TRC):
        assert by_key[key].deadline == GOV_DEADLINE
        assert by_key[key].liveness is False
    assert by_key[FIN].deadline == FIN_DEADLINE
    assert by_key[FIN].liveness is True


def test_standard_expectations_deadlines_follow_inputs() -> None:
    exps = standard_expectations(
        now=10.0, governance_timeout_s=0.5, run_timeout_s=120.0, grace_period_s=0.0
    )
    assert [e.deadline for e in exps] == [10.5, 10.5, 10.5, 130.0]


def test_all_acked_is_complete_and_clean() -> None:
    r = reconcile(_std(), [_ok(k) for k in (INC, POL, TRC, FIN)], now=T0 + 1)
    assert r.status is ReconciliationStatus.COMPLETE
    assert r.expected == (INC, POL, TRC, FIN)
    assert set(r.acked) == {INC, POL, TRC, FIN}
    assert r.missing == r.drift == r.failed == r.stale == ()
    assert r.is_clean


def test_missing_is_expected_minus_acked() -> None:
    r = reconcile(_std(), [_ok(INC), _ok(FIN)], now=T0 + 1)
    assert r.status is ReconciliationStatus.INCOMPLETE
    assert r.missing == (POL, TRC)  # in declaration order
    assert r.drift == ()
    assert r.stale == ()
    assert not r.is_clean


def test_nothing_acked_before_deadlines_is_incomplete_not_stale() -> None:
    r = reconcile(_std(), [], now=T0)
    assert r.status is ReconciliationStatus.INCOMPLETE
    assert r.missing == (INC, POL, TRC, FIN)
    assert r.acked == ()
    assert r.stale == ()


def test_drift_is_acked_minus_expected() -> None:
    extra = ("billing", "charge")
    r = reconcile(_std(), [*(_ok(k) for k in (INC, POL, TRC, FIN)), _ok(extra)], now=T0)
    assert r.drift == (extra,)
    assert r.missing == ()
    assert r.status is ReconciliationStatus.COMPLETE  # drift alone does not change the status
    assert not r.is_clean


@pytest.mark.parametrize("status", [AckStatus.FAILED, AckStatus.ROLLED_BACK])
def test_failed_acks_are_non_success(status: AckStatus) -> None:
    acks = [_ok(INC), _bad(POL, status), _ok(TRC), _ok(FIN)]
    r = reconcile(_std(), acks, now=T0)
    assert r.failed == (POL,)
    assert r.missing == ()  # a failed ack is still an ack
    assert POL in r.acked
    assert r.status is ReconciliationStatus.COMPLETE
    assert not r.is_clean


def test_failed_lists_only_non_success_and_dedupes() -> None:
    acks = [
        _bad(TRC, AckStatus.FAILED),
        _bad(TRC, AckStatus.ROLLED_BACK),
        _bad(INC, AckStatus.FAILED),
        _ok(POL),
    ]
    r = reconcile(_std(), acks, now=T0, include_liveness=False)
    assert sorted(r.failed) == sorted([INC, TRC])
    assert len(r.failed) == 2
    assert POL not in r.failed


def test_duplicate_acks_count_once() -> None:
    r = reconcile(_std(), [_ok(INC), _ok(INC), _ok(POL), _ok(TRC), _ok(FIN)], now=T0)
    assert sorted(r.acked) == sorted([INC, POL, TRC, FIN])
    assert len(r.acked) == 4
    assert r.is_clean


def test_liveness_past_deadline_unacked_is_stale() -> None:
    acks = [_ok(k) for k in (INC, POL, TRC)]
    r = reconcile(_std(), acks, now=FIN_DEADLINE + 0.001)
    assert r.stale == (FIN,)
    assert r.missing == (FIN,)
    assert r.status is ReconciliationStatus.STALE
    assert not r.is_clean


def test_liveness_exactly_at_deadline_is_not_stale() -> None:
    acks = [_ok(k) for k in (INC, POL, TRC)]
    r = reconcile(_std(), acks, now=FIN_DEADLINE)
    assert r.stale == ()
    assert r.status is ReconciliationStatus.INCOMPLETE


def test_liveness_acked_late_is_not_stale() -> None:
    r = reconcile(_std(), [_ok(k) for k in (INC, POL, TRC, FIN)], now=FIN_DEADLINE + 100)
    assert r.stale == ()
    assert r.is_clean


def test_liveness_acked_with_failure_is_failed_not_stale() -> None:
    acks = [*(_ok(k) for k in (INC, POL, TRC)), _bad(FIN, AckStatus.FAILED)]
    r = reconcile(_std(), acks, now=FIN_DEADLINE + 100)
    assert r.stale == ()
    assert r.failed == (FIN,)


def test_non_liveness_past_deadline_is_missing_not_stale() -> None:
    r = reconcile(_std(), [_ok(FIN)], now=GOV_DEADLINE + 1_000)
    assert r.stale == ()
    assert r.missing == (INC, POL, TRC)
    assert r.status is ReconciliationStatus.INCOMPLETE


def test_stale_wins_over_incomplete() -> None:
    r = reconcile(_std(), [], now=FIN_DEADLINE + 1)
    assert r.missing == (INC, POL, TRC, FIN)
    assert r.stale == (FIN,)
    assert r.status is ReconciliationStatus.STALE


def test_include_liveness_false_excludes_finalize() -> None:
    acks = [_ok(k) for k in (INC, POL, TRC)]
    r = reconcile(_std(), acks, now=FIN_DEADLINE + 1_000, include_liveness=False)
    assert r.expected == (INC, POL, TRC)
    assert FIN not in r.missing
    assert r.stale == ()
    assert r.status is ReconciliationStatus.COMPLETE
    assert r.is_clean


def test_include_liveness_false_still_reports_missing_governance_acks() -> None:
    r = reconcile(_std(), [_ok(INC)], now=T0, include_liveness=False)
    assert r.missing == (POL, TRC)
    assert r.status is ReconciliationStatus.INCOMPLETE


def test_include_liveness_default_is_true() -> None:
    acks = [_ok(k) for k in (INC, POL, TRC)]
    r = reconcile(_std(), acks, now=T0)
    assert FIN in r.expected
    assert r.missing == (FIN,)


def test_no_expectations_no_acks_is_clean() -> None:
    r = reconcile([], [], now=0.0)
    assert r.status is ReconciliationStatus.COMPLETE
    assert r.is_clean


def test_accepts_generators() -> None:
    r = reconcile(iter(_std()), (_ok(k) for k in (INC, POL, TRC, FIN)), now=T0)
    assert r.is_clean


def test_is_clean_requires_every_list_empty() -> None:
    base = dict(
        status=ReconciliationStatus.COMPLETE,
        expected=(INC,),
        acked=(INC,),
        missing=(),
        drift=(),
        failed=(),
        stale=(),
    )
    assert Reconciliation(**base).is_clean  # type: ignore[arg-type]
    for field in ("missing", "drift", "failed", "stale"):
        assert not Reconciliation(**{**base, field: (INC,)}).is_clean  # type: ignore[arg-type]
    for status in (ReconciliationStatus.INCOMPLETE, ReconciliationStatus.STALE):
        assert not Reconciliation(**{**base, "status": status}).is_clean  # type: ignore[arg-type]


def test_structs_are_frozen_and_keyed() -> None:
    e = AuditExpectation("a", "b", deadline=1.0)
    a = DomainAck("a", "b", AckStatus.SUCCESS)
    assert e.key == a.key == ("a", "b")
    assert e.liveness is False
    assert a.result_id is None
    assert a.error is None
    with pytest.raises(AttributeError):
        e.deadline = 2.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        a.status = AckStatus.FAILED  # type: ignore[misc]


def test_ack_decodes_from_wire_and_rejects_bad_status() -> None:
    raw = msgspec.json.encode({"domain": "logs", "action": "start_trace", "status": "success"})
    ack = msgspec.json.decode(raw, type=DomainAck)
    assert ack.status is AckStatus.SUCCESS
    bad = msgspec.json.encode({"domain": "logs", "action": "start_trace", "status": "ok"})
    with pytest.raises(msgspec.ValidationError, match="status"):
        msgspec.json.decode(bad, type=DomainAck)
