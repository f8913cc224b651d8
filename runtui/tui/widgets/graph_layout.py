"""Where a run's task graph goes: one line per task, by wave, its `needs` drawn as lanes.

    0 ╭─────────✓ checkout
      │ ╭───────✓ inventory
    1 ├─│─┬─────✓ contributors
      ├─│─│─┬───✓ lint
      ╰─│─│─│─┬─✓ unit-tests
    2 ╭─┴─┴─┴─┴─✓ report
    3 ╰─┬───────⏸ publish-gate

Tasks come in wave order (within a wave, near the tasks they need). A task that others need
opens a lane where its line meets the lanes (`╭`, or `┬` right of others), and the lane runs
down to the last task that needs it. On a task's line, each lane it needs turns in (`├` the
lane goes on, `╰` it ends there; `┼` and `┴` right of another); a lane that only passes
behind the line shows as `│`. So every mark on a task's line is about that task.

Where that is wider than the screen allows (many lanes open at once: wide waves that need
each other), the graph is an indented tree instead: each task under the need that set its
wave, its other needs named after it, `(also needs: x, y)`.

Pure functions (no Textual): a line is (text, style) segments, as `timeline_layout`'s are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

from rich.cells import cell_len

from runtui.domain.terminal_text import terminal_safe
from runtui.domain.views import TaskRow
from runtui.tui.glyphs import TASK_GLYPH

Segment = tuple[str, str]  # text, style

LANE_STYLE = "blue"
CURSOR_STYLE = "reverse"
TREE_INDENT = 3  # columns per level of the tree
MIN_LANE_COLS = 8

#: The mark where lanes meet a task's line: (goes up, goes down, comes from the left).
_JOINT = {
    (True, True, False): "├",
    (True, True, True): "┼",
    (True, False, False): "╰",
    (True, False, True): "┴",
    (False, True, False): "╭",
    (False, True, True): "┬",
}


class GraphMode(StrEnum):
    LANES = "lanes"
    TREE = "tree"


@dataclass(frozen=True, slots=True)
class GraphRow:
    """One task's line: which task (its index in the tasks given), what precedes its glyph
    (lanes or tree guides), its wave number if shown, and in a tree the needs not drawn."""

    task: int
    prefix: str
    wave: str
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GraphLayout:
    mode: GraphMode
    rows: list[GraphRow]
    wave_width: int  # columns of the wave number gutter

    def row_of(self, tasks: list[TaskRow], task_id: str | None) -> int | None:
        return next((n for n, r in enumerate(self.rows) if tasks[r.task].task_id == task_id), None)

    def first_choice(self, tasks: list[TaskRow]) -> int:
        """Where a cursor starts: the first failed task, else the first running, else the
        first waiting for a human, else the first (in drawing order)."""
        for status in ("failed", "running", "awaiting_approval"):
            for n, row in enumerate(self.rows):
                if tasks[row.task].status == status:
                    return n
        return 0


def lane_budget(width: int) -> int:
    """How many columns of lanes a screen `width` wide can spare beside the task ids."""
    return max(MIN_LANE_COLS, (width - 24) // 2)


def layout(tasks: list[TaskRow], width: int) -> GraphLayout:
    """The graph for a view `width` columns wide: lanes if they fit, else a tree."""
    order = by_wave(tasks)
    wave_width = len(str(max((t.wave for t in tasks), default=0)))
    rows = lanes(tasks, order, lane_budget(width) // 2)
    if rows is not None:
        return GraphLayout(GraphMode.LANES, rows, wave_width)
    return GraphLayout(
        GraphMode.TREE, tree(tasks, order, max(2, width // 2 // TREE_INDENT)), wave_width
    )


def by_wave(tasks: list[TaskRow]) -> list[int]:
    """The tasks' indices in drawing order: by wave, and within a wave after the earliest drawn
    task they need (so siblings sit together, under their need), else as given."""
    placed: dict[str, int] = {}
    order: list[int] = []
    ranked = sorted(range(len(tasks)), key=lambda i: tasks[i].wave)
    for _, group in groupby(ranked, key=lambda i: tasks[i].wave):
        members = sorted(
            group,
            key=lambda i: (min((placed[d] for d in tasks[i].needs if d in placed), default=-1), i),
        )
        for i in members:
            placed[tasks[i].task_id] = len(order)
            order.append(i)
    return order


def _needs(tasks: list[TaskRow], order: list[int]) -> list[list[str]]:
    """Each row's needs that are drawn above it (unknown ids and repeats left out)."""
    row_of = {tasks[i].task_id: r for r, i in enumerate(order)}
    return [
        [d for d in dict.fromkeys(tasks[i].needs) if row_of.get(d, r) < r]
        for r, i in enumerate(order)
    ]


def _wave_labels(tasks: list[TaskRow], order: list[int], every: bool) -> list[str]:
    labels: list[str] = []
    previous = None
    for i in order:
        wave = tasks[i].wave
        labels.append(str(wave) if every or wave != previous else "")
        previous = wave
    return labels


def lanes(tasks: list[TaskRow], order: list[int], max_lanes: int) -> list[GraphRow] | None:
    """The lanes drawing, or None where it needs more than `max_lanes` lanes at once."""
    needs = _needs(tasks, order)
    last_use: dict[str, int] = {}
    for r, ds in enumerate(needs):
        for d in ds:
            last_use[d] = r
    slots: list[str | None] = []  # the task whose lane runs in each slot
    slot_of: dict[str, int] = {}
    cells: list[list[str]] = []
    joined: list[bool] = []
    for r, i in enumerate(order):
        task_id = tasks[i].task_id
        into = sorted(slot_of[d] for d in needs[r])
        ending = {s for s in into if last_use[slots[s] or ""] == r}
        out = None
        if task_id in last_use:  # others need it: a lane of its own, in the first free slot
            out = next((s for s, held in enumerate(slots) if held is None), len(slots))
            if out == len(slots):
                if len(slots) >= max_lanes:
                    return None
                slots.append(None)
        start = min([*into, out] if out is not None else into, default=None)
        row: list[str] = []
        for s, held in enumerate(slots):
            inside = start is not None and s >= start
            if s in into:
                mark = _JOINT[(True, s not in ending, s > (start or 0))]
            elif s == out:
                mark = _JOINT[(False, True, s > (start or 0))]
            elif held is not None:
                mark = "│"
            else:
                mark = "─" if inside else " "
            row += [mark, "─" if inside else " "]
        cells.append(row)
        joined.append(start is not None)
        for s in ending:
            slot_of.pop(slots[s] or "", None)
            slots[s] = None
        if out is not None:
            slots[out] = task_id
            slot_of[task_id] = out
    width = 2 * max((len(c) // 2 for c in cells), default=0)
    waves = _wave_labels(tasks, order, every=False)
    return [
        GraphRow(i, "".join(c).ljust(width, "─" if j else " "), w)
        for i, c, j, w in zip(order, cells, joined, waves, strict=True)
    ]


def tree(tasks: list[TaskRow], order: list[int], max_depth: int) -> list[GraphRow]:
    """The indented tree: each task under the need that set its wave (the latest-wave one,
    the first such as listed), roots in drawing order; `max_depth` levels of guides at most
    (deeper lines start with `…`)."""
    needs = _needs(tasks, order)
    index = {tasks[i].task_id: r for r, i in enumerate(order)}
    parent: list[int | None] = []
    also: list[tuple[str, ...]] = []
    for ds in needs:
        if not ds:
            parent.append(None)
            also.append(())
            continue
        top = max(tasks[order[index[d]]].wave for d in ds)
        first = next(d for d in ds if tasks[order[index[d]]].wave == top)
        parent.append(index[first])
        also.append(tuple(d for d in ds if d != first))
    children: list[list[int]] = [[] for _ in order]
    roots: list[int] = []
    for r, p in enumerate(parent):
        (roots if p is None else children[p]).append(r)
    waves = _wave_labels(tasks, order, every=True)
    rows: list[GraphRow] = []
    # depth-first without recursion (a chain can be thousands deep): (row, guides above it)
    stack: list[tuple[int, tuple[str, ...]]] = [(r, ()) for r in reversed(roots)]
    while stack:
        r, guides = stack.pop()
        shown = guides if len(guides) <= max_depth else ("…  ", *guides[-(max_depth - 1) :])
        rows.append(GraphRow(order[r], "".join(shown), waves[r], also[r]))
        kids = children[r]
        above = tuple(g.replace("├─ ", "│  ").replace("╰─ ", "   ") for g in guides)
        for n, kid in reversed(list(enumerate(kids))):
            stack.append((kid, (*above, "╰─ " if n == len(kids) - 1 else "├─ ")))
    return rows


# --- drawing ---------------------------------------------------------------------------------


def draw_row(row: GraphRow, task: TaskRow, wave_width: int, *, selected: bool) -> list[Segment]:
    """A task's line: wave, lanes or guides, glyph and id (reversed under the cursor), then
    what else to know: attempts, an allowed failure, the needs a tree does not draw."""
    glyph, style = TASK_GLYPH.get(task.status, ("?", ""))
    label = terminal_safe(task.task_id, one_line=True)
    cursor = f" {CURSOR_STYLE}" if selected else ""
    out: list[Segment] = [
        (f"{row.wave:>{wave_width}} ", "bold"),
        (row.prefix, LANE_STYLE),
        (glyph, style + cursor),
        (f" {label}", cursor.strip()),
    ]
    if task.attempts > 1:
        out.append((f" ×{task.attempts}", "yellow"))
    if task.status == "failed" and task.allow_failure:
        out.append((" (allowed)", "dim"))
    if row.also:
        names = ", ".join(terminal_safe(d, one_line=True) for d in row.also)
        out.append((f"  (also needs: {names})", "dim"))
    return out


def row_width(segments: list[Segment]) -> int:
    return sum(cell_len(text) for text, _ in segments)


def plain(segments: list[Segment]) -> str:
    return "".join(text for text, _ in segments)


__all__ = [
    "GraphLayout",
    "GraphMode",
    "GraphRow",
    "by_wave",
    "draw_row",
    "lane_budget",
    "lanes",
    "layout",
    "plain",
    "row_width",
    "tree",
]
