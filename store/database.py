"""Opening a database to drive runs in it: private files, migrations, writer and reader.

Several processes may open one database at once: each drives the runs it holds leases on
(`store.leases`), and SQLite serialises their commits. Nothing locks the whole database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from runtui.domain.enums import Durability
from runtui.domain.errors import InvalidInputError, NotFoundError, StoreError
from runtui.store.file_identity import FileIdentity
from runtui.store.files import WritersLock, ensure_private_file
from runtui.store.leases import LEASE_TTL_S, Owner
from runtui.store.open_errors import explained
from runtui.store.pg import is_postgres
from runtui.store.queries import StoreReader
from runtui.store.replay import ReplayReport, replay_stored_run
from runtui.store.schema import (
    check_schema_version,
    data_migrations,
    migrate,
    migrations,
    open_write_connection,
    split_statements,
)
from runtui.store.writer import CommitListener, EventWriter

log = logging.getLogger(__name__)


class Store:
    """An open database: `writer` appends events, `reader` answers queries."""

    def __init__(self, path: Path | str, writer: EventWriter, reader: StoreReader) -> None:
        self.path = path  # a SQLite file, or a PostgreSQL URL
        self.writer = writer
        self.reader = reader

    async def replay(self, run_id: str) -> ReplayReport:
        """Rebuild `run_id` from its events and compare with the stored projections."""
        return await anyio.to_thread.run_sync(replay_stored_run, self.path, run_id)


async def _release(writer: EventWriter) -> None:
    """Let every lease go at a clean exit (another process takes those runs at once)."""
    if writer.closed:
        return
    try:
        await writer.release()
    except (StoreError, sqlite3.Error) as exc:  # they expire instead
        log.warning("leases not released (they expire after %.0f s): %s", writer.lease_ttl, exc)


async def _resolve(path: Path | str) -> Path:
    if str(path).startswith(("postgresql:", "postgres:")):  # a URL that became a Path
        raise InvalidInputError(
            f"db: {path} looks like a PostgreSQL URL taken for a file's path (pass the URL"
            " itself, as a string)"
        )
    expanded = await anyio.Path(path).expanduser()
    return Path(await expanded.resolve())


@asynccontextmanager
async def open_store(
    path: Path | str,
    *,
    durability: Durability = Durability.FULL,
    on_commit: CommitListener | None = None,
    max_batch: int = 10_000,
    owner: Owner | None = None,
    lease_ttl: float = LEASE_TTL_S,
) -> AsyncIterator[Store]:
    """Write to the database at `path` for the duration of the block, as `owner` (this
    process by default): it registers in `owners`, and drives the runs it creates or claims.

    Leaving the block commits every append that was already queued, releases every lease
    (another process may take those runs at once), then closes the connections.
    """
    if is_postgres(path):
        async with _writing_postgres(str(path), on_commit, max_batch, owner, lease_ttl) as store:
            yield store
        return
    db_path = await _resolve(path)
    lock = WritersLock(db_path)
    with explained(db_path, writing=True):
        lock.acquire()
    try:
        async with _writing(db_path, durability, on_commit, max_batch, owner, lease_ttl) as store:
            yield store
    finally:
        lock.release()


@asynccontextmanager
async def _writing_postgres(
    url: str,
    on_commit: CommitListener | None,
    max_batch: int,
    owner: Owner | None,
    lease_ttl: float,
) -> AsyncIterator[Store]:
    from runtui.store import pg

    conn = await anyio.to_thread.run_sync(pg.Connection.connect, url)
    try:
        await anyio.to_thread.run_sync(
            pg.migrate, conn, migrations(), split_statements, data_migrations()
        )
        writer = EventWriter(
            conn,  # type: ignore[arg-type]
            max_batch=max_batch,
            on_commit=on_commit,
            owner=owner or Owner.of_this_process(),
            lease_ttl=lease_ttl,
        )
        reader = await pg.Reader.connect(url)
        async with _serving(url, writer, reader) as store:
            yield store
    finally:
        conn.close()


@asynccontextmanager
async def _serving(
    db: Path | str, writer: EventWriter, reader: StoreReader
) -> AsyncIterator[Store]:
    """Run the writer for the block; at its end release every lease and close the reader."""
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            try:
                await writer.register()
                yield Store(db, writer, reader)
            finally:
                with anyio.CancelScope(shield=True):
                    await _release(writer)
                writer.close()
    except BaseExceptionGroup as group:
        # The task group wraps what the block raised; give callers the error itself.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        await reader.close()


@asynccontextmanager
async def _writing(
    db_path: Path,
    durability: Durability,
    on_commit: CommitListener | None,
    max_batch: int,
    owner: Owner | None,
    lease_ttl: float,
) -> AsyncIterator[Store]:
    with explained(db_path, writing=True):
        ensure_private_file(db_path)
        conn = open_write_connection(db_path, durability)
    try:
        with explained(db_path, writing=True):
            migrate(conn)
            writer = EventWriter(
                conn,
                max_batch=max_batch,
                on_commit=on_commit,
                identity=FileIdentity(db_path),
                owner=owner or Owner.of_this_process(),
                lease_ttl=lease_ttl,
            )
            reader = await StoreReader.open(db_path)
        async with _serving(db_path, writer, reader) as store:
            yield store
    finally:
        conn.close()


@asynccontextmanager
async def open_reader(path: Path | str) -> AsyncIterator[StoreReader]:
    """Read a database without owning it (WAL lets readers run beside the owner), and without
    creating, migrating or locking anything: a read never writes. A database that does not
    exist is `NotFoundError` (a mistyped `--db` must not leave a new, empty database behind)."""
    if is_postgres(path):
        async with _reading_postgres(str(path)) as reader:
            yield reader
        return
    db_path = await _resolve(path)
    with explained(db_path, writing=False):
        if not await anyio.Path(db_path).exists():
            raise NotFoundError(
                f"no runtui database at {db_path} (a runtime command such as `runtui run FILE`"
                " creates it)"
            )
        check_schema_version(db_path)
        reader = await StoreReader.open(db_path)
    try:
        yield reader
    finally:
        await reader.close()


@asynccontextmanager
async def _reading_postgres(url: str) -> AsyncIterator[StoreReader]:
    from runtui.domain.errors import MigrationError
    from runtui.store import pg
    from runtui.store.schema import SCHEMA_VERSION

    reader = await pg.Reader.connect(url)
    try:
        try:
            version = await reader.schema_version()
        except Exception:  # no runtui tables here yet
            raise NotFoundError(
                f"no runtui database at {pg.redacted(url)} (a runtime command such as"
                " `runtui run FILE` creates it)"
            ) from None
        if version != SCHEMA_VERSION:
            raise MigrationError(
                f"{pg.redacted(url)}: schema version {version}, this runtui needs"
                f" {SCHEMA_VERSION}; open it once as owner (any writing command) to migrate"
            )
        yield reader
    finally:
        await reader.close()
