"""A server restricts what workflows submitted over its API may do (422 naming the task), and
runs a submitted workflow in the directory the client names (its file's): in both API shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import AUTH, SHAPES, Api, serving, serving_apart

pytestmark = pytest.mark.anyio

SHELL = 'name = "sh"\n[[tasks]]\nid = "say"\nkind = "shell"\ncmd = "pwd"'
PYTHON = 'name = "py"\n[[tasks]]\nid = "call"\nkind = "python"\nfunction = "os:getcwd"'


@pytest.fixture(params=SHAPES)
async def restricted(db_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    serve = serving if request.param == "in-process" else serving_apart
    async with (
        serve(
            db_path, api_task_kinds=("noop", "gate", "python"), api_python_modules=("tests",)
        ) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield Api(rt, server, client)


async def test_a_kind_or_module_the_operator_did_not_allow_is_refused(restricted: Api) -> None:
    for text, field, what in [
        (SHELL, "tasks[0] (id=say).kind", "shell tasks are not allowed on this server"),
        (PYTHON, "tasks[0] (id=call).function", "module os is not allowed on this server"),
    ]:
        r = await restricted.client.post("/api/runs", json={"toml": text})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert what in r.json()["detail"]
    assert (await restricted.client.get("/api/runs")).json()["runs"] == []  # nothing started
    allowed = 'name = "ok"\n[[tasks]]\nid = "a"\nkind = "noop"'
    run = await restricted.finish(await restricted.submit(allowed))
    assert run["status"] == "succeeded"


async def test_a_submitted_workflow_runs_in_the_directory_it_names(
    api: Api, tmp_path: Path
) -> None:
    run_id = await api.submit(SHELL, base_dir=str(tmp_path))
    await api.finish(run_id)
    (attempt,) = await api.runtime.reader.attempts_of(run_id)
    assert attempt.output_tail == str(tmp_path)
    for bad, why in [("relative/dir", "not an absolute path"), ("/no/such/dir", "not a directory")]:
        r = await api.client.post("/api/runs", json={"toml": SHELL, "base_dir": bad})
        assert r.status_code == 422, r.text
        assert why in r.json()["detail"]
