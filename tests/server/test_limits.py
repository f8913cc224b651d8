"""What one client may cost the server (README, "Limits"): a request head over the limits is
refused with 431 before any app or token check sees it, a body over the limit with 413 before
it is read (or as soon as a chunked one passes it), in both API shapes; and against a real
`runtui serve`, a 300 MB body costs neither process anything like its size, and a stream client
that stops reading leaves the server's memory bounded, is sent back to the store, and misses
nothing, while a client that reads gets every event."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path

import anyio
import h11
import httpx
import pytest

from runtui.server.limits import ApiLimits
from tests.server.conftest import AUTH, NOOP, TOKEN, Api
from tests.server.test_api import assert_problem
from tests.server.test_api_process import first_api_pid
from tests.server.test_sigterm import Server, wait_for


def limits_of(api: Api) -> ApiLimits:
    """The limits the server under test runs with (the settings' defaults)."""
    return ApiLimits.of(api.runtime.settings)


pytestmark = pytest.mark.anyio

MIB = 2**20


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//")[1].rsplit(":", 1)
    return host, int(port)


async def exchange(url: str, data: bytes) -> bytes:
    """Send `data` on a connection of its own, then read until the server closes it: what the
    server answered (b"" if it reset the connection instead)."""
    async with await anyio.connect_tcp(*host_port(url)) as conn:
        answer = b""
        with anyio.fail_after(20):
            try:
                await conn.send(data)
                while True:
                    answer += await conn.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass
    return answer


def head(path: str = "/api/runs", *lines: bytes, method: bytes = b"GET") -> bytes:
    return b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s" % (
        method,
        path.encode(),
        b"".join(line + b"\r\n" for line in lines),
    )


def refused_with(answer: bytes, status: int) -> bool:
    return answer.startswith(b"HTTP/1.1 %d " % status) and b"connection: close" in answer


# --- the head --------------------------------------------------------------------------------


async def test_too_many_headers_get_431_before_the_token_is_checked(api: Api) -> None:
    limits = limits_of(api)
    too_many = [b"X-H%d: v" % i for i in range(limits.max_headers + 1)]
    answer = await exchange(api.url, head("/api/runs", *too_many) + b"\r\n")
    assert refused_with(answer, 431), answer[:300]  # not 401: nothing looked at the token
    assert b"application/problem+json" in answer
    assert b'"status":431' in answer


async def test_a_hundred_thousand_headers_are_cut_off_and_the_server_answers_others(
    api: Api,
) -> None:
    flood = head("/api/runs", *(b"X-H%d: v" % i for i in range(100_000))) + b"\r\n"
    answers = []
    async with anyio.create_task_group() as tg:
        for _ in range(4):

            async def attack() -> None:
                answers.append(await exchange(api.url, flood))

            tg.start_soon(attack)
        for _ in range(4):  # everyone else is still served meanwhile
            assert (await api.client.get("/api/runs")).status_code == 200
    # 431, or (when the rest of the flood was still arriving) the connection reset: either way
    # before any app saw it (that would have said 401: no token)
    assert all(a == b"" or refused_with(a, 431) for a in answers), [a[:100] for a in answers]
    assert (await api.client.get("/api/runs")).status_code == 200


async def test_a_header_that_never_ends_is_cut_off(api: Api) -> None:
    limits = limits_of(api)
    endless = head("/api/runs") + b"X-Long: " + b"a" * (4 * limits.max_header_bytes)
    answer = await exchange(api.url, endless)
    assert answer == b"" or refused_with(answer, 431), answer[:300]
    long_url = head("/api/runs?text=" + "a" * limits.max_header_bytes) + b"\r\n"
    assert refused_with(await exchange(api.url, long_url), 431)


async def test_a_request_within_the_header_limits_is_served_in_both_shapes(api: Api) -> None:
    """As many header lines as allowed (the API process adds its own when it passes a request
    on: the runtime's API behind it leaves room for them)."""
    limits = limits_of(api)
    extra = {f"X-H{i}": "v" * 100 for i in range(limits.max_headers - 10)}
    r = await api.client.get("/api/runs", headers=extra)
    assert r.status_code == 200, r.text


# --- the body --------------------------------------------------------------------------------


async def test_a_body_over_the_limit_by_its_length_gets_413_before_it_is_sent(api: Api) -> None:
    declared = head(
        "/api/runs",
        b"Content-Type: application/json",
        b"Content-Length: 300000000",
        method=b"POST",
    )  # no token, and not a byte of the body: the answer comes anyway
    answer = await exchange(api.url, declared + b"\r\n")
    assert refused_with(answer, 413), answer[:300]
    assert b'"status":413' in answer


def chunked(size: int, piece: int = 64 * 1024) -> bytes:
    """`size` bytes of a chunked body, with no last chunk (the body is not over)."""
    out = bytearray()
    while size > 0:
        n = min(piece, size)
        out += b"%x\r\n" % n + b"x" * n + b"\r\n"
        size -= n
    return bytes(out)


async def test_a_chunked_body_gets_413_once_it_passes_the_limit(api: Api) -> None:
    limits = limits_of(api)
    start = head(
        "/api/runs",
        b"Authorization: Bearer " + TOKEN.encode(),
        b"Content-Type: application/json",
        b"Transfer-Encoding: chunked",
        method=b"POST",
    )
    # one byte more than allowed, and then the sender waits: the server must not
    answer = await exchange(api.url, start + b"\r\n" + chunked(limits.max_body_bytes + 1))
    assert refused_with(answer, 413), answer[:300]
    assert (await api.client.get("/api/runs")).json()["runs"] == []  # nothing was submitted


async def test_bodies_within_the_limit_are_served_chunked_or_not(api: Api) -> None:
    limits = limits_of(api)
    body = b'{"toml": %s}' % httpx.Response(200, json=NOOP).content

    async def pieces() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    r = await api.client.post(
        "/api/runs", content=pieces(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text  # sent chunked (no length)
    # as large as allowed is read whole (and refused for what it says, not for its size)
    toml = '"' + "a" * (limits.max_body_bytes - len(b'{"toml": ""}')) + '"'
    r = await api.client.post(
        "/api/runs",
        content=b'{"toml": %s}' % toml.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 422, "toml")


# --- against a real `runtui serve` -------------------------------------------------------------


def peak_mib(pid: int) -> int:
    """The peak resident memory of process `pid` (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert found is not None
    return int(found.group(1)) // 1024


def push(url: str, start: bytes, body: Iterator[bytes]) -> bytes:
    """Send a request head, then its body for as long as the server takes it; the answer."""
    sock = socket.create_connection(host_port(url), timeout=30)
    answer = b""
    try:
        sock.sendall(start)
        try:
            for piece in body:
                sock.sendall(piece)
        except OSError:
            pass  # the server refused the rest
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
    finally:
        sock.close()
    return answer


@pytest.fixture
def server(db_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    extra = getattr(request, "param", ())
    env = {
        **os.environ,
        "RUNTUI_TOKEN": TOKEN,
        "RUNTUI_API_STREAM_BUFFER_BYTES": "262144",
    }
    started = Server(db_path, env, *extra)
    try:
        yield started
    finally:
        started.close()


def test_a_300_mb_body_costs_neither_process_its_size(server: Server) -> None:
    pids = [server.proc.pid, first_api_pid(server)]
    before = [peak_mib(pid) for pid in pids]
    auth = b"Authorization: Bearer " + TOKEN.encode()
    piece = b"x" * MIB
    for framing in (b"Content-Length: %d" % (300 * MIB), b"Transfer-Encoding: chunked"):
        start = head("/api/runs", auth, b"Content-Type: application/json", framing, method=b"POST")
        if framing.startswith(b"Content-Length"):
            body = (piece for _ in range(300))
        else:
            body = (b"%x\r\n" % len(piece) + piece + b"\r\n" for _ in range(300))
        answer = push(server.url, start + b"\r\n", body)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    after = [peak_mib(pid) for pid in pids]
    print("peak resident MiB (serve, API process), before and after:", before, after)
    for was, now in zip(before, after, strict=True):
        assert now - was < 40, (before, after)  # a copy of the body would be 300 MiB
    assert httpx.get(f"{server.url}/api/runs", headers=AUTH, timeout=10).status_code == 200


LOUD = """
name = "loud"
[[tasks]]
id = "print"
kind = "shell"
cmd = "python3 -c 'import sys\\nfor i in range(200000): print(\\"x\\" * 60, i)'"
"""


class SseSocket:
    """An event-stream client on a plain socket with a small receive buffer: it reads the
    response's head, then nothing until told to."""

    def __init__(self, url: str, target: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(30)
        self.sock.connect(host_port(url))
        self.http = h11.Connection(h11.CLIENT)
        headers = [("Host", "127.0.0.1"), ("Authorization", f"Bearer {TOKEN}")]
        self.sock.sendall(self.http.send(h11.Request(method="GET", target=target, headers=headers)))
        self.ids: list[int] = []  # of the events read so far
        self._partial = b""
        while not isinstance(self._next(), h11.Response):
            pass

    def _next(self) -> h11.Event | type[h11.NEED_DATA]:
        while (event := self.http.next_event()) is h11.NEED_DATA:
            self.http.receive_data(self.sock.recv(65536))
        return event

    def read_more(self) -> None:
        event = self._next()
        assert isinstance(event, h11.Data), event
        *frames, self._partial = (self._partial + bytes(event.data)).split(b"\n\n")
        for frame in frames:
            if m := re.match(rb"id: (\d+)\nevent: ", frame):
                self.ids.append(int(m.group(1)))

    def has(self, last: int) -> bool:
        """Whether the event with id `last` has been read (ids only grow)."""
        return bool(self.ids) and self.ids[-1] >= last

    def ids_until(self, last: int) -> list[int]:
        """Read on until the event with id `last` has come; every event id read."""
        while not self.has(last):
            self.read_more()
        return self.ids

    def close(self) -> None:
        self.sock.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "server", [(), ("--in-process-api",)], indirect=True, ids=["api-process", "in-process"]
)
def test_a_client_that_stops_reading_leaves_the_server_bounded_and_misses_nothing(
    server: Server,
) -> None:
    in_process = "API process pid" not in "".join(server.stderr)
    streamer = server.proc.pid if in_process else first_api_pid(server)
    with (
        httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client,
        closing(SseSocket(server.url, "/api/events/stream?after=0")) as stalled,
        closing(SseSocket(server.url, "/api/events/stream?after=0")) as reading,
    ):  # `stalled` reads the response's head, then nothing until the end
        last = threading.Event()
        target = [0]

        def follow() -> None:  # a client that reads all along
            reading.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            while not (last.is_set() and reading.has(target[0])):
                reading.read_more()

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()

        def load(count: int) -> list[dict[str, object]]:
            """`count` loud runs at once, until they have ended; their rows."""
            ids = [
                client.post("/api/runs", json={"toml": LOUD}).json()["run_id"] for _ in range(count)
            ]
            return [
                wait_for(
                    lambda r=run_id: (row := client.get(f"/api/runs/{r}").json())["result"] and row,
                    f"run {run_id} to end",
                    timeout=120,
                )
                for run_id in ids
            ]

        start = peak_mib(streamer)
        runs = load(2)
        first = peak_mib(streamer)  # with what any stream costs: pages, encodings, caches
        runs += load(4)
        second = peak_mib(streamer)
        assert {r["result"] for r in runs} == {"success"}
        events = sum(int(str(r["last_seq"])) for r in runs)
        target[0] = events
        last.set()
        follower.join(120)
        assert not follower.is_alive(), "the reading client never got the last event"
        print(
            f"{events} events; the streaming process's peak resident memory: {start} MiB,"
            f" {first} MiB after 2 runs, {second} MiB after 4 more"
        )
        assert reading.ids == list(range(1, events + 1))  # the reading client: every event, once
        # Twice as many events again (about 15 MiB as JSON per run), and the streaming process
        # keeps none of what it could not send to the client that reads nothing: it grows by the
        # shared encodings (up to 16 MiB) it had not filled yet, not by the events (a server that
        # kept them grew by over 100 MiB here).
        assert second - first < 32, (start, first, second)
        # the client that stopped reading gets it all once it reads again: resent from the store
        assert stalled.ids_until(events) == list(range(1, events + 1))
