"""API event-stream benchmark (run by hand; not part of the test suite).

    .venv/bin/python bench/api_stream.py [--clients 20] [--seconds 4] [--rounds 3]
                                         [--producers 32] [--batch 100]
                                         [--durability full|fast] [--client-nice idle]
                                         [--load output|runs] [--in-process-api]

One process runs the runtime on a fresh temporary database, and the HTTP API as `runtui serve`
does: a real uvicorn on 127.0.0.1 in an API process of its own, which serves event streams
from the database file (`--in-process-api`: in the runtime's process instead).

The load, S seconds per phase, three phases per round (`--load`):
- output (default): producers append `attempt.output` events through the store writer at
  full speed (K tasks calling `append_many` with batches of B events, spread over 32 runs).
  K defaults to 32 so that the writer always has a request queued. This is flat out: the
  machine's two cores are saturated, and clients cannot keep up.
- runs: 1-task no-op runs through the whole runtime (kernel, governance, dispatcher, writer),
  `--in-flight` at a time: the runtime ingesting, as the issue puts it.

(a) with no client attached;
(b) with C server-sent-event clients on `/api/events/stream`. The clients are httpx streams in
    a third process that takes only CPU nothing else wants (SCHED_IDLE): they stand for
    operators on other machines (`--client-nice N` gives them niceness N instead, 0 to let
    them compete for the CPU);
(c) with no client, but a pure-Python CPU burner at the API process's niceness: what any busy
    process beside the runtime costs it on this machine (2 shared cores), the floor under (b).

Reported: the writer's throughput (events committed per second while the load runs) in (a),
(b) and (c), the ratios b/a (target >= 0.90) and c/a; per client, the events delivered per
second (from its first event to the last one the producer wrote) and whether it got every event
exactly once; commit→client latency: the client's receive time minus the event's `ts` (the
same machine clock; `ts` is stamped when the producer creates the event, so this includes the
writer's queue and the commit), sampled up to 8 events per received chunk, p50/p95/max over
all clients; and how long after the producer stopped the slowest client had everything.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio.abc import Process

from runtui.actors.runtime import Runtime
from runtui.config import load_settings
from runtui.domain.events import AttemptOutput, PendingEvent, RunCreated, RunStatusChanged
from runtui.domain.feed import Lagged
from runtui.embedded import EmbeddedRuntime
from runtui.server.api_process import api_process
from runtui.server.serve import http_api
from runtui.workflows import parse_workflow

TOKEN = "bench-token"
RUNS = 32
TS = re.compile(rb'"ts":([0-9.]+),')
LINES = [
    f"2024-05-01T12:00:00.{n % 1000:03d}Z worker-{n % 16:02d} item {n:07d} ok" for n in range(1000)
]


# --- the server side ------------------------------------------------------------------------


@dataclass
class Phase:
    events: int
    seconds: float
    cpu_s: float  # this process's CPU time (all threads) while the producer ran

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def produce(rt: Runtime, seconds: float, producers: int, batch: int) -> Phase:
    """Append as fast as the writer takes them for `seconds`; events committed per second."""
    writer = rt.store.writer
    runs = [f"bench-run-{i:02d}" for i in range(RUNS)]
    deadline = time.perf_counter() + seconds

    async def producer(p: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            now = time.time()
            run_id = runs[(p + n) % RUNS]
            await writer.append_many(
                [
                    PendingEvent(
                        run_id,
                        AttemptOutput(task_id="t0", attempt=0, lines=[LINES[(n + j) % 1000]]),
                        now,
                        0,
                    )
                    for j in range(batch)
                ]
            )
            n += batch

    before = writer.events_committed
    started = time.perf_counter()
    cpu = time.process_time()
    async with anyio.create_task_group() as tg:
        for p in range(producers):
            tg.start_soon(producer, p)
    return Phase(
        writer.events_committed - before,
        time.perf_counter() - started,
        time.process_time() - cpu,
    )


NOOP_RUN = """
name = "bench-noop"
[[tasks]]
id = "a"
kind = "noop"
"""


async def run_noop_runs(rt: Runtime, seconds: float, in_flight: int) -> Phase:
    """Submit 1-task no-op runs for `seconds`, `in_flight` at a time; events committed per
    second while submitting. Waits for the runs still going before it returns."""
    workflow = parse_workflow(NOOP_RUN, source="bench")
    writer = rt.store.writer
    room = anyio.Semaphore(in_flight)
    live: set[str] = set()
    ended: set[str] = set()
    sub = rt.subscribe(max_batches=1 << 16)

    async def reap() -> None:
        async for delivery in sub:
            if isinstance(delivery, Lagged):
                raise RuntimeError("the benchmark's own subscription lagged")
            for e in delivery:
                if isinstance(e.body, RunStatusChanged) and e.body.status.is_terminal:
                    if e.run_id in live:
                        live.discard(e.run_id)
                        room.release()
                    else:
                        ended.add(e.run_id)

    before = writer.events_committed
    started = time.perf_counter()
    cpu = time.process_time()
    deadline = started + seconds
    async with anyio.create_task_group() as tg:
        tg.start_soon(reap)

        async def submitter() -> None:
            while time.perf_counter() < deadline:
                await room.acquire()
                run_id = await rt.submit(workflow, force=True)
                if run_id in ended:
                    ended.discard(run_id)
                    room.release()
                else:
                    live.add(run_id)

        async with anyio.create_task_group() as submitters:
            for _ in range(4):
                submitters.start_soon(submitter)
        phase = Phase(
            writer.events_committed - before,
            time.perf_counter() - started,
            time.process_time() - cpu,
        )
        with anyio.fail_after(60):
            await rt.wait_idle()
        sub.close()
        tg.cancel_scope.cancel()
    return phase


async def load(rt: Runtime, args: argparse.Namespace) -> Phase:
    if args.load == "runs":
        return await run_noop_runs(rt, args.seconds, args.in_flight)
    return await produce(rt, args.seconds, args.producers, args.batch)


@dataclass
class Round:
    without: Phase
    with_clients: Phase
    with_burner: Phase
    clients: list[dict[str, Any]]
    expected: int
    last: int
    catch_up_s: float
    client_cpu_s: float
    api_cpu_s: float | None  # the API process's CPU time during (b), when it has one


def cpu_of(pid: int | None) -> float:
    """CPU time (user + system, all threads) process `pid` has used so far, in seconds."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def read_line(proc: Process, buffer: bytearray, limit_s: float) -> str:
    assert proc.stdout is not None
    with anyio.fail_after(limit_s):
        while b"\n" not in buffer:
            buffer += await proc.stdout.receive()
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


async def stream_clients(http: httpx.AsyncClient) -> int:
    """The server's count of connected stream clients (from /metrics: either API shape)."""
    text = (await http.get("/metrics")).text
    match = re.search(r"^runtui_stream_clients (\d+)$", text, re.MULTILINE)
    assert match is not None, text
    return int(match.group(1))


async def one_round(rt: Runtime, url: str, api_pid: int | None, args: argparse.Namespace) -> Round:
    without = await load(rt, args)
    command = [sys.executable, __file__, "--client", url, "--clients", str(args.clients)]
    command += ["--client-nice", "idle" if args.client_nice < 0 else str(args.client_nice)]
    async with await anyio.open_process(command, stderr=None) as proc:
        out = bytearray()
        assert await read_line(proc, out, 30) == "ready"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as http:
            with anyio.fail_after(10):  # the server has counted them all in
                while await stream_clients(http) < args.clients:  # noqa: ASYNC110 - no push
                    await anyio.sleep(0.01)
        first = rt.bus.last_position
        api_cpu = cpu_of(api_pid)
        with_clients = await load(rt, args)
        api_cpu = cpu_of(api_pid) - api_cpu
        last = rt.bus.last_position
        stopped = time.time()
        assert proc.stdin is not None
        await proc.stdin.send(f"{first} {last} {stopped}\n".encode())
        report = json.loads(await read_line(proc, out, 120))
        await proc.wait()
    for c in report["clients"]:  # every event from its first on, once, none before the load
        c["exact"] = c["events"] == c["last_id"] - c["first_id"] + 1 and c["first_id"] <= first + 1
    burner = [sys.executable, "-c", f"import os\nos.nice({rt.settings.api_nice})\nwhile True: pass"]
    async with await anyio.open_process(burner) as burning:
        with_burner = await load(rt, args)
        burning.kill()
    return Round(
        without,
        with_clients,
        with_burner,
        report["clients"],
        last - first,
        last,
        max(c["done_at"] for c in report["clients"]) - stopped,
        report["cpu_s"],
        None if api_pid is None else api_cpu,
    )


async def server_main(args: argparse.Namespace) -> list[Round]:
    rounds = []
    with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
        settings = load_settings({"db": Path(tmp) / "bench.db", "durability": args.durability})
        serving = http_api if args.in_process_api else api_process
        async with (
            Runtime.open(settings) as rt,
            serving(EmbeddedRuntime(rt), port=0, token=TOKEN) as api,
        ):
            await rt.store.writer.append_many(
                [
                    PendingEvent(f"bench-run-{i:02d}", RunCreated(workflow="bench"), time.time())
                    for i in range(RUNS)
                ]
            )
            for i in range(args.rounds):
                r = await one_round(rt, api.url, getattr(api, "pid", None), args)
                print(
                    f"  round {i + 1}/{args.rounds}: writer {r.without.rate:,.0f} events/s"
                    f" alone, {r.with_clients.rate:,.0f} with {args.clients} clients",
                    flush=True,
                )
                rounds.append(r)
    return rounds


# --- the clients (a second process) -------------------------------------------------------------


@dataclass
class Client:
    events: int = 0
    first_id: int = 0
    last_id: int = 0
    first_at: float = 0.0
    done_at: float = 0.0
    latencies: list[float] = field(default_factory=list)


async def client_main(url: str, count: int) -> None:
    # Reads of up to 1 MiB instead of httpcore's 64 KiB: the clients stand for machines
    # elsewhere, so the fewer wake-ups they cost this one, the truer the server's figures.
    import httpcore._async.http11 as http11

    http11.AsyncHTTP11Connection.READ_NUM_BYTES = 1 << 20
    clients = [Client() for _ in range(count)]
    connected = 0
    all_connected = anyio.Event()
    target: list[float] = []  # first position, last position, when the producer stopped
    target_known = anyio.Event()
    done = [anyio.Event() for _ in range(count)]

    async def follow(http: httpx.AsyncClient, c: Client, finished: anyio.Event) -> None:
        nonlocal connected
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with http.stream("GET", f"{url}/api/events/stream", headers=headers) as r:
            assert r.status_code == 200
            tail = b""
            async for chunk in r.aiter_raw():
                now = time.time()
                if not all_connected.is_set() and chunk.startswith(b"retry:"):
                    connected += 1
                    if connected == count:
                        all_connected.set()
                data = tail + chunk
                n = data.count(b"\nid: ") + (not tail and data.startswith(b"id: "))
                if n:
                    if not c.events:
                        c.first_at = now
                        at = data.find(b"id: ")
                        c.first_id = int(data[at + 4 : data.find(b"\n", at)])
                    c.events += n
                    # up to 8 samples, spread over the chunk (searching all of it for every
                    # `ts` would cost the clients more than the server spends sending it)
                    step = max(1, len(chunk) // 8)
                    for at in range(0, len(chunk), step):
                        if (found := TS.search(chunk, at)) is not None:
                            c.latencies.append(now - float(found.group(1)))
                    at = data.rfind(b"id: ")
                    end = data.find(b"\n", at)
                    if end > 0:
                        c.last_id = int(data[at + 4 : end])
                tail = data[-4:]
                if target_known.is_set() and c.last_id >= target[1]:
                    c.done_at = now
                    finished.set()
                    return

    async def read_target() -> None:
        line = await anyio.to_thread.run_sync(sys.stdin.readline)
        target.extend(float(x) for x in line.split())
        target_known.set()
        for c, finished in zip(clients, done, strict=True):
            if c.last_id >= target[1] and not finished.is_set():  # had it all already
                c.done_at = time.time()
                finished.set()

    limits = httpx.Limits(max_connections=count + 4)
    async with (
        httpx.AsyncClient(timeout=None, limits=limits) as http,
        anyio.create_task_group() as tg,
    ):
        for c, finished in zip(clients, done, strict=True):
            tg.start_soon(follow, http, c, finished)
        await all_connected.wait()
        print("ready", flush=True)
        await read_target()
        with anyio.move_on_after(120):
            for finished in done:
                await finished.wait()
        tg.cancel_scope.cancel()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "clients": [
            {
                "events": c.events,
                "first_id": c.first_id,
                "last_id": c.last_id,
                "first_at": c.first_at,
                "done_at": c.done_at or time.time(),
                "latencies": c.latencies,
            }
            for c in clients
        ],
    }
    print(json.dumps(report), flush=True)


# --- the report ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def report(rounds: list[Round], args: argparse.Namespace) -> None:
    a = statistics.mean(r.without.rate for r in rounds)
    b = statistics.mean(r.with_clients.rate for r in rounds)
    print()
    head = "".join(f"{'round ' + str(i + 1):>14}" for i in range(len(rounds)))
    print(f"{'writer throughput (events/s)':<40}{head}{'mean':>14}")
    print(
        f"{'(a) no client':<40}"
        + "".join(f"{r.without.rate:>14,.0f}" for r in rounds)
        + f"{a:>14,.0f}"
    )
    print(
        f"{f'(b) {args.clients} SSE clients':<40}"
        + "".join(f"{r.with_clients.rate:>14,.0f}" for r in rounds)
        + f"{b:>14,.0f}"
    )
    c = statistics.mean(r.with_burner.rate for r in rounds)
    print(
        f"{'(c) a CPU burner, nice ' + str(args.api_nice):<40}"
        + "".join(f"{r.with_burner.rate:>14,.0f}" for r in rounds)
        + f"{c:>14,.0f}"
    )
    print(
        f"{'ratio b/a (target >= 0.90)':<40}"
        + "".join(f"{r.with_clients.rate / r.without.rate:>14.2f}" for r in rounds)
        + f"{b / a:>14.2f}"
    )
    print(
        f"{'ratio c/a (the floor under b/a)':<40}"
        + "".join(f"{r.with_burner.rate / r.without.rate:>14.2f}" for r in rounds)
        + f"{c / a:>14.2f}"
    )
    ratios = [r.with_clients.rate / r.without.rate for r in rounds]
    print(f"{'ratio b/a: median of the rounds':<40}{statistics.median(ratios):>14.2f}")
    print(
        f"{'server process CPU, cores used: (a)':<40}"
        + "".join(f"{r.without.cpu_s / r.without.seconds:>14.2f}" for r in rounds)
    )
    print(
        f"{'server process CPU, cores used: (b)':<40}"
        + "".join(f"{r.with_clients.cpu_s / r.with_clients.seconds:>14.2f}" for r in rounds)
    )
    if all(r.api_cpu_s is not None for r in rounds):
        print(
            f"{'API process CPU, cores used: (b)':<40}"
            + "".join(f"{(r.api_cpu_s or 0) / r.with_clients.seconds:>14.2f}" for r in rounds)
        )
    print()
    print(f"{'delivery, per client':<40}" + head)
    rows: dict[str, list[str]] = {
        "events expected (the producer's)": [],
        "clients with every event, once": [],
        "delivered events/s: min": [],
        "delivered events/s: median": [],
        "delivered events/s: max": [],
        "latency commit→client p50 (ms)": [],
        "latency commit→client p95 (ms)": [],
        "latency commit→client max (ms)": [],
        "slowest client done after stop (ms)": [],
        "client process CPU (s)": [],
    }
    for r in rounds:
        rates = [c["events"] / max(1e-9, c["done_at"] - c["first_at"]) for c in r.clients]
        lat = [x * 1e3 for c in r.clients for x in c["latencies"]]
        exact = sum(c["exact"] and c["last_id"] >= r.last for c in r.clients)
        rows["events expected (the producer's)"].append(f"{r.expected:,}")
        rows["clients with every event, once"].append(f"{exact}/{len(r.clients)}")
        rows["delivered events/s: min"].append(f"{min(rates):,.0f}")
        rows["delivered events/s: median"].append(f"{statistics.median(rates):,.0f}")
        rows["delivered events/s: max"].append(f"{max(rates):,.0f}")
        rows["latency commit→client p50 (ms)"].append(f"{pct(lat, 0.50):.1f}")
        rows["latency commit→client p95 (ms)"].append(f"{pct(lat, 0.95):.1f}")
        rows["latency commit→client max (ms)"].append(f"{max(lat):.1f}")
        rows["slowest client done after stop (ms)"].append(f"{r.catch_up_s * 1e3:.0f}")
        rows["client process CPU (s)"].append(f"{r.client_cpu_s:.1f}")
    for label, values in rows.items():
        print(f"  {label:<38}" + "".join(f"{v:>14}" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description="runtui API event-stream benchmark")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--producers", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="events per append_many call")
    parser.add_argument("--durability", choices=["full", "fast"], default="full")
    parser.add_argument(
        "--load",
        choices=["output", "runs"],
        default="output",
        help="output: producers append attempt.output events through the writer at full"
        " speed; runs: 1-task no-op runs through the whole runtime, --in-flight at a time",
    )
    parser.add_argument("--in-flight", type=int, default=64, help="--load runs: runs at once")
    parser.add_argument(
        "--client-nice",
        type=lambda v: -1 if v == "idle" else int(v),
        default=-1,
        help="niceness of the client process (default idle, SCHED_IDLE: the clients stand for"
        " machines elsewhere and take only CPU nothing else wants; 0 to let them compete)",
    )
    parser.add_argument(
        "--in-process-api",
        action="store_true",
        help="serve the API from the runtime's process (`runtui serve --in-process-api`),"
        " not from the API process `runtui serve` starts by default",
    )
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        if args.client_nice < 0:  # only the CPU nothing else wants: machines elsewhere
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.nice(args.client_nice)
        anyio.run(client_main, args.client, args.clients)
        return
    what = (
        f"{args.producers} producers x {args.batch} attempt.output events"
        if args.load == "output"
        else f"1-task no-op runs, {args.in_flight} at a time,"
    )
    print(
        f"runtui API stream: {args.clients} SSE clients on /api/events/stream, {what} for"
        f" {args.seconds:g}s per phase, {args.rounds} round(s), durability={args.durability},"
        f" client process {'idle' if args.client_nice < 0 else f'nice {args.client_nice}'};"
        f" API {'in the runtime process' if args.in_process_api else 'in its own process'};"
        f" {os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        flush=True,
    )
    args.api_nice = load_settings({}).api_nice
    rounds = anyio.run(server_main, args)
    report(rounds, args)


if __name__ == "__main__":
    main()
