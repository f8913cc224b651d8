"""A row table that moves as operators' other terminal tools do (less, vim, k9s, htop):
`j`/`k` down and up, `g`/`G` first and last row, `ctrl+d`/`ctrl+u` half a page. Every list
of the UI is one, so the keys mean the same everywhere."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable


class ListTable(DataTable[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False),
    ]

    def action_half_page(self, direction: int) -> None:
        if not self.row_count:
            return
        header = self.header_height if self.show_header else 0
        step = max(1, (self.scrollable_content_region.height - header) // 2)
        row, column = self.cursor_coordinate
        target = min(self.row_count - 1, max(0, row + direction * step))
        self.cursor_coordinate = Coordinate(target, column)
