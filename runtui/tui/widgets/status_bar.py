"""The top line: where we are connected, whether the runtime is up, approvals, health."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from runtui.domain.health import Health, WorkflowHealth

HEALTH_STYLE = {
    Health.HEALTHY: "green",
    Health.DEGRADED: "yellow",
    Health.UNSTABLE: "red",
    Health.BLOCKED: "bold red",
}


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(
        self,
        *,
        where: str,
        connected: bool,
        approvals: int,
        health: list[WorkflowHealth],
        read_only: bool,
    ) -> None:
        text = Text()
        text.append(" runtui ", style="bold reverse")
        text.append(f"  {where}  ")
        text.append(
            "● runtime up" if connected else "○ disconnected, retrying",
            style="green" if connected else "bold red",
        )
        if read_only:
            text.append("  read-only", style="yellow")
        text.append("   ")
        if approvals:
            text.append(
                f"⏸ {approvals} approval{'s' if approvals != 1 else ''} waiting",
                style="bold yellow",
            )
        else:
            text.append("no approvals waiting", style="dim")
        if health:
            counts: dict[Health, int] = {}
            for h in health:
                counts[h.health] = counts.get(h.health, 0) + 1
            text.append("   workflows: ")
            parts = [(f"{n} {h.value}", HEALTH_STYLE[h]) for h, n in counts.items()]
            for i, (label, style) in enumerate(parts):
                if i:
                    text.append(" · ", style="dim")
                text.append(label, style=style)
        self.update(text)
