"""The OpenAI Images wire format: generations (JSON) and edits (multipart), their translation into
core requests, replies and stream events built from core results, and core errors in OpenAI's shape.

Fields the user did not set are omitted or null (both read as unset). Unknown fields are refused
with OpenAI's `unknown_parameter`, so a typo surfaces instead of being ignored. Numbers and
booleans of a multipart edit arrive as strings and are read by the same model.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plantain.core.errors import ErrorKind, ServiceError, invalid_argument
from plantain.core.jobs import Priority
from plantain.core.requests import GenerationRequest, ImageInput, Turn
from plantain.core.results import ImageOut, Result, Usage

MAX_PROMPT_CHARS = 32_000
# Sampler effort by quality: a multiple of the model's own denoising steps, and the level reported.
QUALITY = {
    "low": (0.5, "low"),
    "medium": (1.0, "medium"),
    "standard": (1.0, "medium"),
    "auto": (1.0, "medium"),
    "high": (1.5, "high"),
    "hd": (1.5, "high"),
    "xhigh": (2.0, "xhigh"),
    "max": (2.5, "max"),
}
# The sizes OpenAI's models make, which apps send as they are: mapped to a model's nearest own size
# when it cannot draw them (any other size it cannot draw is refused, naming the sizes it can).
OPENAI_SIZES = frozenset({"256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"})
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS = {v: k for k, v in MIME_TYPES.items()}
# Newer OpenAI-only fields (animation, SVG, markup): refused by name, never ignored.
UNSUPPORTED = ("complexity", "frame_count", "frame_duration_ms", "svg", "markup")


class ImagesRequest(BaseModel):
    """The fields of a generation (JSON) or an edit (multipart text fields)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: str | None = None
    n: int | None = Field(default=None, ge=1, le=10)
    size: str | None = None
    quality: Literal["low", "medium", "high", "auto", "standard", "hd", "xhigh", "max"] | None = None
    response_format: Literal["b64_json", "url"] | None = None
    output_format: str | None = None
    output_compression: int | None = Field(default=None, ge=0, le=100)
    background: Literal["transparent", "opaque", "auto"] | None = None
    moderation: Literal["low", "auto"] | None = None
    style: Literal["vivid", "natural"] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    stream: bool | None = None
    partial_images: int | None = Field(default=None, ge=0, le=3)
    seed: int | None = Field(default=None, ge=0, lt=2**32)
    input_fidelity: Literal["high", "low"] | None = None
    # Refused with a clear message (UNSUPPORTED).
    complexity: Any = None
    frame_count: Any = None
    frame_duration_ms: Any = None
    svg: Any = None
    markup: Any = None


def validation_error(exc: ValidationError) -> ServiceError:
    err = exc.errors()[0]
    param = ".".join(str(x) for x in err["loc"]) or None
    if err["type"] == "extra_forbidden":
        return ServiceError(ErrorKind.INVALID, f"Unknown parameter: '{param}'.", param, code="unknown_parameter")
    if err["type"] == "missing":
        return ServiceError(
            ErrorKind.INVALID, f"Missing required parameter: '{param}'.", param, code="missing_required_parameter"
        )
    value = err.get("input")
    return ServiceError(
        ErrorKind.INVALID, f"Invalid value for '{param}': {value!r}. {err['msg']}.", param, code="invalid_value"
    )


def parse_images_request(body: Any) -> ImagesRequest:
    if not isinstance(body, dict):
        raise invalid_argument("The request body must be a JSON object.")
    # A null is an unset field (the SDK sends one when the user passes None).
    try:
        req = ImagesRequest.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        raise validation_error(exc) from exc
    for name in UNSUPPORTED:
        if getattr(req, name) is not None:
            raise ServiceError(
                ErrorKind.INVALID, f"'{name}' is not supported by this model.", name, code="unsupported_parameter"
            )
    if not req.prompt.strip():
        raise ServiceError(ErrorKind.INVALID, "'prompt' must not be empty.", "prompt", code="invalid_value")
    if len(req.prompt) > MAX_PROMPT_CHARS:
        raise ServiceError(
            ErrorKind.INVALID,
            f"'prompt' is {len(req.prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}.",
            "prompt",
            code="string_above_max_length",
        )
    return req


def wants_urls(req: ImagesRequest) -> bool:
    """Whether the images go back as URLs: when asked, and by default for the DALL-E names, which
    answer with URLs unless told otherwise (clients written for them read `data[i].url`)."""
    if req.response_format is not None:
        return req.response_format == "url"
    return (req.model or "").startswith("dall-e")


def output_mime_type(req: ImagesRequest) -> str:
    fmt = (req.output_format or "png").lower()
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in MIME_TYPES:
        raise ServiceError(
            ErrorKind.INVALID,
            f"Invalid value for 'output_format': {req.output_format!r}. Supported values are: 'png', 'jpeg', 'webp'.",
            "output_format",
            code="invalid_value",
        )
    return MIME_TYPES[fmt]


def parse_size(size: str | None) -> tuple[int, int] | None:
    """(width, height) of "WxH"; None for "auto" or no size."""
    if size is None or size == "auto":
        return None
    m = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", size)
    if m is None or not all(16 <= int(v) <= 16384 for v in m.groups()):
        raise ServiceError(
            ErrorKind.INVALID,
            f"Invalid value for 'size': {size!r}. Use 'auto' or 'WIDTHxHEIGHT' in pixels, each side 16 to 16384 "
            "(for example '1024x1024', '1536x1024', '1024x1536').",
            "size",
            code="invalid_value",
        )
    return int(m[1]), int(m[2])


def quality_of(req: ImagesRequest) -> tuple[float, str]:
    return QUALITY[req.quality or "auto"]


def to_core(
    model: str,
    req: ImagesRequest,
    images: list[ImageInput] | None = None,
    mask: ImageInput | None = None,
    priority: Priority = Priority.INTERACTIVE,
) -> GenerationRequest:
    if req.background == "transparent":
        raise ServiceError(
            ErrorKind.INVALID,
            f"'background': 'transparent' is not supported by models/{model}: it draws opaque images.",
            "background",
            code="unsupported_value",
        )
    size = parse_size(req.size)
    effort, _ = quality_of(req)
    mime = output_mime_type(req)
    return GenerationRequest(
        model=model,
        turns=[Turn("user", [req.prompt], list(images or []))],
        modalities=frozenset({"IMAGE"}),
        width=size[0] if size else None,
        height=size[1] if size else None,
        candidate_count=req.n or 1,
        seed=req.seed,
        effort=effort,
        mask=mask,
        mask_convention="alpha",
        output_mime_type=mime,
        output_quality=req.output_compression if mime != "image/png" else None,
        snap_size=True,
        fit_size=(req.size or "").replace(" ", "") in OPENAI_SIZES,
        previews=(req.partial_images or 0) if req.stream else 0,
        priority=priority,
    )


def usage(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"text_tokens": u.prompt_text_tokens, "image_tokens": u.prompt_image_tokens},
        "output_tokens": u.output_tokens + u.thought_tokens,
        "output_tokens_details": {
            "text_tokens": u.output_text_tokens + u.thought_tokens,
            "image_tokens": u.output_image_tokens,
        },
        "total_tokens": u.total_tokens,
    }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def size_of(image: ImageOut) -> str:
    return f"{image.width}x{image.height}"


def delivered(result: Result) -> list[ImageOut]:
    """The images to send; a prompt the safety stage blocked, or images all withheld, are OpenAI's
    content-policy error (a 400)."""
    if result.blocked is not None:
        raise ServiceError(
            ErrorKind.INVALID,
            f"Your request was rejected by the safety system: {result.blocked.message}",
            "prompt",
            code="content_policy_violation",
        )
    if result.nothing_delivered:
        reason = next(iter(result.withheld.values())).message
        raise ServiceError(
            ErrorKind.INVALID, f"The image was withheld by the safety system: {reason}", code="content_policy_violation"
        )
    return result.images


def images_response(result: Result, req: ImagesRequest, created: int, urls: list[str] | None = None) -> dict[str, Any]:
    """An ImagesResponse; `urls` replaces the inline images when the client asked for URLs."""
    images = delivered(result)
    data = [{"url": u} for u in urls] if urls is not None else [{"b64_json": b64(im.data)} for im in images]
    body: dict[str, Any] = {
        "created": created,
        "background": "opaque",
        "data": data,
        "output_format": EXTENSIONS[images[0].mime_type] if images else "png",
        "quality": quality_of(req)[1],
        "size": size_of(images[0]) if images else "",
        "usage": usage(result.usage),
    }
    if req.safety_identifier or req.user:
        body["safety_identifier"] = req.safety_identifier or req.user
    return body


def stream_event(kind: Literal["generation", "edit"], event: str, image: ImageOut, req: ImagesRequest, created: int,
                 partial_index: int | None = None, result_usage: Usage | None = None) -> dict[str, Any]:  # fmt: skip
    """One stream event: `event` is "partial_image" or "completed"."""
    prefix = "image_generation" if kind == "generation" else "image_edit"
    body: dict[str, Any] = {
        "type": f"{prefix}.{event}",
        "b64_json": b64(image.data),
        "created_at": created,
        "size": size_of(image),
        "quality": quality_of(req)[1],
        "background": "opaque",
        "output_format": EXTENSIONS[image.mime_type],
    }
    if partial_index is not None:
        body["partial_image_index"] = partial_index
    if result_usage is not None:
        body["usage"] = usage(result_usage)
    return body


# How each kind of error reads in OpenAI's vocabulary: HTTP status, error type, default code.
STATUS: dict[ErrorKind, tuple[int, str, str | None]] = {
    ErrorKind.INVALID: (400, "invalid_request_error", "invalid_value"),
    ErrorKind.TOO_LARGE: (400, "invalid_request_error", "request_too_large"),
    ErrorKind.SLOW_BODY: (408, "invalid_request_error", "request_timeout"),
    ErrorKind.UNAUTHENTICATED: (401, "invalid_request_error", "invalid_api_key"),
    ErrorKind.KEY_INVALID: (401, "invalid_request_error", "invalid_api_key"),
    ErrorKind.PERMISSION_DENIED: (403, "invalid_request_error", "model_not_allowed"),
    ErrorKind.NOT_FOUND: (404, "invalid_request_error", "not_found"),
    ErrorKind.EXHAUSTED: (429, "requests", "rate_limit_exceeded"),
    ErrorKind.CANCELLED: (499, "invalid_request_error", "cancelled"),
    ErrorKind.DEADLINE: (504, "server_error", "timeout"),
    ErrorKind.UNAVAILABLE: (503, "server_error", "model_unavailable"),
    ErrorKind.UNIMPLEMENTED: (501, "invalid_request_error", "unsupported"),
    ErrorKind.METHOD_NOT_ALLOWED: (405, "invalid_request_error", "method_not_allowed"),
    ErrorKind.INTERNAL: (500, "server_error", None),
}
# Core field names as OpenAI's parameters.
PARAMS = {"candidate_count": "n", "image_size": "size", "aspect_ratio": "size"}


def error_status(error: ServiceError) -> int:
    return STATUS[error.kind][0]


def error_body(error: ServiceError) -> dict[str, Any]:
    _, kind, code = STATUS[error.kind]
    message = error.message
    if error.kind in (ErrorKind.UNAUTHENTICATED, ErrorKind.KEY_INVALID):
        message = (
            "You didn't provide an API key: send it as 'Authorization: Bearer KEY'."
            if error.kind is ErrorKind.UNAUTHENTICATED
            else "Incorrect API key provided."
        )
    param = PARAMS.get(error.field, error.field) if error.field else None
    if error.quota is not None and error.retry_after is None:
        kind, code = "insufficient_quota", "insufficient_quota"  # a spent budget: no retry helps
    return {"error": {"message": message, "type": kind, "param": param, "code": error.code or code}}


def should_retry(error: ServiceError) -> bool:
    """Whether the SDK's automatic retry can help (x-should-retry)."""
    if error.kind is ErrorKind.EXHAUSTED and error.quota is not None and error.retry_after is None:
        return False
    return error.kind in (ErrorKind.EXHAUSTED, ErrorKind.UNAVAILABLE, ErrorKind.DEADLINE, ErrorKind.INTERNAL)


def model_not_found(model: str) -> ServiceError:
    return ServiceError(
        ErrorKind.NOT_FOUND,
        f"The model `{model}` does not exist or you do not have access to it.",
        "model",
        code="model_not_found",
    )


def model_object(name: str, owner: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": owner}
