"""`HttpClient`: the port (`runtui.api.Port`) over a server's HTTP API and event stream.

Every read decodes the server's msgspec JSON straight into the domain's read models (`RunPage`,
`RunRow`, `EventEnvelope` through its tagged body union, ...). Errors come back as the errors
the embedded runtime raises (see `runtui.client.errors`), so callers treat both the same.

`subscribe()` follows the all-runs event stream and never gives up: when the connection drops
(the server stopped, was killed, the network went away) it reconnects with a backoff from
0.5 s to 5 s, sending the `Last-Event-ID` of the last event it yielded, so the server replays
exactly what was missed: no event is lost and none is yielded twice. `connected` says whether
the stream is up (and `on_state` is called on each change), for a UI to show.

This package imports neither the store, nor the actors, nor Textual (an import-linter
contract): a remote client needs the domain and httpx, nothing else.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx
import msgspec

from runtui.client.errors import (
    ApiError,
    ConflictError,
    InvalidRequestError,
    RemoteNotFoundError,
    ServerError,
    ServerUnreachableError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from runtui.client.sse import SseParser, sse_lines
from runtui.client.wire import Position, Resync, Retried, RewindPlan, Submitted
from runtui.domain.events import ApprovalRequested, EventEnvelope
from runtui.domain.health import WorkflowHealth
from runtui.domain.log_search import DEFAULT_MATCHES_PAGE, LogMatches
from runtui.domain.summary import RunSummary
from runtui.domain.task_output import DEFAULT_PAGE_LINES, OutputAt, format_at
from runtui.domain.views import (
    ApprovalRow,
    AttemptRow,
    AuditRows,
    IncidentRow,
    PhaseRow,
    RunDetail,
    RunPage,
    RunRow,
    TaskOutput,
    TaskRow,
    ViolationRow,
)
from runtui.domain.workflow import Workflow
from runtui.domain.workflow_source import SourceFormat, WorkflowSource
from runtui.following import wait_settled

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Requests: a refused connection fails in 5 s at most, an answer must come within 30 s.
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: Streams: the server sends a keepalive comment every 15 s, so 45 s of silence means the
#: connection is dead even if no RST ever arrived.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=45.0, connect=5.0)
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 5.0
#: Run details (tasks, attempts, approvals, ...) come in one request; a screen that reads
#: several of them in a row shares it. Any event of the run, or any mutation, drops it.
DETAIL_TTL_S = 0.25
EVENTS_PAGE = 5000  # the server's largest page


_HOST = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.%]*")  # a name, or IPv6


def server_url(text: str) -> str:
    """`text` as a server's base URL: `HOST:PORT` means `http://HOST:PORT`; anything but an
    http(s) URL with a host is an `InvalidRequestError` that shows the expected form."""
    url = text.strip()
    if "://" not in url:
        url = f"http://{url}"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not _HOST.fullmatch(parsed.host):
        raise InvalidRequestError(f"not a server URL: {text!r} (expected http://HOST:PORT)")
    return str(parsed).rstrip("/")


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _seg(value: str) -> str:
    return quote(value, safe="")


class _SummaryPage(msgspec.Struct):
    """`GET /api/pipeline/runs`: summaries (pydantic models, validated one by one) and total."""

    runs: list[dict[str, Any]]
    total: int


class HttpClient:
    """The runtime behind `url` (e.g. `http://127.0.0.1:8765`), as a `Port`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        user: str = "tui",
        on_state: Callable[[bool], object] | None = None,
        timeout: httpx.Timeout = REQUEST_TIMEOUT,
        stream_timeout: httpx.Timeout = STREAM_TIMEOUT,
        min_backoff: float = MIN_BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
        transport: httpx.AsyncBaseTransport | None = None,
        give_up_after: float | None = None,
    ) -> None:
        parsed = httpx.URL(server_url(url))
        self.url = str(parsed).rstrip("/")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
        self.description = f"remote: {host}:{port}"
        self.user = user
        self.on_state = on_state
        #: Whether the event stream is up. Optimistic until the first attempt says otherwise.
        self.connected = True
        self.last_error: str | None = None
        #: `events` and `wait` raise `ServerUnreachableError` after this long without the
        #: server (a command); None: they keep retrying (a UI, which shows "disconnected").
        self.give_up_after = give_up_after
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self._stream_timeout = stream_timeout
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self._approval_runs: dict[str, str] = {}
        self._details: dict[str, tuple[float, RunDetail]] = {}
        self._decoders: dict[Any, msgspec.json.Decoder[Any]] = {}

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check(self) -> None:
        """One authenticated request: raises `ServerUnreachableError` or
        `UnauthorizedError` with a clear message when the server cannot be used."""
        await self._get("/api/approvals")

    # --- plumbing ------------------------------------------------------------------------------

    def _decode(self, body: bytes, kind: type[T]) -> T:
        decoder = self._decoders.get(kind)
        if decoder is None:
            decoder = self._decoders[kind] = msgspec.json.Decoder(kind)
        try:
            return decoder.decode(body)  # type: ignore[no-any-return]
        except msgspec.DecodeError as exc:
            raise ServerError(f"unexpected answer from {self.url}: {exc}") from None

    def _error(self, response: httpx.Response) -> ApiError:
        status = response.status_code
        body: dict[str, Any] = {}
        try:
            parsed = msgspec.json.decode(response.content)
            if isinstance(parsed, dict):
                body = parsed
        except msgspec.DecodeError:
            pass
        detail = str(body.get("detail") or response.reason_phrase or f"HTTP {status}")
        if status == 404:
            return RemoteNotFoundError(detail, status=status, body=body)
        if status == 409:
            return ConflictError(detail, status=status, body=body)
        if status in (400, 422):
            return InvalidRequestError(detail, status=status, body=body)
        if status == 401:
            return UnauthorizedError(
                f"unauthorized: check the token (the server at {self.url} says: {detail});"
                " set RUNTUI_TOKEN or pass --token",
                status=status,
                body=body,
            )
        if status == 403:
            return UnauthorizedError(
                f"forbidden by the server at {self.url}: {detail}", status=status, body=body
            )
        if status == 503:
            return ServiceUnavailableError(
                f"the server at {self.url} cannot take this now: {detail}", status=status, body=body
            )
        if status >= 500:
            return ServerError(
                f"the server at {self.url} failed ({status}): {detail}", status=status, body=body
            )
        return ApiError(f"the server at {self.url} refused ({status}): {detail}", status=status)

    def _unreachable(self, exc: httpx.HTTPError) -> ServerUnreachableError:
        if isinstance(exc, httpx.TimeoutException):
            what = "did not answer in time"
        elif isinstance(exc, httpx.ConnectError):
            what = "refused the connection (is `runtui serve` running?)"
        else:
            what = f"dropped the connection ({type(exc).__name__})"
        return ServerUnreachableError(f"cannot reach the runtui server at {self.url}: {what}")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
        retry: bool = False,
    ) -> bytes:
        """One request; `retry`: may be sent again once if the connection dropped (GETs, and
        mutations the server deduplicates by their `Idempotency-Key`)."""
        headers: dict[str, str] = {}
        if method != "GET":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        for attempt in (1, 2):
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=query,
                    json=None if method == "GET" else dict(body or {}),
                    headers=headers,
                )
            except (httpx.ConnectError, httpx.TimeoutException) as exc:
                raise self._unreachable(exc) from None
            except httpx.TransportError as exc:  # e.g. a pooled connection the server closed
                if retry and attempt == 1:
                    continue
                raise self._unreachable(exc) from None
            if response.status_code >= 400:
                raise self._error(response)
            return response.content
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get(self, path: str, **params: object) -> bytes:
        return await self._call("GET", path, params=params, retry=True)

    async def _post(self, path: str, body: Mapping[str, Any], *, retry: bool = True) -> bytes:
        self._details.clear()  # whatever this changes, re-read it
        return await self._call("POST", path, body=body, retry=retry)

    def _note_approvals(self, rows: list[ApprovalRow]) -> list[ApprovalRow]:
        for row in rows:
            self._approval_runs[row.approval_id] = row.run_id
        return rows

    def _seen(self, env: EventEnvelope) -> None:
        self._details.pop(env.run_id, None)
        if isinstance(env.body, ApprovalRequested):
            self._approval_runs[env.body.approval_id] = env.run_id

    # --- reads ---------------------------------------------------------------------------------

    async def list_runs(self, **filters: Any) -> RunPage:
        return self._decode(await self._get("/api/runs", **filters), RunPage)

    async def get_run(self, run_id: str) -> RunRow:
        return self._decode(await self._get(f"/api/runs/{_seg(run_id)}"), RunRow)

    async def detail(self, run_id: str) -> RunDetail:
        cached = self._details.get(run_id)
        if cached is not None and time.monotonic() - cached[0] < DETAIL_TTL_S:
            return cached[1]
        detail = self._decode(await self._get(f"/api/runs/{_seg(run_id)}/detail"), RunDetail)
        self._note_approvals(detail.approvals)
        self._details[run_id] = (time.monotonic(), detail)
        return detail

    async def events_after(self, run_id: str, after: int, limit: int = 1000) -> list[EventEnvelope]:
        out: list[EventEnvelope] = []
        while len(out) < limit:
            want = min(EVENTS_PAGE, limit - len(out))
            page = self._decode(
                await self._get(f"/api/runs/{_seg(run_id)}/events", after=after, limit=want),
                list[EventEnvelope],
            )
            out += page
            if len(page) < want:
                break
            after = page[-1].seq
        return out

    async def iter_events(
        self, run_id: str, *, page: int = EVENTS_PAGE
    ) -> AsyncIterator[EventEnvelope]:
        """All of a run's events, oldest first, a page at a time."""
        after = 0
        while True:
            batch = await self.events_after(run_id, after, page)
            for env in batch:
                yield env
            if len(batch) < page:
                return
            after = batch[-1].seq

    async def events_before(
        self, run_id: str, before: int, limit: int = 1000
    ) -> list[EventEnvelope]:
        start = max(0, before - limit - 1)
        count = before - start - 1
        if count <= 0:
            return []
        return await self.events_after(run_id, start, count)

    async def count_events(self, run_id: str) -> int:
        return (await self.detail(run_id)).events

    async def tasks_of(self, run_id: str) -> list[TaskRow]:
        return (await self.detail(run_id)).tasks

    async def attempts_of(self, run_id: str) -> list[AttemptRow]:
        return (await self.detail(run_id)).attempts

    async def phases_of(self, run_id: str) -> list[PhaseRow]:
        return self._decode(await self._get(f"/api/runs/{_seg(run_id)}/phases"), list[PhaseRow])

    async def violations_of(self, run_id: str) -> list[ViolationRow]:
        return (await self.detail(run_id)).violations

    async def task_output(
        self,
        run_id: str,
        task_id: str,
        attempt: int,
        *,
        after: OutputAt | None = None,
        before: OutputAt | None = None,
        stream: str | None = None,
        limit: int = DEFAULT_PAGE_LINES,
    ) -> TaskOutput:
        params: dict[str, object] = {"task_id": task_id, "attempt": attempt, "limit": limit}
        if after is not None:
            params["after"] = format_at(after)
        if before is not None:
            params["before"] = format_at(before)
        if stream is not None:
            params["stream"] = stream
        body = await self._get(f"/api/runs/{_seg(run_id)}/output", **params)
        return self._decode(body, TaskOutput)

    async def search_events(
        self,
        run_id: str,
        text: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = DEFAULT_MATCHES_PAGE,
        kinds: Sequence[str] | None = None,
        exclude_kinds: Sequence[str] | None = None,
        task_id: str | None = None,
    ) -> LogMatches:
        body = await self._get(
            f"/api/runs/{_seg(run_id)}/search",
            q=text,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            kinds=None if kinds is None else ",".join(kinds),
            exclude_kinds=",".join(exclude_kinds) if exclude_kinds else None,
            task_id=task_id,
        )
        return self._decode(body, LogMatches)

    async def incidents_of(self, run_id: str) -> list[IncidentRow]:
        return (await self.detail(run_id)).incidents

    async def audit_of(self, run_id: str) -> AuditRows:
        return (await self.detail(run_id)).audit

    async def approvals_of(self, run_id: str) -> list[ApprovalRow]:
        return (await self.detail(run_id)).approvals

    async def forks_of(self, run_id: str) -> list[RunRow]:
        return (await self.detail(run_id)).forks

    async def workflow_source(self, run_id: str) -> WorkflowSource:
        body = await self._get(f"/api/runs/{_seg(run_id)}/source")
        return self._decode(body, WorkflowSource)

    async def pending_approvals(self) -> list[ApprovalRow]:
        rows = self._decode(await self._get("/api/approvals"), list[ApprovalRow])
        return self._note_approvals(rows)

    async def get_approval(self, approval_id: str) -> ApprovalRow:
        row = self._decode(await self._get(f"/api/approvals/{_seg(approval_id)}"), ApprovalRow)
        self._approval_runs[row.approval_id] = row.run_id
        return row

    async def count_by_result(self) -> dict[str, int]:
        """Runs per result ("live": not finished), from the server's `/metrics`."""
        text = (await self._get("/metrics")).decode()
        counts: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith('runtui_runs{result="'):
                label, _, value = line.partition("} ")
                counts[label[len('runtui_runs{result="') : -1]] = int(float(value))
        return counts

    async def health(self) -> list[WorkflowHealth]:
        return self._decode(await self._get("/api/health"), list[WorkflowHealth])

    async def run_summaries(
        self, *, limit: int = 100, result: str | None = None
    ) -> tuple[list[RunSummary], int]:
        params: dict[str, object] = {"limit": limit}
        if result is not None:
            params["result"] = result
        page = self._decode(await self._get("/api/pipeline/runs", **params), _SummaryPage)
        return [RunSummary.model_validate(s) for s in page.runs], page.total

    async def get_summary(self, run_id: str) -> RunSummary:
        body = await self._get(f"/api/pipeline/runs/{_seg(run_id)}")
        return RunSummary.model_validate_json(body)

    # --- mutations -----------------------------------------------------------------------------

    async def submit_toml(
        self,
        text: str,
        *,
        force: bool = False,
        base_dir: str | None = None,
        origin: str | None = None,
    ) -> str:
        """Submit a workflow file's text; `origin` (its path) is shown with the run's source."""
        payload: dict[str, Any] = {"toml": text, "force": force}
        if base_dir is not None:
            payload["base_dir"] = base_dir
        if origin:
            payload["origin"] = origin[:4096]
        body = await self._post("/api/runs", payload)
        return self._decode(body, Submitted).run_id

    async def submit(
        self, workflow: Workflow, *, force: bool = False, base_dir: Path | None = None
    ) -> str:
        """Send a workflow defined in Python as data, with the text that defined it (kept as
        the run's source: a `Flow`'s module); its tasks run in `base_dir` (absolute, on the
        server's machine), else in the server's working directory. A workflow read from a
        whole TOML text is sent as that text."""
        source = workflow.source
        where = None if base_dir is None else str(await anyio.Path(base_dir).absolute())
        if source is not None and source.format is SourceFormat.TOML and not source.truncated:
            return await self.submit_toml(
                source.text, force=force, base_dir=where, origin=source.origin
            )
        payload: dict[str, Any] = {"workflow": workflow.model_dump(mode="json"), "force": force}
        if where is not None:
            payload["base_dir"] = where
        if source is not None and source.original:
            payload["source"] = {"format": source.format.value, "text": source.text}
            if source.truncated:
                payload["source"]["size"] = source.size
            if source.origin:
                payload["origin"] = source.origin[:4096]
        body = await self._post("/api/runs", payload)
        return self._decode(body, Submitted).run_id

    async def submit_file(self, path: Path, *, force: bool = False) -> str:
        """Check the file here (so errors name it, `FILE:LINE: field: problem`), then send its
        text, with its directory: the run's tasks run there and its relative paths resolve
        against it, as when the file is run without a server (the directory must exist where
        the server runs)."""
        from runtui.workflows import load_workflow

        await anyio.to_thread.run_sync(load_workflow, path)
        data = await anyio.to_thread.run_sync(path.read_bytes)
        base_dir = str(await anyio.Path(path).parent.absolute())
        return await self.submit_toml(
            data.removeprefix(b"\xef\xbb\xbf").decode(),
            force=force,
            base_dir=base_dir,
            origin=str(path),
        )

    async def run_of_approval(self, approval_id: str) -> str:
        """The run an approval belongs to: known from what this client has seen, else looked
        up among the server's pending approvals."""
        run_id = self._approval_runs.get(approval_id)
        if run_id is None:
            await self.pending_approvals()
            run_id = self._approval_runs.get(approval_id)
        if run_id is None:
            raise RemoteNotFoundError(
                f"approval {approval_id} is not pending on {self.url} (unknown, or already"
                " decided)",
                status=404,
            )
        return run_id

    async def approve(
        self,
        approval_id: str,
        *,
        reason: str = "",
        edits: dict[str, Any] | None = None,
        by: str | None = None,
        run_id: str | None = None,
    ) -> None:
        run_id = run_id or await self.run_of_approval(approval_id)
        body: dict[str, Any] = {"approval_id": approval_id, "reason": reason, "by": by or self.user}
        if edits:
            body["edits"] = edits
        await self._post(f"/api/runs/{_seg(run_id)}/approve", body)

    async def reject(
        self, approval_id: str, *, reason: str, by: str | None = None, run_id: str | None = None
    ) -> None:
        run_id = run_id or await self.run_of_approval(approval_id)
        body = {"approval_id": approval_id, "reason": reason, "by": by or self.user}
        await self._post(f"/api/runs/{_seg(run_id)}/reject", body)

    async def cancel(self, run_id: str) -> None:
        await self._post(f"/api/runs/{_seg(run_id)}/cancel", {}, retry=False)

    async def resume(self, run_id: str) -> None:
        await self._post(f"/api/runs/{_seg(run_id)}/resume", {}, retry=False)

    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        body = await self._call(
            "POST",
            f"/api/runs/{_seg(run_id)}/rewind",
            body={"wave": wave, "dry_run": True},
            retry=True,
        )
        return self._decode(body, RewindPlan)

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        body = await self._post(f"/api/runs/{_seg(run_id)}/rewind", {"wave": wave, "force": force})
        return self._decode(body, RewindPlan)

    async def retry(self, run_id: str, *, force: bool = False) -> str:
        body = await self._post(f"/api/runs/{_seg(run_id)}/retry", {"force": force})
        return self._decode(body, Retried).new_run_id

    async def clear_health(self, workflow: str, *, by: str | None = None) -> None:
        await self._post(f"/api/health/{_seg(workflow)}/clear", {"by": by or self.user})

    async def ready(self) -> bool:
        try:
            response = await self._http.get("/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    # --- live ----------------------------------------------------------------------------------

    async def events(
        self, run_id: str | None = None, *, after: int | None = None
    ) -> AsyncIterator[EventEnvelope]:
        """See `runtui.api.Port.events`: the server's event stream, reconnecting with
        `Last-Event-ID` (the server replays what was missed from its store). A stream that
        From now, for every run's events, is the position the server gives when the first event
        is asked for."""
        if run_id is not None:
            start = after or 0
        else:
            start = await self.position() if after is None else after
        async for item in self.stream_events(
            run_id=run_id, after=start, give_up_after=self.give_up_after
        ):
            if isinstance(item, EventEnvelope):
                yield item

    async def wait(self, run_id: str) -> RunRow:
        return await wait_settled(self, run_id)

    async def driven_here(self) -> dict[str, int]:
        """None: the server drives the runs, and they go on when this client goes."""
        return {}

    async def drain(self) -> None:
        """Nothing to do: this process drives no run (the server does)."""

    async def position(self) -> int:
        return self._decode(await self._get("/api/events/position"), Position).position

    def _set_connected(self, up: bool) -> None:
        if up == self.connected:
            return
        self.connected = up
        if up:
            self.last_error = None
        log.info("event stream %s (%s)", "connected" if up else "disconnected", self.url)
        if self.on_state is not None:
            try:
                self.on_state(up)
            except Exception:  # a callback's bug must not stop the stream
                log.exception("on_state callback failed")

    async def subscribe(
        self, max_batches: int = 256
    ) -> AsyncIterator[list[EventEnvelope] | Resync]:
        """Every committed event from now on, across runs, reconnecting forever.

        `max_batches` is accepted for the protocol; the server's stream is the buffer here.
        """
        async for item in self.stream_events():
            yield item if isinstance(item, Resync) else [item]

    async def run_events(
        self, run_id: str, *, after: int = 0, give_up_after: float | None = None
    ) -> AsyncIterator[EventEnvelope]:
        """One run's events after seq `after`, live, reconnecting; an unknown run raises
        `NotFoundError`; `give_up_after` seconds without a connection raise
        `ServerUnreachableError`."""
        async for item in self.stream_events(
            run_id=run_id, after=after, give_up_after=give_up_after
        ):
            if isinstance(item, EventEnvelope):
                yield item

    async def stream_events(
        self,
        *,
        run_id: str | None = None,
        after: int | None = None,
        give_up_after: float | None = None,
    ) -> AsyncIterator[EventEnvelope | Resync]:
        """The SSE stream of one run (ids are seqs) or of all runs (ids are positions).

        Resumes after `after` (default for all runs: from now on). Each reconnect sends the
        id of the last event yielded as `Last-Event-ID`; the server replays what came after it
        from the store, and anything at or below it is dropped here, so each event is yielded
        exactly once. A 401/403, or a 404 for the run, ends the stream with that error only if
        `give_up_after` is set (the CLI); a UI's stream keeps retrying.
        """
        path = "/api/events/stream" if run_id is None else f"/api/runs/{_seg(run_id)}/events/stream"
        envelopes = self._decoders.get(EventEnvelope)
        if envelopes is None:
            envelopes = self._decoders[EventEnvelope] = msgspec.json.Decoder(EventEnvelope)
        last: int | None = after
        floor = self.min_backoff
        delay = floor
        down_since: float | None = None
        attempt = 0
        while True:
            attempt += 1
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            elif attempt > 1:
                yield Resync("the event stream restarted with no position to resume from")
            parser = SseParser()
            try:
                async with self._http.stream(
                    "GET", path, headers=headers, timeout=self._stream_timeout
                ) as response:
                    if response.status_code != 200:
                        await response.aread()
                        raise self._error(response)
                    self._set_connected(True)
                    down_since, delay = None, floor
                    async for line in sse_lines(response.aiter_text()):
                        frame = parser.feed(line)
                        if frame is not None and frame.event == "shutdown":
                            break
                        if frame is not None:
                            try:
                                env = envelopes.decode(frame.data)
                            except msgspec.DecodeError as exc:
                                log.warning("undecodable event %s: %s", frame.id, exc)
                                env = None
                            ident = (
                                int(frame.id)
                                if frame.id is not None and frame.id.isdigit()
                                else None
                            )
                            if env is not None and (ident is None or last is None or ident > last):
                                self._seen(env)
                                yield env
                        if line == "" and parser.last_id is not None and parser.last_id.isdigit():
                            # the end of a frame: its id (even without data) is where we are
                            last = max(int(parser.last_id), last or 0)
                        if parser.retry_ms is not None:
                            floor = min(
                                max(parser.retry_ms / 1000, self.min_backoff), self.max_backoff
                            )
            except (UnauthorizedError, RemoteNotFoundError) as exc:
                if give_up_after is not None:
                    raise
                self.last_error = str(exc)
            except ApiError as exc:
                self.last_error = str(exc)
            except httpx.HTTPError as exc:
                self.last_error = str(self._unreachable(exc))
            self._set_connected(False)
            now = time.monotonic()
            down_since = down_since if down_since is not None else now
            if give_up_after is not None and now - down_since >= give_up_after:
                raise ServerUnreachableError(
                    self.last_error or f"lost the event stream of {self.url}"
                )
            await anyio.sleep(max(delay, floor))
            delay = min(max(delay, floor) * 2, self.max_backoff)


__all__ = ["HttpClient", "server_url"]
