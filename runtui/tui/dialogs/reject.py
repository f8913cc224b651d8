"""Decide an approval with words: a reject needs a reason (it ends up in the run's error and its
audit); an approve may carry a comment. Both are recorded with the decision and shown in the
log and in history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from runtui.domain.views import ApprovalRow
from runtui.tui.safe_text import plain

if TYPE_CHECKING:
    from runtui.tui.screens.base import RuntuiScreen


class DecisionDialog(ModalScreen[str | None]):
    """Dismisses with the (stripped) words, or None when cancelled. `required`: a blank
    answer is refused (reject); otherwise blank is a decision without a comment."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]
    DEFAULT_CSS = """
    DecisionDialog { align: center middle; }
    DecisionDialog > Vertical { width: 76; max-width: 100%; height: auto; background: $surface;
                                border: round $accent; padding: 1 2; }
    DecisionDialog.-reject > Vertical { border: round $error; }
    DecisionDialog #prompt { color: $text-muted; margin-bottom: 1; }
    DecisionDialog #problem { color: $error; height: auto; }
    DecisionDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    DecisionDialog Button { margin-left: 2; }
    """

    def __init__(self, prompt: str, *, verb: str, required: bool, label: str, hint: str) -> None:
        super().__init__()
        self.prompt, self.verb, self.required = prompt, verb, required
        self.label, self.hint = label, hint

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{self.verb.capitalize()} approval"
            yield Static(plain(self.prompt), id="prompt")
            yield Label(self.label)
            yield Input(placeholder=self.hint, id="reason")
            yield Static("", id="problem")
            with Horizontal():
                yield Button(
                    self.verb.capitalize(),
                    variant="error" if self.required else "success",
                    id=self.verb,
                    disabled=self.required,
                )
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        blank = not event.value.strip()
        self.query_one(f"#{self.verb}", Button).disabled = blank and self.required
        if not blank:
            self.query_one("#problem", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == self.verb:
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        words = self.query_one("#reason", Input).value.strip()
        if not words and self.required:
            self.query_one("#problem", Static).update(f"A reason is required to {self.verb}.")
            return
        self.dismiss(words)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RejectDialog(DecisionDialog):
    def __init__(self, prompt: str) -> None:
        super().__init__(
            prompt,
            verb="reject",
            required=True,
            label="Reason (required; recorded with the decision):",
            hint="why is this rejected?",
        )
        self.add_class("-reject")


class ApproveDialog(DecisionDialog):
    def __init__(self, prompt: str) -> None:
        super().__init__(
            prompt,
            verb="approve",
            required=False,
            label="Comment (optional; recorded with the decision):",
            hint="anything the log should say about this approval",
        )


def decide_in_words(
    screen: RuntuiScreen,
    a: ApprovalRow,
    *,
    approve: bool,
    prompt: str,
    label: str,
    then: Callable[[], Awaitable[None]],
) -> None:
    """Ask for the comment of an approve (`approve`) or the reason of a reject of `a`, showing
    `prompt`; then decide through the screen's port, say `approved: <label>` (or why not), and
    `then` (the screen re-reads what the decision changed). Cancelling decides nothing."""

    async def answered(words: str | None) -> None:
        if words is None or (not approve and not words):
            return
        port, verb = screen.client, "approved" if approve else "rejected"
        decision = (
            port.approve(a.approval_id, reason=words)
            if approve
            else port.reject(a.approval_id, reason=words)
        )
        await screen.rt_app.attempt(decision, success=f"{verb}: {label}")
        await then()

    dialog = ApproveDialog(prompt) if approve else RejectDialog(prompt)
    screen.app.push_screen(dialog, answered)
