"""`HttpClient` against a real uvicorn on 127.0.0.1, serving a real runtime on a temp database.

Reads are compared with what the embedded reader returns for the same database, so decoding is
proven faithful field by field; mutations are checked by their effect on the runs; the event
stream is followed across a server that stops, a runtime that commits without a server, and a
server that comes back on the same port.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import httpx
import msgspec
import pytest

from runtui.actors.runtime import Runtime
from runtui.api import Port
from runtui.client import (
    ConflictError,
    HttpClient,
    InvalidRequestError,
    Resync,
    ServerUnreachableError,
    UnauthorizedError,
)
from runtui.client.http import server_url
from runtui.client.sse import SseEvent, SseParser, sse_lines
from runtui.client.token import token_file
from runtui.domain.errors import NotFoundError, RuntuiError, WorkflowError
from runtui.domain.events import EventEnvelope, RunStatusChanged, WaveCompleted
from runtui.domain.status import RunStatus
from runtui.domain.termination import RunTerminationReason
from runtui.embedded import EmbeddedRuntime
from runtui.identity import who_decides
from runtui.server.security import token_path
from runtui.server.serve import ApiServer, http_api
from tests.actors.conftest import finish, next_approval, settings_for, wf

pytestmark = pytest.mark.anyio

#: The name a test server's own token records decisions under (who runs it).
OWNER = who_decides()

TOKEN = "t"

GATED = """
name = "gated"

[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"

[[tasks]]
id = "ship"
kind = "gate"
prompt = "Ship it?"
needs = ["build"]

[[tasks]]
id = "after"
kind = "noop"
needs = ["ship"]
"""

QUICK = """
name = "quick"

[[tasks]]
id = "a"
kind = "noop"

[[tasks]]
id = "b"
kind = "noop"
needs = ["a"]
"""

SLEEPY = """
name = "sleepy"

[[tasks]]
id = "nap"
kind = "sleep"
seconds = 30
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(db_path: Path) -> AsyncIterator[tuple[Runtime, ApiServer]]:
    async with (
        Runtime.open(settings_for(db_path)) as rt,
        http_api(EmbeddedRuntime(rt), port=0, token=TOKEN) as api,
    ):
        yield rt, api


@pytest.fixture
async def client(served: tuple[Runtime, ApiServer]) -> AsyncIterator[HttpClient]:
    async with HttpClient(served[1].url, TOKEN, user="alice") as c:
        yield c


async def until(condition: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    """Wait (bounded) until `condition` holds, checking every few milliseconds."""
    with anyio.fail_after(limit_s):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)  # state another task (or process) changes: poll it


async def gated_run(rt: Runtime, client: HttpClient) -> tuple[str, str]:
    run_id = await client.submit_toml(GATED)
    approval = await next_approval(rt, run_id)
    return run_id, approval.approval_id


def test_http_client_is_a_runtime_client() -> None:
    """The TUI's protocol, checked by mypy here as well as at `runtui attach`."""
    client: Port = HttpClient("http://127.0.0.1:1", TOKEN)
    assert client.description == "remote: 127.0.0.1:1"


def test_token_path_is_the_servers() -> None:
    assert token_file() == token_path()


async def test_reads_decode_to_what_the_store_holds(
    served: tuple[Runtime, ApiServer], client: HttpClient
) -> None:
    rt, api = served
    assert client.description == f"remote: 127.0.0.1:{api.port}"
    run_id, approval_id = await gated_run(rt, client)
    reader = rt.reader

    assert await client.get_run(run_id) == await reader.get_run(run_id)
    page = await client.list_runs()
    assert page == await reader.list_runs()
    assert [r.run_id for r in page.runs] == [run_id]
    waiting = await client.list_runs(status="awaiting_approval", live=True, limit=5)
    assert [r.run_id for r in waiting.runs] == [run_id]
    assert (await client.list_runs(result="success")).runs == []
    assert (await client.list_runs(text="gated")).runs[0].run_id == run_id

    events = await client.events_after(run_id, 0)
    assert events == await reader.events_after(run_id, 0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert await client.events_after(run_id, 3, limit=2) == events[3:5]
    assert await client.events_before(run_id, 6, limit=3) == events[2:5]
    assert await client.events_before(run_id, 1) == []
    assert [e async for e in client.iter_events(run_id, page=4)] == events
    assert await client.count_events(run_id) == len(events)

    assert await client.tasks_of(run_id) == await reader.tasks_of(run_id)
    assert await client.attempts_of(run_id) == await reader.attempts_of(run_id)
    assert await client.violations_of(run_id) == await reader.violations_of(run_id)
    assert await client.incidents_of(run_id) == await reader.incidents_of(run_id)
    assert await client.audit_of(run_id) == await reader.audit_of(run_id)
    assert await client.approvals_of(run_id) == await reader.approvals_of(run_id)
    assert await client.forks_of(run_id) == []
    pending = await client.pending_approvals()
    assert pending == await reader.pending_approvals()
    assert [a.approval_id for a in pending] == [approval_id]
    assert await client.count_by_result() == await reader.count_by_result()
    assert await client.health() == await rt.health()
    plan = await client.rewind_plan(run_id, 0)
    assert msgspec.structs.asdict(plan) == msgspec.structs.asdict(await rt.rewind_plan(run_id, 0))


async def test_submit_approve_and_a_second_decision_names_the_first(
    served: tuple[Runtime, ApiServer], client: HttpClient, tmp_path: Path
) -> None:
    rt, _ = served
    workflow = tmp_path / "gated.toml"
    workflow.write_text(GATED)
    run_id = await client.submit_file(workflow)
    approval = await next_approval(rt, run_id)
    # a fresh client knows nothing about the approval: it finds its run among pending ones
    async with HttpClient(client.url, TOKEN, user="bob") as other:
        await other.approve(approval.approval_id, reason="looks good")
    done = await finish(rt, run_id)
    assert done.status is RunStatus.SUCCEEDED
    (decided,) = await client.approvals_of(run_id)
    assert (decided.decided_by, decided.reason) == (f"{OWNER} (as bob)", "looks good")

    with pytest.raises(
        ConflictError, match=re.escape(f"already decided: approve by {OWNER} (as bob)")
    ) as second:
        await client.approve(approval.approval_id)
    assert second.value.status == 409
    assert second.value.first_decision == f"approve by {OWNER} (as bob)"
    with pytest.raises(ConflictError, match=re.escape(f"approve by {OWNER} (as bob)")):
        await client.reject(approval.approval_id, reason="too late")

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[tasks]]\nid = "a"\nkind = "nope"\n')
    with pytest.raises(WorkflowError, match=r"bad\.toml:4"):  # checked here, naming the file
        await client.submit_file(bad)
    with pytest.raises(InvalidRequestError, match="request body") as invalid:
        await client.submit_toml('name = "x"\n[[tasks]]\nid = "a"\nkind = "nope"\n')
    assert invalid.value.status == 422
    assert isinstance(invalid.value, ValueError)


async def test_reject_fails_the_run(served: tuple[Runtime, ApiServer], client: HttpClient) -> None:
    rt, _ = served
    run_id, approval_id = await gated_run(rt, client)
    await client.reject(approval_id, reason="not today")
    done = await finish(rt, run_id)
    assert done.status is RunStatus.FAILED
    assert done.termination_reason is RunTerminationReason.APPROVAL_REJECTED
    (decided,) = await client.approvals_of(run_id)
    assert (decided.decision, decided.decided_by) == ("reject", f"{OWNER} (as alice)")


async def test_cancel_resume_and_rewind(
    served: tuple[Runtime, ApiServer], client: HttpClient
) -> None:
    rt, _ = served
    sleepy = await client.submit_toml(SLEEPY)
    await until(lambda: sleepy in rt.active_runs, "the run is active")
    with pytest.raises(ConflictError, match="already active"):
        await client.resume(sleepy)
    await client.cancel(sleepy)
    assert (await finish(rt, sleepy)).status is RunStatus.CANCELLED
    with pytest.raises(ConflictError, match="never resumed"):
        await client.resume(sleepy)

    quick = await client.submit_toml(QUICK)
    assert (await finish(rt, quick)).status is RunStatus.SUCCEEDED
    plan = await client.rewind_plan(quick, 0)
    assert (plan.kept, plan.rerun, plan.new_run_id) == ({0: ["a"]}, {1: ["b"]}, None)
    forked = await client.rewind(quick, 0)
    assert forked.new_run_id is not None
    child = await finish(rt, forked.new_run_id)
    assert (child.status, child.parent_run_id, child.rewound_from_wave) == (
        RunStatus.SUCCEEDED,
        quick,
        0,
    )
    assert [r.run_id for r in await client.forks_of(quick)] == [forked.new_run_id]
    with pytest.raises(InvalidRequestError, match=r"waves 0\.\.1, not 7"):
        await client.rewind_plan(quick, 7)


async def test_errors_map_to_the_domains(
    served: tuple[Runtime, ApiServer], client: HttpClient
) -> None:
    _, api = served
    with pytest.raises(NotFoundError, match="nope"):
        await client.get_run("nope")
    with pytest.raises(NotFoundError):
        await client.tasks_of("nope")
    with pytest.raises(NotFoundError, match="not pending"):
        await client.approve("no-such-approval")
    with pytest.raises(InvalidRequestError, match="limit"):
        await client.list_runs(limit=0)
    async with HttpClient(api.url, "wrong") as intruder:
        with pytest.raises(UnauthorizedError, match="unauthorized: check the token") as denied:
            await intruder.list_runs()
        assert denied.value.status == 401
        with pytest.raises(UnauthorizedError):
            await intruder.check()
    nobody = f"http://127.0.0.1:{free_port()}"
    async with HttpClient(nobody, TOKEN) as lost:
        with pytest.raises(
            ServerUnreachableError, match=f"cannot reach the runtui server at {nobody}"
        ):
            await lost.get_run("x")
    with pytest.raises(InvalidRequestError):
        HttpClient("ftp://127.0.0.1:8765", TOKEN)  # not http(s)
    for error in (ConflictError, UnauthorizedError, ServerUnreachableError):
        assert issubclass(error, RuntuiError)  # the TUI shows them as notifications


async def test_subscribe_resumes_across_a_server_restart_with_no_gap_and_no_duplicate(
    db_path: Path,
) -> None:
    """Server A streams run 1; A stops; a runtime without a server commits run 2; server B
    (same port, same database) comes up and run 3 starts. The subscriber reconnects with the
    last position it yielded and sees every event since its first exactly once, in order."""
    port = free_port()
    settings = settings_for(db_path)
    states: list[bool] = []
    received: list[EventEnvelope] = []
    markers: list[Resync] = []

    def done(run_id: str) -> Callable[[], bool]:
        return lambda: any(
            e.run_id == run_id
            and isinstance(e.body, RunStatusChanged)
            and e.body.status.is_terminal
            for e in received
        )

    async def stream_clients(url: str) -> int:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as h:
            text = (await h.get(f"{url}/metrics")).text
        return int(
            next(ln for ln in text.splitlines() if ln.startswith("runtui_stream_clients ")).split()[
                1
            ]
        )

    url = f"http://127.0.0.1:{port}"
    async with (
        HttpClient(url, TOKEN, on_state=states.append, min_backoff=0.05, max_backoff=0.3) as client,
        anyio.create_task_group() as tg,
    ):

        async def consume() -> None:
            async for delivery in client.subscribe():
                if isinstance(delivery, Resync):
                    markers.append(delivery)
                else:
                    received.extend(delivery)

        async with (
            Runtime.open(settings) as rt,
            http_api(EmbeddedRuntime(rt), port=port, token=TOKEN),
        ):
            tg.start_soon(consume)
            with anyio.fail_after(10):  # the subscriber is attached: the server counts it
                while True:
                    if await stream_clients(url) == 1:
                        break
                    await anyio.sleep(0.01)
            run1 = await rt.submit(wf(QUICK))
            await finish(rt, run1)
            await until(done(run1), "run 1 streamed")
        await until(lambda: not client.connected, "the client notices the server left")

        async with Runtime.open(settings) as rt:  # no server: nobody streams this
            run2 = await rt.submit(wf(QUICK))
            await finish(rt, run2)
        assert not done(run2)()

        async with (
            Runtime.open(settings) as rt,
            http_api(EmbeddedRuntime(rt), port=port, token=TOKEN),
        ):
            await until(done(run2), "run 2 caught up from the store after the reconnect")
            assert client.connected
            run3 = await rt.submit(wf(QUICK))
            await finish(rt, run3)
            await until(done(run3), "run 3 streamed live")
            transitions = list(states)
        tg.cancel_scope.cancel()  # after the server's block: leaving it by cancellation leaks

    positions = [e.position for e in received]
    assert len(positions) == len(set(positions)), "an event was yielded twice"
    assert positions == sorted(positions)
    async with Runtime.open(settings) as rt:
        stored = await rt.reader.events_since(positions[0] - 1, limit=100_000)
    assert positions == [e.position for e in stored], "an event was lost"
    assert received == stored
    assert {e.run_id for e in received} == {run1, run2, run3}
    assert transitions == [False, True]  # down when A left, up again once B answered
    assert markers == []


# --- the stream's protocol, with a scripted transport ------------------------------------------


def _frame(position: int, ident: int | None = None) -> bytes:
    env = EventEnvelope(
        run_id="r", seq=position, ts=1.0, body=WaveCompleted(wave=position), position=position
    )
    head = b"" if ident is None else b"id: %d\n" % ident
    return head + b"event: wave.completed\ndata: " + msgspec.json.encode(env) + b"\n\n"


async def test_stream_resumes_from_last_event_id_skips_replays_and_retries_errors() -> None:
    seen_ids: list[str | None] = []
    script = [
        # a comment, the retry hint, an id-only frame: resume from 1 even before any event
        b": hello\n\nretry: 10\n\nid: 1\n\n",
        _frame(1, 1) + _frame(2, 2) + b"event: shutdown\ndata: {}\n\n",  # 1 is a replay
        b"",  # a server error (503 below), then
        _frame(3, 3) + b": keepalive\n\n" + _frame(4, 4),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        seen_ids.append(request.headers.get("last-event-id"))
        n = len(seen_ids) - 1
        if n == 2:
            return httpx.Response(
                503,
                json={"detail": "starting"},
                headers={"content-type": "application/problem+json"},
            )
        body = script[n] if n < len(script) else b""
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    states: list[bool] = []
    got: list[int] = []
    async with HttpClient(
        "http://runtui.test",
        TOKEN,
        on_state=states.append,
        min_backoff=0.001,
        max_backoff=0.01,
        transport=httpx.MockTransport(answer),
    ) as client:
        with anyio.fail_after(10):
            async for item in client.stream_events(after=None):
                assert isinstance(item, EventEnvelope)
                got.append(item.position)
                if len(got) == 3:
                    break
    assert got == [2, 3, 4]
    assert seen_ids[:4] == [None, "1", "2", "2"]
    assert states[:2] == [False, True]


async def test_a_stream_that_never_had_a_position_says_resync() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        body = b"retry: 10\n\n" if calls == 1 else _frame(5, 5)
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async with HttpClient(
        "http://runtui.test", TOKEN, min_backoff=0.001, transport=httpx.MockTransport(answer)
    ) as client:
        items: list[list[EventEnvelope] | Resync] = []
        with anyio.fail_after(10):
            async for item in client.subscribe():
                items.append(item)
                if len(items) == 2:
                    break
    first, then = items
    assert isinstance(first, Resync)
    assert isinstance(then, list)
    assert [e.position for e in then] == [5]


async def test_run_events_gives_up_on_a_refused_token_or_an_unknown_run() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        status = 401 if "secret" not in request.headers["authorization"] else 404
        return httpx.Response(status, json={"detail": "no"})

    for token, error in (("bad", UnauthorizedError), ("secret", NotFoundError)):
        async with HttpClient(
            "http://runtui.test", token, transport=httpx.MockTransport(answer)
        ) as client:
            with pytest.raises(error):
                async for _ in client.run_events("r", give_up_after=5):
                    pass


def test_sse_parser_follows_the_spec() -> None:
    parser = SseParser()
    lines = [
        ": comment",
        "retry: 1500",
        "retry: soon",  # ignored: not digits
        "",
        "id: 7",
        "event: run.status",
        'data: {"a":',
        "data:1}",
        "",
        "id: 8",
        "",
        "data: plain",
        "",
    ]
    out = [e for e in (parser.feed(line) for line in lines) if e is not None]
    assert out == [
        SseEvent(event="run.status", data='{"a":\n1}', id="7"),
        SseEvent(event="message", data="plain", id="8"),
    ]
    assert parser.retry_ms == 1500
    assert parser.last_id == "8"


async def test_sse_lines_end_at_crlf_lf_or_cr_only() -> None:
    """Not at U+0085, U+2028 or U+2029, which JSON strings carry raw (an event holding one
    used to come apart and be lost); a CRLF cut between two chunks is one line end."""

    async def chunks() -> AsyncIterator[str]:
        for chunk in ['data: {"a":"x\x85y\u2028z"}\r', "\nid: 1\r", "\r", "\nid: 2\rda", "ta: 3\n"]:
            yield chunk

    lines = [line async for line in sse_lines(chunks())]
    assert lines == ['data: {"a":"x\x85y\u2028z"}', "id: 1", "", "id: 2", "data: 3"]


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765"),
        (" http://ops.example:9000/ ", "http://ops.example:9000"),
        ("https://ops.example", "https://ops.example"),
        ("[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_server_urls_may_leave_out_the_scheme(given: str, url: str) -> None:
    assert server_url(given) == url
    assert HttpClient(given, TOKEN).url == url


@pytest.mark.parametrize("given", ["ftp://x", "http://", "", "http://a b"])
def test_a_bad_server_url_is_refused_showing_the_expected_form(given: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"not a server URL: .*expected http://HOST:PORT"):
        server_url(given)


def test_the_cli_names_a_bad_url_before_asking_for_a_token(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("RUNTUI_TOKEN", "RUNTUI_SERVER")}
    done = subprocess.run(
        [sys.executable, "-m", "runtui", "attach", "ftp://ops.example"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert "not a server URL: 'ftp://ops.example' (expected http://HOST:PORT)" in done.stderr
