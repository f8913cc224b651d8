"""The actor base: a bounded mailbox, a loop that handles messages in batches, and replies.

An actor owns its state and is reached only through its mailbox (an anyio memory object
stream). The loop drains everything already waiting and hands it to `handle_batch` at once:
a stream hop costs microseconds, a commit costs milliseconds, so a batch of messages shares one
commit of the events they cause. Requests carry a one-shot `Reply`; when an actor stops or
crashes, every request it will never answer is failed with `ActorStopped`, never left hanging.

The mailbox outlives the loop: when a supervisor restarts a crashed actor, messages already
queued are still there for the new incarnation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runtui.domain.errors import UnavailableError

log = logging.getLogger(__name__)

M = TypeVar("M")
T = TypeVar("T")

DEFAULT_MAILBOX = 65_536
MAX_BATCH = 512


class ActorStopped(UnavailableError):
    """The actor a request was sent to has stopped (or crashed) and will not answer."""


class Reply(Generic[T]):
    """A one-shot answer: set once (value or error), awaited once."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def set(self, value: T) -> None:
        if not self._done.is_set():
            self._value = value
            self._done.set()

    def fail(self, error: BaseException) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> T:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def reply_of(message: Any) -> Reply[Any] | None:
    reply = getattr(message, "reply", None)
    return reply if isinstance(reply, Reply) else None


class Actor(Generic[M]):
    """Subclasses implement `handle` (or `handle_batch`) with an exhaustive `match`."""

    name: str = "actor"

    def __init__(self, mailbox_size: int = DEFAULT_MAILBOX) -> None:
        self._send: MemoryObjectSendStream[M]
        self._recv: MemoryObjectReceiveStream[M]
        self._mailbox_size = mailbox_size
        self._send, self._recv = anyio.create_memory_object_stream[M](mailbox_size)
        self.restarts = 0
        self._stopping = False
        self._busy = False
        self._redeliver: list[M] = []
        self.current: M | None = None

    # --- sending -----------------------------------------------------------------------------

    async def tell(self, message: M) -> None:
        try:
            try:
                self._send.send_nowait(message)  # room in the mailbox: no loop turn needed
            except anyio.WouldBlock:
                await self._send.send(message)  # full: wait (backpressure)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._refuse(message)

    def tell_nowait(self, message: M) -> None:
        """Send without waiting; a full mailbox raises `anyio.WouldBlock` to the caller."""
        try:
            self._send.send_nowait(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._refuse(message)

    async def ask(self, message: M) -> Any:
        """Send a message that carries a `reply` and wait for the answer."""
        reply = reply_of(message)
        if reply is None:
            raise TypeError(f"{type(message).__name__} carries no reply")
        await self.tell(message)
        return await reply.wait()

    def _refuse(self, message: M) -> None:
        reply = reply_of(message)
        error = ActorStopped(f"{self.name} has stopped")
        if reply is not None:
            reply.fail(error)
            return
        raise error

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def quiet(self) -> bool:
        """Nothing queued and nothing being handled (its effects are committed)."""
        return not self._busy and self._recv.statistics().current_buffer_used == 0

    def stop(self) -> None:
        """Stop taking messages; the loop handles what is queued, then returns."""
        self._stopping = True
        self._send.close()

    async def on_start(self) -> None:
        """Runs before readiness is reported (at every start, restarts included)."""

    async def on_stop(self) -> None:
        """Runs when the loop ends normally."""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self.on_start()
        task_status.started()
        try:
            while True:
                if self._redeliver:  # what a crash left unhandled comes first
                    batch, self._redeliver = self._redeliver, []
                else:
                    try:
                        batch = [await self._recv.receive()]
                    except anyio.EndOfStream:
                        break
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._recv.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                self._busy = True
                self.current = None
                try:
                    await self.handle_batch(batch)
                except Exception as exc:
                    # Only the message being handled is lost (its asker hears why); the ones
                    # after it in the batch are handled again by the restarted actor.
                    reply = reply_of(self.current)
                    if reply is not None:
                        reply.fail(exc)
                    raise
                finally:
                    self._busy = False
            await self.on_stop()
        finally:
            if self._stopping:  # stopped for good: nobody will answer what is left
                self.fail_pending()
                self._recv.close()

    def close(self) -> None:
        """Stop for good and release the mailbox: pending requests fail with ActorStopped."""
        self.stop()
        self.fail_pending()
        self._recv.close()

    def fail_pending(self) -> None:
        while True:
            try:
                message = self._recv.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            reply = reply_of(message)
            if reply is not None:
                reply.fail(ActorStopped(f"{self.name} stopped before answering"))

    def forget(self) -> None:
        """Drop all state kept in memory; overridden by actors that keep any."""

    def reopen(self) -> None:
        """Prepare a fresh incarnation after a stop: an empty mailbox (what was queued is
        refused) and no memory of the old one (`forget`). Used by a one_for_all restart, which
        then reloads what the actors need from the store."""
        self.fail_pending()
        self._recv.close()
        self._send, self._recv = anyio.create_memory_object_stream[M](self._mailbox_size)
        self._stopping = False
        self._busy = False
        self._redeliver = []
        self.current = None
        self.forget()

    def redeliver(self, messages: Sequence[M]) -> None:
        """Hand `messages` to the next incarnation first (used when a batch crashes)."""
        self._redeliver = [*messages, *self._redeliver]

    async def handle_batch(self, batch: Sequence[M]) -> None:
        for i, message in enumerate(batch):
            self.current = message
            try:
                await self.handle(message)
            except Exception:
                self.redeliver(batch[i + 1 :])
                raise

    async def handle(self, message: M) -> None:
        raise NotImplementedError
