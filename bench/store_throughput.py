"""Store throughput benchmark (run by hand; not part of the test suite).

    .venv/bin/python bench/store_throughput.py [--events N] [--durability full|fast]
                                               [--producers K] [--batch B] [--repeat R]

On fresh temporary databases it measures, each R times (best reported):

(a) the runtui writer with K concurrent producer tasks each calling `append_many` with batches
    of B `attempt.output` events (one realistic ~60-byte output line each) spread over a few
    dozen runs created up front;
(b) the runtui writer with many concurrent tasks each calling single-event `append` (the
    latency-sensitive path);
(c) the raw baseline: plain aiosqlite with the same pragmas and the same `events` table (the
    runtui migrations), inserting the same number of rows with `executemany` in 1000-row
    transactions of pre-encoded msgpack payloads.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import anyio

from runtui.domain.enums import Durability
from runtui.domain.events import AttemptOutput, PendingEvent, RunCreated, encode_event
from runtui.store import EventWriter, open_store
from runtui.store.schema import migrate

RUNS = 32
SINGLE_TASKS = 200
RAW_TXN_ROWS = 1000
T0 = 1_700_000_000.0


@dataclass
class Result:
    events: int
    seconds: float
    commits: int = 0
    commit_seconds: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def stats(self) -> str:
        if not self.commits:
            return ""
        cs = sorted(self.commit_seconds)
        p50 = cs[len(cs) // 2] * 1e3
        p95 = cs[min(len(cs) - 1, int(len(cs) * 0.95))] * 1e3
        return (
            f"commits={self.commits:,}  events/commit={self.events / self.commits:,.1f}  "
            f"commit p50={p50:.2f} ms  p95={p95:.2f} ms  "
            f"(commit time {sum(cs):.2f} s of {self.seconds:.2f} s wall)"
        )


def output_line(n: int) -> str:
    """A realistic output line, ~60 bytes."""
    return (
        f"2024-05-01T12:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"
        f" worker-{n % 16:02d} processed item {n:07d} ok"
    )


#: Output lines are made up front: formatting one costs about as much as appending it, and a
#: real producer gets its lines ready-made from the child process.
LINES: list[str] = []
TASK_IDS = [f"task-{i}" for i in range(8)]


def output_event(n: int) -> AttemptOutput:
    return AttemptOutput(task_id=TASK_IDS[n % 8], attempt=0, lines=[LINES[n % len(LINES)]])


def run_ids() -> list[str]:
    return [f"bench-run-{i:03d}" for i in range(RUNS)]


async def _with_store(
    db_path: Path,
    durability: Durability,
    events: int,
    body: Callable[[EventWriter, list[str]], Awaitable[None]],
) -> Result:
    """Open a store, create the runs (untimed), then time `body(writer, runs)`."""
    runs = run_ids()
    async with open_store(db_path, durability=durability) as store:
        writer = store.writer
        await writer.append_many([PendingEvent(r, RunCreated(workflow="bench"), T0) for r in runs])
        commits0, events0 = writer.commits, writer.events_committed
        started = time.perf_counter()
        await body(writer, runs)
        seconds = time.perf_counter() - started
        commits = writer.commits - commits0
        assert writer.events_committed - events0 == events, "not every event was committed"
        commit_seconds = writer.commit_seconds[-commits:] if commits else []
    return Result(events, seconds, commits, commit_seconds)


async def bench_batched(
    db_path: Path, durability: Durability, events: int, producers: int, batch: int
) -> Result:
    async def body(writer: EventWriter, runs: list[str]) -> None:
        async def producer(p: int) -> None:
            share = events // producers + (1 if p < events % producers else 0)
            n, i = p * (events // producers + 1), 0
            while share > 0:
                size = min(batch, share)
                run_id = runs[(p + i) % len(runs)]
                now = time.time()
                items = [PendingEvent(run_id, output_event(n + k), now, 0) for k in range(size)]
                await writer.append_many(items)
                n += size
                share -= size
                i += 1

        async with anyio.create_task_group() as tg:
            for p in range(producers):
                tg.start_soon(producer, p)

    return await _with_store(db_path, durability, events, body)


async def bench_single(db_path: Path, durability: Durability, events: int, tasks: int) -> Result:
    async def body(writer: EventWriter, runs: list[str]) -> None:
        async def task(t: int) -> None:
            run_id = runs[t % len(runs)]
            share = events // tasks + (1 if t < events % tasks else 0)
            first = t * (events // tasks + 1)
            for k in range(share):
                await writer.append(run_id, output_event(first + k), wave_index=0)

        async with anyio.create_task_group() as tg:
            for t in range(tasks):
                tg.start_soon(task, t)

    return await _with_store(db_path, durability, events, body)


async def bench_raw(db_path: Path, durability: Durability, events: int) -> Result:
    sync = sqlite3.connect(db_path, isolation_level=None)
    sync.execute("PRAGMA journal_mode=WAL")
    migrate(sync)
    sync.close()

    runs = run_ids()
    seqs = dict.fromkeys(runs, 0)
    rows = []
    for n in range(events):
        run_id = runs[n % len(runs)]
        seqs[run_id] += 1
        payload = encode_event(output_event(n))
        rows.append((n + 1, run_id, seqs[run_id], "attempt.output", 0, T0 + n * 1e-3, payload))

    sql = (
        "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, payload)"
        " VALUES (?,?,?,?,?,?,?)"
    )
    synchronous = "FULL" if durability is Durability.FULL else "NORMAL"
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        started = time.perf_counter()
        for i in range(0, events, RAW_TXN_ROWS):
            await conn.execute("BEGIN IMMEDIATE")
            await conn.executemany(sql, rows[i : i + RAW_TXN_ROWS])
            await conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        async with conn.execute("SELECT COUNT(*) FROM events") as cur:
            row = await cur.fetchone()
        assert row is not None
        assert row[0] == events
    return Result(events, seconds)


def best_of(repeat: int, label: str, measure: Callable[[Path], Awaitable[Result]]) -> Result:
    results = []
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
            result = anyio.run(measure, Path(tmp) / "bench.db")
        print(f"  {label} run {i + 1}/{repeat}: {result.rate:>10,.0f} events/s", flush=True)
        results.append(result)
    return max(results, key=lambda r: r.rate)


def main() -> None:
    parser = argparse.ArgumentParser(description="runtui store throughput benchmark")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--durability", choices=["full", "fast"], default="full")
    parser.add_argument("--producers", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100, help="events per append_many call")
    parser.add_argument("--single-tasks", type=int, default=SINGLE_TASKS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    durability = Durability(args.durability)
    n = args.events
    LINES[:] = [output_line(i) for i in range(n)]

    print(
        f"runtui store throughput: {n:,} events, durability={durability.value}, "
        f"{RUNS} runs, best of {args.repeat} (fresh temp database each time); "
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}",
    )
    a = best_of(
        args.repeat,
        "(a)",
        lambda p: bench_batched(p, durability, n, args.producers, args.batch),
    )
    b = best_of(args.repeat, "(b)", lambda p: bench_single(p, durability, n, args.single_tasks))
    c = best_of(args.repeat, "(c)", lambda p: bench_raw(p, durability, n))

    rows = [
        (f"(a) writer append_many ({args.producers} tasks x {args.batch})", a),
        (f"(b) writer single append ({args.single_tasks} tasks)", b),
        (f"(c) raw aiosqlite executemany ({RAW_TXN_ROWS}/txn)", c),
    ]
    print()
    print(f"{'measurement (best of ' + str(args.repeat) + ')':<46} {'events/s':>12} {'vs raw':>8}")
    for label, r in rows:
        print(f"{label:<46} {r.rate:>12,.0f} {r.rate / c.rate:>8.2f}")
    print()
    print(
        f"ratio writer/raw (a/c): {a.rate / c.rate:.2f}   single/raw (b/c): {b.rate / c.rate:.2f}"
    )
    print("writer stats (best run):")
    print(f"  (a) {a.stats()}")
    print(f"  (b) {b.stats()}")


if __name__ == "__main__":
    main()
