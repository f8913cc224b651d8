"""Why it ended: the first thing a failed or stopped run's screen says, above its phases.

    Why it ended  ✗ failed · task_failed · in EXECUTING
      ✗ task compile: exit code 3 (attempt 0, its last)
        stderr │ widgets.c:12: error: expected ';' before '}' token

The cause is picked by `runtui.domain.why`; this widget only draws it. Everything quoted (task
ids, reasons, output) comes from the workflow or its tasks and goes through `safe_fields` /
`one_line`, never through markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from runtui.domain.attempt_end import ended_by
from runtui.domain.phases import RunPhase
from runtui.domain.views import RunRow
from runtui.domain.why import (
    Cause,
    OtherCause,
    RejectionCause,
    TaskCause,
    ViolationCause,
    place,
)
from runtui.tui.glyphs import RUN_STYLE, SEVERITY_STYLE, run_glyph
from runtui.tui.safe_text import one_line, safe_fields
from runtui.tui.widgets.event_lines import quantity

ACTION = {"stop": "stopped the run"}


def why_text(run: RunRow, cause: Cause, *, stopped_in: RunPhase | None, stderr: list[str]) -> Text:
    """The panel's lines; `stderr`: the last lines the failed attempt wrote there."""
    run = safe_fields(run)
    text = Text(end="")
    text.append("Why it ended  ", style="bold")
    style = RUN_STYLE[run.status]
    text.append(f"{run_glyph(run.status)} {run.status.value}", style=style)
    if run.termination_reason is not None:
        text.append(f" · {run.termination_reason.value}", style=style)
    if stopped_in is not None:
        text.append(f" · in {stopped_in.value}")
    match cause:
        case TaskCause(task=task, attempt=attempt, others=others):
            text.append(f"\n  ✗ task {one_line(task.task_id)}", style="bold red")
            if attempt is None:
                text.append(": failed before an attempt ran")
            else:
                how = ended_by(attempt, run.termination_reason)
                text.append(f": {one_line(how)}")
                tries = f"attempt {attempt.attempt}"
                text.append(f" ({tries}, its last)" if task.attempts > 1 else f" ({tries})")
                if attempt.error and not stderr:
                    text.append(f"\n    {one_line(attempt.error)}", style="italic")
            for line in stderr:
                text.append("\n    stderr │ ", style="yellow")
                text.append(one_line(line))
            if others:
                shown = ", ".join(one_line(o) for o in others[:5])
                more = f" +{len(others) - 5}" if len(others) > 5 else ""
                text.append(f"\n  also failed: {shown}{more}", style="red")
        case ViolationCause(violation=v):
            v = safe_fields(v)
            sev = SEVERITY_STYLE[v.severity]
            text.append(f"\n  ▲ {v.severity.value} {v.violation_type.value}", style=sev)
            text.append(f' "{v.policy_name}"')
            where = place(v.task_id, v.attempt, v.step_index)
            if where:
                text.append(f" fired by {where}" if v.task_id else f" {where}")
            if v.threshold_value is not None or v.actual_value is not None:
                text.append(
                    f"\n    threshold {quantity(v.violation_type, v.threshold_value)}"
                    f" · actual {quantity(v.violation_type, v.actual_value)}"
                )
            if v.reason:
                text.append(f"\n    {v.reason}", style="italic")
            text.append(f"\n    → {ACTION.get(v.action, v.action)}", style=sev)
        case RejectionCause(approval=a):
            a = safe_fields(a)
            what = f"{a.kind.value} gate" + (f" {a.task_id}" if a.task_id else "")
            text.append(f"\n  ✗ {what} rejected by {a.decided_by or 'unknown'}", style="bold red")
            if a.reason:
                text.append(f": {one_line(a.reason)}")
            if a.prompt:
                text.append(f"\n    it asked: {one_line(a.prompt)}", style="dim")
        case OtherCause(error=error):
            text.append(f"\n  {one_line(error) or 'no more was recorded'}")
    return text


class WhyPanel(Static):
    DEFAULT_CSS = """
    WhyPanel { height: auto; max-height: 9; padding: 0 1; border-left: thick $error;
               display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()

    def show(self, text: Text | None) -> None:
        self.display = text is not None
        self.text = text or Text()
        self.update(self.text)
