"""Ask for a workflow file and start a run from it.

The dialog submits the file itself and stays open when the runtime refuses it: the error
(the file, the line, the field) stays in the dialog under the path, which can be fixed and
run again, instead of vanishing with a toast. It opens on the last path tried in this session,
else on the demo workflow. A workflow blocked by its failures is refused with a "Run anyway"
button beside the error (the CLI's `--force`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from runtui.domain.errors import ConflictError, RuntuiError
from runtui.domain.terminal_text import terminal_safe

log = logging.getLogger(__name__)

#: Starts a run from a workflow file (`force`: even though its workflow is blocked): the new
#: run's id, or a `RuntuiError` saying why not.
Submit = Callable[[str, bool], Awaitable[str]]


class NewRunDialog(ModalScreen[str | None]):
    """Dismisses with the new run's id, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]
    DEFAULT_CSS = """
    NewRunDialog { align: center middle; }
    NewRunDialog > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                              border: round $accent; background: $surface; padding: 1 2; }
    NewRunDialog #problem { color: $error; height: auto; max-height: 12; display: none; }
    NewRunDialog Horizontal { height: auto; align-horizontal: right; }
    NewRunDialog Button { margin-left: 2; }
    """

    def __init__(self, default_path: str, submit: Submit) -> None:
        super().__init__()
        self.default_path = default_path
        self.submit = submit
        self.problem = ""  # what the runtime said about the last try, as shown

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New run: workflow file (TOML)")
            yield Input(value=self.default_path, placeholder="path/to/workflow.toml", id="path")
            yield Static(id="problem")
            with Horizontal():
                yield Button("Run", variant="primary", id="run")
                yield Button("Run anyway", variant="warning", id="force")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#force", Button).display = False  # offered when a conflict refuses
        self.query_one("#path", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        await self._run(event.value)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("run", "force"):
            await self._run(self.query_one("#path", Input).value, force=event.button.id == "force")
        else:
            self.dismiss(None)

    async def _run(self, value: str, *, force: bool = False) -> None:
        path = value.strip()
        if not path:
            self._say("give the path of a workflow file")
            return
        try:
            run_id = await self.submit(path, force)
        except ConflictError as exc:  # its workflow is blocked: say so, and offer the way past
            self._say(f"{exc}\n(Run anyway starts it all the same; h on the runs list clears it)")
            self.query_one("#force", Button).display = True
            return
        except RuntuiError as exc:
            self._say(str(exc))
            return
        except Exception as exc:  # a bug: logged in full, said here
            log.exception("starting a run from %s failed", path)
            self._say(f"unexpected error: {type(exc).__name__}: {exc}")
            return
        self.dismiss(run_id)

    def _say(self, problem: str) -> None:
        self.problem = terminal_safe(problem)
        shown = self.query_one("#problem", Static)
        shown.update(Text(self.problem))
        shown.display = True
        self.query_one("#path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
