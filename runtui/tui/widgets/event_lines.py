"""One event as the lines the event log shows: kind, a short summary, and output as `task| line`.

Kept apart from the widget so that the wording is plain code, testable without a screen, and
so that the log renders a line only when it scrolls into view. Every string of an event is made
terminal-safe and one line here (`runtui.domain.terminal_text`); output keeps its SGR colours
as spans, everything else a task printed (escape sequences, controls) is gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from runtui.domain.event_text import output_prefix, quantity, summary, task_of
from runtui.domain.events import AttemptOutput, EventEnvelope
from runtui.domain.terminal_text import PLAIN, Sgr, terminal_styled

__all__ = ["LogLine", "event_lines", "output_line", "quantity", "stamp", "summary"]

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
    task: str | None = None  # the task the event is about ("this task only")
    _search: str = field(default="", repr=False)

    @property
    def search(self) -> str:
        if not self._search:
            self._search = f"{self.kind} {self.text}".lower()
        return self._search


def event_lines(env: EventEnvelope) -> list[LogLine]:
    b = env.body
    if isinstance(b, AttemptOutput):
        stderr = b.stream != "stdout"
        prefix = output_prefix(b)
        return [
            output_line(env, prefix, line, first=i == 0, stderr=stderr)
            for i, line in enumerate(b.lines or [""])
        ]
    return [LogLine(env.seq, env.ts, env.kind, summary(env), task=task_of(b))]


def output_line(env: EventEnvelope, prefix: str, raw: str, *, first: bool, stderr: bool) -> LogLine:
    """A line of output after `prefix`, as a terminal would leave it (a `\r` rewrites it),
    its SGR colours kept as spans."""
    parts, spans, at = [prefix], [], len(prefix)
    for text, style in terminal_styled(raw, one_line=True):
        parts.append(text)
        if style != PLAIN:
            spans.append((at, at + len(text), style))
        at += len(text)
    task = env.body.task_id if isinstance(env.body, AttemptOutput) else task_of(env.body)
    return LogLine(env.seq, env.ts, env.kind, "".join(parts), first, stderr, tuple(spans), task)


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
