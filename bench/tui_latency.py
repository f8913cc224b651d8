"""Terminal UI latency benchmark (run by hand; not part of the test suite).

    .venv/bin/python bench/tui_latency.py [--events N] [--rate R] [--presses P]
                                          [--seconds S] [--durability fast|full]
                                          [--tasks T] [--only all|timeline|diff|graph]

The real `RuntuiApp` runs headless (`app.run_test(size=(120, 40))`) over the real runtime on a
temporary database, in one event loop with it, as `runtui` does. Headless, Textual still lays
out and renders every frame; only the final write to a terminal is skipped. A "paint" below is
one call of `App._display`, which receives each rendered frame (a compositor update).

(a) Open a run with N (100k) events: the database is written first with the store (a
    `run.created`, the phases, N `attempt.output` events in batches, the end of the run). Then,
    in a fresh process (so that its memory is the app's alone), the app starts on the runs
    screen and `app.open_run(id)` is called. Time to first paint = from that call until the
    first paint in which the event log has rendered the run's last event line (the log opens
    on the tail). Memory: VmRSS of the process right after that paint, and its peak
    (ru_maxrss).

(b) Keypress → repaint on the run screen of a live run (a run waiting at a gate, whose task
    "stream" gets the output), with the log focused. A key event is put in the app's queue
    exactly as Pilot does (`driver.send_message(events.Key)`), then the benchmark waits for
    the first paint after the key's effect is in place: `f` → follow is off; `home` → the log
    is at its top; `end` → following again, at the bottom. Keys cycle f, home, end, ...; P
    presses, 30 ms apart; the run has 2,000 lines of output first, so that home and end
    scroll. Measured twice: with the runtime idle, and while a background task
    appends `attempt.output` events to that run through the store writer at R (10k) events/s
    (batches of 100 every 10 ms, each `append_many` awaited, so it is the committed rate), with
    the log following them.

(c) Writer throughput with the UI attached: the events/s the paced ingest of (b) achieved while
    the app showed the run (and took the key presses), against the same ingest for S seconds
    with no app at all (measured before and after, averaged). Also, for information: the same
    comparison with the ingest flat out (4 producers appending as fast as the writer commits).

(d) The timeline of a run of T (1,000) tasks: a live run in 10 waves, every task with an
    attempt (every 20th failed once and was retried, the last wave still running), its phases
    and a gate approved on the way, written with the store. On its run screen (loaded), `t` is
    put in the app's queue as in (b); time to first paint = until the first paint in which the
    timeline has drawn a task's line from the data it read (the run, its phase changes, tasks,
    attempts and approvals through the port). Measured embedded, and attached: the app on a
    real `HttpClient` to a `runtui serve` API on 127.0.0.1 over the same runtime (one request
    per read, JSON). Each `esc` then `t` again opens a fresh screen that reads everything anew:
    R (5) rounds, median and worst. For information: the 1 s tick of a live run (every bar
    re-placed, the screen repainted) from the tick to its paint.

(e) The diff of two runs of T (1,000) tasks: two finished runs of one workflow, every task with
    an attempt and three lines of output (every 10th task printed another second line, every
    50th failed in the newer run), written with the store. On the newer run's screen (loaded),
    `d` is put in the app's queue as in (b) (the diff of the run against the one before it);
    time to first paint = until the first paint in which the diff has drawn a task's line from
    the data it read (both runs, their tasks, attempts, violations and approvals through the
    port). Measured embedded and attached, R (5) rounds, median and worst. For information:
    until the rows in view also show where their output first differs (read lazily, a page of
    each output per row, at most 4 rows at a time).
(f) The graph of a run of T (1,000) tasks in 10 waves, written with the store, in two shapes:
    "lanes" (each task needs the first of the wave before: a few lanes) and "tree" (each needs
    two of the wave before: too many lanes for the screen, drawn as an indented tree). On its
    run screen (loaded), `v` is put in the app's queue as in (b); time to first paint = until
    the first paint in which the graph has drawn a task's line from what it read (the run and
    its tasks through the port). Embedded and attached, as (d); R (5) rounds, median and worst.

Figures are printed with their targets and ratios against the no-UI baseline measured in the
same run. `--gc tuned` (the default) sets up the garbage collector as `runtui` does for its UI
(`runtui.tui.launch.tune_gc`, for the whole process, baselines included); `--gc default`
keeps Python's settings, for comparison. `--durability full` fsyncs every commit (the default
of runtui); the default here is `fast`, so that the ingest is not bounded by fsync latency.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from textual import events

from runtui.actors.runtime import Runtime
from runtui.client import HttpClient
from runtui.config import Settings, load_settings
from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.events import (
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    PendingEvent,
    PhaseChanged,
    RunCreated,
    RunStatusChanged,
    RunSummaryWritten,
    RunTerminated,
    TaskDeclared,
    TaskStatusChanged,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.embedded import EmbeddedRuntime
from runtui.gc_tuning import tune_gc
from runtui.server.serve import http_api
from runtui.store import open_store
from runtui.tui.app import RuntuiApp
from runtui.tui.screens.diff import DiffScreen
from runtui.tui.screens.graph import GraphScreen
from runtui.tui.screens.run import RunScreen
from runtui.tui.screens.runs import RunsScreen
from runtui.tui.screens.timeline import TimelineScreen
from runtui.tui.widgets.diff_view import DiffView
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.line_list import LineList
from runtui.tui.widgets.timeline_view import TimelineView
from runtui.workflows import parse_workflow

TARGET_OPEN_S = 0.5
TARGET_RSS_MIB = 150.0
TARGET_P95_MS = 100.0
TARGET_THROUGHPUT = 0.90
TARGET_TIMELINE_S = 0.5
TARGET_DIFF_S = 0.5
TARGET_GRAPH_S = 0.5

BUILD_BATCH = 5_000
INGEST_BATCH = 100
FLAT_OUT_PRODUCERS = 4
KEY_GAP_S = 0.03
PREFILL = 2_000
KEY_TIMEOUT_S = 5.0
SIZE = (120, 40)
TIMELINE_ROUNDS = 5
TIMELINE_WAVES = 10
DIFF_ROUNDS = 5

STREAM = """
name = "bench-stream"
[[tasks]]
id = "stream"
kind = "gate"
prompt = "keep streaming?"
"""


def settings_for(db: Path, durability: str) -> Settings:
    return load_settings(
        {"db": db, "durability": durability, "rok_default_run_timeout_ms": 3_600_000}
    )


def vm_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- painting -------------------------------------------------------------------------------


class Paints:
    """Timestamps the first paint (a call of `App._display`) after a condition holds."""

    def __init__(self, app: RuntuiApp) -> None:
        self.condition: Callable[[], bool] | None = None
        self.hit: float | None = None
        self.painted = anyio.Event()
        self.count = 0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            self.count += 1
            if self.condition is not None and self.hit is None and self.condition():
                self.hit = time.perf_counter()
                self.painted.set()

        app._display = display  # type: ignore[method-assign]

    def arm(self, condition: Callable[[], bool]) -> None:
        self.hit = None
        self.painted = anyio.Event()
        self.condition = condition

    async def wait(self, limit_s: float = KEY_TIMEOUT_S) -> float:
        with anyio.fail_after(limit_s):
            await self.painted.wait()
        self.condition = None
        assert self.hit is not None
        return self.hit


async def until(condition: Callable[[], bool], limit_s: float = 30.0) -> None:
    """Poll a condition on the app (bounded): the app has no event for "loaded"."""
    with anyio.fail_after(limit_s):
        while True:
            if condition():
                return
            await anyio.sleep(0.005)


# --- (a) open a 100k-event run ----------------------------------------------------------------


async def build_big_run(db: Path, n_events: int, durability: str) -> tuple[str, int]:
    rid = "0190000000005eedbeef"
    t0 = 1_700_000_000.0
    wf = parse_workflow(STREAM, source="bench.toml")

    def ev(body: Any, ts: float, wave: int | None = None) -> PendingEvent:
        return PendingEvent(rid, body, ts, wave)

    head = [
        ev(RunCreated(workflow="bench-big", workflow_spec=wf.model_dump(mode="json")), t0),
        ev(TaskDeclared(task_id="stream", task_kind=TaskKind.SHELL, wave=0), t0),
        ev(PhaseChanged(from_phase=RunPhase.CREATED, to_phase=RunPhase.AUTHORIZED), t0 + 0.01),
        ev(PhaseChanged(from_phase=RunPhase.AUTHORIZED, to_phase=RunPhase.EXECUTING), t0 + 0.02),
        ev(RunStatusChanged(status=RunStatus.RUNNING), t0 + 0.02),
        ev(TaskStatusChanged(task_id="stream", status=TaskStatus.RUNNING), t0 + 0.03, 0),
        ev(AttemptStarted(task_id="stream", attempt=0, idempotency_key=f"{rid}:s:0"), t0 + 0.03),
    ]
    end = t0 + 0.03 + n_events * 0.001
    tail = [
        ev(TaskStatusChanged(task_id="stream", status=TaskStatus.DONE), end, 0),
        ev(PhaseChanged(from_phase=RunPhase.EXECUTING, to_phase=RunPhase.GOVERNANCE_CHECK), end),
        ev(PhaseChanged(from_phase=RunPhase.GOVERNANCE_CHECK, to_phase=RunPhase.FINALIZING), end),
        ev(RunTerminated(reason=RunTerminationReason.COMPLETED), end),
        ev(RunSummaryWritten(started_at=t0, ended_at=end, result=RunResult.SUCCESS), end),
        ev(PhaseChanged(from_phase=RunPhase.FINALIZING, to_phase=RunPhase.COMPLETED), end),
        ev(RunStatusChanged(status=RunStatus.SUCCEEDED), end),
    ]
    async with open_store(db, durability=settings_for(db, durability).durability) as store:
        await store.writer.append_many(head)
        for start in range(0, n_events, BUILD_BATCH):
            batch = [
                ev(
                    AttemptOutput(
                        task_id="stream", attempt=0, lines=[f"line {i}: some output of the task"]
                    ),
                    t0 + 0.03 + i * 0.001,
                    0,
                )
                for i in range(start, min(n_events, start + BUILD_BATCH))
            ]
            await store.writer.append_many(batch)
        envs = await store.writer.append_many(tail)
    return rid, envs[-1].seq


async def open_child(db: Path, rid: str, last_seq: int, durability: str) -> dict[str, float]:
    """(a), in its own process: open the run, time the first paint with its last line."""
    rendered_last = False
    original = EventLog.render_line

    def render_line(log: EventLog, y: int) -> Any:
        nonlocal rendered_last
        strip = original(log, y)
        if (
            log.last_seq == last_seq
            and log.scroll_offset.y + y == len(log.shown_lines) - 1
            and log.shown_lines[-1].seq == last_seq
        ):
            rendered_last = True
        return strip

    EventLog.render_line = render_line  # type: ignore[method-assign,assignment]
    async with Runtime.open(settings_for(db, durability), resume=False) as rt:
        app = RuntuiApp(EmbeddedRuntime(rt), demo_path=None)
        async with app.run_test(size=SIZE):
            await until(lambda: isinstance(app.screen, RunsScreen))
            await anyio.sleep(0.3)  # let the runs screen settle
            rss_before = vm_rss_mib()
            paints = Paints(app)
            paints.arm(lambda: rendered_last)
            started = time.perf_counter()
            app.open_run(rid)
            painted = await paints.wait(limit_s=30.0)
            rss = vm_rss_mib()
            screen = app.screen
            assert isinstance(screen, RunScreen)
            log = screen.query_one("#events", EventLog)
            return {
                "first_paint_s": painted - started,
                "rss_mib": rss,
                "rss_before_mib": rss_before,
                "peak_rss_mib": peak_rss_mib(),
                "loaded_events": float(log.last_seq - log.first_seq + 1),
                "total_events": float(log.total),
            }


# --- (b) and (c): keys while ingesting ----------------------------------------------------------


class Ingest:
    """Appends `attempt.output` events to one run through the store writer."""

    def __init__(self, rt: Runtime, rid: str) -> None:
        self.writer = rt.store.writer
        self.rid = rid
        self.sent = 0
        self.seconds = 0.0
        self.stop = anyio.Event()
        self.n = 0

    def batch(self) -> list[PendingEvent]:
        now = time.time()
        out = []
        for _ in range(INGEST_BATCH):
            self.n += 1
            body = AttemptOutput(task_id="stream", attempt=0, lines=[f"tick {self.n}"])
            out.append(PendingEvent(self.rid, body, now, 0))
        return out

    async def paced(self, rate: float, seconds: float | None = None) -> None:
        interval = INGEST_BATCH / rate
        started = time.perf_counter()
        due = started
        while not self.stop.is_set():
            if seconds is not None and time.perf_counter() - started >= seconds:
                break
            await self.writer.append_many(self.batch())
            self.sent += INGEST_BATCH
            due += interval
            delay = due - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)
        self.seconds = time.perf_counter() - started

    async def flat_out(self, seconds: float) -> None:
        started = time.perf_counter()

        async def producer() -> None:
            while time.perf_counter() - started < seconds:
                await self.writer.append_many(self.batch())
                self.sent += INGEST_BATCH

        async with anyio.create_task_group() as tg:
            for _ in range(FLAT_OUT_PRODUCERS):
                tg.start_soon(producer)
        self.seconds = time.perf_counter() - started

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def press_keys(app: RuntuiApp, log: EventLog, presses: int) -> list[float]:
    """Latency (s) from each key event to the first paint showing its effect."""
    paints = Paints(app)
    driver = app._driver
    assert driver is not None
    plan: list[tuple[str, str | None, Callable[[], bool]]] = [
        ("f", "f", lambda: not log.follow),
        ("home", None, lambda: not log.follow and log.scroll_y == 0),
        ("end", None, lambda: log.follow and log.scroll_y >= log.max_scroll_y - 1),
    ]
    if not log.follow:
        log.follow = True
    out: list[float] = []
    for i in range(presses):
        key, char, effect = plan[i % len(plan)]
        paints.arm(effect)
        started = time.perf_counter()
        driver.send_message(events.Key(key, char))
        out.append(await paints.wait() - started)
        await anyio.sleep(KEY_GAP_S)
    return out


async def open_live_run(rt: Runtime) -> str:
    rid = await rt.submit(parse_workflow(STREAM, source="bench.toml"))
    with anyio.fail_after(30):
        while True:
            if [a for a in await rt.reader.pending_approvals() if a.run_id == rid]:
                return rid
            await anyio.sleep(0.01)


async def ingest_alone(rt: Runtime, rate: float, seconds: float, flat: bool = False) -> float:
    ingest = Ingest(rt, await open_live_run(rt))
    if flat:
        await ingest.flat_out(seconds)
    else:
        await ingest.paced(rate, seconds)
    return ingest.rate


async def keys_and_throughput(
    db: Path, durability: str, rate: float, presses: int, seconds: float
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Runtime.open(settings_for(db, durability)) as rt:
        base_before = await ingest_alone(rt, rate, seconds)
        flat_before = await ingest_alone(rt, rate, seconds, flat=True)
        rid = await open_live_run(rt)
        prefill = Ingest(rt, rid)  # more lines than the log shows, so that home/end scroll
        for _ in range(PREFILL // INGEST_BATCH):
            await prefill.writer.append_many(prefill.batch())
        app = RuntuiApp(EmbeddedRuntime(rt), demo_path=None)
        async with app.run_test(size=SIZE):
            await until(lambda: isinstance(app.screen, RunsScreen))
            app.open_run(rid)
            await until(lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
            screen = app.screen
            assert isinstance(screen, RunScreen)
            log = screen.query_one("#events", EventLog)
            await anyio.sleep(0.3)
            out["idle_ms"] = [s * 1e3 for s in await press_keys(app, log, presses)]

            ingest = Ingest(rt, rid)
            async with anyio.create_task_group() as tg:
                tg.start_soon(ingest.paced, rate)
                await anyio.sleep(0.5)  # the log is following a steady stream
                out["busy_ms"] = [s * 1e3 for s in await press_keys(app, log, presses)]
                ingest.stop.set()
            out["ui_rate"] = ingest.rate
            out["ui_seconds"] = ingest.seconds
            out["ui_events_seen"] = app.events_seen

            flat = Ingest(rt, rid)
            await flat.flat_out(seconds)
            out["ui_flat_rate"] = flat.rate
            await anyio.sleep(0.2)
            out["log_last_seq"] = log.last_seq
        base_after = await ingest_alone(rt, rate, seconds)
        flat_after = await ingest_alone(rt, rate, seconds, flat=True)
    out["base_rates"] = [base_before, base_after]
    out["flat_rates"] = [flat_before, flat_after]
    return out


# --- (d)-(f): a screen opened from a run, embedded and attached ---------------------------------

Measure = Callable[[RuntuiApp, str, int], Awaitable[dict[str, Any]]]


@contextmanager
def painted(widget: Any, counts: Callable[[Any, int], bool]) -> Iterator[dict[str, bool]]:
    """While inside: `drawn["task"]` turns True when `widget` renders a line `counts` says is
    the screen's data (not its loading state); `render_line` is put back on leaving."""
    drawn = {"task": False}
    original = widget.render_line

    def render_line(view: Any, y: int) -> Any:
        strip = original(view, y)
        if counts(view, y):
            drawn["task"] = True
        return strip

    widget.render_line = render_line
    try:
        yield drawn
    finally:
        widget.render_line = original


async def on_run_screen(app: RuntuiApp, rid: str) -> Paints:
    """Open run `rid` from the runs list and let its screen settle; a paint watcher."""
    await until(lambda: isinstance(app.screen, RunsScreen))
    app.open_run(rid)
    await until(lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
    await anyio.sleep(0.5)  # the run screen has settled
    return Paints(app)


async def key_to_paint(
    app: RuntuiApp, paints: Paints, drawn: dict[str, bool], key: str, screen: type[Any]
) -> float:
    """Seconds from `key` on the run screen to the first paint of `screen`'s data."""
    assert app._driver is not None
    drawn["task"] = False
    paints.arm(lambda: isinstance(app.screen, screen) and drawn["task"])
    started = time.perf_counter()
    app._driver.send_message(events.Key(key, key))
    return await paints.wait(limit_s=30.0) - started


async def back_to_the_run(app: RuntuiApp) -> None:
    assert app._driver is not None
    app._driver.send_message(events.Key("escape", None))
    await until(lambda: isinstance(app.screen, RunScreen))
    await anyio.sleep(0.2)


async def both_ways(
    db: Path, durability: str, rids: dict[str, str], measure: Measure, rounds: int
) -> dict[str, Any]:
    """`measure` on each run of `rids`, in an app on the embedded runtime, then in one attached
    to a server on 127.0.0.1 over it; keyed `embedded` / `attached`, after the run's label if
    it has one (`lanes, embedded`)."""
    out: dict[str, Any] = {}
    async with Runtime.open(settings_for(db, durability), resume=False) as rt:
        local = EmbeddedRuntime(rt)
        async with (
            http_api(local, port=0, token="bench") as api,
            HttpClient(api.url, "bench") as remote,
        ):
            for where, port in (("embedded", local), ("attached", remote)):
                for label, rid in rids.items():
                    app = RuntuiApp(port, demo_path=None)
                    async with app.run_test(size=SIZE):
                        key = f"{label}, {where}" if label else where
                        out[key] = await measure(app, rid, rounds)
    return out


# --- (d) the timeline of a 1,000-task run -------------------------------------------------------


async def build_wide_run(db: Path, n_tasks: int, durability: str) -> str:
    """A live run of `n_tasks` tasks in waves, as the runtime commits one: declared, authorized,
    executing; each task run once (every 20th failed once first), a gate approved after wave
    4, the last wave still running."""
    rid = "0190000000005eedc0de"
    t0 = time.time() - 600
    per_wave = max(1, n_tasks // TIMELINE_WAVES)
    events: list[PendingEvent] = []

    def ev(body: Any, at: float, wave: int | None = None) -> None:
        events.append(PendingEvent(rid, body, t0 + at, wave))

    ids = [f"w{i // per_wave}-task-{i:04d}" for i in range(n_tasks)]
    ev(RunCreated(workflow="bench-wide"), 0)
    for i, task_id in enumerate(ids):
        ev(TaskDeclared(task_id=task_id, task_kind=TaskKind.SHELL, wave=i // per_wave), 0)
    ev(PhaseChanged(from_phase=RunPhase.CREATED, to_phase=RunPhase.AUTHORIZED), 0.05)
    ev(PhaseChanged(from_phase=RunPhase.AUTHORIZED, to_phase=RunPhase.EXECUTING), 0.1)
    ev(RunStatusChanged(status=RunStatus.RUNNING), 0.1)
    last_wave = (n_tasks - 1) // per_wave
    for i, task_id in enumerate(ids):
        wave = i // per_wave
        start = 1 + wave * 50 + (i % per_wave) * 0.3
        if wave == 4 and i % per_wave == 0:
            approval = f"{rid}-gate"
            ev(
                ApprovalRequested(
                    approval_id=approval,
                    approval_kind=ApprovalKind.TASK,
                    task_id=task_id,
                    prompt="go on?",
                ),
                start,
                wave,
            )
            start += 20
            ev(ApprovalDecided(approval_id=approval, decision=ApprovalDecision.APPROVE), start)
        tries = 2 if i % 20 == 0 else 1
        for n in range(tries):
            ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.RUNNING), start, wave)
            key = f"{rid}:{task_id}:{n}"
            ev(AttemptStarted(task_id=task_id, attempt=n, idempotency_key=key), start, wave)
            took = 5 + (i * 7) % 30
            if wave == last_wave and n == tries - 1:
                break  # still running
            ok = n == tries - 1
            status = AttemptStatus.COMPLETED if ok else AttemptStatus.FAILED
            ev(
                AttemptStatusChanged(
                    task_id=task_id, attempt=n, status=status, exit_code=0 if ok else 1
                ),
                start + took,
                wave,
            )
            start += took + 1
        else:
            ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.DONE), start, wave)
    events.sort(key=lambda e: e.ts)
    async with open_store(db, durability=settings_for(db, durability).durability) as store:
        for at in range(0, len(events), BUILD_BATCH):
            await store.writer.append_many(events[at : at + BUILD_BATCH])
    return rid


async def time_timeline(app: RuntuiApp, rid: str, rounds: int) -> dict[str, Any]:
    """Open the run, then `t` → first paint of the timeline's data, `rounds` times."""

    def task_line(view: TimelineView, y: int) -> bool:
        return y > 0 and bool(view.lines) and view.scroll_offset.y + y - 1 < len(view.lines)

    with painted(TimelineView, task_line) as drawn:
        paints = await on_run_screen(app, rid)
        opened: list[float] = []
        ticks: list[float] = []
        lanes = 0
        for _ in range(rounds):
            opened.append(await key_to_paint(app, paints, drawn, "t", TimelineScreen))
            screen = app.screen
            assert isinstance(screen, TimelineScreen)
            lanes = len(screen.view.lanes)
            await anyio.sleep(0.3)
            paints.arm(lambda: True)  # a tick of the live run: every bar placed again
            started = time.perf_counter()
            screen._tick()
            ticks.append(await paints.wait() - started)
            await back_to_the_run(app)
    return {"open_s": opened, "tick_s": statistics.median(ticks), "lanes": lanes}


async def measure_timeline(db: Path, n_tasks: int, durability: str) -> dict[str, Any]:
    rid = await build_wide_run(db, n_tasks, durability)
    return await both_ways(db, durability, {"": rid}, time_timeline, TIMELINE_ROUNDS)


def report_timeline(d: dict[str, Any], n_tasks: int) -> None:
    for where in ("embedded", "attached"):
        opened = d[where]["open_s"]
        row(
            f"(d) timeline of {n_tasks:,} tasks, {where}: t → paint p50/max",
            f"{statistics.median(opened) * 1e3:.0f} / {max(opened) * 1e3:.0f} ms",
            f"<= {TARGET_TIMELINE_S * 1e3:.0f} ms",
            max(opened) <= TARGET_TIMELINE_S,
        )
        row(
            f"(d)   {where}: 1 s tick of the live run → paint (p50)",
            f"{d[where]['tick_s'] * 1e3:.0f} ms ({d[where]['lanes']:,} lanes)",
            "(information)",
            None,
        )


# --- (e) the diff of two 1,000-task runs -------------------------------------------------------


async def build_diff_runs(db: Path, n_tasks: int, durability: str) -> str:
    """Two finished runs of one workflow, `n_tasks` tasks in waves, each task run once with
    three lines of output; returns the newer run (its default other run is the older one)."""
    per_wave = max(1, n_tasks // TIMELINE_WAVES)
    ids = [f"w{i // per_wave}-task-{i:04d}" for i in range(n_tasks)]
    events: list[PendingEvent] = []
    newer = ""
    for n, rid in enumerate(("0190000000005eeddf01", "0190000000005eeddf02")):
        t0 = time.time() - 3600 + n * 1200

        def ev(body: Any, at: float, wave: int | None = None) -> None:
            events.append(PendingEvent(rid, body, t0 + at, wave))  # noqa: B023

        ev(RunCreated(workflow="bench-diff"), 0)
        for i, task_id in enumerate(ids):
            ev(TaskDeclared(task_id=task_id, task_kind=TaskKind.SHELL, wave=i // per_wave), 0)
        ev(PhaseChanged(from_phase=RunPhase.CREATED, to_phase=RunPhase.AUTHORIZED), 0.05)
        ev(PhaseChanged(from_phase=RunPhase.AUTHORIZED, to_phase=RunPhase.EXECUTING), 0.1)
        ev(RunStatusChanged(status=RunStatus.RUNNING), 0.1)
        for i, task_id in enumerate(ids):
            wave, start = i // per_wave, 1 + i * 0.5
            ok = not (n == 1 and i % 50 == 0)
            second = f"built {i} files" if n == 0 or i % 10 else f"built {i + 1} files"
            lines = [f"starting {task_id}", second, "done" if ok else "FAILED"]
            key = f"{rid}:{task_id}:0"
            ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.RUNNING), start, wave)
            ev(AttemptStarted(task_id=task_id, attempt=0, idempotency_key=key), start, wave)
            ev(AttemptOutput(task_id=task_id, attempt=0, lines=lines), start + 0.1, wave)
            status = AttemptStatus.COMPLETED if ok else AttemptStatus.FAILED
            ev(
                AttemptStatusChanged(
                    task_id=task_id, attempt=0, status=status, exit_code=0 if ok else 1
                ),
                start + 0.4,
                wave,
            )
            done = TaskStatus.DONE if ok else TaskStatus.FAILED
            ev(TaskStatusChanged(task_id=task_id, status=done), start + 0.4, wave)
        ev(RunStatusChanged(status=RunStatus.SUCCEEDED), 1 + n_tasks * 0.5)
        newer = rid
    async with open_store(db, durability=settings_for(db, durability).durability) as store:
        for at in range(0, len(events), BUILD_BATCH):
            await store.writer.append_many(events[at : at + BUILD_BATCH])
    return newer


async def time_diff(app: RuntuiApp, rid: str, rounds: int) -> dict[str, Any]:
    """Open the run, then `d` → first paint of the diff's rows; then until the rows in view
    show where their output differs; `rounds` times."""

    def task_row(view: DiffView, y: int) -> bool:
        return y > 0 and bool(view.rows) and int(view.scroll_y) + y - 1 < len(view.rows)

    def compared() -> bool:
        screen = app.screen
        return (
            isinstance(screen, DiffScreen)
            and bool(screen.rows)
            and not screen._reading
            and all(
                screen.outputs.get(r.task_id) is not None
                for r in screen.view.in_view()
                if r.output_key is not None
            )
        )

    with painted(DiffView, task_row) as drawn:
        paints = await on_run_screen(app, rid)
        opened: list[float] = []
        outputs: list[float] = []
        rows = 0
        for _ in range(rounds):
            started = time.perf_counter()
            opened.append(await key_to_paint(app, paints, drawn, "d", DiffScreen))
            paints.arm(compared)
            outputs.append(await paints.wait(limit_s=30.0) - started)
            screen = app.screen
            assert isinstance(screen, DiffScreen)
            rows = len(screen.rows)
            await anyio.sleep(0.2)
            await back_to_the_run(app)
    return {"open_s": opened, "outputs_s": statistics.median(outputs), "rows": rows}


async def measure_diff(db: Path, n_tasks: int, durability: str) -> dict[str, Any]:
    rid = await build_diff_runs(db, n_tasks, durability)
    return await both_ways(db, durability, {"": rid}, time_diff, DIFF_ROUNDS)


def report_diff(d: dict[str, Any], n_tasks: int) -> None:
    for where in ("embedded", "attached"):
        opened = d[where]["open_s"]
        row(
            f"(e) diff of two {n_tasks:,}-task runs, {where}: d → paint p50/max",
            f"{statistics.median(opened) * 1e3:.0f} / {max(opened) * 1e3:.0f} ms",
            f"<= {TARGET_DIFF_S * 1e3:.0f} ms",
            max(opened) <= TARGET_DIFF_S,
        )
        row(
            f"(e)   {where}: d → output compared in view (p50)",
            f"{d[where]['outputs_s'] * 1e3:.0f} ms ({d[where]['rows']:,} rows)",
            "(information)",
            None,
        )


# --- (f) the graph of a 1,000-task run ----------------------------------------------------------


async def build_graph_run(db: Path, n_tasks: int, shape: str, durability: str) -> str:
    """A live run of `n_tasks` tasks in 10 waves whose needs make `shape`: "lanes" (each task
    needs the first of the wave before) or "tree" (each needs two of the wave before); the
    first half done, the rest pending."""
    rid = f"0190000000006eed{shape}"
    t0 = time.time() - 600
    per_wave = max(1, n_tasks // TIMELINE_WAVES)
    events = [PendingEvent(rid, RunCreated(workflow=f"bench-graph-{shape}"), t0)]
    ids = [f"w{i // per_wave}-task-{i:04d}" for i in range(n_tasks)]
    for i, task_id in enumerate(ids):
        wave = i // per_wave
        if wave == 0:
            needs = []
        elif shape == "lanes":
            needs = [ids[(wave - 1) * per_wave]]
        else:
            needs = [ids[i - per_wave], ids[min(i - per_wave + 1, wave * per_wave - 1)]]
        events.append(
            PendingEvent(
                rid,
                TaskDeclared(task_id=task_id, task_kind=TaskKind.SHELL, wave=wave, needs=needs),
                t0,
                wave,
            )
        )
    events.append(PendingEvent(rid, RunStatusChanged(status=RunStatus.RUNNING), t0 + 1))
    for i, task_id in enumerate(ids[: n_tasks // 2]):
        done = TaskStatusChanged(task_id=task_id, status=TaskStatus.DONE)
        events.append(PendingEvent(rid, done, t0 + 2 + i * 0.01, i // per_wave))
    async with open_store(db, durability=settings_for(db, durability).durability) as store:
        for at in range(0, len(events), BUILD_BATCH):
            await store.writer.append_many(events[at : at + BUILD_BATCH])
    return rid


async def time_graph(app: RuntuiApp, rid: str, rounds: int) -> dict[str, Any]:
    """Open the run, then `v` → first paint of the graph's lines, `rounds` times."""

    def graph_line(view: LineList, y: int) -> bool:
        return view.id == "graph" and view.count > 1 and view.scroll_offset.y + y < view.count

    with painted(LineList, graph_line) as drawn:
        paints = await on_run_screen(app, rid)
        opened: list[float] = []
        mode = ""
        for _ in range(rounds):
            opened.append(await key_to_paint(app, paints, drawn, "v", GraphScreen))
            screen = app.screen
            assert isinstance(screen, GraphScreen)
            assert screen.graph is not None
            mode = screen.graph.mode.value
            await anyio.sleep(0.3)
            await back_to_the_run(app)
    return {"open_s": opened, "mode": mode}


async def measure_graph(db: Path, n_tasks: int, durability: str) -> dict[str, Any]:
    rids = {
        shape: await build_graph_run(db, n_tasks, shape, durability) for shape in ("lanes", "tree")
    }
    return await both_ways(db, durability, rids, time_graph, TIMELINE_ROUNDS)


def report_graph(e: dict[str, Any], n_tasks: int) -> None:
    for key, figures in e.items():
        opened, where = figures["open_s"], key.split(", ")[1]
        row(
            f"(f) graph, {n_tasks:,} tasks as {figures['mode']}, {where}: v → paint",
            f"{statistics.median(opened) * 1e3:.0f} / {max(opened) * 1e3:.0f} ms",
            f"<= {TARGET_GRAPH_S * 1e3:.0f} ms",
            max(opened) <= TARGET_GRAPH_S,
        )


# --- the report --------------------------------------------------------------------------------


def row(label: str, value: str, target: str, ok: bool | None) -> None:
    mark = "" if ok is None else ("ok" if ok else "MISSED")
    print(f"  {label:<52} {value:>22}  {target:<14} {mark}")


#: `--only NAME`: one section alone, its measurement and its report.
ONLY: dict[
    str, tuple[Callable[[Path, int, str], Awaitable[dict[str, Any]]], Callable[..., None]]
] = {
    "timeline": (measure_timeline, report_timeline),
    "diff": (measure_diff, report_diff),
    "graph": (measure_graph, report_graph),
}


async def main() -> None:
    parser = argparse.ArgumentParser(description="runtui terminal UI latency benchmark")
    parser.add_argument("--events", type=int, default=100_000, help="events in the big run")
    parser.add_argument("--rate", type=float, default=10_000.0, help="ingest events/s")
    parser.add_argument("--presses", type=int, default=90, help="key presses per condition")
    parser.add_argument("--seconds", type=float, default=5.0, help="each no-UI ingest phase")
    parser.add_argument("--durability", choices=["fast", "full"], default="fast")
    parser.add_argument(
        "--gc",
        choices=["tuned", "default"],
        default="tuned",
        help="tuned: as `runtui` runs the UI (runtui.tui.launch.tune_gc); default: Python's",
    )
    parser.add_argument("--tasks", type=int, default=1_000, help="tasks in the timeline's run")
    parser.add_argument(
        "--only",
        choices=sorted(ONLY),
        default=None,
        help="timeline: (d) alone; diff: (e) alone; graph: (f) alone",
    )
    parser.add_argument("--open-child", nargs=3, metavar=("DB", "RUN", "LAST_SEQ"))
    args = parser.parse_args()
    if args.gc == "tuned":
        tune_gc()

    if args.open_child:
        db, rid, last = args.open_child
        result = await open_child(Path(db), rid, int(last), args.durability)
        print(json.dumps(result))
        return

    print(
        f"runtui TUI latency: {SIZE[0]}x{SIZE[1]} headless, durability={args.durability},"
        f" gc={args.gc}"
    )
    if args.only is not None:
        measure, report = ONLY[args.only]
        with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
            figures = await measure(Path(tmp) / f"{args.only}.db", args.tasks, args.durability)
        print()
        print(f"  {'measurement':<52} {'figure':>22}  {'target':<14}")
        report(figures, args.tasks)
        return
    with tempfile.TemporaryDirectory(prefix="runtui-bench-") as tmp:
        big = Path(tmp) / "big.db"
        t = time.perf_counter()
        rid, last_seq = await build_big_run(big, args.events, args.durability)
        print(f"  built a run of {last_seq:,} events in {time.perf_counter() - t:.1f}s")
        child = await anyio.run_process(
            [
                sys.executable,
                __file__,
                "--durability",
                args.durability,
                "--gc",
                args.gc,
                "--open-child",
                str(big),
                rid,
                str(last_seq),
            ],
            check=True,
        )
        a = json.loads(child.stdout.decode().strip().splitlines()[-1])
        print(f"  (a) done: log holds {a['loaded_events']:,.0f} of {a['total_events']:,.0f} events")
        b = await keys_and_throughput(
            Path(tmp) / "live.db", args.durability, args.rate, args.presses, args.seconds
        )
        print(
            f"  (b) done: {len(b['busy_ms'])} presses under ingest over {b['ui_seconds']:.1f}s;"
            f" the app received {b['ui_events_seen']:,} events"
        )
        d = await measure_timeline(Path(tmp) / "wide.db", args.tasks, args.durability)
        e = await measure_diff(Path(tmp) / "diff.db", args.tasks, args.durability)
        f = await measure_graph(Path(tmp) / "graph.db", args.tasks, args.durability)

    base = statistics.mean(b["base_rates"])
    flat_base = statistics.mean(b["flat_rates"])
    idle, busy = b["idle_ms"], b["busy_ms"]
    print()
    print(f"  {'measurement':<52} {'figure':>22}  {'target':<14}")
    row(
        f"(a) open a {last_seq:,}-event run: first paint",
        f"{a['first_paint_s'] * 1e3:.0f} ms",
        f"<= {TARGET_OPEN_S * 1e3:.0f} ms",
        a["first_paint_s"] <= TARGET_OPEN_S,
    )
    row(
        "(a) RSS after that paint (before opening it)",
        f"{a['rss_mib']:.0f} MiB ({a['rss_before_mib']:.0f})",
        f"<= {TARGET_RSS_MIB:.0f} MiB",
        a["rss_mib"] <= TARGET_RSS_MIB,
    )
    row(
        "(a) peak RSS of the process (ru_maxrss)",
        f"{a['peak_rss_mib']:.0f} MiB",
        f"<= {TARGET_RSS_MIB:.0f} MiB",
        a["peak_rss_mib"] <= TARGET_RSS_MIB,
    )
    row(
        "(b) key → repaint, runtime idle: p50 / p95",
        f"{pct(idle, 0.5):.1f} / {pct(idle, 0.95):.1f} ms",
        "(reference)",
        None,
    )
    row(
        f"(b) key → repaint, ingest {args.rate:,.0f} ev/s: p50 / p95",
        f"{pct(busy, 0.5):.1f} / {pct(busy, 0.95):.1f} ms",
        f"p95 <= {TARGET_P95_MS:.0f} ms",
        pct(busy, 0.95) <= TARGET_P95_MS,
    )
    row("(b)   max under ingest", f"{max(busy):.1f} ms", "", None)
    row(
        f"(c) writer, paced {args.rate:,.0f} ev/s, no UI (before/after)",
        f"{b['base_rates'][0]:,.0f} / {b['base_rates'][1]:,.0f} ev/s",
        "(baseline)",
        None,
    )
    ratio = b["ui_rate"] / base
    row(
        "(c) writer, paced, UI attached (+ keys)",
        f"{b['ui_rate']:,.0f} ev/s = {ratio:.3f}",
        f">= {TARGET_THROUGHPUT:.2f} of base",
        ratio >= TARGET_THROUGHPUT,
    )
    row(
        "(c) writer, flat out, no UI (before/after)",
        f"{b['flat_rates'][0]:,.0f} / {b['flat_rates'][1]:,.0f} ev/s",
        "(information)",
        None,
    )
    row(
        "(c) writer, flat out, UI attached",
        f"{b['ui_flat_rate']:,.0f} ev/s = {b['ui_flat_rate'] / flat_base:.3f}",
        "(information)",
        None,
    )
    report_timeline(d, args.tasks)
    report_diff(e, args.tasks)
    report_graph(f, args.tasks)


if __name__ == "__main__":
    anyio.run(main)
