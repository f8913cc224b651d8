"""The two stores for tests: a SQLite file, or a PostgreSQL database (the machine's
PostgreSQL 15 on 127.0.0.1:5432, or `RUNTUI_TEST_POSTGRES`) in a schema of the test's own,
dropped afterwards. Without a reachable PostgreSQL the PostgreSQL cases skip, saying why."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

DSN = os.environ.get("RUNTUI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections land in a fresh schema (dropped at the end)."""
    import psycopg

    try:
        admin = psycopg.connect(DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {DSN}: {exc}".splitlines()[0])
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in DSN else "?"
    try:  # connections name themselves after the schema, so none outlives the test
        yield f"{DSN}{joiner}options={quote(f'-csearch_path={schema}')}&application_name={schema}"
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND application_name = %s",
            (schema,),
        )
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def sql(database: object, statement: str, *args: object) -> list[tuple[object, ...]]:
    """Run one statement (runtui's SQLite dialect: `?` placeholders) on either store, in a
    transaction of its own; the rows it returns."""
    if isinstance(database, str) and database.startswith("postgres"):
        import psycopg

        from runtui.store.pg import to_pg

        with psycopg.connect(database, autocommit=True) as conn:
            cur = conn.execute(to_pg(statement), args or None)  # type: ignore[arg-type]
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    import sqlite3

    conn = sqlite3.connect(database)  # type: ignore[arg-type]
    try:
        with conn:
            return [tuple(r) for r in conn.execute(statement, args).fetchall()]
    finally:
        conn.close()
