"""A client of a runtui server: the `RuntimeClient` the UI and the CLI use over HTTP.

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
from runtui.client.http import HttpClient, Resync, RewindPlan, RunDetail, read_token, token_file

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
