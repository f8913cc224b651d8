"""One attempt's output, read from the run's log without reading the rest of it.

Task output is kept where it was committed: `attempt.output` events in `events` (there is no
copy). Since migration 0008 each such event also carries its task, attempt and stream in
columns of their own, under an index of that kind only, so a page of one attempt's output
costs a range of that index plus decoding the events on the page, however long the run's log
is. Events written before the migration get those columns from `index_old_output`, which runs
once, in the migration's transaction.

A page is bounded as `runtui.domain.task_output` says (lines, characters per line, characters
in all). It is read in chunks of events, oldest or newest first, until the page is full.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from runtui.domain.errors import InvalidInputError
from runtui.domain.events import AttemptOutput, EventBody, decode_event
from runtui.domain.task_output import (
    MAX_PAGE_CHARS,
    MAX_PAGE_LINES,
    STREAMS,
    OutputAt,
    batch_lines,
)
from runtui.domain.views import OutputLine, TaskOutput

Rows = Callable[[str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]

#: The values of an event's output columns (task_id, attempt, stream): None but for output.
NOT_OUTPUT: tuple[None, None, None] = (None, None, None)

CHUNK = 128  # events read per query while a page fills
_LAST = 1 << 62  # beyond any seq
_SELECT = (
    "SELECT seq, payload FROM events WHERE run_id = ? AND kind = 'attempt.output'"
    " AND task_id = ? AND attempt = ?"
)


def output_columns(body: EventBody) -> tuple[str | None, int | None, str | None]:
    """What the writer puts in an event's output columns."""
    if type(body) is AttemptOutput:
        return (body.task_id, body.attempt, body.stream)
    return NOT_OUTPUT


def index_old_output(conn: Any) -> None:
    """Fill the output columns of `attempt.output` events written before migration 0008 (a
    data migration: called with the migrating connection, inside its transaction)."""
    after = -1
    while True:
        rows = conn.execute(
            "SELECT position, payload FROM events WHERE kind = 'attempt.output'"
            " AND position > ? ORDER BY position LIMIT ?",
            (after, 5000),
        ).fetchall()
        if not rows:
            return
        updates = []
        for position, payload in rows:
            body = decode_event(bytes(payload))
            if isinstance(body, AttemptOutput):
                updates.append((body.task_id, body.attempt, body.stream, position))
        conn.cursor().executemany(
            "UPDATE events SET task_id = ?, attempt = ?, stream = ? WHERE position = ?", updates
        )
        after = rows[-1][0]


async def read_task_output(
    rows: Rows,
    run_id: str,
    task_id: str,
    attempt: int,
    *,
    after: OutputAt | None = None,
    before: OutputAt | None = None,
    stream: str | None = None,
    limit: int,
) -> TaskOutput:
    """Lines after `after` (oldest first), or the last ones before `before`, or (neither) the
    last ones of all; only `stream`'s if given. See `Port.task_output`."""
    if after is not None and before is not None:
        raise InvalidInputError("after, before: give one of them, not both")
    if not 1 <= limit <= MAX_PAGE_LINES:
        raise InvalidInputError(f"limit: must be between 1 and {MAX_PAGE_LINES}, got {limit}")
    if stream is not None and stream not in STREAMS:
        raise InvalidInputError(f"stream: one of {', '.join(STREAMS)}, got {stream[:40]!r}")
    sql, params = _SELECT, [run_id, task_id, attempt]
    if stream is not None:
        sql += " AND stream = ?"
        params.append(stream)
    forward = after is not None
    if forward:
        sql += " AND seq >= ? ORDER BY seq LIMIT ?"
        seq = after[0] if after is not None else 0
    else:
        sql += " AND seq <= ? ORDER BY seq DESC LIMIT ?"
        seq = before[0] if before is not None else _LAST
    page: list[OutputLine] = []
    chars = 0
    while True:
        chunk = await rows(sql, (*params, seq, CHUNK))
        for event_seq, payload in chunk:
            lines = _lines(event_seq, payload)
            if after is not None:
                lines = [line for line in lines if line.at > after]
            elif before is not None:
                lines = [line for line in lines if line.at < before]
            for line in lines if forward else reversed(lines):
                if len(page) >= limit or (page and chars + len(line.text) > MAX_PAGE_CHARS):
                    return _page(page, forward, more=True)
                page.append(line)
                chars += len(line.text)
        if len(chunk) < CHUNK:
            return _page(page, forward, more=False)
        seq = chunk[-1][0] + 1 if forward else chunk[-1][0] - 1


def _lines(seq: int, payload: bytes) -> list[OutputLine]:
    body = decode_event(bytes(payload))
    if not isinstance(body, AttemptOutput):  # the index holds output events only
        return []
    return batch_lines(seq, body.stream, body.lines)


def _page(lines: list[OutputLine], forward: bool, *, more: bool) -> TaskOutput:
    return TaskOutput(lines=lines if forward else lines[::-1], more=more)
