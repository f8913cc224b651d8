"""A second decision on a run's gate, given by run only (no approval id), names the first."""

from __future__ import annotations

import pytest

from tests.server.conftest import GATE, Api

pytestmark = pytest.mark.anyio


async def test_a_second_decision_by_run_names_the_first(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    first = await api.client.post(f"/api/runs/{run_id}/approve", json={"by": "ann"})
    assert first.status_code == 200, first.text
    again = await api.client.post(f"/api/runs/{run_id}/reject", json={"by": "bob", "reason": "no"})
    assert again.status_code == 409, again.text
    assert "already decided: approve by ann" in again.json()["detail"]
