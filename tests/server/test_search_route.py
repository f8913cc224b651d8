"""`GET /api/runs/{id}/search` against a real uvicorn (both server shapes): the whole log
searched, paged, filtered, hostile text taken literally, problem+json for what it cannot answer
or will not take; and `HttpClient` answers exactly what the embedded port answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.client import HttpClient
from runtui.domain.log_search import MAX_MATCHES_PAGE, MAX_QUERY_CHARS
from runtui.embedded import EmbeddedRuntime
from tests.server.conftest import TOKEN, Api, serving
from tests.server.test_api import assert_problem

pytestmark = pytest.mark.anyio

CHATTY = r"""
name = "chatty"
[[tasks]]
id = "talk"
kind = "shell"
cmd = "for i in $(seq 1 40); do echo line $i; done; echo '100%_\\ done [bold]'; exit 3"
[[tasks]]
id = "quiet"
kind = "shell"
cmd = "echo LINE from quiet"
"""


async def test_search_the_whole_log(api: Api) -> None:
    run_id = await api.submit(CHATTY)
    await api.finish(run_id)
    url = f"/api/runs/{run_id}/search"

    everything = (await api.client.get(url, params={"q": "line", "limit": 1000})).json()
    assert everything["total_exact"] is True
    assert everything["complete"] is True
    assert everything["total"] == len(everything["seqs"]) >= 2  # both tasks' output
    assert everything["first_rank"] == 1

    newest = (await api.client.get(url, params={"q": "line", "limit": 1})).json()
    assert newest["seqs"] == everything["seqs"][-1:]
    assert newest["more"] is True
    before = {"q": "LINE", "before_seq": newest["seqs"][0], "limit": 1000}
    older = (await api.client.get(url, params=before)).json()
    assert older["seqs"] + newest["seqs"] == everything["seqs"]

    hostile = (await api.client.get(url, params={"q": "%_\\ done [bold]"})).json()
    assert len(hostile["seqs"]) == 1
    assert (await api.client.get(url, params={"q": "%"})).json()["seqs"] == hostile["seqs"]

    quiet = {"q": "line", "task_id": "quiet", "limit": 1000}
    only_quiet = (await api.client.get(url, params=quiet)).json()["seqs"]
    assert only_quiet
    assert set(only_quiet) < set(everything["seqs"])
    status = {"q": "", "kinds": "task.status,run.status", "limit": 1000}
    assert (await api.client.get(url, params=status)).json()["total"] > 0
    no_output = {"q": "line", "exclude_kinds": "attempt.output"}
    assert (await api.client.get(url, params=no_output)).json()["seqs"] == []


async def test_problems(api: Api) -> None:
    run_id = await api.submit(CHATTY)
    await api.finish(run_id)
    url = f"/api/runs/{run_id}/search"
    assert_problem(await api.client.get("/api/runs/nope/search", params={"q": "x"}), 404, "nope")
    both = {"q": "x", "after_seq": 1, "before_seq": 9}
    assert_problem(await api.client.get(url, params=both), 422, "not both")
    assert_problem(await api.client.get(url, params={"kinds": "no.such"}), 422, "no.such")
    for bad in (
        {"q": "x" * (MAX_QUERY_CHARS + 1)},
        {"limit": MAX_MATCHES_PAGE + 1},
        {"limit": 0},
        {"after_seq": -1},
        {"kinds": "run.status;DROP"},
        {"task_id": "t" * 1001},
        {"q": "nul\x00"},
    ):
        assert (await api.client.get(url, params=bad)).status_code == 422, bad


async def test_the_http_client_answers_what_the_embedded_port_answers(db_path: Path) -> None:
    async with serving(db_path) as (rt, server), HttpClient(server.url, TOKEN) as remote:
        here = EmbeddedRuntime(rt)
        run_id = await remote.submit_toml(CHATTY)
        await rt.wait(run_id)
        for text, kwargs in (
            ("line", {}),
            ("line", {"limit": 1}),
            ("LINE", {"after_seq": 5, "limit": 1}),
            ("line", {"before_seq": 30, "limit": 4}),
            ("%_\\", {}),
            ("", {"kinds": ["task.status"]}),
            ("", {"kinds": []}),
            ("line", {"exclude_kinds": ["attempt.output"]}),
            ("line", {"task_id": "quiet"}),
        ):
            got = await remote.search_events(run_id, text, **kwargs)  # type: ignore[arg-type]
            assert got == await here.search_events(run_id, text, **kwargs), (text, kwargs)  # type: ignore[arg-type]
