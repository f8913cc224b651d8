"""Turning events, runs and tables into terminal lines, and printing them. No store.

Strings from workflows and tasks (names, prompts, reasons, output) are made terminal-safe here,
where they are displayed (`runtui.domain.terminal_text`): fields one line each as they are
formatted, so a `\r` or a tab acts within its field; then `echo` passes every human line through
`terminal_safe` once more, so nothing printed can drive the terminal whatever formatted it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import click
import msgspec

from runtui.domain.events import (
    AckRecorded,
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    EventEnvelope,
    ExpectationDeclared,
    IncidentOpened,
    PhaseChanged,
    RunClaimed,
    RunCreated,
    RunStatusChanged,
    RunStopping,
    RunSummaryWritten,
    RunTerminated,
    SpanEnded,
    SpanStarted,
    TaskDeclared,
    TaskStatusChanged,
    ViolationData,
    ViolationRecorded,
    WaveCompleted,
    claimed_text,
)
from runtui.domain.terminal_text import safe_fields, terminal_safe
from runtui.domain.why import place

DASH = "—"

_json = msgspec.json.Encoder()
# What msgspec leaves raw in a JSON string that a terminal could still act on (it escapes C0).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_escaped(text: str) -> str:
    """JSON text with DEL, C1 and bidi controls written as `\\uXXXX`: the same JSON value,
    nothing a terminal acts on. These characters only occur inside JSON strings, where the
    escape means the very same character."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_json(value: Any) -> str:
    return json_escaped(_json.encode(value).decode())


def echo(text: str = "", err: bool = False) -> None:
    """Print a human line (JSON goes out as `to_json` made it): terminal-safe, whatever it holds."""
    click.echo(terminal_safe(text), err=err)


def one_line(text: str) -> str:
    """A name, a prompt, a reason: terminal-safe and on one line (newlines shown as `↵`)."""
    return terminal_safe(text, one_line=True)


def fmt_time(ts: float | None) -> str:
    return DASH if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def fmt_clock(ts: float) -> str:
    """HH:MM:SS.mmm, local time: for event lines."""
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def fmt_secs(secs: float) -> str:
    if secs < 1:
        return f"{secs * 1000:.0f}ms"
    if secs < 120:
        return f"{secs:.1f}s"
    if secs < 7200:
        return f"{secs / 60:.1f}m"
    if secs < 172800:
        return f"{secs / 3600:.1f}h"
    return f"{secs / 86400:.1f}d"


def fmt_took(start: float, end: float | None) -> str:
    return DASH if end is None else fmt_secs(end - start)


def fmt_age(ts: float, now: float | None = None) -> str:
    return fmt_secs(max(0.0, (now if now is not None else time.time()) - ts))


def shorten(text: str, width: int) -> str:
    text = " ".join(one_line(text).split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: str = "") -> list[str]:
    """Columns as wide as their widest cell; columns named in `right` are right-aligned.
    The last column is never padded (no trailing blanks). Cells are made `one_line` first, so
    a cell is what it shows and a row stays one line."""
    rows = [[one_line(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            last = i == len(cells) - 1
            if headers[i] in right:
                out.append(cell.rjust(widths[i]))
            else:
                out.append(cell if last else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return [line(headers), *(line(r) for r in rows)]


# --- events ------------------------------------------------------------------------------------


def _with(text: str, extra: str | None, sep: str = ": ") -> str:
    return f"{text}{sep}{extra}" if extra else text


def summarize(env: EventEnvelope) -> str:
    """One short human line for an event body (output events: see `event_lines`); every
    string of the body is made `one_line` first."""
    b = safe_fields(env.body)
    match b:
        case RunCreated():
            text = f"workflow {b.workflow}"
            if b.parent_run_id:
                text += f", fork of {b.parent_run_id}"
                if b.rewound_from_wave is not None:
                    text += f" (waves <= {b.rewound_from_wave} kept)"
            if b.retry_count:
                text += f", retry {b.retry_count}"
            return text
        case PhaseChanged():
            return _with(f"{b.from_phase.value} -> {b.to_phase.value}", b.reason, " · ")
        case RunStatusChanged():
            return _with(b.status.value, b.reason, " · ")
        case RunTerminated():
            return _with(b.reason.value + _where(b.violation, b.stopped_at_step), b.error_message)
        case RunStopping():
            text = f"stopping: {b.reason.value}" + _where(b.violation, b.stopped_at_step)
            return _with(text, b.error)
        case RunClaimed():
            return claimed_text(b)
        case RunSummaryWritten():
            text = f"{b.result.value}: {len(b.stages_executed)} task(s) executed"
            if b.stages_failed:
                text += f", failed: {', '.join(b.stages_failed)}"
            return text
        case TaskDeclared():
            text = f"{b.task_id} ({b.task_kind.value}, wave {b.wave})"
            return _with(text, ", ".join(b.needs), " needs ")
        case TaskStatusChanged():
            return _with(f"{b.task_id} {b.status.value}", b.reason, " · ")
        case AttemptStarted():
            return f"{b.task_id} attempt {b.attempt}"
        case AttemptStatusChanged():
            text = f"{b.task_id} attempt {b.attempt} {b.status.value}"
            if b.exit_code is not None:
                text += f" (exit {b.exit_code})"
            if b.external_id:
                text += f" job {b.external_id}"
            if b.process is not None:
                text += f" (process group {b.process.pgid})"
            return _with(text, b.error)
        case AttemptOutput():
            return f"{b.task_id} attempt {b.attempt}: {len(b.lines)} line(s) on {b.stream}"
        case WaveCompleted():
            return f"wave {b.wave}" + (" failed" if b.failed else " done")
        case ApprovalRequested():
            task = f" for {b.task_id}" if b.task_id else ""
            return _with(f"{b.approval_kind.value} approval {b.approval_id}{task}", b.prompt)
        case ApprovalDecided():
            text = f"{b.approval_id} {b.decision.value} by {b.decided_by or '?'}"
            return _with(text, b.reason)
        case ViolationRecorded():
            v = b.violation
            text = f"{v.violation_type.value} ({v.severity.value}) -> {b.action.value}"
            return _with(f"{text} · {v.policy_name}", v.reason)
        case IncidentOpened():
            return _with(f"{b.severity.value}: {b.title}", b.detail, " · ")
        case ExpectationDeclared():
            return f"{b.domain}/{b.action}" + (" (liveness)" if b.liveness else "")
        case AckRecorded():
            return _with(f"{b.domain}/{b.action} {b.status.value}", b.error)
        case SpanStarted():
            return b.name
        case SpanEnded():
            return f"{b.span_id} {b.status}"
    return ""  # pragma: no cover - the union is exhaustive


def event_lines(env: EventEnvelope) -> list[str]:
    """An event as the terminal shows it: `time #seq kind summary`; output lines as
    `  task| line` (stderr lines as `  task! line`), each line as a terminal would leave it
    (a `\r` rewrites it from its start), with no escape sequence left."""
    b = env.body
    if isinstance(b, AttemptOutput):
        mark = "!" if b.stream == "stderr" else "|"
        task = one_line(b.task_id)
        return [f"  {task}{mark} {one_line(line)}" for line in b.lines]
    return [f"{fmt_clock(env.ts)} #{env.seq:<5} {env.kind:<18} {summarize(env)}".rstrip()]


def _where(v: ViolationData | None, step: int | None) -> str:
    """` at task step-3 (attempt 0)`, or ` after 2 finished attempts` for an old record."""
    where = place(v.task_id if v else None, v.attempt if v else None, step)
    if not where:
        return ""
    return f" at {where}" if v is not None and v.task_id else f" {where}"
