"""The port for a process that finds the database owned by another one (the terminal UI, a
`runtui run`): reads and events from the database itself, each verb a command the owner
applies (`runtui.store.commands`, taken by `actors.command_intake`).

So with the UI open, `runtui approve` from a shell works, and the UI shows it live; `runtui
cancel` stops a run that a `runtui run` in another terminal drives (that command then exits 6);
`runtui run` hands its run to the owner and follows it. The owner's kernel stays the single
authority: a second decision is refused naming the first, as in one process, and the requester
raises the same error class.

If the owner goes away before it took a command, this process withdraws the command, takes the
database over (resuming its live runs, as any runtime command does) and acts itself; from then
on it is the embedded runtime.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import msgspec

from runtui.actors.read_only import ReadOnlyRuntime
from runtui.actors.runtime import Runtime
from runtui.config import Settings
from runtui.domain import errors
from runtui.domain.rewind import RewindPlan
from runtui.domain.workflow import Workflow
from runtui.embedded import EmbeddedRuntime
from runtui.identity import who_decides
from runtui.store.commands import DONE, FAILED, CommandBox
from runtui.store.files import read_owner, ring_bell

T = TypeVar("T")

#: How often a requester looks at its command (the owner is rung and takes it at once; a
#: requester waits moments, so it looks often).
LOOK_EVERY_S = 0.002


def owned_by_another(db: Path) -> bool:
    """Whether another process owns the database now (holds its lock)."""
    return read_owner(db) is not None


def raised_as(kind: str | None, text: str) -> errors.RuntuiError:
    """The error the owner recorded, as the class it was raised as (by its kind)."""
    for cls, _status, _code in errors.KINDS:
        if cls.__name__ == kind:
            return cls(text)
    return errors.RuntuiError(text)


class QueuedRuntime(EmbeddedRuntime):
    """An `EmbeddedRuntime` over a read-only view whose verbs go to the database's owner."""

    def __init__(
        self,
        view: ReadOnlyRuntime,
        settings: Settings,
        box: CommandBox,
        stack: AsyncExitStack,
        *,
        user: str | None = None,
    ) -> None:
        super().__init__(view, user=user)
        self._settings = settings
        self._box = box
        self._stack = stack
        self.description = f"local: {view.db_path.name} (owned by another process)"

    @classmethod
    @asynccontextmanager
    async def beside_owner(
        cls, settings: Settings, *, user: str | None = None
    ) -> AsyncIterator[QueuedRuntime]:
        box = CommandBox(Path(settings.db))
        try:
            async with AsyncExitStack() as stack:  # a take-over's runtime joins it: LIFO
                view = await stack.enter_async_context(ReadOnlyRuntime.open(settings.db))
                yield cls(view, settings, box, stack, user=user)
        finally:
            box.close()

    @property
    def settings(self) -> Settings:
        return self._settings

    async def ready(self) -> bool:
        """The owner takes work while it holds the database (or this process, once it took it
        over)."""
        if self.driving is not None:
            return await super().ready()
        return owned_by_another(Path(self._settings.db))

    # --- the verbs, as commands -------------------------------------------------------------

    async def _command(
        self,
        kind: str,
        payload: dict[str, Any],
        here: Callable[[], Awaitable[T]],
        *,
        run_id: str | None = None,
    ) -> Any:
        """Have the owner apply `kind`; its result. Once this process owns the database
        (`here` ran after a take-over), every verb runs here."""
        if self.driving is not None:
            return await here()
        command_id = uuid.uuid4().hex
        by = f"{who_decides()} pid {os.getpid()}"
        await anyio.to_thread.run_sync(
            lambda: self._box.send(command_id, kind, run_id, payload, at=time.time(), by=by)
        )
        db = Path(self._settings.db)
        ring_bell(db)
        while True:
            row = await anyio.to_thread.run_sync(self._box.get, command_id)
            if row.state == DONE:
                return row.result
            if row.state == FAILED:
                raise raised_as(row.error_kind, row.error or "the command failed")
            if not owned_by_another(db) and await anyio.to_thread.run_sync(
                self._box.withdraw, command_id
            ):
                await self._take_over()
                return await here()
            await anyio.sleep(LOOK_EVERY_S)  # another process's answer: polled, bounded below

    async def _take_over(self) -> None:
        """Nobody owns the database any more: own it (resuming its live runs) and go on as the
        embedded runtime."""
        runtime = await self._stack.enter_async_context(Runtime.open(self._settings))
        self.runtime = runtime
        self.reader = runtime.reader
        self.description = f"local: {runtime.db_path.name}"

    async def submit(
        self,
        workflow: Workflow,
        *,
        force: bool = False,
        base_dir: Path | None = None,
        metadata: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> str:
        if run_id is not None:
            raise errors.ConflictError(
                "a run with its own id is driven by its program: it cannot be handed to the"
                " process that owns the database"
            )
        payload = {
            "workflow": workflow.model_dump(mode="json"),
            "force": force,
            "base_dir": None if base_dir is None else str(await anyio.Path(base_dir).absolute()),
            "metadata": metadata or {},
        }
        result = await self._command(
            "submit",
            payload,
            lambda: super(QueuedRuntime, self).submit(
                workflow, force=force, base_dir=base_dir, metadata=metadata
            ),
        )
        return str(result)

    async def submit_file(self, path: Path, *, force: bool = False) -> str:
        from runtui.workflows import load_workflow

        workflow = await anyio.to_thread.run_sync(load_workflow, path)
        return await self.submit(
            workflow, force=force, base_dir=path.parent, metadata={"file": str(path)}
        )

    async def approve(
        self,
        approval_id: str,
        *,
        reason: str = "",
        edits: dict[str, Any] | None = None,
        by: str | None = None,
    ) -> None:
        payload = {
            "approval_id": approval_id,
            "reason": reason,
            "edits": edits,
            "by": by or self.user,
        }
        here = super().approve
        await self._command(
            "approve", payload, lambda: here(approval_id, reason=reason, edits=edits, by=by)
        )

    async def reject(self, approval_id: str, *, reason: str, by: str | None = None) -> None:
        payload = {"approval_id": approval_id, "reason": reason, "by": by or self.user}
        here = super().reject
        await self._command("reject", payload, lambda: here(approval_id, reason=reason, by=by))

    async def cancel(self, run_id: str) -> None:
        here = super().cancel
        await self._command("cancel", {"run_id": run_id}, lambda: here(run_id), run_id=run_id)

    async def resume(self, run_id: str) -> None:
        here = super().resume
        await self._command("resume", {"run_id": run_id}, lambda: here(run_id), run_id=run_id)

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        here = super().rewind
        result = await self._command(
            "rewind",
            {"run_id": run_id, "wave": wave, "force": force},
            lambda: here(run_id, wave, force=force),
            run_id=run_id,
        )
        return (
            result
            if isinstance(result, RewindPlan)
            else msgspec.convert(result, RewindPlan, strict=False)
        )

    async def retry(self, run_id: str, *, force: bool = False) -> str:
        here = super().retry
        result = await self._command(
            "retry",
            {"run_id": run_id, "force": force},
            lambda: here(run_id, force=force),
            run_id=run_id,
        )
        return str(result)

    async def clear_health(self, workflow: str, *, by: str | None = None) -> None:
        here = super().clear_health
        await self._command(
            "clear_health",
            {"workflow": workflow, "by": by or self.user},
            lambda: here(workflow, by=by),
        )


__all__ = ["QueuedRuntime", "owned_by_another"]
