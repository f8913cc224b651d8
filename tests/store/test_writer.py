"""The writer on a real SQLite file: ordering, gap-free seqs, atomic refusal, durability mode."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from runtui.domain.enums import Durability
from runtui.domain.errors import EventDecodeError, StoreError, StoreUnavailableError
from runtui.domain.events import (
    AttemptOutput,
    EventEnvelope,
    PendingEvent,
    RunCreated,
    RunStatusChanged,
    TaskDeclared,
)
from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskKind
from runtui.store import Store, WriterClosedError, open_store
from tests.factories import full_run

pytestmark = pytest.mark.anyio


def _rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def test_seq_is_gap_free_under_concurrent_appends(db_path: Path) -> None:
    runs = [f"run-{i}" for i in range(5)]
    committed: list[EventEnvelope] = []
    async with open_store(db_path, on_commit=committed.extend) as store:
        for r in runs:
            await store.writer.append(r, RunCreated(workflow="w"))

        async def producer(worker: int) -> None:
            for i in range(60):
                run = runs[(worker + i) % len(runs)]
                if i % 3 == 0:
                    items = [
                        PendingEvent(
                            run,
                            AttemptOutput(task_id="t", attempt=0, lines=[f"{worker}:{i}:{j}"]),
                            1.0,
                        )
                        for j in range(7)
                    ]
                    envs = await store.writer.append_many(items)
                    # a request's events are contiguous in its run
                    assert [e.seq for e in envs] == list(range(envs[0].seq, envs[0].seq + 7))
                else:
                    await store.writer.append(
                        run, AttemptOutput(task_id="t", attempt=0, lines=["x"])
                    )

        async with anyio.create_task_group() as tg:
            for w in range(40):
                tg.start_soon(producer, w)
        assert store.writer.commits < store.writer.events_committed  # grouping happened

    for run in runs:
        seqs = [
            r[0]
            for r in _rows(db_path, "SELECT seq FROM events WHERE run_id=? ORDER BY seq", (run,))
        ]
        assert seqs == list(range(1, len(seqs) + 1))
        (last,) = _rows(db_path, "SELECT last_seq FROM runs WHERE run_id=?", (run,))[0]
        assert last == len(seqs)
    total = _rows(db_path, "SELECT COUNT(*), MAX(position) FROM events")[0]
    assert total[0] == total[1] == 5 + 40 * (20 * 7 + 40)
    # subscribers saw every committed event exactly once, in commit order
    assert [e.position for e in committed] == list(range(1, total[0] + 1))


async def test_first_event_must_create_the_run(db_path: Path) -> None:
    async with open_store(db_path) as store:
        with pytest.raises(StoreError, match="run ghost does not exist"):
            await store.writer.append("ghost", RunStatusChanged(status=RunStatus.RUNNING))
        await store.writer.append("r1", RunCreated(workflow="w"))
        with pytest.raises(StoreError, match="already exists"):
            await store.writer.append("r1", RunCreated(workflow="w"))
    assert _rows(db_path, "SELECT run_id, seq FROM events") == [("r1", 1)]


async def test_a_refused_request_writes_nothing_and_spares_its_group(db_path: Path) -> None:
    async with open_store(db_path) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        declare = TaskDeclared(task_id="a", task_kind=TaskKind.SHELL, wave=0)
        await store.writer.append("r1", declare)

        results: dict[str, object] = {}

        async def good(i: int) -> None:
            results[f"good{i}"] = await store.writer.append(
                "r1", AttemptOutput(task_id="a", attempt=0)
            )

        async def bad() -> None:
            # the status changes first, then the duplicate task id violates the primary key:
            # the whole request must roll back, status included
            try:
                await store.writer.append_many(
                    [
                        PendingEvent("r1", RunStatusChanged(status=RunStatus.RUNNING), 2.0),
                        PendingEvent("r1", declare, 2.0),
                    ]
                )
            except StoreError as exc:
                results["bad"] = exc

        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(good, i)
            tg.start_soon(bad)
            for i in range(5, 10):
                tg.start_soon(good, i)

    assert isinstance(results["bad"], StoreError)
    assert "UNIQUE constraint failed: tasks" in str(results["bad"])
    seqs = [r[0] for r in _rows(db_path, "SELECT seq FROM events WHERE run_id='r1' ORDER BY seq")]
    assert seqs == list(range(1, 13))  # 2 + 10 good appends, no gap where the bad one was
    assert _rows(db_path, "SELECT status FROM runs")[0][0] == "queued"
    assert _rows(db_path, "SELECT COUNT(*) FROM events WHERE kind='run.status'")[0][0] == 0


async def test_malformed_event_is_refused_before_anything_is_written(db_path: Path) -> None:
    async with open_store(db_path) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        with pytest.raises(EventDecodeError) as info:
            await store.writer.append_many(
                [
                    PendingEvent("r1", AttemptOutput(task_id="a", attempt=0), 1.0),
                    PendingEvent("r1", RunStatusChanged(status="bogus"), 1.0),  # type: ignore[arg-type]
                ]
            )
        assert info.value.field == "status"
    assert _rows(db_path, "SELECT COUNT(*) FROM events")[0][0] == 1


async def test_append_after_close_is_refused(database: Path | str) -> None:
    async with open_store(database) as store:
        writer = store.writer
    with pytest.raises(WriterClosedError):
        await writer.append("r1", RunCreated(workflow="w"))


async def test_queued_appends_commit_before_close_returns(db_path: Path) -> None:
    done: list[int] = []
    async with open_store(db_path) as store:

        async def one(i: int) -> None:
            env = await store.writer.append(f"r{i}", RunCreated(workflow="w"))
            done.append(env.seq)

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
    assert len(done) == 200
    assert _rows(db_path, "SELECT COUNT(*) FROM runs")[0][0] == 200


@pytest.mark.parametrize(("durability", "expected"), [(Durability.FULL, 2), (Durability.FAST, 1)])
async def test_durability_sets_synchronous(
    db_path: Path, durability: Durability, expected: int
) -> None:
    async with open_store(db_path, durability=durability) as store:
        conn = store.writer._conn
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == expected
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_files_are_private(db_path: Path) -> None:
    async with open_store(db_path) as store:
        for ev in full_run("r1"):
            await store.writer.append_many([ev])
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.exists()
        for f in (db_path, wal):
            assert f.stat().st_mode & 0o777 == 0o600, f


async def test_sequence_continues_after_reopen(database: Path | str) -> None:
    async with open_store(database) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        await store.writer.append("r1", AttemptOutput(task_id="a", attempt=0))
    async with open_store(database) as store:
        claimed = await store.writer.claim("r1")  # released at the clean exit: a hand-over
        assert (claimed.epoch, claimed.how) == (2, "released")
        env = await store.writer.append("r1", AttemptOutput(task_id="a", attempt=0))
        assert (env.seq, env.position) == (4, 4)


async def test_a_request_refused_in_a_failed_group_but_committed_alone_succeeds(
    db_path: Path,
) -> None:
    """Group commit fails (a duplicate approval id), singles are retried: the request that the
    group attempt refused must not keep that stale refusal once it commits on its own."""
    from runtui.domain.approvals import ApprovalKind
    from runtui.domain.events import ApprovalRequested

    async with open_store(db_path) as store:
        await store.writer.append("r0", RunCreated(workflow="w"))
        dup = ApprovalRequested(approval_id="a1", approval_kind=ApprovalKind.TASK)
        await store.writer.append("r0", dup)
        outcomes: dict[str, object] = {}

        async def bad() -> None:
            try:
                await store.writer.append_many(
                    [PendingEvent("x", RunCreated(workflow="w"), 1.0), PendingEvent("x", dup, 1.0)]
                )
            except StoreError as exc:
                outcomes["a"] = exc

        async def good() -> None:
            outcomes["b"] = await store.writer.append("x", RunCreated(workflow="w"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(bad)
            tg.start_soon(good)
    assert isinstance(outcomes["a"], StoreError)
    assert isinstance(outcomes["b"], EventEnvelope)
    assert _rows(db_path, "SELECT COUNT(*) FROM events WHERE run_id='x'")[0][0] == 1


async def test_queued_appends_are_failed_not_hung_when_the_owner_block_fails(
    database: Path | str,
) -> None:
    results: list[object] = []
    errors: list[BaseException] = []

    async def caller(store: Store, i: int) -> None:
        try:
            results.append(await store.writer.append(f"r{i}", RunCreated(workflow="w")))
        except WriterClosedError as exc:
            results.append(exc)

    async def owner(outer: anyio.abc.TaskGroup) -> None:
        try:
            async with open_store(database) as store:
                for i in range(200):
                    outer.start_soon(caller, store, i)
                await anyio.lowlevel.checkpoint()
                raise RuntimeError("owner failed")
        except RuntimeError as exc:  # unwrapped: not an ExceptionGroup
            errors.append(exc)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as outer:
            outer.start_soon(owner, outer)
    assert [str(e) for e in errors] == ["owner failed"]
    assert len(results) == 200  # every caller got an answer: committed, or told it closed


async def test_path_with_uri_characters(tmp_path: Path) -> None:
    db = tmp_path / "a#b?c%20d" / "runs.db"
    async with open_store(db) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        assert (await store.reader.get_run("r1")).workflow == "w"
        report = await store.replay("r1")
        assert report.matches


async def test_the_writer_commits_while_the_event_loop_is_busy(db_path: Path) -> None:
    """The writer has a thread of its own: a queued append commits even while the loop is
    blocked (a loop busy serving stream clients must not stall the writer)."""
    async with open_store(db_path) as store:
        queued = await store.writer.enqueue([PendingEvent("busy", RunCreated(workflow="w"), 1.0)])
        # Block the event loop (no await) until the row is in the database, or give up.
        deadline = time.monotonic() + 30
        seen = False
        while not seen and time.monotonic() < deadline:
            seen = _rows(db_path, "SELECT COUNT(*) FROM runs WHERE run_id='busy'")[0][0] == 1
            threading.Event().wait(0.002)
        assert seen, "the append did not commit while the loop was blocked"
        (env,) = await queued.wait()
        assert env.seq == 1


async def test_a_full_queue_makes_appenders_wait_and_loses_nothing(db_path: Path) -> None:
    async with open_store(db_path) as store:
        store.writer._queue_size = 2  # tiny, so most appenders meet backpressure
        seqs: list[int] = []

        async def one(i: int) -> None:
            env = await store.writer.append(f"r{i}", RunCreated(workflow="w"))
            seqs.append(env.seq)

        with anyio.fail_after(60):  # a lost wake-up would hang here
            async with anyio.create_task_group() as tg:
                for i in range(300):
                    tg.start_soon(one, i)
    assert seqs == [1] * 300
    assert _rows(db_path, "SELECT COUNT(*) FROM runs")[0][0] == 300


async def test_health_clear_runs_in_queue_order_with_appends(db_path: Path) -> None:
    async with open_store(db_path) as store:
        first = await store.writer.enqueue([PendingEvent("h", RunCreated(workflow="w"), 1.0)])
        await store.writer.clear_health("w", "ops", 5.0)
        # answered after the append queued before it committed
        assert first._request.done.is_set()
        await first.wait()
    assert _rows(db_path, "SELECT workflow, cleared_by FROM health_clears") == [("w", "ops")]


# --- writability (what /readyz reports) -----------------------------------------------------


async def test_check_writable_fails_while_another_process_holds_the_write_lock(
    db_path: Path,
) -> None:
    async with open_store(db_path) as store:
        await store.writer.check_writable()
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="does not take writes: database is locked"):
                await store.writer.check_writable(wait_s=0.05)
            other.execute("ROLLBACK")
            await store.writer.check_writable()
        finally:
            other.close()
        await store.writer.append("r1", RunCreated(workflow="w"))  # the writer still writes
        assert _rows(db_path, "SELECT run_id FROM runs") == [("r1",)]


async def _on_writer_connection(store: Store, sql: str) -> None:
    """White box: run `sql` on the writer's own connection, on its thread, in queue order
    (`query_only` and `max_page_count` are per connection)."""
    from runtui.store.writer import _Call

    writer = store.writer
    call = _Call(lambda: writer._conn.execute(sql))
    await writer._submit(call)
    await call.done.wait()
    assert call.error is None, call.error


async def test_check_writable_fails_while_the_database_refuses_writes(db_path: Path) -> None:
    async with open_store(db_path) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        await _on_writer_connection(store, "PRAGMA query_only=ON")
        with pytest.raises(StoreError, match="readonly"):
            await store.writer.append("r1", RunStatusChanged(status=RunStatus.RUNNING))
        with pytest.raises(StoreError, match=r"does not take writes: .*readonly"):
            await store.writer.check_writable()
        await _on_writer_connection(store, "PRAGMA query_only=OFF")
        await store.writer.check_writable()
        await store.writer.append("r1", RunStatusChanged(status=RunStatus.RUNNING))


async def test_after_a_refused_commit_the_check_writes_for_real_once(db_path: Path) -> None:
    """A full database still lets the lock be taken; after such a failed commit the check
    writes (the schema version, unchanged) to learn whether writes go through again, which
    another connection sees as a change; after that it only takes the lock again."""
    async with open_store(db_path) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        watcher = sqlite3.connect(db_path)
        try:

            def data_version() -> int:
                return int(watcher.execute("PRAGMA data_version").fetchone()[0])

            pages = watcher.execute("PRAGMA page_count").fetchone()[0]
            await _on_writer_connection(store, f"PRAGMA max_page_count={pages}")
            line = AttemptOutput(task_id="t", attempt=0, lines=["x" * 4000])
            with pytest.raises(StoreError, match="full"):
                await store.writer.append_many([PendingEvent("r1", line, 0.0)] * 50)
            before = data_version()
            await store.writer.check_writable()  # a small write fits: writable again
            assert data_version() != before  # it wrote
            before = data_version()
            await store.writer.check_writable()
            assert data_version() == before  # the lock only, this time
        finally:
            watcher.close()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_database_file_gone_from_under_the_writer_is_noticed_and_rescued(
    db_path: Path, how: str
) -> None:
    async with open_store(db_path) as store:
        await store.writer.append("r1", RunCreated(workflow="w"))
        for suffix in ("", "-wal", "-shm"):
            db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
        if how == "replaced":
            sqlite3.connect(db_path).close()  # another, empty database in its place
        with pytest.raises(StoreUnavailableError, match=f"was {how} under the runtime"):
            await store.writer.append("r1", RunStatusChanged(status=RunStatus.RUNNING))
        with pytest.raises(StoreError, match=f"was {how}"):
            await store.writer.check_writable()
        with pytest.raises(StoreUnavailableError):  # and it stays refused
            await store.writer.append("r2", RunCreated(workflow="w"))
    (rescued,) = db_path.parent.glob(f"{db_path.name}.rescued-*")
    assert _rows(rescued, "SELECT run_id, kind FROM events") == [("r1", "run.created")]
    assert rescued.stat().st_mode & 0o777 == 0o600
