"""Hostile strings: what a workflow or a task could send a terminal to take it over, and the
workflow and event script that carry them into every display path.

Each payload keeps some visible text outside its sequences (`pwned`, `before`/`after`) so a
test can check that what is meant to be read still is. `assert_terminal_safe` is the one
check every display test makes: no C0 control but a newline, no DEL, no C1, no bidi control.
"""

from __future__ import annotations

import json
import re
import subprocess
from enum import Enum
from typing import Any

import msgspec

from runtui.domain.events import PendingEvent

#: name -> payload. Sequences as terminals know them, 7-bit and 8-bit, well-formed and cut off.
PAYLOADS: dict[str, str] = {
    "clear screen": "before\x1b[2J\x1b[Hafter",
    "window title, OSC 0 + BEL": "before\x1b]0;pwned-title\x07after",
    "window title, OSC 2 + ST": "before\x1b]2;pwned-title\x1b\\after",
    "clipboard, OSC 52": "before\x1b]52;c;cm0gLXJmIH4K\x07after",
    "hyperlink, OSC 8": "\x1b]8;;https://evil.example/\x07pwned\x1b]8;;\x07",
    "cursor move": "before\x1b[10;1Hafter",
    "private mode (alternate screen on)": "before\x1b[?1049hafter",
    "8-bit CSI": "before\x9b2Jafter",
    "8-bit OSC + 8-bit ST": "before\x9d0;pwned-title\x9cafter",
    "DCS": "before\x1bPq#0;2;0;0;0#0!10~\x1b\\after",
    "APC": "before\x1b_Gf=24,s=1;AAAA\x1b\\after",
    "charset (nF)": "before\x1b(0after",
    "reset (RIS)": "before\x1bcafter",
    "BEL": "before\x07after",
    "backspace": "pwned\x08\x08\x08\x08\x08safe!",
    "NUL": "before\x00after",
    "DEL": "before\x7fafter",
    "C1 NEL": "before\x85after",
    "RLO (bidi override)": "before\u202etxt.exe\u202cafter",
    "RLI (bidi isolate)": "before\u2067txt.exe\u2069after",
    "carriage return rewrite": "0%\r50%\r100% pwned",
    "tab": "col\tpwned",
    "SGR colours": "\x1b[1;31mpwned\x1b[0m",
    "unterminated CSI": "pwned\x1b[1;2",
    "unterminated OSC": "pwned\x1b]0;" + "t" * 500,
    "long CSI": "pwned\x1b[" + "1;" * 1000 + "m",
    "markup": "[bold red]pwned[/] [link=https://evil.example/]x[/link]",
}

#: All of them in one string, as a prompt or a line of output would carry them (within the
#: workflow format's limit on a text field, 4096 characters).
HOSTILE = "pwned " + " | ".join(PAYLOADS.values())

#: A short one with the sequences that matter most, for names that are shown cut to a width.
SHORT = "pwned\x1b]0;pwned-title\x07\x1b[2J\x9b2J\u202e\x07[b]md[/b]"

#: What must never reach a terminal: C0 controls but `\n`, DEL, C1, bidi controls.
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def assert_terminal_safe(text: str, where: str = "output") -> None:
    found = FORBIDDEN.search(text)
    if found is not None:
        at = found.start()
        raise AssertionError(
            f"{where}: {found.group()!r} at {at}, in {text[max(0, at - 60) : at + 60]!r}"
        )


def checked(done: subprocess.CompletedProcess[str], code: int = 0) -> str:
    """A command's stdout, once its exit code and both its streams are checked."""
    assert done.returncode == code, done.stderr
    assert_terminal_safe(done.stdout, "stdout")
    assert_terminal_safe(done.stderr, "stderr")
    return done.stdout


def printf_arg(text: str) -> str:
    """`text` as a single-quoted `printf` format that prints exactly its UTF-8 bytes."""
    out = []
    for byte in text.encode():
        ch = chr(byte)
        special = byte < 0x20 or byte >= 0x7F or ch in "%\\'"
        out.append(f"\\{byte:03o}" if special else ch)
    return "'" + "".join(out) + "'"


def toml_str(text: str) -> str:
    """A TOML basic string holding `text` (JSON's escapes are TOML's; BMP text only)."""
    return json.dumps(text)


def hostile_workflow() -> str:
    """A workflow whose every free-text field is hostile, with a task that prints every payload
    to stdout and to stderr, a task that fails printing them, a content policy that flags the
    output (a warning: the run goes on) and a gate that asks a hostile question."""
    lines = [f"printf {printf_arg(p)}'\\n'" for p in [HOSTILE, *PAYLOADS.values()]]
    loud = "; ".join(lines) + "; " + "; ".join(f"{line} >&2" for line in lines)
    breaks = f"printf {printf_arg(SHORT)}'\\n'; exit 3"
    return f"""
name = {toml_str("wf-" + SHORT)}
description = {toml_str(HOSTILE)}

[[tasks]]
id = "loud"
name = {toml_str(SHORT)}
kind = "shell"
cmd = {toml_str(loud)}

[[tasks]]
id = "breaks"
kind = "shell"
allow_failure = true
cmd = {toml_str(breaks)}

[[tasks]]
id = "gate"
kind = "gate"
needs = ["loud", "breaks"]
prompt = {toml_str("Deploy? " + HOSTILE)}

[[policies]]
id = "leak"
name = {toml_str("policy-" + SHORT)}
type = "content_policy"
pattern = "pwned"
severity = "medium"
"""


# Fields kept as they are when an event script is poisoned: the runtime's own vocabulary, which
# projections and reconciliation match on.
_KEEP = frozenset({"stream", "status", "domain", "action", "idempotency_key", "parent_run_id"})


def poisoned(events: list[PendingEvent]) -> list[PendingEvent]:
    """The same event script with `SHORT` appended to every free string (ids included, the
    same way everywhere, so the run still holds together); enums, numbers and the runtime's
    own vocabulary unchanged."""
    return [msgspec.structs.replace(e, body=_poison(e.body)) for e in events]


def _poison(value: Any, field: str = "") -> Any:
    if isinstance(value, Enum) or field in _KEEP:
        return value
    if isinstance(value, str):
        return value + SHORT
    if isinstance(value, list):
        return [_poison(v) for v in value]
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(
            value,
            **{f: _poison(getattr(value, f), f) for f in value.__struct_fields__},
        )
    return value
