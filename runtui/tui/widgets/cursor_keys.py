"""The keys of a list with a cursor, the same on every list that draws its own lines (the
timeline, the graph, the lineage; `ListTable` gives tables the same keys): arrows or j/k a line,
page keys a screen, ctrl+d / ctrl+u half of one, home/end or g/G the first and last line.

A widget that takes them defines `action_move(lines)`, `action_page(screens)` (a fraction of
the lines in view; negative goes up) and `action_jump(0 | -1)`.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

CURSOR_BINDINGS: list[BindingType] = [
    Binding("up,k", "move(-1)", "Up", show=False),
    Binding("down,j", "move(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("ctrl+u", "page(-0.5)", "Half a page up", show=False),
    Binding("ctrl+d", "page(0.5)", "Half a page down", show=False),
    Binding("home,g", "jump(0)", "First", show=False),
    Binding("end,G", "jump(-1)", "Last", show=False),
]
