"""The writer: the only owner of the write connection, committing events in groups.

Callers `append` events and wait; the writer takes every request that has queued up while the
previous commit was running and writes them all in one transaction (group commit): one fsync
serves many callers, which is what keeps FULL durability fast. A caller's append returns only
after the transaction holding its events has committed, and the committed envelopes are then
handed to `on_commit` (the event bus), so nobody ever sees an event that could still vanish.

Each request is all-or-nothing. A request that breaks a rule (first event of a run is not
`run.created`, a projection constraint fails) is refused alone; the rest of its group commits.
Sequence numbers are assigned per run (`store.sequencer`) and only become permanent when the
commit does, so a rollback can never leave a gap.

The writer runs on a thread of its own, fed by a thread-safe queue: it starts the next group
as soon as the previous one committed, without waiting for the event loop to take a turn (a
busy loop, e.g. one serving many stream clients, would otherwise stall the writer), and it
hands each committed group back to the loop with one `call_soon_threadsafe`. Callers, done
events and commit listeners all stay on the loop thread. (runtui runs on asyncio, which
Textual and uvicorn require, so the loop handle is asyncio's.)
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskStatus

from runtui.domain.errors import RunFencedError, RuntuiError, StoreError, StoreUnavailableError
from runtui.domain.events import (
    EventBody,
    EventEnvelope,
    PendingEvent,
    RunClaimed,
    RunCreated,
    RunStatusChanged,
    kind_of,
    validated_payload,
)
from runtui.store import leases
from runtui.store.file_identity import FileIdentity, rescue
from runtui.store.leases import LEASE_TTL_S, Claimed, Owner
from runtui.store.log_search import search_columns
from runtui.store.projector import project
from runtui.store.schema import BUSY_TIMEOUT_MS
from runtui.store.sequencer import RequestRejected, Sequencer
from runtui.store.task_output import output_columns

log = logging.getLogger(__name__)
T = TypeVar("T")

CommitListener = Callable[[Sequence[EventEnvelope]], None]
#: Told (on the loop) of runs this process found it no longer holds.
LostListener = Callable[[frozenset[str]], None]

_INSERT_EVENT = (
    "INSERT INTO events (position, run_id, seq, kind, wave_index, ts, payload, epoch,"
    " task_id, attempt, stream, search_text, search_task) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


class WriterClosedError(StoreError):
    """The writer has stopped; the append was not written."""


class _Request:
    __slots__ = ("claim", "claimed", "done", "error", "fenced", "items", "payloads", "result")

    def __init__(
        self, items: Sequence[PendingEvent], payloads: list[bytes], *, claim: bool = False
    ) -> None:
        self.items = items
        self.payloads = payloads
        self.claim = claim  # a claim of items[0]'s run; its `run.claimed` is filled in then
        self.claimed: Claimed | None = None
        self.done = anyio.Event()
        self.result: list[EventEnvelope] = []
        self.error: BaseException | None = None
        self.fenced: set[str] = set()  # runs whose events were dropped: no longer ours


class _Call:
    """Work other than appends that must run on the write connection, in queue order."""

    __slots__ = ("done", "error", "fn")

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self.done = anyio.Event()
        self.error: BaseException | None = None


_Job = _Request | _Call | None  # None: close (everything queued before it is still written)


class QueuedAppend:
    """An append on its way to a commit."""

    __slots__ = ("_request",)

    def __init__(self, request: _Request) -> None:
        self._request = request

    async def wait(self) -> list[EventEnvelope]:
        """The committed events. Those of a run this process no longer holds are not written
        (`fenced`); if that leaves nothing, `RunFencedError`."""
        await self._request.done.wait()
        if self._request.error is not None:
            raise self._request.error
        return self._request.result

    @property
    def fenced(self) -> set[str]:
        return self._request.fenced


class EventWriter:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        max_batch: int = 10_000,
        queue_size: int = 4096,
        on_commit: CommitListener | None = None,
        identity: FileIdentity | None = None,
        owner: Owner | None = None,
        lease_ttl: float = LEASE_TTL_S,
    ) -> None:
        self._conn = conn
        # Ownership per run (`store.leases`): with an owner, every append is fenced by the
        # leases this process holds (run id → epoch; the writer thread's alone).
        self.owner = owner
        self.lease_ttl = lease_ttl
        self._held: dict[str, int] = {}
        self._lost_listeners: list[LostListener] = []
        self._identity = identity  # the file this connection writes (see store.file_identity)
        self._lost_file: str | None = None  # why every write is refused, once it is gone
        self._max_batch = max_batch
        self._listeners: list[CommitListener] = [on_commit] if on_commit else []
        self._queue_size = queue_size
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._outstanding = 0  # jobs queued and not yet answered (loop thread only)
        self._room: anyio.Event | None = None  # set when a full queue drains below the limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._abort = False  # the owner failed: answer what is queued, write nothing more
        self._sequencer = Sequencer(conn)
        self._position: int = _last_position(conn)
        self._closed = False
        self._database_error: str | None = None  # why the last commit failed, if the DB did
        #: Commit statistics, for the benchmark and /metrics.
        self.commits = 0
        self.events_committed = 0
        self.commit_seconds: list[float] = []

    # --- public API --------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The position of the last committed event in the database."""
        return self._position

    @property
    def closed(self) -> bool:
        """True once the writer stopped taking events (shutdown, or its owner failed)."""
        return self._closed

    def add_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def on_lost(self, listener: LostListener) -> None:
        """Call `listener` with the runs this process finds it lost (another claimed them)."""
        self._lost_listeners.append(listener)

    # --- leases (`store.leases`) ---------------------------------------------------------------

    async def register(self) -> None:
        """Record this process in `owners` (who drives runs, and where it takes commands)."""
        me = self._me()
        await self.call(lambda conn: _in_transaction(conn, leases.register, me, time.time()))

    async def claim(self, run_id: str) -> Claimed:
        """Take over driving `run_id`: its lease, and a `run.claimed` event in the same
        transaction. `RunOwnedError` names a live holder; an ended run is `ConflictError`."""
        self._me()
        placeholder = RunClaimed(owner="", owner_label="", epoch=0, how="")
        request = _Request(
            [PendingEvent(run_id, placeholder, time.time(), None)], [b""], claim=True
        )
        await self._submit(request)
        await QueuedAppend(request).wait()
        assert request.claimed is not None
        return request.claimed

    async def renew(self) -> frozenset[str]:
        """Push the expiry of every lease held; the runs found lost (also told to `on_lost`)."""
        me = self._me()
        lost: set[str] = set()

        def renew(conn: sqlite3.Connection) -> None:
            found = _in_transaction(conn, leases.renew, me, self._held, time.time(), self.lease_ttl)
            lost.update(found)
            for run_id in found:
                self._held.pop(run_id, None)

        await self.call(renew)
        if lost:
            self._lose(lost)
        return frozenset(lost)

    async def release(self, run_ids: set[str] | None = None) -> None:
        """Let go of `run_ids` (every lease of this process if None: a clean exit)."""
        me = self._me()

        def release(conn: sqlite3.Connection) -> None:
            _in_transaction(conn, leases.release, me, run_ids)
            if run_ids is None:
                self._held.clear()
            else:
                for run_id in run_ids:
                    self._held.pop(run_id, None)

        await self.call(release)

    async def announce(self, url: str) -> None:
        me = self._me()
        await self.call(lambda conn: _in_transaction(conn, leases.announce, me, url))

    def holds(self, run_id: str) -> bool:
        """Whether this process held `run_id` at its last commit (a snapshot)."""
        return run_id in self._held

    def _me(self) -> Owner:
        if self.owner is None:
            raise StoreError("this writer drives no runs (it has no owner identity)")
        return self.owner

    def _lose(self, run_ids: set[str]) -> None:
        for listener in self._lost_listeners:
            try:
                listener(frozenset(run_ids))
            except Exception:
                log.exception("lost-lease listener failed")

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
        await self._submit(request)
        return QueuedAppend(request)

    async def _submit(self, job: _Request | _Call) -> None:
        while self._outstanding >= self._queue_size:  # backpressure: wait for room
            if self._room is None:
                self._room = anyio.Event()
            await self._room.wait()
        if self._closed or self._loop is None:
            raise WriterClosedError("the store's writer is closed")
        self._outstanding += 1
        self._jobs.put(job)

    async def clear_health(self, workflow: str, cleared_by: str, at: float) -> None:
        """Record that an operator cleared a blocked workflow (not run state, so not an event).

        Runs on the writer's thread, serialised with group commits by the same limiter.
        """

        await self.call(
            lambda conn: conn.execute(
                "INSERT INTO health_clears VALUES (?,?,?) ON CONFLICT (workflow) DO UPDATE SET"
                " cleared_at = excluded.cleared_at, cleared_by = excluded.cleared_by",
                (workflow, at, cleared_by),
            )
        )

    async def call(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """Run `fn` on the write connection (autocommit: it begins and commits what needs a
        transaction), on the writer's thread, in queue order: writes that are not events. For
        the store's own modules (SQL stays in `store`)."""
        call = _Call(lambda: fn(self._conn))
        await self._submit(call)
        await call.done.wait()
        if call.error is not None:
            raise _as_store_error(call.error)

    async def check_writable(self, *, wait_s: float = 0.25) -> None:
        """Raise `StoreError` unless the database takes writes now: the last commit did not
        fail for the database's sake (disk full, read-only, I/O), and its write lock can be
        taken within `wait_s` (then let go; nothing is written). Runs on the writer's thread
        in queue order, so it never waits on a commit of ours: only on another process."""

        def probe() -> None:
            gone = self._file_gone()
            if gone is not None:
                raise StoreError(gone)
            self._conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                if self._database_error is None:
                    self._conn.execute("ROLLBACK")
                    return
                # The last commit failed (a full disk lets the lock be taken): write for real,
                # the same schema version again, to learn whether the cause has gone.
                try:
                    version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                    self._conn.execute(f"PRAGMA user_version={int(version)}")
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"the last commit failed ({self._database_error}), and a test write"
                        f" too: {exc}"
                    ) from exc
                self._database_error = None
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

        call = _Call(probe)
        await self._submit(call)
        await call.done.wait()
        if isinstance(call.error, sqlite3.Error):
            raise StoreError(f"the database does not take writes: {call.error}")
        if call.error is not None:
            raise call.error

    def close(self) -> None:
        """Stop taking requests; the writer commits what is queued, then ends."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run the writer thread until `close()` (it commits everything queued before it).

        Cancelled (the owner's block failed), it lets the thread finish the group it is
        writing, then answers every request still queued with `WriterClosedError`."""
        self._loop = asyncio.get_running_loop()
        ended = anyio.Event()
        leftovers: list[_Request | _Call] = []
        crashed: list[BaseException] = []

        def finished(unwritten: list[_Request | _Call], error: BaseException | None) -> None:
            leftovers.extend(unwritten)
            if error is not None:
                crashed.append(error)
            ended.set()

        thread = threading.Thread(
            target=self._thread_main, args=(finished,), name="runtui-writer", daemon=True
        )
        thread.start()
        task_status.started()
        try:
            await ended.wait()
        finally:
            if not ended.is_set():
                self._closed = self._abort = True
                self._jobs.put(None)
                with anyio.CancelScope(shield=True):
                    await ended.wait()
            self._closed = True
            for job in leftovers:
                job.error = WriterClosedError("the store closed before this append")
                job.done.set()
            self._outstanding = 0
            if self._room is not None:
                self._room.set()
        if crashed:  # a bug on the writer thread: the owner must not carry on without a writer
            raise crashed[0]

    # --- the writer thread -------------------------------------------------------------------

    def _thread_main(
        self, finished: Callable[[list[_Request | _Call], BaseException | None], None]
    ) -> None:
        unwritten: list[_Request | _Call] = []
        error: BaseException | None = None
        try:
            stop = False
            while not stop:
                job = self._jobs.get()
                if job is None or self._abort:
                    stop = True
                    if job is not None:
                        unwritten.append(job)
                    continue
                jobs = [job]
                size = len(job.items) if isinstance(job, _Request) else 0
                while size < self._max_batch:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    jobs.append(more)
                    if isinstance(more, _Request):
                        size += len(more.items)
                self._run_jobs(jobs)
            if self._abort:  # answer, never write, whatever is still queued
                unwritten += self._take_queued()
        except BaseException as exc:
            error = exc
            self._closed = self._abort = True
            unwritten += self._take_queued()  # never written: its callers must hear so
        finally:
            self._to_loop(finished, unwritten, error)

    def _take_queued(self) -> list[_Request | _Call]:
        """Empty the queue without waiting; what it held, close markers left out."""
        taken: list[_Request | _Call] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return taken
            if job is not None:
                taken.append(job)

    def _run_jobs(self, jobs: list[_Request | _Call]) -> None:
        """Commit consecutive appends as one group; calls run alone, in their place."""
        group: list[_Request] = []
        for job in jobs:
            if isinstance(job, _Request):
                group.append(job)
                continue
            if group:
                self._commit_group(group)
                group = []
            try:
                job.fn()
            except Exception as exc:
                job.error = exc
            self._to_loop(self._answered, [job], [])
        if group:
            self._commit_group(group)

    def _commit_group(self, batch: list[_Request]) -> None:
        gone = self._file_gone()
        if gone is not None:
            for request in batch:
                request.error = StoreUnavailableError(gone)
            self._to_loop(self._answered, batch, [])
            return
        try:
            committed = self._write(batch)
        except Exception as exc:  # a statement failed: find the culprit by going one by one
            if _database_fault(exc):
                self._database_error = str(exc)
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
                        committed += self._write([request])
                    except Exception as single_exc:
                        request.error = _as_store_error(single_exc)
        self._to_loop(self._answered, batch, committed)

    def _file_gone(self) -> str | None:
        """Why nothing may be written any more (the database file was deleted or replaced),
        or None. The first time, what was committed is copied to a file beside it."""
        if self._lost_file is None and self._identity is not None:
            problem = self._identity.problem()
            if problem is not None:
                try:
                    saved = (
                        f"what was committed is saved in {rescue(self._conn, self._identity.path)}"
                    )
                except (OSError, sqlite3.Error) as exc:
                    saved = f"saving what was committed failed: {exc}"
                self._lost_file = f"{problem}; {saved}; nothing more is written"
                self._database_error = self._lost_file
                log.error("%s", self._lost_file)
        return self._lost_file

    def _to_loop(self, callback: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is left to answer
            log.debug("writer: event loop closed before %s", callback.__name__)

    # --- back on the loop thread -------------------------------------------------------------

    def _answered(self, jobs: Sequence[_Request | _Call], committed: list[EventEnvelope]) -> None:
        for job in jobs:
            job.done.set()
        self._outstanding -= len(jobs)
        if self._room is not None and self._outstanding < self._queue_size:
            self._room.set()
            self._room = None
        if committed:
            for listener in self._listeners:
                try:
                    listener(committed)
                except Exception:
                    log.exception("commit listener failed")

    def _write(self, batch: list[_Request]) -> list[EventEnvelope]:
        """Runs on the writer thread: in one transaction (`BEGIN IMMEDIATE`: other processes'
        writes wait their turn), fence, claim, assign seqs and positions, insert, project,
        commit (or roll back). Positions are read inside the transaction, so they follow
        commit order whichever process commits."""
        started = time.perf_counter()
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            committed = self._write_in(cur, batch)
            if committed is None:
                cur.execute("ROLLBACK")
                return []
            all_envs, held, lost, last_seqs = committed
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
        self._sequencer.committed(last_seqs)
        self._held = held
        if lost:
            self._to_loop(self._lose, lost)
        if all_envs:
            self._position = all_envs[-1].position
        self._database_error = None
        self.commits += 1
        self.events_committed += len(all_envs)
        return all_envs

    def _write_in(
        self, cur: sqlite3.Cursor, batch: list[_Request]
    ) -> tuple[list[EventEnvelope], dict[str, int], set[str], dict[str, int]] | None:
        position = _last_position(cur)
        me, now = self.owner, time.time()
        held = dict(self._held)
        lost: set[str] = set()
        if me is not None:
            touched = {i.run_id for r in batch if not r.claim for i in r.items} & held.keys()
            lost = leases.fence(cur, me, held, touched)
            for run_id in lost:
                del held[run_id]
        pending_seq: dict[str, int] = {}
        rows: list[tuple[Any, ...]] = []
        accepted: list[tuple[_Request, list[EventEnvelope]]] = []
        created: list[str] = []
        for request in batch:
            request.error, request.fenced, request.claimed = None, set(), None
            items, payloads = request.items, request.payloads
            if request.claim:
                assert me is not None
                run_id = items[0].run_id
                try:
                    claimed = leases.claim(cur, me, run_id, now, self.lease_ttl)
                except RuntuiError as exc:
                    request.error = exc
                    continue
                held[run_id] = claimed.epoch
                self._sequencer.forget(run_id)
                body = RunClaimed(
                    owner=me.owner_id,
                    owner_label=me.label,
                    epoch=claimed.epoch,
                    how=claimed.how,
                    previous=claimed.previous,
                )
                items = [PendingEvent(run_id, body, now, None)]
                payloads = [validated_payload(body)]
                request.claimed = claimed
            elif me is not None:
                fenced = _not_held(items, held)
                missing = next(
                    (i for i in items if i.run_id in fenced and not _exists(cur, i.run_id)), None
                )
                if missing is not None:
                    request.error = RequestRejected(
                        f"run {missing.run_id} does not exist: its first event must be"
                        f" run.created, not {kind_of(missing.body)}"
                    )
                    continue
                if fenced:
                    request.fenced = fenced
                    kept = [
                        (i, p)
                        for i, p in zip(items, payloads, strict=True)
                        if i.run_id not in fenced
                    ]
                    if not kept:
                        request.error = RunFencedError(fenced)
                        continue
                    items, payloads = [i for i, _ in kept], [p for _, p in kept]
            try:
                envs, local = self._sequencer.assign(items, pending_seq, position)
            except RequestRejected as exc:
                if request.claim:
                    held.pop(items[0].run_id, None)
                request.error = exc
                continue
            pending_seq.update(local)
            for env, payload in zip(envs, payloads, strict=True):
                if me is not None and type(env.body) is RunCreated:
                    created.append(env.run_id)
                    held[env.run_id] = 1
                rows.append(
                    (
                        env.position,
                        env.run_id,
                        env.seq,
                        kind_of(env.body),
                        env.wave_index,
                        env.ts,
                        payload,
                        held.get(env.run_id),  # the lease epoch it was written under
                        *output_columns(env.body),  # whose output (`store.task_output`)
                        *search_columns(env),  # what a search finds (`store.log_search`)
                    )
                )
            position += len(envs)
            accepted.append((request, envs))
        if not accepted:
            return None
        all_envs = [env for _, envs in accepted for env in envs]
        cur.executemany(_INSERT_EVENT, rows)
        if me is not None:
            for run_id in created:
                leases.create(cur, me, run_id, now, self.lease_ttl)
        project(cur, all_envs)
        if me is not None:
            ended = {
                e.run_id
                for e in all_envs
                if type(e.body) is RunStatusChanged and e.body.status.is_terminal
            }
            if ended:
                leases.retire(cur, me, ended)
        for request, envs in accepted:
            request.result = envs
        return all_envs, held, lost, pending_seq


def _not_held(items: Sequence[PendingEvent], held: dict[str, int]) -> set[str]:
    """Runs of `items` this process does not hold (a run created by the request itself is)."""
    new: set[str] = set()
    fenced: set[str] = set()
    for item in items:
        if type(item.body) is RunCreated:
            new.add(item.run_id)
        elif item.run_id not in held and item.run_id not in new:
            fenced.add(item.run_id)
    return fenced


def _exists(cur: sqlite3.Cursor, run_id: str) -> bool:
    return cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None


def _last_position(conn: sqlite3.Connection | sqlite3.Cursor) -> int:
    row = conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
    return int(row[0])


def _in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(cursor, *args)` in a transaction of its own on the write connection."""
    cur = conn.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE")
        result = fn(cur, *args)
        cur.execute("COMMIT")
        return result
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def _as_store_error(exc: BaseException) -> BaseException:
    if isinstance(exc, StoreError):
        return exc
    if _database_fault(exc):
        return StoreUnavailableError(f"the database refuses writes: {exc}")
    if isinstance(exc, sqlite3.Error) or _is_postgres_error(exc):
        return StoreError(f"append refused by the database: {exc}")
    return exc


def _is_postgres_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("psycopg")


#: SQLite result codes that mean the database cannot take writes, whatever was written
#: (busy and locked are left out: `check_writable` sees those for itself).
_FAULTS = frozenset({8, 10, 11, 13, 14, 26})  # READONLY IOERR CORRUPT FULL CANTOPEN NOTADB


def _database_fault(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _FAULTS
