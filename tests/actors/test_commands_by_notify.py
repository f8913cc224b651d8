"""On PostgreSQL a command reaches the process that drives its run by NOTIFY alone: the
requester may be on another machine, where no bell (a Unix socket) reaches. Here the bell is
silenced and the owner's own look put off for an hour, so only the notification can wake it."""

from __future__ import annotations

import anyio
import pytest

from runtui.actors import command_intake, delegate
from runtui.actors.runtime import Runtime
from runtui.domain.status import RunStatus
from tests.actors.conftest import finish, next_approval, settings_for, wf
from tests.databases import postgres_schema, sql

pytestmark = pytest.mark.anyio

GATED = (
    'name = "gated"\n[[tasks]]\nid = "ask"\nkind = "gate"\nprompt = "go?"\n'
    '[[tasks]]\nid = "then"\nkind = "noop"\nneeds = ["ask"]\n'
)


async def test_a_decision_reaches_the_driver_by_notify_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(command_intake, "LOOK_EVERY_S", 3600.0)
    monkeypatch.setattr(delegate, "ring_bell", lambda *_: None)
    with postgres_schema() as url:
        async with (
            Runtime.open(settings_for(url)) as driver,
            Runtime.open(settings_for(url), resume=False) as elsewhere,
        ):
            run_id = await driver.submit(wf(GATED))
            approval = await next_approval(driver, run_id)
            with anyio.fail_after(20):  # without NOTIFY nothing wakes the driver for an hour
                await elsewhere.approve(approval.approval_id, by="ann")
            run = await finish(driver, run_id)
        assert run.status is RunStatus.SUCCEEDED
        assert sql(url, "SELECT kind, state FROM commands") == [("approve", "done")]
