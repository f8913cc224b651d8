"""`GET /api/runs/{run_id}/output`: one attempt's output, a page at a time (`Port.task_output`).

The task and attempt are query parameters, not path segments: a task id is whatever the run
declared, and a `/` in a path segment does not survive routing. Positions are `SEQ:INDEX` (the
`seq` and `index` of an `OutputLine`), so a client pages with the first or last line it has.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import FastAPI, Query
from fastapi.responses import Response

from runtui.api import Port
from runtui.domain.errors import InvalidInputError, NotFoundError
from runtui.domain.task_output import DEFAULT_PAGE_LINES, MAX_PAGE_LINES, OutputAt, parse_at
from runtui.domain.views import TaskOutput
from runtui.server.respond import js
from runtui.server.schemas import openapi_responses

_AT = r"^[0-9]{1,18}:[0-9]{1,9}$"


def add_task_routes(app: FastAPI, reader: Port) -> None:
    @app.get(
        "/api/runs/{run_id}/output",
        tags=["runs"],
        operation_id="getTaskOutput",
        summary="One attempt's output lines, oldest first: after a position, the last before"
        " one, or the last of all",
        responses=openapi_responses(
            "A page of the attempt's output", TaskOutput, errors=(401, 403, 404, 422)
        ),
    )
    async def task_output(
        run_id: str,
        task_id: Annotated[str, Query(min_length=1, max_length=1000)],
        attempt: Annotated[int, Query(ge=0, le=1_000_000)],
        after: Annotated[
            str | None, Query(pattern=_AT, description="SEQ:INDEX of the last line you have")
        ] = None,
        before: Annotated[
            str | None, Query(pattern=_AT, description="SEQ:INDEX of the first line you have")
        ] = None,
        stream: Literal["stdout", "stderr", "poll"] | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_LINES)] = DEFAULT_PAGE_LINES,
    ) -> Response:
        await reader.get_run(run_id)
        if not any(t.task_id == task_id for t in await reader.tasks_of(run_id)):
            raise NotFoundError(f"run {run_id} has no task {task_id}")
        return js(
            await reader.task_output(
                run_id,
                task_id,
                attempt,
                after=_at("after", after),
                before=_at("before", before),
                stream=stream,
                limit=limit,
            )
        )


def _at(name: str, text: str | None) -> OutputAt | None:
    if text is None:
        return None
    try:
        return parse_at(text)
    except ValueError as exc:
        raise InvalidInputError(f"{name}: {exc}") from None
