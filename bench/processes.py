"""Runs/s with one and with two runtime processes on one SQLite file (run by hand).

    .venv/bin/python bench/processes.py [--runs 400] [--tasks 5] [--durability full|fast]
                                        [--postgres URL]

With `--postgres URL` the same is measured on PostgreSQL too (a fresh schema each time).

Each process opens its own runtime on the same database (`bench/runtime_throughput.py`'s
settings: full governance) and drives `--runs / processes` runs of a chain of no-op tasks,
50 at a time, as fast as it can. Processes start together (each waits for a start time in the
future); the figure is every run over the span from the start to the last process's end.

What limits it on 2 cores: every process's commits take turns at SQLite's one write lock
(`BEGIN IMMEDIATE`), so a second process adds CPU for the actors (each runtime is one Python
interpreter, about one core at full tilt) but no write throughput; group commit is per
process, so two processes make more, smaller commits. The raw limit is the same file's
single-row commit rate, measured first in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from runtime_throughput import bench_raw, noop_workflow, settings_for  # beside it

from runtui.actors.runtime import Runtime
from runtui.domain.enums import Durability

CONCURRENCY = 50


async def worker(
    db: Path | str, runs: int, tasks: int, durability: Durability, start_at: float
) -> None:
    workflow = noop_workflow(tasks, "chain")
    async with Runtime.open(settings_for(db, durability)) as rt:  # type: ignore[arg-type]
        await anyio.sleep(max(0.0, start_at - time.time()))
        began = time.time()
        slots = anyio.Semaphore(CONCURRENCY)

        async def one() -> None:
            async with slots:
                run_id = await rt.submit(workflow, force=True)
                await rt.wait(run_id)

        async with anyio.create_task_group() as tg:
            for _ in range(runs):
                tg.start_soon(one)
        ended = time.time()
        print(json.dumps({"began": began, "ended": ended, "commits": rt.store.writer.commits}))


def measure(db: Path | str, processes: int, runs: int, tasks: int, durability: Durability) -> float:
    start_at = time.time() + 3.0  # every process is up by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(db),
                "--runs",
                str(runs // processes),
                "--tasks",
                str(tasks),
                "--durability",
                durability.value,
                "--start-at",
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parent,
        )
        for _ in range(processes)
    ]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"worker failed ({p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    span = max(r["ended"] for r in results) - start_at
    return (runs // processes) * processes / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--durability", choices=["full", "fast"], default="full")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL database")
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    durability = Durability(args.durability)
    if args.worker is not None:
        db = args.worker if args.worker.startswith("postgres") else Path(args.worker)
        anyio.run(worker, db, args.runs, args.tasks, durability, args.start_at)
        return
    with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
        raw = anyio.run(bench_raw, Path(tmp) / "raw.db", durability, 300)
        one = measure(Path(tmp) / "one.db", 1, args.runs, args.tasks, durability)
        two = measure(Path(tmp) / "two.db", 2, args.runs, args.tasks, durability)
    commits_per_s = 1 / raw.commit_p50
    print(f"raw single-row commit p50 {raw.commit_p50 * 1000:.3f} ms ({commits_per_s:.0f}/s)")
    print(f"SQLite, 1 process:   {one:6.1f} runs/s of {args.tasks} no-op tasks")
    print(f"SQLite, 2 processes: {two:6.1f} runs/s ({two / one:.2f} of one process)")
    if args.postgres:
        from stores import drop_schema, fresh_postgres  # beside it

        rates = []
        for processes in (1, 2):
            url, schema = fresh_postgres(args.postgres)
            try:
                rates.append(measure(url, processes, args.runs, args.tasks, durability))
            finally:
                drop_schema(args.postgres, schema)
        print(f"PostgreSQL, 1 process:   {rates[0]:6.1f} runs/s ({rates[0] / one:.2f} of SQLite)")
        print(f"PostgreSQL, 2 processes: {rates[1]:6.1f} runs/s ({rates[1] / rates[0]:.2f} of one)")


if __name__ == "__main__":
    main()
