"""Approve -> next task started, when the approval comes from another process than the one
that owns the database (run by hand; not part of the test suite).

    .venv/bin/python bench/command_latency.py [--runs K] [--durability full|fast]

The owner is `runtui serve --no-api` in a process of its own (the terminal UI's runtime would do
the same: it takes commands through the database). This process is a requester
(`runtui.queued.QueuedRuntime`, what `runtui approve` uses when the database is owned): for
each of K runs of `gate -> noop` it submits the run (a command), waits until the run waits at
its gate, lets the owner's trailing commits land, then times from just before `approve()` until
its own view of the database shows the noop's `attempt.started`. Also timed: when `approve()`
returned (the owner recorded the decision and the outcome).

The path holds four commits (the command, its claim, the decision, its outcome) and two polls
of another process's writes (the owner looks for commands every 10 ms, the requester for the
outcome every 10 ms); the raw floor is the single-row commit measured on the same disk in the
same run (`bench/runtime_throughput.py`'s raw case).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from runtime_throughput import bench_raw, gate_workflow, percentile, settings_for  # beside it
from runtui.queued import QueuedRuntime, owned_by_another

from runtui.domain.enums import Durability
from runtui.domain.events import ApprovalRequested, AttemptStarted, RunStatusChanged

SETTLE_S = 0.05


async def measure(db: Path, durability: Durability, runs: int) -> dict[str, list[float]]:
    settings = settings_for(db, durability)
    owner = await anyio.open_process(
        [sys.executable, "-m", "runtui", "--db", str(db), "serve", "--no-api"],
        stderr=subprocess.DEVNULL,
        env={**_env(), "RUNTUI_DURABILITY": durability.value},
    )
    try:
        await anyio.to_thread.run_sync(_until_owned, db)
        out: dict[str, list[float]] = {"submit": [], "approve_returns": [], "next_started": []}
        async with QueuedRuntime.beside_owner(settings) as rt:
            workflow = gate_workflow()
            for _ in range(runs):
                t = time.perf_counter()
                run_id = await rt.submit(workflow, force=True)
                out["submit"].append(time.perf_counter() - t)
                approval_id = ""
                async for env in rt.events(run_id):
                    if isinstance(env.body, ApprovalRequested):
                        approval_id = env.body.approval_id
                        after = env.seq
                        break
                await anyio.sleep(SETTLE_S)  # a person is never this fast; the owner settles
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


def _until_owned(db: Path, limit_s: float = 30.0) -> None:
    """Until the owner process holds the database (another process: polled, bounded)."""
    deadline = time.monotonic() + limit_s
    while not owned_by_another(db):
        if time.monotonic() > deadline:
            raise TimeoutError("the owner did not start")
        time.sleep(0.05)


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
