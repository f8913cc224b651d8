"""Searching a run's whole log: what a search may ask, what it answers, and the noise toggle.

A search matches the text the event log shows of each event (`runtui.domain.event_text`), case
insensitively, as a plain substring (no wildcards, no patterns: `%`, `_` and `\\` are
characters like any other). The store answers it from a table of that text kept beside the
events, a run at a time, a range of seqs per query (`runtui.store.log_search`).

Everything a caller sends is bounded here, once for every front end: the text
(`MAX_QUERY_CHARS`), the matches per answer (`MAX_MATCHES_PAGE`), the kinds named, and the time
one search may scan (`SEARCH_SECONDS`, after which it answers with what it found and says so).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from runtui.domain.errors import InvalidInputError
from runtui.domain.events import KIND_TO_TYPE

MAX_QUERY_CHARS = 200
MAX_TASK_ID_CHARS = 1000
MAX_MATCHES_PAGE = 1000
DEFAULT_MATCHES_PAGE = 100
#: Matches counted at most for "match 3 of 120"; past it the total reads "1,000+".
MAX_COUNTED = 1000
#: How long one search may scan before it answers with what it has (`complete` False).
SEARCH_SECONDS = 3.0

#: Bookkeeping the log can hide ("hide noise"): governance's traces and audit trail, the lease
#: changes between processes, and task declarations. Listed here once for every front end.
NOISE_KINDS: frozenset[str] = frozenset(
    {"span.started", "span.ended", "audit.expected", "audit.acked", "run.claimed", "task.declared"}
)


class LogMatches(msgspec.Struct, frozen=True):
    """One answer of `Port.search_events`.

    `seqs`: matching events, oldest first: the `limit` nearest to the anchor on the side asked
    (after `after_seq`, before `before_seq`, or the newest of all). `more`: matches may lie
    beyond them on that side. `total`: matches in the whole log, counted up to `MAX_COUNTED`;
    `total_exact` False means "at least `total`". `first_rank`: the place of `seqs[0]` among all
    matches (1 = the oldest), when known. `complete` False: the search ran out of time before it
    had looked at the whole range it needed (`total` and `more` are then lower bounds).
    `last_seq`: the run's last event when it was searched.
    """

    seqs: list[int]
    more: bool
    total: int
    total_exact: bool
    first_rank: int | None
    complete: bool
    last_seq: int


class LogQuery(msgspec.Struct, frozen=True):
    """A search as the store runs it, checked: the text in lower case, the filters as sets."""

    text: str
    kinds: frozenset[str] | None
    exclude_kinds: frozenset[str]
    task_id: str | None


def check_query(
    text: str,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
    kinds: Sequence[str] | None,
    exclude_kinds: Sequence[str] | None,
    task_id: str | None,
) -> LogQuery:
    """The search, or `InvalidInputError` saying what is out of bounds."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"text: at most {MAX_QUERY_CHARS} characters, got {len(text)}")
    if after_seq is not None and before_seq is not None:
        raise InvalidInputError("after_seq, before_seq: give one of them, not both")
    for name, seq in (("after_seq", after_seq), ("before_seq", before_seq)):
        if seq is not None and not 0 <= seq < 1 << 62:
            raise InvalidInputError(f"{name}: must be between 0 and 2^62, got {seq}")
    if not 1 <= limit <= MAX_MATCHES_PAGE:
        raise InvalidInputError(f"limit: must be between 1 and {MAX_MATCHES_PAGE}, got {limit}")
    if task_id is not None and not 0 < len(task_id) <= MAX_TASK_ID_CHARS:
        raise InvalidInputError(f"task_id: 1 to {MAX_TASK_ID_CHARS} characters")
    if "\x00" in text or (task_id is not None and "\x00" in task_id):
        raise InvalidInputError("text, task_id: no NUL characters")  # PostgreSQL takes none
    return LogQuery(
        text=text.lower(),
        kinds=None if kinds is None else _kinds("kinds", kinds),
        exclude_kinds=_kinds("exclude_kinds", exclude_kinds or ()),
        task_id=task_id,
    )


def _kinds(name: str, kinds: Sequence[str]) -> frozenset[str]:
    unknown = [k for k in kinds if k not in KIND_TO_TYPE]
    if unknown:
        raise InvalidInputError(f"{name}: not an event kind: {unknown[0][:40]!r}")
    return frozenset(kinds)
