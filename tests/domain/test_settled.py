"""The one settledness rule: a run has settled when it ended or waits for a human with nothing
under way."""

from __future__ import annotations

import pytest

from runtui.domain.settled import is_settled
from runtui.domain.status import RunStatus


@pytest.mark.parametrize("status", [s for s in RunStatus if s.is_terminal])
def test_an_ended_run_has_settled_whatever_its_rows_say(status: RunStatus) -> None:
    assert is_settled(status, ["running"])


def test_a_run_at_a_gate_with_nothing_under_way_has_settled() -> None:
    assert is_settled(RunStatus.AWAITING_APPROVAL, ["done", "awaiting_approval", "pending"])


@pytest.mark.parametrize("busy", ["running", "waiting_external"])
def test_a_gate_in_one_branch_does_not_settle_a_run_whose_other_branch_works(busy: str) -> None:
    assert not is_settled(RunStatus.AWAITING_APPROVAL, ["awaiting_approval", busy])


@pytest.mark.parametrize(
    "status", [s for s in RunStatus if not s.is_terminal and s is not RunStatus.AWAITING_APPROVAL]
)
def test_a_live_run_not_waiting_for_a_human_has_not_settled(status: RunStatus) -> None:
    assert not is_settled(status, [])
