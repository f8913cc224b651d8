"""Queries against a real database: paging, filters, counts, approvals, events."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.domain.errors import NotFoundError, UnknownValueError
from runtui.domain.events import PendingEvent, RunCreated, RunStatusChanged
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunLifecycleState, RunStatus
from runtui.domain.summary import RunResult
from runtui.store import Store, open_store
from runtui.store.run_listing import InvalidCursorError
from tests.databases import sql
from tests.factories import full_run

pytestmark = pytest.mark.anyio


async def _seed(store: Store, n_ok: int, n_fail: int, n_live: int) -> None:
    t = 1_700_000_000.0
    for i in range(n_ok):
        await store.writer.append_many(full_run(f"ok{i:03d}", t0=t + i * 100))
    for i in range(n_fail):
        await store.writer.append_many(full_run(f"bad{i:03d}", t0=t + 50 + i * 100, fail=True))
    for i in range(n_live):
        await store.writer.append_many(
            [
                PendingEvent(f"live{i:03d}", RunCreated(workflow="other"), t + 10_000 + i),
            ]
        )


async def test_list_runs_pages_newest_first_without_gaps(database: Path | str) -> None:
    async with open_store(database) as store:
        await _seed(store, 20, 7, 5)
        seen: list[str] = []
        cursor = None
        while True:
            page = await store.reader.list_runs(limit=6, cursor=cursor)
            seen += [r.run_id for r in page.runs]
            cursor = page.next_cursor
            if cursor is None:
                break
        every = await store.reader.list_runs(limit=1000)
        assert seen == [r.run_id for r in every.runs]
        assert len(seen) == 32 == len(set(seen))
        created = [r.created_at for r in every.runs]
        assert created == sorted(created, reverse=True)


async def test_filters(database: Path | str) -> None:
    async with open_store(database) as store:
        await _seed(store, 4, 3, 2)
        r = store.reader
        ok = await r.list_runs(result="success")
        assert {x.run_id for x in ok.runs} == {f"ok{i:03d}" for i in range(4)}
        assert all(
            x.status is RunStatus.SUCCEEDED and x.phase is RunPhase.COMPLETED for x in ok.runs
        )
        failed = await r.list_runs(result=RunResult.FAILED)
        assert len(failed.runs) == 3
        assert all(x.termination_reason for x in failed.runs)
        queued = await r.list_runs(status="queued")
        assert {x.run_id for x in queued.runs} == {"live000", "live001"}
        assert all(x.lifecycle is RunLifecycleState.LIVE for x in queued.runs)
        assert len((await r.list_runs(workflow="other")).runs) == 2
        assert len((await r.list_runs(since=1_700_000_000.0 + 10_000)).runs) == 2
        assert await r.count_by_result() == {"success": 4, "failed": 3, "stopped": 0, "live": 2}
        with pytest.raises(UnknownValueError, match="status: unknown value 'nope'"):
            await r.list_runs(status="nope")
        with pytest.raises(InvalidCursorError):
            await r.list_runs(cursor="garbage!")
        with pytest.raises(ValueError, match="limit"):
            await r.list_runs(limit=0)


async def test_get_run_projection_and_not_found(database: Path | str) -> None:
    async with open_store(database) as store:
        await store.writer.append_many(full_run("r1"))
        run = await store.reader.get_run("r1")
        assert run.workflow == "demo"
        assert run.wave_index == 1
        assert run.worst_severity is not None
        assert run.worst_severity.value == "high"
        assert run.worst_violation is not None
        assert run.worst_violation.value == "token_limit"
        assert run.result is RunResult.SUCCESS
        assert run.last_seq == len(full_run("x"))
        with pytest.raises(NotFoundError):
            await store.reader.get_run("nope")


async def test_events_after_and_since(database: Path | str) -> None:
    async with open_store(database) as store:
        await store.writer.append_many(full_run("r1"))
        await store.writer.append_many(full_run("r2"))
        evs = await store.reader.events_after("r1", 5)
        assert [e.seq for e in evs] == list(range(6, len(full_run("x")) + 1))
        assert evs[0].body == full_run("r1")[5].body
        assert [e.seq for e in await store.reader.events_after("r1", 0, limit=3)] == [1, 2, 3]
        glob = await store.reader.events_since(len(full_run("x")) - 1, limit=3)
        assert [(e.run_id, e.seq) for e in glob] == [
            ("r1", len(full_run("x"))),
            ("r2", 1),
            ("r2", 2),
        ]


async def test_pending_approvals_oldest_first(database: Path | str) -> None:
    async with open_store(database) as store:
        events = full_run("late", t0=2_000)
        cut = next(i for i, e in enumerate(events) if type(e.body).__name__ == "ApprovalDecided")
        await store.writer.append_many(events[:cut])  # waiting for a decision
        early = full_run("early", t0=1_000)
        cut2 = next(i for i, e in enumerate(early) if type(e.body).__name__ == "ApprovalDecided")
        await store.writer.append_many(early[:cut2])
        await store.writer.append_many(full_run("decided", t0=500))
        pending = await store.reader.pending_approvals()
        assert [a.run_id for a in pending] == ["early", "late"]
        assert pending[0].unblocks == ["gate"]
        assert pending[0].pending
        run = await store.reader.get_run("early")
        assert run.status is RunStatus.AWAITING_APPROVAL


async def test_summaries_by_result(database: Path | str) -> None:
    async with open_store(database) as store:
        await _seed(store, 3, 2, 1)
        assert len(await store.reader.run_summaries()) == 5
        failed = await store.reader.run_summaries(result="failed")
        assert {s.run_id for s in failed} == {"bad000", "bad001"}
        assert failed[0].failure_reason == "approval_rejected"
        assert await store.reader.count_summaries("success") == 3


async def test_status_event_after_summary_keeps_result(database: Path | str) -> None:
    async with open_store(database) as store:
        await store.writer.append_many(full_run("r1"))
        await store.writer.append("r1", RunStatusChanged(status=RunStatus.SUCCEEDED))
        assert (await store.reader.get_run("r1")).result is RunResult.SUCCESS


async def test_live_and_text_filters(database: Path | str) -> None:
    async with open_store(database) as store:
        await _seed(store, 3, 2, 2)
        r = store.reader
        assert {x.run_id for x in (await r.list_runs(live=True)).runs} == {"live000", "live001"}
        assert len((await r.list_runs(live=False)).runs) == 5
        assert {x.run_id for x in (await r.list_runs(text="bad")).runs} == {"bad000", "bad001"}
        assert len((await r.list_runs(text="othe")).runs) == 2  # workflow "other"
        assert (await r.list_runs(text="100%_")).runs == []  # LIKE wildcards are literal


async def test_migration_7_recomputes_where_stored_runs_are_among_their_waves(
    database: Path | str,
) -> None:
    """Runs stored before it had every later wave's skipped task push `wave_index` to the last
    wave, and no wave count: the migration's statements put both right from `tasks`."""
    from runtui.store.schema import migrations, split_statements

    async with open_store(database) as store:
        await store.writer.append_many(full_run("r1"))
        right = await store.reader.get_run("r1")
    sql(database, "UPDATE runs SET wave_count = NULL, wave_index = 9")
    (_, _, seventh) = next(m for m in migrations() if m[0] == 7)
    for statement in split_statements(seventh)[1:]:  # the ALTER TABLE has been applied
        sql(database, statement)
    async with open_store(database) as store:
        fixed = await store.reader.get_run("r1")
    assert (fixed.wave_index, fixed.wave_count) == (right.wave_index, right.wave_count)
    assert right.wave_count is not None


async def test_text_filter_matches_what_the_runs_list_shows(database: Path | str) -> None:
    """The id by its start (typed or pasted) or its tail (the short id shown), never by a few
    characters buried inside it; the worst violation as shown; any case, on both stores."""
    async with open_store(database) as store:
        await store.writer.append_many(full_run("aa11bb22"))
        r = store.reader

        async def found(text: str) -> bool:
            return [x.run_id for x in (await r.list_runs(text=text)).runs] == ["aa11bb22"]

        for shown in ("aa1", "b22", "…bb22", "high token_limit", "TOKEN_LIM", "completed", "Demo"):
            assert await found(shown), shown
        assert not await found("11b")  # inside the id: shown nowhere
        assert not await found("low token")
