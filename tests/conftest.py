"""Shared fixtures: every test gets its own real SQLite file in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Each store in turn: a SQLite file, then a PostgreSQL schema of this test's own (skipped,
    saying why, where PostgreSQL is not reachable)."""
    if request.param == "sqlite":
        yield tmp_path / "runs.db"
        return
    from tests.databases import postgres_schema

    with postgres_schema() as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep tests away from the real user's config, data and log dirs."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "xdg" / var.lower()))
    for var in ("RUNTUI_CONFIG", "RUNTUI_DB", "RUNTUI_DURABILITY"):
        monkeypatch.delenv(var, raising=False)
    # Leases of 2 s (not 5): a test that kills a process waits that long for its runs to be
    # taken over, and a loaded two-core machine still renews well within it.
    monkeypatch.setenv("RUNTUI_LEASE_TTL_S", "2")
    return


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
