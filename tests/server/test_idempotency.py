"""Idempotency keys survive the server: a retry after `runtui serve` was killed with SIGKILL
and started again gets the first answer (the same run, the same decision; not a second run,
not a 409), in both API shapes; and a server that died between acting and recording its answer
finds the act in the runs and answers what the first request would have, never acting twice."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtui.store.idempotency import IdempotencyKeys
from tests.server.conftest import AUTH, GATE, NOOP, TOKEN, Api, serving, serving_apart
from tests.server.test_api import assert_problem
from tests.server.test_sigterm import Server, wait_for

pytestmark = pytest.mark.anyio

SHAPES = {"api-process": (), "in-process": ("--in-process-api",)}
APPROVE = {"Idempotency-Key": "approve-1"}


@pytest.fixture(params=list(SHAPES))
def serve(db_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Starts `runtui serve` on the test's database (in the shape of the parameter); every
    server it started is killed at the end."""
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN}
    started: list[Server] = []

    def start() -> Server:
        started.append(Server(db_path, env, *SHAPES[request.param]))
        return started[-1]

    yield start
    for server in started:
        server.close()


def pending_approval(client: httpx.Client, run_id: str) -> str:
    return str(
        wait_for(
            lambda: [a for a in client.get("/api/approvals").json() if a["run_id"] == run_id],
            "the run's approval",
        )[0]["approval_id"]
    )


def test_retries_after_serve_was_killed_get_the_first_answers(serve: Any) -> None:
    submit = {"json": {"toml": GATE}, "headers": {"Idempotency-Key": "submit-1"}}
    approve = {"json": {"reason": "ok"}, "headers": {"Idempotency-Key": "approve-1"}}
    first = serve()
    with httpx.Client(base_url=first.url, headers=AUTH, timeout=20) as client:
        submitted = client.post("/api/runs", **submit)
        assert submitted.status_code == 201, submitted.text
        run_id = submitted.json()["run_id"]
        pending_approval(client, run_id)
        decided = client.post(f"/api/runs/{run_id}/approve", **approve)
        assert decided.status_code == 200, decided.text
    first.proc.kill()  # SIGKILL: nothing is flushed or said on the way out
    first.proc.wait(timeout=10)

    second = serve()
    with httpx.Client(base_url=second.url, headers=AUTH, timeout=20) as client:
        again = client.post("/api/runs", **submit)
        assert (again.status_code, again.content) == (201, submitted.content)
        assert again.headers["location"] == submitted.headers["location"]
        assert again.headers["idempotent-replay"] == "true"
        assert [r["run_id"] for r in client.get("/api/runs").json()["runs"]] == [run_id]
        again = client.post(f"/api/runs/{run_id}/approve", **approve)
        assert (again.status_code, again.content) == (200, decided.content)  # not a 409
        assert again.headers["idempotent-replay"] == "true"
        # a key reused with another request is still refused
        other = client.post(
            "/api/runs", json={"toml": NOOP}, headers={"Idempotency-Key": "submit-1"}
        )
        assert_problem(other, 422, "Idempotency-Key")
        other = client.post(
            f"/api/runs/{run_id}/approve",
            json={"reason": "other"},
            headers={"Idempotency-Key": "approve-1"},
        )
        assert_problem(other, 422, "Idempotency-Key")
        # and a decision without the key is a second decision
        assert_problem(client.post(f"/api/runs/{run_id}/approve", json={}), 409)
        assert len(client.get("/api/runs").json()["runs"]) == 1


# --- a crash between the act and its answer ----------------------------------------------------


class Crash(Exception):
    """Stands for the process dying at this point (nothing after it happens)."""


@asynccontextmanager
async def serving_in(db: Path, shape: str) -> AsyncIterator[Api]:
    """A server on `db` (in `shape`) and a client of it, for one life of the server."""
    async with (
        (serving if shape == "in-process" else serving_apart)(db) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield Api(rt, server, client)


@pytest.fixture(params=["in-process", "api-process"])
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def crash_on(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make `IdempotencyKeys.<name>` die: after it did its work for `take`, before for the
    rest."""
    original = getattr(IdempotencyKeys, name)

    async def dying(self: IdempotencyKeys, *args: Any, **kwargs: Any) -> None:
        if name == "take":
            await original(self, *args, **kwargs)
        raise Crash

    monkeypatch.setattr(IdempotencyKeys, name, dying)


async def test_a_submission_that_committed_before_its_answer_is_not_submitted_again(
    db_path: Path, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = {"Idempotency-Key": "submit-1"}
    with monkeypatch.context() as patch:
        crash_on(patch, "answer")
        async with serving_in(db_path, shape) as api:
            died = await api.client.post("/api/runs", json={"toml": GATE}, headers=key)
            assert died.status_code == 500
            (run,) = (await api.client.get("/api/runs")).json()["runs"]  # it acted, then "died"
    async with serving_in(db_path, shape) as api:
        again = await api.client.post("/api/runs", json={"toml": GATE}, headers=key)
        assert again.status_code == 201, again.text
        assert again.json() == {"run_id": run["run_id"]}
        assert again.headers["location"] == f"/api/runs/{run['run_id']}"
        assert again.headers["idempotent-replay"] == "true"
        assert len((await api.client.get("/api/runs")).json()["runs"]) == 1
        replay = await api.client.post("/api/runs", json={"toml": GATE}, headers=key)
        assert replay.content == again.content  # the answer is recorded now


async def an_approval_that_died(
    db_path: Path, shape: str, monkeypatch: pytest.MonkeyPatch, at: str
) -> tuple[str, str]:
    """A gated run, and its approval asked for with `APPROVE` by a server that "dies" in
    `IdempotencyKeys.<at>`: the run's id and the approval's."""
    async with serving_in(db_path, shape) as api:
        run_id = (await api.client.post("/api/runs", json={"toml": GATE})).json()["run_id"]
        approval_id = str((await api.pending(run_id))["approval_id"])
        with monkeypatch.context() as patch:
            crash_on(patch, at)
            died = await api.client.post(f"/api/runs/{run_id}/approve", json={}, headers=APPROVE)
            assert died.status_code == 500
    return run_id, approval_id


async def decisions(api: Api, run_id: str) -> list[str | None]:
    return [
        a["decision"]
        for a in (await api.client.get(f"/api/runs/{run_id}/detail")).json()["approvals"]
    ]


async def test_a_decision_that_committed_before_its_answer_is_answered_not_refused(
    db_path: Path, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, approval_id = await an_approval_that_died(db_path, shape, monkeypatch, "answer")
    async with serving_in(db_path, shape) as api:
        assert await decisions(api, run_id) == ["approve"]  # it acted, then "died"
        again = await api.client.post(f"/api/runs/{run_id}/approve", json={}, headers=APPROVE)
        assert again.status_code == 200, again.text  # not a 409
        assert again.json() == {"approval_id": approval_id, "decision": "approve"}
        assert again.headers["idempotent-replay"] == "true"
        # a decision the keyed request did not ask for is not taken for its own
        other = await api.client.post(
            f"/api/runs/{run_id}/reject", json={"reason": "no"}, headers={"Idempotency-Key": "r"}
        )
        assert_problem(other, 409)


async def test_a_decision_taken_but_never_made_is_made_by_the_retry(
    db_path: Path, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, approval_id = await an_approval_that_died(db_path, shape, monkeypatch, "take")
    async with serving_in(db_path, shape) as api:
        assert await decisions(api, run_id) == [None]  # the key was taken, nothing decided
        again = await api.client.post(f"/api/runs/{run_id}/approve", json={}, headers=APPROVE)
        assert again.status_code == 200, again.text
        assert again.json() == {"approval_id": approval_id, "decision": "approve"}
        assert "idempotent-replay" not in again.headers  # this time it acted
        assert await decisions(api, run_id) == ["approve"]
