"""The Gemini dialect: /v1beta (and /v1, which the SDK calls when only base_url is set).

Each route parses the wire body, translates it to a core request (protocol.gemini), hands it to the
serving layer, and renders the core result back; errors are rendered by api.errors. Plain and
streamed replies share one path and differ only in framing.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from plantain.api.auth import check_key
from plantain.api.body import read_json
from plantain.api.lifecycle import cancel_token, cancelled_on_disconnect
from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument
from plantain.core.jobs import Priority
from plantain.core.results import Result
from plantain.protocol import gemini as wire
from plantain.serving.service import Service


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def require_key(request: Request) -> str | None:
    return check_key(request, service(request).settings)


router = APIRouter(dependencies=[Depends(require_key)])


def api_version(request: Request) -> str:
    return "v1" if request.url.path.startswith("/v1/") else "v1beta"


def split_method(name: str) -> tuple[str, str]:
    model, sep, method = name.partition(":")
    return model, method if sep else ""


def entry_for(request: Request, model: str, method: str) -> ModelEntry:
    entry = service(request).catalog.get(model)
    if entry is None:
        raise wire.model_not_found(model, method, api_version(request))
    return entry


@router.get("/models")
async def list_models(request: Request, pageSize: int = 50, pageToken: str = "") -> JSONResponse:
    svc = service(request)
    if not 1 <= pageSize <= 1000:
        pageSize = 50 if pageSize < 1 else 1000
    start = 0
    if pageToken:
        try:
            start = int(base64.urlsafe_b64decode(pageToken.encode()).decode())
        except ValueError as exc:
            raise invalid_argument("Invalid page token.", "page_token") from exc
        if start < 0 or start >= len(svc.catalog.models):
            raise invalid_argument("Invalid page token.", "page_token")
    entries = list(svc.catalog.models.values())
    page = entries[start : start + pageSize]
    body: dict[str, Any] = {"models": [wire.model_resource(e) for e in page]}
    if start + pageSize < len(entries):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(start + pageSize).encode()).decode()
    return JSONResponse(body)


@router.get("/tunedModels")
async def list_tuned_models() -> JSONResponse:
    return JSONResponse({})


@router.get("/models/{name}")
async def get_model(request: Request, name: str) -> JSONResponse:
    return JSONResponse(wire.model_resource(entry_for(request, name, "get")))


@router.post("/models/{name}")
async def model_method(request: Request, name: str) -> Response:
    model, method = split_method(name)
    if method in ("generateContent", "streamGenerateContent"):
        return await generate_content(request, model, stream=method == "streamGenerateContent")
    if method == "countTokens":
        return await count_tokens(request, model)
    if method in ("batchGenerateContent", "embedContent", "predict"):
        raise ServiceError(ErrorKind.UNIMPLEMENTED, f"Method {method} is not implemented by this server.")
    raise ServiceError(ErrorKind.NOT_FOUND, f"Method not found: models/{name}")


def priority_of(request: Request) -> Priority:
    value = request.headers.get("x-plantain-priority", "interactive").lower()
    if value not in ("interactive", "batch"):
        raise invalid_argument("x-plantain-priority must be 'interactive' or 'batch'", "x-plantain-priority")
    return Priority.BATCH if value == "batch" else Priority.INTERACTIVE


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\r\n\r\n"


async def generate_content(request: Request, model: str, stream: bool) -> Response:
    """generateContent, and streamGenerateContent as server-sent events: the whole answer in one
    chunk with finishReason and usageMetadata, so every error comes before the first byte and is an
    ordinary error reply."""
    svc = service(request)
    entry = entry_for(request, model, "streamGenerateContent" if stream else "generateContent")
    body = wire.parse_generate(await read_json(request, svc.settings.max_request_bytes))
    if body.model and body.model.removeprefix("models/") != entry.id:
        raise invalid_argument(f"the body names model {body.model!r} but the URL names models/{entry.id}", "model")
    core = wire.to_core(entry.id, body, priority_of(request))
    async with cancelled_on_disconnect(request, cancel_token(request, svc.settings)) as token:
        try:
            result = await svc.generate(core, token)
        except ServiceError as exc:
            if exc.kind is ErrorKind.CANCELLED:
                return Response(status_code=499)  # the client has gone: nobody is there to read it
            raise
    reply = wire.from_core(result, secrets.token_urlsafe(18))
    headers = batch_header(result)
    if stream:
        headers["cache-control"] = "no-cache"
        return StreamingResponse(iter([sse(reply)]), media_type="text/event-stream", headers=headers)
    return JSONResponse(reply, headers=headers)


def batch_header(result: Result) -> dict[str, str]:
    return {"x-plantain-batch-size": str(result.batch_size)} if result.batch_size else {}


async def count_tokens(request: Request, model: str) -> JSONResponse:
    svc = service(request)
    entry = entry_for(request, model, "countTokens")
    body = await read_json(request, svc.settings.max_request_bytes)
    tokens = svc.count_tokens(wire.count_request_to_core(entry.id, wire.parse_count(body)))
    return JSONResponse(wire.count_tokens_reply(tokens.text, tokens.image))
