"""The diff screen's words: a task's two sides in a line, the first differing output line, what a
run is called there, and the violations and approvals of each run.

    ≠ build        ✓ 8.0s  exit 0       ✓ 7.4s  exit 0       L3: "built 41 files" ⇄ "built 42 …
      fetch        ✓ 1.2s  exit 0       ↳ carried            —

Plain functions over `runtui.domain.run_diff` (no widgets), so the wording is testable without
a screen. Every string from a workflow or a task (ids, output lines, policy names, reasons, who
decided) goes through `one_line`; cells are `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from runtui.domain.approvals import ApprovalDecision
from runtui.domain.run_diff import Difference, DiffRow, OutputDiff, OutputVerdict, TaskSide
from runtui.domain.views import ApprovalRow, OutputLine, RunRow, ViolationRow
from runtui.tui.glyphs import (
    RUN_STYLE,
    SEVERITY_STYLE,
    TASK_GLYPH,
    duration,
    run_glyph,
    short_id,
)
from runtui.tui.safe_text import one_line

MARK = 2  # "≠ "
GAP = 1
CHANGED = "bold yellow"  # a part that differs from the other side
NOT_ASKED = "…"
OUTPUT_TITLE = "first differing output line"


@dataclass(frozen=True, slots=True)
class OutputFailed:
    """The output of a pair could not be read (the server went away): why."""

    message: str


#: What is known of a row's output: nothing yet (None), a verdict, or a failed read.
OutputState = OutputDiff | OutputFailed | None


@dataclass(frozen=True, slots=True)
class Columns:
    """The width of each column of a line, for a view `width` cells wide."""

    task: int
    side: int
    output: int

    @property
    def output_at(self) -> int:
        return MARK + self.task + GAP + 2 * (self.side + GAP)


def columns(width: int, longest_id: int) -> Columns:
    """Task ids as long as they are (within bounds), both sides alike, the rest for output."""
    task_cap = 28 if width >= 120 else 22 if width >= 100 else 16
    task = max(6, min(longest_id, task_cap))
    side = 22 if width >= 110 else 18
    output = max(8, width - (MARK + task + GAP + 2 * (side + GAP)))
    return Columns(task, side, output)


def fit(text: Text, width: int) -> Text:
    """`text` on exactly `width` cells: cut with an ellipsis, or padded."""
    out = text.copy()
    out.no_wrap = True
    out.end = ""
    out.truncate(max(0, width), overflow="ellipsis", pad=True)
    return out


# --- a row ---------------------------------------------------------------------------------------


def side_text(side: TaskSide | None, row: DiffRow, now: float) -> Text:
    """One task in one run: `✓ 1.2s  exit 0 ×2`, `↳ carried`, `· pending`, `— not in this run`;
    the parts that differ from the other side in bold yellow."""
    text = Text(no_wrap=True, end="")
    if side is None:
        text.append("— not in this run", style="dim")
        return text
    if side.carried:
        text.append("↳ carried", style="cyan")
        return text
    glyph, style = TASK_GLYPH.get(side.status, ("?", ""))
    changed = row.differences
    text.append(glyph, style=f"{style} bold" if Difference.STATUS in changed else style)
    if side.last is None:
        text.append(
            f" {one_line(side.status)}", style="bold" if Difference.STATUS in changed else ""
        )
        return text
    took = duration(side.took(now))
    text.append(f" {took}{'…' if not side.attempt_final else ''}")
    if side.exit_code is not None:
        text.append(f"  exit {side.exit_code}", style=CHANGED if Difference.EXIT in changed else "")
    if side.attempts > 1 or Difference.ATTEMPTS in changed:
        text.append(
            f" ×{side.attempts}", style=CHANGED if Difference.ATTEMPTS in changed else "yellow"
        )
    return text


def quoted(line: OutputLine | None, width: int) -> Text:
    """An output line in quotes, cut to `width` cells (stderr marked `!`); `(ended)` when that
    output had no more lines."""
    if line is None:
        return fit(Text("(ended)", style="dim"), min(width, 7))
    mark = "!" if line.stream == "stderr" else ""
    body = Text(f'{mark}"{one_line(line.text)}', end="")
    if body.cell_len + 1 > width:
        body.truncate(max(1, width - 1), overflow="ellipsis")
    body.append('"')
    return body


def output_text(row: DiffRow, state: OutputState, width: int) -> Text:
    """The output column: where the two outputs first differ, or why there is nothing to say."""
    text = Text(no_wrap=True, end="")
    if row.output_key is None:
        text.append("● compared once it ends" if row.running else "—", style="dim")
        return fit(text, width)
    if state is None:
        return fit(Text(NOT_ASKED, style="dim"), width)
    if isinstance(state, OutputFailed):
        return fit(Text("? not read: " + one_line(state.message), style="yellow"), width)
    if state.verdict is OutputVerdict.SAME:
        lines = f"{state.index:,} line{'s' if state.index != 1 else ''}" if state.index else "none"
        return fit(Text(f"same output ({lines})", style="dim"), width)
    if state.verdict is OutputVerdict.SAME_SO_FAR:
        return fit(Text(f"same in the first {state.index:,} lines", style="dim"), width)
    where = f"L{state.index + 1}: "
    text.append(where, style="bold")
    left, right = share(
        max(8, width - len(where) - 3),
        quoted(state.left, width).cell_len,
        quoted(state.right, width).cell_len,
    )
    text.append_text(quoted(state.left, left))
    text.append(" ⇄ ", style="bold")
    text.append_text(quoted(state.right, right))
    return fit(text, width)


def share(room: int, left: int, right: int) -> tuple[int, int]:
    """Cells for two quoted lines that need `left` and `right`: each what it needs when both
    fit, else the shorter keeps its own (up to half) and the longer takes the rest."""
    if left + right <= room:
        return left, right
    half = room // 2
    if left <= half:
        return left, room - left
    if right <= half:
        return room - right, right
    return half, room - half


def row_differs(row: DiffRow, state: OutputState) -> bool:
    return row.differs or (isinstance(state, OutputDiff) and state.verdict is OutputVerdict.DIFFERS)


def row_text(row: DiffRow, state: OutputState, cols: Columns, now: float) -> Text:
    """A task's line: mark, id, left, right, output."""
    line = Text(no_wrap=True, end="")
    if row_differs(row, state):
        line.append("≠ ", style="bold yellow")
    else:
        line.append("  ")
    line.append_text(fit(Text(one_line(row.task_id)), cols.task))
    line.append(" ")
    line.append_text(fit(side_text(row.left, row, now), cols.side))
    line.append(" ")
    line.append_text(fit(side_text(row.right, row, now), cols.side))
    line.append(" ")
    line.append_text(output_text(row, state, cols.output))
    return line


def header_text(cols: Columns, left: Text, right: Text) -> Text:
    """The column titles: `task  ◀ ✓ …ed0001  ▶ ✓ …ed0005  first differing output line`."""
    line = Text(no_wrap=True, end="", style="bold")
    line.append(" " * MARK)
    line.append_text(fit(Text("task"), cols.task))
    for arrow, heading in (("◀ ", left), ("▶ ", right)):
        line.append(" ")
        line.append_text(fit(Text(arrow, end="") + heading, cols.side))
    line.append(" ")
    line.append_text(fit(Text(OUTPUT_TITLE), cols.output))
    return line


# --- the cursor's row in full ---------------------------------------------------------------------


def _side_words(side: TaskSide | None, row: DiffRow, now: float) -> Text:
    text = Text(end="")
    if side is None:
        text.append("not in this run", style="dim")
    elif side.carried:
        text.append("↳ carried over from its parent run: not run again", style="cyan")
    elif side.last is None:
        text.append(f"{one_line(side.status)}, no attempt")
    else:
        a = side.last
        text.append_text(side_text(side, row, now))
        text.append(f"  · attempt {a.attempt} {one_line(a.status)}", style="dim")
    return text


def detail_lines(row: DiffRow, state: OutputState, now: float) -> list[Text]:
    """Three lines for the row under the cursor: what differs, then each side (its line of
    output where they part, or what the side is)."""
    first = Text(no_wrap=True, end="")
    first.append(one_line(row.task_id), style="bold")
    first.append(f"  wave {row.wave}  ", style="dim")
    said = [d.value for d in row.differences]
    if isinstance(state, OutputDiff) and state.verdict is OutputVerdict.DIFFERS:
        said.append(f"output from line {state.index + 1}")
    if said:
        first.append("≠ differs: " + ", ".join(said), style="bold yellow")
    elif row.same_by_carry:
        first.append("= the same result: carried over from the other run", style="green")
    else:
        first.append("= no difference found", style="green")
        if row.output_key is None:
            first.append(" (no output compared)", style="dim")
    lines = [first]
    parted = isinstance(state, OutputDiff) and state.verdict is OutputVerdict.DIFFERS
    for arrow, side, line in (
        ("◀ ", row.left, state.left if isinstance(state, OutputDiff) else None),
        ("▶ ", row.right, state.right if isinstance(state, OutputDiff) else None),
    ):
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(arrow, style="bold")
        if parted:
            assert isinstance(state, OutputDiff)
            text.append(f"L{state.index + 1}  ", style="bold")
            if line is None:
                text.append("(its output had ended)", style="dim")
            else:
                if line.stream == "stderr":
                    text.append("! ", style="red")
                text.append(one_line(line.text))
        else:
            text.append_text(_side_words(side, row, now))
        lines.append(text)
    return lines


# --- runs, violations, approvals ----------------------------------------------------------------


def run_heading(run: RunRow, id_length: int) -> Text:
    """`✓ …ed0001`: a run as a column of the table is titled (its status, its short id)."""
    text = Text(no_wrap=True, end="")
    text.append(run_glyph(run.status), style=RUN_STYLE[run.status])
    text.append(f" {short_id(one_line(run.run_id), id_length)}", style="bold")
    return text


def fork_how(run: RunRow) -> str:
    return f"rewind@{run.rewound_from_wave}" if run.rewound_from_wave is not None else "retry"


def workflows(left: RunRow, right: RunRow) -> str:
    """What ran: the workflow once when both ran the same one."""
    if left.workflow == right.workflow:
        return one_line(left.workflow)
    return f"{one_line(left.workflow)} ⇄ {one_line(right.workflow)}"


def relation(left: RunRow, right: RunRow) -> str:
    """How the two runs are related: `▶ forked from ◀ (rewind@3)`; "" when neither is the
    other's fork."""
    if right.parent_run_id == left.run_id:
        return f"▶ forked from ◀ ({fork_how(right)})"
    if left.parent_run_id == right.run_id:
        return f"◀ forked from ▶ ({fork_how(left)})"
    return ""


def violation_line(v: ViolationRow) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    style = SEVERITY_STYLE[v.severity]
    text.append(f"▲ {v.severity.value} ", style=style)
    text.append(v.violation_type.value, style="bold")
    if v.task_id is not None:
        at = f"#{v.attempt}" if v.attempt is not None else ""
        text.append(f" {one_line(v.task_id)}{at}")
    text.append(f' "{one_line(v.policy_name)}"', style="dim")
    return text


DECISION_GLYPH = {
    ApprovalDecision.APPROVE: ("✓", "green"),
    ApprovalDecision.REJECT: ("✗", "red"),
}


def approval_line(a: ApprovalRow) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    if a.decision is None:
        text.append("⏸ pending", style="yellow")
    else:
        glyph, style = DECISION_GLYPH.get(a.decision, ("·", ""))
        text.append(f"{glyph} {a.decision.value}", style=style)
    text.append(f" {one_line(a.task_id) if a.task_id else a.kind.value + ' gate'}")
    if a.decided_by:
        text.append(f" by {one_line(a.decided_by)}", style="dim")
    if a.reason:
        text.append(f': "{one_line(a.reason)}"', style="dim")
    return text


def listed(lines: Sequence[Text], most: int) -> Text:
    """Lines under one another; "none" when there are none, "+N more" past `most`."""
    if not lines:
        return Text("none", style="dim", end="")
    shown = list(lines[:most])
    if len(lines) > most:
        shown.append(Text(f"+{len(lines) - most} more", style="dim"))
    return Text("\n", end="").join(shown)


def side_by_side(left: Text, right: Text, rows: dict[str, list[Text]]) -> Table:
    """Named rows of two cells (left run, right run) under the runs' headings: what the diff
    shows under its table (violations, approvals)."""
    table = Table(box=None, show_header=True, expand=True, pad_edge=False, padding=(0, 1))
    table.add_column("", style="bold", no_wrap=True, width=10)
    table.add_column(Text("◀ ") + left, ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column(Text("▶ ") + right, ratio=1, no_wrap=True, overflow="ellipsis")
    for name, (on_left, on_right) in rows.items():
        table.add_row(name, on_left, on_right)
    return table
