"""The Gemini dialect: /v1beta (and /v1, which the SDK calls when only base_url is set).

Each route parses the wire body, translates it to a core request (protocol.gemini), hands it to the
serving layer, and renders the core result back; errors are rendered by api.errors. Plain and
streamed replies share one path and differ only in framing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from plantain.api import batches, files, imagen
from plantain.api.body import read_json
from plantain.api.deps import account_of, cost_headers, priority_of, require_key, service
from plantain.api.lifecycle import answered, cancel_token
from plantain.api.pages import next_token, page_start
from plantain.api.streaming import Run, started
from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument
from plantain.core.results import Result
from plantain.protocol import gemini as wire

router = APIRouter(dependencies=[Depends(require_key)])
# Vertex AI's express mode (`genai.Client(vertexai=True, api_key=...)`) names models under
# publishers/google/ and otherwise sends what the Developer API does.
vertex_router = APIRouter(dependencies=[Depends(require_key)])


def api_version(request: Request) -> str:
    return request.url.path.split("/", 2)[1]


def split_method(name: str) -> tuple[str, str]:
    model, sep, method = name.partition(":")
    return model, method if sep else ""


def entry_for(request: Request, model: str, method: str) -> ModelEntry:
    entry = service(request).catalog.get(model)
    if entry is None:
        raise wire.model_not_found(model, method, api_version(request))
    return entry


@router.get("/models")
@vertex_router.get("/models")
async def list_models(request: Request, pageSize: int = 50, pageToken: str = "") -> JSONResponse:
    """Every name the catalog answers to, aliases included, each with the entry that serves it.
    The body is also an OpenAI model list (`object`, `data`), for clients that list models the
    OpenAI way from the same /v1/models."""
    names = service(request).catalog.names()
    if not 1 <= pageSize <= 1000:
        pageSize = 50 if pageSize < 1 else 1000
    start = page_start(pageToken)
    if pageToken and start >= len(names):
        raise invalid_argument("Invalid page token.", "page_token")
    page = names[start : start + pageSize]
    prefix = model_prefix(request)
    body: dict[str, Any] = {
        "models": [wire.model_resource(e, name, prefix) for name, e in page],
        "object": "list",
        "data": [openai_model(name, e) for name, e in page],
    }
    if start + pageSize < len(names):
        body["nextPageToken"] = next_token(start + pageSize)
    return JSONResponse(body)


def openai_model(name: str, entry: ModelEntry) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": entry.licence or "plantain"}


def model_prefix(request: Request) -> str:
    return "publishers/google/models/" if "/publishers/google/" in request.url.path else "models/"


@router.get("/tunedModels")
async def list_tuned_models() -> JSONResponse:
    return JSONResponse({})


@router.get("/models/{name}")
@vertex_router.get("/models/{name}")
async def get_model(request: Request, name: str) -> JSONResponse:
    return JSONResponse(wire.model_resource(entry_for(request, name, "get"), name, model_prefix(request)))


@router.post("/models/{name}")
@vertex_router.post("/models/{name}")
async def model_method(request: Request, name: str) -> Response:
    model, method = split_method(name)
    if method in ("generateContent", "streamGenerateContent"):
        return await generate_content(request, model, stream=method == "streamGenerateContent")
    if method == "countTokens":
        return await count_tokens(request, model)
    if method == "predict":
        # Imagen's :predict shares Google's model paths; its own dialect answers it.
        return await imagen.predict(request, entry_for(request, model, method).id)
    if method == "batchGenerateContent":
        entry = entry_for(request, model, method)
        return await batches.create(
            request, model, entry, await read_json(request, service(request).settings.max_request_bytes)
        )
    if method == "embedContent":
        raise ServiceError(ErrorKind.UNIMPLEMENTED, f"Method {method} is not implemented by this server.")
    raise ServiceError(ErrorKind.NOT_FOUND, f"Method not found: models/{name}")


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\r\n\r\n"


async def generate_content(request: Request, model: str, stream: bool) -> Response:
    """generateContent, and streamGenerateContent as server-sent events: a thinking request's plan
    and its images forming as `thought` chunks, then the answer in one chunk with finishReason and
    usageMetadata. Every error that comes before the first chunk is an ordinary error reply."""
    svc = service(request)
    entry = entry_for(request, model, "streamGenerateContent" if stream else "generateContent")
    body = wire.parse_generate(await read_json(request, svc.settings.max_request_bytes))
    if body.model and body.model.rsplit("models/", 1)[-1] not in (entry.id, model):
        raise invalid_argument(f"the body names model {body.model!r} but the URL names models/{model}", "model")
    named = await files.resolve(request, wire.file_ids(body.contents))
    core = wire.to_core(entry.id, body, priority_of(request), stream, named)
    token = cancel_token(request, svc.settings)
    response_id = secrets.token_urlsafe(18)
    if stream:
        account = account_of(request, "gemini")
        run, first = await started(lambda feed: svc.generate(core, token, events=feed.push, account=account), token)
        events = chunks(run, first, entry.id, response_id)
        return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
    result = await answered(request, token, lambda: svc.generate(core, token, account=account_of(request, "gemini")))
    if result is None:
        return Response(status_code=499)
    return JSONResponse(wire.from_core(result, response_id), headers=cost_headers(result))


async def chunks(run: Run, first: Any, model: str, response_id: str) -> AsyncIterator[bytes]:
    try:
        async for item in run.rest(first):
            if isinstance(item, Result):
                yield sse(wire.from_core(item, response_id, with_thought=False))
            else:
                yield sse(wire.event_chunk(item, model, response_id))
    except ServiceError as exc:
        # Past the first chunk the status line is sent: the error is the stream's last event.
        yield sse(wire.error_body(exc))


async def count_tokens(request: Request, model: str) -> JSONResponse:
    svc = service(request)
    entry = entry_for(request, model, "countTokens")
    body = await read_json(request, svc.settings.max_request_bytes)
    parsed = wire.parse_count(body)
    contents = parsed.contents or (parsed.generate_content_request.contents if parsed.generate_content_request else [])
    named = await files.resolve(request, wire.file_ids(contents))
    tokens = svc.count_tokens(wire.count_request_to_core(entry.id, parsed, named))
    return JSONResponse(wire.count_tokens_reply(tokens.text, tokens.image))
