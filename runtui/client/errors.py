"""What a remote call can fail with, as the domain's own kinds of error.

The server answers errors as problem+json (`detail` says what is wrong); the client raises an
error of the kind the embedded runtime would have raised (`runtui.domain.errors.KINDS`), so the
CLI's exit codes and the TUI's notifications work the same either way: 404 a `NotFoundError`,
409 a `ConflictError` (a second decision names the first), 422 an `InvalidInputError`, 401/403
an `UnauthorizedError`, 503 or no answer at all an `UnavailableError`.
"""

from __future__ import annotations

from typing import Any

from runtui.domain.errors import ConflictError as DomainConflict
from runtui.domain.errors import (
    InvalidInputError,
    NotFoundError,
    RuntuiError,
    UnavailableError,
)
from runtui.domain.errors import UnauthorizedError as DomainUnauthorized


class ApiError(RuntuiError):
    """The server refused or failed a request; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int = 0, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}


class ConflictError(ApiError, DomainConflict):
    """409: the request conflicts with the run's state (a second decision on an approval, a run
    that must be stopped first, a blocked workflow, a run with nothing to approve)."""

    @property
    def first_decision(self) -> str | None:
        first = self.body.get("first_decision")
        return str(first) if first is not None else None


class InvalidRequestError(ApiError, InvalidInputError):
    """422: a bad parameter or body (an unknown status, a workflow file with errors)."""


class UnauthorizedError(ApiError, DomainUnauthorized):
    """401/403: the bearer token (or the Host header) was refused."""


class ServerUnreachableError(ApiError, UnavailableError):
    """No HTTP answer: nothing listens at the URL, the connection dropped, or it timed out."""


class ServiceUnavailableError(ApiError, UnavailableError):
    """503: the server cannot take this now (its database refuses writes, it is restarting its
    runtime); the same request may succeed later."""


class ServerError(ApiError):
    """5xx, or an answer the client cannot read: a bug on the server's side."""


class RemoteNotFoundError(ApiError, NotFoundError):
    """404 from the server (also a `NotFoundError`, so callers need not care where it came
    from)."""


__all__ = [
    "ApiError",
    "ConflictError",
    "InvalidRequestError",
    "RemoteNotFoundError",
    "ServerError",
    "ServerUnreachableError",
    "ServiceUnavailableError",
    "UnauthorizedError",
]
