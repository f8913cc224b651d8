"""The campaign-lifecycle document's API, on any port (embedded or a server's).

    async with runtui.open("runs.db") as rt:
        run_id = await initialize_or_resume_run(rt, workflow, run_id=saved_id)
        while not (run := await step_run(rt, run_id)).status.is_terminal:
            print("wave", run.wave_index, "done:", run.status.value)
        # or: run = await run_until_completion(rt, run_id)

`step_run` returns after the run's next wave completes, or once the run has settled (it ended,
or it waits for a person); `run_until_completion` returns once it has ended, and with
`stop_at_gate=True` raises `RunLifecycleError` instead of waiting for a person.
"""

from __future__ import annotations

import contextlib

import anyio

from runtui.api import Port
from runtui.domain.errors import ConflictError, NotFoundError
from runtui.domain.events import RunStatusChanged, WaveCompleted
from runtui.domain.status import RunStatus
from runtui.domain.views import RunRow
from runtui.domain.workflow import Workflow
from runtui.rok import RunLifecycleError


async def initialize_run(rt: Port, workflow: Workflow, *, force: bool = False) -> str:
    """Start a run of `workflow`; its id."""
    return await rt.submit(workflow, force=force)


async def initialize_or_resume_run(
    rt: Port, workflow: Workflow, run_id: str | None = None, *, force: bool = False
) -> str:
    """Go on with `run_id` if it is still live (resuming it where nobody drives it); start a
    new run of `workflow` if there is no such run or it has ended. Its id either way."""
    if run_id is not None:
        try:
            run = await rt.get_run(run_id)
        except NotFoundError:
            run = None
        if run is not None and run.workflow != workflow.name:
            raise RunLifecycleError(
                f"run {run_id} is a run of {run.workflow}, not of {workflow.name}"
            )
        if run is not None and not run.status.is_terminal:
            with contextlib.suppress(ConflictError):  # already driven: going on is what was asked
                await rt.resume(run_id)
            return run_id
    return await initialize_run(rt, workflow, force=force)


async def step_run(rt: Port, run_id: str) -> RunRow:
    """Return after the run's next wave completes, or once it has settled."""
    run = await rt.get_run(run_id)
    if run.status.is_terminal:
        return run
    async with anyio.create_task_group() as tg:
        stepped: list[RunRow] = []

        async def next_wave() -> None:
            async for env in rt.events(run_id, after=run.last_seq):
                body = env.body
                if isinstance(body, WaveCompleted) or (
                    isinstance(body, RunStatusChanged) and body.status.is_terminal
                ):
                    break
            stepped.append(await rt.get_run(run_id))
            tg.cancel_scope.cancel()

        async def settled() -> None:
            stepped.append(await rt.wait(run_id))
            tg.cancel_scope.cancel()

        tg.start_soon(next_wave)
        tg.start_soon(settled)
    return stepped[0]


async def run_until_completion(rt: Port, run_id: str, *, stop_at_gate: bool = False) -> RunRow:
    """Return once the run has ended (approvals decided by people on the way, however long
    that takes); with `stop_at_gate`, raise `RunLifecycleError` when it waits for one."""
    while True:
        run = await rt.wait(run_id)
        if run.status.is_terminal:
            return run
        if stop_at_gate:
            raise RunLifecycleError(f"run {run_id} waits for an approval")
        async for env in rt.events(run_id, after=run.last_seq):
            if isinstance(env.body, RunStatusChanged):
                break  # it moved on: settle again


async def list_active_runs(rt: Port) -> list[RunRow]:
    """Every run that has not ended, newest first."""
    runs: list[RunRow] = []
    cursor: str | None = None
    while True:
        page = await rt.list_runs(live=True, limit=1000, cursor=cursor)
        runs += page.runs
        if page.next_cursor is None:
            return runs
        cursor = page.next_cursor


__all__ = [
    "RunLifecycleError",
    "RunStatus",
    "initialize_or_resume_run",
    "initialize_run",
    "list_active_runs",
    "run_until_completion",
    "step_run",
]
