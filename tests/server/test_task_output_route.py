"""`GET /api/runs/{id}/output` against a real uvicorn (both server shapes): pages of one
attempt's output, one stream, problem+json for what it cannot answer; and `HttpClient` reads
exactly what the embedded port reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.client import HttpClient
from runtui.embedded import EmbeddedRuntime
from tests.server.conftest import TOKEN, Api, serving
from tests.server.test_api import assert_problem

pytestmark = pytest.mark.anyio

NOISY = """
name = "noisy"
[[tasks]]
id = "talk"
kind = "shell"
cmd = "for i in $(seq 1 30); do echo out $i; done; echo 'bad [thing]' >&2; exit 4"
"""


async def test_pages_of_an_attempts_output(api: Api) -> None:
    run_id = await api.submit(NOISY)
    await api.finish(run_id)
    url = f"/api/runs/{run_id}/output"

    params: dict[str, str | int] = {"task_id": "talk", "attempt": 0}
    whole = (await api.client.get(url, params={**params, "limit": 1000})).json()
    assert whole["more"] is False
    everything = [(line["stream"], line["text"]) for line in whole["lines"]]
    # the two streams are two pipes: their lines interleave as they were read
    assert [t for s, t in everything if s == "stdout"] == [f"out {i}" for i in range(1, 31)]
    assert [t for s, t in everything if s == "stderr"] == ["bad [thing]"]

    tail = (await api.client.get(url, params={**params, "limit": 5})).json()
    assert len(tail["lines"]) == 5
    assert tail["more"] is True
    first = tail["lines"][0]
    before = f"{first['seq']}:{first['index']}"
    older = (await api.client.get(url, params={**params, "before": before})).json()
    assert older["more"] is False
    assert older["lines"] + tail["lines"] == whole["lines"]

    errors = (
        await api.client.get(
            url, params={"task_id": "talk", "attempt": 0, "after": "0:0", "stream": "stderr"}
        )
    ).json()
    assert [(line["stream"], line["text"]) for line in errors["lines"]] == [
        ("stderr", "bad [thing]")
    ]


async def test_problems(api: Api) -> None:
    run_id = await api.submit(NOISY)
    await api.finish(run_id)
    url = f"/api/runs/{run_id}/output"
    r = await api.client.get("/api/runs/nope/output", params={"task_id": "talk", "attempt": 0})
    assert_problem(r, 404, "nope")
    r = await api.client.get(url, params={"task_id": "ghost", "attempt": 0})
    assert_problem(r, 404, "ghost")
    both = {"task_id": "talk", "attempt": 0, "after": "1:0", "before": "9:0"}
    assert_problem(await api.client.get(url, params=both), 422, "not both")
    bad = {"task_id": "talk", "attempt": 0, "after": "12"}
    assert (await api.client.get(url, params=bad)).status_code == 422
    r = await api.client.get(url, params={"task_id": "talk", "attempt": 0, "limit": 5001})
    assert r.status_code == 422


async def test_the_http_client_reads_what_the_embedded_port_reads(db_path: Path) -> None:
    async with serving(db_path) as (rt, server), HttpClient(server.url, TOKEN) as remote:
        here = EmbeddedRuntime(rt)
        run_id = await remote.submit_toml(NOISY)
        await rt.wait(run_id)
        for kwargs in (
            {},
            {"limit": 3},
            {"after": (0, 0), "limit": 7},
            {"before": (10**6, 0), "limit": 4},
            {"after": (0, 0), "stream": "stderr"},
        ):
            assert await remote.task_output(run_id, "talk", 0, **kwargs) == await here.task_output(  # type: ignore[arg-type]
                run_id,
                "talk",
                0,
                **kwargs,  # type: ignore[arg-type]
            ), kwargs
