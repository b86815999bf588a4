"""Request bodies: read within the size limit, parsed as JSON, refused with a core error otherwise."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from plantain.core.errors import ErrorKind, ServiceError, invalid_argument


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes before reading them all."""
    declared = request.headers.get("content-length")
    too_big = ServiceError(ErrorKind.TOO_LARGE, f"Request payload size exceeds the limit: {limit} bytes.")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Any body the JSON parser refuses, however deep or odd, is the client's mistake (a 400)."""
    if not raw.strip():
        raise invalid_argument("Invalid JSON payload received. The request body is empty.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_argument(f"Invalid JSON payload received. {exc}") from exc
    except RecursionError as exc:  # nesting deeper than the parser's stack
        raise invalid_argument("Invalid JSON payload received. The body is nested too deeply.") from exc


async def read_json(request: Request, limit: int) -> Any:
    return parse_json(await read_body(request, limit))
