"""The seven phases as a flow, the current one marked, and the time spent in each.

    CREATED ──▶ AUTHORIZED ──▶ ▐EXECUTING▌ ──▶ GOVERNANCE_CHECK ──▶ FINALIZING ──▶ COMPLETED
    ✓ 0.01s     ✓ 0.02s        ● 1m12s

The current phase is reversed and bracketed (▐X▌) so it reads without colour; passed phases
carry ✓ and their time. FAILED is drawn only when the run took that branch, from the phase it
failed in (marked ✗): a task failing stops the run in EXECUTING, even though the run then winds
down through FINALIZING before it enters FAILED. When the line does not fit, GOVERNANCE_CHECK
becomes GOV_CHECK and the arrows shrink; below that the flow wraps onto two rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.geometry import Size
from textual.timer import Timer
from textual.widget import Widget

from runtui.domain.phases import PHASE_ORDER, RunPhase
from runtui.tui.safe_text import one_line

SHORT_NAMES = {RunPhase.GOVERNANCE_CHECK: "GOV_CHECK"}
#: Tried in order until one fits the width: (short names?, arrow).
STYLES: tuple[tuple[bool, str], ...] = (
    (False, " ──▶ "),
    (True, " ──▶ "),
    (True, " ─▶ "),
    (True, " ▶ "),
)


@dataclass(frozen=True, slots=True)
class PhaseStep:
    """One `phase.changed` event: when the run left `from_phase` for `to_phase`, and why."""

    at: float
    from_phase: RunPhase
    to_phase: RunPhase
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PhaseState:
    created_at: float
    current: RunPhase
    steps: tuple[PhaseStep, ...] = ()
    ended_at: float | None = None
    glyph: str = "●"  # the run's status glyph, shown under a live current phase
    style: str = "cyan"  # the run's status colour, for the current phase
    stopped_in: RunPhase | None = None  # where the run was when its first stop reason came

    @property
    def failed_from(self) -> RunPhase | None:
        """The phase the run failed in (None when it did not fail): where it was when the
        kernel accepted its first reason to stop. A run winds down through FINALIZING whatever
        stopped it, so the phase it entered FAILED from is only the fallback (when the stop is
        not among the events read)."""
        if self.current is not RunPhase.FAILED:
            return None
        if self.stopped_in is not None and not self.stopped_in.is_terminal:
            return self.stopped_in
        for step in self.steps:
            if step.to_phase is RunPhase.FAILED:
                return step.from_phase
        return None

    @property
    def failed_reason(self) -> str:
        return next((s.reason for s in self.steps if s.to_phase is RunPhase.FAILED), "")


def time_in_phases(state: PhaseState, now: float) -> dict[RunPhase, float]:
    """Seconds spent in each phase entered; the current live phase runs on until `now`."""
    entered: dict[RunPhase, float] = {RunPhase.CREATED: state.created_at}
    spent: dict[RunPhase, float] = {}
    for step in sorted(state.steps, key=lambda s: s.at):
        start = entered.get(step.from_phase)
        if start is not None:
            spent[step.from_phase] = max(0.0, step.at - start)
        entered[step.to_phase] = step.at
    current = state.current
    if not current.is_terminal and current in entered:
        spent[current] = max(0.0, now - entered[current])
    if current.is_terminal:
        end = state.ended_at if state.ended_at is not None else entered.get(current)
        if end is not None:
            spent[current] = max(0.0, end - state.created_at)  # the total, shown under it
    return spent


def seconds(value: float) -> str:
    if value < 10:
        return f"{value:.2f}s"
    if value < 60:
        return f"{value:.0f}s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class PhaseDiagram(Widget):
    DEFAULT_CSS = """
    PhaseDiagram { height: auto; border: round $primary-darken-1; padding: 0 1; }
    """

    def __init__(self, *, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.state: PhaseState | None = None
        self._ticker: Timer | None = None

    def on_mount(self) -> None:
        self.border_title = "Phases"
        self._ticker = self.set_interval(1.0, self._tick)

    def show(self, state: PhaseState) -> None:
        self.state = state
        self.refresh(layout=True)

    def _tick(self) -> None:
        if self.state is not None and not self.state.current.is_terminal:
            self.refresh()

    # --- layout ------------------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        return Text("\n", end="").join(self.lines(self.content_region.width or 80))

    def lines(self, width: int) -> list[Text]:
        state = self.state
        if state is None:
            return [Text("loading…", style="dim")]
        spent = time_in_phases(state, self.clock())
        for short, arrow in STYLES:
            if self._flow_width(short, arrow, PHASE_ORDER) <= width:
                return self._rows(state, spent, [PHASE_ORDER], short, arrow, width)
        halves = [PHASE_ORDER[:3], PHASE_ORDER[3:]]
        for short, arrow in STYLES:
            if max(self._flow_width(short, arrow, h) for h in halves) + len(arrow) <= width:
                return self._rows(state, spent, halves, short, arrow, width)
        return self._rows(state, spent, halves, True, " ▶ ", width)

    def _phase_name(self, phase: RunPhase, short: bool) -> str:
        return SHORT_NAMES.get(phase, phase.value) if short else phase.value

    def _flow_width(self, short: bool, arrow: str, phases: tuple[RunPhase, ...]) -> int:
        names = sum(len(self._phase_name(p, short)) for p in phases)
        return names + 2 + len(arrow) * (len(phases) - 1)  # 2: the ▐ ▌ around the current one

    def _rows(
        self,
        state: PhaseState,
        spent: dict[RunPhase, float],
        rows: list[tuple[RunPhase, ...]],
        short: bool,
        arrow: str,
        width: int,
    ) -> list[Text]:
        failed_from = state.failed_from
        out: list[Text] = []
        for r, phases in enumerate(rows):
            flow, times = Text(no_wrap=True, end=""), Text(no_wrap=True, end="")
            if r > 0:
                flow.append(arrow.lstrip(), style="dim")
            starts: dict[RunPhase, int] = {}
            for i, phase in enumerate(phases):
                if i:
                    flow.append(arrow, style="dim")
                starts[phase] = flow.cell_len
                self._append_name(flow, state, phase, short)
            if r < len(rows) - 1:
                flow.append(arrow.rstrip(), style="dim")
            for i, phase in enumerate(phases):
                limit = starts[phases[i + 1]] - 1 if i + 1 < len(phases) else width
                label, style = self._time_label(state, phase, spent)
                col = starts[phase] + (1 if phase is state.current else 0)
                if label:
                    # short of room on the right: start further left, never over the previous
                    col = max(times.cell_len + 1 if i else 0, min(col, limit - len(label)))
                    times.append(" " * max(0, col - times.cell_len))
                    times.append(label[: max(0, limit - col)], style=style)
            out += [flow, times]
            if failed_from is not None and failed_from in starts:
                out.append(self._branch(state, spent, starts[failed_from], width))
        if state.current is RunPhase.FAILED and failed_from is None:
            out.append(self._branch(state, spent, 0, width))
        return out

    def _append_name(self, flow: Text, state: PhaseState, phase: RunPhase, short: bool) -> None:
        name = self._phase_name(phase, short)
        if phase is state.current:
            flow.append("▐", style=state.style)
            flow.append(name, style=f"bold reverse {state.style}")
            flow.append("▌", style=state.style)
        elif phase is state.failed_from:
            flow.append(name, style="bold red")
        elif self._passed(state, phase):
            flow.append(name, style="green")
        else:
            flow.append(name, style="dim")

    def _passed(self, state: PhaseState, phase: RunPhase) -> bool:
        reached = state.failed_from if state.current is RunPhase.FAILED else state.current
        if reached is None:  # failed, but the step is not loaded: every phase it entered
            return any(s.to_phase is phase or s.from_phase is phase for s in state.steps)
        return PHASE_ORDER.index(phase) < PHASE_ORDER.index(reached)

    def _time_label(
        self, state: PhaseState, phase: RunPhase, spent: dict[RunPhase, float]
    ) -> tuple[str, str]:
        took = spent.get(phase)
        text = "" if took is None else seconds(took)
        if phase is state.current:
            if phase.is_terminal:
                return f"✓ total {text}".rstrip(), "green"
            return f"{state.glyph} {text} …", f"bold {state.style}"
        if phase is state.failed_from:
            return f"✗ {text}".rstrip(), "red"
        if self._passed(state, phase):
            return f"✓ {text}".rstrip(), "green"
        return "", ""

    def _branch(
        self, state: PhaseState, spent: dict[RunPhase, float], col: int, width: int
    ) -> Text:
        """`└─▶ ▐FAILED▌  reason · total` from column `col`, or leftwards (`… ◀─┘`) when the
        right side is short of room; the total goes first when neither fits."""
        reason = one_line(state.failed_reason) or "failed"
        total = spent.get(RunPhase.FAILED)
        notes = [f"{reason} · total {seconds(total)}", reason] if total is not None else [reason]
        head, tail = "└─▶ ", " ◀─┘"
        line = Text(no_wrap=True, end="")
        for note in notes:
            body = 8 + 2 + len(note)  # ▐FAILED▌, two spaces, the note
            if col + len(head) + body <= width:
                break
            if body + len(tail) <= col + 1:
                line.append(" " * (col + 1 - body - len(tail)))
                self._append_failed(line, state)
                line.append(f"  {note}", style="red")
                line.append(tail, style="red")
                return line
        line.append(" " * col)
        line.append(head, style="red")
        self._append_failed(line, state)
        line.append(f"  {note}", style="red")
        line.truncate(width)
        return line

    def _append_failed(self, line: Text, state: PhaseState) -> None:
        line.append("▐", style=state.style)
        line.append("FAILED", style=f"bold reverse {state.style}")
        line.append("▌", style=state.style)
