"""Who may talk to the server: a bearer token, a known Host, JSON for anything that changes.

The token is generated on first start and kept 0600 in the user config dir (or given by
`RUNTUI_TOKEN`); it is compared in constant time and never logged. Requests whose `Host` header
is not one of ours are refused (a browser tricked by DNS rebinding sends the attacker's name).
Mutations must be `application/json`: an HTML form cannot send that without a CORS preflight,
and the server grants no CORS at all.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import platformdirs
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

OPEN_PATHS = frozenset({"/healthz"})
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBLEM = "application/problem+json"


def token_path() -> Path:
    return Path(platformdirs.user_config_dir("runtui")) / "token"


def load_or_create_token(path: Path | None = None) -> str:
    """`RUNTUI_TOKEN` if set; else the stored token, created (0600) on first use."""
    env = os.environ.get("RUNTUI_TOKEN")
    if env:
        return env.strip()
    path = path or token_path()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class GuardMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str]) -> None:
        super().__init__(app)
        self._token = token.encode()
        self._hosts = {h.lower() for h in hosts}

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "").lower()
        if host not in self._hosts and host.rsplit(":", 1)[0] not in self._hosts:
            return problem(403, "Forbidden", f"unknown Host header {host!r}")
        if request.url.path not in OPEN_PATHS:
            auth = request.headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                response = problem(401, "Unauthorized", "a valid bearer token is required")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        if request.method in MUTATING:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return problem(
                    415, "Unsupported Media Type", "send the request body as application/json"
                )
        return await call_next(request)
