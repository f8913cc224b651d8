"""Opening SQLite the one way runtui does, and bringing the schema up to date.

Migrations are numbered `.sql` files shipped in `store/migrations`; `PRAGMA user_version`
records the last one applied. Each runs in its own transaction together with the version bump
(and its data migration, if it has one), so a crash mid-migration leaves the previous version
intact.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runtui.domain.enums import Durability
from runtui.domain.errors import MigrationError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every shipped migration, in order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("runtui.store.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise MigrationError(f"migration {name}: expected number {expected:04d}")
    return found


SCHEMA_VERSION = len(migrations())


def data_migrations() -> dict[int, Callable[[Any], None]]:
    """Python run right after a migration's statements, in its transaction, with the
    migrating connection (either store's): for data SQL cannot derive (msgpack payloads)."""
    from runtui.store.log_search import index_old_events
    from runtui.store.task_output import index_old_output

    return {8: index_old_output, 9: index_old_events}


#: How long a write waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 5000


def apply_pragmas(conn: sqlite3.Connection, durability: Durability) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    sync = "FULL" if durability is Durability.FULL else "NORMAL"
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database; returns the version reached."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise MigrationError(
            f"database schema is version {current}, newer than this runtui ({SCHEMA_VERSION}); "
            "upgrade runtui"
        )
    for version, name, sql in migrations():
        if version <= current:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have migrated while we waited for the write lock.
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current >= version:
                conn.execute("COMMIT")
                continue
            for statement in split_statements(sql):
                conn.execute(statement)
            data = data_migrations().get(version)
            if data is not None:
                data(conn)
            conn.execute(f"PRAGMA user_version={version}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(f"migration {name} failed: {exc}") from exc
        current = version
    return current


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    statements: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        raise MigrationError(f"incomplete SQL statement at end of migration: {buf.strip()[:60]}")
    return statements


def open_write_connection(path: Path | str, durability: Durability) -> sqlite3.Connection:
    """The writer's connection: autocommit mode (we issue BEGIN/COMMIT), usable from the
    writer's worker thread, which is the only thread that ever touches it."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        apply_pragmas(conn, durability)
    except BaseException:
        conn.close()
        raise
    return conn


def read_only_uri(path: Path | str) -> str:
    """A `mode=ro` SQLite URI for `path`, percent-encoded (a `#`, `?` or `%` in a directory
    name would otherwise point SQLite at a different file)."""
    return f"file:{quote(str(Path(path).absolute()))}?mode=ro"


def check_schema_version(path: Path) -> int:
    """The schema version of an existing database, refusing one this build cannot read. (A
    file SQLite cannot open or read raises `sqlite3.Error`: `store.open_errors` words it.)"""
    conn = sqlite3.connect(read_only_uri(path), uri=True)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    if version != SCHEMA_VERSION:
        raise MigrationError(
            f"{path}: schema version {version}, this runtui needs {SCHEMA_VERSION}; "
            "open it once as owner (any writing command) to migrate"
        )
    return version
