"""Whole-log search benchmark (run by hand; not part of the test suite).

    .venv/bin/python bench/log_search.py [--events N] [--repeat R] [--postgres URL]

A run of N (1,000,000) events is written with the store (a `run.created`, N `attempt.output`
events of one line each from two tasks, a `span.started` every 1,000th, the end of the run).
Then each search below is timed through the store's reader (`StoreReader.search_events`, what
the embedded port calls), best of R; the searches the run screen makes when a user types a word
and presses `n`:

- a word no event holds: the worst case, the whole log is read once (the count finds nothing);
- a word only the 5th event holds, searched from the tail (the "72k events, 0 shown" case);
- a word every 500th event holds (2,000 matches: the count stops at 1,000, the newest page is
  then found from the tail);
- a word every event holds (the count and the page stop at once);
- one task's events, no word ("this task only"), and every event but the noise ("hide noise");
- the first of these again through the HTTP API (`runtui serve` on 127.0.0.1, `HttpClient`).

For information, on SQLite: how long migration 9 takes to write the searchable text of every
event of that database (its search columns dropped, the schema set back to 8, the store
opened).

The raw limit, measured in the same run on the same connection: a bare scan of the run's
events (`SELECT COUNT(*) FROM events WHERE run_id = ? AND length(payload) >= 0`: every row of
the run read, nothing decoded or matched). Each search is reported in ms and as a ratio to it;
the target is 1 s for the worst case at 1M events. With `--postgres` the same on PostgreSQL
(a schema of its own, dropped after).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).parent))
from stores import drop_schema, fresh_postgres  # beside it

from runtui.domain.enums import Durability
from runtui.domain.events import (
    AttemptOutput,
    PendingEvent,
    RunCreated,
    RunStatusChanged,
    SpanStarted,
)
from runtui.domain.log_search import NOISE_KINDS
from runtui.domain.status import RunStatus
from runtui.store import open_store

RID = "0190000000005eedc0de"
T0 = 1_700_000_000.0
BATCH = 5000
TARGET_S = 1.0


def body(i: int) -> Any:
    if i % 1000 == 999:
        return SpanStarted(span_id=f"s{i}", name=f"span {i}")
    words = "some output of the task"
    if i == 5:
        words += " needle-rare"
    if i % 500 == 0:
        words += " needle-some"
    task = "build" if i % 2 else "lint"
    return AttemptOutput(task_id=task, attempt=0, lines=[f"line {i}: {words}"])


async def build(db: Path | str, n: int) -> None:
    async with open_store(db, durability=Durability.FAST) as store:
        await store.writer.append_many([PendingEvent(RID, RunCreated(workflow="bench"), T0)])
        for start in range(0, n, BATCH):
            await store.writer.append_many(
                [
                    PendingEvent(RID, body(i), T0 + i * 0.001, 0)
                    for i in range(start, min(n, start + BATCH))
                ]
            )
        await store.writer.append_many(
            [PendingEvent(RID, RunStatusChanged(status=RunStatus.SUCCEEDED), T0 + n)]
        )


async def best(repeat: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await call()
        times.append(time.perf_counter() - started)
    return min(times), result


async def measure(db: Path | str, repeat: int, http: bool) -> None:
    async with open_store(db) as store:
        reader = store.reader
        last = (await reader.get_run(RID)).last_seq
        raw_s, (row,) = await best(
            repeat,
            lambda: reader._all(
                "SELECT COUNT(*) FROM events WHERE run_id = ? AND length(payload) >= 0", (RID,)
            ),
        )
        print(f"  raw scan of the run's {row[0]:,} events: {raw_s * 1e3:.0f} ms (the limit)")
        print(f"  {'search':<58} {'ms':>7} {'x raw':>6}  matches")
        searches: list[tuple[str, dict[str, Any]]] = [
            ("no event holds the word (whole log read)", {"text": "absent-word"}),
            ("only event 5 holds it, from the tail", {"text": "needle-rare"}),
            ("every 500th holds it (2,000 matches), from the tail", {"text": "needle-some"}),
            ("every event holds it", {"text": "some output"}),
            ("this task only, no word", {"text": "", "task_id": "build"}),
            ("hide noise, a word no event holds", {"text": "absent", "exclude_kinds": NOISE_KINDS}),
            ("every 500th, next page after event 600,000", {"text": "needle-some",
                                                           "after_seq": 600_000}),
        ]  # fmt: skip
        worst = 0.0
        for label, kw in searches:
            text = kw.pop("text")
            seconds, got = await best(
                repeat, lambda t=text, k=kw: reader.search_events(RID, t, **k)
            )
            total = f"{got.total:,}" + ("" if got.total_exact else "+")
            print(
                f"  {label:<58} {seconds * 1e3:7.0f} {seconds / raw_s:6.2f}  {total}"
                + ("" if got.complete else " (out of time)")
            )
            worst = max(worst, seconds)
        ok = "ok" if worst <= TARGET_S else "OVER"
        print(
            f"  worst: {worst * 1e3:.0f} ms for {last:,} events, target <= {TARGET_S:.0f} s: {ok}"
        )
    if http:
        await through_http(db, repeat)


async def through_http(db: Path | str, repeat: int) -> None:
    from runtui.actors.runtime import Runtime
    from runtui.client import HttpClient
    from runtui.config import load_settings
    from runtui.embedded import EmbeddedRuntime
    from runtui.server.serve import http_api

    settings = load_settings({"db": db, "durability": "fast"})
    async with (
        Runtime.open(settings, resume=False) as rt,
        http_api(EmbeddedRuntime(rt), port=free_port(), token="bench") as server,
        HttpClient(server.url, "bench") as client,
    ):
        seconds, _ = await best(repeat, lambda: client.search_events(RID, "absent-word"))
        print(f"  through the HTTP API, no event holds the word: {seconds * 1e3:.0f} ms")


def backfill(db: Path) -> float:
    """Seconds the store takes to open `db` when migration 9 has its events to index."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE events DROP COLUMN search_text")
    conn.execute("ALTER TABLE events DROP COLUMN search_task")
    conn.execute("PRAGMA user_version=8")
    conn.commit()
    conn.close()

    async def reopen() -> None:
        async with open_store(db, durability=Durability.FAST):
            pass

    started = time.perf_counter()
    anyio.run(reopen)
    return time.perf_counter() - started


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description="runtui whole-log search benchmark")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="also on this PostgreSQL (a schema of its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
        db = Path(tmp) / "search.db"
        started = time.perf_counter()
        anyio.run(build, db, args.events)
        built = time.perf_counter() - started
        print(f"SQLite: built a run of {args.events:,} events in {built:.0f} s")
        anyio.run(measure, db, args.repeat, True)
        print(f"  migration 9 over {args.events:,} events: {backfill(db):.0f} s")
    if args.postgres:
        url, schema = fresh_postgres(args.postgres)
        try:
            started = time.perf_counter()
            anyio.run(build, url, args.events)
            print(f"PostgreSQL: built in {time.perf_counter() - started:.0f} s")
            anyio.run(measure, url, args.repeat, False)
        finally:
            drop_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
