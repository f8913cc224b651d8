"""The requester's side of commands through the database: acting on a run another process
drives (`store.commands`, taken by `actors.command_intake` there).

`here_or_owner` first tries to act here (claiming the run if nobody drives it). If a live
process holds the run's lease, the verb becomes a command addressed to that process, which
is rung and applies it through its own kernel; this process waits for the outcome and raises
a refusal as the same error class. If the holder goes away before it took the command (its
lease expired, or it released the run at a clean exit), the command is withdrawn and the verb
tried here again: the run is claimed and driven by this process from then on.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from runtui.domain import errors
from runtui.identity import who_decides
from runtui.store.commands import DONE, FAILED, PENDING, TAKEN, CommandBox
from runtui.store.files import ring_bell

T = TypeVar("T")

#: How often a requester looks at its command: the owner is rung and answers within
#: milliseconds, so it looks often (a read of one row).
LOOK_EVERY_S = 0.002
#: How often it checks that the run's owner is still there while it waits.
CHECK_OWNER_EVERY_S = 0.1


def raised_as(kind: str | None, text: str) -> errors.RuntuiError:
    """The error the owner recorded, as the class it was raised as (by its kind)."""
    for cls, _status, _code in errors.KINDS:
        if cls.__name__ == kind:
            return cls(text)
    return errors.RuntuiError(text)


class Delegate:
    """Commands from this process to the ones driving other runs of the database."""

    def __init__(self, db: Path | str, own_id: str) -> None:
        self._db = db
        self._own_id = own_id
        self._box: CommandBox | None = None

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None

    def _boxed(self) -> CommandBox:
        if self._box is None:
            self._box = CommandBox(self._db)
        return self._box

    async def here_or_owner(
        self,
        kind: str,
        payload: dict[str, Any],
        run_id: str,
        here: Callable[[], Awaitable[T]],
    ) -> T | Any:
        """`here()`, or, while another live process drives `run_id`, the command `kind` that
        process applies; its result."""
        while True:
            try:
                return await here()
            except errors.RunOwnedError:
                pass
            box = self._boxed()
            holder = await anyio.to_thread.run_sync(box.holder, run_id, time.time())
            if holder is None or holder.owner_id == self._own_id:
                continue  # it just let go: try here again
            command_id = uuid.uuid4().hex
            by = f"{who_decides()} pid {os.getpid()}"
            send = functools.partial(
                box.send,
                command_id,
                kind,
                run_id,
                payload,
                at=time.time(),
                by=by,
                owner=holder.owner_id,
            )
            await anyio.to_thread.run_sync(send)
            ring_bell(self._db, holder.owner_id)
            outcome = await self._outcome(box, command_id, run_id, holder.owner_id)
            if outcome is not _WITHDRAWN:
                return outcome

    async def _outcome(self, box: CommandBox, command_id: str, run_id: str, owner: str) -> Any:
        checked = time.monotonic()
        while True:
            row = await anyio.to_thread.run_sync(box.get, command_id)
            if row.state == DONE:
                return row.result
            if row.state == FAILED:
                raise raised_as(row.error_kind, row.error or "the command failed")
            if time.monotonic() - checked >= CHECK_OWNER_EVERY_S:
                checked = time.monotonic()
                holder = await anyio.to_thread.run_sync(box.holder, run_id, time.time())
                if holder is None or holder.owner_id != owner:  # it went away
                    if row.state == PENDING and await anyio.to_thread.run_sync(
                        box.withdraw, command_id
                    ):
                        return _WITHDRAWN
                    if row.state == TAKEN:
                        raise errors.UnavailableError(
                            f"the process driving run {run_id} stopped while it applied this"
                            " command: check the run to see whether it took effect"
                        )
            await anyio.sleep(LOOK_EVERY_S)


_WITHDRAWN = object()
