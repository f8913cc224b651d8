"""Approve -> next task started, when the approval comes from another process than the one
that drives the run (run by hand; not part of the test suite).

    .venv/bin/python bench/command_latency.py [--runs K] [--durability full|fast]

The driver is `runtui serve --no-api` in a process of its own (the terminal UI's runtime does
the same: it takes commands through the database). This process submits K runs of
`gate -> noop` with a runtime of its own, lets them go at the gate (a clean exit releases
their leases) and waits until serve has taken them all over. Then, with a runtime that takes
nothing over (as `runtui approve` beside the UI), it approves each run in turn: the approval
becomes a command addressed to serve (`actors.delegate`). Timed from just before `approve()`
until this process's view of the database shows the noop's `attempt.started`; also timed:
when `approve()` returned (serve applied the decision and recorded the outcome).

The path holds four commits (the command, its claim, the decision, its outcome) and two polls
of another process's writes (serve is rung on its bell and looks at once; the requester looks
for the outcome every 2 ms and reads other processes' commits back every 5 ms); the raw floor
is the single-row commit measured on the same disk in the same run (`bench/runtime_throughput.py`'s
raw case).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
from runtime_throughput import bench_raw, gate_workflow, percentile, settings_for  # beside it

from runtui.domain.enums import Durability
from runtui.domain.events import ApprovalRequested, AttemptStarted, RunStatusChanged
from runtui.embedded import EmbeddedRuntime

SETTLE_S = 0.05


async def measure(db: Path, durability: Durability, runs: int) -> dict[str, list[float]]:
    settings = settings_for(db, durability)
    owner = await anyio.open_process(
        [sys.executable, "-m", "runtui", "--db", str(db), "serve", "--no-api"],
        stderr=subprocess.DEVNULL,
        env={**_env(), "RUNTUI_DURABILITY": durability.value},
    )
    try:
        await anyio.to_thread.run_sync(_until_serving, db)
        out: dict[str, list[float]] = {"submit": [], "approve_returns": [], "next_started": []}
        gates: dict[str, tuple[str, int]] = {}  # run id -> (approval id, seq of the request)
        async with EmbeddedRuntime.open(settings, resume=False) as rt:
            workflow = gate_workflow()
            for _ in range(runs):
                t = time.perf_counter()
                run_id = await rt.submit(workflow, force=True)
                out["submit"].append(time.perf_counter() - t)
                async for env in rt.events(run_id):
                    if isinstance(env.body, ApprovalRequested):
                        gates[run_id] = (env.body.approval_id, env.seq)
                        break
            await rt.drain()
        await anyio.to_thread.run_sync(_until_driven_by_serve, db, len(gates))
        async with EmbeddedRuntime.open(settings, resume=False) as rt:
            for run_id, (approval_id, after) in gates.items():
                await anyio.sleep(SETTLE_S)  # a person is never this fast
                t0 = time.perf_counter()
                await rt.approve(approval_id, by="bench")
                out["approve_returns"].append(time.perf_counter() - t0)
                async for env in rt.events(run_id, after=after):
                    if isinstance(env.body, AttemptStarted) and env.body.task_id == "next":
                        out["next_started"].append(time.perf_counter() - t0)
                        break
                async for env in rt.events(run_id, after=after):
                    if isinstance(env.body, RunStatusChanged) and env.body.status.is_terminal:
                        break
        return out
    finally:
        owner.send_signal(signal.SIGTERM)
        with anyio.fail_after(30):
            await owner.wait()
        await owner.aclose()


def _count(db: Path, sql: str) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


def _until(condition: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    """Until another process did something (polled, bounded)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def _until_serving(db: Path) -> None:
    _until(lambda: db.exists() and _count(db, "SELECT COUNT(*) FROM owners") > 0, "serve to start")


def _until_driven_by_serve(db: Path, runs: int) -> None:
    held = (
        "SELECT COUNT(*) FROM run_leases l JOIN owners o ON o.owner_id = l.owner"
        " WHERE o.label LIKE '%serve%'"
    )
    _until(lambda: _count(db, held) >= runs, "serve to take the runs over")


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("RUNTUI_")}


def main() -> None:
    parser = argparse.ArgumentParser(description="approve from another process -> next task")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--durability", choices=["full", "fast"], default="full")
    args = parser.parse_args()
    durability = Durability(args.durability)
    with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
        raw = anyio.run(bench_raw, Path(tmp) / "raw.db", durability, 300)
        out = anyio.run(measure, Path(tmp) / "bench.db", durability, args.runs)
    print(f"raw single-row commit p50 {raw.commit_p50 * 1000:.3f} ms ({args.durability})")
    for name, xs in out.items():
        p50, p95 = statistics.median(xs), percentile(xs, 0.95)
        print(
            f"{name:16} p50 {p50 * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms"
            f"  ({p50 / raw.commit_p50:5.1f}x the raw commit)  n={len(xs)}"
        )


if __name__ == "__main__":
    main()
