"""The port for scripts that do not use async: every call blocks until it is done.

    import runtui.sync

    with runtui.sync.open("runs.db") as rt:
        run_id = rt.submit(flow.build())
        run = rt.wait(run_id)              # settled: ended, or waiting for a human
        for ap in rt.pending_approvals():
            rt.approve(ap.approval_id, reason="looks right")
        print(rt.wait(run_id).status)

The runtime (or the server's client) runs on an event loop in a thread of its own (anyio's
blocking portal), so it keeps executing runs between the script's calls; each method sends its
call to that loop and waits for the answer. `events()` is a plain iterator over the same
gap-free feed as the async `events()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from runtui.api import Port
from runtui.domain.events import EventEnvelope
from runtui.domain.feed import Delivery
from runtui.domain.health import WorkflowHealth
from runtui.domain.log_search import DEFAULT_MATCHES_PAGE, LogMatches
from runtui.domain.rewind import RewindPlan
from runtui.domain.summary import RunSummary
from runtui.domain.task_output import DEFAULT_PAGE_LINES, OutputAt
from runtui.domain.views import (
    ApprovalRow,
    AttemptRow,
    AuditRows,
    IncidentRow,
    PhaseRow,
    RunPage,
    RunRow,
    TaskOutput,
    TaskRow,
    ViolationRow,
)
from runtui.domain.workflow import Workflow
from runtui.domain.workflow_source import WorkflowSource

T = TypeVar("T")


class SyncRuntime:
    """Every call of a `Port`, blocking (a test checks that none is missing); its async
    iterators (`events`, `iter_events`, `subscribe`) as plain ones."""

    def __init__(self, portal: BlockingPortal, port: Port) -> None:
        self._portal = portal
        #: The async port underneath (for a call this class does not wrap).
        self.port = port
        self.description = port.description

    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async def call() -> T:
            return await fn(*args, **kwargs)

        return self._portal.call(call)

    # reads
    def list_runs(self, **filters: Any) -> RunPage:
        return self._call(self.port.list_runs, **filters)

    def get_run(self, run_id: str) -> RunRow:
        return self._call(self.port.get_run, run_id)

    def events_after(self, run_id: str, after: int, limit: int = 1000) -> list[EventEnvelope]:
        return self._call(self.port.events_after, run_id, after, limit)

    def events_before(self, run_id: str, before: int, limit: int = 1000) -> list[EventEnvelope]:
        return self._call(self.port.events_before, run_id, before, limit)

    def count_events(self, run_id: str) -> int:
        return self._call(self.port.count_events, run_id)

    def iter_events(self, run_id: str) -> Iterator[EventEnvelope]:
        """The port's `iter_events` (every event the run has now, not live), one at a time."""
        return self._iterate(self.port.iter_events(run_id))

    def tasks_of(self, run_id: str) -> list[TaskRow]:
        return self._call(self.port.tasks_of, run_id)

    def attempts_of(self, run_id: str) -> list[AttemptRow]:
        return self._call(self.port.attempts_of, run_id)

    def violations_of(self, run_id: str) -> list[ViolationRow]:
        return self._call(self.port.violations_of, run_id)

    def phases_of(self, run_id: str) -> list[PhaseRow]:
        return self._call(self.port.phases_of, run_id)

    def task_output(
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
        return self._call(
            self.port.task_output,
            run_id,
            task_id,
            attempt,
            after=after,
            before=before,
            stream=stream,
            limit=limit,
        )

    def search_events(
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
        return self._call(
            self.port.search_events,
            run_id,
            text,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            kinds=kinds,
            exclude_kinds=exclude_kinds,
            task_id=task_id,
        )

    def incidents_of(self, run_id: str) -> list[IncidentRow]:
        return self._call(self.port.incidents_of, run_id)

    def audit_of(self, run_id: str) -> AuditRows:
        return self._call(self.port.audit_of, run_id)

    def approvals_of(self, run_id: str) -> list[ApprovalRow]:
        return self._call(self.port.approvals_of, run_id)

    def forks_of(self, run_id: str) -> list[RunRow]:
        return self._call(self.port.forks_of, run_id)

    def workflow_source(self, run_id: str) -> WorkflowSource:
        return self._call(self.port.workflow_source, run_id)

    def get_approval(self, approval_id: str) -> ApprovalRow:
        return self._call(self.port.get_approval, approval_id)

    def pending_approvals(self) -> list[ApprovalRow]:
        return self._call(self.port.pending_approvals)

    def count_by_result(self) -> dict[str, int]:
        return self._call(self.port.count_by_result)

    def health(self) -> list[WorkflowHealth]:
        return self._call(self.port.health)

    def run_summaries(
        self, *, limit: int = 100, result: str | None = None
    ) -> tuple[list[RunSummary], int]:
        return self._call(self.port.run_summaries, limit=limit, result=result)

    def get_summary(self, run_id: str) -> RunSummary:
        return self._call(self.port.get_summary, run_id)

    # verbs
    def submit(
        self, workflow: Workflow, *, force: bool = False, base_dir: Path | None = None
    ) -> str:
        return self._call(self.port.submit, workflow, force=force, base_dir=base_dir)

    def submit_file(self, path: Path, *, force: bool = False) -> str:
        return self._call(self.port.submit_file, path, force=force)

    def approve(
        self,
        approval_id: str,
        *,
        reason: str = "",
        edits: dict[str, Any] | None = None,
        by: str | None = None,
    ) -> None:
        self._call(self.port.approve, approval_id, reason=reason, edits=edits, by=by)

    def reject(self, approval_id: str, *, reason: str, by: str | None = None) -> None:
        self._call(self.port.reject, approval_id, reason=reason, by=by)

    def cancel(self, run_id: str) -> None:
        self._call(self.port.cancel, run_id)

    def resume(self, run_id: str) -> None:
        self._call(self.port.resume, run_id)

    def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        return self._call(self.port.rewind_plan, run_id, wave)

    def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        return self._call(self.port.rewind, run_id, wave, force=force)

    def retry(self, run_id: str, *, force: bool = False) -> str:
        return self._call(self.port.retry, run_id, force=force)

    def clear_health(self, workflow: str, *, by: str | None = None) -> None:
        self._call(self.port.clear_health, workflow, by=by)

    # what happens next
    def wait(self, run_id: str) -> RunRow:
        return self._call(self.port.wait, run_id)

    def driven_here(self) -> dict[str, int]:
        return self._call(self.port.driven_here)

    def drain(self) -> None:
        self._call(self.port.drain)

    def position(self) -> int:
        return self._call(self.port.position)

    def ready(self) -> bool:
        return self._call(self.port.ready)

    def events(
        self, run_id: str | None = None, *, after: int | None = None
    ) -> Iterator[EventEnvelope]:
        """The port's `events`, one at a time; leaving the loop early closes the feed."""
        return self._iterate(self.port.events(run_id, after=after))

    def subscribe(self, max_batches: int = 256) -> Iterator[Delivery]:
        """The port's `subscribe` (committed batches, or a `lagged` mark), one at a time."""
        return self._iterate(self.port.subscribe(max_batches))

    def _iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """An async iterator of the port's, as a plain one; leaving the loop closes it."""
        feed = aiter(source)
        close: Callable[[], Awaitable[None]] | None = getattr(feed, "aclose", None)
        try:
            while True:
                try:
                    yield self._portal.call(feed.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            if close is not None:
                self._portal.call(close)


@contextmanager
def open(db: str | Path | None = None, **options: Any) -> Iterator[SyncRuntime]:
    """`runtui.open` for scripts: the same arguments, blocking calls."""
    from runtui.opening import open as open_async

    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(open_async(db, **options)) as port,
    ):
        yield SyncRuntime(portal, port)


@contextmanager
def connect(url: str | None = None, **options: Any) -> Iterator[SyncRuntime]:
    """`runtui.connect` for scripts: the same arguments, blocking calls."""
    from runtui.opening import connect as connect_async

    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(connect_async(url, **options)) as port,
    ):
        yield SyncRuntime(portal, port)


__all__ = ["SyncRuntime", "connect", "open"]
