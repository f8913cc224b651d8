"""Rewind a run: pick a wave, see the dry-run (what is kept, what re-executes), then fork.

The dry-run is the runtime's own `rewind_plan`, re-read as the user types, so what the dialog
shows is exactly what `rewind` will do. An active run has to be cancelled before it can be
forked; the dialog says so and asks for a second, explicit confirmation before passing
`force=True`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from runtui.tui.glyphs import short_id
from runtui.tui.messages import OpenRun
from runtui.tui.safe_text import markup, one_line

if TYPE_CHECKING:
    from runtui.domain.rewind import RewindPlan
    from runtui.domain.views import TaskRow
    from runtui.tui.app import RuntuiApp

MAX_IDS_PER_WAVE = 6


def waves_text(waves: dict[int, list[str]], sep: str = " · ") -> str:
    """`wave 0: fetch, lint · wave 1: build`, long waves cut to a count."""
    parts = []
    for wave, ids in sorted(waves.items()):
        shown = ", ".join(one_line(i) for i in ids[:MAX_IDS_PER_WAVE])
        if len(ids) > MAX_IDS_PER_WAVE:
            shown += f" +{len(ids) - MAX_IDS_PER_WAVE} more"
        parts.append(f"wave {wave}: {shown}")
    return sep.join(parts)


def default_wave(tasks: list[TaskRow], wave_count: int) -> int:
    """The last wave whose tasks (and every earlier wave's) all completed, or 0.

    When every wave completed, rewinding to the last one would re-execute nothing, so the
    default is the one before it.
    """
    last = -1
    for wave in range(wave_count):
        in_wave = [t for t in tasks if t.wave == wave]
        if not in_wave or any(t.status != "done" for t in in_wave):
            break
        last = wave
    if last >= wave_count - 1:
        last = wave_count - 2
    return max(0, last)


class RewindDialog(ModalScreen[str | None]):
    """Dismisses with the new run's id once forked, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]
    DEFAULT_CSS = """
    RewindDialog { align: center middle; }
    RewindDialog > Vertical { width: 84; max-width: 100%; height: auto; max-height: 100%;
                              border: round $accent; background: $surface; padding: 0 2; }
    RewindDialog #wave-row { height: auto; }
    RewindDialog #wave-row Label { padding: 1 1 0 0; }
    RewindDialog #wave { width: 12; }
    RewindDialog #problem { color: $error; height: auto; display: none; }
    RewindDialog #plan { height: auto; margin-top: 1; }
    RewindDialog #fork-note { color: $text-muted; margin-top: 1; }
    RewindDialog #active-note { color: $warning; height: auto; display: none; }
    RewindDialog #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    RewindDialog Button { margin-left: 2; width: auto; min-width: 12; }
    """

    def __init__(self, run_id: str, wave_count: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.wave_count = wave_count
        self.active = False
        self.confirmed_cancel = False
        self.plan: RewindPlan | None = None
        self.busy = False

    @property
    def rt_app(self) -> RuntuiApp:
        from runtui.tui.app import RuntuiApp

        return cast(RuntuiApp, self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="box") as box:
            box.border_title = f"Rewind run {short_id(self.run_id)}"
            with Horizontal(id="wave-row"):
                yield Label(f"Rewind to wave (0..{max(0, self.wave_count - 1)}):")
                yield Input(id="wave", max_length=4, placeholder="wave")
            yield Static("", id="problem")
            yield Static("", id="plan")
            yield Static(
                "the original run stays as it is; a new run is forked from it.", id="fork-note"
            )
            yield Static("", id="active-note")
            with Horizontal(id="buttons"):
                yield Button("Rewind", variant="primary", id="rewind", disabled=True)
                yield Button("Cancel", id="cancel")

    async def on_mount(self) -> None:
        client = self.rt_app.client
        run = await self.rt_app.attempt(client.get_run(self.run_id))
        tasks = await self.rt_app.attempt(client.tasks_of(self.run_id))
        if run is not None:
            box = self.query_one("#box", Vertical)
            box.border_title = f"Rewind run {short_id(self.run_id)} · {markup(run.workflow)}"
            self.active = not run.status.is_terminal
            if self.active:
                self._note(f"the run is active ({run.status.value}): it will be cancelled first.")
        wave_box = self.query_one("#wave", Input)
        if self.wave_count <= 0:
            self._problem("this run has no waves to rewind to.")
            wave_box.disabled = True
            return
        wave_box.value = str(default_wave(tasks or [], self.wave_count))
        wave_box.focus()

    # --- the dry-run -------------------------------------------------------------------------

    def _wave(self) -> int | None:
        """The wave typed, or None (with the reason shown inline)."""
        text = self.query_one("#wave", Input).value.strip()
        last = self.wave_count - 1
        if not text:
            self._problem(f"type a wave: 0..{last}")
            return None
        if not text.isdigit() or not 0 <= int(text) <= last:
            self._problem(f"no wave {text!r}: this run has waves 0..{last}")
            return None
        self._problem("")
        return int(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.plan = None
        self.query_one("#rewind", Button).disabled = True
        wave = self._wave()
        if wave is None:
            self.query_one("#plan", Static).update("")
            return
        self.run_worker(self._preview(wave), group="preview", exclusive=True)

    async def _preview(self, wave: int) -> None:
        plan = await self.rt_app.attempt(self.rt_app.client.rewind_plan(self.run_id, wave))
        if plan is None or self._wave() != wave:
            return
        self.plan = plan
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column(ratio=1)
        # one wave a line: a wave's tasks never wrap away from their "wave N:"
        kept, rerun = waves_text(plan.kept, "\n"), waves_text(plan.rerun, "\n")
        table.add_row(  # as `Text`: a `str` cell would be read as markup
            "kept (results carried over):",
            Text(kept) if kept else Text("nothing", style="dim"),
        )
        table.add_row(
            "re-executed:",
            Text(rerun) if rerun else Text("nothing (every result carries over)", style="dim"),
        )
        self.query_one("#plan", Static).update(table)
        self.query_one("#rewind", Button).disabled = self.busy

    # --- confirming --------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "rewind":
            self._confirm()
        else:
            self.dismiss(None)

    def _confirm(self) -> None:
        if self.busy:
            return
        wave = self._wave()
        if wave is None:
            return
        if self.plan is None or self.plan.wave != wave:
            self._problem("the dry-run is still loading…")
            return
        if self.active and not self.confirmed_cancel:
            self.confirmed_cancel = True
            self._note(
                "the run is active: it will be cancelled first."
                " Press “Cancel run & rewind” to confirm, or Cancel to keep it running."
            )
            button = self.query_one("#rewind", Button)
            button.label = "Cancel run & rewind"
            button.variant = "warning"
            button.refresh(layout=True)
            return
        self.run_worker(self._rewind(wave), group="rewind", exclusive=True)

    async def _rewind(self, wave: int) -> None:
        self.busy = True
        button = self.query_one("#rewind", Button)
        button.disabled = True
        if self.active:
            self._note("cancelling the run, then forking…")
        try:
            plan = await self.rt_app.attempt(
                self.rt_app.client.rewind(self.run_id, wave, force=self.active)
            )
        finally:
            self.busy = False
        if plan is not None and plan.new_run_id is not None:
            self.dismiss(plan.new_run_id)
        else:  # refused: the notification says why; the user may try another wave
            button.disabled = False

    def _problem(self, text: str) -> None:
        problem = self.query_one("#problem", Static)
        problem.update(text)
        problem.display = bool(text)

    def _note(self, text: str) -> None:
        note = self.query_one("#active-note", Static)
        note.update(text)
        note.display = bool(text)

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)


def rewind_and_open(app: RuntuiApp, run_id: str, wave_count: int) -> None:
    """The `w` key of a run: refuse in read-only mode, else ask, fork, and open the fork."""
    if app.refuse_read_only():
        return

    def forked(new_run_id: str | None) -> None:
        if new_run_id:
            app.notify(f"rewound: new run {short_id(new_run_id)}", timeout=4)
            app.post_message(OpenRun(new_run_id))

    app.push_screen(RewindDialog(run_id, wave_count), forked)
