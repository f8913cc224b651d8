"""One attempt's output read through the output index, on both stores: tail, pages both ways
(every line once, in order), one stream, the bounds, refusals; the index is what SQLite uses;
output written before migration 0008 is indexed by the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runtui.domain.errors import InvalidInputError
from runtui.domain.events import (
    AttemptOutput,
    PendingEvent,
    RunCreated,
    RunStatusChanged,
    encode_event,
)
from runtui.domain.status import RunStatus
from runtui.domain.task_output import MAX_LINE_CHARS, MAX_PAGE_CHARS, MAX_PAGE_LINES
from runtui.domain.views import OutputLine
from runtui.store import open_store, pg
from runtui.store.queries import StoreReader
from runtui.store.schema import migrations, split_statements

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0


def script(run_id: str = "r1") -> tuple[list[PendingEvent], list[tuple[str, int, str, str]]]:
    """A run where `build` (two attempts) and `lint` print, interleaved, on both streams;
    and every line printed, as (task, attempt, stream, text), in order."""
    events = [PendingEvent(run_id, RunCreated(workflow="w"), T0)]
    printed: list[tuple[str, int, str, str]] = []
    for i in range(60):
        for task, attempt in (("build", 0), ("lint", 0), ("build", 1)):
            stream = "stderr" if i % 7 == 3 else "stdout"
            lines = [f"{task}#{attempt} {stream} {i}.{j}" for j in range(1 + i % 4)]
            events.append(
                PendingEvent(
                    run_id,
                    AttemptOutput(task_id=task, attempt=attempt, stream=stream, lines=lines),
                    T0 + i,
                    0,
                )
            )
            printed += [(task, attempt, stream, line) for line in lines]
    return events, printed


def texts(lines: list[OutputLine]) -> list[str]:
    return [line.text for line in lines]


async def test_pages_of_one_attempt_in_order_both_ways(database: Path | str) -> None:
    events, printed = script()
    want = [text for task, attempt, _, text in printed if (task, attempt) == ("build", 1)]
    async with open_store(database) as store:
        await store.writer.append_many(events)
        r = store.reader

        tail = await r.task_output("r1", "build", 1, limit=25)
        assert texts(tail.lines) == want[-25:]
        assert tail.more

        forward: list[OutputLine] = []
        page = await r.task_output("r1", "build", 1, after=(0, 0), limit=17)
        forward += page.lines
        while page.more:
            page = await r.task_output("r1", "build", 1, after=forward[-1].at, limit=17)
            forward += page.lines
        assert texts(forward) == want
        assert [line.at for line in forward] == sorted(line.at for line in forward)

        backward = list(tail.lines)
        page = tail
        while page.more:
            page = await r.task_output("r1", "build", 1, before=backward[0].at, limit=17)
            backward[:0] = page.lines
        assert texts(backward) == want

        whole = await r.task_output("r1", "build", 1, limit=MAX_PAGE_LINES)
        assert texts(whole.lines) == want
        assert not whole.more


async def test_one_stream_and_nothing_of_others(database: Path | str) -> None:
    events, printed = script()
    async with open_store(database) as store:
        await store.writer.append_many(events)
        r = store.reader
        errors = await r.task_output("r1", "lint", 0, after=(0, 0), stream="stderr", limit=1)
        first = next(t for task, _, s, t in printed if task == "lint" and s == "stderr")
        assert texts(errors.lines) == [first]
        assert errors.lines[0].stream == "stderr"
        assert errors.lines[0].index == 0
        assert errors.more
        every = await r.task_output("r1", "lint", 0, stream="stderr", limit=MAX_PAGE_LINES)
        assert texts(every.lines) == [
            t for task, _, s, t in printed if task == "lint" and s == "stderr"
        ]
        assert (await r.task_output("r1", "lint", 1)).lines == []
        assert (await r.task_output("r1", "nope", 0)).lines == []
        assert (await r.task_output("other", "build", 0)).lines == []


async def test_bounds_on_lines_and_characters(database: Path | str) -> None:
    long = "x" * (MAX_LINE_CHARS + 123)
    big = ["y" * (MAX_LINE_CHARS - 1)] * 200  # 200 lines just under the cut, ~800k characters
    events = [
        PendingEvent("r2", RunCreated(workflow="w"), T0),
        PendingEvent("r2", AttemptOutput(task_id="t", attempt=0, lines=[long, "short"]), T0, 0),
        PendingEvent("r2", AttemptOutput(task_id="t", attempt=0, lines=big), T0, 0),
        PendingEvent("r2", AttemptOutput(task_id="t", attempt=0, lines=big), T0, 0),
        PendingEvent("r2", RunStatusChanged(status=RunStatus.RUNNING), T0),
    ]
    async with open_store(database) as store:
        await store.writer.append_many(events)
        r = store.reader
        page = await r.task_output("r2", "t", 0, after=(0, 0), limit=MAX_PAGE_LINES)
        cut = page.lines[0]
        assert len(cut.text) == MAX_LINE_CHARS
        assert cut.cut == 123
        assert page.lines[1].text == "short"
        assert page.lines[1].cut == 0
        assert sum(len(line.text) for line in page.lines) <= MAX_PAGE_CHARS
        assert page.more  # the characters ran out before the lines did
        rest = await r.task_output("r2", "t", 0, after=page.lines[-1].at, limit=MAX_PAGE_LINES)
        assert len(page.lines) + len(rest.lines) == 402
        assert not rest.more


@pytest.mark.parametrize(
    "kwargs",
    [
        {"after": (0, 0), "before": (5, 0)},
        {"limit": 0},
        {"limit": MAX_PAGE_LINES + 1},
        {"stream": "stdin"},
    ],
)
async def test_refuses_what_it_cannot_answer(
    database: Path | str, kwargs: dict[str, object]
) -> None:
    async with open_store(database) as store:
        with pytest.raises(InvalidInputError):
            await store.reader.task_output("r", "t", 0, **kwargs)  # type: ignore[arg-type]


async def test_sqlite_reads_output_through_its_index(db_path: Path) -> None:
    async with open_store(db_path) as store:
        await store.writer.append_many(script()[0])
    conn = sqlite3.connect(db_path)
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT seq, payload FROM events WHERE run_id = ?"
            " AND kind = 'attempt.output' AND task_id = ? AND attempt = ? AND seq <= ?"
            " ORDER BY seq DESC LIMIT ?",
            ("r1", "build", 1, 1 << 62, 128),
        ).fetchall()
    finally:
        conn.close()
    assert any("events_by_output" in str(row[-1]) for row in plan), plan


def _version_6(database: Path | str, events: list[PendingEvent]) -> None:
    """A database as runtui left it before migration 0008, holding `events`."""
    rows = [
        (
            n,
            e.run_id,
            n,
            "attempt.output" if type(e.body) is AttemptOutput else "run.created",
            e.wave_index,
            e.ts,
            encode_event(e.body),
        )
        for n, e in enumerate(events, start=1)
    ]
    insert = (
        "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, payload)"
        " VALUES (?,?,?,?,?,?,?)"
    )
    six = migrations()[:6]
    if pg.is_postgres(database):
        conn = pg.Connection.connect(str(database))
        try:
            pg.migrate(conn, six, split_statements)
            conn.cursor().executemany(insert, rows)
        finally:
            conn.close()
        return
    sq = sqlite3.connect(database, isolation_level=None)
    try:
        for _, _, sql in six:
            for statement in split_statements(sql):
                sq.execute(statement)
        sq.execute("PRAGMA user_version=6")
        sq.executemany(insert, rows)
    finally:
        sq.close()


async def test_migration_indexes_output_written_before_it(database: Path | str) -> None:
    events, printed = script("old")
    _version_6(database, events)
    async with open_store(database) as store:  # migrates through 0008
        reader: StoreReader = store.reader
        assert await reader.schema_version() == len(migrations())
        got = await reader.task_output("old", "lint", 0, limit=MAX_PAGE_LINES)
        assert texts(got.lines) == [t for task, _, _, t in printed if task == "lint"]
        assert {line.stream for line in got.lines} == {"stdout", "stderr"}
