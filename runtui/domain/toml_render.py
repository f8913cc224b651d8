"""Plain data written out as TOML text: what a workflow looks like as a file when only its data
is known (a run started before runs kept their source, or from a Python program whose module
could not be read).

Only what a workflow holds is needed: strings, numbers, booleans, lists, and tables. A table
at the top becomes a `[table]`, a list of tables an array of tables (`[[tasks]]`); tables and
lists of tables deeper in become inline tables. None has no TOML form and is left out (it is
what "not set" means in the data). Strings with a newline are written as multi-line strings,
so a script reads as a script. `tomllib.loads(render(data))` gives the data back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # what a literal string cannot hold (tab can)
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def render(data: Mapping[str, Any]) -> str:
    """`data` as a TOML document: its plain values first, then its tables, then its arrays of
    tables, each in the order given."""
    out: list[str] = []
    plain = {k: v for k, v in data.items() if v is not None and not _is_table(v)}
    out += _assignments(plain)
    for key, value in data.items():
        if isinstance(value, Mapping):
            out += ["", f"[{_key(key)}]", *_assignments(value)]
    for key, value in data.items():
        if _is_table_array(value):
            for item in value:
                out += ["", f"[[{_key(key)}]]", *_assignments(item)]
    return "\n".join(out).lstrip("\n") + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) or _is_table_array(value)


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)
    )


def _assignments(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in table.items() if v is not None]


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key, multiline=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ("-" if value < 0 else "") + ("inf" if math.isinf(value) else "nan")
        return repr(value)
    if isinstance(value, str):
        return _string(value, multiline=True)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    return _string(str(value), multiline=False)


def _string(text: str, *, multiline: bool) -> str:
    """A literal string where the text can be one (it reads exactly as written: a script's
    backslashes and quotes stay as they are), else a basic string with escapes. Text with a
    newline, where allowed, is written as a multi-line string whose lines are its lines."""
    lines = multiline and "\n" in text
    plain = not _CONTROL.search(text.replace("\n", "") if lines else text)
    if lines:
        if plain and "'''" not in text and not text.endswith("'"):
            return f"'''\n{text}'''"
        return f'"""\n{_basic(text, multiline=True)}"""'
    if plain and "'" not in text and ("\\" in text or '"' in text):
        return f"'{text}'"
    return f'"{_basic(text, multiline=False)}"'


def _basic(text: str, *, multiline: bool) -> str:
    """Escaped for a basic string; in a multi-line one, newlines stay and a quote is escaped
    only where it could close the string (before another quote, or last)."""
    out: list[str] = []
    for i, ch in enumerate(text):
        if multiline and ch == "\n":
            out.append(ch)
        elif multiline and ch == '"':
            last = i + 1 == len(text) or text[i + 1] == '"'
            out.append('\\"' if last else ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch < " " or ch == "\x7f":
        return f"\\u{ord(ch):04X}"
    return ch


__all__ = ["render"]
