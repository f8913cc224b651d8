"""The port over the actor runtime in this process: `runtui.open(...)`, `runtui` with no
arguments, and every command that drives runs without a server.

`EmbeddedRuntime.open` opens the database, starts the actors and (by default) resumes every
interrupted run; leaving the block stops them, and a run still live then stays live in the
database and resumes the next time one is opened. With `read_only` no runtime starts: the
database is only read and its owner's commits followed, and every verb is refused (but a rewind
plan, which is only read). Beyond the port it offers what hosts it: the HTTP server's services
(`runtui.server.host`: live feed, idempotency keys, readiness, metrics), and for the command line
resuming interrupted runs, draining and `serve`'s wait for running attempts.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from runtui.actors.read_only import ReadOnlyRuntime
from runtui.actors.runtime import Runtime
from runtui.api import RuntimeMetrics
from runtui.config import Settings
from runtui.domain.errors import ConflictError, StoreError
from runtui.domain.events import EventEnvelope, RunCreated
from runtui.domain.feed import Delivery, Lagged
from runtui.domain.health import WorkflowHealth
from runtui.domain.log_search import DEFAULT_MATCHES_PAGE, LogMatches
from runtui.domain.rewind import RewindPlan
from runtui.domain.settled import QUIET_S
from runtui.domain.summary import RunSummary
from runtui.domain.task_output import DEFAULT_PAGE_LINES, OutputAt
from runtui.domain.termination import RunTerminationReason
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
from runtui.domain.workflow_source import WorkflowSource, rendered
from runtui.following import follow_run, wait_settled
from runtui.identity import who_decides
from runtui.store.idempotency import IdempotencyKeys
from runtui.store.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

#: Events read from the store per page while catching up.
PAGE = 1000


class EmbeddedRuntime:
    """Every call is a direct await on the runtime (or the read-only view) in this process."""

    def __init__(self, runtime: Runtime | ReadOnlyRuntime, *, user: str | None = None) -> None:
        self.runtime = runtime
        self.reader = runtime.reader
        self.user = user or who_decides()
        db = runtime.db_path
        where = db.name if isinstance(db, Path) else _database_name(db)
        self.description = f"local: {where}" + (
            " (no runtime here: it follows the database)"
            if isinstance(runtime, ReadOnlyRuntime)
            else ""
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        resume: bool = True,
        read_only: bool = False,
        user: str | None = None,
        adopt: bool | None = None,
    ) -> AsyncIterator[EmbeddedRuntime]:
        if read_only:
            async with ReadOnlyRuntime.open(settings.db) as view:
                yield cls(view, user=user)
            return
        async with Runtime.open(settings, resume=resume, adopt=adopt) as runtime:
            yield cls(runtime, user=user)

    @classmethod
    @asynccontextmanager
    async def follow(cls, db: Path | str) -> AsyncIterator[EmbeddedRuntime]:
        """A read-only view of the database `db` that follows what its owner commits (the
        API process of `runtui serve`, beside the runtime's)."""
        async with ReadOnlyRuntime.open(db) as view:
            yield cls(view)

    def follower(self) -> ReadOnlyRuntime:
        """The followed feed of a read-only view (`follow`), for the API process's streams."""
        if not isinstance(self.runtime, ReadOnlyRuntime):
            raise ConflictError("a runtime runs here: its feed is the bus, not a follower")
        return self.runtime

    @property
    def driving(self) -> Runtime | None:
        """The actor runtime, when one runs here (not for a read-only view)."""
        return self.runtime if isinstance(self.runtime, Runtime) else None

    # --- this process's runtime (not part of the port) -----------------------------------------

    async def live_runs(self) -> list[RunRow]:
        """Every run of the database that has not ended."""
        return await self.reader.live_runs()

    async def resume_interrupted(self, *, hold: str | None = None) -> list[str]:
        """Resume every live run nobody drives, but `hold` (the caller takes that one over
        itself); the ids resumed. A read-only view resumes nothing."""
        rt = self.driving
        return [] if rt is None else await rt.resume_interrupted(hold=hold)

    async def until_no_attempt_runs(self) -> None:
        """Return once no attempt runs or is polled here (`serve`'s drain after a signal)."""
        rt = self.driving
        if rt is None:
            return
        sub = rt.subscribe()  # an attempt's end commits events: re-check on each commit
        try:
            while rt.dispatcher.active or rt.poller.watches:
                with anyio.move_on_after(0.1):
                    await sub.receive()
        finally:
            sub.close()

    # --- what a server needs of the runtime it serves (runtui.server.host) ---------------------

    @property
    def settings(self) -> Settings:
        return self._driving().settings

    def _driving(self) -> Runtime:
        rt = self.driving
        if rt is None:
            raise ConflictError("read-only: no runtime runs in this process")
        return rt

    def stream_source(self) -> Runtime | ReadOnlyRuntime:
        """Live batches by subscription, older events by page (what SSE streams are made of)."""
        return self.runtime

    def idempotency_keys(self) -> IdempotencyKeys:
        rt = self._driving()
        return IdempotencyKeys(rt.store.writer, rt.reader)

    async def readiness(self) -> dict[str, bool]:
        rt = self._driving()
        try:
            migrated = await self.reader.schema_version() == SCHEMA_VERSION
        except Exception:
            migrated = False
        try:
            await rt.store.writer.check_writable()
            writable = True
        except StoreError as exc:
            log.warning("not ready: the database does not take writes: %s", exc)
            writable = False
        return {
            "supervisor": rt.supervisor.running,
            "writer": not rt.store.writer.closed,
            "writable": writable,
            "migrations": migrated,
        }

    async def metrics(self) -> RuntimeMetrics:
        rt = self._driving()
        writer = rt.store.writer
        return RuntimeMetrics(
            runs_by_result=await self.reader.count_by_result(),
            phase_transitions=await self.reader.count_transitions(),
            pending_approvals=len(await self.reader.pending_approvals()),
            active_runs=len(rt.active_runs),
            commit_seconds=list(writer.commit_seconds),
            events_committed=writer.events_committed,
        )

    async def announce(self, *, url: str) -> None:
        await self._driving().store.writer.announce(url)

    # --- reads ----------------------------------------------------------------------------------

    async def list_runs(self, **filters: Any) -> RunPage:
        return await self.reader.list_runs(**filters)

    async def get_run(self, run_id: str) -> RunRow:
        return await self.reader.get_run(run_id)

    async def events_after(self, run_id: str, after: int, limit: int = PAGE) -> list[EventEnvelope]:
        return await self.reader.events_after(run_id, after, limit=limit)

    async def events_before(
        self, run_id: str, before: int, limit: int = PAGE
    ) -> list[EventEnvelope]:
        start = max(0, before - limit - 1)
        return await self.reader.events_after(run_id, start, limit=before - start - 1)

    async def iter_events(self, run_id: str) -> AsyncIterator[EventEnvelope]:
        async for env in self.reader.iter_events(run_id):
            yield env

    async def count_events(self, run_id: str) -> int:
        return await self.reader.count_events(run_id)

    async def tasks_of(self, run_id: str) -> list[TaskRow]:
        return await self.reader.tasks_of(run_id)

    async def attempts_of(self, run_id: str) -> list[AttemptRow]:
        return await self.reader.attempts_of(run_id)

    async def phases_of(self, run_id: str) -> list[PhaseRow]:
        return await self.reader.phases_of(run_id)

    async def violations_of(self, run_id: str) -> list[ViolationRow]:
        return await self.reader.violations_of(run_id)

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
        return await self.reader.task_output(
            run_id, task_id, attempt, after=after, before=before, stream=stream, limit=limit
        )

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
        return await self.reader.search_events(
            run_id,
            text,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            kinds=kinds,
            exclude_kinds=exclude_kinds,
            task_id=task_id,
        )

    async def incidents_of(self, run_id: str) -> list[IncidentRow]:
        return await self.reader.incidents_of(run_id)

    async def audit_of(self, run_id: str) -> AuditRows:
        return await self.reader.audit_of(run_id)

    async def approvals_of(self, run_id: str) -> list[ApprovalRow]:
        return await self.reader.approvals_of(run_id)

    async def forks_of(self, run_id: str) -> list[RunRow]:
        return await self.reader.forks_of(run_id)

    async def workflow_source(self, run_id: str) -> WorkflowSource:
        await self.reader.get_run(run_id)  # an unknown run is not found, not "no source"
        first = await self.reader.events_after(run_id, 0, limit=1)
        created = first[0].body if first else None
        if not isinstance(created, RunCreated):
            return rendered({})
        if created.source is not None:
            return created.source
        return rendered(created.workflow_spec, str(created.metadata.get("file", "")))

    async def pending_approvals(self) -> list[ApprovalRow]:
        return await self.reader.pending_approvals()

    async def get_approval(self, approval_id: str) -> ApprovalRow:
        return await self.reader.get_approval(approval_id)

    async def count_by_result(self) -> dict[str, int]:
        return await self.reader.count_by_result()

    async def health(self) -> list[WorkflowHealth]:
        return await self.runtime.health()

    async def run_summaries(
        self, *, limit: int = 100, result: str | None = None
    ) -> tuple[list[RunSummary], int]:
        summaries = await self.reader.run_summaries(limit=limit, result=result)
        return summaries, await self.reader.count_summaries(result)

    async def get_summary(self, run_id: str) -> RunSummary:
        return await self.reader.get_summary(run_id)

    # --- verbs ----------------------------------------------------------------------------------

    async def submit(
        self,
        workflow: Workflow,
        *,
        force: bool = False,
        base_dir: Path | None = None,
        metadata: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> str:
        return await self.runtime.submit(
            workflow, force=force, base_dir=base_dir, metadata=metadata, run_id=run_id
        )

    async def submit_file(self, path: Path, *, force: bool = False) -> str:
        return await self.runtime.submit_file(path, force=force)

    async def approve(
        self,
        approval_id: str,
        *,
        reason: str = "",
        edits: dict[str, Any] | None = None,
        by: str | None = None,
    ) -> None:
        await self.runtime.approve(approval_id, by=by or self.user, reason=reason, edits=edits)

    async def reject(self, approval_id: str, *, reason: str, by: str | None = None) -> None:
        await self.runtime.reject(approval_id, reason=reason, by=by or self.user)

    async def cancel(self, run_id: str) -> None:
        await self.runtime.cancel(run_id)

    async def stop(
        self, run_id: str, *, reason: RunTerminationReason, error: str | None = None
    ) -> None:
        """End a live run this process drives with `reason` (`cancel` is `user_abort`)."""
        await self.runtime.stop(run_id, reason=reason, error=error)

    async def driven_here(self) -> dict[str, int]:
        rt = self.driving
        if rt is None:
            return {}
        running = Counter(run for run, _task in rt.dispatcher.running)
        return {run_id: running[run_id] for run_id in rt.active_runs}

    async def resume(self, run_id: str) -> None:
        await self.runtime.resume(run_id)

    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        return await self.runtime.rewind_plan(run_id, wave)

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        return await self.runtime.rewind(run_id, wave, force=force)

    async def retry(self, run_id: str, *, force: bool = False) -> str:
        return await self.runtime.retry(run_id, force=force)

    async def clear_health(self, workflow: str, *, by: str | None = None) -> None:
        await self.runtime.clear_health(workflow, by=by or self.user)

    # --- what happens next ----------------------------------------------------------------------

    async def subscribe(self, max_batches: int = 256) -> AsyncIterator[Delivery]:
        sub = self.runtime.subscribe(max_batches=max_batches)
        try:
            async for delivery in sub:
                yield delivery if isinstance(delivery, Lagged) else list(delivery)
        finally:
            sub.close()

    async def events(
        self, run_id: str | None = None, *, after: int | None = None
    ) -> AsyncIterator[EventEnvelope]:
        """See `runtui.api.Port.events`. Subscribes before it reads the store, so each event
        is either in the store already or on the subscription; a lag or a gap re-reads the
        store from the last event yielded."""
        sub = self.runtime.subscribe(run_id=run_id)
        try:
            if run_id is not None:
                async for env in follow_run(
                    sub, lambda last: self.reader.events_after(run_id, last, limit=PAGE), after or 0
                ):
                    yield env
                return
            last = self.runtime.last_position if after is None else after
            async for env in follow_run(
                sub,
                lambda last: self.reader.events_since(last, limit=PAGE),
                last,
                key=lambda e: e.position,
            ):
                yield env
        finally:
            sub.close()

    async def wait(self, run_id: str) -> RunRow:
        return await wait_settled(self, run_id)

    async def position(self) -> int:
        return self.runtime.last_position

    async def drain(self) -> None:
        """Return once nothing here moves without a human: every active run waits for an
        approval (or there is none), no attempt is queued, running or polled, and nothing was
        committed for `QUIET_S` (an actor's reaction to the last commit is still on its way
        for a moment). A read-only view drives nothing: it returns at once."""
        rt = self.driving
        if rt is None:
            return
        while True:
            await rt.wait_idle()
            sub = rt.subscribe()
            try:
                with anyio.move_on_after(QUIET_S if rt.is_idle() else 0.5) as quiet:
                    await sub.receive()
            finally:
                sub.close()
            if quiet.cancel_called and rt.is_idle():
                return

    async def ready(self) -> bool:
        rt = self.driving
        return rt is not None and rt.supervisor.running


def _database_name(url: str) -> str:
    """A PostgreSQL URL as the UI's status line names it: `postgres: host/db`."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"postgres: {parts.hostname or 'localhost'}{parts.path or ''}"


__all__ = ["EmbeddedRuntime"]
