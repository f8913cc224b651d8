"""The bar above the run's log for `/` (search the whole log) and `:` (go to an event).

One input, two modes: a search takes any text (at most what the store takes) and shows how it
went beside it ("match 3 of 120"); go-to takes a seq. The screen does the searching; the bar
only says what the user typed and asked for (`shift+enter`: the previous match, where the
terminal tells it from `enter`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from runtui.domain.log_search import MAX_QUERY_CHARS

Mode = Literal["search", "goto"]

SEARCH_HINT = "search the whole log (enter: next, shift+enter: previous, esc: close)"
GOTO_HINT = "go to event # (enter: go, esc: close)"


class SearchBar(Horizontal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("shift+enter", "previous", "Previous match", show=False),
    ]
    DEFAULT_CSS = """
    SearchBar { height: 3; margin: 0 1; display: none; }
    SearchBar Input { width: 1fr; }
    SearchBar #search-status { width: auto; max-width: 60; padding: 1 1 0 1; }
    """

    class Previous(Message):
        """shift+enter in the search box."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode: Mode = "search"
        self.query_text = ""  # kept while the box shows a seq

    def compose(self) -> ComposeResult:
        yield Input(placeholder=SEARCH_HINT, max_length=MAX_QUERY_CHARS, id="log-search")
        yield Static(id="search-status")

    @property
    def input(self) -> Input:
        return self.query_one("#log-search", Input)

    def open(self, mode: Mode) -> None:
        box = self.input
        if self.mode == "search":
            self.query_text = box.value
        self.mode = mode
        with box.prevent(Input.Changed):
            if mode == "search":
                box.restrict, box.placeholder, box.value = None, SEARCH_HINT, self.query_text
            else:
                box.restrict, box.placeholder, box.value = r"[0-9#,]*", GOTO_HINT, ""
        box.cursor_position = len(box.value)
        if mode == "goto":
            self.show_status("")
        self.display = True
        box.focus()

    def close(self) -> None:
        if self.mode == "goto":
            self.mode = "search"
            with self.input.prevent(Input.Changed):
                self.input.value = self.query_text
        self.display = False

    def clear(self) -> None:
        self.query_text = ""
        with self.input.prevent(Input.Changed):
            self.input.value = ""
        self.show_status("")

    def show_status(self, text: str) -> None:
        self.query_one("#search-status", Static).update(Text(text, style="bold"))

    def action_previous(self) -> None:
        if self.mode == "search":
            self.post_message(self.Previous())


def parse_seq(text: str) -> int | None:
    """A seq as typed after `:` (`4500`, `#4,500`); None if it is not one."""
    digits = text.strip().lstrip("#").replace(",", "")
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None
