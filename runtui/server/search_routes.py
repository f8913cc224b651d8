"""`GET /api/runs/{run_id}/search`: search a run's whole log (`Port.search_events`).

Kinds travel as one comma-separated parameter (`kinds=run.status,wave.completed`); the text as
`q`, any characters, at most `MAX_QUERY_CHARS` of them. The store bounds the rest (the page, the
time a search may scan, how many run at once), so a request answers in bounded time whatever
it asks for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import Response

from runtui.api import Port
from runtui.domain.log_search import (
    DEFAULT_MATCHES_PAGE,
    MAX_MATCHES_PAGE,
    MAX_QUERY_CHARS,
    MAX_TASK_ID_CHARS,
    LogMatches,
)
from runtui.server.respond import js
from runtui.server.schemas import openapi_responses

_SEQ = 2**62 - 1
_KINDS = r"^[a-z.,]{0,1000}$"


def add_search_routes(app: FastAPI, reader: Port) -> None:
    @app.get(
        "/api/runs/{run_id}/search",
        tags=["runs"],
        operation_id="searchRunEvents",
        summary="Search a run's whole log: the seqs of events whose shown text holds `q`"
        " (case-insensitive substring), the page nearest an anchor, and a bounded count",
        responses=openapi_responses(
            "Matching seqs and a count of all matches", LogMatches, errors=(401, 403, 404, 422)
        ),
    )
    async def search_events(
        run_id: str,
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
        after_seq: Annotated[int | None, Query(ge=0, le=_SEQ)] = None,
        before_seq: Annotated[int | None, Query(ge=0, le=_SEQ)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_MATCHES_PAGE)] = DEFAULT_MATCHES_PAGE,
        kinds: Annotated[
            str | None, Query(pattern=_KINDS, description="only these kinds, comma-separated")
        ] = None,
        exclude_kinds: Annotated[
            str | None, Query(pattern=_KINDS, description="not these kinds, comma-separated")
        ] = None,
        task_id: Annotated[str | None, Query(min_length=1, max_length=MAX_TASK_ID_CHARS)] = None,
    ) -> Response:
        await reader.get_run(run_id)
        return js(
            await reader.search_events(
                run_id,
                q,
                after_seq=after_seq,
                before_seq=before_seq,
                limit=limit,
                kinds=_split(kinds),
                exclude_kinds=_split(exclude_kinds),
                task_id=task_id,
            )
        )


def _split(kinds: str | None) -> list[str] | None:
    if kinds is None:
        return None
    return [k for k in kinds.split(",") if k]
