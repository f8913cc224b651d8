"""The database refusing writes (disk full, read-only, an I/O error) is an outage, not a bug:
the requests it refuses fail (nothing half-written), the runtime does not crash or give up,
readiness says it cannot write, and it carries on by itself once writes go through again."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.errors import UnavailableError
from runtui.domain.status import RunStatus
from runtui.store.writer import _Call
from tests.actors.conftest import finish, next_approval, settings_for, wf

pytestmark = pytest.mark.anyio

GATED = (
    'name = "g"\n[[tasks]]\nid = "g"\nkind = "gate"\n'
    '[[tasks]]\nid = "after"\nkind = "shell"\ncmd = "echo done"\nneeds = ["g"]'
)


async def writer_sql(rt: Runtime, sql: str) -> None:
    """White box: `sql` on the writer's own connection (`query_only` is per connection), as a
    read-only filesystem would make every commit fail with SQLITE_READONLY."""
    writer = rt.store.writer
    call = _Call(lambda: writer._conn.execute(sql))
    await writer._submit(call)
    await call.done.wait()
    assert call.error is None, call.error


async def until_running(rt: Runtime, running: bool) -> None:
    with anyio.fail_after(20):
        await rt.supervisor.until_running(running)


async def test_a_refused_commit_pauses_the_runtime_until_writes_go_through(db_path: Path) -> None:
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(wf(GATED))
        approval = await next_approval(rt, run_id)
        await writer_sql(rt, "PRAGMA query_only=ON")
        with pytest.raises(UnavailableError, match="refuses writes"):
            await rt.approve(approval.approval_id)
        await until_running(rt, False)
        with pytest.raises(UnavailableError):  # while it waits, requests are refused (503)
            await rt.submit(wf(GATED))
        assert (await rt.reader.get_approval(approval.approval_id)).pending  # nothing written
        await writer_sql(rt, "PRAGMA query_only=OFF")
        await until_running(rt, True)  # by itself: nobody restarted it
        await rt.approve(approval.approval_id)  # the same request, now accepted
        run = await finish(rt, run_id)
    assert run.status is RunStatus.SUCCEEDED


async def test_a_deleted_database_pauses_the_runtime_and_loses_nothing(db_path: Path) -> None:
    async with Runtime.open(settings_for(db_path)) as rt:
        run_id = await rt.submit(wf(GATED))
        await next_approval(rt, run_id)
        for suffix in ("", "-wal", "-shm"):
            db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
        with pytest.raises(UnavailableError, match="was deleted under the runtime"):
            await rt.submit(wf(GATED))
        await until_running(rt, False)  # waiting, not crashed: readiness says why
    (rescued,) = db_path.parent.glob("runs.db.rescued-*")
    async with Runtime.open(settings_for(rescued), resume=False) as rt:
        assert (await rt.reader.get_run(run_id)).status is RunStatus.AWAITING_APPROVAL
