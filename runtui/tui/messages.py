"""App-wide messages, carrying domain objects (never widgets)."""

from __future__ import annotations

from textual.message import Message

from runtui.domain.events import EventEnvelope
from runtui.domain.views import ApprovalRow


class EventsArrived(Message):
    """Committed events since the last tick (coalesced), or `lagged`: re-read from the store."""

    def __init__(self, events: list[EventEnvelope], lagged: bool) -> None:
        super().__init__()
        self.events = events
        self.lagged = lagged

    @property
    def run_ids(self) -> set[str]:
        return {e.run_id for e in self.events}


class OpenRun(Message):
    """Show one run: posted by the screen or dialog that picked it (a row, a fork, a retry),
    handled by the app, which pushes the run screen."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


class OpenTask(Message):
    """Show one task of a run (its attempts, output, violations): posted by the widget that
    picked it, handled by the app, which pushes the task screen."""

    def __init__(self, run_id: str, task_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.task_id = task_id


class ConnectionChanged(Message):
    """The client's connection to the runtime went down (`connected` False) or came back."""

    def __init__(self, connected: bool) -> None:
        super().__init__()
        self.connected = connected


class ApprovalsChanged(Message):
    """What waits for a human across every run (oldest first), re-read after a change."""

    def __init__(self, pending: list[ApprovalRow]) -> None:
        super().__init__()
        self.pending = pending
