"""Searching a run's whole log in the store, on both stores: what matches (the shown text, any
case, escapes gone), pages both ways with every match once, the bounded count and rank, kinds
and task filters, `%`, `_` and `\\` taken literally, the bounds, the time limit, and events
written before migration 0009 found after it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from runtui.domain.errors import InvalidInputError, NotFoundError
from runtui.domain.event_text import search_text
from runtui.domain.events import (
    AttemptOutput,
    EventEnvelope,
    PendingEvent,
    RunCreated,
    SpanStarted,
    TaskStatusChanged,
    WaveCompleted,
)
from runtui.domain.log_search import (
    MAX_MATCHES_PAGE,
    MAX_QUERY_CHARS,
    NOISE_KINDS,
    LogMatches,
    check_query,
)
from runtui.domain.tasks import TaskStatus
from runtui.store import log_search, open_store, pg, queries
from runtui.store.queries import StoreReader
from runtui.store.schema import migrations
from tests.databases import sql

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0
RID = "r1"


def out(task: str, *lines: str, stream: str = "stdout") -> AttemptOutput:
    return AttemptOutput(task_id=task, attempt=0, stream=stream, lines=list(lines))


def long_run(n: int = 300) -> list[PendingEvent]:
    """A run whose output says `needle` every 37th event and whose tasks change status."""
    bodies: list[object] = [RunCreated(workflow="w")]
    for i in range(n):
        task = ("build", "lint")[i % 2]
        if i % 37 == 5:
            bodies.append(out(task, f"{i}: found the Needle here"))
        elif i % 50 == 7:
            bodies.append(TaskStatusChanged(task_id=task, status=TaskStatus.RUNNING))
        elif i % 60 == 9:
            bodies.append(SpanStarted(span_id=f"s{i}", name="needle span"))
        else:
            bodies.append(out(task, f"{i}: nothing to see", f"{i}: still nothing"))
    bodies.append(WaveCompleted(wave=1))
    return [PendingEvent(RID, b, T0 + i, 0) for i, b in enumerate(bodies)]  # type: ignore[arg-type]


async def all_pages_forward(r: StoreReader, text: str, limit: int, **kw: object) -> list[int]:
    seqs: list[int] = []
    page = await r.search_events(RID, text, after_seq=0, limit=limit, **kw)  # type: ignore[arg-type]
    seqs += page.seqs
    while page.more:
        page = await r.search_events(RID, text, after_seq=seqs[-1], limit=limit, **kw)  # type: ignore[arg-type]
        seqs += page.seqs
    return seqs


def expected(envs: list[EventEnvelope], text: str) -> list[int]:
    """What a search must find: the events whose shown text holds `text` (brute force)."""
    return [e.seq for e in envs if text.lower() in search_text(e)]


async def test_search_pages_every_match_once_both_ways(
    database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_search, "WINDOW", 16)  # many windows per search
    async with open_store(database) as store:
        envs = await store.writer.append_many(long_run())
        r = store.reader
        want = expected(envs, "NEEDLE")
        assert len(want) > 10
        assert {e.kind for e in envs if e.seq in want} == {"attempt.output", "span.started"}

        newest = await r.search_events(RID, "NEEDLE", limit=4)
        assert newest.seqs == want[-4:]
        assert newest.more
        assert newest.total == len(want)
        assert newest.total_exact
        assert newest.first_rank == len(want) - 3
        assert newest.complete
        assert newest.last_seq == envs[-1].seq

        assert await all_pages_forward(r, "needle", 3) == want

        backward: list[int] = []
        page = await r.search_events(RID, "needle", before_seq=envs[-1].seq + 1, limit=5)
        backward = page.seqs + backward
        while page.more:
            page = await r.search_events(RID, "needle", before_seq=backward[0], limit=5)
            backward = page.seqs + backward
        assert backward == want

        middle = await r.search_events(RID, "needle", after_seq=want[4], limit=2)
        assert middle.seqs == want[5:7]
        assert middle.first_rank == 6

        none = await r.search_events(RID, "not in this log", limit=5)
        assert none == LogMatches([], False, 0, True, None, True, envs[-1].seq)


async def test_the_count_stops_at_its_cap_and_pages_still_find_everything(
    database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_search, "MAX_COUNTED", 10)
    monkeypatch.setattr(log_search, "WINDOW", 32)
    async with open_store(database) as store:
        envs = await store.writer.append_many(long_run())
        r = store.reader
        want = expected(envs, "nothing")
        assert len(want) > 100

        newest = await r.search_events(RID, "nothing", limit=7)
        assert newest.seqs == want[-7:]
        assert (newest.total, newest.total_exact, newest.first_rank) == (10, False, None)
        assert newest.more
        assert newest.complete

        first = await r.search_events(RID, "nothing", after_seq=0, limit=3)
        assert first.seqs == want[:3]
        assert first.first_rank == 1
        assert await all_pages_forward(r, "nothing", 50) == want


async def test_matches_the_shown_text_in_any_case_without_escapes(database: Path | str) -> None:
    bodies = [
        RunCreated(workflow="w"),
        out("build", "\x1b[31mERR\x1b[0mOR: disk full"),  # shown as "ERROR: disk full"
        out("build", "a warning", stream="stderr"),  # shown as "build|! a warning"
        WaveCompleted(wave=3, failed=True),  # shown as "wave 3 failed"
        out("lint", "Ünïcödé ÇASE"),
    ]
    async with open_store(database) as store:
        envs = await store.writer.append_many(
            [PendingEvent(RID, b, T0 + i) for i, b in enumerate(bodies)]  # type: ignore[arg-type]
        )
        r = store.reader

        async def found(text: str) -> list[int]:
            return (await r.search_events(RID, text, limit=100)).seqs

        assert await found("error: disk") == [envs[1].seq]
        assert await found("\x1b[31m") == []
        assert await found("build|! a warn") == [envs[2].seq]
        assert await found("WAVE 3 FAILED") == [envs[3].seq]
        assert await found("wave.completed") == [envs[3].seq]  # the kind column shows too
        assert await found("ünïcödé çase") == [envs[4].seq]
        assert await found("") == [e.seq for e in envs]  # no text: every event


async def test_wildcards_and_backslashes_are_plain_characters(database: Path | str) -> None:
    lines = ["100% done", "a_b", "axb", "back\\slash", "odd %_\\ mix", "plain"]
    async with open_store(database) as store:
        envs = await store.writer.append_many(
            [PendingEvent(RID, RunCreated(workflow="w"), T0)]
            + [PendingEvent(RID, out("t", line), T0 + i) for i, line in enumerate(lines)]
        )
        r = store.reader
        seq = {line: envs[i + 1].seq for i, line in enumerate(lines)}

        async def found(text: str) -> list[int]:
            return (await r.search_events(RID, text, limit=100)).seqs

        assert await found("%") == [seq["100% done"], seq["odd %_\\ mix"]]
        assert await found("_") == [seq["a_b"], seq["odd %_\\ mix"]]
        assert await found("a_b") == [seq["a_b"]]  # not "axb"
        assert await found("\\") == [seq["back\\slash"], seq["odd %_\\ mix"]]
        assert await found("%_\\") == [seq["odd %_\\ mix"]]
        assert await found("'; DROP TABLE events; --") == []
        assert await r.count_events(RID) == len(envs)


async def test_kinds_and_task_filters(database: Path | str) -> None:
    async with open_store(database) as store:
        envs = await store.writer.append_many(long_run())
        r = store.reader
        want = expected(envs, "needle")
        spans = [e.seq for e in envs if e.seq in want and e.kind == "span.started"]
        output = [e.seq for e in envs if e.seq in want and e.kind == "attempt.output"]
        assert spans
        assert output

        only = await r.search_events(RID, "needle", kinds=["span.started"], limit=100)
        assert only.seqs == spans
        hidden = await r.search_events(RID, "needle", exclude_kinds=["span.started"], limit=100)
        assert hidden.seqs == output
        assert (await r.search_events(RID, "needle", kinds=[], limit=100)).seqs == []

        lint = await r.search_events(RID, "", task_id="lint", limit=MAX_MATCHES_PAGE)
        assert lint.seqs == [
            e.seq for e in envs if getattr(e.body, "task_id", None) == "lint"
        ]  # output and status changes alike
        assert lint.total == len(lint.seqs)
        assert (await r.search_events(RID, "", task_id="nobody", limit=5)).seqs == []


async def test_what_a_caller_sends_is_bounded(database: Path | str) -> None:
    async with open_store(database) as store:
        await store.writer.append_many(long_run(20))
        r = store.reader
        await r.search_events(RID, "x" * MAX_QUERY_CHARS)
        bad: list[dict[str, object]] = [
            {"text": "x" * (MAX_QUERY_CHARS + 1)},
            {"limit": 0},
            {"limit": MAX_MATCHES_PAGE + 1},
            {"after_seq": 1, "before_seq": 5},
            {"after_seq": -1},
            {"kinds": ["no.such.kind"]},
            {"exclude_kinds": ["%"]},
            {"task_id": ""},
            {"task_id": "t" * 1001},
            {"text": "nul\x00"},
            {"task_id": "t\x00"},
        ]
        for case in bad:
            text = str(case.pop("text", "needle"))
            with pytest.raises(InvalidInputError):
                await r.search_events(RID, text, **case)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            await r.search_events("no-such-run", "x")


async def test_a_search_out_of_time_answers_with_what_it_found(
    database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_search, "WINDOW", 40)
    monkeypatch.setattr(queries, "SEARCH_SECONDS", 0.0)  # out of time after the first window
    async with open_store(database) as store:
        envs = await store.writer.append_many(long_run())
        r = store.reader
        want = expected(envs, "needle")
        got = await r.search_events(RID, "needle", after_seq=0, limit=100)
        assert not got.complete
        assert got.more
        assert not got.total_exact
        assert got.seqs == [s for s in want if s <= 40]  # the first window's, and no more
        assert got.total == len(got.seqs)


async def test_events_written_before_migration_9_are_found_after_it(database: Path | str) -> None:
    async with open_store(database) as store:
        envs = await store.writer.append_many(long_run(80))
    want = expected(envs, "needle")
    # back to version 8: as if these events were written before their search columns existed
    sql(database, "ALTER TABLE events DROP COLUMN search_text")
    sql(database, "ALTER TABLE events DROP COLUMN search_task")
    if pg.is_postgres(database):
        sql(database, "UPDATE runtui_schema SET version = 8")
    else:
        sql(database, "PRAGMA user_version=8")
    async with open_store(database) as store:  # migrates through 0009
        assert await store.reader.schema_version() == len(migrations())
        got = await store.reader.search_events(RID, "needle", limit=100)
        assert got.seqs == want
        assert got.total == len(want)


async def test_sqlite_reads_a_window_of_seqs_through_the_run_index(db_path: Path) -> None:
    """A search reads only the run's rows in the window it asks for (the (run_id, seq) index),
    never the whole events table."""
    async with open_store(db_path) as store:
        await store.writer.append_many(long_run(20))
    query = check_query(
        "needle", after_seq=None, before_seq=None, limit=5, kinds=["attempt.output"],
        exclude_kinds=sorted(NOISE_KINDS), task_id="lint",
    )  # fmt: skip
    scan = log_search._Scan(None, RID, query, 0.0)  # type: ignore[arg-type]
    conn = sqlite3.connect(db_path)
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + scan.sql + " ORDER BY seq DESC LIMIT ?", (*scan.params, 1, 9, 5)
        ).fetchall()
    finally:
        conn.close()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX sqlite_autoindex_events_1 (run_id=? AND seq>? AND seq<?)" in detail, plan


async def test_searches_beyond_those_under_way_wait_no_longer_than_their_time(
    database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of searches costs the store no more than `SEARCHES_AT_ONCE` at a time: one that
    gets no turn within its time answers empty, saying it is incomplete."""
    async with open_store(database) as store:
        await store.writer.append_many(long_run(50))
        r = store.reader
        await r.search_events(RID, "needle")  # the reader's gate exists from the first search
        gate: anyio.Semaphore = r.__dict__["_search_gate"]
        for _ in range(queries.SEARCHES_AT_ONCE):  # searches under way, holding every turn
            await gate.acquire()
        monkeypatch.setattr(queries, "SEARCH_SECONDS", 0.0)
        late = await r.search_events(RID, "needle")
        assert late.seqs == []
        assert not late.complete
        assert late.more
        for _ in range(queries.SEARCHES_AT_ONCE):
            gate.release()
        monkeypatch.setattr(queries, "SEARCH_SECONDS", 3.0)
        assert (await r.search_events(RID, "needle")).complete
