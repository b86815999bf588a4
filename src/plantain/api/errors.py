"""Every error leaves the server in the format of the route it was sent to.

Routers and the layers below raise core `ServiceError`s; here each is rendered by the dialect whose
path prefix the request's URL starts with (Gemini's for everything else). Framework errors (no such
route, wrong method) and bugs become core errors first, so they take the same road.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from plantain.core.errors import ErrorKind, ServiceError, invalid_argument
from plantain.protocol import gemini, openai

log = logging.getLogger("plantain.api")


@dataclass(frozen=True)
class ErrorFormat:
    prefixes: tuple[str, ...]  # the URL paths this dialect answers under
    render: Callable[[ServiceError], Response]


def retry_headers(error: ServiceError) -> dict[str, str] | None:
    if error.retry_after is None:
        return None
    return {"Retry-After": str(max(1, round(error.retry_after)))}


def gemini_response(error: ServiceError) -> Response:
    return JSONResponse(
        gemini.error_body(error),
        status_code=gemini.error_status(error),
        headers=retry_headers(error),
        media_type="application/json; charset=UTF-8",
    )


def openai_response(error: ServiceError) -> Response:
    headers = retry_headers(error) or {}
    # The SDK retries 429s and 5xx by itself; this says when a retry cannot help.
    headers["x-should-retry"] = "true" if openai.should_retry(error) else "false"
    return JSONResponse(openai.error_body(error), status_code=openai.error_status(error), headers=headers)


GEMINI = ErrorFormat(("/v1beta/", "/v1/", "/v1beta1/"), gemini_response)
OPENAI = ErrorFormat(("/v1/images/", "/openai/v1/"), openai_response)
_KIND_BY_CODE = {
    400: ErrorKind.INVALID,
    401: ErrorKind.UNAUTHENTICATED,
    403: ErrorKind.PERMISSION_DENIED,
    404: ErrorKind.NOT_FOUND,
    405: ErrorKind.METHOD_NOT_ALLOWED,
    408: ErrorKind.SLOW_BODY,
    413: ErrorKind.TOO_LARGE,
    429: ErrorKind.EXHAUSTED,
    501: ErrorKind.UNIMPLEMENTED,
    503: ErrorKind.UNAVAILABLE,
    504: ErrorKind.DEADLINE,
}


def install(app: FastAPI, formats: list[ErrorFormat]) -> None:
    def render(request: Request, error: ServiceError) -> Response:
        path = request.url.path
        # The first format whose prefix matches; the last one answers every other path.
        chosen = next((f for f in formats if any(path.startswith(p) for p in f.prefixes)), formats[-1])
        return chosen.render(error)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        return render(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = _KIND_BY_CODE.get(exc.status_code, ErrorKind.INTERNAL)
        message = {404: f"Method not found: {request.url.path}", 405: "Method not allowed."}.get(
            exc.status_code, str(exc.detail)
        )
        return render(request, ServiceError(kind, message))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(x) for x in first["loc"])
        return render(request, invalid_argument(f"Invalid value at '{where}': {first['msg']}", where))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _store_down(request: Request, exc: Exception) -> Response:
        # The database unreachable (or SQLite busy past its timeout): nothing was written, so the
        # request can be sent again once it is back; every transaction either committed or did not.
        log.error("the store is unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
        return render(
            request, ServiceError(ErrorKind.UNAVAILABLE, "The store is unavailable; retry shortly.", retry_after=5)
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        # A bug, not the client's fault: logged in full here, never sent as a traceback.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(request, ServiceError(ErrorKind.INTERNAL, "An internal error has occurred."))
