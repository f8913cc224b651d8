"""One event as the lines the event log shows: kind, a short summary, and output as `task| line`.

Kept apart from the widget so that the wording is plain code, testable without a screen, and
so that the log renders a line only when it scrolls into view. Every string of an event is made
terminal-safe and one line here (`runtui.domain.terminal_text`); output keeps its SGR colours
as spans, everything else a task printed (escape sequences, controls) is gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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
    ViolationRecorded,
    WaveCompleted,
    claimed_text,
)
from runtui.domain.terminal_text import PLAIN, Sgr, safe_fields, terminal_safe, terminal_styled
from runtui.domain.violations import PolicyViolationType
from runtui.domain.why import place

KIND_WIDTH = 18  # "approval.requested"

#: How each kind reads: important ones stand out, bookkeeping recedes.
KIND_STYLE: dict[str, str] = {
    "run.created": "bold",
    "phase.changed": "bold cyan",
    "run.status": "cyan",
    "run.terminated": "bold",
    "run.summary": "bold",
    "violation.recorded": "bold red",
    "incident.opened": "red",
    "approval.requested": "bold yellow",
    "approval.decided": "yellow",
    "wave.completed": "green",
    "span.started": "dim",
    "span.ended": "dim",
    "audit.expected": "dim",
    "audit.acked": "dim",
    "task.declared": "dim",
}


@dataclass(eq=False, slots=True)
class LogLine:
    """One line of the log; `first` is False for the 2nd.. lines of a multi-line event.
    `spans` are (start, end, style) of output the task coloured with SGR."""

    seq: int
    ts: float
    kind: str
    text: str
    first: bool = True
    stderr: bool = False
    spans: tuple[tuple[int, int, Sgr], ...] = ()
    _search: str = field(default="", repr=False)

    @property
    def search(self) -> str:
        if not self._search:
            self._search = f"{self.kind} {self.text}".lower()
        return self._search


def quantity(kind: PolicyViolationType | None, value: float | None) -> str:
    """A threshold or measured value with its unit (tokens, USD), for violations."""
    if value is None:
        return "—"
    if kind is PolicyViolationType.TOKEN_LIMIT:
        return f"{value:,.0f} tokens"
    if kind is PolicyViolationType.COST_LIMIT:
        return f"{value:,.4f}".rstrip("0").rstrip(".") + " USD"
    return f"{value:g}"


def event_lines(env: EventEnvelope) -> list[LogLine]:
    b = env.body
    if isinstance(b, AttemptOutput):
        stderr = b.stream != "stdout"
        prefix = f"{terminal_safe(b.task_id, one_line=True)}{'|!' if stderr else '|'} "
        return [
            output_line(env, prefix, line, first=i == 0, stderr=stderr)
            for i, line in enumerate(b.lines or [""])
        ]
    return [LogLine(env.seq, env.ts, env.kind, summary(env))]


def output_line(env: EventEnvelope, prefix: str, raw: str, *, first: bool, stderr: bool) -> LogLine:
    """A line of output after `prefix`, as a terminal would leave it (a `\r` rewrites it),
    its SGR colours kept as spans."""
    parts, spans, at = [prefix], [], len(prefix)
    for text, style in terminal_styled(raw, one_line=True):
        parts.append(text)
        if style != PLAIN:
            spans.append((at, at + len(text), style))
        at += len(text)
    return LogLine(env.seq, env.ts, env.kind, "".join(parts), first, stderr, tuple(spans))


def summary(env: EventEnvelope) -> str:
    """The event in a few words; every string of its body made one terminal-safe line first."""
    b = safe_fields(env.body)
    match b:
        case RunCreated():
            text = f"{b.workflow}"
            if b.parent_run_id:
                text += f"  fork of {b.parent_run_id}"
                if b.rewound_from_wave is not None:
                    text += f" (waves <= {b.rewound_from_wave} kept)"
            return text
        case PhaseChanged():
            return f"{b.from_phase.value} → {b.to_phase.value}" + (
                f"  ({b.reason})" if b.reason else ""
            )
        case RunStatusChanged():
            return b.status.value + (f"  ({b.reason})" if b.reason else "")
        case RunTerminated() | RunStopping():
            text = ("stopping: " if isinstance(b, RunStopping) else "") + b.reason.value
            v = b.violation
            where = place(v.task_id if v else None, v.attempt if v else None, b.stopped_at_step)
            if where:
                text += f"  at {where}" if v and v.task_id else f"  {where}"
            error = b.error if isinstance(b, RunStopping) else b.error_message
            if error:
                text += f"  {error}"
            return text
        case RunClaimed():
            return claimed_text(b)
        case RunSummaryWritten():
            text = f"{b.result.value}  {len(b.stages_executed)} tasks ran"
            if b.failure_reason:
                text += f"  ({b.failure_reason})"
            return text
        case TaskDeclared():
            return f"{b.task_id}  {b.task_kind.value}, wave {b.wave}"
        case TaskStatusChanged():
            return f"{b.task_id} {b.status.value}" + (f"  ({b.reason})" if b.reason else "")
        case AttemptStarted():
            return f"{b.task_id} #{b.attempt}"
        case AttemptStatusChanged():
            text = f"{b.task_id} #{b.attempt} {b.status.value}"
            if b.exit_code is not None:
                text += f"  exit {b.exit_code}"
            if b.error:
                text += f"  {b.error}"
            if b.usage:
                text += "  " + " ".join(f"{k}={v:g}" for k, v in b.usage.items())
            if b.process is not None:
                text += f"  process group {b.process.pgid}"
            return text
        case WaveCompleted():
            return f"wave {b.wave} " + ("failed" if b.failed else "done")
        case ApprovalRequested():
            what = f"{b.approval_kind.value} gate"
            if b.task_id:
                what += f" {b.task_id}"
            return what + (f": {b.prompt}" if b.prompt else "")
        case ApprovalDecided():
            text = b.decision.value
            if b.decided_by:
                text += f" by {b.decided_by}"
            return text + (f": {b.reason}" if b.reason else "")
        case ViolationRecorded():
            v = b.violation
            text = f"{v.violation_type.value} {v.severity.value}"
            text += f" {place(v.task_id, v.attempt, v.step_index)}"
            if v.actual_value is not None and v.threshold_value is not None:
                text += (
                    f" ({quantity(v.violation_type, v.actual_value)}"
                    f" > {quantity(v.violation_type, v.threshold_value)})"
                )
            return f"{text} → {b.action.value}"
        case IncidentOpened():
            return f"{b.severity.value}  {b.title}"
        case ExpectationDeclared():
            return f"{b.domain}/{b.action}" + ("  (liveness)" if b.liveness else "")
        case AckRecorded():
            return f"{b.domain}/{b.action} {b.status.value}" + (f"  {b.error}" if b.error else "")
        case SpanStarted():
            return b.name
        case SpanEnded():
            return f"{b.span_id} {b.status}"
    return ""  # pragma: no cover - the union is closed


def stamp(ts: float, origin: float, relative: bool) -> str:
    """`+mm:ss.cc` since the run started, or the wall-clock time with hundredths."""
    if relative:
        delta = max(0.0, ts - origin)
        minutes, secs = divmod(delta, 60)
        if minutes >= 100:
            hours, minutes = divmod(int(minutes), 60)
            return f"+{hours}h{minutes:02d}m{int(secs):02d}"
        return f"+{int(minutes):02d}:{secs:05.2f}"
    cents = int((ts % 1) * 100)
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{cents:02d}"
