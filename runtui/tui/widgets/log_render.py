"""How the event log draws one line, a wrapped piece of one, and its titles.

Plain functions of what the log holds, so that `EventLog` keeps to what is loaded and where it
scrolls. A line's text is terminal-safe already (`event_lines`); it goes into a `Text`, never
markup. A search marks its words (any case) in every line and the event it went to as a whole.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from runtui.tui.safe_text import markup, sgr_style
from runtui.tui.widgets.event_lines import KIND_STYLE, KIND_WIDTH, LogLine, stamp

MATCH_STYLE = "black on yellow"
CURRENT_STYLE = "on grey27"


def prefix_width(seq_width: int) -> int:
    """Cells before an event's text: the time, seq and kind columns."""
    return 12 + seq_width + 1 + KIND_WIDTH + 1


def line_text(
    line: LogLine,
    *,
    origin: float,
    relative: bool,
    seq_width: int,
) -> Text:
    text = Text(no_wrap=True, end="")
    if line.first:
        text.append(f"{stamp(line.ts, origin, relative):<12}", style="dim")
        text.append(f"{'#' + str(line.seq):<{seq_width}} ", style="dim")
        text.append(f"{line.kind:<{KIND_WIDTH}} ", style=KIND_STYLE.get(line.kind, ""))
    else:
        text.append(" " * prefix_width(seq_width))
    start = len(text)
    text.append(line.text, style="yellow" if line.stderr else "")  # stderr: yellow, `|!`
    for begin, end, sgr in line.spans:  # the task's own colours, over that
        text.stylize(sgr_style(sgr), start + begin, start + end)
    return text


def mark(text: Text, line: LogLine, current: int | None, needle: str) -> None:
    """Over everything else: the lines of the event a search went to, and every place `text`
    shows `needle` (lower case), whatever its case there."""
    if line.seq == current:
        text.stylize(CURRENT_STYLE)
    if not needle:
        return
    plain = text.plain
    lowered = plain.lower()
    if len(lowered) != len(plain):  # a case change moved characters: mark nothing
        return
    at = lowered.find(needle)
    while at >= 0:
        text.stylize(MATCH_STYLE, at, at + len(needle))
        at = lowered.find(needle, at + len(needle))


def wrapped_part(strip: Strip, part: int, prefix: int, room: int, style: Style) -> Strip:
    """Row `part` of a wrapped line: its columns and the first piece of its text, or blank
    columns and a later piece."""
    if part == 0:
        return strip.crop(0, prefix + room)
    piece = strip.crop(prefix + part * room, prefix + (part + 1) * room)
    return Strip.join([Strip.blank(prefix, style), piece])


def log_title(
    *, follow: bool, search: str, task: str | None, noise_hidden: bool, wrap: bool, total: int
) -> str:
    """The log's border title (markup: the task id is escaped)."""
    parts = ["Events  " + ("● follow" if follow else "○ paused (f: follow)")]
    if search:
        parts.append(search)
    if task is not None:
        parts.append(f"task {markup(task)} only")
    if noise_hidden:
        parts.append("noise hidden")
    if wrap:
        parts.append("wrap")
    return "  ·  ".join([*parts, f"{total:,} events"])


def log_subtitle(*, detached: bool, first: int, last: int, empty: bool) -> str:
    if detached:
        return f"#{first:,}–#{last:,} · [ older · ] newer · end: newest"
    if first > 1:
        return f"from #{first:,} · [ loads older"
    return "" if empty else "from the first event"
