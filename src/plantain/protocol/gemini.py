"""The Gemini v1beta wire format: request models, their translation into core requests, replies
built from core results, and core errors in Google's shape.

Requests accept camelCase and snake_case at every depth (the SDK sends both), reject unknown fields
like Google does, and decode base64 leniently (standard or URL-safe, padded or not). Replies are
camelCase with standard padded base64.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, FieldViolation, ServiceError, invalid_argument, not_found
from plantain.core.jobs import Priority
from plantain.core.requests import GenerationRequest, ImageInput, Turn
from plantain.core.results import Event, ImageOut, Result, TextOut, Thought, Usage
from plantain.core.sizes import pixel_size


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Blob(Wire):
    mime_type: str
    data: str


class FileData(Wire):
    file_uri: str
    mime_type: str | None = None


class Part(Wire):
    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    # Parts the image models do not take: refused with a clear message, never ignored.
    function_call: dict[str, Any] | None = None
    function_response: dict[str, Any] | None = None
    executable_code: dict[str, Any] | None = None
    code_execution_result: dict[str, Any] | None = None
    video_metadata: dict[str, Any] | None = None
    media_resolution: dict[str, Any] | str | None = None
    part_metadata: dict[str, Any] | None = None


class Content(Wire):
    role: str | None = None
    parts: list[Part] = Field(min_length=1)


class ImageConfig(Wire):
    aspect_ratio: str | None = None
    image_size: str | None = None


class ThinkingConfig(Wire):
    include_thoughts: bool | None = None
    thinking_level: str | None = None
    thinking_budget: int | None = None


# Proto enums may arrive as numbers: the legacy SDK asks for `enum-encoding=int` and sends them so.
MODALITY_NUMBERS = {0: "MODALITY_UNSPECIFIED", 1: "TEXT", 2: "IMAGE", 3: "AUDIO"}


class GenerationConfig(Wire):
    response_modalities: list[str | int] | None = None
    image_config: ImageConfig | None = None
    candidate_count: int | None = None
    seed: int | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    stop_sequences: list[str] | None = None
    thinking_config: ThinkingConfig | None = None
    media_resolution: str | int | None = None
    # Accepted as syntax, refused as features the image models lack.
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: Any = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    speech_config: dict[str, Any] | None = None
    enable_enhanced_civic_answers: bool | None = None
    audio_transcription_config: dict[str, Any] | None = None


class SafetySetting(Wire):
    category: str | int
    threshold: str | int


class GenerateContentRequest(Wire):
    contents: list[Content] = Field(min_length=1)
    model: str | None = None
    system_instruction: Content | None = None
    generation_config: GenerationConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_config: dict[str, Any] | None = None
    cached_content: str | None = None
    labels: dict[str, str] | None = None
    service_tier: str | None = None
    store: bool | None = None
    continuation_token: str | None = None


class CountTokensRequest(Wire):
    contents: list[Content] | None = None
    generate_content_request: GenerateContentRequest | None = None


_UNSUPPORTED_PART_FIELDS = (
    "function_call", "function_response", "executable_code", "code_execution_result", "video_metadata",
    "media_resolution", "part_metadata",
)  # fmt: skip
_UNSUPPORTED_CONFIG_FIELDS = (
    "response_mime_type", "response_schema", "response_json_schema", "presence_penalty", "frequency_penalty",
    "response_logprobs", "logprobs", "speech_config", "audio_transcription_config",
)  # fmt: skip


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", str(item)).lower()
            out += f".{snake}" if out else snake
    return out


def validation_error(exc: ValidationError) -> ServiceError:
    """Google's 400 for a body that does not fit the schema, naming each field."""
    violations: list[FieldViolation] = []
    messages: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            parent, name = _path(loc[:-1]), loc[-1]
            msg = f"Invalid JSON payload received. Unknown name \"{name}\" at '{parent}': Cannot find field."
            field = _path(loc)
        else:
            field = _path(loc)
            msg = f"Invalid value at '{field}': {err['msg']}"
        violations.append(FieldViolation(field, msg))
        messages.append(msg)
    error = invalid_argument(messages[0] if len(messages) == 1 else "\n".join(messages), violations[0].field)
    error.violations = violations
    return error


# Parts a request may hold in all its turns: far past any conversation, and a bound on the work a
# body within the size limit can ask for (20 MB of one-letter text parts would be millions).
MAX_PARTS = 1000


def check_parts(contents: list[Content]) -> None:
    count = sum(len(c.parts) for c in contents)
    if count > MAX_PARTS:
        raise invalid_argument(f"contents holds {count:,} parts; a request may hold at most {MAX_PARTS:,}", "contents")


def parse_generate(body: Any) -> GenerateContentRequest:
    try:
        req = GenerateContentRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    check_parts(req.contents)
    return req


def parse_count(body: Any) -> CountTokensRequest:
    try:
        req = CountTokensRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    if (req.contents is None) == (req.generate_content_request is None):
        raise invalid_argument("countTokens takes exactly one of 'contents' or 'generateContentRequest'")
    check_parts(req.contents if req.contents is not None else req.generate_content_request.contents)  # type: ignore[union-attr]
    return req


def b64decode_lenient(data: str, where: str) -> bytes:
    """Standard or URL-safe alphabet, with or without padding; anything else is a 400."""
    s = re.sub(r"\s+", "", data).replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid_argument(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed") from exc


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_features(req: GenerateContentRequest) -> None:
    if req.tools or req.tool_config:
        raise invalid_argument("Tools are not supported by the image models.")
    if req.cached_content:
        raise invalid_argument("Cached content is not supported by Plantain.")
    cfg = req.generation_config
    if cfg is not None:
        for name in _UNSUPPORTED_CONFIG_FIELDS:
            if getattr(cfg, name) is not None:
                raise invalid_argument(f"generation_config.{name} is not supported by the image models.")
        if cfg.response_modalities is not None:
            for m in _modalities(cfg.response_modalities):
                if m not in ("TEXT", "IMAGE"):
                    raise invalid_argument(
                        f"Invalid value at 'generation_config.response_modalities': {m!r}; use TEXT and/or IMAGE"
                    )


def _modalities(values: list[str | int]) -> list[str]:
    return [MODALITY_NUMBERS.get(v, str(v)) if isinstance(v, int) else v.upper() for v in values]


def _turns(
    contents: list[Content], where: str = "contents", files: dict[str, tuple[bytes, str]] | None = None
) -> list[Turn]:
    """`files`: the bytes and MIME type of each file id the request names in `fileData` (looked up
    by the router, which owns I/O)."""
    turns = []
    for ci, content in enumerate(contents):
        role = (content.role or "user").lower()
        if role not in ("user", "model"):
            raise invalid_argument(f"Invalid value at '{where}[{ci}].role': {content.role!r}; use user or model")
        turn = Turn(role=role)
        for pi, part in enumerate(content.parts):
            at = f"{where}[{ci}].parts[{pi}]"
            for name in _UNSUPPORTED_PART_FIELDS:
                if getattr(part, name) is not None:
                    raise invalid_argument(f"{at}.{name} is not supported by the image models.")
            present = [n for n in ("text", "inline_data", "file_data") if getattr(part, n) is not None]
            if len(present) != 1:
                raise invalid_argument(f"{at} must hold exactly one of text, inline_data or file_data")
            if part.thought:
                continue  # thoughts are never part of the answer, nor of the next question
            if part.text is not None:
                turn.texts.append(part.text)
            elif part.inline_data is not None:
                data = b64decode_lenient(part.inline_data.data, f"{at}.inline_data.data")
                turn.images.append(ImageInput(data, part.inline_data.mime_type, at, role))
            else:
                assert part.file_data is not None
                file_id = file_id_of(part.file_data.file_uri)
                if file_id is None:
                    raise invalid_argument(
                        f"{at}.file_data.file_uri: only files uploaded to this server (files/ID) can be referenced; "
                        f"{part.file_data.file_uri!r} is not fetched"
                    )
                if files is None or file_id not in files:
                    raise ServiceError(
                        ErrorKind.PERMISSION_DENIED,
                        f"You do not have permission to access the File {file_id} or it may not exist.",
                    )
                data, mime = files[file_id]
                turn.images.append(ImageInput(data, part.file_data.mime_type or mime, at, role))
        turns.append(turn)
    return turns


# Intermediate images a streamed, thinking request sends before its final image.
STREAM_PREVIEWS = 2


def to_core(
    model: str,
    req: GenerateContentRequest,
    priority: Priority = Priority.INTERACTIVE,
    stream: bool = False,
    files: dict[str, tuple[bytes, str]] | None = None,
) -> GenerationRequest:
    """`stream`: the request came to streamGenerateContent, where a thinking request also shows
    its images forming."""
    _check_features(req)
    cfg = req.generation_config or GenerationConfig()
    system = ""
    if req.system_instruction is not None:
        system = " ".join(p.text for p in req.system_instruction.parts if p.text)
    modalities = frozenset(_modalities(cfg.response_modalities or ["TEXT", "IMAGE"]))
    image_cfg = cfg.image_config or ImageConfig()
    thinking = bool(cfg.thinking_config and cfg.thinking_config.include_thoughts)
    return GenerationRequest(
        model=model,
        turns=_turns(req.contents, files=files),
        system=system,
        modalities=modalities,
        aspect_ratio=image_cfg.aspect_ratio,
        image_size=image_cfg.image_size,
        candidate_count=cfg.candidate_count if cfg.candidate_count is not None else 1,
        seed=cfg.seed,
        thinking=thinking,
        previews=STREAM_PREVIEWS if thinking and stream else 0,
        priority=priority,
    )


def count_request_to_core(
    model: str, req: CountTokensRequest, files: dict[str, tuple[bytes, str]] | None = None
) -> GenerationRequest:
    if req.generate_content_request is not None:
        return to_core(model, req.generate_content_request, files=files)
    assert req.contents is not None
    return GenerationRequest(model=model, turns=_turns(req.contents, files=files))


def file_ids(contents: list[Content]) -> set[str]:
    """The ids of the uploaded files a request's `fileData` parts name."""
    return {
        fid
        for content in contents
        for part in content.parts
        if part.file_data is not None and (fid := file_id_of(part.file_data.file_uri)) is not None
    }


def usage_metadata(usage: Usage) -> dict[str, Any]:
    prompt_details = [{"modality": "TEXT", "tokenCount": usage.prompt_text_tokens}]
    if usage.prompt_image_tokens:
        prompt_details.append({"modality": "IMAGE", "tokenCount": usage.prompt_image_tokens})
    out_details = []
    if usage.output_image_tokens:
        out_details.append({"modality": "IMAGE", "tokenCount": usage.output_image_tokens})
    if usage.output_text_tokens:
        out_details.append({"modality": "TEXT", "tokenCount": usage.output_text_tokens})
    body: dict[str, Any] = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.output_tokens,
        "totalTokenCount": usage.total_tokens,
        "promptTokensDetails": prompt_details,
    }
    if usage.thought_tokens:
        body["thoughtsTokenCount"] = usage.thought_tokens
    if out_details:
        body["candidatesTokensDetails"] = out_details
    return body


def image_part(image: ImageOut) -> dict[str, Any]:
    part: dict[str, Any] = {"inlineData": {"mimeType": image.mime_type, "data": b64encode(image.data)}}
    if image.signature is not None:
        part["thoughtSignature"] = b64encode(image.signature)
    return part


def part_of(part: ImageOut | TextOut) -> dict[str, Any]:
    return image_part(part) if isinstance(part, ImageOut) else {"text": part.text}


def from_core(result: Result, response_id: str, with_thought: bool = True) -> dict[str, Any]:
    """A GenerateContentResponse: a plain reply, or a stream's last chunk (`with_thought=False`:
    the stream has sent the thought already). The plan, when there is one, leads the first
    candidate as a `thought: true` part, as Google's thinking models answer."""
    if result.blocked is not None:
        # A refused prompt: HTTP 200, no candidates, the reason in promptFeedback.
        return {
            "promptFeedback": {"blockReason": result.blocked.reason, "blockReasonMessage": result.blocked.message},
            "usageMetadata": usage_metadata(result.usage),
            "modelVersion": result.model,
            "responseId": response_id,
        }
    candidates = []
    for i, parts in enumerate(result.candidates):
        wire_parts = [part_of(p) for p in parts]
        if i == 0 and with_thought and result.thought:
            wire_parts.insert(0, thought_part(result.thought))
        candidate: dict[str, Any] = {"index": i, "finishReason": "STOP"}
        if wire_parts:
            candidate["content"] = {"role": "model", "parts": wire_parts}
        withheld = result.withheld.get(i)
        if withheld is not None:
            candidate["finishReason"] = withheld.reason
            candidate["finishMessage"] = withheld.message
        candidates.append(candidate)
    return {
        "candidates": candidates,
        "usageMetadata": usage_metadata(result.usage),
        "modelVersion": result.model,
        "responseId": response_id,
    }


def thought_part(text: str) -> dict[str, Any]:
    return {"text": text, "thought": True}


def event_chunk(event: Event, model: str, response_id: str) -> dict[str, Any]:
    """A stream chunk before the answer: the plan, or an image forming, both as thoughts."""
    if isinstance(event, Thought):
        index, part = 0, thought_part(event.text)
    else:
        index, part = event.index, {**image_part(event.image), "thought": True}
    return {
        "candidates": [{"content": {"role": "model", "parts": [part]}, "index": index}],
        "modelVersion": model,
        "responseId": response_id,
    }


def count_tokens_reply(text: int, image: int) -> dict[str, Any]:
    details = [{"modality": "TEXT", "tokenCount": text}]
    if image:
        details.append({"modality": "IMAGE", "tokenCount": image})
    return {"totalTokens": text + image, "promptTokensDetails": details}


def model_resource(entry: ModelEntry, name: str | None = None, prefix: str = "models/") -> dict[str, Any]:
    """The model resource of a catalog entry, under `name` when that is one of its aliases
    (`baseModelId` then names the entry that serves it)."""
    methods = ["generateContent", "countTokens", "predict"]
    return {
        "name": f"{prefix}{name or entry.id}",
        "baseModelId": entry.id,
        "version": entry.version,
        "displayName": entry.display_name if name in (None, entry.id) else f"{name} (served by {entry.id})",
        "description": entry.description,
        "inputTokenLimit": entry.input_token_limit,
        "outputTokenLimit": entry.output_token_limit,
        "supportedGenerationMethods": methods,
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topP": 0.95,
        "topK": 64,
        "thinking": True,
        "licence": entry.licence,
        "imageSizes": entry.sizes,
        "aspectRatios": entry.aspect_ratios,
        # Plantain's own: what a client (the playground) may offer for this model.
        "canEdit": entry.can_edit,
        "maxCandidates": entry.max_candidates,
        "pixelSizes": {r: {t: "{}x{}".format(*pixel_size(r, t)) for t in entry.sizes} for r in entry.aspect_ratios},
    }


def model_not_found(model_id: str, method: str, version: str) -> ServiceError:
    """Google's words for a model it does not serve."""
    return not_found(
        f"models/{model_id.removeprefix('models/')} is not found for API version {version}, or is not "
        f"supported for {method}. Call ListModels to see the list of available models and their "
        "supported methods."
    )


# How each kind of error reads in Google's vocabulary: HTTP code and google.rpc status. A key that
# is not valid is a 400 at Google, with the reason in an ErrorInfo detail.
STATUS: dict[ErrorKind, tuple[int, str]] = {
    ErrorKind.INVALID: (400, "INVALID_ARGUMENT"),
    ErrorKind.TOO_LARGE: (413, "INVALID_ARGUMENT"),
    ErrorKind.SLOW_BODY: (408, "DEADLINE_EXCEEDED"),
    ErrorKind.UNAUTHENTICATED: (403, "PERMISSION_DENIED"),
    ErrorKind.KEY_INVALID: (400, "INVALID_ARGUMENT"),
    ErrorKind.PERMISSION_DENIED: (403, "PERMISSION_DENIED"),
    ErrorKind.NOT_FOUND: (404, "NOT_FOUND"),
    ErrorKind.EXHAUSTED: (429, "RESOURCE_EXHAUSTED"),
    ErrorKind.CANCELLED: (499, "CANCELLED"),
    ErrorKind.DEADLINE: (504, "DEADLINE_EXCEEDED"),
    ErrorKind.UNAVAILABLE: (503, "UNAVAILABLE"),
    ErrorKind.UNIMPLEMENTED: (501, "UNIMPLEMENTED"),
    ErrorKind.METHOD_NOT_ALLOWED: (405, "UNIMPLEMENTED"),
    ErrorKind.INTERNAL: (500, "INTERNAL"),
}


def error_status(error: ServiceError) -> int:
    return STATUS[error.kind][0]


def error_body(error: ServiceError) -> dict[str, Any]:
    code, status = STATUS[error.kind]
    body: dict[str, Any] = {"code": code, "message": error.message, "status": status}
    details: list[dict[str, Any]] = []
    if error.kind is ErrorKind.KEY_INVALID:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        )
    if error.violations:
        violations = [{"field": v.field, "description": v.description} for v in error.violations]
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations})
    if error.quota is not None:
        subject, quota = error.quota
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"subject": subject, "description": error.message, "quotaId": quota}],
            }
        )
    if error.retry_after is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{max(1, round(error.retry_after))}s"}
        )
    if details:
        body["details"] = details
    return {"error": body}


def timestamp(t: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as Google writes them."""
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_resource(
    file_id: str, display_name: str, mime_type: str, size: int, sha256_hex: str, created: datetime,
    expires: datetime, source: str, base: str, version: str,
) -> dict[str, Any]:  # fmt: skip
    """A `File`: `uri` is what goes into `fileData`; `downloadUri` only for files the server made."""
    body: dict[str, Any] = {
        "name": f"files/{file_id}",
        "mimeType": mime_type,
        "sizeBytes": str(size),
        "createTime": timestamp(created),
        "updateTime": timestamp(created),
        "expirationTime": timestamp(expires),
        "sha256Hash": base64.b64encode(sha256_hex.encode()).decode(),
        "uri": f"{base}/{version}/files/{file_id}",
        "state": "ACTIVE",
        "source": source,
    }
    if display_name:
        body["displayName"] = display_name
    if source == "GENERATED":
        body["downloadUri"] = f"{base}/download/{version}/files/{file_id}:download?alt=media"
    return body


class FileMeta(Wire):
    name: str | None = None
    display_name: str | None = None
    mime_type: str | None = None
    size_bytes: int | str | None = None


class UploadStart(Wire):
    """The body of an upload's start: `{"file": {...}}`, possibly empty."""

    file: FileMeta | None = None


def parse_upload_start(body: Any) -> UploadStart:
    if body is None:
        return UploadStart()
    try:
        return UploadStart.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc


FILE_ID = re.compile(r"(?:^|/)files/([a-z0-9]+)$")


def file_id_of(uri: str) -> str | None:
    """The file id a `fileData.fileUri` names (`files/ID` or a URL ending in `/files/ID`), else None."""
    m = FILE_ID.search(uri.split("?", 1)[0])
    return m.group(1) if m else None


# -- Batch API --------------------------------------------------------------------------------------


class InlinedRequest(Wire):
    request: GenerateContentRequest
    metadata: dict[str, str] | None = None


class InlinedRequests(Wire):
    requests: list[InlinedRequest] = Field(min_length=1)


class BatchInputConfig(Wire):
    requests: InlinedRequests | None = None
    file_name: str | None = None


class WebhookConfig(Wire):
    """Where a notice goes when the job ends. The SDK sends `user_metadata` (snake case), REST
    clients `userMetadata`: both are read."""

    uris: list[str] = Field(default_factory=list, max_length=10)
    user_metadata: dict[str, Any] | None = None

    @field_validator("uris")
    @classmethod
    def _http_urls(cls, uris: list[str]) -> list[str]:
        for uri in uris:
            parsed = urlsplit(uri)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError(f"{uri!r} is not an http(s) URL")
        return uris


class BatchSpec(Wire):
    display_name: str | None = None
    model: str | None = None
    priority: int | str | None = None
    input_config: BatchInputConfig
    webhook_config: WebhookConfig | None = None


class BatchCreateRequest(Wire):
    batch: BatchSpec


def parse_batch_create(body: Any) -> BatchCreateRequest:
    try:
        req = BatchCreateRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    cfg = req.batch.input_config
    if (cfg.requests is None) == (cfg.file_name is None):
        raise invalid_argument("batch.inputConfig takes exactly one of 'requests' or 'fileName'", "batch.input_config")
    return req


def parse_batch_line(line: str, number: int) -> tuple[str, GenerateContentRequest]:
    """One line of a JSONL batch input: `{"key": ..., "request": GenerateContentRequest}`."""
    import json

    where = f"line {number} of the input file"
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise invalid_argument(f"{where} is not JSON: {exc}") from exc
    if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
        raise invalid_argument(f"{where} has no 'key' (a non-empty string naming the request)")
    try:
        request = GenerateContentRequest.model_validate(item.get("request"))
    except ValidationError as exc:
        error = validation_error(exc)
        raise invalid_argument(f"{where} ({item['key']}): {error.message}") from exc
    return item["key"], request


BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput"


def batch_operation(
    batch_id: str, model: str, display_name: str, state: str, input_config: Any, created: datetime,
    updated: datetime, ended: datetime | None, total: int, ok: int, failed: int, output: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """A batch job as the long-running operation the SDK reads (`metadata.state`, `metadata.output`)."""
    stats = {"requestCount": str(total), "pendingRequestCount": str(total - ok - failed)}
    if ok:
        stats["successfulRequestCount"] = str(ok)
    if failed:
        stats["failedRequestCount"] = str(failed)
    metadata: dict[str, Any] = {
        "@type": BATCH_TYPE, "name": f"batches/{batch_id}", "model": f"models/{model}", "displayName": display_name,
        "inputConfig": input_config, "createTime": timestamp(created), "updateTime": timestamp(updated),
        "batchStats": stats, "state": state, "priority": "0",
    }  # fmt: skip
    body: dict[str, Any] = {"name": f"batches/{batch_id}", "metadata": metadata}
    if ended is not None:
        metadata["endTime"] = timestamp(ended)
        body["done"] = True
    if output is not None:
        metadata["output"] = output
        body["response"] = {"@type": OUTPUT_TYPE, **output}
    return body


def item_error(error: ServiceError) -> dict[str, Any]:
    """A per-item error: code, message, status, and no details (the SDK types them as strings)."""
    code, status = STATUS[error.kind]
    return {"code": code, "message": error.message, "status": status}
