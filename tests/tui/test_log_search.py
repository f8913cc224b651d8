"""Searching the run's whole log from the run screen, embedded and attached to a real server:
a match far outside the loaded tail is found, loaded and shown marked; `n`/`N` step through
matches across windows; `:` goes to an event and `end` brings the tail back; `o` keeps one
task's lines and `h` hides the noise, both narrowing the search; `W` wraps; hostile strings
stay inert in the log, the bar and the title."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from rich.style import Style
from textual.widgets import Input

from runtui.actors.runtime import Runtime
from runtui.domain.events import AttemptOutput, PendingEvent, RunCreated, SpanStarted
from runtui.domain.log_search import NOISE_KINDS
from runtui.tui.app import RuntuiApp
from runtui.tui.screens import log_search as log_search_module
from runtui.tui.screens import run as run_module
from runtui.tui.screens.run import RunScreen
from runtui.tui.widgets.event_log import EventLog
from runtui.tui.widgets.search_bar import SearchBar
from tests.hostile import SHORT, assert_terminal_safe
from tests.tui.conftest import port_for, until
from tests.tui.test_run_screen import log_of, open_run
from tests.tui.test_terminal_safety import drawn

pytestmark = pytest.mark.anyio

RID = "long-run"
EVENTS = 400  # after run.created (seq 1): event i is seq i + 1
NEEDLES = {21: "one", 150: "two", 300: "three"}  # event number -> the word after NEEDLE
WIDE = 390  # a line much wider than the screen
EVIL = "evil" + SHORT  # a hostile task id


def seq_of(event: int) -> int:
    return event + 1


def task_of(event: int) -> str:
    return "alpha" if event % 2 else "beta"


def long_run() -> list[PendingEvent]:
    """A run whose log is far longer than what the screen loads: output of two tasks, three
    needles (the first two far before the tail), spans at 50, 250 and 350, a wide line and a
    hostile task's output near the end."""
    bodies: list[object] = [RunCreated(workflow="long")]
    for i in range(1, EVENTS + 1):
        task = task_of(i)
        if i in NEEDLES:
            bodies.append(
                AttemptOutput(task_id=task, attempt=0, lines=[f"{i}: NEEDLE {NEEDLES[i]}"])
            )
        elif i % 100 == 50:
            bodies.append(SpanStarted(span_id=f"s{i}", name=f"needle span {i}"))
        elif i == 380:
            bodies.append(SpanStarted(span_id="tail", name="a span in the tail"))
        elif i == WIDE:
            bodies.append(
                AttemptOutput(task_id=task, attempt=0, lines=["wide " + "x" * 300 + " end"])
            )
        elif i == EVENTS - 2:
            hostile = "[bold]needle-evil[/bold] " + SHORT
            bodies.append(AttemptOutput(task_id=EVIL, attempt=0, lines=[hostile]))
        else:
            bodies.append(AttemptOutput(task_id=task, attempt=0, lines=[f"{i}: work"]))
    return [PendingEvent(RID, b, 1_700_000_000.0 + n, 0) for n, b in enumerate(bodies)]  # type: ignore[arg-type]


@asynccontextmanager
async def the_long_run(
    runtime: Runtime, mode: str = "embedded", **run_test: Any
) -> AsyncIterator[tuple[RuntuiApp, Any, EventLog]]:
    """`long_run()` in the store, its screen open (embedded or attached) with the log's tail
    loaded: the app, its pilot and the log."""
    await runtime.store.writer.append_many(long_run())
    async with port_for(mode, runtime) as client:
        app = RuntuiApp(client, demo_path=None)
        async with app.run_test(size=(120, 40), **run_test) as pilot:
            await open_run(app, pilot, RID)
            log = log_of(app)
            await until(pilot, lambda: log.last_seq == seq_of(EVENTS))
            yield app, pilot, log


@pytest.fixture(autouse=True)
def _small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The screen loads a tail of 40 events and pages of 60: most of the run is not loaded."""
    monkeypatch.setattr(run_module, "TAIL", 40)
    monkeypatch.setattr(log_search_module, "TAIL", 40)
    monkeypatch.setattr(log_search_module, "LOG_PAGE", 60)


def bar_of(app: RuntuiApp) -> SearchBar:
    return app.screen.query_one("#search", SearchBar)


def status_of(app: RuntuiApp) -> str:
    return str(bar_of(app).query_one("#search-status").render())


def in_view(log: EventLog, seq: int) -> bool:
    """Whether a line of event `seq` is on screen (unwrapped log)."""
    top = log.scroll_offset.y
    rows = range(top, top + log.scrollable_content_region.height)
    return any(log.shown_lines[r].seq == seq for r in rows if r < len(log.shown_lines))


def marked(log: EventLog, word: str) -> bool:
    """Whether the screen shows `word` marked as a search match (black on yellow)."""
    for y in range(log.scrollable_content_region.height):
        for segment in log.render_line(y):
            style = segment.style or Style()
            if segment.text.lower() == word and style.bgcolor and style.bgcolor.name == "yellow":
                return True
    return False


async def searched(app: RuntuiApp, pilot: object, text: str) -> None:
    await pilot.press("slash")  # type: ignore[attr-defined]
    box = app.screen.query_one("#log-search", Input)
    assert box.has_focus
    await pilot.press(*text)  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, RunScreen)
    # typing runs ahead of the debounced search: wait for the answer to the whole text
    await until(pilot, lambda: screen.finder.searched == box.value)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["embedded", "attached"])
async def test_search_finds_matches_far_outside_the_loaded_tail(
    runtime: Runtime, mode: str
) -> None:
    async with the_long_run(runtime, mode) as (app, pilot, log):
        assert log.first_seq > seq_of(300)  # no needle but the span's is loaded

        await searched(app, pilot, "needle")  # 'e', 'n' and 'd' are keys too: the box takes them
        assert isinstance(app.screen, RunScreen)
        # from the tail, the first match at or below the top line: the hostile task's line
        await until(pilot, lambda: log.current_seq == seq_of(EVENTS - 2))
        assert status_of(app) == "match 7 of 7"  # 3 needles, 3 spans, the hostile line
        await pilot.press("enter", "enter")  # no newer match: it stays
        await until(pilot, lambda: "no more that way" in status_of(app))
        assert log.current_seq == seq_of(EVENTS - 2)

        await pilot.press("escape")  # closes the bar, keeps the search
        assert not bar_of(app).display
        assert log.has_focus
        await pilot.press("N")  # the span at 350
        await until(pilot, lambda: log.current_seq == seq_of(350))
        await pilot.press("N")  # needle three
        await until(pilot, lambda: log.current_seq == seq_of(300))
        assert status_of(app) == "match 5 of 7"
        assert in_view(log, seq_of(300))
        assert marked(log, "needle")
        assert "/needle  match 5 of 7" in str(log.border_title)

        for event in (250, 150):  # a span, needle two: a window away from the tail
            await pilot.press("N")
            await until(pilot, lambda e=event: log.current_seq == seq_of(e))  # type: ignore[misc]
        assert log.detached
        assert not log.holds(seq_of(EVENTS))
        assert in_view(log, seq_of(150))
        assert marked(log, "needle")
        await pilot.press("N", "N")
        await until(pilot, lambda: log.current_seq == seq_of(21))
        assert status_of(app) == "match 1 of 7"
        assert in_view(log, seq_of(21))
        await pilot.press("N")
        await until(pilot, lambda: "no more that way" in status_of(app))
        assert log.current_seq == seq_of(21)
        await pilot.press("n")
        await until(pilot, lambda: log.current_seq == seq_of(50))

        # live events do not land in a window away from the tail; only the count moves
        await runtime.store.writer.append_many(
            [PendingEvent(RID, AttemptOutput(task_id="alpha", attempt=0, lines=["late"]), 1.8e9, 0)]
        )
        await until(pilot, lambda: log.total == seq_of(EVENTS + 1))
        assert not log.holds(seq_of(EVENTS + 1))

        await pilot.press("escape")  # clears the search
        assert "/needle" not in str(log.border_title)
        assert log.current_seq is None
        await pilot.press("end")  # the tail again, following
        await until(pilot, lambda: log.last_seq == seq_of(EVENTS + 1) and not log.detached)
        assert log.follow
        assert log.plain_lines()[-1].endswith("alpha| late")
        await pilot.press("escape")
        assert not isinstance(app.screen, RunScreen)


@pytest.mark.parametrize("mode", ["embedded", "attached"])
async def test_go_to_an_event_then_page_and_return_to_the_tail(runtime: Runtime, mode: str) -> None:
    async with the_long_run(runtime, mode) as (app, pilot, log):
        await pilot.press("colon")
        assert bar_of(app).mode == "goto"
        await pilot.press(*"1a2x5", "enter")  # only digits are taken: #125
        await until(pilot, lambda: log.current_seq == 125)
        assert in_view(log, 125)
        assert log.detached
        assert "] newer" in str(log.border_subtitle)
        last = log.last_seq
        await pilot.press("right_square_bracket")  # the page after the window
        await until(pilot, lambda: log.last_seq > last)
        await pilot.press("n")  # nothing is searched: n says so and stays
        assert log.current_seq == 125
        await pilot.press("number_sign", *"99999", "enter")  # past the end: the last event
        await until(pilot, lambda: log.current_seq == seq_of(EVENTS))
        assert not log.detached
        await pilot.press("number_sign", *"3", "enter")
        await until(pilot, lambda: log.current_seq == 3)
        await pilot.press("f")  # follow: the tail again
        await until(pilot, lambda: not log.detached and log.last_seq == seq_of(EVENTS))
        assert log.follow


@pytest.mark.parametrize("mode", ["embedded", "attached"])
async def test_this_task_only_and_hide_noise_narrow_the_log_and_the_search(
    runtime: Runtime, mode: str
) -> None:
    async with the_long_run(runtime, mode) as (app, pilot, log):
        assert any(line.kind == "span.started" for line in log.shown_lines)

        await pilot.press("h")
        assert not any(line.kind in NOISE_KINDS for line in log.shown_lines)
        assert "noise hidden" in str(log.border_title)
        await searched(app, pilot, "needle")  # the spans' needles are noise now
        await until(pilot, lambda: status_of(app) == "match 4 of 4")
        await pilot.press("escape", "N")
        await until(pilot, lambda: log.current_seq == seq_of(300))

        await pilot.press("o")  # event 300 is beta's
        assert "task beta only" in str(log.border_title)
        assert {line.task for line in log.shown_lines} == {"beta"}
        await until(pilot, lambda: status_of(app).endswith("of 2"))  # needles two and three
        await pilot.press("N")
        await until(pilot, lambda: log.current_seq == seq_of(150))
        assert status_of(app) == "match 1 of 2"
        await pilot.press("N")
        await until(pilot, lambda: "no more that way" in status_of(app))

        await pilot.press("o", "h")  # every task, every kind again
        assert "only" not in str(log.border_title)
        assert "noise hidden" not in str(log.border_title)
        await until(pilot, lambda: status_of(app).endswith("of 7"))
        assert {line.task for line in log.shown_lines} >= {"alpha", "beta"}


async def test_wrap_shows_a_long_line_whole(runtime: Runtime) -> None:
    async with the_long_run(runtime) as (_, pilot, log):
        rows = len(log.shown_lines)
        assert log.virtual_size.height == rows
        await pilot.press("W")
        assert log.wrap
        assert "wrap" in str(log.border_title)
        assert log.virtual_size.height > rows  # the wide line takes several rows
        await pilot.press("colon", *str(seq_of(WIDE)), "enter")
        await until(pilot, lambda: log.current_seq == seq_of(WIDE))
        screen_text = [
            "".join(s.text for s in log.render_line(y))
            for y in range(log.scrollable_content_region.height)
        ]
        wide = next(i for i, text in enumerate(screen_text) if "wide xxx" in text)
        assert screen_text[wide + 1].strip().startswith("xxx")  # continued below, indented
        assert any(text.rstrip().endswith("x end") for text in screen_text[wide : wide + 6])
        await pilot.press("W")
        assert log.virtual_size.height == rows


async def test_hostile_strings_stay_inert_in_the_search(runtime: Runtime) -> None:
    async with the_long_run(runtime, notifications=True) as (app, pilot, log):
        await searched(app, pilot, "[bold]needle")  # brackets are text, not markup
        await until(pilot, lambda: log.current_seq == seq_of(EVENTS - 2))
        assert status_of(app) == "match 1 of 1"
        await until(pilot, lambda: marked(log, "[bold]needle"))  # scrolled to, after a refresh
        await pilot.press("escape", "o")  # the hostile task's lines only
        assert {line.task for line in log.shown_lines} == {EVIL}
        title = str(log.border_title)
        assert "/\\[bold]needle" in title  # escaped: shown as typed
        assert_terminal_safe(title, "the log's title")
        for line in log.plain_lines():
            assert_terminal_safe(line, "the log")
        drawn(app)  # the whole screen as drawn: nothing in it drives a terminal
