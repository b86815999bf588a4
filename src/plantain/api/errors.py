"""Every error leaves the server in Google's shape: {"error": {code, message, status, details?}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plantain.errors import ApiError
from plantain.protocol.gemini import error_body

log = logging.getLogger("plantain.api")
_STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error),
        status_code=error.http_code,
        headers=error.headers or None,
        media_type="application/json; charset=UTF-8",
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = _STATUS_BY_CODE.get(exc.status_code, "UNKNOWN")
        message = {404: f"Method not found: {request.url.path}", 405: "Method not allowed."}.get(
            exc.status_code, str(exc.detail)
        )
        return error_response(ApiError(exc.status_code, status, message))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(x) for x in first["loc"])
        return error_response(ApiError(400, "INVALID_ARGUMENT", f"Invalid value at '{where}': {first['msg']}"))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the client's fault: logged in full here, never sent as a traceback.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "INTERNAL", "An internal error has occurred."))
