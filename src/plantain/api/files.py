"""Gemini's Files API: resumable uploads (/upload/{version}/files), get, list, delete and download.

A file belongs to the key that uploaded it ("env" for every key from PLANTAIN_API_KEYS); another key
gets 404. Chunk requests carry no key: their unguessable upload id is their credential, as the SDK
expects. Every chunk reply carries X-Goog-Upload-Status, errors included ("final"), or the SDK
resends the chunk.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from plantain.api.body import read_body
from plantain.api.deps import files_of, owner_of, require_key, service
from plantain.api.errors import gemini_response
from plantain.api.pages import next_token, page_start
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument, not_found
from plantain.protocol import gemini as wire
from plantain.store.files import Progress
from plantain.store.models import StoredFile

router = APIRouter(dependencies=[Depends(require_key)])
upload_router = APIRouter()
download_router = APIRouter(dependencies=[Depends(require_key)])
CHUNK_GRANULARITY = 8 * 1024 * 1024
# The SDK sends 8 MiB chunks; a chunk request may be a little larger than that, never much.
MAX_CHUNK_BYTES = 64 * 1024 * 1024


def base_url(request: Request) -> str:
    return service(request).settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


def version_of(request: Request) -> str:
    return request.url.path.strip("/").split("/")[1 if request.url.path.startswith(("/upload/", "/download/")) else 0]


def resource(request: Request, row: StoredFile) -> dict[str, Any]:
    return wire.file_resource(
        row.id, row.display_name, row.mime_type, row.size_bytes, row.sha256, row.created_at, row.expires_at,
        row.source, base_url(request), version_of(request),
    )  # fmt: skip


@upload_router.post("/files")
async def upload(request: Request) -> Response:
    upload_id = request.query_params.get("upload_id")
    if upload_id is None:
        return await start(request)
    try:
        return await chunk(request, upload_id)
    except ServiceError as exc:
        reply = gemini_response(exc)
        reply.headers["x-goog-upload-status"] = "final"
        return reply


async def start(request: Request) -> Response:
    await anyio.to_thread.run_sync(require_key, request)
    raw = await read_body(request, 64 * 1024)
    meta = wire.parse_upload_start(wire_json(raw)).file or wire.FileMeta()
    declared = request.headers.get("x-goog-upload-header-content-length") or str(meta.size_bytes or "")
    if not declared.isdigit():
        raise invalid_argument("X-Goog-Upload-Header-Content-Length must give the file's size in bytes")
    mime = request.headers.get("x-goog-upload-header-content-type") or meta.mime_type or ""
    name = meta.display_name or request.headers.get("x-goog-upload-file-name", "")
    store, owner = files_of(request), owner_of(request)
    upload_id = await anyio.to_thread.run_sync(store.start, owner, int(declared), mime, name)
    prefix = request.url.path.rsplit("/files", 1)[0]
    url = f"{base_url(request)}{prefix}/files?upload_id={upload_id}&upload_protocol=resumable"
    headers = {"x-goog-upload-url": url, "x-goog-upload-status": "active",
               "x-goog-upload-chunk-granularity": str(CHUNK_GRANULARITY)}  # fmt: skip
    return JSONResponse({}, headers=headers)


def wire_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_argument(f"Invalid JSON payload received. {exc}") from exc


async def chunk(request: Request, upload_id: str) -> Response:
    store = files_of(request)
    command = {c.strip() for c in request.headers.get("x-goog-upload-command", "").lower().split(",")}
    if "cancel" in command:
        await anyio.to_thread.run_sync(store.cancel, upload_id)
        return JSONResponse({}, headers={"x-goog-upload-status": "cancelled"})
    if "query" in command:
        received = await anyio.to_thread.run_sync(store.received, upload_id)
        return JSONResponse({}, headers={"x-goog-upload-status": "active",
                                         "x-goog-upload-size-received": str(received)})  # fmt: skip
    if "upload" not in command:
        raise invalid_argument("X-Goog-Upload-Command must be upload, 'upload, finalize', query or cancel")
    offset = request.headers.get("x-goog-upload-offset", "")
    if not offset.isdigit():
        raise invalid_argument("X-Goog-Upload-Offset must give the bytes already sent")
    data = await read_body(request, MAX_CHUNK_BYTES)
    done = await anyio.to_thread.run_sync(store.chunk, upload_id, int(offset), data, "finalize" in command)
    if isinstance(done, Progress):
        return JSONResponse({}, headers={"x-goog-upload-status": "active"})
    return JSONResponse({"file": resource(request, done)}, headers={"x-goog-upload-status": "final"})


def split_download(name: str) -> tuple[str, bool]:
    file_id, _, method = name.partition(":")
    if method not in ("", "download"):
        raise ServiceError(ErrorKind.NOT_FOUND, f"Method not found: files/{name}")
    return file_id, method == "download"


@router.get("/files/{name}")
async def get_file(request: Request, name: str) -> Response:
    file_id, download = split_download(name)
    if download:
        return await download_file(request, name)
    row = await anyio.to_thread.run_sync(files_of(request).get, owner_of(request), file_id)
    if row is None:
        raise not_found(f"File files/{file_id} does not exist.")
    return JSONResponse(resource(request, row))


@router.get("/files")
async def list_files(request: Request, pageSize: int = 10, pageToken: str = "") -> JSONResponse:
    size = min(max(pageSize, 1), 100)
    start = page_start(pageToken)
    rows, more = await anyio.to_thread.run_sync(files_of(request).list, owner_of(request), start, size)
    body: dict[str, Any] = {}
    if rows:
        body["files"] = [resource(request, row) for row in rows]
    if more:
        body["nextPageToken"] = next_token(start + size)
    return JSONResponse(body)


@router.delete("/files/{name}")
async def delete_file(request: Request, name: str) -> JSONResponse:
    file_id, _ = split_download(name)
    if not await anyio.to_thread.run_sync(files_of(request).delete, owner_of(request), file_id):
        raise not_found(f"File files/{file_id} does not exist.")
    return JSONResponse({})


@download_router.get("/files/{name}")
async def download_file(request: Request, name: str) -> Response:
    file_id, _ = split_download(name)
    found = await anyio.to_thread.run_sync(files_of(request).read, owner_of(request), file_id)
    if found is None:
        raise not_found(f"File files/{file_id} does not exist.")
    row, data = found
    return Response(data, media_type=row.mime_type if "/" in row.mime_type else "application/octet-stream")


async def resolve(request: Request, ids: set[str]) -> dict[str, tuple[bytes, str]]:
    """The bytes and MIME type of each named file the caller owns (the others are left out)."""
    store, owner = files_of(request), owner_of(request)
    out: dict[str, tuple[bytes, str]] = {}
    for file_id in ids:
        found = await anyio.to_thread.run_sync(store.read, owner, file_id)
        if found is not None:
            out[file_id] = (found[1], found[0].mime_type)
    return out
