"""A NUL in what a workflow carries or a task prints, on both stores. PostgreSQL's text cannot
hold NUL: before, the batch holding such an event was refused, the kernel crashed until its
budget ran out and the runtime (a server's too) stopped. Now PostgreSQL stores each NUL as `␀`,
the sign the UI shows for it on either store, so the run goes on and reads the same on both."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.status import RunStatus
from runtui.domain.terminal_text import safe_fields, terminal_safe
from tests.actors.conftest import finish, next_approval, wf

pytestmark = pytest.mark.anyio

NUL_FLOW = r"""
name = "nul"
[[tasks]]
id = "speaks"
kind = "shell"
cmd = 'printf "before\000after\n"'
[[tasks]]
id = "gate"
kind = "gate"
needs = ["speaks"]
prompt = "Ship\u0000it?"
"""


async def test_a_nul_is_shown_the_same_on_both_stores_and_stops_nothing(runtime: Runtime) -> None:
    run_id = await runtime.submit(wf(NUL_FLOW))
    approval = await next_approval(runtime, run_id)
    assert safe_fields(approval).prompt == "Ship␀it?"
    output = await runtime.reader.task_output(run_id, "speaks", 0)
    assert [terminal_safe(line.text) for line in output.lines] == ["before␀after"]
    found = await runtime.reader.search_events(run_id, "before␀after")
    assert found.total == 1  # the search text is what is shown: the same on both stores
    run = await runtime.reader.get_run(run_id)
    assert run.status is RunStatus.AWAITING_APPROVAL
    await runtime.approve(approval.approval_id, reason="a\x00b")
    assert (await finish(runtime, run_id)).status is RunStatus.SUCCEEDED
    (decided,) = await runtime.reader.approvals_of(run_id)
    assert safe_fields(decided).reason == "a␀b"
