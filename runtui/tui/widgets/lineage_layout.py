"""A run's lineage as a tree: its root ancestor, then every fork below it (rewinds, retries),
each under the run it was forked from, oldest first.

    ✓ …5eed0001  demo  succeeded
    ├─ ✗ …5eed0005  demo  failed  rewind@3  ◀ this run
    │  ╰─ ● …5eed0009  demo  running  rewind@1
    ╰─ ✓ …5eed000a  demo  succeeded  rewind@2

Pure functions (no Textual): rows are (text, style) segments, as in `graph_layout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runtui.domain.terminal_text import terminal_safe
from runtui.domain.views import RunRow
from runtui.tui.glyphs import RUN_STYLE, run_glyph, short_id
from runtui.tui.widgets.graph_layout import CURSOR_STYLE, LANE_STYLE, Segment

THIS_RUN = "◀ this run"


@dataclass(frozen=True, slots=True)
class LineageRow:
    run_id: str
    prefix: str  # tree guides


def lineage_rows(
    root: str, runs: Mapping[str, RunRow], forks: Mapping[str, list[str]]
) -> list[LineageRow]:
    """`root` and its forks (`forks`: a run's id → its forks' ids), depth first, each run's
    forks oldest first; a run met twice (it cannot be, but data can lie) is drawn once."""
    rows: list[LineageRow] = []
    seen: set[str] = set()
    stack: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    while stack:
        run_id, guides = stack.pop()
        if run_id in seen or run_id not in runs:
            continue
        seen.add(run_id)
        rows.append(LineageRow(run_id, "".join(guides)))
        kids = sorted(
            (k for k in forks.get(run_id, []) if k in runs and k not in seen),
            key=lambda k: (runs[k].created_at, k),
        )
        above = tuple(g.replace("├─ ", "│  ").replace("╰─ ", "   ") for g in guides)
        for n, kid in reversed(list(enumerate(kids))):
            stack.append((kid, (*above, "╰─ " if n == len(kids) - 1 else "├─ ")))
    return rows


def draw_lineage_row(
    row: LineageRow, run: RunRow, id_length: int, *, current: bool, selected: bool
) -> list[Segment]:
    """A run's line: guides, status glyph, short id (reversed under the cursor), workflow,
    status, where it was forked (`rewind@wave`), and which run the screen is about."""
    style = RUN_STYLE[run.status]
    cursor = f" {CURSOR_STYLE}" if selected else ""
    out: list[Segment] = [
        (row.prefix, LANE_STYLE),
        (run_glyph(run.status), style + cursor),
        (f" {short_id(terminal_safe(run.run_id, one_line=True), id_length)}", "bold" + cursor),
        (f"  {terminal_safe(run.workflow, one_line=True)}", ""),
        (f"  {run.status.value}", style),
    ]
    if run.rewound_from_wave is not None:
        out.append((f"  rewind@{run.rewound_from_wave}", "yellow"))
    if run.retry_count:
        out.append((f"  retry {run.retry_count}", "dim"))
    if current:
        out.append((f"  {THIS_RUN}", "bold"))
    return out


__all__ = ["THIS_RUN", "LineageRow", "draw_lineage_row", "lineage_rows"]
