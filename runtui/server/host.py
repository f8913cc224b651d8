"""What the HTTP server needs from the runtime it serves: the port, and a few host services.

The server answers every read and verb through the port (`runtui.api.Port`), as every other
front end does. Serving HTTP needs a little more, declared here and provided by the embedded
runtime (`runtui.embedded.EmbeddedRuntime`): the live feed and the event pages its streams are
made of, where Idempotency-Keys are kept, what readiness and `/metrics` report, and the lock
file's note of the API's URL. The server never imports the actors or the store (an
import-linter contract).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from runtui.api import Port, RuntimeMetrics
from runtui.config import Settings
from runtui.domain.events import EventEnvelope
from runtui.domain.feed import Lagged
from runtui.domain.idempotency import KeyRecord
from runtui.domain.views import RunRow
from runtui.domain.workflow import Workflow

#: What a live subscription delivers: a committed batch, or a marker that some were dropped.
LiveDelivery = Sequence[EventEnvelope] | Lagged


class LiveSubscription(Protocol):
    """Committed batches as they commit (bounded: a slow reader gets `Lagged`)."""

    async def receive(self) -> LiveDelivery: ...
    def __aiter__(self) -> AsyncIterator[LiveDelivery]: ...
    def close(self) -> None: ...


class EventPages(Protocol):
    """Committed events by page: one run's after a seq, every run's after a position (and the
    run itself, so a stream of an unknown run is a 404)."""

    async def get_run(self, run_id: str) -> RunRow: ...
    async def events_after(
        self, run_id: str, after: int, *, limit: int = 1000
    ) -> list[EventEnvelope]: ...
    async def events_since(self, position: int, *, limit: int = 1000) -> list[EventEnvelope]: ...


class StreamSource(Protocol):
    """Where streams get committed events: live ones by subscription, older ones by page."""

    @property
    def reader(self) -> EventPages: ...

    @property
    def last_position(self) -> int:
        """The position of the last committed event: "now", for a stream that starts there."""
        ...

    def subscribe(
        self, *, run_id: str | None = None, max_batches: int = 1024
    ) -> LiveSubscription: ...


class FollowedSource(StreamSource, Protocol):
    """A source that follows another process's commits (the API process reads the database
    the runtime writes): it can end every stream at once, at shutdown."""

    def end_streams(self) -> None: ...


class KeyStore(Protocol):
    """Idempotency-Key records that survive a restart (`runtui.store.idempotency`)."""

    async def find(self, scope: str, key: str) -> KeyRecord | None: ...
    async def take(self, scope: str, key: str, fingerprint: bytes, subject: str | None) -> None: ...
    async def answer(
        self,
        scope: str,
        key: str,
        fingerprint: bytes,
        *,
        status: int,
        body: bytes,
        location: str | None,
    ) -> None: ...
    async def forget(self, scope: str, key: str) -> None: ...
    async def run_submitted_with(self, key: str, since: float) -> str | None: ...


class ServerHost(Port, Protocol):
    """The runtime a server serves: the port, plus what serving HTTP needs."""

    @property
    def settings(self) -> Settings: ...

    async def submit(
        self,
        workflow: Workflow,
        *,
        force: bool = False,
        base_dir: Path | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """The port's submit, with metadata recorded on the run (how it came, its key)."""
        ...

    def stream_source(self) -> StreamSource: ...
    def idempotency_keys(self) -> KeyStore: ...
    async def readiness(self) -> dict[str, bool]:
        """Each check of `/readyz` (migrated, writable, supervisor, writer) and its answer."""
        ...

    async def metrics(self) -> RuntimeMetrics: ...
    async def announce(self, *, url: str) -> None:
        """Note the API's URL beside this process's name in the database (`owners`): commands
        on this machine find the server there."""
        ...
