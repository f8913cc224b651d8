"""A second decision on a run's gate, given by run only (no approval id), names the first."""

from __future__ import annotations

import pytest

from runtui.identity import who_decides
from tests.server.conftest import GATE, Api

pytestmark = pytest.mark.anyio

#: The name a test server's own token records decisions under (who runs it).
OWNER = who_decides()


async def test_a_second_decision_by_run_names_the_first(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    first = await api.client.post(f"/api/runs/{run_id}/approve", json={"by": "ann"})
    assert first.status_code == 200, first.text
    again = await api.client.post(f"/api/runs/{run_id}/reject", json={"by": "bob", "reason": "no"})
    assert again.status_code == 409, again.text
    assert f"already decided: approve by {OWNER} (as ann)" in again.json()["detail"]
