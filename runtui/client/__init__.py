"""A client of a runtui server: the port (`runtui.api.Port`) over HTTP.

Imports neither the store, nor the actors, nor Textual: attaching to a server needs the domain
and httpx only.
"""

from runtui.client.errors import (
    ApiError,
    ConflictError,
    InvalidRequestError,
    RemoteNotFoundError,
    ServerError,
    ServerUnreachableError,
    UnauthorizedError,
)
from runtui.client.http import HttpClient
from runtui.client.token import read_token, token_file
from runtui.client.wire import Resync, RewindPlan
from runtui.domain.views import RunDetail

__all__ = [
    "ApiError",
    "ConflictError",
    "HttpClient",
    "InvalidRequestError",
    "RemoteNotFoundError",
    "Resync",
    "RewindPlan",
    "RunDetail",
    "ServerError",
    "ServerUnreachableError",
    "UnauthorizedError",
    "read_token",
    "token_file",
]
