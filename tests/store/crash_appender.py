"""Append events as fast as possible until killed; print every committed event.

Run as a subprocess by `test_crash.py`:

    python tests/store/crash_appender.py DB_PATH [--seed N] [--tasks K] [--durability full|fast]
                                                 [--wal-autocheckpoint P]

Several anyio tasks append concurrently, mixing single `append` calls with `append_many` batches
(some of them spanning several runs, some creating a run together with its first output). After
every append that *returned* (so only after its transaction committed), one line `run_id seq` per
committed event is written to stdout and flushed at once: every line the parent has read is an
acknowledged event, which must survive the SIGKILL that the parent sends at a random moment.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import anyio

from runtui.domain.enums import Durability
from runtui.domain.events import AttemptOutput, EventEnvelope, PendingEvent, RunCreated
from runtui.store import Store, open_store

RUNS_PER_TASK = 3
#: A producer starts a fresh run about this often (run creation must survive a crash too).
NEW_RUN_EVERY = 150


def emit(envs: Sequence[EventEnvelope]) -> None:
    """Acknowledge committed events: one `run_id seq` line each, flushed immediately."""
    sys.stdout.write("".join(f"{env.run_id} {env.seq}\n" for env in envs))
    sys.stdout.flush()


def output(task_no: int, n: int) -> AttemptOutput:
    return AttemptOutput(
        task_id=f"task-{task_no}",
        attempt=0,
        lines=[f"{time.time():.6f} worker {task_no} processed item {n} ok"],
    )


async def producer(store: Store, task_no: int, rng: random.Random) -> None:
    writer = store.writer
    prefix = f"p{os.getpid()}-t{task_no}"
    created = 0

    def next_run_id() -> str:
        nonlocal created
        created += 1
        return f"{prefix}-r{created}"

    runs: list[str] = []
    for k in range(RUNS_PER_TASK):
        run_id = next_run_id()
        if k % 2 == 0:  # created alone ...
            emit([await writer.append(run_id, RunCreated(workflow="crash", metadata={"k": k}))])
        else:  # ... or together with its first output, atomically
            now = time.time()
            emit(
                await writer.append_many(
                    [
                        PendingEvent(run_id, RunCreated(workflow="crash"), now),
                        PendingEvent(run_id, output(task_no, 0), now, 0),
                    ]
                )
            )
        runs.append(run_id)

    n = 0
    while True:
        n += 1
        if n % NEW_RUN_EVERY == 0:
            run_id = next_run_id()
            emit([await writer.append(run_id, RunCreated(workflow="crash"))])
            runs[rng.randrange(len(runs))] = run_id
        roll = rng.random()
        if roll < 0.5:
            run_id = rng.choice(runs)
            emit([await writer.append(run_id, output(task_no, n), wave_index=0)])
        else:
            now = time.time()
            size = rng.randint(2, 40)
            if roll < 0.8:  # one run per batch
                run_id = rng.choice(runs)
                items = [PendingEvent(run_id, output(task_no, n), now, 0) for _ in range(size)]
            else:  # a batch spanning the task's runs
                items = [
                    PendingEvent(rng.choice(runs), output(task_no, n), now, 0) for _ in range(size)
                ]
            emit(await writer.append_many(items))


LEASE_TTL_S = 0.3


async def main(
    db_path: Path, seed: int, tasks: int, durability: Durability, autocheckpoint: int | None
) -> None:
    # A short lease, so the test's next owner can take the runs over soon after the kill.
    async with open_store(db_path, durability=durability, lease_ttl=LEASE_TTL_S) as store:
        if autocheckpoint is not None:
            # Checkpoint (WAL -> database file) far more often than the default 1000 pages, so
            # that kills also land in the middle of checkpoints. The writer loop is idle here:
            # nothing else is using its connection yet.
            store.writer._conn.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        async with anyio.create_task_group() as tg:
            for task_no in range(tasks):
                tg.start_soon(producer, store, task_no, random.Random(f"{seed}-{task_no}"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db_path", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--durability", type=Durability, default=Durability.FULL)
    parser.add_argument("--wal-autocheckpoint", type=int, default=None)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    anyio.run(main, args.db_path, args.seed, args.tasks, args.durability, args.wal_autocheckpoint)
