"""PostgreSQL beneath the same store code: the statements runtui writes for SQLite, run on
PostgreSQL through thin adapters (psycopg 3).

The store's modules (writer, projector, leases, commands, queries) speak one dialect: `?`
placeholders, `BEGIN IMMEDIATE` to take the database's write lock, `ON CONFLICT` upserts. Here
that dialect is carried to PostgreSQL:

- `?` becomes `%s` (and a literal `%` is doubled), once per statement text (cached);
- `BEGIN IMMEDIATE` becomes `BEGIN` plus a row lock on `runtui_write_lock`, held until the
  transaction ends: writers take turns exactly as SQLite makes them, so a position read inside
  the transaction (`MAX(position) + 1`) is also the commit order, and an all-runs stream that
  asks "after my last position" never skips an event that committed later with a lower number;
- a string holding NUL, which PostgreSQL's text cannot store (a task may print one, a workflow
  may carry one), is stored with each NUL as `␀`, the sign the UI shows for it on either
  store (the event itself, a binary payload, keeps it); every connection runtui opens dumps
  strings so (`nul_safe`), so a query's parameters are changed the same way as what it finds;
- the migrations are the SQLite ones with their column types mapped (`REAL` → `DOUBLE
  PRECISION`, `INTEGER` → `BIGINT`, `BLOB` → `BYTEA`, no `WITHOUT ROWID`), and the schema
  version lives in `runtui_schema` instead of `PRAGMA user_version`; nodes that start at once
  migrate one at a time (an advisory lock).

A database is named by its URL (`postgresql://user@host:port/db`); `?options=-csearch_path=S`
puts runtui's tables in schema S (the tests give each test a schema of its own).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

from runtui.domain.errors import MigrationError
from runtui.store.queries import StoreReader

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: object) -> bool:
    """Whether `db` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return isinstance(db, str) and db.startswith(URL_SCHEMES)


def redacted(url: str) -> str:
    """`url` without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


#: What a NUL in a string becomes in PostgreSQL's text (its control picture, as shown).
NUL_STORED = "\u2400"


class _NulSafeText(StrDumperUnknown):
    def dump(self, obj: str) -> Any:
        return super().dump(obj.replace("\x00", NUL_STORED) if "\x00" in obj else obj)


class _NulSafeBinary(StrBinaryDumper):
    def dump(self, obj: str) -> Any:
        return super().dump(obj.replace("\x00", NUL_STORED) if "\x00" in obj else obj)


def nul_safe(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    """Dump every string this connection sends with NUL as `NUL_STORED` (see the module
    docstring): psycopg would refuse the whole statement, and with it the batch of events."""
    conn.adapters.register_dumper(str, _NulSafeText)
    conn.adapters.register_dumper(str, _NulSafeBinary)


@functools.lru_cache(maxsize=1024)
def to_pg(sql: str) -> str:
    """A statement in runtui's SQLite dialect, for PostgreSQL (outside string literals: `?` →
    `%s`, `%` → `%%`)."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


_TYPES = [
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT PRIMARY KEY"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
]


def ddl_for_pg(sql: str) -> str:
    """A SQLite migration statement with its types mapped for PostgreSQL."""
    for pattern, replacement in _TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS runtui_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runtui_write_lock (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row)
);
INSERT INTO runtui_write_lock VALUES (TRUE) ON CONFLICT DO NOTHING;
"""
_MIGRATION_LOCK = 0x72756E747569  # pg_advisory_xact_lock key: "runtui"


class Cursor:
    """A psycopg cursor that takes runtui's SQLite dialect (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cur = conn.raw.cursor()

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        if sql == "BEGIN IMMEDIATE":
            self._cur.execute("BEGIN")
            self._cur.execute("SELECT 1 FROM runtui_write_lock FOR UPDATE")
            self._conn.start_pipeline()
        elif sql in ("COMMIT", "ROLLBACK"):
            self._conn.end_pipeline()
            self._cur.execute(sql)
        elif sql.startswith("PRAGMA"):  # SQLite's own knobs: nothing to do here
            self._cur.execute("SELECT 0")
        else:
            self._cur.execute(to_pg(sql), params or None)
        return self

    def executemany(self, sql: str, rows: Any) -> Cursor:
        self._cur.executemany(to_pg(sql), rows)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall()

    def __iter__(self) -> Any:
        return iter(self._cur)

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def close(self) -> None:
        self._cur.close()


class Connection:
    """A sync psycopg connection (autocommit: the store issues BEGIN and COMMIT itself) that
    takes runtui's SQLite dialect: the writer's, on the writer's thread."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._pipeline: Any = None

    def start_pipeline(self) -> None:
        """Send a write transaction's statements without waiting for each one's answer
        (psycopg's pipeline mode): a statement whose rows are read waits for the answers so far;
        the others (inserts, projections) cost no round trip each."""
        if self._pipeline is None:
            self._pipeline = self.raw.pipeline()
            self._pipeline.__enter__()

    def end_pipeline(self) -> None:
        """Wait for every answer (an error of any statement in it is raised here)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(None, None, None)

    @classmethod
    def connect(cls, url: str) -> Connection:
        raw = psycopg.connect(url, autocommit=True)
        nul_safe(raw)
        return cls(raw)

    def cursor(self) -> Cursor:
        return Cursor(self)

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        return Cursor(self).execute(sql, params)

    @property
    def in_transaction(self) -> bool:
        if self._pipeline is not None:  # a failed statement left it waiting: end it first
            with contextlib.suppress(psycopg.Error):
                self.end_pipeline()
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def schema_version(conn: Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM runtui_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(
    conn: Connection,
    migrations: list[tuple[int, str, str]],
    split: Any,
    data: Mapping[int, Callable[[Any], None]] | None = None,
) -> int:
    """Bring the schema up to the last of `migrations` (the SQLite ones, mapped), each in its
    own transaction with its version and its `data` migration, one node at a time."""
    target = migrations[-1][0] if migrations else 0
    with conn.raw.transaction():
        # First the lock: two nodes creating the same tables at once collide even with
        # IF NOT EXISTS (PostgreSQL checks the catalog before it locks it).
        conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.raw.execute(BOOTSTRAP)
        current = schema_version(conn)
        if current > target:
            raise MigrationError(
                f"database schema is version {current}, newer than this runtui ({target});"
                " upgrade runtui"
            )
        for version, name, sql in migrations:
            if version <= current:
                continue
            try:
                with conn.raw.transaction():  # a savepoint: a failure names its migration
                    for statement in split(sql):
                        conn.raw.execute(ddl_for_pg(statement))
                    if data and version in data:
                        data[version](conn)
                    conn.raw.execute("DELETE FROM runtui_schema")
                    conn.raw.execute("INSERT INTO runtui_schema VALUES (%s)", (version,))
            except psycopg.Error as exc:
                raise MigrationError(f"migration {name} failed on PostgreSQL: {exc}") from exc
            current = version
    return current


class Reader(StoreReader):
    """The store's queries on PostgreSQL: one autocommit connection (psycopg runs one query at
    a time on it; each query sees what was committed when it started)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._pg = conn

    @classmethod
    async def connect(cls, url: str) -> Reader:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        nul_safe(conn)
        return cls(conn)

    async def close(self) -> None:
        await self._pg.close()

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        # Shielded: psycopg closes a connection whose query a cancelled task leaves half-way
        # ("query cancellation interrupted"), and this one is shared by every reader of the
        # process. A query takes milliseconds; the cancellation lands right after it.
        rows: list[tuple[Any, ...]] = []
        with anyio.CancelScope(shield=True):
            async with self._pg.cursor() as cur:
                await cur.execute(to_pg(sql), params or None)
                if cur.description is not None:
                    rows = await cur.fetchall()
        return rows

    def _json_field(self, column: str, key: str) -> tuple[str, str]:
        # PostgreSQL's json refuses to read a text holding the escape \u0000 (a NUL, which
        # msgspec writes so): such a row has no field here, instead of failing the query
        # for every row beside it.
        nul = "chr(92) || 'u0000'"
        return f"(CASE WHEN strpos({column}, {nul}) = 0 THEN {column}::jsonb ->> ? END)", key

    async def schema_version(self) -> int:
        rows = await self._all("SELECT COALESCE(MAX(version), 0) FROM runtui_schema")
        return int(rows[0][0])

    async def integrity_check(self) -> str:
        return "ok"  # PostgreSQL checks its own pages; there is no SQLite integrity_check


def side_connection(db: object, *, read_only: bool = False) -> Any:
    """A connection of its own beside the writer's, in runtui's SQLite dialect: for commands
    (requester and owner), commit watches and lease lookups. SQLite: a plain connection that
    waits for the write lock (or a read-only one); PostgreSQL: an autocommit connection."""
    if is_postgres(db):
        return Connection.connect(str(db))
    import sqlite3

    from runtui.store.schema import BUSY_TIMEOUT_MS, read_only_uri

    if read_only:
        return sqlite3.connect(read_only_uri(str(db)), uri=True, check_same_thread=False)
    conn = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn
