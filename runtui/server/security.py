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
import re
import secrets
from collections.abc import Callable, Mapping
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


class TokensFileError(ValueError):
    """The named-tokens file is unreadable or malformed (the message names file and line)."""


#: A token's name: what a decision made with it is recorded under (`decided_by`).
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
MIN_TOKEN_CHARS = 16


def read_tokens_file(path: Path) -> dict[str, str]:
    """`name token` per line (`#` comments and blank lines skipped): name → token."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokensFileError(f"{path}: cannot read the tokens file: {exc}") from None
    named: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{path}:{number}"
        parts = text.split()
        if len(parts) != 2:
            raise TokensFileError(f"{where}: expected `name token`, got {len(parts)} field(s)")
        name, token = parts
        if not _TOKEN_NAME.fullmatch(name):
            raise TokensFileError(
                f"{where}: the name {name[:70]!r} must be letters, digits and . _ @ + -"
                " (up to 64, starting with a letter or digit)"
            )
        if len(token) < MIN_TOKEN_CHARS:
            raise TokensFileError(
                f"{where}: the token of {name} is too short (at least {MIN_TOKEN_CHARS} characters)"
            )
        if name in named:
            raise TokensFileError(f"{where}: {name} is named twice")
        if token in named.values():
            raise TokensFileError(f"{where}: the token of {name} is another name's token too")
        named[name] = token
    return named


class Tokens:
    """The bearer tokens a server takes, each with a name: a decision made through the API is
    recorded under the name of the token that authenticated it (who actually decided, as far
    as the server can know), not under a name the client merely says."""

    def __init__(self, named: Mapping[str, str]) -> None:
        self._named = [(name, token.encode()) for name, token in named.items()]

    @classmethod
    def of(cls, token: str, file: Path | None = None, *, name: str | None = None) -> Tokens:
        """The server's own token (named after who runs the server, by default), and the
        named ones of `file` (`RUNTUI_API_TOKENS_FILE`)."""
        from runtui.identity import who_decides

        named = {name or who_decides(): token}
        for extra, value in (read_tokens_file(file) if file is not None else {}).items():
            if value == token:
                raise TokensFileError(f"{file}: {extra}'s token is the server's own token")
            named[extra] = value
        return cls(named)

    def caller(self, given: str) -> str | None:
        """The name of the token `given` is, or None. Every token is compared (in constant
        time each), so how long it takes says nothing about which one nearly matched."""
        found = None
        raw = given.encode()
        for name, token in self._named:
            if hmac.compare_digest(raw, token):
                found = name
        return found

    def as_list(self) -> list[tuple[str, str]]:
        """(name, token) pairs, for the API's front process."""
        return [(name, token.decode()) for name, token in self._named]


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
        token: str | Tokens,
        hosts: HostRule,
        accepts: RouteMatcher | None = None,
    ) -> None:
        self.app = app
        self._tokens = token if isinstance(token, Tokens) else Tokens({"api": token})
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
            caller = self._tokens.caller(given.strip()) if scheme.lower() == "bearer" else None
            if caller is None:
                response = problem(401, "Unauthorized", "a valid bearer token is required")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
            scope.setdefault("state", {})["caller"] = caller  # `request.state.caller`
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
