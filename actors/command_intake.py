"""The owner's side of commands through the database (`runtui.store.commands`).

A process that wants to approve, reject or cancel a run another process drives (holds its
lease) writes a command addressed to that process instead. This task notices it at once (the
requester rings this process's bell, a Unix datagram socket in a private directory; a lost
ring, or a requester on another machine, is caught by a look every half second), claims it,
applies it through this runtime's kernel exactly as the requester would have applied it itself
(a second decision is refused naming the first), and records the outcome: a result, or the
error's kind and text, which the requester raises as the same class. Commands run
concurrently: a decision does not wait behind a cancel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from runtui.domain.errors import KINDS, InvalidInputError, RuntuiError, StoreError
from runtui.store.commands import CommandDesk, CommandRow, listen_for_commands
from runtui.store.files import bell_path_for

if TYPE_CHECKING:
    from runtui.actors.runtime import Runtime

log = logging.getLogger(__name__)

#: How often the owner looks for commands without being rung (a requester rings a bell, a Unix
#: datagram socket, after writing one; a ring can be lost, so it also looks by itself).
LOOK_EVERY_S = 0.5


def error_kind(exc: BaseException) -> str:
    """The name of the error's kind (`NotFoundError`, `ConflictError`, ...), as the requester
    raises it again; a plain ValueError is invalid input."""
    for kind, _status, _code in KINDS:
        if isinstance(exc, kind):
            return kind.__name__
    if isinstance(exc, ValueError):
        return InvalidInputError.__name__
    return RuntuiError.__name__


def _silence(bell: socket.socket) -> None:
    """Read every ring that came (one look serves them all)."""
    with contextlib.suppress(BlockingIOError):
        while bell.recv(64):
            pass


class CommandIntake:
    def __init__(self, runtime: Runtime, path: Path | str) -> None:
        self.runtime = runtime
        self.path = path
        writer = runtime.store.writer
        assert writer.owner is not None
        self.owner_id = writer.owner.owner_id
        self.desk = CommandDesk(writer, path, runtime.clock, self.owner_id)
        self._rung = anyio.Event()  # set when a requester rang or notified

    async def run(self) -> None:
        try:
            abandoned = await self.desk.fail_abandoned()
            if abandoned:
                log.warning("%d command(s) a stopped owner had taken were marked failed", abandoned)
            with self._bell() as bell:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._hear_bell, bell)
                    tg.start_soon(self._hear_notifications)
                    while True:
                        self._rung = anyio.Event()  # before looking: a ring from now on counts
                        try:
                            if self.desk.any_new():
                                for command in await self.desk.take_pending():
                                    tg.start_soon(self._apply, command)
                        except Exception as exc:  # an outage: the supervisor copes; look again
                            log.warning("commands not taken now: %s", exc)
                        with anyio.move_on_after(LOOK_EVERY_S):  # rung; else look now and
                            await self._rung.wait()  # then (a ring may be lost)
        finally:
            self.desk.close()
            with contextlib.suppress(OSError):
                bell_path_for(self.path, self.owner_id).unlink()

    async def _hear_bell(self, bell: socket.socket) -> None:
        while True:
            await anyio.wait_readable(bell)
            _silence(bell)
            self._rung.set()

    async def _hear_notifications(self) -> None:
        """On PostgreSQL, requesters on other machines cannot ring the bell: they notify
        (`NOTIFY`), heard here; if the listening connection breaks, the half-second look
        remains, and listening starts again."""
        while True:
            try:
                async for _ in listen_for_commands(self.path, self.owner_id):
                    self._rung.set()
                return  # SQLite: nothing to listen to
            except Exception as exc:
                log.warning(
                    "not listening for commands (looking every %.1f s): %s", LOOK_EVERY_S, exc
                )
                await anyio.sleep(5)

    def _bell(self) -> socket.socket:
        """The socket requesters ring after writing a command (`store.files.ring_bell`)."""
        path = bell_path_for(self.path, self.owner_id)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            bell.bind(str(path))
            os.chmod(path, 0o600)
            bell.setblocking(False)
        except OSError:
            bell.close()
            raise
        return bell

    async def _apply(self, command: CommandRow) -> None:
        try:
            try:
                result = await self._act(command)
            except Exception as exc:
                if not isinstance(exc, RuntuiError | ValueError):
                    log.exception("command %s (%s) failed", command.id, command.kind)
                await self.desk.finish(command.id, error_kind=error_kind(exc), error=str(exc))
                return
            await self.desk.finish(command.id, result=result)
        except StoreError as exc:  # its outcome could not be recorded: the next owner says so
            log.warning("command %s: outcome not recorded: %s", command.id, exc)

    async def _act(self, command: CommandRow) -> Any:
        rt, p = self.runtime, command.payload
        match command.kind:
            case "approve":
                await rt.approve(
                    p["approval_id"], by=p["by"], reason=p.get("reason", ""), edits=p.get("edits")
                )
            case "reject":
                await rt.reject(p["approval_id"], reason=p["reason"], by=p["by"])
            case "cancel":
                await rt.cancel(p["run_id"])
            case _:
                raise InvalidInputError(f"unknown command {command.kind!r}")
        return None
