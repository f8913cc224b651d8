"""The API in a process of its own: its stream source (a tail of the database file), its
restart when it dies, and its end when the runtime's process is killed.

(Every endpoint, the streams, security and idempotency are tested in both shapes through the
parametrized `api` fixture; these are the parts only this shape has.)
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from runtui.actors.bus import Lagged, Subscription
from runtui.actors.runtime import Runtime
from runtui.actors.tail import StoreTail
from runtui.domain.events import AttemptOutput, EventEnvelope, PendingEvent, RunCreated
from runtui.domain.workflow import Workflow
from runtui.store.queries import StoreReader
from runtui.store.watch import CommitWatch
from runtui.workflows import parse_workflow
from tests.actors.conftest import settings_for
from tests.server.conftest import AUTH, NOOP, TOKEN, serving_apart
from tests.server.test_sigterm import Server, wait_for
from tests.server.test_streams import Sse, ended

pytestmark = pytest.mark.anyio


# --- the tail ----------------------------------------------------------------------------------


@asynccontextmanager
async def tailing(db: Path) -> AsyncIterator[tuple[Runtime, StoreTail]]:
    """A runtime writing `db`, and a tail of the same file running beside it."""
    async with Runtime.open(settings_for(db)) as rt:
        reader = await StoreReader.open(db)
        tail = StoreTail(reader, CommitWatch(db))
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(tail.run)
                yield rt, tail
                tg.cancel_scope.cancel()
        finally:
            tail.close()
            await reader.close()


async def append(rt: Runtime, n: int, run_id: str = "r1") -> list[EventEnvelope]:
    body = AttemptOutput(task_id="t", attempt=0, lines=["x"])
    return await rt.store.writer.append_many(
        [PendingEvent(run_id, body, time.time()) for _ in range(n)]
    )


async def received(sub: Subscription, count: int) -> list[EventEnvelope]:
    """The next `count` events the subscription gets (no Lagged expected)."""
    got: list[EventEnvelope] = []
    with anyio.fail_after(10):
        while len(got) < count:
            delivery = await sub.receive()
            assert not isinstance(delivery, Lagged)
            got += delivery
    return got


async def test_the_tail_publishes_what_is_committed_after_a_subscription(db_path: Path) -> None:
    async with tailing(db_path) as (rt, tail):
        await rt.store.writer.append_many([PendingEvent("r1", RunCreated(workflow="w"), 0.0)])
        before = await append(rt, 5)  # nobody listens: the tail does not read these
        assert tail.last_position == before[-1].position  # "now", though it was idle
        sub = tail.subscribe()
        after = await append(rt, 3)
        got = await received(sub, 3)
        assert [e.position for e in got] == [e.position for e in after]
        sub.close()
        await append(rt, 4)  # idle again
        again = tail.subscribe()
        later = await append(rt, 2_500)  # more than a page: several reads, in order
        got = await received(again, 2_500)
        assert [e.position for e in got] == [e.position for e in later]
        assert [e.seq for e in got] == [e.seq for e in later]


async def test_a_slow_subscriber_of_the_tail_is_told_it_lagged(db_path: Path) -> None:
    async with tailing(db_path) as (rt, tail):
        await rt.store.writer.append_many([PendingEvent("r1", RunCreated(workflow="w"), 0.0)])
        slow = tail.subscribe(max_batches=1)  # room for one batch; it reads only at the end
        witness = tail.subscribe()  # tells when the tail has published everything
        start = tail.last_position
        for _ in range(3):
            await append(rt, 1_200)
        await received(witness, 3_600)
        deliveries = [await slow.receive(), await slow.receive()]
        assert not isinstance(deliveries[0], Lagged)  # the one batch it had room for
        assert deliveries[0][0].position == start + 1
        lagged = deliveries[1]
        assert isinstance(lagged, Lagged)  # then: re-read from the store after this point
        assert lagged.after_position == deliveries[0][-1].position


async def test_a_run_stream_from_the_tail_has_only_that_run(db_path: Path) -> None:
    async with tailing(db_path) as (rt, tail):
        await rt.store.writer.append_many(
            [PendingEvent(r, RunCreated(workflow="w"), 0.0) for r in ("r1", "r2")]
        )
        sub = tail.subscribe(run_id="r2")
        await append(rt, 3, "r1")
        mine = await append(rt, 2, "r2")
        got = await received(sub, 2)
        assert [(e.run_id, e.seq) for e in got] == [(e.run_id, e.seq) for e in mine]


# --- the process -------------------------------------------------------------------------------


async def test_a_killed_api_process_is_replaced_and_streams_resume(db_path: Path) -> None:
    async with (
        serving_apart(db_path) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        r = await client.post("/api/runs", json={"toml": NOOP})
        assert r.status_code == 201, r.text
        first_run = r.json()["run_id"]
        await rt.wait(first_run)
        async with client.stream("GET", "/api/events/stream", params={"after": 0}) as response:
            frames = await Sse(response).until(ended(first_run))
        last_id = frames[-1]["id"]

        old = server.pid
        os.kill(old, signal.SIGKILL)
        with anyio.fail_after(30):
            await server.wait_restarts(1)
        assert server.pid != old

        # while it was down, the runtime went on; the stream resumes after the last id seen
        second_run = await rt.submit(rt_workflow(), force=True)
        await rt.wait(second_run)
        headers = {"Last-Event-ID": last_id}
        async with client.stream("GET", "/api/events/stream", headers=headers) as response:
            assert response.status_code == 200
            frames = await Sse(response).until(ended(second_run))
        ids = [int(f["id"]) for f in frames]
        assert ids == list(range(int(last_id) + 1, ids[-1] + 1))  # no gap, no duplicate
        assert {f["data"]["run_id"] for f in frames} == {second_run}
        r = await client.get(f"/api/runs/{second_run}")
        assert r.json()["status"] == "succeeded"


def rt_workflow() -> Workflow:
    return parse_workflow(NOOP, source="test")


def first_api_pid(server: Server) -> int:
    """The API process's pid, from the line `serve` logs when the API is up (read already)."""
    match = re.search(r"API process pid (\d+)", "".join(server.stderr))
    assert match is not None, server.stderr
    return int(match.group(1))


def exited(pid: int, timeout: float) -> bool:
    """Whether process `pid` (not our child) ends within `timeout` s (a pidfd: no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def test_killing_serve_ends_its_api_process_and_frees_the_port(db_path: Path) -> None:
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN}
    server = Server(db_path, env)
    try:
        api_pid = first_api_pid(server)
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        server.proc.kill()  # SIGKILL: no chance to tell the API process anything
        server.proc.wait(timeout=10)
        assert exited(api_pid, 10), "the API process outlived serve"
        port = int(server.url.rsplit(":", 1)[1])
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))  # free again: a restarted serve can listen there
        finally:
            probe.close()
    finally:
        server.close()


def test_serve_restarts_its_api_process_and_logs_it(db_path: Path) -> None:
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN}
    server = Server(db_path, env)
    try:
        api_pid = first_api_pid(server)
        os.kill(api_pid, signal.SIGKILL)
        server.wait_line(r"the API process exited .*starting another")
        response = wait_for(
            lambda: _healthz(server.url), "the API to answer again after its restart"
        )
        assert response.status_code == 200
    finally:
        server.close()


def _healthz(url: str) -> httpx.Response | None:
    try:
        return httpx.get(f"{url}/healthz", timeout=5)
    except httpx.TransportError:
        return None


def test_serve_in_process_api_starts_no_api_process(db_path: Path) -> None:
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN}
    server = Server(db_path, env, "--in-process-api")
    try:
        served = server.wait_line(r"drives runs of ")  # the line after "API on ..."
        assert served is not None
        assert "API process pid" not in "".join(server.stderr)
        r = httpx.get(f"{server.url}/api/runs", headers=AUTH, timeout=10)
        assert r.status_code == 200, r.text
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text()
        assert children.split() == []  # nothing runs beside it
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
    finally:
        server.close()
