"""The runs list as the store pages it: newest first, filtered, a page at a time.

Paging is keyset-based (created_at, run_id), so page N costs the same as page 1 even with a
hundred thousand runs; the cursor is opaque to callers (base64 of the last row's key) and a
cursor this store did not issue is refused naming it. The text filter matches what the runs
list shows of a run (`_text_filter`), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any

from runtui.domain.enums import parse_enum
from runtui.domain.errors import InvalidInputError
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult
from runtui.domain.violations import SEVERITY_PRIORITY
from runtui.store.rows import RUN_COLUMNS, RunPage, RunRow

Rows = Callable[[str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]

MAX_PAGE = 1000


class InvalidCursorError(InvalidInputError):
    def __init__(self, cursor: str) -> None:
        super().__init__(f"cursor: not a cursor this server issued: {cursor[:40]!r}")


def encode_cursor(created_at: float, run_id: str) -> str:
    raw = json.dumps([created_at, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, run_id = json.loads(raw)
        return float(created_at), str(run_id)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidCursorError(cursor) from None


#: The worst violation as the runs list shows it ("critical pii_detected"), for the filter.
_WORST_SHOWN = (
    "(CASE worst_severity "
    + " ".join(f"WHEN {rank} THEN '{sev.value}'" for sev, rank in SEVERITY_PRIORITY.items())
    + " ELSE '' END || ' ' || COALESCE(worst_violation, ''))"
)


def _text_filter(text: str) -> tuple[str, list[str]]:
    """Runs whose shown columns hold `text`: workflow, status, phase, worst violation; the id
    only where it shows or is typed (a prefix of the full id, or its tail as the short id
    shows it), so that a few characters do not match every id they happen to occur in."""
    text = text.removeprefix("…").lower()  # LOWER() on both sides: SQLite and PostgreSQL agree
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    anywhere, prefix, suffix = f"%{escaped}%", f"{escaped}%", f"%{escaped}"
    shown = ("workflow", "status", "phase", _WORST_SHOWN)
    clause = " OR ".join(
        ["LOWER(run_id) LIKE ? ESCAPE '\\'"] * 2 + [f"LOWER({c}) LIKE ? ESCAPE '\\'" for c in shown]
    )
    return f"({clause})", [prefix, suffix] + [anywhere] * len(shown)


async def list_runs(
    rows: Rows,
    *,
    limit: int = 50,
    result: RunResult | str | None = None,
    status: RunStatus | str | None = None,
    since: float | None = None,
    workflow: str | None = None,
    cursor: str | None = None,
    live: bool | None = None,
    text: str | None = None,
) -> RunPage:
    """Runs newest first, filtered; `next_cursor` fetches the following page."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE}, got {limit}")
    where: list[str] = []
    params: list[Any] = []
    if result is not None:
        where.append("result = ?")
        params.append(parse_enum(RunResult, result, "result").value)
    if status is not None:
        where.append("status = ?")
        params.append(parse_enum(RunStatus, status, "status").value)
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    if workflow is not None:
        where.append("workflow = ?")
        params.append(workflow)
    if live is not None:
        where.append("result IS NULL" if live else "result IS NOT NULL")
    if text:
        clause, values = _text_filter(text)
        where.append(clause)
        params += values
    if cursor is not None:
        created_at, run_id = decode_cursor(cursor)
        where.append("(created_at < ? OR (created_at = ? AND run_id < ?))")
        params += [created_at, created_at, run_id]
    sql = f"SELECT {RUN_COLUMNS} FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, run_id DESC LIMIT ?"
    params.append(limit + 1)
    found = await rows(sql, tuple(params))
    runs = [RunRow.from_row(r) for r in found[:limit]]
    more = len(found) > limit
    next_cursor = encode_cursor(runs[-1].created_at, runs[-1].run_id) if more else None
    return RunPage(runs=runs, next_cursor=next_cursor)
