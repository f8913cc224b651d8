"""One error hierarchy for the whole product.

The core raises narrow, typed errors; the CLI, server and UI decide how to show them. Every
error carries enough context (field, file, line, run) to be actionable without a traceback.
"""

from __future__ import annotations


class RuntuiError(Exception):
    """Base of every error runtui raises on purpose."""


class PhaseTransitionError(RuntuiError):
    """An edge that the phase table does not allow. The machine is left unchanged."""

    def __init__(self, from_phase: str, to_phase: str, run_id: str | None = None) -> None:
        self.from_phase = from_phase
        self.to_phase = to_phase
        self.run_id = run_id
        where = f" (run {run_id})" if run_id else ""
        super().__init__(f"illegal phase transition {from_phase} -> {to_phase}{where}")


class PhaseStatusInvariantError(RuntuiError):
    """A run status that its phase does not admit."""

    def __init__(self, phase: str, status: str, allowed: list[str]) -> None:
        self.phase = phase
        self.status = status
        self.allowed = allowed
        super().__init__(
            f"status {status!r} is not allowed in phase {phase}; allowed: {', '.join(allowed)}"
        )


class UnknownValueError(RuntuiError, ValueError):
    """A string that is not a member of the closed set it claims to belong to."""

    def __init__(self, field: str, value: object, allowed: list[str]) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: unknown value {value!r}; expected one of: {', '.join(allowed)}")


class ConfigError(RuntuiError):
    """Configuration that cannot be used; the message names the source and the field."""


class EventDecodeError(RuntuiError):
    """Bytes (or a constructed struct) that are not a valid event; names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class UnavailableError(RuntuiError):
    """Not now: the runtime or its database cannot take this at the moment (HTTP 503); the same
    request may succeed later, unchanged."""


class StoreError(RuntuiError):
    """Base of the store's errors."""


class StoreUnavailableError(StoreError, UnavailableError):
    """The database refuses writes (disk full, read-only, an I/O error): nothing of the refused
    request was written; the runtime waits until it takes writes again."""


class DatabaseLockedError(StoreError):
    """Another process owns the database; the message names it."""


class DatabaseUnusableError(StoreError):
    """The database file cannot be opened or used as asked: a permission, a read-only file
    system, a path that is no directory, a damaged file. The message names the file and the
    cause (exit 1, never "internal error")."""


class MigrationError(StoreError):
    """The schema cannot be brought to the version this build needs."""


class NotFoundError(RuntuiError, LookupError):
    """An id that does not exist."""


class WorkflowError(RuntuiError):
    """A workflow file (or text) that cannot be used.

    Each line of the message reads `FILE:LINE: FIELD_PATH: what is wrong` (LINE is left out when
    it cannot be found), so an editor can jump to it. `source`, `line` and `field` describe the
    first problem, for callers that want to show it structurally.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        super().__init__(message)
