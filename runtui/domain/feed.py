"""What a live feed of committed events delivers: batches of events, or a marker that some were
missed. A consumer that keeps state from events (the terminal UI) re-reads that state on a
marker instead of trusting the feed; `Port.events` hides both markers by catching up itself."""

from __future__ import annotations

import msgspec

from runtui.domain.events import EventEnvelope


class Lagged(msgspec.Struct, frozen=True):
    """Events after `after_position` were dropped for this subscriber (it read too slowly):
    re-read them."""

    after_position: int


class Resync(msgspec.Struct, frozen=True):
    """A server's stream restarted with no position to resume from (it had not yet seen one),
    so events may have been missed: re-read the state instead of trusting the feed."""

    reason: str


#: One delivery of a live feed.
Delivery = list[EventEnvelope] | Lagged | Resync
