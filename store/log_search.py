"""Searching a run's whole log in the store, without decoding its events.

Each event's searchable text (`runtui.domain.event_text.search_text`: what the log shows of it,
in lower case) and the task it is about are kept in columns of the event's own row
(`search_text`, `search_task`): written by the writer with the event, and by `index_old_events`
for events written before migration 0009. (Columns, not a table beside `events`: a second
table's inserts cost the writer a quarter of its throughput, a wider row nothing measurable;
a search reads them through the (run_id, seq) index, about as fast as a bare scan of the run.)
A search is a `LIKE` over that text with the user's words escaped, so
`%`, `_` and `\\` match themselves; the same statements run on SQLite and PostgreSQL (both sides
are lower-cased in Python: the stores never need to agree on case folding).

A search reads at most `WINDOW` seqs per query and looks at the clock between queries: past its
time (`runtui.domain.log_search.SEARCH_SECONDS`) it answers with what it has, saying so. A query
never holds the connection for long, so other reads interleave with a search of a huge run.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio

from runtui.domain.event_text import search_text, task_of
from runtui.domain.events import EventEnvelope, decode_event
from runtui.domain.log_search import MAX_COUNTED, LogMatches, LogQuery

Rows = Callable[[str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]

WINDOW = 65_536  # seqs one query looks at
BACKFILL_CHUNK = 5000


def search_columns(env: EventEnvelope) -> tuple[str, str | None]:
    """What the writer puts in an event's search columns (`search_text`, `search_task`)."""
    return (search_text(env), task_of(env.body))


def index_old_events(conn: Any) -> None:
    """Fill the search columns of events written before migration 0009 (a data migration:
    called with the migrating connection, inside its transaction)."""
    after = -1
    while True:
        rows = conn.execute(
            "SELECT position, run_id, seq, ts, payload FROM events WHERE position > ?"
            " ORDER BY position LIMIT ?",
            (after, BACKFILL_CHUNK),
        ).fetchall()
        if not rows:
            return
        updates = [
            (*search_columns(EventEnvelope(run_id=r, seq=q, ts=ts, body=decode_event(bytes(p)))), n)
            for n, r, q, ts, p in rows
        ]
        conn.cursor().executemany(
            "UPDATE events SET search_text = ?, search_task = ? WHERE position = ?", updates
        )
        after = rows[-1][0]


def like_pattern(text: str) -> str:
    """`%text%` with `text`'s own `\\`, `%` and `_` escaped (for `ESCAPE '\\'`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Scan:
    """One search's filter and clock: windows of seqs, forwards or backwards."""

    def __init__(self, rows: Rows, run_id: str, query: LogQuery, deadline: float) -> None:
        self.rows = rows
        self.deadline = deadline
        clauses, params = ["run_id = ?"], [run_id]
        if query.text:
            clauses.append("search_text LIKE ? ESCAPE '\\'")
            params.append(like_pattern(query.text))
        if query.kinds is not None:
            clauses.append(f"kind IN ({', '.join('?' * len(query.kinds))})")
            params += sorted(query.kinds)
        if query.exclude_kinds:
            clauses.append(f"kind NOT IN ({', '.join('?' * len(query.exclude_kinds))})")
            params += sorted(query.exclude_kinds)
        if query.task_id is not None:
            clauses.append("search_task = ?")
            params.append(query.task_id)
        self.sql = f"SELECT seq FROM events WHERE {' AND '.join(clauses)} AND seq BETWEEN ? AND ?"
        self.params = tuple(params)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    async def forward(self, after: int, last: int, want: int) -> tuple[list[int], bool]:
        """Up to `want` matches after `after` (up to `last`), oldest first, and whether the
        range was searched to its end or to `want` (False: time ran out)."""
        found: list[int] = []
        low = after + 1
        while low <= last:
            high = min(last, low + WINDOW - 1)
            chunk = await self.rows(
                self.sql + " ORDER BY seq LIMIT ?", (*self.params, low, high, want - len(found))
            )
            found += [int(r[0]) for r in chunk]
            if len(found) >= want:
                return found, True
            low = high + 1
            if low <= last and self.out_of_time():
                return found, False
        return found, True

    async def backward(self, before: int, want: int) -> tuple[list[int], bool]:
        """Up to `want` matches before `before`, newest first; as `forward`."""
        found: list[int] = []
        high = before - 1
        while high >= 1:
            low = max(1, high - WINDOW + 1)
            chunk = await self.rows(
                self.sql + " ORDER BY seq DESC LIMIT ?",
                (*self.params, low, high, want - len(found)),
            )
            found += [int(r[0]) for r in chunk]
            if len(found) >= want:
                return found, True
            high = low - 1
            if high >= 1 and self.out_of_time():
                return found, False
        return found, True


async def search_log(
    rows: Rows,
    run_id: str,
    query: LogQuery,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
    last_seq: int,
    deadline: float,
) -> LogMatches:
    """See `Port.search_events` and `LogMatches`. First the matches are counted from the start
    (up to `MAX_COUNTED` + 1): where that found them all, the page comes from them; otherwise
    the page is searched for from its anchor."""
    if query.kinds is not None and not query.kinds:
        return LogMatches([], False, 0, True, None, True, last_seq)
    scan = _Scan(rows, run_id, query, deadline)
    counted, counted_all = await scan.forward(0, last_seq, MAX_COUNTED + 1)
    exact = counted_all and len(counted) <= MAX_COUNTED
    total = min(len(counted), MAX_COUNTED)
    complete = counted_all
    if exact:
        if after_seq is not None:
            side = [s for s in counted if s > after_seq]
            page = side[:limit]
        else:
            bound = before_seq if before_seq is not None else last_seq + 1
            side = [s for s in counted if s < bound]
            page = side[-limit:]
        more = len(side) > limit
    elif after_seq is not None:
        found, done = await scan.forward(after_seq, last_seq, limit + 1)
        page, more = found[:limit], len(found) > limit or not done
        complete = complete and done
    else:
        bound = before_seq if before_seq is not None else last_seq + 1
        found, done = await scan.backward(bound, limit + 1)
        page, more = sorted(found[:limit]), len(found) > limit or not done
        complete = complete and done
    rank = None
    if page and page[0] in counted[:MAX_COUNTED]:  # every match up to counted[-1] is counted
        rank = counted.index(page[0]) + 1
    return LogMatches(page, more, total, exact, rank, complete, last_seq)


async def search_in_turn(
    gate: anyio.Semaphore, deadline: float, last_seq: int, search: Coroutine[Any, Any, LogMatches]
) -> LogMatches:
    """`search` (a `search_log` not yet awaited) once one of the `gate`'s places is free;
    without one by `deadline`, no matches and `complete` False (a flood of searches waits its
    turn, within its own time, instead of piling up on the database)."""
    if not await _turn(gate, deadline):
        search.close()  # never to run: closed, so no "never awaited" warning
        return LogMatches([], True, 0, False, None, False, last_seq)
    try:
        return await search
    finally:
        gate.release()


async def _turn(gate: anyio.Semaphore, deadline: float) -> bool:
    """Take a place among the searches under way, waiting no later than `deadline`."""
    try:
        gate.acquire_nowait()
        return True
    except anyio.WouldBlock:
        pass
    with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
        await gate.acquire()
        return True
    return False
