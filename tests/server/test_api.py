"""Every endpoint against a real uvicorn on 127.0.0.1 and a real database: queries and paging,
submissions, approvals, rewind, resume, cancel, health, the run-history shapes, the probes."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from runtui.domain.status import RunStatus
from runtui.identity import who_decides
from tests.actors.conftest import wf
from tests.server.conftest import (
    AUTH,
    FAILING,
    GATE,
    NOOP,
    Api,
    serving,
)

pytestmark = pytest.mark.anyio

#: The name a test server's own token records decisions under (who runs it).
OWNER = who_decides()

SUMMARY_FIELDS = {
    "run_id",
    "started_at",
    "ended_at",
    "result",
    "failure_reason",
    "stages_executed",
    "stages_failed",
    "retry_count",
    "metadata",
}


def assert_problem(r: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = dict(r.json())
    assert body["status"] == status
    assert body["title"]
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


# --- runs: listing and paging ----------------------------------------------------------------


async def test_list_runs_pages_through_120_runs_with_cursors_and_filters(api: Api) -> None:
    rt = api.runtime
    alpha, beta = wf(NOOP.replace('"noop"', '"alpha"', 1)), wf(FAILING)
    ids = [await rt.submit(alpha) for _ in range(110)]
    ids += [await rt.submit(beta, force=True) for _ in range(10)]
    with anyio.fail_after(60):
        for run_id in ids:
            await rt.wait(run_id)

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor is not None:
            params["cursor"] = cursor
        r = await api.client.get("/api/runs", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"runs", "next_cursor"}
        seen += page["runs"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    got = [run["run_id"] for run in seen]
    assert len(got) == len(set(got)) == 120  # no duplicate
    assert set(got) == set(ids)  # no gap
    assert pages == math.ceil(120 / 7)
    keys = [(run["created_at"], run["run_id"]) for run in seen]
    assert keys == sorted(keys, reverse=True)  # newest first, stable across pages

    async def listed(**params: Any) -> list[dict[str, Any]]:
        r = await api.client.get("/api/runs", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        return list(r.json()["runs"])

    assert {r["run_id"] for r in await listed(workflow="failing")} == set(ids[110:])
    assert len(await listed(workflow="alpha")) == 110
    assert len(await listed(workflow="nope")) == 0
    assert {r["run_id"] for r in await listed(result="failed")} == set(ids[110:])
    assert len(await listed(result="success")) == 110
    assert len(await listed(status="succeeded")) == 110
    assert len(await listed(status="failed")) == 10
    assert await listed(live="true") == []
    pivot = keys[59][0]
    assert {r["run_id"] for r in await listed(since=pivot)} == {
        run["run_id"] for run in seen if run["created_at"] >= pivot
    }
    # filters and cursors together: page through the failed runs 3 at a time
    failed, cursor = [], None
    while True:
        params = {"limit": 3, "result": "failed", **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/api/runs", params=params)).json()
        failed += [run["run_id"] for run in page["runs"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert sorted(failed) == sorted(ids[110:])

    for bad in (
        {"limit": 0},
        {"limit": 1001},
        {"result": "maybe"},
        {"status": "sleeping"},
        {"since": "yesterday"},
        {"cursor": "not-a-cursor"},
    ):
        body = assert_problem(await api.client.get("/api/runs", params=bad), 422)
        assert next(iter(bad)) in body["detail"], body


# --- one run ---------------------------------------------------------------------------------


async def test_get_run_detail_and_events(api: Api) -> None:
    run_id = await api.submit(NOOP)
    run = await api.finish(run_id)
    assert run["run_id"] == run_id
    assert run["status"] == "succeeded"
    assert run["result"] == "success"
    assert run["metadata"] == {"via": "api"}

    detail = (await api.client.get(f"/api/runs/{run_id}/detail")).json()
    assert set(detail) == {
        "tasks",
        "attempts",
        "violations",
        "incidents",
        "audit",
        "approvals",
        "forks",
        "events",
    }
    assert [t["task_id"] for t in detail["tasks"]] == ["a", "b"]
    assert all(t["status"] == "done" for t in detail["tasks"])
    assert detail["events"] == run["last_seq"]

    stored = await api.runtime.reader.events_after(run_id, 0, limit=5000)
    r = await api.client.get(f"/api/runs/{run_id}/events")
    assert [e["seq"] for e in r.json()] == [e.seq for e in stored]
    assert r.json()[0]["body"]["kind"] == "run.created"
    r = await api.client.get(f"/api/runs/{run_id}/events", params={"after": 10, "limit": 5})
    assert [e["seq"] for e in r.json()] == [11, 12, 13, 14, 15]
    last = stored[-1].seq
    r = await api.client.get(f"/api/runs/{run_id}/events", params={"after": last})
    assert r.json() == []

    for path in ("", "/detail", "/events"):
        assert_problem(await api.client.get(f"/api/runs/nope{path}"), 404, "nope")
    assert_problem(await api.client.get(f"/api/runs/{run_id}/events?after=-1"), 422, "after")
    # beyond what SQLite can bind: refused, not a crash
    too_big = 2**63
    assert_problem(await api.client.get(f"/api/runs/{run_id}/events?after={too_big}"), 422, "after")
    assert_problem(await api.client.get(f"/api/runs/{run_id}/events?limit=0"), 422, "limit")


# --- submitting ------------------------------------------------------------------------------


async def test_submit_answers_201_with_location_and_refuses_bad_workflows(api: Api) -> None:
    r = await api.client.post("/api/runs", json={"toml": NOOP})
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]
    assert r.headers["location"] == f"/api/runs/{run_id}"
    assert (await api.client.get(r.headers["location"])).status_code == 200

    unknown_kind = 'name = "x"\n\n[[tasks]]\nid = "a"\nkind = "nop"\n'
    body = assert_problem(
        await api.client.post("/api/runs", json={"toml": unknown_kind}),
        422,
        "request body:5:",
        "unknown task kind 'nop'",
    )
    assert body["line"] == 5
    assert body["source"] == "request body"
    broken = 'name = "x"\n[[tasks]\nid = "a"\n'
    assert_problem(
        await api.client.post("/api/runs", json={"toml": broken}),
        422,
        "request body:2:",
        "invalid TOML",
    )
    cycle = (
        'name = "x"\n[[tasks]]\nid = "a"\nkind = "noop"\nneeds = ["b"]\n'
        '[[tasks]]\nid = "b"\nkind = "noop"\nneeds = ["a"]\n'
    )
    assert_problem(await api.client.post("/api/runs", json={"toml": cycle}), 422, "request body")
    assert_problem(await api.client.post("/api/runs", json={}), 422, "toml")
    assert_problem(await api.client.post("/api/runs", json={"toml": ""}), 422, "toml")
    assert_problem(await api.client.post("/api/runs", json={"toml": NOOP, "force": "yes"}), 422)
    assert_problem(
        await api.client.post(
            "/api/runs", content=b'{"toml": ', headers={"content-type": "application/json"}
        ),
        422,
    )
    await api.finish(run_id)


async def test_a_run_keeps_the_source_it_was_submitted_with(api: Api) -> None:
    r = await api.client.post("/api/runs", json={"toml": NOOP, "origin": "ci/noop.toml"})
    source = (await api.client.get(f"/api/runs/{r.json()['run_id']}/source")).json()
    assert source == {
        "format": "toml",
        "text": NOOP,
        "origin": "ci/noop.toml",
        "size": len(NOOP),
        "truncated": False,
    }
    await api.finish(r.json()["run_id"])
    data = {"name": "as-data", "tasks": [{"id": "a", "kind": "noop"}]}
    module = "import runtui\nflow = runtui.Flow('as-data')\n"
    r = await api.client.post(
        "/api/runs",
        json={"workflow": data, "source": {"format": "python", "text": module, "size": 9000}},
    )
    source = (await api.client.get(f"/api/runs/{r.json()['run_id']}/source")).json()
    assert (source["format"], source["text"]) == ("python", module)
    assert (source["size"], source["truncated"]) == (9000, True)  # the client had cut it
    await api.finish(r.json()["run_id"])
    r = await api.client.post("/api/runs", json={"workflow": data})
    source = (await api.client.get(f"/api/runs/{r.json()['run_id']}/source")).json()
    assert source["format"] == "rendered"
    assert source["text"] == 'name = "as-data"\n\n[[tasks]]\nid = "a"\nkind = "noop"\n'
    await api.finish(r.json()["run_id"])

    both = {"toml": NOOP, "source": {"format": "toml", "text": NOOP}}
    assert_problem(await api.client.post("/api/runs", json=both), 422, "source")
    assert_problem(await api.client.get("/api/runs/nope/source"), 404)


UNSAFE = {
    "lookaround": (
        '[[policies]]\nid = "words"\ntype = "content_policy"\nseverity = "low"\n'
        'pattern = "(?<=key=)secret"\n',
        "request body:9: policies[0] (id=words).pattern: invalid regex",
    ),
    "nul": (
        '[[tasks]]\nid = "b"\nkind = "shell"\ncmd = "echo \\u0000"\n',
        "request body:8: tasks[1] (id=b).cmd: contains a NUL byte",
    ),
    "huge duration": (
        '[[tasks]]\nid = "b"\nkind = "sleep"\nseconds = 1e300\n',
        "request body:8: tasks[1] (id=b).seconds: Input should be less than",
    ),
    "long name": ('[[tasks]]\nid = "b"\nkind = "noop"\nname = "' + "n" * 100_000 + '"\n', ""),
    "deep nesting": ("deep = " + "[" * 500 + "]" * 500 + "\n", "nested more than 32 levels"),
}


async def test_submit_refuses_unsafe_workflows_with_422_never_500(api: Api) -> None:
    head = 'name = "bad"\n[[tasks]]\nid = "a"\nkind = "noop"\n'
    for case, (body, fragment) in UNSAFE.items():
        r = await api.client.post("/api/runs", json={"toml": head + body})
        assert r.status_code == 422, (case, r.text)
        assert fragment in assert_problem(r, 422, "request body")["detail"], case
    for depth in (500, 100_000):  # the JSON body itself nested deeper than any decoder likes
        deep = b'{"toml": ' + b"[" * depth + b"]" * depth + b"}"
        r = await api.client.post(
            "/api/runs", content=deep, headers={"content-type": "application/json"}
        )
        assert_problem(r, 422)
    assert (await api.client.get("/api/runs")).json()["runs"] == []


async def test_a_blocked_workflow_is_refused_with_409_unless_forced(api: Api) -> None:
    for _ in range(3):  # three failures in a row block the workflow
        await api.finish(await api.submit(FAILING))
    r = await api.client.post("/api/runs", json={"toml": FAILING})
    assert_problem(r, 409, "blocked")
    r = await api.client.post("/api/runs", json={"toml": FAILING, "force": True})
    assert r.status_code == 201
    await api.finish(r.json()["run_id"])
    health = {h["workflow"]: h for h in (await api.client.get("/api/health")).json()}
    assert health["failing"]["health"] == "blocked"
    assert health["failing"]["reasons"]


# --- approvals -------------------------------------------------------------------------------


async def test_approve_then_a_second_decision_is_409_naming_the_first(api: Api) -> None:
    run_id = await api.submit(GATE)
    pending = await api.pending(run_id)
    listed = (await api.client.get("/api/approvals")).json()
    assert [a["approval_id"] for a in listed] == [pending["approval_id"]]
    assert pending["prompt"] == "ship it?"
    assert pending["task_id"] == "gate"

    assert_problem(
        await api.client.post(f"/api/runs/{run_id}/approve", json={"approval_id": "nope"}),
        404,
        "nope",
    )
    assert_problem(await api.client.post("/api/runs/nope/approve", json={}), 404, "nope")
    r = await api.client.post(
        f"/api/runs/{run_id}/approve", json={"by": "ann", "reason": "looks good"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"approval_id": pending["approval_id"], "decision": "approve"}
    assert (await api.finish(run_id))["status"] == "succeeded"
    assert (await api.client.get("/api/approvals")).json() == []

    again = {"approval_id": pending["approval_id"]}
    for verb, body in (("approve", again), ("reject", {**again, "reason": "no"})):
        problem = assert_problem(
            await api.client.post(f"/api/runs/{run_id}/{verb}", json=body),
            409,
            pending["approval_id"],
            f"approve by {OWNER} (as ann)",
        )
        assert problem["first_decision"] == f"approve by {OWNER} (as ann)"
    # nothing pending any more: approving "the oldest" is a conflict, not a crash
    assert_problem(await api.client.post(f"/api/runs/{run_id}/approve", json={}), 409)


async def test_reject_needs_a_reason_and_fails_the_run(api: Api) -> None:
    run_id = await api.submit(GATE)
    pending = await api.pending(run_id)
    other = await api.submit(GATE)
    other_pending = await api.pending(other)
    # an approval of another run is not this run's
    assert_problem(
        await api.client.post(
            f"/api/runs/{run_id}/reject",
            json={"approval_id": other_pending["approval_id"], "reason": "x"},
        ),
        404,
        "does not belong",
    )
    assert_problem(await api.client.post(f"/api/runs/{run_id}/reject", json={}), 422, "reason")
    assert_problem(await api.client.post(f"/api/runs/{run_id}/reject", json={"reason": "  "}), 422)
    r = await api.client.post(
        f"/api/runs/{run_id}/reject", json={"reason": "not today", "by": "bob"}
    )
    assert r.json() == {"approval_id": pending["approval_id"], "decision": "reject"}
    run = await api.finish(run_id)
    assert run["status"] == "failed"
    assert run["termination_reason"] == "approval_rejected"
    problem = assert_problem(
        await api.client.post(
            f"/api/runs/{run_id}/approve", json={"approval_id": pending["approval_id"]}
        ),
        409,
        f"reject by {OWNER} (as bob)",
    )
    assert problem["first_decision"] == f"reject by {OWNER} (as bob)"
    # plan edits are for plan approvals only, and malformed edits never reach the runtime
    assert_problem(
        await api.client.post(f"/api/runs/{other}/approve", json={"edits": {"skip": ["ship"]}}),
        422,  # the request does not fit that kind of approval: invalid input, as in every mode
        "plan approvals",
    )
    assert_problem(
        await api.client.post(f"/api/runs/{other}/approve", json={"edits": {"skip": 5}}), 422
    )
    assert_problem(
        await api.client.post(f"/api/runs/{other}/approve", json={"edits": {"drop": []}}), 422
    )
    await api.client.post(f"/api/runs/{other}/cancel", json={})
    await api.finish(other)


PLAN = """
name = "planned"
hitl = "approve_plan"
[[tasks]]
id = "a"
kind = "noop"
[[tasks]]
id = "b"
kind = "noop"
needs = ["a"]
"""


async def test_plan_edits_are_validated_before_they_reach_the_kernel(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = await api.submit(PLAN)
    pending = await api.pending(run_id)
    assert pending["kind"] == "plan"
    for edits in ({"skip": 5}, {"skip": "b"}, {"skip": [1]}, {"drop": ["b"]}):
        assert_problem(
            await api.client.post(f"/api/runs/{run_id}/approve", json={"edits": edits}), 422
        )
    assert_problem(
        await api.client.post(f"/api/runs/{run_id}/approve", json={"edits": {"skip": ["zz"]}}),
        404,
        "zz",
    )
    r = await api.client.post(f"/api/runs/{run_id}/approve", json={"edits": {"skip": ["b"]}})
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "approve_with_edits"
    assert (await api.finish(run_id))["status"] == "succeeded"
    detail = (await api.client.get(f"/api/runs/{run_id}/detail")).json()
    assert {t["task_id"]: t["status"] for t in detail["tasks"]} == {"a": "done", "b": "skipped"}
    assert "crashed" not in caplog.text  # no malformed edit ever reached (and killed) the kernel


# --- rewind, resume, cancel ------------------------------------------------------------------


async def test_rewind_dry_run_changes_nothing_and_the_fork_leaves_the_parent_untouched(
    api: Api,
) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    # an active parent must be stopped first
    assert_problem(
        await api.client.post(f"/api/runs/{run_id}/rewind", json={"wave": 0}),
        409,
        "stop it first",
    )
    await api.client.post(f"/api/runs/{run_id}/approve", json={})
    parent = await api.finish(run_id)
    parent_events = (await api.client.get(f"/api/runs/{run_id}/events")).json()
    runs_before = len((await api.client.get("/api/runs")).json()["runs"])

    r = await api.client.post(f"/api/runs/{run_id}/rewind", json={"wave": 1, "dry_run": True})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["run_id"] == run_id
    assert plan["wave"] == 1
    assert plan["new_run_id"] is None
    assert plan["kept"] == {"0": ["build"], "1": ["gate"]}
    assert plan["rerun"] == {"2": ["ship"]}
    assert len((await api.client.get("/api/runs")).json()["runs"]) == runs_before

    r = await api.client.post(f"/api/runs/{run_id}/rewind", json={"wave": 0})
    assert r.status_code == 201, r.text
    fork_id = r.json()["new_run_id"]
    assert r.headers["location"] == f"/api/runs/{fork_id}"
    assert r.json()["kept"] == {"0": ["build"]}
    fork = (await api.client.get(f"/api/runs/{fork_id}")).json()
    assert fork["parent_run_id"] == run_id
    assert fork["rewound_from_wave"] == 0
    await api.pending(fork_id)  # the fork re-executes the gate
    await api.client.post(f"/api/runs/{fork_id}/approve", json={})
    assert (await api.finish(fork_id))["status"] == "succeeded"

    assert (await api.client.get(f"/api/runs/{run_id}")).json() == parent
    assert (await api.client.get(f"/api/runs/{run_id}/events")).json() == parent_events
    forks = (await api.client.get(f"/api/runs/{run_id}/detail")).json()["forks"]
    assert [f["run_id"] for f in forks] == [fork_id]

    assert_problem(
        await api.client.post(f"/api/runs/{run_id}/rewind", json={"wave": 3}), 422, "wave"
    )
    assert_problem(
        await api.client.post(f"/api/runs/{run_id}/rewind", json={"wave": -1}), 422, "wave"
    )
    assert_problem(await api.client.post("/api/runs/nope/rewind", json={"wave": 0}), 404)


async def test_cancel_ends_a_live_run_and_refuses_a_finished_one(api: Api) -> None:
    run_id = await api.submit(GATE)
    await api.pending(run_id)
    r = await api.client.post(f"/api/runs/{run_id}/cancel", json={})
    assert r.status_code == 200, r.text
    assert r.json() == {"run_id": run_id, "cancelled": True}
    run = await api.finish(run_id)
    assert run["status"] == "cancelled"
    assert run["result"] == "stopped"
    assert_problem(
        await api.client.post(f"/api/runs/{run_id}/cancel", json={}), 409, "nothing to cancel"
    )
    assert_problem(await api.client.post("/api/runs/nope/cancel", json={}), 404, "nope")
    # a body is optional: a bare POST (no body, no content type) is fine too
    r = await api.client.post("/api/runs/nope/cancel")
    assert_problem(r, 404)


async def test_resume_picks_up_a_live_run_and_is_409_when_active(db_path: Path) -> None:
    async with serving(db_path) as (rt, _server):
        run_id = await rt.submit(wf(GATE))
        sub = rt.subscribe(run_id=run_id)
        with anyio.fail_after(30):
            while rt.status_of(run_id) is not RunStatus.AWAITING_APPROVAL:
                await sub.receive()
        sub.close()
    # a server whose runtime did not resume anything: the run is live but nobody drives it
    async with (
        serving(db_path, resume=False) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH) as client,
    ):
        assert run_id not in rt.active_runs
        r = await client.post(f"/api/runs/{run_id}/resume", json={})
        assert r.status_code == 200, r.text
        assert r.json() == {"run_id": run_id, "resumed": True}
        assert run_id in rt.active_runs
        assert_problem(await client.post(f"/api/runs/{run_id}/resume"), 409, "already active")
        api = Api(rt, server, client)
        await api.pending(run_id)
        await client.post(f"/api/runs/{run_id}/approve", json={})
        assert (await api.finish(run_id))["status"] == "succeeded"
        assert_problem(await client.post(f"/api/runs/{run_id}/resume"), 409, "terminal")
        assert_problem(await client.post("/api/runs/nope/resume"), 404, "nope")


# --- history, health, probes -----------------------------------------------------------------


async def test_pipeline_runs_have_the_run_history_shapes_exactly(api: Api) -> None:
    ok = [await api.submit(NOOP) for _ in range(3)]
    bad = await api.submit(FAILING)
    live = await api.submit(GATE)
    for run_id in [*ok, bad]:
        await api.finish(run_id)
    await api.pending(live)

    r = await api.client.get("/api/pipeline/runs?limit=100&result=success")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"runs", "total"}
    assert body["total"] == 3
    assert {s["run_id"] for s in body["runs"]} == set(ok)
    for summary in body["runs"]:
        assert set(summary) == SUMMARY_FIELDS
        assert summary["result"] == "success"
        assert summary["stages_executed"] == ["a", "b"]
        assert summary["stages_failed"] == []
        assert summary["retry_count"] == 0
        assert summary["failure_reason"] is None
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", summary["ended_at"]
        )
        assert summary["started_at"] <= summary["ended_at"]
    ended = [s["ended_at"] for s in body["runs"]]
    assert ended == sorted(ended, reverse=True)

    everything = (await api.client.get("/api/pipeline/runs")).json()
    assert everything["total"] == 4  # finished runs only: the live one has no summary yet
    failed = (await api.client.get("/api/pipeline/runs?result=failed")).json()
    assert failed["total"] == 1
    (summary,) = failed["runs"]
    assert summary["run_id"] == bad
    assert summary["stages_failed"] == ["boom"]
    assert summary["failure_reason"]
    assert (await api.client.get("/api/pipeline/runs?limit=2")).json()["total"] == 4
    assert len((await api.client.get("/api/pipeline/runs?limit=2")).json()["runs"]) == 2

    one = await api.client.get(f"/api/pipeline/runs/{bad}")
    assert one.status_code == 200
    assert one.json() == summary
    assert_problem(await api.client.get(f"/api/pipeline/runs/{live}"), 404, live)
    assert_problem(await api.client.get("/api/pipeline/runs/nope"), 404, "nope")
    assert_problem(await api.client.get("/api/pipeline/runs?result=meh"), 422, "result")
    assert_problem(await api.client.get("/api/pipeline/runs?limit=0"), 422, "limit")
    await api.client.post(f"/api/runs/{live}/cancel", json={})
    await api.finish(live)


async def test_health_lists_every_workflow(api: Api) -> None:
    assert (await api.client.get("/api/health")).json() == []
    await api.finish(await api.submit(NOOP))
    await api.finish(await api.submit(FAILING))
    health = {h["workflow"]: h for h in (await api.client.get("/api/health")).json()}
    assert set(health) == {"noop", "failing"}
    assert health["noop"]["health"] == "healthy"
    assert health["failing"]["health"] != "healthy"
    assert health["failing"]["runs_considered"] == 1


async def test_probes(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        r = await anonymous.get("/healthz")
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}
        assert (await anonymous.get("/readyz")).status_code == 401
    r = await api.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"supervisor": True, "writer": True, "writable": True, "migrations": True},
    }


async def test_not_ready_while_another_process_holds_the_write_lock(api: Api) -> None:
    other = sqlite3.connect(api.runtime.store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        r = await api.client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["writable"] is False
        other.execute("ROLLBACK")
        assert (await api.client.get("/readyz")).status_code == 200
    finally:
        other.close()


async def test_not_ready_while_stopping(local_api: Api) -> None:
    api = local_api
    assert (await api.client.get("/readyz")).status_code == 200
    api.local.shutdown.set()  # shutting down: no longer ready
    r = await api.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not ready"


def parse_prometheus(text: str) -> dict[str, float]:
    """Samples by `name{labels}`; every sample's family must have HELP and TYPE lines."""
    typed: set[str] = set()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
        assert match, f"not a Prometheus sample: {line!r}"
        name = match.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, f"{name} has no TYPE line"
        samples[name + (match.group(2) or "")] = float(match.group(3))
    return samples


async def test_metrics_parse_and_move_with_the_runs(api: Api) -> None:
    async def metrics() -> dict[str, float]:
        r = await api.client.get("/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        return parse_prometheus(r.text)

    before = await metrics()
    for name in (
        'runtui_runs{result="success"}',
        "runtui_phase_transitions_total",
        "runtui_pending_approvals",
        "runtui_stream_clients",
        "runtui_commit_seconds_count",
        'runtui_commit_seconds_bucket{le="+Inf"}',
        "runtui_events_committed_total",
    ):
        assert name in before, name
    await api.finish(await api.submit(NOOP))
    gated = await api.submit(GATE)
    await api.pending(gated)
    after = await metrics()
    assert after['runtui_runs{result="success"}'] == before['runtui_runs{result="success"}'] + 1
    assert after['runtui_runs{result="live"}'] == 1
    assert after["runtui_pending_approvals"] == 1
    assert after["runtui_active_runs"] == 1
    assert after["runtui_phase_transitions_total"] > before["runtui_phase_transitions_total"]
    assert after["runtui_events_committed_total"] > before["runtui_events_committed_total"]
    assert after["runtui_commit_seconds_count"] > before["runtui_commit_seconds_count"]
    buckets = [v for k, v in after.items() if k.startswith("runtui_commit_seconds_bucket")]
    assert buckets == sorted(buckets)  # cumulative
    await api.client.post(f"/api/runs/{gated}/cancel", json={})
    await api.finish(gated)
    final = await metrics()
    assert final["runtui_pending_approvals"] == 0
    assert final['runtui_runs{result="stopped"}'] == 1


async def test_connections_have_nagle_off(local_api: Api) -> None:
    """With Nagle on, a response written in two parts waits for the client's delayed ACK:
    40 ms per request on a kept-alive connection, and stream frames held back alike. (The API
    process serves the same listening socket, `listen`'s, so its connections inherit it too.)"""
    import socket

    for _ in range(3):
        assert (await local_api.client.get("/healthz")).status_code == 200
    connections = list(local_api.local.server.server_state.connections)
    assert connections
    for protocol in connections:
        sock = protocol.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
