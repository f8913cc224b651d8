"""The PostgreSQL event log's append cost against raw inserts, in one run (by hand; not in CI).

    .venv/bin/python bench/postgres_log.py [--dsn URL] [--events N] [--batch B]

(a) raw: N events inserted into a bare table of the same shape, B per transaction, from one
    connection; and the latency of a single-row insert-and-commit.
(b) `PgEventLog.append` (commit-ordered positions from a locked counter row, seq per run from
    its MAX), B events per call, from 1 and from 4 connections at once. With 4, appends take
    turns at the counter row: what that costs is the ratio of (b, 4) to (b, 1).

Everything runs in a fresh schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import anyio
import psycopg

from runtui.domain.events import AttemptOutput, PendingEvent, encode_event
from runtui.store.postgres import PgEventLog

RAW_TABLE = """CREATE TABLE raw_events (position BIGINT PRIMARY KEY, run_id TEXT NOT NULL,
seq INTEGER NOT NULL, kind TEXT NOT NULL, wave_index INTEGER, ts DOUBLE PRECISION NOT NULL,
body BYTEA NOT NULL, UNIQUE (run_id, seq))"""


def event(run: str, n: int) -> PendingEvent:
    return PendingEvent(run, AttemptOutput(task_id="t", attempt=0, lines=[f"line {n}"]), 1.0)


async def main(dsn: str, events: int, batch: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    await admin.execute(f"CREATE SCHEMA {schema}")

    async def connect() -> psycopg.AsyncConnection[tuple[object, ...]]:
        return await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, options=f"-c search_path={schema}"
        )

    try:
        raw = await connect()
        await raw.execute(RAW_TABLE)
        body = encode_event(event("r", 0).body)
        t = time.perf_counter()
        for start in range(0, events, batch):
            async with raw.transaction(), raw.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO raw_events VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (n + 1, "r", n + 1, "attempt.output", None, 1.0, body)
                        for n in range(start, min(events, start + batch))
                    ],
                )
        raw_rate = events / (time.perf_counter() - t)
        singles = []
        for n in range(200):
            t = time.perf_counter()
            await raw.execute(
                "INSERT INTO raw_events VALUES (%s, 's', %s, 'attempt.output', NULL, 1.0, %s)",
                (events + n + 1, n + 1, body),
            )
            singles.append(time.perf_counter() - t)
        print(f"(a) raw: {raw_rate:,.0f} events/s in batches of {batch};"
              f" single insert+commit p50 {statistics.median(singles) * 1000:.3f} ms")  # fmt: skip

        log = await PgEventLog.create(await connect())
        rates = {}
        for writers in (1, 4):
            logs = [log] + [PgEventLog(await connect()) for _ in range(writers - 1)]
            per = events // writers

            async def write(w: int, target: PgEventLog, per: int = per, n: int = writers) -> None:
                for start in range(0, per, batch):
                    await target.append(
                        [event(f"run-{n}-{w}", i) for i in range(start, min(per, start + batch))]
                    )

            t = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for w, target in enumerate(logs):
                    tg.start_soon(write, w, target)
            rates[writers] = per * writers / (time.perf_counter() - t)
            print(
                f"(b) PgEventLog.append, {writers} connection(s): {rates[writers]:,.0f} events/s"
                f" = {rates[writers] / raw_rate:.2f} of raw"
            )
            for extra in logs[1:]:
                await extra.conn.close()
        await log.conn.close()
        await raw.close()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    anyio.run(main, args.dsn, args.events, args.batch)
