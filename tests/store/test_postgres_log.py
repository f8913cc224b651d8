"""The event log on a real PostgreSQL (127.0.0.1:5432, as this machine kind runs it): per-run seq
without a gap, and positions in commit order, so a reader that asks for "after my last
position" never skips an event that committed later with a lower number.

Each test gets a schema of its own, dropped afterwards. Without a reachable PostgreSQL these
tests skip, saying why (README's test command still passes on such a machine).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import psycopg
import pytest
from psycopg.rows import TupleRow

from runtui.domain.events import AttemptOutput, PendingEvent, encode_event
from runtui.store.postgres import PgEventLog

pytestmark = pytest.mark.anyio

DSN = os.environ.get("RUNTUI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[TupleRow]]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Connections into a schema of this test's own (dropped at the end)."""
    try:
        admin = await psycopg.AsyncConnection.connect(DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {DSN}: {exc}".splitlines()[0])
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await admin.execute(f"CREATE SCHEMA {schema}")
    opened: list[psycopg.AsyncConnection[TupleRow]] = []

    async def connection() -> psycopg.AsyncConnection[TupleRow]:
        conn = await psycopg.AsyncConnection.connect(
            DSN, autocommit=True, options=f"-c search_path={schema}"
        )
        opened.append(conn)
        return conn

    try:
        yield connection
    finally:
        for conn in opened:
            await conn.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def line(run_id: str, n: int) -> PendingEvent:
    return PendingEvent(run_id, AttemptOutput(task_id="t", attempt=0, lines=[f"line {n}"]), 1.0)


async def test_seqs_are_gap_free_per_run_and_events_read_back(connect: Connect) -> None:
    log = await PgEventLog.create(await connect())
    first = await log.append([line("a", 0), line("b", 0), line("a", 1)])
    second = await log.append([line("b", 1), line("a", 2)])
    assert [(e.run_id, e.seq, e.position) for e in first + second] == [
        ("a", 1, 1),
        ("b", 1, 2),
        ("a", 2, 3),
        ("b", 2, 4),
        ("a", 3, 5),
    ]
    assert [e.seq for e in await log.events_after("a", 1)] == [2, 3]
    everything = await log.events_since(0)
    assert everything == first + second  # bodies decode to what was appended


async def test_a_position_taken_earlier_commits_first(connect: Connect) -> None:
    """Writer A takes positions and has not committed; writer B must wait for it rather than
    commit a higher position first (a sequence would let B commit 2 while 1 is in flight)."""
    log_a = await PgEventLog.create(await connect())
    log_b = PgEventLog(await connect())
    reader = PgEventLog(await connect())
    watcher = await connect()
    pid_b = log_b.conn.info.backend_pid
    async with anyio.create_task_group() as tg, log_a.conn.transaction():
        await log_a.conn.execute("UPDATE event_position SET last = last + 1")
        tg.start_soon(log_b.append, [line("b", 0)])
        await _until_waiting_on_a_lock(watcher, pid_b)  # B waits for A's counter row
        assert await reader.events_since(0) == []  # nothing committed yet
        await log_a.conn.execute(
            "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, body)"
            " SELECT last, 'a', 1, 'attempt.output', NULL, 1.0, %s FROM event_position",
            (encode_event(line("a", 0).body),),
        )
        # A committed: B goes on, and the task group waits for it
    positions = [(e.run_id, e.position) for e in await reader.events_since(0, limit=10)]
    assert positions == [("a", 1), ("b", 2)]


async def _until_waiting_on_a_lock(watcher: psycopg.AsyncConnection[TupleRow], pid: int) -> None:
    """Until PostgreSQL says the backend `pid` waits for a lock (bounded)."""
    for _ in range(1000):
        row = await (
            await watcher.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
        ).fetchone()
        if row is not None and row[0] == "Lock":
            return
        await anyio.sleep(0.01)  # another connection's state: polled
    raise AssertionError(f"backend {pid} never waited for a lock")


async def test_a_reader_tailing_concurrent_writers_misses_nothing(connect: Connect) -> None:
    """Four writers append batches at once while a reader follows "after my last position":
    it sees every event exactly once, positions 1..N with no gap."""
    await PgEventLog.create(await connect())
    writers = [PgEventLog(await connect()) for _ in range(4)]
    reader = PgEventLog(await connect())
    seen: list[int] = []
    done = anyio.Event()

    async def write(log: PgEventLog, w: int) -> None:
        rng = random.Random(w)
        for batch in range(25):
            await log.append([line(f"run-{w}", batch * 10 + i) for i in range(rng.randint(1, 8))])

    async def follow() -> None:
        last = 0
        while True:
            finished = done.is_set()  # read before the page: a last page after the end
            page = await reader.events_since(last, limit=500)
            for event in page:
                assert event.position == last + 1, f"skipped {last + 1}"
                last = event.position
                seen.append(last)
            if finished and not page:
                return
            if not page:
                await anyio.sleep(0.005)  # tailing another connection's commits

    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        async with anyio.create_task_group() as writing:
            for w, log in enumerate(writers):
                writing.start_soon(write, log, w)
        done.set()
    assert seen == list(range(1, len(seen) + 1))
    per_run = {}
    for event in await reader.events_since(0, limit=10_000):
        per_run.setdefault(event.run_id, []).append(event.seq)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in per_run.values())
    assert len(seen) == sum(len(s) for s in per_run.values())
