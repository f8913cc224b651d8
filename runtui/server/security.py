"""Who may talk to the server: a bearer token, a known Host, JSON for anything that changes.

The token is generated on first start and kept 0600 in the user config dir (or given by
`RUNTUI_TOKEN`); it is compared in constant time and never logged. Requests whose `Host` header
is not one of ours are refused (a browser tricked by DNS rebinding sends the attacker's name).
A mutation's body must be `application/json` (a POST with no body at all may leave the type
out): an HTML form cannot send that without a CORS preflight, and the server grants no CORS.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import msgspec
import platformdirs
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

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


RouteMatcher = Callable[[Scope], bool]


class HostRule(msgspec.Struct, frozen=True):
    """The `Host` headers the server answers: its names, with or without the port; and, when
    it listens on every address (`any_ip`), any IP address too: DNS rebinding needs a name, and
    a server on 0.0.0.0 cannot know every address its clients reach it by."""

    names: frozenset[str]
    any_ip: bool = False

    def allows(self, header: str) -> bool:
        host = header.lower()
        bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host in self.names or bare in self.names:
            return True
        return self.any_ip and _is_ip(bare)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text[1:-1] if text.startswith("[") else text)
    except ValueError:
        return False
    return True


class GuardMiddleware:
    """Host, token and media-type checks in front of every route (pure ASGI: streamed
    responses pass through untouched).

    The JSON check applies to a mutating request only when a route takes that method at that
    path (`accepts`), so a method a path does not take still gets its 405 from the router.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        hosts: HostRule,
        accepts: RouteMatcher | None = None,
    ) -> None:
        self.app = app
        self._token = token.encode()
        self._hosts = hosts
        self._accepts = accepts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if not self._hosts.allows(host):
            return problem(
                403,
                "Forbidden",
                f"unknown Host header {host[:100]!r} (`runtui serve --allow-host NAME` makes"
                " the server answer to another name)",
            )
        if scope["path"] not in OPEN_PATHS:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                response = problem(401, "Unauthorized", "a valid bearer token is required")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        if scope["method"] in MUTATING and (self._accepts is None or self._accepts(scope)):
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            bodyless = (
                not ctype
                and headers.get("content-length", "0").strip() == "0"
                and "transfer-encoding" not in headers
            )
            if ctype != "application/json" and not bodyless:
                return problem(
                    415, "Unsupported Media Type", "send the request body as application/json"
                )
        return None
