"""The API's Idempotency-Key records, kept in the database: a retry after a restart (even
after `kill -9`) gets the first answer, and a request never acts twice.

A key is *taken* (committed) before its request acts and *answered* once it has; a request
that failed *forgets* it. A key that was taken and never answered means the process died while
its request acted: the act may or may not have committed, and the records cannot say which.
The runs can, so the acts that create runs record the key with them (`SUBMITTED_WITH` in the
run's `run.created` metadata, in the same transaction as the run) and `run_submitted_with`
finds it. Records older than `RETENTION_S` count as gone and are deleted as new keys are taken.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from runtui.domain.idempotency import SUBMITTED_WITH, KeyRecord
from runtui.store.queries import StoreReader
from runtui.store.writer import EventWriter

#: How long a key is remembered (README, "Idempotency").
RETENTION_S = 24 * 3600.0

_COLUMNS = "fingerprint, taken_at, subject, status, body, location"


class IdempotencyKeys:
    """Idempotency-Key records through the store's writer (writes) and reader (reads)."""

    def __init__(
        self,
        writer: EventWriter,
        reader: StoreReader,
        *,
        retention_s: float = RETENTION_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._retention_s = retention_s
        self._clock = clock

    async def find(self, scope: str, key: str) -> KeyRecord | None:
        """The record of `key` on `scope`, unless there is none or it expired."""
        rows = await self._reader._all(
            f"SELECT {_COLUMNS} FROM idempotency_keys"
            " WHERE scope = ? AND key = ? AND taken_at >= ?",
            (scope, key, self._clock() - self._retention_s),
        )
        return KeyRecord(*rows[0]) if rows else None

    async def take(self, scope: str, key: str, fingerprint: bytes, subject: str | None) -> None:
        """Record that a request with `key` is about to act (on `subject`), durably, and
        delete the records that expired."""
        now = self._clock()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "DELETE FROM idempotency_keys WHERE taken_at < ?", (now - self._retention_s,)
                )
                conn.execute(
                    "INSERT INTO idempotency_keys"
                    " (scope, key, fingerprint, taken_at, subject) VALUES (?,?,?,?,?)"
                    " ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
                    " taken_at = excluded.taken_at, subject = excluded.subject, status = NULL,"
                    " body = NULL, location = NULL",
                    (scope, key, fingerprint, now, subject),
                )
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

        await self._writer.call(write)

    async def answer(
        self,
        scope: str,
        key: str,
        fingerprint: bytes,
        *,
        status: int,
        body: bytes,
        location: str | None,
    ) -> None:
        """Record the answer to the request with `key` (taken before, or not)."""
        await self._writer.call(
            lambda conn: conn.execute(
                "INSERT INTO idempotency_keys"
                " (scope, key, fingerprint, taken_at, status, body, location)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT (scope, key) DO UPDATE SET"
                " fingerprint = excluded.fingerprint, taken_at = excluded.taken_at,"
                " subject = NULL, status = excluded.status, body = excluded.body,"
                " location = excluded.location",
                (scope, key, fingerprint, self._clock(), status, body, location),
            )
        )

    async def forget(self, scope: str, key: str) -> None:
        """The request with `key` failed: a retry acts afresh."""
        await self._writer.call(
            lambda conn: conn.execute(
                "DELETE FROM idempotency_keys WHERE scope = ? AND key = ?", (scope, key)
            )
        )

    async def run_submitted_with(self, key: str, since: float) -> str | None:
        """The run submitted with `key` (its `SUBMITTED_WITH` metadata) since `since` (a
        minute's margin, for a clock that stepped back)."""
        field, param = self._reader._json_field("metadata", SUBMITTED_WITH)
        rows = await self._reader._all(
            f"SELECT run_id FROM runs WHERE created_at >= ? AND {field} = ?"
            " ORDER BY created_at LIMIT 1",
            (since - 60.0, param, key),
        )
        return str(rows[0][0]) if rows else None
