"""Idempotency-Key records in the database: taken, answered, forgotten, found again by a new
owner of the file, and gone after the retention (deleted as new keys are taken)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runtui.domain.events import PendingEvent, RunCreated
from runtui.store import open_store
from runtui.store.idempotency import RETENTION_S, SUBMITTED_WITH, IdempotencyKeys, KeyRecord

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def stored_keys(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [k for (k,) in conn.execute("SELECT key FROM idempotency_keys ORDER BY key")]
    finally:
        conn.close()


async def test_a_key_is_taken_answered_and_found_by_the_next_owner(database: Path | str) -> None:
    clock = Clock()
    async with open_store(database) as store:
        keys = IdempotencyKeys(store.writer, store.reader, clock=clock)
        assert await keys.find("POST /api/runs", "k1") is None
        await keys.take("approve r1", "k1", b"fp", "approval-1")
        assert await keys.find("approve r1", "k1") == KeyRecord(b"fp", clock.now, "approval-1")
        assert await keys.find("POST /api/runs", "k1") is None  # keys are per scope
        await keys.answer("approve r1", "k1", b"fp", status=200, body=b"{}", location=None)
        await keys.take("POST /api/runs", "k2", b"fp2", None)
        await keys.forget("POST /api/runs", "k2")
    async with open_store(database) as store:  # the next start of the server
        keys = IdempotencyKeys(store.writer, store.reader, clock=clock)
        assert await keys.find("approve r1", "k1") == KeyRecord(
            b"fp", clock.now, None, 200, b"{}", None
        )
        assert await keys.find("POST /api/runs", "k2") is None


async def test_keys_expire_and_are_deleted_as_new_ones_are_taken(db_path: Path) -> None:
    clock = Clock()
    async with open_store(db_path) as store:
        keys = IdempotencyKeys(store.writer, store.reader, clock=clock)
        await keys.answer("s", "old", b"fp", status=201, body=b"{}", location="/x")
        clock.now += RETENTION_S - 1
        assert await keys.find("s", "old") is not None
        clock.now += 2
        assert await keys.find("s", "old") is None  # expired: a retry acts afresh
        assert stored_keys(db_path) == ["old"]
        await keys.take("s", "new", b"fp", None)
        assert stored_keys(db_path) == ["new"]  # the table does not grow without end


async def test_the_run_a_key_submitted_is_found_from_its_metadata(database: Path | str) -> None:
    async with open_store(database) as store:
        keys = IdempotencyKeys(store.writer, store.reader)
        created = RunCreated(workflow="w", metadata={"via": "api", SUBMITTED_WITH: "k1"})
        await store.writer.append_many([PendingEvent("run-1", created, 5000.0)])
        assert await keys.run_submitted_with("k1", since=5000.0) == "run-1"
        assert await keys.run_submitted_with("k2", since=5000.0) is None
        assert await keys.run_submitted_with("k1", since=6000.0) is None  # before the key
        # a run whose metadata holds NUL (its JSON says \u0000, which PostgreSQL's json
        # refuses to read) is passed over, not an error for every key looked up beside it
        nul = RunCreated(workflow="w", metadata={"note": "a\x00b", SUBMITTED_WITH: "k3"})
        later = RunCreated(workflow="w", metadata={SUBMITTED_WITH: "k4"})
        await store.writer.append_many(
            [PendingEvent("run-nul", nul, 7000.0), PendingEvent("run-4", later, 7001.0)]
        )
        assert await keys.run_submitted_with("k4", since=6900.0) == "run-4"
