"""A real runtime on a real temp database, for tests that drive whole runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtui.actors.runtime import Runtime
from runtui.config import load_settings
from runtui.domain.views import RunRow
from runtui.domain.workflow import Workflow
from runtui.workflows import parse_workflow


def settings_for(db: Path | str, **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "db": db,
        "durability": "fast",
        "rok_governance_timeout_ms": 3000,
        "rok_default_run_timeout_ms": 60_000,
    }
    base.update(overrides)
    return load_settings(base)


@pytest.fixture
async def runtime(database: Path | str) -> AsyncIterator[Runtime]:
    """A runtime on each store in turn (SQLite, then PostgreSQL where it is reachable)."""
    async with Runtime.open(settings_for(database)) as rt:
        yield rt


def wf(text: str) -> Workflow:
    return parse_workflow(text, source="test.toml")


async def finish(rt: Runtime, run_id: str, limit_s: float = 30) -> RunRow:
    with anyio.fail_after(limit_s):
        return await rt.wait(run_id)


async def next_approval(rt: Runtime, run_id: str, limit_s: float = 30) -> Any:
    """Wait (on committed events, not a clock) until `run_id` has a pending approval."""
    sub = rt.subscribe(run_id=run_id)
    try:
        with anyio.fail_after(limit_s):
            while True:
                pending = [a for a in await rt.reader.pending_approvals() if a.run_id == run_id]
                if pending:
                    return pending[0]
                await sub.receive()
    finally:
        sub.close()
