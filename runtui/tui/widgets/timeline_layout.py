"""Where a timeline's bars go: time → columns, the cells of each bar, the axis and its ticks.

    EXECUTING            █████████████████████████████████████████▌…   running 1m12s
    w0 fetch             ████▏                                                 3.8s
    w1 flaky             ██✗ ███✗                                        failed 9.1s ×2
    w3 publish-gate                                 ⏸╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌…    waiting 11s

A line is a label, the bar area and a note (right-aligned). The bar area maps the run's time
from its creation (column 0) to its end or now onto all its columns but the last, which is
kept for the mark that ends a bar there. Every mark reads without colour: `▏` a closed end,
`✗` failed, `⊘` cancelled or cut short, `▌…` still running (an open edge), `⏸╌╌` a wait for
an approval (`…` while it waits). A bar that would start on or before the end of the previous
one (a quick retry after a failure) goes on a line of its own under it, `↳ #n`, so no attempt
hides another.

Pure functions over `timeline_lanes` (Rich only for cell widths): a line is a list of
(text, style) segments, which the view turns into a strip and a test reads as plain text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from runtui.tui.glyphs import duration
from runtui.tui.widgets.timeline_lanes import CARRIED, Bar, BarKind, Lane, LaneKind

Segment = tuple[str, str]  # text, style

FILL, WAIT_HEAD, WAIT_FILL = "█", "⏸", "╌"
RUNNING_EDGE, OPEN = "▌", "…"
END_MARK = {
    BarKind.DONE: "▏",
    BarKind.WAITED: "▏",
    BarKind.FAILED: "✗",
    BarKind.CANCELLED: "⊘",
    BarKind.RUNNING: OPEN,
    BarKind.WAITING: OPEN,
}
#: Marks a later bar may not draw over: it starts a line of its own instead.
HARD_MARKS = frozenset({BarKind.FAILED, BarKind.CANCELLED})
STYLE = {
    BarKind.DONE: "green",
    BarKind.WAITED: "yellow",
    BarKind.FAILED: "bold red",
    BarKind.CANCELLED: "dim",
    BarKind.RUNNING: "cyan",
    BarKind.WAITING: "bold yellow",
}
PHASE_STYLE = {BarKind.DONE: "blue"}

#: Tick steps (seconds), the first that leaves `TICK_GAP` columns between ticks is used.
TICK_STEPS: tuple[float, ...] = (
    *(0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30),
    *(60, 120, 300, 600, 900, 1800),
    *(3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400),
)
TICK_GAP = 12
MIN_BARS = 12  # columns of bar area kept however narrow the screen
LABEL_MIN, LABEL_MAX = 10, 32
NOTE_MIN, NOTE_MAX = 6, 18


@dataclass(frozen=True, slots=True)
class Axis:
    """Time from `t0` to `t1` over columns 0..cols-1 (column `cols` holds end marks only)."""

    t0: float
    t1: float
    cols: int

    @property
    def span(self) -> float:
        return max(self.t1 - self.t0, 1e-6)

    def col(self, t: float) -> int:
        """The column holding instant `t`."""
        return min(self.cols - 1, max(0, math.floor((t - self.t0) / self.span * self.cols)))

    def last_col(self, start: float, end: float) -> int:
        """The last column of a bar from `start` to `end`: at least its first one."""
        last = math.ceil((end - self.t0) / self.span * self.cols - 1e-9) - 1
        return min(self.cols - 1, max(self.col(start), last))


@dataclass(frozen=True, slots=True)
class Geometry:
    """How a width is shared: the label, the bar area (its end-mark column included), the
    note."""

    width: int
    label: int
    note: int

    @property
    def bars(self) -> int:
        return max(MIN_BARS, self.width - self.label - self.note)

    def axis(self, t0: float, t1: float) -> Axis:
        return Axis(t0, t1, self.bars - 1)


@dataclass(frozen=True, slots=True)
class Placed:
    bar: Bar
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Line:
    """One screen line of a lane: its first line, or one more for bars that overlap."""

    lane: Lane
    bars: tuple[Placed, ...]
    first: bool = True


# --- placing -------------------------------------------------------------------------------------


def place(lane: Lane, axis: Axis, now: float) -> list[Line]:
    """The lane's bars on columns, on as many lines as it takes for none to hide another."""
    lines: list[list[Placed]] = [[]]
    for bar in lane.bars:
        p = Placed(bar, axis.col(bar.start), axis.last_col(bar.start, bar.until(now)))
        current = lines[-1]
        if current:
            prev = current[-1]
            reach = prev.last + (1 if prev.bar.kind in HARD_MARKS else 0)
            if p.first <= reach:
                lines.append(current := [])
        current.append(p)
    return [Line(lane, tuple(bars), first=i == 0) for i, bars in enumerate(lines)]


# --- drawing -------------------------------------------------------------------------------------


def bar_cells(line: Line, axis: Axis) -> list[Segment]:
    """The bar area of `line`: `axis.cols + 1` cells, as runs of one style."""
    glyphs = [" "] * (axis.cols + 1)
    styles = [""] * (axis.cols + 1)
    phase = line.lane.kind is LaneKind.PHASE
    for p in line.bars:
        bar = p.bar
        style = (PHASE_STYLE.get(bar.kind) if phase else None) or STYLE[bar.kind]
        for c in range(p.first, p.last + 1):
            glyphs[c] = WAIT_FILL if bar.wait else FILL
            styles[c] = style
        if bar.wait:
            glyphs[p.first] = WAIT_HEAD
        if bar.kind is BarKind.RUNNING:
            glyphs[p.last] = RUNNING_EDGE
        glyphs[p.last + 1] = END_MARK[bar.kind]
        styles[p.last + 1] = style
    out: list[Segment] = []
    for glyph, style in zip(glyphs, styles, strict=True):
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + glyph, style)
        else:
            out.append((glyph, style))
    return out


def tick_step(span: float, cols: int) -> float:
    for step in TICK_STEPS:
        if step / max(span, 1e-6) * cols >= TICK_GAP:
            return step
    return TICK_STEPS[-1]


def tick_label(seconds: float, step: float) -> str:
    if seconds == 0:
        return "0s"
    if step < 1:
        return f"{seconds:.1f}s"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        minutes, secs = divmod(s, 60)
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    if s < 86400:
        hours, rest = divmod(s, 3600)
        return f"{hours}h{rest // 60:02d}m" if rest // 60 else f"{hours}h"
    days, rest = divmod(s, 86400)
    return f"{days}d{rest // 3600}h" if rest // 3600 else f"{days}d"


def ticks(axis: Axis) -> list[tuple[int, str]]:
    """(column, label) of each tick that fits, from 0 on, a space clear around each label."""
    step = tick_step(axis.span, axis.cols)
    out: list[tuple[int, str]] = []
    free_from = 0
    n = 0
    while (at := n * step) <= axis.span + 1e-9:
        n += 1
        col = axis.col(axis.t0 + at)
        label = tick_label(at, step)
        if col < free_from or col + len(label) > axis.cols + 1:
            continue
        out.append((col, label))
        free_from = col + len(label) + 2
    return out


def axis_cells(axis: Axis) -> str:
    """The bar area of the axis line: `0s ──── 30s ──── 1m ──`."""
    cells = ["─"] * (axis.cols + 1)
    for col, label in ticks(axis):
        if col > 0:
            cells[col - 1] = " "
        cells[col : col + len(label)] = label
        if col + len(label) <= axis.cols:
            cells[col + len(label)] = " "
    return "".join(cells)


# --- labels and notes ----------------------------------------------------------------------------


def label_of(line: Line, wave_width: int) -> tuple[str, str]:
    """The label of a line and its style (before truncation)."""
    lane = line.lane
    if not line.first:
        attempt = next((p.bar.attempt for p in line.bars if p.bar.attempt is not None), None)
        more = f" #{attempt}" if attempt is not None else ""
        return f"{'':{wave_width + 2}}↳{more}", "dim"
    if lane.kind is LaneKind.TASK:
        return f"w{lane.wave:<{wave_width}} {lane.label}", ""
    if lane.kind is LaneKind.GATE:
        return f"{WAIT_HEAD} {lane.label}", "yellow"
    return lane.label, "bold"


def note_of(lane: Lane, now: float) -> tuple[str, str]:
    """What the right column says of a lane: how long it took, or what it is doing."""
    took = lane.took(now)
    last = lane.bars[-1] if lane.bars else None
    times = f" ×{lane.attempts}" if lane.attempts > 1 else ""
    if last is None or took is None:
        status = lane.status or "not started"
        return status.replace("_", " "), "dim" if status != CARRIED else "green"
    spent = duration(took)
    if last.kind is BarKind.RUNNING:
        return f"running {spent}{times}", STYLE[BarKind.RUNNING]
    if last.kind is BarKind.WAITING:
        return f"waiting {spent}", STYLE[BarKind.WAITING]
    if last.wait:  # a decided wait is the last thing on the lane: a gate, or work to come
        word = {BarKind.WAITED: "approved", BarKind.FAILED: "rejected"}.get(last.kind, "unanswered")
        return f"{word} {spent}", STYLE[last.kind]
    if last.kind is BarKind.FAILED:
        return f"failed {spent}{times}", "red"
    if last.kind is BarKind.CANCELLED:
        return f"cut short {spent}{times}", "dim"
    return f"{spent}{times}", ""


def fit(width: int, lanes: list[Lane], now: float, wave_width: int) -> Geometry:
    """Share `width` out: labels as long as the longest (within 2/7 of the width: 22 columns
    at 80), notes as long as the longest, the rest for bars."""
    longest = max((cell_len(label_of(Line(lane, ()), wave_width)[0]) for lane in lanes), default=0)
    label = min(max(LABEL_MIN, longest + 1), max(LABEL_MIN, min(LABEL_MAX, width * 2 // 7)))
    note_len = max((len(note_of(lane, now)[0]) for lane in lanes), default=0)
    note = min(max(NOTE_MIN, note_len), NOTE_MAX) + 1
    return Geometry(width, label, note)


def draw_line(
    line: Line, geometry: Geometry, axis: Axis, now: float, wave_width: int
) -> list[Segment]:
    """A whole line: the label (cut with `…` to fit), the bar area, the note (right-aligned)."""
    label, label_style = label_of(line, wave_width)
    if cell_len(label) > geometry.label - 1:
        label = set_cell_size(label, geometry.label - 2) + "…"
    segments: list[Segment] = [(set_cell_size(label, geometry.label), label_style)]
    segments += bar_cells(line, axis)
    note, note_style = note_of(line.lane, now) if line.first else ("", "")
    room = geometry.note - 1
    if len(note) > room:
        note = note[: max(0, room - 1)] + "…"
    segments.append((" " + note.rjust(room), note_style))
    return segments


def draw_axis(geometry: Geometry, axis: Axis, title: str) -> list[Segment]:
    """The axis line: a title in the label column, the ticks, the total in the note column."""
    label = title if cell_len(title) < geometry.label else set_cell_size(title, geometry.label - 1)
    total = duration(axis.span)
    return [
        (set_cell_size(label, geometry.label), "dim"),
        (axis_cells(axis), "dim"),
        (" " + total.rjust(geometry.note - 1), "bold"),
    ]


def plain(segments: list[Segment]) -> str:
    return "".join(text for text, _ in segments)
