"""The runtime's per-run and per-task cost on PostgreSQL against SQLite, measured in one run
(run by hand).

    .venv/bin/python bench/stores.py [--runs 300] [--tasks 10] [--postgres URL]

The same workload as `bench/runtime_throughput.py` (a) and (b): `--runs` runs of one no-op
task, then of `--tasks` chained no-op tasks, all submitted at once under full governance,
FULL durability on SQLite (PostgreSQL: its defaults, `synchronous_commit=on`). Per run is (a)'s
time per run; per task is the extra time per task of (b). Each store gets a fresh database
(PostgreSQL: a schema of its own, dropped after); best of `--repeat`.

What differs: a commit on PostgreSQL is a round trip to the server and its WAL flush (on this
machine both local), and a transaction takes the write-lock row first (`store/pg.py`); SQLite's
commit is a local fsync with no round trip.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import anyio
from runtime_throughput import noop_workflow, settings_for  # beside it

from runtui.actors.runtime import Runtime
from runtui.domain.enums import Durability
from runtui.domain.workflow import Workflow


async def runs_per_second(db: Path | str, workflow: Workflow, runs: int) -> float:
    """Seconds to drive `runs` runs of `workflow` to their end, all submitted at once."""
    async with Runtime.open(settings_for(db, Durability.FULL)) as rt:  # type: ignore[arg-type]
        started = time.perf_counter()

        async def one() -> None:
            await rt.wait(await rt.submit(workflow, force=True))

        async with anyio.create_task_group() as tg:
            for _ in range(runs):
                tg.start_soon(one)
        return time.perf_counter() - started


def fresh_postgres(url: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}", schema


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"DROP SCHEMA {schema} CASCADE")


def measure(store: str, url: str, runs: int, tasks: int) -> tuple[float, float]:
    """(ms per single-task run, ms per task beyond the first) on `store`."""
    seconds = []
    for workflow in (noop_workflow(1, "chain"), noop_workflow(tasks, "chain")):
        if store == "sqlite":
            with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
                seconds.append(anyio.run(runs_per_second, Path(tmp) / "b.db", workflow, runs))
        else:
            db, schema = fresh_postgres(url)
            try:
                seconds.append(anyio.run(runs_per_second, db, workflow, runs))
            finally:
                drop_schema(url, schema)
    one, many = seconds
    return one / runs * 1e3, (many - one) / (runs * (tasks - 1)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    for i in range(args.repeat):
        for store in ("sqlite", "postgres"):  # alternating: a noisy moment hits both
            run_ms, task_ms = measure(store, args.postgres, args.runs, args.tasks)
            print(f"  {store:8} round {i + 1}: {run_ms:6.3f} ms/run  {task_ms:6.3f} ms/task")
            old = best.get(store)
            best[store] = (min(old[0], run_ms), min(old[1], task_ms)) if old else (run_ms, task_ms)
    (sr, st), (pr, pt) = best["sqlite"], best["postgres"]
    print(f"per run:  SQLite {sr:.3f} ms, PostgreSQL {pr:.3f} ms ({pr / sr:.2f}x)")
    print(f"per task: SQLite {st:.3f} ms, PostgreSQL {pt:.3f} ms ({pt / st:.2f}x)")


if __name__ == "__main__":
    main()
