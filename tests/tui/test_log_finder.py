"""The log finder names the text its shown page answers, not the text typed since.

The search box is debounced: a search of "wav" may still be on its way when "e" arrives. What
the screen says ("/wave  match 7 of 9") must then describe the page it shows, or an operator
reads the matches of one text under the name of another.
"""

from __future__ import annotations

from typing import Any, cast

import anyio
import pytest

from runtui.api import Port
from runtui.domain.log_search import LogMatches
from runtui.tui.log_finder import LogFinder

pytestmark = pytest.mark.anyio


class HeldSearch:
    """A port whose searches answer only when the test lets them (one at a time)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.release = anyio.Event()
        self.waiting = anyio.Event()

    async def search_events(self, run_id: str, text: str, **_: Any) -> LogMatches:
        self.asked.append(text)
        self.waiting.set()
        await self.release.wait()
        return LogMatches([4, 9], False, 2, True, 1, True, 10)


async def test_the_page_is_named_by_the_text_it_answers() -> None:
    port = HeldSearch()
    finder = LogFinder(cast(Port, port), "r1")
    finder.text = "wav"
    found: list[int | None] = []
    async with anyio.create_task_group() as tg:

        async def first() -> None:
            found.append(await finder.first(1))

        tg.start_soon(first)
        await port.waiting.wait()  # the search of "wav" is on its way
        finder.text = "wave"  # the next key arrives meanwhile
        port.release.set()
    assert found == [4]
    assert port.asked == ["wav"]
    assert finder.searched == "wav"  # not "wave": that one is not answered yet
    assert finder.status() == "match 1 of 2"
    finder.forget()
    assert finder.searched == ""
