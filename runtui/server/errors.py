"""Every error the API gives, as problem+json (RFC 9457), by the domain's error kinds: unknown
ids 404, bad parameters and bodies 422 (naming the parameter, or the workflow's file, line and
field), conflicts 409 (a second decision names the first), refused credentials 401, not now
503, and a crash 500 without its details (they go to the log)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from runtui.domain.errors import RuntuiError, kind_of
from runtui.server.security import problem

log = logging.getLogger("runtui.server.app")


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's and the framework's errors to problem+json answers on `app`. The
    domain's are mapped by their kind only (`runtui.domain.errors.KINDS`), so the runtime's
    own classes need no import here (the API process runs none of the runtime)."""

    # (a handler is found by the exception's class, most specific first)

    @app.exception_handler(ValueError)
    async def _value(_: Request, exc: ValueError) -> Response:
        if isinstance(exc, RuntuiError):
            return _by_kind(exc)
        return problem(422, "Unprocessable Content", str(exc))

    @app.exception_handler(LookupError)
    async def _lookup(_: Request, exc: LookupError) -> Response:
        if isinstance(exc, RuntuiError):
            return _by_kind(exc)
        return _crashed(exc)

    @app.exception_handler(RuntuiError)
    async def _runtui(_: Request, exc: RuntuiError) -> Response:
        return _by_kind(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return problem(422, "Unprocessable Content", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI could not decode the body: a bad body, like others
            return problem(422, "Unprocessable Content", "body: not valid JSON text (UTF-8)")
        response = problem(exc.status_code, _title(exc.status_code), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:  # every method of the path (Starlette names one route's)
            allowed: set[str] = set()
            for route in app.router.routes:
                if route.matches(request.scope)[0] is not Match.NONE:
                    allowed |= getattr(route, "methods", None) or set()
            if allowed:
                response.headers["Allow"] = ", ".join(sorted(allowed))
        return response

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> Response:
        return _crashed(exc)


#: What an error may add to its answer, when it has it: the workflow's file, line and field,
#: the first decision of an approval decided twice.
DETAILS = ("source", "line", "field", "first")


def _by_kind(exc: RuntuiError) -> Response:
    """The answer for an error runtui raised on purpose: its kind's status (`KINDS`), and
    whatever details it carries."""
    kind = kind_of(exc)
    if kind is None:  # not a refusal a user can cause: a bug
        return _crashed(exc)
    status = kind[1]
    extra = {name: getattr(exc, name) for name in DETAILS if getattr(exc, name, None) is not None}
    if "first" in extra:
        extra["first_decision"] = extra.pop("first")
    return problem(status, _title(status), str(exc), **extra)


def _crashed(exc: BaseException) -> Response:
    log.error("request failed: %s: %s", type(exc).__name__, exc)
    return problem(500, "Internal Server Error", "the server failed; see its log")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
