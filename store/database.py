"""Opening a database as its owner: lock, private files, migrations, writer and reader."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from runtui.domain.enums import Durability
from store.files import OwnerLock, ensure_private_file
from store.queries import StoreReader
from store.schema import migrate, open_write_connection
from store.writer import CommitListener, EventWriter

log = logging.getLogger(__name__)


class Store:
    """An open database: `writer` appends events, `reader` answers queries."""

    def __init__(self, path: Path, writer: EventWriter, reader: StoreReader) -> None:
        self.path = path
        self.writer = writer
        self.reader = reader


@asynccontextmanager
async def open_store(
    path: Path | str,
    *,
    durability: Durability = Durability.FULL,
    on_commit: CommitListener | None = None,
    max_batch: int = 10_000,
) -> AsyncIterator[Store]:
    """Own the database at `path` for the duration of the block.

    A second owner (another process, or another `open_store` in this one) gets
    `DatabaseLockedError` naming the holder. Leaving the block commits every append that was
    already queued, then closes the connections and releases the lock.
    """
    db_path = Path(path).expanduser().resolve()
    lock = OwnerLock(db_path)
    lock.acquire()
    try:
        ensure_private_file(db_path)
        conn = open_write_connection(db_path, durability)
        try:
            migrate(conn)
            writer = EventWriter(conn, max_batch=max_batch, on_commit=on_commit)
            reader = await StoreReader.open(db_path)
            try:
                async with anyio.create_task_group() as tg:
                    await tg.start(writer.run)
                    try:
                        yield Store(db_path, writer, reader)
                    finally:
                        writer.close()
            finally:
                await reader.close()
        finally:
            conn.close()
    finally:
        lock.release()
