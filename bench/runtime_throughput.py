"""Runtime throughput benchmark (run by hand; not part of the test suite).

    .venv/bin/python bench/runtime_throughput.py [--runs N] [--tasks T] [--concurrency C]
                                                 [--approvals K] [--settle-ms MS]
                                                 [--shape chain|wide]
                                                 [--durability full|fast] [--repeat R]

Everything runs through the public `Runtime` (submit, approve, the event bus) with full
governance: ROK and RAC on, and every workflow carries two policies that never fire (a
critical `token_limit` with a huge threshold and a high `pii_detected` scan of each task's
output). Each measurement gets a fresh temporary database and a fresh runtime; R repeats, the
best is reported.

(a) per-run overhead: N runs of a 1-task `noop` workflow, submitted concurrently (at most C in
    flight), timed from the first submit until a bus subscription has seen every run's terminal
    `run.status` event. Per run = wall / N.
(b) per-task overhead: the same N runs with T `noop` tasks each, as a chain t0 → t1 → … (every
    task its own wave; `--shape wide` puts all T in wave 0 instead). Per task =
    (wall_b − wall_a) / (N × (T − 1)): what each task adds beyond the run's fixed cost.
(c) approve → next task: K runs of `gate → noop`, one at a time. Once the approval request is
    on the bus the benchmark waits `--settle-ms` (a human is never that fast; the run's own
    trailing commits land meanwhile), then times from just before `runtime.approve()` until the
    bus delivers the committed batch holding the noop's `attempt.started` (the bus hands a batch
    over right after its commit, one event-loop wakeup later). Also counted: the writer's
    commits in that interval.
(d) the raw limits, measured in the same process on the same disk with the same pragmas (WAL,
    synchronous=FULL or NORMAL): K sequential single-row commits into the runtui `events` table
    (the fsync latency), the same through a worker thread (the writer's path), and the events/s
    the store writer reaches with `append_many` batches of `attempt.output` events (16 producers
    × 100, as case (a) of bench/store_throughput.py with fewer events).

Ratios: (c) against the raw single commit; (a) and (b) against "events per run (per task) ×
raw per-event cost", the events being counted in the database after the runs ended and the raw
per-event cost being 1 / (writer events/s of (d)). A ratio of 1 would mean the runtime costs no
more than writing its events.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from runtui.actors.runtime import Runtime
from runtui.config import Settings, load_settings
from runtui.domain.enums import Durability
from runtui.domain.events import (
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    PendingEvent,
    RunCreated,
    RunStatusChanged,
    encode_event,
)
from runtui.domain.feed import Lagged
from runtui.domain.status import RunStatus
from runtui.domain.workflow import Workflow
from runtui.store import open_store
from runtui.store.schema import apply_pragmas, migrate

TARGET_RUN_MS = 2.0
TARGET_TASK_MS = 0.25
TARGET_APPROVE_MS = 2.0

RAW_COMMITS = 500
STALL_S = 60.0  # a run that has not ended by then is reported as stuck
WRITER_EVENTS = 50_000
WRITER_PRODUCERS = 16
WRITER_BATCH = 100

POLICIES: list[dict[str, Any]] = [
    {"id": "tokens", "type": "token_limit", "severity": "critical", "threshold": 1e12},
    {"id": "pii", "type": "pii_detected", "severity": "high"},
]


# --- workflows -----------------------------------------------------------------------------


def noop_workflow(tasks: int, shape: str) -> Workflow:
    specs: list[dict[str, Any]] = []
    for i in range(tasks):
        spec: dict[str, Any] = {"id": f"t{i}", "kind": "noop"}
        if shape == "chain" and i > 0:
            spec["needs"] = [f"t{i - 1}"]
        specs.append(spec)
    return Workflow.model_validate(
        {"name": f"bench-noop-{tasks}-{shape}", "tasks": specs, "policies": POLICIES}
    )


def gate_workflow() -> Workflow:
    return Workflow.model_validate(
        {
            "name": "bench-gate",
            "tasks": [
                {"id": "gate", "kind": "gate", "prompt": "go?"},
                {"id": "next", "kind": "noop", "needs": ["gate"]},
            ],
            "policies": POLICIES,
        }
    )


def settings_for(db: Path, durability: Durability) -> Settings:
    return load_settings(
        {
            "db": db,
            "durability": durability.value,
            "rok_enabled": True,
            "rac_enabled": True,
            "rok_default_run_timeout_ms": 3_600_000,  # no run may time out during the bench
        }
    )


# --- watching the bus ----------------------------------------------------------------------


class Watcher:
    """One bus subscription that records what the benchmark waits for, as it is committed."""

    def __init__(self, runtime: Runtime) -> None:
        self.sub = runtime.bus.subscribe(max_batches=1 << 30)
        self.status: dict[str, RunStatus] = {}
        self.done: defaultdict[str, anyio.Event] = defaultdict(anyio.Event)
        self.approval: dict[str, str] = {}
        self.approval_seen: defaultdict[str, anyio.Event] = defaultdict(anyio.Event)
        self.started_at: dict[tuple[str, str], float] = {}
        self.started_seen: defaultdict[tuple[str, str], anyio.Event] = defaultdict(anyio.Event)
        self.all_done = anyio.Event()
        self.expected = 0

    async def run(self) -> None:
        async for delivery in self.sub:
            if isinstance(delivery, Lagged):
                raise RuntimeError("the benchmark's bus subscription lagged")
            now = time.perf_counter()
            for env in delivery:
                body = env.body
                if isinstance(body, RunStatusChanged) and body.status.is_terminal:
                    self.status[env.run_id] = body.status
                    self.done[env.run_id].set()
                    if self.expected and len(self.status) >= self.expected:
                        self.all_done.set()
                elif isinstance(body, ApprovalRequested):
                    self.approval[env.run_id] = body.approval_id
                    self.approval_seen[env.run_id].set()
                elif isinstance(body, AttemptStarted):
                    key = (env.run_id, body.task_id)
                    self.started_at.setdefault(key, now)
                    self.started_seen[key].set()

    def close(self) -> None:
        self.sub.close()


# --- (a) and (b): many runs ----------------------------------------------------------------


@dataclass
class Batch:
    runs: int
    tasks: int
    seconds: float
    cpu_seconds: float  # process CPU time (all threads) in the same window
    commits: int
    commit_seconds: float
    events_in_window: int
    events_total: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def ms_per_run(self) -> float:
        return self.seconds / self.runs * 1e3

    @property
    def events_per_run(self) -> float:
        return self.events_total / self.runs


def count_events(db: Path) -> tuple[int, Counter[str]]:
    conn = sqlite3.connect(db)
    try:
        kinds = Counter(
            {
                str(k): int(n)
                for k, n in conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY 1")
            }
        )
    finally:
        conn.close()
    return sum(kinds.values()), kinds


async def bench_runs(
    db: Path, durability: Durability, workflow: Workflow, runs: int, concurrency: int
) -> Batch:
    async with Runtime.open(settings_for(db, durability)) as runtime:
        writer = runtime.store.writer
        watcher = Watcher(runtime)
        watcher.expected = runs
        slots = anyio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                run_id = await runtime.submit(workflow)
                await watcher.done[run_id].wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watcher.run)
            commits0, events0 = writer.commits, writer.events_committed
            cpu0 = time.process_time()
            started = time.perf_counter()
            with anyio.move_on_after(STALL_S + runs * len(workflow.tasks) * 0.01) as guard:
                async with anyio.create_task_group() as submitters:
                    for _ in range(runs):
                        submitters.start_soon(one)
                await watcher.all_done.wait()
            if guard.cancelled_caught:
                stuck = sorted(runtime.active_runs)
                raise RuntimeError(
                    f"only {len(watcher.status)}/{runs} runs ended; still active: {len(stuck)}"
                    f" (e.g. {stuck[:3]}, status {[runtime.status_of(r) for r in stuck[:3]]})"
                )
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu0
            commits = writer.commits - commits0
            events = writer.events_committed - events0
            commit_seconds = sum(writer.commit_seconds[-commits:]) if commits else 0.0
            watcher.close()
    total, kinds = count_events(db)
    return Batch(
        runs=runs,
        tasks=len(workflow.tasks),
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        commits=commits,
        commit_seconds=commit_seconds,
        events_in_window=events,
        events_total=total,
        kinds=kinds,
        statuses=Counter(s.value for s in watcher.status.values()),
    )


# --- (c): approve → next task --------------------------------------------------------------


@dataclass
class Approvals:
    latencies: list[float]  # approve() called → attempt.started delivered, seconds
    approve_calls: list[float]  # approve() called → approve() returned, seconds
    commits: list[int]  # writer commits in the first interval
    statuses: Counter[str]

    def p(self, q: float, values: list[float] | None = None) -> float:
        xs = sorted(self.latencies if values is None else values)
        return xs[min(len(xs) - 1, math.ceil(q * len(xs)) - 1)] * 1e3


async def bench_approvals(
    db: Path, durability: Durability, k: int, settle_s: float = 0.01
) -> Approvals:
    workflow = gate_workflow()
    latencies: list[float] = []
    calls: list[float] = []
    commits: list[int] = []
    async with Runtime.open(settings_for(db, durability)) as runtime:
        writer = runtime.store.writer
        watcher = Watcher(runtime)
        async with anyio.create_task_group() as tg:
            tg.start_soon(watcher.run)
            for _ in range(k):
                run_id = await runtime.submit(workflow)
                await watcher.approval_seen[run_id].wait()
                approval_id = watcher.approval[run_id]
                # A human never answers within microseconds: let the run's trailing commits
                # (trace spans of the request) land first, so they are not on the timed path.
                await anyio.sleep(settle_s)
                key = (run_id, "next")
                commits0 = writer.commits
                started = time.perf_counter()
                await runtime.approve(approval_id)
                returned = time.perf_counter()
                await watcher.started_seen[key].wait()
                commits.append(writer.commits - commits0)
                latencies.append(watcher.started_at[key] - started)
                calls.append(returned - started)
                await watcher.done[run_id].wait()
            watcher.close()
    statuses = Counter(s.value for s in watcher.status.values())
    return Approvals(latencies, calls, commits, statuses)


# --- (d): the raw limits -------------------------------------------------------------------


@dataclass
class Raw:
    commit_p50: float  # seconds, plain sqlite3 in this thread
    commit_p95: float
    thread_commit_p50: float  # seconds, the same through anyio.to_thread (the writer's path)
    writer_rate: float  # events/s, store writer append_many


def raw_row(n: int) -> tuple[Any, ...]:
    body = AttemptOutput(task_id="t0", attempt=0, lines=[f"raw commit {n:07d} ok"])
    return (n + 1, "raw-run", n + 1, "attempt.output", 0, 1_700_000_000.0 + n, encode_event(body))


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(q * len(s)) - 1)]


async def bench_raw(db: Path, durability: Durability, k: int) -> Raw:
    sql = (
        "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, payload)"
        " VALUES (?,?,?,?,?,?,?)"
    )
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        apply_pragmas(conn, durability)
        migrate(conn)
        rows = [raw_row(n) for n in range(2 * k)]

        def commit(row: tuple[Any, ...]) -> float:
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, row)
            conn.execute("COMMIT")
            return time.perf_counter() - started

        direct = [commit(rows[i]) for i in range(k)]
        threaded: list[float] = []
        for i in range(k, 2 * k):
            started = time.perf_counter()
            await anyio.to_thread.run_sync(commit, rows[i])
            threaded.append(time.perf_counter() - started)
    finally:
        conn.close()
    rate = await bench_writer(db.with_name("writer.db"), durability)
    return Raw(
        commit_p50=statistics.median(direct),
        commit_p95=percentile(direct, 0.95),
        thread_commit_p50=statistics.median(threaded),
        writer_rate=rate,
    )


async def bench_writer(db: Path, durability: Durability) -> float:
    """Events/s of the store writer: producers appending `attempt.output` batches."""
    runs = [f"writer-run-{i:02d}" for i in range(32)]
    lines = [
        f"2024-05-01T12:00:00.{n % 1000:03d}Z worker-{n % 16:02d} item {n:07d} ok"
        for n in range(1000)
    ]
    async with open_store(db, durability=durability) as store:
        writer = store.writer
        await writer.append_many([PendingEvent(r, RunCreated(workflow="bench"), 0.0) for r in runs])

        async def producer(p: int) -> None:
            share = WRITER_EVENTS // WRITER_PRODUCERS
            n = 0
            while n < share:
                size = min(WRITER_BATCH, share - n)
                run_id = runs[(p + n) % len(runs)]
                now = time.time()
                items = [
                    PendingEvent(
                        run_id,
                        AttemptOutput(task_id="t0", attempt=0, lines=[lines[(n + j) % 1000]]),
                        now,
                        0,
                    )
                    for j in range(size)
                ]
                await writer.append_many(items)
                n += size

        events0 = writer.events_committed
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for p in range(WRITER_PRODUCERS):
                tg.start_soon(producer, p)
        seconds = time.perf_counter() - started
        events = writer.events_committed - events0
    return events / seconds


# --- driver --------------------------------------------------------------------------------


def fresh(measure: Callable[[Path], Awaitable[Any]]) -> Any:
    with tempfile.TemporaryDirectory(prefix="runtui-rbench-") as tmp:
        return anyio.run(measure, Path(tmp) / "bench.db")


def check(label: str, statuses: Counter[str], expected: int) -> None:
    ok = statuses.get(RunStatus.SUCCEEDED.value, 0)
    if ok != expected:
        print(f"  !! {label}: {ok}/{expected} runs succeeded; statuses: {dict(statuses)}")


def main() -> None:
    parser = argparse.ArgumentParser(description="runtui runtime throughput benchmark")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10, help="tasks per run in (b)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="runs in flight at once (default: all)"
    )
    parser.add_argument("--approvals", type=int, default=200, help="sequential runs in (c)")
    parser.add_argument(
        "--settle-ms",
        type=float,
        default=10.0,
        help="(c): pause between the approval request and approve() (0: contended)",
    )
    parser.add_argument("--shape", choices=["chain", "wide"], default="chain")
    parser.add_argument("--durability", choices=["full", "fast"], default="full")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--gc",
        choices=["tuned", "default"],
        default="tuned",
        help="tuned: as `runtui run`, `serve` and the UI run the runtime (runtui.gc_tuning)",
    )
    args = parser.parse_args()
    if args.gc == "tuned":
        from runtui.gc_tuning import tune_gc

        tune_gc()
    if args.tasks < 2:
        parser.error("--tasks must be at least 2 (per-task cost is measured beyond the first)")
    durability = Durability(args.durability)
    n, t, k = args.runs, args.tasks, args.approvals
    concurrency = args.concurrency or n
    one = noop_workflow(1, args.shape)
    many = noop_workflow(t, args.shape)
    probe = settings_for(Path("unused.db"), durability)

    print(
        f"runtui runtime throughput: durability={durability.value}, {n:,} runs, "
        f"{concurrency:,} in flight, {t} noop tasks/run ({args.shape}), {k} approvals; "
        f"ROK={probe.rok_enabled} RAC={probe.rac_enabled}, {len(POLICIES)} policies, "
        f"max_concurrency={probe.max_concurrency}; gc {args.gc}; best of {args.repeat}; "
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}",
        flush=True,
    )

    a_all: list[Batch] = []
    b_all: list[Batch] = []
    c_all: list[Approvals] = []
    d_all: list[Raw] = []
    for i in range(args.repeat):
        tag = f"run {i + 1}/{args.repeat}"
        a = fresh(lambda p: bench_runs(p, durability, one, n, concurrency))
        check("(a)", a.statuses, n)
        print(
            f"  (a) {tag}: {a.seconds:6.2f} s  {a.ms_per_run:6.3f} ms/run  "
            f"cpu {a.cpu_seconds:.2f} s",
            flush=True,
        )
        b = fresh(lambda p: bench_runs(p, durability, many, n, concurrency))
        check("(b)", b.statuses, n)
        print(
            f"  (b) {tag}: {b.seconds:6.2f} s  {b.ms_per_run:6.3f} ms/run  "
            f"cpu {b.cpu_seconds:.2f} s",
            flush=True,
        )
        c = fresh(lambda p: bench_approvals(p, durability, k, args.settle_ms / 1000))
        check("(c)", c.statuses, k)
        print(f"  (c) {tag}: p50 {c.p(0.5):6.3f} ms  p95 {c.p(0.95):6.3f} ms", flush=True)
        d = fresh(lambda p: bench_raw(p, durability, RAW_COMMITS))
        print(
            f"  (d) {tag}: commit p50 {d.commit_p50 * 1e3:6.3f} ms  "
            f"writer {d.writer_rate:,.0f} events/s",
            flush=True,
        )
        a_all.append(a)
        b_all.append(b)
        c_all.append(c)
        d_all.append(d)

    a = min(a_all, key=lambda r: r.seconds)
    b = min(b_all, key=lambda r: r.seconds)
    c = min(c_all, key=lambda r: r.p(0.5))
    d = Raw(
        commit_p50=min(r.commit_p50 for r in d_all),
        commit_p95=min(r.commit_p95 for r in d_all),
        thread_commit_p50=min(r.thread_commit_p50 for r in d_all),
        writer_rate=max(r.writer_rate for r in d_all),
    )
    report(a, b, c, d, t)


def report(a: Batch, b: Batch, c: Approvals, d: Raw, t: int) -> None:
    n = a.runs
    per_run_ms = a.ms_per_run
    per_task_ms = (b.seconds - a.seconds) / (n * (t - 1)) * 1e3
    event_ms = 1e3 / d.writer_rate
    ev_run = a.events_per_run
    ev_task = (b.events_total - a.events_total) / (n * (t - 1))
    floor_run = ev_run * event_ms
    floor_task = ev_task * event_ms
    commits_c = statistics.median(c.commits)
    commit_ms = d.commit_p50 * 1e3

    def row(label: str, value: float, target: float | None, floor: float | None, note: str) -> None:
        tgt = f"{target:8.2f}" if target is not None else f"{'':8}"
        verdict = ("ok" if value <= target else "MISS") if target is not None else ""
        ratio = f"{value / floor:8.1f}x" if floor else f"{'':9}"
        fl = f"{floor:9.3f}" if floor is not None else f"{'':9}"
        print(f"{label:<34} {value:9.3f} {tgt} {verdict:>5} {fl} {ratio}  {note}")

    print()
    head = f"{'measurement (ms)':<34} {'value':>9} {'target':>8} {'':>5}"
    print(f"{head} {'raw floor':>9} {'vs raw':>9}")
    row(
        "(a) per single-task run",
        per_run_ms,
        TARGET_RUN_MS,
        floor_run,
        f"floor = {ev_run:.1f} events/run x {event_ms * 1e3:.1f} us/event",
    )
    row(
        "(b) per task (beyond the first)",
        per_task_ms,
        TARGET_TASK_MS,
        floor_task,
        f"floor = {ev_task:.1f} events/task x {event_ms * 1e3:.1f} us/event",
    )
    row(
        "    cpu per run (all threads)",
        a.cpu_seconds / n * 1e3,
        None,
        floor_run,
        "process CPU time in the window / runs",
    )
    row(
        "    cpu per task (all threads)",
        (b.cpu_seconds - a.cpu_seconds) / (n * (t - 1)) * 1e3,
        None,
        floor_task,
        "",
    )
    row(
        "(c) approve -> attempt.started p50",
        c.p(0.5),
        TARGET_APPROVE_MS,
        commit_ms,
        f"floor = 1 raw commit; path has {commits_c:g} commits (median)",
    )
    row("    p95", c.p(0.95), TARGET_APPROVE_MS, commit_ms, "")
    row("    max", c.p(1.0), None, commit_ms, "")
    row("    approve() call returns, p50", c.p(0.5, c.approve_calls), None, commit_ms, "")
    row(
        "    floor: commits on path x raw",
        commits_c * commit_ms,
        None,
        None,
        f"{commits_c:g} x {commit_ms:.3f} ms",
    )
    print()
    print("raw limits (same process, same disk, same pragmas):")
    print(
        f"  (d) single-row commit p50 {commit_ms:.3f} ms  p95 {d.commit_p95 * 1e3:.3f} ms;"
        f"  through a worker thread p50 {d.thread_commit_p50 * 1e3:.3f} ms"
    )
    print(
        f"  (d) store writer append_many ({WRITER_PRODUCERS} x {WRITER_BATCH}): "
        f"{d.writer_rate:,.0f} events/s = {event_ms * 1e3:.1f} us/event"
    )
    print()
    print("runtime stats (best runs):")
    for label, r in (("(a)", a), ("(b)", b)):
        busy = r.commit_seconds / r.seconds * 100
        print(
            f"  {label} {r.runs:,} runs x {r.tasks} tasks: wall {r.seconds:.2f} s, "
            f"{r.runs * 1000 / r.seconds / 1000:,.0f} runs/s, "
            f"{r.commits:,} commits ({r.events_in_window / max(1, r.commits):.1f} events/commit), "
            f"commit time {r.commit_seconds:.2f} s ({busy:.0f}% of wall), "
            f"process cpu {r.cpu_seconds:.2f} s ({r.cpu_seconds / r.seconds * 100:.0f}% of wall), "
            f"{r.events_per_run:.1f} events/run in the database"
        )
    print(
        f"  events per task beyond the first: {ev_task:.1f}  ("
        + ", ".join(
            f"{k} {(b.kinds[k] - a.kinds[k]) / (n * (t - 1)):.1f}"
            for k in sorted(b.kinds, key=lambda k: -(b.kinds[k] - a.kinds[k]))
            if b.kinds[k] != a.kinds[k]
        )
        + ")"
    )
    print(
        f"  events per single-task run: {ev_run:.1f}  ("
        + ", ".join(f"{k} {v / n:.1f}" for k, v in a.kinds.most_common())
        + ")"
    )


if __name__ == "__main__":
    main()
