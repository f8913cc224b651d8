"""The run-history document's API: `RunHistory` over finished runs, in its `RunSummary` format.

    from runtui.history import RunHistory

    with RunHistory.open("runs.db") as history:          # or RunHistory(sync_runtime)
        for summary in history.list_runs(limit=20, result_filter="failed"):
            print(summary.run_id, summary.failure_reason)
        print(history.get_run_count())

It reads through the port (a database read-only, beside whatever runs on it, or a server:
`RunHistory(runtui.sync.connect(url))`), so a history is the same wherever it is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtui.domain.errors import NotFoundError, UnknownValueError
from runtui.domain.summary import RunResult, RunSummary
from runtui.sync import SyncRuntime


class RunHistory:
    """Finished runs, most recently ended first."""

    def __init__(self, runtime: SyncRuntime) -> None:
        self.runtime = runtime

    @classmethod
    @contextmanager
    def open(cls, db: str | Path | None = None) -> Iterator[RunHistory]:
        """The history of the database `db` (default: the command line's), read-only."""
        import runtui.sync

        with runtui.sync.open(db, read_only=True) as runtime:
            yield cls(runtime)

    def list_runs(
        self, limit: int = 100, result_filter: RunResult | str | None = None
    ) -> list[RunSummary]:
        return self.runtime.run_summaries(limit=limit, result=_result(result_filter))[0]

    def get_run(self, run_id: str) -> RunSummary | None:
        """The run's summary; None when there is no such finished run."""
        try:
            return self.runtime.get_summary(run_id)
        except NotFoundError:
            return None

    def get_run_count(self, result_filter: RunResult | str | None = None) -> int:
        return self.runtime.run_summaries(limit=1, result=_result(result_filter))[1]


def _result(value: RunResult | str | None) -> str | None:
    if value is None:
        return None
    try:
        return RunResult(value).value
    except ValueError:
        raise UnknownValueError("result_filter", value, [r.value for r in RunResult]) from None


__all__ = ["RunHistory", "RunResult", "RunSummary"]
