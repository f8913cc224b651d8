"""Approve a plan with edits: name the tasks to skip; the rest of the plan runs as declared."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from runtui.tui.safe_text import one_line, plain


def parse_skip(text: str, known: list[str]) -> tuple[list[str], list[str]]:
    """Split `text` on commas/spaces into (ids to skip, ids the plan does not have), in order."""
    wanted: list[str] = []
    for part in text.replace(",", " ").split():
        if part not in wanted:
            wanted.append(part)
    unknown = [t for t in wanted if t not in known]
    return [t for t in wanted if t in known], unknown


class EditsDialog(ModalScreen[dict[str, Any] | None]):
    """Dismisses with `{"skip": [task ids]}`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]
    DEFAULT_CSS = """
    EditsDialog { align: center middle; }
    EditsDialog > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                             border: round $accent; background: $surface; padding: 1 2; }
    EditsDialog #prompt { color: $text-muted; }
    EditsDialog #tasks { margin: 1 0; height: auto; max-height: 8; overflow-y: auto; }
    EditsDialog #problem { color: $error; height: auto; }
    EditsDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    EditsDialog Button { margin-left: 2; }
    """

    def __init__(self, prompt: str, tasks: list[str]) -> None:
        super().__init__()
        self.prompt = prompt
        self.tasks = list(tasks)
        self.shown_tasks = [one_line(t) for t in self.tasks]  # as listed; typed ids match raw

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Approve plan with edits"
            yield Static(plain(self.prompt), id="prompt")
            listing = Text(f"tasks in the plan ({len(self.tasks)}): ", style="bold")
            listing.append(", ".join(self.shown_tasks) or "none", style="not bold")
            yield Static(listing, id="tasks")
            yield Label("Skip these tasks (ids, comma-separated):")
            example = ", ".join(self.shown_tasks[-2:]) or "task-id"
            yield Input(placeholder=f"e.g. {example}", id="skip")
            yield Static("", id="problem")
            with Horizontal():
                yield Button("Approve with edits", variant="primary", id="approve")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#skip", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        _, unknown = parse_skip(event.value, self.tasks)
        self._problem(f"not in this plan: {', '.join(unknown)}" if unknown else "")  # as typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "approve":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        skip, unknown = parse_skip(self.query_one("#skip", Input).value, self.tasks)
        if unknown:
            self._problem(f"not in this plan: {', '.join(unknown)}")
        elif not skip:
            self._problem("Name at least one task to skip (or close this and press a to approve).")
        else:
            self.dismiss({"skip": skip})

    def _problem(self, text: str) -> None:
        self.query_one("#problem", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
