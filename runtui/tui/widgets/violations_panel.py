"""What governance saw: violations, how the run was stopped, the audit reconciliation, incidents.

▲ critical  token_limit  "10k token budget"  task step-3 (attempt 0)
  threshold 10,000 tokens · actual 12,000 tokens
  12000 tokens used, budget 10000
  → stopped the run
Ended  budget_exceeded at task step-3 (attempt 0)
  10k token budget: 12000 tokens used, budget 10000
Audit  4/4 acked · missing — · drift — · stale no
Incidents (2) ...
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from runtui.domain.audit import AckStatus, AuditExpectation, DomainAck, Reconciliation, reconcile
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import AuditRows, IncidentRow, RunRow, ViolationRow
from runtui.domain.why import place
from runtui.tui.glyphs import SEVERITY_STYLE
from runtui.tui.safe_text import one_line, safe_fields
from runtui.tui.widgets.event_lines import quantity

ACTION_TEXT = {
    "stop": "→ stopped the run",
    "approve": "→ asked a human (approval gate)",
    "warn": "→ warning only; the run went on",
}


def reconcile_rows(audit: AuditRows, *, now: float) -> Reconciliation:
    expectations = [
        AuditExpectation(d, a, deadline, bool(live)) for d, a, deadline, live in audit.expectations
    ]
    acks = [DomainAck(d, a, AckStatus(s), r, e) for d, a, s, r, e in audit.acks]
    return reconcile(expectations, acks, now=now)


def audit_line(audit: AuditRows, *, now: float, live: bool) -> Text:
    """`Audit  N/M acked · missing … · drift … · stale …`.

    While the run is live, an expectation not acked yet is `pending`, not missing: the kernel
    acks the incident check at governance and the liveness one at finalize. Only an overdue
    liveness expectation (stale) is a problem before the run ends.
    """
    rec = reconcile_rows(audit, now=now)
    acked = len(rec.expected) - len(rec.missing)
    unacked = [k for k in rec.missing if k not in rec.stale]

    def names(keys: Sequence[tuple[str, str]]) -> str:
        return ", ".join(action for _, action in keys) or "—"

    text = Text(end="")
    text.append("Audit  ", style="bold")
    ok = not (unacked or rec.drift or rec.stale or rec.failed)
    text.append(f"{acked}/{len(rec.expected)} acked", style="green" if ok else "yellow")
    if live:
        text.append(f" · pending {names(unacked)}", style="dim" if unacked else "")
    else:
        text.append(f" · missing {names(unacked)}", style="red" if unacked else "")
    text.append(f" · drift {names(rec.drift)}", style="yellow" if rec.drift else "")
    stale = names(rec.stale) if rec.stale else "no"
    text.append(f" · stale {stale}", style="bold red" if rec.stale else "")
    if rec.failed:
        text.append(f" · failed {names(rec.failed)}", style="red")
    return text


def violation_text(v: ViolationRow, *, carried: bool = False) -> Text:
    """One violation; `carried`: from a result a fork took over, placed in its own run."""
    v = safe_fields(v)  # its policy's name and reason come from the workflow and the output
    style = SEVERITY_STYLE[v.severity]
    text = Text(end="")
    text.append("↳ ▲ " if carried else "▲ ", style=style)
    text.append(f"{v.severity.value}", style=style)
    text.append(f"  {v.violation_type.value}", style="bold")
    text.append(f'  "{v.policy_name}"  {place(v.task_id, v.attempt, v.step_index)}')
    if v.threshold_value is not None or v.actual_value is not None:
        text.append(
            f"\n  threshold {quantity(v.violation_type, v.threshold_value)}"
            f" · actual {quantity(v.violation_type, v.actual_value)}"
        )
    if v.reason:
        text.append(f"\n  {v.reason}", style="italic")
    text.append(f"\n  {ACTION_TEXT.get(v.action, '→ ' + v.action)}", style=style)
    if carried:
        text.append(f"  (in run …{v.run_id[-6:]})", style="dim")
    return text


def termination_text(run: RunRow, violations: Sequence[ViolationRow] = ()) -> Text | None:
    """How the run ended; where a violation stopped it, the task and attempt that fired it."""
    reason = run.termination_reason
    if reason is None or reason is RunTerminationReason.COMPLETED:
        return None
    text = Text(end="")
    text.append("Stopped  " if run.status.value == "cancelled" else "Ended  ", style="bold")
    text.append(reason.value, style="bold red")
    if run.stopped_at_step is not None:
        stop = next(
            (v for v in violations if v.action == "stop" and v.step_index == run.stopped_at_step),
            None,
        )
        where = place(stop.task_id, stop.attempt, run.stopped_at_step) if stop else ""
        text.append(f" at {one_line(where)}" if stop and stop.task_id else f" {where}")
    if run.error_message:
        text.append(f"\n  {one_line(run.error_message)}")
    return text


class ViolationsPanel(VerticalScroll):
    ALLOW_MAXIMIZE = True

    DEFAULT_CSS = """
    ViolationsPanel { border: round $primary-darken-1; padding: 0 1; height: auto; }
    ViolationsPanel:focus { border: round $accent; }
    ViolationsPanel > Static { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()  # what is shown (tests read it)

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="violations-body")

    def on_mount(self) -> None:
        self.border_title = "Violations"

    def show(
        self,
        run: RunRow,
        violations: list[ViolationRow],
        incidents: list[IncidentRow],
        audit: AuditRows,
        *,
        now: float,
        carried: Sequence[ViolationRow] = (),
    ) -> None:
        """`carried`: a fork's violations from the results it took from its parent (recorded
        in the run that made them), shown apart so that a fork does not look cleaner than its
        results are."""
        parts: list[Text] = []
        ended = termination_text(run, violations)
        if ended is not None:  # first: it is why the run is over
            parts.append(ended)
        if violations:
            parts += [violation_text(v) for v in violations]
        elif not carried:
            parts.append(Text("✓ no violations", style="green"))
        if carried:
            head = Text(f"Carried over with the parent's results ({len(carried)})", style="bold")
            parts += [head, *(violation_text(v, carried=True) for v in carried)]
        parts.append(audit_line(audit, now=now, live=not run.status.is_terminal))
        incident_text = Text(end="")
        incident_text.append("Incidents  ", style="bold")
        if not incidents:
            incident_text.append("none", style="dim")
        for inc in incidents:
            incident_text.append("\n  ▲ ", style=SEVERITY_STYLE[inc.severity])
            incident_text.append(f"{inc.severity.value:<8}", style=SEVERITY_STYLE[inc.severity])
            incident_text.append(f" {one_line(inc.title)}")
        parts.append(incident_text)
        self.border_title = f"Violations ({len(violations)}" + (
            f" + {len(carried)} carried)" if carried else ")"
        )
        self.text = Text("\n", end="").join(parts)
        self.query_one("#violations-body", Static).update(self.text)
