"""What the terminal UI needs from a runtime, and the embedded implementation of it.

The UI talks to this protocol only: in embedded mode `EmbeddedClient` wraps the in-process
`Runtime`; `runtui.client.HttpClient` (HTTP API + event stream) implements the same methods
for `runtui attach`. Either way the UI never touches the store. A client may have a
`connected` flag (the remote one does); the app shows it in the status bar.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from actors.bus import Lagged
from actors.read_only import ReadOnlyRuntime
from actors.runtime import RewindPlan, Runtime
from runtui.client.wire import Resync
from runtui.domain.events import EventEnvelope
from runtui.domain.health import WorkflowHealth
from runtui.domain.views import (
    ApprovalRow,
    AttemptRow,
    AuditRows,
    IncidentRow,
    RunPage,
    RunRow,
    TaskRow,
    ViolationRow,
)

#: Committed events, or a marker that some may have been missed (re-read the state instead).
Delivery = list[EventEnvelope] | Lagged | Resync


class RewindPlanView(Protocol):
    """A rewind's plan: `actors.runtime.RewindPlan` embedded, its wire copy remotely."""

    @property
    def run_id(self) -> str: ...
    @property
    def wave(self) -> int: ...
    @property
    def kept(self) -> dict[int, list[str]]: ...
    @property
    def rerun(self) -> dict[int, list[str]]: ...
    @property
    def new_run_id(self) -> str | None: ...


class RuntimeClient(Protocol):
    description: str

    async def list_runs(self, **filters: Any) -> RunPage: ...
    async def get_run(self, run_id: str) -> RunRow: ...
    async def events_after(
        self, run_id: str, after: int, limit: int = 1000
    ) -> list[EventEnvelope]: ...
    async def events_before(
        self, run_id: str, before: int, limit: int = 1000
    ) -> list[EventEnvelope]: ...
    async def count_events(self, run_id: str) -> int: ...
    async def tasks_of(self, run_id: str) -> list[TaskRow]: ...
    async def attempts_of(self, run_id: str) -> list[AttemptRow]: ...
    async def violations_of(self, run_id: str) -> list[ViolationRow]: ...
    async def incidents_of(self, run_id: str) -> list[IncidentRow]: ...
    async def audit_of(self, run_id: str) -> AuditRows: ...
    async def approvals_of(self, run_id: str) -> list[ApprovalRow]: ...
    async def forks_of(self, run_id: str) -> list[RunRow]: ...
    async def pending_approvals(self) -> list[ApprovalRow]: ...
    async def count_by_result(self) -> dict[str, int]: ...
    async def health(self) -> list[WorkflowHealth]: ...
    async def submit_file(self, path: Path) -> str: ...
    async def approve(
        self, approval_id: str, *, reason: str = "", edits: dict[str, Any] | None = None
    ) -> None: ...
    async def reject(self, approval_id: str, *, reason: str) -> None: ...
    async def cancel(self, run_id: str) -> None: ...
    async def resume(self, run_id: str) -> None: ...
    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlanView: ...
    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlanView: ...
    def subscribe(self, max_batches: int = 256) -> AsyncIterator[Delivery]: ...


class EmbeddedClient:
    """The runtime in this process: every call is a direct await on the handle."""

    def __init__(self, runtime: Runtime | ReadOnlyRuntime, *, user: str = "tui") -> None:
        self.runtime = runtime
        self.reader = runtime.reader
        self.user = user
        self.description = f"local: {runtime.db_path.name}" + (
            " (no runtime here: it follows the database)"
            if isinstance(runtime, ReadOnlyRuntime)
            else ""
        )

    async def list_runs(self, **filters: Any) -> RunPage:
        return await self.reader.list_runs(**filters)

    async def get_run(self, run_id: str) -> RunRow:
        return await self.reader.get_run(run_id)

    async def events_after(self, run_id: str, after: int, limit: int = 1000) -> list[EventEnvelope]:
        return await self.reader.events_after(run_id, after, limit=limit)

    async def events_before(
        self, run_id: str, before: int, limit: int = 1000
    ) -> list[EventEnvelope]:
        start = max(0, before - limit - 1)
        return await self.reader.events_after(run_id, start, limit=before - start - 1)

    async def count_events(self, run_id: str) -> int:
        return await self.reader.count_events(run_id)

    async def tasks_of(self, run_id: str) -> list[TaskRow]:
        return await self.reader.tasks_of(run_id)

    async def attempts_of(self, run_id: str) -> list[AttemptRow]:
        return await self.reader.attempts_of(run_id)

    async def violations_of(self, run_id: str) -> list[ViolationRow]:
        return await self.reader.violations_of(run_id)

    async def incidents_of(self, run_id: str) -> list[IncidentRow]:
        return await self.reader.incidents_of(run_id)

    async def audit_of(self, run_id: str) -> AuditRows:
        return await self.reader.audit_of(run_id)

    async def approvals_of(self, run_id: str) -> list[ApprovalRow]:
        return await self.reader.approvals_of(run_id)

    async def forks_of(self, run_id: str) -> list[RunRow]:
        return await self.reader.forks_of(run_id)

    async def pending_approvals(self) -> list[ApprovalRow]:
        return await self.reader.pending_approvals()

    async def count_by_result(self) -> dict[str, int]:
        return await self.reader.count_by_result()

    async def health(self) -> list[WorkflowHealth]:
        return await self.runtime.health()

    async def submit_file(self, path: Path) -> str:
        return await self.runtime.submit_file(path)

    async def approve(
        self, approval_id: str, *, reason: str = "", edits: dict[str, Any] | None = None
    ) -> None:
        await self.runtime.approve(approval_id, by=self.user, reason=reason, edits=edits)

    async def reject(self, approval_id: str, *, reason: str) -> None:
        await self.runtime.reject(approval_id, reason=reason, by=self.user)

    async def cancel(self, run_id: str) -> None:
        await self.runtime.cancel(run_id)

    async def resume(self, run_id: str) -> None:
        await self.runtime.resume(run_id)

    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        return await self.runtime.rewind_plan(run_id, wave)

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        return await self.runtime.rewind(run_id, wave, force=force)

    async def subscribe(self, max_batches: int = 256) -> AsyncIterator[Delivery]:
        sub = self.runtime.subscribe(max_batches=max_batches)
        try:
            async for delivery in sub:
                yield delivery if isinstance(delivery, Lagged) else list(delivery)
        finally:
            sub.close()
