"""A runtime handle that only reads: what `runtui --read-only` shows, with no runtime behind it.

A read-only UI must never start a runtime (that would resume, and so execute, live runs) and
never write (not even a lock or a migration): it may sit beside the process that owns the
database. It reads the store and follows its commits as the API process does (`StoreTail`);
every verb is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn

import anyio

from runtui.actors.bus import Subscription
from runtui.actors.resume import rewind_plan_of
from runtui.actors.tail import StoreTail
from runtui.domain.errors import ConflictError
from runtui.domain.health import WorkflowHealth, assess
from runtui.domain.rewind import RewindPlan
from runtui.store import StoreReader, open_reader
from runtui.store.watch import CommitWatch


class ReadOnlyError(ConflictError):
    """A change asked of a read-only view."""


class ReadOnlyRuntime:
    def __init__(self, path: Path | str, reader: StoreReader, tail: StoreTail) -> None:
        self.db_path = path
        self.reader = reader
        self._tail = tail

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[ReadOnlyRuntime]:
        async with open_reader(path) as reader:
            watch = CommitWatch(path)
            tail = StoreTail(reader, watch)
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(tail.run)
                    try:
                        yield cls(path, reader, tail)
                    finally:
                        tg.cancel_scope.cancel()
            finally:
                tail.close()

    def subscribe(self, *, run_id: str | None = None, max_batches: int = 1024) -> Subscription:
        return self._tail.subscribe(run_id=run_id, max_batches=max_batches)

    async def health(self) -> list[WorkflowHealth]:
        return [
            assess(w, await self.reader.health_results(w)) for w in await self.reader.workflows()
        ]

    def _refuse(self, *_: Any, **__: Any) -> NoReturn:
        raise ReadOnlyError("read-only: this view never changes runs")

    @property
    def last_position(self) -> int:
        return self._tail.last_position

    def end_streams(self) -> None:
        """End every subscription (the API process's shutdown: streams say goodbye)."""
        self._tail.end_streams()

    async def submit(self, workflow: Any, **_: Any) -> str:
        self._refuse()

    async def submit_file(self, path: Path, **_: Any) -> str:
        self._refuse()

    async def retry(self, run_id: str, **_: Any) -> str:
        self._refuse()

    async def clear_health(self, workflow: str, **_: Any) -> None:
        self._refuse()

    async def stop(self, run_id: str, **_: Any) -> None:
        self._refuse()

    async def approve(self, approval_id: str, **_: Any) -> None:
        self._refuse()

    async def reject(self, approval_id: str, **_: Any) -> None:
        self._refuse()

    async def cancel(self, run_id: str) -> None:
        self._refuse()

    async def resume(self, run_id: str) -> None:
        self._refuse()

    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        """A plan is only read: it is shown here too."""
        return await rewind_plan_of(self.reader, run_id, wave)

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        self._refuse()
