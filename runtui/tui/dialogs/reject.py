"""Reject an approval: the reason is required, because it ends up in the run's error and audit."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from runtui.tui.safe_text import plain


class RejectDialog(ModalScreen[str | None]):
    """Dismisses with the (stripped, non-empty) reason, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]
    DEFAULT_CSS = """
    RejectDialog { align: center middle; }
    RejectDialog > Vertical { width: 76; max-width: 100%; height: auto; border: round $error;
                              background: $surface; padding: 1 2; }
    RejectDialog #prompt { color: $text-muted; margin-bottom: 1; }
    RejectDialog #problem { color: $error; height: auto; }
    RejectDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    RejectDialog Button { margin-left: 2; }
    """

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Reject approval"
            yield Static(plain(self.prompt), id="prompt")
            yield Label("Reason (required; recorded with the decision):")
            yield Input(placeholder="why is this rejected?", id="reason")
            yield Static("", id="problem")
            with Horizontal():
                yield Button("Reject", variant="error", id="reject", disabled=True)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        blank = not event.value.strip()
        self.query_one("#reject", Button).disabled = blank
        if not blank:
            self.query_one("#problem", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "reject":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#problem", Static).update("A reason is required to reject.")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
