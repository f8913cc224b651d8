"""One error hierarchy for the whole product, by meaning.

The core raises narrow, typed errors; every one of them that a user can cause is one of five
kinds, and the front ends map the kind, never the narrow class, so a refusal has the same exit
code and HTTP status however the run is driven (the HTTP client raises the same kinds):

| kind | means | HTTP | exit |
|---|---|---|---|
| `NotFoundError` | no such run, approval, workflow | 404 | 3 |
| `InvalidInputError` | fix the request (a workflow file, a parameter, a setting) | 422 | 2 |
| `ConflictError` | not in the run's present state (decided, active, blocked) | 409 | 2 |
| `UnauthorizedError` | the token or host was refused | 401 | 2 |
| `UnavailableError` | not now: the runtime or database cannot take it yet | 503 | 1 |

Every error carries enough context (field, file, line, run) to be actionable without a
traceback.
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


class InvalidInputError(RuntuiError, ValueError):
    """The request itself is wrong (a workflow, a parameter, a setting): fix it and retry."""


class ConflictError(RuntuiError):
    """The request does not fit the present state (an approval already decided, a run still
    active, a blocked workflow, a run with nothing to approve)."""


class UnauthorizedError(RuntuiError):
    """The credentials (the bearer token, the Host header) were refused."""


class UnknownValueError(InvalidInputError):
    """A string that is not a member of the closed set it claims to belong to."""

    def __init__(self, field: str, value: object, allowed: list[str]) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: unknown value {value!r}; expected one of: {', '.join(allowed)}")


class ConfigError(InvalidInputError):
    """Configuration that cannot be used; the message names the source and the field."""


class EventDecodeError(InvalidInputError):
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


class DatabaseLockedError(StoreError, UnavailableError):
    """An older runtui, from before ownership per run, holds the database alone; the message
    names it."""


class DatabaseUnusableError(StoreError):
    """The database file cannot be opened or used as asked: a permission, a read-only file
    system, a path that is no directory, a damaged file. The message names the file and the
    cause (exit 1, never "internal error")."""


class MigrationError(StoreError, ConflictError):
    """The schema cannot be brought to the version this build needs."""


class NotFoundError(RuntuiError, LookupError):
    """An id that does not exist."""


class WorkflowError(InvalidInputError):
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


#: Each kind's HTTP status and exit code (see the module docstring): the one table every front
#: end maps by, so a refusal means the same however it was asked for.
KINDS: tuple[tuple[type[RuntuiError], int, int], ...] = (
    (NotFoundError, 404, 3),
    (InvalidInputError, 422, 2),
    (ConflictError, 409, 2),
    (UnauthorizedError, 401, 2),
    (UnavailableError, 503, 1),
)


def kind_of(exc: BaseException) -> tuple[type[RuntuiError], int, int] | None:
    """(kind, HTTP status, exit code) of an error runtui raised on purpose, or None."""
    for kind in KINDS:
        if isinstance(exc, kind[0]):
            return kind
    return None


class ApprovalAlreadyDecided(ConflictError):
    """A second decision on an approval; the message names the first ("approve by ann")."""

    def __init__(self, approval_id: str, first: str) -> None:
        self.approval_id = approval_id
        self.first = first
        super().__init__(f"approval {approval_id} was already decided: {first}")


class WorkflowBlockedError(ConflictError):
    """The workflow's recent runs all failed; it refuses new runs until cleared."""


class RunActiveError(ConflictError):
    """The run is still active; stop it first (or force)."""


class RunOwnedError(ConflictError):
    """The run is driven by another process (it holds the run's lease); what it is asked goes
    to that process as a command, or waits for its lease to expire."""

    def __init__(self, run_id: str, holder: str) -> None:
        self.run_id = run_id
        self.holder = holder
        super().__init__(f"run {run_id} is driven by {holder}")


class RunFencedError(ConflictError):
    """This process lost a run's lease (another claimed it after this one stopped renewing):
    nothing more of it may be written from here."""

    def __init__(self, run_ids: set[str] | frozenset[str]) -> None:
        self.run_ids = frozenset(run_ids)
        names = ", ".join(sorted(run_ids)[:5])
        super().__init__(
            f"run(s) {names} are driven by another process now (this one lost the lease):"
            " not written"
        )
