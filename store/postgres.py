"""The event log on PostgreSQL: per-run `seq` without a gap, and a global `position` in commit
order (issue 14: the second store; this is its log, not yet the runtime's store).

Why positions need care here: a PostgreSQL sequence hands out numbers when transactions ask,
not when they commit, so a transaction that took 41 may commit after one that took 42. A
reader that has seen 42 and asks for "after 42" would never see 41: a stream across all runs
would skip an event for good. So an append takes its positions from a one-row counter it
updates in the same transaction: the row stays locked until that transaction commits, so the
next appender gets larger numbers *and* commits later. Positions are then commit-ordered, and
"everything after my last position" is exact. The cost is that appends from every node take
turns at the counter (each holding it for one commit); a node batches its appends into one
transaction (group commit), so the turns are per batch, not per event.

A run's `seq` comes from `MAX(seq)` of that run in the same transaction; `UNIQUE (run_id,
seq)` makes two writers of one run (which ownership per run forbids) fail rather than fork it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg.rows import TupleRow

from runtui.domain.events import TYPE_TO_KIND, EventEnvelope, PendingEvent, decode_event
from runtui.domain.events import encode_event as encode

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position   BIGINT PRIMARY KEY,
    run_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    wave_index INTEGER,
    ts         DOUBLE PRECISION NOT NULL,
    body       BYTEA NOT NULL,
    UNIQUE (run_id, seq)
);
CREATE TABLE IF NOT EXISTS event_position (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    last     BIGINT NOT NULL
);
INSERT INTO event_position (last) VALUES (0) ON CONFLICT DO NOTHING;
"""


class PgEventLog:
    """Append and read events on one PostgreSQL connection (its schema already chosen)."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        self.conn = conn

    @classmethod
    async def create(cls, conn: psycopg.AsyncConnection[TupleRow]) -> PgEventLog:
        async with conn.transaction():
            await conn.execute(SCHEMA)
        return cls(conn)

    async def append(self, events: Sequence[PendingEvent]) -> list[EventEnvelope]:
        """Commit `events` in one transaction; they come back with their seq and position."""
        if not events:
            return []
        out: list[EventEnvelope] = []
        async with self.conn.transaction():
            row = await (
                await self.conn.execute(
                    "UPDATE event_position SET last = last + %s RETURNING last", (len(events),)
                )
            ).fetchone()
            assert row is not None
            position = int(row[0]) - len(events)
            seqs: dict[str, int] = {}
            for run_id in {e.run_id for e in events}:
                found = await (
                    await self.conn.execute(
                        "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = %s", (run_id,)
                    )
                ).fetchone()
                assert found is not None
                seqs[run_id] = int(found[0])
            rows = []
            for event in events:
                position += 1
                seqs[event.run_id] += 1
                rows.append(
                    (
                        position,
                        event.run_id,
                        seqs[event.run_id],
                        TYPE_TO_KIND[type(event.body)],
                        event.wave_index,
                        event.ts,
                        encode(event.body),
                    )
                )
                out.append(
                    EventEnvelope(
                        event.run_id,
                        seqs[event.run_id],
                        event.ts,
                        event.body,
                        event.wave_index,
                        position,
                    )
                )
            async with self.conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, body)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
        return out

    async def events_since(self, position: int, *, limit: int = 1000) -> list[EventEnvelope]:
        """Every run's events after `position`, in commit order."""
        cursor = await self.conn.execute(
            "SELECT run_id, seq, ts, body, wave_index, position FROM events"
            " WHERE position > %s ORDER BY position LIMIT %s",
            (position, limit),
        )
        return _envelopes(await cursor.fetchall())

    async def events_after(
        self, run_id: str, after: int, *, limit: int = 1000
    ) -> list[EventEnvelope]:
        """One run's events after seq `after`, in seq order."""
        cursor = await self.conn.execute(
            "SELECT run_id, seq, ts, body, wave_index, position FROM events"
            " WHERE run_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (run_id, after, limit),
        )
        return _envelopes(await cursor.fetchall())


def _envelopes(rows: Iterable[TupleRow]) -> list[EventEnvelope]:
    return [
        EventEnvelope(
            str(r[0]),
            int(r[1]),
            float(r[2]),
            decode_event(bytes(r[3])),
            None if r[4] is None else int(r[4]),
            int(r[5]),
        )
        for r in rows
    ]


__all__ = ["SCHEMA", "PgEventLog"]
