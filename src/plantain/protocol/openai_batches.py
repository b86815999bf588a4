"""OpenAI's Files and Batch APIs on the wire: file and batch objects, the create body, the lines of
an input file and of the output and error files.

Plantain's own ids are wrapped in OpenAI's prefixes ("file-", "batch_") so that ids of the two
dialects never collide on the shared /v1 paths.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plantain.core.errors import ErrorKind, ServiceError, not_found
from plantain.protocol.openai import ImagesRequest, parse_images_request, validation_error

FILE_PREFIX = "file-"
BATCH_PREFIX = "batch_"
ENDPOINTS = ("/v1/images/generations",)
PURPOSES = ("batch", "vision", "user_data")


def file_id(store_id: str) -> str:
    return FILE_PREFIX + store_id


def store_file_id(wire_id: str) -> str:
    if not wire_id.startswith(FILE_PREFIX):
        raise not_found(f"No such File object: {wire_id}")
    return wire_id[len(FILE_PREFIX) :]


def batch_id(store_id: str) -> str:
    return BATCH_PREFIX + store_id


def store_batch_id(wire_id: str) -> str:
    if not wire_id.startswith(BATCH_PREFIX):
        raise not_found(f"No such Batch object: {wire_id}")
    return wire_id[len(BATCH_PREFIX) :]


def seconds(t: datetime | None) -> int | None:
    return int(t.timestamp()) if t is not None else None


def file_object(
    store_id: str, filename: str, size: int, created: datetime, expires: datetime, purpose: str | None
) -> dict[str, Any]:
    return {
        "id": file_id(store_id), "object": "file", "bytes": size, "created_at": seconds(created),
        "expires_at": seconds(expires), "filename": filename, "purpose": purpose or "user_data", "status": "processed",
    }  # fmt: skip


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_file_id: str
    endpoint: str
    completion_window: Literal["24h"]
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    output_expires_after: dict[str, Any] | None = None


def parse_batch_create(body: Any) -> BatchCreate:
    if not isinstance(body, dict):
        raise ServiceError(ErrorKind.INVALID, "The request body must be a JSON object.")
    try:
        req = BatchCreate.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    if req.endpoint not in ENDPOINTS:
        raise ServiceError(
            ErrorKind.INVALID,
            f"Invalid value for 'endpoint': {req.endpoint!r}. This server batches {', '.join(ENDPOINTS)}.",
            "endpoint",
            code="invalid_value",
        )
    return req


def parse_line(line: str, number: int, endpoint: str) -> tuple[str, ImagesRequest]:
    """One input line: `{"custom_id", "method": "POST", "url": endpoint, "body": {...}}`."""
    where = f"Line {number} of the input file"
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ServiceError(ErrorKind.INVALID, f"{where} is not JSON: {exc}", code="invalid_json_line") from exc
    if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str) or not item["custom_id"]:
        raise ServiceError(ErrorKind.INVALID, f"{where} has no 'custom_id'.", code="missing_required_parameter")
    if item.get("method", "POST") != "POST" or item.get("url") != endpoint:
        raise ServiceError(
            ErrorKind.INVALID,
            f"{where} ({item['custom_id']}) must be a POST to {endpoint}, the batch's endpoint.",
            code="mismatched_endpoint",
        )
    try:
        body = parse_images_request(item.get("body"))
    except ServiceError as exc:
        raise ServiceError(exc.kind, f"{where} ({item['custom_id']}): {exc.message}", exc.field, code=exc.code) from exc
    if body.stream:
        raise ServiceError(ErrorKind.INVALID, f"{where} ({item['custom_id']}): a batch cannot stream.", "stream")
    if body.response_format == "url":
        raise ServiceError(
            ErrorKind.INVALID,
            f"{where} ({item['custom_id']}): batch results carry their images inline; use response_format b64_json.",
            "response_format",
        )
    return item["custom_id"], body


STATUS = {
    "BATCH_STATE_PENDING": "in_progress",
    "BATCH_STATE_RUNNING": "in_progress",
    "BATCH_STATE_SUCCEEDED": "completed",
    "BATCH_STATE_FAILED": "failed",
    "BATCH_STATE_CANCELLED": "cancelled",
    "BATCH_STATE_EXPIRED": "expired",
}


def batch_object(
    store_id: str, model: str, state: str, echo: dict[str, Any], created: datetime, ended: datetime | None,
    total: int, ok: int, failed: int, output_file: str | None, error_file: str | None,
) -> dict[str, Any]:  # fmt: skip
    status = STATUS[state]
    created_s = seconds(created) or 0
    return {
        "id": batch_id(store_id), "object": "batch", "endpoint": echo["endpoint"], "model": model, "errors": None,
        "input_file_id": echo["input_file_id"], "completion_window": echo["completion_window"], "status": status,
        "output_file_id": file_id(output_file) if output_file else None,
        "error_file_id": file_id(error_file) if error_file else None,
        "created_at": created_s, "in_progress_at": created_s, "expires_at": created_s + 24 * 3600,
        "finalizing_at": seconds(ended) if status == "completed" else None,
        "completed_at": seconds(ended) if status == "completed" else None,
        "failed_at": seconds(ended) if status == "failed" else None,
        "expired_at": seconds(ended) if status == "expired" else None,
        "cancelling_at": seconds(ended) if status == "cancelled" else None,
        "cancelled_at": seconds(ended) if status == "cancelled" else None,
        "request_counts": {"total": total, "completed": ok, "failed": failed},
        "metadata": echo.get("metadata"),
    }  # fmt: skip


def result_line(custom_id: str, status_code: int, body: dict[str, Any]) -> str:
    """A line of the output file (status 200) or of the error file (an error's status)."""
    line = {
        "id": f"batch_req_{secrets.token_hex(12)}",
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": secrets.token_hex(16), "body": body},
        "error": None,
    }
    return json.dumps(line, separators=(",", ":"))
