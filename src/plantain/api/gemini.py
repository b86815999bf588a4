"""The Gemini dialect: /v1beta (and /v1, which the SDK calls when only base_url is set)."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from plantain.api.auth import check_key
from plantain.api.service import Service
from plantain.core.plan import check_token_limit, count_prompt_tokens, plan_generation, require_model
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
    if method == "countTokens":
        return await count_tokens(request, svc, model)
    if method in ("streamGenerateContent", "batchGenerateContent", "embedContent", "predict"):
        raise ApiError(501, "UNIMPLEMENTED", f"Method {method} is not implemented by this server.")
    raise ApiError(404, "NOT_FOUND", f"Method not found: models/{name}")


async def generate_content(request: Request, svc: Service, model: str) -> JSONResponse:
    entry = require_model(svc.catalog.get(model), model, "generateContent", api_version(request))
    body = await read_json(request, svc.settings.max_request_bytes)
    req = wire.parse_generate(body)
    if req.model and req.model.removeprefix("models/") != entry.id:
        raise invalid_argument(f"the body names model {req.model!r} but the URL names models/{entry.id}")
    core_req = wire.to_core(entry.id, req)
    # Decoding and checking input images is CPU work: off the event loop, like generation.
    plan = await anyio.to_thread.run_sync(plan_generation, entry, core_req, svc.settings.max_input_pixels)
    pngs = await svc.generate(plan)
    candidates = [
        {
            "content": {"role": "model", "parts": [wire.image_part(png, "image/png", svc.signature(png, entry.id))]},
            "finishReason": "STOP",
            "index": i,
        }
        for i, png in enumerate(pngs)
    ]
    usage = wire.usage_metadata(plan.prompt_tokens.text, plan.prompt_tokens.image, plan.image_output_tokens)
    return JSONResponse(
        {
            "candidates": candidates,
            "usageMetadata": usage,
            "modelVersion": entry.id,
            "responseId": secrets.token_urlsafe(18),
        }
    )


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
