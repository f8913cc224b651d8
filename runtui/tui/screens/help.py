"""`?`: every key of the screen underneath, read from its bindings (so it cannot go stale)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("question_mark", "dismiss", "Close", show=False, key_display="?"),
        Binding("q", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: 72; max-width: 100%; height: auto; max-height: 90%;
                          border: round $accent; background: $surface; padding: 1 2; }
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
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or binding.key in seen:
                    continue
                if not node.check_action(binding.action.split("(")[0], ()):
                    continue  # hidden here (e.g. a mutating key in read-only mode)
                seen.add(binding.key)
                key = binding.key_display or binding.key
                self.rows.append((key, binding.description or binding.action))
        self.rows.append(("ctrl+p", "command palette: every action by name"))
        for key, what in self.rows:
            table.add_row(key, what)
        name = type(self.under).__name__.removesuffix("Screen").lower() or "screen"
        yield Static(table, id="help-body")
        self.border_title = f"keys: {name}"

    def on_mount(self) -> None:
        self.query_one("#help-body", Static).border_title = f"Keys — {type(self.under).__name__}"

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
