"""Sequence numbers: 1, 2, 3, ... per run with no gap, a run's first event its `run.created`.

The writer asks for a request's numbers while it builds a group commit (`assign`), then, once
the commit is durable, makes them permanent (`committed`): a group that rolls back leaves no
hole. The last committed number of each run is cached (bounded), so a commit rarely reads it
from the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from runtui.domain.errors import StoreError
from runtui.domain.events import EventEnvelope, PendingEvent, RunCreated, kind_of

#: Runs whose last number is remembered; beyond it the cache starts again (reads refill it).
CACHE_LIMIT = 100_000


class RequestRejected(StoreError):
    """A request that breaks the sequence rules; the rest of its group is still written."""


class Sequencer:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._last: dict[str, int] = {}

    def assign(
        self, items: Sequence[PendingEvent], pending: dict[str, int], position: int
    ) -> tuple[list[EventEnvelope], dict[str, int]]:
        """Envelopes for `items`, numbered after what the group already holds (`pending`) and
        placed after `position`; with the request's own last number per run."""
        local: dict[str, int] = {}
        envs: list[EventEnvelope] = []
        for item in items:
            run_id = item.run_id
            last = local.get(run_id)
            if last is None:
                last = pending.get(run_id)
            if last is None:
                last = self._stored_last(run_id)
            is_create = type(item.body) is RunCreated
            if last == 0 and not is_create:
                raise RequestRejected(
                    f"run {run_id} does not exist: its first event must be run.created, "
                    f"not {kind_of(item.body)}"
                )
            if last > 0 and is_create:
                raise RequestRejected(f"run {run_id} already exists")
            local[run_id] = last + 1
            position += 1
            envs.append(
                EventEnvelope(run_id, last + 1, item.ts, item.body, item.wave_index, position)
            )
        return envs, local

    def committed(self, last: dict[str, int]) -> None:
        """The group holding these last numbers is durable: they are the runs' last now."""
        if len(self._last) > CACHE_LIMIT:
            self._last.clear()
        self._last.update(last)

    def forget(self, run_id: str) -> None:
        """Read `run_id`'s last number from the database next time: another process may have
        written it (this one just claimed it)."""
        self._last.pop(run_id, None)

    def _stored_last(self, run_id: str) -> int:
        cached = self._last.get(run_id)
        if cached is not None:
            return cached
        row = self._conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?", (run_id,)
        ).fetchone()
        return int(row[0])
