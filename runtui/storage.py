"""What the command line does to a database file itself, beyond the port: its schema and
counts (`db info`), checking a run against its own events (`verify`, `replay`), the history
export, and who owns the file now.

These look at how runs are stored, not at runs as a runtime serves them, so they are not part of
`runtui.api.Port` and need the file on this machine. Front ends reach the store through here and
the port only (an import-linter contract keeps `runtui.store` out of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:  # each function imports what it uses: `owner_url` runs for every command
    from runtui.domain.summary import RunSummary
    from runtui.domain.verify import VerifyReport
    from runtui.store.replay import ReplayReport


@dataclass(frozen=True)
class DatabaseFacts:
    schema_version: int
    runs_by_result: dict[str, int]
    events: int


async def facts(db: Path | str) -> DatabaseFacts:
    """The schema version the code writes, runs per result and the number of events (the file
    must exist: a missing one is a `NotFoundError` naming it)."""
    from runtui.store import open_reader
    from runtui.store.schema import SCHEMA_VERSION

    async with open_reader(db) as reader:
        return DatabaseFacts(
            SCHEMA_VERSION, await reader.count_by_result(), await reader.count_events()
        )


async def verify_run(db: Path | str, run_id: str) -> tuple[VerifyReport, ReplayReport]:
    """The run's events through the phase machine, and a replay of its projections."""
    from runtui.domain.verify import verify_events
    from runtui.store import open_reader
    from runtui.store.replay import replay_stored_run

    async with open_reader(db) as reader:
        await reader.get_run(run_id)  # unknown: NotFoundError
        events = [e async for e in reader.iter_events(run_id)]
    replayed = await anyio.to_thread.run_sync(lambda: replay_stored_run(_located(db), run_id))
    return verify_events(events), replayed


async def replay_run(db: Path | str, run_id: str) -> ReplayReport:
    """Rebuild the run's projections from its events alone and compare with the stored ones."""
    from runtui.store import open_reader
    from runtui.store.replay import replay_stored_run

    async with open_reader(db) as reader:
        await reader.get_run(run_id)  # unknown: NotFoundError
    return await anyio.to_thread.run_sync(lambda: replay_stored_run(_located(db), run_id))


async def run_summaries(db: Path | str, result: str | None = None) -> list[RunSummary]:
    """Every finished run's summary, newest first (`result`: success, failed or stopped)."""
    from runtui.store import open_reader

    async with open_reader(db) as reader:
        return await reader.run_summaries(limit=None, result=result)


def summary_json(summary: RunSummary) -> str:
    """One summary as the run-history format's JSON object."""
    from runtui.store.history import summary_to_json

    return summary_to_json(summary)


def export_summaries(summaries: list[RunSummary], dest: Path) -> int:
    """Write summaries to `dest` as JSON Lines (atomically); how many."""
    from runtui.store.history import export_jsonl_file

    return export_jsonl_file(summaries, dest)


def owner_url(db: Path | str) -> str | None:
    """The API URL of a `runtui serve` that drives runs of the database now, if one does."""
    from runtui.store.leases import serving_url

    return serving_url(db)


__all__ = [
    "DatabaseFacts",
    "export_summaries",
    "facts",
    "owner_url",
    "replay_run",
    "run_summaries",
    "summary_json",
    "verify_run",
]


def _located(db: Path | str) -> Path | str:
    """A SQLite file's absolute path, or the PostgreSQL URL as given."""
    return db if isinstance(db, str) else db.resolve()


def shown(db: Path | str) -> str:
    """The database as messages name it: the file, or the URL without its password."""
    from runtui.store.pg import is_postgres, redacted

    return redacted(db) if isinstance(db, str) and is_postgres(db) else str(db)
