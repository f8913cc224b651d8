"""Untrusted text made safe for a terminal: what a workflow or a task wrote is shown, never obeyed.

Names, prompts, reasons and task output come from workflow files and from the processes a run
starts. Printed raw, such a string is also a program for the terminal: `ESC [2J` clears the
screen, OSC 0/2 retitles the window, OSC 52 writes the clipboard (paste-jacking), cursor moves
draw over other panels, bidi overrides make text read other than it is. The store keeps every
string exactly as it came; the functions here are applied where a string is displayed (the
command line, the serve log, the terminal UI).

`terminal_safe`, in one linear pass:

- removes whole escape sequences: CSI (`ESC [` or the 8-bit `0x9B`, private and intermediate
  bytes included), OSC (`ESC ]`, `0x9D`) up to BEL or ST, DCS/SOS/PM/APC (`ESC P X ^ _`,
  `0x90 0x98 0x9E 0x9F`) up to ST (or BEL), two-character and nF escapes (`ESC 7`, `ESC ( B`);
  a string sequence that never ends runs to the end of its line;
- shows every other control as a visible placeholder: a C0 control as its control picture
  (`␇` BEL, `␈` backspace, `␀` NUL, `␛` an ESC that starts no sequence), DEL as `␡`, a C1
  control (0x80-0x9F) and a lone surrogate as `�`;
- removes bidi controls (embeddings, overrides, isolates, LRM/RLM/ALM): text reads in the order
  it is stored;
- expands tabs to 8-column stops and treats `\\r` as a terminal does: what follows overwrites the
  line from column 0, so a progress bar shows its last state (`\\r\\n` is just a newline);
- with `one_line=True` (names, table cells, summaries) each line is treated so, then the lines
  are joined with `↵`.

`terminal_styled` does the same but keeps SGR colours and attributes (`ESC [ ... m`) as styled
runs, for the terminal UI to draw; every other sequence is still removed.

Columns are counted in code points (a wide character counts as one) for tabs and rewrites.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import Enum
from itertools import groupby
from typing import Any, TypeVar

import msgspec

TAB = 8
NEWLINE_MARK = "↵"
UNKNOWN = "\ufffd"
LONE_ESC = "␛"
DEL_MARK = "␡"

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# What the slow path has to look at; text with none of it (nearly all) comes back unchanged
# for the price of one scan. Single character classes: no backtracking, linear time.
_SPECIAL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_SPECIAL_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_BIDI_CHARS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# A CSI's parameter bytes, then its intermediate bytes (possessive: nothing to backtrack into).
_CSI_BODY = re.compile(r"[0-?]*+[ -/]*+")
_INTERMEDIATES = re.compile(r"[ -/]*+")
# Where an OSC/DCS/SOS/PM/APC string can end: BEL, ESC (of ST, or of a new sequence), 8-bit
# ST, or the end of its line.
_STRING_END = re.compile("[\x07\x1b\x9c\n]")
_STRING_INTRODUCERS = frozenset("P]X^_")  # after ESC
_STRING_C1 = frozenset("\x90\x98\x9d\x9e\x9f")
_MAX_SGR_DIGITS = 9  # a longer number is no colour; int() of a huge one would even refuse

Color = int | tuple[int, int, int]
"""A palette index (0-255; 0-7 the standard colours, 8-15 the bright ones) or (r, g, b)."""


@dataclass(frozen=True, slots=True)
class Sgr:
    """The SGR attributes of a run of text, as `ESC [ ... m` left them."""

    fg: Color | None = None
    bg: Color | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strike: bool = False


PLAIN = Sgr()

_ATTRIBUTES: dict[int, dict[str, bool]] = {
    1: {"bold": True},
    2: {"dim": True},
    3: {"italic": True},
    4: {"underline": True},
    7: {"reverse": True},
    9: {"strike": True},
    22: {"bold": False, "dim": False},
    23: {"italic": False},
    24: {"underline": False},
    27: {"reverse": False},
    29: {"strike": False},
}


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """`text` as a terminal would show it, with nothing in it that can drive the terminal: no
    C0 control but `\\n` (none at all with `one_line`), no DEL, no C1, no bidi control."""
    if _plain(text, _SPECIAL if one_line else _SPECIAL_BUT_NEWLINE):
        return text
    lines = _Screen(text, styled=False).lines()
    return (NEWLINE_MARK if one_line else "\n").join("".join(cells) for cells, _ in lines)


def is_one_plain_line(text: str) -> bool:
    """Whether `terminal_safe(text, one_line=True)` is `text` as it is (nothing to remove)."""
    return _plain(text, _SPECIAL)


def _plain(text: str, special: re.Pattern[str]) -> bool:
    """Whether `text` holds none of `special`. Every character of either pattern is one that
    `str.isprintable` refuses (a control, a format character, a surrogate), and that check in
    C is about twice as fast as the regex on the common line of plain text: it goes first."""
    return text.isprintable() or special.search(text) is None


def terminal_styled(text: str, *, one_line: bool = False) -> list[tuple[str, Sgr]]:
    """`terminal_safe(text)` cut into runs of one SGR style each (lines joined by `\\n`, or by
    `↵` with `one_line`); runs never hold an escape sequence."""
    if _plain(text, _SPECIAL if one_line else _SPECIAL_BUT_NEWLINE):
        return [(text, PLAIN)] if text else []
    runs: list[tuple[str, Sgr]] = []
    for i, (cells, styles) in enumerate(_Screen(text, styled=True).lines()):
        if i:
            runs.append((NEWLINE_MARK if one_line else "\n", PLAIN))
        for style, group in groupby(zip(cells, styles, strict=True), key=lambda c: c[1]):
            runs.append(("".join(ch for ch, _ in group), style))
    return runs


T = TypeVar("T")


def safe_fields(value: T) -> T:
    """A copy of a record (a msgspec Struct: an event body, a row) for display: every string in
    it, in lists, tuples, dicts and nested records too, made `terminal_safe(one_line=True)`.
    Unchanged strings, and the record itself when nothing changed, are the same objects.

    Most records hold only printable ASCII: their JSON (every string of the record is in it,
    any control character escaped with a backslash, anything else outside ASCII as its UTF-8
    bytes) then has no backslash and no byte above 0x7E, and the record is returned at once,
    without a walk through its fields in Python (~0.3 µs against ~2 µs)."""
    if isinstance(value, msgspec.Struct):
        try:
            if _NOT_PLAIN_JSON.search(_JSON.encode(value)) is None:
                return value
        except (TypeError, ValueError):  # a value JSON cannot hold (a lone surrogate): walk
            pass
    return _clean(value)  # type: ignore[no-any-return]


_JSON = msgspec.json.Encoder()
_NOT_PLAIN_JSON = re.compile(rb"[\\\x7f-\xff]")


#: Values that hold no text to clean: numbers, flags, None, and the runtime's own enums (their
#: values are written in this code, never by a workflow).
_NO_TEXT: frozenset[type] = frozenset({int, float, bool, type(None)})


def _clean(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return terminal_safe(value, one_line=True)
    if kind in _NO_TEXT or isinstance(value, Enum):
        return value
    if isinstance(value, msgspec.Struct):
        changed = {}
        for name in value.__struct_fields__:
            old = getattr(value, name)
            if type(old) in _NO_TEXT:
                continue  # most fields of a record: skipped without a call
            new = _clean(old)
            if new is not old:
                changed[name] = new
        return msgspec.structs.replace(value, **changed) if changed else value
    if isinstance(value, str):  # a str subclass that is no enum
        return terminal_safe(value, one_line=True)
    if isinstance(value, list | tuple):
        items = [_clean(v) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [(_clean(k), _clean(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


class _Screen:
    """The lines of `text` as a terminal would leave them: one cell per code point, a cursor
    that `\\r` sends back to column 0, and (when `styled`) the SGR style of each cell."""

    __slots__ = ("_cells", "_col", "_done", "_style", "_styled", "_styles", "text")

    def __init__(self, text: str, *, styled: bool) -> None:
        self.text = text
        self._styled = styled
        self._done: list[tuple[list[str], list[Sgr]]] = []
        self._cells: list[str] = []
        self._styles: list[Sgr] = []
        self._col = 0
        self._style = PLAIN

    def lines(self) -> list[tuple[list[str], list[Sgr]]]:
        text, n, i = self.text, len(self.text), 0
        while i < n:
            found = _SPECIAL.search(text, i)
            if found is None:
                self._put(text[i:])
                break
            j = found.start()
            if j > i:
                self._put(text[i:j])
            i = self._control(j)
        return [*self._done, (self._cells, self._styles)]

    # --- the cursor --------------------------------------------------------------------------

    def _put(self, chars: str) -> None:
        col, end = self._col, self._col + len(chars)
        self._cells[col:end] = chars  # overwrites what a `\r` went back over, appends the rest
        if self._styled:
            self._styles[col:end] = [self._style] * len(chars)
        self._col = end

    def _tab(self) -> None:
        target = (self._col // TAB + 1) * TAB
        pad = target - len(self._cells)
        if pad > 0:  # a tab moves the cursor; only past the end does it leave blanks
            self._cells.extend(" " * pad)
            if self._styled:
                self._styles.extend([self._style] * pad)
        self._col = target

    def _newline(self) -> None:
        self._done.append((self._cells, self._styles))
        self._cells, self._styles, self._col = [], [], 0

    # --- controls and sequences --------------------------------------------------------------

    def _control(self, j: int) -> int:
        """Handle the control (or sequence) at `j`; the index to go on from."""
        ch = self.text[j]
        if ch == "\n":
            self._newline()
        elif ch == "\r":
            self._col = 0
        elif ch == "\t":
            self._tab()
        elif ch == "\x1b":
            return self._escape(j)
        elif ch == "\x9b":
            return self._csi(j + 1)
        elif ch in _STRING_C1:
            return self._string(j + 1)
        elif ch in _BIDI_CHARS:
            pass  # removed: the text reads in its stored order
        elif ch < " ":
            self._put(chr(0x2400 + ord(ch)))  # the control picture: ␀ … ␟
        elif ch == "\x7f":
            self._put(DEL_MARK)
        else:  # C1, lone surrogate
            self._put(UNKNOWN)
        return j + 1

    def _escape(self, j: int) -> int:
        text, k = self.text, j + 1
        nxt = text[k] if k < len(text) else ""
        if nxt == "[":
            return self._csi(k + 1)
        if nxt in _STRING_INTRODUCERS:
            return self._string(k + 1)
        if " " <= nxt <= "/":  # nF: intermediates, then a final byte
            end = _INTERMEDIATES.match(text, k).end()  # type: ignore[union-attr]
            return end + 1 if end < len(text) and "0" <= text[end] <= "~" else end
        if "0" <= nxt <= "~":  # ESC 7, ESC c, ESC M, ...
            return k + 1
        self._put(LONE_ESC)  # an ESC that starts nothing: shown, the next character as usual
        return k

    def _csi(self, body: int) -> int:
        """A CSI whose parameters start at `body`: removed; an SGR also sets the style. One
        cut short (by a control, a character that cannot end it, the end) is dropped up to
        there, and what cut it is handled as usual."""
        text = self.text
        end = _CSI_BODY.match(text, body).end()  # type: ignore[union-attr]
        if end < len(text) and "@" <= text[end] <= "~":
            if self._styled and text[end] == "m":
                self._style = _sgr(self._style, text[body:end])
            return end + 1
        return end

    def _string(self, body: int) -> int:
        """An OSC, DCS, SOS, PM or APC string starting at `body`: removed up to its BEL or ST
        included, or up to (not including) an ESC that starts something else or a newline."""
        text = self.text
        found = _STRING_END.search(text, body)
        if found is None:
            return len(text)
        at = found.start()
        ch = text[at]
        if ch == "\x1b":
            return at + 2 if text.startswith("\\", at + 1) else at
        return at if ch == "\n" else at + 1


def _sgr(style: Sgr, params: str) -> Sgr:
    """`style` after `ESC [ params m`; anything that is not a plain SGR leaves it as it was."""
    if params.strip("0123456789;:"):  # a private marker or intermediates: not an SGR
        return style
    codes = [
        0 if not p else int(p) if len(p) <= _MAX_SGR_DIGITS else -1
        for p in params.replace(":", ";").split(";")
    ]
    it = iter(codes)
    for code in it:
        if code == 0:
            style = PLAIN
        elif code in _ATTRIBUTES:
            style = replace(style, **_ATTRIBUTES[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            style = replace(style, fg=code - 30 if code < 90 else code - 82)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style = replace(style, bg=code - 40 if code < 100 else code - 92)
        elif code == 39:
            style = replace(style, fg=None)
        elif code == 49:
            style = replace(style, bg=None)
        elif code in (38, 48):
            color = _extended_color(it)
            if color is None:  # malformed: ignore the rest, as terminals do
                break
            style = replace(style, fg=color) if code == 38 else replace(style, bg=color)
    return style


def _extended_color(codes: Iterator[int]) -> Color | None:
    """The colour after 38/48: `5;N` (palette) or `2;R;G;B`."""
    mode = next(codes, None)
    if mode == 5:
        index = next(codes, -1)
        return index if 0 <= index <= 255 else None
    if mode == 2:
        rgb = (next(codes, -1), next(codes, -1), next(codes, -1))
        return rgb if all(0 <= c <= 255 for c in rgb) else None
    return None
