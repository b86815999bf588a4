"""The OpenAI Images dialect: /v1/images/generations (JSON), /v1/images/edits (multipart) and the
images it serves by URL.

Each route parses the wire body (protocol.openai), hands a core request to the serving layer and
renders the core result; errors are rendered by api.errors in OpenAI's shape. With `stream: true`
the reply is server-sent events: the first image's previews as they form, then each image's
completed event (later images' previews are held back until their turn, because OpenAI's events
carry no image index and clients read them in order).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from plantain.api.body import read_body, read_json
from plantain.api.content import ContentStore
from plantain.api.deps import account_of, cost_headers, priority_of, require_key, service
from plantain.api.lifecycle import answered, cancel_token
from plantain.api.streaming import Run, started
from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.prices import usd
from plantain.core.requests import GenerationRequest, ImageInput
from plantain.core.results import ImageOut, Preview, Result, Usage
from plantain.imaging.decode import sniff_mime_type
from plantain.protocol import openai as wire

router = APIRouter(dependencies=[Depends(require_key)])
# Images by URL are fetched by whoever holds the link (a browser, an <img> tag): no key, as OpenAI's.
content_router = APIRouter()


def content_store(request: Request) -> ContentStore:
    store: ContentStore | None = getattr(request.app.state, "content", None)
    if store is None:
        settings = service(request).settings
        store = request.app.state.content = ContentStore(settings.data_dir / "images", settings.image_url_ttl)
    return store


def model_of(request: Request, name: str | None) -> str:
    svc = service(request)
    name = name or svc.settings.default_model or next(iter(svc.catalog.models))
    entry = svc.catalog.get(name)
    if entry is None:
        raise wire.model_not_found(name)
    return entry.id


@router.post("/images/generations")
async def generations(request: Request) -> Response:
    body = wire.parse_images_request(await read_json(request, service(request).settings.max_request_bytes))
    core = wire.to_core(model_of(request, body.model), body, priority=priority_of(request))
    return await answer(request, "generation", body, core)


@router.post("/images/edits")
async def edits(request: Request) -> Response:
    fields, images, mask = await read_edit_form(request)
    body = wire.parse_images_request(fields)
    core = wire.to_core(model_of(request, body.model), body, images, mask, priority_of(request))
    return await answer(request, "edit", body, core)


async def read_edit_form(request: Request) -> tuple[dict[str, Any], list[ImageInput], ImageInput | None]:
    """The text fields, the images (fields `image`, `image[]`, in order) and the mask of an edit."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ServiceError(
            ErrorKind.INVALID,
            "Image edits are sent as multipart/form-data, with the image as a file field named 'image'.",
            "image",
            code="invalid_request",
        )
    # Read within the size limit first; the form parser then reads the body from memory.
    request._body = await read_body(request, service(request).settings.max_request_bytes)
    try:
        form = await request.form(max_files=32, max_fields=64)
    except MultiPartException as exc:
        raise ServiceError(ErrorKind.INVALID, f"The multipart body cannot be read: {exc.message}") from exc
    fields: dict[str, Any] = {}
    images: list[ImageInput] = []
    mask: ImageInput | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            if name in ("image", "image[]"):
                images.append(ImageInput(data, sniff_mime_type(data), f"image[{len(images)}]"))
            elif name == "mask":
                mask = ImageInput(data, sniff_mime_type(data), "mask")
            else:
                fields[name] = "<file>"  # refused as an unknown parameter by name
        else:
            fields[name] = value
    if not images:
        raise ServiceError(
            ErrorKind.INVALID, "Missing required parameter: 'image'.", "image", code="missing_required_parameter"
        )
    return fields, images, mask


async def answer(
    request: Request, kind: Literal["generation", "edit"], body: wire.ImagesRequest, core: GenerationRequest
) -> Response:
    svc = service(request)
    created = int(time.time())
    token = cancel_token(request, svc.settings)
    if body.stream:
        account = account_of(request, "openai")
        run, first = await started(lambda feed: svc.generate(core, token, events=feed.push, account=account), token)
        events = stream_events(run, first, kind, body, created)
        return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
    result = await answered(request, token, lambda: svc.generate(core, token, account=account_of(request, "openai")))
    if result is None:
        return Response(status_code=499)
    urls = None
    if wire.wants_urls(body):
        store = content_store(request)
        base = svc.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        images = wire.delivered(result)
        names = await anyio.to_thread.run_sync(
            lambda: [store.put(im.data, wire.EXTENSIONS[im.mime_type]) for im in images]
        )
        urls = [f"{base}/v1/images/content/{name}" for name in names]
    return JSONResponse(wire.images_response(result, body, created, urls), headers=cost_headers(result))


def event(payload: dict[str, Any]) -> bytes:
    name = payload.get("type", "error")
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


async def stream_events(
    run: Run, first: Any, kind: Literal["generation", "edit"], body: wire.ImagesRequest, created: int
) -> AsyncIterator[bytes]:
    held: dict[int, list[ImageOut]] = {}  # previews of images after the first, sent in their turn
    sent = 0  # partials of image 0 already sent
    try:
        async for item in run.rest(first):
            if isinstance(item, Preview):
                if item.index == 0:
                    yield event(wire.stream_event(kind, "partial_image", item.image, body, created, sent))
                    sent += 1
                else:
                    held.setdefault(item.index, []).append(item.image)
            elif isinstance(item, Result):
                images = wire.delivered(item)
                for i, image in enumerate(images):
                    for j, partial in enumerate(held.get(i, []) if i else []):
                        yield event(wire.stream_event(kind, "partial_image", partial, body, created, j))
                    share = image_usage(item.usage, i, len(images))
                    completed = wire.stream_event(kind, "completed", image, body, created, None, share)
                    if i == len(images) - 1 and item.cost_micro_usd is not None:
                        # A stream's headers leave before its cost is known: the last event carries it.
                        completed["plantain_cost_usd"] = usd(item.cost_micro_usd)
                    yield event(completed)
    except ServiceError as exc:
        yield event(wire.error_body(exc))


def image_usage(usage: Usage, index: int, count: int) -> Usage:
    """One image's share of a request's usage, so that the completed events add up to it: the
    prompt is counted with the first image, the output tokens are split evenly."""
    each = usage.output_image_tokens // count
    extra = usage.output_image_tokens - each * count if index == 0 else 0
    return Usage(
        prompt_text_tokens=usage.prompt_text_tokens if index == 0 else 0,
        prompt_image_tokens=usage.prompt_image_tokens if index == 0 else 0,
        output_image_tokens=each + extra,
        output_text_tokens=usage.output_text_tokens if index == 0 else 0,
        images=1,
        size_tier=usage.size_tier,
        thought_tokens=usage.thought_tokens if index == 0 else 0,
    )


@content_router.get("/images/content/{name}")
async def content(request: Request, name: str) -> Response:
    data = content_store(request).get(name)
    if data is None:
        raise ServiceError(ErrorKind.NOT_FOUND, "This image does not exist or its link has expired.")
    ext = name.rsplit(".", 1)[-1]
    return Response(data, media_type=wire.MIME_TYPES[ext], headers={"cache-control": "private, max-age=3600"})
