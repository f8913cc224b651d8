"""Ask before an action that cannot be taken back (cancel a run, quit while driving runs).

`y` confirms; `n`, escape, or enter on the focused "keep" button decline: a stray enter
never confirms. The question says what will happen, in plain
words, because a dialog that only asks "are you sure?" teaches users to press `y`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from runtui.domain.terminal_text import terminal_safe
from runtui.tui.safe_text import markup


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with True when confirmed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "No", id="confirm.cancel", show=False),
    ]
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                               border: round $warning; background: $surface; padding: 1 2; }
    ConfirmDialog #question { height: auto; }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmDialog Button { margin-left: 2; }
    """

    def __init__(self, title: str, question: str, *, yes: str, no: str = "Keep") -> None:
        super().__init__()
        self.title_text = title
        self.question = question  # terminal-safe when shown: it may quote a workflow's names
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = markup(self.title_text)
            yield Static(Text(terminal_safe(self.question)), id="question")
            with Horizontal():
                yield Button(f"{self.yes} (y)", variant="warning", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # enter on the default keeps things as they are

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
