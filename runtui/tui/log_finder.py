"""Search state of a run's log: what is searched, the page of matches, where the user is.

The log on screen holds a window of events; a search covers the whole log through the port
(`Port.search_events`, answered by the store), a page of matching seqs at a time. `n` and `N`
step through the page and ask for the next page past its ends; the screen then shows the event
(loading the events around it if the window does not hold them). No Textual here: the screen
turns what this says into keys, marks and scrolling.
"""

from __future__ import annotations

from runtui.api import Port
from runtui.domain.log_search import NOISE_KINDS, LogMatches

PAGE = 100  # matching seqs asked for at a time


class LogFinder:
    """One run's search: its text and filters, the current page of matches and position."""

    def __init__(self, client: Port, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.text = ""  # as typed; a search of it may still be on its way
        self.searched = ""  # the text `page` answers (typing runs ahead of the answers)
        self.hide_noise = False
        self.task: str | None = None
        self.page: LogMatches | None = None
        self.index = 0  # of the current match in `page.seqs`
        self.at_end = False  # the last step found nothing further that way

    @property
    def active(self) -> bool:
        """Whether there is anything to step through (text, or a filter with no text)."""
        return bool(self.text) or self.hide_noise or self.task is not None

    @property
    def current(self) -> int | None:
        page = self.page
        return page.seqs[self.index] if page is not None and page.seqs else None

    def hidden_kinds(self) -> frozenset[str]:
        return NOISE_KINDS if self.hide_noise else frozenset()

    def forget(self) -> None:
        self.page, self.index, self.at_end, self.searched = None, 0, False, ""

    async def _search(self, *, after: int | None = None, before: int | None = None) -> LogMatches:
        text = self.text
        page = await self.client.search_events(
            self.run_id,
            text,
            after_seq=after,
            before_seq=before,
            limit=PAGE,
            exclude_kinds=sorted(self.hidden_kinds()),
            task_id=self.task,
        )
        self.searched = text
        return page

    async def first(self, anchor: int) -> int | None:
        """Go to the first match at or after event `anchor` (the top line in view), or, with
        none below it, the last one above; None if nothing matches."""
        self.at_end = False
        page = await self._search(after=max(0, anchor - 1))
        if page.seqs:
            self.page, self.index = page, 0
            return self.current
        above = await self._search(before=anchor)
        self.page, self.index = above, max(0, len(above.seqs) - 1)
        return self.current

    async def step(self, forward: bool, anchor: int) -> int | None:
        """Go to the next (newer) or previous match; None, staying put, if there is none that
        way. Without a current match it is `first(anchor)`."""
        page, current = self.page, self.current
        if page is None or current is None:
            return await self.first(anchor)
        index = self.index + (1 if forward else -1)
        if 0 <= index < len(page.seqs):
            self.index, self.at_end = index, False
            return self.current
        further = await (self._search(after=current) if forward else self._search(before=current))
        if not further.seqs:
            self.at_end = True
            self.page = _with_totals(page, further)
            return None
        self.page, self.at_end = further, False
        self.index = 0 if forward else len(further.seqs) - 1
        return self.current

    def status(self) -> str:
        """`match 3 of 120`, `match 3 of 1,000+`, `no match`, ... for the search bar."""
        page = self.page
        if page is None:
            return ""
        if not page.seqs:
            return "no match" if page.complete else "no match yet (the search ran out of time)"
        total = f"{page.total:,}" + ("" if page.total_exact else "+")
        if page.first_rank is not None:
            text = f"match {page.first_rank + self.index:,} of {total}"
        else:
            text = f"{total} matches, at #{self.current:,}"
        if self.at_end:
            text += " · no more that way"
        if not page.complete:
            text += " · partial (out of time)"
        return text


def _with_totals(page: LogMatches, newer: LogMatches) -> LogMatches:
    """`page` with the counts of a later answer (the log may have grown meanwhile)."""
    return LogMatches(
        page.seqs,
        page.more,
        newer.total,
        newer.total_exact,
        page.first_rank,
        page.complete and newer.complete,
        newer.last_seq,
    )
