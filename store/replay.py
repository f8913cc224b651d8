"""Replay: rebuild a run's projected state from its events alone, and compare.

The events are projected into an empty in-memory database by the same `project` code the writer
uses, then every projection table is read back for the run. If the stored projections equal the
replayed ones, the projections are exactly what the events say; if not, the report names the
table and rows that differ.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from runtui.domain.events import EventEnvelope, encode_event
from runtui.store.projector import project
from runtui.store.schema import migrate, read_only_uri

#: Every projection table and the columns that order its rows for comparison.
PROJECTION_TABLES: dict[str, str] = {
    "runs": "run_id",
    "phase_transitions": "seq",
    "tasks": "task_id",
    "attempts": "task_id, attempt",
    "approvals": "approval_id",
    "violations": "seq",
    "incidents": "incident_id",
    "audit_expectations": "domain, action",
    "audit_acks": "seq",
    "spans": "span_id",
    "run_summaries": "run_id",
}

RunSnapshot = dict[str, list[tuple[Any, ...]]]


class ReplayReport(msgspec.Struct, frozen=True):
    run_id: str
    events: int
    differences: list[str]

    @property
    def matches(self) -> bool:
        return not self.differences


def read_snapshot(conn: Any, run_id: str) -> RunSnapshot:
    """Every projection row belonging to `run_id`, table by table, in a stable order."""
    return {
        table: [
            tuple(r)
            for r in conn.execute(
                f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {order}", (run_id,)
            )
        ]
        for table, order in PROJECTION_TABLES.items()
    }


def replay_snapshot(run_id: str, events: Iterable[EventEnvelope]) -> RunSnapshot:
    """Project `events` into a fresh in-memory database and return the run's snapshot."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        envs = list(events)
        cur = conn.cursor()
        cur.execute("BEGIN")
        cur.executemany(
            "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, payload)"
            " VALUES (?,?,?,?,?,?,?)",
            [
                (
                    e.position or None,
                    e.run_id,
                    e.seq,
                    e.kind,
                    e.wave_index,
                    e.ts,
                    encode_event(e.body),
                )
                for e in envs
            ],
        )
        project(cur, envs)
        cur.execute("COMMIT")
        return read_snapshot(conn, run_id)
    finally:
        conn.close()


def stored_snapshot(db_path: Path, run_id: str) -> RunSnapshot:
    """The run's projections as the database holds them (read-only connection)."""
    conn = sqlite3.connect(read_only_uri(db_path), uri=True)
    try:
        return read_snapshot(conn, run_id)
    finally:
        conn.close()


def replay_stored_run(db_path: Path | str, run_id: str) -> ReplayReport:
    """Replay `run_id` and compare, reading its events and its projections in one read
    transaction, so a run still being written is compared at one consistent moment."""
    from runtui.domain.events import decode_event
    from runtui.store import pg

    conn: Any
    if pg.is_postgres(db_path):
        conn = pg.Connection.connect(str(db_path))
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    else:
        conn = sqlite3.connect(read_only_uri(db_path), uri=True, isolation_level=None)
        begin = "BEGIN"
    try:
        conn.execute(begin)
        rows = conn.execute(
            "SELECT run_id, seq, ts, payload, wave_index, position, epoch FROM events"
            " WHERE run_id = ? ORDER BY seq",
            (run_id,),
        ).fetchall()
        stored = read_snapshot(conn, run_id)
        conn.execute("COMMIT")
    finally:
        conn.close()
    events = [
        EventEnvelope(
            run_id=r[0], seq=r[1], ts=r[2], body=decode_event(r[3]), wave_index=r[4], position=r[5]
        )
        for r in rows
    ]
    differences = sequence_faults([(r[1], r[6]) for r in rows])
    differences += compare_snapshots(stored, replay_snapshot(run_id, events))
    return ReplayReport(run_id=run_id, events=len(events), differences=differences)


def sequence_faults(seq_epochs: list[tuple[int, int | None]]) -> list[str]:
    """What is wrong with a run's numbering: a gap in its seqs (1, 2, 3, ...), or an event
    written under an older lease epoch than one before it (an owner that had lost the run
    wrote to it: fencing failed). Events from before ownership per run have no epoch."""
    faults: list[str] = []
    highest: int | None = None
    for expected, (seq, epoch) in enumerate(seq_epochs, start=1):
        if seq != expected:
            faults.append(f"seq: #{seq} where #{expected} was due (a gap)")
            break
        if epoch is not None:
            if highest is not None and epoch < highest:
                faults.append(
                    f"epoch: #{seq} was written under lease epoch {epoch} after epoch {highest}"
                    " (by an owner that had lost the run)"
                )
                break
            highest = epoch
    return faults


def compare_snapshots(stored: RunSnapshot, replayed: RunSnapshot) -> list[str]:
    differences: list[str] = []
    for table in PROJECTION_TABLES:
        have, want = stored.get(table, []), replayed.get(table, [])
        if have == want:
            continue
        only_stored = [r for r in have if r not in want]
        only_replayed = [r for r in want if r not in have]
        differences.append(
            f"{table}: stored has {len(have)} rows, replay has {len(want)};"
            f" only in store: {only_stored[:3]}; only in replay: {only_replayed[:3]}"
        )
    return differences
