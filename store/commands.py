"""Commands through the database: how a process asks the one that drives a run (holds its
lease, `store.leases`) to act on it (migrations 0005, 0006): approve, reject, cancel.

A command goes `pending`, addressed to the run's owner (the requester inserts it, on a
connection of its own: SQLite lets several processes write, each commit waiting its turn) →
`taken` (the owner claims it, in one statement, so it is applied once) → `done` with its
result, or `failed` with the kind and text of the error. A requester whose owner went away
withdraws a command nobody took (`withdrawn`) and acts itself. A command taken by an owner that
stopped before it finished is marked failed when a process next opens the database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec

from runtui.domain.errors import UnavailableError
from runtui.store.leases import STALE_AFTER_TTLS, Holder, holder_of
from runtui.store.pg import is_postgres, side_connection
from runtui.store.writer import EventWriter

PENDING, TAKEN, DONE, FAILED, WITHDRAWN = "pending", "taken", "done", "failed", "withdrawn"
ABANDONED = (
    "the process that took this command stopped before it finished: check the run to see"
    " whether it took effect"
)

_COLUMNS = "id, kind, run_id, payload, state, result, error_kind, error"


class CommandRow(msgspec.Struct, frozen=True):
    id: str
    kind: str
    run_id: str | None
    payload: dict[str, Any]
    state: str
    result: Any = None
    error_kind: str | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, r: tuple[Any, ...]) -> CommandRow:
        return cls(
            r[0],
            r[1],
            r[2],
            json.loads(r[3]),
            r[4],
            None if r[5] is None else json.loads(r[5]),
            r[6],
            r[7],
        )


# --- the requester's side: a connection of its own, used from a worker thread ---------------


class CommandBox:
    """Sends commands to the processes driving runs of the database at `path`, and reads how
    they went."""

    def __init__(self, path: Path | str) -> None:
        self._conn = side_connection(path)
        self._postgres = is_postgres(path)

    def close(self) -> None:
        self._conn.close()

    def send(
        self,
        command_id: str,
        kind: str,
        run_id: str | None,
        payload: dict[str, Any],
        *,
        at: float,
        by: str,
        owner: str,
    ) -> None:
        try:
            self._conn.execute(
                "INSERT INTO commands (id, kind, run_id, payload, requested_at, requested_by,"
                " owner) VALUES (?,?,?,?,?,?,?)",
                (command_id, kind, run_id, json.dumps(payload), at, by, owner),
            )
            if self._postgres:  # the owner may be on another machine: no bell reaches it
                self._conn.execute("SELECT pg_notify(?, ?)", (CHANNEL, owner))
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise UnavailableError(
                    "the database's schema is too old to take commands from other processes;"
                    " open it once with this runtui's runtime commands to migrate it"
                ) from None
            raise

    def get(self, command_id: str) -> CommandRow:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM commands WHERE id = ?", (command_id,)
        ).fetchone()
        assert row is not None, "a command is never deleted"
        return CommandRow.from_row(row)

    def holder(self, run_id: str, now: float) -> Holder | None:
        """Who drives `run_id` now (an unexpired lease), or None."""
        return holder_of(self._conn, run_id, now)

    def withdraw(self, command_id: str) -> bool:
        """Take back a command nobody has taken; False when the owner already took it."""
        cursor = self._conn.execute(
            "UPDATE commands SET state = ? WHERE id = ? AND state = ?",
            (WITHDRAWN, command_id, PENDING),
        )
        return bool(cursor.rowcount == 1)


# --- the owner's side: through the store's writer and reader --------------------------------

#: The PostgreSQL channel requesters notify, with the owner's id as the payload.
CHANNEL = "runtui_commands"


async def listen_for_commands(db: Path | str, owner: str) -> AsyncIterator[None]:
    """Yield whenever a requester notifies `owner` that a command waits (PostgreSQL's LISTEN;
    on SQLite nothing: the bell does it there). Ends when the connection does."""
    if not is_postgres(db):
        return
    import psycopg

    async with await psycopg.AsyncConnection.connect(str(db), autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        async for note in conn.notifies():
            if note.payload == owner:
                yield None


class CommandDesk:
    """An owner's view of the commands addressed to it: notice them, claim the pending ones,
    record how each went. Noticing is cheap (a read-only connection asks SQLite's
    `data_version`, answered from shared memory, and looks for a pending row only after some
    commit), so the owner can look often; claiming writes, so it happens only when there is
    something."""

    def __init__(
        self, writer: EventWriter, path: Path | str, clock: Callable[[], float], owner: str
    ) -> None:
        self._writer = writer
        self._owner = owner
        self._clock = clock
        self._probe = side_connection(path, read_only=True)
        self._postgres = is_postgres(path)
        self._version: int | None = None

    def close(self) -> None:
        self._probe.close()

    def any_new(self) -> bool:
        """True when a command may be waiting: something committed since the last look and a
        pending command exists."""
        if not self._postgres:  # PostgreSQL has no data_version: the pending query is the look
            version = int(self._probe.execute("PRAGMA data_version").fetchone()[0])
            if version == self._version:
                return False
            self._version = version
        row = self._probe.execute(
            "SELECT 1 FROM commands WHERE state = ? AND owner = ? LIMIT 1",
            (PENDING, self._owner),
        ).fetchone()
        return row is not None

    async def take_pending(self, limit: int = 64) -> list[CommandRow]:
        """Claim pending commands, oldest first; each is returned to one owner only."""
        taken: list[CommandRow] = []
        now = self._clock()

        def claim(conn: sqlite3.Connection) -> None:
            rows = conn.execute(
                f"UPDATE commands SET state = ?, taken_at = ? WHERE id IN (SELECT id FROM"
                f" commands WHERE state = ? AND owner = ? ORDER BY requested_at LIMIT ?)"
                f" RETURNING {_COLUMNS}",
                (TAKEN, now, PENDING, self._owner, limit),
            ).fetchall()
            taken.extend(CommandRow.from_row(r) for r in rows)

        await self._writer.call(claim)
        return taken

    async def finish(
        self,
        command_id: str,
        *,
        result: Any = None,
        error_kind: str | None = None,
        error: str | None = None,
    ) -> None:
        state = DONE if error_kind is None else FAILED
        body = None if result is None else json.dumps(result)
        now = self._clock()
        await self._writer.call(
            lambda conn: conn.execute(
                "UPDATE commands SET state = ?, done_at = ?, result = ?, error_kind = ?,"
                " error = ? WHERE id = ?",
                (state, now, body, error_kind, error, command_id),
            )
        )

    async def fail_abandoned(self) -> int:
        """Commands an owner that is gone (no renewal for a while) took and never finished:
        failed, saying so."""
        now = self._clock()
        count = 0

        def fail(conn: sqlite3.Connection) -> None:
            nonlocal count
            count = conn.execute(
                "UPDATE commands SET state = ?, done_at = ?, error_kind = 'error', error = ?"
                " WHERE state = ? AND owner NOT IN (SELECT owner_id FROM owners"
                " WHERE seen_at >= ?)",
                (
                    FAILED,
                    now,
                    ABANDONED,
                    TAKEN,
                    now - STALE_AFTER_TTLS * self._writer.lease_ttl,
                ),
            ).rowcount

        await self._writer.call(fail)
        return count


__all__ = ["CommandBox", "CommandDesk", "CommandRow"]
