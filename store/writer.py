"""The writer: the only owner of the write connection, committing events in groups.

Callers `append` events and wait; the writer takes every request that has queued up while the
previous commit was running and writes them all in one transaction (group commit): one fsync
serves many callers, which is what keeps FULL durability fast. A caller's append returns only
after the transaction holding its events has committed, and the committed envelopes are then
handed to `on_commit` (the event bus), so nobody ever sees an event that could still vanish.

Each request is all-or-nothing. A request that breaks a rule (first event of a run is not
`run.created`, a projection constraint fails) is refused alone; the rest of its group commits.
Sequence numbers are assigned here, per run, and only become permanent when the commit does,
so a rollback can never leave a gap.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runtui.domain.errors import StoreError
from runtui.domain.events import (
    EventBody,
    EventEnvelope,
    PendingEvent,
    RunCreated,
    kind_of,
    validated_payload,
)
from store.projector import project

log = logging.getLogger(__name__)

CommitListener = Callable[[Sequence[EventEnvelope]], None]

_INSERT_EVENT = (
    "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, payload)"
    " VALUES (?,?,?,?,?,?,?)"
)
_SEQ_CACHE_LIMIT = 100_000


class WriterClosedError(StoreError):
    """The writer has stopped; the append was not written."""


class _Request:
    __slots__ = ("done", "error", "items", "payloads", "result")

    def __init__(self, items: Sequence[PendingEvent], payloads: list[bytes]) -> None:
        self.items = items
        self.payloads = payloads
        self.done = anyio.Event()
        self.result: list[EventEnvelope] = []
        self.error: BaseException | None = None


class QueuedAppend:
    """An append on its way to a commit."""

    __slots__ = ("_request",)

    def __init__(self, request: _Request) -> None:
        self._request = request

    async def wait(self) -> list[EventEnvelope]:
        await self._request.done.wait()
        if self._request.error is not None:
            raise self._request.error
        return self._request.result


class _RequestRejected(StoreError):
    pass


class EventWriter:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        max_batch: int = 10_000,
        queue_size: int = 4096,
        on_commit: CommitListener | None = None,
    ) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._listeners: list[CommitListener] = [on_commit] if on_commit else []
        self._send: MemoryObjectSendStream[_Request]
        self._recv: MemoryObjectReceiveStream[_Request]
        self._send, self._recv = anyio.create_memory_object_stream[_Request](queue_size)
        self._limiter = anyio.CapacityLimiter(1)
        self._last_seq: dict[str, int] = {}
        row = conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
        self._position: int = int(row[0])
        self._closed = False
        #: Commit statistics, for the benchmark and /metrics.
        self.commits = 0
        self.events_committed = 0
        self.commit_seconds: list[float] = []

    # --- public API --------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The position of the last committed event in the database."""
        return self._position

    def add_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    async def append(
        self,
        run_id: str,
        body: EventBody,
        *,
        ts: float | None = None,
        wave_index: int | None = None,
    ) -> EventEnvelope:
        """Append one event; returns it with its sequence number once committed."""
        pending = PendingEvent(run_id, body, time.time() if ts is None else ts, wave_index)  # type: ignore[arg-type]
        (env,) = await self.append_many([pending])
        return env

    async def append_many(self, items: Sequence[PendingEvent]) -> list[EventEnvelope]:
        """Append events atomically (all or none), in order; returns them once committed.

        Each body is validated by an encode/decode round trip first, so a malformed event
        (e.g. an unknown status string) raises `EventDecodeError` and nothing is written.
        """
        if not items:
            return []
        return await (await self.enqueue(items)).wait()

    async def enqueue(self, items: Sequence[PendingEvent]) -> QueuedAppend:
        """Queue an append and return at once; `wait()` on the result for its commit.

        Requests commit in queue order (a later one never commits before an earlier one), so
        an actor may tell its peers as soon as its events are queued: whatever they append in
        response commits after. Only a refused request breaks the chain, and the actor that
        queued it crashes on `wait()`.
        """
        if self._closed:
            raise WriterClosedError("the store's writer is closed")
        payloads = [validated_payload(item.body) for item in items]
        request = _Request(items, payloads)
        try:
            try:
                self._send.send_nowait(request)  # the common case: room in the queue
            except anyio.WouldBlock:
                await self._send.send(request)  # backpressure: wait for room
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise WriterClosedError("the store's writer is closed") from None
        return QueuedAppend(request)

    async def clear_health(self, workflow: str, cleared_by: str, at: float) -> None:
        """Record that an operator cleared a blocked workflow (not run state, so not an event).

        Runs on the writer's thread, serialised with group commits by the same limiter.
        """

        def write() -> None:
            self._conn.execute(
                "INSERT OR REPLACE INTO health_clears VALUES (?,?,?)", (workflow, at, cleared_by)
            )

        await anyio.to_thread.run_sync(write, limiter=self._limiter)

    def close(self) -> None:
        """Stop taking requests; the loop commits what is queued, then ends."""
        self._closed = True
        self._send.close()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer loop; runs until `close()`, committing everything queued before it."""
        task_status.started()
        async with self._recv:
            try:
                async for first in self._recv:
                    batch = [first]
                    size = len(first.items)
                    while size < self._max_batch:
                        try:
                            request = self._recv.receive_nowait()
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                        batch.append(request)
                        size += len(request.items)
                    with anyio.CancelScope(shield=True):
                        await self._commit_group(batch)
            finally:
                # Cancelled (the owner's block failed): whatever is still queued will never
                # be written; its callers must hear so rather than wait forever.
                self._closed = True
                while True:
                    try:
                        request = self._recv.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                    request.error = WriterClosedError("the store closed before this append")
                    request.done.set()

    # --- the commit path ---------------------------------------------------------------------

    async def _commit_group(self, batch: list[_Request]) -> None:
        try:
            committed = await anyio.to_thread.run_sync(self._write, batch, limiter=self._limiter)
        except Exception as exc:  # a statement failed: find the culprit by going one by one
            if len(batch) == 1:
                batch[0].error = _as_store_error(exc)
                committed = []
            else:
                log.warning(
                    "group commit of %d requests failed (%s); retrying singly", len(batch), exc
                )
                committed = []
                for request in batch:
                    try:
                        committed += await anyio.to_thread.run_sync(
                            self._write, [request], limiter=self._limiter
                        )
                    except Exception as single_exc:
                        request.error = _as_store_error(single_exc)
        for request in batch:
            request.done.set()
        if committed:
            for listener in self._listeners:
                try:
                    listener(committed)
                except Exception:
                    log.exception("commit listener failed")

    def _write(self, batch: list[_Request]) -> list[EventEnvelope]:
        """Runs in the worker thread: assign seqs, insert, project, commit (or roll back)."""
        pending_seq: dict[str, int] = {}
        position = self._position
        rows: list[tuple[Any, ...]] = []
        accepted: list[tuple[_Request, list[EventEnvelope]]] = []
        for request in batch:
            request.error = None  # a retry of a failed group starts each request afresh
            try:
                envs, local = self._assign(request, pending_seq, position)
            except _RequestRejected as exc:
                request.error = exc
                continue
            pending_seq.update(local)
            for env, payload in zip(envs, request.payloads, strict=True):
                rows.append(
                    (
                        env.position,
                        env.run_id,
                        env.seq,
                        kind_of(env.body),
                        env.wave_index,
                        env.ts,
                        payload,
                    )
                )
            position += len(envs)
            accepted.append((request, envs))
        if not accepted:
            return []
        all_envs = [env for _, envs in accepted for env in envs]
        started = time.perf_counter()
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(_INSERT_EVENT, rows)
            project(cur, all_envs)
            cur.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        finally:
            cur.close()
        self.commit_seconds.append(time.perf_counter() - started)
        if len(self.commit_seconds) > 10_000:
            del self.commit_seconds[:5_000]
        # The commit is durable: only now do the new sequence numbers become permanent.
        if len(self._last_seq) > _SEQ_CACHE_LIMIT:
            self._last_seq.clear()
        self._last_seq.update(pending_seq)
        self._position = position
        self.commits += 1
        self.events_committed += len(all_envs)
        for request, envs in accepted:
            request.result = envs
        return all_envs

    def _assign(
        self, request: _Request, pending_seq: dict[str, int], position: int
    ) -> tuple[list[EventEnvelope], dict[str, int]]:
        local: dict[str, int] = {}
        envs: list[EventEnvelope] = []
        for item in request.items:
            run_id = item.run_id
            last = local.get(run_id)
            if last is None:
                last = pending_seq.get(run_id)
            if last is None:
                last = self._stored_last_seq(run_id)
            is_create = type(item.body) is RunCreated
            if last == 0 and not is_create:
                raise _RequestRejected(
                    f"run {run_id} does not exist: its first event must be run.created, "
                    f"not {kind_of(item.body)}"
                )
            if last > 0 and is_create:
                raise _RequestRejected(f"run {run_id} already exists")
            local[run_id] = last + 1
            position += 1
            envs.append(
                EventEnvelope(run_id, last + 1, item.ts, item.body, item.wave_index, position)
            )
        return envs, local

    def _stored_last_seq(self, run_id: str) -> int:
        cached = self._last_seq.get(run_id)
        if cached is not None:
            return cached
        row = self._conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?", (run_id,)
        ).fetchone()
        return int(row[0])


def _as_store_error(exc: BaseException) -> BaseException:
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sqlite3.Error):
        return StoreError(f"append refused by the database: {exc}")
    return exc
