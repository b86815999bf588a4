"""OpenAI's Files and Batch APIs: /v1/files (multipart upload, get, list, content, delete) and
/v1/batches (create over an uploaded JSONL of /v1/images/generations lines, get, list, cancel).

Files live in the same store as Google's Files API (one owner, one folder, one expiry); a batch runs
in the same background runner as Google's jobs, at the catalog's batch price. The Gemini routers
answer the same /v1 paths; requests reach these routes under /openai/v1 (api.dialect_paths sends
OpenAI clients' requests there).
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from plantain.api.body import read_body, read_json
from plantain.api.deps import account_of, batches_of, files_of, owner_of, require_key, service
from plantain.api.openai import model_of
from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.jobs import Priority
from plantain.core.requests import GenerationRequest
from plantain.core.results import Result
from plantain.imaging.decode import sniff_mime_type
from plantain.protocol import openai as images_wire
from plantain.protocol import openai_batches as wire
from plantain.serving.accounting import check_model_allowed
from plantain.store.batches import NewItem
from plantain.store.models import Batch, BatchItem, StoredFile

router = APIRouter(dependencies=[Depends(require_key)])


class OpenAIBatches:
    """The batch runner's view of this dialect: an item is an Images API generation request."""

    name = "openai"

    def to_core(self, entry: ModelEntry, request: str) -> GenerationRequest:
        body = images_wire.parse_images_request(json.loads(request))
        return images_wire.to_core(entry.id, body, priority=Priority.BATCH)

    def render(self, request: str, result: Result) -> dict[str, Any]:
        body = images_wire.parse_images_request(json.loads(request))
        return images_wire.images_response(result, body, int(time.time()))

    def error(self, error: ServiceError) -> dict[str, Any]:
        return {"status_code": images_wire.error_status(error), "body": images_wire.error_body(error)}

    def result_files(self, batch: Batch, items: list[BatchItem]) -> tuple[bytes | None, bytes | None]:
        ok, failed = [], []
        for item in items:
            result = json.loads(item.result or "{}")
            if item.state == "ok":
                ok.append(wire.result_line(item.item_key, 200, result))
            else:
                failed.append(wire.result_line(item.item_key, result["status_code"], result["body"]))
        # OpenAI's shape: successes in the output file, failures in the error file, each only when any.
        return ("\n".join(ok) + "\n").encode() if ok else None, ("\n".join(failed) + "\n").encode() if failed else None


def file_json(row: StoredFile) -> dict[str, Any]:
    return wire.file_object(row.id, row.display_name, row.size_bytes, row.created_at, row.expires_at, row.purpose)


def invalid(message: str, param: str | None = None, code: str = "invalid_value") -> ServiceError:
    return ServiceError(ErrorKind.INVALID, message, param, code=code)


@router.post("/files")
async def upload(request: Request) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid("Files are uploaded as multipart/form-data with fields 'file' and 'purpose'.", "file")
    settings = service(request).settings
    # Read within the file size limit (and a little for the form's own bytes) before parsing.
    request._body = await read_body(request, settings.max_file_bytes + 64 * 1024)
    try:
        form = await request.form(max_files=1, max_fields=8)
    except MultiPartException as exc:
        raise invalid(f"The multipart body cannot be read: {exc.message}") from exc
    upload = form.get("file")
    purpose = form.get("purpose")
    if not isinstance(upload, UploadFile):
        raise invalid("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    if not isinstance(purpose, str) or purpose not in wire.PURPOSES:
        raise invalid(
            f"Invalid value for 'purpose': {purpose!r}. This server keeps files for {', '.join(wire.PURPOSES)}.",
            "purpose",
        )
    data = await upload.read()
    if purpose == "batch":
        mime = "application/jsonl"
    else:
        mime = sniff_mime_type(data) or ""
        if not mime.startswith("image/"):
            raise invalid(f"A file for {purpose!r} must be a PNG, JPEG or WebP image.", "file")
    row = await anyio.to_thread.run_sync(
        files_of(request).put_uploaded, owner_of(request), upload.filename or "upload", data, mime, purpose
    )
    return JSONResponse(file_json(row))


async def own_file(request: Request, wire_id: str) -> StoredFile:
    row = await anyio.to_thread.run_sync(files_of(request).get, owner_of(request), wire.store_file_id(wire_id))
    if row is None:
        raise ServiceError(ErrorKind.NOT_FOUND, f"No such File object: {wire_id}", "id")
    return row


@router.get("/files/{file_id}")
async def get_file(request: Request, file_id: str) -> JSONResponse:
    return JSONResponse(file_json(await own_file(request, file_id)))


@router.get("/files/{file_id}/content")
async def file_content(request: Request, file_id: str) -> Response:
    found = await anyio.to_thread.run_sync(files_of(request).read, owner_of(request), wire.store_file_id(file_id))
    if found is None:
        raise ServiceError(ErrorKind.NOT_FOUND, f"No such File object: {file_id}", "id")
    row, data = found
    return Response(data, media_type=row.mime_type if "/" in row.mime_type else "application/octet-stream")


@router.delete("/files/{file_id}")
async def delete_file(request: Request, file_id: str) -> JSONResponse:
    # The store deletes only the caller's own file: one call answers both questions.
    if not await anyio.to_thread.run_sync(files_of(request).delete, owner_of(request), wire.store_file_id(file_id)):
        raise ServiceError(ErrorKind.NOT_FOUND, f"No such File object: {file_id}", "id")
    return JSONResponse({"id": file_id, "object": "file", "deleted": True})


def listing(data: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": more}


def limit_of(limit: int) -> int:
    if not 1 <= limit <= 10_000:
        raise invalid(f"Invalid value for 'limit': {limit}. It must be between 1 and 10000.", "limit")
    return limit


@router.get("/files")
async def list_files(request: Request, limit: int = 10_000, after: str = "", purpose: str = "") -> JSONResponse:
    """Newest first, as OpenAI lists; `after` is the last id of the previous page."""
    cursor = wire.store_file_id(after) if after else None
    rows, more = await anyio.to_thread.run_sync(
        files_of(request).list_after, owner_of(request), cursor, limit_of(limit), purpose or None
    )
    return JSONResponse(listing([file_json(r) for r in rows], more))


@router.post("/batches")
async def create_batch(request: Request) -> JSONResponse:
    body = wire.parse_batch_create(await read_json(request, service(request).settings.max_request_bytes))
    owner = owner_of(request)
    found = await anyio.to_thread.run_sync(files_of(request).read, owner, wire.store_file_id(body.input_file_id))
    if found is None:
        raise ServiceError(ErrorKind.NOT_FOUND, f"No such File object: {body.input_file_id}", "input_file_id")
    items: list[NewItem] = []
    parsed_lines: list[images_wire.ImagesRequest] = []
    seen: set[str] = set()
    models: set[str] = set()
    for number, line in enumerate(found[1].decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        custom_id, parsed = wire.parse_line(line, number, body.endpoint)
        if custom_id in seen:
            raise invalid(f"Line {number} of the input file repeats the custom_id {custom_id!r}.", "custom_id")
        seen.add(custom_id)
        models.add(model_of(request, parsed.model))
        items.append(NewItem(custom_id, parsed.model_dump_json(exclude_none=True), None))
        parsed_lines.append(parsed)
    if not items:
        raise invalid(f"The input file {body.input_file_id} holds no requests.", "input_file_id")
    if len(models) > 1:
        raise invalid(f"A batch runs one model; the input file names {', '.join(sorted(models))}.", "model")
    (model,) = models
    entry = service(request).entry(model)
    account = account_of(request, "openai")
    check_model_allowed(account, model, entry)
    for parsed in parsed_lines:  # every request must be one this model can take: refuse the batch now
        images_wire.to_core(entry.id, parsed, priority=Priority.BATCH)
    echo = body.model_dump(exclude_none=True)
    key_id = account.key.id if account.key is not None else None
    batch = await anyio.to_thread.run_sync(
        lambda: batches_of(request).create(
            owner, key_id, entry.id, "", json.dumps(echo), found[0].id, items, "openai", None
        )
    )
    request.app.state.batch_runner.wake()
    return JSONResponse(await batch_json(request, batch))


async def batch_json(request: Request, batch: Batch) -> dict[str, Any]:
    counts = await anyio.to_thread.run_sync(batches_of(request).counts, batch.id)
    return wire.batch_object(
        batch.id, batch.model, batch.state, json.loads(batch.input_config), batch.created_at, batch.end_at,
        counts.total, counts.ok, counts.failed, batch.output_file, batch.error_file,
    )  # fmt: skip


async def own_batch(request: Request, wire_id: str) -> Batch:
    batch = await anyio.to_thread.run_sync(batches_of(request).get, owner_of(request), wire.store_batch_id(wire_id))
    if batch is None or batch.dialect != "openai":
        raise ServiceError(ErrorKind.NOT_FOUND, f"No such Batch object: {wire_id}", "id")
    return batch


@router.get("/batches/{batch_id}")
async def get_batch(request: Request, batch_id: str) -> JSONResponse:
    return JSONResponse(await batch_json(request, await own_batch(request, batch_id)))


@router.post("/batches/{batch_id}/cancel")
async def cancel_batch(request: Request, batch_id: str) -> JSONResponse:
    batch = await own_batch(request, batch_id)
    if not await anyio.to_thread.run_sync(batches_of(request).set_state, batch.id, "BATCH_STATE_CANCELLED"):
        raise invalid(f"Batch {batch_id} has ended ({wire.STATUS[batch.state]}) and cannot be cancelled.")
    return JSONResponse(await batch_json(request, await own_batch(request, batch_id)))


@router.get("/batches")
async def list_batches(request: Request, limit: int = 20, after: str = "") -> JSONResponse:
    cursor = wire.store_batch_id(after) if after else None
    rows, more = await anyio.to_thread.run_sync(
        batches_of(request).page_after, owner_of(request), "openai", cursor, min(limit_of(limit), 100)
    )
    return JSONResponse(listing([await batch_json(request, b) for b in rows], more))
