"""Strings from workflows and tasks as the terminal UI shows them: never obeyed, never markup.

Names, prompts, reasons, errors and task output reach the screen through these helpers
(`runtui.domain.terminal_text` says what is removed and what is shown instead). Rich and
Textual strip only a few controls (BEL, BS, VT, FF, CR): an ESC would reach the terminal. And a
`str` given to a `Static`, a `DataTable` cell, a border title or a toast is read as content
markup, where `[link=...]` even makes a hyperlink: so untrusted text goes in as `Text`, or
escaped where only markup is taken.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.markup import escape

from runtui.domain.terminal_text import Color as SgrColor
from runtui.domain.terminal_text import Sgr, safe_fields, terminal_safe

__all__ = ["markup", "one_line", "plain", "safe_fields", "sgr_style"]


def one_line(text: str) -> str:
    """A name, a prompt, a reason: terminal-safe, on one line (newlines shown as `↵`)."""
    return terminal_safe(text, one_line=True)


def plain(text: str, style: str = "") -> Text:
    """`one_line(text)` as a `Text`: shown as it reads, whatever brackets it holds."""
    return Text(one_line(text), style=style, end="")


def markup(text: str) -> str:
    """`one_line(text)` escaped, for the places that only take markup (border titles)."""
    return escape(one_line(text))


@lru_cache(maxsize=256)
def sgr_style(sgr: Sgr) -> Style:
    """The Rich style of a run of task output coloured with SGR (`terminal_styled`)."""
    return Style(
        color=_color(sgr.fg),
        bgcolor=_color(sgr.bg),
        bold=sgr.bold or None,
        dim=sgr.dim or None,
        italic=sgr.italic or None,
        underline=sgr.underline or None,
        reverse=sgr.reverse or None,
        strike=sgr.strike or None,
    )


def _color(color: SgrColor | None) -> Color | None:
    if color is None:
        return None
    if isinstance(color, int):
        return Color.from_ansi(color)
    return Color.from_rgb(*color)
