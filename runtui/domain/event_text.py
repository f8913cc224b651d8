"""What the event log shows of an event, as plain text: its summary, its output lines.

The terminal UI draws these (`runtui.tui.widgets.event_lines`), and the store keeps the same
words for searching a run's whole log (`runtui.store.log_search`), so a match found in the store
is a match in what the user reads. Every string of an event is made terminal-safe and one line
here (`runtui.domain.terminal_text`) before it is used.
"""

from __future__ import annotations

from runtui.domain.events import (
    AckRecorded,
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    EventBody,
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
    kind_of,
)
from runtui.domain.terminal_text import (
    is_one_plain_line,
    safe_fields,
    terminal_safe,
    terminal_styled,
)
from runtui.domain.violations import PolicyViolationType
from runtui.domain.why import place

#: The most characters of one event's text the store keeps for search (a batch of output can
#: be megabytes; what lies beyond is shown but not found).
MAX_SEARCH_TEXT = 64_000


def quantity(kind: PolicyViolationType | None, value: float | None) -> str:
    """A threshold or measured value with its unit (tokens, USD), for violations."""
    if value is None:
        return "—"
    if kind is PolicyViolationType.TOKEN_LIMIT:
        return f"{value:,.0f} tokens"
    if kind is PolicyViolationType.COST_LIMIT:
        return f"{value:,.4f}".rstrip("0").rstrip(".") + " USD"
    return f"{value:g}"


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


def output_prefix(body: AttemptOutput) -> str:
    """`task| ` before a line of stdout, `task|! ` before stderr (and poll) output."""
    return (
        f"{terminal_safe(body.task_id, one_line=True)}{'|' if body.stream == 'stdout' else '|!'} "
    )


def plain_line(raw: str) -> str:
    """A line a task printed as the log shows it, without its colours."""
    return "".join(text for text, _ in terminal_styled(raw, one_line=True))


def task_of(body: EventBody) -> str | None:
    """The task an event is about (its output, its status, its attempts, its gate), if any."""
    task = getattr(body, "task_id", None)
    if task is None and isinstance(body, ViolationRecorded):
        task = body.violation.task_id
    return task if isinstance(task, str) and task else None


def search_text(env: EventEnvelope) -> str:
    """The words a search of the log matches for one event, lower case: its kind, then its
    summary or its output lines (each as `task| line`, one per text line), terminal-safe."""
    body = env.body
    if isinstance(body, AttemptOutput):
        prefix = output_prefix(body)
        lines = body.lines or [""]
        if sum(map(len, lines)) < MAX_SEARCH_TEXT and is_one_plain_line("".join(lines)):
            text = prefix + ("\n" + prefix).join(lines)  # the common case: nothing to remove
        else:
            text = "\n".join(_capped(prefix, lines))
    else:
        text = summary(env)
    return f"{kind_of(body)} {text}"[:MAX_SEARCH_TEXT].lower()


def _capped(prefix: str, lines: list[str]) -> list[str]:
    """`prefix` + each line as shown, until `MAX_SEARCH_TEXT` characters."""
    parts: list[str] = []
    size = 0
    for raw in lines:
        line = prefix + plain_line(raw[:MAX_SEARCH_TEXT])
        parts.append(line)
        size += len(line) + 1
        if size >= MAX_SEARCH_TEXT:
            break
    return parts
