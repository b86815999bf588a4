"""The Gemini dialect: /v1beta (and /v1, which the SDK calls when only base_url is set)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from plantain.api.answers import Answer, compose, plan_panels, text_only
from plantain.api.auth import check_key
from plantain.api.service import ClientGone, Service
from plantain.core.plan import Plan, check_token_limit, count_prompt_tokens, plan_generation, require_model
from plantain.core.requests import GenerationRequest
from plantain.engine.tickets import Priority
from plantain.errors import ApiError, invalid_argument
from plantain.protocol import gemini as wire

router = APIRouter()


def service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def api_version(request: Request) -> str:
    return "v1" if request.url.path.startswith("/v1/") else "v1beta"


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing more than `limit` bytes before reading them all."""
    declared = request.headers.get("content-length")
    too_big = ApiError(413, "INVALID_ARGUMENT", f"Request payload size exceeds the limit: {limit} bytes.")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid_argument("Invalid JSON payload received. The request body is empty.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_argument(f"Invalid JSON payload received. {exc}") from exc


def split_method(name: str) -> tuple[str, str]:
    model, sep, method = name.partition(":")
    return model, method if sep else ""


@router.get("/models")
async def list_models(request: Request, pageSize: int = 50, pageToken: str = "") -> JSONResponse:
    svc = service(request)
    check_key(request, svc.settings)
    if not 1 <= pageSize <= 1000:
        pageSize = 50 if pageSize < 1 else 1000
    start = 0
    if pageToken:
        try:
            start = int(base64.urlsafe_b64decode(pageToken.encode()).decode())
        except ValueError as exc:
            raise invalid_argument("Invalid page token.") from exc
        if start < 0 or start >= len(svc.catalog.models):
            raise invalid_argument("Invalid page token.")
    entries = list(svc.catalog.models.values())
    page = entries[start : start + pageSize]
    body: dict[str, Any] = {"models": [wire.model_resource(e) for e in page]}
    if start + pageSize < len(entries):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(start + pageSize).encode()).decode()
    return JSONResponse(body)


@router.get("/tunedModels")
async def list_tuned_models(request: Request) -> JSONResponse:
    check_key(request, service(request).settings)
    return JSONResponse({})


@router.get("/models/{name}")
async def get_model(request: Request, name: str) -> JSONResponse:
    svc = service(request)
    check_key(request, svc.settings)
    entry = require_model(svc.catalog.get(name), name, "get", api_version(request))
    return JSONResponse(wire.model_resource(entry))


@router.post("/models/{name}")
async def model_method(request: Request, name: str) -> JSONResponse:
    svc = service(request)
    check_key(request, svc.settings)
    model, method = split_method(name)
    if method == "generateContent":
        return await generate_content(request, svc, model)
    if method == "streamGenerateContent":
        return await stream_generate_content(request, svc, model)
    if method == "countTokens":
        return await count_tokens(request, svc, model)
    if method in ("batchGenerateContent", "embedContent", "predict"):
        raise ApiError(501, "UNIMPLEMENTED", f"Method {method} is not implemented by this server.")
    raise ApiError(404, "NOT_FOUND", f"Method not found: models/{name}")


def priority_of(request: Request) -> Priority:
    value = request.headers.get("x-plantain-priority", "interactive").lower()
    if value not in ("interactive", "batch"):
        raise invalid_argument("x-plantain-priority must be 'interactive' or 'batch'")
    return Priority.BATCH if value == "batch" else Priority.INTERACTIVE


async def make_plan(request: Request, svc: Service, model: str, method: str) -> tuple[Plan, GenerationRequest]:
    """Everything about a request is checked here, before any of it is queued."""
    entry = require_model(svc.catalog.get(model), model, method, api_version(request))
    body = await read_json(request, svc.settings.max_request_bytes)
    req = wire.parse_generate(body)
    if req.model and req.model.removeprefix("models/") != entry.id:
        raise invalid_argument(f"the body names model {req.model!r} but the URL names models/{entry.id}")
    core_req = wire.to_core(entry.id, req)
    # Decoding and checking input images is CPU work: off the event loop, like generation.
    plan = await anyio.to_thread.run_sync(plan_generation, entry, core_req, svc.settings.max_input_pixels)
    return plan, core_req


def reply(plan: Plan, answer: Answer, response_id: str) -> dict[str, Any]:
    candidates = [
        {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": i}
        for i, parts in enumerate(answer.candidates)
    ]
    usage = wire.usage_metadata(
        plan.prompt_tokens.text, plan.prompt_tokens.image, plan.image_output_tokens, answer.text_tokens
    )
    return {"candidates": candidates, "usageMetadata": usage, "modelVersion": plan.entry.id, "responseId": response_id}


async def generate_content(request: Request, svc: Service, model: str) -> Response:
    plan, core_req = await make_plan(request, svc, model, "generateContent")
    if plan.text_only:
        answer = await text_only(plan, core_req, svc.text)
        return JSONResponse(reply(plan, answer, secrets.token_urlsafe(18)))
    panels = await plan_panels(plan, svc.text)
    ticket = await svc.submit(plan, priority_of(request), svc.deadline(request))
    try:
        images = await svc.wait(ticket, request)
    except ClientGone:
        return Response(status_code=499)  # nobody is there to read it
    parts = await svc.encode(images, plan.entry.id)
    answer = await compose(plan, images, parts, panels, svc.text)
    headers = {"x-plantain-batch-size": str(ticket.batch_size)}
    return JSONResponse(reply(plan, answer, secrets.token_urlsafe(18)), headers=headers)


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\r\n\r\n"


async def stream_generate_content(request: Request, svc: Service, model: str) -> Response:
    """Server-sent events: errors found before the first byte are ordinary error replies; the image
    comes whole in one chunk with finishReason and the full usageMetadata."""
    plan, core_req = await make_plan(request, svc, model, "streamGenerateContent")
    response_id = secrets.token_urlsafe(18)
    headers = {"cache-control": "no-cache"}
    if plan.text_only:
        answer = await text_only(plan, core_req, svc.text)
        events_once = iter([sse(reply(plan, answer, response_id))])
        return StreamingResponse(events_once, media_type="text/event-stream", headers=headers)
    panels = await plan_panels(plan, svc.text)
    ticket = await svc.submit(plan, priority_of(request), svc.deadline(request))

    async def events() -> AsyncIterator[bytes]:
        try:
            images = await svc.wait(ticket, None)
            parts = await svc.encode(images, plan.entry.id)
            yield sse(reply(plan, await compose(plan, images, parts, panels, svc.text), response_id))
        except ApiError as exc:
            yield sse(wire.error_body(exc))
        finally:
            ticket.cancel()  # no-op once done; drops the work if the client left mid-stream

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


async def count_tokens(request: Request, svc: Service, model: str) -> JSONResponse:
    entry = require_model(svc.catalog.get(model), model, "countTokens", api_version(request))
    body = await read_json(request, svc.settings.max_request_bytes)
    core_req = wire.count_request_to_core(entry.id, wire.parse_count(body))
    tokens = count_prompt_tokens(entry, core_req)
    check_token_limit(entry, tokens)
    details = [{"modality": "TEXT", "tokenCount": tokens.text}]
    if tokens.image:
        details.append({"modality": "IMAGE", "tokenCount": tokens.image})
    return JSONResponse({"totalTokens": tokens.total, "promptTokensDetails": details})
