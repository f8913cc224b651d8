"""The top line: where we are connected, whether the runtime is up, what waits for a human
(how many approvals, the oldest one's age), the workflows' health."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from runtui.domain.health import Health, WorkflowHealth
from runtui.tui.approval_watch import ApprovalWatch
from runtui.tui.safe_text import one_line

HEALTH_STYLE = {
    Health.HEALTHY: "green",
    Health.DEGRADED: "yellow",
    Health.UNSTABLE: "red",
    Health.BLOCKED: "bold red",
}


#: Below this many columns the bar leaves out where it is connected (and says less), so the
#: approvals and the health of the workflows still fit on its one line.
NARROW_BELOW = 100


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: dict[str, Any] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(**self._shown)

    def show(
        self,
        *,
        where: str,
        connected: bool,
        approvals: ApprovalWatch,
        now: float,
        health: list[WorkflowHealth],
        read_only: bool,
    ) -> None:
        self._shown = {
            "where": where,
            "connected": connected,
            "approvals": approvals,
            "now": now,
            "health": health,
            "read_only": read_only,
        }
        narrow = 0 < self.size.width < NARROW_BELOW
        text = Text()
        text.append(" runtui ", style="bold reverse")
        text.append("  " if narrow else f"  {one_line(where)}  ")
        text.append(
            "● runtime up" if connected else "○ disconnected, retrying",
            style="green" if connected else "bold red",
        )
        if read_only:
            text.append("  read-only", style="yellow")
        text.append("   ")
        waiting = approvals.summary(now, narrow=narrow)
        if waiting:
            text.append(waiting, style="bold yellow")
        else:
            text.append("no approvals" if narrow else "no approvals waiting", style="dim")
        if health:
            counts: dict[Health, int] = {}
            for h in health:
                if not (narrow and h.health is Health.HEALTHY):  # narrow: only what is wrong
                    counts[h.health] = counts.get(h.health, 0) + 1
            if counts:
                text.append("   " if narrow else "   workflows: ")
            parts = [(f"{n} {h.value}", HEALTH_STYLE[h]) for h, n in counts.items()]
            for i, (label, style) in enumerate(parts):
                if i:
                    text.append(" · ", style="dim")
                text.append(label, style=style)
        self.update(text)
