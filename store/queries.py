"""Read side: a separate read-only connection answering every query.

Reads never queue behind the writer: in WAL mode a reader sees the last committed state while a
write transaction is open. The bigger reads live in modules of their own, each given this
reader's one-round-trip query (`_all`): the runs list (`run_listing`), one task's output
(`task_output`) and the whole-log search (`log_search`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import msgspec

from runtui.domain.enums import parse_enum
from runtui.domain.errors import NotFoundError
from runtui.domain.events import EventEnvelope, decode_event
from runtui.domain.log_search import (
    DEFAULT_MATCHES_PAGE,
    SEARCH_SECONDS,
    LogMatches,
    check_query,
)
from runtui.domain.phases import RunPhase
from runtui.domain.recall import RunRecall, recall
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult, RunSummary
from runtui.domain.task_output import DEFAULT_PAGE_LINES, OutputAt
from runtui.domain.views import PhaseRow, TaskOutput
from runtui.domain.violations import PolicyViolationType, ViolationSeverity
from runtui.store.leases import claimable
from runtui.store.log_search import search_in_turn, search_log
from runtui.store.rows import (
    APPROVAL_COLUMNS,
    RUN_COLUMNS,
    ApprovalRow,
    AttemptRow,
    AuditRows,
    IncidentRow,
    RunPage,
    RunRow,
    TaskRow,
    ViolationRow,
)
from runtui.store.run_listing import list_runs
from runtui.store.schema import read_only_uri
from runtui.store.task_output import read_task_output

_json = msgspec.json.Decoder()

SEARCHES_AT_ONCE = 2  # per reader (its one connection): more wait, within their own time


def summary_from_row(r: tuple[Any, ...]) -> RunSummary:
    return RunSummary(
        run_id=r[0],
        started_at=datetime.fromtimestamp(r[1], tz=UTC),
        ended_at=datetime.fromtimestamp(r[2], tz=UTC),
        result=RunResult(r[3]),
        failure_reason=r[4],
        stages_executed=_json.decode(r[5]),
        stages_failed=_json.decode(r[6]),
        retry_count=r[7],
        metadata=_json.decode(r[8]),
    )


#: A run that has not ended (its status is not terminal), as SQL.
_LIVE = "status NOT IN ({})".format(", ".join(f"'{s.value}'" for s in RunStatus if s.is_terminal))


class StoreReader:
    """Queries over a read-only connection (opened with `mode=ro`: it cannot write)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path) -> StoreReader:
        conn = await aiosqlite.connect(read_only_uri(path), uri=True)
        await conn.execute("PRAGMA query_only=ON")
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        # One thread round trip that also finishes the statement. Separate execute / fetchall
        # / close calls from concurrent queries could keep some statement active at all times,
        # so the connection never left its read transaction and kept seeing an old snapshot.
        return [tuple(r) for r in await self._conn.execute_fetchall(sql, params)]

    # --- runs --------------------------------------------------------------------------------

    async def list_runs(
        self,
        *,
        limit: int = 50,
        result: RunResult | str | None = None,
        status: RunStatus | str | None = None,
        since: float | None = None,
        workflow: str | None = None,
        cursor: str | None = None,
        live: bool | None = None,
        text: str | None = None,
    ) -> RunPage:
        """Runs newest first, filtered; `next_cursor` fetches the following page
        (`store.run_listing`)."""
        return await list_runs(
            self._all,
            limit=limit,
            result=result,
            status=status,
            since=since,
            workflow=workflow,
            cursor=cursor,
            live=live,
            text=text,
        )

    async def get_run(self, run_id: str) -> RunRow:
        rows = await self._all(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"run {run_id} not found")
        return RunRow.from_row(rows[0])

    async def count_by_result(self) -> dict[str, int]:
        """Runs per result; live runs (no result yet) are counted under "live"."""
        rows = await self._all("SELECT COALESCE(result, 'live'), COUNT(*) FROM runs GROUP BY 1")
        counts = {r.value: 0 for r in RunResult} | {"live": 0}
        counts.update({str(k): int(n) for k, n in rows})
        return counts

    async def count_runs(self) -> int:
        rows = await self._all("SELECT COUNT(*) FROM runs")
        return int(rows[0][0])

    # --- events ------------------------------------------------------------------------------

    async def events_after(
        self, run_id: str, after_seq: int = 0, *, limit: int = 1000
    ) -> list[EventEnvelope]:
        """A run's events with seq > `after_seq`, oldest first."""
        rows = await self._all(
            "SELECT run_id, seq, ts, payload, wave_index, position FROM events"
            " WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, limit),
        )
        return [_envelope(r) for r in rows]

    async def iter_events(self, run_id: str, *, page: int = 5000) -> AsyncIterator[EventEnvelope]:
        after = 0
        while True:
            batch = await self.events_after(run_id, after, limit=page)
            for env in batch:
                yield env
            if len(batch) < page:
                return
            after = batch[-1].seq

    async def last_event_at(self, run_id: str) -> float | None:
        """When the run's newest event was recorded by the process that drove it (its last
        sign of life; a `run.claimed` is the next owner's)."""
        rows = await self._all(
            "SELECT ts FROM events WHERE run_id = ? AND kind != 'run.claimed'"
            " ORDER BY seq DESC LIMIT 1",
            (run_id,),
        )
        return float(rows[0][0]) if rows else None

    async def recall_run(self, run_id: str) -> RunRecall:
        """Fold a run's events into the state its actors rebuild on resume (output lines, by far
        the most numerous events, are left out in SQL: nothing there is needed)."""
        after = 0
        page = 5000
        envelopes: list[EventEnvelope] = []
        while True:
            rows = await self._all(
                "SELECT run_id, seq, ts, payload, wave_index, position FROM events"
                " WHERE run_id = ? AND seq > ? AND kind != 'attempt.output' ORDER BY seq LIMIT ?",
                (run_id, after, page),
            )
            envelopes.extend(_envelope(r) for r in rows)
            if len(rows) < page:
                return recall(envelopes)
            after = rows[-1][1]

    async def events_since(self, position: int, *, limit: int = 1000) -> list[EventEnvelope]:
        """Events of all runs after a global position, in commit order."""
        rows = await self._all(
            "SELECT run_id, seq, ts, payload, wave_index, position FROM events"
            " WHERE position > ? ORDER BY position LIMIT ?",
            (position, limit),
        )
        return [_envelope(r) for r in rows]

    async def count_events(self, run_id: str | None = None) -> int:
        if run_id is None:
            rows = await self._all("SELECT COUNT(*) FROM events")
        else:
            rows = await self._all("SELECT COUNT(*) FROM events WHERE run_id = ?", (run_id,))
        return int(rows[0][0])

    # --- approvals and history ---------------------------------------------------------------

    async def pending_approvals(self) -> list[ApprovalRow]:
        """Every undecided approval across runs, oldest first."""
        rows = await self._all(
            f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE decision IS NULL"
            " ORDER BY requested_at, approval_id"
        )
        return [ApprovalRow.from_row(r) for r in rows]

    async def get_approval(self, approval_id: str) -> ApprovalRow:
        rows = await self._all(
            f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE approval_id = ?", (approval_id,)
        )
        if not rows:
            raise NotFoundError(f"approval {approval_id} not found")
        return ApprovalRow.from_row(rows[0])

    async def run_summaries(
        self, *, limit: int | None = 100, result: RunResult | str | None = None
    ) -> list[RunSummary]:
        """Finished runs in the run-history format, most recently ended first."""
        sql = "SELECT * FROM run_summaries"
        params: list[Any] = []
        if result is not None:
            sql += " WHERE result = ?"
            params.append(parse_enum(RunResult, result, "result").value)
        sql += " ORDER BY ended_at DESC, run_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [summary_from_row(r) for r in await self._all(sql, tuple(params))]

    async def get_summary(self, run_id: str) -> RunSummary:
        rows = await self._all("SELECT * FROM run_summaries WHERE run_id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"no summary for run {run_id} (not found, or not finished)")
        return summary_from_row(rows[0])

    async def count_transitions(self) -> int:
        rows = await self._all("SELECT COUNT(*) FROM phase_transitions")
        return int(rows[0][0])

    async def count_summaries(self, result: RunResult | str | None = None) -> int:
        if result is None:
            rows = await self._all("SELECT COUNT(*) FROM run_summaries")
        else:
            value = parse_enum(RunResult, result, "result").value
            rows = await self._all("SELECT COUNT(*) FROM run_summaries WHERE result = ?", (value,))
        return int(rows[0][0])

    # --- one run's details -------------------------------------------------------------------

    async def tasks_of(self, run_id: str) -> list[TaskRow]:
        rows = await self._all(
            "SELECT run_id, task_id, kind, wave, needs, allow_failure, retries, spec, status,"
            " attempts, updated_at FROM tasks WHERE run_id = ? ORDER BY wave, task_id",
            (run_id,),
        )
        return [
            TaskRow(
                r[0],
                r[1],
                r[2],
                r[3],
                _json.decode(r[4]),
                bool(r[5]),
                r[6],
                _json.decode(r[7]),
                r[8],
                r[9],
                r[10],
            )
            for r in rows
        ]

    async def phases_of(self, run_id: str) -> list[PhaseRow]:
        rows = await self._all(
            "SELECT run_id, seq, from_phase, to_phase, at, reason FROM phase_transitions"
            " WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return [PhaseRow(r[0], r[1], RunPhase(r[2]), RunPhase(r[3]), r[4], r[5]) for r in rows]

    async def attempts_of(self, run_id: str) -> list[AttemptRow]:
        rows = await self._all(
            "SELECT run_id, task_id, attempt, status, idempotency_key, external_id, exit_code,"
            " error, output_tail, usage, started_at, ended_at FROM attempts WHERE run_id = ?"
            " ORDER BY started_at, task_id, attempt",
            (run_id,),
        )
        return [
            AttemptRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                _json.decode(r[9]),
                r[10],
                r[11],
            )
            for r in rows
        ]

    async def approvals_of(self, run_id: str) -> list[ApprovalRow]:
        rows = await self._all(
            f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE run_id = ? ORDER BY requested_at",
            (run_id,),
        )
        return [ApprovalRow.from_row(r) for r in rows]

    async def violations_of(self, run_id: str) -> list[ViolationRow]:
        rows = await self._all(
            "SELECT run_id, seq, policy_id, policy_name, violation_type, severity, step_index, at,"
            " threshold_value, actual_value, reason, action, task_id, attempt FROM violations"
            " WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return [
            ViolationRow(
                r[0], r[1], r[2], r[3], PolicyViolationType(r[4]), ViolationSeverity(r[5]), *r[6:]
            )
            for r in rows
        ]

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
        """A page of one attempt's output (`store.task_output`)."""
        return await read_task_output(
            self._all,
            run_id,
            task_id,
            attempt,
            after=after,
            before=before,
            stream=stream,
            limit=limit,
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
        """Search the run's whole log (`store.log_search`); a few searches at once per reader,
        the others wait their turn within their own time."""
        query = check_query(
            text,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            kinds=kinds,
            exclude_kinds=exclude_kinds,
            task_id=task_id,
        )
        deadline = time.monotonic() + SEARCH_SECONDS
        last_seq = (await self.get_run(run_id)).last_seq
        gate = self.__dict__.setdefault("_search_gate", anyio.Semaphore(SEARCHES_AT_ONCE))
        search = search_log(
            self._all,
            run_id,
            query,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            last_seq=last_seq,
            deadline=deadline,
        )
        return await search_in_turn(gate, deadline, last_seq, search)

    async def incidents_of(self, run_id: str) -> list[IncidentRow]:
        rows = await self._all(
            "SELECT incident_id, run_id, opened_at, severity, title, detail FROM incidents"
            " WHERE run_id = ? ORDER BY opened_at",
            (run_id,),
        )
        return [IncidentRow(r[0], r[1], r[2], ViolationSeverity(r[3]), r[4], r[5]) for r in rows]

    async def audit_of(self, run_id: str) -> AuditRows:
        exps = await self._all(
            "SELECT domain, action, deadline, liveness FROM audit_expectations WHERE run_id = ?"
            " ORDER BY declared_at, domain, action",
            (run_id,),
        )
        acks = await self._all(
            "SELECT domain, action, status, result_id, error FROM audit_acks WHERE run_id = ?"
            " ORDER BY seq",
            (run_id,),
        )
        return AuditRows(
            expectations=[(d, a, dl, bool(lv)) for d, a, dl, lv in exps],
            acks=[(d, a, s, r, e) for d, a, s, r, e in acks],
        )

    async def forks_of(self, run_id: str) -> list[RunRow]:
        rows = await self._all(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE parent_run_id = ? ORDER BY created_at",
            (run_id,),
        )
        return [RunRow.from_row(r) for r in rows]

    async def live_runs(self) -> list[RunRow]:
        """Runs that have not reached a terminal status (for resume on start)."""
        rows = await self._all(f"SELECT {RUN_COLUMNS} FROM runs WHERE {_LIVE} ORDER BY created_at")
        return [RunRow.from_row(r) for r in rows]

    async def unowned_live_runs(self, now: float) -> list[str]:
        """Live runs nobody drives: no lease, a released one, one that expired by `now` (its
        owner stopped renewing), or one of a process on this machine that is dead. Oldest
        first."""
        rows = await self._all(
            "SELECT r.run_id, l.owner, l.expires_at, o.pid, o.host FROM runs r"
            " LEFT JOIN run_leases l ON l.run_id = r.run_id"
            " LEFT JOIN owners o ON o.owner_id = l.owner"
            f" WHERE r.{_LIVE}"
            " ORDER BY r.created_at"
        )
        return [str(r[0]) for r in rows if claimable(r[1], r[2], r[3], r[4], now)]

    async def health_results(self, workflow: str, limit: int = 10) -> list[RunResult]:
        """Results of the workflow's latest finished runs, newest first, counting only runs
        created after an operator last cleared its health (what health is assessed from)."""
        rows = await self._all(
            "SELECT result FROM runs WHERE workflow = ? AND result IS NOT NULL"
            " AND created_at > COALESCE((SELECT cleared_at FROM health_clears"
            " WHERE workflow = ?), -1) ORDER BY created_at DESC LIMIT ?",
            (workflow, workflow, limit),
        )
        return [RunResult(r[0]) for r in rows]

    async def workflows(self) -> list[str]:
        return [str(r[0]) for r in await self._all("SELECT DISTINCT workflow FROM runs ORDER BY 1")]

    def _json_field(self, column: str, key: str) -> tuple[str, str]:
        """SQL for the text of `column`'s JSON field `key`, and the parameter it takes."""
        return f"json_extract({column}, ?)", f"$.{key}"

    async def schema_version(self) -> int:
        """The migrations applied to this database (`PRAGMA user_version`)."""
        rows = await self._all("PRAGMA user_version")
        return int(rows[0][0])

    async def integrity_check(self) -> str:
        rows = await self._all("PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)


def _envelope(r: tuple[Any, ...]) -> EventEnvelope:
    return EventEnvelope(
        run_id=r[0], seq=r[1], ts=r[2], body=decode_event(r[3]), wave_index=r[4], position=r[5]
    )
