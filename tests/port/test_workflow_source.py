"""`Port.workflow_source`: the text a run was started from, the same embedded, through a server,
beside the runtime that drives the run, and on either store (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

import runtui
from runtui.api import Port
from runtui.domain.errors import NotFoundError
from runtui.domain.events import PendingEvent, RunCreated, TaskDeclared
from runtui.domain.tasks import TaskKind
from runtui.domain.workflow_source import MAX_SOURCE_BYTES, SourceFormat
from runtui.store import open_store
from runtui.workflows import parse_workflow

pytestmark = pytest.mark.anyio

WORKFLOW = """# the comments and the order stay as written
name = "sourced"

[[tasks]]
id = "only"
kind = "noop"   # nothing to do
"""


async def test_a_file_run_shows_the_file_as_written(port: Port, tmp_path: Path) -> None:
    path = tmp_path / "sourced.toml"
    path.write_text(WORKFLOW)
    run_id = await port.submit_file(path)
    source = await port.workflow_source(run_id)
    assert (source.format, source.text, source.origin) == (SourceFormat.TOML, WORKFLOW, str(path))
    assert (source.size, source.truncated) == (len(WORKFLOW), False)


async def test_a_flow_run_shows_the_module_that_built_it_and_a_fork_keeps_it(
    port: Port,
) -> None:
    flow = runtui.Flow("from-python")
    flow.noop("first")
    run_id = await port.submit(flow.build())
    await port.wait(run_id)
    source = await port.workflow_source(run_id)
    assert source.format is SourceFormat.PYTHON
    assert __name__ in source.origin
    assert "async def test_a_flow_run_shows_the_module_that_built_it" in source.text

    fork = (await port.rewind(run_id, 0)).new_run_id
    assert fork is not None
    assert await port.workflow_source(fork) == source


async def test_a_long_source_is_cut_and_says_so(port: Port) -> None:
    text = WORKFLOW + "# padding\n" * (MAX_SOURCE_BYTES // 10)
    run_id = await port.submit(parse_workflow(text, source="long.toml"))
    source = await port.workflow_source(run_id)
    assert source.truncated
    assert source.size == len(text)
    assert len(source.text.encode()) == MAX_SOURCE_BYTES
    assert text.startswith(source.text)


async def test_an_unknown_run_has_no_source(port: Port) -> None:
    with pytest.raises(NotFoundError):
        await port.workflow_source("no-such-run")


async def test_a_run_recorded_without_its_source_shows_its_workflow_rendered(
    database: Path | str,
) -> None:
    """A run an older runtui created (its `run.created` has no source), on either store."""
    workflow = parse_workflow(WORKFLOW)
    async with open_store(database) as store:
        await store.writer.append_many(
            [
                PendingEvent(
                    "old-run",
                    RunCreated(
                        workflow="sourced",
                        workflow_spec=workflow.model_dump(mode="json"),
                        metadata={"file": "examples/sourced.toml"},
                    ),
                    1.0,
                ),
                PendingEvent(
                    "old-run", TaskDeclared(task_id="only", task_kind=TaskKind.NOOP, wave=0), 1.0, 0
                ),
            ]
        )
    async with runtui.open(database, resume=False, durability="fast") as rt:
        source = await rt.workflow_source("old-run")
    assert source.format is SourceFormat.RENDERED
    assert not source.original
    assert source.origin == "examples/sourced.toml"
    assert "#" not in source.text  # rendered: the comments are gone
    assert parse_workflow(source.text) == workflow
