"""`?`: every key of the screen underneath, read from its bindings (so it cannot go stale), with
each one's full description, under the screen's title; then what every symbol means."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from runtui.tui.glyphs import LEGEND


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("question_mark", "dismiss", "Close", show=False, key_display="?"),
        Binding("q", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 100%; height: auto; max-height: 90%;
                                  border: round $accent; background: $surface; padding: 1 2; }
    HelpScreen Static { height: auto; }
    """

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under
        self.rows: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("what it does")
        seen: set[str] = set()
        for node in (self.under, self.app):
            for binding in _bindings(node):
                if binding.key in seen:
                    continue
                if not node.check_action(binding.action.split("(")[0], ()):
                    continue  # hidden here (e.g. a mutating key in read-only mode)
                seen.add(binding.key)
                key = binding.key_display or binding.key
                self.rows.append((key, _what(binding)))
        self.rows.append(("ctrl+p", "command palette: every action by name"))
        for key, what in self.rows:
            table.add_row(key, what)
        legend = Table(box=None, show_header=True, header_style="bold", expand=True)
        legend.add_column("symbol", style="bold", no_wrap=True)
        legend.add_column("means")
        for glyph, meaning in LEGEND:
            legend.add_row(glyph, meaning)
        with VerticalScroll(id="help-body"):  # scrolls (arrows, pgdn) when taller than the screen
            yield Static(Group(table, Text(""), legend))

    def on_mount(self) -> None:
        title = getattr(self.under, "HELP_TITLE", "") or "this screen"
        body = self.query_one("#help-body", VerticalScroll)
        body.border_title = f"Keys — {title}"
        body.focus()


def _bindings(node: object) -> list[Binding]:
    """A screen's bindings with those of the screens it is made from (its base's `?`, `i`)."""
    found: list[Binding] = []
    for cls in reversed(type(node).__mro__):
        if not cls.__module__.startswith("runtui."):  # Textual's own (tab, ctrl+c): not ours
            continue
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding):
                found = [b for b in found if b.key != binding.key] + [binding]
    return found


def _what(binding: Binding) -> str:
    """The binding's full description: its tooltip says more than its footer label."""
    label = binding.description or binding.action
    if binding.tooltip and binding.tooltip.lower() != label.lower():
        return f"{label}: {binding.tooltip}"
    return label

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
