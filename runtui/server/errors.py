"""Every error the API gives, as problem+json (RFC 9457): unknown ids 404, bad parameters and
bodies 422 (naming the parameter, or the workflow's file, line and field), conflicts 409 (a
second decision names the first), and a crash 500 without its details (they go to the log)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from runtui.domain.errors import (
    NotFoundError,
    RuntuiError,
    UnavailableError,
    UnknownValueError,
    WorkflowError,
)
from runtui.server.security import problem

log = logging.getLogger("runtui.server.app")


def install_error_handlers(app: FastAPI, *, runtime: bool = True) -> None:
    """Map the domain's and the framework's errors to problem+json answers on `app`; with
    `runtime`, the runtime's own errors too (the API process, which only streams, runs none
    of the runtime and does not import it)."""

    # (a handler is found by the exception's class, most specific first)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> Response:
        return problem(404, "Not Found", str(exc))

    if runtime:
        _install_runtime_handlers(app)

    @app.exception_handler(UnknownValueError)
    async def _unknown(_: Request, exc: UnknownValueError) -> Response:
        return problem(422, "Unprocessable Content", str(exc), field=exc.field)

    @app.exception_handler(WorkflowError)
    async def _workflow(_: Request, exc: WorkflowError) -> Response:
        return problem(
            422,
            "Unprocessable Content",
            str(exc),
            source=exc.source,
            line=exc.line,
            field=exc.field,
        )

    @app.exception_handler(ValueError)
    async def _value(_: Request, exc: ValueError) -> Response:
        return problem(422, "Unprocessable Content", str(exc))

    @app.exception_handler(RuntuiError)
    async def _runtui(_: Request, exc: RuntuiError) -> Response:
        if isinstance(exc, UnavailableError):  # not now: the same request may succeed later
            return problem(503, "Service Unavailable", str(exc))
        if isinstance(exc, ValueError):  # a bad parameter (e.g. a cursor this server never gave)
            return problem(422, "Unprocessable Content", str(exc))
        return problem(409, "Conflict", str(exc))

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
        log.error("request failed: %s: %s", type(exc).__name__, exc)
        return problem(500, "Internal Server Error", "the server failed; see its log")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _install_runtime_handlers(app: FastAPI) -> None:
    from actors.gates import ApprovalAlreadyDecided
    from actors.runtime import RunActiveError, WorkflowBlockedError

    @app.exception_handler(ApprovalAlreadyDecided)
    async def _decided(_: Request, exc: ApprovalAlreadyDecided) -> Response:
        return problem(409, "Conflict", str(exc), first_decision=exc.first)

    @app.exception_handler(RunActiveError)
    async def _active(_: Request, exc: RunActiveError) -> Response:
        return problem(409, "Conflict", str(exc))

    @app.exception_handler(WorkflowBlockedError)
    async def _blocked(_: Request, exc: WorkflowBlockedError) -> Response:
        return problem(409, "Conflict", str(exc))
