"""Who may talk to the server, and how: bearer token, known Host, JSON bodies, no CORS,
problem+json errors, a token that never reaches a log, idempotent retries."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import httpx
import pytest

from tests.server.conftest import AUTH, GATE, NOOP, TOKEN, Api, serving
from tests.server.test_api import assert_problem

pytestmark = pytest.mark.anyio

PROTECTED = [
    ("GET", "/api/runs"),
    ("GET", "/api/runs/x"),
    ("GET", "/api/runs/x/detail"),
    ("GET", "/api/runs/x/events"),
    ("GET", "/api/runs/x/events/stream"),
    ("GET", "/api/events/stream"),
    ("GET", "/api/approvals"),
    ("GET", "/api/health"),
    ("GET", "/api/pipeline/runs"),
    ("GET", "/api/pipeline/runs/x"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/api/runs"),
    ("POST", "/api/runs/x/approve"),
    ("POST", "/api/runs/x/reject"),
    ("POST", "/api/runs/x/rewind"),
    ("POST", "/api/runs/x/resume"),
    ("POST", "/api/runs/x/cancel"),
]


async def test_every_endpoint_but_healthz_needs_the_token(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        for method, path in PROTECTED:
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token"},
                {"Authorization": f"Basic {TOKEN}"},
                {"Authorization": f"Bearer {TOKEN}x"},
                {"Authorization": TOKEN},
            ):
                r = await anonymous.request(method, path, headers=headers, json={})
                assert_problem(r, 401, "bearer token")
                assert r.headers["www-authenticate"] == "Bearer", (method, path)
                assert TOKEN not in r.text
        r = await anonymous.get("/healthz")
        assert r.status_code == 200
    for _method, path in PROTECTED[:4]:
        assert (await api.client.get(path)).status_code in (200, 404)


async def test_a_foreign_host_header_is_refused(api: Api) -> None:
    port = api.server.port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        for path in ("/api/runs", "/healthz"):
            r = await api.client.get(path, headers={"Host": host})
            assert_problem(r, 403, "Host")
    for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert (await api.client.get("/api/runs", headers={"Host": host})).status_code == 200


async def test_mutations_must_be_json(api: Api) -> None:
    for ctype, content in (
        ("text/plain", b'{"toml": "x"}'),
        ("application/x-www-form-urlencoded", b"toml=x"),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("application/jsonx", b"{}"),
    ):
        for path in ("/api/runs", "/api/runs/x/approve", "/api/runs/x/cancel"):
            r = await api.client.post(path, content=content, headers={"Content-Type": ctype})
            assert_problem(r, 415, "application/json")
    # a body with no type at all is not JSON either
    r = await api.client.post("/api/runs", content=b'{"toml": "x"}')
    assert_problem(r, 415)
    # JSON with parameters is JSON
    r = await api.client.post(
        "/api/runs",
        content=b'{"toml": "x"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert_problem(r, 422)
    # a method the path does not take is a 405 (listing what it takes), not a 415
    r = await api.client.post("/api/approvals", content=b"x", headers={"Content-Type": "a/b"})
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET"
    r = await api.client.delete("/api/runs")
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, POST"


async def test_no_cors_is_granted(api: Api) -> None:
    origin = {"Origin": "http://evil.example"}
    r = await api.client.options(
        "/api/runs",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code >= 400
    r2 = await api.client.get("/api/runs", headers=origin)
    assert r2.status_code == 200
    for response in (r, r2):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


async def test_errors_are_problem_json(api: Api) -> None:
    assert_problem(await api.client.get("/nowhere"), 404)
    assert_problem(await api.client.get("/api/runs/nope"), 404, "nope")
    assert_problem(await api.client.get("/api/runs?limit=x"), 422, "limit")
    assert_problem(await api.client.put("/api/runs/nope"), 405)
    body = assert_problem(
        await api.client.post(
            "/api/runs", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
        ),
        422,
    )
    assert body["type"] == "about:blank"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_the_token_never_reaches_a_log(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    collect = Collect()
    # uvicorn's own loggers do not propagate to the root: listen to them directly
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    for logger in loggers:
        logger.addHandler(collect)
    try:
        await _talk_with_every_kind_of_token(db_path)
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    assert caplog.records  # logging was captured at all
    assert TOKEN not in caplog.text
    assert not [line for line in collect.lines if TOKEN in line]


async def _talk_with_every_kind_of_token(db_path: Path) -> None:
    async with (
        serving(db_path) as (_rt, server),
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        for auth in (AUTH, {"Authorization": f"Bearer {TOKEN}-not"}, {}):
            await client.get("/api/runs", headers=auth)
            await client.post("/api/runs", headers=auth, json={"toml": NOOP})
            await client.post("/api/runs", headers=auth, json={"toml": "broken ["})
            await client.get("/nowhere", headers=auth)
        await client.get("/api/runs", headers={**AUTH, "Host": "evil.example"})


# --- idempotency -----------------------------------------------------------------------------


async def test_an_idempotent_retry_returns_the_first_answer_and_acts_once(api: Api) -> None:
    key = {"Idempotency-Key": "submit-1"}
    first = await api.client.post("/api/runs", json={"toml": NOOP}, headers=key)
    second = await api.client.post("/api/runs", json={"toml": NOOP}, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["idempotent-replay"] == "true"
    assert "idempotent-replay" not in first.headers
    assert second.headers["location"] == first.headers["location"]
    runs = (await api.client.get("/api/runs")).json()["runs"]
    assert [r["run_id"] for r in runs] == [first.json()["run_id"]]  # one run, not two

    # the same key with another body is a mistake, not a replay
    other = await api.client.post("/api/runs", json={"toml": NOOP, "force": True}, headers=key)
    assert_problem(other, 422, "Idempotency-Key")
    # keys belong to one endpoint: the same key elsewhere acts on its own
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    r = await api.client.post(f"/api/runs/{run_id}/cancel", json={}, headers=key)
    assert r.json() == {"run_id": run_id, "cancelled": True}
    assert "idempotent-replay" not in r.headers
    again = await api.client.post(f"/api/runs/{run_id}/cancel", json={}, headers=key)
    assert again.content == r.content
    assert again.headers["idempotent-replay"] == "true"
    await api.finish(run_id)
    # a different key is a new request (the run is over: a conflict)
    third = await api.client.post(
        f"/api/runs/{run_id}/cancel", json={}, headers={"Idempotency-Key": "other"}
    )
    assert_problem(third, 409)
    assert_problem(
        await api.client.post("/api/runs", json={"toml": NOOP}, headers={"Idempotency-Key": ""}),
        422,
    )


async def test_a_retried_approval_replays_instead_of_conflicting(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    key = {"Idempotency-Key": "approve-1"}
    first = await api.client.post(f"/api/runs/{run_id}/approve", json={}, headers=key)
    second = await api.client.post(f"/api/runs/{run_id}/approve", json={}, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["idempotent-replay"] == "true"
    assert (await api.finish(run_id))["status"] == "succeeded"
    # without the key, the retry is a second decision
    assert_problem(await api.client.post(f"/api/runs/{run_id}/approve", json={}), 409)


async def test_concurrent_requests_with_one_key_act_once(api: Api) -> None:
    answers: list[httpx.Response] = []

    async def post() -> None:
        answers.append(
            await api.client.post(
                "/api/runs", json={"toml": NOOP}, headers={"Idempotency-Key": "burst"}
            )
        )

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(post)
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replay") == "true" for a in answers) == 7
    assert len((await api.client.get("/api/runs")).json()["runs"]) == 1
