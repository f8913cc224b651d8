"""The port: what every front end may ask of a runtime, embedded or behind a server.

The command line, the terminal UI and Python programs talk to a runtime through this protocol
and nothing else. Two adapters implement it: `runtui.embedded.EmbeddedRuntime` (the actor
runtime in this process, on a database it opens) and `runtui.client.HttpClient` (a
`runtui serve` through its HTTP API and event stream). Errors are the domain's kinds
(`runtui.domain.errors`: not found, invalid input, conflict, unauthorized, unavailable), the
same classes whichever adapter raised them.

Reads return the domain's read models; verbs return once the runtime has accepted them (a
decision, a cancel and a submission are committed when they return); `events` and `wait`
are the two ways to see what happens next:

- `events(run_id, after=seq)` yields one run's events in seq order from `after` on, none
  twice, none missed, live until the caller stops; `events(None, after=position)` every
  run's, in commit order (default: from the position when the feed is first awaited;
  `position()` gives a fixed starting point). Catching up from the store, the live tail and
  recovering from a slow reader happen inside.
- `wait(run_id)` returns the run once it has settled (`runtui.domain.settled`): it ended, or
  it waits for a human with nothing under way.

`subscribe` is the raw feed under `events`, for a consumer that re-reads its state when it
lags instead of catching up event by event (the terminal UI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import msgspec

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


class RuntimeMetrics(msgspec.Struct, frozen=True):
    """What `/metrics` reports of the runtime, read at once."""

    runs_by_result: dict[str, int]
    phase_transitions: int
    pending_approvals: int
    active_runs: int
    commit_seconds: list[float]  # the latency of recent group commits
    events_committed: int


@runtime_checkable
class Port(Protocol):
    """A runtime, as a front end sees it."""

    #: Where this runtime is, for a status line: `local: runs.db`, `remote: host:port`.
    description: str

    # --- reads ----------------------------------------------------------------------------------

    async def list_runs(self, **filters: Any) -> RunPage:
        """Runs, newest first; filters: result, status, workflow, since, limit, cursor."""
        ...

    async def get_run(self, run_id: str) -> RunRow: ...
    async def events_after(
        self, run_id: str, after: int, limit: int = 1000
    ) -> list[EventEnvelope]: ...
    async def events_before(
        self, run_id: str, before: int, limit: int = 1000
    ) -> list[EventEnvelope]: ...
    async def count_events(self, run_id: str) -> int: ...
    def iter_events(self, run_id: str) -> AsyncIterator[EventEnvelope]:
        """Every event the run has now, oldest first, a page at a time (not live)."""
        ...

    async def tasks_of(self, run_id: str) -> list[TaskRow]: ...
    async def attempts_of(self, run_id: str) -> list[AttemptRow]: ...
    async def violations_of(self, run_id: str) -> list[ViolationRow]: ...
    async def phases_of(self, run_id: str) -> list[PhaseRow]:
        """The run's phase changes, oldest first (without reading its events)."""
        ...

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
        """One attempt's output lines, oldest first, read through an index (never the whole
        log): those after the position `after` (seq, index), or the last `limit` before
        `before`, or (neither) the last `limit` of all; only `stream`'s (stdout, stderr, poll)
        if given. Bounded as `runtui.domain.task_output` says; `more` says whether lines remain
        beyond the page."""
        ...

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
        """Search the run's whole log (not only what a screen has loaded): the seqs of events
        whose shown text holds `text` (case-insensitive, a plain substring; empty: every event
        the filters keep), only of `kinds`, none of `exclude_kinds`, only about `task_id`. The
        `limit` matches after `after_seq`, or before `before_seq`, or (neither) the newest;
        with a bounded count of all of them. Bounded in text, page and time as
        `runtui.domain.log_search` says."""
        ...

    async def incidents_of(self, run_id: str) -> list[IncidentRow]: ...
    async def audit_of(self, run_id: str) -> AuditRows: ...
    async def approvals_of(self, run_id: str) -> list[ApprovalRow]: ...
    async def forks_of(self, run_id: str) -> list[RunRow]: ...
    async def workflow_source(self, run_id: str) -> WorkflowSource:
        """The text the run was started from (its TOML file, or the module of the Python
        `Flow` that built it; a fork's is its parent's), cut at 256 KiB (`truncated`); for a run
        started without it, its stored workflow rendered as TOML (`format` "rendered")."""
        ...

    async def get_approval(self, approval_id: str) -> ApprovalRow: ...
    async def pending_approvals(self) -> list[ApprovalRow]: ...
    async def count_by_result(self) -> dict[str, int]: ...
    async def health(self) -> list[WorkflowHealth]: ...
    async def run_summaries(
        self, *, limit: int = 100, result: str | None = None
    ) -> tuple[list[RunSummary], int]:
        """Finished runs in the run-history format, most recently ended first, and how many
        finished runs match `result` (success, failed, stopped) in all."""
        ...

    async def get_summary(self, run_id: str) -> RunSummary: ...

    # --- verbs ----------------------------------------------------------------------------------

    async def submit(
        self, workflow: Workflow, *, force: bool = False, base_dir: Path | None = None
    ) -> str:
        """Start a run of `workflow` (its tasks run in `base_dir`, default: this process's
        working directory); returns the new run's id once its creation has committed."""
        ...

    async def submit_file(self, path: Path, *, force: bool = False) -> str:
        """Start a run of a workflow file (its tasks run in the file's directory)."""
        ...

    async def approve(
        self,
        approval_id: str,
        *,
        reason: str = "",
        edits: dict[str, Any] | None = None,
        by: str | None = None,
    ) -> None: ...
    async def reject(self, approval_id: str, *, reason: str, by: str | None = None) -> None: ...
    async def cancel(self, run_id: str) -> None: ...
    async def resume(self, run_id: str) -> None: ...
    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        """What a rewind to `wave` would keep and re-execute; changes nothing."""
        ...

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        """Fork `run_id` from `wave`; the plan carries the new run's id."""
        ...

    async def retry(self, run_id: str, *, force: bool = False) -> str:
        """Fork a finished run from just before its first failed wave; the new run's id."""
        ...

    async def clear_health(self, workflow: str, *, by: str | None = None) -> None: ...

    # --- what happens next ----------------------------------------------------------------------

    def events(
        self, run_id: str | None = None, *, after: int | None = None
    ) -> AsyncIterator[EventEnvelope]: ...
    async def wait(self, run_id: str) -> RunRow: ...
    async def driven_here(self) -> dict[str, int]:
        """The live runs this process drives, each with how many of its attempts run here now:
        what quitting it hands over (none for a server's client or a read-only view)."""
        ...

    async def drain(self) -> None:
        """Return once nothing this process drives moves without a human (every run it drives
        has settled); at once where it drives nothing (a server's client, a read-only view)."""
        ...

    async def position(self) -> int:
        """The position of the last committed event: `events(None, after=...)` from here
        misses nothing committed after this call."""
        ...

    def subscribe(self, max_batches: int = 256) -> AsyncIterator[Delivery]: ...
    async def ready(self) -> bool:
        """True when the runtime takes work now (its database writable, its actors running)."""
        ...


__all__ = ["Port", "RuntimeMetrics"]
