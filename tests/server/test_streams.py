"""Server-sent event streams: committed events in order with their ids, history then live,
resumption with Last-Event-ID across a forced disconnect (no gap, no duplicate), a client
that reads nothing sent back to the store, `event: shutdown`, and a departed client counted
out at once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from runtui.domain.events import AttemptOutput, PendingEvent, RunCreated
from runtui.server.streams import StreamHub, event_stream
from tests.server.conftest import GATE, Api
from tests.server.test_api import assert_problem, parse_prometheus

pytestmark = pytest.mark.anyio

#: A task that keeps printing for about a second and a half (many `attempt.output` events).
PRINTER = """
name = "printer"
[[tasks]]
id = "print"
kind = "shell"
cmd = "for i in $(seq 1 40); do echo line $i; sleep 0.04; done"
[[tasks]]
id = "after"
kind = "noop"
needs = ["print"]
"""
TERMINAL = {"succeeded", "failed", "failed_policy", "cancelled"}


class Sse:
    """Reads server-sent events from a streamed response, one data-carrying frame at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_text()
        self._buffer = ""
        self.ended = False

    async def next(self, limit_s: float = 20) -> dict[str, Any]:
        """The next frame as {id, event, data (decoded)}; fails after `limit_s` seconds."""
        with anyio.fail_after(limit_s):
            while True:
                if "\n\n" in self._buffer:
                    block, self._buffer = self._buffer.split("\n\n", 1)
                    fields: dict[str, str] = {}
                    for line in block.split("\n"):
                        if line and not line.startswith(":"):
                            name, _, value = line.partition(": ")
                            fields[name] = value
                    if "data" in fields:
                        return {**fields, "data": json.loads(fields["data"])}
                    continue
                try:
                    self._buffer += await self._chunks.__anext__()
                except StopAsyncIteration:
                    self.ended = True
                    raise

    async def until(self, done: Any, limit_s: float = 30) -> list[dict[str, Any]]:
        """Frames up to and including the first for which `done(frame)` holds."""
        frames = []
        with anyio.fail_after(limit_s):
            while True:
                frame = await self.next(limit_s)
                frames.append(frame)
                if done(frame):
                    return frames


@asynccontextmanager
async def stream(
    api: Api, path: str, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Sse]:
    async with api.client.stream("GET", path, params=params, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        yield Sse(response)


def ended(run_id: str) -> Any:
    def check(frame: dict[str, Any]) -> bool:
        data = frame["data"]
        return bool(
            data.get("run_id") == run_id
            and data["body"]["kind"] == "run.status"
            and data["body"]["status"] in TERMINAL
        )

    return check


def kind_is(kind: str) -> Any:
    return lambda frame: frame["event"] == kind


async def stored(api: Api, run_id: str) -> list[tuple[int, str, float]]:
    events = await api.runtime.reader.events_after(run_id, 0, limit=100_000)
    return [(e.seq, e.kind, e.ts) for e in events]


def seen(frames: list[dict[str, Any]]) -> list[tuple[int, str, float]]:
    return [(f["data"]["seq"], f["data"]["body"]["kind"], f["data"]["ts"]) for f in frames]


async def test_a_run_stream_sends_its_committed_events_in_order_with_seq_ids(api: Api) -> None:
    run_id = await api.submit(GATE)
    async with stream(api, f"/api/runs/{run_id}/events/stream") as sse:
        frames = await sse.until(kind_is("approval.requested"))
        await api.client.post(f"/api/runs/{run_id}/approve", json={})
        frames += await sse.until(ended(run_id))
    assert [int(f["id"]) for f in frames] == [f["data"]["seq"] for f in frames]
    assert [f["event"] for f in frames] == [f["data"]["body"]["kind"] for f in frames]
    assert seen(frames) == await stored(api, run_id)
    assert [f["data"]["seq"] for f in frames] == list(range(1, len(frames) + 1))


async def test_the_all_runs_stream_starts_now_or_after_a_position(api: Api) -> None:
    earlier = await api.submit(GATE)
    await api.pending(earlier)
    start = api.runtime.bus.last_position
    async with stream(api, "/api/events/stream") as sse:
        first, second = await api.submit(GATE), await api.submit(GATE)
        frames = await sse.until(
            lambda f: f["event"] == "approval.requested" and f["data"]["run_id"] == second
        )
        # (the first run reaches its gate before or after the second: either way, by now)
        await api.pending(first)
        events = await api.runtime.reader.events_since(start, limit=100_000)
        if len(frames) < len(events):
            frames += await sse.until(lambda f: f["data"]["position"] == events[-1].position)
    ids = [int(f["id"]) for f in frames]
    assert ids == [f["data"]["position"] for f in frames]
    assert ids == [e.position for e in events]  # every run's events, in commit order
    assert {f["data"]["run_id"] for f in frames} == {first, second}  # nothing from before

    # `after=0` means from the very beginning (not "now")
    async with stream(api, "/api/events/stream", after=0) as sse:
        everything = await sse.until(lambda f: f["data"]["position"] == ids[-1])
    assert [int(f["id"]) for f in everything] == list(range(1, ids[-1] + 1))
    assert {f["data"]["run_id"] for f in everything} == {earlier, first, second}
    for run_id in (earlier, first, second):
        await api.client.post(f"/api/runs/{run_id}/cancel", json={})
        await api.finish(run_id)


async def wait_for_events(api: Api, run_id: str, count: int, limit_s: float = 20) -> None:
    """Wait (on committed events) until the store holds at least `count` events of the run."""
    sub = api.runtime.subscribe(run_id=run_id)
    try:
        with anyio.fail_after(limit_s):
            while await api.runtime.reader.count_events(run_id) < count:
                await sub.receive()
    finally:
        sub.close()


async def test_last_event_id_resumes_a_run_stream_across_a_forced_disconnect(api: Api) -> None:
    run_id = await api.submit(PRINTER)
    async with stream(api, f"/api/runs/{run_id}/events/stream") as sse:
        before = await sse.until(kind_is("attempt.output"))
        before += [await sse.next()]  # one more, to be mid-stream
    # the connection is gone (the response closed unread); the run goes on printing
    last_id = before[-1]["id"]
    await wait_for_events(api, run_id, int(last_id) + 5)
    assert (await api.client.get(f"/api/runs/{run_id}")).json()["status"] not in TERMINAL
    async with stream(
        api, f"/api/runs/{run_id}/events/stream", headers={"Last-Event-ID": last_id}
    ) as sse:
        after = await sse.until(ended(run_id))
    assert int(after[0]["id"]) == int(last_id) + 1
    union = seen(before) + seen(after)
    assert union == await stored(api, run_id)  # no gap, no duplicate, same order
    outputs = [f for f in before + after if f["event"] == "attempt.output"]
    lines = [line for f in outputs for line in f["data"]["body"]["lines"]]
    assert lines == [f"line {i}" for i in range(1, 41)]


async def test_last_event_id_resumes_the_all_runs_stream(api: Api) -> None:
    start = api.runtime.bus.last_position
    async with stream(api, "/api/events/stream") as sse:
        run_id = await api.submit(PRINTER)
        before = await sse.until(kind_is("attempt.output"))
    last_id = before[-1]["id"]
    await wait_for_events(api, run_id, before[-1]["data"]["seq"] + 5)
    async with stream(api, "/api/events/stream", headers={"Last-Event-ID": last_id}) as sse:
        after = await sse.until(ended(run_id))
    positions = [int(f["id"]) for f in before + after]
    expected = await api.runtime.reader.events_since(start, limit=100_000)
    assert positions == [e.position for e in expected][: len(positions)]
    assert positions == list(range(start + 1, start + 1 + len(positions)))
    assert seen(before + after) == await stored(api, run_id)


async def test_after_gets_the_history_then_the_live_tail(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    history = await stored(api, run_id)
    async with stream(api, f"/api/runs/{run_id}/events/stream", after=5) as sse:
        frames = await sse.until(lambda f: f["data"]["seq"] == history[-1][0])
        assert seen(frames) == history[5:]  # the history, from seq 6
        await api.client.post(f"/api/runs/{run_id}/approve", json={})
        frames += await sse.until(ended(run_id))  # then live
    assert seen(frames) == (await stored(api, run_id))[5:]
    # Last-Event-ID wins over a smaller `after` (a reconnecting EventSource keeps its URL)
    async with stream(
        api, f"/api/runs/{run_id}/events/stream", headers={"Last-Event-ID": "20"}, after=5
    ) as sse:
        assert (await sse.next())["data"]["seq"] == 21


async def test_stream_parameters_are_checked(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    assert_problem(await api.client.get("/api/runs/nope/events/stream"), 404, "nope")
    for path in (f"/api/runs/{run_id}/events/stream", "/api/events/stream"):
        for value in ("abc", "-1", "1.5", str(2**63), "9" * 30):
            r = await api.client.get(path, headers={"Last-Event-ID": value})
            assert_problem(r, 422, "last-event-id")
        assert_problem(await api.client.get(path, params={"after": -1}), 422, "after")
    await api.client.post(f"/api/runs/{run_id}/cancel", json={})
    await api.finish(run_id)


async def test_a_client_that_reads_nothing_is_sent_back_to_the_store_and_misses_nothing(
    api: Api,
) -> None:
    """Commits worth more than a stream holds for its client arrive while the client reads
    nothing: the stream's feed forgets them (what it holds never passes its bound), and the
    stream re-reads them from the store once the client reads again, without a gap."""
    writer = api.runtime.store.writer
    run_id = "lagging-run"
    await writer.append_many([PendingEvent(run_id, RunCreated(workflow="synthetic"), time.time())])
    hub = StreamHub()
    feed = hub.open_feed(api.runtime, run_id=run_id, max_bytes=4096)
    frames = event_stream(
        api.runtime, feed, run_id=run_id, last_id=0, shutdown=anyio.Event(), hub=hub
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(feed.pump)
        assert (await frames.__anext__()).startswith(b"retry: 1000\n")  # subscribed from here
        assert b"run.created" in await frames.__anext__()
        for n in range(700):  # one commit each, about 100 kB of frames in all
            await writer.append(run_id, AttemptOutput(task_id="t", attempt=0, lines=[f"n{n}"]))
            assert feed.held_bytes <= 4096
        assert feed.resyncs > 0  # the feed overflowed: the stream must go back to the store
        text = b""
        with anyio.fail_after(20):
            while text.count(b"\nevent: attempt.output") < 700:
                text += await frames.__anext__()
        await frames.aclose()
        tg.cancel_scope.cancel()
    feed.close()
    assert not hub.subscriptions
    ids = [int(line[4:]) for line in text.split(b"\n") if line.startswith(b"id: ")]
    assert ids == list(range(2, 702))


async def test_shutdown_ends_every_stream_with_a_shutdown_event(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    async with (
        stream(api, f"/api/runs/{run_id}/events/stream") as one,
        stream(api, "/api/events/stream") as every,
    ):
        await one.until(kind_is("approval.requested"))
        api.server.stop_accepting()
        assert (await one.until(kind_is("shutdown")))[-1]["data"] == {}
        assert (await every.until(kind_is("shutdown")))[-1]["data"] == {}
        for sse in (one, every):
            with pytest.raises(StopAsyncIteration):
                await sse.next()  # and the stream ends
            assert sse.ended


async def clients_gauge(api: Api) -> float:
    text = (await api.client.get("/metrics")).text
    return parse_prometheus(text)["runtui_stream_clients"]


async def until_clients(api: Api, n: float) -> None:
    """Poll the gauge, bounded: 5 s, well below the 15 s keepalive that would otherwise be
    the first write to notice a departed client."""
    with anyio.fail_after(5):
        while await clients_gauge(api) != n:  # noqa: ASYNC110 - a gauge: nothing to wait on
            await anyio.sleep(0.02)


async def test_a_client_that_leaves_is_counted_out_at_once(api: Api) -> None:
    async with stream(api, "/api/events/stream"):
        await until_clients(api, 1)
    await until_clients(api, 0)


async def test_a_client_that_leaves_unsubscribes_at_once(local_api: Api) -> None:
    api = local_api
    async with stream(api, "/api/events/stream"):
        await until_clients(api, 1)
        subscribers = api.runtime.bus.subscriber_count
        hub = api.local.streams
        assert hub is not None
        assert len(hub.subscriptions) == 1
    await until_clients(api, 0)
    assert len(hub.subscriptions) == 0
    assert api.runtime.bus.subscriber_count == subscribers - 1
